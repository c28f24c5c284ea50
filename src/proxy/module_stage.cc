// The module phases; see module_stage.h.
#include "proxy/module_stage.h"

#include <sys/uio.h>


#include "cache/cache_key.h"
#include "http/date.h"
#include "http/serializer.h"
#include "proxy/cache_stage.h"
#include "proxy/client_io.h"
#include "proxy/forwarding.h"
#include "proxy/origin_request.h"
#include "proxy/range_cache.h"
#include "runtime/log.h"
#include "wasm/shared_state.h"

namespace stavka::proxy {

using runtime::Task;

namespace {

// The largest response body a module's HTTP call takes in; a larger one fails the call.
constexpr size_t max_call_body = size_t{16} << 20;

// Performs a module's proxy_http_call: a request to the upstream its config names, through
// that upstream's own keep-alive pool (SiteTable::upstream), bounded by the call's timeout.
// Status 0 in the result: no (complete) response.
Task<wasm::HttpCallResult> module_http_call(Worker& w, wasm::HttpCallSpec spec) {
  wasm::HttpCallResult result;
  std::shared_ptr<SiteTable> sites = w.sites();
  Site* site = sites->upstream(spec.module, spec.upstream_name);
  if (!site) co_return result;  // a reload removed it since the call was made
  http::RequestHead head;
  head.method = std::move(spec.method);
  head.target = std::move(spec.path);
  head.headers.add("Host", spec.authority);
  for (const auto& [name, value] : spec.headers) {
    if (http::iequals(name, "host") || http::iequals(name, "content-length") ||
        http::iequals(name, "transfer-encoding") || http::iequals(name, "connection")) {
      continue;  // the host's: framing and routing
    }
    head.headers.add(name, value);
  }
  if (!spec.body.empty() || head.method == "POST" || head.method == "PUT") {
    head.framing = http::BodyFraming::content_length;
    head.content_length = spec.body.size();
  }
  OriginRequestSpec os;
  os.site = site;
  os.sites = sites;
  http::serialize_request_head(head, os.head_bytes);
  os.head_bytes.append(spec.body);  // small, and bounded by the module's memory
  os.idempotent = head.method == "GET" || head.method == "HEAD";
  os.head_method = head.method == "HEAD";
  os.give_up = w.reactor().now() + spec.timeout;
  OriginRequest origin(w, std::move(os));
  OriginFailure failure;
  if (!co_await origin.start(&failure)) co_return result;
  while (true) {
    BodyPiece piece = co_await origin.next_body();
    if (piece.kind == BodyPiece::truncated) co_return result;
    for (std::string_view span : piece.spans) {
      if (result.body.size() + span.size() > max_call_body) {
        runtime::log(runtime::LogLevel::warn,
                     "module %s: the answer of upstream %s is over %zu bytes; the call fails",
                     spec.module.c_str(), spec.upstream_name.c_str(), max_call_body);
        co_return wasm::HttpCallResult{};
      }
      result.body.append(span);
    }
    if (piece.kind == BodyPiece::done) break;
  }
  origin.release();
  result.status = origin.head().status;
  result.headers = std::move(origin.head().headers);
  remove_hop_by_hop(result.headers);
  co_return result;
}

}  // namespace

void connect_module_services(Worker& w) {
  Worker* worker = &w;
  w.modules().set_http_caller(
      [worker](wasm::HttpCallSpec spec) { return module_http_call(*worker, std::move(spec)); });
  w.modules().set_purgers(
      [worker](std::string_view url) -> std::optional<uint64_t> {
        CacheServices* services = worker->cache_services();
        if (!services) return 0;
        return purge_url(*services->storage, url);
      },
      [worker](std::string_view tag) -> std::optional<uint64_t> {
        CacheServices* services = worker->cache_services();
        if (!services) return 0;
        if (tag.empty()) return std::nullopt;
        return services->storage->remove_by_tag(tag);
      });
}

namespace {

Task<Outcome> send_local_response(Worker& w, Exchange& ex, const wasm::LocalResponse& local) {
  http::ResponseHead head;
  head.status = local.status;
  head.reason = http::reason_phrase(local.status);
  bool has_type = false;
  for (const auto& [name, value] : local.headers) {
    if (http::iequals(name, "content-length") || http::iequals(name, "transfer-encoding") ||
        http::iequals(name, "connection")) {
      continue;  // framing is the host's
    }
    has_type |= http::iequals(name, "content-type");
    head.headers.add(name, value);
  }
  if (!head.headers.contains("date")) head.headers.add("Date", http::http_date_now());
  if (!has_type && !local.body.empty()) head.headers.add("Content-Type", "text/plain; charset=utf-8");
  const bool no_body = local.status == 204 || local.status == 304;
  head.framing = no_body ? http::BodyFraming::none : http::BodyFraming::content_length;
  head.content_length = no_body ? 0 : local.body.size();
  ex.close_connection = !ex.client_keep_alive || w.draining() || ex.request.has_body();
  head.keep_alive = !ex.close_connection;
  std::string bytes;
  http::serialize_response_head(head, bytes);
  if (!ex.is_head && !no_body) bytes += local.body;
  ex.status = local.status;
  ex.modules->body_out = {};  // a whole response: no body goes through modules
  iovec iov{bytes.data(), bytes.size()};
  if (!co_await send_to_client(w, ex, &iov, 1)) co_return Outcome::client_gone;
  co_return ex.close_connection ? Outcome::close : Outcome::done;
}

}  // namespace

// The request goes on past the modules' request phase.
static void request_proceeds(Exchange& ex) {
  if (ex.modules->stream.authority_changed) ex.host = normalize_host(ex.authority);
}

wasm::Verdict start_request_modules(Worker& w, Exchange& ex) {
  const std::shared_ptr<const wasm::ModuleSet>& set = w.modules().set();
  if (!set || set->empty()) return wasm::Verdict::proceed;
  const std::vector<const wasm::Module*>& chain = set->chain(ex.site->config->name);
  if (chain.empty()) return wasm::Verdict::proceed;
  Exchange::Modules& m = ex.modules.emplace();
  m.set = w.modules().hold();
  wasm::Stream& s = m.stream;
  s.request = &ex.request;
  s.path = &ex.origin_target;
  s.authority = &ex.authority;
  s.client_ip = ex.client.peer_ip;
  s.client_fd = ex.client.fd;
  s.site = ex.site->config->name;
  s.start = ex.start;
  if (ex.request.framing == http::BodyFraming::content_length) {
    s.request_bytes = ex.request.content_length;
  }
  // The default key is made only if a module reads it (from the request as it is then).
  s.cache.default_key = [&ex]() -> std::string {
    auto url = cache::request_url("http", ex.authority, ex.origin_target);
    if (!url) return "";
    return cache::primary_key(*url, ex.request.headers,
                              {ex.site->config->cache_ignore_query, ex.site->config->cache_key_headers});
  };
  m.filters.begin(w.modules(), chain, s);
  const wasm::Verdict verdict = m.filters.request_headers();
  if (verdict == wasm::Verdict::proceed) request_proceeds(ex);
  return verdict;
}

Task<std::optional<Outcome>> finish_request_modules(Worker& w, Exchange& ex,
                                                    wasm::Verdict verdict) {
  Exchange::Modules& m = *ex.modules;
  wasm::Stream& s = m.stream;
  if (verdict == wasm::Verdict::pause) {
    verdict = co_await m.filters.resume_headers(ex.sites->config().timeouts.origin_first_byte);
  }
  switch (verdict) {
    case wasm::Verdict::proceed:
      request_proceeds(ex);
      co_return std::nullopt;
    case wasm::Verdict::respond:
      if (s.reset) {
        ex.status = 0;
        co_return Outcome::close;
      }
      co_return co_await send_local_response(w, ex, *s.local_response);
    case wasm::Verdict::fail:
    case wasm::Verdict::pause:  // (resume_headers never returns it)
      break;
  }
  bool close = ex.request.has_body() || !ex.client_keep_alive;
  co_return co_await respond_error(w, ex, 503, "a module failed on this request", close);
}

namespace {

// Applies to `head` what the modules changed from `before` to `after`: the status, and every
// field whose lines differ (all its lines replaced by the changed ones, in their order).
void apply_edit(const http::ResponseHead& before, const http::ResponseHead& after,
                http::ResponseHead& head) {
  if (after.status != before.status) {
    head.status = after.status;
    head.reason = after.reason;
  }
  std::vector<std::string_view> done;
  auto edit = [&](std::string_view name) {
    for (std::string_view seen : done) {
      if (http::iequals(seen, name)) return;
    }
    done.push_back(name);
    std::vector<std::string_view> lines = after.headers.all(name);
    if (lines == before.headers.all(name)) return;
    head.headers.remove(name);
    for (std::string_view line : lines) head.headers.add(name, line);
  };
  for (const http::Header& h : before.headers) edit(h.name);
  for (const http::Header& h : after.headers) edit(h.name);
}

}  // namespace

// Starts the response phase on `head` (the stream points at it while the phase runs, and past a
// pause until resume_headers ends). A fail-closed fault is recorded for answer_from_modules.
static wasm::Verdict start_response_phase(Exchange::Modules& m, http::ResponseHead& head,
                                          std::string_view cache_status,
                                          std::optional<uint64_t> size,
                                          std::optional<int64_t> age, bool end_of_stream) {
  wasm::Stream& s = m.stream;
  s.response = &head;
  s.cache.status = cache_status;
  s.cache.object_size = size;
  s.cache.age = age;
  wasm::Verdict verdict = m.filters.response_headers(end_of_stream);
  if (verdict == wasm::Verdict::fail) m.failed_response = true;
  if (verdict != wasm::Verdict::pause) s.response = nullptr;
  return verdict;
}

// What the modules of a stream chose for the object a fill stores. A fail-closed module that
// faulted did not choose: nothing is stored on its behalf.
static StoreChoice store_choice(const wasm::Stream& s, bool failed) {
  StoreChoice choice;
  choice.store = !s.cache.bypass && !failed;
  choice.ttl = s.cache.ttl;
  choice.surrogate_keys = s.cache.surrogate_keys;
  return choice;
}

PreStoreHook pre_store_hook(Exchange& ex, std::string cache_status) {
  if (!ex.modules_active()) return {};
  return [&ex, weak = ex.modules->filters.weak(), cache_status = std::move(cache_status)](
             const http::ResponseHead& head,
             std::optional<uint64_t> size) -> std::optional<StoreChoice> {
    std::shared_ptr<wasm::FilterChain*> alive = weak.lock();
    if (!alive || !*alive) return std::nullopt;  // the request ended, and ex with it
    Exchange::Modules& m = *ex.modules;
    wasm::Stream& s = m.stream;
    bool failed = false;
    // Once per request: a later fill of the same request (another block span) gets the
    // choice made on the first.
    if (!m.filters.response_done() && !m.filters.response_paused()) {
      auto& [before, after] = m.origin_edit.emplace(head, head);
      m.fill_cache_status = cache_status;  // the phase may pause past this hook
      s.response_from_origin = true;
      // A local response or a failure replaces what this request's client gets
      // (response_modules), not what is stored, except that a failed module chose nothing.
      // A pause is not waited for here: what the module set so far decides what is stored;
      // this request's response waits for it (response_modules), on this same head.
      failed = start_response_phase(m, after, m.fill_cache_status, size, 0, size == 0) ==
               wasm::Verdict::fail;
      s.response_from_origin = false;
    }
    return store_choice(s, failed);
  };
}

PreStoreHook background_pre_store_hook(Worker& w, const Exchange& ex, std::string cache_status) {
  if (!ex.modules_active()) return {};
  // What the modules see of the request, copied: the revalidation outlives it.
  struct Detached {
    std::string site;
    http::RequestHead request;
    std::string path, authority, client_ip, cache_status;
    runtime::Clock::time_point start;
  };
  auto d = std::make_shared<Detached>();
  d->site = ex.site->config->name;
  d->request.method = ex.request.method;
  d->request.target = ex.request.target;
  d->request.headers = ex.request.headers;
  d->path = ex.origin_target;
  d->authority = ex.authority;
  d->client_ip = std::string(ex.client.peer_ip);
  d->cache_status = std::move(cache_status);
  d->start = ex.start;
  return [&w, d](const http::ResponseHead& head,
                 std::optional<uint64_t> size) -> std::optional<StoreChoice> {
    // The modules in force when the answer comes (a push or reload may have come between).
    std::shared_ptr<const wasm::ModuleSet> set = w.modules().set();
    if (!set) return StoreChoice{};
    http::ResponseHead response = head;
    wasm::Stream s;
    s.request = &d->request;
    s.path = &d->path;
    s.authority = &d->authority;
    s.client_ip = d->client_ip;
    s.site = d->site;
    s.start = d->start;
    s.phase = wasm::Phase::response_headers;
    s.response = &response;
    s.response_from_origin = true;
    s.cache.status = d->cache_status;
    s.cache.object_size = size;
    s.cache.age = 0;
    wasm::FilterChain chain;
    chain.begin(w.modules(), set->chain(d->site), s);
    // A pause is not waited for: what the modules set so far decides, as for any fill.
    const wasm::Verdict verdict = chain.response_headers(size == 0);
    chain.end();
    return store_choice(s, verdict == wasm::Verdict::fail);
  };
}

bool response_modules_now(Exchange& ex, http::ResponseHead& head, std::optional<uint64_t> size,
                          std::optional<int64_t> age) {
  if (!ex.modules_active()) return true;
  Exchange::Modules& m = *ex.modules;
  const bool end_of_stream = ex.is_head || head.status == 204 || head.status == 304 || size == 0;
  m.body_out.active = !end_of_stream && m.filters.wants_body(true);
  if (!m.filters.response_done() && !m.filters.response_paused()) {
    start_response_phase(m, head, ex.cache_status, size, age, end_of_stream);
  }
  if (m.filters.response_paused() || m.stream.reset || m.stream.local_response ||
      m.failed_response) {
    return false;  // (the rest, with its coroutine, in finish_response_modules)
  }
  m.stream.response = nullptr;
  if (m.origin_edit) apply_edit(m.origin_edit->first, m.origin_edit->second, head);
  return true;
}

Task<std::optional<Outcome>> finish_response_modules(Worker& w, Exchange& ex,
                                                     http::ResponseHead& head) {
  Exchange::Modules& m = *ex.modules;
  if (m.filters.response_paused()) {
    // Paused here, or on the origin's head of this request's fill (pre_store_hook), whose
    // modules then go on with that head while the fill did not wait.
    wasm::Verdict verdict =
        co_await m.filters.resume_headers(ex.sites->config().timeouts.origin_first_byte);
    if (verdict == wasm::Verdict::fail) m.failed_response = true;
  }
  m.stream.response = nullptr;
  if (m.origin_edit) apply_edit(m.origin_edit->first, m.origin_edit->second, head);
  co_return co_await answer_from_modules(w, ex);
}

Task<std::optional<Outcome>> answer_from_modules(Worker& w, Exchange& ex) {
  if (!ex.modules) co_return std::nullopt;
  Exchange::Modules& m = *ex.modules;
  if (m.stream.reset) {
    ex.status = 0;
    co_return Outcome::close;
  }
  if (m.stream.local_response) co_return co_await send_local_response(w, ex, *m.stream.local_response);
  if (m.failed_response) {
    co_return co_await respond_error(w, ex, 503, "a module failed on this response",
                                     ex.request.has_body() || !ex.client_keep_alive);
  }
  co_return std::nullopt;
}

bool last_chunk_through_modules(Exchange& ex, bool response, const http::HeaderMap& trailers,
                                std::string& out) {
  out.clear();
  if (trailers.empty() || !ex.modules_active()) {
    http::append_last_chunk(trailers, out);
    return true;
  }
  http::HeaderMap changed = trailers;
  wasm::Verdict v = ex.modules->filters.trailers(response, changed);
  if (v == wasm::Verdict::fail) ex.modules->failed_response = true;
  if (v != wasm::Verdict::proceed) return false;
  http::append_last_chunk(changed, out);
  return true;
}

// --- bodies through modules ----------------------------------------------------------------

bool frame_for_body_modules(Exchange& ex, http::ResponseHead& head) {
  if (!ex.modules || !ex.modules->body_out.active) return false;
  Exchange::Modules::BodyOut& b = ex.modules->body_out;
  if (head.framing == http::BodyFraming::none) return false;
  b.body_left = head.framing == http::BodyFraming::content_length
                    ? std::optional<uint64_t>(head.content_length)
                    : std::nullopt;
  b.chunked = ex.client_http11;
  head.framing = b.chunked ? http::BodyFraming::chunked : http::BodyFraming::until_close;
  if (!b.chunked) {
    ex.close_connection = true;
    head.keep_alive = false;
  }
  b.framed = true;
  return true;
}

void body_head_sent(Exchange& ex, size_t head_bytes) {
  if (ex.body_through_modules()) ex.modules->body_out.head_left = head_bytes;
}

namespace {

// Frames what the modules passed (out.body) after the head bytes already in out.iov; at the
// end, the last chunk with the trailers (through the modules' trailers phase). False when a
// module failed or answered there.
bool frame(Exchange& ex, BodyOutput& out, bool last, const http::HeaderMap* trailers = nullptr) {
  static const char crlf[] = "\r\n";
  Exchange::Modules::BodyOut& b = ex.modules->body_out;
  if (!out.body.empty()) {
    if (b.chunked) {
      http::append_chunk_header(out.body.size(), out.framing);
      out.iov.push_back({out.framing.data(), out.framing.size()});
    }
    out.iov.push_back({out.body.data(), out.body.size()});
    if (b.chunked) out.iov.push_back({const_cast<char*>(crlf), 2});
  }
  if (last) {
    b.ended = true;
    if (b.chunked) {
      static const http::HeaderMap none;
      if (!last_chunk_through_modules(ex, true, trailers ? *trailers : none, out.last)) {
        return false;
      }
      out.iov.push_back({out.last.data(), out.last.size()});
    }
  }
  return true;
}

// The modules' body phase on `piece`; false when the stream must be cut.
bool through_modules(Exchange& ex, std::string piece, bool last, std::string* passed) {
  wasm::Verdict v = ex.modules->filters.body(true, std::move(piece), last, passed);
  if (v == wasm::Verdict::proceed) return true;
  runtime::log(runtime::LogLevel::warn,
               "modules of site %s: %s in a response body phase; the response is cut",
               ex.site->config->name.c_str(),
               v == wasm::Verdict::respond ? "a local response or reset" : "a fail-closed fault");
  return false;
}

}  // namespace

bool body_through_modules(Exchange& ex, const iovec* iov, int count, BodyOutput& out) {
  Exchange::Modules::BodyOut& b = ex.modules->body_out;
  std::string piece;
  for (int i = 0; i < count; ++i) {
    const char* p = static_cast<const char*>(iov[i].iov_base);
    const size_t len = iov[i].iov_len;
    const size_t head = std::min<uint64_t>(b.head_left, len);
    if (head) out.iov.push_back({const_cast<char*>(p), head});
    b.head_left -= head;
    if (!b.ended) piece.append(p + head, len - head);  // nothing may follow the end
  }
  if (b.ended) return true;
  bool last = false;
  if (b.body_left) {
    *b.body_left -= std::min<uint64_t>(*b.body_left, piece.size());
    last = *b.body_left == 0;
  }
  if ((!piece.empty() || last) && !through_modules(ex, std::move(piece), last, &out.body)) {
    return false;
  }
  return frame(ex, out, last);
}

bool finish_body_through_modules(Exchange& ex, BodyOutput& out, const http::HeaderMap* trailers) {
  if (!ex.body_through_modules() || ex.modules->body_out.ended) return true;
  if (!through_modules(ex, {}, true, &out.body)) return false;
  return frame(ex, out, true, trailers);
}

}  // namespace stavka::proxy
