// libFuzzer target for Http1Parser (requests and responses) and the serializer.
//
// Single-threaded; no state survives between inputs. The first input byte is control: it picks
// where the rest is split into two reads, whether small limits are used, and whether the
// response answers HEAD. The rest is fed to a request parser and to a response parser the way
// a connection would (unconsumed bytes stay buffered, each read is a fresh heap buffer so ASan
// sees any view that escapes it). Invariants checked, trapping on violation:
//   consumed <= fed size; need_more consumes everything; body views lie inside the fed buffer;
//   body bytes only after head_done; Content-Length bodies have exactly that many bytes;
//   errors are sticky and carry the documented status; the parser never stalls;
//   every accepted head, serialised again, parses back to the same head.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "http/parser.h"
#include "http/serializer.h"

namespace {

using stavka::http::BodyFraming;
using stavka::http::Http1Parser;
using stavka::http::ParseResult;
using stavka::http::ParserLimits;
using stavka::http::ParseState;

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

bool valid_error_status(Http1Parser::Kind kind, int status) {
  if (kind == Http1Parser::Kind::response) return status == 502;
  return status == 400 || status == 431 || status == 501 || status == 505;
}

// Re-serialises an accepted head and checks it parses back to the same thing.
void check_round_trip(const Http1Parser& parsed, Http1Parser::Kind kind, ParserLimits limits) {
  limits.max_header_bytes = limits.max_header_bytes * 2 + 1024;  // serialiser adds ": " etc.
  limits.max_headers += 1;                                       // and the framing field
  std::string wire;
  Http1Parser again(kind, limits);
  if (kind == Http1Parser::Kind::request) {
    stavka::http::RequestHead head = parsed.request();
    head.framing = BodyFraming::none;
    head.content_length = 0;
    stavka::http::serialize_request_head(head, wire);
    ParseResult r = again.feed(wire);
    FUZZ_CHECK(r.state == ParseState::head_done);
    FUZZ_CHECK(r.consumed == wire.size());
    FUZZ_CHECK(again.request().method == head.method);
    FUZZ_CHECK(again.request().target == head.target);
  } else {
    stavka::http::ResponseHead head = parsed.response();
    head.framing = BodyFraming::content_length;
    head.content_length = 0;
    head.keep_alive = true;
    stavka::http::serialize_response_head(head, wire);
    ParseResult r = again.feed(wire);
    FUZZ_CHECK(r.state == ParseState::head_done);
    FUZZ_CHECK(r.consumed == wire.size());
    FUZZ_CHECK(again.response().status == head.status);
  }
}

void run(Http1Parser::Kind kind, std::string_view input, size_t split, ParserLimits limits,
         bool head_response) {
  Http1Parser parser(kind, limits);
  if (head_response) parser.expect_head_response(true);
  std::string pending;
  bool have_head = false;
  uint64_t body_bytes = 0;
  std::string_view reads[2] = {input.substr(0, split), input.substr(split)};

  for (std::string_view read : reads) {
    pending.append(read);
    int stalls = 0;
    for (;;) {
      // A fresh allocation per feed: views outside it are caught by ASan on the next access.
      std::unique_ptr<char[]> buf(new char[pending.size() + 1]);
      pending.copy(buf.get(), pending.size());
      std::string_view fed(buf.get(), pending.size());
      ParseResult r = parser.feed(fed);
      FUZZ_CHECK(r.consumed <= fed.size());
      for (std::string_view v : r.body) {
        FUZZ_CHECK(have_head);
        FUZZ_CHECK(!v.empty());
        FUZZ_CHECK(v.data() >= fed.data() && v.data() + v.size() <= fed.data() + fed.size());
        volatile char first = v.front(), last = v.back();
        (void)first;
        (void)last;
        body_bytes += v.size();
      }
      pending.erase(0, r.consumed);
      stalls = r.consumed == 0 ? stalls + 1 : 0;
      FUZZ_CHECK(stalls <= 3);
      if (r.state == ParseState::error) {
        FUZZ_CHECK(valid_error_status(kind, parser.error_status()));
        FUZZ_CHECK(!parser.error_message().empty());
        FUZZ_CHECK(parser.feed("GET / HTTP/1.1\r\n\r\n").state == ParseState::error);
        FUZZ_CHECK(parser.finish_eof().state == ParseState::error);
        return;
      }
      if (r.state == ParseState::need_more) {
        FUZZ_CHECK(r.consumed == fed.size());
        break;
      }
      if (r.state == ParseState::head_done) {
        FUZZ_CHECK(!have_head);
        FUZZ_CHECK(r.body.empty());
        FUZZ_CHECK(parser.in_message());
        have_head = true;
        body_bytes = 0;
        check_round_trip(parser, kind, limits);
        continue;
      }
      // message_done
      FUZZ_CHECK(have_head);
      FUZZ_CHECK(!parser.in_message());
      BodyFraming framing =
          kind == Http1Parser::Kind::request ? parser.request().framing : parser.response().framing;
      uint64_t length = kind == Http1Parser::Kind::request ? parser.request().content_length
                                                           : parser.response().content_length;
      if (framing == BodyFraming::content_length) FUZZ_CHECK(body_bytes == length);
      if (framing == BodyFraming::none) FUZZ_CHECK(body_bytes == 0);
      have_head = false;
    }
  }
  ParseResult end = parser.finish_eof();
  FUZZ_CHECK(end.state != ParseState::head_done);
  if (end.state == ParseState::error) {
    FUZZ_CHECK(valid_error_status(kind, parser.error_status()));
  } else if (end.state == ParseState::message_done) {
    FUZZ_CHECK(kind == Http1Parser::Kind::response && have_head);
    FUZZ_CHECK(parser.response().framing == BodyFraming::until_close);
  } else {
    FUZZ_CHECK(kind == Http1Parser::Kind::request && !parser.in_message());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t split = input.empty() ? 0 : (static_cast<size_t>(control) * 257u) % (input.size() + 1);
  ParserLimits limits;
  if (control & 0x80) {
    limits.max_header_bytes = 128;
    limits.max_headers = 4;
  }
  run(Http1Parser::Kind::request, input, split, limits, false);
  run(Http1Parser::Kind::response, input, split, limits, (control & 0x40) != 0);
  return 0;
}
