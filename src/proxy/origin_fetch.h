// The forward_to_origin phase: sends an Exchange's request to one of its site's origins and
// streams the response back to the client as it arrives.
//
// Runs on the client connection's worker; the origin connection comes from (and, if still
// healthy, returns to) that worker's UpstreamPool. Memory is bounded per request whatever the
// body size: at most one receive buffer from each side is held at a time, and a buffer is sent
// on before the next is received.
#pragma once

#include "proxy/exchange.h"
#include "proxy/origin_request.h"
#include "runtime/task.h"

namespace stavka::proxy {

runtime::Task<Outcome> forward_to_origin(Worker& w, Exchange& ex);

// Streams a started origin request's response (head and body) to the exchange's client, then
// hands the origin connection back to the pool if it ended cleanly.
runtime::Task<Outcome> relay_response(Worker& w, Exchange& ex, OriginRequest& origin);

}  // namespace stavka::proxy
