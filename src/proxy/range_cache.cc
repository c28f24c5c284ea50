// Block-aligned range caching: see range_cache.h.
//
// A request is served in three steps:
//   1. the reference: what the object is (its fields, length and validator), from the stored
//      block holding the first byte asked for when it is usable, else from the head of the range
//      fill that fetches that byte;
//   2. the Range resolved against the length, conditionals and If-Range evaluated on the
//      reference, the head sent;
//   3. each span of the body, block by block: from storage when the block is present, fresh and
//      of the reference's representation; else from the range fill that has or will fetch it
//      (joined, or started here).
// A range fill (run_range_fill) belongs to no request: it reads the origin's answer into a Fill
// that every reader reads, and stores each block as it completes.
#include "proxy/range_cache.h"

#include <sys/uio.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <coroutine>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cache/client_conditional.h"
#include "cache/directives.h"
#include "cache/entity_tag.h"
#include "cache/fill.h"
#include "cache/fill_table.h"
#include "cache/freshness.h"
#include "cache/request_policy.h"
#include "cache/storability.h"
#include "cache/stored_response.h"
#include "cache/vary.h"
#include "http/headers.h"
#include "http/range.h"
#include "http/serializer.h"
#include "proxy/cache_serving.h"
#include "proxy/client_io.h"
#include "proxy/forwarding.h"
#include "proxy/origin_fetch.h"
#include "proxy/origin_request.h"
#include "runtime/log.h"

namespace stavka::proxy {

using runtime::Task;

namespace {

constexpr size_t read_chunk = 64 * 1024;

std::string index_name(uint64_t index) { return std::to_string(index); }

uint64_t round_up(uint64_t offset, uint32_t block) {
  if (offset > UINT64_MAX - block) return UINT64_MAX;
  return (offset + block - 1) / block * block;
}

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

// What makes blocks of one representation: "s" and a strong ETag, else "m" and Last-Modified.
// Empty when there is neither: such a response is not stored as blocks.
std::string validator_of(std::string_view etag, std::string_view last_modified) {
  if (!etag.empty()) {
    std::optional<cache::EntityTag> tag = cache::parse_entity_tag(etag);
    if (tag && !tag->weak) return "s" + std::string(tag->opaque);
  }
  if (!last_modified.empty()) return "m" + std::string(last_modified);
  return {};
}

std::string validator_of(const http::HeaderMap& fields) {
  std::optional<std::string_view> etag = fields.find("etag");
  std::optional<std::string_view> lm = fields.find("last-modified");
  return validator_of(etag ? std::string_view(*etag) : std::string_view(),
                      lm ? std::string_view(*lm) : std::string_view());
}

// The representation's head as a block carries it, for serving: its fields without the
// block's Content-Range, as a 200.
std::shared_ptr<const StoredHead> block_head(const storage::ObjectMeta& meta) {
  if (meta.decoded) return std::static_pointer_cast<const StoredHead>(meta.decoded);
  http::HeaderMap fields = cache::parse_fields(meta.headers);
  fields.remove("content-range");
  return make_stored_head({200, std::move(fields), meta.request_time, meta.response_time});
}

// What the object is: the head to serve, its length and its validator.
struct Reference {
  std::shared_ptr<const StoredHead> head;
  uint64_t size = 0;
  std::string validator;
};

// A range fill: what to ask the origin and how to store what comes back.
struct RangeFillJob {
  OriginRequestSpec spec;
  std::string key;     // the object's primary key (marked uncacheable when it is)
  std::string blocks;  // block_key(key)
  std::string url;
  std::string host;
  http::HeaderMap request_headers;
  http::CacheDirectives request_cc;
  cache::PolicyConfig policy;
  uint64_t readahead = 0;
  bool fill_whole = false;
  std::chrono::steady_clock::duration uncacheable_ttl{};
  PreStoreHook pre_store;  // the modules of the request that started the fill (module_stage.h)
};

// One request served from blocks.
struct BlockRequest {
  Worker& w;
  Exchange& ex;
  CacheServices& services;
  const std::string& key;
  std::string blocks;
  const cache::RequestUrl& url;
  const http::CacheDirectives& request_cc;
  cache::PolicyConfig policy;
  int64_t now = 0;
  uint32_t block_size = 0;
  uint64_t readahead = 0;
  bool fill_whole = false;
  Reference ref;
  uint64_t from_storage = 0;  // body bytes sent from stored blocks
  uint64_t from_fills = 0;    // body bytes sent from range fills
  std::vector<std::shared_ptr<cache::Fill>> attached;  // fills this request reads

