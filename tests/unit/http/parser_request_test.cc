// Http1Parser on requests: heads, bodies, pipelining, incremental input and limits.
//
// Single-threaded GoogleTest cases; each builds its own parser. Strictness cases (every
// rejected input with its status) live in parser_strict_test.cc.
#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"
#include "parse_driver.h"

namespace stavka::http {
namespace {

using testing::drive;
using testing::drive_request;
using Kind = Http1Parser::Kind;

TEST(RequestParser, SimpleGetStopsAtHeadThenCompletesOnEmptyFeed) {
  const std::string wire =
      "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n\r\n";
  Http1Parser p(Kind::request);
  EXPECT_FALSE(p.in_message());
  ParseResult r = p.feed(wire);
  ASSERT_EQ(r.state, ParseState::head_done);
  EXPECT_EQ(r.consumed, wire.size());
  EXPECT_TRUE(p.in_message());
  const RequestHead& h = p.request();
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/index.html?q=1");
  EXPECT_EQ(h.version_major, 1);
  EXPECT_EQ(h.version_minor, 1);
  ASSERT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(*h.headers.find("host"), "example.com");
  EXPECT_EQ(*h.headers.find("USER-AGENT"), "t/1");
  EXPECT_EQ(h.framing, BodyFraming::none);
  EXPECT_FALSE(h.has_body());
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.expect_continue);

