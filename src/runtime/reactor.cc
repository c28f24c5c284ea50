// Reactor implementation: ring set-up, the event loop, and the start-up probe.
#include "runtime/reactor.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

namespace stavka::runtime {

thread_local Reactor* Reactor::current_ = nullptr;

Reactor::Reactor(unsigned index, const ReactorOptions& options) : index_(index) {
  io_uring_params params{};
  params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                 IORING_SETUP_CQSIZE;
  params.cq_entries = options.ring_entries * 4;
  int rc = io_uring_queue_init_params(options.ring_entries, &ring_, &params);
  if (rc == -EINVAL) {
    // Older kernels lack the single-issuer flags; they only make completions cheaper.
    params = {};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = options.ring_entries * 4;
    rc = io_uring_queue_init_params(options.ring_entries, &ring_, &params);
  }
  if (rc < 0) {
    throw std::runtime_error(std::string("io_uring_queue_init failed: ") + strerror(-rc) +
                             (rc == -ENOMEM ? " (raise RLIMIT_MEMLOCK)" : "") +
                             (rc == -EPERM ? " (io_uring disabled by kernel.io_uring_disabled?)" : ""));
  }
  // The loop enters the kernel with the ring's registered index rather than its descriptor,
  // which spares each io_uring_enter a file lookup. Per thread: the reactor is built, run and
  // destroyed on its own. Optional (Linux 5.18): without it the descriptor is used.
  io_uring_register_ring_fd(&ring_);
  // A sparse table (Linux 5.19) that register_fixed() fills slot by slot; optional.
  const uint32_t slots = options.fixed_files;
  if (slots > 0 && io_uring_register_files_sparse(&ring_, slots) == 0) {
    free_slots_.reserve(slots);
    for (uint32_t i = slots; i > 0; --i) free_slots_.push_back(static_cast<int32_t>(i - 1));
  }
  buffers_ = std::make_unique<BufferPool>(&ring_, options.recv_buffers, options.recv_buffer_size);
  mailbox_completion_.on_complete = &Reactor::on_mailbox;
  now_ = Clock::now();
}

Reactor::~Reactor() {
  buffers_.reset();
  io_uring_queue_exit(&ring_);
  while (Orphan* o = orphans_.front()) {
    orphans_.erase(o);
    o->destroy(o);
  }
  if (current_ == this) current_ = nullptr;
}

io_uring_sqe* Reactor::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Reactor::adopt(Orphan* o) { orphans_.push_front(o); }

void Reactor::forget(Orphan* o) { orphans_.erase(o); }

size_t Reactor::orphans() const {
  size_t n = 0;
  orphans_.for_each([&](Orphan*) { ++n; });
  return n;
}

bool Reactor::register_fixed(int fd) {
  if (fd < 0 || free_slots_.empty() || is_fixed(fd)) return false;
  int32_t slot = free_slots_.back();
  if (io_uring_register_files_update(&ring_, static_cast<unsigned>(slot), &fd, 1) != 1) {
    return false;
  }
  free_slots_.pop_back();
  if (static_cast<size_t>(fd) >= slot_of_fd_.size()) {
    slot_of_fd_.resize(std::max<size_t>(static_cast<size_t>(fd) + 1, slot_of_fd_.size() * 2), -1);
  }
  slot_of_fd_[fd] = slot;
  return true;
}

void Reactor::unregister_fixed(int fd) {
  if (!is_fixed(fd)) return;
  int32_t slot = std::exchange(slot_of_fd_[fd], -1);
  int none = -1;
  // Operations still in flight keep their own reference to the socket; the slot lets go of it
  // here, so closing the descriptor next closes the socket.
  if (io_uring_register_files_update(&ring_, static_cast<unsigned>(slot), &none, 1) == 1) {
    free_slots_.push_back(slot);
  }
}

void Reactor::cancel(Completion* target) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel(sqe, target, 0);
  io_uring_sqe_set_data(sqe, nullptr);
}

void Reactor::arm_mailbox() {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_read(sqe, mailbox_.event_fd(), &mailbox_value_, sizeof mailbox_value_, 0);
  io_uring_sqe_set_data(sqe, &mailbox_completion_);
}

