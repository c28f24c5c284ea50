// libFuzzer target for the configuration loader and the value parsers shared with flags.
//
// Any input must either load or throw ConfigError: another exception escaping, a crash, a
// sanitizer report or a broken invariant of a loaded Config (checked below, aborting) is a
// bug. Seeds live in tests/fuzz/corpus/config/. Single-threaded; keeps no state between runs.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.h"

namespace {

using namespace stavka::config;

void require(bool ok) {
  if (!ok) std::abort();
}

// What load_string promises about a Config it returns.
void check_invariants(const Config& c) {
  require(!c.listen.empty());
  for (const ListenAddress& a : c.listen) require(a.port != 0 && !a.host.empty());
  require(c.workers <= 1024);
  require(c.limits.max_headers >= 1 && c.limits.max_headers <= 10000);
  require(c.limits.max_header_bytes >= 1024 && c.limits.max_header_bytes <= 1048576);
  require(!c.via_name.empty() && !c.log.access.empty());
  for (const SiteConfig& site : c.sites) {
    require(!site.name.empty() && !site.hosts.empty() && !site.origins.empty());
    for (const OriginUrl& o : site.origins) require(o.scheme == "http" && o.port != 0);
    for (const std::string& host : site.hosts) require(!host.empty());
  }
}

template <typename Parse>
void try_parse(Parse parse, std::string_view text) {
  try {
    parse(text);
  } catch (const ConfigError& error) {
    require(error.line() == 0 && error.file().empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    check_invariants(load_string(text, "fuzz.toml"));
  } catch (const ConfigError& error) {
    require(error.file() == "fuzz.toml" && error.line() >= 0);
    require(std::string_view(error.what()).starts_with("fuzz.toml"));
  }
  try_parse([](std::string_view t) { return parse_listen_address(t); }, text);
  try_parse([](std::string_view t) { return parse_origin_url(t); }, text);
  try_parse([](std::string_view t) { return parse_duration(t); }, text);
  return 0;
}
