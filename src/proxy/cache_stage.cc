// The cache phase: see cache_stage.h.
//
// Order of business for a GET or HEAD on a caching site:
//   1. look the key up in storage and pick the variant the request's fields select;
//   2. let the RFC 9111 policy decide: serve it, or fetch again;
//   3. to fetch: join the fill in progress for the key, or start one; read it like any reader.
// A fill's coroutine (run_fill) belongs to no request: it streams the origin's response into
// the Fill (which readers on any worker read) and into storage, and publishes the object when
// the body is complete. A fill whose response may not be shared (uncacheable) is read only by
// the request that started it; the others go to the origin themselves.
#include "proxy/cache_stage.h"
#include "proxy/cache_serving.h"

#include <sys/uio.h>

#include <charconv>
#include <chrono>
#include <coroutine>
#include <ctime>
#include <cstdio>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "cache/cache_key.h"
#include "cache/cache_status.h"
#include "cache/client_conditional.h"
#include "cache/invalidation.h"
#include "cache/directives.h"
#include "cache/freshness.h"
#include "cache/request_policy.h"
#include "cache/storability.h"
#include "cache/stored_response.h"
#include "cache/validation.h"
#include "cache/vary.h"
#include "http/date.h"
#include "http/range.h"
#include "http/serializer.h"
#include "proxy/client_io.h"
#include "proxy/forwarding.h"
#include "proxy/module_stage.h"
#include "proxy/origin_fetch.h"
#include "proxy/origin_request.h"
#include "proxy/range_cache.h"
#include "proxy/stored_head.h"
#include "runtime/log.h"

namespace stavka::proxy {

using runtime::Task;

namespace {

constexpr size_t read_chunk = 64 * 1024;
// Bytes of stored blocks spliced per send: what a default pipe enlarged to 1 MiB holds.
constexpr uint64_t splice_batch = 1u << 20;

}  // namespace

// --- shared with range_cache.cc (declared in cache_serving.h) ------------------------------

// Every stored variant of a primary key, whole or as blocks.
static size_t remove_key(storage::Storage& storage, const std::string& key) {
  return storage.remove_all_variants(key) + storage.remove_all_variants(block_key(key));
}

std::optional<std::string> stored_url(std::string_view url) {
  auto parsed = cache::request_url("http", "", url);
  if (!parsed) return std::nullopt;
  return cache::url_string(*parsed);
}

std::optional<size_t> purge_url(storage::Storage& storage, std::string_view url) {
  std::optional<std::string> key = stored_url(url);
  if (!key) return std::nullopt;
  return remove_key(storage, *key);
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

cache::PolicyConfig policy_config(const config::Config& cfg) {
  cache::PolicyConfig p;
  p.heuristic_fraction = cfg.cache.heuristic_fraction;
  p.heuristic_cap =
      std::chrono::duration_cast<std::chrono::seconds>(cfg.cache.heuristic_max).count();
  return p;
}

static cache::CacheKeyOptions key_options(const config::SiteConfig& site) {
  return {site.cache_ignore_query, site.cache_key_headers};
}

// Records this cache's Cache-Status member on the exchange (for the response and the log).
void set_status(const Worker& w, Exchange& ex, const cache::CacheStatus& status) {
  ex.cache_status = cache::format_cache_status(w.config().via_name, status);
}

cache::CacheStatus forwarded(cache::Fwd fwd, std::string detail) {
  cache::CacheStatus s;
  s.fwd = fwd;
  s.detail = std::move(detail);
  return s;
}

// The client's head for a response from the cache (a stored object or a fill): the stored
// fields plus Age and Cache-Status, hop-by-hop fields removed, Via added, framed for the client.
// The fields a client gets with a stored response: the stored ones, Age, Cache-Status (theirs,
// then ex's), Via; hop-by-hop fields removed. Not framed.
static http::ResponseHead client_fields(const Worker& w, const Exchange& ex, int status,
                                        std::string_view reason, const http::HeaderMap& stored,
                                        std::string_view age) {
  http::ResponseHead head;
  head.status = status;
  head.reason = reason.empty() ? http::reason_phrase(status) : reason;
  head.headers.assign(stored, 4, 256);  // Age, Cache-Status, Via, a module's
  head.headers.set("Age", age);
  cache::append_cache_status(head.headers, ex.cache_status);
  to_client_response(head, w.config().via_name);
  return head;
}

static std::optional<uint64_t> known(uint64_t size) {
  return size == storage::unknown_size ? std::nullopt : std::optional<uint64_t>(size);
}

static int64_t age_seconds(std::string_view age) {
  int64_t seconds = 0;
  std::from_chars(age.data(), age.data() + age.size(), seconds);
  return seconds;
}

Task<std::string> client_head(Worker& w, Exchange& ex, const http::ResponseHead& stored,
                              uint64_t size, std::string_view age,
                              const cache::CacheStatus& status, bool* chunked,
                              std::optional<Outcome>* answered) {
  set_status(w, ex, status);
  http::ResponseHead head = client_fields(w, ex, stored.status, stored.reason, stored.headers, age);
  if (!response_modules_now(ex, head, known(size), age_seconds(age))) {
    *answered = co_await finish_response_modules(w, ex, head);
    if (*answered) co_return std::string();
  }
  *chunked = false;
  bool no_body = head.status == 204 || head.status == 304;
  if (no_body) {
    head.framing = http::BodyFraming::none;
  } else if (size != storage::unknown_size) {
    head.framing = http::BodyFraming::content_length;
    head.content_length = size;
  } else if (ex.client_http11) {
    head.framing = http::BodyFraming::chunked;
    *chunked = !ex.is_head;
  } else {
    head.framing = http::BodyFraming::until_close;
    ex.close_connection = true;
  }
  if (frame_for_body_modules(ex, head)) *chunked = false;  // the modules' output is framed
  ex.close_connection |= !ex.client_keep_alive || w.draining();
  head.keep_alive = !ex.close_connection;
  ex.status = head.status;
  std::string out;
  http::serialize_response_head(head, out);
  body_head_sent(ex, out.size());
  co_return out;
}

// --- serving a stored object ---------------------------------------------------------------

Task<Outcome> send_not_modified(Worker& w, Exchange& ex, const cache::StoredResponse& stored,
                                std::string_view age, const cache::CacheStatus& params) {
  http::ResponseHead head;
  head.status = 304;
  head.headers = cache::not_modified_fields(stored.headers);
  bool chunked = false;
  std::optional<Outcome> answered;
  std::string out = co_await client_head(w, ex, head, 0, age, params, &chunked, &answered);
  if (answered) co_return *answered;
  iovec iov{out.data(), out.size()};
  w.counters().add(Metric::cache_not_modified_total);
  if (!co_await send_to_client(w, ex, &iov, 1)) co_return Outcome::client_gone;
  co_return ex.close_connection ? Outcome::close : Outcome::done;
}

// Sends prefix, then bytes [first, first + length) of a stored object's body. Blocks whose bytes
// lie in a file (the block arena) are spliced, up to splice_batch bytes per send; others are
// copied by writev. Returns Outcome::done when all was sent; nullopt when a block cannot be read
// (gone or corrupt) before this exchange sent anything (the caller fetches the object again);
// Outcome::close when one cannot be read later (the response is cut: never a short body that
// looks complete); Outcome::client_gone.
Task<std::optional<Outcome>> send_body(Worker& w, Exchange& ex, CacheServices& services,
                                       const storage::ObjectRef& object, std::string_view prefix,
                                       uint64_t first, uint64_t length) {
  const storage::ObjectMeta& meta = object->meta();
  std::vector<storage::BlockRef> batch;
  std::vector<runtime::SpliceRange> ranges;
  iovec copied[2];  // the prefix and one copied block: a copied block goes alone
  int copies = 0;
  uint64_t at = first;
  const uint64_t end = first + length;
  while (at < end || !prefix.empty()) {
    batch.clear();
    ranges.clear();
    copies = 0;
    if (!prefix.empty()) copied[copies++] = {const_cast<char*>(prefix.data()), prefix.size()};
    uint64_t batch_size = 0;
    storage::Error error = storage::Error::none;
    while (at < end && batch_size < splice_batch) {
      const auto index = static_cast<uint32_t>(at / meta.block_size);
      storage::BlockResult r = co_await services.storage->read_block(object, index);
      if (r.error != storage::Error::none) {
        runtime::log(runtime::LogLevel::warn, "cache: block %u of %s: %s", index,
                     meta.url.c_str(), storage::error_name(r.error));
        error = r.error;
        break;
      }
      const uint64_t in_block = at - uint64_t{index} * meta.block_size;
      const auto take = static_cast<uint32_t>(std::min<uint64_t>(end - at, r.block->size - in_block));
      storage::FileSpan span = r.block->file_span();
      if (span.fd < 0 && !batch.empty()) break;  // goes out in the next, copied, send
      at += take;
      batch_size += take;
      if (span.fd >= 0) {
        ranges.push_back({span.fd, span.offset + in_block, take});
      } else {
        copied[copies++] = {const_cast<char*>(r.block->data.get()) + in_block, take};
      }
      batch.push_back(std::move(r.block));
      if (span.fd < 0) break;  // a copied block goes alone
    }
    if (error != storage::Error::none && (batch.empty() || ex.bytes_sent == 0)) {
      if (ex.bytes_sent == 0) co_return std::nullopt;  // nothing sent: fetch it again
      co_return Outcome::close;
    }
    bool sent;
    if (!ranges.empty()) {
      sent = co_await send_spliced_to_client(w, ex, prefix, ranges);
    } else {
      sent = co_await send_to_client(w, ex, copied, copies);
    }
    if (!sent) co_return Outcome::client_gone;
    prefix = {};
    if (error != storage::Error::none) co_return Outcome::close;
  }
  co_return Outcome::done;
}

// The Range of a GET for a stored 200 of known size, resolved (RFC 9110 §14); whole when there
// is none, it is unusable, or If-Range says the client's copy is another representation.
static http::ResolvedRange requested_range(const Exchange& ex, const StoredHead& head, uint64_t size) {
  std::vector<std::string_view> lines = ex.request.headers.all("range");
  if (lines.size() != 1 || ex.is_head || head.response.status != 200 ||
      size == storage::unknown_size ||
      !cache::if_range_allows(ex.request.headers, head.response)) {
    return {};
  }
  return http::resolve_range(lines[0], size);
}

// A boundary for multipart/byteranges: random, so no body contains it (RFC 2046 §5.1.1).
std::string multipart_boundary() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char text[40];
  std::snprintf(text, sizeof text, "stavka-%016llx%08llx",
                static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random() & 0xFFFFFFFFu));
  return text;
}

