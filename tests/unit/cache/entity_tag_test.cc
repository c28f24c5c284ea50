// Entity-tag parsing and comparison (RFC 9110 §8.8.3).
#include "cache/entity_tag.h"

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace stavka::cache {
namespace {

TEST(EntityTag, ParsesStrongAndWeak) {
  auto strong = parse_entity_tag("\"xyzzy\"");
  ASSERT_TRUE(strong);
  EXPECT_FALSE(strong->weak);
  EXPECT_EQ(strong->opaque, "\"xyzzy\"");
  auto weak = parse_entity_tag(" W/\"xyzzy\" ");
  ASSERT_TRUE(weak);
  EXPECT_TRUE(weak->weak);
  EXPECT_EQ(weak->opaque, "\"xyzzy\"");
  EXPECT_TRUE(parse_entity_tag("\"\""));  // empty opaque tag is legal
}

TEST(EntityTag, RejectsMalformed) {
  for (const char* bad : {"xyzzy", "\"xyzzy", "w/\"x\"", "W/x", "\"a\"b", "\"a\" \"b\"", "",
                          "\"a\"b\""}) {
    EXPECT_FALSE(parse_entity_tag(bad)) << bad;
  }
}

TEST(EntityTag, ComparisonTableOfRfc9110) {
  // RFC 9110 §8.8.3.2's table.
  auto w1 = *parse_entity_tag("W/\"1\"");
  auto w2 = *parse_entity_tag("W/\"2\"");
  auto s1 = *parse_entity_tag("\"1\"");
  EXPECT_FALSE(strong_match(w1, w1));
  EXPECT_TRUE(weak_match(w1, w1));
  EXPECT_FALSE(strong_match(w1, w2));
  EXPECT_FALSE(weak_match(w1, w2));
  EXPECT_FALSE(strong_match(w1, s1));
  EXPECT_TRUE(weak_match(w1, s1));
  EXPECT_TRUE(strong_match(s1, s1));
  EXPECT_TRUE(weak_match(s1, s1));
}

TEST(EntityTagList, ParsesListsAndStar) {
  auto headers = test::fields({{"If-None-Match", "\"a\", W/\"b\",,\"c,d\""}});
  auto list = parse_entity_tag_list(headers, "if-none-match");
  ASSERT_TRUE(list);
  EXPECT_FALSE(list->any);
  ASSERT_EQ(list->tags.size(), 3u);
  EXPECT_EQ(list->tags[2].opaque, "\"c,d\"");
  auto star = parse_entity_tag_list(test::fields({{"If-None-Match", " * "}}), "if-none-match");
  ASSERT_TRUE(star);
  EXPECT_TRUE(star->any);
}

TEST(EntityTagList, MalformedOrAbsent) {
  EXPECT_FALSE(parse_entity_tag_list(test::fields({}), "if-none-match"));
  EXPECT_FALSE(parse_entity_tag_list(test::fields({{"If-None-Match", "\"a\" \"b\""}}),
                                     "if-none-match"));
  EXPECT_FALSE(parse_entity_tag_list(test::fields({{"If-None-Match", ""}}), "if-none-match"));
}

}  // namespace
}  // namespace stavka::cache
