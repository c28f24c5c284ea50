// ControlPlane implementation; see control.h.
#include "control.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <latch>

#include "runtime/log.h"

namespace stavka {

using runtime::LogLevel;
using runtime::log;

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

admin::ModuleInfo info_of(const wasm::Module& m, const config::Config& cfg) {
  admin::ModuleInfo i;
  i.name = m.name();
  i.file = m.config().file;
  i.generation = m.generation();
  i.digest = m.digest();
  i.size = m.bytes().size();
  i.disabled = m.disabled();
  i.isolation = m.config().isolation == config::ModuleIsolation::request ? "request" : "worker";
  for (const config::SiteConfig& site : cfg.sites) {
    for (const std::string& name : site.modules) {
      if (name == m.name()) i.sites.push_back(site.name);
    }
  }
  return i;
}

admin::PushResult refused(int status, std::string error, std::string message) {
  admin::PushResult r;
  r.status = status;
  r.error = std::move(error);
  r.message = std::move(message);
  return r;
}

}  // namespace

std::string replace_file(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmp = (dir / ("." + target.filename().string() + ".push-XXXXXX")).string();
  auto failed = [&](const std::string& what, int err) {
    return "cannot save " + path + ": " + what + ": " + std::strerror(err);
  };
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return failed("cannot create a file in " + dir.string(), errno);
  struct stat st;
  mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  std::string why;
  size_t done = 0;
  while (done < bytes.size() && why.empty()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno != EINTR) why = failed("write", errno);
    if (n > 0) done += static_cast<size_t>(n);
  }
  if (why.empty() && ::fchmod(fd, mode) < 0) why = failed("chmod", errno);
  if (why.empty() && ::fsync(fd) < 0) why = failed("fsync", errno);
  if (::close(fd) < 0 && why.empty()) why = failed("close", errno);
  if (why.empty() && ::rename(tmp.c_str(), path.c_str()) < 0) why = failed("rename", errno);
  if (!why.empty()) {
    ::unlink(tmp.c_str());
    return why;
  }
  // The rename is durable once the folder is synced.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

ControlPlane::ControlPlane(RunOptions options, std::shared_ptr<const config::Config> config,
                           std::shared_ptr<const wasm::ModuleSet> modules)
    : options_(std::move(options)),
      config_(std::move(config)),
      modules_(std::move(modules)),
      thread_(std::make_unique<runtime::HelperPool>(1)) {}

ControlPlane::~ControlPlane() { stop(); }

std::shared_ptr<const config::Config> ControlPlane::config() const {
  std::lock_guard lock(mutex_);
  return config_;
}

void ControlPlane::stop() {
  std::unique_ptr<runtime::HelperPool> thread;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    thread = std::move(thread_);
  }
  thread.reset();  // runs what is queued, then joins
}

void ControlPlane::reload() {
  reload([](admin::ReloadResult) {});  // the outcome is logged
}

void ControlPlane::reload(std::function<void(admin::ReloadResult)> done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      thread_->submit([this, done = std::move(done)] { done(run_reload()); });
      return;
    }
  }
  admin::ReloadResult r;
  r.status = 503;
  r.error = "shutting_down";
  r.message = "the server is shutting down";
  done(std::move(r));
}

void ControlPlane::push(std::string name, std::string bytes,
                        std::function<void(admin::PushResult)> done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      thread_->submit([this, name = std::move(name), bytes = std::move(bytes),
                       done = std::move(done)]() mutable {
        done(run_push(name, std::move(bytes)));
      });
      return;
    }
  }
  done(refused(503, "shutting_down", "the server is shutting down"));
}

std::vector<admin::ModuleInfo> ControlPlane::list() const {
  std::shared_ptr<const config::Config> cfg;
  std::shared_ptr<const wasm::ModuleSet> set;
  {
    std::lock_guard lock(mutex_);
    cfg = config_;
    set = modules_;
  }
  std::vector<admin::ModuleInfo> out;
  for (const auto& m : set->modules()) out.push_back(info_of(*m, *cfg));
  return out;
}

double ControlPlane::publish(const std::function<void(proxy::Worker&)>& apply) {
  auto t0 = std::chrono::steady_clock::now();
  auto acks = std::make_shared<std::latch>(static_cast<std::ptrdiff_t>(workers_.size()));
  for (const WorkerHandle& w : workers_) {
    proxy::Worker* worker = w.worker;
    w.reactor->post([worker, apply, acks] {
      apply(*worker);
      acks->count_down();
    });
  }
  acks->wait();  // workers never block, so this is as long as each takes to start instances
  return ms_since(t0);
}