// 416 for a Range no byte of the stored object satisfies (RFC 9110 §15.5.17).
Task<Outcome> send_unsatisfiable(Worker& w, Exchange& ex, uint64_t size, std::string_view age,
                                 const cache::CacheStatus& params) {
  http::ResponseHead head;
  head.status = 416;
  head.headers.add("Date", http::http_date_now());
  head.headers.add("Content-Range", http::unsatisfied_content_range(size));
  bool chunked = false;
  std::optional<Outcome> answered;
  std::string out = co_await client_head(w, ex, head, 0, age, params, &chunked, &answered);
  if (answered) co_return *answered;
  iovec iov{out.data(), out.size()};
  if (!co_await send_to_client(w, ex, &iov, 1)) co_return Outcome::client_gone;
  co_return ex.close_connection ? Outcome::close : Outcome::done;
}

// With modules on the request: the response their phase sees, beside the head assemble_head
// wrote (finish_plan_head).
static void head_for_modules(Exchange& ex, uint64_t object_size, uint64_t content_length,
                             std::string_view age, BodyPlan& plan) {
  http::ResponseHead& head = plan.module_head.emplace();
  head.status = ex.status;
  head.reason = http::reason_phrase(ex.status);
  const bool no_body = head.status == 204 || head.status == 304;
  head.framing = no_body ? http::BodyFraming::none : http::BodyFraming::content_length;
  head.content_length = content_length;
  plan.object_size = object_size;
  plan.age = age_seconds(age);
}

// plan.head made final once the modules' response phase on plan.module_head is over.
static void settle_plan_head(Exchange& ex, BodyPlan& plan) {
  http::ResponseHead& head = *plan.module_head;
  wasm::Stream& stream = ex.modules->stream;
  if (ex.modules->body_out.active) {
    stream.response = &head;
    wasm::response_fields(stream);  // re-framed (chunked): written again from fields
  }
  const bool still_bytes = stream.response_bytes != nullptr;
  stream.response_bytes = nullptr;
  stream.response = nullptr;
  if (!still_bytes) {  // (else plan.head is the head, with what modules added)
    ex.status = head.status;
    frame_for_body_modules(ex, head);
    head.keep_alive = !ex.close_connection;
    plan.head.clear();
    http::serialize_response_head(head, plan.head);
  }
  body_head_sent(ex, plan.head.size());
  if (!plan.part_heads.empty()) {  // multipart: the first part's head follows
    plan.head.append(plan.part_heads[0]);
    plan.part_heads[0].clear();
  }
}