  // No body: the caller must feed again (nothing left) to see the end of the message.
  r = p.feed({});
  EXPECT_EQ(r.state, ParseState::message_done);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(p.in_message());
  EXPECT_EQ(p.error_status(), 0);
}

TEST(RequestParser, HeadDoneConsumesExactlyTheHeadAndBodyIsAViewIntoTheInput) {
  const std::string head = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  const std::string wire = head + "hello";
  Http1Parser p(Kind::request);
  ParseResult r = p.feed(wire);
  ASSERT_EQ(r.state, ParseState::head_done);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(p.request().framing, BodyFraming::content_length);
  EXPECT_EQ(p.request().content_length, 5u);
  EXPECT_TRUE(p.request().has_body());

  std::string_view rest(wire.data() + head.size(), wire.size() - head.size());
  r = p.feed(rest);
  ASSERT_EQ(r.state, ParseState::message_done);
  EXPECT_EQ(r.consumed, 5u);
  ASSERT_EQ(r.body.size(), 1u);
  EXPECT_EQ(r.body[0], "hello");
  EXPECT_EQ(r.body[0].data(), rest.data());  // not copied
}

TEST(RequestParser, BodySplitAcrossFeedsNeedsMoreUntilComplete) {
  Http1Parser p(Kind::request);
  ASSERT_EQ(p.feed("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n").state,
            ParseState::head_done);
  ParseResult r = p.feed("0123");
  EXPECT_EQ(r.state, ParseState::need_more);
  EXPECT_EQ(r.consumed, 4u);
  ASSERT_EQ(r.body.size(), 1u);
  EXPECT_EQ(r.body[0], "0123");
  EXPECT_TRUE(p.in_message());
  r = p.feed("456789GET");
  EXPECT_EQ(r.state, ParseState::message_done);
  EXPECT_EQ(r.consumed, 6u);  // "GET" belongs to the next request
  ASSERT_EQ(r.body.size(), 1u);
  EXPECT_EQ(r.body[0], "456789");
}

TEST(RequestParser, ByteAtATimeRequestWithContentLengthBody) {
  const std::string wire =
      "POST /form HTTP/1.1\r\nHost: example.org\r\nX-Long-Header-Name: some value with "
      "spaces\r\nContent-Length: 11\r\n\r\nhello world";
  auto run = drive_request(wire, 1);
  ASSERT_EQ(run.final_state, ParseState::need_more) << run.error_message;
  ASSERT_EQ(run.messages.size(), 1u);
  const auto& m = run.at(0);
  EXPECT_TRUE(m.complete);
  EXPECT_EQ(m.request.method, "POST");
  EXPECT_EQ(m.request.target, "/form");
  ASSERT_EQ(m.request.headers.size(), 3u);
  EXPECT_EQ(*m.request.headers.find("x-long-header-name"), "some value with spaces");
  EXPECT_EQ(*m.request.headers.find("Host"), "example.org");
  EXPECT_EQ(m.body, "hello world");
}

TEST(RequestParser, ByteAtATimeChunkedWithExtensionAndTrailers) {
  const std::string wire =
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n6;q=\"a b\"\r\n world\r\n0\r\nX-Sum: abc\r\nX-Other: 1 \r\n\r\n";
  for (size_t step : {size_t{0}, size_t{1}, size_t{2}, size_t{7}}) {
    auto run = drive_request(wire, step);
    ASSERT_EQ(run.final_state, ParseState::need_more) << "step " << step << run.error_message;
    ASSERT_EQ(run.messages.size(), 1u);
    const auto& m = run.at(0);
    EXPECT_TRUE(m.complete);
    EXPECT_EQ(m.request.framing, BodyFraming::chunked);
    EXPECT_EQ(m.body, "hello world") << "step " << step;
    ASSERT_EQ(m.trailers.size(), 2u);
    EXPECT_EQ(m.trailers.begin()->name, "X-Sum");
    EXPECT_EQ(m.trailers.begin()->value, "abc");
    EXPECT_EQ(*m.trailers.find("x-other"), "1");  // trailing OWS trimmed
    EXPECT_EQ(m.request.headers.size(), 2u);      // trailers never leak into the head
  }
}

TEST(RequestParser, ChunkedTrailersAreAvailableFromTheParserAfterMessageDone) {
  Http1Parser p(Kind::request);
  ASSERT_EQ(p.feed("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").state,
            ParseState::head_done);
  ParseResult r = p.feed("3\r\nabc\r\n0\r\nDigest: x\r\n\r\n");
  ASSERT_EQ(r.state, ParseState::message_done);
  ASSERT_EQ(r.body.size(), 1u);
  EXPECT_EQ(r.body[0], "abc");
  ASSERT_EQ(p.trailers().size(), 1u);
  EXPECT_EQ(*p.trailers().find("digest"), "x");
  // The next message starts with no trailers.
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n").state, ParseState::head_done);
  EXPECT_TRUE(p.trailers().empty());
}

TEST(RequestParser, PipelinedRequestsInOneBuffer) {
  const std::string wire =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
      "\r\n"  // a stray CRLF between requests is tolerated (RFC 9112 §2.2)
      "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
      "HEAD /4 HTTP/1.1\r\nHost: b\r\n\r\n";
  for (size_t step : {size_t{0}, size_t{1}, size_t{13}}) {
    auto run = drive_request(wire, step);
    ASSERT_EQ(run.final_state, ParseState::need_more) << run.error_message;
    ASSERT_EQ(run.messages.size(), 4u);
    EXPECT_EQ(run.at(0).request.target, "/1");
    EXPECT_EQ(run.at(0).body, "");
    EXPECT_EQ(run.at(1).request.target, "/2");
    EXPECT_EQ(run.at(1).body, "abc");
    EXPECT_EQ(run.at(2).request.target, "/3");
    EXPECT_EQ(run.at(2).body, "xy");
    EXPECT_EQ(run.at(3).request.method, "HEAD");
    EXPECT_TRUE(run.at(3).request.is_head());
    EXPECT_EQ(*run.at(3).request.headers.find("host"), "b");
    for (const auto& m : run.messages) EXPECT_TRUE(m.complete);
  }
}

TEST(RequestParser, PipelinedConsumedCountsStopAtEachBoundary) {
  const std::string a = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string b = "GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string wire = a + b;
  Http1Parser p(Kind::request);
  ParseResult r = p.feed(wire);
  ASSERT_EQ(r.state, ParseState::head_done);
  EXPECT_EQ(r.consumed, a.size());
  r = p.feed(std::string_view(wire).substr(a.size()));
  ASSERT_EQ(r.state, ParseState::message_done);
  EXPECT_EQ(r.consumed, 0u);
  r = p.feed(std::string_view(wire).substr(a.size()));
  ASSERT_EQ(r.state, ParseState::head_done);
  EXPECT_EQ(r.consumed, b.size());
  EXPECT_EQ(p.request().target, "/b");
}

TEST(RequestParser, LargeBodyInPiecesThenNextRequest) {
  std::string body(100000, 'z');
  const std::string wire = "POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" +
                           body + "GET /after HTTP/1.1\r\nHost: a\r\n\r\n";
  auto run = drive_request(wire, 1000);
  ASSERT_EQ(run.messages.size(), 2u);
  EXPECT_EQ(run.at(0).body.size(), 100000u);
  EXPECT_EQ(run.at(0).body, body);
  EXPECT_EQ(run.at(1).request.target, "/after");
}

TEST(RequestParser, ContentLengthZeroIsContentLengthFraming) {
  auto run = drive_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(run.messages.size(), 1u);
  EXPECT_EQ(run.at(0).request.framing, BodyFraming::content_length);
  EXPECT_EQ(run.at(0).request.content_length, 0u);
  EXPECT_TRUE(run.at(0).complete);
  EXPECT_EQ(run.at(0).body, "");
}

TEST(RequestParser, FramingFieldsStayInHeaders) {
  auto run = drive_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_EQ(run.messages.size(), 1u);
  EXPECT_EQ(*run.at(0).request.headers.find("content-length"), "2");
}

TEST(RequestParser, KeepAliveFollowsVersionAndConnection) {
  auto ka = [](const std::string& wire) {
    auto run = drive_request(wire);
    EXPECT_EQ(run.messages.size(), 1u) << run.error_message;
    return run.messages.empty() ? false : run.at(0).request.keep_alive;
  };
  EXPECT_TRUE(ka("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.0\r\nHost: a\r\n\r\n"));
  EXPECT_TRUE(ka("GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"));
}

TEST(RequestParser, DataAfterConnectionCloseIsAnError) {
  auto run =
      drive_request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  ASSERT_EQ(run.messages.size(), 1u);
  EXPECT_TRUE(run.at(0).complete);
  EXPECT_FALSE(run.at(0).request.keep_alive);
  EXPECT_EQ(run.final_state, ParseState::error);
  EXPECT_EQ(run.error_status, 400);
}

TEST(RequestParser, ExpectContinue) {
  auto expect = [](const std::string& wire) {
    auto run = drive_request(wire);
    EXPECT_EQ(run.messages.size(), 1u) << run.error_message;
    return run.messages.empty() ? false : run.at(0).request.expect_continue;
  };
  EXPECT_TRUE(
      expect("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
             "Content-Length: 1\r\n\r\nx"));
  EXPECT_TRUE(
      expect("PUT / HTTP/1.1\r\nHost: a\r\nexpect: 100-Continue\r\n"
             "Content-Length: 1\r\n\r\nx"));
  EXPECT_FALSE(expect("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx"));
  EXPECT_FALSE(
      expect("PUT / HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n"
             "Content-Length: 1\r\n\r\nx"));
  // RFC 9110 §10.1.1: ignored in HTTP/1.0.
  EXPECT_FALSE(
      expect("PUT / HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\n"
             "Content-Length: 1\r\n\r\nx"));
}

TEST(RequestParser, RequestTargetForms) {
  auto target = [](const std::string& wire) {
    auto run = drive_request(wire);
    EXPECT_EQ(run.messages.size(), 1u) << run.error_message;
    return run.messages.empty() ? std::string() : run.at(0).request.target;
  };
  EXPECT_EQ(target("GET http://a.example/p?x=1 HTTP/1.1\r\nHost: a.example\r\n\r\n"),
            "http://a.example/p?x=1");
  EXPECT_EQ(target("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), "*");
  EXPECT_EQ(target("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"),
            "a.example:443");
}

TEST(RequestParser, OwsAroundValuesIsTrimmedAndObsTextKept) {
  auto run = drive_request(
      "GET / HTTP/1.1\r\nHost:   a  \r\nX-Empty:\r\nX-T:\t\xC3\xA9t\xC3\xA9\t\r\n\r\n");
  ASSERT_EQ(run.messages.size(), 1u) << run.error_message;
  const HeaderMap& h = run.at(0).request.headers;
  EXPECT_EQ(*h.find("host"), "a");
  EXPECT_EQ(*h.find("x-empty"), "");
  EXPECT_EQ(*h.find("x-t"), "\xC3\xA9t\xC3\xA9");
}

TEST(RequestParser, UpgradeRequestIsParsedAsPlainHttp) {
  // No tunnelling in this codec: bytes after an Upgrade request are the next HTTP request.
  auto run = drive_request(
      "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(run.final_state, ParseState::need_more) << run.error_message;
  ASSERT_EQ(run.messages.size(), 2u);
  EXPECT_EQ(run.at(1).request.target, "/next");
}

TEST(RequestParser, InMessageTracksPartialMessages) {
  Http1Parser p(Kind::request);
  EXPECT_FALSE(p.in_message());
  EXPECT_EQ(p.feed("\r\n").state, ParseState::need_more);  // an empty line is not a message
  EXPECT_FALSE(p.in_message());
  EXPECT_EQ(p.feed("G").state, ParseState::need_more);
  EXPECT_TRUE(p.in_message());
  EXPECT_EQ(p.feed("ET / HTTP/1.1\r\nHost: a\r\n\r\n").state, ParseState::head_done);
  EXPECT_TRUE(p.in_message());
  EXPECT_EQ(p.feed("").state, ParseState::message_done);
  EXPECT_FALSE(p.in_message());
}

TEST(RequestParser, FinishEofOnRequests) {
  Http1Parser idle(Kind::request);
  EXPECT_EQ(idle.finish_eof().state, ParseState::need_more);
  EXPECT_EQ(idle.error_status(), 0);

  Http1Parser partial(Kind::request);
  ASSERT_EQ(partial.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab").state,
            ParseState::head_done);
  EXPECT_EQ(partial.finish_eof().state, ParseState::error);
  EXPECT_EQ(partial.error_status(), 400);
  EXPECT_EQ(partial.error_message(), "connection closed before the request was complete");
}

TEST(RequestParser, MethodsAreReported) {
  for (const char* m :
       {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "PURGE", "M-SEARCH"}) {
    auto run = drive_request(std::string(m) + " / HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(run.messages.size(), 1u) << m << ": " << run.error_message;
    EXPECT_EQ(run.at(0).request.method, m);
  }
}

TEST(RequestParser, HeadReusedAcrossKeepAliveMessages) {
  Http1Parser p(Kind::request);
  ASSERT_EQ(p.feed("POST /a HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                   "Content-Length: 1\r\n\r\n")
                .state,
            ParseState::head_done);
  ASSERT_EQ(p.feed("x").state, ParseState::message_done);
  ASSERT_EQ(p.feed("GET /b HTTP/1.1\r\nHost: b\r\n\r\n").state, ParseState::head_done);
  const RequestHead& h = p.request();
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/b");
  EXPECT_EQ(h.headers.size(), 1u);
  EXPECT_EQ(h.framing, BodyFraming::none);
  EXPECT_EQ(h.content_length, 0u);
  EXPECT_FALSE(h.expect_continue);
}

// ---- limits --------------------------------------------------------------------------------

// A request head of exactly `size` bytes (request line + fields + final CRLF).
std::string head_of_size(size_t size) {
  std::string prefix = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
  std::string suffix = "\r\n\r\n";
  return prefix + std::string(size - prefix.size() - suffix.size(), 'p') + suffix;
}

TEST(RequestLimits, HeadExactlyAtMaxHeaderBytesIsAccepted) {
  ParserLimits limits;
  limits.max_header_bytes = 200;
  const std::string head = head_of_size(200);
  ASSERT_EQ(head.size(), 200u);
  for (size_t step : {size_t{0}, size_t{1}, size_t{64}}) {
    auto run = drive_request(head + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", step, limits);
    EXPECT_EQ(run.final_state, ParseState::need_more) << step << ": " << run.error_message;
    EXPECT_EQ(run.messages.size(), 2u);
  }
}

TEST(RequestLimits, HeadOneByteOverMaxHeaderBytesIs431) {
  ParserLimits limits;
  limits.max_header_bytes = 200;
  const std::string head = head_of_size(201);
  for (size_t step : {size_t{0}, size_t{1}, size_t{64}}) {
    auto run = drive_request(head, step, limits);
    EXPECT_EQ(run.final_state, ParseState::error) << step;
    EXPECT_EQ(run.error_status, 431);
    EXPECT_EQ(run.error_message, "request line and header fields exceed 200 bytes");
  }
}

TEST(RequestLimits, BodyBytesDoNotCountTowardsTheHeadLimit) {
  ParserLimits limits;
  limits.max_header_bytes = 64;
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n";
  ASSERT_LE(head.size(), 64u);
  auto run = drive_request(head + std::string(100, 'b'), 0, limits);
  ASSERT_EQ(run.messages.size(), 1u) << run.error_message;
  EXPECT_EQ(run.at(0).body.size(), 100u);
}

TEST(RequestLimits, EachMessageHasItsOwnHeadBudget) {
  ParserLimits limits;
  limits.max_header_bytes = 200;
  const std::string head = head_of_size(200);
  auto run = drive_request(head + head + head, 0, limits);
  EXPECT_EQ(run.final_state, ParseState::need_more) << run.error_message;
  EXPECT_EQ(run.messages.size(), 3u);
}

std::string request_with_fields(size_t n) {
  std::string wire = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i < n; ++i) wire += "X-F" + std::to_string(i) + ": v\r\n";
  return wire + "\r\n";
}

TEST(RequestLimits, MaxHeadersExactlyIsAcceptedOneMoreIs431) {
  ParserLimits limits;
  limits.max_headers = 5;
  for (size_t step : {size_t{0}, size_t{1}}) {
    auto ok = drive_request(request_with_fields(5), step, limits);
    EXPECT_EQ(ok.messages.size(), 1u) << ok.error_message;
    EXPECT_EQ(ok.final_state, ParseState::need_more);
    auto over = drive_request(request_with_fields(6), step, limits);
    EXPECT_EQ(over.final_state, ParseState::error);
    EXPECT_EQ(over.error_status, 431);
    EXPECT_EQ(over.error_message, "more than 5 header fields");
  }
}

TEST(RequestLimits, TrailerCountAndSizeAreLimited) {
  ParserLimits limits;
  limits.max_headers = 2;
  limits.max_header_bytes = 100;
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n";
  // Two trailers: at the count limit.
  auto ok = drive_request(head + "A: 1\r\nB: 2\r\n\r\n", 1, limits);
  EXPECT_EQ(ok.final_state, ParseState::need_more) << ok.error_message;
  ASSERT_EQ(ok.messages.size(), 1u);
  EXPECT_EQ(ok.at(0).trailers.size(), 2u);
  auto many = drive_request(head + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0, limits);
  EXPECT_EQ(many.error_status, 431);
  EXPECT_EQ(many.error_message, "more than 2 trailer fields");

  // Trailer section (after the last-chunk line, final CRLF included) of exactly 100 bytes.
  std::string trailer = "T: " + std::string(100 - 3 - 4, 't') + "\r\n\r\n";
  ASSERT_EQ(trailer.size(), 100u);
  auto at = drive_request(head + trailer, 0, limits);
  EXPECT_EQ(at.final_state, ParseState::need_more) << at.error_message;
  EXPECT_EQ(at.messages.size(), 1u);
  std::string over_trailer = "T: " + std::string(100 - 3 - 4 + 1, 't') + "\r\n\r\n";
  auto over = drive_request(head + over_trailer, 1, limits);
  EXPECT_EQ(over.error_status, 431);
  EXPECT_EQ(over.error_message, "trailer section exceeds 100 bytes");
}

TEST(RequestParser, ErrorIsSticky) {
  Http1Parser p(Kind::request);
  ParseResult r = p.feed("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n");
  ASSERT_EQ(r.state, ParseState::error);
  int status = p.error_status();
  std::string message = p.error_message();
  EXPECT_EQ(status, 400);
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n").state, ParseState::error);
  EXPECT_EQ(p.feed("").state, ParseState::error);
  EXPECT_EQ(p.finish_eof().state, ParseState::error);
  EXPECT_EQ(p.error_status(), status);
  EXPECT_EQ(p.error_message(), message);
}

}  // namespace
}  // namespace stavka::http
