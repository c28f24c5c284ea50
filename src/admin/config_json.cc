// GET /api/v1/config: see config_json.h.
#include "admin/config_json.h"

#include <charconv>
#include <cstdio>

#include "admin/json.h"

namespace stavka::admin {

namespace {

constexpr std::string_view redacted = "<redacted>";

// A JSON object written member by member.
class Object {
 public:
  explicit Object(std::string& out) : out_(out) { out_ += '{'; }
  ~Object() { out_ += '}'; }
  Object(const Object&) = delete;

  std::string& key(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    append_json_string(out_, name);
    out_ += ':';
    return out_;
  }
  void string(std::string_view name, std::string_view value) {
    append_json_string(key(name), value);
  }
  void number(std::string_view name, uint64_t value) { key(name) += std::to_string(value); }
  void real(std::string_view name, double value) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    key(name).append(buf, ec == std::errc() ? end : buf);
  }
  void boolean(std::string_view name, bool value) { key(name) += value ? "true" : "false"; }
  void duration(std::string_view name, config::Millis d) {
    const int64_t ms = d.count();
    string(name, ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms");
  }
  template <typename List, typename Text>
  void strings(std::string_view name, const List& items, Text&& text) {
    std::string& out = key(name);
    out += '[';
    bool first = true;
    for (const auto& item : items) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, text(item));
    }
    out += ']';
  }
  void strings(std::string_view name, const std::vector<std::string>& items) {
    strings(name, items, [](const std::string& s) -> std::string_view { return s; });
  }

 private:
  std::string& out_;
  bool first_ = true;
};

// An array of objects, each written by write(Object&, item).
template <typename List, typename Write>
void objects(Object& parent, std::string_view name, const List& items, Write&& write) {
  std::string& out = parent.key(name);
  out += '[';
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ',';
    first = false;
    Object o(out);
    write(o, item);
  }
  out += ']';
}

void site(Object& o, const config::SiteConfig& s) {
  o.string("name", s.name);
  o.strings("hosts", s.hosts);
  o.strings("origins", s.origins, [](const config::OriginUrl& u) -> std::string_view { return u.text; });
  o.string("origin_host", s.origin_host);
  o.duration("origin_down_time", s.origin_down_time);
  o.number("origin_keepalive", s.origin_keepalive);
  o.number("origin_retries", s.origin_retries);
  o.boolean("cache", s.cache);
  o.boolean("cache_ignore_query", s.cache_ignore_query);
  o.strings("cache_key_headers", s.cache_key_headers);
  if (s.block_size) o.number("block_size", *s.block_size);
  if (s.readahead) o.number("readahead", *s.readahead);
  o.boolean("fill_whole_objects", s.fill_whole_objects);
  o.strings("modules", s.modules);
}

void module(Object& o, const config::ModuleConfig& m) {
  o.string("name", m.name);
  o.string("file", m.file);
  o.string("root_id", m.root_id);
  o.string("vm_configuration", m.vm_configuration.empty() ? "" : redacted);
  o.string("configuration", m.configuration.empty() ? "" : redacted);
  o.string("isolation", m.isolation == config::ModuleIsolation::request ? "request" : "worker");
  o.string("on_error", m.on_error == config::ModuleOnError::fail_open ? "fail-open" : "fail-closed");
  o.duration("cpu_limit", m.cpu_limit);
  o.number("memory_limit", m.memory_limit);
  o.number("max_faults", m.max_faults);
  o.duration("fault_window", m.fault_window);
  o.real("fault_cpu_share", m.fault_cpu_share);
  o.boolean("allow_wasi", m.allow_wasi);
  o.strings("wasi_dirs", m.wasi_dirs);
  {
    Object env(o.key("environment"));
    for (const auto& [name, value] : m.environment) env.string(name, redacted);
  }
  {
    Object up(o.key("upstreams"));
    for (const auto& [name, url] : m.upstreams) up.string(name, url.text);
  }
  o.boolean("request_body", m.request_body);
  o.boolean("response_body", m.response_body);
  o.number("body_buffer_limit", m.body_buffer_limit);
}

}  // namespace

std::string config_json(const config::Config& cfg, unsigned workers) {
  std::string out;
  {
    Object o(out);
    o.string("source", cfg.source);
    o.number("workers", workers);
    o.strings("listen", cfg.listen, [](const config::ListenAddress& l) -> std::string_view { return l.text; });
    if (cfg.admin_listen) o.string("admin_listen", cfg.admin_listen->text);
    o.string("via_name", cfg.via_name);
    {
      Object a(o.key("admin"));
      a.strings("public", cfg.admin.public_paths);
      a.strings("purge_from", cfg.admin.purge_from,
                [](const config::AddressRange& r) -> std::string_view { return r.text; });
      objects(a, "token", cfg.admin.tokens, [](Object& t, const config::AdminToken& token) {
        t.string("name", token.name);
        t.string("hash", redacted);
        t.strings("scopes", token.scopes);
      });
    }
    {
      Object t(o.key("timeouts"));
      const config::Timeouts& x = cfg.timeouts;
      t.duration("client_header", x.client_header);
      t.duration("client_idle", x.client_idle);
      t.duration("client_body", x.client_body);
      t.duration("client_send", x.client_send);
      t.duration("origin_connect", x.origin_connect);
      t.duration("origin_first_byte", x.origin_first_byte);
      t.duration("origin_read", x.origin_read);
      t.duration("origin_idle", x.origin_idle);
      t.duration("shutdown_grace", x.shutdown_grace);
    }
    {
      Object l(o.key("limits"));
      l.number("max_header_bytes", cfg.limits.max_header_bytes);
      l.number("max_headers", cfg.limits.max_headers);
      l.number("max_connections", cfg.limits.max_connections);
    }
    {
      Object l(o.key("log"));
      l.string("access", cfg.log.access);
      l.string("format", cfg.log.format == config::LogFormat::json ? "json" : "text");
      l.string("level", cfg.log.level);
    }
    {
      Object c(o.key("cache"));
      const config::CacheConfig& x = cfg.cache;
      c.string("dir", x.dir);
      c.number("memory", x.memory);
      c.number("max_size", x.max_size);
      c.number("block_size", x.block_size);
      c.number("readahead", x.readahead);
      c.boolean("zero_copy", x.zero_copy);
      c.number("fill_continue_max", x.fill_continue_max);
      c.real("heuristic_fraction", x.heuristic_fraction);
      c.duration("heuristic_max", x.heuristic_max);
      c.duration("uncacheable_ttl", x.uncacheable_ttl);
    }
    objects(o, "site", cfg.sites, site);
    objects(o, "module", cfg.modules, module);
  }
  out += '\n';
  return out;
}

}  // namespace stavka::admin
