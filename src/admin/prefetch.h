// Prefetch jobs on the admin listener:
//
//   POST /api/v1/prefetch   {"urls": ["https://www.example.com/a", ...], "concurrency": 8}
//     (scope `purge`: it changes what is cached) → 202 {"job": ID, "total": N, "href": ...}
//   GET /api/v1/jobs/ID     (scope `read`) → the job's progress:
//     {"id", "kind": "prefetch", "state": "running" | "done", "total", "done", "bytes",
//      "errors", "failed": [{"url", "error"}, ...], "elapsed_ms"}
//
// A job GETs each URL through the proxy's own listener, with the URL's host as Host, so every
// URL is served as a client's request would be (its site, its modules, the cache: a miss fills,
// a hit is left as it is), and reads each answer to its end (a fill is complete before the
// URL counts as done). At most `concurrency` URLs are in flight (1-64, default 8), each lane on a
// keep-alive connection of its own. A URL counts as failed when its answer is not 2xx or 304,
// or the connection fails; `failed` keeps the first 20. Bytes are body bytes read. Jobs run on
// the admin listener's reactor (worker 0's) and the last 100 are kept. At a shutdown the lanes
// take no further URL and the drain waits for the URLs in flight (stop(), running_lanes()).
//
// Bad input: malformed JSON, an unknown field, a URL that is not absolute http(s), no URL or
// more than max_prefetch_urls, a concurrency outside 1-64: 400 before anything is fetched.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admin/modules_api.h"
#include "net/address.h"

namespace stavka::admin {

inline constexpr std::string_view prefetch_path = "/api/v1/prefetch";
inline constexpr std::string_view jobs_prefix = "/api/v1/jobs/";
inline constexpr size_t max_prefetch_bytes = size_t{16} << 20;
inline constexpr size_t max_prefetch_urls = 100000;

class PrefetchJobs {
 public:
  // proxy: a proxy listener the jobs connect to (a loopback address for a wildcard one).
  explicit PrefetchJobs(net::SocketAddress proxy) : proxy_(proxy) {}

  ApiResponse handle_start(std::string_view method, std::string_view body);
  ApiResponse handle_status(std::string_view path) const;

  // The shutdown: every job's lanes finish the URL they are fetching and take no other (a job
  // cut short says so in the log). Jobs started afterwards fetch nothing.
  void stop() { lanes_->stopping = true; }
  // Lanes of any job still running; the drain waits until there are none.
  size_t running_lanes() const { return lanes_->running; }

  struct Lanes {
    bool stopping = false;
    size_t running = 0;
  };

  struct Job {
    uint64_t id = 0;
    std::vector<std::string> urls;
    size_t next = 0;  // the next URL a lane takes
    size_t done = 0;
    size_t errors = 0;
    uint64_t bytes = 0;
    unsigned lanes = 0;  // still running
    std::shared_ptr<Lanes> all_lanes;  // every job's (the shutdown's flag and the count)
    std::vector<std::pair<std::string, std::string>> failed;  // the first few: URL, why
    std::chrono::steady_clock::time_point started, finished;
  };

 private:
  net::SocketAddress proxy_;
  uint64_t next_id_ = 1;
  std::deque<std::shared_ptr<Job>> jobs_;  // the last ones, oldest first
  std::shared_ptr<Lanes> lanes_ = std::make_shared<Lanes>();
};

}  // namespace stavka::admin
