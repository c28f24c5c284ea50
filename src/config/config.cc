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

#include "config/value_parsers.h"

namespace stavka::config {
namespace {

using namespace detail;

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
  // base_dir: the config file's folder, against which relative module paths are resolved ("" for
  // text not from a file: the working directory).
  explicit Loader(std::string_view source, std::string base_dir = "")
      : source_(source), base_dir_(std::move(base_dir)) {}

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
    check_keys(top, {"workers", "listen", "admin_listen", "admin", "via_name", "timeouts",
                     "limits", "log", "cache", "site", "module"});
    set_uint(top, "workers", 0, 1024, c.workers);
    load_listen(top, c);
    if (auto v = get_string(top, "via_name")) {
      if (!is_token(v->text)) {
        fail(v->line, "'via_name' must be a non-empty HTTP token (no spaces or separators), got " +
                          in_quotes(v->text));
      }
      c.via_name = v->text;
    }
    if (const toml::table* t = get_table(top, "admin")) load_admin({*t, "[admin]", "admin."}, c.admin);
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
      load_cache(s, c.cache);
    }
    if (const toml::node* sites = find(top, "site")) load_sites(*sites, c);
    if (const toml::node* modules = find(top, "module")) load_modules(*modules, c);
    check_site_modules(c);
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

