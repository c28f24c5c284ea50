// The storability rules of RFC 9111 §3 for a shared cache.
//
// Stateless. Checks run in a fixed order so that the reason reported is the most fundamental
// one (a POST with no-store reports "method", not "request-no-store").
#include "cache/storability.h"

#include <algorithm>

#include "cache/field_text.h"
#include "cache/freshness.h"
#include "cache/vary.h"

namespace stavka::cache {

namespace {

bool is_final(int status) { return status >= 200 && status <= 999; }

// §3: "the response contains at least one of" — the permissions a shared cache can use.
// Qualified private does not count: it restricts fields, it does not permit storing.
bool has_storage_permission(int status, const http::HeaderMap& response_headers,
                            const ResponseDirectives& response_cc) {
  const http::CacheDirectives& cc = response_cc.cc;
  if (cc.is_public || cc.max_age || cc.s_maxage) return true;
  // Under CDN-Cache-Control, Expires is not part of the policy (RFC 9213 §2.1).
  if (!response_cc.from_cdn && response_headers.contains("expires")) return true;
  return is_heuristically_cacheable(status);
}

bool list_contains(const std::vector<std::string>& list, std::string_view lower_name) {
  return std::find(list.begin(), list.end(), lower_name) != list.end();
}

}  // namespace

const char* store_reason_name(StoreReason reason) {
  switch (reason) {
    case StoreReason::storable: return "storable";
    case StoreReason::method: return "method";
    case StoreReason::range_request: return "range-request";
    case StoreReason::request_no_store: return "request-no-store";
    case StoreReason::status_not_final: return "status-not-final";
    case StoreReason::partial_content: return "partial-content";
    case StoreReason::not_modified: return "not-modified";
    case StoreReason::must_understand: return "must-understand";
    case StoreReason::response_no_store: return "response-no-store";
    case StoreReason::private_response: return "private";
    case StoreReason::authorization: return "authorization";
    case StoreReason::vary_star: return "vary-star";
    case StoreReason::not_cacheable_status: return "not-cacheable-status";
  }
  return "unknown";
}

bool is_understood_status(int status) {
  switch (status) {
    case 200: case 201: case 202: case 203: case 204: case 205:
    case 300: case 301: case 302: case 303: case 305: case 307: case 308:
    case 400: case 401: case 402: case 403: case 404: case 405: case 406: case 407:
    case 408: case 409: case 410: case 411: case 412: case 413: case 414: case 415:
    case 416: case 417: case 421: case 422: case 426:
    case 500: case 501: case 502: case 503: case 504: case 505:
      return true;
    default:
      return false;
  }
}

Storability check_storable(std::string_view method, const http::HeaderMap& request_headers,
                           const http::CacheDirectives& request_cc, int status,
                           const http::HeaderMap& response_headers,
                           const ResponseDirectives& response_cc) {
  const http::CacheDirectives& cc = response_cc.cc;
  auto refuse = [](StoreReason reason) { return Storability{reason, {}}; };

  // §3: the method must be understood and cacheable; Stavka stores GET only (HEAD is answered
  // from the stored GET, §4.3.5 freshening from HEAD is not done).
  if (method != "GET") return refuse(StoreReason::method);
  if (request_headers.contains("range")) return refuse(StoreReason::range_request);
  if (request_cc.no_store) return refuse(StoreReason::request_no_store);
  if (!is_final(status)) return refuse(StoreReason::status_not_final);
  if (status == 206) return refuse(StoreReason::partial_content);
  if (status == 304) return refuse(StoreReason::not_modified);

  // §5.2.2.3: must-understand limits storing to caches that understand the status, and such a
  // cache SHOULD then ignore no-store (which the origin sends for caches that do not know
  // must-understand).
  bool ignore_no_store = false;
  if (cc.must_understand) {
    if (!is_understood_status(status)) return refuse(StoreReason::must_understand);
    ignore_no_store = true;
  }
  if (cc.no_store && !ignore_no_store) return refuse(StoreReason::response_no_store);
  if (cc.is_private) return refuse(StoreReason::private_response);

  // §3.5: a response to an authenticated request may be shared only with an explicit
  // permission that a shared cache honours.
  if (request_headers.contains("authorization") &&
      !(cc.is_public || cc.s_maxage || cc.must_revalidate)) {
    return refuse(StoreReason::authorization);
  }
  if (!vary_fields(response_headers)) return refuse(StoreReason::vary_star);
  if (!has_storage_permission(status, response_headers, response_cc)) {
    return refuse(StoreReason::not_cacheable_status);
  }
  return Storability{StoreReason::storable, cc.private_fields};
}

void remove_unstorable_fields(http::HeaderMap& headers,
                              const std::vector<std::string>& extra_fields) {
  // Fields named by Connection are hop-by-hop too (RFC 9110 §7.6.1); collect them first.
  std::vector<std::string> connection_listed;
  for (std::string_view value : headers.all("connection")) {
    http::for_each_token(value, [&](std::string_view token) {
      connection_listed.push_back(ascii_lower(token));
    });
  }
  static constexpr std::string_view never_stored[] = {
      "connection", "keep-alive", "proxy-connection", "te", "trailer",
      "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authentication-info"};
  headers.remove_if([&](const http::Header& h) {
    for (std::string_view name : never_stored) {
      if (http::iequals(h.name, name)) return true;
    }
    std::string lower = ascii_lower(h.name);
    return list_contains(connection_listed, lower) || list_contains(extra_fields, lower);
  });
}

}  // namespace stavka::cache
