// What to do with a request given the stored response that matched it (RFC 9111 §4, §4.2.4,
// §5.2; RFC 5861; RFC 8246), and what to do when the origin then fails.
//
// Pure functions; any thread; `now` is passed in. The caller has already found the entry (key
// and Vary, vary.h) and parsed the directives (directives.h). The policy only decides; the
// caller performs the fetch, the background revalidation, the 504.
//
// Time windows are half-open, like freshness itself (fresh while age < lifetime): a stale
// response is acceptable under max-stale=N, stale-while-revalidate=N or stale-if-error=N while
// age < lifetime + N. So N = 0 never allows stale, and each window lasts exactly N seconds.
//
// Choices where the RFCs leave room:
//   - must-revalidate, proxy-revalidate and s-maxage (which implies proxy-revalidate for a
//     shared cache, §5.2.2.10) forbid every form of stale serving: max-stale,
//     stale-while-revalidate, stale-if-error, the configured default. Deployed CDNs disagree
//     about s-maxage with stale-while-revalidate; an origin wanting both can send
//     CDN-Cache-Control: max-age=N, stale-while-revalidate=M.
//   - A request max-age or min-fresh says the client does not want a stale response unless it
//     also sends max-stale (§5.2.1.1), so stale-while-revalidate does not apply to it.
//   - immutable (RFC 8246) lets a fresh response ignore the client's reload signals (no-cache,
//     Pragma: no-cache, a max-age it exceeds); it does not override min-fresh, nor anything
//     once stale.
//   - only-if-cached (§5.2.1.7) turns any decision that would contact the origin into a 504;
//     stale-while-revalidate still serves (the client gets the stored response; the
//     background refresh is the cache's own business).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/directives.h"
#include "cache/freshness.h"
#include "cache/policy_config.h"
#include "cache/stored_response.h"
#include "http/cache_control.h"

namespace stavka::cache {

enum class Action : uint8_t {
  serve,                   // answer from the stored response; no origin contact
  serve_and_revalidate,    // answer from it (stale) and start one background revalidation
  revalidate,              // ask the origin first (conditional when there is a validator)
  forward,                 // nothing usable stored: fetch from the origin
  gateway_timeout,         // only-if-cached and nothing servable: answer 504
};
const char* action_name(Action action);

enum class Why : uint8_t {
  fresh,
  immutable,               // fresh and immutable: the client's reload was not needed
  max_stale,               // stale, accepted by the client's max-stale
  stale_while_revalidate,  // stale, within the response's stale-while-revalidate window
  soft_purged,             // stale since a soft purge: served while it revalidates
  stale,                   // stale and nothing allows serving it
  response_no_cache,       // the response said no-cache (unqualified)
  request_no_cache,        // the client said no-cache (or Pragma: no-cache)
  request_max_age,         // the stored response is older than the client's max-age
  request_min_fresh,       // it will not stay fresh for the client's min-fresh
  miss,                    // nothing stored for this request
  method,                  // not a GET or HEAD: never answered from the cache
  only_if_cached,          // the client forbade contacting the origin
};
const char* why_name(Why why);

struct Decision {
  Action action = Action::forward;
  Why why = Why::miss;
  Freshness freshness;     // of the stored response (zero on a miss)
  bool stale = false;      // the response served (serve / serve_and_revalidate) is stale
  // Stale serving is forbidden (must-revalidate, proxy-revalidate, s-maxage): if the
  // revalidation cannot reach the origin the answer is 504 (§5.2.2.2).
  bool must_revalidate = false;
  // Fields named by no-cache="..." in the response: removed from what is served without
  // revalidation (§5.2.2.4); a validated response may carry them.
  std::vector<std::string> strip_fields;
};

// The decision for a request (method and parsed Cache-Control) with no stored response.
Decision decide_miss(std::string_view method, const http::CacheDirectives& request_cc);

// The decision for a request whose key and Vary matched `stored`. soft_purged: a soft purge
// marked it stale (storage::ObjectMeta::soft_purged); it is then served stale while it
// revalidates, unless the response forbids stale (must-revalidate, proxy-revalidate, s-maxage)
// or the client asks for a fresh one.
Decision decide_lookup(std::string_view method, const http::CacheDirectives& request_cc,
                       const StoredResponse& stored, const ResponseDirectives& stored_cc,
                       const PolicyConfig& config, int64_t now, bool soft_purged = false);

enum class ErrorAction : uint8_t {
  serve_stored,     // answer with the stored response (stale-if-error or configured grace)
  pass_error,       // the origin's error response goes to the client, or the proxy's own
                    // error when there was no response
  gateway_timeout,  // no connection and stale serving forbidden: 504 (§5.2.2.2)
};
const char* error_action_name(ErrorAction action);

// The origin failed while revalidating `stored` (or while refreshing it in the background):
// origin_status is its response status, or nullopt when no response came (connection refused,
// reset, timeout). Only 500, 502, 503, 504 and no response count as errors (RFC 5861 §4);
// other statuses are answers and are passed on. The stale-if-error window is the request's
// when it has one (the client's own tolerance), else the response's, else
// config.stale_if_error_default. Within it the stored response is served even if the request
// had asked for validation (no-cache, max-age): "regardless of other freshness information"
// (RFC 5861 §4), and an answer beats an error.
ErrorAction decide_on_origin_error(const http::CacheDirectives& request_cc,
                                   const StoredResponse& stored,
                                   const ResponseDirectives& stored_cc,
                                   const PolicyConfig& config, int64_t now,
                                   std::optional<int> origin_status);

}  // namespace stavka::cache
