// The command-line client of the admin API:
//
//   stavka module push FILE [--name NAME] [--admin HOST:PORT] [--token TOKEN]
//   stavka module ls [--admin HOST:PORT] [--token TOKEN] [--json]
//   stavka purge URL... | --tag TAG... | --prefix URL | --all [--soft] [--admin ...] [--token ...]
//   stavka cache ls [--prefix URL] [--host HOST] [--tag TAG] [--admin ...] [--token ...] [--json]
//   stavka prefetch URL... | --file FILE [--concurrency N] [--admin ...] [--token ...]
//   stavka stats [--admin HOST:PORT] [--token TOKEN] [--json]
//
// The admin address comes from --admin, else the STAVKA_ADMIN environment variable; the bearer
// token from --token, else STAVKA_ADMIN_TOKEN. Blocking sockets: this runs in the short-lived
// CLI process, never in the server.
#pragma once

#include <string_view>
#include <vector>

namespace stavka {

// Each returns the process exit code: 0 done, 1 refused or unreachable, 2 bad usage.
int run_module_command(std::vector<std::string_view> args);
int run_purge_command(std::vector<std::string_view> args);
int run_stats_command(std::vector<std::string_view> args);
int run_cache_command(std::vector<std::string_view> args);
int run_prefetch_command(std::vector<std::string_view> args);

}  // namespace stavka
