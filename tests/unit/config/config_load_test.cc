// Loading valid configurations: the defaults, every key, the embedded default, the examples in
// docs/config.md, and load_file.
//
// The docs tests read docs/config.md next to this source tree (found from __FILE__), so the
// documented examples cannot drift from what the loader accepts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.h"

namespace stavka::config {
namespace {

using namespace std::chrono_literals;

TEST(ConfigLoad, EmptyFileGivesDefaults) {
  Config c = load_string("", "empty.toml");
  EXPECT_EQ(c.source, "empty.toml");
  EXPECT_EQ(c.workers, 0u);
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].host, "127.0.0.1");
  EXPECT_EQ(c.listen[0].port, 8080);
  EXPECT_EQ(c.listen[0].text, "127.0.0.1:8080");
  EXPECT_FALSE(c.admin_listen.has_value());
  EXPECT_EQ(c.via_name, "stavka");
  EXPECT_EQ(c.timeouts.client_header, 10s);
  EXPECT_EQ(c.timeouts.client_idle, 60s);
  EXPECT_EQ(c.timeouts.client_body, 60s);
  EXPECT_EQ(c.timeouts.client_send, 60s);
  EXPECT_EQ(c.timeouts.origin_connect, 5s);
  EXPECT_EQ(c.timeouts.origin_first_byte, 30s);
  EXPECT_EQ(c.timeouts.origin_read, 30s);
  EXPECT_EQ(c.timeouts.origin_idle, 30s);
  EXPECT_EQ(c.timeouts.shutdown_grace, 30s);
  EXPECT_EQ(c.limits.max_header_bytes, 65536u);
  EXPECT_EQ(c.limits.max_headers, 100u);
  EXPECT_EQ(c.limits.max_connections, 16384u);
  EXPECT_EQ(c.log.access, "stdout");
  EXPECT_EQ(c.log.format, LogFormat::text);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.cache.dir, "");
  EXPECT_TRUE(c.sites.empty());  // valid: the caller reports a config with nothing to proxy
}

TEST(ConfigLoad, EmptySectionsAndEmptySiteArrayGiveDefaults) {
  Config c = load_string("site = []\n[timeouts]\n[limits]\n[log]\n[cache]\n", "t.toml");
  EXPECT_TRUE(c.sites.empty());
  EXPECT_EQ(c.timeouts.client_idle, 60s);
  EXPECT_EQ(c.limits.max_headers, 100u);
}

