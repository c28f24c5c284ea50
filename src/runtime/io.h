// Awaitable I/O operations on the current reactor's io_uring.
//
// Each awaitable lives in the awaiting coroutine's frame, which stays suspended until the
// operation's completion arrives, so the Completion (and any iovec or address it points to)
// outlives the kernel's use of it. An optional timeout arms a Timer in the reactor's heap
// instead of a linked timeout request: if it fires first, the reactor asks the kernel to
// cancel the operation and the result is -ETIMEDOUT. Results follow the kernel's convention:
// >= 0 success, -errno on failure. Awaitables must be awaited on a reactor thread.
#pragma once

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <string_view>

#include "runtime/reactor.h"

namespace stavka::runtime {

using Duration = Clock::duration;
constexpr Duration no_timeout = Duration::zero();

// The shared machinery: completion, resumption, optional timeout.
class IoOp : public Completion {
 public:
  bool await_ready() const noexcept { return false; }

 protected:
  struct OpTimer : Timer {
    IoOp* op;
  };

  IoOp() { on_complete = &IoOp::finish; }
  // Queues a submission for this operation and arms the timeout.
  io_uring_sqe* start(std::coroutine_handle<> h, Duration timeout);
  // Arms the timeout later (an operation that first tried without waiting).
  void arm_timer(Clock::time_point deadline);
  // Re-queues after a partial result (the timeout keeps running).
  io_uring_sqe* restart();
  void resume_now();  // stops the timer and resumes the awaiter
  int32_t result() const { return (timed_out_ && res_ == -ECANCELED) ? -ETIMEDOUT : res_; }

  static void finish(Completion* c, int32_t res, uint32_t flags);
  static void expire(Timer* t);

  Reactor* reactor_ = nullptr;
  std::coroutine_handle<> handle_;
  int32_t res_ = 0;
  uint32_t flags_ = 0;
  bool timed_out_ = false;
  OpTimer timer_;
};

// A plain one-shot operation: the prep function fills the SQE.
template <typename Prep>
class SimpleOp : public IoOp {
 public:
  SimpleOp(Prep prep, Duration timeout) : prep_(prep), timeout_(timeout) {}
  void await_suspend(std::coroutine_handle<> h) { prep_(start(h, timeout_)); }
  int32_t await_resume() const noexcept { return result(); }

 private:
  Prep prep_;
  Duration timeout_;
};

template <typename Prep>
SimpleOp<Prep> make_op(Prep prep, Duration timeout = no_timeout) {
  return SimpleOp<Prep>(prep, timeout);
}

// Result of a receive into a buffer the kernel chose: bytes > 0 with a buffer, 0 at end of
// stream, or -errno.
struct RecvResult {
  int32_t bytes = 0;
  Buffer buffer;
};

// Receives into a buffer from the reactor's pool, taken only when data arrives. If the ring
// is momentarily empty, falls back to a heap block without waking the awaiter. One receive per
// await: connections read many times (the proxy's) use a RecvStream (recv_stream.h) instead.
class RecvAny : public IoOp {
 public:
  RecvAny(int fd, Duration timeout) : fd_(fd), timeout_(timeout) { on_complete = &RecvAny::done; }
  void await_suspend(std::coroutine_handle<> h);
  RecvResult await_resume();

 private:
  static void done(Completion* c, int32_t res, uint32_t flags);
  int fd_;
  Duration timeout_;
  char* heap_block_ = nullptr;
};

inline RecvAny recv(int fd, Duration timeout = no_timeout) { return RecvAny(fd, timeout); }

// Sends every byte of iov[0..count) (a partial send is continued without waking the awaiter).
// Result: total bytes sent, or -errno. The iovec array is modified as it is consumed.
//
// With a timeout, the first attempt does not wait (MSG_DONTWAIT): a socket with room takes the
// bytes at once, as it nearly always does, and no timer is armed. Only when the socket is full
// (-EAGAIN, or part sent) does the send wait for room, with the timeout counted from the start.
class SendAll : public IoOp {
 public:
  SendAll(int fd, iovec* iov, int count, Duration timeout);
  void await_suspend(std::coroutine_handle<> h);
  int64_t await_resume() const noexcept { return result() < 0 ? result() : sent_; }

