// HeaderMap, iequals, for_each_token, reason_phrase and is_idempotent_method.
//
// Single-threaded GoogleTest cases on plain values.
#include "http/headers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/message.h"

namespace stavka::http {
namespace {

TEST(Iequals, IgnoresAsciiCaseOnly) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Host", "Hosts"));
  EXPECT_FALSE(iequals("a", "b"));
  EXPECT_FALSE(iequals("@", "`"));  // 0x40 vs 0x60: not letters, so not equal
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("\xC3\x89", "\xC3\xA9"));  // no Unicode folding
}

TEST(HeaderMap, AddKeepsOrderAndSpelling) {
  HeaderMap h;
  h.add("Set-Cookie", "a=1");
  h.add("X-Other", "x");
  h.add("set-cookie", "b=2");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].name, "Set-Cookie");
  EXPECT_EQ(h[2].name, "set-cookie");
  EXPECT_EQ(*h.find("SET-COOKIE"), "a=1");
  EXPECT_EQ(h.all("Set-Cookie"), (std::vector<std::string_view>{"a=1", "b=2"}));
  EXPECT_TRUE(h.contains("x-other"));
  EXPECT_FALSE(h.contains("x-missing"));
  EXPECT_FALSE(h.find("x-missing"));
  EXPECT_TRUE(h.all("x-missing").empty());
}

TEST(HeaderMap, SetReplacesAllAtTheFirstPosition) {
  HeaderMap h;
  h.add("A", "1");
  h.add("via", "x");
  h.add("B", "2");
  h.add("Via", "y");
  h.set("VIA", "z");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[1].name, "VIA");
  EXPECT_EQ(h[1].value, "z");
  EXPECT_EQ(h[2].name, "B");
  h.set("New", "n");
  EXPECT_EQ(h[h.size() - 1].name, "New");
  EXPECT_EQ(h.size(), 4u);
}

TEST(HeaderMap, RemoveAndRemoveIf) {
  HeaderMap h;
  h.add("A", "1");
  h.add("a", "2");
  h.add("B", "3");
  EXPECT_EQ(h.remove("A"), 2u);
  EXPECT_EQ(h.remove("A"), 0u);
  EXPECT_EQ(h.size(), 1u);
  h.add("X-1", "");
  h.add("X-2", "");
  EXPECT_EQ(h.remove_if([](const Header& f) { return f.name.starts_with("X-"); }), 2u);
  EXPECT_EQ(h.size(), 1u);
  h.clear();
  EXPECT_TRUE(h.empty());
}

TEST(HeaderMap, KeepsEachFieldAsItsWireLine) {
  HeaderMap h;
  h.add("A", "1");
  h.add("Bb", "");
  EXPECT_EQ(h.line(0), "A: 1\r\n");
  EXPECT_EQ(h.line(1), "Bb: \r\n");
  EXPECT_EQ(h.line(0).data() + h.line(0).size(), h.line(1).data());  // one run of lines
  h.replace(0, "Aa", "one");  // a new line at the end of the buffer, in the old position
  EXPECT_EQ(h[0].name, "Aa");
  EXPECT_EQ(h[0].value, "one");
  EXPECT_EQ(h.line(0), "Aa: one\r\n");
  EXPECT_NE(h.line(0).data() + h.line(0).size(), h.line(1).data());
  h.insert(0, "First", "0");
  h.insert(h.size(), "Last", "9");
  std::vector<std::string> lines;
  for (size_t i = 0; i < h.size(); ++i) lines.emplace_back(h.line(i));
  EXPECT_EQ(lines, (std::vector<std::string>{"First: 0\r\n", "Aa: one\r\n", "Bb: \r\n",
                                             "Last: 9\r\n"}));
}

TEST(HeaderMap, AddsAValueTakenFromItself) {
  HeaderMap h;
  h.add("Original", std::string(40, 'v'));
  for (int i = 0; i < 20; ++i) h.add("Copy", *h.find("original"));  // the buffer grows meanwhile
  for (const Header& f : h) EXPECT_EQ(f.value, std::string(40, 'v')) << f.name;
  h.replace(0, h[1].name, h[2].value);
  EXPECT_EQ(h[0].name, "Copy");
  EXPECT_EQ(h[0].value, std::string(40, 'v'));
}

TEST(HeaderMap, CompactsWhatRemovedAndReplacedFieldsLeftBehind) {
  HeaderMap h;
  h.add("Keep", "k");
  for (int i = 0; i < 1000; ++i) h.set("Counter", std::to_string(i));
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(*h.find("counter"), "999");
  EXPECT_EQ(h[0].name, "Keep");
  EXPECT_EQ(h.line(0), "Keep: k\r\n");
  EXPECT_EQ(h.line(1), "Counter: 999\r\n");
  EXPECT_LT(h.buffer_size(), 3000u);  // not the ~13,000 bytes of every line ever written
  for (int i = 0; i < 1000; ++i) h.add("X", "some value");
  h.remove("x");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_LT(h.buffer_size(), 100u);
  EXPECT_EQ(*h.find("keep"), "k");
}

TEST(HeaderMap, ClearKeepsTheBufferUnlessItGrewPastTheLimit) {
  HeaderMap h;
  h.add("A", std::string(100, 'a'));
  h.clear(1000);
  EXPECT_TRUE(h.empty());
  EXPECT_GE(h.buffer_capacity(), 100u);  // kept for the next message
  h.add("B", "b");
  EXPECT_EQ(h.line(0), "B: b\r\n");
  h.add("Big", std::string(5000, 'x'));
  h.clear(1000);  // the 5 KB buffer goes
  EXPECT_EQ(h.buffer_capacity(), 0u);
  h.add("C", "c");
  EXPECT_EQ(*h.find("c"), "c");
}

