// Fill: one origin response for one cache key, being received, stored and read at once.
//
// A miss starts a fill; the client that caused it and every later request for the same key
// (on any worker) are readers of it. The writer (the fill's own coroutine, on the worker that
// started it) appends body bytes as they arrive; each reader reads from the offset it needs as
// soon as the bytes are there, and never waits for a block to complete or for a storage write.
// The writer never waits for readers: a reader that falls behind reads the sealed blocks the
// fill keeps, and a slow reader only slows itself.
//
// Threads: a Fill is shared (shared_ptr) between workers. Its state sits behind one mutex,
// held only to copy a few pointers and counters, never across I/O. A reader that finds no new
// bytes registers a waiter (its reactor and coroutine); the writer wakes waiters by posting the
// resumption to each waiter's reactor, so a reader always resumes on its own thread.
//
// Memory: bytes live in blocks of block_size (storage::Block), the same blocks the storage
// keeps, so readers, the fill and the memory tier share one copy. The open (not yet full)
// block is a growable buffer readers reference by shared_ptr; growing it copies into a new
// buffer and leaves readers' views of the old one valid.
#pragma once

#include <coroutine>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cache/stored_response.h"
#include "http/message.h"
#include "runtime/reactor.h"
#include "runtime/task.h"
#include "storage/storage.h"

namespace stavka::cache {

enum class FillState : uint8_t {
  head_pending,  // request sent, no response head yet
  streaming,     // head known, body arriving
  complete,      // whole body received
  failed,        // the origin failed before or during the body: readers must not see a whole
                 // response (before the head: error response; after: truncated connection)
  not_shared,    // the response may not be shared with other clients (uncacheable): only the
                 // reader that started the fill may read it; the others go to the origin
  revalidated,   // the origin answered a conditional request with a 304 that applies: the
                 // stored object, freshened, is the answer (revalidation()); no body here
};

// The outcome of a successful revalidation: the stored object (its meta updated in storage,
// or the handle the fill started from when the object left storage meanwhile) and the
// freshened response to serve its body with, also as decoded for serving (the same opaque
// decoding as ObjectMeta::decoded).
struct Revalidation {
  storage::ObjectRef object;
  StoredResponse response;
  std::shared_ptr<const void> decoded;
};

// The response head as stored and served, fixed once the head arrives.
struct FillHead {
  http::ResponseHead head;  // fields as they will be stored (hop-by-hop removed)
  uint64_t size = storage::unknown_size;  // body length when the origin said it
  // A range fill (src/proxy/range_cache): its body is the object's bytes from `base` on, and
  // size is the whole object's length.
  uint64_t base = 0;
  bool cacheable = false;
  std::string variant;      // secondary key of the response's Vary for its own request
  std::vector<std::string> vary_fields;  // lower-cased names; empty without Vary
  int64_t request_time = 0;
  int64_t response_time = 0;
};

// A view of body bytes a reader may send; `keep` keeps the memory alive meanwhile.
struct FillChunk {
  std::string_view bytes;
  std::shared_ptr<const void> keep;
  bool released = false;  // the bytes were stored and let go (release_sealed): read storage
};

class Fill : public std::enable_shared_from_this<Fill> {
 public:
  // start: for a range fill, the object offset it was created to fetch from (block-aligned).
  Fill(std::string primary_key, uint32_t block_size, uint64_t start = 0);
  Fill(const Fill&) = delete;

  const std::string& primary_key() const { return primary_key_; }
  uint32_t block_size() const { return block_size_; }
  uint64_t start() const { return start_; }

  // --- range fills: how far to fetch ---
  // Object offset the fill fetches up to (exclusive); unlimited unless set. Readers raise it as
  // they need more (want), never lower it; the writer stops there.
  void want(uint64_t end);
  uint64_t want_end() const;
  // The most want() may reach: where the next stored block begins (set once, at creation).
  void cap_want(uint64_t end);
  uint64_t want_cap() const;  // UINT64_MAX: none
  // Readers report how far they have read (body offset, exclusive), and how far their
  // clients asked (object offset, exclusive), for the writer's stop rule and read-ahead count.
  void note_read(uint64_t end);
  uint64_t furthest_read() const;
  void note_asked(uint64_t end);
  uint64_t asked_end() const;
  // A reader of the object byte at `offset` gets it from this range fill: it started at or
  // before it and either has it or is still fetching up to past it.
  bool will_have(uint64_t offset) const;
  // Lets go of sealed blocks before `index` (they are stored): a reader asking for their bytes
  // gets a chunk marked released and reads storage instead. Bounds a long fill's memory.
  void release_sealed(uint32_t index);

