#include "proxy/origin_pool.h"

#include <gtest/gtest.h>

namespace stavka::proxy {
namespace {

config::SiteConfig three_origins() {
  config::SiteConfig s;
  s.name = "s";
  s.hosts = {"*"};
  for (int port : {9001, 9002, 9003}) {
    s.origins.push_back(config::parse_origin_url("http://127.0.0.1:" + std::to_string(port)));
  }
  s.origin_down_time = std::chrono::seconds(10);
  return s;
}

TEST(OriginPool, RoundRobin) {
  auto site = three_origins();
  OriginPool pool(site);
  runtime::Clock::time_point now{};
  std::vector<size_t> picks;
  for (int i = 0; i < 6; ++i) picks.push_back(pool.pick(now, {}));
  EXPECT_EQ(picks, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(OriginPool, FailedOriginRestsThenReturns) {
  auto site = three_origins();
  OriginPool pool(site);
  runtime::Clock::time_point now{};
  pool.mark_failed(1, now);
  for (int i = 0; i < 6; ++i) EXPECT_NE(pool.pick(now + std::chrono::seconds(5), {}), 1u);
  bool seen = false;
  for (int i = 0; i < 3; ++i) seen |= pool.pick(now + std::chrono::seconds(11), {}) == 1u;
  EXPECT_TRUE(seen);
}

TEST(OriginPool, RetryAvoidsTriedOrigins) {
  auto site = three_origins();
  OriginPool pool(site);
  runtime::Clock::time_point now{};
  size_t first = pool.pick(now, {});
  size_t second = pool.pick(now, {first});
  size_t third = pool.pick(now, {first, second});
  EXPECT_NE(first, second);
  EXPECT_NE(third, first);
  EXPECT_NE(third, second);
}

TEST(OriginPool, AllRestingStillPicksTheOneRecoveringFirst) {
  auto site = three_origins();
  OriginPool pool(site);
  runtime::Clock::time_point now{};
  pool.mark_failed(0, now + std::chrono::seconds(3));
  pool.mark_failed(1, now + std::chrono::seconds(1));
  pool.mark_failed(2, now + std::chrono::seconds(2));
  EXPECT_EQ(pool.pick(now + std::chrono::seconds(4), {}), 1u);
}

}  // namespace
}  // namespace stavka::proxy
