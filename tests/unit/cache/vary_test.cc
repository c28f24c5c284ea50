// Secondary keys and variant selection from Vary (RFC 9111 §4.1).
#include "cache/vary.h"

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::date_at;
using test::fields;
using test::t0;

TEST(Vary, NoVaryGivesTheEmptyVariantAndMatchesEverything) {
  auto key = variant_key(fields({}), fields({{"Accept-Encoding", "gzip"}}));
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, "");
  EXPECT_TRUE(vary_matches(fields({}), "", fields({{"Accept", "x"}})));
}

TEST(Vary, KeyFormat) {
  auto key = variant_key(fields({{"Vary", "Accept-Encoding, Accept-Language"}}),
                         fields({{"Accept-Encoding", "gzip"}}));
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, "accept-encoding=gzip\naccept-language");
}

TEST(Vary, SameValueMatchesDifferentValueDoesNot) {
  http::HeaderMap response = fields({{"Vary", "Accept-Encoding"}});
  std::string stored = *variant_key(response, fields({{"Accept-Encoding", "gzip"}}));
  EXPECT_TRUE(vary_matches(response, stored, fields({{"Accept-Encoding", "gzip"}})));
  EXPECT_FALSE(vary_matches(response, stored, fields({{"Accept-Encoding", "br"}})));
  EXPECT_FALSE(vary_matches(response, stored, fields({})));
}

TEST(Vary, FieldNamesAreCaseInsensitiveAndOrderFree) {
  http::HeaderMap request = fields({{"accept-encoding", "gzip"}, {"ACCEPT-LANGUAGE", "fr"}});
  EXPECT_EQ(*variant_key(fields({{"Vary", "Accept-Language, accept-encoding"}}), request),
            *variant_key(fields({{"vary", "ACCEPT-ENCODING,Accept-Language"}}), request));
}

TEST(Vary, DuplicateNamesCountOnce) {
  http::HeaderMap request = fields({{"Accept", "a"}});
  EXPECT_EQ(*variant_key(fields({{"Vary", "Accept, accept"}}), request),
            *variant_key(fields({{"Vary", "Accept"}}), request));
}

TEST(Vary, MissingAndEmptyAreDifferent) {
  http::HeaderMap response = fields({{"Vary", "X-Flag"}});
  std::string missing = *variant_key(response, fields({}));
  std::string empty = *variant_key(response, fields({{"X-Flag", ""}}));
  EXPECT_NE(missing, empty);
  EXPECT_TRUE(vary_matches(response, missing, fields({})));
  EXPECT_FALSE(vary_matches(response, missing, fields({{"X-Flag", ""}})));
  EXPECT_TRUE(vary_matches(response, empty, fields({{"X-Flag", "  "}})));
}

TEST(Vary, SurroundingWhitespaceIsTrimmed) {
  http::HeaderMap response = fields({{"Vary", "Accept-Encoding"}});
  std::string stored = *variant_key(response, fields({{"Accept-Encoding", "gzip"}}));
  EXPECT_TRUE(vary_matches(response, stored, fields({{"Accept-Encoding", "  gzip\t"}})));
}

TEST(Vary, FieldLinesAreCombined) {
  http::HeaderMap response = fields({{"Vary", "Accept"}});
  std::string stored = *variant_key(response, fields({{"Accept", "a, b"}}));
  EXPECT_TRUE(vary_matches(response, stored, fields({{"Accept", "a"}, {"Accept", " b"}})));
}

TEST(Vary, InnerWhitespaceAndCaseArePreserved) {
  http::HeaderMap response = fields({{"Vary", "Accept, User-Agent"}});
  std::string stored = *variant_key(response, fields({{"Accept", "a, b"}, {"User-Agent", "X"}}));
  EXPECT_FALSE(vary_matches(response, stored, fields({{"Accept", "a,b"}, {"User-Agent", "X"}})));
  EXPECT_FALSE(vary_matches(response, stored, fields({{"Accept", "a, b"}, {"User-Agent", "x"}})));
}

TEST(Vary, VaryOverSeveralLines) {
  http::HeaderMap response = fields({{"Vary", "Accept"}, {"Vary", "Accept-Language"}});
  EXPECT_EQ(*vary_fields(response), (std::vector<std::string>{"accept", "accept-language"}));
}

TEST(Vary, StarNeverMatches) {
  http::HeaderMap response = fields({{"Vary", "Accept, *"}});
  EXPECT_FALSE(vary_fields(response));
  EXPECT_FALSE(variant_key(response, fields({})));
  EXPECT_FALSE(vary_matches(response, "", fields({})));
}

TEST(Vary, EmptyVaryIsNoVary) {
  EXPECT_EQ(*variant_key(fields({{"Vary", ""}}), fields({{"Accept", "x"}})), "");
}

TEST(Vary, JoinedFieldValue) {
  EXPECT_FALSE(joined_field_value(fields({}), "x"));
  EXPECT_EQ(*joined_field_value(fields({{"X", " a "}, {"x", "b"}}), "x"), "a, b");
}

TEST(SelectVariant, PicksTheMatchingVariant) {
  http::HeaderMap response = fields({{"Vary", "Accept-Encoding"}, {"Date", date_at(t0)}});
  std::string gzip = *variant_key(response, fields({{"Accept-Encoding", "gzip"}}));
  std::string br = *variant_key(response, fields({{"Accept-Encoding", "br"}}));
  std::string none = *variant_key(response, fields({}));
  std::vector<VariantCandidate> candidates = {
      {&response, gzip, t0}, {&response, br, t0}, {&response, none, t0}};
  EXPECT_EQ(select_variant(candidates, fields({{"Accept-Encoding", "br"}})), 1u);
  EXPECT_EQ(select_variant(candidates, fields({{"Accept-Encoding", "gzip"}})), 0u);
  EXPECT_EQ(select_variant(candidates, fields({})), 2u);
  EXPECT_FALSE(select_variant(candidates, fields({{"Accept-Encoding", "zstd"}})));
}

TEST(SelectVariant, MostRecentDateWinsAmongMatches) {
  // The origin changed Vary: one response without Vary and one varying on Accept both match.
  http::HeaderMap old_plain = fields({{"Date", date_at(t0 - 100)}});
  http::HeaderMap newer = fields({{"Vary", "Accept"}, {"Date", date_at(t0)}});
  std::string newer_key = *variant_key(newer, fields({{"Accept", "x"}}));
  std::vector<VariantCandidate> candidates = {{&newer, newer_key, t0}, {&old_plain, "", t0}};
  EXPECT_EQ(select_variant(candidates, fields({{"Accept", "x"}})), 0u);
  EXPECT_EQ(select_variant(candidates, fields({{"Accept", "y"}})), 1u);
}

TEST(SelectVariant, MissingDateUsesResponseTimeAndTiesGoToTheLater) {
  http::HeaderMap a = fields({});
  http::HeaderMap b = fields({});
  std::vector<VariantCandidate> candidates = {{&a, "", t0 + 5}, {&b, "", t0}};
  EXPECT_EQ(select_variant(candidates, fields({})), 0u);
  candidates[1].response_time = t0 + 5;
  EXPECT_EQ(select_variant(candidates, fields({})), 1u);
}

TEST(SelectVariant, NoCandidates) {
  EXPECT_FALSE(select_variant({}, fields({})));
}

}  // namespace
}  // namespace stavka::cache
