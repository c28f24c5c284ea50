// Invalidation after unsafe methods (RFC 9111 §4.4).
#include "cache/invalidation.h"
#include "http/message.h"

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::fields;

const RequestUrl kTarget = *request_url("https", "shop.example", "/items/42?v=1");

std::vector<std::string> invalidated(std::string_view method, int status,
                                     test::FieldList response = {}) {
  std::vector<std::string> out;
  for (const RequestUrl& url : invalidated_urls(method, kTarget, status, fields(response))) {
    out.push_back(url_string(url));
  }
  return out;
}

using Urls = std::vector<std::string>;

TEST(Invalidation, UnsafeMethodsInvalidateTheTarget) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    EXPECT_EQ(invalidated(method, 200), Urls{"https://shop.example/items/42?v=1"}) << method;
  }
}

TEST(Invalidation, UnknownMethodsCountAsUnsafe) {
  EXPECT_EQ(invalidated("FROBNICATE", 204).size(), 1u);
}

TEST(Invalidation, SafeMethodsInvalidateNothing) {
  for (const char* method : {"GET", "HEAD", "OPTIONS", "TRACE"}) {
    EXPECT_TRUE(invalidated(method, 200).empty()) << method;
    EXPECT_TRUE(http::is_safe_method(method));
  }
  EXPECT_FALSE(http::is_safe_method("POST"));
}

TEST(Invalidation, OnlyNonErrorResponses) {
  EXPECT_EQ(invalidated("POST", 201).size(), 1u);
  EXPECT_EQ(invalidated("POST", 303).size(), 1u);
  EXPECT_TRUE(invalidated("POST", 100).empty());
  EXPECT_TRUE(invalidated("POST", 404).empty());
  EXPECT_TRUE(invalidated("POST", 409).empty());
  EXPECT_TRUE(invalidated("POST", 500).empty());
}

TEST(Invalidation, SameHostLocationAndContentLocation) {
  EXPECT_EQ(invalidated("POST", 201,
                        {{"Location", "https://shop.example/items/43"},
                         {"Content-Location", "/items/42/v2"}}),
            (Urls{"https://shop.example/items/42?v=1", "https://shop.example/items/43",
                  "https://shop.example/items/42/v2"}));
}

TEST(Invalidation, RelativeLocationIsResolvedAgainstTheTarget) {
  EXPECT_EQ(invalidated("POST", 201, {{"Location", "43"}}),
            (Urls{"https://shop.example/items/42?v=1", "https://shop.example/items/43"}));
  EXPECT_EQ(invalidated("POST", 201, {{"Location", "../cart"}}),
            (Urls{"https://shop.example/items/42?v=1", "https://shop.example/cart"}));
}

TEST(Invalidation, OtherOriginsAreNeverInvalidated) {
  EXPECT_EQ(invalidated("POST", 201,
                        {{"Location", "https://victim.example/items/43"},
                         {"Content-Location", "http://shop.example/items/43"}}),
            Urls{"https://shop.example/items/42?v=1"});
  EXPECT_EQ(invalidated("POST", 201, {{"Location", "https://shop.example:8443/x"}}).size(), 1u);
  EXPECT_EQ(invalidated("POST", 201, {{"Location", "//victim.example/x"}}).size(), 1u);
}

TEST(Invalidation, SameOriginWithExplicitDefaultPort) {
  EXPECT_EQ(invalidated("PUT", 200, {{"Location", "HTTPS://Shop.Example:443/x"}}),
            (Urls{"https://shop.example/items/42?v=1", "https://shop.example/x"}));
}

TEST(Invalidation, DuplicatesAreDropped) {
  EXPECT_EQ(invalidated("PUT", 200,
                        {{"Location", "/items/42?v=1"}, {"Content-Location", "/items/42?v=1"}}),
            Urls{"https://shop.example/items/42?v=1"});
}

TEST(Invalidation, UnusableReferencesAreSkipped) {
  EXPECT_EQ(invalidated("POST", 201, {{"Location", "mailto:a@b"}}).size(), 1u);
}

TEST(ResolveReference, Rfc3986Cases) {
  RequestUrl base = *request_url("http", "a", "/b/c/d;p?q");
  auto resolve = [&](std::string_view ref) {
    auto url = resolve_reference(base, ref);
    return url ? url_string(*url) : "<none>";
  };
  EXPECT_EQ(resolve("g"), "http://a/b/c/g");
  EXPECT_EQ(resolve("./g"), "http://a/b/c/g");
  EXPECT_EQ(resolve("g/"), "http://a/b/c/g/");
  EXPECT_EQ(resolve("/g"), "http://a/g");
  EXPECT_EQ(resolve("//g"), "http://g/");
  EXPECT_EQ(resolve("?y"), "http://a/b/c/d;p?y");
  EXPECT_EQ(resolve("g?y"), "http://a/b/c/g?y");
  EXPECT_EQ(resolve("#s"), "http://a/b/c/d;p?q");
  EXPECT_EQ(resolve(".."), "http://a/b/");
  EXPECT_EQ(resolve("../g"), "http://a/b/g");
  EXPECT_EQ(resolve("../../g"), "http://a/g");
  EXPECT_EQ(resolve("../../../g"), "http://a/g");
  EXPECT_EQ(resolve("g;x=1/../y"), "http://a/b/c/y");
}

}  // namespace
}  // namespace stavka::cache
