// Writing HTTP/1.1 heads and chunk framing into a byte string.
//
// Pure functions; the caller owns the output buffer and sends it.
#pragma once

#include <cstdint>
#include <string>

#include "http/message.h"

namespace stavka::http {

// "METHOD target HTTP/1.1\r\n" + fields + "\r\n". Framing fields are written from head.framing
// (Content-Length or Transfer-Encoding: chunked); any such fields in head.headers are ignored.
void serialize_request_head(const RequestHead& head, std::string& out);

// "HTTP/1.1 status reason\r\n" + fields + "\r\n", framing fields from head.framing as above,
// and "Connection: close" when !head.keep_alive.
void serialize_response_head(const ResponseHead& head, std::string& out);

// "<hex size>\r\n" for a chunk of size bytes (the caller writes the data and "\r\n").
void append_chunk_header(uint64_t size, std::string& out);

// The last chunk "0\r\n", the trailer fields, then "\r\n".
void append_last_chunk(const HeaderMap& trailers, std::string& out);

}  // namespace stavka::http
