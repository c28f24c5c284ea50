// Cache-Control (RFC 9111 §5.2) and CDN-Cache-Control (RFC 9213) field parsing.
//
// Pure functions over field values; no state, usable from any thread. This layer only says what
// the fields contain. What the directives mean for storing and serving lives in src/cache.
//
// Rules applied here, so that the policy sees one clean record:
//   - directive names compare case-insensitively; unknown directives are ignored;
//   - a directive's argument may be a token or a quoted-string (RFC 9110 §5.6.4, §5.6.6);
//   - delta-seconds larger than 2^31 are clamped to 2^31 (RFC 9111 §1.2.2);
//   - a freshness directive (max-age, s-maxage) that is malformed ("max-age=abc",
//     "max-age=-1", "max-age" without a value) or repeated with different values marks the
//     record `freshness_invalid`: RFC 9111 §4.2.1 lets a cache treat such a response as stale,
//     and that is what Stavka does. A repeated directive with the same value is harmless;
//   - several field lines of one name are one list (RFC 9110 §5.3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/headers.h"

namespace stavka::http {

// 2^31: the largest delta-seconds value a cache needs to represent (RFC 9111 §1.2.2).
constexpr uint32_t max_delta_seconds = 2147483648u;

struct CacheDirectives {
  bool present = false;  // at least one directive (known or not) was found

  // Response and request.
  std::optional<uint32_t> max_age;
  bool no_cache = false;
  std::vector<std::string> no_cache_fields;  // no-cache="a, b": lower-cased field names
  bool no_store = false;
  bool no_transform = false;

  // Response.
  std::optional<uint32_t> s_maxage;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool must_understand = false;
  bool is_private = false;
  std::vector<std::string> private_fields;  // private="a, b": lower-cased field names
  bool is_public = false;
  bool immutable = false;                      // RFC 8246
  std::optional<uint32_t> stale_while_revalidate;  // RFC 5861
  std::optional<uint32_t> stale_if_error;          // RFC 5861 (response and request)

  // Request.
  bool max_stale = false;                   // max-stale present, with or without a value
  std::optional<uint32_t> max_stale_value;  // absent: any staleness is acceptable
  std::optional<uint32_t> min_fresh;
  bool only_if_cached = false;

  // A freshness directive was malformed or conflicting: treat the response as stale.
  bool freshness_invalid = false;
};

// Parses a comma-separated Cache-Control list (all field lines, in order). Never fails:
// malformed members are skipped (or flag freshness_invalid, above).
CacheDirectives parse_cache_control(const std::vector<std::string_view>& values);
// All Cache-Control field lines of a message.
CacheDirectives parse_cache_control(const HeaderMap& headers);

// CDN-Cache-Control (RFC 9213 §2): a Structured Field Dictionary (RFC 8941 §3.2), directives
// with the Cache-Control meanings. Integer values are delta-seconds; a boolean true member is a
// directive without argument. nullopt when the field is absent or does not parse as a
// Dictionary: RFC 9213 §2.1 says a cache then ignores it (and falls back to Cache-Control).
// field_name lets a site target another CDN-specific field with the same syntax.
std::optional<CacheDirectives> parse_cdn_cache_control(const HeaderMap& headers,
                                                       std::string_view field_name =
                                                           "cdn-cache-control");

// Delta-seconds (RFC 9111 §1.2.2): digits only, clamped to max_delta_seconds.
std::optional<uint32_t> parse_delta_seconds(std::string_view text);

}  // namespace stavka::http
