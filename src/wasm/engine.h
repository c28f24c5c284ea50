// Engine: the process's one Wasmtime engine, and the epoch clock that bounds every call.
//
// Created on first use (by the first module loaded) and shared by every thread: Wasmtime's
// engine, compiled modules and pre-instantiated modules are thread-safe; stores are not, and
// each belongs to one worker (instance.h). Instances come from the pooling allocator, so that
// a fresh instance per request (isolation = "request") costs a slot taken from a pool, not
// mmap and page faults.
//
// CPU limits use epoch interruption. The epoch counts epoch_ticks since the engine started; a
// call into a module gets the deadline epoch of its start plus its limit, and generated code
// traps once the epoch reaches it. The epoch is advanced by a ticker thread, which does not
// wake every tick: it brings the epoch up to date, then sleeps until the nearest deadline of a
// call running on some thread (published in a slot per thread), or for the shortest CPU limit
// of the modules loaded when none runs (a call starting during that sleep has a deadline past
// its end). A call on a worker starts at the worker's loop time (no clock read per call),
// which is behind by at most the batch of completions the worker is on: a busy loop is
// stopped a tick or two past its limit, and a worker is interrupted by the ticker about once
// per limit rather than once per tick.
#pragma once

#include <wasmtime.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stavka::wasm {

constexpr std::chrono::milliseconds epoch_tick{1};

class Engine {
 public:
  static Engine& get();
  Engine(const Engine&) = delete;

  wasm_engine_t* raw() const { return engine_; }

  // Deadline ticks for a CPU limit: at least the limit, at most one tick more.
  static uint64_t ticks_for(std::chrono::milliseconds limit) {
    return static_cast<uint64_t>(limit / epoch_tick) + 1;
  }
  using Clock = std::chrono::steady_clock;
  // The epoch time t falls in, and the epoch as the ticker last brought it up to date (it may
  // lag by the ticker's sleep).
  static uint64_t epoch_at(Clock::time_point t) {
    return static_cast<uint64_t>((t - start_) / epoch_tick);
  }
  static uint64_t epoch() { return epoch_.load(std::memory_order_relaxed); }

  // Where a thread says until which epoch a call into a module runs on it (0: none runs), for
  // the ticker. Each thread has its own, registered for the thread's life: look it up once
  // (this_thread_slot) and keep it for the calls made on that thread.
  struct Slot {
    std::atomic<uint64_t> deadline{0};
    void running_until(uint64_t epoch) { deadline.store(epoch, std::memory_order_relaxed); }
  };
  static Slot& this_thread_slot();
  // A module with this CPU limit is loaded: idle sleeps are no longer than the shortest such.
  void limit_in_use(std::chrono::milliseconds limit);

 private:
  struct SlotHolder;
  Engine();
  ~Engine();
  void tick();

  static inline const Clock::time_point start_ = Clock::now();
  static inline std::atomic<uint64_t> epoch_{0};
  wasm_engine_t* engine_ = nullptr;
  std::mutex mutex_;  // slots_, idle_, stopping_
  std::condition_variable wake_;
  std::vector<Slot*> slots_;
  std::chrono::milliseconds idle_{10};
  bool stopping_ = false;
  std::thread ticker_;
};

// The message of a Wasmtime error or trap (and deletes it).
std::string take_message(wasmtime_error_t* error);
std::string take_message(wasm_trap_t* trap);

}  // namespace stavka::wasm
