// Test helpers that drive coroutines to completion on a real runtime::Reactor (a real io_uring),
// the way workers do, so tests exercise Tasks as production awaits them.
//
// Threads: each call creates, runs and destroys its own Reactor on the calling thread, which
// becomes that thread's current reactor for the duration; several threads may call at once,
// each with its own. A Reactor runs only once, so every call pays for a fresh (small) ring.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>

#include "runtime/reactor.h"
#include "runtime/task.h"

namespace stavka::test {

// Rings and receive buffers far smaller than a worker's: tests create many reactors, several
// at a time, and must not run into RLIMIT_MEMLOCK.
inline runtime::ReactorOptions small_reactor_options() {
  runtime::ReactorOptions options;
  options.ring_entries = 64;
  options.recv_buffers = 8;
  options.recv_buffer_size = 4096;
  return options;
}

// Runs body() (a callable returning runtime::Task<void>) on a fresh reactor until it finishes.
// Use EXPECT_* inside the coroutine: ASSERT_* returns, which a coroutine cannot.
template <typename Body>
void run_on_reactor(Body body, runtime::ReactorOptions options = small_reactor_options()) {
  runtime::Reactor reactor(0, options);
  reactor.make_current();
  bool finished = false;
  auto wrapper = [&]() -> runtime::Task<void> {
    co_await body();
    finished = true;
    reactor.stop();
  };
  runtime::spawn(wrapper());
  // A body that never suspends has finished (and stopped the reactor) before run() is needed.
  if (!finished) reactor.run();
  ASSERT_TRUE(finished);
}

// Awaits one task on a fresh reactor and returns its value, for tests written as plain
// functions (where ASSERT_* works).
template <typename T>
T run_task(runtime::Task<T> task, runtime::ReactorOptions options = small_reactor_options()) {
  if constexpr (std::is_void_v<T>) {
    run_on_reactor([&]() -> runtime::Task<void> { co_await std::move(task); }, options);
  } else {
    std::optional<T> result;
    run_on_reactor(
        [&]() -> runtime::Task<void> { result.emplace(co_await std::move(task)); }, options);
    if (!result) {
      ADD_FAILURE() << "task did not finish";
      std::abort();  // no value to return; the failure above names the cause
    }
    return std::move(*result);
  }
}

}  // namespace stavka::test