  BlockRequest(Worker& worker, Exchange& exchange, CacheServices& cache,
               const std::string& primary_key, const cache::RequestUrl& request_url,
               const http::CacheDirectives& directives)
      : w(worker),
        ex(exchange),
        services(cache),
        key(primary_key),
        blocks(block_key(primary_key)),
        url(request_url),
        request_cc(directives) {}
  BlockRequest(const BlockRequest&) = delete;
  ~BlockRequest() {
    for (const auto& fill : attached) fill->detach();
  }
  void attach(const std::shared_ptr<cache::Fill>& fill) {
    if (std::find(attached.begin(), attached.end(), fill) != attached.end()) return;
    fill->attach();
    attached.push_back(fill);
  }
  // How far fills should fetch for a reader that needs the object up to `end`: the block
  // holding end - 1, plus the read-ahead, within the object.
  uint64_t want_for(uint64_t end) const {
    return std::min(ref.size, saturating_add(round_up(end, block_size), readahead));
  }
  // The client has had the object's bytes up to `end`, from a fill or from storage. Every fill
  // this request reads counts them as read wherever they came from (a fill its readers leave
  // stops one read-ahead past the furthest byte read; a block it stored before its reader got
  // there is read from storage), and an open-ended reader keeps them one read-ahead ahead.
  void progressed(uint64_t end, bool open) {
    for (const auto& fill : attached) {
      std::shared_ptr<const cache::FillHead> head = fill->head();
      if (!head || end <= head->base) continue;
      fill->note_read(end - head->base);
      if (open) fill->want(want_for(end + 1));
    }
  }
};

// A stored block's own view of the object (nullopt when it is not a well-formed, fresh block
// at `index` of the request's block size).
std::optional<Reference> block_reference(const BlockRequest& c, const storage::ObjectMeta& meta,
                                         uint64_t index) {
  if (meta.block_size != c.block_size) return std::nullopt;
  std::optional<http::ContentRange> where = stored_block_range(meta);
  if (!where || where->range.first != index * c.block_size || where->range.size() != meta.size) {
    return std::nullopt;
  }
  std::shared_ptr<const StoredHead> head = block_head(meta);
  // A soft-purged block is not served stale: it counts as missing, and is fetched again.
  cache::Decision d = cache::decide_lookup("GET", c.request_cc, head->response, head->rcc,
                                           c.policy, c.now, meta.soft_purged != 0);
  if (d.action != cache::Action::serve) return std::nullopt;
  std::string validator = validator_of(meta.etag, meta.last_modified);
  if (validator.empty()) return std::nullopt;
  return Reference{std::move(head), where->length, std::move(validator)};
}

// Block `index` from storage when it is usable for the request's reference.
storage::ObjectRef usable_block(const BlockRequest& c, uint64_t index) {
  storage::ObjectRef object = c.services.storage->lookup(c.blocks, index_name(index));
  if (!object) return nullptr;
  std::optional<Reference> seen = block_reference(c, object->meta(), index);
  if (!seen || seen->size != c.ref.size || seen->validator != c.ref.validator) return nullptr;
  return object;
}

// --- range fills -----------------------------------------------------------------------------

// Stores a range fill's blocks, each as an object of its own, in the order they complete; a
// stored block is let go from the fill (readers find it in storage). Lives on the fill's worker.
class BlockPublisher : public std::enable_shared_from_this<BlockPublisher> {
 public:
  BlockPublisher(storage::Storage& storage, std::shared_ptr<cache::Fill> fill,
                 storage::ObjectMeta meta, uint64_t size, uint64_t first_index)
      : storage_(storage),
        fill_(std::move(fill)),
        meta_(std::move(meta)),
        size_(size),
        first_index_(first_index) {}

  void queue(uint32_t fill_index, storage::BlockRef block) {
    pending_.emplace_back(fill_index, std::move(block));
    if (!pumping_) {
      pumping_ = true;
      runtime::spawn(pump(shared_from_this()));
    }
  }

  auto drained() {
    struct Awaiter {
      BlockPublisher& p;
      bool await_ready() const noexcept { return !p.pumping_; }
      void await_suspend(std::coroutine_handle<> h) noexcept { p.drain_waiter_ = h; }
      void await_resume() const noexcept {}
    };
    return Awaiter{*this};
  }

