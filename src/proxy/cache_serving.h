// What the two halves of the cache phase share: cache_stage.cc (whole objects: lookups, fills,
// revalidation) and range_cache.cc (objects stored block by block and filled by range). Internal
// to src/proxy; each function is documented where it is defined, in cache_stage.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/cache_status.h"
#include "cache/freshness.h"
#include "cache/policy_config.h"
#include "cache/stored_response.h"
#include "config/config.h"
#include "http/message.h"
#include "http/range.h"
#include "proxy/cache_stage.h"
#include "proxy/exchange.h"
#include "proxy/module_stage.h"
#include "proxy/stored_head.h"
#include "runtime/task.h"
#include "storage/storage.h"

namespace stavka::proxy {

int64_t unix_now();
cache::PolicyConfig policy_config(const config::Config& cfg);

// Cache-Status for the exchange (response and access log).
void set_status(const Worker& w, Exchange& ex, const cache::CacheStatus& status);
cache::CacheStatus forwarded(cache::Fwd fwd, std::string detail = {});

// The client's head for a response from the cache, framed for the client, after the modules'
// response phase. When the modules replaced the response, *answered holds the Outcome of the
// response they sent instead (and the head is not to be sent).
runtime::Task<std::string> client_head(Worker& w, Exchange& ex, const http::ResponseHead& stored,
                                       uint64_t size, std::string_view age,
                                       const cache::CacheStatus& status, bool* chunked,
                                       std::optional<Outcome>* answered);

runtime::Task<Outcome> send_not_modified(Worker& w, Exchange& ex,
                                         const cache::StoredResponse& stored,
                                         std::string_view age, const cache::CacheStatus& params);
runtime::Task<Outcome> send_unsatisfiable(Worker& w, Exchange& ex, uint64_t size,
                                          std::string_view age,
                                          const cache::CacheStatus& params);

// prefix, then bytes [first, first + length) of a stored object's body (spliced where it can).
// nullopt: a block could not be read before anything was sent.
runtime::Task<std::optional<Outcome>> send_body(Worker& w, Exchange& ex, CacheServices& services,
                                                const storage::ObjectRef& object,
                                                std::string_view prefix, uint64_t first,
                                                uint64_t length);

std::string multipart_boundary();

// A fill's origin request for ex: GET, no client conditionals, no Range.
http::RequestHead fill_request(const Exchange& ex);

// How a response carrying a stored body (or ranges of it) goes out: the head, then each span
// of the body preceded by prefix(i), then closing. Sets ex.status and the connection's fate.
// Filled in place by plan_body (spans may point into the plan itself: not copyable), without a
// heap allocation for a whole body or a single range.
struct BodyPlan {
  BodyPlan() = default;
  BodyPlan(const BodyPlan&) = delete;
  std::string head;
  uint32_t head_fields = 0;  // the fields in head (framing and Connection ones left out)
  std::span<const http::ByteRange> spans;  // empty: the head alone (HEAD, empty body)
  http::ByteRange one;                      // the single span, when there is one
  std::vector<std::string> part_heads;  // multipart/byteranges: each part's head (the first
                                        // one is already at the end of head)
  std::string closing;                  // multipart/byteranges: the closing delimiter
  // With modules on the request: the response their response phase sees (finish_plan_head).
  // `head` is written as without modules; it becomes fields only if a module does more than
  // add some (wasm::Stream::response_bytes), and is then written again from them.
  std::optional<http::ResponseHead> module_head;
  uint64_t object_size = 0;
  int64_t age = 0;
  std::string_view prefix(size_t i) const {
    return i == 0 ? std::string_view(head) : std::string_view(part_heads[i]);
  }
};
// range: whole (200 with every byte), or the resolved ranges (206, multipart when several).
// range must outlive the plan (several ranges are not copied).
void plan_body(Worker& w, Exchange& ex, const StoredHead& served, std::string_view age,
               uint64_t size, const http::ResolvedRange& range, BodyPlan& plan);
// With plan.module_head: the modules' response phase on it, then plan.head made final, as far
// as that goes without waiting. True: plan.head is final (at once without modules); false:
// co_await finish_plan_head(), which returns the Outcome of the response the modules sent
// instead, if they did.
bool plan_head_now(Exchange& ex, BodyPlan& plan);
runtime::Task<std::optional<Outcome>> finish_plan_head(Worker& w, Exchange& ex, BodyPlan& plan);

// Fills in the meta fields that follow from a stored response.
void describe(storage::ObjectMeta& meta, const std::shared_ptr<const StoredHead>& head,
              const cache::Freshness& fresh);

// What modules decided about a fill's storable response, once asked.
struct ModuleVerdict {
  bool asked = false;     // a hook ran (or found its request gone)
  bool declined = false;  // not stored: a module refused, or the request that could ask ended
  bool answered = false;  // false when the request had ended (no one refused: no hit-for-pass)
  std::optional<std::string> surrogate_keys;
};
// Runs a fill's pre-store hook (module_stage.h) once, if set, on the head it would store (size:
// unknown_size if not known). A lifetime the modules chose goes into `head` as
// Stavka-Cache-Control, so that it is stored and survives restarts and revalidations.
ModuleVerdict consult_modules(PreStoreHook& hook, http::ResponseHead& head, uint64_t size);
// Replaces meta's tags with those modules chose, if they chose any.
void apply_tags(const ModuleVerdict& verdict, storage::ObjectMeta& meta);

}  // namespace stavka::proxy
