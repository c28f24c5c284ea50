// The /metrics exposition as JSON: values, labelled samples, escapes, and odd values.
#include "admin/stats_json.h"

#include <gtest/gtest.h>

#include "admin/json.h"

namespace stavka::admin {
namespace {

TEST(StatsJson, MetricsWithAndWithoutLabels) {
  const std::string text =
      "# HELP stavka_requests_total Requests\n"
      "# TYPE stavka_requests_total counter\n"
      "stavka_requests_total 12\n"
      "stavka_cache_objects{tier=\"memory\"} 3\n"
      "stavka_cache_objects{tier=\"disk\"} 40\n"
      "stavka_ttfb_seconds_bucket{source=\"cache\",le=\"0.0001\"} 5\n"
      "stavka_ttfb_seconds_sum{source=\"cache\"} 1.5e-05\n"
      "stavka_module_calls_total{module=\"a\\\"b\\\\c\"} 7\n"
      "odd_value NaN\n";
  std::string json = stats_json(text);
  std::string error;
  auto v = JsonValue::parse(json, &error);
  ASSERT_TRUE(v) << error << "\n" << json;
  const JsonValue& m = (*v)["metrics"];
  EXPECT_EQ(m["stavka_requests_total"].number_or(-1), 12);
  ASSERT_EQ(m["stavka_cache_objects"].items().size(), 2u);
  EXPECT_EQ(m["stavka_cache_objects"].items()[0]["labels"]["tier"].string_or(""), "memory");
  EXPECT_EQ(m["stavka_cache_objects"].items()[1]["value"].number_or(-1), 40);
  const JsonValue& bucket = m["stavka_ttfb_seconds_bucket"].items()[0];
  EXPECT_EQ(bucket["labels"]["le"].string_or(""), "0.0001");
  EXPECT_EQ(bucket["labels"]["source"].string_or(""), "cache");
  EXPECT_DOUBLE_EQ(m["stavka_ttfb_seconds_sum"].items()[0]["value"].number_or(-1), 1.5e-05);
  EXPECT_EQ(m["stavka_module_calls_total"].items()[0]["labels"]["module"].string_or(""), "a\"b\\c");
  EXPECT_EQ(m["odd_value"].string_or(""), "NaN");
}

TEST(StatsJson, Empty) {
  EXPECT_EQ(stats_json(""), "{\"metrics\":{}}\n");
}

}  // namespace
}  // namespace stavka::admin
