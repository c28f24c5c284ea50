#include "wasm/worker_modules.h"

#include <chrono>

#include "runtime/io.h"
#include "runtime/log.h"
#include "wasm/filter_chain.h"
#include "wasm/instance.h"
#include "wasm/shared_state.h"

namespace stavka::wasm {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A worker retries starting an instance that failed to start at most this often.
constexpr int64_t start_retry_ms = 1000;

}  // namespace

WorkerModules::WorkerModules(runtime::Reactor& reactor)
    : reactor_(reactor), alive_(std::make_shared<WorkerModules*>(this)) {}

WorkerModules::~WorkerModules() { *alive_ = nullptr; }

void WorkerModules::apply(std::shared_ptr<const ModuleSet> set) {
  std::unordered_map<const Module*, Entry> next;
  if (set) {
    for (const auto& m : set->modules()) {
      auto it = entries_.find(m.get());
      if (it != entries_.end()) {
        next.emplace(m.get(), std::move(it->second));
        continue;
      }
      Entry& e = next[m.get()];
      e.module = m;
      if (m->config().isolation == config::ModuleIsolation::worker && !stopped_) start(e);
    }
  }
  entries_ = std::move(next);  // old instances live on in the requests that hold them
  std::erase_if(generations_, [](const Generation& g) { return g.holds == 0; });
  generations_.push_back({next_generation_++, set, 0});
  set_ = std::move(set);
}

WorkerModules::Hold WorkerModules::hold() {
  Hold h;
  h.worker_ = this;
  h.generation_ = generations_.back().number;
  ++generations_.back().holds;
  return h;
}

WorkerModules::Hold& WorkerModules::Hold::operator=(Hold&& other) noexcept {
  if (this != &other) {
    reset();
    worker_ = std::exchange(other.worker_, nullptr);
    generation_ = other.generation_;
  }
  return *this;
}

void WorkerModules::Hold::reset() {
  if (worker_) std::exchange(worker_, nullptr)->release(generation_);
}

void WorkerModules::release(size_t generation) {
  for (size_t i = 0; i < generations_.size(); ++i) {
    Generation& g = generations_[i];
    if (g.number != generation) continue;
    if (--g.holds == 0 && i + 1 < generations_.size()) generations_.erase(generations_.begin() + i);
    return;
  }
}

std::shared_ptr<Instance> WorkerModules::start(Entry& e) {
  std::string error;
  std::shared_ptr<Instance> instance = Instance::start(e.module, this, &error);
  if (!instance) {
    e.last_start_failure_ms = now_ms();
    runtime::log(runtime::LogLevel::warn, "module %s: cannot start an instance: %s",
                 e.module->name().c_str(), error.c_str());
    return nullptr;
  }
  if (e.module->config().isolation == config::ModuleIsolation::worker) e.instance = instance;
  return instance;
}

std::shared_ptr<Instance> WorkerModules::instance_for(const Module& module) {
  auto it = entries_.find(&module);
  if (it == entries_.end()) return nullptr;
  Entry& e = it->second;
  if (reactor_.now() < e.held_back_until) {
    module.stats().held_back.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  if (module.config().isolation == config::ModuleIsolation::request) return start(e);
  if (e.instance && !e.instance->broken()) return e.instance;
  e.instance.reset();
  if (now_ms() - e.last_start_failure_ms < start_retry_ms) return nullptr;
  return start(e);
}

void WorkerModules::charge_fault(const Module& module, std::chrono::nanoseconds cost) {
  const double share = module.config().fault_cpu_share;
  auto it = entries_.find(&module);
  if (share >= 1.0 || it == entries_.end()) return;  // not held back, or an older version
  Entry& e = it->second;
  const int64_t capacity =
      2 * std::chrono::duration_cast<std::chrono::nanoseconds>(module.config().cpu_limit).count();
  const runtime::Clock::time_point now = runtime::Clock::now();
  if (e.credit_at == runtime::Clock::time_point{}) {
    e.fault_credit_ns = capacity;
  } else {
    const double refill = static_cast<double>((now - e.credit_at).count()) * share;
    e.fault_credit_ns = static_cast<int64_t>(
        std::min(static_cast<double>(capacity), static_cast<double>(e.fault_credit_ns) + refill));
  }
  e.credit_at = now;
  e.fault_credit_ns -= cost.count();
  if (e.fault_credit_ns >= 0) return;
  const auto hold = std::chrono::nanoseconds(
      static_cast<int64_t>(static_cast<double>(-e.fault_credit_ns) / share));
  e.held_back_until = now + hold;
  uint64_t unlogged = 0;
  if (module.stats().log_fault(now_ms(), &unlogged)) {
    runtime::log(runtime::LogLevel::warn,
                 "module %s: held back on worker %u for %lld ms: its faults took more than "
                 "%g%% of the worker's time (fault_cpu_share)",
                 module.name().c_str(), reactor_.index(),
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(hold).count()),
                 share * 100);
  }
}

bool WorkerModules::current(const Instance& instance) const {
  auto it = entries_.find(&instance.module());
  return it != entries_.end() && it->second.instance.get() == &instance;
}

void WorkerModules::stop() {
  stopped_ = true;
  // Each loop resumes inside ring(), sees stopped_ and ends (taking its wait off the list).
  const std::vector<runtime::Alarm*> waits = tick_waits_;
  for (runtime::Alarm* wait : waits) wait->ring();
}

