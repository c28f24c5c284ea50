// Http1Parser on responses: every body framing, HEAD, 1xx, EOF handling.
//
// Single-threaded GoogleTest cases; each builds its own parser.
#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"
#include "parse_driver.h"

namespace stavka::http {
namespace {

using testing::drive;
using Kind = Http1Parser::Kind;

TEST(ResponseParser, ContentLength) {
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n";
  Http1Parser p(Kind::response);
  ParseResult r = p.feed(head + "hello");
  ASSERT_EQ(r.state, ParseState::head_done);
  EXPECT_EQ(r.consumed, head.size());
  const ResponseHead& h = p.response();
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.reason, "OK");
  EXPECT_EQ(h.version_major, 1);
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(h.framing, BodyFraming::content_length);
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.is_informational());
  EXPECT_EQ(*h.headers.find("content-type"), "text/plain");
  r = p.feed("hello");
  ASSERT_EQ(r.state, ParseState::message_done);
  ASSERT_EQ(r.body.size(), 1u);
  EXPECT_EQ(r.body[0], "hello");
}

TEST(ResponseParser, ChunkedWithTrailersByteAtATime) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
  for (size_t step : {size_t{0}, size_t{1}, size_t{5}}) {
    Http1Parser p(Kind::response);
    auto run = drive(p, wire, step);
    ASSERT_EQ(run.final_state, ParseState::need_more) << run.error_message;
    ASSERT_EQ(run.messages.size(), 1u);
    EXPECT_EQ(run.at(0).response.framing, BodyFraming::chunked);
    EXPECT_EQ(run.at(0).body, "Wikipedia in\r\n\r\nchunks.");
    ASSERT_EQ(run.at(0).trailers.size(), 1u);
    EXPECT_EQ(*run.at(0).trailers.find("expires"), "never");
  }
}

TEST(ResponseParser, UntilCloseCompletesOnEof) {
  for (size_t step : {size_t{0}, size_t{1}}) {
    Http1Parser p(Kind::response);
    auto run = drive(p, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello, world", step,
                     /*finish=*/true);
    ASSERT_EQ(run.final_state, ParseState::message_done) << run.error_message;
    ASSERT_EQ(run.messages.size(), 1u);
    EXPECT_EQ(run.at(0).response.framing, BodyFraming::until_close);
    EXPECT_FALSE(run.at(0).response.keep_alive);
    EXPECT_EQ(run.at(0).body, "hello, world");
    EXPECT_TRUE(run.at(0).complete);
  }
}

TEST(ResponseParser, UntilCloseWithNoBodyBytes) {
  Http1Parser p(Kind::response);
  ASSERT_EQ(p.feed("HTTP/1.0 200 OK\r\n\r\n").state, ParseState::head_done);
  EXPECT_EQ(p.response().framing, BodyFraming::until_close);
  EXPECT_EQ(p.feed("").state, ParseState::need_more);
  EXPECT_TRUE(p.in_message());
  ParseResult r = p.finish_eof();
  EXPECT_EQ(r.state, ParseState::message_done);
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(p.in_message());
  EXPECT_EQ(p.feed("more").state, ParseState::error);  // nothing after EOF
}

