// RecvStream implementation; see recv_stream.h.
#include "runtime/recv_stream.h"

#include <atomic>
#include <cstdlib>
#include <vector>

namespace stavka::runtime {

// Reads wait in a small ring; the rare reads that arrive while a cancel is on its way (they
// were already posted) go to `overflow`, which is always younger than the ring's contents.
// Every connection has one (its receive stays armed while it is idle), so it is kept small.
struct RecvStream::State : Completion, Orphan {
  static constexpr uint32_t kRing = kMaxQueued;

  State(Reactor* r, int socket) : reactor(r), fd(socket) {
    on_complete = &State::done;
    destroy = [](Orphan* o) { delete static_cast<State*>(o); };
  }
  ~State() {
    if (heap_block) std::free(heap_block);  // only if the reactor ended before its completion
  }

  uint32_t queued() const { return count + static_cast<uint32_t>(overflow.size()); }

  void push(Buffer b) {
    if (count < kRing && overflow.empty()) {
      ring[(head + count++) % kRing] = std::move(b);
    } else {
      overflow.push_back(std::move(b));
    }
  }

  Buffer pop() {
    if (count > 0) {
      Buffer b = std::move(ring[head]);
      head = (head + 1) % kRing;
      --count;
      return b;
    }
    Buffer b = std::move(overflow.front());
    overflow.erase(overflow.begin());
    return b;
  }

  void clear() {
    while (queued() > 0) pop();
  }

  void arm(bool expect_wait) {
    io_uring_sqe* sqe = reactor->get_sqe();
    BufferPool& pool = reactor->buffers();
    multishot = false;
    if (fallback) {
      fallback = false;
      heap_block = pool.take_heap_block();
      io_uring_prep_recv(sqe, fd, heap_block, pool.buffer_size(), 0);
    } else {
      multishot = bounded_multishot.load(std::memory_order_relaxed);
      if (multishot) {
        io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
        // The multishot ends by itself after this many bytes (the SQE's optlen, which shares
        // file_index's place): one wake-up cannot drain a fast socket into the whole ring.
        sqe->file_index = kMaxQueued * pool.buffer_size();
      } else {
        io_uring_prep_recv(sqe, fd, nullptr, 0, 0);
      }
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = BufferPool::group_id;
      if (expect_wait) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    }
    reactor->name_file(sqe, fd);
    io_uring_sqe_set_data(sqe, static_cast<Completion*>(this));
    armed = true;
  }

  // Cleared, for the whole process, by a kernel that rejects a multishot receive with a byte
  // limit (before Linux 6.16 or so): receives are then one-shot, one buffer each.
  static std::atomic<bool> bounded_multishot;

  static void done(Completion* c, int32_t res, uint32_t flags);

