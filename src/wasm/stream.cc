// Stream: see stream.h.
#include "wasm/stream.h"

#include "http/serializer.h"

namespace stavka::wasm {

http::HeaderMap& response_fields(Stream& s) {
  if (s.response_bytes) {
    http::HeaderMap fields;
    http::fields_of_written_head(*s.response_bytes, fields);
    for (const http::Header& added : s.response->headers) fields.add(added.name, added.value);
    s.response->headers = std::move(fields);
    s.response_bytes = nullptr;
  }
  return s.response->headers;
}

uint32_t response_field_count(const Stream& s) {
  const auto added = static_cast<uint32_t>(s.response->headers.size());
  return s.response_bytes ? s.response_bytes_fields + added : added;
}

}  // namespace stavka::wasm
