// Serving decisions (RFC 9111 §4, §4.2.4, §5.2.1, §5.2.2; RFC 8246) on a simulated clock.
#include "cache/request_policy.h"

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::date_at;
using test::fields;
using test::FieldList;
using test::t0;

// One stored response received at t0 and a clock the tests step forward.
class RequestPolicyTest : public ::testing::Test {
 protected:
  void store(FieldList response_fields, int status = 200) {
    entry_ = test::stored(status, fields(response_fields));
    entry_.headers.add("Date", date_at(t0));
    entry_cc_ = response_directives(entry_.headers);
  }
  Decision decide(FieldList request_fields = {}, std::string_view method = "GET",
                  bool soft_purged = false) {
    http::HeaderMap req = fields(request_fields);
    return decide_lookup(method, request_directives(req), entry_, entry_cc_, config_, clock_.now,
                         soft_purged);
  }

  test::SimClock clock_;
  PolicyConfig config_;
  StoredResponse entry_;
  ResponseDirectives entry_cc_;
};

TEST(DecideMiss, GetIsForwarded) {
  Decision d = decide_miss("GET", {});
  EXPECT_EQ(d.action, Action::forward);
  EXPECT_EQ(d.why, Why::miss);
}

TEST(DecideMiss, OtherMethodsAreForwardedAsMethod) {
  Decision d = decide_miss("POST", {});
  EXPECT_EQ(d.action, Action::forward);
  EXPECT_EQ(d.why, Why::method);
}

TEST(DecideMiss, OnlyIfCachedGets504) {
  http::CacheDirectives cc = request_directives(fields({{"Cache-Control", "only-if-cached"}}));
  Decision d = decide_miss("GET", cc);
  EXPECT_EQ(d.action, Action::gateway_timeout);
  EXPECT_EQ(d.why, Why::only_if_cached);
}

TEST_F(RequestPolicyTest, FreshIsServed) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(30);
  Decision d = decide();
  EXPECT_EQ(d.action, Action::serve);
  EXPECT_EQ(d.why, Why::fresh);
  EXPECT_FALSE(d.stale);
  EXPECT_EQ(d.freshness.ttl(), 30);
}

TEST_F(RequestPolicyTest, SoftPurgedIsServedStaleWhileItRevalidates) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(10);
  Decision d = decide({}, "GET", true);
  EXPECT_EQ(d.action, Action::serve_and_revalidate);
  EXPECT_EQ(d.why, Why::soft_purged);
  EXPECT_TRUE(d.stale);
  // Unless the client wants a fresh one, or the response forbids serving stale.
  EXPECT_EQ(decide({{"Cache-Control", "max-age=30"}}, "GET", true).action, Action::revalidate);
  EXPECT_EQ(decide({{"Cache-Control", "no-cache"}}, "GET", true).action, Action::revalidate);
  store({{"Cache-Control", "max-age=60, must-revalidate"}});
  EXPECT_EQ(decide({}, "GET", true).action, Action::revalidate);
  store({{"Cache-Control", "max-age=60, s-maxage=60"}});
  EXPECT_EQ(decide({}, "GET", true).action, Action::revalidate);
}

TEST_F(RequestPolicyTest, HeadIsAnsweredLikeGet) {
  store({{"Cache-Control", "max-age=60"}});
  EXPECT_EQ(decide({}, "HEAD").action, Action::serve);
}

TEST_F(RequestPolicyTest, UnsafeMethodsAreNeverServed) {
  store({{"Cache-Control", "max-age=60"}});
  Decision d = decide({}, "POST");
  EXPECT_EQ(d.action, Action::forward);
  EXPECT_EQ(d.why, Why::method);
}

TEST_F(RequestPolicyTest, StaleIsRevalidated) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(60);
  Decision d = decide();
  EXPECT_EQ(d.action, Action::revalidate);
  EXPECT_EQ(d.why, Why::stale);
  EXPECT_FALSE(d.must_revalidate);
}

TEST_F(RequestPolicyTest, RequestNoCacheRevalidatesAFreshEntry) {
  store({{"Cache-Control", "max-age=60"}});
  Decision d = decide({{"Cache-Control", "no-cache"}});
  EXPECT_EQ(d.action, Action::revalidate);
  EXPECT_EQ(d.why, Why::request_no_cache);
}

TEST_F(RequestPolicyTest, PragmaNoCacheCountsWithoutCacheControl) {
  store({{"Cache-Control", "max-age=60"}});
  EXPECT_EQ(decide({{"Pragma", "no-cache"}}).why, Why::request_no_cache);
}

