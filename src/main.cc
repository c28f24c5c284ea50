// The `stavka` command: run the proxy, check a config, manage modules, run the demo origin.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "admin/tokens.h"
#include "config/config.h"
#include "admin_cli.h"
#include "server.h"
#include "wasm/module.h"

namespace {

constexpr const char* version = "0.1.0";

void usage(FILE* out) {
  std::fprintf(out,
               "usage:\n"
               "  stavka run [--config FILE] [--listen HOST:PORT]... [--origin URL] [--workers N]\n"
               "             [--cache-dir DIR] [--admin-listen HOST:PORT] [--module FILE.wasm]\n"
               "      Run the proxy. Without --config and --origin: the embedded default\n"
               "      (127.0.0.1:8080 in front of the demo origin on 127.0.0.1:8081).\n"
               "      --module runs a Proxy-Wasm module for every site (docs/modules.md).\n"
               "  stavka module push FILE [--name NAME] [--admin HOST:PORT] [--token TOKEN]\n"
               "  stavka module ls [--admin HOST:PORT] [--token TOKEN] [--json]\n"
               "      Push a new version of a module to a running Stavka, or list its modules\n"
               "      (admin API; the address defaults to $STAVKA_ADMIN, the token to\n"
               "      $STAVKA_ADMIN_TOKEN).\n"
               "  stavka purge URL... | --tag TAG... | --prefix URL | --all [--soft]\n"
               "               [--admin HOST:PORT] [--token TOKEN]\n"
               "      Remove objects from a running Stavka's cache, every tier and worker.\n"
               "  stavka cache ls [--prefix URL] [--host HOST] [--tag TAG] [--admin HOST:PORT]\n"
               "                  [--token TOKEN] [--json]\n"
               "      List what a running Stavka has cached, with sizes, ages and TTLs.\n"
               "  stavka prefetch URL... | --file FILE [--concurrency N] [--admin HOST:PORT]\n"
               "                  [--token TOKEN]\n"
               "      Fill a running Stavka's cache with these URLs, with a progress bar.\n"
               "  stavka stats [--admin HOST:PORT] [--token TOKEN] [--json]\n"
               "      A running Stavka's counters and gauges (its metrics).\n"
               "  stavka token create --scope read|purge|admin [--scope ...] [--name NAME]\n"
               "      Print a new admin API token, and the [[admin.token]] lines (its hash) to\n"
               "      add to the configuration.\n"
               "  stavka check-config FILE\n"
               "      Validate a config file; errors are printed as FILE:LINE: message.\n"
               "  stavka demo-origin [--listen HOST:PORT]\n"
               "      Run the small bundled demo origin (default 127.0.0.1:8081).\n"
               "  stavka version\n");
}

// Takes the value of a flag given as "--flag VALUE" or "--flag=VALUE".
bool take_value(std::vector<std::string_view>& args, size_t& i, std::string_view flag,
                std::string* value) {
  std::string_view a = args[i];
  if (a == flag) {
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "stavka: %.*s needs a value\n", int(flag.size()), flag.data());
      std::exit(2);
    }
    *value = std::string(args[++i]);
    return true;
  }
  if (a.size() > flag.size() && a.starts_with(flag) && a[flag.size()] == '=') {
    *value = std::string(a.substr(flag.size() + 1));
    return true;
  }
  return false;
}

int cmd_run(std::vector<std::string_view> args) {
  stavka::RunOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string v;
    if (take_value(args, i, "--config", &o.config_path)) continue;
    if (take_value(args, i, "--listen", &v)) {
      o.listen.push_back(v);
      continue;
    }
    if (take_value(args, i, "--origin", &o.origin)) continue;
    if (take_value(args, i, "--cache-dir", &o.cache_dir)) continue;
    if (take_value(args, i, "--admin-listen", &o.admin_listen)) continue;
    if (take_value(args, i, "--module", &o.module_file)) continue;
    if (take_value(args, i, "--workers", &v)) {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 0 || n > 1024) {
        std::fprintf(stderr, "stavka: --workers must be a number from 0 to 1024\n");
        return 2;
      }
      o.workers = static_cast<int>(n);
      continue;
    }
    std::fprintf(stderr, "stavka run: unknown argument '%.*s'\n", int(args[i].size()),
                 args[i].data());
    usage(stderr);
    return 2;
  }
  return stavka::run_server(o);
}

