// `stavka module ...`: the command-line client of the admin API's modules endpoints.
//
//   stavka module push FILE [--name NAME] [--admin HOST:PORT]
//   stavka module ls [--admin HOST:PORT] [--json]
//
// The admin address comes from --admin, else the STAVKA_ADMIN environment variable. Blocking
// sockets: this runs in the short-lived CLI process, never in the server.
#pragma once

#include <string_view>
#include <vector>

namespace stavka {

// Returns the process exit code: 0 done, 1 refused or unreachable, 2 bad usage.
int run_module_command(std::vector<std::string_view> args);

}  // namespace stavka
