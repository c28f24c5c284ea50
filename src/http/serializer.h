// Writing HTTP/1.1 heads and chunk framing into a byte string.
//
// Pure functions; the caller owns the output buffer and sends it. Every function appends to
// `out` (it never clears it). Field names and values are written as given: they must already
// be valid (the parser guarantees this for fields it produced; no CR/LF check is made here).
//
// Framing rules (both heads): Content-Length and Transfer-Encoding fields in head.headers are
// never written; the framing field comes from head.framing alone:
//   content_length → "Content-Length: <content_length>"   chunked → "Transfer-Encoding: chunked"
//   until_close    → no length field                       none    → see each function.
// A response to HEAD, or a 304, that should advertise the length of the full representation
// must use framing content_length (the caller then sends no body); framing none on any other
// response means "empty body" and writes "Content-Length: 0".
#pragma once

#include <cstdint>
#include <string>

#include "http/message.h"

namespace stavka::http {

// "METHOD target HTTP/1.1\r\n" + fields + "\r\n". Framing fields are written from head.framing
// (Content-Length or Transfer-Encoding: chunked); any such fields in head.headers are ignored.
// Framing none (and until_close, meaningless for a request) writes no length field.
// head.keep_alive is not consulted: Connection fields are the caller's (hop-by-hop policy).
void serialize_request_head(const RequestHead& head, std::string& out);

// "HTTP/1.1 status reason\r\n" + fields + "\r\n", framing fields from head.framing as above,
// and "Connection: close" when !head.keep_alive.
// Details: reason is head.reason, or reason_phrase(status) when empty. 1xx and 204 never get a
// framing field whatever head.framing says (RFC 9110 §8.6). Framing none writes
// "Content-Length: 0" except for 1xx, 204 and 304. "Connection: close" is also written for
// until_close framing (the close delimits the body), never for 1xx, and not when a Connection
// field already lists "close".
void serialize_response_head(const ResponseHead& head, std::string& out);

// The first part of a response head: status line and fields (framing fields skipped), not
// ended; the caller appends its own framing fields and the blank line.
void serialize_response_start(int status, std::string_view reason, const HeaderMap& fields,
                              std::string& out);

// The fields of a response head written by these functions (or assembled from their pieces:
// lines "Name: value\r\n"), in order, appended to `out`; its framing fields (Content-Length,
// Transfer-Encoding) and Connection left out. For heads of this process only: no validation.
void fields_of_written_head(std::string_view head, HeaderMap& out);

// "<hex size>\r\n" for a chunk of size bytes (the caller writes the data and "\r\n").
// Writes nothing for size 0: a zero-size chunk is the last chunk (use append_last_chunk).
void append_chunk_header(uint64_t size, std::string& out);

// The last chunk "0\r\n", the trailer fields, then "\r\n". Content-Length and
// Transfer-Encoding trailers are dropped like in heads.
void append_last_chunk(const HeaderMap& trailers, std::string& out);

}  // namespace stavka::http
