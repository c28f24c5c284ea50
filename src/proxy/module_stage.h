// The module phases of a request (see wasm/filter_chain.h): the request-headers phase between
// route and the cache phase, and the response-headers phase just before a response head goes to
// the client (hits, fills and forwarded responses alike).
#pragma once

#include <optional>

#include "proxy/exchange.h"
#include "runtime/task.h"

namespace stavka::proxy {

// Gives the worker's modules the proxy's services (purge by URL). Called once per worker.
void connect_module_services(Worker& w);

// Runs the site's modules on the request head: nullopt to go on (with the request, and the
// cache key, bypass and TTL the modules chose, in ex.modules), or the Outcome of a request the
// modules answered themselves (a local response, a reset, or 503 for a fail-closed fault).
runtime::Task<std::optional<Outcome>> run_request_modules(Worker& w, Exchange& ex);

// Runs the modules' response phase on `head` (the head about to be serialised for the client).
// `size` is the body length when known, `age` the Age sent.
void run_response_modules(Worker& w, Exchange& ex, http::ResponseHead& head,
                          std::optional<uint64_t> size, std::optional<int64_t> age);

}  // namespace stavka::proxy
