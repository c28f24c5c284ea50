// Exchange: one request's journey through the proxy, shared by the phases that handle it.
//
// Lives in the frame of the coroutine serving one client connection, for one request; owned by
// that connection's worker thread. The phases (see http_session.cc) are, in order:
//   read_head → route → [cache stage, next issue] → forward_to_origin → send_response → log
// Each phase reads what the earlier ones left here and records its own outcome, so the access
// log, metrics and later the cache and module hooks see one consistent record.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/message.h"
#include "http/parser.h"
#include "proxy/site_table.h"
#include "proxy/worker.h"
#include "runtime/buffer_pool.h"
#include "runtime/timer_heap.h"
#include "wasm/filter_chain.h"
#include "wasm/module.h"
#include "wasm/stream.h"

namespace stavka::proxy {

// How a request ended, for the access log and the connection's next step.
enum class Outcome : uint8_t {
  done,          // response complete; the connection may carry another request
  close,         // response complete (or an error response sent); close the connection
  client_gone,   // the client went away; close without a response
};

struct Exchange {
  Exchange(ClientConnection& c, http::Http1Parser& p, runtime::Buffer& b,
           runtime::Clock::time_point t)
      : client(c), parser(p), carry(b), start(t), request(p.request()) {}

  // The client side.
  ClientConnection& client;
  http::Http1Parser& parser;  // the client connection's request parser
  runtime::Buffer& carry;     // unparsed client bytes (pipelined or body)
  runtime::Clock::time_point start;

  // The request head, in the parser (valid until the parser starts the next message); the
  // forward phase rewrites it in place for the origin.
  http::RequestHead& request;
  std::string host;           // normalised request host (for routing and logging)
  std::string authority;      // the host as the client sent it (Host or absolute-form), port kept
  std::string log_method;
  std::string log_target;
  std::string origin_target;  // origin-form target sent to the origin
  // What the client asked for, kept before the request head is rewritten for the origin.
  bool client_keep_alive = true;
  bool client_http11 = true;
  bool is_head = false;

  std::shared_ptr<SiteTable> sites;  // the table this request started with
  Site* site = nullptr;

  // Filled as the response goes out.
  int status = 0;
  uint64_t bytes_sent = 0;
  bool close_connection = false;   // the response said Connection: close
  double upstream_ms = -1;
  ResponseSource source = ResponseSource::origin;  // set by the cache phase; for the TTFB histogram
  std::string cache_status;  // this cache's Cache-Status member (RFC 9211), for response and log
  // Called by relay_response with the origin's response head before any of it goes to the
  // client: the cache phase invalidates what an unsafe method changed (RFC 9111 §4.4) here, so
  // a client holding the answer can no longer find the old object.
  std::function<void(const http::ResponseHead&)> on_origin_head;

  // Modules (module_stage.h), present only when the site runs some: the set this request
  // started with, what they see and chose, and their HTTP contexts.
  struct Modules {
    // User-provided, so that emplace() (value-initialisation) does not first zero the whole
    // (a kilobyte, with the chain's context slots) before the members' own initialisers run.
    Modules() {}
    wasm::WorkerModules::Hold set;  // the modules' generation, alive as long as the request
    wasm::Stream stream;
    // The response phase ran on the origin head of a fill this request started, before it was
    // stored (pre_store_hook): that head as the modules got it and as they left it. What they
    // changed is applied to the head this request's client gets, but never stored.
    std::optional<std::pair<http::ResponseHead, http::ResponseHead>> origin_edit;
    std::string fill_cache_status;  // the Cache-Status member modules saw on that head
    bool failed_response = false;  // a fail-closed module faulted in the response phase
    // The response body on its way through modules (response_body = true): set when the head
    // is framed for it (frame_for_body_modules), used by the sends to the client.
    struct BodyOut {
      bool active = false;   // the response has a body the modules take
      bool framed = false;   // its head went out chunked (or close-delimited) for them
      bool chunked = false;  // the body goes out as chunks (else until close)
      bool ended = false;    // the last bytes went out
      uint64_t head_left = 0;  // bytes of the head still to send, which pass untouched
      std::optional<uint64_t> body_left;  // body bytes still to come, when known
    } body_out;
    wasm::FilterChain filters;  // last: the contexts end (on_done, on_log, on_delete) first
  };
  std::optional<Modules> modules;
  bool modules_active() const { return modules && modules->filters.active(); }
  bool body_through_modules() const { return modules && modules->body_out.framed; }
  const wasm::CacheView* module_cache() const { return modules ? &modules->stream.cache : nullptr; }
};

}  // namespace stavka::proxy
