#include "wasm/shared_state.h"

#include <algorithm>
#include <bit>
#include <cstdarg>
#include <cstdio>
#include <map>

namespace stavka::wasm {

SharedData& SharedData::get() {
  static SharedData data;
  return data;
}

Status SharedData::read(std::string_view key, std::string* value, uint32_t* cas) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return Status::not_found;
  *value = it->second.value;
  *cas = it->second.cas;
  return Status::ok;
}

Status SharedData::write(std::string_view key, std::string_view value, uint32_t cas) {
  std::lock_guard lock(mutex_);
  auto [it, added] = entries_.try_emplace(std::string(key));
  if (cas != 0 && !added && it->second.cas != cas) return Status::cas_mismatch;
  if (cas != 0 && added) {
    entries_.erase(it);
    return Status::cas_mismatch;  // CAS of a value that does not exist
  }
  it->second.value.assign(value);
  if (++next_cas_ == 0) next_cas_ = 1;  // 0 means "no CAS"
  it->second.cas = next_cas_;
  return Status::ok;
}

SharedQueues& SharedQueues::get() {
  static SharedQueues queues;
  return queues;
}

namespace {
std::string queue_key(std::string_view vm_id, std::string_view name) {
  std::string key(vm_id);
  key.push_back('\0');
  key.append(name);
  return key;
}
}  // namespace

uint32_t SharedQueues::subscribe(std::string_view vm_id, std::string_view name,
                                 const void* subscriber, std::function<void(uint32_t)> notify) {
  std::lock_guard lock(mutex_);
  std::string key = queue_key(vm_id, name);
  auto [it, added] = ids_.try_emplace(key, 0);
  if (added) {
    queues_.push_back(std::make_unique<Queue>());
    queues_.back()->key = key;
    it->second = static_cast<uint32_t>(queues_.size());
  }
  if (notify) {
    auto& subscribers = queues_[it->second - 1]->subscribers;
    auto same = std::find_if(subscribers.begin(), subscribers.end(),
                             [&](const auto& s) { return s.first == subscriber; });
    if (same != subscribers.end()) same->second = std::move(notify);
    else subscribers.emplace_back(subscriber, std::move(notify));
  }
  return it->second;
}

std::optional<uint32_t> SharedQueues::resolve(std::string_view vm_id, std::string_view name) {
  std::lock_guard lock(mutex_);
  auto it = ids_.find(queue_key(vm_id, name));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

Status SharedQueues::enqueue(uint32_t id, std::string_view value) {
  std::vector<std::function<void(uint32_t)>> notify;
  {
    std::lock_guard lock(mutex_);
    if (id == 0 || id > queues_.size()) return Status::not_found;
    Queue& q = *queues_[id - 1];
    q.items.emplace_back(value);
    for (const auto& [subscriber, fn] : q.subscribers) notify.push_back(fn);
  }
  for (auto& fn : notify) fn(id);
  return Status::ok;
}

Status SharedQueues::dequeue(uint32_t id, std::string* out) {
  std::lock_guard lock(mutex_);
  if (id == 0 || id > queues_.size()) return Status::not_found;
  Queue& q = *queues_[id - 1];
  if (q.items.empty()) return Status::empty;
  *out = std::move(q.items.front());
  q.items.pop_front();
  return Status::ok;
}

namespace {

std::mutex& stats_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, std::unique_ptr<ModuleStats>>& all_stats() {
  static std::map<std::string, std::unique_ptr<ModuleStats>> m;
  return m;
}

// A metric name a module chose, made safe for Prometheus: [a-zA-Z0-9_], not starting with a digit.
std::string metric_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(0, "_");
  return out;
}

void append_line(std::string& out, const char* format, ...) __attribute__((format(printf, 2, 3)));
void append_line(std::string& out, const char* format, ...) {
  char line[512];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (n > 0) out.append(line, std::min<size_t>(static_cast<size_t>(n), sizeof line - 1));
}

}  // namespace

ModuleStats& ModuleStats::for_module(const std::string& name) {
  std::lock_guard lock(stats_mutex());
  auto& slot = all_stats()[name];
  if (!slot) slot.reset(new ModuleStats(name));
  return *slot;
}

