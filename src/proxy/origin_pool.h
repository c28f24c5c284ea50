// OriginPool: the origin addresses of one site, chosen round-robin, skipping resting ones.
//
// Per worker (inside that worker's SiteTable): no locking. An origin that refuses or times out
// a connection rests for origin_down_time; while every origin rests, the one whose rest ends
// first is tried anyway, so a site is never unreachable merely because all origins once failed.
#pragma once

#include <cstdint>
#include <vector>

#include "config/config.h"
#include "net/address.h"
#include "runtime/timer_heap.h"

namespace stavka::proxy {

struct Origin {
  net::SocketAddress address;
  const config::OriginUrl* url;
  runtime::Clock::time_point resting_until{};
};

class OriginPool {
 public:
  explicit OriginPool(const config::SiteConfig& site);

  // The next origin to try, never one of the `tried` (by index) unless all were tried.
  // Returns an index into origins().
  size_t pick(runtime::Clock::time_point now, const std::vector<size_t>& tried);
  void mark_failed(size_t index, runtime::Clock::time_point now);
  const Origin& at(size_t index) const { return origins_[index]; }
  size_t size() const { return origins_.size(); }

 private:
  std::vector<Origin> origins_;
  runtime::Clock::duration rest_;
  size_t next_ = 0;
};

}  // namespace stavka::proxy