  uint64_t stored() const { return stored_; }

 private:
  static Task<void> pump(std::shared_ptr<BlockPublisher> self) {
    while (!self->pending_.empty()) {
      auto [fill_index, block] = std::move(self->pending_.front());
      self->pending_.pop_front();
      if (co_await self->store(fill_index, std::move(block))) {
        ++self->stored_;
        self->fill_->release_sealed(fill_index);  // keeps this one: a reader may be in it
      }
    }
    self->pumping_ = false;
    if (std::coroutine_handle<> waiter = std::exchange(self->drain_waiter_, {})) {
      runtime::Reactor::current().post([waiter] { waiter.resume(); });
    }
  }

  Task<bool> store(uint32_t fill_index, storage::BlockRef block) {
    const uint64_t index = first_index_ + fill_index;
    const uint64_t first = index * meta_.block_size;
    storage::ObjectMeta meta = meta_;
    meta.variant = index_name(index);
    meta.size = block->size;
    meta.headers.append("Content-Range: ")
        .append(http::content_range({first, first + block->size - 1}, size_))
        .append("\r\n");
    std::unique_ptr<storage::Writer> writer = storage_.begin_write(meta);
    if (!writer) co_return false;
    if (co_await writer->write_block(0, std::move(block)) != storage::Error::none) {
      co_return false;
    }
    co_return co_await writer->publish(std::move(meta)) == storage::Error::none;
  }

