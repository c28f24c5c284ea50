// StoredResponse: the view of a stored entry the cache policy works on, and the conversion of
// its fields to and from the form storage keeps (storage::ObjectMeta::headers).
//
// Policy functions take this view rather than ObjectMeta so that RFC 9111 logic depends on
// nothing but HTTP fields and two timestamps. A plain value owned by one request on one
// worker. Times are Unix seconds: request_time is when the request that produced the response
// was sent, response_time when its head was received (RFC 9111 §4.2.3).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/headers.h"

namespace stavka::cache {

struct StoredResponse {
  int status = 200;
  http::HeaderMap headers;
  int64_t request_time = 0;
  int64_t response_time = 0;
};

// "Name: value\r\n" per field, in order (ObjectMeta::headers).
std::string serialize_fields(const http::HeaderMap& headers);
// The inverse of serialize_fields. Lines without a colon are skipped; values are trimmed.
http::HeaderMap parse_fields(std::string_view serialized);

}  // namespace stavka::cache