// --- timers ----------------------------------------------------------------------------------

void WorkerModules::tick_period_changed(Instance& instance) {
  if (instance.tick_period_ms == 0 || instance.ticking || stopped_) return;
  instance.ticking = true;
  runtime::spawn(tick_loop(instance.weak_from_this()));
}

runtime::Task<void> WorkerModules::tick_loop(std::weak_ptr<Instance> weak) {
  runtime::Alarm wait;
  tick_waits_.push_back(&wait);
  struct Unlist {
    std::vector<runtime::Alarm*>& waits;
    runtime::Alarm* wait;
    ~Unlist() { std::erase(waits, wait); }
  } unlist{tick_waits_, &wait};
  while (true) {
    uint32_t period;
    {
      std::shared_ptr<Instance> in = weak.lock();
      if (!in) co_return;
      period = in->tick_period_ms;
      // A request-isolated instance has no timers. (Whether the instance is still the worker's
      // is checked after the wait: one starting now is not in the table until it has started.)
      if (period == 0 || in->broken() || stopped_ ||
          in->module().config().isolation == config::ModuleIsolation::request) {
        in->ticking = false;
        co_return;
      }
    }
    co_await wait.wait_for(std::chrono::milliseconds(period));
    std::shared_ptr<Instance> in = weak.lock();
    if (!in || in->broken() || stopped_ || !current(*in)) {
      if (in) in->ticking = false;
      co_return;
    }
    in->call(Export::tick, {Instance::root_id});
  }
}

// --- queues ----------------------------------------------------------------------------------

std::function<void(uint32_t)> WorkerModules::queue_notifier(const std::string& module) {
  runtime::Reactor* reactor = &reactor_;
  std::weak_ptr<WorkerModules*> alive = alive_;
  return [reactor, alive, module](uint32_t queue) {
    reactor->post([alive, module, queue] {
      std::shared_ptr<WorkerModules*> self = alive.lock();
      if (!self || !*self) return;
      for (auto& [m, e] : (*self)->entries_) {
        if (m->name() != module || !e.instance || e.instance->broken()) continue;
        e.instance->call(Export::queue_ready, {Instance::root_id, queue});
      }
    });
  };
}

// --- HTTP calls --------------------------------------------------------------------------------

Status WorkerModules::http_call(Instance& instance, std::string_view upstream, const Pairs& headers,
                                std::string_view body, uint32_t timeout_ms, uint32_t* token) {
  const config::ModuleConfig& cfg = instance.module().config();
  const config::OriginUrl* target = nullptr;
  for (const auto& [name, url] : cfg.upstreams) {
    if (name == upstream) target = &url;
  }
  if (!target) {
    runtime::log(runtime::LogLevel::warn,
                 "module %s: proxy_http_call to upstream \"%.*s\", which its [module.upstreams] "
                 "does not name", cfg.name.c_str(), static_cast<int>(upstream.size()), upstream.data());
    return Status::bad_argument;
  }
  if (!http_caller_ || stopped_) return Status::internal_failure;
  HttpCallSpec spec;
  spec.module = cfg.name;
  spec.upstream_name.assign(upstream);
  spec.upstream = *target;
  spec.authority = target->host + ":" + std::to_string(target->port);
  for (const auto& [name, value] : headers) {
    if (name == ":method") spec.method.assign(value);
    else if (name == ":path") spec.path.assign(value);
    else if (name == ":authority") spec.authority.assign(value);
    else if (!name.empty() && name[0] == ':') continue;
    else spec.headers.emplace_back(std::string(name), std::string(value));
  }
  if (spec.method.empty() || spec.path.empty() || spec.path[0] != '/') return Status::bad_argument;
  spec.body.assign(body);
  spec.timeout = std::chrono::milliseconds(timeout_ms == 0 ? 5000 : timeout_ms);
  *token = instance.next_call_token++;
  instance.module().stats().http_calls.fetch_add(1, std::memory_order_relaxed);
  runtime::spawn(run_call(instance.weak_from_this(), instance.effective_id(), *token, std::move(spec)));
  return Status::ok;
}

runtime::Task<void> WorkerModules::run_call(std::weak_ptr<Instance> weak, uint32_t context_id,
                                            uint32_t token, HttpCallSpec spec) {
  HttpCallResult result = co_await http_caller_(std::move(spec));
  if (result.status) result.headers.insert(0, ":status", std::to_string(result.status));
  std::shared_ptr<Instance> in = weak.lock();
  if (!in || in->broken()) co_return;
  // The context that made the call must still exist (a request that ended has no callback).
  if (context_id != Instance::root_id && !in->context(context_id)) co_return;
  Instance::CallResponse response{&result.headers, result.body, result.status};
  in->set_call_response(&response);
  in->set_effective(context_id);
  uint32_t headers = static_cast<uint32_t>(result.headers.size());
  in->call(Export::http_call_response,
           {context_id, token, headers, static_cast<uint32_t>(result.body.size()), 0});
  in->set_effective(Instance::root_id);
  in->set_call_response(nullptr);
  // A paused request whose module faulted in the callback must not wait for its limit.
  if (in->broken() && context_id != Instance::root_id) {
    if (HttpContext* c = in->context(context_id)) c->chain->resume();
  }
}

}  // namespace stavka::wasm