  storage::Storage& storage_;
  std::shared_ptr<cache::Fill> fill_;
  const storage::ObjectMeta meta_;  // every block's meta but variant, size and Content-Range
  const uint64_t size_;             // the object's length
  const uint64_t first_index_;      // object block index of the fill's block 0
  std::deque<std::pair<uint32_t, storage::BlockRef>> pending_;
  bool pumping_ = false;
  uint64_t stored_ = 0;
  std::coroutine_handle<> drain_waiter_;
};

// Where a range fill stops (an object offset): what its readers want; with no reader left, one
// read-ahead past the furthest byte read; everything when the origin ignored Range and the site
// fills whole objects.
uint64_t stop_at(const cache::Fill& f, const RangeFillJob& job, uint64_t base, bool whole) {
  if (whole) return UINT64_MAX;
  uint64_t limit = f.want_end();
  if (f.readers() == 0) {
    limit = std::min(limit, saturating_add(round_up(base + f.furthest_read(), f.block_size()),
                                           job.readahead));
  }
  return limit;
}

Task<void> run_range_fill(Worker& w, CacheServices& services, std::shared_ptr<cache::Fill> fill,
                          std::shared_ptr<RangeFillJob> job) {
  struct Scope {
    Worker& w;
    CacheServices& services;
    cache::Fill& fill;
    ~Scope() {
      services.fills->remove_span(fill);
      w.counters().add(Metric::cache_fills_in_progress, -1);
    }
  } scope{w, services, *fill};
  w.counters().add(Metric::cache_fills_total);
  w.counters().add(Metric::cache_range_fills_total);
  w.counters().add(Metric::cache_fills_in_progress);
  cache::Fill& f = *fill;
  const uint32_t block_size = f.block_size();
  bool streaming = false;
  // Until the head: give up when every reader has gone. Afterwards stop_at() decides.
  job->spec.abandoned = [&f, &streaming] { return !streaming && f.readers() == 0; };

  const int64_t request_time = unix_now();
  OriginRequest origin(w, job->spec);
  OriginFailure failure;
  if (!co_await origin.start(&failure)) {
    w.counters().add(Metric::cache_fills_failed_total);
    f.fail(failure.status ? failure.status : 502,
           failure.status ? failure.detail.data() : "the fill was abandoned");
    co_return;
  }
  const int64_t response_time = unix_now();
  const http::ResponseHead& answer = origin.head();

  // What came back: the object's bytes from base on, of an object of size bytes.
  uint64_t base = 0;
  uint64_t size = storage::unknown_size;
  bool ignored_range = false;
  if (answer.status == 206 && answer.headers.all("content-range").size() == 1) {
    std::optional<http::ContentRange> where =
        http::parse_content_range(*answer.headers.find("content-range"));
    if (where && where->range.first == f.start() &&
        answer.framing == http::BodyFraming::content_length &&
        answer.content_length == where->range.size()) {
      base = where->range.first;
      size = where->length;
    }
  } else if (answer.status == 200 && answer.framing == http::BodyFraming::content_length) {
    size = answer.content_length;
    ignored_range = true;
  }
  auto head = std::make_shared<cache::FillHead>();
  head->request_time = request_time;
  head->response_time = response_time;
  head->base = base;
  head->size = size;
  head->head.status = 200;
  head->head.headers = answer.headers;
  remove_hop_by_hop(head->head.headers);
  cache::ResponseDirectives rcc = cache::response_directives(answer.headers);
  cache::Storability storability = cache::check_storable(
      "GET", job->request_headers, job->request_cc, 200, answer.headers, rcc);
  cache::remove_unstorable_fields(head->head.headers, storability.strip_fields);
  for (const char* name : {"content-length", "content-range"}) head->head.headers.remove(name);
  const bool answered = size != storage::unknown_size;
  // Modules see what would be stored first (as for a whole fill).
  ModuleVerdict modules;
  if (answered && storability.storable()) {
    modules = consult_modules(job->pre_store, head->head, size);
    if (modules.asked) rcc = cache::response_directives(head->head.headers);
  }
  const std::string validator = validator_of(head->head.headers);
  std::shared_ptr<const StoredHead> decoded =
      make_stored_head({200, head->head.headers, request_time, response_time});
  cache::Freshness fresh =
      cache::evaluate_freshness(decoded->response, rcc, job->policy, response_time);
  std::optional<std::vector<std::string>> vary = cache::vary_fields(head->head.headers);
  head->cacheable = answered && storability.storable() && !modules.declined &&
                    !validator.empty() && vary && vary->empty() && fresh.lifetime.seconds > 0;
  if (!head->cacheable) {
    // Not stored as blocks: every reader asks the origin itself, as its client asked. An
    // answer the cache may not store at all also keeps later requests from waiting on fills.
    if (answered && (!storability.storable() || fresh.lifetime.seconds <= 0 ||
                     (modules.declined && modules.answered))) {
      w.counters().add(Metric::cache_uncacheable_total);
      services.fills->mark_uncacheable(job->key,
                                       std::chrono::steady_clock::now() + job->uncacheable_ttl);
    }
    f.set_head(head, false);
    f.finish(nullptr);
    co_return;  // closes the origin connection: its body is not read
  }

  // Blocks of another representation (or another block size) go: they cannot join this one.
  for (const storage::ObjectRef& object : services.storage->lookup(job->blocks)) {
    const storage::ObjectMeta& m = object->meta();
    std::optional<http::ContentRange> where = stored_block_range(m);
    if (validator_of(m.etag, m.last_modified) != validator || m.block_size != block_size ||
        !where || where->length != size) {
      services.storage->remove(job->blocks, m.variant);
    }
  }

  storage::ObjectMeta meta;
  meta.primary_key = job->blocks;
  meta.url = job->url;
  meta.host = job->host;
  meta.block_size = block_size;
  describe(meta, decoded, fresh);
  apply_tags(modules, meta);
  auto publisher = std::make_shared<BlockPublisher>(*services.storage, fill, std::move(meta),
                                                    size, base / block_size);
  streaming = true;
  f.set_head(head, true);

  const bool whole = ignored_range && job->fill_whole;
  std::vector<std::pair<uint32_t, storage::BlockRef>> sealed;
  uint64_t at = base;  // object offset of the next byte
  bool origin_done = false;
  while (at < std::min(size, stop_at(f, *job, base, whole))) {
    BodyPiece piece = co_await origin.next_body();
    if (piece.kind == BodyPiece::truncated) {
      w.counters().add(Metric::cache_fills_failed_total);
      w.counters().add(Metric::cache_range_fill_bytes_total, at - base);
      f.fail();
      co_return;  // the blocks stored so far are whole and stay
    }
    const uint64_t limit = std::min(size, stop_at(f, *job, base, whole));
    for (std::string_view span : piece.spans) {
      if (at >= limit) break;
      span = span.substr(0, std::min<uint64_t>(span.size(), limit - at));
      f.append(span, &sealed);
      at += span.size();
    }
    for (auto& [index, block] : sealed) publisher->queue(index, std::move(block));
    sealed.clear();
    if (piece.kind == BodyPiece::done) {
      origin_done = true;
      break;
    }
  }
  if (origin_done) origin.release();  // else the connection closes: the rest is not wanted
  // The last block is stored only when it ends the object (a fill stops on a block boundary).
  f.finish(at == size ? &sealed : nullptr);
  for (auto& [index, block] : sealed) publisher->queue(index, std::move(block));
  w.counters().add(Metric::cache_range_fill_bytes_total, at - base);
  const uint64_t asked = std::max(base, f.asked_end());
  if (at > asked) w.counters().add(Metric::cache_readahead_bytes_total, at - asked);
  co_await publisher->drained();  // until then, later readers find the blocks in this fill
  w.counters().add(Metric::cache_stored_total, publisher->stored());
}

std::shared_ptr<RangeFillJob> make_range_job(const BlockRequest& c, uint64_t start,
                                             std::optional<uint64_t> end) {
  const config::Config& cfg = c.ex.sites->config();
  auto job = std::make_shared<RangeFillJob>();
  job->key = c.key;
  job->blocks = c.blocks;
  job->url = cache::url_string(c.url);
  job->host = c.ex.host;
  job->request_headers = c.ex.request.headers;  // for storability: the fill's own Range is ours
  job->request_headers.remove("range");
  job->request_headers.remove("if-range");
  job->request_cc = c.request_cc;
  job->policy = c.policy;
  job->readahead = c.readahead;
  job->fill_whole = c.fill_whole;
  job->uncacheable_ttl = cfg.cache.uncacheable_ttl;
  if (c.ex.modules_active()) {  // (the status is formatted only for modules to read)
    job->pre_store = pre_store_hook(
        c.ex, c.ex.cache_status.empty()
                  ? cache::format_cache_status(c.w.config().via_name, forwarded(cache::Fwd::miss))
                  : c.ex.cache_status);
  }
  http::RequestHead request = fill_request(c.ex);
  std::string range = "bytes=" + std::to_string(start) + "-";
  if (end) range += std::to_string(*end - 1);
  request.headers.add("Range", range);
  http::serialize_request_head(request, job->spec.head_bytes);
  job->spec.site = c.ex.site;
  job->spec.sites = c.ex.sites;
  job->spec.idempotent = true;
  return job;
}

// The index of the first block after `index` that is stored (in any state), or UINT64_MAX.
uint64_t next_stored_block(const BlockRequest& c, uint64_t index) {
  uint64_t next = UINT64_MAX;
  for (const storage::ObjectRef& object : c.services.storage->lookup(c.blocks)) {
    const std::string& variant = object->meta().variant;
    uint64_t i = 0;
    auto [end, error] = std::from_chars(variant.data(), variant.data() + variant.size(), i);
    if (error == std::errc() && end == variant.data() + variant.size() && i > index) {
      next = std::min(next, i);
    }
  }
  return next;
}

// The range fill that has or will fetch the byte at `at`, joined or started. want: the object
// offset this reader needs fetched up to; open: its client's range is open-ended (the fill's
// origin request is then open too, and the reader keeps moving want along as it reads).
std::shared_ptr<cache::Fill> join_range_fill(BlockRequest& c, uint64_t at, uint64_t want,
                                             bool open, bool* joined = nullptr) {
  bool created = false;
  std::shared_ptr<cache::Fill> fill =
      c.services.fills->find_or_create_span(c.blocks, at, c.block_size, want, &created);
  c.attach(fill);
  if (created) {
    // Only the missing span: the fill ends where the next stored block begins.
    std::optional<uint64_t> origin_end;  // none: open-ended
    if (!open) origin_end = want;
    const uint64_t next = next_stored_block(c, fill->start() / c.block_size);
    if (next != UINT64_MAX) {
      const uint64_t cap = next * c.block_size;
      fill->cap_want(cap);
      origin_end = open ? cap : std::min(want, cap);
    }
    fill->want(want);
    std::shared_ptr<RangeFillJob> job = make_range_job(c, fill->start(), origin_end);
    runtime::spawn(run_range_fill(c.w, c.services, fill, std::move(job)));
  } else {
    fill->want(want);
    c.w.counters().add(Metric::cache_collapsed_total);
  }
  if (joined) *joined = !created;
  return fill;
}

// Waits for a fill's head, checking on the client meanwhile; nullopt when the client left.
Task<std::optional<cache::FillState>> wait_for_head(Exchange& ex, cache::Fill& fill) {
  cache::FillState state;
  while ((state = co_await fill.wait_head(std::chrono::seconds(1))) ==
             cache::FillState::head_pending &&
         !fill.ended()) {
    if (client_has_gone(ex.client)) co_return std::nullopt;
  }
  co_return state;
}

bool readable(cache::FillState state) {
  return state == cache::FillState::streaming || state == cache::FillState::complete;
}

// A response that cannot go on: an error response when nothing was sent yet, else the
// connection closes (a truncated body, never one that looks complete).
Task<Outcome> cut(BlockRequest& c, const char* why) {
  runtime::log(runtime::LogLevel::warn, "cache: %s: %s", c.url.path.c_str(), why);
  if (c.ex.bytes_sent == 0) co_return co_await respond_error(c.w, c.ex, 502, why, true);
  co_return Outcome::close;
}

// Sends prefix, then the object's bytes [at, end): stored blocks from storage, the others from
// range fills.
Task<Outcome> send_span(BlockRequest& c, std::string_view prefix, uint64_t at, uint64_t end,
                        bool open) {
  const uint32_t bs = c.block_size;
  int stalled = 0;
  while (at < end) {
    const uint64_t index = at / bs;
    const uint64_t block_first = index * bs;
    if (storage::ObjectRef block = usable_block(c, index)) {
      const uint64_t upto = std::min(end, block_first + block->meta().size);
      std::optional<Outcome> sent =
          co_await send_body(c.w, c.ex, c.services, block, prefix, at - block_first, upto - at);
      if (sent && *sent != Outcome::done) co_return *sent;
      if (sent) {
        c.from_storage += upto - at;
        c.progressed(upto, open);
        at = upto;
        prefix = {};
        continue;
      }
      // unreadable before anything went out: fetch it again
    }
    const uint64_t want = c.want_for(open ? at + 1 : end);
    std::shared_ptr<cache::Fill> fill = join_range_fill(c, at, want, open);
    fill->note_asked(end);
    std::optional<cache::FillState> state = co_await wait_for_head(c.ex, *fill);
    if (!state) co_return Outcome::client_gone;
    if (!readable(*state)) co_return co_await cut(c, "a block fill failed");
    std::shared_ptr<const cache::FillHead> head = fill->head();
    if (head->size != c.ref.size || validator_of(head->head.headers) != c.ref.validator) {
      // The origin's object changed between two block fetches: the blocks cannot be mixed.
      co_return co_await cut(c, "the object changed at the origin while it was being served");
    }
    if (c.ex.upstream_ms < 0) {
      c.ex.upstream_ms = std::chrono::duration<double, std::milli>(c.w.reactor().now() -
                                                                   c.ex.start).count();
    }
    const uint64_t before = at;
    while (at < end) {
      const uint64_t offset = at - head->base;
      cache::FillChunk chunk = co_await fill->read(offset, std::min<uint64_t>(read_chunk, end - at));
      if (chunk.released || chunk.bytes.empty()) break;  // stored meanwhile, or the fill stopped
      iovec iov[2];
      int count = 0;
      if (!prefix.empty()) iov[count++] = {const_cast<char*>(prefix.data()), prefix.size()};
      iov[count++] = {const_cast<char*>(chunk.bytes.data()), chunk.bytes.size()};
      if (!co_await send_to_client(c.w, c.ex, iov, count)) co_return Outcome::client_gone;
      prefix = {};
      at += chunk.bytes.size();
      c.from_fills += chunk.bytes.size();
      c.progressed(at, open);
    }
    if (fill->state() == cache::FillState::failed) {
      co_return co_await cut(c, "the origin failed during a block fill");
    }
    stalled = at == before ? stalled + 1 : 0;
    if (stalled > 2) co_return co_await cut(c, "block fills make no progress");
  }
  if (!prefix.empty()) {
    iovec iov{const_cast<char*>(prefix.data()), prefix.size()};
    if (!co_await send_to_client(c.w, c.ex, &iov, 1)) co_return Outcome::client_gone;
  }
  co_return Outcome::done;
}

// Whether every block the spans cover is stored and usable, and whether any is (for
// Cache-Status; stops looking once both are known). Blocks in [skip_first, skip_end) count for
// neither.
std::pair<bool, bool> stored_coverage(const BlockRequest& c,
                                      const std::vector<http::ByteRange>& spans,
                                      uint64_t skip_first = 0, uint64_t skip_end = 0) {
  bool all = true;
  bool any = false;
  for (const http::ByteRange& r : spans) {
    for (uint64_t index = r.first / c.block_size;
         index <= r.last / c.block_size && (all || !any); ++index) {
      if (index >= skip_first && index < skip_end) continue;
      bool present = usable_block(c, index) != nullptr;
      all &= present;
      any |= present;
    }
  }
  return {all, any};
}

}  // namespace

std::optional<http::ContentRange> stored_block_range(const storage::ObjectMeta& meta) {
  constexpr std::string_view name = "content-range:";
  std::string_view rest = meta.headers;
  while (!rest.empty()) {
    size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 2);
    if (line.size() > name.size() && http::iequals(line.substr(0, name.size()), name)) {
      return http::parse_content_range(line.substr(name.size()));
    }
  }
  return std::nullopt;
}

