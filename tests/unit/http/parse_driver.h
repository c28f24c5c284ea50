// Test driver for Http1Parser: plays the role of a connection's read loop.
//
// Test-only; single-threaded. It keeps an input buffer, feeds it (optionally `step` bytes of
// new input at a time), drops what the parser consumed, and always feeds again after head_done
// and message_done (with whatever is buffered, possibly nothing), exactly as the proxy must.
// Every ParseResult is checked against the parser's contract: consumed <= fed size, body views
// inside the fed buffer, need_more consumes everything.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/parser.h"

namespace stavka::http::testing {

struct ParsedMessage {
  RequestHead request;
  ResponseHead response;
  std::string body;
  HeaderMap trailers;
  bool complete = false;
};

struct ParseRun {
  std::vector<ParsedMessage> messages;
  std::vector<ParseState> events;  // head_done / message_done / error, in order
  ParseState final_state = ParseState::need_more;
  int error_status = 0;
  std::string error_message;
  std::string leftover;  // bytes fed but not consumed when the run stopped

  const ParsedMessage& at(size_t i) const { return messages.at(i); }
};

// step == 0 feeds the whole input at once.
inline ParseRun drive(Http1Parser& parser, std::string_view wire, size_t step = 0,
                      bool finish = false) {
  ParseRun run;
  std::string buf;
  size_t pos = 0;
  auto refill = [&]() {
    size_t left = wire.size() - pos;
    size_t n = step == 0 ? left : std::min(step, left);
    buf.append(wire.substr(pos, n));
    pos += n;
    return n > 0;
  };
  refill();
  for (int guard = 0; guard < 10'000'000; ++guard) {
    ParseResult r = parser.feed(buf);
    EXPECT_LE(r.consumed, buf.size());
    for (std::string_view v : r.body) {
      EXPECT_GE(v.data(), buf.data());
      EXPECT_LE(v.data() + v.size(), buf.data() + buf.size());
      EXPECT_FALSE(v.empty());
      if (run.messages.empty()) {
        ADD_FAILURE() << "body bytes before any head";
      } else {
        run.messages.back().body.append(v);
      }
    }
    switch (r.state) {
      case ParseState::head_done:
        EXPECT_TRUE(r.body.empty());
        run.events.push_back(r.state);
        run.messages.emplace_back();
        run.messages.back().request = parser.request();
        run.messages.back().response = parser.response();
        buf.erase(0, r.consumed);
        continue;
      case ParseState::message_done:
        run.events.push_back(r.state);
        if (run.messages.empty()) {
          ADD_FAILURE() << "message_done without head_done";
          return run;
        }
        run.messages.back().complete = true;
        run.messages.back().trailers = parser.trailers();
        EXPECT_FALSE(parser.in_message());
        buf.erase(0, r.consumed);
        continue;
      case ParseState::need_more:
        EXPECT_EQ(r.consumed, buf.size());
        buf.erase(0, r.consumed);
        if (refill()) continue;
        if (finish) {
          ParseResult f = parser.finish_eof();
          for (std::string_view v : f.body) {
            if (!run.messages.empty()) run.messages.back().body.append(v);
          }
          if (f.state == ParseState::message_done && !run.messages.empty()) {
            run.events.push_back(f.state);
            run.messages.back().complete = true;
          }
          run.final_state = f.state;
          run.error_status = parser.error_status();
          run.error_message = parser.error_message();
          return run;
        }
        run.final_state = ParseState::need_more;
        return run;
      case ParseState::error:
        run.events.push_back(r.state);
        run.final_state = ParseState::error;
        run.error_status = parser.error_status();
        run.error_message = parser.error_message();
        run.leftover = buf;
        return run;
    }
  }
  ADD_FAILURE() << "parser made no progress";
  return run;
}

inline ParseRun drive_request(std::string_view wire, size_t step = 0, ParserLimits limits = {}) {
  Http1Parser parser(Http1Parser::Kind::request, limits);
  return drive(parser, wire, step);
}

}  // namespace stavka::http::testing
