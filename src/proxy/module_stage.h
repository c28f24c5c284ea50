// The module phases of a request (see wasm/filter_chain.h): the request-headers phase between
// route and the cache phase, and the response-headers phase just before a response head goes to
// the client (hits, fills and forwarded responses alike).
#pragma once

#include <sys/uio.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proxy/exchange.h"
#include "runtime/task.h"

namespace stavka::proxy {

// Gives the worker's modules the proxy's services (HTTP calls to module upstreams, purge by
// URL and by tag). Called once per worker.
void connect_module_services(Worker& w);

// Runs the site's modules on the request head, as far as that goes without waiting (most
// requests: all the way, with no coroutine). proceed: go on with the request, and the cache
// key, bypass and TTL the modules chose, in ex.modules (also when the site runs no modules).
// Anything else: co_await finish_request_modules() with it.
wasm::Verdict start_request_modules(Worker& w, Exchange& ex);
// The rest of the request phase: waits while a module holds the request paused; nullopt to go
// on, or the Outcome of a request the modules answered themselves (a local response, a reset,
// or 503 for a fail-closed fault).
runtime::Task<std::optional<Outcome>> finish_request_modules(Worker& w, Exchange& ex,
                                                             wasm::Verdict verdict);

// What a request's modules decided about an origin response a fill is about to store.
struct StoreChoice {
  bool store = true;                 // false: stavka.cache.bypass was set
  std::optional<int64_t> ttl;        // stavka.cache.ttl: seconds of freshness
  std::optional<std::string> surrogate_keys;  // stavka.cache.surrogate_keys: replace the origin's
};

// Runs the response phase of the request that started a fill on the origin's head (fields as
// they would be stored; `size` the body length when known), before the fill decides what to
// store. nullopt when that request has ended: its modules can no longer choose. Changes to the
// fields apply to that request's response only; the choice applies to what is stored.
using PreStoreHook = std::function<std::optional<StoreChoice>(const http::ResponseHead& head,
                                                              std::optional<uint64_t> size)>;

// The hook for a fill `ex` starts (empty when ex runs no modules; callers skip it then, to
// spare formatting `cache_status`, the Cache-Status member modules read meanwhile).
PreStoreHook pre_store_hook(Exchange& ex, std::string cache_status);

// The hook for a background revalidation `ex` starts (stale-while-revalidate), whose answer
// arrives after ex may have ended: the modules of ex's site get the response phase alone, in
// HTTP contexts of their own, with ex's request readable. Their field changes reach no one;
// their choice applies to what is stored. Empty when ex runs no modules.
PreStoreHook background_pre_store_hook(Worker& w, const Exchange& ex, std::string cache_status);

// The modules' response phase on `head`, the head about to be serialised for the client,
// before any of the response is sent. `size` is the body length when known, `age` the Age
// sent. Runs as far as it goes without waiting: true when the phase is over (or ex runs no
// modules) and `head`, with what the modules changed, goes out; false when a module holds the
// response paused or replaced it: co_await finish_response_modules() then.
bool response_modules_now(Exchange& ex, http::ResponseHead& head, std::optional<uint64_t> size,
                          std::optional<int64_t> age);
// The rest of it: waits while the response is paused (up to timeouts.origin_first_byte, then
// 504). When a module replaced the response (a local response, a reset, or 503 for a
// fail-closed fault) sends that instead and returns its Outcome; the response's own body is
// then not sent (an origin's is not read: that connection closes). nullopt: send `head`, with
// what the modules changed.
runtime::Task<std::optional<Outcome>> finish_response_modules(Worker& w, Exchange& ex,
                                                              http::ResponseHead& head);

// Sends what the modules replaced the response with, if they did (as finish_response_modules); for
// phases that end with nothing sent yet (a request body or trailers phase). nullopt otherwise.
runtime::Task<std::optional<Outcome>> answer_from_modules(Worker& w, Exchange& ex);

// Writes the last chunk with `trailers` into `out`, after the modules' trailers phase when the
// message has trailers and ex runs modules. false: a module failed or answered there.
bool last_chunk_through_modules(Exchange& ex, bool response, const http::HeaderMap& trailers,
                                std::string& out);

// Response bodies through modules. After the response phase and the caller's own framing:
// when modules take this response's body, re-frames `head` (chunks for HTTP/1.1 clients, else
// until close, since modules may change the length) and returns true; the caller then sends
// the body unframed, and calls body_head_sent() with the size of the serialised head.
bool frame_for_body_modules(Exchange& ex, http::ResponseHead& head);
void body_head_sent(Exchange& ex, size_t head_bytes);
// With ex.body_through_modules(): what goes to the client for iov (the head's bytes, if not yet
// sent, then body bytes): out.iov, pointing into iov and into out. false: a module failed or
// answered once the head was out, and the stream must be cut.
struct BodyOutput {
  std::vector<iovec> iov;
  std::string body;     // what the modules passed on
  std::string framing;  // its chunk-size line
  std::string last;     // the last chunk, with the trailers
};
bool body_through_modules(Exchange& ex, const iovec* iov, int count, BodyOutput& out);
// The end of such a body when its length was not known up front (an origin's chunked body):
// the modules get end_of_stream, out gets what they passed and the last chunk, with `trailers`
// after the modules' trailers phase (chunked output only). Nothing when it already ended.
bool finish_body_through_modules(Exchange& ex, BodyOutput& out,
                                 const http::HeaderMap* trailers = nullptr);

}  // namespace stavka::proxy
