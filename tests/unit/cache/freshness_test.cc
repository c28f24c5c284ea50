// Freshness lifetime (RFC 9111 §4.2.1, §4.2.2) and CDN-Cache-Control precedence (RFC 9213).
#include "cache/freshness.h"

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::date_at;
using test::stored;
using test::t0;

Lifetime lifetime_of(const StoredResponse& r, const PolicyConfig& config = {}) {
  return freshness_lifetime(r, test::directives_of(r), config);
}

TEST(FreshnessLifetime, MaxAge) {
  auto r = stored(200, {{"Date", date_at(t0)}, {"Cache-Control", "max-age=60"}});
  Lifetime l = lifetime_of(r);
  EXPECT_EQ(l.seconds, 60);
  EXPECT_EQ(l.source, LifetimeSource::max_age);
}

TEST(FreshnessLifetime, SMaxageWinsOverMaxAgeInASharedCache) {
  auto r = stored(200, {{"Cache-Control", "max-age=60, s-maxage=600"}});
  Lifetime l = lifetime_of(r);
  EXPECT_EQ(l.seconds, 600);
  EXPECT_EQ(l.source, LifetimeSource::s_maxage);
}

TEST(FreshnessLifetime, SMaxageSmallerThanMaxAgeStillWins) {
  auto r = stored(200, {{"Cache-Control", "s-maxage=5, max-age=600"}});
  EXPECT_EQ(lifetime_of(r).seconds, 5);
}

TEST(FreshnessLifetime, MaxAgeWinsOverExpires) {
  auto r = stored(200, {{"Date", date_at(t0)},
                        {"Expires", date_at(t0 + 3600)},
                        {"Cache-Control", "max-age=10"}});
  EXPECT_EQ(lifetime_of(r).seconds, 10);
}

TEST(FreshnessLifetime, ExpiresMinusDate) {
  // The origin's clock is 100 s behind ours: Expires − Date is what counts, not Expires − now.
  auto r = stored(200, {{"Date", date_at(t0 - 100)}, {"Expires", date_at(t0 + 200)}});
  Lifetime l = lifetime_of(r);
  EXPECT_EQ(l.seconds, 300);
  EXPECT_EQ(l.source, LifetimeSource::expires);
}

TEST(FreshnessLifetime, ExpiresBeforeDateIsZero) {
  auto r = stored(200, {{"Date", date_at(t0)}, {"Expires", date_at(t0 - 60)}});
  EXPECT_EQ(lifetime_of(r).seconds, 0);
}

TEST(FreshnessLifetime, InvalidExpiresZeroMeansAlreadyExpired) {
  // §5.3: "0" is the classic invalid Expires; it must not fall through to a heuristic.
  auto r = stored(200, {{"Date", date_at(t0)},
                        {"Expires", "0"},
                        {"Last-Modified", date_at(t0 - 86400 * 10)}});
  Lifetime l = lifetime_of(r);
  EXPECT_EQ(l.seconds, 0);
  EXPECT_EQ(l.source, LifetimeSource::expires);
}

TEST(FreshnessLifetime, GarbageExpiresIsExpired) {
  auto r = stored(200, {{"Expires", "next tuesday"}});
  EXPECT_EQ(lifetime_of(r).seconds, 0);
  EXPECT_EQ(lifetime_of(r).source, LifetimeSource::expires);
}

TEST(FreshnessLifetime, ExpiresWithDateMissingUsesResponseTime) {
  // No Date: the receipt time stands in (RFC 9110 §6.6.1).
  auto r = stored(200, {{"Expires", date_at(t0 + 90)}}, t0 - 2, t0);
  EXPECT_EQ(lifetime_of(r).seconds, 90);
}

TEST(FreshnessLifetime, ExpiresWithInvalidDateUsesResponseTime) {
  auto r = stored(200, {{"Date", "yesterday"}, {"Expires", date_at(t0 + 90)}});
  EXPECT_EQ(lifetime_of(r).seconds, 90);
}

TEST(FreshnessLifetime, ConflictingExpiresLinesAreStale) {
  auto r = stored(200, {{"Expires", date_at(t0 + 90)}, {"Expires", date_at(t0 + 900)}});
  EXPECT_EQ(lifetime_of(r).seconds, 0);
}

