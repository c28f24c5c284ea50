// Http1Parser: a strict, incremental HTTP/1.x parser for requests and responses, on llhttp.
//
// Owned by one connection on one worker. The caller feeds whatever bytes it has; the parser
// consumes as much as it can and stops after a head is complete (so the caller can route
// before any body byte is consumed) and after a message is complete (so pipelined bytes stay
// in the caller's buffer). Body bytes are returned as views into the fed buffer, valid until
// the caller reuses that buffer: they are never copied.
//
// Strictness (all → error, with a status for the client): request line + fields over
// max_header_bytes or more than max_headers fields → 431; Content-Length together with
// Transfer-Encoding, differing or malformed Content-Length, obs-fold, invalid characters in
// field names or values, bare CR, a transfer coding other than a final "chunked", invalid
// chunk sizes → 400.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace stavka::http {

struct ParserLimits {
  size_t max_header_bytes = 64 * 1024;  // request/status line + all fields, CRLFs included
  size_t max_headers = 100;
};

enum class ParseState : uint8_t {
  need_more,     // consumed everything fed; feed more bytes
  head_done,     // head() is complete; body (if any) follows on the next feed
  message_done,  // the whole message, body and trailers, is complete
  error,         // error_status() and error_message() say why; the connection must close
};

struct ParseResult {
  ParseState state = ParseState::need_more;
  size_t consumed = 0;  // bytes of the fed buffer used, body bytes included
  // Body bytes (chunk framing removed) seen during this feed, in order; views into the fed buffer.
  std::vector<std::string_view> body;
};

class Http1Parser {
 public:
  enum class Kind : uint8_t { request, response };

  explicit Http1Parser(Kind kind, ParserLimits limits = {});
  ~Http1Parser();
  Http1Parser(const Http1Parser&) = delete;
  Http1Parser& operator=(const Http1Parser&) = delete;

  // Parses from data; see ParseResult. After message_done the parser is ready for the next
  // message on the same connection (call feed again with the remaining bytes).
  ParseResult feed(std::string_view data);

  // Response parsers only: the next response answers a HEAD request (no body whatever
  // its headers say). Call before feeding that response.
  void expect_head_response(bool head);

  // Response parsers only: the peer closed the connection. Returns message_done if the
  // response was delimited by close and is now complete, otherwise error (truncated).
  ParseResult finish_eof();

  const RequestHead& request() const;
  RequestHead& request();
  const ResponseHead& response() const;
  ResponseHead& response();
  // Trailer fields of a chunked message (valid after message_done).
  const HeaderMap& trailers() const;

  // True between the start of a message and its end (a half-received message exists).
  bool in_message() const;

  int error_status() const;            // 400, 431, 501 for requests; 502 for responses
  const std::string& error_message() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stavka::http
