// Revalidation with the origin: conditional requests (RFC 9111 §4.3.1), 304 selection
// (§4.3.4) and merging (§3.2), freshness after the merge.
#include "cache/validation.h"

#include <gtest/gtest.h>

#include "cache/freshness.h"
#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::date_at;
using test::fields;
using test::t0;

TEST(ConditionalRequest, StrongETag) {
  http::HeaderMap req;
  set_conditional_headers(fields({{"ETag", "\"v1\""}}), req);
  ASSERT_TRUE(req.find("if-none-match"));
  EXPECT_EQ(*req.find("if-none-match"), "\"v1\"");
  EXPECT_FALSE(req.contains("if-modified-since"));
}

TEST(ConditionalRequest, WeakETagIsSentWeak) {
  http::HeaderMap req;
  set_conditional_headers(fields({{"ETag", "W/\"v1\""}}), req);
  EXPECT_EQ(*req.find("if-none-match"), "W/\"v1\"");
}

TEST(ConditionalRequest, LastModifiedOnly) {
  http::HeaderMap req;
  std::string lm = date_at(t0 - 100);
  set_conditional_headers(fields({{"Last-Modified", lm}}), req);
  EXPECT_FALSE(req.contains("if-none-match"));
  EXPECT_EQ(*req.find("if-modified-since"), lm);
}

TEST(ConditionalRequest, BothValidatorsAreSent) {
  http::HeaderMap req;
  set_conditional_headers(fields({{"ETag", "\"v1\""}, {"Last-Modified", date_at(t0)}}), req);
  EXPECT_TRUE(req.contains("if-none-match"));
  EXPECT_TRUE(req.contains("if-modified-since"));
}

TEST(ConditionalRequest, NoValidatorMeansUnconditional) {
  http::HeaderMap req = fields({{"If-None-Match", "\"client\""},
                                {"If-Modified-Since", date_at(t0)},
                                {"Accept", "*/*"}});
  set_conditional_headers(fields({{"Content-Type", "text/plain"}}), req);
  EXPECT_FALSE(req.contains("if-none-match"));
  EXPECT_FALSE(req.contains("if-modified-since"));
  EXPECT_TRUE(req.contains("accept"));
}

TEST(ConditionalRequest, ClientValidatorsAreReplaced) {
  http::HeaderMap req = fields({{"If-None-Match", "\"client\""}});
  set_conditional_headers(fields({{"ETag", "\"stored\""}}), req);
  EXPECT_EQ(req.all("if-none-match").size(), 1u);
  EXPECT_EQ(*req.find("if-none-match"), "\"stored\"");
}

TEST(ConditionalRequest, InvalidValidatorsAreNotSent) {
  http::HeaderMap req;
  set_conditional_headers(fields({{"ETag", "unquoted"}, {"Last-Modified", "yesterday"}}), req);
  EXPECT_TRUE(req.empty());
  EXPECT_FALSE(has_validator(fields({{"ETag", "unquoted"}, {"Last-Modified", "yesterday"}})));
}

TEST(ConditionalRequest, HasValidator) {
  EXPECT_TRUE(has_validator(fields({{"ETag", "\"a\""}})));
  EXPECT_TRUE(has_validator(fields({{"Last-Modified", date_at(t0)}})));
  EXPECT_FALSE(has_validator(fields({{"Date", date_at(t0)}})));
}

// Whether a 304 with fields `response` may freshen a stored response with fields `stored`.
bool applies(test::FieldList stored, test::FieldList response) {
  return not_modified_applies(fields(stored), fields(response), t0);
}

TEST(NotModifiedApplies, StrongETagMustMatchStrongly) {
  EXPECT_TRUE(applies({{"ETag", "\"a\""}}, {{"ETag", "\"a\""}}));
  EXPECT_FALSE(applies({{"ETag", "\"a\""}}, {{"ETag", "\"b\""}}));
  EXPECT_FALSE(applies({{"ETag", "W/\"a\""}}, {{"ETag", "\"a\""}}));
}

TEST(NotModifiedApplies, WeakETagMatchesWeakly) {
  EXPECT_TRUE(applies({{"ETag", "\"a\""}}, {{"ETag", "W/\"a\""}}));
  EXPECT_TRUE(applies({{"ETag", "W/\"a\""}}, {{"ETag", "W/\"a\""}}));
  EXPECT_FALSE(applies({{"ETag", "W/\"a\""}}, {{"ETag", "W/\"b\""}}));
}

TEST(NotModifiedApplies, ETagInResponseButNoneStored) {
  EXPECT_FALSE(applies({{"Last-Modified", date_at(t0)}}, {{"ETag", "\"a\""}}));
}

TEST(NotModifiedApplies, LastModifiedMustBeEqual) {
  std::string lm = date_at(t0 - 500);
  EXPECT_TRUE(applies({{"Last-Modified", lm}}, {{"Last-Modified", lm}}));
  EXPECT_FALSE(applies({{"Last-Modified", lm}}, {{"Last-Modified", date_at(t0)}}));
  EXPECT_FALSE(applies({}, {{"Last-Modified", lm}}));
}

