// GET /api/v1/config on the admin listener (scope `read`): the configuration in force, defaults
// filled in, as JSON with the keys of the TOML file ([config](../../docs/config.md)):
//
//   {"source": "/etc/stavka/stavka.toml", "workers": 2, "listen": ["127.0.0.1:8080"], ...,
//    "timeouts": {"client_header": "10s", ...}, "cache": {"memory": 268435456, ...},
//    "site": [{"name": ..., ...}], "module": [{"name": ..., ...}], "admin": {...}}
//
// Durations are written as the file takes them ("10s", "250ms"), sizes in bytes. Secrets are
// redacted ("<redacted>"): token hashes, a module's configuration and vm_configuration (they
// may hold keys) and the values of its WASI environment. `workers` is the number running.
#pragma once

#include <string>

#include "config/config.h"

namespace stavka::admin {

inline constexpr std::string_view config_path = "/api/v1/config";

// workers: the number of workers running (the file's 0 means one per CPU).
std::string config_json(const config::Config& cfg, unsigned workers);

}  // namespace stavka::admin
