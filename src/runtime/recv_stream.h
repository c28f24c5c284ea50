// RecvStream: a socket's receive side as one multishot receive.
//
// A one-shot receive costs a submission and a poll armed on the socket every time it waits;
// a multishot receive arms once and then posts a completion for each read, into a buffer the
// kernel takes from the reactor's provided-buffer ring only when data arrives (so a connection
// waiting for its next request still holds no receive buffer). next() hands the reads out in
// order.
//
// Bounded memory: a multishot receive ends by itself after kMaxQueued buffers' worth of bytes
// (a byte limit the kernel enforces, so one wake-up cannot drain a fast socket into the ring),
// and it is cancelled once kMaxQueued reads wait unclaimed (a slow dribble); either way it is
// armed again when the owner asks for more. When the ring is empty (-ENOBUFS ends the
// multishot) one read goes into a heap block (BufferPool's fallback) and the multishot is armed
// again after it. Kernels without the byte limit (it came after 6.1) refuse the first one; from
// then on every receive is one-shot, as bounded as before.
//
// Lifetime: the kernel holds a pointer to the stream's state until the multishot's last
// completion. The state is therefore on the heap: destroying (or resetting) the RecvStream
// cancels the receive and leaves the state to the reactor, which frees it at that completion
// (or at its own end). Destroy the RecvStream before closing the socket's descriptor: it may
// also hold the socket registered with the ring (kRegisterAfter), which keeps the socket open.
// Owned by one reactor thread; at most one next() may be pending at a time.
#pragma once

#include <coroutine>
#include <cstdint>
#include <utility>

#include "runtime/buffer_pool.h"
#include "runtime/io.h"
#include "runtime/reactor.h"

namespace stavka::runtime {

class RecvStream {
 public:
  static constexpr uint32_t kMaxQueued = 2;
  // After this many next() calls the socket is registered with the ring (Reactor::
  // register_fixed) until reset().
  static constexpr uint32_t kRegisterAfter = 3;

  RecvStream() = default;
  explicit RecvStream(int fd);
  RecvStream(RecvStream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  RecvStream& operator=(RecvStream&& o) noexcept {
    if (this != &o) {
      if (s_) reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  RecvStream(const RecvStream&) = delete;
  ~RecvStream() {
    if (s_) reset();
  }

  explicit operator bool() const { return s_ != nullptr; }
  // Cancels the receive and lets go of the socket (queued reads are dropped).
  void reset();
  // True if reads wait to be claimed by next().
  bool has_queued() const;
  // True once the peer's end of stream (or an error) was seen: next() returns it after the
  // queued reads.
  bool at_end() const;

  // False once the kernel refused a multishot receive with a byte limit: reads are then
  // one-shot receives (process-wide).
  static bool multishot();
  // Tests: one-shot receives (what older kernels get) or multishot ones again.
  static void set_multishot_for_testing(bool on);

  class Next;
  // The next read: bytes > 0 with a buffer, 0 at end of stream, or -errno (-ETIMEDOUT if
  // nothing came within timeout; the stream stays usable). expect_wait: the caller expects no
  // data yet, so a receive armed now waits for readiness before trying.
  Next next(Duration timeout = no_timeout, bool expect_wait = false);

  struct State;

 private:
  State* s_ = nullptr;
};

class RecvStream::Next {
 public:
  Next(State* s, Duration timeout, bool expect_wait)
      : s_(s), timeout_(timeout), expect_wait_(expect_wait) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  RecvResult await_resume();

 private:
  friend struct RecvStream::State;
  struct WaitTimer : Timer {
    Next* next;
  };
  static void expire(Timer* t);

  State* s_;
  Duration timeout_;
  bool expect_wait_;
  bool timed_out_ = false;
  std::coroutine_handle<> handle_;
  WaitTimer timer_;
};

}  // namespace stavka::runtime
