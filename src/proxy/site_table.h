// SiteTable: which site serves a request, by host name.
//
// Built from a Config by each worker (on start and on every reload) and owned by that worker,
// because each site's OriginPool keeps per-worker state (round-robin position, which origins
// are resting after a failure). Lookups: exact names first, then the longest matching
// "*.suffix" wildcard, then the "*" catch-all; names are compared in lower case, without port.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "proxy/origin_pool.h"
#include "storage/key_hash.h"

namespace stavka::proxy {

struct Site {
  const config::SiteConfig* config;  // points into the Config the table was built from
  OriginPool origins;
};

class SiteTable {
 public:
  explicit SiteTable(std::shared_ptr<const config::Config> config);

  // host: a Host header value or a URI authority ("Example.COM:8080" works). nullptr: no site.
  Site* route(std::string_view host);
  // The same for a host normalize_host() already produced (empty: only the catch-all site).
  Site* route_normalized(std::string_view host);
  // Where a module's proxy_http_call goes: one site per [module.upstreams] entry, with the
  // config's origin timeouts and a keep-alive pool of its own. nullptr: the module names no
  // such upstream.
  Site* upstream(std::string_view module, std::string_view name);
  const config::Config& config() const { return *config_; }
  std::shared_ptr<const config::Config> config_ptr() const { return config_; }
  // The Cache-Status member of a response forwarded past the cache ("stavka; fwd=bypass"),
  // formatted once per configuration (it names the cache by the config's via_name).
  const std::string& bypass_status() const { return bypass_status_; }

 private:
  std::shared_ptr<const config::Config> config_;
  std::vector<std::unique_ptr<Site>> sites_;
  std::unordered_map<std::string, Site*, storage::KeyHash, std::equal_to<>> exact_;
  std::vector<std::pair<std::string, Site*>> wildcards_;  // ".example.com", longest first
  Site* any_ = nullptr;
  // Module upstreams: their site configs (owned here) and sites, by "module\0upstream".
  std::vector<std::unique_ptr<config::SiteConfig>> upstream_configs_;
  std::unordered_map<std::string, std::unique_ptr<Site>> upstreams_;
  std::string bypass_status_;
};

// "Example.COM:8080" → "example.com"; "[::1]:80" → "[::1]". Empty if malformed.
std::string normalize_host(std::string_view host);

}  // namespace stavka::proxy
