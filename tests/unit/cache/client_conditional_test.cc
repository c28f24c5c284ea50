// Client conditionals answered from a stored response (RFC 9111 §4.3.2; RFC 9110 §13.1,
// §15.4.5).
#include "cache/client_conditional.h"

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::date_at;
using test::fields;
using test::FieldList;
using test::t0;

constexpr auto kFull = ConditionalResult::send_full;
constexpr auto k304 = ConditionalResult::not_modified;

ConditionalResult eval(FieldList request, const StoredResponse& entry, int64_t now = t0 + 10,
                       std::string_view method = "GET") {
  return evaluate_client_conditionals(method, fields(request), entry, now);
}

StoredResponse tagged(std::string_view etag) {
  return test::stored(200, fields({{"ETag", etag}, {"Date", date_at(t0)}}));
}

TEST(IfNoneMatch, StrongTagMatches) {
  EXPECT_EQ(eval({{"If-None-Match", "\"v1\""}}, tagged("\"v1\"")), k304);
  EXPECT_EQ(eval({{"If-None-Match", "\"v2\""}}, tagged("\"v1\"")), kFull);
}

TEST(IfNoneMatch, UsesWeakComparison) {
  EXPECT_EQ(eval({{"If-None-Match", "W/\"v1\""}}, tagged("\"v1\"")), k304);
  EXPECT_EQ(eval({{"If-None-Match", "\"v1\""}}, tagged("W/\"v1\"")), k304);
  EXPECT_EQ(eval({{"If-None-Match", "W/\"v1\""}}, tagged("W/\"v1\"")), k304);
}

TEST(IfNoneMatch, AnyTagInTheListMatches) {
  EXPECT_EQ(eval({{"If-None-Match", "\"x\", \"y\" ,W/\"v1\""}}, tagged("\"v1\"")), k304);
  EXPECT_EQ(eval({{"If-None-Match", "\"x\""}, {"If-None-Match", "\"v1\""}}, tagged("\"v1\"")),
            k304);
}

TEST(IfNoneMatch, CommaInsideATagIsNotASeparator) {
  EXPECT_EQ(eval({{"If-None-Match", "\"a,b\""}}, tagged("\"a,b\"")), k304);
  EXPECT_EQ(eval({{"If-None-Match", "\"a,b\""}}, tagged("\"a\"")), kFull);
}

TEST(IfNoneMatch, StarMatchesAnyStoredResponse) {
  EXPECT_EQ(eval({{"If-None-Match", "*"}}, tagged("\"v1\"")), k304);
  EXPECT_EQ(eval({{"If-None-Match", "*"}}, test::stored(200, {{"Date", date_at(t0)}})), k304);
}

TEST(IfNoneMatch, NoStoredTagNeverMatchesAList) {
  EXPECT_EQ(eval({{"If-None-Match", "\"v1\""}}, test::stored(200, {})), kFull);
}

TEST(IfNoneMatch, MalformedListGetsTheFullResponse) {
  EXPECT_EQ(eval({{"If-None-Match", "v1"}}, tagged("\"v1\"")), kFull);
  EXPECT_EQ(eval({{"If-None-Match", "\"v1"}}, tagged("\"v1\"")), kFull);
}

TEST(IfNoneMatch, TakesPrecedenceOverIfModifiedSince) {
  StoredResponse entry = test::stored(
      200, {{"ETag", "\"v1\""}, {"Last-Modified", date_at(t0 - 100)}, {"Date", date_at(t0)}});
  // The date alone would give 304; the tag does not match, so the answer is the full response.
  EXPECT_EQ(eval({{"If-None-Match", "\"v0\""}, {"If-Modified-Since", date_at(t0)}}, entry),
            kFull);
  // Even an unreadable If-None-Match disables If-Modified-Since.
  EXPECT_EQ(eval({{"If-None-Match", "garbage"}, {"If-Modified-Since", date_at(t0)}}, entry),
            kFull);
}

TEST(IfNoneMatch, HeadIsEvaluatedOtherMethodsAreNot) {
  EXPECT_EQ(eval({{"If-None-Match", "\"v1\""}}, tagged("\"v1\""), t0, "HEAD"), k304);
  EXPECT_EQ(eval({{"If-None-Match", "\"v1\""}}, tagged("\"v1\""), t0, "POST"), kFull);
}

TEST(IfNoneMatch, OnlyAStored200IsAnsweredWith304) {
  StoredResponse not_found = test::stored(404, {{"ETag", "\"v1\""}});
  EXPECT_EQ(eval({{"If-None-Match", "\"v1\""}}, not_found), kFull);
}

TEST(IfModifiedSince, NotModifiedSince) {
  StoredResponse entry =
      test::stored(200, {{"Last-Modified", date_at(t0 - 100)}, {"Date", date_at(t0)}});
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0 - 100)}}, entry), k304);  // equal
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0 - 50)}}, entry), k304);
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0 - 101)}}, entry), kFull);
}

TEST(IfModifiedSince, InvalidDateIsIgnored) {
  StoredResponse entry = test::stored(200, {{"Last-Modified", date_at(t0 - 100)}});
  EXPECT_EQ(eval({{"If-Modified-Since", "yesterday"}}, entry), kFull);
}

TEST(IfModifiedSince, FutureDateIsIgnored) {
  StoredResponse entry = test::stored(200, {{"Last-Modified", date_at(t0 - 100)}});
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0 + 60)}}, entry, t0 + 10), kFull);
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0 + 60)}}, entry, t0 + 60), k304);
}