TEST(ConfigLoad, EveryKey) {
  Config c = load_string(R"(
workers = 8
listen = ["0.0.0.0:80", "[::]:80", "localhost:8080"]
admin_listen = "[::1]:9090"
via_name = "edge-1"

[timeouts]
client_header = "1s"
client_idle = "2s"
client_body = "3s"
client_send = "4s"
origin_connect = "250ms"
origin_first_byte = "5m"
origin_read = "1h"
origin_idle = "7s"
shutdown_grace = "0s"

[limits]
max_header_bytes = 1024
max_headers = 10000
max_connections = 1

[log]
access = "/var/log/stavka.log"
format = "json"
level = "debug"

[cache]
dir = "/var/cache/stavka"

[[site]]
name = "example"
hosts = ["Example.COM", "*.example.com", "[::1]"]
origins = ["http://127.0.0.1:8081", "HTTP://[::1]:9000/", "http://localhost"]
origin_host = "backend.internal:8080"
origin_down_time = "0s"
origin_keepalive = 0
origin_retries = 16

[[site]]
name = "any"
hosts = "*"
origins = "http://10.0.0.1:81"
)",
                         "t.toml");
  EXPECT_EQ(c.workers, 8u);
  ASSERT_EQ(c.listen.size(), 3u);
  EXPECT_EQ(c.listen[0].host, "0.0.0.0");
  EXPECT_EQ(c.listen[0].port, 80);
  EXPECT_EQ(c.listen[1].host, "::");
  EXPECT_EQ(c.listen[1].text, "[::]:80");
  EXPECT_EQ(c.listen[2].host, "127.0.0.1");
  EXPECT_EQ(c.listen[2].port, 8080);
  EXPECT_EQ(c.listen[2].text, "localhost:8080");
  ASSERT_TRUE(c.admin_listen.has_value());
  EXPECT_EQ(c.admin_listen->host, "::1");
  EXPECT_EQ(c.admin_listen->port, 9090);
  EXPECT_EQ(c.via_name, "edge-1");

  EXPECT_EQ(c.timeouts.client_header, 1s);
  EXPECT_EQ(c.timeouts.client_idle, 2s);
  EXPECT_EQ(c.timeouts.client_body, 3s);
  EXPECT_EQ(c.timeouts.client_send, 4s);
  EXPECT_EQ(c.timeouts.origin_connect, 250ms);
  EXPECT_EQ(c.timeouts.origin_first_byte, 5min);
  EXPECT_EQ(c.timeouts.origin_read, 1h);
  EXPECT_EQ(c.timeouts.origin_idle, 7s);
  EXPECT_EQ(c.timeouts.shutdown_grace, 0s);

  EXPECT_EQ(c.limits.max_header_bytes, 1024u);
  EXPECT_EQ(c.limits.max_headers, 10000u);
  EXPECT_EQ(c.limits.max_connections, 1u);

  EXPECT_EQ(c.log.access, "/var/log/stavka.log");
  EXPECT_EQ(c.log.format, LogFormat::json);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.cache.dir, "/var/cache/stavka");

  ASSERT_EQ(c.sites.size(), 2u);
  const SiteConfig& site = c.sites[0];
  EXPECT_EQ(site.name, "example");
  EXPECT_EQ(site.hosts, (std::vector<std::string>{"example.com", "*.example.com", "[::1]"}));
  ASSERT_EQ(site.origins.size(), 3u);
  EXPECT_EQ(site.origins[0].scheme, "http");
  EXPECT_EQ(site.origins[0].host, "127.0.0.1");
  EXPECT_EQ(site.origins[0].port, 8081);
  EXPECT_EQ(site.origins[0].text, "http://127.0.0.1:8081");
  EXPECT_EQ(site.origins[1].scheme, "http");
  EXPECT_EQ(site.origins[1].host, "::1");
  EXPECT_EQ(site.origins[1].port, 9000);
  EXPECT_EQ(site.origins[1].text, "HTTP://[::1]:9000/");
  EXPECT_EQ(site.origins[2].host, "127.0.0.1");
  EXPECT_EQ(site.origins[2].port, 80);
  EXPECT_EQ(site.origin_host, "backend.internal:8080");
  EXPECT_EQ(site.origin_down_time, 0s);
  EXPECT_EQ(site.origin_keepalive, 0u);
  EXPECT_EQ(site.origin_retries, 16u);

  const SiteConfig& any = c.sites[1];
  EXPECT_EQ(any.name, "any");
  EXPECT_EQ(any.hosts, std::vector<std::string>{"*"});
  ASSERT_EQ(any.origins.size(), 1u);
  EXPECT_EQ(any.origins[0].host, "10.0.0.1");
  EXPECT_EQ(any.origins[0].port, 81);
  EXPECT_EQ(any.origin_host, "");
  EXPECT_EQ(any.origin_down_time, 10s);
  EXPECT_EQ(any.origin_keepalive, 64u);
  EXPECT_EQ(any.origin_retries, 1u);
}

