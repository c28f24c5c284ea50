// Conditional requests to the origin and 304 handling (RFC 9111 §3.2, §4.3).
//
// Stateless. Field replacement keeps the position of the stored field where it has one, so the
// merged head reads like the original with updated values.
#include "cache/validation.h"

#include <algorithm>
#include <string>
#include <vector>

#include "cache/entity_tag.h"
#include "cache/field_text.h"
#include "cache/storability.h"
#include "http/cache_control.h"
#include "http/date.h"

namespace stavka::cache {

namespace {

std::optional<EntityTag> etag_of(const http::HeaderMap& headers) {
  std::optional<std::string_view> value = headers.find("etag");
  if (!value) return std::nullopt;
  return parse_entity_tag(*value);
}

// `reference` resolves RFC 850 two-digit years; whether a date is valid does not depend on it,
// and comparisons parse both sides against the same reference.
std::optional<time_t> last_modified_of(const http::HeaderMap& headers, int64_t reference) {
  std::optional<std::string_view> value = headers.find("last-modified");
  if (!value) return std::nullopt;
  return http::parse_http_date(trim_ows(*value), static_cast<time_t>(reference));
}

bool excluded_from_merge(std::string_view name) {
  static constexpr std::string_view excluded[] = {"content-length", "content-range",
                                                  "content-encoding"};
  for (std::string_view e : excluded) {
    if (http::iequals(name, e)) return true;
  }
  return false;
}

}  // namespace

bool has_validator(const http::HeaderMap& stored_headers) {
  return etag_of(stored_headers).has_value() || last_modified_of(stored_headers, 0).has_value();
}

void set_conditional_headers(const http::HeaderMap& stored_headers,
                             http::HeaderMap& origin_request) {
  origin_request.remove("if-none-match");
  origin_request.remove("if-modified-since");
  if (auto tag = etag_of(stored_headers)) {
    std::string value = tag->weak ? "W/" : "";
    value.append(tag->opaque);
    origin_request.add("If-None-Match", value);
  }
  // The stored text is sent as received (§4.3.1: "the Last-Modified value"), once it is known
  // to be a date; a reformatted date could differ from what the origin compares against.
  if (last_modified_of(stored_headers, 0)) {
    origin_request.add("If-Modified-Since", trim_ows(*stored_headers.find("last-modified")));
  }
}

bool not_modified_applies(const http::HeaderMap& stored_headers,
                          const http::HeaderMap& not_modified_headers, int64_t now) {
  if (not_modified_headers.contains("etag")) {
    auto fresh = etag_of(not_modified_headers);
    auto stored = etag_of(stored_headers);
    if (!fresh || !stored) return false;
    return fresh->weak ? weak_match(*fresh, *stored) : strong_match(*fresh, *stored);
  }
  if (not_modified_headers.contains("last-modified")) {
    auto fresh = last_modified_of(not_modified_headers, now);
    auto stored = last_modified_of(stored_headers, now);
    return fresh && stored && *fresh == *stored;
  }
  return true;
}

void merge_not_modified(http::HeaderMap& stored_headers, const http::HeaderMap& not_modified,
                        int64_t response_time) {
  http::HeaderMap update = not_modified;
  remove_unstorable_fields(update, http::parse_cache_control(not_modified).private_fields);
  update.remove_if([](const http::Header& h) { return excluded_from_merge(h.name); });

  // Names in first-seen order, each replaced once with all of its lines from the 304.
  std::vector<std::string> names;
  for (const http::Header& h : update) {
    std::string lower = ascii_lower(h.name);
    if (std::find(names.begin(), names.end(), lower) == names.end()) names.push_back(lower);
  }
  for (const std::string& name : names) {
    std::vector<std::string_view> values = update.all(name);
    const std::string_view spelled = std::find_if(update.begin(), update.end(), [&](const auto& h) {
                                   return http::iequals(h.name, name);
                                 })->name;
    stored_headers.set(spelled, values.front());
    for (size_t i = 1; i < values.size(); ++i) stored_headers.add(spelled, values[i]);
  }
  if (!update.contains("date")) stored_headers.set("Date", http::format_http_date(response_time));
  if (!update.contains("age")) stored_headers.remove("age");
}

StoredResponse freshen(const StoredResponse& stored, const http::HeaderMap& not_modified,
                       int64_t request_time, int64_t response_time) {
  StoredResponse out = stored;
  merge_not_modified(out.headers, not_modified, response_time);
  out.request_time = request_time;
  out.response_time = response_time;
  return out;
}

}  // namespace stavka::cache
