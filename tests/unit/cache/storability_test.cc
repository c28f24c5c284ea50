// Storability for a shared cache (RFC 9111 §3, §3.5, §5.2) and stripping of unstorable fields.
#include "cache/storability.h"

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::fields;
using test::FieldList;

Storability check(std::string_view method, FieldList request, int status, FieldList response) {
  http::HeaderMap req = fields(request);
  http::HeaderMap resp = fields(response);
  return check_storable(method, req, request_directives(req), status, resp,
                        response_directives(resp));
}

StoreReason reason(std::string_view method, FieldList request, int status, FieldList response) {
  return check(method, request, status, response).reason;
}

TEST(Storability, PlainOkIsStorableHeuristically) {
  EXPECT_TRUE(check("GET", {}, 200, {}).storable());
}

TEST(Storability, OnlyGet) {
  EXPECT_EQ(reason("HEAD", {}, 200, {{"Cache-Control", "max-age=60"}}), StoreReason::method);
  EXPECT_EQ(reason("POST", {}, 200, {{"Cache-Control", "max-age=60"}}), StoreReason::method);
  EXPECT_EQ(reason("get", {}, 200, {}), StoreReason::method);  // methods are case-sensitive
}

TEST(Storability, RangeRequestsAreNotStoredYet) {
  EXPECT_EQ(reason("GET", {{"Range", "bytes=0-99"}}, 200, {}), StoreReason::range_request);
}

TEST(Storability, PartialContentIsNotStoredYet) {
  EXPECT_EQ(reason("GET", {}, 206, {{"Cache-Control", "max-age=60"}}),
            StoreReason::partial_content);
}

TEST(Storability, NotModifiedIsNeverStoredAsAnObject) {
  EXPECT_EQ(reason("GET", {}, 304, {{"Cache-Control", "max-age=60"}}), StoreReason::not_modified);
}

TEST(Storability, InformationalIsNotFinal) {
  EXPECT_EQ(reason("GET", {}, 103, {}), StoreReason::status_not_final);
}

TEST(Storability, RequestNoStore) {
  EXPECT_EQ(reason("GET", {{"Cache-Control", "no-store"}}, 200, {}),
            StoreReason::request_no_store);
}

TEST(Storability, ResponseNoStore) {
  EXPECT_EQ(reason("GET", {}, 200, {{"Cache-Control", "max-age=60, no-store"}}),
            StoreReason::response_no_store);
}

TEST(Storability, UnqualifiedPrivateIsNotStoredBySharedCache) {
  EXPECT_EQ(reason("GET", {}, 200, {{"Cache-Control", "private, max-age=60"}}),
            StoreReason::private_response);
}

TEST(Storability, QualifiedPrivateStoresWithoutTheNamedFields) {
  Storability s = check("GET", {}, 200,
                        {{"Cache-Control", "private=\"Set-Cookie, X-User\", max-age=60"}});
  ASSERT_TRUE(s.storable());
  EXPECT_EQ(s.strip_fields, (std::vector<std::string>{"set-cookie", "x-user"}));

  http::HeaderMap h = fields({{"Content-Type", "text/html"},
                              {"Set-Cookie", "a=1"},
                              {"X-User", "bob"},
                              {"set-cookie", "b=2"}});
  remove_unstorable_fields(h, s.strip_fields);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(*h.find("content-type"), "text/html");
}

TEST(Storability, QualifiedPrivateDoesNotGrantStorage) {
  EXPECT_EQ(reason("GET", {}, 302, {{"Cache-Control", "private=\"x\""}}),
            StoreReason::not_cacheable_status);
}

TEST(Storability, NoCacheResponsesMayBeStored) {
  EXPECT_TRUE(check("GET", {}, 200, {{"Cache-Control", "no-cache"}}).storable());
  Storability q = check("GET", {}, 200, {{"Cache-Control", "no-cache=\"Set-Cookie\""}});
  EXPECT_TRUE(q.storable());
  EXPECT_TRUE(q.strip_fields.empty());  // no-cache fields are stored, removed when served
}

TEST(Storability, AuthorizationNeedsExplicitPermission) {
  FieldList auth = {{"Authorization", "Bearer x"}};
  EXPECT_EQ(reason("GET", auth, 200, {}), StoreReason::authorization);
  EXPECT_EQ(reason("GET", auth, 200, {{"Cache-Control", "max-age=60"}}),
            StoreReason::authorization);
  EXPECT_TRUE(check("GET", auth, 200, {{"Cache-Control", "public"}}).storable());
  EXPECT_TRUE(check("GET", auth, 200, {{"Cache-Control", "s-maxage=60"}}).storable());
  EXPECT_TRUE(
      check("GET", auth, 200, {{"Cache-Control", "must-revalidate, max-age=60"}}).storable());
  EXPECT_EQ(reason("GET", auth, 200, {{"Cache-Control", "proxy-revalidate, max-age=60"}}),
            StoreReason::authorization);
}

TEST(Storability, VaryStarIsNeverStored) {
  EXPECT_EQ(reason("GET", {}, 200, {{"Vary", "*"}}), StoreReason::vary_star);
  EXPECT_EQ(reason("GET", {}, 200, {{"Vary", "Accept-Encoding"}, {"Vary", "*"}}),
            StoreReason::vary_star);
  EXPECT_TRUE(check("GET", {}, 200, {{"Vary", "Accept-Encoding"}}).storable());
}

