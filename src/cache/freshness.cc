// Freshness lifetime and age arithmetic of RFC 9111 §4.2.1 – §4.2.3.
//
// Stateless. Every timestamp comes from the stored response or the caller's `now`.
#include "cache/freshness.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>

#include "cache/field_text.h"
#include "http/date.h"

namespace stavka::cache {

namespace {

// A singleton date field, parsed with the response's receipt time as the reference for
// two-digit years.
std::optional<int64_t> date_field(const StoredResponse& response, std::string_view name) {
  std::optional<std::string_view> value = response.headers.find(name);
  if (!value) return std::nullopt;
  auto parsed = http::parse_http_date(trim_ows(*value), response.response_time);
  if (!parsed) return std::nullopt;
  return static_cast<int64_t>(*parsed);
}

// Expires − Date; nullopt when there is no Expires field. §5.3: an invalid Expires (notably
// "0") means "already expired". §4.2.1: several differing Expires lines make the response
// stale, as the parser does for repeated max-age.
std::optional<int64_t> expires_lifetime(const StoredResponse& response) {
  std::vector<std::string_view> lines = response.headers.all("expires");
  if (lines.empty()) return std::nullopt;
  std::string_view first = trim_ows(lines.front());
  for (std::string_view line : lines) {
    if (trim_ows(line) != first) return 0;
  }
  auto expires = http::parse_http_date(first, response.response_time);
  if (!expires) return 0;
  return std::max<int64_t>(0, static_cast<int64_t>(*expires) - date_value(response));
}

}  // namespace

bool is_heuristically_cacheable(int status) {
  switch (status) {
    case 200: case 203: case 204: case 206: case 300: case 301: case 308:
    case 404: case 405: case 410: case 414: case 501:
      return true;
    default:
      return false;
  }
}

const char* lifetime_source_name(LifetimeSource source) {
  switch (source) {
    case LifetimeSource::s_maxage: return "s-maxage";
    case LifetimeSource::max_age: return "max-age";
    case LifetimeSource::expires: return "expires";
    case LifetimeSource::heuristic: return "heuristic";
    case LifetimeSource::none: return "none";
    case LifetimeSource::invalid: return "invalid";
  }
  return "none";
}

int64_t date_value(const StoredResponse& response) {
  return date_field(response, "date").value_or(response.response_time);
}

Lifetime freshness_lifetime(const StoredResponse& response, const ResponseDirectives& directives,
                            const PolicyConfig& config) {
  const http::CacheDirectives& cc = directives.cc;
  // The parser keeps a first well-formed value even when it flags the record; §4.2.1 lets us
  // either use the first occurrence or treat the response as stale. Stale is the safe choice:
  // an origin that sends "max-age=60, max-age=3600" has not said which it means.
  if (cc.freshness_invalid) return {0, LifetimeSource::invalid};
  if (cc.s_maxage) return {static_cast<int64_t>(*cc.s_maxage), LifetimeSource::s_maxage};
  if (cc.max_age) return {static_cast<int64_t>(*cc.max_age), LifetimeSource::max_age};
  if (!directives.from_cdn) {
    if (auto seconds = expires_lifetime(response)) return {*seconds, LifetimeSource::expires};
  }
  // §4.2.2: a heuristic only without explicit freshness, and only where the status allows one
  // or the origin said `public`.
  if (!is_heuristically_cacheable(response.status) && !cc.is_public) {
    return {0, LifetimeSource::none};
  }
  auto last_modified = date_field(response, "last-modified");
  if (!last_modified) return {0, LifetimeSource::none};
  int64_t since = date_value(response) - *last_modified;
  if (since <= 0) return {0, LifetimeSource::heuristic};
  double scaled = std::floor(static_cast<double>(since) * std::max(0.0, config.heuristic_fraction));
  int64_t cap = std::max<int64_t>(0, config.heuristic_cap);
  int64_t seconds = scaled >= static_cast<double>(cap) ? cap : static_cast<int64_t>(scaled);
  return {seconds, LifetimeSource::heuristic};
}

AgeParts age_parts(const StoredResponse& response) {
  AgeParts parts;
  if (std::optional<std::string_view> age = response.headers.find("age")) {
    // §5.1: a cache ignores an Age it cannot parse; the parser clamps huge values to 2^31.
    if (auto seconds = http::parse_delta_seconds(trim_ows(*age))) parts.age_value = *seconds;
  }
  parts.date_value = date_value(response);
  parts.apparent_age = std::max<int64_t>(0, response.response_time - parts.date_value);
  // A clock that stepped back between request and response must not make the age smaller.
  parts.response_delay = std::max<int64_t>(0, response.response_time - response.request_time);
  parts.corrected_age_value = parts.age_value + parts.response_delay;
  parts.corrected_initial_age = std::max(parts.apparent_age, parts.corrected_age_value);
  return parts;
}

int64_t current_age(const StoredResponse& response, int64_t now) {
  int64_t resident_time = std::max<int64_t>(0, now - response.response_time);
  return age_parts(response).corrected_initial_age + resident_time;
}

std::string age_header_value(const StoredResponse& response, int64_t now) {
  return std::to_string(std::min(current_age(response, now), max_age_value));
}

Freshness evaluate_freshness(const StoredResponse& response, const ResponseDirectives& directives,
                             const PolicyConfig& config, int64_t now) {
  return Freshness{freshness_lifetime(response, directives, config), current_age(response, now)};
}

}  // namespace stavka::cache