TEST(NotModifiedApplies, LastModifiedComparedAsDates) {
  // The same instant in RFC 850 form and IMF-fixdate form.
  EXPECT_TRUE(applies({{"Last-Modified", "Sunday, 06-Nov-94 08:49:37 GMT"}},
                      {{"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}}));
}

TEST(NotModifiedApplies, NoValidatorInThe304Applies) {
  EXPECT_TRUE(applies({{"ETag", "\"a\""}}, {{"Date", date_at(t0)}}));
}

TEST(MergeNotModified, ReplacesAndAddsFields) {
  http::HeaderMap stored = fields({{"Content-Type", "text/html"},
                                   {"Cache-Control", "max-age=60"},
                                   {"ETag", "\"a\""},
                                   {"Date", date_at(t0)}});
  merge_not_modified(stored,
                     fields({{"Cache-Control", "max-age=300"},
                             {"Date", date_at(t0 + 100)},
                             {"X-New", "1"},
                             {"ETag", "\"a\""}}),
                     t0 + 100);
  EXPECT_EQ(*stored.find("cache-control"), "max-age=300");
  EXPECT_EQ(*stored.find("date"), date_at(t0 + 100));
  EXPECT_EQ(*stored.find("x-new"), "1");
  EXPECT_EQ(*stored.find("content-type"), "text/html");
  EXPECT_EQ(stored.all("cache-control").size(), 1u);
  EXPECT_EQ(stored.begin()->name, "Content-Type");  // position of replaced fields kept
}

TEST(MergeNotModified, ContentLengthAndFramingAreNotTaken) {
  http::HeaderMap stored = fields({{"Content-Length", "1234"}, {"Content-Encoding", "gzip"}});
  merge_not_modified(stored,
                     fields({{"Content-Length", "0"},
                             {"Transfer-Encoding", "chunked"},
                             {"Connection", "keep-alive, X-Hop"},
                             {"X-Hop", "1"},
                             {"Keep-Alive", "timeout=5"},
                             {"Content-Encoding", "br"},
                             {"Content-Range", "bytes 0-1/2"},
                             {"Date", date_at(t0)}}),
                     t0);
  EXPECT_EQ(*stored.find("content-length"), "1234");
  EXPECT_EQ(*stored.find("content-encoding"), "gzip");
  EXPECT_FALSE(stored.contains("transfer-encoding"));
  EXPECT_FALSE(stored.contains("connection"));
  EXPECT_FALSE(stored.contains("x-hop"));
  EXPECT_FALSE(stored.contains("keep-alive"));
  EXPECT_FALSE(stored.contains("content-range"));
}

TEST(MergeNotModified, PrivateFieldsOfThe304AreNotStored) {
  http::HeaderMap stored = fields({{"Cache-Control", "max-age=60"}});
  merge_not_modified(stored,
                     fields({{"Cache-Control", "max-age=60, private=\"Set-Cookie\""},
                             {"Set-Cookie", "session=1"}}),
                     t0);
  EXPECT_FALSE(stored.contains("set-cookie"));
}

TEST(MergeNotModified, MultiValuedFieldsAreReplacedAsAWhole) {
  http::HeaderMap stored = fields({{"Link", "<a>"}, {"Link", "<b>"}, {"Link", "<c>"}});
  merge_not_modified(stored, fields({{"Link", "<x>"}, {"Link", "<y>"}}), t0);
  auto links = stored.all("link");
  ASSERT_EQ(links.size(), 2u);
  EXPECT_EQ(links[0], "<x>");
  EXPECT_EQ(links[1], "<y>");
}

TEST(MergeNotModified, MissingDateIsTheReceiptTime) {
  http::HeaderMap stored = fields({{"Date", date_at(t0)}});
  merge_not_modified(stored, fields({{"Cache-Control", "max-age=10"}}), t0 + 500);
  EXPECT_EQ(*stored.find("date"), date_at(t0 + 500));
}

TEST(MergeNotModified, StaleAgeIsDroppedAndNewAgeTaken) {
  http::HeaderMap stored = fields({{"Age", "100"}});
  merge_not_modified(stored, fields({{"Date", date_at(t0)}}), t0);
  EXPECT_FALSE(stored.contains("age"));
  merge_not_modified(stored, fields({{"Date", date_at(t0)}, {"Age", "7"}}), t0);
  EXPECT_EQ(*stored.find("age"), "7");
}

TEST(Freshen, NewTimesAndFreshnessFromMergedFields) {
  test::SimClock clock;
  StoredResponse entry = test::stored(
      200, {{"Date", date_at(t0)}, {"Cache-Control", "max-age=60"}, {"ETag", "\"a\""}});
  clock.advance(100);
  ASSERT_FALSE(evaluate_freshness(entry, response_directives(entry.headers), {}, clock.now)
                   .fresh());

  // Revalidated: request sent at t0+100, 304 received at t0+101, generated at t0+100.
  http::HeaderMap not_modified = fields(
      {{"Date", date_at(t0 + 100)}, {"Cache-Control", "max-age=120"}, {"ETag", "\"a\""}});
  ASSERT_TRUE(not_modified_applies(entry.headers, not_modified, clock.now));
  StoredResponse updated = freshen(entry, not_modified, t0 + 100, t0 + 101);
  EXPECT_EQ(updated.request_time, t0 + 100);
  EXPECT_EQ(updated.response_time, t0 + 101);
  EXPECT_EQ(updated.status, 200);

  clock.advance(50);  // t0+150
  Freshness f = evaluate_freshness(updated, response_directives(updated.headers), {}, clock.now);
  EXPECT_TRUE(f.fresh());
  EXPECT_EQ(f.lifetime.seconds, 120);
  EXPECT_EQ(f.age, 50);  // apparent age 1 (delay 1) + 49 s resident
}

TEST(Freshen, OldAgeDoesNotCountAgainstTheRefreshedResponse) {
  StoredResponse entry =
      test::stored(200, {{"Date", date_at(t0)}, {"Age", "50"}, {"Cache-Control", "max-age=60"}});
  StoredResponse updated = freshen(entry, fields({}), t0 + 1000, t0 + 1000);
  EXPECT_EQ(current_age(updated, t0 + 1000), 0);
  EXPECT_TRUE(
      evaluate_freshness(updated, response_directives(updated.headers), {}, t0 + 1059).fresh());
}

}  // namespace
}  // namespace stavka::cache