TEST(ResponseParser, TruncatedResponsesAreErrorsOnEof) {
  {
    Http1Parser p(Kind::response);
    ASSERT_EQ(p.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n").state, ParseState::head_done);
    ASSERT_EQ(p.feed("abc").state, ParseState::need_more);
    EXPECT_EQ(p.finish_eof().state, ParseState::error);
    EXPECT_EQ(p.error_status(), 502);
    EXPECT_EQ(p.error_message(), "connection closed before the response was complete");
  }
  {
    Http1Parser p(Kind::response);
    ASSERT_EQ(p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").state,
              ParseState::head_done);
    EXPECT_EQ(p.finish_eof().state, ParseState::error);
    EXPECT_EQ(p.error_message(), "connection closed before the response was complete");
  }
  {
    Http1Parser p(Kind::response);
    ASSERT_EQ(p.feed("HTTP/1.1 200 OK\r\nContent-").state, ParseState::need_more);
    EXPECT_EQ(p.finish_eof().state, ParseState::error);
    EXPECT_EQ(p.error_message(), "connection closed before the response was complete");
  }
  {
    Http1Parser p(Kind::response);
    EXPECT_EQ(p.finish_eof().state, ParseState::error);
    EXPECT_EQ(p.error_status(), 502);
    EXPECT_EQ(p.error_message(), "connection closed before a response was received");
  }
}

TEST(ResponseParser, HeadResponseHasNoBodyAndKeepsDeclaredLength) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
  Http1Parser p(Kind::response);
  p.expect_head_response(true);
  ParseResult r = p.feed(wire);
  ASSERT_EQ(r.state, ParseState::head_done);
  EXPECT_EQ(p.response().framing, BodyFraming::none);
  EXPECT_EQ(p.response().content_length, 1234u);  // declared length, for re-serialising
  EXPECT_TRUE(p.response().keep_alive);
  std::string_view rest = std::string_view(wire).substr(r.consumed);
  r = p.feed(rest);
  ASSERT_EQ(r.state, ParseState::message_done);
  EXPECT_EQ(r.consumed, 0u);
  // The flag applied to one response only.
  auto run = drive(p, rest);
  ASSERT_EQ(run.messages.size(), 1u) << run.error_message;
  EXPECT_EQ(run.at(0).response.framing, BodyFraming::content_length);
  EXPECT_EQ(run.at(0).body, "hi");
}

TEST(ResponseParser, HeadResponseWithChunkedOrNoLength) {
  for (const char* wire :
       {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"}) {
    Http1Parser p(Kind::response);
    p.expect_head_response(true);
    auto run = drive(p, wire);
    ASSERT_EQ(run.messages.size(), 1u) << run.error_message;
    EXPECT_TRUE(run.at(0).complete);
    EXPECT_EQ(run.at(0).response.framing, BodyFraming::none);
    EXPECT_TRUE(run.at(0).response.keep_alive);
  }
}

TEST(ResponseParser, NoContentAndNotModifiedNeverHaveABody) {
  const std::string wire =
      "HTTP/1.1 204 No Content\r\n\r\n"
      "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"  // length ignored: no body
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n"
      "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!";
  for (size_t step : {size_t{0}, size_t{1}}) {
    Http1Parser p(Kind::response);
    auto run = drive(p, wire, step);
    ASSERT_EQ(run.final_state, ParseState::need_more) << run.error_message;
    ASSERT_EQ(run.messages.size(), 5u);
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(run.at(i).response.framing, BodyFraming::none) << i;
      EXPECT_EQ(run.at(i).body, "") << i;
      EXPECT_TRUE(run.at(i).complete) << i;
      EXPECT_TRUE(run.at(i).response.keep_alive) << i;
    }
    EXPECT_EQ(run.at(0).response.status, 204);
    EXPECT_EQ(run.at(2).response.status, 304);
    EXPECT_EQ(run.at(2).response.content_length, 99u);
    EXPECT_EQ(run.at(4).body, "!");
  }
}

TEST(ResponseParser, InformationalThenFinal) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  for (size_t step : {size_t{0}, size_t{1}}) {
    Http1Parser p(Kind::response);
    auto run = drive(p, wire, step);
    ASSERT_EQ(run.final_state, ParseState::need_more) << run.error_message;
    ASSERT_EQ(run.messages.size(), 3u);
    EXPECT_EQ(run.at(0).response.status, 100);
    EXPECT_TRUE(run.at(0).response.is_informational());
    EXPECT_EQ(run.at(0).response.reason, "Continue");
    EXPECT_EQ(run.at(0).response.framing, BodyFraming::none);
    EXPECT_EQ(run.at(1).response.status, 103);
    EXPECT_EQ(*run.at(1).response.headers.find("link"), "</style.css>; rel=preload");
    EXPECT_EQ(run.at(2).response.status, 200);
    EXPECT_EQ(run.at(2).body, "ok");
    std::vector<ParseState> expected = {ParseState::head_done, ParseState::message_done,
                                        ParseState::head_done, ParseState::message_done,
                                        ParseState::head_done, ParseState::message_done};
    EXPECT_EQ(run.events, expected);
  }
}

