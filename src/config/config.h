// Stavka's configuration: the values every other layer reads, loaded from TOML.
//
// A Config is built once (at start or on SIGHUP) on the main thread, validated completely, and
// then shared read-only by every worker through a std::shared_ptr<const Config>; a reload builds
// a new one and swaps the pointer, so nothing here is ever mutated after loading.
// Errors are thrown as ConfigError carrying "file:line: message" (exceptions are used at
// start-up and reload only, never on the data path).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stavka::config {

using Millis = std::chrono::milliseconds;

// "host:port", "[v6addr]:port". host is a numeric IPv4/IPv6 address or "localhost"
// (resolved to 127.0.0.1); names needing DNS are rejected at load time.
struct ListenAddress {
  std::string host;  // numeric, brackets removed
  uint16_t port = 0;
  std::string text;  // as written, for messages
};

// An origin: "http://host:port" (https comes with TLS support; rejected for now with a clear
// message). host is a numeric address or "localhost"; port defaults to 80.
struct OriginUrl {
  std::string scheme;  // "http"
  std::string host;    // numeric address
  uint16_t port = 80;
  std::string text;    // as written
  bool operator==(const OriginUrl&) const = default;
};

struct SiteConfig {
  std::string name;
  // Exact host names ("example.com"), wildcards ("*.example.com": any subdomain, not the apex)
  // or "*" (any host: the default site). Compared case-insensitively, port ignored.
  std::vector<std::string> hosts;
  std::vector<OriginUrl> origins;
  // Host header sent to the origin; empty: the client's Host.
  std::string origin_host;
  // An origin that refused a connection or timed out is skipped for this long.
  Millis origin_down_time{std::chrono::seconds(10)};
  // Idle keep-alive connections kept per worker per origin address.
  uint32_t origin_keepalive = 64;
  // How many other origins a request is tried on when a connection could not be made
  // (nothing was sent, so any method). A pooled connection found closed before answering is
  // handled apart: idempotent requests without a body are resent once on a new connection.
  uint32_t origin_retries = 1;
  // Caching for this site. Off: every request goes to the origin (Cache-Status: fwd=bypass).
  bool cache = true;
  // Cache key: scheme + host + path + query, without the query when cache_ignore_query, plus
  // the values of these request fields (lower-cased names).
  bool cache_ignore_query = false;
  std::vector<std::string> cache_key_headers;
  // Per-site cache.block_size and cache.readahead (unset: the [cache] values).
  std::optional<uint32_t> block_size;
  std::optional<uint64_t> readahead;
  // An origin that ignores Range and answers a range fill with a 200: fill the whole object
  // (true), or stop at the client's range plus read-ahead and close that connection (false).
  bool fill_whole_objects = false;
  // Modules run for this site's requests, by name ([[module]] sections), in this order for the
  // request phases and in reverse order for the response phases.
  std::vector<std::string> modules;
};

// A WebAssembly module on the Proxy-Wasm ABI ([[module]]; see docs/modules.md).
enum class ModuleIsolation : uint8_t {
  worker,   // one long-lived instance per worker; a context per request
  request,  // a fresh instance per request
};
enum class ModuleOnError : uint8_t {
  fail_open,    // a module fault lets the request go on without the module
  fail_closed,  // a module fault ends the request with 503 (or cuts it if the response began)
};

struct ModuleConfig {
  std::string name;
  std::string file;        // the .wasm, relative paths resolved against the config file's folder
  std::string root_id;     // plugin root id the SDK dispatches on; "" for the default root
  std::string vm_configuration;  // given to proxy_on_vm_start
  std::string configuration;     // plugin configuration, given to proxy_on_configure
  ModuleIsolation isolation = ModuleIsolation::worker;
  ModuleOnError on_error = ModuleOnError::fail_closed;
  Millis cpu_limit{10};                    // per call into the module (epoch interruption)
  uint64_t memory_limit = uint64_t{64} << 20;  // linear memory per instance
  // Faults (traps, overruns, broken calls) within fault_window that disable the module until
  // it is loaded again (reload or push).
  uint32_t max_faults = 10;
  Millis fault_window{std::chrono::seconds(60)};
  // The share of a worker's time this module's faulting calls may take (an overrun takes its
  // whole cpu_limit), with two cpu_limits of slack; past it the module is held back on that
  // worker: its new requests get on_error without running it until the share is kept again.
  // 1 never holds it back.
  double fault_cpu_share = 0.02;
  // WASI beyond the basics (log output, clocks, random): read-only access to these folders.
  bool allow_wasi = false;
  std::vector<std::string> wasi_dirs;
  std::vector<std::pair<std::string, std::string>> environment;  // WASI environ, name → value
  // Upstreams proxy_http_call may reach, by the name the module uses.
  std::vector<std::pair<std::string, OriginUrl>> upstreams;
  // Body callbacks (proxy_on_request_body / proxy_on_response_body), off unless asked: a body
  // the module may see is re-framed as chunks, and a cached one is copied rather than spliced.
  bool request_body = false;
  bool response_body = false;
  // Bytes of body a module may hold back (returning StopIterationAndBuffer) before it counts as
  // a fault.
  uint64_t body_buffer_limit = uint64_t{1} << 20;

  bool operator==(const ModuleConfig&) const = default;
};

