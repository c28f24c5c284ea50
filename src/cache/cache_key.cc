// Target URI normalisation and primary key construction.
//
// Stateless. See cache_key.h for why the path and query are left alone.
#include "cache/cache_key.h"

#include "cache/field_text.h"
#include "cache/vary.h"

namespace stavka::cache {

namespace {

// Lower-cases the authority and drops an empty or default port. nullopt for an empty host or
// userinfo (forbidden in http(s) URIs, RFC 9110 §4.2.4).
std::optional<std::string> normalize_authority(std::string_view scheme,
                                               std::string_view authority) {
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string out = ascii_lower(authority);
  // The port follows the last ':' outside an IPv6 literal's brackets.
  size_t bracket = out.rfind(']');
  size_t colon = out.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    std::string_view port = std::string_view(out).substr(colon + 1);
    if (port.empty() || (scheme == "http" && port == "80") ||
        (scheme == "https" && port == "443")) {
      out.resize(colon);
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// Splits "path?query" (a fragment, never valid in a request, is dropped).
void split_path_query(std::string_view rest, RequestUrl& url) {
  rest = rest.substr(0, rest.find('#'));
  size_t q = rest.find('?');
  url.path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) url.query = std::string(rest.substr(q));
  if (url.path.empty()) url.path.push_back('/');
}

}  // namespace

std::optional<RequestUrl> request_url(std::string_view scheme, std::string_view host,
                                      std::string_view target) {
  RequestUrl url;
  if (!target.empty() && target.front() == '/') {
    url.scheme = ascii_lower(scheme);
    auto authority = normalize_authority(url.scheme, trim_ows(host));
    if (!authority) return std::nullopt;
    url.authority = std::move(*authority);
    split_path_query(target, url);
  } else {
    size_t sep = target.find("://");
    if (sep == std::string_view::npos) return std::nullopt;
    url.scheme = ascii_lower(target.substr(0, sep));
    std::string_view rest = target.substr(sep + 3);
    size_t end = rest.find_first_of("/?#");
    if (end == std::string_view::npos) end = rest.size();
    auto authority = normalize_authority(url.scheme, rest.substr(0, end));
    if (!authority) return std::nullopt;
    url.authority = std::move(*authority);
    split_path_query(rest.substr(end), url);
  }
  if (url.scheme != "http" && url.scheme != "https") return std::nullopt;
  return url;
}

std::string url_string(const RequestUrl& url) {
  std::string out;
  out.reserve(url.scheme.size() + 3 + url.authority.size() + url.path.size() + url.query.size());
  out.append(url.scheme).append("://").append(url.authority).append(url.path).append(url.query);
  return out;
}

std::string primary_key(const RequestUrl& url, const http::HeaderMap& request_headers,
                        const CacheKeyOptions& options) {
  std::string key;
  key.append(url.scheme).append("://").append(url.authority).append(url.path);
  if (!options.ignore_query) key.append(url.query);
  for (const std::string& field : options.request_fields) {
    key.push_back('\n');
    key.append(ascii_lower(field));
    if (auto value = joined_field_value(request_headers, field)) {
      key.push_back('=');
      key.append(*value);
    }
  }
  return key;
}

}  // namespace stavka::cache
