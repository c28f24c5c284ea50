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
// chunk sizes → 400. Also rejected: a duplicate Content-Length even with the same value (llhttp),
// more than one Host field (400), bare LF, an HTTP version other than 1.0/1.1 (505 for requests),
// a status outside 100..599, and Transfer-Encoding in HTTP/1.0 or with any coding besides a single
// "chunked" (for responses too: the proxy never advertises TE, so "gzip, chunked" is an error).
// The trailer section is limited like the head (max_header_bytes raw bytes, max_headers fields).
//
// Contract details the caller relies on:
// - head_done: consumed ends just after the CRLF that closes the head; no body byte is taken.
//   Always call feed() again at once with whatever is buffered, even nothing: a message with an
//   empty body (framing none, Content-Length: 0, a response to HEAD, 1xx, 204, 304) reports
//   message_done from that call without needing more bytes.
// - message_done: consumed ends at the last byte of the message; later bytes are not touched.
// - Heads: framing fields stay in headers as received; values have OWS trimmed. Content-Length: 0
//   is framing content_length with content_length 0. A response to HEAD (and 204/304/1xx) has
//   framing none; its content_length still holds a declared Content-Length, if any.
// - Upgrade and CONNECT are not tunnelled: the bytes after such a message are parsed as HTTP/1,
//   and a 101 response is treated like any other 1xx.
// - llhttp 8.1 rejects a chunk with more than one extension after a valued one ("5;a=b;c=d").
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
  // On a request parser: need_more between requests, error (400) inside one. Any later
  // feed() or finish_eof() is an error.
  ParseResult finish_eof();

  const RequestHead& request() const;
  RequestHead& request();
  const ResponseHead& response() const;
  ResponseHead& response();
  // Trailer fields of a chunked message (valid after message_done).
  const HeaderMap& trailers() const;

  Kind kind() const;

  // True between the start of a message and its end (a half-received message exists).
  bool in_message() const;

  // 0 until an error: 400, 431, 501, 505 for requests; 502 for responses.
  int error_status() const;
  const std::string& error_message() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stavka::http