admin::PushResult ControlPlane::run_push(const std::string& name, std::string bytes) {
  std::shared_ptr<const config::Config> cfg;
  std::shared_ptr<const wasm::ModuleSet> set;
  {
    std::lock_guard lock(mutex_);
    cfg = config_;
    set = modules_;
  }
  const config::ModuleConfig* mc = config::find_module(*cfg, name);
  const wasm::Module* old = set->find(name);
  if (!mc || !old) {
    std::string names;
    for (const auto& m : set->modules()) names += (names.empty() ? "" : ", ") + m->name();
    return refused(404, "unknown_module",
                   "no module named \"" + name + "\" (" +
                       (names.empty() ? "none is configured" : "configured: " + names) + ")");
  }
  size_t size = bytes.size();
  auto t0 = std::chrono::steady_clock::now();
  std::string error;
  std::shared_ptr<wasm::Module> module =
      wasm::Module::load(*mc, std::move(bytes), &error, "pushed, " + std::to_string(size) + " bytes");
  double load_ms = ms_since(t0);
  if (!module) {
    log(LogLevel::warn, "push refused, keeping generation %llu: %s",
        static_cast<unsigned long long>(old->generation()), error.c_str());
    admin::PushResult r = refused(422, "module_rejected", error);
    r.load_ms = load_ms;
    return r;
  }
  if (std::string why = replace_file(mc->file, module->bytes()); !why.empty()) {
    log(LogLevel::error, "module %s: push not applied, keeping generation %llu: %s", name.c_str(),
        static_cast<unsigned long long>(old->generation()), why.c_str());
    return refused(500, "not_saved", why);
  }
  std::shared_ptr<const wasm::ModuleSet> next = set->with(module);
  admin::PushResult r;
  r.previous_generation = old->generation();
  r.publish_ms = publish([next](proxy::Worker& w) { w.apply_modules(next); });
  {
    std::lock_guard lock(mutex_);
    modules_ = next;
  }
  r.status = 200;
  r.module = info_of(*module, *cfg);
  r.workers = static_cast<unsigned>(workers_.size());
  r.load_ms = load_ms;
  log(LogLevel::info,
      "module %s: generation %llu pushed (%s, %zu bytes, saved to %s), replacing generation %llu; "
      "loaded in %.1f ms, on %u workers %.1f ms later",
      name.c_str(), static_cast<unsigned long long>(module->generation()),
      module->digest().c_str(), size, mc->file.c_str(),
      static_cast<unsigned long long>(r.previous_generation), r.load_ms, r.workers, r.publish_ms);
  return r;
}

admin::ReloadResult ControlPlane::run_reload() {
  const auto t0 = std::chrono::steady_clock::now();
  admin::ReloadResult result;
  result.source = options_.config_path;
  auto refused = [&](std::string message) {
    result.status = 422;
    result.error = "config_rejected";
    result.message = std::move(message);
    return result;
  };
  std::shared_ptr<const config::Config> cfg;
  std::shared_ptr<const wasm::ModuleSet> modules;
  {
    std::lock_guard lock(mutex_);
    cfg = config_;
    modules = modules_;
  }
  std::shared_ptr<const config::Config> next;
  std::shared_ptr<const wasm::ModuleSet> next_modules;
  try {
    config::Config c = build_config(options_);
    c.workers = cfg->workers;  // the number of workers and listeners is fixed at start
    if (c.listen.size() != cfg->listen.size()) {
      log(LogLevel::warn, "reload: listen addresses change only on restart");
    }
    if (c.cache.dir != cfg->cache.dir || c.cache.max_size != cfg->cache.max_size ||
        c.cache.memory != cfg->cache.memory || c.cache.zero_copy != cfg->cache.zero_copy) {
      log(LogLevel::warn, "reload: cache.dir, cache.max_size, cache.memory and "
                          "cache.zero_copy change only on restart");
    }
    next = std::make_shared<const config::Config>(std::move(c));
    std::vector<std::string> errors;
    next_modules = wasm::ModuleSet::build(*next, modules.get(), &errors);
    for (const std::string& e : errors) log(LogLevel::error, "reload: %s", e.c_str());
    if (!next_modules) {
      log(LogLevel::error, "reload failed, keeping the running config: a new module did not load");
      std::string why = "a new module did not load";
      for (const std::string& e : errors) why += "; " + e;
      return refused(std::move(why));
    }
  } catch (const config::ConfigError& e) {
    log(LogLevel::error, "reload failed, keeping the running config: %s", e.what());
    return refused(e.what());
  }
  publish([next, next_modules](proxy::Worker& w) { w.apply_config(next, next_modules); });
  {
    std::lock_guard lock(mutex_);
    config_ = next;
    modules_ = next_modules;
  }
  log(LogLevel::info, "config reloaded from %s", options_.config_path.c_str());
  result.status = 200;
  result.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace stavka