  Reactor* reactor;
  int fd;
  uint32_t reads_asked = 0;  // next() calls, up to kRegisterAfter
  bool armed = false;     // a receive (the multishot, or a one-shot into a heap block) is out
  bool stopping = false;  // a cancel was sent for it
  bool fallback = false;  // the ring ran dry: the next receive goes into a heap block
  bool orphaned = false;  // the owner let go; freed at the last completion
  bool multishot = false; // what is out is the multishot receive
  int32_t end = 1;        // 1: open; 0: end of stream; < 0: error (after the queued reads)
  char* heap_block = nullptr;
  Next* waiter = nullptr;
  uint32_t head = 0, count = 0;
  Buffer ring[kRing];
  std::vector<Buffer> overflow;
};

std::atomic<bool> RecvStream::State::bounded_multishot{true};

void RecvStream::State::done(Completion* c, int32_t res, uint32_t flags) {
  auto* s = static_cast<State*>(c);
  BufferPool& pool = s->reactor->buffers();
  bool more = (flags & IORING_CQE_F_MORE) != 0;
  uint32_t len = res > 0 ? static_cast<uint32_t>(res) : 0;
  if (flags & IORING_CQE_F_BUFFER) {
    Buffer b = pool.take_ring_buffer(static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT), len);
    if (res > 0 && !s->orphaned) s->push(std::move(b));
  } else if (s->heap_block) {  // the one-shot fallback
    Buffer b = pool.lease_heap_block(std::exchange(s->heap_block, nullptr), len);
    if (res > 0 && !s->orphaned) s->push(std::move(b));
    more = false;
  }
  if (!more) {
    s->armed = false;
    s->stopping = false;
    if (s->orphaned) {
      s->reactor->forget(s);
      delete s;
      return;
    }
    if (res == -EINVAL && s->multishot) {
      bounded_multishot.store(false, std::memory_order_relaxed);  // armed again, one-shot
    } else if (res == 0) {
      s->end = 0;
    } else if (res == -ENOBUFS) {
      s->fallback = true;
    } else if (res < 0 && res != -ECANCELED) {
      s->end = res;
    }
    // A read that ends the receive without an error (a one-shot, or the multishot's byte
    // limit), or our own cancel: armed again when more is wanted.
  } else if (s->queued() >= kMaxQueued && !s->stopping) {
    s->reactor->cancel(s);  // enough unclaimed: stop reading until the owner catches up
    s->stopping = true;
  }
  if (Next* n = s->waiter) {
    if (s->queued() > 0 || s->end <= 0) {
      s->waiter = nullptr;
      if (n->timer_.armed()) s->reactor->remove_timer(&n->timer_);
      n->handle_.resume();
    } else if (!s->armed) {
      s->arm(n->expect_wait_);  // the receive ended with nothing to show: the waiter still waits
    }
  }
}

RecvStream::RecvStream(int fd) : s_(new State(&Reactor::current(), fd)) {}

void RecvStream::reset() {
  State* s = std::exchange(s_, nullptr);
  if (!s) return;
  s->reactor->unregister_fixed(s->fd);  // before the owner closes the descriptor
  s->clear();
  if (!s->armed) {
    delete s;
    return;
  }
  s->orphaned = true;
  if (!s->stopping) s->reactor->cancel(s);
  s->reactor->adopt(s);
}

bool RecvStream::has_queued() const { return s_ && s_->queued() > 0; }

bool RecvStream::multishot() {
  return State::bounded_multishot.load(std::memory_order_relaxed);
}

void RecvStream::set_multishot_for_testing(bool on) {
  State::bounded_multishot.store(on, std::memory_order_relaxed);
}

bool RecvStream::at_end() const { return s_ && s_->end <= 0; }

RecvStream::Next RecvStream::next(Duration timeout, bool expect_wait) {
  // A socket read this often carries more than one exchange: register it with the ring, which
  // makes each send and receive on it cheaper for the rest of its life.
  if (s_->reads_asked < kRegisterAfter && ++s_->reads_asked == kRegisterAfter) {
    s_->reactor->register_fixed(s_->fd);
  }
  return Next(s_, timeout, expect_wait);
}

bool RecvStream::Next::await_ready() { return s_->queued() > 0 || s_->end <= 0; }

void RecvStream::Next::await_suspend(std::coroutine_handle<> h) {
  handle_ = h;
  s_->waiter = this;
  if (!s_->armed) s_->arm(expect_wait_);
  if (timeout_ > Duration::zero()) {
    timer_.next = this;
    timer_.fire = &Next::expire;
    timer_.deadline = s_->reactor->now() + timeout_;
    s_->reactor->add_timer(&timer_);
  }
}

void RecvStream::Next::expire(Timer* t) {
  Next* n = static_cast<WaitTimer*>(t)->next;
  n->timed_out_ = true;
  n->s_->waiter = nullptr;  // the receive stays armed: what comes later is kept
  n->handle_.resume();
}

RecvResult RecvStream::Next::await_resume() {
  RecvResult r;
  if (timed_out_) {
    r.bytes = -ETIMEDOUT;
  } else if (s_->queued() > 0) {
    r.buffer = s_->pop();
    r.bytes = static_cast<int32_t>(r.buffer.remaining());
  } else {
    r.bytes = s_->end;
  }
  return r;
}

}  // namespace stavka::runtime
