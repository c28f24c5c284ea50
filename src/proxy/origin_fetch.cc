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
#include <string>
#include <vector>

#include "http/serializer.h"
#include "net/socket.h"
#include "proxy/client_io.h"
#include "proxy/forwarding.h"
#include "runtime/io.h"
#include "runtime/task.h"
#include "runtime/log.h"

namespace stavka::proxy {

using runtime::Task;

namespace {

constexpr auto client_check_interval = std::chrono::seconds(1);
constexpr int32_t client_gone_error = -ECONNABORTED;

// A receive from the origin that also notices, once a second, a client that went away.
Task<runtime::RecvResult> recv_from_origin(Worker& w, Exchange& ex, int fd,
                                           runtime::Clock::time_point deadline,
                                           bool expect_wait) {
  while (true) {
    auto left = deadline - w.reactor().now();
    if (left <= runtime::Duration::zero()) co_return runtime::RecvResult{-ETIMEDOUT, {}};
    bool capped = left > client_check_interval;
    auto wait = capped ? runtime::Duration(client_check_interval) : left;
    runtime::RecvResult r = co_await (expect_wait ? runtime::recv_expecting_wait(fd, wait)
                                                  : runtime::recv(fd, wait));
    if (r.bytes != -ETIMEDOUT || !capped) co_return r;
    if (client_has_gone(ex.client)) co_return runtime::RecvResult{client_gone_error, {}};
  }
}

void log_origin_problem(const Origin& origin, const char* what, int err) {
  runtime::log(runtime::LogLevel::warn, "origin %s: %s%s%s", origin.url->text.c_str(), what,
               err ? ": " : "", err ? std::strerror(-err) : "");
}

// Appends iovecs for body spans, framed as chunks when chunked. Chunk-size lines are stored in
// scratch, which is reserved up front so the iovecs pointing into it stay valid.
void add_body(std::vector<iovec>& iov, std::string& scratch,
              const std::vector<std::string_view>& spans, bool chunked) {
  static const char crlf[] = "\r\n";
  scratch.clear();
  scratch.reserve(spans.size() * 20 + 8);
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

// Sends the request body from the client to the origin, re-framed for the origin.
// Returns 0, or the status for an error response (408 client stalled, 502 origin failed),
// or -1 when the client went away.
Task<int> pump_request_body(Worker& w, Exchange& ex, int origin_fd) {
  const auto& t = ex.sites->config().timeouts;
  bool chunked = ex.request.framing == http::BodyFraming::chunked;
  std::vector<iovec> iov;
  std::string scratch;
  std::string last;
  while (true) {
    // Feed even when no bytes are at hand: an empty body (Content-Length: 0) is complete now.
    http::ParseResult pr = ex.parser.feed(ex.carry.view());
    ex.carry.consume(pr.consumed);
    if (pr.state == http::ParseState::error) co_return 400;
    iov.clear();
    add_body(iov, scratch, pr.body, chunked);
    if (pr.state == http::ParseState::message_done && chunked) {
      last.clear();
      http::append_last_chunk(ex.parser.trailers(), last);
      iov.push_back({last.data(), last.size()});
    }
    if (!iov.empty()) {
      int64_t n = co_await runtime::send_all(origin_fd, iov.data(), static_cast<int>(iov.size()),
                                             t.origin_read);
      if (n < 0) co_return 502;
    }
    if (pr.state == http::ParseState::message_done) co_return 0;
    ex.carry.release();
    runtime::RecvResult r = co_await runtime::recv(ex.client.fd, t.client_body);
    if (r.bytes == -ETIMEDOUT) co_return 408;
    if (r.bytes <= 0) co_return -1;
    ex.carry = std::move(r.buffer);
  }
}

// Moves what the client head needs out of the parser's response head, leaving the framing
// and keep-alive state the parser still works by.
http::ResponseHead take_head(http::ResponseHead& origin) {
  http::ResponseHead head;
  head.status = origin.status;
  head.reason = std::move(origin.reason);
  head.version_major = origin.version_major;
  head.version_minor = origin.version_minor;
  head.headers = std::move(origin.headers);
  head.framing = origin.framing;
  head.content_length = origin.content_length;
  head.keep_alive = origin.keep_alive;
  return head;
}

struct Attempt {
  int fd = -1;
  size_t origin = 0;
  bool reused = false;
};

}  // namespace

Task<Outcome> forward_to_origin(Worker& w, Exchange& ex) {
  const config::Config& cfg = ex.sites->config();
  const config::SiteConfig& site_cfg = *ex.site->config;
  OriginPool& pool = ex.site->origins;
  Counters& counters = w.counters();

  const bool idempotent = http::is_idempotent_method(ex.request.method);
  const bool has_body = ex.request.has_body();
  const bool expect_continue =
      ex.request.expect_continue && has_body &&
      !(ex.request.framing == http::BodyFraming::content_length && ex.request.content_length == 0);
  ForwardInfo info{ex.client.peer_ip, ex.authority, site_cfg.origin_host, cfg.via_name, "http"};
  to_origin_request(ex.request, ex.origin_target, info);
  std::string head_bytes;
  http::serialize_request_head(ex.request, head_bytes);

  std::vector<size_t> tried;
  uint32_t retries_left = site_cfg.origin_retries;
  bool fresh_only = false;  // a pooled connection failed: use a new one for the retry
  std::unique_ptr<http::Http1Parser> response_parser =
      w.take_parser(http::Http1Parser::Kind::response);
  http::Http1Parser& rp = *response_parser;
  runtime::Buffer ocarry;
  Attempt a;
  runtime::Clock::time_point sent_at;

  // Connect, send, and wait for the first response byte, retrying where that is safe.
  while (true) {
    if (!fresh_only) {
      a.origin = pool.pick(w.reactor().now(), tried);
      tried.push_back(a.origin);
    }
    const Origin& origin = pool.at(a.origin);
    a.fd = fresh_only ? -1
                      : w.upstreams().acquire(origin.address, w.reactor().now(),
                                              cfg.timeouts.origin_idle);
    fresh_only = false;
    a.reused = a.fd >= 0;
    if (a.reused) {
      counters.add(Metric::origin_connections_reused_total);
    } else {
      a.fd = net::open_stream_socket(origin.address);
      int rc = a.fd;
      if (a.fd >= 0) {
        counters.add(Metric::origin_connections_total);
        rc = co_await runtime::connect(a.fd, origin.address.get(), origin.address.length,
                                       cfg.timeouts.origin_connect);
      }
      if (rc < 0) {
        if (a.fd >= 0) ::close(a.fd);
        a.fd = -1;
        pool.mark_failed(a.origin, w.reactor().now());
        counters.add(rc == -ETIMEDOUT ? Metric::origin_timeouts_total
                                      : Metric::origin_connect_failures_total);
        log_origin_problem(origin, "connect failed", rc);
        if (retries_left > 0 && tried.size() < pool.size()) {
          --retries_left;
          counters.add(Metric::origin_retries_total);
          continue;
        }
        co_return co_await respond_error(
            w, ex, rc == -ETIMEDOUT ? 504 : 502,
            rc == -ETIMEDOUT ? "the origin did not accept a connection in time"
                             : "the origin could not be reached",
            has_body || !ex.client_keep_alive);
      }
    }

    counters.add(Metric::origin_requests_total);
    sent_at = w.reactor().now();
    int64_t sent = co_await runtime::send_all(a.fd, head_bytes, cfg.timeouts.origin_read);
    if (sent < 0) {
      ::close(a.fd);
      if (a.reused && idempotent && !has_body) {
        counters.add(Metric::origin_retries_total);
        fresh_only = true;
        continue;
      }
      co_return co_await respond_error(w, ex, 502, "sending the request to the origin failed",
                                       true);
    }
    if (has_body) {
      if (expect_continue && (!ex.carry || ex.carry.remaining() == 0)) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        iovec iov{const_cast<char*>(cont), sizeof cont - 1};
        if (!co_await send_to_client(w, ex, &iov, 1)) {
          ::close(a.fd);
          co_return Outcome::client_gone;
        }
      }
      int rc = co_await pump_request_body(w, ex, a.fd);
      if (rc != 0) {
        ::close(a.fd);
        if (rc < 0) co_return Outcome::client_gone;
        co_return co_await respond_error(
            w, ex, rc,
            rc == 408 ? "request body not received in time"
                      : rc == 400 ? "malformed request body" : "the origin stopped reading the request body",
            true);
      }
    }

    // Wait for the response head.
    rp.expect_head_response(ex.is_head);
    auto deadline = w.reactor().now() + cfg.timeouts.origin_first_byte;
    runtime::RecvResult r = co_await recv_from_origin(w, ex, a.fd, deadline, true);
    if (r.bytes > 0) {
      ocarry = std::move(r.buffer);
      counters.add(Metric::origin_bytes_received_total, r.bytes);
      break;
    }
    ::close(a.fd);
    if (r.bytes == client_gone_error) co_return Outcome::client_gone;
    if (r.bytes == -ETIMEDOUT) {
      counters.add(Metric::origin_timeouts_total);
      co_return co_await respond_error(w, ex, 504, "the origin did not answer in time", true);
    }
    if (a.reused && idempotent && !has_body) {
      counters.add(Metric::origin_retries_total);
      fresh_only = true;
      continue;
    }
    counters.add(Metric::origin_bad_responses_total);
    co_return co_await respond_error(w, ex, 502, "the origin closed the connection without answering",
                                     true);
  }

