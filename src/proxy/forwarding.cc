// Forwarding rules implementation; see forwarding.h.
#include "proxy/forwarding.h"

#include <charconv>
#include <string>
#include <vector>

#include "cache/directives.h"

namespace stavka::proxy {

namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && http::iequals(s.substr(0, prefix.size()), prefix);
}

// Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade and Proxy-*: by length first,
// so most names are settled by one comparison or none.
inline bool is_fixed_hop_by_hop(std::string_view name) {
  switch (name.size()) {
    case 2:
      return http::iequals(name, "te");
    case 7:
      if (http::iequals(name, "trailer") || http::iequals(name, "upgrade")) return true;
      break;
    case 10:
      if (http::iequals(name, "connection") || http::iequals(name, "keep-alive")) return true;
      break;
    case 17:
      if (http::iequals(name, "transfer-encoding")) return true;
      break;
  }
  return name.size() >= 6 && (name[0] | 0x20) == 'p' && starts_with_ci(name, "proxy-");
}

void append_via(http::HeaderMap& headers, int major, int minor, std::string_view via_name) {
  char version[24];
  char* end = std::to_chars(version, version + 10, major).ptr;
  *end++ = '.';
  end = std::to_chars(end, end + 10, minor).ptr;
  *end++ = ' ';
  std::string entry;
  // Earlier Via fields first, in order, then ours (RFC 9110 §7.6.3).
  for (const http::Header& h : headers) {
    if (!http::iequals(h.name, "via")) continue;
    if (!entry.empty()) entry += ", ";
    entry += h.value;
  }
  if (entry.empty()) {  // the usual case: built in place
    http::Header& via = headers.fields().emplace_back();
    via.name.assign("Via");
    via.value.reserve(static_cast<size_t>(end - version) + via_name.size());
    via.value.append(version, end).append(via_name);
    return;
  }
  entry += ", ";
  entry.append(version, end);
  entry += via_name;
  headers.set("Via", entry);
}

}  // namespace

void remove_hop_by_hop(http::HeaderMap& headers) {
  // Fields named in Connection are hop-by-hop too (RFC 9110 §7.6.1). The fixed ones go anyway,
  // so "Connection: keep-alive" needs no list.
  std::vector<std::string> named;
  for (const http::Header& h : headers) {
    if (!http::iequals(h.name, "connection")) continue;  // (inline: the length decides first)
    http::for_each_token(h.value, [&](std::string_view t) {
      if (!is_fixed_hop_by_hop(t)) named.emplace_back(t);
    });
  }
  headers.remove_if([&](const http::Header& h) {
    if (is_fixed_hop_by_hop(h.name)) return true;
    for (const auto& n : named) {
      if (http::iequals(h.name, n)) return true;
    }
    return false;
  });
}

void to_origin_request(http::RequestHead& head, std::string_view origin_target,
                       const ForwardInfo& info) {
  remove_hop_by_hop(head.headers);
  head.headers.remove("expect");
  head.target.assign(origin_target);

  std::string xff;
  for (const http::Header& h : head.headers) {
    if (!http::iequals(h.name, "x-forwarded-for")) continue;
    if (!xff.empty()) xff += ", ";
    xff += h.value;
  }
  if (!xff.empty()) xff += ", ";
  xff += info.client_ip;
  head.headers.set("X-Forwarded-For", xff);
  head.headers.set("X-Forwarded-Proto", info.scheme);
  head.headers.set("X-Forwarded-Host", info.host);
  head.headers.set("Host", info.origin_host.empty() ? info.host : info.origin_host);
  append_via(head.headers, head.version_major, head.version_minor, info.via_name);
  head.version_major = 1;
  head.version_minor = 1;
  head.keep_alive = true;
  head.expect_continue = false;
}

void to_client_response(http::ResponseHead& head, std::string_view via_name) {
  remove_hop_by_hop(head.headers);
  head.headers.remove(cache::own_cache_control);  // meant for this cache only
  append_via(head.headers, head.version_major, head.version_minor, via_name);
}

bool split_absolute_target(std::string_view target, std::string_view* authority,
                           std::string_view* origin_form) {
  size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view scheme = target.substr(0, scheme_end);
  if (!http::iequals(scheme, "http") && !http::iequals(scheme, "https")) return false;
  std::string_view rest = target.substr(scheme_end + 3);
  size_t path = rest.find_first_of("/?");
  *authority = rest.substr(0, path);
  if (authority->empty() || authority->find('@') != std::string_view::npos) return false;
  *origin_form = path == std::string_view::npos ? std::string_view("/") : rest.substr(path);
  return true;
}

}  // namespace stavka::proxy
