// Origin failures: stale-if-error (RFC 5861 §4), must-revalidate's 504 (RFC 9111 §5.2.2.2) and
// the configured default grace, on a simulated clock.
#include <gtest/gtest.h>

#include "cache/request_policy.h"
#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::date_at;
using test::fields;
using test::FieldList;
using test::t0;

class OriginErrorTest : public ::testing::Test {
 protected:
  void store(FieldList response_fields) {
    entry_ = test::stored(200, fields(response_fields));
    entry_.headers.add("Date", date_at(t0));
    entry_cc_ = response_directives(entry_.headers);
  }
  ErrorAction on_error(std::optional<int> status, FieldList request_fields = {}) {
    http::HeaderMap req = fields(request_fields);
    return decide_on_origin_error(request_directives(req), entry_, entry_cc_, config_,
                                  clock_.now, status);
  }

  test::SimClock clock_;
  PolicyConfig config_;
  StoredResponse entry_;
  ResponseDirectives entry_cc_;
};

TEST_F(OriginErrorTest, InsideWindowServesStoredForEachErrorKind) {
  store({{"Cache-Control", "max-age=60, stale-if-error=300"}});
  clock_.advance(200);
  for (std::optional<int> status : {std::optional<int>(500), std::optional<int>(502),
                                    std::optional<int>(503), std::optional<int>(504),
                                    std::optional<int>()}) {
    EXPECT_EQ(on_error(status), ErrorAction::serve_stored) << status.value_or(0);
  }
}

TEST_F(OriginErrorTest, OutsideWindowPassesTheError) {
  store({{"Cache-Control", "max-age=60, stale-if-error=300"}});
  clock_.advance(359);  // 299 s stale: still inside
  EXPECT_EQ(on_error(503), ErrorAction::serve_stored);
  clock_.advance(1);    // 300 s stale: outside
  EXPECT_EQ(on_error(503), ErrorAction::pass_error);
  EXPECT_EQ(on_error(std::nullopt), ErrorAction::pass_error);
}

TEST_F(OriginErrorTest, OtherStatusesAreAnswersNotErrors) {
  store({{"Cache-Control", "max-age=60, stale-if-error=300"}});
  clock_.advance(100);
  EXPECT_EQ(on_error(404), ErrorAction::pass_error);
  EXPECT_EQ(on_error(501), ErrorAction::pass_error);
  EXPECT_EQ(on_error(505), ErrorAction::pass_error);
}

TEST_F(OriginErrorTest, WithoutStaleIfErrorTheErrorPasses) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(61);
  EXPECT_EQ(on_error(503), ErrorAction::pass_error);
  EXPECT_EQ(on_error(std::nullopt), ErrorAction::pass_error);
}

TEST_F(OriginErrorTest, MustRevalidateDisconnectedIs504) {
  store({{"Cache-Control", "max-age=60, must-revalidate, stale-if-error=300"}});
  clock_.advance(61);
  EXPECT_EQ(on_error(std::nullopt), ErrorAction::gateway_timeout);
  EXPECT_EQ(on_error(503), ErrorAction::pass_error);  // the origin answered
}

TEST_F(OriginErrorTest, ProxyRevalidateAndSMaxageForbidStaleToo) {
  store({{"Cache-Control", "max-age=60, proxy-revalidate, stale-if-error=300"}});
  clock_.advance(61);
  EXPECT_EQ(on_error(std::nullopt), ErrorAction::gateway_timeout);
  store({{"Cache-Control", "s-maxage=60, stale-if-error=300"}});
  EXPECT_EQ(on_error(std::nullopt), ErrorAction::gateway_timeout);
  EXPECT_EQ(on_error(500), ErrorAction::pass_error);
}

TEST_F(OriginErrorTest, MustRevalidateBeatsTheRequestsStaleIfError) {
  store({{"Cache-Control", "max-age=60, must-revalidate"}});
  clock_.advance(61);
  EXPECT_EQ(on_error(std::nullopt, {{"Cache-Control", "stale-if-error=3600"}}),
            ErrorAction::gateway_timeout);
}

TEST_F(OriginErrorTest, ResponseNoCacheNeverServesOnError) {
  store({{"Cache-Control", "no-cache, max-age=60, stale-if-error=300"}});
  EXPECT_EQ(on_error(503), ErrorAction::pass_error);
}

TEST_F(OriginErrorTest, RequestStaleIfErrorOverridesTheResponses) {
  store({{"Cache-Control", "max-age=60, stale-if-error=10"}});
  clock_.advance(110);  // 50 s stale
  EXPECT_EQ(on_error(503), ErrorAction::pass_error);
  EXPECT_EQ(on_error(503, {{"Cache-Control", "stale-if-error=100"}}), ErrorAction::serve_stored);
  clock_.advance(-45);  // 5 s stale: inside the response's window, but the client says 0
  EXPECT_EQ(on_error(503), ErrorAction::serve_stored);
  EXPECT_EQ(on_error(503, {{"Cache-Control", "stale-if-error=0"}}), ErrorAction::pass_error);
}

TEST_F(OriginErrorTest, RequestStaleIfErrorAloneIsEnough) {
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(100);
  EXPECT_EQ(on_error(std::nullopt, {{"Cache-Control", "stale-if-error=60"}}),
            ErrorAction::serve_stored);
}

TEST_F(OriginErrorTest, ConfiguredDefaultGrace) {
  config_.stale_if_error_default = 120;
  store({{"Cache-Control", "max-age=60"}});
  clock_.advance(179);
  EXPECT_EQ(on_error(502), ErrorAction::serve_stored);
  clock_.advance(1);
  EXPECT_EQ(on_error(502), ErrorAction::pass_error);
}

TEST_F(OriginErrorTest, ConfiguredDefaultYieldsToTheResponsesValue) {
  config_.stale_if_error_default = 3600;
  store({{"Cache-Control", "max-age=60, stale-if-error=10"}});
  clock_.advance(100);
  EXPECT_EQ(on_error(502), ErrorAction::pass_error);
}

TEST_F(OriginErrorTest, ConfiguredDefaultNeverOverridesMustRevalidate) {
  config_.stale_if_error_default = 3600;
  store({{"Cache-Control", "max-age=60, must-revalidate"}});
  clock_.advance(100);
  EXPECT_EQ(on_error(std::nullopt), ErrorAction::gateway_timeout);
}

TEST_F(OriginErrorTest, FreshEntryBeingRevalidatedForTheClientIsServedOnError) {
  // The client's no-cache sent a fresh entry to the origin, which failed.
  store({{"Cache-Control", "max-age=600, stale-if-error=60"}});
  clock_.advance(10);
  EXPECT_EQ(on_error(503, {{"Cache-Control", "no-cache"}}), ErrorAction::serve_stored);
}

}  // namespace
}  // namespace stavka::cache
