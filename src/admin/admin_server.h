// The admin listener: health, Prometheus metrics, the modules API (modules_api.h), purges
// (purge_api.h), the cache listing (cache_api.h), prefetch jobs (prefetch.h), the
// configuration in force (config_json.h), its reload and the stats; docs/openapi.json.
// Every path but the configuration's admin.public ones needs a bearer token (tokens.h) whose
// scopes allow it: GET and HEAD need `read`, a purge or a prefetch `purge`, anything else
// `admin`; a missing or unknown token gets 401, a token without the scope 403, both with a
// JSON error. Tokens come from the
// configuration in force (a reload changes them) and from AdminContext::process_tokens.
//
// Runs on worker 0's reactor. It reads every worker's Counters through relaxed atomics, so a
// scrape never stops a worker; the sums may be a few requests apart from each other.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "admin/module_control.h"
#include "admin/prefetch.h"
#include "admin/tokens.h"
#include "proxy/metrics.h"
#include "proxy/worker.h"
#include "runtime/task.h"
#include "storage/block_arena.h"
#include "storage/storage.h"

namespace stavka::admin {

// The listener's open connections, for the drain (on the listener's reactor only): drain()
// closes at once the ones waiting for a request, and every other one after its answer.
class AdminConnections {
 public:
  size_t open() const { return open_.size(); }
  bool draining() const { return draining_; }
  void drain();
  // The drain deadline passed: ends every connection still open.
  void abort();

  // Called by each connection: it is open on fd; it waits for a request (idle) or not.
  void opened(int fd) { open_.emplace(fd, false); }
  void closed(int fd) { open_.erase(fd); }
  void idle(int fd, bool idle);

 private:
  std::unordered_map<int, bool> open_;  // fd -> waiting for a request
  bool draining_ = false;
};

// A storage tier whose stats() /metrics reports, under label tier="name".
struct TierSource {
  std::string name;
  const storage::Storage* tier;
};

struct AdminContext {
  std::vector<const proxy::Counters*> workers;
  std::vector<TierSource> tiers;
  const storage::BlockArena* arena = nullptr;  // null: blocks live on the heap
  std::string version;
  ModuleControl* modules = nullptr;  // null: the modules API answers 503
  storage::Storage* storage = nullptr;  // every tier (purge); null: no cache
  // The configuration in force (worker 0's: the listener runs on its thread).
  const proxy::Worker* home = nullptr;
  // Prefetch jobs (prefetch.h), run on this listener's reactor; null: 503.
  PrefetchJobs* prefetch = nullptr;
  // Tokens for the process's life besides the configuration's: STAVKA_ADMIN_TOKEN, or the one
  // made at start when no token is configured.
  TokenTable process_tokens;
  // The listener's connections (the drain ends them); null: not tracked.
  AdminConnections* connections = nullptr;
};

// Accepts admin connections on listen_fd until it is shut down.
runtime::Task<void> serve_admin(int listen_fd, const AdminContext& context);

// Prometheus text exposition: the workers' summed counters and histograms, and the tiers' and
// the block arena's stats read at scrape time.
std::string render_metrics(const AdminContext& context);

}  // namespace stavka::admin
