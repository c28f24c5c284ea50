// Invalidation targets after unsafe methods (RFC 9111 §4.4), with RFC 3986 reference
// resolution for Location and Content-Location.
//
// Stateless.
#include "cache/invalidation.h"

#include "http/message.h"

#include <string>

#include "cache/field_text.h"

namespace stavka::cache {

namespace {

// RFC 3986 §5.2.4.
std::string remove_dot_segments(std::string_view input) {
  std::string out;
  while (!input.empty()) {
    if (input.starts_with("../")) {
      input.remove_prefix(3);
    } else if (input.starts_with("./")) {
      input.remove_prefix(2);
    } else if (input.starts_with("/./")) {
      input.remove_prefix(2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.starts_with("/../") || input == "/..") {
      input = input.size() == 3 ? std::string_view("/") : input.substr(3);
      size_t slash = out.rfind('/');
      out.resize(slash == std::string::npos ? 0 : slash);
    } else if (input == "." || input == "..") {
      input = {};
    } else {
      size_t next = input.find('/', input.front() == '/' ? 1 : 0);
      if (next == std::string_view::npos) next = input.size();
      out.append(input.substr(0, next));
      input.remove_prefix(next);
    }
  }
  return out;
}

bool same_origin(const RequestUrl& a, const RequestUrl& b) {
  return a.scheme == b.scheme && a.authority == b.authority;
}

bool same_url(const RequestUrl& a, const RequestUrl& b) {
  return same_origin(a, b) && a.path == b.path && a.query == b.query;
}

}  // namespace

std::optional<RequestUrl> resolve_reference(const RequestUrl& base, std::string_view reference) {
  reference = trim_ows(reference);
  reference = reference.substr(0, reference.find('#'));
  if (reference.empty()) return base;  // "same-document": the base itself

  // A scheme is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ':' before any '/', '?'.
  size_t colon = reference.find(':');
  size_t delimiter = reference.find_first_of("/?");
  if (colon != std::string_view::npos && colon > 0 &&
      (delimiter == std::string_view::npos || colon < delimiter)) {
    return request_url("", "", reference);
  }
  if (reference.starts_with("//")) {
    return request_url(base.scheme, "", base.scheme + ":" + std::string(reference));
  }

  RequestUrl out = base;
  out.query.clear();
  std::string_view path = reference.substr(0, reference.find('?'));
  if (size_t q = reference.find('?'); q != std::string_view::npos) {
    out.query = std::string(reference.substr(q));
  }
  if (path.empty()) {
    // "?q" keeps the base path; an empty reference was handled above.
    out.path = base.path;
  } else if (path.front() == '/') {
    out.path = remove_dot_segments(path);
  } else {
    // §5.2.3: merge with the base path's directory.
    std::string merged = base.path.substr(0, base.path.rfind('/') + 1);
    merged.append(path);
    out.path = remove_dot_segments(merged);
  }
  if (out.path.empty()) out.path = "/";
  return out;
}

std::vector<RequestUrl> invalidated_urls(std::string_view method, const RequestUrl& target,
                                         int status, const http::HeaderMap& response_headers) {
  std::vector<RequestUrl> out;
  // Every method not known to be safe, unknown ones included, invalidates (§4.4).
  if (http::is_safe_method(method) || status < 200 || status >= 400) return out;
  out.push_back(target);
  for (std::string_view field : {"location", "content-location"}) {
    std::optional<std::string_view> value = response_headers.find(field);
    if (!value) continue;
    auto url = resolve_reference(target, *value);
    if (!url || !same_origin(*url, target)) continue;
    bool seen = false;
    for (const RequestUrl& u : out) seen = seen || same_url(u, *url);
    if (!seen) out.push_back(std::move(*url));
  }
  return out;
}

}  // namespace stavka::cache
