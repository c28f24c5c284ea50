// Forwarding rules: what a reverse proxy changes in the fields it passes on (RFC 9110 §7.6).
//
// Pure functions over heads; no state. Towards the origin: hop-by-hop fields removed (Connection
// and the fields it names, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*), Expect
// removed (Stavka answers 100-continue itself), Via appended, X-Forwarded-For appended,
// X-Forwarded-Proto and X-Forwarded-Host set, the target turned into origin-form. Towards the
// client: the same hop-by-hop fields removed and Via appended.
#pragma once

#include <string_view>

#include "http/message.h"

namespace stavka::proxy {

void remove_hop_by_hop(http::HeaderMap& headers);

struct ForwardInfo {
  std::string_view client_ip;
  std::string_view host;         // the request's host (Host or absolute-form authority)
  std::string_view origin_host;  // Host to send the origin; empty: host
  std::string_view via_name;     // "stavka"
  std::string_view scheme;       // "http"
};

// Rewrites a client's request head (moved in) into the head to send the origin.
// origin_target: the path and query (origin-form) of the request.
void to_origin_request(http::RequestHead& head, std::string_view origin_target,
                       const ForwardInfo& info);

// Rewrites an origin's response head before it goes to the client: hop-by-hop fields and
// Stavka-Cache-Control (meant for this cache alone) removed, Via appended.
void to_client_response(http::ResponseHead& head, std::string_view via_name);

// Splits an absolute-form target "http://host[:port]/path?q" into authority and origin-form
// target. Returns false if target is not absolute-form with scheme http or https.
bool split_absolute_target(std::string_view target, std::string_view* authority,
                           std::string_view* origin_form);

}  // namespace stavka::proxy
