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

}  // namespace
}  // namespace stavka::http
