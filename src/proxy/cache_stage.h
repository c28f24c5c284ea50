// The cache phase: between route and forward_to_origin, decides where a request's answer comes
// from — a stored object, a fill in progress (collapsed forwarding), or a new fill — and sends
// it, with Age and Cache-Status (RFC 9211).
//
// Runs on the client connection's worker. A fill runs as its own coroutine on the worker of the
// request that started it and outlives that request if other readers remain (or, for a
// cacheable object, up to cache.fill_continue_max bytes). Every client of a fill, the first
// included, is a reader of it: the origin's bytes go to all of them and to storage at once.
//
// What this stage does not handle goes to forward_to_origin with a Cache-Status saying why:
// methods other than GET and HEAD, requests with a body, sites with cache = false, keys recently
// found uncacheable. A GET with Range that finds no fresh whole object, and a GET of an object
// stored as blocks, go to serve_blocks (range_cache.h).
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "cache/fill_table.h"
#include "proxy/exchange.h"
#include "runtime/task.h"
#include "storage/storage.h"

namespace stavka::proxy {

// What the cache phase needs, shared by every worker (built in server.cc).
struct CacheServices {
  storage::Storage* storage = nullptr;
  cache::FillTable* fills = nullptr;
};

runtime::Task<Outcome> serve_with_cache(Worker& w, Exchange& ex);

// The PURGE method: removes every stored variant of the request's URL, keyed as the request's
// site keys a GET (whole or as blocks), and answers 200 {"purged": N}; 403 unless the client's
// address is in admin.purge_from.
runtime::Task<Outcome> serve_purge(Worker& w, Exchange& ex);

// Removes every stored object of an absolute URL (each variant, whole or as blocks) from
// `storage`; how many went, or nullopt when `url` is not an absolute http(s) URL. Any thread.
std::optional<size_t> purge_url(storage::Storage& storage, std::string_view url);

// An absolute URL (or the start of one) as stored URLs are written (scheme and host in lower
// case, the default port dropped): the key a GET of it has without configured request fields,
// and what purges by prefix compare; nullopt when `url` is not an absolute http(s) URL.
std::optional<std::string> stored_url(std::string_view url);

}  // namespace stavka::proxy
