// Serving decisions for a request against a stored response, and after an origin failure.
//
// Stateless. The order of checks in decide_lookup is the order of precedence: what the
// response forbids, then what the client asks, then freshness, then the stale allowances.
#include "cache/request_policy.h"

namespace stavka::cache {

namespace {

bool is_get_or_head(std::string_view method) { return method == "GET" || method == "HEAD"; }

// §5.2.2.2, §5.2.2.8, §5.2.2.10: the directives after which a shared cache never serves stale.
bool forbids_stale(const http::CacheDirectives& cc) {
  return cc.must_revalidate || cc.proxy_revalidate || cc.s_maxage.has_value();
}

bool is_origin_error(std::optional<int> status) {
  if (!status) return true;
  return *status == 500 || *status == 502 || *status == 503 || *status == 504;
}

}  // namespace

const char* action_name(Action action) {
  switch (action) {
    case Action::serve: return "serve";
    case Action::serve_and_revalidate: return "serve-and-revalidate";
    case Action::revalidate: return "revalidate";
    case Action::forward: return "forward";
    case Action::gateway_timeout: return "gateway-timeout";
  }
  return "forward";
}

const char* why_name(Why why) {
  switch (why) {
    case Why::fresh: return "fresh";
    case Why::immutable: return "immutable";
    case Why::max_stale: return "max-stale";
    case Why::stale_while_revalidate: return "stale-while-revalidate";
    case Why::soft_purged: return "soft-purged";
    case Why::stale: return "stale";
    case Why::response_no_cache: return "response-no-cache";
    case Why::request_no_cache: return "request-no-cache";
    case Why::request_max_age: return "request-max-age";
    case Why::request_min_fresh: return "request-min-fresh";
    case Why::miss: return "miss";
    case Why::method: return "method";
    case Why::only_if_cached: return "only-if-cached";
  }
  return "miss";
}

const char* error_action_name(ErrorAction action) {
  switch (action) {
    case ErrorAction::serve_stored: return "serve-stored";
    case ErrorAction::pass_error: return "pass-error";
    case ErrorAction::gateway_timeout: return "gateway-timeout";
  }
  return "pass-error";
}

Decision decide_miss(std::string_view method, const http::CacheDirectives& request_cc) {
  Decision d;
  if (!is_get_or_head(method)) {
    d.why = Why::method;
  } else if (request_cc.only_if_cached) {
    // §5.2.1.7: "respond with either a stored response ... or a 504".
    d.action = Action::gateway_timeout;
    d.why = Why::only_if_cached;
  }
  return d;
}

Decision decide_lookup(std::string_view method, const http::CacheDirectives& request_cc,
                       const StoredResponse& stored, const ResponseDirectives& stored_cc,
                       const PolicyConfig& config, int64_t now, bool soft_purged) {
  if (!is_get_or_head(method)) return decide_miss(method, request_cc);

  const http::CacheDirectives& cc = stored_cc.cc;
  Decision d;
  d.freshness = evaluate_freshness(stored, stored_cc, config, now);
  d.must_revalidate = forbids_stale(cc);
  const bool fresh = d.freshness.fresh() && !soft_purged;
  const int64_t age = d.freshness.age;

  auto contact_origin = [&](Why why) {
    d.action = Action::revalidate;
    d.why = why;
    if (request_cc.only_if_cached) {
      d.action = Action::gateway_timeout;
      d.why = Why::only_if_cached;
    }
    return d;
  };
  auto serve = [&](Action action, Why why) {
    d.action = action;
    d.why = why;
    d.stale = !fresh;
    d.strip_fields = cc.no_cache_fields;
    return d;
  };

  // §5.2.2.4: unqualified no-cache — every use needs a successful validation first.
  if (cc.no_cache) return contact_origin(Why::response_no_cache);

  // RFC 8246 §2: a fresh immutable response will not change, so a reload (no-cache, or a
  // max-age it exceeds) is answered from the cache.
  const bool immutable_fresh = fresh && cc.immutable;
  const bool max_age_exceeded =
      request_cc.max_age && age > static_cast<int64_t>(*request_cc.max_age);
  if (request_cc.no_cache && !immutable_fresh) return contact_origin(Why::request_no_cache);
  if (max_age_exceeded && !immutable_fresh) return contact_origin(Why::request_max_age);
  // §5.2.1.3: the response must stay fresh for at least min-fresh more seconds.
  if (request_cc.min_fresh && d.freshness.ttl() < static_cast<int64_t>(*request_cc.min_fresh)) {
    return contact_origin(Why::request_min_fresh);
  }

  if (fresh) {
    bool reload = request_cc.no_cache || max_age_exceeded;
    return serve(Action::serve, reload ? Why::immutable : Why::fresh);
  }

  // Stale (§4.2.4): served only where a directive explicitly allows it and none forbids it.
  if (!d.must_revalidate) {
    const int64_t over = d.freshness.staleness();
    if (request_cc.max_stale &&
        (!request_cc.max_stale_value || over < static_cast<int64_t>(*request_cc.max_stale_value))) {
      return serve(Action::serve, Why::max_stale);
    }
    // §5.2.1.1: with max-age (or min-fresh) and no max-stale, the client does not want stale.
    const bool client_wants_fresh = request_cc.max_age.has_value() || request_cc.min_fresh;
    if (cc.stale_while_revalidate && !client_wants_fresh &&
        over < static_cast<int64_t>(*cc.stale_while_revalidate)) {
      return serve(Action::serve_and_revalidate, Why::stale_while_revalidate);
    }
    // A soft purge marks the object stale to be refreshed without making clients wait: served
    // stale while one revalidation runs, where stale may be served at all.
    if (soft_purged && !client_wants_fresh) {
      return serve(Action::serve_and_revalidate, Why::soft_purged);
    }
  }
  return contact_origin(Why::stale);
}

ErrorAction decide_on_origin_error(const http::CacheDirectives& request_cc,
                                   const StoredResponse& stored,
                                   const ResponseDirectives& stored_cc,
                                   const PolicyConfig& config, int64_t now,
                                   std::optional<int> origin_status) {
  if (!is_origin_error(origin_status)) return ErrorAction::pass_error;
  const http::CacheDirectives& cc = stored_cc.cc;
  if (forbids_stale(cc)) {
    // §5.2.2.2: "if a cache is disconnected, the cache MUST generate an error response rather
    // than reuse the stale response. The generated status code SHOULD be 504". An origin's own
    // 5xx is an answer from the origin and goes through.
    return origin_status ? ErrorAction::pass_error : ErrorAction::gateway_timeout;
  }
  // Unqualified no-cache: reuse needs a *successful* validation (§5.2.2.4), which failed.
  if (cc.no_cache) return ErrorAction::pass_error;

  int64_t window = config.stale_if_error_default;
  if (request_cc.stale_if_error) {
    window = *request_cc.stale_if_error;
  } else if (cc.stale_if_error) {
    window = *cc.stale_if_error;
  }
  if (window <= 0) return ErrorAction::pass_error;
  Freshness f = evaluate_freshness(stored, stored_cc, config, now);
  return f.staleness() < window ? ErrorAction::serve_stored : ErrorAction::pass_error;
}

}  // namespace stavka::cache
