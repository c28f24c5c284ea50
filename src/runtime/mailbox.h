// Mailbox: how work crosses from one thread to a reactor.
//
// Lifetime rules: post(fn) moves fn into the mailbox under a short lock on the posting thread;
// the owning reactor later moves the whole batch out, runs each function on its own thread and
// destroys it there. So whatever fn captures is destroyed on the target reactor: capture only
// values, shared_ptrs or pointers whose owner outlives the call; never a reference into the
// poster's stack. There is no reply channel: a reply is another post() back to the sender.
// Wake-up: an eventfd, read by an io_uring read the reactor keeps armed.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

namespace stavka::runtime {

class Mailbox {
 public:
  Mailbox();
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;

  void post(std::function<void()> fn);  // any thread
  void run_pending();                   // owner thread
  int event_fd() const { return event_fd_; }

 private:
  std::mutex mutex_;
  std::vector<std::function<void()>> pending_;
  std::vector<std::function<void()>> running_;
  int event_fd_;
};

}  // namespace stavka::runtime
