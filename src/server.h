// The composition root: the one place that knows every concrete layer. Builds the Config from
// the file and flags, starts one worker thread per core, handles signals on the main thread.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace stavka {

struct RunOptions {
  std::string config_path;          // empty: embedded default (or --origin alone)
  std::vector<std::string> listen;  // --listen (replaces the config's list)
  std::string origin;               // --origin (replaces the config's sites)
  int workers = -1;                 // --workers
  std::string cache_dir;            // --cache-dir
  std::string admin_listen;         // --admin-listen
  std::string module_file;          // --module: one module for every site
};

// The effective configuration: file (or embedded default), then flags. Throws ConfigError.
config::Config build_config(const RunOptions& options);

// Runs the proxy until SIGTERM/SIGINT; returns the process exit code.
int run_server(const RunOptions& options);

// The bundled demo origin (for the embedded default and for trying Stavka out).
int run_demo_origin(const std::string& listen);

}  // namespace stavka