TEST(FreshnessLifetime, RepeatedIdenticalExpiresIsFine) {
  auto r = stored(200, {{"Expires", date_at(t0 + 90)}, {"Expires", date_at(t0 + 90)}});
  EXPECT_EQ(lifetime_of(r).seconds, 90);
}

TEST(FreshnessLifetime, MalformedMaxAgeIsInvalidEvenWithExpires) {
  auto r = stored(200, {{"Cache-Control", "max-age=abc"}, {"Expires", date_at(t0 + 3600)}});
  Lifetime l = lifetime_of(r);
  EXPECT_EQ(l.seconds, 0);
  EXPECT_EQ(l.source, LifetimeSource::invalid);
}

TEST(FreshnessLifetime, ConflictingMaxAgeIsInvalid) {
  auto r = stored(200, {{"Cache-Control", "max-age=60"}, {"Cache-Control", "max-age=3600"}});
  EXPECT_EQ(lifetime_of(r).source, LifetimeSource::invalid);
  EXPECT_EQ(lifetime_of(r).seconds, 0);
}

TEST(FreshnessLifetime, HeuristicIsTenPercentOfAgeSinceModification) {
  auto r = stored(200, {{"Date", date_at(t0)}, {"Last-Modified", date_at(t0 - 1000)}});
  Lifetime l = lifetime_of(r);
  EXPECT_EQ(l.seconds, 100);
  EXPECT_EQ(l.source, LifetimeSource::heuristic);
}

TEST(FreshnessLifetime, HeuristicIsCappedAtOneDay) {
  auto r = stored(200, {{"Date", date_at(t0)}, {"Last-Modified", date_at(t0 - 86400 * 100)}});
  EXPECT_EQ(lifetime_of(r).seconds, 86400);
}

TEST(FreshnessLifetime, HeuristicFractionAndCapAreConfigurable) {
  PolicyConfig config;
  config.heuristic_fraction = 0.5;
  config.heuristic_cap = 3600;
  auto r = stored(200, {{"Date", date_at(t0)}, {"Last-Modified", date_at(t0 - 1000)}});
  EXPECT_EQ(lifetime_of(r, config).seconds, 500);
  auto old = stored(200, {{"Date", date_at(t0)}, {"Last-Modified", date_at(t0 - 100000)}});
  EXPECT_EQ(lifetime_of(old, config).seconds, 3600);
}

TEST(FreshnessLifetime, NoHeuristicWithoutLastModified) {
  auto r = stored(200, {{"Date", date_at(t0)}});
  Lifetime l = lifetime_of(r);
  EXPECT_EQ(l.seconds, 0);
  EXPECT_EQ(l.source, LifetimeSource::none);
}

TEST(FreshnessLifetime, NoHeuristicWithInvalidLastModified) {
  auto r = stored(200, {{"Last-Modified", "a while ago"}});
  EXPECT_EQ(lifetime_of(r).source, LifetimeSource::none);
}

TEST(FreshnessLifetime, HeuristicUsesResponseTimeWhenDateIsMissing) {
  auto r = stored(200, {{"Last-Modified", date_at(t0 - 2000)}});
  EXPECT_EQ(lifetime_of(r).seconds, 200);
}

TEST(FreshnessLifetime, LastModifiedAfterDateGivesZero) {
  auto r = stored(200, {{"Date", date_at(t0)}, {"Last-Modified", date_at(t0 + 50)}});
  EXPECT_EQ(lifetime_of(r).seconds, 0);
}

TEST(FreshnessLifetime, NoHeuristicForStatusesNotHeuristicallyCacheable) {
  auto r = stored(302, {{"Date", date_at(t0)}, {"Last-Modified", date_at(t0 - 1000)}});
  EXPECT_EQ(lifetime_of(r).source, LifetimeSource::none);
  EXPECT_EQ(lifetime_of(r).seconds, 0);
}

TEST(FreshnessLifetime, PublicAllowsAHeuristicForAnyStatus) {
  auto r = stored(302, {{"Date", date_at(t0)},
                        {"Last-Modified", date_at(t0 - 1000)},
                        {"Cache-Control", "public"}});
  EXPECT_EQ(lifetime_of(r).seconds, 100);
  EXPECT_EQ(lifetime_of(r).source, LifetimeSource::heuristic);
}