bool plan_head_now(Exchange& ex, BodyPlan& plan) {
  if (!plan.module_head) return true;
  wasm::Stream& stream = ex.modules->stream;
  // Up to the end of the head: a multipart response's first part head is appended after.
  stream.response_bytes = &plan.head;
  stream.response_bytes_fields = plan.head_fields;
  if (!response_modules_now(ex, *plan.module_head, known(plan.object_size), plan.age)) {
    return false;
  }
  settle_plan_head(ex, plan);
  return true;
}

Task<std::optional<Outcome>> finish_plan_head(Worker& w, Exchange& ex, BodyPlan& plan) {
  std::optional<Outcome> answered = co_await finish_response_modules(w, ex, *plan.module_head);
  if (answered) {
    ex.modules->stream.response_bytes = nullptr;
    ex.modules->stream.response = nullptr;
    co_return answered;
  }
  settle_plan_head(ex, plan);
  co_return std::nullopt;
}

void plan_body(Worker& w, Exchange& ex, const StoredHead& served, std::string_view age,
               uint64_t size, const http::ResolvedRange& range, BodyPlan& plan) {
  ex.close_connection |= !ex.client_keep_alive || w.draining();
  if (range.verdict != http::RangeVerdict::partial) {
    ex.status = served.response.status;
    plan.head_fields = assemble_head(served, age, ex.cache_status, w.config().via_name, size,
                                     ex.close_connection, plan.head);
    if (ex.modules_active()) head_for_modules(ex, size, size, age, plan);
    if (!ex.is_head && size > 0) {
      plan.one = {0, size - 1};
      plan.spans = {&plan.one, 1};
    }
  } else if (range.ranges.size() == 1) {
    const http::ByteRange& r = range.ranges[0];
    std::string content_range = http::content_range(r, size);
    PartialHead partial{content_range, {}};
    ex.status = 206;
    plan.head_fields = assemble_head(served, age, ex.cache_status, w.config().via_name, r.size(),
                                     ex.close_connection, plan.head, &partial);
    if (ex.modules_active()) head_for_modules(ex, size, r.size(), age, plan);
    plan.one = r;
    plan.spans = {&plan.one, 1};
  } else {
    // multipart/byteranges (RFC 9110 §14.6): each part with the stored type and its range.
    const std::string boundary = multipart_boundary();
    std::optional<std::string_view> type = served.response.headers.find("content-type");
    uint64_t total = 0;
    for (const http::ByteRange& r : range.ranges) {
      std::string& p = plan.part_heads.emplace_back();
      p.append("\r\n--").append(boundary).append("\r\n");
      if (type) p.append("Content-Type: ").append(*type).append("\r\n");
      p.append("Content-Range: ").append(http::content_range(r, size)).append("\r\n\r\n");
      total += p.size() + r.size();
    }
    plan.closing = "\r\n--" + boundary + "--\r\n";
    total += plan.closing.size();
    const std::string multipart_type = "multipart/byteranges; boundary=" + boundary;
    PartialHead partial{{}, multipart_type};
    ex.status = 206;
    plan.spans = range.ranges;
    plan.head_fields = assemble_head(served, age, ex.cache_status, w.config().via_name, total,
                                     ex.close_connection, plan.head, &partial);
    if (ex.modules_active()) {
      head_for_modules(ex, size, total, age, plan);
      return;  // finish_plan_head appends the first part's head
    }
    plan.head.append(plan.part_heads[0]);
    plan.part_heads[0].clear();
  }
}

// Sends a stored object (head: its decoding), or the ranges of it the request asks for. Returns
// nullopt when a block cannot be read (gone or corrupt) before anything was sent: the caller
// fetches it again. Past that point such a block ends the response early and closes the
// connection.
static Task<std::optional<Outcome>> send_stored(Worker& w, Exchange& ex, CacheServices& services,
                                         const storage::ObjectRef& object,
                                         const StoredHead& head,
                                         const std::vector<std::string>& strip_fields,
                                         const cache::CacheStatus& params, int64_t now) {
  const storage::ObjectMeta& meta = object->meta();
  ex.source = ResponseSource::cache;
  std::string age = cache::age_header_value(head.response, now);
  if (cache::evaluate_client_conditionals(ex.request.method, ex.request.headers, head.response,
                                          now) == cache::ConditionalResult::not_modified) {
    services.storage->touch(object, now);
    co_return co_await send_not_modified(w, ex, head.response, age, params);
  }
  const http::ResolvedRange range = requested_range(ex, head, meta.size);
  if (range.verdict == http::RangeVerdict::unsatisfiable) {
    services.storage->touch(object, now);
    co_return co_await send_unsatisfiable(w, ex, meta.size, age, params);
  }
  std::shared_ptr<const StoredHead> stripped;
  if (!strip_fields.empty()) {
    // no-cache="field": those fields are not served without revalidation (RFC 9111 §5.2.2.4).
    cache::StoredResponse response = head.response;
    for (const std::string& field : strip_fields) response.headers.remove(field);
    stripped = make_stored_head(std::move(response));
  }
  const StoredHead& served = stripped ? *stripped : head;
  set_status(w, ex, params);
  BodyPlan plan;
  plan_body(w, ex, served, age, meta.size, range, plan);
  if (!plan_head_now(ex, plan)) {  // (a coroutine only for a module that pauses or answers)
    if (auto answered = co_await finish_plan_head(w, ex, plan)) co_return *answered;
  }
  std::optional<Outcome> result = Outcome::done;
  if (plan.spans.empty()) result = co_await send_body(w, ex, services, object, plan.head, 0, 0);
  for (size_t i = 0; i < plan.spans.size() && result == Outcome::done; ++i) {
    result = co_await send_body(w, ex, services, object, plan.prefix(i), plan.spans[i].first,
                                plan.spans[i].size());
  }
  if (result == Outcome::done && !plan.closing.empty()) {
    iovec iov{plan.closing.data(), plan.closing.size()};
    if (!co_await send_to_client(w, ex, &iov, 1)) result = Outcome::client_gone;
  }
  if (result != Outcome::done) co_return result;
  services.storage->touch(object, now);
  co_return ex.close_connection ? Outcome::close : Outcome::done;
}

// --- fills -----------------------------------------------------------------------------------

