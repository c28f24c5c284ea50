// ModuleControl: what the admin API asks of whoever owns the modules in force (the server's
// control thread), as plain values, so the admin layer knows nothing of how a version is
// compiled, saved or published.
//
// list() may be called from any thread and returns at once. push() and reload() return at once
// too: the work (compile, test start, saving the file, publishing to every worker) happens on
// another thread, and `done` is called there, exactly once, when every worker has the new
// version or with the reason it was refused. The caller moves back to its own reactor from `done` (the
// admin listener posts the resumption of its coroutine).
#pragma once

#include <coroutine>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/reactor.h"

namespace stavka::admin {

struct ModuleInfo {
  std::string name;
  std::string file;          // where the module's version is kept (restarts and reloads read it)
  uint64_t generation = 0;   // of the version in force; every load makes a new one
  std::string digest;        // of its bytes: "SIZE-HASH"
  uint64_t size = 0;         // bytes
  bool disabled = false;     // by faults, until a new version is loaded
  std::string isolation;     // "worker" or "request"
  std::vector<std::string> sites;  // the sites that run it
};

struct PushResult {
  // 200: published. 404: no module of that name. 422: the bytes were refused (not WebAssembly,
  // not Proxy-Wasm, failed to start or to configure). 500: the new version could not be saved
  // (nothing changed). 503: the server is shutting down.
  int status = 500;
  std::string error;    // a stable code: "unknown_module", "module_rejected", ...
  std::string message;  // the loader's or the file system's words
  ModuleInfo module;    // 200: the new version
  uint64_t previous_generation = 0;
  unsigned workers = 0;     // workers that switched to it
  double load_ms = 0;       // compile and test start
  double publish_ms = 0;    // from the first post to the last worker's acknowledgement
};

struct ReloadResult {
  // 200: the new configuration is in force on every worker. 422: it was refused (the
  // configuration file or a module in it did not load); the running one stays. 503: shutting
  // down.
  int status = 500;
  std::string error;    // "config_rejected", "shutting_down"
  std::string message;  // the loader's words (file:line: message)
  std::string source;   // the file read
  double ms = 0;        // from the start of the reload to the last worker's acknowledgement
};

class ModuleControl {
 public:
  virtual ~ModuleControl() = default;
  virtual std::vector<ModuleInfo> list() const = 0;
  virtual void push(std::string name, std::string bytes,
                    std::function<void(PushResult)> done) = 0;
  // Reloads the configuration (as SIGHUP does); `done` as for push().
  virtual void reload(std::function<void(ReloadResult)> done) = 0;
};

// Awaits work a ModuleControl does on its own thread: `start` gets the completion, which runs
// there; the coroutine resumes on the reactor it was on. Await it as a named variable.
template <typename Result>
struct ControlAwaiter {
  std::function<void(std::function<void(Result)>)> start;
  Result result{};

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    runtime::Reactor* home = &runtime::Reactor::current();
    start([this, h, home](Result r) {
      result = std::move(r);
      home->post([h] { h.resume(); });
    });
  }
  Result await_resume() { return std::move(result); }
};

}  // namespace stavka::admin