void Reactor::on_mailbox(Completion* c, int32_t res, uint32_t) {
  Reactor* self = current_;
  self->mailbox_.run_pending();
  self->arm_mailbox();
}

void Reactor::run() {
  current_ = this;
  arm_mailbox();
  io_uring_cqe* cqes[256];
  while (!stopping_) {
    now_ = Clock::now();
    timers_.fire_expired(now_);
    if (stopping_) break;

    __kernel_timespec ts{};
    __kernel_timespec* wait_ts = nullptr;
    if (Timer* next = timers_.top()) {
      auto delta = std::chrono::duration_cast<std::chrono::nanoseconds>(next->deadline - now_);
      if (delta.count() < 0) delta = std::chrono::nanoseconds(0);
      ts.tv_sec = delta.count() / 1000000000;
      ts.tv_nsec = delta.count() % 1000000000;
      wait_ts = &ts;
    }
    io_uring_cqe* first = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring_, &first, 1, wait_ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
      throw std::runtime_error(std::string("io_uring wait failed: ") + strerror(-rc));
    }
    now_ = Clock::now();
    // Reap in batches; completions may submit new work, which the next wait sends.
    for (bool first = true;; first = false) {
      unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 256);
      if (n == 0) break;
      if (!first) {
        // Under load completions keep coming: the clock and the timers must not wait for a
        // lull (now() would fall behind, and timeouts would not fire).
        now_ = Clock::now();
        if (const Timer* next = timers_.top(); next && next->deadline <= now_) break;
      }
      struct Done {
        Completion* c;
        int32_t res;
        uint32_t flags;
      };
      Done done[256];
      for (unsigned i = 0; i < n; ++i) {
        done[i] = {static_cast<Completion*>(io_uring_cqe_get_data(cqes[i])), cqes[i]->res,
                   cqes[i]->flags};
      }
      io_uring_cq_advance(&ring_, n);
      for (unsigned i = 0; i < n; ++i) {
        if (done[i].c) done[i].c->on_complete(done[i].c, done[i].res, done[i].flags);
      }
    }
  }
  io_uring_submit(&ring_);
}

std::string probe_io_uring() {
  io_uring ring{};
  int rc = io_uring_queue_init(8, &ring, 0);
  if (rc < 0) {
    return std::string("io_uring is not available: ") + strerror(-rc) +
           " (Stavka needs Linux 6.1 or later with io_uring enabled)";
  }
  std::string missing;
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (!probe) {
    io_uring_queue_exit(&ring);
    return "this kernel cannot report its io_uring operations (Stavka needs Linux 6.1 or later)";
  }
  struct Needed {
    int op;
    const char* name;
  };
  const Needed needed[] = {
      {IORING_OP_ACCEPT, "ACCEPT"},       {IORING_OP_RECV, "RECV"},
      {IORING_OP_SEND, "SEND"},           {IORING_OP_SENDMSG, "SENDMSG"},
      {IORING_OP_CONNECT, "CONNECT"},     {IORING_OP_READ, "READ"},
      {IORING_OP_WRITE, "WRITE"},         {IORING_OP_OPENAT, "OPENAT"},
      {IORING_OP_CLOSE, "CLOSE"},         {IORING_OP_POLL_ADD, "POLL_ADD"},
      {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"}, {IORING_OP_PROVIDE_BUFFERS, "PROVIDE_BUFFERS"},
  };
  for (const auto& n : needed) {
    if (!io_uring_opcode_supported(probe, n.op)) {
      if (!missing.empty()) missing += ", ";
      missing += n.name;
    }
  }
  io_uring_free_probe(probe);
  unsigned features = ring.features;
  io_uring_queue_exit(&ring);
  if (!missing.empty()) {
    return "this kernel's io_uring lacks operations Stavka needs: " + missing +
           " (Stavka needs Linux 6.1 or later)";
  }
  if (!(features & IORING_FEAT_EXT_ARG)) {
    return "this kernel's io_uring lacks IORING_FEAT_EXT_ARG (Stavka needs Linux 6.1 or later)";
  }
  return {};
}

}  // namespace stavka::runtime
