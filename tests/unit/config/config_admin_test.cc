// [admin]: public paths and [[admin.token]] entries, their defaults, and each way they are
// refused (exact line and message, as in config_errors_test.cc).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"
#include "expect_error.h"

namespace stavka::config {
namespace {

using test::expect_error;

constexpr std::string_view kHash =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

// A token on lines 1 to 3; tests append its scopes (or another key) on line 4.
std::string token(std::string_view last, std::string_view name = "ci") {
  return "[[admin.token]]\nname = \"" + std::string(name) + "\"\nhash = \"" + std::string(kHash) +
         "\"\n" + std::string(last);
}

TEST(ConfigAdmin, Defaults) {
  Config c = load_string("", "t.toml");
  EXPECT_EQ(c.admin.public_paths, (std::vector<std::string>{"/healthz", "/metrics"}));
  EXPECT_TRUE(c.admin.tokens.empty());
}

TEST(ConfigAdmin, TokensAndPublicPaths) {
  Config c = load_string("[admin]\npublic = [\"/healthz\"]\n" +
                             token("scopes = [\"purge\", \"read\"]\n") +
                             token("scopes = \"admin\"\n", "ops"),
                         "t.toml");
  EXPECT_EQ(c.admin.public_paths, std::vector<std::string>{"/healthz"});
  ASSERT_EQ(c.admin.tokens.size(), 2u);
  EXPECT_EQ(c.admin.tokens[0].name, "ci");
  EXPECT_EQ(c.admin.tokens[0].hash, kHash);
  EXPECT_EQ(c.admin.tokens[0].scopes, (std::vector<std::string>{"purge", "read"}));
  EXPECT_EQ(c.admin.tokens[1].scopes, std::vector<std::string>{"admin"});
  // Nothing public: every path needs a token (an empty list, unlike other lists, is allowed).
  EXPECT_TRUE(load_string("[admin]\npublic = []\n", "t.toml").admin.public_paths.empty());
}

TEST(ConfigAdmin, PurgeFromRanges) {
  Config c = load_string(
      "[admin]\npurge_from = [\"127.0.0.1\", \"10.0.0.0/8\", \"2001:db8::/32\", \"::1\"]\n",
      "t.toml");
  ASSERT_EQ(c.admin.purge_from.size(), 4u);
  auto allowed = [&](std::string_view ip) {
    for (const AddressRange& r : c.admin.purge_from) {
      if (r.contains(ip)) return true;
    }
    return false;
  };
  EXPECT_TRUE(allowed("127.0.0.1"));
  EXPECT_TRUE(allowed("::ffff:127.0.0.1"));  // IPv4 on an IPv6 socket
  EXPECT_FALSE(allowed("127.0.0.2"));
  EXPECT_TRUE(allowed("10.255.1.2"));
  EXPECT_FALSE(allowed("11.0.0.1"));
  EXPECT_TRUE(allowed("2001:db8:ffff::1"));
  EXPECT_FALSE(allowed("2001:db9::1"));
  EXPECT_TRUE(allowed("::1"));
  EXPECT_FALSE(allowed("::2"));
  EXPECT_FALSE(allowed("not an address"));
  EXPECT_TRUE(load_string("", "t.toml").admin.purge_from.empty());
  // Odd prefixes compare the bits they cover.
  Config odd = load_string("[admin]\npurge_from = \"192.168.4.0/22\"\n", "t.toml");
  EXPECT_TRUE(odd.admin.purge_from[0].contains("192.168.7.255"));
  EXPECT_FALSE(odd.admin.purge_from[0].contains("192.168.8.0"));
  EXPECT_TRUE(load_string("[admin]\npurge_from = \"0.0.0.0/0\"\n", "t.toml")
                  .admin.purge_from[0].contains("203.0.113.9"));
}

TEST(ConfigAdmin, Refused) {
  expect_error(token("scopes = [\"write\"]\n"), 4,
               "'admin.token.scopes' entries are \"read\", \"purge\" or \"admin\", got 'write'");
  expect_error(token("scopes = []\n"), 4, "'admin.token.scopes' must not be empty");
  expect_error("[[admin.token]]\nname = \"ci\"\nhash = \"stk_plain\"\nscopes = [\"read\"]\n", 3,
               "'admin.token.hash' must be \"sha256:\" and 64 lower-case hex digits (what "
               "`stavka token create` prints), got 'stk_plain'");
  expect_error("[[admin.token]]\nname = \"ci\"\nscopes = [\"read\"]\n", 1,
               "[[admin.token]] is missing the required key 'hash'");
  expect_error(token("scopes = [\"read\"]\n") + token("scopes = [\"read\"]\n"), 6,
               "duplicate admin token name 'ci'");
  expect_error(token("scopes = [\"read\"]\nsecret = \"x\"\n"), 5,
               "unknown key 'secret' in [[admin.token]]");
  expect_error("[admin]\npurge_from = [\"localhost\"]\n", 2,
               "bad address 'localhost' in 'admin.purge_from': not a numeric IPv4 or IPv6 address");
  expect_error("[admin]\npurge_from = [\"10.0.0.0/33\"]\n", 2,
               "bad address '10.0.0.0/33' in 'admin.purge_from': the prefix length must be 0 to 32");
  expect_error("[admin]\npurge_from = [\"10.0.0.0/x\"]\n", 2,
               "bad address '10.0.0.0/x' in 'admin.purge_from': the prefix length must be a number");
  expect_error("[admin]\npublic = [\"metrics\"]\n", 2,
               "'admin.public' entries are paths starting with '/', got 'metrics'");
}

}  // namespace
}  // namespace stavka::config
