// The proxy's counters, declared once as data: name, type and a one-line description each.
//
// Each worker owns one Counters block and is its only writer (relaxed atomics, no contention);
// readers (the admin listener, shutdown summary) sum the blocks of all workers at any time.
#pragma once

#include <atomic>
#include <cstdint>
#include <iterator>

namespace stavka::proxy {

#define STAVKA_PROXY_METRICS(X)                                                              \
  X(client_connections_total, counter, "Client connections accepted")                        \
  X(client_connections_open, gauge, "Client connections open now")                           \
  X(client_connections_refused_total, counter, "Connections closed at once: over max_connections") \
  X(requests_total, counter, "Requests received from clients")                                \
  X(responses_1xx_total, counter, "Final responses with a 1xx status sent to clients")       \
  X(responses_2xx_total, counter, "Responses with a 2xx status sent to clients")              \
  X(responses_3xx_total, counter, "Responses with a 3xx status sent to clients")              \
  X(responses_4xx_total, counter, "Responses with a 4xx status sent to clients")              \
  X(responses_5xx_total, counter, "Responses with a 5xx status sent to clients")              \
  X(malformed_requests_total, counter, "Requests rejected as malformed (400, 431, 505)")     \
  X(misdirected_requests_total, counter, "Requests for a host no site claims (421)")          \
  X(client_timeouts_total, counter, "Client connections closed by a header or body timeout")  \
  X(client_aborts_total, counter, "Requests abandoned because the client went away")          \
  X(origin_requests_total, counter, "Requests sent to origins")                               \
  X(origin_connections_total, counter, "Connections opened to origins")                       \
  X(origin_connections_reused_total, counter, "Requests sent on a pooled origin connection")  \
  X(origin_connect_failures_total, counter, "Origin connections refused or failed")            \
  X(origin_timeouts_total, counter, "Origin connect, first-byte or read timeouts")            \
  X(origin_retries_total, counter, "Requests retried on another origin connection")           \
  X(origin_bad_responses_total, counter, "Malformed or truncated origin responses")            \
  X(client_bytes_sent_total, counter, "Bytes sent to clients, heads included")                \
  X(client_bytes_spliced_total, counter,                                                       \
    "Bytes of those sent by splice from the block arena (heads included), not copied")         \
  X(origin_bytes_received_total, counter, "Bytes received from origins, heads included")       \
  X(cache_hits_total, counter, "Requests answered from a stored object (fresh, or stale allowed)") \
  X(cache_misses_total, counter, "Cacheable requests with nothing usable stored (fill started or joined)") \
  X(cache_stale_total, counter, "Requests whose stored object was stale and was fetched again") \
  X(cache_stale_served_total, counter, "Stale objects served (stale-while-revalidate, max-stale, stale-if-error)") \
  X(cache_revalidations_total, counter, "Conditional requests sent to origins for stale objects") \
  X(cache_revalidated_total, counter, "Stale objects the origin confirmed with a 304 (served and kept)") \
  X(cache_bypass_total, counter, "Requests the cache did not handle (method, body, site, uncacheable key)") \
  X(cache_not_modified_total, counter, "Client conditionals answered 304 from the cache")    \
  X(cache_fills_total, counter, "Fills started (one origin request each)")                   \
  X(cache_fills_in_progress, gauge, "Fills running now")                                      \
  X(cache_collapsed_total, counter, "Requests that joined a fill already in progress")       \
  X(cache_stored_total, counter, "Objects published to storage")                            \
  X(cache_uncacheable_total, counter, "Fill responses found uncacheable (followers sent to the origin)") \
  X(cache_range_fills_total, counter, "Fills that asked an origin for a block-aligned range (part of cache_fills_total)") \
  X(cache_range_fill_bytes_total, counter, "Body bytes origins sent to range fills (stored as blocks)") \
  X(cache_readahead_bytes_total, counter, "Bytes range fills fetched past the end of what their clients asked for") \
  X(cache_partial_hits_total, counter, "Requests answered partly from stored blocks and partly from the origin") \
  X(cache_fills_failed_total, counter, "Fills ended by an origin failure (readers saw an error or a truncated body)")

// Where a response came from, the label of the time-to-first-byte histogram.
enum class ResponseSource : uint8_t {
  cache,   // a stored object (fresh, stale allowed, or revalidated)
  fill,    // a fill in progress, started by this request or joined
  origin,  // relayed from the origin without the cache (bypass, uncacheable, Vary mismatch)
  count_
};
inline constexpr const char* response_source_name[] = {"cache", "fill", "origin"};

// Time to first byte: from the request head's arrival to the first response byte handed to
// the kernel. Bucket upper bounds in microseconds (exposed as seconds, Prometheus `le`).
inline constexpr uint32_t ttfb_bounds_us[] = {100,    250,    500,     1000,    2500,   5000,
                                              10000,  25000,  50000,   100000,  250000, 500000,
                                              1000000, 2500000, 5000000, 10000000};
inline constexpr size_t ttfb_bucket_count = std::size(ttfb_bounds_us) + 1;  // + the +Inf bucket
inline constexpr const char* ttfb_metric = "stavka_time_to_first_byte_seconds";
inline constexpr const char* ttfb_help =
    "Time from a request's head to the first byte of its response, by where the response came "
    "from";

// One worker's histogram for one label: a non-cumulative count per bucket, and the sum.
class LatencyHistogram {
 public:
  void observe(uint64_t us) {
    size_t i = 0;
    while (i < std::size(ttfb_bounds_us) && us > ttfb_bounds_us[i]) ++i;
    bump(buckets_[i], 1);
    bump(sum_us_, us);
  }
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t sum_us() const { return sum_us_.load(std::memory_order_relaxed); }

 private:
  // Single writer (the owning worker): a relaxed load and store, no locked instruction.
  static void bump(std::atomic<uint64_t>& a, uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::atomic<uint64_t> buckets_[ttfb_bucket_count] = {};
  std::atomic<uint64_t> sum_us_{0};
};

struct MetricInfo {
  const char* name;
  const char* type;  // "counter" or "gauge"
  const char* help;
};

enum class Metric : uint32_t {
#define STAVKA_METRIC_ENUM(name, type, help) name,
  STAVKA_PROXY_METRICS(STAVKA_METRIC_ENUM)
#undef STAVKA_METRIC_ENUM
      count_
};

inline constexpr MetricInfo metric_info[] = {
#define STAVKA_METRIC_INFO(name, type, help) {"stavka_" #name, #type, help},
    STAVKA_PROXY_METRICS(STAVKA_METRIC_INFO)
#undef STAVKA_METRIC_INFO
};

class Counters {
 public:
  void add(Metric m, int64_t n = 1) {
    auto& c = values_[static_cast<uint32_t>(m)];
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  int64_t get(Metric m) const { return values_[static_cast<uint32_t>(m)].load(std::memory_order_relaxed); }

  LatencyHistogram& ttfb(ResponseSource s) { return ttfb_[static_cast<size_t>(s)]; }
  const LatencyHistogram& ttfb(ResponseSource s) const { return ttfb_[static_cast<size_t>(s)]; }

 private:
  std::atomic<int64_t> values_[static_cast<uint32_t>(Metric::count_)] = {};
  LatencyHistogram ttfb_[static_cast<size_t>(ResponseSource::count_)];
};

}  // namespace stavka::proxy
