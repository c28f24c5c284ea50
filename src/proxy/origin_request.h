// OriginRequest: one request to one of a site's origins, independent of who reads the answer.
//
// Both ways a response leaves Stavka use it: forward_to_origin (streaming to one client) and a
// cache fill (streaming into a Fill that any number of clients read). It picks an origin
// (round-robin, skipping resting ones), takes a pooled connection or connects, sends the head
// (and, through a callback, the body), waits for the response head, retrying where that is safe,
// and then hands out the body piece by piece.
//
// Retries: another origin when a connection could not be made (nothing was sent, so any
// method); a fresh connection when a pooled one turned out closed before answering, for
// idempotent requests without a body only (the origin may have seen it).
//
// Runs on one worker; the connection comes from and returns to that worker's UpstreamPool.
// Memory: at most one receive buffer is held; body spans point into it and are valid until the
// next call to next_body().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "http/parser.h"
#include "proxy/site_table.h"
#include "proxy/upstream_pool.h"
#include "proxy/worker.h"
#include "runtime/buffer_pool.h"
#include "runtime/task.h"

namespace stavka::proxy {

struct OriginRequestSpec {
  const Site* site = nullptr;
  std::shared_ptr<SiteTable> sites;  // keeps site alive
  std::string head_bytes;            // the serialised request head, as the origin gets it
  bool idempotent = true;
  bool has_body = false;
  bool head_method = false;          // HEAD: the response has no body whatever it says
  // After the head went out: sends the request body. Returns 0, a status for an error response
  // (400, 408, 502), or -1 when the client went away.
  std::function<runtime::Task<int>(int fd)> send_body;
  // Interim (1xx other than 100) responses; false: the reader is gone.
  std::function<runtime::Task<bool>(http::ResponseHead&)> on_informational;
  // Checked about once a second while waiting: true stops the request (the reader is gone).
  std::function<bool()> abandoned;
  // No wait goes past this (a module's HTTP call timeout): the request fails as timed out.
  runtime::Clock::time_point give_up = runtime::Clock::time_point::max();
};

// Why a request produced no response head: the status Stavka answers with instead.
struct OriginFailure {
  int status = 0;            // 502, 504, or 400/408 from the body callback; 0: reader gone
  std::string_view detail;
};

struct BodyPiece {
  enum Kind : uint8_t { data, done, truncated } kind = data;
  std::vector<std::string_view> spans;  // for data (and possibly done): body bytes
  const http::HeaderMap* trailers = nullptr;  // for done: trailer fields (may be empty)
  bool abandoned = false;                     // truncated because the reader went away
};

class OriginRequest {
 public:
  OriginRequest(Worker& w, OriginRequestSpec spec);
  ~OriginRequest();  // closes the connection unless it was handed back to the pool
  OriginRequest(const OriginRequest&) = delete;

  // Sends the request and waits for the final response head. On failure returns false and
  // sets *failure (the connection is closed then).
  runtime::Task<bool> start(OriginFailure* failure);

  // The final response head (valid after start() succeeded). The fields are the origin's,
  // unmodified; framing says how the origin delimits the body.
  http::ResponseHead& head() { return head_; }
  runtime::Clock::time_point sent_at() const { return sent_at_; }
  // Replaces the "reader gone" check (when another reader takes the request over).
  void set_abandoned(std::function<bool()> abandoned) { spec_.abandoned = std::move(abandoned); }

  // The next body bytes. done: the body ended cleanly (spans may carry its last bytes);
  // truncated: the origin failed, stalled or closed early (logged and counted here).
  runtime::Task<BodyPiece> next_body();
  // What next_body() would return first without waiting, if it would: the body bytes that came
  // with the head (or their end). False: call next_body().
  bool take_first_piece(BodyPiece* piece);

  // After done: keeps the connection for reuse if the exchange ended cleanly. Idempotent.
  void release();

 private:
  void close_connection();

  Worker& w_;
  OriginRequestSpec spec_;
  std::unique_ptr<http::Http1Parser> parser_;
  runtime::Buffer carry_;
  http::ResponseHead head_;
  UpstreamConnection conn_;
  size_t origin_ = 0;
  bool eof_ = false;
  bool done_ = false;
  bool head_delivered_ = false;
  bool pooled_ = false;  // the connection went back to the pool after a clean response
  std::vector<std::string_view> pending_;  // body spans parsed together with the head
  runtime::Clock::time_point sent_at_;
  OriginInFlight in_flight_;  // in the worker's list (Worker::abort_origin_requests)
};

}  // namespace stavka::proxy
