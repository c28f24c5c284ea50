// resolve_range and the Content-Range values (RFC 9110 §14).
#include "http/range.h"

#include <gtest/gtest.h>

#include <string>

namespace stavka::http {
namespace {

ResolvedRange partial(std::vector<ByteRange> ranges) {
  return {RangeVerdict::partial, std::move(ranges)};
}

void expect(const ResolvedRange& got, const ResolvedRange& want) {
  EXPECT_EQ(got.verdict, want.verdict);
  EXPECT_EQ(got.ranges, want.ranges);
}

TEST(Range, TheThreeFormsOfARange) {
  expect(resolve_range("bytes=0-499", 1000), partial({{0, 499}}));
  expect(resolve_range("bytes=500-", 1000), partial({{500, 999}}));
  expect(resolve_range("bytes=-200", 1000), partial({{800, 999}}));
}

TEST(Range, IsClippedToTheRepresentation) {
  expect(resolve_range("bytes=900-5000", 1000), partial({{900, 999}}));
  expect(resolve_range("bytes=-5000", 1000), partial({{0, 999}}));
  expect(resolve_range("bytes=999-999", 1000), partial({{999, 999}}));
}

TEST(Range, UnitIsCaseInsensitiveAndOnlyBytesIsUnderstood) {
  expect(resolve_range("BYTES=0-0", 10), partial({{0, 0}}));
  expect(resolve_range("items=0-0", 10), {});
  expect(resolve_range("bytes0-0", 10), {});
}

TEST(Range, MalformedFieldsAreIgnored) {
  for (const char* field : {"bytes=", "bytes=,", "bytes=5-1", "bytes=a-1", "bytes=1-b",
                            "bytes=--5", "bytes=-", "bytes= 0-1x", "bytes=0 - 1", "bytes=1",
                            "bytes=0-1;2-3", "bytes=99999999999999999999-"}) {
    SCOPED_TRACE(field);
    expect(resolve_range(field, 1000), {});
  }
}

TEST(Range, ListsAllowEmptyMembersAndWhitespaceAroundCommas) {
  expect(resolve_range("bytes=0-9 , ,\t200-209,", 1000), partial({{0, 9}, {200, 209}}));
}

TEST(Range, UnsatisfiableWhenNoRangeStartsInside) {
  expect(resolve_range("bytes=1000-", 1000), {RangeVerdict::unsatisfiable, {}});
  expect(resolve_range("bytes=-0", 1000), {RangeVerdict::unsatisfiable, {}});
  expect(resolve_range("bytes=0-", 0), {RangeVerdict::unsatisfiable, {}});
  expect(resolve_range("bytes=-5", 0), {RangeVerdict::unsatisfiable, {}});
}

TEST(Range, UnsatisfiableMembersAreDroppedWhenOthersAreSatisfiable) {
  expect(resolve_range("bytes=2000-3000,0-0", 1000), partial({{0, 0}}));
}

TEST(Range, DisjointRangesKeepTheClientsOrder) {
  expect(resolve_range("bytes=500-599,0-99", 1000), partial({{500, 599}, {0, 99}}));
}

TEST(Range, OverlappingOrNearRangesAreSortedAndMerged) {
  expect(resolve_range("bytes=0-10,5-20,500-600", 1000), partial({{0, 20}, {500, 600}}));
  // 0-99 and 150-199 are 50 bytes apart, less than a part's overhead: merged, all sorted.
  expect(resolve_range("bytes=500-599,0-99,150-199", 1000), partial({{0, 199}, {500, 599}}));
}

TEST(Range, ManySmallRangesCannotCostMoreThanTheObject) {
  std::string field = "bytes=";
  for (int i = 0; i < 60; ++i) field += "0-999,";
  expect(resolve_range(field, 1000), partial({{0, 999}}));
}

TEST(Range, MoreThanMaxRangesIsIgnored) {
  std::string field = "bytes=";
  for (size_t i = 0; i <= max_ranges; ++i) {
    field += std::to_string(i * 1000) + "-" + std::to_string(i * 1000) + ",";
  }
  expect(resolve_range(field, 1'000'000), {});
}

TEST(Range, ContentRangeValues) {
  EXPECT_EQ(content_range({0, 499}, 1000), "bytes 0-499/1000");
  EXPECT_EQ(unsatisfied_content_range(1000), "bytes */1000");
}

TEST(RangeSpan, FirstAndLastBeforeTheLengthIsKnown) {
  auto span = range_span("bytes=500-999");
  ASSERT_TRUE(span);
  EXPECT_EQ(span->first, 500u);
  EXPECT_EQ(span->last, 999u);
  EXPECT_EQ(span->members, 1u);
  span = range_span("bytes=50-");
  ASSERT_TRUE(span);
  EXPECT_EQ(span->first, 50u);
  EXPECT_FALSE(span->last);
}

TEST(RangeSpan, SeveralMembersSpanFromTheLowestToTheHighest) {
  auto span = range_span("bytes=600-699, 10-19");
  ASSERT_TRUE(span);
  EXPECT_EQ(span->first, 10u);
  EXPECT_EQ(span->last, 699u);
  EXPECT_EQ(span->members, 2u);
  span = range_span("bytes=0-9,100-");
  ASSERT_TRUE(span);
  EXPECT_FALSE(span->last) << "one open member makes the whole span open";
}

TEST(RangeSpan, UnknownWithoutTheLengthOrIgnored) {
  EXPECT_FALSE(range_span("bytes=-500"));       // a suffix needs the length
  EXPECT_FALSE(range_span("bytes=0-9,-5"));
  EXPECT_FALSE(range_span("bytes=9-0"));        // malformed: resolve_range ignores it too
  EXPECT_FALSE(range_span("items=0-9"));
  EXPECT_FALSE(range_span("bytes="));
}

TEST(ContentRange, ParsesARangeAndItsLength) {
  auto cr = parse_content_range("bytes 196608-393215/1000000");
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->range, (ByteRange{196608, 393215}));
  EXPECT_EQ(cr->length, 1000000u);
  cr = parse_content_range("  BYTES 0-0/1 ");
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->length, 1u);
}

TEST(ContentRange, RejectsWhatCannotPlaceBytes) {
  for (const char* bad : {"bytes 0-9/*", "bytes */100", "bytes 10-9/100", "bytes 0-100/100",
                          "bytes 0-9", "items 0-9/100", "bytes 0-9/1x", "bytes -9/100", "",
                          "bytes 0 -9/100"}) {
    EXPECT_FALSE(parse_content_range(bad)) << bad;
  }
}

}  // namespace
}  // namespace stavka::http
