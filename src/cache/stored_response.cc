// Conversion of stored fields between HeaderMap and ObjectMeta's "Name: value\r\n" text.
//
// Stateless. The text is produced by serialize_fields only, so parsing is lenient: it must
// never fail on what it wrote, and it tolerates a bare "\n" line end.
#include "cache/stored_response.h"

namespace stavka::cache {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string serialize_fields(const http::HeaderMap& headers) {
  std::string out;
  for (const http::Header& h : headers) {
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  return out;
}

http::HeaderMap parse_fields(std::string_view serialized) {
  http::HeaderMap out;
  while (!serialized.empty()) {
    size_t eol = serialized.find('\n');
    std::string_view line = serialized.substr(0, eol);
    serialized.remove_prefix(eol == std::string_view::npos ? serialized.size() : eol + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    out.add(line.substr(0, colon), trim(line.substr(colon + 1)));
  }
  return out;
}

}  // namespace stavka::cache
