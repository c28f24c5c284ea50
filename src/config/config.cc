// Loads Stavka's TOML configuration into a Config, checking every key on the way in.
//
// Runs only on the main thread, at start-up or on reload; a Loader lives for one load and
// nothing is kept between calls, so there is no locking. Invariants: a Config is returned only
// once every key has been checked, so callers never see a half-valid one; the first problem
// found is thrown as ConfigError pointing at the line of the offending key or value; unknown
// keys are errors, because a typo silently ignored is a default silently used.
// docs/config.md describes every key and must change together with this file.
#include "config/config.h"

#include <arpa/inet.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>

namespace stavka::config {
namespace {

using namespace std::chrono_literals;

constexpr Millis kMaxDuration = 24h;

// A failed parse returns the reason; std::nullopt means success.
using Problem = std::optional<std::string>;

// User text shown in a message: control and non-ASCII bytes are escaped as \xNN so a message
// stays one printable line whatever the input holds.
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
bool is_ipv4(std::string_view text) {
  in_addr addr{};
  return text.find('\0') == std::string_view::npos &&
         inet_pton(AF_INET, std::string(text).c_str(), &addr) == 1;
}

// The canonical form ("0::1" gives "::1"), so equal addresses compare equal as text.
std::optional<std::string> canonical_ipv6(std::string_view text) {
  in6_addr addr{};
  char out[INET6_ADDRSTRLEN];
  if (text.find('\0') != std::string_view::npos ||
      inet_pton(AF_INET6, std::string(text).c_str(), &addr) != 1 ||
      inet_ntop(AF_INET6, &addr, out, sizeof out) == nullptr) {
    return std::nullopt;
  }
  return std::string(out);
}

std::optional<uint16_t> parse_port(std::string_view text) {
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
Problem parse_host_port(std::string_view text, uint16_t default_port, std::string& host,
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
  static constexpr uint64_t kMax = kMaxDuration.count();
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

// A [[site]] host pattern, lowercased into `out`: "name", "*.name", "*" or "[v6]".
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

// Optimal string alignment distance (a swap of two neighbours is one edit), for suggestions.
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

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

int line_of(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

// One TOML table being read.
struct Section {
  const toml::table& table;
  std::string_view label;   // in unknown-key messages: "" (top level), "[timeouts]", "[[site]]"
  std::string_view prefix;  // before key names in messages: "", "timeouts.", "site."
};

// A string value and the line it was written on.
struct Located {
  std::string text;
  int line;
};

class Loader {
 public:
  explicit Loader(std::string_view source) : source_(source) {}

  Config load(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(source_));
    } catch (const toml::parse_error& error) {
      fail(static_cast<int>(error.source().begin.line), std::string(error.description()));
    }
    Config c;
    c.source = source_;
    Section top{root, "", ""};
    check_keys(top, {"workers", "listen", "admin_listen", "via_name", "timeouts", "limits",
                     "log", "cache", "site"});
    set_uint(top, "workers", 0, 1024, c.workers);
    load_listen(top, c);
    if (auto v = get_string(top, "via_name")) {
      if (!is_token(v->text)) {
        fail(v->line, "'via_name' must be a non-empty HTTP token (no spaces or separators), got " +
                          in_quotes(v->text));
      }
      c.via_name = v->text;
    }
    if (const toml::table* t = get_table(top, "timeouts")) {
      load_timeouts({*t, "[timeouts]", "timeouts."}, c.timeouts);
    }
    if (const toml::table* t = get_table(top, "limits")) {
      Section s{*t, "[limits]", "limits."};
      check_keys(s, {"max_header_bytes", "max_headers", "max_connections"});
      set_uint(s, "max_header_bytes", 1024, 1048576, c.limits.max_header_bytes);
      set_uint(s, "max_headers", 1, 10000, c.limits.max_headers);
      set_uint(s, "max_connections", 1, 1048576, c.limits.max_connections);
    }
    if (const toml::table* t = get_table(top, "log")) load_log({*t, "[log]", "log."}, c.log);
    if (const toml::table* t = get_table(top, "cache")) {
      Section s{*t, "[cache]", "cache."};
      check_keys(s, {"dir"});
      if (auto v = get_string(s, "dir")) c.cache.dir = v->text;
    }
    if (const toml::node* sites = find(top, "site")) load_sites(*sites, c);
    return c;
  }

 private:
  [[noreturn]] void fail(int line, const std::string& message) const {
    throw ConfigError(source_, line, message);
  }

  static std::string name(const Section& s, std::string_view key) {
    return "'" + std::string(s.prefix) + printable(key) + "'";
  }

  static const toml::node* find(const Section& s, std::string_view key) {
    auto it = s.table.find(key);
    return it == s.table.end() ? nullptr : &it->second;
  }

  void check_keys(const Section& s, std::initializer_list<std::string_view> known) const {
    for (const auto& [key, node] : s.table) {
      if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
      std::string message = "unknown key " + in_quotes(key.str());
      if (!s.label.empty()) message += " in " + std::string(s.label);
      std::string_view best;
      size_t best_distance = 3;  // suggest near misses only: at most two edits
      for (std::string_view candidate : known) {
        size_t length_gap = std::max(key.str().size(), candidate.size()) -
                            std::min(key.str().size(), candidate.size());
        if (length_gap >= best_distance) continue;  // too far, and spares the quadratic cost
        size_t distance = edit_distance(key.str(), candidate);
        if (distance < best_distance && distance <= candidate.size() / 2) {
          best = candidate;
          best_distance = distance;
        }
      }
      if (!best.empty()) message += " (did you mean '" + std::string(best) + "'?)";
      fail(static_cast<int>(key.source().begin.line), message);
    }
  }

  [[noreturn]] void wrong_type(const Section& s, std::string_view key, const toml::node& node,
                               std::string_view expected) const {
    fail(line_of(node),
         name(s, key) + " must be " + std::string(expected) + ", got " + type_name(node));
  }

  void set_uint(const Section& s, std::string_view key, int64_t min, int64_t max,
                uint32_t& field) const {
    const toml::node* node = find(s, key);
    if (!node) return;
    const auto* value = node->as_integer();
    if (!value) wrong_type(s, key, *node, "an integer");
    int64_t v = value->get();
    if (v < min || v > max) {
      fail(line_of(*node), name(s, key) + " must be between " + std::to_string(min) + " and " +
                               std::to_string(max) + ", got " + std::to_string(v));
    }
    field = static_cast<uint32_t>(v);
  }

  std::optional<Located> get_string(const Section& s, std::string_view key) const {
    const toml::node* node = find(s, key);
    if (!node) return std::nullopt;
    const auto* value = node->as_string();
    if (!value) wrong_type(s, key, *node, "a string");
    return Located{value->get(), line_of(*node)};
  }

  void set_duration(const Section& s, std::string_view key, bool allow_zero, Millis& field) const {
    const toml::node* node = find(s, key);
    if (!node) return;
    const auto* value = node->as_string();
    if (!value) wrong_type(s, key, *node, "a duration string such as \"10s\"");
    Millis out{};
    if (Problem problem = try_parse_duration(value->get(), out)) {
      fail(line_of(*node),
           "bad duration " + in_quotes(value->get()) + " for " + name(s, key) + ": " + *problem);
    }
    if (!allow_zero && out.count() == 0) {
      fail(line_of(*node), name(s, key) + " must be more than 0");
    }
    field = out;
  }

  // A key taking one string or an array of them; absent gives an empty list, present must not.
  std::vector<Located> get_list(const Section& s, std::string_view key) const {
    const toml::node* node = find(s, key);
    std::vector<Located> items;
    if (!node) return items;
    if (const auto* single = node->as_string()) {
      items.push_back({single->get(), line_of(*node)});
    } else if (const auto* array = node->as_array()) {
      for (const toml::node& element : *array) {
        const auto* text = element.as_string();
        if (!text) {
          fail(line_of(element),
               name(s, key) + " must contain only strings, got " + type_name(element));
        }
        items.push_back({text->get(), line_of(element)});
      }
    } else {
      wrong_type(s, key, *node, "a string or an array of strings");
    }
    if (items.empty()) fail(line_of(*node), name(s, key) + " must not be empty");
    return items;
  }

  const toml::table* get_table(const Section& s, std::string_view key) const {
    const toml::node* node = find(s, key);
    if (!node) return nullptr;
    const auto* table = node->as_table();
    if (!table) wrong_type(s, key, *node, "a table");
    return table;
  }

  ListenAddress parse_listen(const Located& item, std::string_view key) const {
    ListenAddress address;
    if (Problem problem = try_parse_listen(item.text, address)) {
      fail(item.line, "bad address " + in_quotes(item.text) + " for '" + std::string(key) +
                          "': " + *problem);
    }
    return address;
  }

  void load_listen(const Section& s, Config& c) const {
    for (const Located& item : get_list(s, "listen")) {
      ListenAddress address = parse_listen(item, "listen");
      for (const ListenAddress& earlier : c.listen) {
        if (earlier.host == address.host && earlier.port == address.port) {
          fail(item.line, "address " + in_quotes(item.text) + " is listed twice in 'listen'");
        }
      }
      c.listen.push_back(std::move(address));
    }
    if (c.listen.empty()) c.listen.push_back({"127.0.0.1", 8080, "127.0.0.1:8080"});
    if (auto text = get_string(s, "admin_listen")) {
      ListenAddress address = parse_listen(*text, "admin_listen");
      for (const ListenAddress& other : c.listen) {
        if (other.host == address.host && other.port == address.port) {
          fail(text->line, "'admin_listen' " + in_quotes(text->text) + " is also in 'listen'");
        }
      }
      c.admin_listen = std::move(address);
    }
  }

  void load_timeouts(const Section& s, Timeouts& t) const {
    check_keys(s, {"client_header", "client_idle", "client_body", "client_send",
                   "origin_connect", "origin_first_byte", "origin_read", "origin_idle",
                   "shutdown_grace"});
    set_duration(s, "client_header", false, t.client_header);
    set_duration(s, "client_idle", false, t.client_idle);
    set_duration(s, "client_body", false, t.client_body);
    set_duration(s, "client_send", false, t.client_send);
    set_duration(s, "origin_connect", false, t.origin_connect);
    set_duration(s, "origin_first_byte", false, t.origin_first_byte);
    set_duration(s, "origin_read", false, t.origin_read);
    set_duration(s, "origin_idle", false, t.origin_idle);
    set_duration(s, "shutdown_grace", true, t.shutdown_grace);
  }

  void load_log(const Section& s, LogConfig& log) const {
    check_keys(s, {"access", "format", "level"});
    if (auto v = get_string(s, "access")) {
      if (v->text.empty()) {
        fail(v->line, "'log.access' must not be empty (use \"off\" to turn the access log off)");
      }
      log.access = v->text;
    }
    if (auto v = get_string(s, "format")) {
      if (v->text != "text" && v->text != "json") {
        fail(v->line, "'log.format' must be \"text\" or \"json\", got " + in_quotes(v->text));
      }
      log.format = v->text == "json" ? LogFormat::json : LogFormat::text;
    }
    if (auto v = get_string(s, "level")) {
      if (v->text != "error" && v->text != "warn" && v->text != "info" && v->text != "debug") {
        fail(v->line, "'log.level' must be \"error\", \"warn\", \"info\" or \"debug\", got " +
                          in_quotes(v->text));
      }
      log.level = v->text;
    }
  }

  void load_sites(const toml::node& node, Config& c) {
    const auto* array = node.as_array();
    if (!array || (!array->empty() && !array->is_array_of_tables())) {
      fail(line_of(node), "'site' must be an array of tables, written as [[site]] sections");
    }
    for (const toml::node& element : *array) c.sites.push_back(load_site(*element.as_table()));
  }

  SiteConfig load_site(const toml::table& table) {
    Section s{table, "[[site]]", "site."};
    check_keys(s, {"name", "hosts", "origins", "origin_host", "origin_down_time",
                   "origin_keepalive", "origin_retries"});
    for (std::string_view required : {"name", "hosts", "origins"}) {
      if (!find(s, required)) {
        fail(line_of(table),
             "[[site]] is missing the required key '" + std::string(required) + "'");
      }
    }
    SiteConfig site;
    Located name = *get_string(s, "name");
    if (name.text.empty() || !std::all_of(name.text.begin(), name.text.end(), [](char c) {
          return is_alnum(c) || c == '-' || c == '_' || c == '.';
        })) {
      fail(name.line,
           "'site.name' must be letters, digits, '-', '_' or '.', got " + in_quotes(name.text));
    }
    site.name = name.text;
    auto [first, unique] = line_of_site_.emplace(site.name, name.line);
    if (!unique) {
      fail(name.line, "duplicate site name " + in_quotes(site.name) +
                          " (first defined at line " + std::to_string(first->second) + ")");
    }
    for (const Located& item : get_list(s, "hosts")) {
      std::string host;
      if (Problem problem = try_parse_host_pattern(item.text, host)) {
        fail(item.line, "bad host " + in_quotes(item.text) + " for 'site.hosts': " + *problem);
      }
      if (std::find(site.hosts.begin(), site.hosts.end(), host) != site.hosts.end()) {
        fail(item.line,
             "host " + in_quotes(host) + " is listed twice in site " + in_quotes(site.name));
      }
      auto [owner, fresh] = site_of_host_.emplace(host, site.name);
      if (!fresh) {
        fail(item.line, "host " + in_quotes(host) + " is claimed by both site " +
                            in_quotes(owner->second) + " and site " + in_quotes(site.name));
      }
      site.hosts.push_back(std::move(host));
    }
    for (const Located& item : get_list(s, "origins")) {
      OriginUrl origin;
      if (Problem problem = try_parse_origin(item.text, origin)) {
        fail(item.line, "bad origin " + in_quotes(item.text) + " for 'site.origins': " + *problem);
      }
      for (const OriginUrl& earlier : site.origins) {
        if (earlier.host == origin.host && earlier.port == origin.port) {
          fail(item.line, "origin " + in_quotes(item.text) + " is listed twice in site " +
                              in_quotes(site.name));
        }
      }
      site.origins.push_back(std::move(origin));
    }
    if (auto v = get_string(s, "origin_host")) {
      if (!std::all_of(v->text.begin(), v->text.end(), [](char c) {
            return is_alnum(c) || std::string_view("-._:[]").find(c) != std::string_view::npos;
          })) {
        fail(v->line, "'site.origin_host' must be a host name with an optional port, got " +
                          in_quotes(v->text));
      }
      site.origin_host = v->text;
    }
    set_duration(s, "origin_down_time", true, site.origin_down_time);
    set_uint(s, "origin_keepalive", 0, 4096, site.origin_keepalive);
    set_uint(s, "origin_retries", 0, 16, site.origin_retries);
    return site;
  }

  std::string source_;
  std::map<std::string, std::string> site_of_host_;  // host pattern -> the site claiming it
  std::map<std::string, int> line_of_site_;          // site name -> line of its name
};

std::string format_error(const std::string& file, int line, const std::string& message) {
  if (line <= 0) return file.empty() ? message : file + ": " + message;
  return (file.empty() ? "line " : file + ":") + std::to_string(line) + ": " + message;
}

constexpr std::string_view kEmbeddedDefault =
    R"(# Stavka's built-in configuration, used when no config file is given: listen on
# 127.0.0.1:8080 and send every request, whatever its Host, to the bundled demo origin.
# See docs/config.md for every key.
listen = ["127.0.0.1:8080"]

[[site]]
name = "demo"
hosts = ["*"]                        # any Host
origins = ["http://127.0.0.1:8081"]  # the demo origin started with the proxy
)";

}  // namespace

// An empty file name gives "line N: message", or the bare message when there is no line.
ConfigError::ConfigError(std::string file, int line, const std::string& message)
    : std::runtime_error(format_error(file, line, message)), file_(std::move(file)), line_(line) {}

Config load_file(const std::string& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    throw ConfigError(path, 0, "is a directory, not a configuration file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    throw ConfigError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw ConfigError(path, 0, std::string("cannot read: ") + std::strerror(errno));
  return load_string(text, path);
}

Config load_string(std::string_view toml, std::string_view source_name) {
  return Loader(source_name).load(toml);
}

std::string_view embedded_default_toml() { return kEmbeddedDefault; }

ListenAddress parse_listen_address(std::string_view text) {
  ListenAddress out;
  if (Problem problem = try_parse_listen(text, out)) {
    throw ConfigError("", 0, "bad address " + in_quotes(text) + ": " + *problem);
  }
  return out;
}

OriginUrl parse_origin_url(std::string_view text) {
  OriginUrl out;
  if (Problem problem = try_parse_origin(text, out)) {
    throw ConfigError("", 0, "bad origin " + in_quotes(text) + ": " + *problem);
  }
  return out;
}

Millis parse_duration(std::string_view text) {
  Millis out{};
  if (Problem problem = try_parse_duration(text, out)) {
    throw ConfigError("", 0, "bad duration " + in_quotes(text) + ": " + *problem);
  }
  return out;
}

SiteConfig site_for_origin(const OriginUrl& origin) {
  SiteConfig site;
  site.name = "default";
  site.hosts = {"*"};
  site.origins = {origin};
  return site;
}

}  // namespace stavka::config
