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
  expect_error("[admin]\npublic = [\"metrics\"]\n", 2,
               "'admin.public' entries are paths starting with '/', got 'metrics'");
}

}  // namespace
}  // namespace stavka::config
