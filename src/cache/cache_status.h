// Cache-Status field values (RFC 9211): what this cache did with a request, as one list member
// such as `Stavka; hit; ttl=42` or `Stavka; fwd=uri-miss; stored`.
//
// Pure functions; any thread. The cache name is a parameter (a site may name its node). Values
// are Structured Fields (RFC 8941): the name is a Token when it is one, else a String; detail
// and key are always Strings, with characters outside printable ASCII replaced by '?'.
// Parameters appear in a fixed order: hit, fwd, fwd-status, stored, collapsed, ttl, key, detail.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cache/request_policy.h"
#include "http/headers.h"

namespace stavka::cache {

// RFC 9211 §2.2: why the request went forward.
enum class Fwd : uint8_t {
  none,       // not forwarded (a hit)
  bypass,     // the cache was configured not to handle this request
  method,     // the request method is not cacheable
  uri_miss,   // nothing stored for the URI
  vary_miss,  // stored responses for the URI, none matching the request's Vary fields
  miss,       // not stored for another reason
  request,    // the request's directives required going forward (no-cache, max-age...)
  stale,      // a stored response was stale and needed validation
  partial,    // only part of the response was stored
};
const char* fwd_name(Fwd fwd);

struct CacheStatus {
  bool hit = false;
  Fwd fwd = Fwd::none;
  std::optional<int> fwd_status;  // the status the origin answered with
  bool stored = false;            // the forwarded response was stored
  bool collapsed = false;         // the request was collapsed into another one's fill
  std::optional<int64_t> ttl;     // remaining freshness; negative when stale
  std::string key;                // omitted when empty
  std::string detail;             // omitted when empty
};

// One list member, e.g. `Stavka; fwd=stale; fwd-status=304; ttl=60`.
std::string format_cache_status(std::string_view cache_name, const CacheStatus& status);

// Appends member to the Cache-Status of headers: caches add their member at the end of the list
// (RFC 9211 §2), after those of caches closer to the origin.
void append_cache_status(http::HeaderMap& headers, std::string_view member);

// The starting point for a lookup decision: hit with ttl for serve (detail says why for
// anything but a plain fresh hit), fwd=stale / request / method / uri-miss for the rest. The
// caller sets what only it knows: vary-miss, bypass, fwd-status, stored, collapsed, and the ttl
// of a response it fetched or revalidated.
CacheStatus cache_status_for(const Decision& decision);

}  // namespace stavka::cache