struct Timeouts {
  Millis client_header{std::chrono::seconds(10)};  // whole request head
  Millis client_idle{std::chrono::seconds(60)};    // keep-alive wait between requests
  Millis client_body{std::chrono::seconds(60)};    // between request body reads
  Millis client_send{std::chrono::seconds(60)};    // a send to the client making no progress
  Millis origin_connect{std::chrono::seconds(5)};
  Millis origin_first_byte{std::chrono::seconds(30)};  // request sent → response head begins
  Millis origin_read{std::chrono::seconds(30)};        // between response body reads
  Millis origin_idle{std::chrono::seconds(30)};        // pooled keep-alive connection lifetime
  Millis shutdown_grace{std::chrono::seconds(30)};     // SIGTERM drain deadline
};

struct Limits {
  uint32_t max_header_bytes = 64 * 1024;
  uint32_t max_headers = 100;
  uint32_t max_connections = 16384;  // per worker; more are accepted and closed at once
};

enum class LogFormat : uint8_t { text, json };

struct LogConfig {
  std::string access = "stdout";  // "stdout", "stderr", "off", or a file path
  LogFormat format = LogFormat::text;
  std::string level = "info";      // error, warn, info, debug
};

struct CacheConfig {
  std::string dir;                          // disk tier directory; empty: memory tier only
  uint64_t memory = uint64_t{256} << 20;    // memory tier bytes, split evenly across workers
  uint64_t max_size = uint64_t{10} << 30;   // disk tier bytes (with dir)
  uint32_t block_size = 1u << 20;           // objects are stored in blocks of this size
  // A range fill fetches this many bytes past the end of the client's range (0: none).
  uint64_t readahead = uint64_t{4} << 20;
  // Blocks of 16 KiB and more in a memory file, so hits are spliced to clients, not copied.
  bool zero_copy = true;
  // A fill whose client left goes on while others read it, and for a cacheable object up to
  // this many bytes of body (a larger remainder is abandoned: the object is not stored).
  uint64_t fill_continue_max = uint64_t{64} << 20;
  // Heuristic freshness (RFC 9111 §4.2.2): this fraction of (Date - Last-Modified), at most
  // heuristic_max, for responses without explicit freshness.
  double heuristic_fraction = 0.1;
  Millis heuristic_max{std::chrono::hours(24)};
  // After a response for a key turned out uncacheable, requests for it go straight to the
  // origin (no collapsing behind a fill) for this long.
  Millis uncacheable_ttl{std::chrono::minutes(2)};
};

// An admin API token as the configuration holds it: its hash, never the token itself.
struct AdminToken {
  std::string name;
  std::string hash;                 // "sha256:" + 64 lower-case hex digits
  std::vector<std::string> scopes;  // "read", "purge", "admin"
};

// Client addresses: "ADDRESS" or "ADDRESS/PREFIX", IPv4 or IPv6.
struct AddressRange {
  std::string text;
  bool v6 = false;
  uint8_t bytes[16] = {};
  int prefix = 0;  // leading bits that must match
  // Whether `ip` (numeric text, as a client connection's peer address) is in the range. An
  // IPv4 address written as IPv6 (::ffff:a.b.c.d) counts as IPv4.
  bool contains(std::string_view ip) const;
};

struct AdminConfig {
  // Admin paths anyone who reaches the listener may GET, without a token.
  std::vector<std::string> public_paths{"/healthz", "/metrics"};
  std::vector<AdminToken> tokens;
  // Clients that may send the PURGE method to the proxy listener; none by default.
  std::vector<AddressRange> purge_from;
};

struct Config {
  uint32_t workers = 0;  // 0: one per online CPU
  std::vector<ListenAddress> listen;          // default: 127.0.0.1:8080
  std::optional<ListenAddress> admin_listen;  // unset: no admin listener
  AdminConfig admin;
  std::string via_name = "stavka";            // pseudonym in Via ("1.1 stavka")
  Timeouts timeouts;
  Limits limits;
  LogConfig log;
  CacheConfig cache;
  std::vector<SiteConfig> sites;
  std::vector<ModuleConfig> modules;

  std::string source;  // file path it was loaded from, or "<embedded>"
};

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, int line, const std::string& message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }  // 0 when not tied to a line
 private:
  std::string file_;
  int line_;
};

// Loads and validates a TOML file. Throws ConfigError.
Config load_file(const std::string& path);
// Same, from text; source_name is used in messages.
Config load_string(std::string_view toml, std::string_view source_name);

// The embedded default: listen on 127.0.0.1:8080, one site for any host in front of the
// bundled demo origin on 127.0.0.1:8081.
std::string_view embedded_default_toml();

// Parsers shared with command-line flags. Throw ConfigError(file "", line 0) on bad input.
ListenAddress parse_listen_address(std::string_view text);
OriginUrl parse_origin_url(std::string_view text);
Millis parse_duration(std::string_view text);  // "250ms", "10s", "5m", "1h"

// The block size and read-ahead in force for a site.
inline uint32_t block_size_for(const Config& c, const SiteConfig& site) {
  return site.block_size.value_or(c.cache.block_size);
}
inline uint64_t readahead_for(const Config& c, const SiteConfig& site) {
  return site.readahead.value_or(c.cache.readahead);
}

// The module named `name`, or nullptr.
const ModuleConfig* find_module(const Config& c, std::string_view name);

// A Config with sites that fits `stavka run --origin URL` (one site, hosts ["*"]).
SiteConfig site_for_origin(const OriginUrl& origin);

}  // namespace stavka::config
