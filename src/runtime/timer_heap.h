// TimerHeap: the deadlines of one reactor, in a binary min-heap with O(log n) insert and removal.
//
// Owned by one reactor thread; never touched from another. A Timer is an intrusive node that
// lives in the object that armed it (usually an awaitable in a coroutine frame); it must be
// removed before that object dies. Timeouts on I/O live here rather than as linked io_uring
// timeout requests, so the common case (the operation finishes in time) costs no extra SQE.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace stavka::runtime {

using Clock = std::chrono::steady_clock;

struct Timer {
  static constexpr size_t not_armed = static_cast<size_t>(-1);
  Clock::time_point deadline{};
  void (*fire)(Timer*) = nullptr;
  size_t heap_index = not_armed;
  bool armed() const { return heap_index != not_armed; }
};

class TimerHeap {
 public:
  void add(Timer* t);
  void remove(Timer* t);  // no-op when not armed
  Timer* top() const { return heap_.empty() ? nullptr : heap_.front(); }
  // Removes and fires every timer whose deadline is <= now, earliest first.
  void fire_expired(Clock::time_point now);
  size_t size() const { return heap_.size(); }

 private:
  void sift_up(size_t i);
  void sift_down(size_t i);
  void place(size_t i, Timer* t) {
    heap_[i] = t;
    t->heap_index = i;
  }
  std::vector<Timer*> heap_;
};

}  // namespace stavka::runtime
