// Age calculation (RFC 9111 §4.2.3) and the Age field value (§5.1), on a simulated clock.
#include <gtest/gtest.h>

#include "cache/freshness.h"
#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::date_at;
using test::stored;
using test::t0;

TEST(Age, Rfc9111FormulaStepByStep) {
  // Request sent at t0, response received 2 s later. The origin's Date says the response was
  // generated 5 s before it arrived, and an upstream cache reports Age: 10.
  auto r = stored(200, {{"Date", date_at(t0 - 3)}, {"Age", "10"}}, t0, t0 + 2);
  AgeParts p = age_parts(r);
  EXPECT_EQ(p.age_value, 10);
  EXPECT_EQ(p.date_value, t0 - 3);
  EXPECT_EQ(p.apparent_age, 5);            // max(0, response_time − date_value)
  EXPECT_EQ(p.response_delay, 2);          // response_time − request_time
  EXPECT_EQ(p.corrected_age_value, 12);    // age_value + response_delay
  EXPECT_EQ(p.corrected_initial_age, 12);  // max(apparent_age, corrected_age_value)
  // current_age = corrected_initial_age + (now − response_time)
  EXPECT_EQ(current_age(r, t0 + 2), 12);
  EXPECT_EQ(current_age(r, t0 + 102), 112);
}

TEST(Age, ApparentAgeWinsWhenLarger) {
  auto r = stored(200, {{"Date", date_at(t0 - 50)}, {"Age", "10"}}, t0 - 2, t0);
  AgeParts p = age_parts(r);
  EXPECT_EQ(p.apparent_age, 50);
  EXPECT_EQ(p.corrected_age_value, 12);
  EXPECT_EQ(p.corrected_initial_age, 50);
}

TEST(Age, DateInTheFutureGivesNoApparentAge) {
  auto r = stored(200, {{"Date", date_at(t0 + 300)}}, t0, t0);
  EXPECT_EQ(age_parts(r).apparent_age, 0);
  EXPECT_EQ(current_age(r, t0), 0);
}

TEST(Age, MissingDateUsesResponseTime) {
  auto r = stored(200, {{"Age", "7"}}, t0 - 1, t0);
  AgeParts p = age_parts(r);
  EXPECT_EQ(p.date_value, t0);
  EXPECT_EQ(p.apparent_age, 0);
  EXPECT_EQ(p.corrected_initial_age, 8);
}

TEST(Age, InvalidAgeIsIgnored) {
  for (const char* bad : {"-5", "ten", "1.5", "", "10, 20"}) {
    auto r = stored(200, {{"Date", date_at(t0)}, {"Age", bad}});
    EXPECT_EQ(age_parts(r).age_value, 0) << bad;
  }
}

TEST(Age, HugeAgeIsClampedTo2Pow31) {
  auto r = stored(200, {{"Age", "99999999999999999999"}});
  EXPECT_EQ(age_parts(r).age_value, max_age_value);
}

TEST(Age, AgeHeaderValueIsClampedTo2Pow31) {
  auto r = stored(200, {{"Age", "2147483648"}});
  EXPECT_EQ(age_header_value(r, t0 + 1000), "2147483648");
}

TEST(Age, NegativeResponseDelayIsIgnored) {
  // The clock stepped back between sending and receiving.
  auto r = stored(200, {{"Date", date_at(t0)}}, t0 + 5, t0);
  EXPECT_EQ(age_parts(r).response_delay, 0);
}

TEST(Age, ClockSteppingBackDoesNotMakeAgeNegative) {
  auto r = stored(200, {{"Date", date_at(t0)}, {"Age", "3"}});
  EXPECT_EQ(current_age(r, t0 - 100), 3);
}

TEST(Age, AgeHeaderValueGrowsWithTheClock) {
  test::SimClock clock;
  auto r = stored(200, {{"Date", date_at(t0)}}, t0, t0);
  EXPECT_EQ(age_header_value(r, clock.now), "0");
  clock.advance(30);
  EXPECT_EQ(age_header_value(r, clock.now), "30");
  clock.advance(3600);
  EXPECT_EQ(age_header_value(r, clock.now), "3630");
}

TEST(Age, UpstreamAgeCountsAgainstMaxAge) {
  auto r = stored(200, {{"Date", date_at(t0)}, {"Age", "50"}, {"Cache-Control", "max-age=60"}});
  ResponseDirectives d = test::directives_of(r);
  EXPECT_TRUE(evaluate_freshness(r, d, {}, t0 + 9).fresh());
  EXPECT_FALSE(evaluate_freshness(r, d, {}, t0 + 10).fresh());
}

TEST(Age, DateValueHelper) {
  EXPECT_EQ(date_value(stored(200, {{"Date", date_at(t0 - 7)}})), t0 - 7);
  EXPECT_EQ(date_value(stored(200, {}, t0, t0 + 4)), t0 + 4);
}

}  // namespace
}  // namespace stavka::cache