  // Parse the head (skipping or relaying 1xx), then stream the body.
  const Origin& origin = pool.at(a.origin);
  std::vector<iovec> iov;
  std::string head_out;
  std::string scratch;
  std::string last;
  bool head_sent = false;
  bool chunked_out = false;
  bool eof = false;
  auto body_deadline = w.reactor().now() + cfg.timeouts.origin_first_byte;
  Outcome outcome = Outcome::done;
  while (true) {
    http::ParseResult pr;
    if (eof) {
      pr = rp.finish_eof();
    } else {
      pr = rp.feed(ocarry.view());
      ocarry.consume(pr.consumed);
    }
    if (pr.state == http::ParseState::error) {
      counters.add(Metric::origin_bad_responses_total);
      log_origin_problem(origin, rp.error_message().c_str(), 0);
      ::close(a.fd);
      if (!head_sent) {
        co_return co_await respond_error(w, ex, 502, "the origin sent a malformed response", true);
      }
      co_return Outcome::close;  // truncated: the client must not take it as complete
    }
    iov.clear();
    if (pr.state == http::ParseState::head_done && !head_sent) {
      // The client's head is a separate object: the parser keeps reading by the origin's framing.
      http::ResponseHead head = take_head(rp.response());
      if (head.is_informational()) {
        // 100 is Stavka's own business with the client; other 1xx go on to HTTP/1.1 clients.
        if (head.status != 100 && head.status != 101 && ex.client_http11) {
          to_client_response(head, cfg.via_name);
          head_out.clear();
          http::serialize_response_head(head, head_out);
          iovec one{head_out.data(), head_out.size()};
          if (!co_await send_to_client(w, ex, &one, 1)) {
            ::close(a.fd);
            co_return Outcome::client_gone;
          }
        }
        continue;  // the 1xx message completes on the next feed
      }
      ex.upstream_ms =
          std::chrono::duration<double, std::milli>(w.reactor().now() - sent_at).count();
      ex.status = head.status;
      bool no_body = ex.is_head || head.status == 204 || head.status == 304;
      // A HEAD answer announces the framing a GET would get; no body follows either way.
      bool origin_sized = head.framing == http::BodyFraming::content_length ||
                          (ex.is_head && head.headers.contains("content-length"));
      to_client_response(head, cfg.via_name);
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
      ex.close_connection |= !ex.client_keep_alive || w.draining();
      head.keep_alive = !ex.close_connection;
      head_out.clear();
      http::serialize_response_head(head, head_out);
      head_sent = true;
      // Send the head together with the first body bytes, if they are already here.
      pr = rp.feed(ocarry.view());
      ocarry.consume(pr.consumed);
      if (pr.state == http::ParseState::error) {
        counters.add(Metric::origin_bad_responses_total);
        ::close(a.fd);
        co_return co_await respond_error(w, ex, 502, "the origin sent a malformed response", true);
      }
      iov.push_back({head_out.data(), head_out.size()});
    }
    if (head_sent) {
      add_body(iov, scratch, pr.body, chunked_out);
      if (pr.state == http::ParseState::message_done && chunked_out) {
        last.clear();
        http::append_last_chunk(rp.trailers(), last);
        iov.push_back({last.data(), last.size()});
      }
      if (!iov.empty() && !co_await send_to_client(w, ex, iov.data(), static_cast<int>(iov.size()))) {
        ::close(a.fd);
        co_return Outcome::client_gone;
      }
      if (pr.state == http::ParseState::message_done) break;
      body_deadline = w.reactor().now() + cfg.timeouts.origin_read;
    }
    if (ocarry && ocarry.remaining() > 0) continue;
    ocarry.release();
    runtime::RecvResult r = co_await recv_from_origin(w, ex, a.fd, body_deadline, false);
    if (r.bytes == 0) {
      eof = true;
      continue;
    }
    if (r.bytes < 0) {
      ::close(a.fd);
      if (r.bytes == client_gone_error) co_return Outcome::client_gone;
      bool timeout = r.bytes == -ETIMEDOUT;
      counters.add(timeout ? Metric::origin_timeouts_total : Metric::origin_bad_responses_total);
      log_origin_problem(origin, timeout ? "response stalled" : "response read failed", r.bytes);
      if (!head_sent) {
        co_return co_await respond_error(w, ex, timeout ? 504 : 502,
                                         timeout ? "the origin did not answer in time"
                                                 : "the origin's response failed",
                                         true);
      }
      co_return Outcome::close;
    }
    counters.add(Metric::origin_bytes_received_total, r.bytes);
    ocarry = std::move(r.buffer);
  }

  // Keep the origin connection only if the response ended cleanly with nothing extra after it.
  bool reusable = !eof && rp.response().keep_alive && (!ocarry || ocarry.remaining() == 0);
  ocarry.release();
  if (reusable) {
    w.give_back(std::move(response_parser));
    w.upstreams().release(origin.address, a.fd, w.reactor().now(), site_cfg.origin_keepalive);
  } else {
    ::close(a.fd);
  }
  if (ex.close_connection) outcome = Outcome::close;
  co_return outcome;
}

}  // namespace stavka::proxy