TEST_F(RequestPolicyTest, PragmaIsIgnoredWhenCacheControlIsPresent) {
  store({{"Cache-Control", "max-age=60"}});
  Decision d = decide({{"Pragma", "no-cache"}, {"Cache-Control", "max-stale"}});
  EXPECT_EQ(d.action, Action::serve);
}

TEST_F(RequestPolicyTest, RequestMaxAgeExceededRevalidates) {
  store({{"Cache-Control", "max-age=600"}});
  clock_.advance(100);
  EXPECT_EQ(decide({{"Cache-Control", "max-age=99"}}).why, Why::request_max_age);
  EXPECT_EQ(decide({{"Cache-Control", "max-age=100"}}).action, Action::serve);
}

TEST_F(RequestPolicyTest, RequestMaxAgeZeroOnABrandNewEntryIsServed) {
  store({{"Cache-Control", "max-age=600"}});
  EXPECT_EQ(decide({{"Cache-Control", "max-age=0"}}).action, Action::serve);
  clock_.advance(1);
  EXPECT_EQ(decide({{"Cache-Control", "max-age=0"}}).action, Action::revalidate);
}

TEST_F(RequestPolicyTest, RequestMaxAgeWithMaxStaleAcceptsStale) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(70);
  Decision d = decide({{"Cache-Control", "max-age=100, max-stale=20"}});
  EXPECT_EQ(d.action, Action::serve);
  EXPECT_EQ(d.why, Why::max_stale);
  EXPECT_TRUE(d.stale);
}

TEST_F(RequestPolicyTest, MinFresh) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(30);
  EXPECT_EQ(decide({{"Cache-Control", "min-fresh=30"}}).action, Action::serve);
  Decision d = decide({{"Cache-Control", "min-fresh=31"}});
  EXPECT_EQ(d.action, Action::revalidate);
  EXPECT_EQ(d.why, Why::request_min_fresh);
}

TEST_F(RequestPolicyTest, MaxStaleWithoutValueAcceptsAnyStaleness) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(100000);
  Decision d = decide({{"Cache-Control", "max-stale"}});
  EXPECT_EQ(d.action, Action::serve);
  EXPECT_EQ(d.why, Why::max_stale);
  EXPECT_TRUE(d.stale);
}

TEST_F(RequestPolicyTest, MaxStaleWithValueIsAHalfOpenWindow) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(69);  // 9 s stale
  EXPECT_EQ(decide({{"Cache-Control", "max-stale=10"}}).action, Action::serve);
  clock_.advance(1);   // 10 s stale
  EXPECT_EQ(decide({{"Cache-Control", "max-stale=10"}}).action, Action::revalidate);
  EXPECT_EQ(decide({{"Cache-Control", "max-stale=0"}}).action, Action::revalidate);
}

TEST_F(RequestPolicyTest, MustRevalidateBeatsMaxStale) {
  store({{"Cache-Control", "max-age=60, must-revalidate"}});
  clock_.advance(61);
  Decision d = decide({{"Cache-Control", "max-stale"}});
  EXPECT_EQ(d.action, Action::revalidate);
  EXPECT_TRUE(d.must_revalidate);
}

TEST_F(RequestPolicyTest, ProxyRevalidateBeatsMaxStale) {
  store({{"Cache-Control", "max-age=60, proxy-revalidate"}});
  clock_.advance(61);
  Decision d = decide({{"Cache-Control", "max-stale"}});
  EXPECT_EQ(d.action, Action::revalidate);
  EXPECT_TRUE(d.must_revalidate);
}

TEST_F(RequestPolicyTest, SMaxageImpliesProxyRevalidate) {
  store({{"Cache-Control", "s-maxage=60"}});
  clock_.advance(61);
  Decision d = decide({{"Cache-Control", "max-stale"}});
  EXPECT_EQ(d.action, Action::revalidate);
  EXPECT_TRUE(d.must_revalidate);
}

TEST_F(RequestPolicyTest, MustRevalidateDoesNotAffectAFreshEntry) {
  store({{"Cache-Control", "max-age=60, must-revalidate"}});
  Decision d = decide();
  EXPECT_EQ(d.action, Action::serve);
  EXPECT_TRUE(d.must_revalidate);
}

TEST_F(RequestPolicyTest, OnlyIfCachedServesFresh) {
  store({{"Cache-Control", "max-age=60"}});
  EXPECT_EQ(decide({{"Cache-Control", "only-if-cached"}}).action, Action::serve);
}

