// OriginRequest: see origin_request.h.
#include "proxy/origin_request.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "net/socket.h"
#include "runtime/io.h"
#include "runtime/log.h"

namespace stavka::proxy {

using runtime::Task;

namespace {

constexpr auto abandon_check_interval = std::chrono::seconds(1);
constexpr int32_t abandoned_error = -ECONNABORTED;

void log_origin_problem(const Origin& origin, const char* what, int err) {
  runtime::log(runtime::LogLevel::warn, "origin %s: %s%s%s", origin.url->text.c_str(), what,
               err ? ": " : "", err ? std::strerror(-err) : "");
}

// A receive from the origin that also notices, once a second, a reader that went away.
Task<runtime::RecvResult> recv_from_origin(Worker& w, const OriginRequestSpec& spec,
                                           runtime::RecvStream& rx,
                                           runtime::Clock::time_point deadline,
                                           bool expect_wait) {
  deadline = std::min(deadline, spec.give_up);
  while (true) {
    auto left = deadline - w.reactor().now();
    if (left <= runtime::Duration::zero()) co_return runtime::RecvResult{-ETIMEDOUT, {}};
    bool capped = left > abandon_check_interval;
    auto wait = capped ? runtime::Duration(abandon_check_interval) : left;
    runtime::RecvResult r = co_await rx.next(wait, expect_wait);
    if (r.bytes != -ETIMEDOUT || !capped) co_return r;
    if (spec.abandoned && spec.abandoned()) co_return runtime::RecvResult{abandoned_error, {}};
  }
}

// Moves what a reader needs out of the parser's response head, leaving the framing and
// keep-alive state the parser still works by.
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

}  // namespace

OriginRequest::OriginRequest(Worker& w, OriginRequestSpec spec)
    : w_(w), spec_(std::move(spec)) {
  in_flight_.conn = &conn_;
  w_.attach(&in_flight_);
}

OriginRequest::~OriginRequest() {
  w_.detach(&in_flight_);
  close_connection();
  // A parser is recycled only after a clean, complete response: one that saw an error, an
  // early end or Connection: close keeps that state and is dropped.
  if (parser_ && pooled_) w_.give_back(std::move(parser_));
}

void OriginRequest::close_connection() { conn_.close(); }

Task<bool> OriginRequest::start(OriginFailure* failure) {
  const config::Config& cfg = spec_.sites->config();
  const config::SiteConfig& site_cfg = *spec_.site->config;
  OriginPool& pool = const_cast<Site*>(spec_.site)->origins;
  Counters& counters = w_.counters();
  parser_ = w_.take_parser(http::Http1Parser::Kind::response);

  std::vector<size_t> tried;
  uint32_t retries_left = site_cfg.origin_retries;
  bool fresh_only = false;  // a pooled connection failed: use a new one for the retry
  auto fail = [&](int status, std::string_view detail) {
    close_connection();
    failure->status = status;
    failure->detail = detail;
    return false;
  };

  // Connect, send, and wait for the first response byte, retrying where that is safe.
  while (true) {
    if (!fresh_only) {
      origin_ = pool.pick(w_.reactor().now(), tried);
      tried.push_back(origin_);
    }
    const Origin& origin = pool.at(origin_);
    if (!fresh_only) {
      conn_ = w_.upstreams().acquire(origin.address, w_.reactor().now(),
                                     cfg.timeouts.origin_idle);
    }
    fresh_only = false;
    bool reused = static_cast<bool>(conn_);
    if (reused) {
      counters.add(Metric::origin_connections_reused_total);
    } else {
      conn_.fd = net::open_stream_socket(origin.address);
      int rc = conn_.fd;
      if (conn_.fd >= 0) {
        counters.add(Metric::origin_connections_total);
        runtime::Duration limit = cfg.timeouts.origin_connect;
        if (spec_.give_up != runtime::Clock::time_point::max()) {
          // At least a millisecond: a zero timeout would mean none.
          limit = std::clamp<runtime::Duration>(spec_.give_up - w_.reactor().now(),
                                                std::chrono::milliseconds(1), limit);
        }
        rc = co_await runtime::connect(conn_.fd, origin.address.get(), origin.address.length,
                                       limit);
        if (rc >= 0) conn_.rx = runtime::RecvStream(conn_.fd);
      }
      if (rc < 0) {
        close_connection();
        pool.mark_failed(origin_, w_.reactor().now());
        counters.add(rc == -ETIMEDOUT ? Metric::origin_timeouts_total
                                      : Metric::origin_connect_failures_total);
        log_origin_problem(origin, "connect failed", rc);
        if (retries_left > 0 && tried.size() < pool.size()) {
          --retries_left;
          counters.add(Metric::origin_retries_total);
          continue;
        }
        co_return fail(rc == -ETIMEDOUT ? 504 : 502,
                       rc == -ETIMEDOUT ? "the origin did not accept a connection in time"
                                        : "the origin could not be reached");
      }
    }

    counters.add(Metric::origin_requests_total);
    sent_at_ = w_.reactor().now();
    int64_t sent = co_await runtime::send_all(conn_.fd, spec_.head_bytes, cfg.timeouts.origin_read);
    if (sent < 0) {
      close_connection();
      if (reused && spec_.idempotent && !spec_.has_body) {
        counters.add(Metric::origin_retries_total);
        fresh_only = true;
        continue;
      }
      co_return fail(502, "sending the request to the origin failed");
    }
    if (spec_.has_body && spec_.send_body) {
      int rc = co_await spec_.send_body(conn_.fd);
      if (rc != 0) {
        if (rc < 0) co_return fail(0, "");
        co_return fail(rc, rc == 408   ? "request body not received in time"
                           : rc == 400 ? "malformed request body"
                                       : "the origin stopped reading the request body");
      }
    }

    // Wait for the response head.
    parser_->expect_head_response(spec_.head_method);
    auto deadline = w_.reactor().now() + cfg.timeouts.origin_first_byte;
    runtime::RecvResult r = co_await recv_from_origin(w_, spec_, conn_.rx, deadline, true);
    if (r.bytes > 0) {
      carry_ = std::move(r.buffer);
      counters.add(Metric::origin_bytes_received_total, r.bytes);
      break;
    }
    close_connection();
    if (r.bytes == abandoned_error) co_return fail(0, "");
    if (r.bytes == -ETIMEDOUT) {
      counters.add(Metric::origin_timeouts_total);
      co_return fail(504, "the origin did not answer in time");
    }
    if (reused && spec_.idempotent && !spec_.has_body) {
      counters.add(Metric::origin_retries_total);
      fresh_only = true;
      continue;
    }
    counters.add(Metric::origin_bad_responses_total);
    co_return fail(502, "the origin closed the connection without answering");
  }

  // Parse the head, relaying or skipping interim responses.
  const Origin& origin = pool.at(origin_);
  auto deadline = w_.reactor().now() + cfg.timeouts.origin_first_byte;
  while (true) {
    http::ParseResult pr = eof_ ? parser_->finish_eof() : parser_->feed(carry_.view());
    if (!eof_) carry_.consume(pr.consumed);
    if (pr.state == http::ParseState::error) {
      counters.add(Metric::origin_bad_responses_total);
      log_origin_problem(origin, parser_->error_message().c_str(), 0);
      co_return fail(502, "the origin sent a malformed response");
    }
    if (pr.state == http::ParseState::head_done) {
      http::ResponseHead head = take_head(parser_->response());
      if (head.is_informational()) {
        if (head.status != 100 && head.status != 101 && spec_.on_informational &&
            !co_await spec_.on_informational(head)) {
          co_return fail(0, "");
        }
        continue;  // the 1xx message completes on the next feed
      }
      head_ = std::move(head);
      // Parse the first body bytes too, if they are already here, so they go out with the head.
      pr = parser_->feed(carry_.view());
      carry_.consume(pr.consumed);
      if (pr.state == http::ParseState::error) {
        counters.add(Metric::origin_bad_responses_total);
        co_return fail(502, "the origin sent a malformed response");
      }
      pending_ = std::move(pr.body);
      done_ = pr.state == http::ParseState::message_done;
      co_return true;
    }
    if (eof_) {
      counters.add(Metric::origin_bad_responses_total);
      co_return fail(502, "the origin closed the connection mid-head");
    }
    if (carry_ && carry_.remaining() > 0) continue;
    carry_.release();
    runtime::RecvResult r = co_await recv_from_origin(w_, spec_, conn_.rx, deadline, false);
    if (r.bytes == 0) {
      eof_ = true;
      continue;
    }
    if (r.bytes < 0) {
      if (r.bytes == abandoned_error) co_return fail(0, "");
      bool timeout = r.bytes == -ETIMEDOUT;
      counters.add(timeout ? Metric::origin_timeouts_total : Metric::origin_bad_responses_total);
      co_return fail(timeout ? 504 : 502, timeout ? "the origin did not answer in time"
                                                  : "the origin's response failed");
    }
    counters.add(Metric::origin_bytes_received_total, r.bytes);
    carry_ = std::move(r.buffer);
  }
}

bool OriginRequest::take_first_piece(BodyPiece* piece) {
  if (head_delivered_ || (!done_ && pending_.empty())) return false;
  head_delivered_ = true;
  piece->spans = std::move(pending_);
  if (done_) {
    piece->kind = BodyPiece::done;
    piece->trailers = &parser_->trailers();
  }
  return true;
}

Task<BodyPiece> OriginRequest::next_body() {
  BodyPiece piece;
  if (take_first_piece(&piece)) co_return piece;
  head_delivered_ = true;
  if (done_) {
    piece.kind = BodyPiece::done;
    piece.trailers = &parser_->trailers();
    co_return piece;
  }
  const config::Config& cfg = spec_.sites->config();
  const Origin& origin = const_cast<Site*>(spec_.site)->origins.at(origin_);
  while (true) {
    if (eof_ || (carry_ && carry_.remaining() > 0)) {
      http::ParseResult pr = eof_ ? parser_->finish_eof() : parser_->feed(carry_.view());
      if (!eof_) carry_.consume(pr.consumed);
      if (pr.state == http::ParseState::error) {
        w_.counters().add(Metric::origin_bad_responses_total);
        log_origin_problem(origin, parser_->error_message().c_str(), 0);
        close_connection();
        piece.kind = BodyPiece::truncated;
        co_return piece;
      }
      piece.spans = std::move(pr.body);
      if (pr.state == http::ParseState::message_done) {
        done_ = true;
        piece.kind = BodyPiece::done;
        piece.trailers = &parser_->trailers();
        co_return piece;
      }
      if (!piece.spans.empty()) co_return piece;
      if (eof_) {  // finish_eof() said neither done nor error: cannot happen, but never loop
        close_connection();
        piece.kind = BodyPiece::truncated;
        co_return piece;
      }
      continue;
    }
    carry_.release();
    auto deadline = w_.reactor().now() + cfg.timeouts.origin_read;
    runtime::RecvResult r = co_await recv_from_origin(w_, spec_, conn_.rx, deadline, false);
    if (r.bytes == 0) {
      eof_ = true;
      continue;
    }
    if (r.bytes < 0) {
      close_connection();
      piece.kind = BodyPiece::truncated;
      piece.abandoned = r.bytes == abandoned_error;
      if (!piece.abandoned) {
        bool timeout = r.bytes == -ETIMEDOUT;
        w_.counters().add(timeout ? Metric::origin_timeouts_total
                                  : Metric::origin_bad_responses_total);
        log_origin_problem(origin, timeout ? "response stalled" : "response read failed",
                           r.bytes);
      }
      co_return piece;
    }
    w_.counters().add(Metric::origin_bytes_received_total, r.bytes);
    carry_ = std::move(r.buffer);
  }
}

void OriginRequest::release() {
  if (!conn_) return;
  // Keep the connection only if the response ended cleanly with nothing extra after it.
  bool reusable = done_ && !eof_ && parser_->response().keep_alive &&
                  (!carry_ || carry_.remaining() == 0);
  carry_.release();
  if (!reusable) {
    close_connection();
    return;
  }
  const Origin& origin = const_cast<Site*>(spec_.site)->origins.at(origin_);
  w_.upstreams().release(origin.address, std::move(conn_), w_.reactor().now(),
                         spec_.site->config->origin_keepalive);
  pooled_ = true;
}

}  // namespace stavka::proxy
