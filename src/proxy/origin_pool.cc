// OriginPool implementation; see origin_pool.h.
#include "proxy/origin_pool.h"

#include <algorithm>

namespace stavka::proxy {

OriginPool::OriginPool(const config::SiteConfig& site) : rest_(site.origin_down_time) {
  for (const auto& url : site.origins) {
    if (auto addr = net::make_address(url.host, url.port)) {
      origins_.push_back(Origin{*addr, &url, {}});
    }
  }
}

size_t OriginPool::pick(runtime::Clock::time_point now, const std::vector<size_t>& tried) {
  size_t n = origins_.size();
  auto was_tried = [&](size_t i) { return std::find(tried.begin(), tried.end(), i) != tried.end(); };
  // First choice: round-robin over healthy, untried origins.
  for (size_t k = 0; k < n; ++k) {
    size_t i = (next_ + k) % n;
    if (!was_tried(i) && origins_[i].resting_until <= now) {
      next_ = i + 1;
      return i;
    }
  }
  // All resting or tried: the untried one whose rest ends first, else the earliest overall.
  size_t best = n;
  for (size_t i = 0; i < n; ++i) {
    if (was_tried(i)) continue;
    if (best == n || origins_[i].resting_until < origins_[best].resting_until) best = i;
  }
  if (best == n) best = next_++ % n;
  return best;
}

void OriginPool::mark_failed(size_t index, runtime::Clock::time_point now) {
  origins_[index].resting_until = now + rest_;
}

}  // namespace stavka::proxy
