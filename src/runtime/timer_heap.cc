// TimerHeap implementation; see timer_heap.h.
#include "runtime/timer_heap.h"

namespace stavka::runtime {

void TimerHeap::add(Timer* t) {
  if (t->armed()) remove(t);
  heap_.push_back(t);
  t->heap_index = heap_.size() - 1;
  sift_up(t->heap_index);
}

void TimerHeap::remove(Timer* t) {
  if (!t->armed()) return;
  size_t i = t->heap_index;
  t->heap_index = Timer::not_armed;
  Timer* last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  place(i, last);
  sift_up(i);
  sift_down(last->heap_index);
}

void TimerHeap::fire_expired(Clock::time_point now) {
  while (!heap_.empty() && heap_.front()->deadline <= now) {
    Timer* t = heap_.front();
    remove(t);
    t->fire(t);
  }
}

void TimerHeap::sift_up(size_t i) {
  Timer* t = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap_[parent]->deadline <= t->deadline) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, t);
}

void TimerHeap::sift_down(size_t i) {
  Timer* t = heap_[i];
  size_t n = heap_.size();
  while (true) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->deadline < heap_[child]->deadline) ++child;
    if (t->deadline <= heap_[child]->deadline) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, t);
}

}  // namespace stavka::runtime
