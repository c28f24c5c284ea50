// Primary cache keys: the normalised target URI of a request, optionally without its query and
// with chosen request field values appended.
//
// Pure functions; any thread. Normalisation is limited to what cannot change which resource
// the origin serves (RFC 9110 §4.2.3): scheme and host are lower-cased, a default port (80 for
// http, 443 for https) is dropped, an empty path becomes "/". The path and query are kept byte
// for byte: decoding percent-escapes or removing dot-segments in the key while the origin sees
// the raw target would let two requests the origin tells apart share an entry, the ingredient
// of cache poisoning and cache deception.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/headers.h"

namespace stavka::cache {

struct CacheKeyOptions {
  bool ignore_query = false;                // key on scheme + host + path only
  std::vector<std::string> request_fields;  // request fields whose values join the key
};

struct RequestUrl {
  std::string scheme;     // "http" or "https"
  std::string authority;  // host[:port], lower-cased, default port dropped
  std::string path;       // starts with "/"
  std::string query;      // "" or "?..." (a bare "?" is kept: it is a different URI)
};

// The target URI of a request (RFC 9112 §3.3): an absolute-form target names its own scheme
// and authority (the Host field is then ignored); an origin-form target ("/p?q") takes
// `scheme` and `host`. nullopt for "*", authority-form, a scheme other than http(s), userinfo,
// or a missing host.
std::optional<RequestUrl> request_url(std::string_view scheme, std::string_view host,
                                      std::string_view target);

// "scheme://authority/path?query".
std::string url_string(const RequestUrl& url);

// The primary key (storage::ObjectMeta::primary_key): url_string (without the query if so
// configured), then one line per configured request field, "name=value" or "name" when the
// request lacks it (values normalised as for Vary, vary.h).
std::string primary_key(const RequestUrl& url, const http::HeaderMap& request_headers,
                        const CacheKeyOptions& options);

}  // namespace stavka::cache
