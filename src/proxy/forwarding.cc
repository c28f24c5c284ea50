// Forwarding rules implementation; see forwarding.h.
#include "proxy/forwarding.h"

#include <string>
#include <vector>

#include "cache/directives.h"

namespace stavka::proxy {

namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && http::iequals(s.substr(0, prefix.size()), prefix);
}

bool is_fixed_hop_by_hop(std::string_view name) {
  return http::iequals(name, "connection") || http::iequals(name, "keep-alive") ||
         http::iequals(name, "te") || http::iequals(name, "trailer") ||
         http::iequals(name, "transfer-encoding") || http::iequals(name, "upgrade") ||
         starts_with_ci(name, "proxy-");
}

void append_via(http::HeaderMap& headers, int major, int minor, std::string_view via_name) {
  std::string entry = std::to_string(major) + "." + std::to_string(minor) + " ";
  entry += via_name;
  const std::string* existing = headers.find("via");
  if (existing) {
    std::string combined;
    for (auto v : headers.all("via")) {
      if (!combined.empty()) combined += ", ";
      combined += v;
    }
    combined += ", ";
    combined += entry;
    headers.set("Via", combined);
  } else {
    headers.add("Via", entry);
  }
}

}  // namespace

void remove_hop_by_hop(http::HeaderMap& headers) {
  // Fields named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  std::vector<std::string> named;
  for (auto value : headers.all("connection")) {
    http::for_each_token(value, [&](std::string_view t) { named.emplace_back(t); });
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
  for (auto v : head.headers.all("x-forwarded-for")) {
    if (!xff.empty()) xff += ", ";
    xff += v;
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
