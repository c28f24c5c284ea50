#include "wasm/engine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace stavka::wasm {

namespace {

// Pool sizes. Slots are virtual address space until used: a memory slot reserves its largest
// size plus guard pages, and memory.grow past a module's memory_limit is refused by the store's
// limiter (instance.cc), not by the pool.
constexpr uint32_t pool_instances = 1000;

}  // namespace

Engine& Engine::get() {
  static Engine engine;
  return engine;
}

Engine::Engine() {
  wasm_config_t* config = wasm_config_new();
  wasmtime_config_strategy_set(config, WASMTIME_STRATEGY_CRANELIFT);
  wasmtime_config_cranelift_opt_level_set(config, WASMTIME_OPT_LEVEL_SPEED);
  wasmtime_config_epoch_interruption_set(config, true);
  // STAVKA_WASM_PROFILER=perfmap (or jitdump): modules' compiled code gets names `perf` can
  // show (/tmp/perf-PID.map; jitdump files for `perf inject --jit`).
  if (const char* p = std::getenv("STAVKA_WASM_PROFILER")) {
    if (std::strcmp(p, "perfmap") == 0) {
      wasmtime_config_profiler_set(config, WASMTIME_PROFILING_STRATEGY_PERFMAP);
    } else if (std::strcmp(p, "jitdump") == 0) {
      wasmtime_config_profiler_set(config, WASMTIME_PROFILING_STRATEGY_JITDUMP);
    }
  }
  wasmtime_pooling_allocation_config_t* pool = wasmtime_pooling_allocation_config_new();
  wasmtime_pooling_allocation_config_total_core_instances_set(pool, pool_instances);
  wasmtime_pooling_allocation_config_total_memories_set(pool, pool_instances);
  wasmtime_pooling_allocation_config_total_tables_set(pool, pool_instances);
  // A freed memory slot is reset by madvise to its copy-on-write image, not by memset: a
  // request-isolated instance dirties a few pages of a heap of a megabyte or more (a Rust
  // module's stack alone is 1 MiB), and zeroing it all took 40% of such a request's CPU.
  wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, 0);
  wasmtime_pooling_allocation_config_table_keep_resident_set(pool, 64 << 10);
  wasmtime_pooling_allocation_strategy_set(config, pool);
  wasmtime_pooling_allocation_config_delete(pool);
  engine_ = wasm_engine_new_with_config(config);  // takes the config
  ticker_ = std::thread([this] { tick(); });
}

Engine::~Engine() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  wasm_engine_delete(engine_);
}

void Engine::limit_in_use(std::chrono::milliseconds limit) {
  {
    std::lock_guard lock(mutex_);
    if (limit >= idle_) return;
    idle_ = std::max(limit, std::chrono::milliseconds(epoch_tick));
  }
  wake_.notify_all();
}

// Registers the thread's slot with the ticker for the thread's life.
struct Engine::SlotHolder {
  Slot slot;
  SlotHolder() {
    Engine& e = get();
    std::lock_guard lock(e.mutex_);
    e.slots_.push_back(&slot);
  }
  ~SlotHolder() {
    Engine& e = get();
    std::lock_guard lock(e.mutex_);
    std::erase(e.slots_, &slot);
  }
};

Engine::Slot& Engine::this_thread_slot() {
  thread_local SlotHolder holder;
  return holder.slot;
}

void Engine::tick() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const uint64_t now = epoch_at(Clock::now());
    for (uint64_t e = epoch_.load(std::memory_order_relaxed); e < now;) {
      wasmtime_engine_increment_epoch(engine_);
      epoch_.store(++e, std::memory_order_relaxed);
    }
    uint64_t next = now + static_cast<uint64_t>(idle_ / epoch_tick);
    for (const Slot* slot : slots_) {
      const uint64_t deadline = slot->deadline.load(std::memory_order_relaxed);
      if (deadline != 0 && deadline < next) next = std::max(deadline, now + 1);
    }
    wake_.wait_until(lock, start_ + next * epoch_tick);
  }
}

std::string take_message(wasmtime_error_t* error) {
  wasm_name_t message;
  wasmtime_error_message(error, &message);
  std::string out(message.data, message.size);
  wasm_byte_vec_delete(&message);
  wasmtime_error_delete(error);
  return out;
}

// One line, for the log: Wasmtime's text spans several ("error while executing at wasm
// backtrace:", the frames, "Caused by:", the cause, and with RUST_BACKTRACE set a Rust stack
// trace); the cause ("wasm trap: interrupt") is what a fault's log line needs.
std::string take_message(wasm_trap_t* trap) {
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  std::string out(message.data, message.size);
  wasm_byte_vec_delete(&message);
  wasm_trap_delete(trap);
  std::string_view text(out);
  if (size_t caused = text.find("Caused by:"); caused != std::string_view::npos) {
    text.remove_prefix(caused + std::strlen("Caused by:"));
  }
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  text = text.substr(0, text.find('\n'));
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return std::string(text);
}

}  // namespace stavka::wasm