TEST(FreshnessLifetime, HeuristicNotUsedWhenExplicitFreshnessExists) {
  auto r = stored(200, {{"Cache-Control", "max-age=0"}, {"Last-Modified", date_at(t0 - 10000)}});
  EXPECT_EQ(lifetime_of(r).seconds, 0);
  EXPECT_EQ(lifetime_of(r).source, LifetimeSource::max_age);
}

TEST(HeuristicallyCacheable, TheRfc9110List) {
  for (int s : {200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501}) {
    EXPECT_TRUE(is_heuristically_cacheable(s)) << s;
  }
  for (int s : {201, 202, 302, 303, 304, 307, 400, 403, 500, 502, 503}) {
    EXPECT_FALSE(is_heuristically_cacheable(s)) << s;
  }
}

TEST(CdnCacheControl, TakesPrecedenceOverCacheControl) {
  auto r = stored(200, {{"Cache-Control", "max-age=10"}, {"CDN-Cache-Control", "max-age=600"}});
  ResponseDirectives d = test::directives_of(r);
  EXPECT_TRUE(d.from_cdn);
  EXPECT_EQ(freshness_lifetime(r, d, {}).seconds, 600);
}

TEST(CdnCacheControl, OverridesCacheControlSMaxage) {
  auto r = stored(200, {{"Cache-Control", "s-maxage=10"}, {"CDN-Cache-Control", "max-age=600"}});
  EXPECT_EQ(lifetime_of(r).seconds, 600);
  EXPECT_EQ(lifetime_of(r).source, LifetimeSource::max_age);
}

TEST(CdnCacheControl, ExpiresIsIgnoredUnderIt) {
  auto r = stored(200, {{"Expires", date_at(t0 + 3600)}, {"CDN-Cache-Control", "public"}});
  Lifetime l = lifetime_of(r);
  EXPECT_EQ(l.seconds, 0);
  EXPECT_EQ(l.source, LifetimeSource::none);
}

TEST(CdnCacheControl, InvalidFieldFallsBackToCacheControl) {
  // Not a Structured Field Dictionary (unterminated string): RFC 9213 §2.1 says ignore it.
  auto r = stored(200, {{"Cache-Control", "max-age=60"}, {"CDN-Cache-Control", "max-age=\"600"}});
  ResponseDirectives d = test::directives_of(r);
  EXPECT_FALSE(d.from_cdn);
  EXPECT_EQ(freshness_lifetime(r, d, {}).seconds, 60);
}

TEST(CdnCacheControl, EmptyFieldFallsBackToCacheControl) {
  auto r = stored(200, {{"Cache-Control", "max-age=60"}, {"CDN-Cache-Control", ""}});
  EXPECT_FALSE(test::directives_of(r).from_cdn);
  EXPECT_EQ(lifetime_of(r).seconds, 60);
}

TEST(CdnCacheControl, ExpiresStillCountsWhenCdnFieldIsInvalid) {
  auto r = stored(200, {{"Expires", date_at(t0 + 120)}, {"CDN-Cache-Control", "max-age=\"600"}});
  EXPECT_EQ(lifetime_of(r).seconds, 120);
}

TEST(Freshness, BoundariesOnASimulatedClock) {
  test::SimClock clock;
  auto r = stored(200, {{"Date", date_at(t0)}, {"Cache-Control", "max-age=60"}});
  ResponseDirectives d = test::directives_of(r);
  clock.advance(59);
  Freshness f = evaluate_freshness(r, d, {}, clock.now);
  EXPECT_TRUE(f.fresh());
  EXPECT_EQ(f.ttl(), 1);
  EXPECT_EQ(f.staleness(), 0);
  clock.advance(1);
  f = evaluate_freshness(r, d, {}, clock.now);
  EXPECT_FALSE(f.fresh());
  EXPECT_EQ(f.ttl(), 0);
  EXPECT_EQ(f.staleness(), 0);
  clock.advance(10);
  f = evaluate_freshness(r, d, {}, clock.now);
  EXPECT_EQ(f.ttl(), -10);
  EXPECT_EQ(f.staleness(), 10);
}

TEST(Freshness, LifetimeSourceNames) {
  EXPECT_STREQ(lifetime_source_name(LifetimeSource::s_maxage), "s-maxage");
  EXPECT_STREQ(lifetime_source_name(LifetimeSource::heuristic), "heuristic");
  EXPECT_STREQ(lifetime_source_name(LifetimeSource::invalid), "invalid");
}

}  // namespace
}  // namespace stavka::cache
