#include "proxy/site_table.h"

#include <gtest/gtest.h>

namespace stavka::proxy {
namespace {

std::shared_ptr<const config::Config> config_with_sites() {
  return std::make_shared<const config::Config>(config::load_string(R"(
[[site]]
name = "exact"
hosts = ["example.com", "www.example.com"]
origins = ["http://127.0.0.1:9001"]
[[site]]
name = "wild"
hosts = ["*.example.com"]
origins = ["http://127.0.0.1:9002"]
[[site]]
name = "deeper"
hosts = ["*.cdn.example.com"]
origins = ["http://127.0.0.1:9003"]
)",
                                                                        "test"));
}

TEST(NormalizeHost, LowercasesAndDropsPort) {
  EXPECT_EQ(normalize_host("Example.COM:8080"), "example.com");
  EXPECT_EQ(normalize_host("example.com."), "example.com");
  EXPECT_EQ(normalize_host("[::1]:80"), "[::1]");
  EXPECT_EQ(normalize_host("a b"), "");
  EXPECT_EQ(normalize_host("host:port"), "");
  EXPECT_EQ(normalize_host("host:"), "");
  EXPECT_EQ(normalize_host("[::1"), "");
}

TEST(SiteTable, ExactBeatsWildcardAndLongestWildcardWins) {
  SiteTable t(config_with_sites());
  EXPECT_EQ(t.route("example.com")->config->name, "exact");
  EXPECT_EQ(t.route("WWW.Example.com:80")->config->name, "exact");
  EXPECT_EQ(t.route("img.example.com")->config->name, "wild");
  EXPECT_EQ(t.route("a.cdn.example.com")->config->name, "deeper");
  EXPECT_EQ(t.route("cdn.example.com")->config->name, "wild");
}

TEST(SiteTable, UnclaimedHostHasNoSite) {
  SiteTable t(config_with_sites());
  EXPECT_EQ(t.route("example.org"), nullptr);
  EXPECT_EQ(t.route("badexample.com"), nullptr);  // not a subdomain
  EXPECT_EQ(t.route(""), nullptr);
}

TEST(SiteTable, CatchAllTakesTheRest) {
  auto cfg = std::make_shared<const config::Config>(config::load_string(R"(
[[site]]
name = "one"
hosts = ["one.test"]
origins = ["http://127.0.0.1:9001"]
[[site]]
name = "rest"
hosts = ["*"]
origins = ["http://127.0.0.1:9002"]
)",
                                                                        "test"));
  SiteTable t(cfg);
  EXPECT_EQ(t.route("one.test")->config->name, "one");
  EXPECT_EQ(t.route("anything.else")->config->name, "rest");
  EXPECT_EQ(t.route("")->config->name, "rest");
}

}  // namespace
}  // namespace stavka::proxy