TEST(Storability, StatusesWithoutHeuristicNeedExplicitFreshness) {
  EXPECT_EQ(reason("GET", {}, 302, {}), StoreReason::not_cacheable_status);
  EXPECT_EQ(reason("GET", {}, 500, {}), StoreReason::not_cacheable_status);
  EXPECT_TRUE(check("GET", {}, 302, {{"Cache-Control", "max-age=60"}}).storable());
  EXPECT_TRUE(check("GET", {}, 307, {{"Cache-Control", "s-maxage=60"}}).storable());
  EXPECT_TRUE(check("GET", {}, 302, {{"Expires", "Thu, 01 Jan 2037 00:00:00 GMT"}}).storable());
  EXPECT_TRUE(check("GET", {}, 302, {{"Expires", "0"}}).storable());  // stored, already stale
  EXPECT_TRUE(check("GET", {}, 503, {{"Cache-Control", "public"}}).storable());
}

TEST(Storability, HeuristicallyCacheableErrorsAreStorable) {
  EXPECT_TRUE(check("GET", {}, 404, {}).storable());
  EXPECT_TRUE(check("GET", {}, 410, {}).storable());
  EXPECT_TRUE(check("GET", {}, 501, {}).storable());
}

TEST(Storability, MustUnderstandWithAKnownStatusOverridesNoStore) {
  EXPECT_TRUE(
      check("GET", {}, 200, {{"Cache-Control", "must-understand, no-store, max-age=60"}})
          .storable());
}

TEST(Storability, MustUnderstandWithAnUnknownStatusIsNotStored) {
  EXPECT_EQ(reason("GET", {}, 299, {{"Cache-Control", "must-understand, no-store, max-age=60"}}),
            StoreReason::must_understand);
  EXPECT_EQ(reason("GET", {}, 299, {{"Cache-Control", "must-understand, max-age=60"}}),
            StoreReason::must_understand);
  // Without must-understand an unknown status with explicit freshness is fine (§3).
  EXPECT_TRUE(check("GET", {}, 299, {{"Cache-Control", "max-age=60"}}).storable());
}

TEST(Storability, MustUnderstandDoesNotOverridePrivate) {
  EXPECT_EQ(reason("GET", {}, 200, {{"Cache-Control", "must-understand, no-store, private"}}),
            StoreReason::private_response);
}

TEST(Storability, CdnCacheControlGovernsStorage) {
  // RFC 9213 §2.1: the targeted field replaces Cache-Control for this cache.
  EXPECT_TRUE(check("GET", {}, 200,
                    {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=60"}})
                  .storable());
  EXPECT_EQ(reason("GET", {}, 200,
                   {{"Cache-Control", "max-age=60"}, {"CDN-Cache-Control", "no-store"}}),
            StoreReason::response_no_store);
  EXPECT_EQ(reason("GET", {}, 200,
                   {{"Cache-Control", "public"}, {"CDN-Cache-Control", "private"}}),
            StoreReason::private_response);
}

TEST(Storability, ExpiresDoesNotGrantStorageUnderCdnCacheControl) {
  EXPECT_EQ(reason("GET", {}, 302,
                   {{"Expires", "Thu, 01 Jan 2037 00:00:00 GMT"},
                    {"CDN-Cache-Control", "stale-if-error=60"}}),
            StoreReason::not_cacheable_status);
}

TEST(Storability, UnderstoodStatuses) {
  EXPECT_TRUE(is_understood_status(200));
  EXPECT_TRUE(is_understood_status(404));
  EXPECT_TRUE(is_understood_status(302));
  EXPECT_FALSE(is_understood_status(206));
  EXPECT_FALSE(is_understood_status(304));
  EXPECT_FALSE(is_understood_status(299));
  EXPECT_FALSE(is_understood_status(599));
}

TEST(Storability, ReasonNames) {
  EXPECT_STREQ(store_reason_name(StoreReason::response_no_store), "response-no-store");
  EXPECT_STREQ(store_reason_name(StoreReason::vary_star), "vary-star");
  EXPECT_STREQ(store_reason_name(StoreReason::storable), "storable");
  EXPECT_STREQ(store_reason_name(StoreReason::private_response), "private");
}

TEST(UnstorableFields, HopByHopAndConnectionListedFieldsAreRemoved) {
  http::HeaderMap h = fields({{"Connection", "close, X-Hop"},
                              {"X-Hop", "1"},
                              {"Keep-Alive", "timeout=5"},
                              {"Transfer-Encoding", "chunked"},
                              {"TE", "trailers"},
                              {"Trailer", "X-Sum"},
                              {"Upgrade", "h2c"},
                              {"Proxy-Connection", "keep-alive"},
                              {"Proxy-Authenticate", "Basic"},
                              {"Proxy-Authentication-Info", "x"},
                              {"Content-Length", "10"},
                              {"ETag", "\"a\""}});
  remove_unstorable_fields(h, {});
  ASSERT_EQ(h.size(), 2u);
  EXPECT_TRUE(h.contains("content-length"));
  EXPECT_TRUE(h.contains("etag"));
}

}  // namespace
}  // namespace stavka::cache
