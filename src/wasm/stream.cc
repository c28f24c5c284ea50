// Stream: see stream.h.
#include "wasm/stream.h"

#include "http/serializer.h"

namespace stavka::wasm {

http::HeaderMap& response_fields(Stream& s) {
  if (s.response_bytes) {
    s.response->headers.clear();
    http::fields_of_written_head(*s.response_bytes, s.response->headers);
    s.response_bytes = nullptr;
  }
  return s.response->headers;
}

void add_response_field(Stream& s, std::string_view name, std::string_view value) {
  if (!s.response_bytes) {
    s.response->headers.add(name, value);
    return;
  }
  std::string& head = *s.response_bytes;  // ends with the blank line
  head.resize(head.size() - 2);
  head.append(name).append(": ").append(value).append("\r\n\r\n");
  ++s.response_bytes_fields;
}

uint32_t response_field_count(const Stream& s) {
  return s.response_bytes ? s.response_bytes_fields
                          : static_cast<uint32_t>(s.response->headers.size());
}

}  // namespace stavka::wasm
