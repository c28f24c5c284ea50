// Selection of the directives in force (RFC 9213 §2.1), request Pragma (RFC 9111 §5.4), and
// the stored field text round trip.
#include "cache/directives.h"

#include <gtest/gtest.h>

#include "cache/stored_response.h"
#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::fields;

TEST(ResponseDirectives, CacheControlWithoutCdnField) {
  ResponseDirectives d = response_directives(fields({{"Cache-Control", "max-age=5, public"}}));
  EXPECT_FALSE(d.from_cdn);
  EXPECT_EQ(d.cc.max_age, 5u);
  EXPECT_TRUE(d.cc.is_public);
}

TEST(ResponseDirectives, CdnFieldReplacesCacheControlEntirely) {
  ResponseDirectives d = response_directives(
      fields({{"Cache-Control", "no-store, private"}, {"CDN-Cache-Control", "max-age=5"}}));
  EXPECT_TRUE(d.from_cdn);
  EXPECT_FALSE(d.cc.no_store);
  EXPECT_FALSE(d.cc.is_private);
  EXPECT_EQ(d.cc.max_age, 5u);
}

TEST(ResponseDirectives, AnotherTargetedFieldName) {
  http::HeaderMap h =
      fields({{"Cache-Control", "max-age=5"}, {"Edge-Cache-Control", "max-age=50"}});
  EXPECT_EQ(response_directives(h, "edge-cache-control").cc.max_age, 50u);
  EXPECT_EQ(response_directives(h).cc.max_age, 5u);
}

TEST(ResponseDirectives, OwnFieldComesBeforeCdnAndCacheControl) {
  http::HeaderMap h = fields({{"Cache-Control", "no-store"},
                              {"CDN-Cache-Control", "max-age=5"},
                              {"Stavka-Cache-Control", "max-age=50"}});
  ResponseDirectives d = response_directives(h);
  EXPECT_TRUE(d.from_cdn);
  EXPECT_FALSE(d.cc.no_store);
  EXPECT_EQ(d.cc.max_age, 50u);
}

TEST(ResponseDirectives, EmptyOwnFieldIsAsIfAbsent) {
  http::HeaderMap h = fields({{"CDN-Cache-Control", "max-age=5"}, {"Stavka-Cache-Control", ""}});
  EXPECT_EQ(response_directives(h).cc.max_age, 5u);
}

TEST(ResponseDirectives, SelectPrefersANonEmptyCdnRecord) {
  http::CacheDirectives cc;
  cc.max_age = 1;
  http::CacheDirectives empty_cdn;  // parsed but without directives
  EXPECT_FALSE(select_response_directives(cc, empty_cdn).from_cdn);
  EXPECT_FALSE(select_response_directives(cc, std::nullopt).from_cdn);
  http::CacheDirectives cdn;
  cdn.present = true;
  cdn.max_age = 2;
  ResponseDirectives d = select_response_directives(cc, cdn);
  EXPECT_TRUE(d.from_cdn);
  EXPECT_EQ(d.cc.max_age, 2u);
}

TEST(RequestDirectives, PragmaNoCacheWithoutCacheControl) {
  EXPECT_TRUE(request_directives(fields({{"Pragma", "no-cache"}})).no_cache);
  EXPECT_TRUE(request_directives(fields({{"Pragma", "foo, No-Cache"}})).no_cache);
  EXPECT_FALSE(request_directives(fields({{"Pragma", "foo"}})).no_cache);
}

TEST(RequestDirectives, CacheControlPresentMeansPragmaIsIgnored) {
  EXPECT_FALSE(
      request_directives(fields({{"Pragma", "no-cache"}, {"Cache-Control", "max-age=60"}}))
          .no_cache);
  // Even a Cache-Control with nothing this cache knows.
  EXPECT_FALSE(
      request_directives(fields({{"Pragma", "no-cache"}, {"Cache-Control", "x-ext"}})).no_cache);
}

TEST(RequestDirectives, EveryRequestDirective) {
  http::CacheDirectives cc = request_directives(fields(
      {{"Cache-Control",
        "max-age=5, max-stale=7, min-fresh=9, no-cache, no-store, only-if-cached, "
        "stale-if-error=11"}}));
  EXPECT_EQ(cc.max_age, 5u);
  EXPECT_TRUE(cc.max_stale);
  EXPECT_EQ(cc.max_stale_value, 7u);
  EXPECT_EQ(cc.min_fresh, 9u);
  EXPECT_TRUE(cc.no_cache);
  EXPECT_TRUE(cc.no_store);
  EXPECT_TRUE(cc.only_if_cached);
  EXPECT_EQ(cc.stale_if_error, 11u);
}

TEST(StoredFields, RoundTrip) {
  http::HeaderMap h = fields({{"Content-Type", "text/html"}, {"Set-Cookie", "a=1"},
                              {"Set-Cookie", "b=2"}, {"X-Empty", ""}});
  std::string text = serialize_fields(h);
  EXPECT_EQ(text, "Content-Type: text/html\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Empty: \r\n");
  http::HeaderMap back = parse_fields(text);
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back.all("set-cookie").size(), 2u);
  EXPECT_EQ(*back.find("x-empty"), "");
  EXPECT_EQ(serialize_fields(back), text);
}

TEST(StoredFields, LenientParse) {
  http::HeaderMap h = parse_fields("A: 1\nno colon line\r\n: empty name\r\nB:2");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(*h.find("b"), "2");
}

}  // namespace
}  // namespace stavka::cache
