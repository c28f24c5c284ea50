// StoredHead: see stored_head.h.
#include "proxy/stored_head.h"

#include <algorithm>
#include <charconv>

#include "http/headers.h"
#include "http/serializer.h"
#include "proxy/forwarding.h"

namespace stavka::proxy {

namespace {

// Joins every line of a field into one list value.
std::string joined(const http::HeaderMap& headers, std::string_view name) {
  std::string out;
  for (std::string_view line : headers.all(name)) {
    if (!out.empty()) out.append(", ");
    out.append(line);
  }
  return out;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

std::shared_ptr<const StoredHead> make_stored_head(cache::StoredResponse response) {
  auto head = std::make_shared<StoredHead>();
  head->rcc = cache::response_directives(response.headers);
  http::HeaderMap fields = response.headers;
  remove_hop_by_hop(fields);
  head->upstream_cache_status = joined(fields, "cache-status");
  head->upstream_via = joined(fields, "via");
  for (std::string_view name : {std::string_view("age"), std::string_view("cache-status"),
                                std::string_view("via"), std::string_view("content-length"),
                                cache::own_cache_control}) {
    fields.remove(name);
  }
  http::serialize_response_start(response.status, http::reason_phrase(response.status), fields,
                                 head->fixed);
  head->fixed_fields = static_cast<uint32_t>(fields.size());
  head->response = std::move(response);
  return head;
}

std::shared_ptr<const StoredHead> stored_head_of(const storage::ObjectMeta& meta) {
  if (meta.decoded) return std::static_pointer_cast<const StoredHead>(meta.decoded);
  return make_stored_head({meta.status, cache::parse_fields(meta.headers), meta.request_time,
                           meta.response_time});
}

uint32_t assemble_head(const StoredHead& head, std::string_view age, std::string_view cache_status,
                   std::string_view via_name, uint64_t content_length, bool close,
                   std::string& out, const PartialHead* partial) {
  out.reserve(out.size() + head.fixed.size() + head.upstream_cache_status.size() +
              head.upstream_via.size() + cache_status.size() + via_name.size() + 160);
  uint32_t fields_written = head.fixed_fields + 3;  // and Age, Cache-Status, Via
  if (!partial) {
    out.append(head.fixed);
  } else {
    out.append("HTTP/1.1 206 Partial Content\r\n");
    std::string_view fields = head.fixed;
    fields.remove_prefix(std::min(fields.size(), fields.find("\r\n") + 2));  // the status line
    if (partial->multipart_type.empty()) {
      out.append(fields);
      append_field(out, "Content-Range", partial->content_range);
      ++fields_written;
    } else {
      // Every stored line but Content-Type, which the parts carry.
      while (!fields.empty()) {
        size_t end = fields.find("\r\n");
        std::string_view line = fields.substr(0, end == std::string_view::npos ? end : end + 2);
        fields.remove_prefix(line.size());
        if (!http::iequals(line.substr(0, std::min<size_t>(line.size(), 13)), "content-type:")) {
          out.append(line);
        } else {
          --fields_written;
        }
      }
      append_field(out, "Content-Type", partial->multipart_type);
      ++fields_written;
    }
  }
  append_field(out, "Age", age);
  out.append("Cache-Status: ");
  if (!head.upstream_cache_status.empty()) out.append(head.upstream_cache_status).append(", ");
  out.append(cache_status).append("\r\n");
  out.append("Via: ");
  if (!head.upstream_via.empty()) out.append(head.upstream_via).append(", ");
  out.append("1.1 ").append(via_name).append("\r\n");
  // RFC 9110 §8.6: no Content-Length in a 204; a 304 describes the selected representation.
  int status = head.response.status;
  if (status != 204 && status != 304) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, content_length).ptr;
    append_field(out, "Content-Length", std::string_view(digits, end - digits));
  }
  if (close) out.append("Connection: close\r\n");
  out.append("\r\n");
  return fields_written;
}

}  // namespace stavka::proxy
