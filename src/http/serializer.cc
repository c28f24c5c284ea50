// Writing HTTP/1.1 heads and chunk framing (see serializer.h for the framing rules).
//
// Pure functions; no state. Each call appends to the caller's string after reserving the
// exact size it is about to write, so a head costs at most one reallocation.
#include "http/serializer.h"

#include <charconv>
#include <cstring>
#include <string_view>

namespace stavka::http {

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kContentLength = "Content-Length: ";
constexpr std::string_view kChunked = "Transfer-Encoding: chunked\r\n";
constexpr std::string_view kConnectionClose = "Connection: close\r\n";
constexpr size_t kMaxDecimal = 20;  // digits of UINT64_MAX

// Framing is always written from head.framing, never copied from the field list.
bool is_framing(KnownField name) {
  return name == KnownField::content_length || name == KnownField::transfer_encoding;
}
bool is_framing_field(const Header& h) { return is_framing(h.known); }

size_t fields_size(const HeaderMap& fields) { return fields.lines_size(is_framing_field); }

// Grows out once, then copies the fields' lines. size: fields_size(fields).
void append_fields(const HeaderMap& fields, size_t size, std::string& out) {
  size_t at = out.size();
  out.resize(at + size);
  fields.copy_lines(out.data() + at, is_framing_field);
}

void append_decimal(uint64_t value, std::string& out) {
  char buf[kMaxDecimal];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, res.ptr);
}

void append_content_length(uint64_t value, std::string& out) {
  out.append(kContentLength);
  append_decimal(value, out);
  out.append(kCrlf);
}

// The status line and the fields, with room reserved for `more` bytes after them.
void start_response(int status, std::string_view reason, const HeaderMap& fields, size_t more,
                    std::string& out) {
  size_t size = fields_size(fields);
  out.reserve(out.size() + 9 + kMaxDecimal + 1 + reason.size() + 2 + size + more);
  out.append("HTTP/1.1 ");
  append_decimal(static_cast<uint64_t>(status < 0 ? 0 : status), out);
  out.append(" ").append(reason).append(kCrlf);
  append_fields(fields, size, out);
}

}  // namespace

void serialize_request_head(const RequestHead& head, std::string& out) {
  size_t size = fields_size(head.headers);
  out.reserve(out.size() + head.method.size() + head.target.size() + 12 + size +
              kContentLength.size() + kMaxDecimal + 4);
  out.append(head.method).append(" ").append(head.target).append(" HTTP/1.1\r\n");
  append_fields(head.headers, size, out);
  switch (head.framing) {
    case BodyFraming::content_length:
      append_content_length(head.content_length, out);
      break;
    case BodyFraming::chunked:
      out.append(kChunked);
      break;
    case BodyFraming::none:
    case BodyFraming::until_close:  // not a request framing; nothing can express it
      break;
  }
  out.append(kCrlf);
}

void serialize_response_start(int status, std::string_view reason, const HeaderMap& fields,
                              std::string& out) {
  start_response(status, reason, fields, 0, out);
}

void serialize_response_head(const ResponseHead& head, std::string& out) {
  std::string_view reason = head.reason.empty() ? std::string_view(reason_phrase(head.status))
                                                : std::string_view(head.reason);
  bool interim = head.status < 200;
  // RFC 9110 §8.6: no Content-Length in 1xx or 204; §6.4.1: neither carries a body.
  bool length_allowed = !interim && head.status != 204;
  bool write_close = !interim && (!head.keep_alive || head.framing == BodyFraming::until_close) &&
                     !head.headers.has_token("Connection", "close");

  start_response(head.status, reason, head.headers,
                 kContentLength.size() + kMaxDecimal + 2 + kConnectionClose.size() + 2, out);
  if (length_allowed) {
    switch (head.framing) {
      case BodyFraming::none:
        if (head.status != 304) append_content_length(0, out);
        break;
      case BodyFraming::content_length:
        append_content_length(head.content_length, out);
        break;
      case BodyFraming::chunked:
        out.append(kChunked);
        break;
      case BodyFraming::until_close:
        break;
    }
  }
  if (write_close) out.append(kConnectionClose);
  out.append(kCrlf);
}

void fields_of_written_head(std::string_view head, HeaderMap& out) {
  size_t at = head.find(kCrlf);  // past the status line
  while (at != std::string_view::npos) {
    at += kCrlf.size();
    const size_t end = head.find(kCrlf, at);
    if (end == std::string_view::npos || end == at) return;  // the blank line ends the head
    std::string_view line = head.substr(at, end - at);
    at = end;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    const KnownField known = classify_field(name);
    if (is_framing(known) || known == KnownField::connection) continue;
    out.add(name, value);
  }
}

void append_chunk_header(uint64_t size, std::string& out) {
  if (size == 0) return;  // "0\r\n" would end the body; append_last_chunk does that
  char buf[16];
  auto res = std::to_chars(buf, buf + sizeof buf, size, 16);
  out.append(buf, res.ptr).append(kCrlf);
}

void append_last_chunk(const HeaderMap& trailers, std::string& out) {
  size_t size = fields_size(trailers);
  out.reserve(out.size() + 5 + size);
  out.append("0\r\n");
  append_fields(trailers, size, out);
  out.append(kCrlf);
}

}  // namespace stavka::http
