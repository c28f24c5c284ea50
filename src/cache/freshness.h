// Freshness lifetime, age and the fresh/stale verdict of a stored response (RFC 9111 §4.2).
//
// Pure functions of a StoredResponse, the directives in force (directives.h), the policy
// configuration and an explicit `now` (Unix seconds); no clock is read here, so tests step time.
// Any thread. All arithmetic is in int64_t seconds: delta-seconds are clamped to 2^31 by the
// parser and timestamps are Unix seconds, so sums never overflow.
#pragma once

#include <cstdint>
#include <string>

#include "cache/directives.h"
#include "cache/policy_config.h"
#include "cache/stored_response.h"

namespace stavka::cache {

// 2^31: the largest Age a cache sends (RFC 9111 §5.1, §1.2.2).
constexpr int64_t max_age_value = 2147483648;

// Status codes defined as heuristically cacheable (RFC 9110 §15.1): 200, 203, 204, 206, 300,
// 301, 308, 404, 405, 410, 414, 501.
bool is_heuristically_cacheable(int status);

enum class LifetimeSource : uint8_t {
  s_maxage,   // shared caches prefer s-maxage over max-age (§5.2.2.10)
  max_age,
  expires,    // Expires − Date (§4.2.1); an invalid Expires gives 0
  heuristic,  // §4.2.2
  none,       // no explicit freshness and no heuristic applies: lifetime 0
  invalid,    // a malformed or conflicting freshness directive: lifetime 0 (§4.2.1)
};
const char* lifetime_source_name(LifetimeSource source);

struct Lifetime {
  int64_t seconds = 0;
  LifetimeSource source = LifetimeSource::none;
};

// The freshness lifetime (§4.2.1): s-maxage, then max-age, then Expires − Date (Expires ignored
// under CDN-Cache-Control), then the heuristic (only for heuristically cacheable statuses or
// with `public`, and only with a valid Last-Modified).
Lifetime freshness_lifetime(const StoredResponse& response, const ResponseDirectives& directives,
                            const PolicyConfig& config);

// The Date field as a timestamp, or response_time when it is missing or invalid (RFC 9110
// §6.6.1: a recipient records the time of receipt in place of a missing Date).
int64_t date_value(const StoredResponse& response);

// The intermediate values of §4.2.3, exposed for tests and for the admin "inspect" view.
struct AgeParts {
  int64_t age_value = 0;              // Age field; invalid or missing: 0; clamped to 2^31
  int64_t date_value = 0;
  int64_t apparent_age = 0;           // max(0, response_time − date_value)
  int64_t response_delay = 0;         // response_time − request_time (never negative)
  int64_t corrected_age_value = 0;    // age_value + response_delay
  int64_t corrected_initial_age = 0;  // max(apparent_age, corrected_age_value)
};
AgeParts age_parts(const StoredResponse& response);

// corrected_initial_age + resident time (now − response_time, never negative).
int64_t current_age(const StoredResponse& response, int64_t now);
// The Age field value to send with the stored response at `now`: current_age in whole
// seconds, at most 2^31 (§5.1).
std::string age_header_value(const StoredResponse& response, int64_t now);

struct Freshness {
  Lifetime lifetime;
  int64_t age = 0;

  // §4.2: fresh while freshness_lifetime > current_age.
  bool fresh() const { return lifetime.seconds > age; }
  // Remaining lifetime; negative once stale (the Cache-Status ttl parameter, RFC 9211 §2.5).
  int64_t ttl() const { return lifetime.seconds - age; }
  // Seconds past expiry; 0 while fresh and at the instant of expiry.
  int64_t staleness() const { return fresh() ? 0 : age - lifetime.seconds; }
};
Freshness evaluate_freshness(const StoredResponse& response, const ResponseDirectives& directives,
                             const PolicyConfig& config, int64_t now);

}  // namespace stavka::cache