TEST(ConfigLoad, RangeEdgesAreAccepted) {
  Config low = load_string("workers = 0\n[limits]\nmax_headers = 1\nmax_header_bytes = 1024\n"
                           "max_connections = 1\n",
                           "t.toml");
  EXPECT_EQ(low.limits.max_headers, 1u);
  Config high = load_string("workers = 1024\n[limits]\nmax_headers = 10000\n"
                            "max_header_bytes = 1048576\nmax_connections = 1048576\n",
                            "t.toml");
  EXPECT_EQ(high.workers, 1024u);
  EXPECT_EQ(high.limits.max_header_bytes, 1048576u);
  EXPECT_EQ(high.limits.max_connections, 1048576u);
  Config ports = load_string("listen = [\"127.0.0.1:1\", \"127.0.0.1:65535\"]\n"
                             "[timeouts]\nclient_idle = \"24h\"\n",
                             "t.toml");
  EXPECT_EQ(ports.listen[1].port, 65535);
  EXPECT_EQ(ports.timeouts.client_idle, 24h);
}

TEST(ConfigLoad, DottedKeysAndInlineTables) {
  Config c = load_string("timeouts.client_idle = \"5s\"\nlog = { level = \"warn\" }\n"
                         "site = [{ name = \"a\", hosts = \"*\", origins = \"http://1.2.3.4\" }]\n",
                         "t.toml");
  EXPECT_EQ(c.timeouts.client_idle, 5s);
  EXPECT_EQ(c.log.level, "warn");
  ASSERT_EQ(c.sites.size(), 1u);
  EXPECT_EQ(c.sites[0].origins[0].port, 80);
}

TEST(ConfigLoad, SameHostInDifferentFormsIsNotAConflict) {
  // An exact name, its wildcard and "*" are different patterns; the matcher picks the best.
  Config c = load_string(R"([[site]]
name = "apex"
hosts = ["example.com"]
origins = ["http://127.0.0.1:1"]
[[site]]
name = "subs"
hosts = ["*.example.com"]
origins = ["http://127.0.0.1:2"]
[[site]]
name = "rest"
hosts = ["*"]
origins = ["http://127.0.0.1:3"]
)",
                         "t.toml");
  EXPECT_EQ(c.sites.size(), 3u);
}

TEST(ConfigLoad, EmbeddedDefault) {
  EXPECT_NE(embedded_default_toml().find('#'), std::string_view::npos);  // it is commented
  Config c = load_string(embedded_default_toml(), "<embedded>");
  EXPECT_EQ(c.source, "<embedded>");
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].host, "127.0.0.1");
  EXPECT_EQ(c.listen[0].port, 8080);
  ASSERT_EQ(c.sites.size(), 1u);
  EXPECT_EQ(c.sites[0].name, "demo");
  EXPECT_EQ(c.sites[0].hosts, std::vector<std::string>{"*"});
  ASSERT_EQ(c.sites[0].origins.size(), 1u);
  EXPECT_EQ(c.sites[0].origins[0].host, "127.0.0.1");
  EXPECT_EQ(c.sites[0].origins[0].port, 8081);
  EXPECT_EQ(c.sites[0].origins[0].text, "http://127.0.0.1:8081");
}

TEST(ConfigLoad, SiteForOrigin) {
  SiteConfig site = site_for_origin(parse_origin_url("http://127.0.0.1:9000"));
  EXPECT_EQ(site.name, "default");
  EXPECT_EQ(site.hosts, std::vector<std::string>{"*"});
  ASSERT_EQ(site.origins.size(), 1u);
  EXPECT_EQ(site.origins[0].host, "127.0.0.1");
  EXPECT_EQ(site.origins[0].port, 9000);
  EXPECT_EQ(site.origin_host, "");
  EXPECT_EQ(site.origin_down_time, 10s);
  EXPECT_EQ(site.origin_keepalive, 64u);
  EXPECT_EQ(site.origin_retries, 1u);
}

TEST(ConfigLoad, LoadFile) {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("stavka_config_test_" + std::to_string(getpid()));
  {
    std::ofstream out(path);
    out << "workers = 3\n\nvia_name = 7\n";
  }
  try {
    load_file(path.string());
    ADD_FAILURE() << "expected an error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.what(), path.string() + ":3: 'via_name' must be a string, got integer");
    EXPECT_EQ(error.file(), path.string());
  }
  {
    std::ofstream out(path);
    out << "workers = 3\n";
  }
  Config c = load_file(path.string());
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.source, path.string());
  std::filesystem::remove(path);
}