TEST_F(RequestPolicyTest, OnlyIfCachedStaleGets504) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(61);
  Decision d = decide({{"Cache-Control", "only-if-cached"}});
  EXPECT_EQ(d.action, Action::gateway_timeout);
  EXPECT_EQ(d.why, Why::only_if_cached);
}

TEST_F(RequestPolicyTest, OnlyIfCachedWithMaxStaleServesStale) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(61);
  EXPECT_EQ(decide({{"Cache-Control", "only-if-cached, max-stale"}}).action, Action::serve);
}

TEST_F(RequestPolicyTest, OnlyIfCachedWithNoCacheGets504) {
  store({{"Cache-Control", "max-age=60"}});
  EXPECT_EQ(decide({{"Cache-Control", "only-if-cached, no-cache"}}).action,
            Action::gateway_timeout);
}

TEST_F(RequestPolicyTest, RequestNoStoreDoesNotPreventServing) {
  store({{"Cache-Control", "max-age=60"}});
  EXPECT_EQ(decide({{"Cache-Control", "no-store"}}).action, Action::serve);
}

TEST_F(RequestPolicyTest, ResponseNoCacheAlwaysRevalidates) {
  store({{"Cache-Control", "no-cache, max-age=600"}});
  Decision d = decide();
  EXPECT_EQ(d.action, Action::revalidate);
  EXPECT_EQ(d.why, Why::response_no_cache);
  // Not even max-stale allows it.
  EXPECT_EQ(decide({{"Cache-Control", "max-stale"}}).action, Action::revalidate);
}

TEST_F(RequestPolicyTest, QualifiedNoCacheServesWithoutTheNamedFields) {
  store({{"Cache-Control", "no-cache=\"Set-Cookie\", max-age=600"}, {"Set-Cookie", "a=1"}});
  Decision d = decide();
  EXPECT_EQ(d.action, Action::serve);
  EXPECT_EQ(d.strip_fields, std::vector<std::string>{"set-cookie"});
}

TEST_F(RequestPolicyTest, StripFieldsOnlyWhenServedFromCache) {
  store({{"Cache-Control", "no-cache=\"Set-Cookie\", max-age=60"}});
  clock_.advance(61);
  Decision d = decide();
  EXPECT_EQ(d.action, Action::revalidate);
  EXPECT_TRUE(d.strip_fields.empty());
}

TEST_F(RequestPolicyTest, ImmutableFreshIgnoresClientNoCache) {
  store({{"Cache-Control", "max-age=600, immutable"}});
  clock_.advance(10);
  Decision d = decide({{"Cache-Control", "no-cache"}});
  EXPECT_EQ(d.action, Action::serve);
  EXPECT_EQ(d.why, Why::immutable);
  EXPECT_EQ(decide({{"Pragma", "no-cache"}}).why, Why::immutable);
}

TEST_F(RequestPolicyTest, ImmutableFreshIgnoresClientMaxAgeZero) {
  store({{"Cache-Control", "max-age=600, immutable"}});
  clock_.advance(10);
  Decision d = decide({{"Cache-Control", "max-age=0"}});
  EXPECT_EQ(d.action, Action::serve);
  EXPECT_EQ(d.why, Why::immutable);
}

TEST_F(RequestPolicyTest, ImmutableStaleIsRevalidated) {
  store({{"Cache-Control", "max-age=60, immutable"}});
  clock_.advance(61);
  EXPECT_EQ(decide({{"Cache-Control", "no-cache"}}).action, Action::revalidate);
}

TEST_F(RequestPolicyTest, ImmutableDoesNotOverrideMinFresh) {
  store({{"Cache-Control", "max-age=60, immutable"}});
  clock_.advance(50);
  EXPECT_EQ(decide({{"Cache-Control", "min-fresh=20"}}).why, Why::request_min_fresh);
}

TEST_F(RequestPolicyTest, ImmutableDoesNotOverrideResponseNoCache) {
  store({{"Cache-Control", "max-age=600, immutable, no-cache"}});
  EXPECT_EQ(decide().why, Why::response_no_cache);
}

TEST_F(RequestPolicyTest, StaleWhileRevalidateInsideWindow) {
  store({{"Cache-Control", "max-age=60, stale-while-revalidate=30"}});
  clock_.advance(70);
  Decision d = decide();
  EXPECT_EQ(d.action, Action::serve_and_revalidate);
  EXPECT_EQ(d.why, Why::stale_while_revalidate);
  EXPECT_TRUE(d.stale);
  EXPECT_EQ(d.freshness.ttl(), -10);
}

