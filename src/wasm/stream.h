// Stream: what one request shows its modules and what they ask of it.
//
// Lives in the request's Exchange (proxy layer), on the worker serving it; every module's HTTP
// context for that request points here. The proxy fills the fields it knows before each phase
// (the heads, the cache's view); modules read and change them through host functions; the proxy
// then acts on what they left (a local response, a new cache key, a TTL, a bypass).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.h"

namespace stavka::wasm {

// A response a module sends in place of the origin's or the cache's (proxy_send_local_response).
struct LocalResponse {
  int status = 0;
  std::string details;  // why, for the log
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The cache's side of a request, as modules see it (properties stavka.cache.*; docs/modules.md).
struct CacheView {
  // Settable.
  std::string key;              // set by a module to replace the primary cache key before lookup
  bool key_changed = false;
  // Makes the key the request would have now (read when `key` was not set; set by the proxy).
  std::function<std::string()> default_key;
  bool bypass = false;          // request phase: no lookup, no store; response phase: no store
  std::optional<int64_t> ttl;   // seconds of freshness for what this response stores
  std::optional<uint64_t> readahead;
  std::optional<std::string> surrogate_keys;  // space-separated tags stored with the object
  // Read-only.
  // This cache's Cache-Status member; "" before it is known. Points into the proxy's request
  // state, which outlives the response phase.
  std::string_view status;
  std::optional<uint64_t> object_size;  // of the object served, when known
  std::optional<int64_t> age;           // seconds, of a stored object served
};

enum class Phase : uint8_t { request_headers, response_headers, done };

struct Stream {
  // The request: the head modules read and change in the request phases. `path` is the
  // origin-form target (what :path shows); `authority` the Host.
  http::RequestHead* request = nullptr;
  std::string* path = nullptr;
  std::string* authority = nullptr;
  bool authority_changed = false;  // a module set :authority
  std::string_view scheme = "http";
  std::string_view client_ip;
  uint16_t client_port = 0;
  std::string_view site;
  // When the request began (the worker's clock): request.time, in Unix time when read.
  std::chrono::steady_clock::time_point start{};
  // request.size: the body's length when the request declares it (Content-Length), else 0.
  uint64_t request_bytes = 0;

  // The response, during response phases: the head about to be sent (or stored).
  http::ResponseHead* response = nullptr;
  // A response head the proxy has as bytes (a stored object's, on a hit) stays bytes until a
  // module does more than add fields: while response_bytes is set, `response` holds its status
  // only, and fields modules add are written into the bytes (add_response_field).
  // response_fields() makes the bytes fields.
  std::string* response_bytes = nullptr;
  uint32_t response_bytes_fields = 0;  // how many fields response_bytes holds
  // True during the response phase of an origin response that may be stored (a fill): TTL,
  // bypass and surrogate keys set then decide what is stored.
  bool response_from_origin = false;

  // During a body callback: the body the module sees (what it held back plus the new piece),
  // which it may read and change (HttpRequestBody / HttpResponseBody buffers).
  std::string* body = nullptr;
  bool body_is_response = false;
  // During a trailers callback: the trailer fields, which the module may change.
  http::HeaderMap* trailers = nullptr;
  bool trailers_are_response = false;

  CacheView cache;
  Phase phase = Phase::request_headers;

  // Set by a module: the request is answered with this instead; or the stream is reset (the
  // connection closed without an answer).
  std::optional<LocalResponse> local_response;
  bool reset = false;

  // Properties modules set under names the host does not define, readable by every module of
  // this request (as Envoy's filter state).
  std::vector<std::pair<std::string, std::string>> properties;

  int client_fd = -1;  // for destination.* (the local address), looked up when asked
};

// The response's fields, every one: response_bytes made fields first when the response is
// still bytes.
http::HeaderMap& response_fields(Stream& s);
// Adds a (valid) field to the response, as bytes while it is bytes.
void add_response_field(Stream& s, std::string_view name, std::string_view value);
// How many fields the response has, as bytes or not.
uint32_t response_field_count(const Stream& s);

}  // namespace stavka::wasm
