// Vary-based secondary keys and variant selection (RFC 9111 §4.1).
//
// Stateless. See vary.h for the normalisation and why it goes no further.
#include "cache/vary.h"

#include <algorithm>

#include "cache/field_text.h"
#include "http/date.h"

namespace stavka::cache {

std::optional<std::vector<std::string>> vary_fields(const http::HeaderMap& response_headers) {
  std::vector<std::string> names;
  bool star = false;
  for (std::string_view line : response_headers.all("vary")) {
    http::for_each_token(line, [&](std::string_view token) {
      if (token == "*") star = true;
      names.push_back(ascii_lower(token));
    });
  }
  if (star) return std::nullopt;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::optional<std::string> joined_field_value(const http::HeaderMap& headers,
                                              std::string_view name) {
  std::vector<std::string_view> lines = headers.all(name);
  if (lines.empty()) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(trim_ows(lines[i]));
  }
  return out;
}

std::optional<std::string> variant_key(const http::HeaderMap& response_headers,
                                       const http::HeaderMap& request_headers) {
  auto names = vary_fields(response_headers);
  if (!names) return std::nullopt;
  std::string key;
  for (const std::string& name : *names) {
    if (!key.empty()) key.push_back('\n');
    key.append(name);
    // Field values cannot contain CR or LF, and names cannot contain '=', so this encoding is
    // unambiguous.
    if (auto value = joined_field_value(request_headers, name)) {
      key.push_back('=');
      key.append(*value);
    }
  }
  return key;
}

bool vary_matches(const http::HeaderMap& stored_headers, std::string_view stored_variant,
                  const http::HeaderMap& request_headers) {
  auto key = variant_key(stored_headers, request_headers);
  return key && *key == stored_variant;
}

std::optional<size_t> select_variant(std::span<const VariantCandidate> candidates,
                                     const http::HeaderMap& request_headers) {
  std::optional<size_t> best;
  int64_t best_date = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const VariantCandidate& c = candidates[i];
    if (c.headers == nullptr || !vary_matches(*c.headers, c.variant, request_headers)) continue;
    int64_t date = c.response_time;
    if (std::optional<std::string_view> text = c.headers->find("date")) {
      if (auto parsed = http::parse_http_date(trim_ows(*text), c.response_time)) date = *parsed;
    }
    if (!best || date >= best_date) {
      best = i;
      best_date = date;
    }
  }
  return best;
}

}  // namespace stavka::cache
