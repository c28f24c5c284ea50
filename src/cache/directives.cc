// Selection of the directives in force for a response; request directives with Pragma.
//
// Stateless; see directives.h for the RFC 9213 reasoning.
#include "cache/directives.h"

namespace stavka::cache {

ResponseDirectives select_response_directives(const http::CacheDirectives& cache_control,
                                              const std::optional<http::CacheDirectives>& cdn) {
  // RFC 9213 §2.1: only a valid *non-empty* targeted field displaces Cache-Control; an empty or
  // unparsable one is as if absent.
  if (cdn && cdn->present) return ResponseDirectives{*cdn, true};
  return ResponseDirectives{cache_control, false};
}

ResponseDirectives response_directives(const http::HeaderMap& headers,
                                       std::string_view cdn_field) {
  // The field targeted at this cache alone comes before the one for every CDN (RFC 9213 §2.1
  // lets a cache use a list of targeted fields, most specific first).
  std::optional<http::CacheDirectives> own = http::parse_cdn_cache_control(headers, own_cache_control);
  if (own && own->present) return ResponseDirectives{*own, true};
  return select_response_directives(http::parse_cache_control(headers),
                                    http::parse_cdn_cache_control(headers, cdn_field));
}

http::CacheDirectives request_directives(const http::HeaderMap& headers) {
  http::CacheDirectives cc = http::parse_cache_control(headers);
  // §5.4: Pragma is consulted only when Cache-Control is absent, not merely empty of known
  // directives: a client that sends Cache-Control said what it meant.
  if (!headers.contains("cache-control") && headers.has_token("pragma", "no-cache")) {
    cc.no_cache = true;
  }
  return cc;
}

}  // namespace stavka::cache
