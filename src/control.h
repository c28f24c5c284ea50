// ControlPlane: the one place that changes what the workers run, on a thread of its own.
//
// Holds the configuration and the ModuleSet in force, and runs every change as a job on one
// control thread, in the order asked: a reload (SIGHUP) and module pushes (the admin API) never
// overlap, so two pushes of one module cannot interleave and a reload always starts from the
// latest push. A job compiles and test-starts on the control thread (never on a reactor), then
// posts the new generation to every worker's mailbox and waits until each has applied it, so
// once a job is done every new request runs the new version. Requests already running keep
// the generation they started with (wasm/module.h).
//
// A pushed version is also written over the module's configured file (a new file renamed over
// it, in the same folder), so a reload keeps it (same bytes: nothing to compile) and so does a
// restart. A version that fails to load, or cannot be saved, changes nothing.
//
// Threads: list() and config() from any thread (a short lock); push() from the admin listener;
// reload() and stop() from the main thread. stop() must come before the workers drain: it
// finishes queued jobs, whose acknowledgements need running workers.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "admin/module_control.h"
#include "config/config.h"
#include "proxy/worker.h"
#include "runtime/helper_pool.h"
#include "runtime/reactor.h"
#include "server.h"
#include "wasm/module.h"

namespace stavka {

struct WorkerHandle {
  runtime::Reactor* reactor;
  proxy::Worker* worker;
};

class ControlPlane final : public admin::ModuleControl {
 public:
  ControlPlane(RunOptions options, std::shared_ptr<const config::Config> config,
               std::shared_ptr<const wasm::ModuleSet> modules);
  ~ControlPlane() override;
  ControlPlane(const ControlPlane&) = delete;

  // Every worker, once they all run (before the first job).
  void set_workers(std::vector<WorkerHandle> workers) { workers_ = std::move(workers); }

  // Queues a reload of the configuration file; returns at once.
  void reload();
  void reload(std::function<void(admin::ReloadResult)> done) override;
  // Runs the queued jobs to the end and refuses new ones (pushes answer 503).
  void stop();
  std::shared_ptr<const config::Config> config() const;

  std::vector<admin::ModuleInfo> list() const override;
  void push(std::string name, std::string bytes,
            std::function<void(admin::PushResult)> done) override;

 private:
  admin::ReloadResult run_reload();
  admin::PushResult run_push(const std::string& name, std::string bytes);
  // Posts `apply` to every worker and waits until each has run it; returns the milliseconds.
  double publish(const std::function<void(proxy::Worker&)>& apply);

  const RunOptions options_;
  std::vector<WorkerHandle> workers_;  // set before the first job, then read by jobs only
  mutable std::mutex mutex_;           // guards the three below
  std::shared_ptr<const config::Config> config_;
  std::shared_ptr<const wasm::ModuleSet> modules_;
  bool stopped_ = false;
  std::unique_ptr<runtime::HelperPool> thread_;  // one thread: jobs run one at a time, in order
};

// Writes `bytes` over `path` atomically: a new file in the same folder (the old one's mode),
// synced, renamed over it, and the folder synced. "" on success, else why not (nothing changed).
std::string replace_file(const std::string& path, std::string_view bytes);

}  // namespace stavka
