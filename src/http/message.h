// Request and response heads as parsed or as about to be serialised.
//
// Plain values owned by one request; body bytes never live here (they stream through).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "http/headers.h"

namespace stavka::http {

// How the body of a message is delimited on the wire.
enum class BodyFraming : uint8_t {
  none,            // no body (GET without length, HEAD response, 204, 304, 1xx)
  content_length,  // exactly content_length bytes
  chunked,         // Transfer-Encoding: chunked
  until_close,     // response read until the connection closes
};

struct RequestHead {
  std::string method;
  std::string target;  // as sent: origin-form, absolute-form, authority-form or "*"
  int version_major = 1;
  int version_minor = 1;
  HeaderMap headers;
  BodyFraming framing = BodyFraming::none;
  uint64_t content_length = 0;  // valid when framing == content_length
  bool keep_alive = true;       // after this request the connection may carry another
  bool expect_continue = false; // Expect: 100-continue

  bool is_head() const { return method == "HEAD"; }
  bool has_body() const { return framing != BodyFraming::none; }
};

struct ResponseHead {
  int status = 200;
  std::string reason;
  int version_major = 1;
  int version_minor = 1;
  HeaderMap headers;
  BodyFraming framing = BodyFraming::none;
  uint64_t content_length = 0;
  bool keep_alive = true;

  bool is_informational() const { return status >= 100 && status < 200; }
};

// The standard reason phrase for a status code ("Unknown" if none).
const char* reason_phrase(int status);

// RFC 9110 §9.2.2: methods whose repetition has the same intended effect.
bool is_idempotent_method(std::string_view method);
// RFC 9110 §9.2.1: GET, HEAD, OPTIONS, TRACE.
bool is_safe_method(std::string_view method);

}  // namespace stavka::http
