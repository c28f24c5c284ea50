// The cache listing's query parameters and its answers over a memory tier.
#include "admin/cache_api.h"

#include <gtest/gtest.h>

#include "admin/json.h"
#include "storage/memory_tier.h"
#include "support/run_on_reactor.h"

namespace stavka::admin {
namespace {

TEST(QueryParam, DecodesEscapesAndPlus) {
  bool bad = false;
  EXPECT_EQ(query_param("/p?a=1&b=x%2Fy+z", "b", &bad), "x/y z");
  EXPECT_EQ(query_param("/p?a=1&b=2", "a", &bad), "1");
  EXPECT_EQ(query_param("/p?a&b=2", "a", &bad), "");
  EXPECT_EQ(query_param("/p?ab=1", "a", &bad), std::nullopt);
  EXPECT_EQ(query_param("/p", "a", &bad), std::nullopt);
  EXPECT_FALSE(bad);
  EXPECT_EQ(query_param("/p?a=%4", "a", &bad), std::nullopt);
  EXPECT_TRUE(bad);
  bad = false;
  EXPECT_EQ(query_param("/p?a=%zz", "a", &bad), std::nullopt);
  EXPECT_TRUE(bad);
}

storage::ObjectMeta meta(std::string key, std::string url) {
  storage::ObjectMeta m;
  m.primary_key = std::move(key);
  m.url = std::move(url);
  m.host = "example.test";
  m.size = 0;
  m.response_time = 1000;
  m.expires = 1060;
  return m;
}

void put(storage::Storage& s, const storage::ObjectMeta& m) {
  auto writer = s.begin_write(m);
  ASSERT_NE(writer, nullptr);
  ASSERT_EQ(test::run_task(writer->publish(m)), storage::Error::none);
}

TEST(CacheList, PagesWithACursorUntilItIsNull) {
  storage::MemoryTier tier(64 << 20, 4);
  for (char c = 'a'; c <= 'e'; ++c) {
    put(tier, meta(std::string("http://example.test/") + c, std::string("http://example.test/") + c));
  }
  std::vector<std::string> urls;
  std::string cursor;
  for (int pages = 0; pages < 10; ++pages) {
    ApiResponse r = handle_cache_list("/api/v1/cache?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor),
                                      &tier, 1010);
    ASSERT_EQ(r.status, 200) << r.body;
    std::string error;
    auto doc = JsonValue::parse(r.body, &error);
    ASSERT_TRUE(doc) << error;
    for (const JsonValue& e : (*doc)["entries"].items()) {
      urls.push_back(e["url"].string_or(""));
      EXPECT_EQ(e["ttl"].number_or(0), 50);
      EXPECT_EQ(e["age"].number_or(0), 10);
    }
    cursor = (*doc)["next_cursor"].string_or("");
    if (cursor.empty()) break;
  }
  EXPECT_EQ(urls, (std::vector<std::string>{"http://example.test/a", "http://example.test/b",
                                            "http://example.test/c", "http://example.test/d",
                                            "http://example.test/e"}));
  EXPECT_EQ(handle_cache_list("/api/v1/cache?cursor=0", &tier, 0).status, 400);
  EXPECT_EQ(handle_cache_list("/api/v1/cache", nullptr, 0).status, 503);
}

}  // namespace
}  // namespace stavka::admin