 private:
  static void done(Completion* c, int32_t res, uint32_t flags);
  void submit(io_uring_sqe* sqe);
  // From now on submissions wait for room, and the timeout runs. False if it already has.
  bool start_waiting();
  int fd_;
  msghdr msg_{};
  iovec* iov_;         // first vector not yet fully sent
  size_t iov_left_;    // vectors from iov_ on; each submission sends at most IOV_MAX of them
  Duration timeout_;
  Clock::time_point started_;
  bool waiting_ = false;  // submissions wait for room (the first one does not, with a timeout)
  int64_t sent_ = 0;
};

inline SendAll send_all(int fd, iovec* iov, int count, Duration timeout = no_timeout) {
  return SendAll(fd, iov, count, timeout);
}

// One iovec convenience: the SendAll object keeps its own copy of the vector.
class SendBytes : public SendAll {
 public:
  SendBytes(int fd, std::string_view bytes, Duration timeout)
      : SendAll(fd, &iov_, 1, timeout),
        iov_{const_cast<char*>(bytes.data()), bytes.size()} {}

 private:
  iovec iov_;
};

inline SendBytes send_all(int fd, std::string_view bytes, Duration timeout = no_timeout) {
  return SendBytes(fd, bytes, timeout);
}

// flags: SOCK_CLOEXEC and optionally SOCK_NONBLOCK for the new socket (io_uring operations
// wait on a non-blocking socket as on a blocking one; direct system calls then never block).
inline auto accept(int fd, sockaddr* addr, socklen_t* len, int flags = SOCK_CLOEXEC) {
  return make_op([=](io_uring_sqe* s) { io_uring_prep_accept(s, fd, addr, len, flags); });
}

inline auto connect(int fd, const sockaddr* addr, socklen_t len, Duration timeout) {
  return make_op([=](io_uring_sqe* s) { io_uring_prep_connect(s, fd, addr, len); }, timeout);
}

inline auto poll(int fd, unsigned mask, Duration timeout = no_timeout) {
  return make_op([=](io_uring_sqe* s) { io_uring_prep_poll_add(s, fd, mask); }, timeout);
}

inline auto read(int fd, void* buf, unsigned len, uint64_t offset) {
  return make_op([=](io_uring_sqe* s) { io_uring_prep_read(s, fd, buf, len, offset); });
}

inline auto write(int fd, const void* buf, unsigned len, uint64_t offset) {
  return make_op([=](io_uring_sqe* s) { io_uring_prep_write(s, fd, buf, len, offset); });
}

inline auto openat(int dirfd, const char* path, int flags, mode_t mode) {
  return make_op([=](io_uring_sqe* s) { io_uring_prep_openat(s, dirfd, path, flags, mode); });
}

inline auto close(int fd) {
  return make_op([=](io_uring_sqe* s) { io_uring_prep_close(s, fd); });
}

// A sleep that ring() ends early, for a task that waits between rounds of work and must stop
// at once when told to. One wait at a time; the Alarm outlives it; reactor thread only.
class Alarm {
 public:
  class Wait {
   public:
    Wait(Alarm& alarm, Duration d) : alarm_(alarm), d_(d) {}
    bool await_ready() const noexcept { return d_ <= Duration::zero(); }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}

   private:
    Alarm& alarm_;
    Duration d_;
  };

  Alarm() = default;
  Alarm(const Alarm&) = delete;
  Alarm& operator=(const Alarm&) = delete;
  ~Alarm();  // a wait still pending stays suspended (its timer is removed)

  // Waits for d, or until ring().
  Wait wait_for(Duration d) { return Wait(*this, d); }
  // Ends the pending wait now: its waiter resumes inside this call. No-op without one.
  void ring();

 private:
  struct AlarmTimer : Timer {
    std::coroutine_handle<> handle;
  };
  AlarmTimer timer_;
};

// Suspends for d (timer only, no submission): a wait on an alarm nobody rings.
class Sleep {
 public:
  explicit Sleep(Duration d) : d_(d) {}
  bool await_ready() const noexcept { return d_ <= Duration::zero(); }
  void await_suspend(std::coroutine_handle<> h) { alarm_.wait_for(d_).await_suspend(h); }
  void await_resume() const noexcept {}

 private:
  Duration d_;
  Alarm alarm_;
};

inline Sleep sleep(Duration d) { return Sleep(d); }

}  // namespace stavka::runtime
