// PolicyConfig: the knobs of the RFC 9111 policy an operator may turn, per site.
//
// A plain value copied into each decision; no state, no threads. Defaults are what RFC 9111
// suggests or what is safe without configuration: the heuristic fraction of 10% (§4.2.2), a
// one-day cap on heuristic lifetimes, and no stale serving on origin errors unless the origin or
// the client allows it (stale-if-error).
#pragma once

#include <cstdint>

namespace stavka::cache {

struct PolicyConfig {
  // Heuristic freshness (RFC 9111 §4.2.2): fraction × (Date − Last-Modified), at most the cap.
  double heuristic_fraction = 0.1;
  int64_t heuristic_cap = 86400;
  // Seconds past expiry during which a stale response may replace an origin error (500, 502,
  // 503, 504 or no connection) when neither the response nor the request says stale-if-error.
  // 0 disables it. Never applies where a directive forbids stale serving (must-revalidate,
  // proxy-revalidate, s-maxage, no-cache).
  int64_t stale_if_error_default = 0;
};

}  // namespace stavka::cache