TEST(IfModifiedSince, MoreThanOneLineIsIgnored) {
  StoredResponse entry = test::stored(200, {{"Last-Modified", date_at(t0 - 100)}});
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0)}, {"If-Modified-Since", date_at(t0)}}, entry),
            kFull);
}

TEST(IfModifiedSince, FallsBackToDateThenReceiptTime) {
  StoredResponse dated = test::stored(200, {{"Date", date_at(t0 - 30)}});
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0 - 30)}}, dated), k304);
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0 - 31)}}, dated), kFull);
  StoredResponse undated = test::stored(200, {}, t0 - 20, t0 - 20);
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0 - 20)}}, undated), k304);
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0 - 21)}}, undated), kFull);
}

TEST(IfModifiedSince, OnlyForGetAndHead) {
  StoredResponse entry = test::stored(200, {{"Last-Modified", date_at(t0 - 100)}});
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0)}}, entry, t0 + 10, "HEAD"), k304);
  EXPECT_EQ(eval({{"If-Modified-Since", date_at(t0)}}, entry, t0 + 10, "DELETE"), kFull);
}

TEST(ClientConditionals, IfMatchAndIfUnmodifiedSinceAreNotTheCachesBusiness) {
  StoredResponse entry = tagged("\"v1\"");
  EXPECT_EQ(eval({{"If-Match", "\"other\""}}, entry), kFull);
  EXPECT_EQ(eval({{"If-Unmodified-Since", date_at(t0 - 1000)}}, entry), kFull);
}

TEST(NotModifiedFields, TheRfc9110Subset) {
  http::HeaderMap full = fields({{"Content-Type", "text/html"},
                                 {"Content-Length", "1234"},
                                 {"Cache-Control", "max-age=60"},
                                 {"CDN-Cache-Control", "max-age=600"},
                                 {"ETag", "\"v1\""},
                                 {"Last-Modified", date_at(t0 - 100)},
                                 {"Date", date_at(t0)},
                                 {"Expires", date_at(t0 + 60)},
                                 {"Vary", "Accept-Encoding"},
                                 {"Content-Location", "/a.html"},
                                 {"Set-Cookie", "a=1"},
                                 {"Age", "5"}});
  http::HeaderMap out = not_modified_fields(full);
  for (const char* kept : {"cache-control", "cdn-cache-control", "etag", "date", "expires",
                           "vary", "content-location", "age"}) {
    EXPECT_TRUE(out.contains(kept)) << kept;
  }
  for (const char* dropped : {"content-type", "content-length", "set-cookie", "last-modified"}) {
    EXPECT_FALSE(out.contains(dropped)) << dropped;
  }
}

TEST(NotModifiedFields, LastModifiedWhenThereIsNoETag) {
  http::HeaderMap out =
      not_modified_fields(fields({{"Last-Modified", date_at(t0)}, {"Content-Type", "x"}}));
  EXPECT_TRUE(out.contains("last-modified"));
  EXPECT_EQ(out.size(), 1u);
}

TEST(IfRange, AbsentAllowsTheRange) {
  EXPECT_TRUE(if_range_allows(fields({}), tagged("\"v1\"")));
}

TEST(IfRange, EntityTagNeedsAStrongMatch) {
  EXPECT_TRUE(if_range_allows(fields({{"If-Range", "\"v1\""}}), tagged("\"v1\"")));
  EXPECT_FALSE(if_range_allows(fields({{"If-Range", "\"v2\""}}), tagged("\"v1\"")));
  EXPECT_FALSE(if_range_allows(fields({{"If-Range", "W/\"v1\""}}), tagged("\"v1\"")));
  EXPECT_FALSE(if_range_allows(fields({{"If-Range", "W/\"v1\""}}), tagged("W/\"v1\"")));
  EXPECT_FALSE(if_range_allows(fields({{"If-Range", "\"v1\""}}), test::stored(200, {})));
}

TEST(IfRange, DateMustEqualAStrongLastModified) {
  StoredResponse entry = test::stored(
      200, fields({{"Last-Modified", date_at(t0 - 60)}, {"Date", date_at(t0)}}));
  EXPECT_TRUE(if_range_allows(fields({{"If-Range", date_at(t0 - 60)}}), entry));
  EXPECT_FALSE(if_range_allows(fields({{"If-Range", date_at(t0 - 61)}}), entry));
  EXPECT_FALSE(if_range_allows(fields({{"If-Range", date_at(t0)}}), entry));
  // Modified less than 60 s before Date: weak for a cache (RFC 9110 §8.8.2.2).
  StoredResponse recent = test::stored(
      200, fields({{"Last-Modified", date_at(t0 - 59)}, {"Date", date_at(t0)}}));
  EXPECT_FALSE(if_range_allows(fields({{"If-Range", date_at(t0 - 59)}}), recent));
  StoredResponse undated = test::stored(200, fields({{"Last-Modified", date_at(t0 - 600)}}));
  EXPECT_FALSE(if_range_allows(fields({{"If-Range", date_at(t0 - 600)}}), undated));
}

TEST(IfRange, UnreadableOrRepeatedDoesNotMatch) {
  EXPECT_FALSE(if_range_allows(fields({{"If-Range", "yesterday"}}), tagged("\"v1\"")));
  EXPECT_FALSE(if_range_allows(fields({{"If-Range", "\"v1\""}, {"If-Range", "\"v1\""}}),
                               tagged("\"v1\"")));
}

}  // namespace
}  // namespace stavka::cache