TEST(HeaderMap, AssignCopiesFieldsAndTheirOrder) {
  HeaderMap from;
  from.add("A", "1");
  from.add("B", "2");
  from.remove("A");
  from.add("C", "3");
  HeaderMap to;
  to.add("Old", "x");
  to.assign(from, 4, 64);
  ASSERT_EQ(to.size(), 2u);
  EXPECT_EQ(to[0].name, "B");
  EXPECT_EQ(to[1].value, "3");
  EXPECT_FALSE(to.contains("old"));
  EXPECT_EQ(to.count("c"), 1u);
}

TEST(KnownField, NamesAreRecognisedWhateverTheirCase) {
  EXPECT_EQ(classify_field("TE"), KnownField::te);
  EXPECT_EQ(classify_field("via"), KnownField::via);
  EXPECT_EQ(classify_field("HOST"), KnownField::host);
  EXPECT_EQ(classify_field("Expect"), KnownField::expect);
  EXPECT_EQ(classify_field("Trailer"), KnownField::trailer);
  EXPECT_EQ(classify_field("upgrade"), KnownField::upgrade);
  EXPECT_EQ(classify_field("Connection"), KnownField::connection);
  EXPECT_EQ(classify_field("Keep-Alive"), KnownField::keep_alive);
  EXPECT_EQ(classify_field("content-LENGTH"), KnownField::content_length);
  EXPECT_EQ(classify_field("X-Forwarded-For"), KnownField::x_forwarded_for);
  EXPECT_EQ(classify_field("x-forwarded-host"), KnownField::x_forwarded_host);
  EXPECT_EQ(classify_field("Transfer-Encoding"), KnownField::transfer_encoding);
  EXPECT_EQ(classify_field("X-Forwarded-Proto"), KnownField::x_forwarded_proto);
  EXPECT_EQ(classify_field("Proxy-Authorization"), KnownField::proxy_any);
  EXPECT_EQ(classify_field("proxy-"), KnownField::proxy_any);
  for (const char* other : {"", "Hosts", "Proxy", "Vias", "Content-Type", "X-Forwarded-Port"}) {
    EXPECT_EQ(classify_field(other), KnownField::other) << other;
  }
}

TEST(KnownField, EachFieldCarriesItsKindHoweverItCameIn) {
  HeaderMap h;
  h.add("Host", "a");
  h.add("X-Other", "b");
  h.insert(0, "Connection", "close");
  h.replace(1, "Via", "1.1 x");
  EXPECT_EQ(h[0].known, KnownField::connection);
  EXPECT_EQ(h[1].known, KnownField::via);
  EXPECT_EQ(h[2].known, KnownField::other);
  HeaderMap copy;
  copy.assign(h, 0, 0);
  EXPECT_EQ(copy[1].known, KnownField::via);
}

TEST(HeaderMap, HasTokenAcrossFieldsAndLists) {
  HeaderMap h;
  h.add("Connection", "keep-alive, Upgrade");
  h.add("connection", " foo ,, bar\t");
  h.add("Cache-Control", "no-cache=\"a\"");
  EXPECT_TRUE(h.has_token("Connection", "upgrade"));
  EXPECT_TRUE(h.has_token("connection", "KEEP-ALIVE"));
  EXPECT_TRUE(h.has_token("Connection", "bar"));
  EXPECT_TRUE(h.has_token("Connection", "foo"));
  EXPECT_FALSE(h.has_token("Connection", "close"));
  EXPECT_FALSE(h.has_token("Connection", "keep"));
  EXPECT_FALSE(h.has_token("Cache-Control", "no-cache"));
  EXPECT_FALSE(h.has_token("Missing", "x"));
}

TEST(ForEachToken, TrimsAndSkipsEmpty) {
  std::vector<std::string> seen;
  for_each_token(" a,b ,\t,c\t, ,", [&](std::string_view t) { seen.emplace_back(t); });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  seen.clear();
  for_each_token("", [&](std::string_view t) { seen.emplace_back(t); });
  EXPECT_TRUE(seen.empty());
}

TEST(Message, ReasonPhrases) {
  EXPECT_STREQ(reason_phrase(200), "OK");
  EXPECT_STREQ(reason_phrase(100), "Continue");
  EXPECT_STREQ(reason_phrase(204), "No Content");
  EXPECT_STREQ(reason_phrase(304), "Not Modified");
  EXPECT_STREQ(reason_phrase(404), "Not Found");
  EXPECT_STREQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_STREQ(reason_phrase(502), "Bad Gateway");
  EXPECT_STREQ(reason_phrase(505), "HTTP Version Not Supported");
  EXPECT_STREQ(reason_phrase(299), "Unknown");
  EXPECT_STREQ(reason_phrase(-1), "Unknown");
}

TEST(Message, IdempotentMethods) {
  for (const char* m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
    EXPECT_TRUE(is_idempotent_method(m)) << m;
  }
  for (const char* m : {"POST", "PATCH", "CONNECT", "get", "", "PURGE"}) {
    EXPECT_FALSE(is_idempotent_method(m)) << m;
  }
}

TEST(Message, HeadHelpers) {
  RequestHead r;
  r.method = "HEAD";
  EXPECT_TRUE(r.is_head());
  EXPECT_FALSE(r.has_body());
  r.framing = BodyFraming::chunked;
  EXPECT_TRUE(r.has_body());
  ResponseHead s;
  s.status = 103;
  EXPECT_TRUE(s.is_informational());
  s.status = 200;
  EXPECT_FALSE(s.is_informational());
}

}  // namespace
}  // namespace stavka::http
