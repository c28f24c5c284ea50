// The client side of the proxy: one coroutine per accepted connection, running each request
// through named phases (see exchange.h): read_head → route → cache → forward_to_origin → log.
//
// Runs on the worker that accepted the connection, for the connection's whole life. Between
// requests a connection holds no receive buffer and no parser: both are taken when the next
// request's first bytes arrive (the idle wait is a buffer-select receive). Requests on one
// connection are served one after the other, so pipelined responses go out in order.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "http/date.h"
#include "http/serializer.h"
#include "proxy/cache_stage.h"
#include "proxy/client_io.h"
#include "proxy/forwarding.h"
#include "proxy/module_stage.h"
#include "proxy/origin_fetch.h"
#include "proxy/worker.h"
#include "runtime/io.h"
#include "runtime/task.h"

namespace stavka::proxy {

using runtime::Task;

namespace {

double ms_since(runtime::Clock::time_point start, runtime::Clock::time_point now) {
  return std::chrono::duration<double, std::milli>(now - start).count();
}

void count_status(Counters& c, int status) {
  if (status < 200) c.add(Metric::responses_1xx_total);
  else if (status < 300) c.add(Metric::responses_2xx_total);
  else if (status < 400) c.add(Metric::responses_3xx_total);
  else if (status < 500) c.add(Metric::responses_4xx_total);
  else c.add(Metric::responses_5xx_total);
}

// Phase read_head: parse until the request head is complete. False: the exchange ended here
// (*outcome says how), possibly after an error response.
Task<bool> read_head(Worker& w, Exchange& ex, Outcome* outcome) {
  const auto& cfg = ex.sites->config();
  auto deadline = ex.start + cfg.timeouts.client_header;
  while (true) {
    if (ex.carry && ex.carry.remaining() > 0) {
      http::ParseResult pr = ex.parser.feed(ex.carry.view());
      ex.carry.consume(pr.consumed);
      if (pr.state == http::ParseState::error) {
        w.counters().add(Metric::malformed_requests_total);
        *outcome = co_await respond_error(w, ex, ex.parser.error_status(),
                                          ex.parser.error_message(), true);
        co_return false;
      }
      if (pr.state == http::ParseState::head_done) break;
    }
    ex.carry.release();
    auto left = deadline - w.reactor().now();
    runtime::RecvResult r;
    if (left > runtime::Duration::zero()) r = co_await ex.client.rx.next(left);
    else r.bytes = -ETIMEDOUT;
    if (r.bytes <= 0) {
      if (r.bytes == -ETIMEDOUT) {
        w.counters().add(Metric::client_timeouts_total);
        *outcome = co_await respond_error(w, ex, 408, "request head not received in time", true);
      } else {
        *outcome = Outcome::client_gone;
      }
      co_return false;
    }
    ex.carry = std::move(r.buffer);
  }
  if (!ex.parser.request().has_body()) {
    // Nothing follows the head: complete the message now so the parser is ready for the next.
    ex.parser.feed(std::string_view());
  }
  ex.log_method = ex.request.method;
  ex.log_target = ex.request.target;
  ex.client_keep_alive = ex.request.keep_alive;
  ex.client_http11 = ex.request.version_major == 1 && ex.request.version_minor >= 1;
  ex.is_head = ex.request.is_head();
  co_return true;
}

// Phase route: validates the target and Host and picks the site. Returns 0 when routed, else
// the status of the error response to send, with *detail saying why.
int route(Exchange& ex, std::string_view* detail) {
  http::RequestHead& req = ex.request;
  if (req.method == "CONNECT") {
    *detail = "CONNECT is not supported: this is a reverse proxy";
    return 405;
  }
  std::optional<std::string_view> host = req.headers.find("host");
  if (host && req.headers.count("host") > 1) {
    *detail = "more than one Host field";
    return 400;
  }
  if (!host && ex.client_http11) {
    *detail = "HTTP/1.1 request without Host";
    return 400;
  }
  std::string_view authority = host.value_or(std::string_view());
  std::string_view path;
  if (!req.target.empty() && req.target.front() == '/') {
    path = req.target;
  } else if (req.target == "*" && req.method == "OPTIONS") {
    path = req.target;
  } else if (split_absolute_target(req.target, &authority, &path)) {
    // RFC 9112 §3.2.2: the target's authority replaces Host.
  } else {
    *detail = "malformed request target";
    return 400;
  }
  ex.host = normalize_host(authority);
  ex.authority.assign(authority);
  if (ex.host.empty() && !authority.empty()) {
    *detail = "malformed Host";
    return 400;
  }
  ex.origin_target.assign(path);
  if (!ex.origin_target.empty() && ex.origin_target.front() == '?') {
    ex.origin_target.insert(0, "/");
  }
  ex.site = ex.sites->route_normalized(ex.host);
  if (!ex.site) {
    *detail = "no site is configured for this host";
    return 421;
  }
  return 0;
}

void log_exchange(Worker& w, Exchange& ex) {
  count_status(w.counters(), ex.status);
  if (!w.access_log().enabled()) return;
  AccessRecord r;
  r.client_ip = ex.client.peer_ip;
  r.host = ex.host;
  r.method = ex.log_method;
  r.target = ex.log_target;
  r.status = ex.status;
  r.bytes = ex.bytes_sent;
  r.duration_ms = ms_since(ex.start, runtime::Clock::now());
  r.upstream_ms = ex.upstream_ms;
  if (!ex.cache_status.empty()) r.cache_status = ex.cache_status;
  w.access_log().write(r);
}

// One request, start to end.
Task<Outcome> serve_one(Worker& w, ClientConnection& conn, http::Http1Parser& parser,
                        runtime::Buffer& carry) {
  Exchange ex(conn, parser, carry, w.reactor().now());
  ex.sites = w.sites();
  Outcome outcome = Outcome::close;
  if (!co_await read_head(w, ex, &outcome)) {
    if (ex.status) log_exchange(w, ex);
    co_return outcome;
  }
  w.counters().add(Metric::requests_total);

  std::string_view detail;
  if (int status = route(ex, &detail)) {
    if (status == 421) w.counters().add(Metric::misdirected_requests_total);
    if (ex.host.empty()) {
      if (std::optional<std::string_view> h = ex.request.headers.find("host")) ex.host = *h;
    }
    // An unread request body would be taken for the next request: close instead.
    bool close = ex.request.has_body() || !ex.client_keep_alive || status == 400;
    outcome = co_await respond_error(w, ex, status, detail, close);
  } else if (ex.request.method == "PURGE") {
    outcome = co_await serve_purge(w, ex);  // never forwarded, never through modules
  } else {
    std::optional<Outcome> answered;
    if (wasm::Verdict v = start_request_modules(w, ex); v != wasm::Verdict::proceed) {
      answered = co_await finish_request_modules(w, ex, v);
    }
    outcome = answered ? *answered : co_await serve_with_cache(w, ex);
  }
  if (outcome == Outcome::client_gone) w.counters().add(Metric::client_aborts_total);
  if (ex.status) log_exchange(w, ex);
  co_return outcome;
}

}  // namespace

void add_body(std::vector<iovec>& iov, std::string& scratch,
              std::span<const std::string_view> spans, bool chunked) {
  static const char crlf[] = "\r\n";
  if (chunked) {
    scratch.clear();
    scratch.reserve(spans.size() * 20 + 8);
  }
  for (auto s : spans) {
    if (s.empty()) continue;
    if (chunked) {
      size_t at = scratch.size();
      http::append_chunk_header(s.size(), scratch);
      iov.push_back({scratch.data() + at, scratch.size() - at});
    }
    iov.push_back({const_cast<char*>(s.data()), s.size()});
    if (chunked) iov.push_back({const_cast<char*>(crlf), 2});
  }
}

bool client_has_gone(const ClientConnection& c) {
  if (c.rx.has_queued()) return false;  // read already (pipelined requests, say)
  char byte;
  ssize_t n = ::recv(c.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

namespace {

// Before a response's first byte: its time to first byte.
void note_first_byte(Worker& w, const Exchange& ex) {
  if (ex.bytes_sent != 0) return;
  auto waited = runtime::Clock::now() - ex.start;
  w.counters().ttfb(ex.source).observe(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(waited).count()));
}

bool count_sent(Worker& w, Exchange& ex, int64_t n) {
  if (n < 0) return false;
  ex.bytes_sent += static_cast<uint64_t>(n);
  w.counters().add(Metric::client_bytes_sent_total, n);
  return true;
}

}  // namespace

Task<bool> send_to_client(Worker& w, Exchange& ex, iovec* iov, int count) {
  note_first_byte(w, ex);
  BodyOutput filtered;
  if (ex.body_through_modules()) {
    if (!body_through_modules(ex, iov, count, filtered)) co_return false;
    if (filtered.iov.empty()) co_return true;  // a module holds the bytes back
    iov = filtered.iov.data();
    count = static_cast<int>(filtered.iov.size());
  }
  co_return count_sent(w, ex, co_await runtime::send_all(ex.client.fd, iov, count,
                                                         ex.sites->config().timeouts.client_send));
}

Task<bool> end_client_body(Worker& w, Exchange& ex, const http::HeaderMap* trailers) {
  if (!ex.body_through_modules()) co_return true;
  BodyOutput out;
  if (!finish_body_through_modules(ex, out, trailers)) co_return false;
  if (out.iov.empty()) co_return true;
  co_return count_sent(w, ex, co_await runtime::send_all(ex.client.fd, out.iov.data(),
                                                         static_cast<int>(out.iov.size()),
                                                         ex.sites->config().timeouts.client_send));
}

Task<bool> send_spliced_to_client(Worker& w, Exchange& ex, std::string_view prefix,
                                  std::span<const runtime::SpliceRange> ranges) {
  if (ex.body_through_modules()) {
    // Modules see the bytes: read them rather than splice.
    std::string bytes(prefix);
    for (const runtime::SpliceRange& r : ranges) {
      size_t at = bytes.size();
      bytes.resize(at + r.size);
      for (uint32_t done = 0; done < r.size;) {
        int n = co_await runtime::read(r.fd, bytes.data() + at + done, r.size - done,
                                       r.offset + done);
        if (n <= 0) co_return false;
        done += static_cast<uint32_t>(n);
      }
    }
    iovec one{bytes.data(), bytes.size()};
    co_return co_await send_to_client(w, ex, &one, 1);
  }
  note_first_byte(w, ex);
  int64_t n = co_await runtime::send_spliced(ex.client.fd, prefix, ranges,
                                             ex.sites->config().timeouts.client_send);
  if (n > 0) w.counters().add(Metric::client_bytes_spliced_total, n);
  co_return count_sent(w, ex, n);
}

Task<Outcome> respond_error(Worker& w, Exchange& ex, int status, std::string_view detail,
                            bool close) {
  std::string body = std::to_string(status) + " " + http::reason_phrase(status);
  if (!detail.empty()) {
    body += ": ";
    body += detail;
  }
  body += "\n";
  return respond(w, ex, status, "text/plain; charset=utf-8", std::move(body), close);
}

Task<Outcome> respond(Worker& w, Exchange& ex, int status, std::string_view content_type,
                      std::string body, bool close) {
  http::ResponseHead head;
  head.status = status;
  head.reason = http::reason_phrase(status);
  head.headers.add("Date", http::http_date_now());
  head.headers.add("Content-Type", content_type);
  head.headers.add("Cache-Control", "no-store");
  head.framing = http::BodyFraming::content_length;
  head.content_length = body.size();
  head.keep_alive = !close;
  std::string bytes;
  http::serialize_response_head(head, bytes);
  if (!ex.is_head) bytes += body;
  ex.status = status;
  if (ex.modules) ex.modules->body_out = {};  // a whole response of Stavka's own
  iovec iov{bytes.data(), bytes.size()};
  if (!co_await send_to_client(w, ex, &iov, 1)) co_return Outcome::client_gone;
  co_return close ? Outcome::close : Outcome::done;
}

Task<void> serve_client(Worker& w, int fd, net::SocketAddress peer) {
  ClientConnection conn;
  conn.fd = fd;
  conn.rx = runtime::RecvStream(fd);
  conn.peer_ip = peer.host_text();
  w.attach(&conn);
  w.counters().add(Metric::client_connections_total);
  runtime::Buffer carry;
  bool first = true;
  while (!w.draining()) {
    w.set_idle(&conn, true);
    const auto& timeouts = w.config().timeouts;
    // The first request must arrive within the header timeout; later ones within the idle one.
    runtime::RecvResult r = co_await conn.rx.next(
        first ? timeouts.client_header : timeouts.client_idle, /*expect_wait=*/!first);
    if (r.bytes <= 0) {
      if (r.bytes == -ETIMEDOUT && first) w.counters().add(Metric::client_timeouts_total);
      break;
    }
    w.set_idle(&conn, false);
    first = false;
    carry = std::move(r.buffer);
    // Requests while bytes are at hand (the first one, then any pipelined ones), with a parser
    // from the worker's pool that goes back when they run out.
    std::unique_ptr<http::Http1Parser> parser = w.take_parser(http::Http1Parser::Kind::request);
    Outcome outcome = Outcome::done;
    while (outcome == Outcome::done && !w.draining()) {
      outcome = co_await serve_one(w, conn, *parser, carry);
      if (carry && carry.remaining() > 0) continue;
      carry.release();
      if (outcome == Outcome::done) w.give_back(std::move(parser));
      break;
    }
    if (outcome != Outcome::done || w.draining()) break;
  }
  carry.release();
  w.detach(&conn);
  conn.rx.reset();
  ::close(fd);
}

}  // namespace stavka::proxy
