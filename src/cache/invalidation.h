// Invalidation after unsafe requests (RFC 9111 §4.4): which stored URIs a response to a
// POST, PUT, DELETE, PATCH (any method not known to be safe) makes invalid.
//
// Pure functions; any thread. The caller turns each URL into primary keys (cache_key.h) and
// removes or marks the entries. Only a non-error response (2xx or 3xx) invalidates. The target
// URI always; Location and Content-Location too when they resolve to the same origin
// (scheme, host and port) as the target — RFC 9111 makes these optional (MAY) but forbids
// other origins, so that one site cannot purge another's entries.
#pragma once

#include <string_view>
#include <vector>

#include "cache/cache_key.h"
#include "http/headers.h"

namespace stavka::cache {

// Resolves a URI reference (absolute, network-path, absolute-path or relative; RFC 3986
// §5.2) against base. nullopt when it does not resolve to an http(s) URL.
std::optional<RequestUrl> resolve_reference(const RequestUrl& base, std::string_view reference);

// The URLs to invalidate after a response with `status` and `response_headers` to a `method`
// request for `target`; empty when nothing is invalidated. No duplicates; target first.
std::vector<RequestUrl> invalidated_urls(std::string_view method, const RequestUrl& target,
                                         int status, const http::HeaderMap& response_headers);

}  // namespace stavka::cache
