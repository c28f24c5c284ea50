// The admin listener: health, Prometheus metrics and the modules API (modules_api.h). The rest
// of the admin API, its authentication (bearer tokens) and the dashboard build on this listener
// in later work: until then anyone who reaches the admin address may push a module, so keep it
// on a loopback or private address.
//
// Runs on worker 0's reactor. It reads every worker's Counters through relaxed atomics, so a
// scrape never stops a worker; the sums may be a few requests apart from each other.
#pragma once

#include <string>
#include <vector>

#include "admin/module_control.h"
#include "proxy/metrics.h"
#include "runtime/task.h"
#include "storage/block_arena.h"
#include "storage/storage.h"

namespace stavka::admin {

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
};

// Accepts admin connections on listen_fd until it is shut down.
runtime::Task<void> serve_admin(int listen_fd, const AdminContext& context);

// Prometheus text exposition: the workers' summed counters and histograms, and the tiers' and
// the block arena's stats read at scrape time.
std::string render_metrics(const AdminContext& context);

}  // namespace stavka::admin
