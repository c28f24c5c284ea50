// The value parsers declared in value_parsers.h; see there.
#include "config/value_parsers.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>
#include <utility>
#include <vector>

namespace stavka::config::detail {

std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
    }
  }
  return out;
}

std::string in_quotes(std::string_view text) { return "'" + printable(text) + "'"; }

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// inet_pton reads a C string, so text holding a NUL would be cut short there: refuse it.
static bool is_ipv4(std::string_view text) {
  in_addr addr{};
  return text.find('\0') == std::string_view::npos &&
         inet_pton(AF_INET, std::string(text).c_str(), &addr) == 1;
}

// The canonical form ("0::1" gives "::1"), so equal addresses compare equal as text.
static std::optional<std::string> canonical_ipv6(std::string_view text) {
  in6_addr addr{};
  char out[INET6_ADDRSTRLEN];
  if (text.find('\0') != std::string_view::npos ||
      inet_pton(AF_INET6, std::string(text).c_str(), &addr) != 1 ||
      inet_ntop(AF_INET6, &addr, out, sizeof out) == nullptr) {
    return std::nullopt;
  }
  return std::string(out);
}

static std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// "host:port" or "[v6]:port", shared by listen addresses and origins. Without a port, uses
// default_port, or fails when that is 0.
static Problem parse_host_port(std::string_view text, uint16_t default_port, std::string& host,
                        uint16_t& port) {
  std::optional<std::string_view> port_text;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return "unexpected text after ']'";
    if (!rest.empty()) port_text = rest.substr(1);
    std::optional<std::string> v6 = canonical_ipv6(text.substr(1, close - 1));
    if (!v6) return in_quotes(text.substr(1, close - 1)) + " is not a valid IPv6 address";
    host = *v6;
  } else {
    size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      return "an IPv6 address must be in brackets, e.g. [::1]:8080";
    }
    std::string_view name = text.substr(0, colon);
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
    if (name.empty()) return "missing host";
    if (lowercase(name) == "localhost") {
      host = "127.0.0.1";
    } else if (is_ipv4(name)) {
      host = std::string(name);
    } else {
      return "host must be a numeric IP address or localhost";
    }
  }
  if (!port_text) {
    if (default_port == 0) return "missing port (expected host:port)";
    port = default_port;
    return std::nullopt;
  }
  std::optional<uint16_t> parsed = parse_port(*port_text);
  if (!parsed) return "port must be a number from 1 to 65535";
  port = *parsed;
  return std::nullopt;
}

Problem try_parse_listen(std::string_view text, ListenAddress& out) {
  out.text = std::string(text);
  return parse_host_port(text, 0, out.host, out.port);
}

Problem try_parse_origin(std::string_view text, OriginUrl& out) {
  out.text = std::string(text);
  size_t separator = text.find("://");
  if (separator == std::string_view::npos) return "expected http://host[:port]";
  out.scheme = lowercase(text.substr(0, separator));
  if (out.scheme == "https") {
    return "https origins need TLS, which this build does not support yet";
  }
  if (out.scheme != "http") return "scheme must be http";
  std::string_view rest = text.substr(separator + 3);
  size_t end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, end);
  if (end < rest.size() && rest.substr(end) != "/") {
    return "an origin cannot have a path, query or fragment";
  }
  if (authority.find('@') != std::string_view::npos) return "user information is not allowed";
  return parse_host_port(authority, 80, out.host, out.port);
}

Problem try_parse_duration(std::string_view text, Millis& out) {
  static constexpr std::string_view kExpected =
      "expected a whole number followed by ms, s, m or h (e.g. \"250ms\", \"10s\")";
  static constexpr uint64_t kMax = max_duration.count();
  size_t digits = 0;
  uint64_t value = 0;
  for (; digits < text.size() && is_digit(text[digits]); ++digits) {
    value = value * 10 + static_cast<uint64_t>(text[digits] - '0');
    if (value > kMax) return "must be at most 24h";  // also keeps the product below in range
  }
  std::string_view unit = text.substr(digits);
  uint64_t ms_per_unit = unit == "ms"  ? 1
                         : unit == "s" ? 1000
                         : unit == "m" ? 60'000
                         : unit == "h" ? 3'600'000
                                       : 0;
  if (digits == 0 || ms_per_unit == 0) return std::string(kExpected);
  if (value * ms_per_unit > kMax) return "must be at most 24h";
  out = Millis(value * ms_per_unit);
  return std::nullopt;
}