TEST_F(RequestPolicyTest, StaleWhileRevalidateWindowEdges) {
  store({{"Cache-Control", "max-age=60, stale-while-revalidate=30"}});
  clock_.advance(89);  // 29 s stale: last second of the window
  EXPECT_EQ(decide().action, Action::serve_and_revalidate);
  clock_.advance(1);   // 30 s stale: outside
  Decision d = decide();
  EXPECT_EQ(d.action, Action::revalidate);
  EXPECT_EQ(d.why, Why::stale);
}

TEST_F(RequestPolicyTest, StaleWhileRevalidateNotWhileFresh) {
  store({{"Cache-Control", "max-age=60, stale-while-revalidate=30"}});
  clock_.advance(59);
  EXPECT_EQ(decide().action, Action::serve);
}

TEST_F(RequestPolicyTest, StaleWhileRevalidateZeroIsNoWindow) {
  store({{"Cache-Control", "max-age=60, stale-while-revalidate=0"}});
  clock_.advance(60);
  EXPECT_EQ(decide().action, Action::revalidate);
}

TEST_F(RequestPolicyTest, StaleWhileRevalidateForbiddenByMustRevalidate) {
  store({{"Cache-Control", "max-age=60, stale-while-revalidate=30, must-revalidate"}});
  clock_.advance(70);
  EXPECT_EQ(decide().action, Action::revalidate);
}

TEST_F(RequestPolicyTest, StaleWhileRevalidateForbiddenBySMaxage) {
  store({{"Cache-Control", "s-maxage=60, stale-while-revalidate=30"}});
  clock_.advance(70);
  Decision d = decide();
  EXPECT_EQ(d.action, Action::revalidate);
  EXPECT_TRUE(d.must_revalidate);
}

TEST_F(RequestPolicyTest, StaleWhileRevalidateThroughCdnCacheControl) {
  // The way to have a separate CDN lifetime and stale-while-revalidate (no s-maxage).
  store({{"Cache-Control", "s-maxage=60"},
         {"CDN-Cache-Control", "max-age=60, stale-while-revalidate=30"}});
  clock_.advance(70);
  EXPECT_EQ(decide().action, Action::serve_and_revalidate);
}

TEST_F(RequestPolicyTest, StaleWhileRevalidateNotWhenClientAsksForFreshness) {
  store({{"Cache-Control", "max-age=60, stale-while-revalidate=30"}});
  clock_.advance(70);
  EXPECT_EQ(decide({{"Cache-Control", "max-age=3600"}}).action, Action::revalidate);
  EXPECT_EQ(decide({{"Cache-Control", "no-cache"}}).action, Action::revalidate);
}

TEST_F(RequestPolicyTest, StaleWhileRevalidateWithOnlyIfCachedServes) {
  store({{"Cache-Control", "max-age=60, stale-while-revalidate=30"}});
  clock_.advance(70);
  EXPECT_EQ(decide({{"Cache-Control", "only-if-cached"}}).action, Action::serve_and_revalidate);
}

TEST_F(RequestPolicyTest, CdnCacheControlGovernsServing) {
  store({{"Cache-Control", "no-cache"}, {"CDN-Cache-Control", "max-age=60"}});
  EXPECT_EQ(decide().action, Action::serve);
}

TEST_F(RequestPolicyTest, HeuristicFreshnessServes) {
  store({{"Last-Modified", date_at(t0 - 10000)}});
  clock_.advance(999);
  EXPECT_EQ(decide().action, Action::serve);
  clock_.advance(1);
  EXPECT_EQ(decide().action, Action::revalidate);
}

TEST_F(RequestPolicyTest, InvalidFreshnessIsStale) {
  store({{"Cache-Control", "max-age=oops"}});
  EXPECT_EQ(decide().action, Action::revalidate);
}

TEST(PolicyNames, AreStable) {
  EXPECT_STREQ(action_name(Action::serve_and_revalidate), "serve-and-revalidate");
  EXPECT_STREQ(why_name(Why::request_no_cache), "request-no-cache");
  EXPECT_STREQ(why_name(Why::stale_while_revalidate), "stale-while-revalidate");
  EXPECT_STREQ(error_action_name(ErrorAction::serve_stored), "serve-stored");
}

}  // namespace
}  // namespace stavka::cache
