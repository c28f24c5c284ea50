#include "wasm/filter_chain.h"

#include "runtime/log.h"
#include "runtime/reactor.h"
#include "wasm/instance.h"
#include "wasm/shared_state.h"
#include "wasm/worker_modules.h"

namespace stavka::wasm {

namespace {

// Calls e in the context c stands for: host functions then act on c's stream.
bool invoke(HttpContext& c, Export e, std::initializer_list<uint32_t> args, uint32_t* result = nullptr) {
  Instance& in = *c.instance;
  in.set_effective(&c, c.id);
  bool ok = in.call(e, args, result);
  in.set_effective(nullptr, Instance::root_id);
  return ok;
}

uint32_t header_count(const http::HeaderMap& headers, uint32_t pseudo) {
  return static_cast<uint32_t>(headers.size()) + pseudo;
}

}  // namespace

// Waits for the module to resume or answer the request, or for the limit.
struct FilterChain::PauseAwaiter : runtime::Timer {
  FilterChain* chain;
  runtime::Duration limit;
  bool timed_out = false;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    chain->waiter_ = h;
    deadline = runtime::Reactor::current().now() + limit;
    fire = [](runtime::Timer* t) {
      auto* self = static_cast<PauseAwaiter*>(t);
      self->timed_out = true;
      std::coroutine_handle<> waiter = self->chain->waiter_;
      self->chain->waiter_ = {};
      if (waiter) waiter.resume();
    };
    runtime::Reactor::current().add_timer(this);
  }
  bool await_resume() {
    runtime::Reactor::current().remove_timer(this);
    return !timed_out;
  }
};

void FilterChain::begin(WorkerModules& worker, const std::vector<const Module*>& modules,
                        Stream& stream) {
  stream_ = &stream;
  for (const Module* m : modules) {
    if (count_ == max_modules) break;
    HttpContext& c = *std::construct_at(&contexts_.at[count_++]);
    c.module = m;
    c.stream = &stream;
    c.chain = this;
    if (m->disabled()) {
      fault(c);
      continue;
    }
    c.instance = worker.instance_for(*m);
    if (!c.instance) {
      fault(c);
      continue;
    }
    c.id = c.instance->new_context_id();
    c.instance->add_context(&c);
    if (!invoke(c, Export::context_create, {c.id, Instance::root_id})) fault(c);
  }
}

