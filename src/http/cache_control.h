// Cache-Control (RFC 9111 §5.2) and CDN-Cache-Control (RFC 9213) field parsing.
//
// Pure functions over field values; no state, usable from any thread. This layer only says what
// the fields contain. What the directives mean for storing and serving lives in src/cache.
//
// Rules applied here, so that the policy sees one clean record:
//   - directive names compare case-insensitively; unknown directives are ignored;
//   - a directive's argument may be a token or a quoted-string (RFC 9110 §5.6.4, §5.6.6), with
//     optional whitespace around members and around "=", as deployed caches tolerate;
//   - delta-seconds larger than 2^31 are clamped to 2^31 (RFC 9111 §1.2.2); a quoted number
//     ("max-age=\"60\"") is accepted: senders must not send it, recipients may read it;
//   - a freshness directive (max-age, s-maxage) that is malformed ("max-age=abc",
//     "max-age=-1", "max-age" without a value) or repeated with different values marks the
//     record `freshness_invalid`: RFC 9111 §4.2.1 lets a cache treat such a response as stale,
//     and that is what Stavka does. A repeated directive with the same value is harmless. The
//     optional keeps the first well-formed value (empty if there is none); the flag says
//     whether to trust it;
//   - several field lines of one name are one list (RFC 9110 §5.3). Each line is scanned on its
//     own, so an unterminated quoted-string cannot swallow the next line;
//   - a member that does not parse ("no-store junk", "private=\"a", "=5") is skipped without
//     disturbing its neighbours, except that when in doubt the record errs towards caching
//     less: a restrictive directive (no-store, no-cache, private, must-revalidate,
//     proxy-revalidate, no-transform) counts whenever its name appears, whatever follows it,
//     while a permissive one (public, immutable, must-understand, only-if-cached) counts only
//     when written cleanly without an argument;
//   - no-cache and private: without an argument they are unqualified (no_cache / is_private).
//     With a list of field names ("no-cache=\"Set-Cookie, x\"", or a single token) they are
//     qualified: the lower-cased names go to no_cache_fields / private_fields and the flag
//     stays false unless an unqualified form also appears. The policy therefore tests
//     `no_cache || !no_cache_fields.empty()` for "some no-cache applies". An argument that is
//     not a non-empty list of field-name tokens makes the directive unqualified, since a cache
//     that cannot tell which fields are meant must assume all are; so do more than 64 names
//     for one directive (no real list is that long, and the bound keeps parsing linear);
//   - value directives other than max-age and s-maxage ignore a malformed occurrence; when
//     repeated, the most conservative well-formed value wins (smallest stale-while-revalidate,
//     stale-if-error and max-stale, largest min-fresh; a max-stale value beats a bare
//     max-stale).
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
  bool no_cache = false;                     // unqualified no-cache only (see above)
  std::vector<std::string> no_cache_fields;  // no-cache="a, b": lower-cased field names
  bool no_store = false;
  bool no_transform = false;

  // Response.
  std::optional<uint32_t> s_maxage;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool must_understand = false;
  bool is_private = false;                  // unqualified private only (see above)
  std::vector<std::string> private_fields;  // private="a, b": lower-cased field names
  bool is_public = false;
  bool immutable = false;                          // RFC 8246
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
// with the Cache-Control meanings. The field lines are joined with ", " and parsed strictly
// (lower-case keys, no trailing comma, RFC 8941 integers); nullopt when the field is absent,
// empty, or does not parse as a Dictionary: RFC 9213 §2.1 says a cache then ignores it (and
// falls back to Cache-Control). An empty field line among others therefore voids the field.
// Mapping of members (a repeated key: the last one wins, as RFC 8941 says; parameters are
// ignored):
//   - Boolean true, or a key without value, is a directive without argument; ?0 means the
//     directive is not set;
//   - an Integer >= 0 is delta-seconds (clamped) for max-age, s-maxage,
//     stale-while-revalidate, stale-if-error, max-stale and min-fresh; any other value for
//     them is ignored, and for max-age / s-maxage also sets freshness_invalid;
//   - no-cache / private take field names as a String ("a, b"), a Token or an Inner List of
//     Strings / Tokens;
//   - as above, a value of the wrong type errs towards caching less: it still sets a
//     restrictive directive (no-cache and private become unqualified), never a permissive one.
// field_name lets a site target another CDN-specific field with the same syntax.
std::optional<CacheDirectives> parse_cdn_cache_control(
    const HeaderMap& headers, std::string_view field_name = "cdn-cache-control");

// Delta-seconds (RFC 9111 §1.2.2): digits only, clamped to max_delta_seconds.
std::optional<uint32_t> parse_delta_seconds(std::string_view text);

}  // namespace stavka::http
