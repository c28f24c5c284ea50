// Awaitable I/O implementation; see io.h.
#include "runtime/io.h"

#include <limits.h>

#include <algorithm>

namespace stavka::runtime {

io_uring_sqe* IoOp::start(std::coroutine_handle<> h, Duration timeout) {
  handle_ = h;
  reactor_ = &Reactor::current();
  if (timeout > Duration::zero()) arm_timer(reactor_->now() + timeout);
  return restart();
}

void IoOp::arm_timer(Clock::time_point deadline) {
  timer_.op = this;
  timer_.fire = &IoOp::expire;
  timer_.deadline = deadline;
  reactor_->add_timer(&timer_);
}

io_uring_sqe* IoOp::restart() {
  io_uring_sqe* sqe = reactor_->get_sqe();
  io_uring_sqe_set_data(sqe, static_cast<Completion*>(this));
  return sqe;
}

void IoOp::resume_now() {
  if (timer_.armed()) reactor_->remove_timer(&timer_);
  handle_.resume();
}

void IoOp::finish(Completion* c, int32_t res, uint32_t flags) {
  auto* op = static_cast<IoOp*>(c);
  op->res_ = res;
  op->flags_ = flags;
  op->resume_now();
}

void IoOp::expire(Timer* t) {
  IoOp* op = static_cast<OpTimer*>(t)->op;
  op->timed_out_ = true;
  op->reactor_->cancel(op);
}

void RecvAny::await_suspend(std::coroutine_handle<> h) {
  io_uring_sqe* sqe = start(h, timeout_);
  io_uring_prep_recv(sqe, fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BufferPool::group_id;
}

void RecvAny::done(Completion* c, int32_t res, uint32_t flags) {
  auto* op = static_cast<RecvAny*>(c);
  if (res == -ENOBUFS && !op->timed_out_ && !op->heap_block_) {
    // Every ring buffer is leased; receive into a heap block instead.
    op->heap_block_ = op->reactor_->buffers().take_heap_block();
    io_uring_sqe* sqe = op->restart();
    io_uring_prep_recv(sqe, op->fd_, op->heap_block_, op->reactor_->buffers().buffer_size(), 0);
    return;
  }
  op->res_ = res;
  op->flags_ = flags;
  op->resume_now();
}

RecvResult RecvAny::await_resume() {
  RecvResult r;
  r.bytes = result();
  BufferPool& pool = reactor_->buffers();
  if (flags_ & IORING_CQE_F_BUFFER) {
    Buffer b = pool.take_ring_buffer(static_cast<uint16_t>(flags_ >> IORING_CQE_BUFFER_SHIFT),
                                     res_ > 0 ? static_cast<uint32_t>(res_) : 0);
    if (res_ > 0) r.buffer = std::move(b);
  } else if (heap_block_) {
    Buffer b = pool.lease_heap_block(heap_block_, res_ > 0 ? static_cast<uint32_t>(res_) : 0);
    heap_block_ = nullptr;
    if (res_ > 0) r.buffer = std::move(b);
  }
  return r;
}

SendAll::SendAll(int fd, iovec* iov, int count, Duration timeout)
    : fd_(fd), iov_(iov), iov_left_(static_cast<size_t>(count)), timeout_(timeout) {
  on_complete = &SendAll::done;
}

void SendAll::await_suspend(std::coroutine_handle<> h) {
  io_uring_sqe* sqe = start(h, no_timeout);
  if (timeout_ > Duration::zero()) {
    started_ = reactor_->now();
  } else {
    waiting_ = true;  // no timeout to save: wait for room from the first submission
  }
  submit(sqe);
}

bool SendAll::start_waiting() {
  if (waiting_) return false;
  waiting_ = true;
  arm_timer(started_ + timeout_);
  return true;
}

void SendAll::submit(io_uring_sqe* sqe) {
  const int flags = MSG_NOSIGNAL | (waiting_ ? 0 : MSG_DONTWAIT);
  if (iov_left_ == 1) {
    io_uring_prep_send(sqe, fd_, iov_[0].iov_base, iov_[0].iov_len, flags);
  } else {
    msg_.msg_iov = iov_;
    msg_.msg_iovlen = std::min<size_t>(iov_left_, IOV_MAX);
    io_uring_prep_sendmsg(sqe, fd_, &msg_, flags);
  }
  reactor_->name_file(sqe, fd_);
}

void SendAll::done(Completion* c, int32_t res, uint32_t flags) {
  auto* op = static_cast<SendAll*>(c);
  if (res == -EAGAIN && op->start_waiting()) {  // the socket is full: wait for room
    op->submit(op->restart());
    return;
  }
  if (res > 0) {
    op->sent_ += res;
    size_t left = static_cast<size_t>(res);
    // Drop fully sent vectors, trim a partly sent one.
    while (op->iov_left_ > 0 && left >= op->iov_[0].iov_len) {
      left -= op->iov_[0].iov_len;
      ++op->iov_;
      --op->iov_left_;
    }
    // Zero-length vectors at the end need no send.
    while (op->iov_left_ > 0 && op->iov_[0].iov_len == 0) {
      ++op->iov_;
      --op->iov_left_;
    }
    if (op->iov_left_ > 0) {
      op->iov_[0].iov_base = static_cast<char*>(op->iov_[0].iov_base) + left;
      op->iov_[0].iov_len -= left;
      if (!op->timed_out_) {
        op->start_waiting();  // part sent: the rest waits for room
        op->submit(op->restart());
        return;
      }
      res = -ETIMEDOUT;
    } else {
      res = 0;
    }
  } else if (res == 0 && op->iov_left_ > 0) {
    // Nothing sent with data left (e.g. only empty vectors): count as done if all are empty.
    res = 0;
  }
  op->res_ = res;
  op->flags_ = flags;
  op->resume_now();
}

void Alarm::Wait::await_suspend(std::coroutine_handle<> h) {
  AlarmTimer& t = alarm_.timer_;
  t.handle = h;
  t.deadline = Reactor::current().now() + d_;
  t.fire = [](Timer* timer) { static_cast<AlarmTimer*>(timer)->handle.resume(); };
  Reactor::current().add_timer(&t);
}

Alarm::~Alarm() {
  if (!timer_.armed()) return;
  if (Reactor* r = Reactor::current_or_null()) r->remove_timer(&timer_);
}

void Alarm::ring() {
  if (!timer_.armed()) return;
  Reactor::current().remove_timer(&timer_);
  timer_.handle.resume();
}

}  // namespace stavka::runtime