  // Fails at the table's line unless every key of `required` is there.
  void require_keys(const Section& s, std::initializer_list<std::string_view> required) const {
    for (std::string_view key : required) {
      if (!find(s, key)) {
        fail(line_of(s.table), std::string(s.label) + " is missing the required key '" +
                                 std::string(key) + "'");
      }
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

  void load_admin(const Section& s, AdminConfig& admin) const {
    check_keys(s, {"public", "token", "purge_from"});
    for (const Located& item : get_list(s, "purge_from")) {
      AddressRange range;
      if (Problem problem = try_parse_address_range(item.text, range)) {
        fail(item.line, "bad address " + in_quotes(item.text) + " in 'admin.purge_from': " + *problem);
      }
      admin.purge_from.push_back(std::move(range));
    }
    if (const toml::node* node = find(s, "public")) {
      admin.public_paths.clear();
      const auto* array = node->as_array();
      for (const Located& item : array && array->empty() ? std::vector<Located>()
                                                         : get_list(s, "public")) {
        if (item.text.empty() || item.text[0] != '/') {
          fail(item.line, "'admin.public' entries are paths starting with '/', got " +
                              in_quotes(item.text));
        }
        admin.public_paths.push_back(item.text);
      }
    }
    const toml::node* tokens = find(s, "token");
    if (!tokens) return;
    const auto* array = tokens->as_array();
    if (!array || (!array->empty() && !array->is_array_of_tables())) {
      fail(line_of(*tokens), "'admin.token' must be an array of tables, written as [[admin.token]]");
    }
    for (const toml::node& element : *array) {
      const toml::table& table = *element.as_table();
      Section t{table, "[[admin.token]]", "admin.token."};
      check_keys(t, {"name", "hash", "scopes"});
      require_keys(t, {"name", "hash", "scopes"});
      AdminToken token;
      Located name = *get_string(t, "name");
      if (name.text.empty()) fail(name.line, "'admin.token.name' must not be empty");
      for (const AdminToken& other : admin.tokens) {
        if (other.name == name.text) {
          fail(name.line, "duplicate admin token name " + in_quotes(name.text));
        }
      }
      token.name = name.text;
      Located hash = *get_string(t, "hash");
      constexpr std::string_view prefix = "sha256:";
      const bool hex = hash.text.size() == prefix.size() + 64 &&
                       hash.text.compare(0, prefix.size(), prefix) == 0 &&
                       std::all_of(hash.text.begin() + prefix.size(), hash.text.end(), [](char c) {
                         return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                       });
      if (!hex) {
        fail(hash.line, "'admin.token.hash' must be \"sha256:\" and 64 lower-case hex digits "
                        "(what `stavka token create` prints), got " + in_quotes(hash.text));
      }
      token.hash = hash.text;
      for (const Located& scope : get_list(t, "scopes")) {
        if (scope.text != "read" && scope.text != "purge" && scope.text != "admin") {
          fail(scope.line, "'admin.token.scopes' entries are \"read\", \"purge\" or \"admin\", "
                           "got " + in_quotes(scope.text));
        }
        token.scopes.push_back(scope.text);
      }
      admin.tokens.push_back(std::move(token));
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

  void load_cache(const Section& s, CacheConfig& cache) const {
    check_keys(s, {"dir", "memory", "max_size", "block_size", "readahead", "zero_copy",
                   "fill_continue_max", "heuristic_fraction", "heuristic_max",
                   "uncacheable_ttl"});
    if (auto v = get_string(s, "dir")) {
      if (v->text.empty()) fail(v->line, "'cache.dir' must not be empty (leave it out instead)");
      cache.dir = v->text;
    }
    set_size(s, "memory", 0, cache.memory);
    set_size(s, "max_size", 1 << 20, cache.max_size);
    set_block_size(s, cache.block_size);
    set_size(s, "readahead", 0, cache.readahead);
    set_bool(s, "zero_copy", cache.zero_copy);
    set_size(s, "fill_continue_max", 0, cache.fill_continue_max);
    set_fraction(s, "heuristic_fraction", true, cache.heuristic_fraction);
    set_duration(s, "heuristic_max", true, cache.heuristic_max);
    set_duration(s, "uncacheable_ttl", true, cache.uncacheable_ttl);
  }

  // A number in [0, 1], or (0, 1] without allow_zero.
  void set_fraction(const Section& s, std::string_view key, bool allow_zero, double& field) const {
    const toml::node* node = find(s, key);
    if (!node) return;
    std::optional<double> v = node->value<double>();
    if (!v || node->is_boolean()) wrong_type(s, key, *node, "a number");
    if (!(*v >= 0.0 && *v <= 1.0) || (!allow_zero && *v == 0.0)) {
      fail(line_of(*node), name(s, key) + (allow_zero ? " must be between 0 and 1"
                                                      : " must be more than 0 and at most 1"));
    }
    field = *v;
  }

  void set_size(const Section& s, std::string_view key, uint64_t min, uint64_t& field) const {
    const toml::node* node = find(s, key);
    if (!node) return;
    uint64_t out = 0;
    if (const auto* number = node->as_integer()) {
      if (number->get() < 0) fail(line_of(*node), name(s, key) + " must not be negative");
      out = static_cast<uint64_t>(number->get());
    } else if (const auto* text = node->as_string()) {
      if (Problem problem = try_parse_size(text->get(), out)) {
        fail(line_of(*node),
             "bad size " + in_quotes(text->get()) + " for " + name(s, key) + ": " + *problem);
      }
    } else {
      wrong_type(s, key, *node, "a size such as \"256MiB\" or a number of bytes");
    }
    if (out < min) {
      fail(line_of(*node), name(s, key) + " must be at least " + std::to_string(min) + " bytes");
    }
    field = out;
  }

  // block_size: from 4 KiB to 64 MiB.
  void set_block_size(const Section& s, uint32_t& field) const {
    uint64_t block = field;
    set_size(s, "block_size", 4096, block);
    if (block > (64u << 20)) {
      fail(line_of(*find(s, "block_size")), name(s, "block_size") + " must be at most 64MiB");
    }
    field = static_cast<uint32_t>(block);
  }

  void set_bool(const Section& s, std::string_view key, bool& field) const {
    const toml::node* node = find(s, key);
    if (!node) return;
    const auto* value = node->as_boolean();
    if (!value) wrong_type(s, key, *node, "true or false");
    field = value->get();
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
                   "origin_keepalive", "origin_retries", "cache", "cache_ignore_query",
                   "cache_key_headers", "block_size", "readahead", "fill_whole_objects",
                   "modules"});
    require_keys(s, {"name", "hosts", "origins"});
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
    set_bool(s, "cache", site.cache);
    set_bool(s, "cache_ignore_query", site.cache_ignore_query);
    if (find(s, "cache_key_headers")) {
      for (const Located& item : get_list(s, "cache_key_headers")) {
        if (!is_token(item.text)) {
          fail(item.line, "'site.cache_key_headers' needs header names, got " + in_quotes(item.text));
        }
        std::string field = lowercase(item.text);
        if (std::find(site.cache_key_headers.begin(), site.cache_key_headers.end(), field) !=
            site.cache_key_headers.end()) {
          fail(item.line, "header " + in_quotes(item.text) + " is listed twice in 'site.cache_key_headers'");
        }
        site.cache_key_headers.push_back(std::move(field));
      }
    }
    if (find(s, "block_size")) {
      uint32_t block = 0;
      set_block_size(s, block);
      site.block_size = block;
    }
    if (find(s, "readahead")) {
      uint64_t readahead = 0;
      set_size(s, "readahead", 0, readahead);
      site.readahead = readahead;
    }
    set_bool(s, "fill_whole_objects", site.fill_whole_objects);
    if (find(s, "modules")) {
      for (const Located& item : get_list(s, "modules")) {
        if (std::find(site.modules.begin(), site.modules.end(), item.text) != site.modules.end()) {
          fail(item.line, "module " + in_quotes(item.text) + " is listed twice in site " +
                              in_quotes(site.name));
        }
        site.modules.push_back(item.text);
        module_lines_.push_back({site.name, item});
      }
    }
    return site;
  }

  void load_modules(const toml::node& node, Config& c) {
    const auto* array = node.as_array();
    if (!array || (!array->empty() && !array->is_array_of_tables())) {
      fail(line_of(node), "'module' must be an array of tables, written as [[module]] sections");
    }
    for (const toml::node& element : *array) c.modules.push_back(load_module(*element.as_table()));
  }

  ModuleConfig load_module(const toml::table& table) {
    Section s{table, "[[module]]", "module."};
    check_keys(s, {"name", "file", "root_id", "vm_configuration", "configuration", "isolation",
                   "on_error", "cpu_limit", "memory_limit", "max_faults", "fault_window",
                   "fault_cpu_share", "allow_wasi", "wasi_dirs", "environment", "upstreams", "request_body",
                   "response_body", "body_buffer_limit"});
    require_keys(s, {"name", "file"});
    ModuleConfig m;
    Located name = *get_string(s, "name");
    if (name.text.empty() || !std::all_of(name.text.begin(), name.text.end(), [](char c) {
          return is_alnum(c) || c == '-' || c == '_';
        })) {
      fail(name.line,
           "'module.name' must be letters, digits, '-' or '_', got " + in_quotes(name.text));
    }
    m.name = name.text;
    auto [first, unique] = line_of_module_.emplace(m.name, name.line);
    if (!unique) {
      fail(name.line, "duplicate module name " + in_quotes(m.name) +
                          " (first defined at line " + std::to_string(first->second) + ")");
    }
    Located file = *get_string(s, "file");
    if (file.text.empty()) fail(file.line, "'module.file' must not be empty");
    m.file = resolve_path(file.text);
    if (auto v = get_string(s, "root_id")) m.root_id = v->text;
    if (auto v = get_string(s, "vm_configuration")) m.vm_configuration = v->text;
    if (auto v = get_string(s, "configuration")) m.configuration = v->text;
    if (auto v = get_string(s, "isolation")) {
      if (v->text == "worker") m.isolation = ModuleIsolation::worker;
      else if (v->text == "request") m.isolation = ModuleIsolation::request;
      else fail(v->line, "'module.isolation' must be \"worker\" or \"request\", got " + in_quotes(v->text));
    }
    if (auto v = get_string(s, "on_error")) {
      if (v->text == "fail-open") m.on_error = ModuleOnError::fail_open;
      else if (v->text == "fail-closed") m.on_error = ModuleOnError::fail_closed;
      else fail(v->line, "'module.on_error' must be \"fail-open\" or \"fail-closed\", got " + in_quotes(v->text));
    }
    set_duration(s, "cpu_limit", false, m.cpu_limit);
    if (m.cpu_limit > Millis(60000)) fail(line_of(*find(s, "cpu_limit")), "'module.cpu_limit' must be at most 60s");
    set_size(s, "memory_limit", 1 << 16, m.memory_limit);
    if (m.memory_limit > (uint64_t{4} << 30)) {
      fail(line_of(*find(s, "memory_limit")), "'module.memory_limit' must be at most 4GiB");
    }
    set_uint(s, "max_faults", 1, 1000000, m.max_faults);
    set_duration(s, "fault_window", false, m.fault_window);
    set_fraction(s, "fault_cpu_share", false, m.fault_cpu_share);
    set_bool(s, "allow_wasi", m.allow_wasi);
    set_bool(s, "request_body", m.request_body);
    set_bool(s, "response_body", m.response_body);
    set_size(s, "body_buffer_limit", 1, m.body_buffer_limit);
    if (m.body_buffer_limit > (uint64_t{1} << 30)) {
      fail(line_of(*find(s, "body_buffer_limit")), "'module.body_buffer_limit' must be at most 1GiB");
    }
    if (find(s, "wasi_dirs")) {
      for (const Located& item : get_list(s, "wasi_dirs")) {
        std::error_code ec;
        std::string dir = resolve_path(item.text);
        if (!std::filesystem::is_directory(dir, ec)) {
          fail(item.line, "'module.wasi_dirs' entry " + in_quotes(item.text) + " is not a folder");
        }
        m.wasi_dirs.push_back(std::move(dir));
      }
      if (!m.allow_wasi) {
        fail(line_of(*find(s, "wasi_dirs")), "'module.wasi_dirs' needs allow_wasi = true");
      }
    }
    if (const toml::table* env = get_table(s, "environment")) {
      for (const auto& [key, value] : *env) {
        const auto* text = value.as_string();
        if (!text) fail(line_of(value), "'module.environment." + printable(key.str()) + "' must be a string");
        if (key.str().find('=') != std::string_view::npos) {
          fail(line_of(value), "'module.environment' names must not contain '='");
        }
        m.environment.emplace_back(std::string(key.str()), text->get());
      }
    }
    if (const toml::table* ups = get_table(s, "upstreams")) {
      for (const auto& [key, value] : *ups) {
        const auto* text = value.as_string();
        if (!text) fail(line_of(value), "'module.upstreams." + printable(key.str()) + "' must be an origin URL string");
        OriginUrl origin;
        if (Problem problem = try_parse_origin(text->get(), origin)) {
          fail(line_of(value), "bad upstream " + in_quotes(text->get()) + " for 'module.upstreams." +
                                   printable(key.str()) + "': " + *problem);
        }
        m.upstreams.emplace_back(std::string(key.str()), std::move(origin));
      }
    }
    return m;
  }

  // Every module a site names must be defined.
  void check_site_modules(const Config& c) const {
    for (const auto& [site, item] : module_lines_) {
      if (!find_module(c, item.text)) {
        fail(item.line, "site " + in_quotes(site) + " names module " + in_quotes(item.text) +
                            ", which no [[module]] defines");
      }
    }
  }

  // A path relative to the config file's folder (the working directory for embedded text).
  std::string resolve_path(const std::string& path) const {
    std::filesystem::path p(path);
    if (p.is_absolute() || base_dir_.empty()) return path;
    return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
  }

  std::string source_;
  std::map<std::string, std::string> site_of_host_;  // host pattern -> the site claiming it
  std::map<std::string, int> line_of_site_;          // site name -> line of its name
  std::map<std::string, int> line_of_module_;        // module name -> line of its name
  std::vector<std::pair<std::string, Located>> module_lines_;  // (site, module it names)
  std::string base_dir_;
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
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  return Loader(path, base_dir.empty() ? "." : base_dir).load(text);
}

Config load_string(std::string_view toml, std::string_view source_name) {
  return Loader(source_name).load(toml);
}

const ModuleConfig* find_module(const Config& c, std::string_view name) {
  for (const ModuleConfig& m : c.modules) {
    if (m.name == name) return &m;
  }
  return nullptr;
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
