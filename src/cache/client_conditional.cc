// Evaluation of a client's If-None-Match / If-Modified-Since, and of If-Range, against a stored
// response.
//
// Stateless. The order of evaluation is RFC 9110 §13.2.2 restricted to what a cache evaluates.
#include "cache/client_conditional.h"

#include "cache/entity_tag.h"
#include "cache/field_text.h"
#include "cache/freshness.h"
#include "http/date.h"

namespace stavka::cache {

namespace {

bool if_none_match_matches(const EntityTagList& list, const http::HeaderMap& stored_headers) {
  if (list.any) return true;  // a stored response means a current representation exists
  std::optional<std::string_view> etag = stored_headers.find("etag");
  if (!etag) return false;
  auto stored = parse_entity_tag(*etag);
  if (!stored) return false;
  for (const EntityTag& tag : list.tags) {
    if (weak_match(tag, *stored)) return true;
  }
  return false;
}

// The time the stored representation was last modified, as far as the cache knows (§4.3.2).
int64_t stored_modification_time(const StoredResponse& stored) {
  if (std::optional<std::string_view> lm = stored.headers.find("last-modified")) {
    if (auto parsed = http::parse_http_date(trim_ows(*lm), stored.response_time)) return *parsed;
  }
  return date_value(stored);
}

}  // namespace

ConditionalResult evaluate_client_conditionals(std::string_view method,
                                               const http::HeaderMap& request_headers,
                                               const StoredResponse& stored, int64_t now) {
  if (method != "GET" && method != "HEAD") return ConditionalResult::send_full;
  if (stored.status != 200) return ConditionalResult::send_full;

  // RFC 9110 §13.1.3: If-Modified-Since is ignored whenever If-None-Match is present, even an
  // unreadable one.
  if (request_headers.contains("if-none-match")) {
    auto list = parse_entity_tag_list(request_headers, "if-none-match");
    if (list && if_none_match_matches(*list, stored.headers)) {
      return ConditionalResult::not_modified;
    }
    return ConditionalResult::send_full;
  }

  std::vector<std::string_view> ims = request_headers.all("if-modified-since");
  if (ims.size() != 1) return ConditionalResult::send_full;
  auto since = http::parse_http_date(trim_ows(ims.front()), now);
  if (!since || *since > now) return ConditionalResult::send_full;
  return stored_modification_time(stored) <= *since ? ConditionalResult::not_modified
                                                     : ConditionalResult::send_full;
}

bool if_range_allows(const http::HeaderMap& request_headers, const StoredResponse& stored) {
  std::vector<std::string_view> lines = request_headers.all("if-range");
  if (lines.empty()) return true;
  if (lines.size() != 1) return false;
  std::string_view value = lines[0];
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  if (!value.empty() && (value.front() == '"' || value.front() == 'W')) {
    std::optional<EntityTag> asked = parse_entity_tag(value);
    std::optional<std::string_view> etag = stored.headers.find("etag");
    std::optional<EntityTag> current = etag ? parse_entity_tag(*etag) : std::nullopt;
    return asked && current && strong_match(*asked, *current);
  }
  std::optional<time_t> asked = http::parse_http_date(value);
  std::optional<std::string_view> lm = stored.headers.find("last-modified");
  std::optional<std::string_view> date = stored.headers.find("date");
  if (!asked || !lm || !date) return false;
  std::optional<time_t> modified = http::parse_http_date(*lm);
  std::optional<time_t> dated = http::parse_http_date(*date);
  if (!modified || !dated) return false;
  // §8.8.2.2: for a cache, a Last-Modified is strong when at least 60 s before the stored Date.
  return *asked == *modified && *modified + 60 <= *dated;
}

http::HeaderMap not_modified_fields(const http::HeaderMap& full) {
  static constexpr std::string_view kept[] = {
      "cache-control", "cdn-cache-control", "content-location", "date", "etag", "expires",
      "vary",          "age"};
  bool has_etag = full.contains("etag");
  http::HeaderMap out;
  for (const http::Header& h : full) {
    bool keep = !has_etag && http::iequals(h.name, "last-modified");
    for (std::string_view name : kept) keep = keep || http::iequals(h.name, name);
    if (keep) out.add(h.name, h.value);
  }
  return out;
}

}  // namespace stavka::cache