  // --- writer side (the fill's coroutine) ---
  void set_head(std::shared_ptr<const FillHead> head, bool shared);
  // Appends body bytes; full blocks are sealed (checksummed) and returned through sealed_out
  // so the caller can hand them to storage.
  void append(std::string_view bytes, std::vector<std::pair<uint32_t, storage::BlockRef>>* sealed_out);
  // The body is complete; seals the last block (returned through sealed_out if not empty).
  void finish(std::vector<std::pair<uint32_t, storage::BlockRef>>* sealed_out,
              http::HeaderMap trailers = {});
  // The origin failed. Before the head: readers answer `status` (502, 504) with `detail`
  // (a string literal); after it: readers close their connection (a truncated body).
  void fail(int status = 502, const char* detail = "the origin's response failed");
  // The origin confirmed the stored object (304): ends the fill in state revalidated.
  void set_revalidated(std::shared_ptr<const Revalidation> revalidation);
  // Readers attached and not yet detached (the writer stops early when none remain).
  size_t readers() const;

  // --- reader side (any worker) ---
  void attach();
  void detach();
  // Waits until the head is known or the fill ended without one, or until `timeout` passes
  // (then returns head_pending), so a waiting reader can check on its client meanwhile.
  runtime::Task<FillState> wait_head(runtime::Clock::duration timeout);
  std::shared_ptr<const FillHead> head() const;
  // Set in state revalidated, else null.
  std::shared_ptr<const Revalidation> revalidation() const;
  // Waits for bytes at `offset` and returns up to max bytes from there. An empty chunk means
  // the body ended at offset (state complete) or the fill failed (state failed).
  runtime::Task<FillChunk> read(uint64_t offset, size_t max);
  FillState state() const;
  uint64_t received() const;
  // The origin's trailer fields (after the body ended; relayed to chunked readers).
  http::HeaderMap trailers() const;
  int failure_status() const;
  const char* failure_detail() const;
  // The writer is done (finished, failed or abandoned): no more bytes will come.
  bool ended() const;

 private:
  // One suspended reader. Shared by the reader's frame and the waiter list; touched only on the
  // reader's reactor (the wake is posted there), so whichever of wake and timeout comes first
  // resumes it and the other finds `resumed` set.
  struct WaitSlot {
    runtime::Timer timer;  // first member: the timer callback finds the slot from it
    runtime::Reactor* reactor = nullptr;
    std::coroutine_handle<> handle;
    bool resumed = false;
  };
  using Waiter = std::shared_ptr<WaitSlot>;
  class WaitAwaiter;

  void seal_open_block(std::vector<std::pair<uint32_t, storage::BlockRef>>* sealed_out);
  void wake_all_locked(std::vector<Waiter>* out);
  static void wake(std::vector<Waiter>& waiters);

  const std::string primary_key_;
  const uint32_t block_size_;
  const uint64_t start_;

  mutable std::mutex mutex_;
  FillState state_ = FillState::head_pending;
  std::shared_ptr<const FillHead> head_;
  std::shared_ptr<const Revalidation> revalidation_;
  std::vector<storage::BlockRef> sealed_;  // blocks 0..n-1
  std::shared_ptr<char[]> open_;           // block n, partly filled
  uint32_t open_capacity_ = 0;
  uint32_t open_size_ = 0;
  uint64_t received_ = 0;
  bool ended_ = false;
  http::HeaderMap trailers_;
  int failure_status_ = 0;
  const char* failure_detail_ = "";
  size_t readers_ = 0;
  std::vector<Waiter> waiters_;
  uint64_t want_end_ = UINT64_MAX;
  uint64_t want_cap_ = UINT64_MAX;
  uint64_t furthest_read_ = 0;
  uint64_t asked_end_ = 0;
};

}  // namespace stavka::cache
