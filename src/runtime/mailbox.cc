// Mailbox implementation; see mailbox.h.
#include "runtime/mailbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace stavka::runtime {

Mailbox::Mailbox() : event_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (event_fd_ < 0) throw std::runtime_error("eventfd failed");
}

Mailbox::~Mailbox() { close(event_fd_); }

void Mailbox::post(std::function<void()> fn) {
  bool was_empty;
  {
    std::lock_guard lock(mutex_);
    was_empty = pending_.empty();
    pending_.push_back(std::move(fn));
  }
  if (was_empty) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(event_fd_, &one, sizeof one);
  }
}

void Mailbox::run_pending() {
  {
    std::lock_guard lock(mutex_);
    running_.swap(pending_);
  }
  for (auto& fn : running_) fn();
  running_.clear();
}

}  // namespace stavka::runtime
