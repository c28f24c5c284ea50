// A client's conditional GET or HEAD answered from a stored response (RFC 9111 §4.3.2, RFC
// 9110 §13.1.2, §13.1.3, §13.2.2, §15.4.5).
//
// Pure functions; any thread; `now` is passed in. Only If-None-Match and If-Modified-Since are
// evaluated: RFC 9111 §4.3.2 says If-Match and If-Unmodified-Since are not applicable to a
// cache (they are the origin's to evaluate, for unsafe methods the cache forwards anyway), and
// If-Range is asked separately (if_range_allows) by range handling. Conditions are evaluated only against a stored 200: a
// 304 stands in for a 200 (RFC 9110 §15.4.5) and preconditions are ignored when the
// unconditional answer would not be 2xx (§13.2.1).
#pragma once

#include <cstdint>
#include <string_view>

#include "cache/stored_response.h"
#include "http/headers.h"

namespace stavka::cache {

enum class ConditionalResult : uint8_t {
  send_full,     // no applicable condition, or it evaluated true: send the stored response
  not_modified,  // send 304 with not_modified_fields()
};

// If-None-Match first (weak comparison; "*" matches any stored response); If-Modified-Since
// only when If-None-Match is absent, compared with the stored Last-Modified, else its Date,
// else its response_time (§4.3.2). An If-Modified-Since that is not one valid HTTP-date, or is
// later than `now`, is ignored (RFC 9110 §13.1.3). An unreadable If-None-Match is treated as
// not matching: a full response is always a correct answer.
ConditionalResult evaluate_client_conditionals(std::string_view method,
                                               const http::HeaderMap& request_headers,
                                               const StoredResponse& stored, int64_t now);

// If-Range (RFC 9110 §13.1.5) against a stored response: true when the request has no If-Range,
// or its validator matches, so a Range applies; false when the whole representation must be
// sent instead. An entity-tag matches only by strong comparison (a weak tag never does); an
// HTTP-date only when it equals the stored Last-Modified exactly and that date is a strong
// validator (§8.8.2.2, for a cache: at least 60 s before the stored Date). Anything unreadable
// does not match: the full response is always a correct answer.
bool if_range_allows(const http::HeaderMap& request_headers, const StoredResponse& stored);

// The fields of a 304 sent in place of the full response whose fields are `full` (RFC 9110
// §15.4.5): Cache-Control, CDN-Cache-Control, Content-Location, Date, ETag, Expires, Vary,
// Age, and Last-Modified when there is no ETag (it then guides the client's cache update).
http::HeaderMap not_modified_fields(const http::HeaderMap& full);

}  // namespace stavka::cache