int cmd_check_config(std::vector<std::string_view> args) {
  if (args.size() != 1) {
    std::fprintf(stderr, "usage: stavka check-config FILE\n");
    return 2;
  }
  std::string path(args[0]);
  try {
    stavka::config::Config cfg = stavka::config::load_file(path);
    // Modules are compiled and test-started as a start would: a module that would stop the
    // start fails the check.
    std::vector<std::string> errors;
    auto modules = stavka::wasm::ModuleSet::build(cfg, nullptr, &errors);
    for (const std::string& e : errors) std::fprintf(stderr, "%s: %s\n", path.c_str(), e.c_str());
    if (!modules) return 1;
    std::printf("%s: ok (%zu sites, %zu modules)\n", path.c_str(), cfg.sites.size(),
                cfg.modules.size());
    return 0;
  } catch (const stavka::config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

}  // namespace

static int cmd_token(std::vector<std::string_view>& args) {
  if (args.empty() || args[0] != "create") {
    std::fprintf(stderr, "stavka token: the command is `stavka token create --scope SCOPE`\n");
    return 2;
  }
  std::string name = "cli", scope;
  std::vector<std::string> scopes;
  for (size_t i = 1; i < args.size(); ++i) {
    if (take_value(args, i, "--name", &name)) {
      if (name.empty()) return 2;
      continue;
    }
    if (take_value(args, i, "--scope", &scope)) {
      if (!stavka::admin::scope_named(scope)) {
        std::fprintf(stderr, "stavka token create: unknown scope '%s' (read, purge or admin)\n",
                     scope.c_str());
        return 2;
      }
      scopes.push_back(scope);
      continue;
    }
    std::fprintf(stderr, "stavka token create: unexpected argument '%.*s'\n", int(args[i].size()),
                 args[i].data());
    return 2;
  }
  if (scopes.empty()) {
    std::fprintf(stderr, "stavka token create: which scope? (--scope read, purge or admin)\n");
    return 2;
  }
  const std::string token = stavka::admin::new_token();
  std::string list;
  for (const std::string& s : scopes) list += (list.empty() ? "\"" : ", \"") + s + "\"";
  std::printf("token: %s\n\n"
              "The token is shown only now; the server keeps its hash. Add to the configuration:\n\n"
              "[[admin.token]]\nname = \"%s\"\nhash = \"%s\"\nscopes = [%s]\n",
              token.c_str(), name.c_str(), stavka::admin::token_hash(token).c_str(), list.c_str());
  return 0;
}

int main(int argc, char** argv) {
  // With RUST_BACKTRACE set, Wasmtime's errors capture a Rust backtrace: on every module trap,
  // and the first capture held a worker for 100 ms. The log keeps only the trap's cause, so
  // the capture is wasted; RUST_LIB_BACKTRACE=0 turns it off for errors only (a panic's
  // backtrace still follows RUST_BACKTRACE). Set before any thread starts.
  setenv("RUST_LIB_BACKTRACE", "0", 1);
#ifdef STAVKA_NEEDS_SSE42
  // The HTTP parser (llhttp) is built for SSE4.2: see src/http/CMakeLists.txt.
  if (!__builtin_cpu_supports("sse4.2")) {
    std::fprintf(stderr, "stavka: this CPU lacks SSE4.2, which this build of Stavka needs "
                         "(x86-64-v2)\n");
    return 1;
  }
#endif
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  std::string_view cmd = args.front();
  args.erase(args.begin());
  if (cmd == "run") return cmd_run(args);
  if (cmd == "check-config") return cmd_check_config(args);
  if (cmd == "module") return stavka::run_module_command(args);
  if (cmd == "token") return cmd_token(args);
  if (cmd == "purge") return stavka::run_purge_command(args);
  if (cmd == "stats") return stavka::run_stats_command(args);
  if (cmd == "cache") return stavka::run_cache_command(args);
  if (cmd == "prefetch") return stavka::run_prefetch_command(args);
  if (cmd == "demo-origin") {
    std::string listen = "127.0.0.1:8081";
    for (size_t i = 0; i < args.size(); ++i) {
      if (!take_value(args, i, "--listen", &listen)) {
        std::fprintf(stderr, "stavka demo-origin: unknown argument\n");
        return 2;
      }
    }
    return stavka::run_demo_origin(listen);
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("stavka %s\n", version);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "stavka: unknown command '%.*s'\n", int(cmd.size()), cmd.data());
  usage(stderr);
  return 2;
}