Problem try_parse_size(std::string_view text, uint64_t& out) {
  static constexpr std::string_view kExpected =
      "expected a whole number of bytes with an optional unit: KiB, MiB, GiB, TiB (or KB, MB, "
      "GB, TB), e.g. \"256MiB\"";
  static constexpr uint64_t kMax = uint64_t{1} << 50;
  size_t digits = 0;
  uint64_t value = 0;
  for (; digits < text.size() && is_digit(text[digits]); ++digits) {
    value = value * 10 + static_cast<uint64_t>(text[digits] - '0');
    if (value > kMax) return "must be at most 1PiB";
  }
  std::string_view unit = text.substr(digits);
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
      {"TiB", uint64_t{1} << 40},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"TB", uint64_t{1000} * 1000 * 1000 * 1000},
  };
  const auto* match = std::find_if(std::begin(kUnits), std::end(kUnits),
                                   [&](const auto& u) { return u.first == unit; });
  if (digits == 0 || match == std::end(kUnits)) return std::string(kExpected);
  if (value > kMax / match->second) return "must be at most 1PiB";
  out = value * match->second;
  return std::nullopt;
}

Problem try_parse_host_pattern(std::string_view text, std::string& out) {
  out = lowercase(text);
  if (out.empty()) return "a host name cannot be empty";
  if (out == "*") return std::nullopt;
  if (out.size() > 2 && out.front() == '[' && out.back() == ']' &&
      canonical_ipv6(std::string_view(out).substr(1, out.size() - 2))) {
    return std::nullopt;
  }
  std::string_view name = out;
  if (name.starts_with("*.")) name.remove_prefix(2);
  for (char c : name) {
    if (c == ' ' || c == '\t') return "a host name cannot contain spaces";
    if (c == ':') return "a host name cannot include a port (ports are ignored when matching)";
    if (c == '*') return "'*' is only allowed alone or as a leading '*.'";
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_') {
      return "a host name may only contain letters, digits, '-', '_' and '.'";
    }
  }
  if (name.empty() || name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string_view::npos) {
    return "a host name cannot have an empty label (a leading, trailing or doubled '.')";
  }
  return std::nullopt;
}

bool is_token(std::string_view text) {  // RFC 9110 token, as Via's pseudonym must be
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_alnum(c) || kSymbols.find(c) != std::string_view::npos;
  });
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}


}  // namespace stavka::config::detail

namespace stavka::config {

namespace {

// The 16 bytes of a numeric IPv4 or IPv6 address (IPv4 in the first 4); nullopt if it is not
// one. *v6 says which; an IPv4-mapped IPv6 address is given as IPv4.
bool numeric_address(std::string_view text, uint8_t out[16], bool* v6) {
  std::string s(text);
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    std::memcpy(out, &a4, 4);
    *v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), &a6) != 1) return false;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a6.s6_addr, mapped, 12) == 0) {
    std::memcpy(out, a6.s6_addr + 12, 4);
    *v6 = false;
    return true;
  }
  std::memcpy(out, a6.s6_addr, 16);
  *v6 = true;
  return true;
}

}  // namespace

bool AddressRange::contains(std::string_view ip) const {
  uint8_t b[16] = {};
  bool is_v6 = false;
  if (!numeric_address(ip, b, &is_v6) || is_v6 != v6) return false;
  int left = prefix;
  for (int i = 0; left > 0; ++i, left -= 8) {
    const uint8_t mask = left >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - left));
    if ((b[i] & mask) != (bytes[i] & mask)) return false;
  }
  return true;
}

namespace detail {

Problem try_parse_address_range(std::string_view text, AddressRange& out) {
  AddressRange r;
  r.text = std::string(text);
  std::string_view address = text;
  std::optional<int> prefix;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    std::string_view bits = text.substr(slash + 1);
    int n = 0;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
    if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size()) {
      return "the prefix length must be a number";
    }
    prefix = n;
  }
  if (!numeric_address(address, r.bytes, &r.v6)) return "not a numeric IPv4 or IPv6 address";
  const int width = r.v6 ? 128 : 32;
  r.prefix = prefix.value_or(width);
  if (r.prefix < 0 || r.prefix > width) {
    return "the prefix length must be 0 to " + std::to_string(width);
  }
  out = std::move(r);
  return std::nullopt;
}

}  // namespace detail

}  // namespace stavka::config