bool ModuleStats::log_fault(int64_t now_ms, uint64_t* unlogged) {
  int64_t start = fault_log_window_ms_.load(std::memory_order_relaxed);
  if (now_ms - start >= 1000 &&
      fault_log_window_ms_.compare_exchange_strong(start, now_ms, std::memory_order_relaxed)) {
    fault_log_lines_.store(0, std::memory_order_relaxed);
  }
  if (fault_log_lines_.fetch_add(1, std::memory_order_relaxed) < fault_log_burst) {
    *unlogged = fault_log_skipped_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  fault_log_skipped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

std::optional<uint32_t> ModuleStats::define(MetricType type, std::string_view name) {
  std::lock_guard lock(define_mutex_);
  uint32_t n = count_.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < n; ++i) {
    if (metrics_[i].name == name) return i + 1;
  }
  if (n == max_metrics) return std::nullopt;
  metrics_[n].type = type;
  metrics_[n].name.assign(name);
  count_.store(n + 1, std::memory_order_release);
  return n + 1;
}

ModuleStats::Metric* ModuleStats::metric(uint32_t id) {
  if (id == 0 || id > count_.load(std::memory_order_acquire)) return nullptr;
  return &metrics_[id - 1];
}

Status ModuleStats::increment(uint32_t id, int64_t delta) {
  Metric* m = metric(id);
  if (!m) return Status::not_found;
  if (m->type == MetricType::histogram) return Status::bad_argument;
  if (m->type == MetricType::counter && delta < 0) return Status::bad_argument;
  m->value.fetch_add(delta, std::memory_order_relaxed);
  return Status::ok;
}

Status ModuleStats::record(uint32_t id, uint64_t value) {
  Metric* m = metric(id);
  if (!m) return Status::not_found;
  if (m->type == MetricType::histogram) {
    m->value.fetch_add(1, std::memory_order_relaxed);
    m->sum.fetch_add(value, std::memory_order_relaxed);
    int bucket = value == 0 ? 0 : std::min<int>(histogram_buckets - 1, static_cast<int>(std::bit_width(value)));
    m->buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  } else {
    m->value.store(static_cast<int64_t>(value), std::memory_order_relaxed);
  }
  return Status::ok;
}

Status ModuleStats::read(uint32_t id, uint64_t* value) {
  Metric* m = metric(id);
  if (!m) return Status::not_found;
  *value = static_cast<uint64_t>(m->value.load(std::memory_order_relaxed));
  return Status::ok;
}

void ModuleStats::write(std::string& out) const {
  const char* n = name_.c_str();
  auto counter = [&](const char* metric, uint64_t v) {
    append_line(out, "stavka_module_%s{module=\"%s\"} %llu\n", metric, n,
                static_cast<unsigned long long>(v));
  };
  counter("loads_total", loads);
  counter("load_failures_total", load_failures);
  counter("calls_total", calls);
  counter("cpu_overruns_total", cpu_overruns);
  counter("traps_total", traps);
  counter("failed_open_total", failed_open);
  counter("failed_closed_total", failed_closed);
  counter("held_back_total", held_back);
  counter("local_responses_total", local_responses);
  counter("http_calls_total", http_calls);
  counter("disabled", static_cast<uint64_t>(disabled.load()));
  counter("generation", generation);
  counter("versions_live", static_cast<uint64_t>(versions_live.load()));
  uint32_t count = count_.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < count; ++i) {
    const Metric& m = metrics_[i];
    std::string metric = "stavka_module_metric_" + metric_name(m.name);
    if (m.type == MetricType::histogram) {
      uint64_t cumulative = 0;
      for (int b = 0; b < histogram_buckets; ++b) {
        cumulative += m.buckets[b].load(std::memory_order_relaxed);
        append_line(out, "%s_bucket{module=\"%s\",le=\"%llu\"} %llu\n", metric.c_str(), n,
                    b == 0 ? 0ULL : (1ULL << b) - 1, static_cast<unsigned long long>(cumulative));
      }
      append_line(out, "%s_bucket{module=\"%s\",le=\"+Inf\"} %lld\n", metric.c_str(), n,
                  static_cast<long long>(m.value.load()));
      append_line(out, "%s_sum{module=\"%s\"} %llu\n", metric.c_str(), n,
                  static_cast<unsigned long long>(m.sum.load()));
      append_line(out, "%s_count{module=\"%s\"} %lld\n", metric.c_str(), n,
                  static_cast<long long>(m.value.load()));
    } else {
      append_line(out, "%s{module=\"%s\"} %lld\n", metric.c_str(), n,
                  static_cast<long long>(m.value.load(std::memory_order_relaxed)));
    }
  }
}

void ModuleStats::write_prometheus(std::string& out) {
  std::lock_guard lock(stats_mutex());
  for (const auto& [name, stats] : all_stats()) stats->write(out);
}

}  // namespace stavka::wasm
