// Forwarding rules implementation; see forwarding.h.
#include "proxy/forwarding.h"

#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "cache/directives.h"

namespace stavka::proxy {

namespace {

// Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade and Proxy-*.
bool is_fixed_hop_by_hop(http::KnownField name) {
  using K = http::KnownField;
  switch (name) {
    case K::connection:
    case K::keep_alive:
    case K::te:
    case K::trailer:
    case K::transfer_encoding:
    case K::upgrade:
    case K::proxy_any:
      return true;
    default:
      return false;
  }
}

// Fields named in Connection are hop-by-hop too (RFC 9110 §7.6.1). The fixed ones go anyway,
// so "Connection: keep-alive" names nothing more, and the usual head needs no list.
class HopByHop {
 public:
  explicit HopByHop(const http::HeaderMap& headers) {
    for (const http::Header& h : headers) {
      if (h.known != http::KnownField::connection) continue;
      http::for_each_token(h.value, [&](std::string_view t) {
        if (!is_fixed_hop_by_hop(http::classify_field(t))) named_.emplace_back(t);
      });
    }
  }
  bool operator()(const http::Header& h) const {
    if (is_fixed_hop_by_hop(h.known)) return true;
    for (const std::string& n : named_) {
      if (http::iequals(h.name, n)) return true;
    }
    return false;
  }

 private:
  std::vector<std::string> named_;
};

// "1.1 " for HTTP/1.1: a Via entry's protocol version, then the space before the name.
std::string_view via_version(int major, int minor, char (&buf)[24]) {
  char* end = std::to_chars(buf, buf + 10, major).ptr;
  *end++ = '.';
  end = std::to_chars(end, end + 10, minor).ptr;
  *end++ = ' ';
  return {buf, static_cast<size_t>(end - buf)};
}

// Appends Via: the earlier entries (the values of the Via fields a rewrite took out, in order,
// RFC 9110 §7.6.3), then this proxy's.
void append_via(http::HeaderMap& headers, std::string_view earlier, int major, int minor,
                std::string_view via_name) {
  char buf[24];
  std::string_view version = via_version(major, minor, buf);
  char line[128];
  if (earlier.empty() && version.size() + via_name.size() <= sizeof line) {
    std::memcpy(line, version.data(), version.size());
    std::memcpy(line + version.size(), via_name.data(), via_name.size());
    headers.add("Via", std::string_view(line, version.size() + via_name.size()));
    return;
  }
  std::string value;
  value.reserve(earlier.size() + 2 + version.size() + via_name.size());
  if (!earlier.empty()) value.append(earlier).append(", ");
  value.append(version).append(via_name);
  headers.add("Via", value);
}

// Adds value to a comma-separated list being gathered.
void gather(std::string& list, std::string_view value) {
  if (!list.empty()) list += ", ";
  list += value;
}

}  // namespace

void remove_hop_by_hop(http::HeaderMap& headers) {
  HopByHop hop(headers);
  headers.remove_if([&](const http::Header& h) { return hop(h); });
}

// One pass over the fields: each is dropped, kept, or (Host, the first X-Forwarded-For) kept in
// its place to get a new value; what the pass gathered is appended after it.
void to_origin_request(http::RequestHead& head, std::string_view origin_target,
                       const ForwardInfo& info) {
  http::HeaderMap& f = head.headers;
  const HopByHop hop(f);
  constexpr size_t none = static_cast<size_t>(-1);
  size_t kept = 0, host_at = none, xff_at = none;  // positions among the kept fields
  std::string earlier_via;
  std::string xff;  // the client's X-Forwarded-For list, all its fields in one
  f.keep_if([&](size_t i) {
    const http::Header field = f[i];
    bool keep = !hop(field);
    if (keep) {
      switch (field.known) {
        case http::KnownField::via:  // earlier proxies' Via entries go first in ours
          gather(earlier_via, field.value);
          keep = false;
          break;
        case http::KnownField::host:
          if (host_at == none) host_at = kept;
          else keep = false;
          break;
        case http::KnownField::expect:  // Stavka answers 100-continue itself
          keep = false;
          break;
        case http::KnownField::x_forwarded_for:  // the client's list continues in the first one
          gather(xff, field.value);
          if (xff_at == none) xff_at = kept;
          else keep = false;
          break;
        case http::KnownField::x_forwarded_host:
        case http::KnownField::x_forwarded_proto:
          keep = false;
          break;
        default:
          break;
      }
    }
    if (keep) ++kept;
    return keep;
  });

  gather(xff, info.client_ip);
  if (xff_at == none) f.add("X-Forwarded-For", xff);
  else f.replace(xff_at, "X-Forwarded-For", xff);
  std::string_view host = info.origin_host.empty() ? info.host : info.origin_host;
  if (host_at == none) {
    f.add("Host", host);
  } else if (const http::Header h = f[host_at]; h.name != "Host" || h.value != host) {
    f.replace(host_at, "Host", host);  // (the usual request already has it so)
  }
  f.add("X-Forwarded-Proto", info.scheme);
  f.add("X-Forwarded-Host", info.host);
  append_via(f, earlier_via, head.version_major, head.version_minor, info.via_name);
  head.target.assign(origin_target);
  head.version_major = 1;
  head.version_minor = 1;
  head.keep_alive = true;
  head.expect_continue = false;
}

void to_client_response(http::ResponseHead& head, std::string_view via_name) {
  const HopByHop hop(head.headers);
  std::string earlier_via;
  head.headers.remove_if([&](const http::Header& h) {
    if (hop(h)) return true;
    if (h.known == http::KnownField::via) {
      gather(earlier_via, h.value);
      return true;
    }
    return http::iequals(h.name, cache::own_cache_control);  // meant for this cache only
  });
  append_via(head.headers, earlier_via, head.version_major, head.version_minor, via_name);
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
