#include "proxy/forwarding.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace stavka::proxy {
namespace {

ForwardInfo info() { return ForwardInfo{"10.0.0.9", "example.com:8080", "", "stavka", "http"}; }

TEST(Forwarding, RemovesHopByHopAndFieldsNamedInConnection) {
  http::RequestHead h;
  h.method = "GET";
  h.target = "/x";
  h.headers.add("Connection", "keep-alive, X-Secret");
  h.headers.add("X-Secret", "1");
  h.headers.add("Keep-Alive", "timeout=5");
  h.headers.add("TE", "trailers");
  h.headers.add("Trailer", "X-T");
  h.headers.add("Transfer-Encoding", "chunked");
  h.headers.add("Upgrade", "websocket");
  h.headers.add("Proxy-Authorization", "Basic x");
  h.headers.add("Proxy-Connection", "keep-alive");
  h.headers.add("Expect", "100-continue");
  h.headers.add("Accept", "*/*");
  to_origin_request(h, "/x", info());
  for (const char* gone : {"connection", "x-secret", "keep-alive", "te", "trailer",
                           "transfer-encoding", "upgrade", "proxy-authorization",
                           "proxy-connection", "expect"}) {
    EXPECT_FALSE(h.headers.contains(gone)) << gone;
  }
  EXPECT_EQ(*h.headers.find("accept"), "*/*");
}

TEST(Forwarding, AddsForwardingFields) {
  http::RequestHead h;
  h.method = "GET";
  h.target = "http://example.com:8080/a?b";
  h.version_minor = 0;
  h.headers.add("Host", "example.com:8080");
  h.headers.add("X-Forwarded-For", "1.2.3.4");
  h.headers.add("X-Forwarded-For", "5.6.7.8");
  h.headers.add("Via", "1.1 edge");
  h.headers.add("X-Forwarded-Proto", "https");
  to_origin_request(h, "/a?b", info());
  EXPECT_EQ(h.target, "/a?b");
  EXPECT_EQ(*h.headers.find("x-forwarded-for"), "1.2.3.4, 5.6.7.8, 10.0.0.9");
  EXPECT_EQ(h.headers.all("x-forwarded-for").size(), 1u);
  EXPECT_EQ(*h.headers.find("x-forwarded-proto"), "http");
  EXPECT_EQ(*h.headers.find("x-forwarded-host"), "example.com:8080");
  EXPECT_EQ(*h.headers.find("host"), "example.com:8080");
  EXPECT_EQ(*h.headers.find("via"), "1.1 edge, 1.0 stavka");  // the client's version
  EXPECT_EQ(h.version_minor, 1);
}

TEST(Forwarding, OriginHostOverride) {
  http::RequestHead h;
  h.headers.add("Host", "example.com");
  ForwardInfo i = info();
  i.origin_host = "backend.internal";
  to_origin_request(h, "/", i);
  EXPECT_EQ(*h.headers.find("host"), "backend.internal");
  EXPECT_EQ(*h.headers.find("x-forwarded-host"), "example.com:8080");
}

TEST(Forwarding, ResponseGetsViaAndLosesHopByHop) {
  http::ResponseHead r;
  r.headers.add("Connection", "close, X-Internal");
  r.headers.add("X-Internal", "1");
  r.headers.add("Proxy-Authenticate", "Basic");
  r.headers.add("Content-Type", "text/plain");
  to_client_response(r, "stavka");
  EXPECT_FALSE(r.headers.contains("connection"));
  EXPECT_FALSE(r.headers.contains("x-internal"));
  EXPECT_FALSE(r.headers.contains("proxy-authenticate"));
  EXPECT_EQ(*r.headers.find("via"), "1.1 stavka");
}

TEST(Forwarding, HostKeepsItsPlaceAndTheRestKeepsItsOrder) {
  http::RequestHead h;
  h.headers.add("host", "example.com:8080");
  h.headers.add("Accept", "*/*");
  h.headers.add("x-forwarded-for", "1.2.3.4");
  h.headers.add("Cookie", "a=1");
  h.headers.add("X-Forwarded-For", "5.6.7.8");
  h.headers.add("Cookie", "b=2");
  to_origin_request(h, "/", info());
  std::vector<std::pair<std::string, std::string>> got;
  for (const http::Header& f : h.headers) got.emplace_back(f.name, f.value);
  std::vector<std::pair<std::string, std::string>> want = {
      {"Host", "example.com:8080"},
      {"Accept", "*/*"},
      {"X-Forwarded-For", "1.2.3.4, 5.6.7.8, 10.0.0.9"},
      {"Cookie", "a=1"},
      {"Cookie", "b=2"},
      {"X-Forwarded-Proto", "http"},
      {"X-Forwarded-Host", "example.com:8080"},
      {"Via", "1.1 stavka"},
  };
  EXPECT_EQ(got, want);
}

// A client may name any field in Connection, forwarding fields included: it is dropped like
// any hop-by-hop field, and Stavka's own is added.
TEST(Forwarding, ConnectionCanNameForwardingFields) {
  http::RequestHead h;
  h.headers.add("Connection", "X-Forwarded-For, Host");
  h.headers.add("Host", "example.com:8080");
  h.headers.add("X-Forwarded-For", "1.2.3.4");
  to_origin_request(h, "/", info());
  EXPECT_EQ(h.headers.all("x-forwarded-for"), std::vector<std::string_view>{"10.0.0.9"});
  EXPECT_EQ(h.headers.all("host"), std::vector<std::string_view>{"example.com:8080"});
  EXPECT_FALSE(h.headers.contains("connection"));
}

TEST(Forwarding, ResponseKeepsEarlierViaEntriesAndLosesOwnCacheControl) {
  http::ResponseHead r;
  r.version_minor = 0;
  r.headers.add("Via", "1.1 shield");
  r.headers.add("Stavka-Cache-Control", "max-age=60");
  r.headers.add("Content-Type", "text/plain");
  r.headers.add("via", "2 inner");
  to_client_response(r, "stavka");
  EXPECT_EQ(r.headers.all("via"), std::vector<std::string_view>{"1.1 shield, 2 inner, 1.0 stavka"});
  EXPECT_FALSE(r.headers.contains("stavka-cache-control"));
  EXPECT_EQ(*r.headers.find("content-type"), "text/plain");
}

TEST(Forwarding, SplitAbsoluteTarget) {
  std::string_view authority, path;
  ASSERT_TRUE(split_absolute_target("http://Example.com:81/p?q", &authority, &path));
  EXPECT_EQ(authority, "Example.com:81");
  EXPECT_EQ(path, "/p?q");
  ASSERT_TRUE(split_absolute_target("http://example.com", &authority, &path));
  EXPECT_EQ(path, "/");
  EXPECT_FALSE(split_absolute_target("ftp://example.com/", &authority, &path));
  EXPECT_FALSE(split_absolute_target("http://user@example.com/", &authority, &path));
  EXPECT_FALSE(split_absolute_target("/relative", &authority, &path));
}

}  // namespace
}  // namespace stavka::proxy