bool FilterChain::fault(HttpContext& c) {
  if (c.failed) return c.module->config().on_error == config::ModuleOnError::fail_open;
  c.failed = true;
  ModuleStats& stats = c.module->stats();
  if (c.module->config().on_error == config::ModuleOnError::fail_open) {
    stats.failed_open.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  stats.failed_closed.fetch_add(1, std::memory_order_relaxed);
  failed_closed_ = true;
  return false;
}

Verdict FilterChain::request_headers() {
  if (failed_closed_) return Verdict::fail;
  stream_->phase = Phase::request_headers;
  return headers_from(0);
}

Verdict FilterChain::response_headers(bool end_of_stream) {
  if (count_ == 0) return Verdict::proceed;
  if (failed_closed_) return Verdict::fail;
  stream_->phase = Phase::response_headers;
  response_eos_ = end_of_stream;
  return headers_from(0);
}

HttpContext& FilterChain::in_order(size_t k) {
  return context(stream_->phase == Phase::response_headers ? count_ - 1 - k : k);
}

Verdict FilterChain::headers_from(size_t k) {
  paused_at_ = 0;
  const bool response = stream_->phase == Phase::response_headers;
  const Export callback = response ? Export::response_headers : Export::request_headers;
  const bool end_of_stream = response ? response_eos_ : !stream_->request->has_body();
  for (; k < count_; ++k) {
    HttpContext& c = in_order(k);
    if (c.failed) continue;
    const uint32_t headers = response ? response_field_count(*stream_) + 1
                                      : header_count(stream_->request->headers, 4);
    uint32_t action = 0;
    resume_pending_ = false;
    if (!invoke(c, callback, {c.id, headers, end_of_stream ? 1u : 0u}, &action)) {
      if (!fault(c)) return Verdict::fail;
      continue;
    }
    if (stream_->local_response || stream_->reset) return answered_headers();
    if (action == static_cast<uint32_t>(Action::pause) && !resume_pending_) {
      paused_at_ = k + 1;  // resume_headers() goes on after this one
      return Verdict::pause;
    }
  }
  if (response) response_done_ = true;
  return Verdict::proceed;
}

Verdict FilterChain::answered_headers() {
  paused_at_ = 0;
  if (stream_->phase == Phase::response_headers) response_done_ = true;
  return Verdict::respond;
}

runtime::Task<Verdict> FilterChain::resume_headers(runtime::Duration pause_limit) {
  while (paused_at_ != 0) {
    const size_t k = paused_at_ - 1;
    HttpContext& c = in_order(k);
    // Waits for proxy_continue_stream or proxy_send_local_response.
    if (!co_await wait_resume(c, pause_limit)) co_return answered_headers();
    resume_pending_ = false;
    if (stream_->local_response || stream_->reset) co_return answered_headers();
    if (c.instance->broken() && !fault(c)) {
      paused_at_ = 0;
      co_return Verdict::fail;
    }
    Verdict v = headers_from(k + 1);
    if (v != Verdict::pause) co_return v;
  }
  co_return Verdict::proceed;
}

runtime::Task<bool> FilterChain::wait_resume(const HttpContext& c, runtime::Duration pause_limit) {
  if (resume_pending_) co_return true;
  PauseAwaiter pause;
  pause.chain = this;
  pause.limit = pause_limit;
  if (co_await pause) co_return true;
  LocalResponse r;
  r.status = 504;
  r.details = "module " + c.module->name() + " did not resume the " +
              (stream_->phase == Phase::response_headers ? "response" : "request") + " in time";
  r.body = "504 Gateway Timeout: " + r.details + "\n";
  stream_->local_response = std::move(r);
  co_return false;
}

bool FilterChain::wants_body(bool response) const {
  for (size_t i = 0; i < count_; ++i) {
    const HttpContext& c = context(i);
    const config::ModuleConfig& cfg = c.module->config();
    if (!c.failed && (response ? cfg.response_body : cfg.request_body)) return true;
  }
  return false;
}

Verdict FilterChain::body(bool response, std::string piece, bool end_of_stream, std::string* out) {
  out->clear();
  if (failed_closed_) return Verdict::fail;
  const Export callback = response ? Export::response_body : Export::request_body;
  for (size_t k = 0; k < count_; ++k) {
    HttpContext& c = context(response ? count_ - 1 - k : k);
    const config::ModuleConfig& cfg = c.module->config();
    if (c.failed || !(response ? cfg.response_body : cfg.request_body)) continue;
    c.held.append(piece);
    piece.clear();
    if (c.held.empty() && !end_of_stream) continue;
    stream_->body = &c.held;
    stream_->body_is_response = response;
    uint32_t action = 0;
    const bool ok = invoke(c, callback,
                           {c.id, static_cast<uint32_t>(c.held.size()), end_of_stream ? 1u : 0u},
                           &action);
    stream_->body = nullptr;
    if (ok && (stream_->local_response || stream_->reset)) return Verdict::respond;
    if (ok && action == static_cast<uint32_t>(Action::pause) && !end_of_stream) {
      if (c.held.size() <= cfg.body_buffer_limit) return Verdict::proceed;  // held back
      runtime::log(runtime::LogLevel::warn,
                   "module %s: held back %zu bytes of a %s body, over its body_buffer_limit",
                   c.module->name().c_str(), c.held.size(), response ? "response" : "request");
      if (!fault(c)) return Verdict::fail;  // on_error decides, as for a fault
    } else if (!ok && !fault(c)) {
      return Verdict::fail;
    }
    // Goes on: what it passed (a faulted fail-open module's bytes go on as they are).
    piece = std::move(c.held);
    c.held.clear();
  }
  *out = std::move(piece);
  return Verdict::proceed;
}

Verdict FilterChain::trailers(bool response, http::HeaderMap& trailers) {
  if (failed_closed_) return Verdict::fail;
  const Export callback = response ? Export::response_trailers : Export::request_trailers;
  stream_->trailers = &trailers;
  stream_->trailers_are_response = response;
  Verdict verdict = Verdict::proceed;
  for (size_t k = 0; k < count_ && verdict == Verdict::proceed; ++k) {
    HttpContext& c = context(response ? count_ - 1 - k : k);
    if (c.failed) continue;
    uint32_t action = 0;
    if (!invoke(c, callback, {c.id, static_cast<uint32_t>(trailers.size())}, &action)) {
      if (!fault(c)) verdict = Verdict::fail;
      continue;
    }
    if (stream_->local_response || stream_->reset) verdict = Verdict::respond;
    if (action == static_cast<uint32_t>(Action::pause) && !warned_pause_) {
      warned_pause_ = true;
      runtime::log(runtime::LogLevel::warn,
                   "module %s: paused on trailers; pausing there is not supported, it goes on",
                   c.module->name().c_str());
    }
  }
  stream_->trailers = nullptr;
  return verdict;
}

void FilterChain::end() {
  if (ended_) return;
  ended_ = true;
  if (alive_) *alive_ = nullptr;
  if (stream_) stream_->phase = Phase::done;
  for (size_t i = count_; i-- > 0;) {
    HttpContext& c = context(i);
    if (c.instance) {
      if (c.id != 0 && !c.instance->broken()) {
        invoke(c, Export::done, {c.id}) && invoke(c, Export::log, {c.id}) &&
            invoke(c, Export::context_delete, {c.id});
      }
      c.instance->remove_context(&c);
    }
    std::destroy_at(&c);
  }
  count_ = 0;
}

std::weak_ptr<FilterChain*> FilterChain::weak() {
  if (!alive_ && !ended_) alive_ = std::make_shared<FilterChain*>(this);
  return alive_;
}

void FilterChain::resume() {
  resume_pending_ = true;
  if (!waiter_) return;
  // Never resume the request from inside a call into a module: post it to this reactor.
  runtime::Reactor::current().post([weak = weak()] {
    std::shared_ptr<FilterChain*> alive = weak.lock();
    if (!alive || !*alive) return;
    FilterChain* chain = *alive;
    std::coroutine_handle<> waiter = chain->waiter_;
    chain->waiter_ = {};
    if (waiter) waiter.resume();
  });
}

void FilterChain::answered() { resume(); }

}  // namespace stavka::wasm
