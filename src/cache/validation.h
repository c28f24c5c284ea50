// Revalidating a stored response with the origin (RFC 9111 §4.3.1, §4.3.3, §4.3.4, §3.2): the
// conditional request, whether a 304 describes the stored response, and merging the 304 in.
//
// Pure functions over fields and the caller's timestamps; any thread. A 200 (or any non-304
// final response) to a revalidation simply replaces the stored response through the ordinary
// storing path (§4.3.3); nothing here is needed for it.
#pragma once

#include <cstdint>

#include "cache/stored_response.h"
#include "http/headers.h"

namespace stavka::cache {

// Whether the stored response has a validator to revalidate with (ETag or a valid
// Last-Modified). Without one, revalidation is an unconditional request.
bool has_validator(const http::HeaderMap& stored_headers);

// Makes `origin_request` (a copy of the client's request on its way to the origin) a
// conditional request for the stored response: the client's own If-None-Match and
// If-Modified-Since are replaced (the cache answers those itself, §4.3.2) by If-None-Match
// with the stored ETag and If-Modified-Since with the stored Last-Modified, each only when the
// stored response has it. Both are sent when both exist (§4.3.1: an HTTP/1.0 origin knows
// only the date; a newer one ignores the date when it sees the tag).
void set_conditional_headers(const http::HeaderMap& stored_headers,
                             http::HeaderMap& origin_request);

// §4.3.4: whether a 304 received for a revalidation of this stored response may freshen it.
// A strong ETag in the 304 must strongly match the stored one, a weak one weakly; without an
// ETag, a Last-Modified must equal the stored one (as dates; `now` resolves two-digit years).
// A 304 with no validator at all applies: the request it answers carried only this response's
// validators, so it can only be about it. When false the stored response must not be updated
// (§4.3.4); the caller repeats the request unconditionally.
bool not_modified_applies(const http::HeaderMap& stored_headers,
                          const http::HeaderMap& not_modified_headers, int64_t now);

// §3.2: updates stored fields with a 304's. Every field of the 304 replaces the stored field
// of that name, except Content-Length, the fields never stored (storability.h), the fields of
// private="..." in the 304, Content-Range, and Content-Encoding (the stored bytes are in the
// stored coding; §3.2 lets a cache keep fields that guard the integrity of what it stored).
// Date and Age describe the new message: a 304 without Date gets Date = response_time (RFC
// 9110 §6.6.1) and a stored Age is dropped when the 304 has none, so that the old Age is not
// counted again against the new response_time.
void merge_not_modified(http::HeaderMap& stored_headers, const http::HeaderMap& not_modified,
                        int64_t response_time);

// §4.3.4: the stored response freshened by a 304 received at response_time for a request sent
// at request_time. Freshness is then recomputed from the merged fields as usual. The caller
// should recompute the variant key (vary.h) if the 304 changed Vary.
StoredResponse freshen(const StoredResponse& stored, const http::HeaderMap& not_modified,
                       int64_t request_time, int64_t response_time);

}  // namespace stavka::cache
