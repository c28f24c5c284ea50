// WorkerModules: one worker's side of the modules: its instances of the ModuleSet in force,
// their timers, HTTP calls and queue wake-ups, and the proxy's services modules reach (HTTP
// calls to upstreams, purges).
//
// Owned by the worker and used on its thread only. apply() takes a new ModuleSet (start, reload,
// push): instances of modules that did not change are kept; new ones are started now (the
// module was compiled and test-started off the reactor, so this is instantiation plus the root
// context's start, bounded by the module's CPU limit). Instances of the old set stay alive
// while requests that began with them hold them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config.h"
#include "http/headers.h"
#include "runtime/io.h"
#include "runtime/reactor.h"
#include "runtime/task.h"
#include "wasm/abi.h"
#include "wasm/codec/map_codec.h"
#include "wasm/module.h"

namespace stavka::wasm {

class Instance;

// An HTTP call a module makes (proxy_http_call), as the proxy performs it.
struct HttpCallSpec {
  std::string module;         // the calling module's name
  std::string upstream_name;  // as its [module.upstreams] names it
  config::OriginUrl upstream;
  std::string method = "GET";
  std::string path = "/";
  std::string authority;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};
};
struct HttpCallResult {
  int status = 0;  // 0: no response (connect failure, timeout, malformed answer)
  http::HeaderMap headers;
  std::string body;
};
using HttpCaller = std::function<runtime::Task<HttpCallResult>(HttpCallSpec)>;
using Purger = std::function<std::optional<uint64_t>(std::string_view)>;

class WorkerModules {
 public:
  explicit WorkerModules(runtime::Reactor& reactor);
  ~WorkerModules();
  WorkerModules(const WorkerModules&) = delete;

  void apply(std::shared_ptr<const ModuleSet> set);
  const std::shared_ptr<const ModuleSet>& set() const { return set_; }

  // Keeps the set in force now alive for a request, after a newer one replaced it too. Counted
  // on this worker alone: a request costs no atomic operation on a count every worker shares.
  class Hold {
   public:
    Hold() = default;
    Hold(Hold&& other) noexcept
        : worker_(std::exchange(other.worker_, nullptr)), generation_(other.generation_) {}
    Hold& operator=(Hold&& other) noexcept;
    ~Hold() { reset(); }
    void reset();

   private:
    friend class WorkerModules;
    WorkerModules* worker_ = nullptr;
    size_t generation_ = 0;
  };
  Hold hold();
  runtime::Reactor& reactor() const { return reactor_; }

  // The instance a new request of `module` runs in: this worker's (a new one if the last
  // faulted), or a fresh one for isolation = "request". nullptr when none can be started, or
  // while the module is held back on this worker (charge_fault).
  std::shared_ptr<Instance> instance_for(const Module& module);

  // A fault of `module` on this worker that took `cost` of its time. The module's faults may
  // take config().fault_cpu_share of the worker's time, with two cpu_limits of credit for
  // bursts: past that, the module is held back (its new requests get on_error without it)
  // until the credit, refilled at the share's rate, is back to zero. A module that overruns on
  // every request thus takes that share of the worker, not all of it, and sporadic faults are
  // never held back.
  void charge_fault(const Module& module, std::chrono::nanoseconds cost);

  void set_http_caller(HttpCaller caller) { http_caller_ = std::move(caller); }
  void set_purgers(Purger url, Purger tag) {
    purge_url_ = std::move(url);
    purge_tag_ = std::move(tag);
  }

  // Services for host functions (this worker's thread).
  void tick_period_changed(Instance& instance);
  std::function<void(uint32_t)> queue_notifier(const std::string& module);
  Status http_call(Instance& instance, std::string_view upstream, const Pairs& headers,
                   std::string_view body, uint32_t timeout_ms, uint32_t* token);
  std::optional<uint64_t> purge_url(std::string_view url) { return purge_url_ ? purge_url_(url) : std::nullopt; }
  std::optional<uint64_t> purge_tag(std::string_view tag) { return purge_tag_ ? purge_tag_(tag) : std::nullopt; }

  // Draining: timers stop, no new calls are made.
  void stop();

 private:
  struct Entry {
    std::shared_ptr<const Module> module;
    std::shared_ptr<Instance> instance;  // isolation = "worker"
    int64_t last_start_failure_ms = -1000000;
    // The fault budget (charge_fault), in nanoseconds of this worker's time.
    int64_t fault_credit_ns = 0;
    runtime::Clock::time_point credit_at{};  // when fault_credit_ns was last brought up to date
    runtime::Clock::time_point held_back_until{};
  };
  std::shared_ptr<Instance> start(Entry& entry);
  bool current(const Instance& instance) const;
  runtime::Task<void> tick_loop(std::weak_ptr<Instance> weak);
  runtime::Task<void> run_call(std::weak_ptr<Instance> weak, uint32_t context_id, uint32_t token,
                               HttpCallSpec spec);

  runtime::Reactor& reactor_;
  std::shared_ptr<const ModuleSet> set_;
  // Sets still held by requests, and the one in force (last), with their holds.
  struct Generation {
    size_t number;
    std::shared_ptr<const ModuleSet> set;
    uint32_t holds = 0;
  };
  std::vector<Generation> generations_;
  size_t next_generation_ = 1;
  void release(size_t generation);
  std::unordered_map<const Module*, Entry> entries_;
  HttpCaller http_caller_;
  Purger purge_url_, purge_tag_;
  std::shared_ptr<WorkerModules*> alive_;  // for posts from other threads
  bool stopped_ = false;
  // The waits of the tick loops, in their frames: stop() rings them so the loops end at once.
  std::vector<runtime::Alarm*> tick_waits_;
};

}  // namespace stavka::wasm
