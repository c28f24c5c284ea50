// Whether a response may be stored by this shared cache (RFC 9111 §3, §3.5, §5.2), and which of
// its fields must be left out when it is.
//
// Pure functions; any thread. The verdict carries a reason that names the rule which refused
// the response, in words fit for a log line or a Cache-Status detail ("response-no-store").
//
// Scope: a GET's final response, whole. A request with Range and a 206 are refused with their own
// reasons: ranges are stored as blocks of the whole (src/proxy/range_cache), whose fills ask this
// about the representation (status 200, no Range). HEAD is served from a stored GET by the caller
// and its own responses are never stored here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cache/directives.h"
#include "http/cache_control.h"
#include "http/headers.h"

namespace stavka::cache {

enum class StoreReason : uint8_t {
  storable,
  method,                // only GET responses are stored
  range_request,         // the request had Range (its answer is not the whole representation)
  request_no_store,      // §5.2.1.5
  status_not_final,      // 1xx
  partial_content,       // 206
  not_modified,          // a 304 updates a stored response (§4.3.4); it is never one itself
  must_understand,       // must-understand with a status this cache does not understand
  response_no_store,     // §5.2.2.5
  private_response,      // unqualified private: shared caches must not store (§5.2.2.7)
  authorization,         // request had Authorization without public/s-maxage/must-revalidate
  vary_star,             // Vary: * can never be matched by a later request (§4.1)
  not_cacheable_status,  // no explicit freshness and the status is not heuristically cacheable
};
// Lower-case, hyphenated ("response-no-store"); stable: used in logs and Cache-Status.
const char* store_reason_name(StoreReason reason);

struct Storability {
  StoreReason reason = StoreReason::storable;
  // Fields named by private="..." (lower-cased): stored without them (§5.2.2.7).
  std::vector<std::string> strip_fields;

  bool storable() const { return reason == StoreReason::storable; }
};

// Status codes whose caching requirements this cache implements, for must-understand
// (§5.2.2.3): the final codes RFC 9110 defines, except 206 (a part, stored as blocks of the whole) and 304.
bool is_understood_status(int status);

// §3, for a response to `method` with request fields `request_headers` (already parsed into
// `request_cc` by request_directives()).
Storability check_storable(std::string_view method, const http::HeaderMap& request_headers,
                           const http::CacheDirectives& request_cc, int status,
                           const http::HeaderMap& response_headers,
                           const ResponseDirectives& response_cc);

// Removes what §3.1 says a cache must not store: hop-by-hop fields (Connection and the fields
// it names, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade), the
// proxy's own authentication fields (Proxy-Authenticate, Proxy-Authentication-Info), and the
// fields listed in private="..." (extra_fields, lower-cased).
void remove_unstorable_fields(http::HeaderMap& headers,
                              const std::vector<std::string>& extra_fields);

}  // namespace stavka::cache
