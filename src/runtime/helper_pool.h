// HelperPool: a few threads for blocking work (file system metadata, DNS, SQLite, compiling
// modules) so that no reactor ever blocks.
//
// run_blocking(pool, fn) suspends the calling coroutine, runs fn on a helper thread, then posts
// the resumption back to the calling reactor's mailbox: the coroutine always continues on the
// reactor it started on. fn is moved to the helper thread and destroyed there right after it
// runs; its result is moved into the awaitable (in the caller's frame) before the post, so fn
// must not capture references to the caller's stack that it uses after returning.
#pragma once

#include <condition_variable>
#include <coroutine>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "runtime/reactor.h"

namespace stavka::runtime {

class HelperPool {
 public:
  explicit HelperPool(unsigned threads);
  ~HelperPool();  // finishes queued jobs, then joins
  HelperPool(const HelperPool&) = delete;

  void submit(std::function<void()> job);  // any thread

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

template <typename Fn>
class BlockingCall {
 public:
  using Result = std::invoke_result_t<Fn>;
  BlockingCall(HelperPool& pool, Fn fn) : pool_(pool), fn_(std::move(fn)) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    Reactor* home = &Reactor::current();
    pool_.submit([this, h, home, fn = std::move(fn_)]() mutable {
      if constexpr (std::is_void_v<Result>) {
        fn();
      } else {
        result_.emplace(fn());
      }
      home->post([h] { h.resume(); });
    });
  }
  Result await_resume() {
    if constexpr (!std::is_void_v<Result>) return std::move(*result_);
  }

 private:
  struct Empty {};
  HelperPool& pool_;
  Fn fn_;
  std::conditional_t<std::is_void_v<Result>, Empty, std::optional<Result>> result_;
};

template <typename Fn>
BlockingCall<Fn> run_blocking(HelperPool& pool, Fn fn) {
  return BlockingCall<Fn>(pool, std::move(fn));
}

}  // namespace stavka::runtime