TEST(ResponseParser, InformationalStatesOneFeedAtATime) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  Http1Parser p(Kind::response);
  ParseResult r = p.feed(wire);
  ASSERT_EQ(r.state, ParseState::head_done);
  EXPECT_EQ(r.consumed, 25u);
  EXPECT_EQ(p.response().status, 100);
  std::string_view rest = std::string_view(wire).substr(25);
  r = p.feed(rest);
  ASSERT_EQ(r.state, ParseState::message_done);
  EXPECT_EQ(r.consumed, 0u);
  r = p.feed(rest);
  ASSERT_EQ(r.state, ParseState::head_done);
  EXPECT_EQ(p.response().status, 201);
  EXPECT_EQ(p.response().reason, "Created");
}

TEST(ResponseParser, HeadFlagSurvivesInformationalResponses) {
  Http1Parser p(Kind::response);
  p.expect_head_response(true);
  auto run = drive(p,
                   "HTTP/1.1 103 Early Hints\r\n\r\n"
                   "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n");
  ASSERT_EQ(run.messages.size(), 2u) << run.error_message;
  EXPECT_TRUE(run.at(1).complete);
  EXPECT_EQ(run.at(1).response.framing, BodyFraming::none);
  EXPECT_EQ(run.at(1).response.content_length, 50u);
}

TEST(ResponseParser, KeepAlive) {
  auto ka = [](const std::string& wire) {
    Http1Parser p(Kind::response);
    auto run = drive(p, wire);
    EXPECT_EQ(run.messages.size(), 1u) << run.error_message;
    return run.messages.empty() ? true : run.at(0).response.keep_alive;
  };
  EXPECT_TRUE(ka("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(ka("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(ka("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(ka("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"));
}

TEST(ResponseParser, ReasonPhrases) {
  auto reason = [](const std::string& wire) {
    Http1Parser p(Kind::response);
    auto run = drive(p, wire);
    EXPECT_EQ(run.messages.size(), 1u) << run.error_message;
    return run.messages.empty() ? std::string("?") : run.at(0).response.reason;
  };
  EXPECT_EQ(reason("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), "Not Found");
  EXPECT_EQ(reason("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"), "");
  EXPECT_EQ(reason("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), "");
  EXPECT_EQ(reason("HTTP/1.1 500 Very  Bad\r\nContent-Length: 0\r\n\r\n"), "Very  Bad");
}

TEST(ResponseParser, KeepAliveResponsesInSequenceResetTheHead) {
  Http1Parser p(Kind::response);
  auto run =
      drive(p,
            "HTTP/1.1 404 Not Found\r\nX-A: 1\r\nContent-Length: 1\r\n\r\nx"
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\ny\r\n0\r\nT: 1\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(run.messages.size(), 3u) << run.error_message;
  EXPECT_EQ(run.at(0).response.headers.size(), 2u);
  EXPECT_EQ(run.at(1).response.reason, "OK");
  EXPECT_EQ(run.at(1).trailers.size(), 1u);
  EXPECT_TRUE(run.at(2).trailers.empty());
  EXPECT_TRUE(p.trailers().empty());
}

TEST(ResponseParser, LimitsApplyToResponsesWith502) {
  ParserLimits limits;
  limits.max_header_bytes = 64;
  limits.max_headers = 2;
  {
    Http1Parser p(Kind::response, limits);
    auto run = drive(p, "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    EXPECT_EQ(run.error_status, 502);
    EXPECT_EQ(run.error_message, "more than 2 header fields");
  }
  {
    Http1Parser p(Kind::response, limits);
    auto run = drive(p, "HTTP/1.1 200 OK\r\nA: " + std::string(60, 'a') + "\r\n\r\n", 1);
    EXPECT_EQ(run.error_status, 502);
    EXPECT_EQ(run.error_message, "status line and header fields exceed 64 bytes");
  }
}

TEST(ResponseParser, SwitchingProtocolsIsTreatedAsInformational) {
  // Tunnelling is not supported: after a 101 the parser expects another HTTP response.
  Http1Parser p(Kind::response);
  auto run = drive(p,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(run.messages.size(), 2u) << run.error_message;
  EXPECT_EQ(run.at(0).response.status, 101);
  EXPECT_EQ(run.at(1).response.status, 200);
}

}  // namespace
}  // namespace stavka::http