TEST(ConfigLoad, EmptyFileOnDisk) {
  Config c = load_file("/dev/null");
  EXPECT_EQ(c.listen.size(), 1u);
}

// The ```toml blocks of docs/config.md, in order.
std::vector<std::string> documented_examples() {
  auto docs = std::filesystem::path(__FILE__).parent_path() / "../../../docs/config.md";
  std::ifstream in(docs);
  EXPECT_TRUE(in.is_open()) << docs;
  std::vector<std::string> blocks;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```toml") {
      inside = true;
      blocks.emplace_back();
    } else if (inside && line == "```") {
      inside = false;
    } else if (inside) {
      blocks.back() += line + "\n";
    }
  }
  return blocks;
}

TEST(ConfigDocs, CompleteExampleLoads) {
  std::vector<std::string> blocks = documented_examples();
  ASSERT_EQ(blocks.size(), 2u);
  Config c = load_string(blocks[0], "docs/config.md");
  EXPECT_EQ(c.listen.size(), 2u);
  ASSERT_TRUE(c.admin_listen.has_value());
  EXPECT_EQ(c.log.format, LogFormat::json);
  EXPECT_EQ(c.cache.dir, "/var/cache/stavka");
  ASSERT_EQ(c.sites.size(), 2u);
  EXPECT_EQ(c.sites[0].origins.size(), 2u);
  EXPECT_EQ(c.sites[1].origin_host, "backend.internal");
  // Every key the example leaves at its default matches the defaults in config.h.
  Config defaults;
  EXPECT_EQ(c.workers, defaults.workers);
  EXPECT_EQ(c.via_name, defaults.via_name);
  EXPECT_EQ(c.timeouts.client_header, defaults.timeouts.client_header);
  EXPECT_EQ(c.timeouts.client_idle, defaults.timeouts.client_idle);
  EXPECT_EQ(c.timeouts.client_body, defaults.timeouts.client_body);
  EXPECT_EQ(c.timeouts.client_send, defaults.timeouts.client_send);
  EXPECT_EQ(c.timeouts.origin_connect, defaults.timeouts.origin_connect);
  EXPECT_EQ(c.timeouts.origin_first_byte, defaults.timeouts.origin_first_byte);
  EXPECT_EQ(c.timeouts.origin_read, defaults.timeouts.origin_read);
  EXPECT_EQ(c.timeouts.origin_idle, defaults.timeouts.origin_idle);
  EXPECT_EQ(c.timeouts.shutdown_grace, defaults.timeouts.shutdown_grace);
  EXPECT_EQ(c.limits.max_header_bytes, defaults.limits.max_header_bytes);
  EXPECT_EQ(c.limits.max_headers, defaults.limits.max_headers);
  EXPECT_EQ(c.limits.max_connections, defaults.limits.max_connections);
  EXPECT_EQ(c.log.level, defaults.log.level);
  SiteConfig site_defaults;
  EXPECT_EQ(c.sites[0].origin_host, site_defaults.origin_host);
  EXPECT_EQ(c.sites[0].origin_down_time, site_defaults.origin_down_time);
  EXPECT_EQ(c.sites[0].origin_keepalive, site_defaults.origin_keepalive);
  EXPECT_EQ(c.sites[0].origin_retries, site_defaults.origin_retries);
}

TEST(ConfigDocs, BuiltInDefaultMatchesEmbedded) {
  std::vector<std::string> blocks = documented_examples();
  ASSERT_EQ(blocks.size(), 2u);
  // The documented text is the embedded one without its leading comment.
  std::string_view embedded = embedded_default_toml();
  EXPECT_TRUE(embedded.ends_with(blocks[1])) << embedded;
}

}  // namespace
}  // namespace stavka::config
