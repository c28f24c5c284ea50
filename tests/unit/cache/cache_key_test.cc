// Primary cache keys and target URI normalisation.
#include "cache/cache_key.h"

#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace stavka::cache {
namespace {

using test::fields;

std::string url_of(std::string_view scheme, std::string_view host, std::string_view target) {
  auto url = request_url(scheme, host, target);
  return url ? url_string(*url) : "<none>";
}

TEST(RequestUrl, OriginForm) {
  auto url = request_url("http", "example.com", "/a/b?x=1");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->authority, "example.com");
  EXPECT_EQ(url->path, "/a/b");
  EXPECT_EQ(url->query, "?x=1");
  EXPECT_EQ(url_string(*url), "http://example.com/a/b?x=1");
}

TEST(RequestUrl, SchemeAndHostAreLowerCased) {
  EXPECT_EQ(url_of("HTTPS", "WWW.Example.COM", "/Path"), "https://www.example.com/Path");
}

TEST(RequestUrl, DefaultPortsAreDropped) {
  EXPECT_EQ(url_of("http", "example.com:80", "/"), "http://example.com/");
  EXPECT_EQ(url_of("https", "example.com:443", "/"), "https://example.com/");
  EXPECT_EQ(url_of("http", "example.com:", "/"), "http://example.com/");
  EXPECT_EQ(url_of("http", "example.com:443", "/"), "http://example.com:443/");
  EXPECT_EQ(url_of("https", "example.com:8443", "/"), "https://example.com:8443/");
}

TEST(RequestUrl, Ipv6Literals) {
  EXPECT_EQ(url_of("http", "[::1]:80", "/"), "http://[::1]/");
  EXPECT_EQ(url_of("http", "[::1]:8080", "/"), "http://[::1]:8080/");
  EXPECT_EQ(url_of("http", "[::1]", "/"), "http://[::1]/");
}

TEST(RequestUrl, AbsoluteFormNamesItsOwnAuthority) {
  EXPECT_EQ(url_of("http", "ignored.example", "http://Other.Example:80/p?q"),
            "http://other.example/p?q");
  EXPECT_EQ(url_of("http", "h", "https://secure.example"), "https://secure.example/");
}

TEST(RequestUrl, PathAndQueryAreKeptByteForByte) {
  EXPECT_EQ(url_of("http", "h", "/a/../b/%7e?B=2&a=1"), "http://h/a/../b/%7e?B=2&a=1");
  EXPECT_NE(url_of("http", "h", "/%7E"), url_of("http", "h", "/~"));
}

TEST(RequestUrl, BareQuestionMarkIsADifferentUri) {
  EXPECT_NE(url_of("http", "h", "/a?"), url_of("http", "h", "/a"));
}

TEST(RequestUrl, Rejected) {
  EXPECT_FALSE(request_url("http", "h", "*"));
  EXPECT_FALSE(request_url("http", "h", "example.com:443"));
  EXPECT_FALSE(request_url("http", "", "/a"));
  EXPECT_FALSE(request_url("http", "h", "ftp://h/a"));
  EXPECT_FALSE(request_url("http", "user@h", "/a"));
  EXPECT_FALSE(request_url("http", "h", "http://user:pw@h/a"));
  EXPECT_FALSE(request_url("gopher", "h", "/a"));
}

TEST(PrimaryKey, DefaultIsSchemeHostPathQuery) {
  auto url = *request_url("https", "Example.com", "/a?b=1");
  EXPECT_EQ(primary_key(url, fields({}), {}), "https://example.com/a?b=1");
}

TEST(PrimaryKey, IgnoreQuery) {
  CacheKeyOptions options;
  options.ignore_query = true;
  auto a = *request_url("http", "h", "/a?utm=1");
  auto b = *request_url("http", "h", "/a?utm=2");
  EXPECT_EQ(primary_key(a, fields({}), options), "http://h/a");
  EXPECT_EQ(primary_key(a, fields({}), options), primary_key(b, fields({}), options));
  EXPECT_NE(primary_key(a, fields({}), {}), primary_key(b, fields({}), {}));
}

TEST(PrimaryKey, NamedRequestFieldsAreAppended) {
  CacheKeyOptions options;
  options.request_fields = {"X-Device", "Accept-Language"};
  auto url = *request_url("http", "h", "/a");
  EXPECT_EQ(primary_key(url, fields({{"x-device", " mobile "}}), options),
            "http://h/a\nx-device=mobile\naccept-language");
  EXPECT_NE(primary_key(url, fields({}), options),
            primary_key(url, fields({{"X-Device", ""}}), options));
  EXPECT_EQ(primary_key(url, fields({{"X-Device", "a"}, {"X-Device", "b"}}), options),
            primary_key(url, fields({{"X-Device", "a, b"}}), options));
}

TEST(PrimaryKey, HttpAndHttpsAreDifferent) {
  EXPECT_NE(primary_key(*request_url("http", "h", "/"), fields({}), {}),
            primary_key(*request_url("https", "h", "/"), fields({}), {}));
}

}  // namespace
}  // namespace stavka::cache