// A line break cannot occur in a URL or a field value, so no primary key ends like this.
constexpr std::string_view blocks_suffix = "\nblocks";

std::string block_key(std::string_view primary_key) {
  return std::string(primary_key) + std::string(blocks_suffix);
}

std::optional<std::string_view> blocks_of(std::string_view key) {
  if (!key.ends_with(blocks_suffix)) return std::nullopt;
  return key.substr(0, key.size() - blocks_suffix.size());
}

bool has_blocks(CacheServices& services, std::string_view primary_key) {
  const std::string blocks = block_key(primary_key);
  return !services.storage->lookup(blocks).empty() || services.fills->has_span(blocks);
}

Task<Outcome> serve_blocks(Worker& w, Exchange& ex, CacheServices& services,
                           const std::string& primary_key, const cache::RequestUrl& url,
                           const http::CacheDirectives& request_cc) {
  const config::Config& cfg = ex.sites->config();
  const config::SiteConfig& site = *ex.site->config;
  BlockRequest c(w, ex, services, primary_key, url, request_cc);
  c.policy = policy_config(cfg);
  c.now = unix_now();
  c.block_size = config::block_size_for(cfg, site);
  const wasm::CacheView* chosen = ex.module_cache();
  c.readahead = chosen && chosen->readahead ? *chosen->readahead : config::readahead_for(cfg, site);
  c.fill_whole = site.fill_whole_objects;

  // The bytes asked for, as far as they are known before the length is.
  std::vector<std::string_view> lines = ex.request.headers.all("range");
  const std::string_view field = lines.size() == 1 ? lines[0] : std::string_view();
  const bool ranged =
      lines.size() == 1 && http::resolve_range(field, uint64_t{1} << 62).verdict !=
                               http::RangeVerdict::whole;
  http::RangeSpan span;  // whole: from 0, open-ended
  if (ranged) {
    std::optional<http::RangeSpan> known = http::range_span(field);
    if (!known) {
      // A suffix range: where it starts depends on the length. Passed through.
      set_status(w, ex, forwarded(cache::Fwd::miss, "suffix range"));
      co_return co_await forward_to_origin(w, ex);
    }
    span = *known;
  }

  // 1. The reference.
  const uint64_t first_index = span.first / c.block_size;
  std::optional<Reference> ref;
  if (storage::ObjectRef block = services.storage->lookup(c.blocks, index_name(first_index))) {
    ref = block_reference(c, block->meta(), first_index);
  }
  std::shared_ptr<cache::Fill> head_fill;  // the fill this request waited on for the head
  bool collapsed = false;
  if (!ref) {
    // Several ranges: this fill fetches the first one's first block (and read-ahead); the
    // others get fills of their own when their turn comes.
    const bool open = !span.last && span.members == 1;
    const uint64_t end = span.last && span.members == 1 ? *span.last + 1 : span.first + 1;
    const uint64_t want = saturating_add(round_up(end, c.block_size), c.readahead);
    std::shared_ptr<cache::Fill> fill = join_range_fill(c, span.first, want, open, &collapsed);
    head_fill = fill;
    fill->note_asked(open ? UINT64_MAX : *span.last + 1);
    std::optional<cache::FillState> state = co_await wait_for_head(ex, *fill);
    if (!state) co_return Outcome::client_gone;
    if (*state == cache::FillState::failed) {
      co_return co_await respond_error(w, ex, fill->failure_status(), fill->failure_detail(),
                                       !ex.client_keep_alive);
    }
    if (!readable(*state)) {
      set_status(w, ex, forwarded(cache::Fwd::miss, "not stored as blocks"));
      co_return co_await forward_to_origin(w, ex);
    }
    std::shared_ptr<const cache::FillHead> head = fill->head();
    ref = Reference{make_stored_head({200, head->head.headers, head->request_time,
                                      head->response_time}),
                    head->size, validator_of(head->head.headers)};
  }
  c.ref = std::move(*ref);
  const cache::StoredResponse& response = c.ref.head->response;

  // 2. What to send.
  http::ResolvedRange range;
  if (ranged && cache::if_range_allows(ex.request.headers, response)) {
    range = http::resolve_range(field, c.ref.size);
  }
  std::string age = cache::age_header_value(response, c.now);
  cache::CacheStatus status;
  if (cache::evaluate_client_conditionals("GET", ex.request.headers, response, c.now) ==
      cache::ConditionalResult::not_modified) {
    status.hit = true;
    w.counters().add(Metric::cache_hits_total);
    co_return co_await send_not_modified(w, ex, response, age, status);
  }
  if (range.verdict == http::RangeVerdict::unsatisfiable) {
    status.hit = true;
    co_return co_await send_unsatisfiable(w, ex, c.ref.size, age, status);
  }
  // The plan fixes the head; Cache-Status goes in it, so coverage is looked at first.
  std::vector<http::ByteRange> wanted;
  if (range.verdict == http::RangeVerdict::partial) {
    wanted = range.ranges;
  } else if (c.ref.size > 0) {
    wanted.push_back({0, c.ref.size - 1});
  }
  auto [all_stored, any_stored] = stored_coverage(c, wanted);
  if (head_fill) {
    // Forwarded, even if the fill has stored every block wanted by now (a fast origin). What
    // was stored before it is outside its span: it was made for missing blocks only.
    const uint64_t cap = head_fill->want_cap();
    any_stored = stored_coverage(c, wanted, head_fill->start() / c.block_size,
                                 cap == UINT64_MAX ? UINT64_MAX : cap / c.block_size)
                     .second;
    all_stored = false;
  }
  if (all_stored) {
    status.hit = true;
    status.ttl = cache::evaluate_freshness(response, c.ref.head->rcc, c.policy, c.now).ttl();
    ex.source = ResponseSource::cache;
  } else {
    status = forwarded(any_stored ? cache::Fwd::partial : cache::Fwd::uri_miss);
    status.fwd_status = 206;
    status.stored = true;
    status.collapsed = collapsed;
    ex.source = ResponseSource::fill;
  }
  set_status(w, ex, status);
  BodyPlan plan;
  plan_body(w, ex, *c.ref.head, age, c.ref.size, range, plan);
  if (!plan_head_now(ex, plan)) {  // (a coroutine only for a module that pauses or answers)
    if (auto answered = co_await finish_plan_head(w, ex, plan)) co_return *answered;
  }

  // 3. The body. The last span runs to the end of the object when the client's range does, and
  // for a whole response: its fills then stay one read-ahead ahead of this reader.
  const bool open = range.verdict != http::RangeVerdict::partial || !span.last;
  Outcome result = Outcome::done;
  if (plan.spans.empty()) result = co_await send_span(c, plan.head, 0, 0, false);
  for (size_t i = 0; i < plan.spans.size() && result == Outcome::done; ++i) {
    const http::ByteRange& r = plan.spans[i];
    result = co_await send_span(c, plan.prefix(i), r.first, r.last + 1,
                                open && i + 1 == plan.spans.size());
  }
  if (result == Outcome::done && !plan.closing.empty()) {
    iovec iov{plan.closing.data(), plan.closing.size()};
    if (!co_await send_to_client(w, ex, &iov, 1)) result = Outcome::client_gone;
  }
  if (head_fill) {  // counted as its Cache-Status says (what its own fill stored is no hit)
    w.counters().add(any_stored ? Metric::cache_partial_hits_total : Metric::cache_misses_total);
  } else if (c.from_fills == 0) {
    w.counters().add(Metric::cache_hits_total);
  } else if (c.from_storage > 0) {
    w.counters().add(Metric::cache_partial_hits_total);
  } else {
    w.counters().add(Metric::cache_misses_total);
  }
  if (result != Outcome::done) co_return result;
  co_return ex.close_connection ? Outcome::close : Outcome::done;
}

}  // namespace stavka::proxy
