// SiteTable implementation; see site_table.h.
#include "proxy/site_table.h"

#include <algorithm>

#include "cache/cache_status.h"

namespace stavka::proxy {

std::string normalize_host(std::string_view host) {
  std::string out;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return {};
    out.assign(host.substr(0, close + 1));
    host.remove_prefix(close + 1);
    if (!host.empty() && host.front() != ':') return {};
  } else {
    size_t colon = host.find(':');
    out.assign(host.substr(0, colon));
    if (colon != std::string_view::npos) host.remove_prefix(colon);
    else host = {};
  }
  if (!host.empty()) {  // ":port"
    if (host.size() == 1 || host.size() > 6) return {};
    for (char c : host.substr(1)) {
      if (c < '0' || c > '9') return {};
    }
  }
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || c == '[' || c == ']' || c == ':';
    if (!ok) return {};
  }
  if (!out.empty() && out.back() == '.') out.pop_back();  // "example.com." is example.com
  return out;
}

SiteTable::SiteTable(std::shared_ptr<const config::Config> config) : config_(std::move(config)) {
  cache::CacheStatus bypass;
  bypass.fwd = cache::Fwd::bypass;
  bypass_status_ = cache::format_cache_status(config_->via_name, bypass);
  for (const auto& sc : config_->sites) {
    auto site = std::make_unique<Site>(Site{&sc, OriginPool(sc)});
    for (const auto& h : sc.hosts) {
      if (h == "*") {
        any_ = site.get();
      } else if (h.starts_with("*.")) {
        wildcards_.emplace_back(h.substr(1), site.get());
      } else {
        exact_.emplace(normalize_host(h), site.get());
      }
    }
    sites_.push_back(std::move(site));
  }
  std::stable_sort(wildcards_.begin(), wildcards_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const config::ModuleConfig& m : config_->modules) {
    for (const auto& [name, url] : m.upstreams) {
      auto& sc = *upstream_configs_.emplace_back(std::make_unique<config::SiteConfig>());
      sc.name = "module " + m.name + " upstream " + name;
      sc.origins = {url};
      sc.origin_keepalive = 8;
      sc.cache = false;
      upstreams_.emplace(m.name + '\0' + name, std::make_unique<Site>(Site{&sc, OriginPool(sc)}));
    }
  }
}

Site* SiteTable::upstream(std::string_view module, std::string_view name) {
  std::string key;
  key.reserve(module.size() + name.size() + 1);
  key.append(module).push_back('\0');
  key.append(name);
  auto it = upstreams_.find(key);
  return it == upstreams_.end() ? nullptr : it->second.get();
}

Site* SiteTable::route(std::string_view host_header) {
  return route_normalized(normalize_host(host_header));
}

Site* SiteTable::route_normalized(std::string_view host) {
  if (!host.empty()) {
    if (auto it = exact_.find(host); it != exact_.end()) return it->second;
    for (const auto& [suffix, site] : wildcards_) {
      if (host.size() > suffix.size() && host.ends_with(suffix)) return site;
    }
  }
  return any_;
}

}  // namespace stavka::proxy