// The origin request of a fill for ex: a GET of its target with no client conditionals and no
// Range (a fill fetches for every reader, not for one client).
http::RequestHead fill_request(const Exchange& ex) {
  http::RequestHead origin_request;
  origin_request.method = "GET";
  origin_request.target = ex.request.target;
  origin_request.headers = ex.request.headers;
  for (const char* name : {"if-none-match", "if-modified-since", "if-match",
                           "if-unmodified-since", "if-range", "range"}) {
    origin_request.headers.remove(name);
  }
  ForwardInfo info{ex.client.peer_ip, ex.authority, ex.site->config->origin_host,
                   ex.sites->config().via_name, "http"};
  to_origin_request(origin_request, ex.origin_target, info);
  return origin_request;
}

// 500, 502, 503 and 504: the statuses stale-if-error covers (RFC 5861 §4). Such an answer to a
// revalidation never replaces the stored object.
static bool is_origin_error(int status) {
  return status == 500 || status == 502 || status == 503 || status == 504;
}

// Appends the tags of a space- or comma-separated list.
static void append_tags(std::string_view list, std::vector<std::string>& tags) {
  for (size_t pos = 0; pos < list.size();) {
    size_t end = list.find_first_of(" ,", pos);
    if (end == std::string_view::npos) end = list.size();
    if (end > pos) tags.emplace_back(list.substr(pos, end - pos));
    pos = end + 1;
  }
}

// The parts of an object's meta that follow from its stored response: status, fields, times,
// end of freshness, validators and surrogate keys (Surrogate-Key, Cache-Tag).
void describe(storage::ObjectMeta& meta, const std::shared_ptr<const StoredHead>& head,
              const cache::Freshness& fresh) {
  const cache::StoredResponse& stored = head->response;
  meta.decoded = head;
  meta.status = static_cast<uint16_t>(stored.status);
  meta.headers = cache::serialize_fields(stored.headers);
  meta.request_time = stored.request_time;
  meta.response_time = stored.response_time;
  meta.expires = stored.response_time + fresh.ttl();
  std::optional<std::string_view> etag = stored.headers.find("etag");
  meta.etag = etag ? *etag : std::string();
  std::optional<std::string_view> lm = stored.headers.find("last-modified");
  meta.last_modified = lm ? *lm : std::string();
  meta.surrogate_keys.clear();
  for (const char* name : {"surrogate-key", "cache-tag"}) {
    for (std::string_view v : stored.headers.all(name)) append_tags(v, meta.surrogate_keys);
  }
}

ModuleVerdict consult_modules(PreStoreHook& hook, http::ResponseHead& head, uint64_t size) {
  ModuleVerdict verdict;
  if (!hook) return verdict;
  PreStoreHook run = std::move(hook);
  hook = nullptr;
  verdict.asked = true;
  std::optional<StoreChoice> choice =
      run(head, size == storage::unknown_size ? std::nullopt : std::optional<uint64_t>(size));
  verdict.answered = choice.has_value();
  verdict.declined = !choice || !choice->store;
  if (!choice) return verdict;
  if (choice->ttl) {
    // The module sets the freshness lifetime; the origin's allowances to serve stale stay.
    const http::CacheDirectives before = cache::response_directives(head.headers).cc;
    std::string value = "max-age=" + std::to_string(*choice->ttl);
    if (before.stale_while_revalidate) {
      value += ", stale-while-revalidate=" + std::to_string(*before.stale_while_revalidate);
    }
    if (before.stale_if_error) {
      value += ", stale-if-error=" + std::to_string(*before.stale_if_error);
    }
    head.headers.set("Stavka-Cache-Control", value);
  }
  verdict.surrogate_keys = std::move(choice->surrogate_keys);
  return verdict;
}

void apply_tags(const ModuleVerdict& verdict, storage::ObjectMeta& meta) {
  if (!verdict.surrogate_keys) return;
  meta.surrogate_keys.clear();
  append_tags(*verdict.surrogate_keys, meta.surrogate_keys);
}

namespace {

// A stored object the request found stale: what a revalidation is conditional on, and what
// stale-if-error may serve when the origin fails.
struct StaleCandidate {
  storage::ObjectRef object;
  std::shared_ptr<const StoredHead> head;
};

struct FillJob {
  OriginRequestSpec spec;
  // Set when the fill revalidates a stored object: spec.head_bytes is then conditional on its
  // validators, and unconditional_head is the same request without them, sent again when a
  // 304 does not apply to the stored object (RFC 9111 §4.3.4).
  std::optional<StaleCandidate> revalidating;
  std::string unconditional_head;
  std::string primary_key;
  std::string url;
  std::string host;
  http::HeaderMap request_headers;  // the client's, for Vary and Authorization
  http::CacheDirectives request_cc;
  uint64_t continue_max = 0;
  std::chrono::steady_clock::duration uncacheable_ttl{};
  // The response phase of the request that started the fill, run on the origin's head before
  // anything is stored (module_stage.h); empty without modules.
  PreStoreHook pre_store;
  bool background = false;  // a revalidation nobody waits for: never abandoned for lack of readers
  // A response the fill will not share (uncacheable, or too large to store) is handed to the
  // request that started the fill, which relays it straight from the origin connection, paced
  // by its client, exactly as an uncached request would be.
  std::unique_ptr<OriginRequest> handoff;
};

// Stores a fill's sealed blocks behind the origin's pace: the fill queues each block as it is
// sealed and goes on reading the origin; one pump coroutine writes the queue in order. The fill
// waits for the writes only before publishing. Lives on the fill's worker (no locks); the pump
// holds a reference, so an abandoned fill's write in flight ends safely, after which the writer
// is dropped (the write is aborted, nothing is published).
class BlockStore : public std::enable_shared_from_this<BlockStore> {
 public:
  explicit BlockStore(std::unique_ptr<storage::Writer> writer) : writer_(std::move(writer)) {}

  void queue(uint32_t index, storage::BlockRef block) {
    if (!writer_) return;
    pending_.emplace_back(index, std::move(block));
    if (!pumping_) {
      pumping_ = true;
      runtime::spawn(pump(shared_from_this()));
    }
  }

  // Waits until every queued block is written or the writer failed.
  auto drained() {
    struct Awaiter {
      BlockStore& store;
      bool await_ready() const noexcept { return !store.pumping_; }
      void await_suspend(std::coroutine_handle<> h) noexcept { store.drain_waiter_ = h; }
      void await_resume() const noexcept {}
    };
    return Awaiter{*this};
  }

