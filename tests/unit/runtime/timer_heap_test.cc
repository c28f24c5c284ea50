#include "runtime/timer_heap.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace stavka::runtime {
namespace {

struct Recorded : Timer {
  int id;
  std::vector<int>* fired;
};

void record(Timer* t) {
  auto* r = static_cast<Recorded*>(t);
  r->fired->push_back(r->id);
}

TEST(TimerHeap, FiresInDeadlineOrderAndOnlyExpired) {
  TimerHeap heap;
  std::vector<int> fired;
  Clock::time_point base{};
  std::vector<Recorded> timers(6);
  int order[] = {5, 1, 4, 2, 6, 3};
  for (int i = 0; i < 6; ++i) {
    timers[i].id = order[i];
    timers[i].fired = &fired;
    timers[i].fire = &record;
    timers[i].deadline = base + std::chrono::milliseconds(order[i] * 10);
    heap.add(&timers[i]);
  }
  heap.fire_expired(base + std::chrono::milliseconds(35));
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(heap.size(), 3u);
  heap.fire_expired(base + std::chrono::milliseconds(100));
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3, 4, 5, 6}));
  for (auto& t : timers) EXPECT_FALSE(t.armed());
}

TEST(TimerHeap, RemoveFromMiddleKeepsOrder) {
  TimerHeap heap;
  std::vector<int> fired;
  std::vector<Recorded> timers(50);
  for (int i = 0; i < 50; ++i) {
    timers[i].id = i;
    timers[i].fired = &fired;
    timers[i].fire = &record;
    timers[i].deadline = Clock::time_point{} + std::chrono::milliseconds((i * 37) % 50);
    heap.add(&timers[i]);
  }
  for (int i = 0; i < 50; i += 3) heap.remove(&timers[i]);
  heap.remove(&timers[0]);  // removing twice is harmless
  heap.fire_expired(Clock::time_point{} + std::chrono::hours(1));
  ASSERT_EQ(fired.size(), 50u - 17u);
  for (size_t k = 1; k < fired.size(); ++k) {
    EXPECT_LE(timers[fired[k - 1]].deadline, timers[fired[k]].deadline);
  }
  for (int id : fired) EXPECT_NE(id % 3, 0);
}

TEST(TimerHeap, ReAddingMovesTheDeadline) {
  TimerHeap heap;
  std::vector<int> fired;
  Recorded a, b;
  a.id = 1, b.id = 2;
  a.fired = b.fired = &fired;
  a.fire = b.fire = &record;
  a.deadline = Clock::time_point{} + std::chrono::milliseconds(10);
  b.deadline = Clock::time_point{} + std::chrono::milliseconds(20);
  heap.add(&a);
  heap.add(&b);
  a.deadline = Clock::time_point{} + std::chrono::milliseconds(30);
  heap.add(&a);
  EXPECT_EQ(heap.size(), 2u);
  EXPECT_EQ(heap.top(), &b);
}

}  // namespace
}  // namespace stavka::runtime

#include "runtime/frame_pool.h"

namespace stavka::runtime {
namespace {

TEST(FramePool, ReusesFramesOfTheSameSizeClass) {
  void* a = allocate_frame(100);
  free_frame(a, 100);
  void* b = allocate_frame(120);  // same 64-byte class (65..128)
  EXPECT_EQ(a, b);
  void* c = allocate_frame(300);  // another class
  EXPECT_NE(c, b);
  free_frame(b, 120);
  free_frame(c, 300);
  void* big = allocate_frame(1 << 20);  // beyond the pooled sizes: plain malloc
  free_frame(big, 1 << 20);
}

TEST(FramePool, KeepsARequestSizedFrame) {
  // A request's outermost frame holds its Exchange and is a few KiB: pooled too. Had the pool
  // given it back, malloc would hand the same block to the next malloc of its size.
  void* a = allocate_frame(3000);
  free_frame(a, 3000);
  void* other = std::malloc(3008);
  void* b = allocate_frame(3000);
  EXPECT_EQ(a, b);
  EXPECT_NE(other, a);
  std::free(other);
  free_frame(b, 3000);
}

}  // namespace
}  // namespace stavka::runtime
