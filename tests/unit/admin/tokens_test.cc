// Admin tokens: SHA-256 against FIPS 180-4's examples, the token format, and checks by scope.
#include "admin/tokens.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace stavka::admin {
namespace {

std::string hex(const std::array<uint8_t, 32>& digest) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Lengths around the padding boundaries (55, 56, 64 bytes) and a million 'a's.
  EXPECT_EQ(hex(sha256(std::string(55, 'a'))),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(hex(sha256(std::string(56, 'a'))),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(hex(sha256(std::string(64, 'a'))),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  EXPECT_EQ(hex(sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Tokens, NewTokensAreDistinctAndWellFormed) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = new_token();
    ASSERT_EQ(t.size(), 4u + 43u) << t;
    EXPECT_EQ(t.substr(0, 4), "stk_");
    for (char c : t.substr(4)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << t;
    EXPECT_TRUE(seen.insert(t).second);
  }
  EXPECT_EQ(token_hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Tokens, TableFindsByHashAndChecksScopes) {
  TokenTable table;
  table.add({"ci", token_hash("stk_purger"), static_cast<uint8_t>(Scope::purge)});
  table.add({"ops", token_hash("stk_root"), static_cast<uint8_t>(Scope::admin)});
  table.add({"dash", token_hash("stk_reader"), static_cast<uint8_t>(Scope::read)});
  EXPECT_EQ(table.find_hash(token_hash("stk_nobody")), nullptr);
  EXPECT_EQ(table.find_hash(token_hash("")), nullptr);
  const TokenEntry* purger = table.find_hash(token_hash("stk_purger"));
  ASSERT_NE(purger, nullptr);
  EXPECT_EQ(purger->name, "ci");
  EXPECT_TRUE(TokenTable::allows(*purger, Scope::purge));
  EXPECT_FALSE(TokenTable::allows(*purger, Scope::read));
  EXPECT_FALSE(TokenTable::allows(*purger, Scope::admin));
  const TokenEntry* root = table.find_hash(token_hash("stk_root"));
  ASSERT_NE(root, nullptr);
  for (Scope s : {Scope::read, Scope::purge, Scope::admin}) EXPECT_TRUE(TokenTable::allows(*root, s));
  const TokenEntry* reader = table.find_hash(token_hash("stk_reader"));
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(TokenTable::allows(*reader, Scope::read));
  EXPECT_FALSE(TokenTable::allows(*reader, Scope::purge));
}

TEST(Tokens, BearerToken) {
  EXPECT_EQ(bearer_token("Bearer stk_x"), "stk_x");
  EXPECT_EQ(bearer_token("bearer   stk_x  "), "stk_x");
  EXPECT_EQ(bearer_token("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token("Bearerstk_x"), "");
  EXPECT_EQ(bearer_token(""), "");
}

TEST(Tokens, ScopeNames) {
  for (Scope s : {Scope::read, Scope::purge, Scope::admin}) EXPECT_EQ(scope_named(scope_name(s)), s);
  EXPECT_EQ(scope_named("write"), std::nullopt);
}

}  // namespace
}  // namespace stavka::admin
