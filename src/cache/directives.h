// Which parsed directives govern a response's caching here, and a request's Cache-Control with
// Pragma folded in.
//
// Stavka is a shared cache acting for the origin (a CDN node), so RFC 9213 applies: a valid,
// non-empty CDN-Cache-Control replaces Cache-Control *and* Expires for every caching decision
// this cache makes — storing, freshness and revalidation alike (RFC 9213 §2.1: the cache "MUST
// use" the targeted field "to determine the caching policy" and ignore the others). The
// response still carries its Cache-Control downstream untouched; that is the forwarder's
// business. Pure functions; any thread.
#pragma once

#include <optional>
#include <string_view>

#include "http/cache_control.h"
#include "http/headers.h"

namespace stavka::cache {

// Stavka-Cache-Control: the targeted field meant for this cache alone, with the syntax of
// CDN-Cache-Control. When valid and non-empty it governs before CDN-Cache-Control and
// Cache-Control. An origin may send it; a module's TTL (stavka.cache.ttl) is stored as it. It is
// never sent to clients.
inline constexpr std::string_view own_cache_control = "stavka-cache-control";

struct ResponseDirectives {
  http::CacheDirectives cc;  // the directives in force
  bool from_cdn = false;     // cc came from CDN-Cache-Control: Expires is ignored as well
};

// Picks cdn when it parsed and holds at least one directive, else cache_control.
ResponseDirectives select_response_directives(const http::CacheDirectives& cache_control,
                                              const std::optional<http::CacheDirectives>& cdn);
// Parses a response's fields and selects: Stavka-Cache-Control, else as above.
ResponseDirectives response_directives(const http::HeaderMap& headers,
                                       std::string_view cdn_field = "cdn-cache-control");

// A request's Cache-Control; when the request has no Cache-Control field at all, Pragma:
// no-cache counts as Cache-Control: no-cache (RFC 9111 §5.4).
http::CacheDirectives request_directives(const http::HeaderMap& headers);

}  // namespace stavka::cache
