// Reactor: one thread's event loop on its own io_uring (thread-per-core, no work stealing).
//
// Everything a reactor owns (its ring, timers, receive buffers, pipes, the coroutines it runs) is
// touched only by its own thread. Other threads reach it only through post(), which is the one
// thread-safe entry point (see Mailbox in mailbox.h for the lifetime rules of posted work).
//
// A submission's user_data is a Completion*; the Completion must stay alive until its CQE is
// reaped (awaitables keep it in the coroutine frame, which stays suspended until then). A null
// user_data marks submissions whose completions are ignored (cancellations).
#pragma once

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/intrusive_list.h"
#include "runtime/buffer_pool.h"
#include "runtime/mailbox.h"
#include "runtime/pipe_pool.h"
#include "runtime/timer_heap.h"

namespace stavka::runtime {

struct Completion {
  void (*on_complete)(Completion* self, int32_t res, uint32_t flags) = nullptr;
};

// State the kernel may still point to after its owner let go of it (a cancelled multishot
// receive): the reactor keeps it until its last completion frees it, or frees it itself when it
// ends first (the ring is gone then, so nothing points to it any more).
struct Orphan {
  void (*destroy)(Orphan* self) = nullptr;
  ListLink<Orphan> link;  // in the reactor's orphans
};

struct ReactorOptions {
  uint32_t ring_entries = 4096;
  uint32_t recv_buffers = 512;        // power of two
  uint32_t recv_buffer_size = 16384;  // bytes
  uint32_t fixed_files = 16384;       // slots for registered sockets (0: none)
};

class Reactor {
 public:
  Reactor(unsigned index, const ReactorOptions& options = {});
  ~Reactor();
  Reactor(const Reactor&) = delete;

  // The reactor running on this thread (set while run() executes, or by make_current()).
  static Reactor& current() { return *current_; }
  static Reactor* current_or_null() { return current_; }
  void make_current() { current_ = this; }

  unsigned index() const { return index_; }

  // Runs until stop() is called. Must be called on the thread that owns this reactor.
  void run();
  // Ends run() after the current iteration. Reactor thread only; use post() from elsewhere.
  void stop() { stopping_ = true; }

  // A free SQE, submitting queued ones first if the queue is full.
  io_uring_sqe* get_sqe();
  // Asks the kernel to cancel the submission whose user_data is target.
  void cancel(Completion* target);

  // Time as of the start of this loop iteration (cheap; use it for deadlines).
  Clock::time_point now() const { return now_; }
  void add_timer(Timer* t) { timers_.add(t); }
  void remove_timer(Timer* t) { timers_.remove(t); }

  // Takes an orphan until forget() (called by its last completion) or the reactor's end.
  void adopt(Orphan* o);
  void forget(Orphan* o);
  size_t orphans() const;  // how many are kept now

  // Fixed files: sockets registered with the ring, named in a submission by their slot, so the
  // kernel skips the descriptor lookup (and its reference count) on every send and receive.
  // Registration is a system call, so only a socket that carries more than one exchange is
  // registered (RecvStream does it), and a registration holds the socket open: unregister
  // before closing the descriptor (RecvStream::reset() does it). When the slots run out, or on
  // a kernel without sparse file tables, a socket is simply not registered.
  bool register_fixed(int fd);
  void unregister_fixed(int fd);
  bool is_fixed(int fd) const {
    return static_cast<size_t>(fd) < slot_of_fd_.size() && slot_of_fd_[fd] >= 0;
  }
  // Points sqe (prepared with fd) at fd's slot if it has one.
  void name_file(io_uring_sqe* sqe, int fd) const {
    if (static_cast<size_t>(fd) < slot_of_fd_.size() && slot_of_fd_[fd] >= 0) {
      sqe->fd = slot_of_fd_[fd];
      sqe->flags |= IOSQE_FIXED_FILE;
    }
  }

  BufferPool& buffers() { return *buffers_; }
  PipePool& pipes() { return pipes_; }

  // Thread-safe: runs fn on this reactor's thread, soon.
  void post(std::function<void()> fn) { mailbox_.post(std::move(fn)); }

 private:
  void arm_mailbox();
  static void on_mailbox(Completion* c, int32_t res, uint32_t flags);

  static thread_local Reactor* current_;
  unsigned index_;
  io_uring ring_{};
  std::unique_ptr<BufferPool> buffers_;
  PipePool pipes_;
  TimerHeap timers_;
  Mailbox mailbox_;
  Completion mailbox_completion_{};
  uint64_t mailbox_value_ = 0;
  IntrusiveList<Orphan, &Orphan::link> orphans_;
  std::vector<int32_t> slot_of_fd_;  // by descriptor: its fixed-file slot, or -1
  std::vector<int32_t> free_slots_;  // empty when the kernel has no sparse table
  Clock::time_point now_;
  bool stopping_ = false;
};

// Checks at start-up that the kernel supports every io_uring feature Stavka uses. Returns an
// empty string if so, otherwise a message naming what is missing.
std::string probe_io_uring();

}  // namespace stavka::runtime
