// Serialisation of RFC 9211 Cache-Status members as RFC 8941 Structured Fields.
//
// Stateless.
#include "cache/cache_status.h"

#include <algorithm>

#include "http/headers.h"

namespace stavka::cache {

namespace {

// RFC 8941 §3.3.4: ( ALPHA / "*" ) *( tchar / ":" / "/" ).
bool is_sf_token(std::string_view s) {
  if (s.empty()) return false;
  char first = s.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '*')) {
    return false;
  }
  for (char c : s.substr(1)) {
    if (!http::is_tchar(c) && c != ':' && c != '/') return false;
  }
  return true;
}

// RFC 8941 §4.1.6.
void append_sf_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c < 0x20 || c > 0x7e) {
      out.push_back('?');
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

const char* fwd_name(Fwd fwd) {
  switch (fwd) {
    case Fwd::none: return "";
    case Fwd::bypass: return "bypass";
    case Fwd::method: return "method";
    case Fwd::uri_miss: return "uri-miss";
    case Fwd::vary_miss: return "vary-miss";
    case Fwd::miss: return "miss";
    case Fwd::request: return "request";
    case Fwd::stale: return "stale";
    case Fwd::partial: return "partial";
  }
  return "";
}

std::string format_cache_status(std::string_view cache_name, const CacheStatus& status) {
  std::string out;
  if (is_sf_token(cache_name)) {
    out.append(cache_name);
  } else {
    append_sf_string(out, cache_name);
  }
  if (status.hit) out.append("; hit");
  if (status.fwd != Fwd::none) out.append("; fwd=").append(fwd_name(status.fwd));
  if (status.fwd_status) out.append("; fwd-status=").append(std::to_string(*status.fwd_status));
  if (status.stored) out.append("; stored");
  if (status.collapsed) out.append("; collapsed");
  if (status.ttl) out.append("; ttl=").append(std::to_string(*status.ttl));
  if (!status.key.empty()) {
    out.append("; key=");
    append_sf_string(out, status.key);
  }
  if (!status.detail.empty()) {
    out.append("; detail=");
    append_sf_string(out, status.detail);
  }
  return out;
}

void append_cache_status(http::HeaderMap& headers, std::string_view member) {
  // One field line, so that intermediaries that keep only the first line do not lose ours.
  std::optional<std::string_view> existing = headers.find("cache-status");
  if (!existing) {
    headers.add("Cache-Status", member);
    return;
  }
  std::string joined;
  for (std::string_view line : headers.all("cache-status")) {
    if (!joined.empty()) joined.append(", ");
    joined.append(line);
  }
  joined.append(", ").append(member);
  headers.set("Cache-Status", joined);
}

CacheStatus cache_status_for(const Decision& decision) {
  CacheStatus status;
  switch (decision.action) {
    case Action::serve:
    case Action::serve_and_revalidate:
      status.hit = true;
      // Stale since a soft purge, whatever freshness it had left.
      status.ttl = decision.why == Why::soft_purged ? std::min<int64_t>(decision.freshness.ttl(), 0)
                                                    : decision.freshness.ttl();
      if (decision.why != Why::fresh) status.detail = why_name(decision.why);
      break;
    case Action::revalidate:
      status.fwd = (decision.why == Why::request_no_cache || decision.why == Why::request_max_age ||
                    decision.why == Why::request_min_fresh)
                       ? Fwd::request
                       : Fwd::stale;
      if (decision.why != Why::stale) status.detail = why_name(decision.why);
      break;
    case Action::forward:
      status.fwd = decision.why == Why::method ? Fwd::method : Fwd::uri_miss;
      break;
    case Action::gateway_timeout:
      // §2.2: fwd is for requests that went forward; a 504 for only-if-cached did not.
      status.detail = why_name(decision.why);
      break;
  }
  return status;
}

}  // namespace stavka::cache
