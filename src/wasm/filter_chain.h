// FilterChain: one request's HTTP contexts, one per module its site runs, and the phases the
// proxy runs them through.
//
// Lives in the request's Exchange on the serving worker. begin() creates a context in each
// module's instance (the worker's, or a fresh one for isolation = "request"); the request phase
// runs the modules in the site's order, the response phase in reverse order; end() runs
// proxy_on_done, proxy_on_log and proxy_on_delete and lets go of the instances.
//
// A module that faults (trap, CPU limit, memory limit, broken ABI) is handled by its on_error:
// fail-open drops it from the rest of this request; fail-closed ends the request (503 before the
// response began). A disabled module is treated as if it had faulted.
#pragma once

#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/task.h"
#include "runtime/timer_heap.h"
#include "runtime/io.h"
#include "wasm/stream.h"

namespace stavka::wasm {

class Instance;
class Module;
class WorkerModules;
class FilterChain;

struct HttpContext {
  HttpContext() {}  // (emplace() then runs the initialisers below, without zeroing first)
  std::shared_ptr<Instance> instance;
  const Module* module = nullptr;
  uint32_t id = 0;
  uint32_t place = 0;  // in the instance's list of live contexts
  Stream* stream = nullptr;
  FilterChain* chain = nullptr;
  bool failed = false;  // faulted during this request (fail-open: skipped from then on)
  std::string held;     // body bytes the module held back (StopIterationAndBuffer)
};

// What the proxy does after a phase.
enum class Verdict : uint8_t {
  proceed,  // go on with the (possibly changed) request or response
  respond,  // answer with stream.local_response instead
  fail,     // a fail-closed module faulted: 503 (or cut the response if it began)
  pause,    // a headers phase waits for a module (resume_headers)
};

class FilterChain {
 public:
  static constexpr size_t max_modules = 8;

  FilterChain() = default;
  ~FilterChain() { end(); }
  FilterChain(const FilterChain&) = delete;

  // Creates the contexts. `modules` is the site's chain from the ModuleSet the request holds.
  void begin(WorkerModules& worker, const std::vector<const Module*>& modules, Stream& stream);
  bool active() const { return count_ > 0; }

  // proxy_on_request_headers in each module, in the site's order; proxy_on_response_headers
  // in reverse order, on stream.response. pause: a module holds the request (response) until it
  // resumes it (proxy_continue_stream) or answers it; resume_headers() waits for that, or for
  // `pause_limit` (then a 504 local response), runs the modules after it, and returns any other
  // verdict than pause. (No coroutine unless a module pauses.) A paused response's
  // stream.response must stay valid until resume_headers() ends.
  Verdict request_headers();
  Verdict response_headers(bool end_of_stream);
  runtime::Task<Verdict> resume_headers(runtime::Duration pause_limit);
  bool response_done() const { return response_done_; }
  bool response_paused() const {
    return paused_at_ != 0 && stream_->phase == Phase::response_headers;
  }

  // Body callbacks, for the modules configured to take that body (request_body /
  // response_body): whether any module of this request takes it.
  bool wants_body(bool response) const;
  // Gives `piece`, the next bytes of the body, to those modules in the phase's order (request:
  // site order; response: reverse). Each sees what it held back plus what the ones before it
  // passed on, and may change it; pausing holds it back (up to body_buffer_limit, then a fault).
  // *out gets the bytes that go on now. At end_of_stream every module is called and nothing
  // stays held. respond: a module sent a local response or reset the stream (the caller cannot
  // honour a local response once the head is out: it then cuts the stream).
  Verdict body(bool response, std::string piece, bool end_of_stream, std::string* out);
  // proxy_on_request_trailers / proxy_on_response_trailers on `trailers` (which modules may
  // change), in the phase's order. Pausing is not supported there (it goes on; logged).
  Verdict trailers(bool response, http::HeaderMap& trailers);

  // The stream ends: done, log, delete in every context. Idempotent.
  void end();

  // From host functions.
  void resume();            // proxy_continue_stream(request)
  void answered();          // proxy_send_local_response while paused
  Stream* stream() const { return stream_; }
  // Null once the chain has ended: for work that may outlive the request (a fill it started).
  std::weak_ptr<FilterChain*> weak();

 private:
  struct PauseAwaiter;
  bool fault(HttpContext& c);  // true: the chain goes on without c (fail-open)
  // Waits for a resume; false when pause_limit passed (the stream then has a 504 to send).
  runtime::Task<bool> wait_resume(const HttpContext& c, runtime::Duration pause_limit);
  // The current headers phase from the k-th module in its order (in_order) on.
  Verdict headers_from(size_t k);
  HttpContext& in_order(size_t k);
  Verdict answered_headers();  // a module answered or reset the stream in a headers phase

  // Made by begin() for the request's modules only (most requests run one or two): the first
  // count_ slots are alive. A union, so that a chain is made without touching the others.
  union Slots {
    Slots() {}
    ~Slots() {}
    HttpContext at[max_modules];
  } contexts_;
  HttpContext& context(size_t i) { return contexts_.at[i]; }
  const HttpContext& context(size_t i) const { return contexts_.at[i]; }
  size_t count_ = 0;
  Stream* stream_ = nullptr;
  bool failed_closed_ = false;
  bool response_done_ = false;
  bool ended_ = false;
  bool warned_pause_ = false;
  size_t paused_at_ = 0;  // a paused headers phase: 1 + the pausing module's place in_order
  bool response_eos_ = false;
  // A paused request phase: the coroutine waiting, and whether a resume came (possibly before
  // the wait began, from within the callback that paused).
  std::coroutine_handle<> waiter_;
  bool resume_pending_ = false;
  std::shared_ptr<FilterChain*> alive_;  // for posted resumptions and fills; cleared by end()
};

}  // namespace stavka::wasm