  // After drained(): publishes the object, or Error::io if a block write failed.
  Task<storage::Error> publish(storage::ObjectMeta meta) {
    if (!writer_) co_return storage::Error::io;
    co_return co_await writer_->publish(std::move(meta));
  }

  // The object will not be stored: the writer goes once the write in flight (if any) ends.
  void abort() {
    aborted_ = true;
    if (!pumping_) writer_.reset();
  }

 private:
  static Task<void> pump(std::shared_ptr<BlockStore> self) {
    while (!self->pending_.empty() && self->writer_ && !self->aborted_) {
      auto [index, block] = std::move(self->pending_.front());
      self->pending_.pop_front();
      if (co_await self->writer_->write_block(index, std::move(block)) !=
          storage::Error::none) {
        self->writer_.reset();  // aborted: the object will not be published
      }
    }
    if (self->aborted_) self->writer_.reset();
    self->pending_.clear();
    self->pumping_ = false;
    if (std::coroutine_handle<> waiter = std::exchange(self->drain_waiter_, {})) {
      runtime::Reactor::current().post([waiter] { waiter.resume(); });
    }
  }

  std::unique_ptr<storage::Writer> writer_;
  std::deque<std::pair<uint32_t, storage::BlockRef>> pending_;
  bool pumping_ = false;
  bool aborted_ = false;
  std::coroutine_handle<> drain_waiter_;
};

// Keeps the fill gauge and the table entry right however run_fill ends.
struct FillScope {
  Worker& w;
  CacheServices& services;
  std::shared_ptr<cache::Fill> fill;
  ~FillScope() {
    services.fills->remove(*fill);
    w.counters().add(Metric::cache_fills_in_progress, -1);
  }
};

Task<void> run_fill(Worker& w, CacheServices& services, std::shared_ptr<cache::Fill> fill,
                    std::shared_ptr<FillJob> job) {
  FillScope scope{w, services, fill};
  w.counters().add(Metric::cache_fills_total);
  w.counters().add(Metric::cache_fills_in_progress);
  cache::Fill& f = *fill;
  // Stop when no reader is left, unless the object is cacheable and small enough to finish.
  bool storing = job->background;
  job->spec.abandoned = [&f, &storing, max = job->continue_max] {
    return f.readers() == 0 && !(storing && f.received() <= max);
  };
  int64_t request_time = 0;
  int64_t response_time = 0;
  std::unique_ptr<OriginRequest> origin_owner;
  while (true) {
    request_time = unix_now();
    origin_owner = std::make_unique<OriginRequest>(w, job->spec);
    OriginFailure failure;
    if (!co_await origin_owner->start(&failure)) {
      w.counters().add(Metric::cache_fills_failed_total);
      f.fail(failure.status ? failure.status : 502,
             failure.status ? failure.detail.data() : "the fill was abandoned");
      co_return;
    }
    response_time = unix_now();
    if (!job->revalidating || origin_owner->head().status != 304) break;
    // A 304 has no body; reading to its end returns the connection to the pool.
    if ((co_await origin_owner->next_body()).kind == BodyPiece::done) origin_owner->release();
    const StaleCandidate& old = *job->revalidating;
    if (cache::not_modified_applies(old.head->response.headers, origin_owner->head().headers,
                                    response_time)) {
      auto rev = std::make_shared<cache::Revalidation>();
      rev->response = cache::freshen(old.head->response, origin_owner->head().headers,
                                     request_time, response_time);
      std::shared_ptr<const StoredHead> decoded = make_stored_head(rev->response);
      rev->decoded = decoded;
      storage::ObjectMeta meta = old.object->meta();
      meta.soft_purged = 0;  // refreshed
      std::vector<std::string> tags = std::move(meta.surrogate_keys);
      describe(meta, decoded,
               cache::evaluate_freshness(decoded->response, decoded->rcc,
                                         policy_config(job->spec.sites->config()),
                                         response_time));
      // Tags a module gave the object stay unless the 304 brings tags of its own.
      const http::HeaderMap& fields = origin_owner->head().headers;
      if (!fields.contains("surrogate-key") && !fields.contains("cache-tag")) {
        meta.surrogate_keys = std::move(tags);
      }
      storage::ObjectRef updated = services.storage->update_meta(old.object, std::move(meta));
      rev->object = updated ? std::move(updated) : old.object;
      w.counters().add(Metric::cache_revalidated_total);
      f.set_revalidated(std::move(rev));
      co_return;
    }
    // The 304 is about another representation than the one stored: ask again, unconditionally.
    job->spec.head_bytes = std::move(job->unconditional_head);
    job->revalidating.reset();
  }
  OriginRequest& origin = *origin_owner;
  http::ResponseHead& origin_head = origin.head();
  auto head = std::make_shared<cache::FillHead>();
  head->request_time = request_time;
  head->response_time = response_time;
  cache::ResponseDirectives rcc = cache::response_directives(origin_head.headers);
  cache::Storability storability =
      cache::check_storable("GET", job->request_headers, job->request_cc, origin_head.status,
                            origin_head.headers, rcc);
  head->head.status = origin_head.status;
  head->head.reason = origin_head.reason;
  head->head.headers = origin_head.headers;
  remove_hop_by_hop(head->head.headers);
  cache::remove_unstorable_fields(head->head.headers, storability.strip_fields);
  if (origin_head.framing == http::BodyFraming::content_length) {
    head->size = origin_head.content_length;
  } else if (origin_head.status == 204 || origin_head.status == 304) {
    head->size = 0;
  }
  head->head.headers.remove("content-length");
  // An error answering a revalidation is not stored over the object it was about: readers may
  // serve that one instead (stale-if-error), and the key is not uncacheable for it.
  const bool revalidation_error = job->revalidating && is_origin_error(origin_head.status);
  head->cacheable = storability.storable() && !revalidation_error;
  // Modules see what would be stored first: they may refuse it, give it a lifetime or tag it.
  ModuleVerdict modules;
  if (head->cacheable) {
    modules = consult_modules(job->pre_store, head->head, head->size);
    if (modules.declined) head->cacheable = false;
    if (modules.asked) rcc = cache::response_directives(head->head.headers);
  }
  if (head->cacheable) {
    if (auto fields = cache::vary_fields(head->head.headers)) head->vary_fields = *fields;
    head->variant = cache::variant_key(head->head.headers, job->request_headers).value_or("");
  }

  std::unique_ptr<storage::Writer> writer;
  storage::ObjectMeta meta;
  if (head->cacheable) {
    meta.primary_key = job->primary_key;
    meta.variant = head->variant;
    meta.url = job->url;
    meta.host = job->host;
    meta.size = head->size;
    meta.block_size = f.block_size();
    std::shared_ptr<const StoredHead> decoded = make_stored_head(
        {head->head.status, head->head.headers, request_time, response_time});
    cache::Freshness fresh = cache::evaluate_freshness(
        decoded->response, rcc, policy_config(job->spec.sites->config()), response_time);
    describe(meta, decoded, fresh);
    apply_tags(modules, meta);
    // Stored with no freshness, no validator and no stale allowance, an object could never be
    // served: do not store it, and do not make others wait behind it.
    if (fresh.lifetime.seconds <= 0 && !cache::has_validator(head->head.headers) &&
        !rcc.cc.stale_while_revalidate && !rcc.cc.stale_if_error) {
      head->cacheable = false;
    }
  }
  if (head->cacheable) {
    writer = services.storage->begin_write(meta);
    storing = true;
    services.fills->clear_uncacheable(job->primary_key);
  } else if (!revalidation_error && !(modules.declined && !modules.answered)) {
    w.counters().add(Metric::cache_uncacheable_total);
    services.fills->mark_uncacheable(job->primary_key,
                                     std::chrono::steady_clock::now() + job->uncacheable_ttl);
  }
  if (!writer) {
    // Not stored: nothing to share. The request that started the fill relays it directly.
    origin.set_abandoned(nullptr);
    job->handoff = std::move(origin_owner);
    f.set_head(head, false);
    f.finish(nullptr);
    co_return;
  }
  f.set_head(head, true);

  auto store = std::make_shared<BlockStore>(std::move(writer));
  struct AbortUnlessPublished {
    BlockStore& store;
    bool published = false;
    ~AbortUnlessPublished() {
      if (!published) store.abort();
    }
  } guard{*store};
  std::vector<std::pair<uint32_t, storage::BlockRef>> sealed;
  auto queue_sealed = [&] {
    for (auto& [index, block] : sealed) store->queue(index, std::move(block));
    sealed.clear();
  };
  http::HeaderMap trailers_out;
  while (true) {
    BodyPiece piece = co_await origin.next_body();
    if (piece.kind == BodyPiece::truncated) {
      w.counters().add(Metric::cache_fills_failed_total);
      f.fail();
      co_return;  // the guard aborts the write: nothing is published
    }
    for (std::string_view span : piece.spans) f.append(span, &sealed);
    if (piece.kind == BodyPiece::done) {
      if (piece.trailers) trailers_out = *piece.trailers;
      break;
    }
    queue_sealed();
    if (job->spec.abandoned()) {
      f.fail();
      co_return;
    }
  }
  origin.release();
  f.finish(&sealed, std::move(trailers_out));
  queue_sealed();
  co_await store->drained();
  meta.size = f.received();
  guard.published = true;
  if (co_await store->publish(meta) == storage::Error::none) {
    w.counters().add(Metric::cache_stored_total);
  }
}

// The origin failed (origin_status: its 5xx, or nullopt for no response) while this request
// held a stale object: serves that object when stale-if-error allows, answers 504 when stale
// serving is forbidden and nothing came back (must-revalidate, RFC 9111 §5.2.2.2). nullopt:
// the error stands and the caller passes it on.
Task<std::optional<Outcome>> answer_origin_error(Worker& w, Exchange& ex,
                                                 CacheServices& services,
                                                 const StaleCandidate& stale,
                                                 const http::CacheDirectives& request_cc,
                                                 std::optional<int> origin_status) {
  int64_t now = unix_now();
  switch (cache::decide_on_origin_error(request_cc, stale.head->response, stale.head->rcc,
                                        policy_config(ex.sites->config()), now,
                                        origin_status)) {
    case cache::ErrorAction::serve_stored: {
      cache::CacheStatus status = forwarded(cache::Fwd::stale, "stale-if-error");
      status.fwd_status = origin_status;
      status.ttl = cache::evaluate_freshness(stale.head->response, stale.head->rcc,
                                             policy_config(ex.sites->config()), now)
                       .ttl();
      std::optional<Outcome> sent =
          co_await send_stored(w, ex, services, stale.object, *stale.head, {}, status, now);
      if (sent) w.counters().add(Metric::cache_stale_served_total);
      co_return sent;
    }
    case cache::ErrorAction::gateway_timeout:
      co_return co_await respond_error(w, ex, 504, "the origin is unreachable and the stored "
                                       "response must be revalidated", !ex.client_keep_alive);
    case cache::ErrorAction::pass_error:
      break;
  }
  co_return std::nullopt;
}

// Reads a fill as one of its readers and sends the response. job: set when this request
// started the fill. stale: the stored object this request found stale, if any.
Task<Outcome> serve_from_fill(Worker& w, Exchange& ex, CacheServices& services,
                              std::shared_ptr<cache::Fill> fill, FillJob* job,
                              const StaleCandidate* stale,
                              const http::CacheDirectives& request_cc,
                              cache::CacheStatus status) {
  const bool created = job != nullptr;
  struct Attached {
    cache::Fill& f;
    explicit Attached(cache::Fill& fill) : f(fill) { f.attach(); }
    ~Attached() { f.detach(); }
  } attached(*fill);
  cache::FillState state;
  while ((state = co_await fill->wait_head(std::chrono::seconds(1))) ==
             cache::FillState::head_pending &&
         !fill->ended()) {
    if (client_has_gone(ex.client)) co_return Outcome::client_gone;  // detaches: the fill may stop
  }
  if (state == cache::FillState::failed) {
    if (stale) {
      if (auto sent = co_await answer_origin_error(w, ex, services, *stale, request_cc,
                                                   std::nullopt)) {
        co_return *sent;
      }
    }
    co_return co_await respond_error(w, ex, fill->failure_status(), fill->failure_detail(),
                                     !ex.client_keep_alive);
  }
  if (state == cache::FillState::revalidated) {
    std::shared_ptr<const cache::Revalidation> rev = fill->revalidation();
    // The 304 confirmed one variant: serve it to the requests that select it.
    if (cache::variant_key(rev->response.headers, ex.request.headers).value_or("\x01") ==
        rev->object->meta().variant) {
      int64_t now = unix_now();
      status = forwarded(cache::Fwd::stale);
      status.fwd_status = 304;
      status.collapsed = !created;
      if (!created) w.counters().add(Metric::cache_collapsed_total);
      auto decoded = std::static_pointer_cast<const StoredHead>(rev->decoded);
      status.ttl = cache::evaluate_freshness(decoded->response, decoded->rcc,
                                             policy_config(ex.sites->config()), now)
                       .ttl();
      if (auto sent = co_await send_stored(w, ex, services, rev->object, *decoded, {}, status,
                                           now)) {
        co_return *sent;
      }
      status.detail = "stored object unreadable";
    } else {
      status = forwarded(cache::Fwd::vary_miss);
    }
    set_status(w, ex, status);
    co_return co_await forward_to_origin(w, ex);
  }
  std::shared_ptr<const cache::FillHead> head = fill->head();
  if (state == cache::FillState::not_shared && stale && is_origin_error(head->head.status)) {
    if (auto sent = co_await answer_origin_error(w, ex, services, *stale, request_cc,
                                                 head->head.status)) {
      if (job) job->handoff.reset();  // closes that origin connection: its body is not read
      co_return *sent;
    }
  }
  if (state == cache::FillState::not_shared && created && job->handoff) {
    std::unique_ptr<OriginRequest> origin = std::move(job->handoff);
    origin->set_abandoned([&ex] { return client_has_gone(ex.client); });
    ex.upstream_ms = std::chrono::duration<double, std::milli>(w.reactor().now() -
                                                               origin->sent_at()).count();
    set_status(w, ex, status);
    co_return co_await relay_response(w, ex, *origin);
  }
  if (state == cache::FillState::not_shared) {
    // The response turned out uncacheable: this request gets its own from the origin.
    status.detail = "uncacheable";
    set_status(w, ex, status);
    co_return co_await forward_to_origin(w, ex);
  }
  if (!created && !head->vary_fields.empty() &&
      cache::variant_key(head->head.headers, ex.request.headers).value_or("\x01") !=
          head->variant) {
    set_status(w, ex, forwarded(cache::Fwd::vary_miss));
    co_return co_await forward_to_origin(w, ex);
  }
  if (!created) {
    w.counters().add(Metric::cache_collapsed_total);
    status.collapsed = true;
  } else {
    status.stored = head->cacheable;
  }
  status.fwd_status = head->head.status;
  if (created) {
    ex.upstream_ms = std::chrono::duration<double, std::milli>(
                         w.reactor().now() - ex.start).count();
  }
  ex.source = ResponseSource::fill;
  cache::StoredResponse stored{head->head.status, head->head.headers, head->request_time,
                               head->response_time};
  std::string age = cache::age_header_value(stored, unix_now());
  bool chunked = false;
  std::optional<Outcome> answered;
  std::string out =
      co_await client_head(w, ex, head->head, head->size, age, status, &chunked, &answered);
  if (answered) co_return *answered;
  std::vector<iovec> iov;
  std::string scratch;
  std::string last;
  bool head_sent = false;
  uint64_t offset = 0;
  while (true) {
    cache::FillChunk chunk;
    if (!ex.is_head) chunk = co_await fill->read(offset, read_chunk);
    iov.clear();
    if (!head_sent) iov.push_back({out.data(), out.size()});
    bool end = chunk.bytes.empty();
    if (end && (ex.is_head || fill->state() != cache::FillState::failed)) {
      if (chunked && !ex.is_head) {
        if (!last_chunk_through_modules(ex, true, fill->trailers(), last)) {
          co_return Outcome::close;  // a module failed on the trailers: cut, never complete
        }
        iov.push_back({last.data(), last.size()});
      }
    } else if (end) {
      co_return Outcome::close;  // the origin failed mid-body: truncated, never complete
    }
    add_body(iov, scratch, std::span(&chunk.bytes, 1), chunked);
    if (!iov.empty() &&
        !co_await send_to_client(w, ex, iov.data(), static_cast<int>(iov.size()))) {
      co_return Outcome::client_gone;
    }
    head_sent = true;
    if (end) break;
    offset += chunk.bytes.size();
  }
  const http::HeaderMap trailers = ex.body_through_modules() ? fill->trailers() : http::HeaderMap();
  if (ex.body_through_modules() && !co_await end_client_body(w, ex, &trailers)) {
    co_return Outcome::client_gone;
  }
  co_return ex.close_connection ? Outcome::close : Outcome::done;
}

// revalidate: the stale object to make the origin request conditional on, if any.
std::shared_ptr<FillJob> make_fill_job(Worker& w, Exchange& ex, const cache::RequestUrl& url,
                                       const std::string& key,
                                       const http::CacheDirectives& request_cc,
                                       const StaleCandidate* revalidate) {
  const config::Config& cfg = ex.sites->config();
  auto job = std::make_shared<FillJob>();
  job->primary_key = key;
  job->url = cache::url_string(url);
  job->host = ex.host;
  job->request_headers = ex.request.headers;
  job->request_cc = request_cc;
  job->continue_max = cfg.cache.fill_continue_max;
  job->uncacheable_ttl = cfg.cache.uncacheable_ttl;
  http::RequestHead origin_request = fill_request(ex);
  http::serialize_request_head(origin_request, job->spec.head_bytes);
  if (revalidate && cache::has_validator(revalidate->head->response.headers)) {
    job->revalidating = *revalidate;
    job->unconditional_head = job->spec.head_bytes;
    cache::set_conditional_headers(revalidate->head->response.headers, origin_request.headers);
    job->spec.head_bytes.clear();
    http::serialize_request_head(origin_request, job->spec.head_bytes);
    w.counters().add(Metric::cache_revalidations_total);
  }
  job->spec.site = ex.site;
  job->spec.sites = ex.sites;
  job->spec.idempotent = true;
  return job;
}

}  // namespace

