// What modules share across workers and instances: shared data (key → bytes with a CAS
// number), shared queues, and each module's statistics and self-defined metrics.
//
// All process-wide and thread-safe. Critical sections are short copies under a mutex; nothing
// here calls into a module while holding a lock (queue notifications are posted to the
// registering worker's reactor and run there).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "wasm/abi.h"

namespace stavka::wasm {

class SharedData {
 public:
  static SharedData& get();
  // Status::ok with the value and its CAS, or Status::not_found.
  Status read(std::string_view key, std::string* value, uint32_t* cas);
  // cas 0 writes unconditionally; otherwise it must match the stored CAS (else cas_mismatch).
  Status write(std::string_view key, std::string_view value, uint32_t cas);

 private:
  struct Entry {
    std::string value;
    uint32_t cas = 0;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  uint32_t next_cas_ = 1;
};

class SharedQueues {
 public:
  static SharedQueues& get();
  // Registers (or finds) queue `name` of `vm_id`; `notify` is called, from any thread, when an
  // item is enqueued (it should post to the subscriber's reactor). One notification per
  // `subscriber` (a worker): registering again replaces its `notify` instead of adding a second
  // wake-up per item. Returns the queue id.
  uint32_t subscribe(std::string_view vm_id, std::string_view name, const void* subscriber,
                     std::function<void(uint32_t)> notify);
  std::optional<uint32_t> resolve(std::string_view vm_id, std::string_view name);
  Status enqueue(uint32_t id, std::string_view value);
  // ok with *out, empty, or not_found.
  Status dequeue(uint32_t id, std::string* out);

 private:
  struct Queue {
    std::string key;
    std::deque<std::string> items;
    std::vector<std::pair<const void*, std::function<void(uint32_t)>>> subscribers;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::unique_ptr<Queue>> queues_;  // id - 1
};

// One module's counters (by name, so they span generations), exported on /metrics.
class ModuleStats {
 public:
  static ModuleStats& for_module(const std::string& name);
  // Appends every module's statistics and metrics in the Prometheus text format.
  static void write_prometheus(std::string& out);

  std::atomic<uint64_t> loads{0};            // versions loaded (start, reload, push)
  std::atomic<uint64_t> load_failures{0};
  std::atomic<uint64_t> calls{0};            // calls into the module
  std::atomic<uint64_t> cpu_overruns{0};     // calls stopped at the CPU limit
  std::atomic<uint64_t> traps{0};            // calls that trapped (including memory exhausted)
  std::atomic<uint64_t> failed_open{0};      // requests that went on without the module
  std::atomic<uint64_t> failed_closed{0};    // requests ended because of a module fault
  std::atomic<uint64_t> held_back{0};        // requests that got on_error as the module was held back
  std::atomic<uint64_t> local_responses{0};  // proxy_send_local_response
  std::atomic<uint64_t> http_calls{0};
  std::atomic<int64_t> disabled{0};
  std::atomic<uint64_t> generation{0};
  std::atomic<int64_t> versions_live{0};     // versions in memory: in force, or held by requests

  // Fault log lines: at most fault_log_burst per second per module (a module faulting on every
  // request must not flood the log). True when this fault is logged; *unlogged then gets how
  // many were not since the last one that was. Any thread.
  static constexpr uint32_t fault_log_burst = 10;
  bool log_fault(int64_t now_ms, uint64_t* unlogged);

  // Module-defined metrics (proxy_define_metric): ids from 1; the same name gives the same id.
  std::optional<uint32_t> define(MetricType type, std::string_view name);
  // bad_argument for a delta the metric cannot take: any on a histogram, a negative one on a
  // counter (counters only go up).
  Status increment(uint32_t id, int64_t delta);
  Status record(uint32_t id, uint64_t value);
  Status read(uint32_t id, uint64_t* value);

 private:
  static constexpr uint32_t max_metrics = 256;
  static constexpr int histogram_buckets = 40;  // powers of two
  struct Metric {
    MetricType type = MetricType::counter;
    std::string name;
    std::atomic<int64_t> value{0};  // counter, gauge; histogram: count
    std::atomic<uint64_t> sum{0};
    std::atomic<uint64_t> buckets[histogram_buckets] = {};
  };
  explicit ModuleStats(std::string name) : name_(std::move(name)) {}
  std::atomic<int64_t> fault_log_window_ms_{INT64_MIN / 2};
  std::atomic<uint32_t> fault_log_lines_{0};
  std::atomic<uint64_t> fault_log_skipped_{0};
  Metric* metric(uint32_t id);
  void write(std::string& out) const;

  std::string name_;
  std::mutex define_mutex_;
  std::unique_ptr<Metric[]> metrics_ = std::make_unique<Metric[]>(max_metrics);
  std::atomic<uint32_t> count_{0};
};

}  // namespace stavka::wasm
