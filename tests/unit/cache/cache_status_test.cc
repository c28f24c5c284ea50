// Cache-Status values (RFC 9211) and their derivation from lookup decisions.
#include "cache/cache_status.h"

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace stavka::cache {
namespace {

TEST(CacheStatus, Hit) {
  CacheStatus s;
  s.hit = true;
  s.ttl = 42;
  EXPECT_EQ(format_cache_status("Stavka", s), "Stavka; hit; ttl=42");
}

TEST(CacheStatus, UriMissStored) {
  CacheStatus s;
  s.fwd = Fwd::uri_miss;
  s.stored = true;
  EXPECT_EQ(format_cache_status("Stavka", s), "Stavka; fwd=uri-miss; stored");
}

TEST(CacheStatus, StaleRevalidatedWith304) {
  CacheStatus s;
  s.fwd = Fwd::stale;
  s.fwd_status = 304;
  s.ttl = 120;
  EXPECT_EQ(format_cache_status("Stavka", s), "Stavka; fwd=stale; fwd-status=304; ttl=120");
}

TEST(CacheStatus, EveryFwdValue) {
  const std::pair<Fwd, const char*> all[] = {
      {Fwd::bypass, "bypass"},       {Fwd::method, "method"}, {Fwd::uri_miss, "uri-miss"},
      {Fwd::vary_miss, "vary-miss"}, {Fwd::miss, "miss"},     {Fwd::request, "request"},
      {Fwd::stale, "stale"},         {Fwd::partial, "partial"}};
  for (const auto& [fwd, name] : all) {
    CacheStatus s;
    s.fwd = fwd;
    EXPECT_EQ(format_cache_status("Stavka", s), std::string("Stavka; fwd=") + name);
  }
}

TEST(CacheStatus, CollapsedAndFwdStatus) {
  CacheStatus s;
  s.fwd = Fwd::uri_miss;
  s.fwd_status = 200;
  s.stored = true;
  s.collapsed = true;
  EXPECT_EQ(format_cache_status("Stavka", s),
            "Stavka; fwd=uri-miss; fwd-status=200; stored; collapsed");
}

TEST(CacheStatus, NegativeTtlWhenStale) {
  CacheStatus s;
  s.hit = true;
  s.ttl = -5;
  s.detail = "stale-while-revalidate";
  EXPECT_EQ(format_cache_status("Stavka", s),
            "Stavka; hit; ttl=-5; detail=\"stale-while-revalidate\"");
}

TEST(CacheStatus, DetailAndKeyAreEscapedStrings) {
  CacheStatus s;
  s.fwd = Fwd::bypass;
  s.key = "http://h/a\nx-device=m";
  s.detail = "say \"hi\" \\ ok";
  EXPECT_EQ(format_cache_status("Stavka", s),
            "Stavka; fwd=bypass; key=\"http://h/a?x-device=m\"; detail=\"say \\\"hi\\\" \\\\ ok\"");
}

TEST(CacheStatus, CacheNameIsATokenOrAString) {
  CacheStatus s;
  s.hit = true;
  EXPECT_EQ(format_cache_status("edge-1.fra", s), "edge-1.fra; hit");
  EXPECT_EQ(format_cache_status("CDN Company", s), "\"CDN Company\"; hit");
  EXPECT_EQ(format_cache_status("1cache", s), "\"1cache\"; hit");
}

TEST(CacheStatus, AppendGoesAtTheEndOfTheList) {
  http::HeaderMap h;
  append_cache_status(h, "Stavka; hit");
  EXPECT_EQ(*h.find("cache-status"), "Stavka; hit");
  http::HeaderMap upstream =
      test::fields({{"Cache-Status", "Origin; hit"}, {"Cache-Status", "Shield; fwd=stale"}});
  append_cache_status(upstream, "Stavka; hit");
  EXPECT_EQ(upstream.all("cache-status").size(), 1u);
  EXPECT_EQ(*upstream.find("cache-status"), "Origin; hit, Shield; fwd=stale, Stavka; hit");
}

Decision decision(Action action, Why why, int64_t lifetime = 60, int64_t age = 10) {
  Decision d;
  d.action = action;
  d.why = why;
  d.freshness.lifetime.seconds = lifetime;
  d.freshness.age = age;
  return d;
}

TEST(CacheStatusFor, FreshHit) {
  EXPECT_EQ(format_cache_status("Stavka", cache_status_for(decision(Action::serve, Why::fresh))),
            "Stavka; hit; ttl=50");
}

TEST(CacheStatusFor, StaleServedHits) {
  EXPECT_EQ(format_cache_status("Stavka",
                                cache_status_for(decision(Action::serve_and_revalidate,
                                                          Why::stale_while_revalidate, 60, 70))),
            "Stavka; hit; ttl=-10; detail=\"stale-while-revalidate\"");
  EXPECT_EQ(format_cache_status(
                "Stavka", cache_status_for(decision(Action::serve, Why::max_stale, 60, 65))),
            "Stavka; hit; ttl=-5; detail=\"max-stale\"");
}

TEST(CacheStatusFor, Forwarded) {
  EXPECT_EQ(format_cache_status("S", cache_status_for(decision(Action::revalidate, Why::stale))),
            "S; fwd=stale");
  EXPECT_EQ(format_cache_status(
                "S", cache_status_for(decision(Action::revalidate, Why::request_no_cache))),
            "S; fwd=request; detail=\"request-no-cache\"");
  EXPECT_EQ(format_cache_status(
                "S", cache_status_for(decision(Action::revalidate, Why::response_no_cache))),
            "S; fwd=stale; detail=\"response-no-cache\"");
  EXPECT_EQ(format_cache_status("S", cache_status_for(decide_miss("GET", {}))), "S; fwd=uri-miss");
  EXPECT_EQ(format_cache_status("S", cache_status_for(decide_miss("POST", {}))), "S; fwd=method");
}

TEST(CacheStatusFor, OnlyIfCached504) {
  EXPECT_EQ(format_cache_status(
                "S", cache_status_for(decision(Action::gateway_timeout, Why::only_if_cached))),
            "S; detail=\"only-if-cached\"");
}

}  // namespace
}  // namespace stavka::cache