Task<Outcome> serve_purge(Worker& w, Exchange& ex) {
  const bool close = ex.request.has_body() || !ex.client_keep_alive;
  const std::vector<config::AddressRange>& allowed = w.config().admin.purge_from;
  if (std::none_of(allowed.begin(), allowed.end(), [&](const config::AddressRange& r) {
        return r.contains(ex.client.peer_ip);
      })) {
    co_return co_await respond_error(w, ex, 403, "PURGE is not allowed from this address", close);
  }
  size_t purged = 0;
  if (CacheServices* services = w.cache_services()) {
    auto url = cache::request_url("http", ex.authority, ex.origin_target);
    if (!url) co_return co_await respond_error(w, ex, 400, "bad request target", close);
    purged = remove_key(*services->storage,
                        cache::primary_key(*url, ex.request.headers, key_options(*ex.site->config)));
  }
  co_return co_await respond(w, ex, 200, "application/json",
                             "{\"purged\":" + std::to_string(purged) + "}\n", close);
}

Task<Outcome> serve_with_cache(Worker& w, Exchange& ex) {
  CacheServices* services = w.cache_services();
  const bool get_or_head = ex.request.method == "GET" || ex.is_head;
  const wasm::CacheView* chosen = ex.module_cache();  // what modules chose, if any ran
  const bool caching = services && ex.site->config->cache && !(chosen && chosen->bypass);
  std::optional<cache::RequestUrl> url =
      caching ? cache::request_url("http", ex.authority, ex.origin_target) : std::nullopt;
  if (!url || !get_or_head || ex.request.has_body()) {
    w.counters().add(Metric::cache_bypass_total);
    if (get_or_head || !caching) {
      ex.cache_status = w.bypass_status();
    } else {
      set_status(w, ex, forwarded(cache::Fwd::method));
    }
    // RFC 9111 §4.4: a non-error answer to an unsafe method invalidates the target URI and a
    // same-origin Location / Content-Location, before the client sees the answer.
    if (url && !http::is_safe_method(ex.request.method)) {
      // Copied now: forwarding rewrites the request head for the origin.
      ex.on_origin_head = [services, &ex, url = *url, method = std::string(ex.request.method),
                           request_headers = ex.request.headers](const http::ResponseHead& head) {
        for (const cache::RequestUrl& gone :
             cache::invalidated_urls(method, url, head.status, head.headers)) {
          std::string gone_key =
              cache::primary_key(gone, request_headers, key_options(*ex.site->config));
          services->storage->remove_all_variants(gone_key);
          services->storage->remove_all_variants(block_key(gone_key));
        }
      };
    }
    co_return co_await forward_to_origin(w, ex);
  }
  const config::Config& cfg = ex.sites->config();
  int64_t now = unix_now();
  http::CacheDirectives request_cc = cache::request_directives(ex.request.headers);
  std::string key = chosen && chosen->key_changed
                        ? chosen->key
                        : cache::primary_key(*url, ex.request.headers, key_options(*ex.site->config));
  cache::CacheStatus status = forwarded(cache::Fwd::uri_miss);
  std::optional<StaleCandidate> stale;

  // 1. What is stored, and which variant this request selects.
  std::vector<storage::ObjectRef> variants = services->storage->lookup(key);
  if (!variants.empty()) {
    std::vector<std::shared_ptr<const StoredHead>> heads(variants.size());
    std::vector<cache::VariantCandidate> candidates(variants.size());
    for (size_t i = 0; i < variants.size(); ++i) {
      const storage::ObjectMeta& m = variants[i]->meta();
      heads[i] = stored_head_of(m);
      candidates[i] = {&heads[i]->response.headers, m.variant, m.response_time};
    }
    std::optional<size_t> pick = cache::select_variant(candidates, ex.request.headers);
    status = forwarded(cache::Fwd::vary_miss);
    if (pick) {
      const storage::ObjectRef& object = variants[*pick];
      const StoredHead& head = *heads[*pick];
      cache::Decision d = cache::decide_lookup(ex.request.method, request_cc, head.response,
                                               head.rcc, policy_config(cfg), now,
                                               object->meta().soft_purged != 0);
      if (d.action == cache::Action::serve || d.action == cache::Action::serve_and_revalidate) {
        cache::CacheStatus hit = cache::cache_status_for(d);
        if (d.stale) w.counters().add(Metric::cache_stale_served_total);
        if (d.action == cache::Action::serve_and_revalidate) {
          // One background fetch refreshes the object; this request does not wait for it.
          bool created = false;
          auto fill = services->fills->find_or_create(
              key, config::block_size_for(cfg, *ex.site->config), &created);
          if (created) {
            StaleCandidate candidate{object, heads[*pick]};
            std::shared_ptr<FillJob> job =
                make_fill_job(w, ex, *url, key, request_cc, &candidate);
            job->background = true;
            if (ex.modules_active()) {
              job->pre_store = background_pre_store_hook(
                  w, ex, cache::format_cache_status(w.config().via_name, hit));
            }
            runtime::spawn(run_fill(w, *services, fill, std::move(job)));
          }
        }
        std::optional<Outcome> sent =
            co_await send_stored(w, ex, *services, object, head, d.strip_fields, hit, now);
        if (sent) {
          w.counters().add(Metric::cache_hits_total);
          co_return *sent;
        }
        status = forwarded(cache::Fwd::miss, "stored object unreadable");
      } else if (d.action == cache::Action::gateway_timeout) {
        co_return co_await respond_error(w, ex, 504, "only-if-cached: not in the cache",
                                         !ex.client_keep_alive);
      } else {
        w.counters().add(Metric::cache_stale_total);
        status = cache::cache_status_for(d);
        stale = StaleCandidate{object, heads[*pick]};
      }
    }
  }
  if (request_cc.only_if_cached) {
    co_return co_await respond_error(w, ex, 504, "only-if-cached: not in the cache",
                                     !ex.client_keep_alive);
  }

  // 2. Fetch: HEAD misses and keys known to be uncacheable go straight to the origin; range
  // requests, and requests for objects stored as blocks, are served block by block.
  const bool uncacheable = services->fills->is_uncacheable(key, std::chrono::steady_clock::now());
  if (!ex.is_head && !request_cc.no_store && !uncacheable &&
      (ex.request.headers.contains("range") || has_blocks(*services, key))) {
    co_return co_await serve_blocks(w, ex, *services, key, *url, request_cc);
  }
  w.counters().add(Metric::cache_misses_total);
  if (ex.is_head || request_cc.no_store || uncacheable) {
    set_status(w, ex, status);
    co_return co_await forward_to_origin(w, ex);
  }
  bool created = false;
  std::shared_ptr<cache::Fill> fill = services->fills->find_or_create(
      key, config::block_size_for(cfg, *ex.site->config), &created);
  std::shared_ptr<FillJob> job;
  if (created) {
    job = make_fill_job(w, ex, *url, key, request_cc, stale ? &*stale : nullptr);
    if (ex.modules_active()) {
      job->pre_store = pre_store_hook(ex, cache::format_cache_status(w.config().via_name, status));
    }
    runtime::spawn(run_fill(w, *services, fill, job));
  }
  co_return co_await serve_from_fill(w, ex, *services, std::move(fill), job.get(),
                                     stale ? &*stale : nullptr, request_cc, status);
}

}  // namespace stavka::proxy
