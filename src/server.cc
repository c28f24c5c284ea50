// The server: worker threads, listeners, signals, reload and drain.
//
// Threads: the main thread parses configuration and waits for signals (it never serves
// traffic); each worker thread owns a Reactor, a proxy::Worker and its own SO_REUSEPORT
// listening sockets. Other threads talk to workers only by posting to their mailboxes: the
// control thread (control.h) runs reloads (SIGHUP) and module pushes and posts the new
// configuration or module set; the main thread posts the drain. Worker 0 also runs the admin
// listener.
#include "server.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <latch>
#include <memory>
#include <optional>
#include <thread>

#include "admin/admin_server.h"
#include "control.h"
#include "net/socket.h"
#include "proxy/cache_stage.h"
#include "proxy/module_stage.h"
#include "proxy/worker.h"
#include "storage/block_arena.h"
#include "wasm/module.h"
#include "storage/disk_tier.h"
#include "storage/memory_tier.h"
#include "storage/tiered_storage.h"
#include "runtime/io.h"
#include "runtime/task.h"
#include "runtime/log.h"
#include "runtime/reactor.h"

namespace stavka {

using runtime::LogLevel;
using runtime::log;

config::Config build_config(const RunOptions& o) {
  config::Config cfg;
  if (!o.config_path.empty()) {
    cfg = config::load_file(o.config_path);
  } else if (!o.origin.empty()) {
    cfg = config::load_string("", "<flags>");
  } else {
    cfg = config::load_string(config::embedded_default_toml(), "<embedded>");
  }
  if (!o.listen.empty()) {
    cfg.listen.clear();
    for (const auto& l : o.listen) cfg.listen.push_back(config::parse_listen_address(l));
  }
  if (!o.origin.empty()) {
    cfg.sites.clear();
    cfg.sites.push_back(config::site_for_origin(config::parse_origin_url(o.origin)));
  }
  if (o.workers >= 0) cfg.workers = static_cast<uint32_t>(o.workers);
  if (!o.cache_dir.empty()) cfg.cache.dir = o.cache_dir;
  if (!o.admin_listen.empty()) cfg.admin_listen = config::parse_listen_address(o.admin_listen);
  if (!o.module_file.empty()) {
    // --module FILE: a module named after the file, run by every site (after their own).
    config::ModuleConfig m;
    m.name = std::filesystem::path(o.module_file).stem().string();
    for (char& c : m.name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    }
    m.file = o.module_file;
    if (config::find_module(cfg, m.name)) {
      throw config::ConfigError("", 0, "--module " + o.module_file + ": the config already has a module named \"" + m.name + "\"");
    }
    cfg.modules.push_back(m);
    for (auto& site : cfg.sites) site.modules.push_back(m.name);
  }
  if (cfg.sites.empty()) {
    throw config::ConfigError(cfg.source, 0,
                              "no [[site]] is configured: add one, or pass --origin URL");
  }
  if (cfg.workers == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.workers = n > 0 ? static_cast<uint32_t>(n) : 1;
  }
  return cfg;
}

namespace {

runtime::LogLevel parse_level(const std::string& s) {
  if (s == "error") return LogLevel::error;
  if (s == "warn") return LogLevel::warn;
  if (s == "debug") return LogLevel::debug;
  return LogLevel::info;
}

struct WorkerSlot {
  std::thread thread;
  std::atomic<runtime::Reactor*> reactor{nullptr};
  std::atomic<proxy::Worker*> worker{nullptr};
  std::vector<int> listeners;
  std::string error;
};

runtime::Task<void> accept_loop(proxy::Worker& w, int listen_fd) {
  proxy::Worker::ServiceTask running(w);
  while (!w.draining()) {
    net::SocketAddress peer;
    peer.length = sizeof peer.storage;
    // Non-blocking: hits are spliced to the socket by direct system calls (runtime/splice.h).
    int fd = co_await runtime::accept(listen_fd, peer.get(), &peer.length,
                                      SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (w.draining() || fd == -EINVAL || fd == -EBADF) break;
      if (fd == -EMFILE || fd == -ENFILE) {
        log(LogLevel::error, "accept: out of file descriptors; pausing 100 ms");
        co_await runtime::sleep(std::chrono::milliseconds(100));
      }
      continue;
    }
    if (w.open_connections() >= w.config().limits.max_connections) {
      w.counters().add(proxy::Metric::client_connections_refused_total);
      ::close(fd);
      continue;
    }
    net::tune_client_socket(fd);
    runtime::spawn(proxy::serve_client(w, fd, peer));
  }
}

// The admin listener's accept loop, on worker 0, counted among the worker's service tasks so that
// the drain waits for it too.
runtime::Task<void> admin_loop(proxy::Worker& w, int admin_fd, const admin::AdminContext& ctx) {
  proxy::Worker::ServiceTask running(w);
  co_await admin::serve_admin(admin_fd, ctx);
}

// Waits for in-flight requests (the admin listener's and the prefetch jobs' too, on the worker
// that runs them) and then this worker's fills to finish, then stops the reactor (deadline:
// shutdown_grace).
runtime::Task<void> drain(proxy::Worker& w, std::vector<int> listeners,
                          admin::AdminConnections* admin, admin::PrefetchJobs* prefetch,
                          runtime::Clock::time_point deadline) {
  w.start_drain();
  for (int fd : listeners) ::shutdown(fd, SHUT_RDWR);  // pending accepts end with -EINVAL
  if (admin) admin->drain();
  if (prefetch) prefetch->stop();
  auto open = [&] {
    return w.open_connections() + (admin ? admin->open() : 0) +
           (prefetch ? prefetch->running_lanes() : 0);
  };
  while (open() > 0 && w.reactor().now() < deadline) {
    co_await runtime::sleep(std::chrono::milliseconds(20));
  }
  if (open() > 0) {
    const size_t lanes = prefetch ? prefetch->running_lanes() : 0;
    log(LogLevel::warn,
        "worker %u: %zu connections%s still open at the drain deadline; closing",
        w.reactor().index(), open() - lanes,
        lanes ? (" and " + std::to_string(lanes) + " prefetch lanes").c_str() : "");
    w.abort_connections();
    if (admin) admin->abort();
  }
  // Fills still storing (a body whose clients are served, blocks or the publish in flight) end
  // here, so that what the clients got is also what the cache kept.
  auto fills = [&] { return w.counters().get(proxy::Metric::cache_fills_in_progress); };
  while (fills() > 0 && w.reactor().now() < deadline) {
    co_await runtime::sleep(std::chrono::milliseconds(10));
  }
  // The accept loops (their accepts ended by the shutdown) and housekeeping (its alarm rung)
  // end within an iteration or two; then no task of the worker's is left suspended.
  while (w.service_tasks() > 0 && w.reactor().now() < deadline) {
    co_await runtime::sleep(std::chrono::milliseconds(1));
  }
  // Past the deadline, what still waits on an origin (a request whose client is gone, a fill
  // storing for no client) ends as if the origin had closed, and everything gets a moment to
  // unwind, so that no task is left suspended when the reactor stops.
  if (w.reactor().now() >= deadline) {
    w.abort_origin_requests();
    const auto unwind = w.reactor().now() + std::chrono::milliseconds(500);
    while ((open() > 0 || fills() > 0 || w.service_tasks() > 0) && w.reactor().now() < unwind) {
      co_await runtime::sleep(std::chrono::milliseconds(5));
    }
  }
  for (int fd : listeners) ::close(fd);
  w.upstreams().close_all();
  w.reactor().stop();
}

// Admin tokens for the process's life: STAVKA_ADMIN_TOKEN (scope admin), or, with no token
// configured either, a new one printed once, so that an admin listener is never open to all.
void add_process_tokens(const config::Config& cfg, admin::AdminContext& admin_ctx) {
  const char* env = std::getenv("STAVKA_ADMIN_TOKEN");
  if (env && *env) {
    admin_ctx.process_tokens.add({"STAVKA_ADMIN_TOKEN", admin::token_hash(env),
                                  static_cast<uint8_t>(admin::Scope::admin)});
    return;
  }
  if (!cfg.admin.tokens.empty()) return;
  std::string token = admin::new_token();
  admin_ctx.process_tokens.add({"started", admin::token_hash(token),
                                static_cast<uint8_t>(admin::Scope::admin)});
  log(LogLevel::warn,
      "no admin token configured: this run's admin token (scope admin) is %s; "
      "`stavka token create` makes one to keep in [[admin.token]]",
      token.c_str());
}

void worker_main(unsigned index, WorkerSlot& slot, std::shared_ptr<const config::Config> cfg,
                 std::shared_ptr<const wasm::ModuleSet> modules, int log_fd, int admin_fd, admin::AdminContext* admin_ctx,
                 proxy::CacheServices* cache, std::latch& started, std::latch& all_ready) {
  std::unique_ptr<runtime::Reactor> reactor;
  std::unique_ptr<proxy::Worker> worker;
  try {
    reactor = std::make_unique<runtime::Reactor>(index);
    reactor->make_current();
    worker = std::make_unique<proxy::Worker>(*reactor, cfg, log_fd);
    worker->set_cache_services(cache);
    proxy::connect_module_services(*worker);
    worker->apply_modules(std::move(modules));
  } catch (const std::exception& e) {
    slot.error = e.what();
    started.count_down();
    return;
  }
  slot.reactor = reactor.get();
  slot.worker = worker.get();
  started.count_down();
  all_ready.wait();  // the admin context lists every worker's counters
  for (int fd : slot.listeners) runtime::spawn(accept_loop(*worker, fd));
  runtime::spawn(proxy::housekeeping(*worker));
  if (admin_fd >= 0) runtime::spawn(admin_loop(*worker, admin_fd, *admin_ctx));
  reactor->run();
  worker.reset();
  reactor.reset();
}

int open_log_fd(const config::LogConfig& logcfg) {
  if (logcfg.access == "off") return -1;
  if (logcfg.access == "stdout") return 1;
  if (logcfg.access == "stderr") return 2;
  int fd = ::open(logcfg.access.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw config::ConfigError("", 0, "cannot open access log " + logcfg.access + ": " +
                                         std::strerror(errno));
  }
  return fd;
}

}  // namespace

int run_server(const RunOptions& options) {
  std::shared_ptr<const config::Config> cfg;
  try {
    cfg = std::make_shared<const config::Config>(build_config(options));
  } catch (const config::ConfigError& e) {
    log(LogLevel::error, "%s", e.what());
    return 2;
  }
  runtime::set_log_level(parse_level(cfg->log.level));
  if (std::string problem = runtime::probe_io_uring(); !problem.empty()) {
    log(LogLevel::error, "%s", problem.c_str());
    return 1;
  }

  // Signals are taken by the main thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Modules are compiled and test-started here, before any worker runs (and after the signal
  // mask, which Wasmtime's epoch thread inherits). One that fails stops the start.
  std::shared_ptr<const wasm::ModuleSet> modules;
  {
    std::vector<std::string> errors;
    modules = wasm::ModuleSet::build(*cfg, nullptr, &errors);
    for (const std::string& e : errors) log(LogLevel::error, "%s", e.c_str());
    if (!modules) return 2;
    for (const auto& m : modules->modules()) {
      log(LogLevel::info, "module %s loaded from %s (generation %llu)", m->name().c_str(),
          m->config().file.c_str(), static_cast<unsigned long long>(m->generation()));
    }
  }

  int log_fd;
  try {
    log_fd = open_log_fd(cfg->log);
  } catch (const config::ConfigError& e) {
    log(LogLevel::error, "%s", e.what());
    return 2;
  }

  // Addresses are bound now, so a conflict stops the start before the cache loads, but
  // connections are refused until the cache and the workers are ready (listen() below).
  unsigned n = cfg->workers;
  std::vector<WorkerSlot> slots(n);
  for (const auto& l : cfg->listen) {
    auto addr = net::make_address(l.host, l.port);
    for (unsigned i = 0; i < n; ++i) {
      std::string error;
      int fd = addr ? net::open_listener(*addr, 0, &error) : -1;
      if (fd < 0) {
        log(LogLevel::error, "%s", addr ? error.c_str() : "bad listen address");
        return 1;
      }
      slots[i].listeners.push_back(fd);
    }
  }
  int admin_fd = -1;
  if (cfg->admin_listen) {
    std::string error;
    auto addr = net::make_address(cfg->admin_listen->host, cfg->admin_listen->port);
    admin_fd = addr ? net::open_listener(*addr, 0, &error) : -1;
    if (admin_fd < 0) {
      log(LogLevel::error, "admin listener: %s", error.c_str());
      return 1;
    }
  }

  // Body blocks of 16 KiB and more live in the block arena so that hits are spliced, not
  // copied. Declared before the cache so that it outlives every block. Without it (turned off,
  // or refused by the kernel) blocks live on the heap and hits are copied.
  std::unique_ptr<storage::BlockArena> arena;
  struct Uninstall {
    ~Uninstall() { storage::install_block_arena(nullptr); }
  } uninstall_arena;  // destroyed before the arena, after the cache
  if (cfg->cache.zero_copy) {
    std::string error;
    arena = storage::BlockArena::create(4 * cfg->cache.memory + (uint64_t{1} << 30), &error);
    if (arena) {
      storage::install_block_arena(arena.get());
    } else {
      log(LogLevel::warn, "cache.zero_copy: %s; hits are copied instead", error.c_str());
    }
  }

  // The cache: shared by every worker, alive until every worker thread has ended. The disk
  // tier's start-up (reading the manifest, checking files) blocks, before any worker runs.
  std::unique_ptr<storage::DiskTier> disk_tier;
  if (!cfg->cache.dir.empty()) {
    storage::DiskTier::Opened opened =
        storage::DiskTier::open(cfg->cache.dir, cfg->cache.max_size, n);
    if (!opened.tier) {
      log(LogLevel::error, "cache.dir %s: %s", cfg->cache.dir.c_str(), opened.error.c_str());
      return 1;
    }
    disk_tier = std::move(opened.tier);
    const storage::DiskOpenStats& o = disk_tier->open_stats();
    log(LogLevel::info,
        "cache.dir %s: %llu objects loaded, %llu recovered, %llu dropped (missing or corrupt), "
        "%llu torn writes deleted, %llu evicted",
        cfg->cache.dir.c_str(), static_cast<unsigned long long>(o.loaded),
        static_cast<unsigned long long>(o.recovered), static_cast<unsigned long long>(o.dropped),
        static_cast<unsigned long long>(o.deleted), static_cast<unsigned long long>(o.evicted));
  }
  storage::TieredStorage storage(std::make_unique<storage::MemoryTier>(cfg->cache.memory, n),
                                 std::move(disk_tier));
  cache::FillTable fills;
  proxy::CacheServices cache_services{&storage, &fills};

  // Reloads and module pushes: the control thread (control.h). Workers get their handles below.
  ControlPlane control(options, cfg, modules);
  admin::AdminContext admin_ctx;
  admin::AdminConnections admin_connections;  // used on worker 0 only
  admin_ctx.connections = &admin_connections;
  admin_ctx.modules = &control;
  admin_ctx.storage = &storage;
  admin_ctx.tiers.push_back({"memory", storage.memory()});
  if (storage.disk()) admin_ctx.tiers.push_back({"disk", storage.disk()});
  admin_ctx.arena = arena.get();
  if (cfg->admin_listen) add_process_tokens(*cfg, admin_ctx);
  // Prefetch jobs fetch through the first proxy listener, as clients would.
  std::optional<admin::PrefetchJobs> prefetch;
  if (!slots.empty() && !slots[0].listeners.empty()) {
    net::SocketAddress bound;
    bound.length = sizeof bound.storage;
    if (::getsockname(slots[0].listeners[0], bound.get(), &bound.length) == 0) {
      if (auto loopback = net::loopback_if_wildcard(bound)) bound = *loopback;
      prefetch.emplace(bound);
      admin_ctx.prefetch = &*prefetch;
    }
  }
  std::latch started(n);
  std::latch all_ready(1);
  for (unsigned i = 0; i < n; ++i) {
    slots[i].thread = std::thread(worker_main, i, std::ref(slots[i]), cfg, modules, log_fd,
                                  i == 0 ? admin_fd : -1, &admin_ctx, &cache_services,
                                  std::ref(started),
                                  std::ref(all_ready));
  }
  // From here the control plane and the workers hold the modules: a version replaced later is
  // freed when its last request ends, not kept alive by this frame.
  modules.reset();
  started.wait();
  bool failed = false;
  std::vector<WorkerHandle> handles;
  for (auto& s : slots) {
    if (!s.error.empty()) {
      log(LogLevel::error, "worker start failed: %s", s.error.c_str());
      failed = true;
    } else {
      admin_ctx.workers.push_back(&s.worker.load()->counters());
      if (&s == &slots[0]) admin_ctx.home = s.worker.load();
      handles.push_back({s.reactor.load(), s.worker.load()});
    }
  }
  control.set_workers(std::move(handles));
  // Ready: the cache is loaded and every worker runs. Listen before the accept loops start.
  for (auto& s : slots) {
    for (int fd : s.listeners) {
      std::string error;
      if (!failed && net::start_listening(fd, 4096, &error) < 0) {
        log(LogLevel::error, "%s", error.c_str());
        failed = true;
      }
    }
  }
  if (admin_fd >= 0 && !failed) {
    std::string error;
    if (net::start_listening(admin_fd, 256, &error) < 0) {
      log(LogLevel::error, "admin listener: %s", error.c_str());
      failed = true;
    }
  }
  all_ready.count_down();
  if (failed) {
    for (auto& s : slots) {
      if (auto* r = s.reactor.load()) r->post([r] { r->stop(); });
    }
    for (auto& s : slots) s.thread.join();
    return 1;
  }
  for (const auto& l : cfg->listen) log(LogLevel::info, "listening on %s", l.text.c_str());
  if (cfg->admin_listen) log(LogLevel::info, "admin listening on %s", cfg->admin_listen->text.c_str());
  log(LogLevel::info, "%u workers, %zu sites, config %s", n, cfg->sites.size(), cfg->source.c_str());

  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      if (options.config_path.empty()) {
        log(LogLevel::info, "SIGHUP: no config file to reload");
        continue;
      }
      control.reload();  // on the control thread, after any push already queued
      continue;
    }
    log(LogLevel::info, "%s: draining (up to %lld ms)", sig == SIGINT ? "SIGINT" : "SIGTERM",
        static_cast<long long>(control.config()->timeouts.shutdown_grace.count()));
    break;
  }
  // Pushes and reloads still queued finish first (they need running workers); later pushes
  // are refused.
  control.stop();
  cfg = control.config();
  auto deadline = runtime::Clock::now() + cfg->timeouts.shutdown_grace;
  for (auto& s : slots) {
    proxy::Worker* w = s.worker.load();
    std::vector<int> listeners = s.listeners;
    admin::AdminConnections* admin = nullptr;
    admin::PrefetchJobs* jobs = nullptr;  // they run on the admin listener's worker
    if (&s == &slots[0] && admin_fd >= 0) {
      listeners.push_back(admin_fd);
      admin = &admin_connections;
      jobs = admin_ctx.prefetch;
    }
    s.reactor.load()->post([w, listeners, admin, jobs, deadline] {
      runtime::spawn(drain(*w, listeners, admin, jobs, deadline));
    });
  }
  for (auto& s : slots) s.thread.join();
  log(LogLevel::info, "stopped");
  return 0;
}

}  // namespace stavka
