// forward_to_origin: connect (or reuse), send the request and its body, read the response head,
// stream the body to the client. See origin_fetch.h.
//
// Retries: a request is tried on another origin when the connection could not be made (nothing
// was sent), and on a fresh connection when a pooled one turned out closed before answering;
// the latter only for idempotent requests without a body, since the origin may have seen it.
// Nothing is retried once a response byte has reached the client.
#include "proxy/origin_fetch.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/serializer.h"
#include "net/socket.h"
#include "proxy/client_io.h"
#include "cache/cache_status.h"
#include "proxy/forwarding.h"
#include "proxy/module_stage.h"
#include "proxy/origin_request.h"
#include "runtime/io.h"
#include "runtime/task.h"
#include "runtime/log.h"

namespace stavka::proxy {

using runtime::Task;

namespace {

// Sends the request body from the client to the origin, re-framed for the origin.
// Returns 0, or the status for an error response (408 client stalled, 502 origin failed),
// or -1 when the client went away.
// modules: the body goes through the modules that take request bodies (the origin then gets it
// in chunks, whatever the client's framing: they may change its length).
Task<int> pump_request_body(Worker& w, Exchange& ex, int origin_fd, bool modules) {
  const auto& t = ex.sites->config().timeouts;
  bool chunked = modules || ex.request.framing == http::BodyFraming::chunked;
  std::vector<iovec> iov;
  std::string scratch;
  std::string last;
  std::string passed;
  while (true) {
    // Feed even when no bytes are at hand: an empty body (Content-Length: 0) is complete now.
    http::ParseResult pr = ex.parser.feed(ex.carry.view());
    ex.carry.consume(pr.consumed);
    if (pr.state == http::ParseState::error) co_return 400;
    iov.clear();
    if (modules) {
      std::string piece;
      for (std::string_view span : pr.body) piece.append(span);
      const bool end = pr.state == http::ParseState::message_done;
      wasm::Verdict v = ex.modules->filters.body(false, std::move(piece), end, &passed);
      if (v != wasm::Verdict::proceed) {
        // The modules answer the request instead (forward_to_origin sends it).
        if (v == wasm::Verdict::fail) ex.modules->failed_response = true;
        co_return 503;
      }
      std::string_view out = passed;
      add_body(iov, scratch, std::span(&out, 1), true);
    } else {
      add_body(iov, scratch, pr.body, chunked);
    }
    if (pr.state == http::ParseState::message_done && chunked) {
      if (!last_chunk_through_modules(ex, false, ex.parser.trailers(), last)) co_return 503;
      iov.push_back({last.data(), last.size()});
    }
    if (!iov.empty()) {
      int64_t n = co_await runtime::send_all(origin_fd, iov.data(), static_cast<int>(iov.size()),
                                             t.origin_read);
      if (n < 0) co_return 502;
    }
    if (pr.state == http::ParseState::message_done) co_return 0;
    ex.carry.release();
    runtime::RecvResult r = co_await ex.client.rx.next(t.client_body);
    if (r.bytes == -ETIMEDOUT) co_return 408;
    if (r.bytes <= 0) co_return -1;
    ex.carry = std::move(r.buffer);
  }
}

}  // namespace

Task<Outcome> forward_to_origin(Worker& w, Exchange& ex) {
  const config::Config& cfg = ex.sites->config();
  const config::SiteConfig& site_cfg = *ex.site->config;

  const bool has_body = ex.request.has_body();
  const bool body_modules = has_body && ex.modules_active() && ex.modules->filters.wants_body(false);
  const bool expect_continue =
      ex.request.expect_continue && has_body &&
      !(ex.request.framing == http::BodyFraming::content_length && ex.request.content_length == 0);
  ForwardInfo info{ex.client.peer_ip, ex.authority, site_cfg.origin_host, cfg.via_name, "http"};
  to_origin_request(ex.request, ex.origin_target, info);
  http::BodyFraming client_framing = ex.request.framing;
  if (body_modules) ex.request.framing = http::BodyFraming::chunked;

  OriginRequestSpec spec;
  spec.site = ex.site;
  spec.sites = ex.sites;
  http::serialize_request_head(ex.request, spec.head_bytes);
  ex.request.framing = client_framing;  // the parser still reads the client's body by it
  spec.idempotent = http::is_idempotent_method(ex.request.method);
  spec.has_body = has_body;
  spec.head_method = ex.is_head;
  // The callbacks capture one pointer each, so std::function keeps them without allocating.
  struct Callbacks {
    Worker& w;
    Exchange& ex;
    const config::Config& cfg;
    bool expect_continue;
    bool body_modules;
    std::string interim;
  } cb{w, ex, cfg, expect_continue, body_modules, {}};
  Callbacks* c = &cb;
  spec.abandoned = [c] { return client_has_gone(c->ex.client); };
  spec.send_body = [c](int fd) -> Task<int> {
    Exchange& ex = c->ex;
    if (c->expect_continue && (!ex.carry || ex.carry.remaining() == 0)) {
      static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
      iovec iov{const_cast<char*>(cont), sizeof cont - 1};
      if (!co_await send_to_client(c->w, ex, &iov, 1)) co_return -1;
    }
    co_return co_await pump_request_body(c->w, ex, fd, c->body_modules);
  };
  spec.on_informational = [c](http::ResponseHead& head) -> Task<bool> {
    // 100 is Stavka's own business with the client; other 1xx go on to HTTP/1.1 clients.
    if (!c->ex.client_http11) co_return true;
    to_client_response(head, c->cfg.via_name);
    c->interim.clear();
    http::serialize_response_head(head, c->interim);
    iovec one{c->interim.data(), c->interim.size()};
    co_return co_await send_to_client(c->w, c->ex, &one, 1);
  };

  OriginRequest origin(w, std::move(spec));
  OriginFailure failure;
  if (!co_await origin.start(&failure)) {
    if (failure.status == 0) co_return Outcome::client_gone;
    if (ex.modules_active()) {  // a module answered or failed on the request body or trailers
      if (auto answered = co_await answer_from_modules(w, ex)) co_return *answered;
    }
    co_return co_await respond_error(w, ex, failure.status, failure.detail,
                                     failure.status != 504 || has_body || !ex.client_keep_alive);
  }
  co_return co_await relay_response(w, ex, origin);
}

namespace {

// A small first piece of body goes out in the head's buffer: one plain send costs the kernel
// less than a two-vector sendmsg (the message header and the vectors are copied in and checked),
// and below a few KiB copying the bytes costs less than that difference. Not when modules see
// the body: they must get it apart from the head.
constexpr size_t kJoinWithHeadBytes = 4096;

bool joins_head(const Exchange& ex, std::span<const std::string_view> spans) {
  if (ex.body_through_modules() || spans.empty()) return false;
  size_t n = 0;
  for (std::string_view s : spans) n += s.size();
  return n <= kJoinWithHeadBytes;
}

}  // namespace

Task<Outcome> relay_response(Worker& w, Exchange& ex, OriginRequest& origin) {
  const config::Config& cfg = ex.sites->config();
  http::ResponseHead head = std::move(origin.head());
  ex.upstream_ms =
      std::chrono::duration<double, std::milli>(w.reactor().now() - origin.sent_at()).count();
  ex.status = head.status;
  bool no_body = ex.is_head || head.status == 204 || head.status == 304;
  // A HEAD answer announces the framing a GET would get; no body follows either way.
  bool origin_sized = head.framing == http::BodyFraming::content_length ||
                      (ex.is_head && head.headers.contains("content-length"));
  bool chunked_out = false;
  if (ex.on_origin_head) ex.on_origin_head(head);
  to_client_response(head, cfg.via_name);
  if (!ex.cache_status.empty()) cache::append_cache_status(head.headers, ex.cache_status);
  const std::optional<uint64_t> size =
      origin_sized && head.framing == http::BodyFraming::content_length
          ? std::optional<uint64_t>(head.content_length)
          : std::nullopt;
  if (!response_modules_now(ex, head, size, std::nullopt)) {
    // A replaced response: the origin's body is not read (its connection closes).
    if (auto answered = co_await finish_response_modules(w, ex, head)) co_return *answered;
  }
  if (head.status == 204 || head.status == 304) {
    head.framing = http::BodyFraming::none;
  } else if (origin_sized) {
    head.framing = http::BodyFraming::content_length;
  } else if (ex.client_http11) {
    head.framing = http::BodyFraming::chunked;
    chunked_out = !no_body;
  } else {
    head.framing = http::BodyFraming::until_close;
    ex.close_connection = true;
  }
  if (frame_for_body_modules(ex, head)) chunked_out = false;  // the modules' output is framed
  ex.close_connection |= !ex.client_keep_alive || w.draining();
  head.keep_alive = !ex.close_connection;
  std::string head_out;
  if (head.framing == http::BodyFraming::content_length &&
      head.content_length <= kJoinWithHeadBytes) {
    head_out.reserve(1024 + head.content_length);  // room to join the body (joins_head)
  }
  http::serialize_response_head(head, head_out);
  body_head_sent(ex, head_out.size());

  std::vector<iovec> iov;
  std::string scratch;
  std::string last;
  http::HeaderMap trailers;  // the origin's, for a body that goes through modules
  bool head_sent = false;
  while (true) {
    BodyPiece piece;
    if (!origin.take_first_piece(&piece)) piece = co_await origin.next_body();
    if (piece.kind == BodyPiece::truncated) {
      if (piece.abandoned) co_return Outcome::client_gone;
      if (!head_sent) {
        co_return co_await respond_error(w, ex, 502, "the origin's response failed", true);
      }
      co_return Outcome::close;  // truncated: the client must not take it as complete
    }
    iov.clear();
    if (!head_sent && !chunked_out && joins_head(ex, piece.spans)) {
      for (std::string_view s : piece.spans) head_out.append(s);
      iov.push_back({head_out.data(), head_out.size()});
    } else {
      if (!head_sent) iov.push_back({head_out.data(), head_out.size()});
      add_body(iov, scratch, piece.spans, chunked_out);
    }
    if (piece.kind == BodyPiece::done && chunked_out) {
      if (!last_chunk_through_modules(ex, true, *piece.trailers, last)) {
        co_return Outcome::close;  // a module failed on the trailers: cut, never complete
      }
      iov.push_back({last.data(), last.size()});
    }
    if (!iov.empty() &&
        !co_await send_to_client(w, ex, iov.data(), static_cast<int>(iov.size()))) {
      co_return Outcome::client_gone;
    }
    head_sent = true;
    if (piece.kind == BodyPiece::done) {
      if (piece.trailers && ex.body_through_modules()) trailers = *piece.trailers;
      break;
    }
  }
  origin.release();
  if (ex.body_through_modules() && !co_await end_client_body(w, ex, &trailers)) {
    co_return Outcome::client_gone;
  }
  co_return ex.close_connection ? Outcome::close : Outcome::done;
}

}  // namespace stavka::proxy
