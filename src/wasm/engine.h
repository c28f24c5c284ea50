// Engine: the process's one Wasmtime engine, and the epoch clock that bounds every call.
//
// Created on first use (by the first module loaded) and shared by every thread: Wasmtime's
// engine, compiled modules and pre-instantiated modules are thread-safe; stores are not, and
// each belongs to one worker (instance.h). Instances come from the pooling allocator, so that
// a fresh instance per request (isolation = "request") costs a slot taken from a pool, not
// mmap and page faults.
//
// CPU limits use epoch interruption: a thread advances the engine's epoch every
// `epoch_tick`; a call into a module sets its store's deadline to the limit in ticks, and
// generated code traps when the epoch passes it. A busy loop cannot hold a worker past its
// limit by more than one tick.
#pragma once

#include <wasmtime.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace stavka::wasm {

constexpr std::chrono::milliseconds epoch_tick{1};

class Engine {
 public:
  static Engine& get();

  wasm_engine_t* raw() const { return engine_; }

  // Epoch ticks since the engine started, read for the cost of a relaxed load: a call's ticks
  // from start to end, times epoch_tick, is its length on average (a call shorter than a tick
  // spans a tick boundary with the probability of its length over the tick).
  static uint64_t ticks() { return ticks_.load(std::memory_order_relaxed); }

  // Deadline ticks for a CPU limit: at least the limit, at most one tick more.
  static uint64_t ticks_for(std::chrono::milliseconds limit) {
    return static_cast<uint64_t>(limit / epoch_tick) + 1;
  }

 private:
  Engine();
  ~Engine();
  void tick();

  wasm_engine_t* engine_ = nullptr;
  static inline std::atomic<uint64_t> ticks_{0};
  std::atomic<bool> stopping_{false};
  std::thread ticker_;
};

// The message of a Wasmtime error or trap (and deletes it).
std::string take_message(wasmtime_error_t* error);
std::string take_message(wasm_trap_t* trap);

}  // namespace stavka::wasm
