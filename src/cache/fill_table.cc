// FillTable: see fill_table.h.
#include "cache/fill_table.h"

namespace stavka::cache {

std::shared_ptr<Fill> FillTable::find_or_create(const std::string& key, uint32_t block_size,
                                                bool* created) {
  Stripe& s = stripe(key);
  std::lock_guard lock(s.mutex);
  *created = false;
  auto it = s.fills.find(key);
  if (it != s.fills.end()) {
    if (std::shared_ptr<Fill> fill = it->second.lock()) return fill;
  }
  auto fill = std::make_shared<Fill>(key, block_size);
  s.fills[key] = fill;
  *created = true;
  return fill;
}

std::shared_ptr<Fill> FillTable::find(const std::string& key) {
  Stripe& s = stripe(key);
  std::lock_guard lock(s.mutex);
  auto it = s.fills.find(key);
  return it == s.fills.end() ? nullptr : it->second.lock();
}

void FillTable::remove(const Fill& fill) {
  Stripe& s = stripe(fill.primary_key());
  std::lock_guard lock(s.mutex);
  auto it = s.fills.find(fill.primary_key());
  if (it == s.fills.end()) return;
  std::shared_ptr<Fill> current = it->second.lock();
  if (!current || current.get() == &fill) s.fills.erase(it);
}

std::shared_ptr<Fill> FillTable::find_or_create_span(const std::string& key, uint64_t offset,
                                                     uint32_t block_size, uint64_t want_end,
                                                     bool* created) {
  Stripe& s = stripe(key);
  std::lock_guard lock(s.mutex);
  *created = false;
  std::vector<std::weak_ptr<Fill>>& spans = s.spans[key];
  for (size_t i = 0; i < spans.size();) {
    std::shared_ptr<Fill> fill = spans[i].lock();
    if (!fill) {
      spans[i] = std::move(spans.back());
      spans.pop_back();
      continue;
    }
    if (fill->will_have(offset)) return fill;
    ++i;
  }
  auto fill = std::make_shared<Fill>(key, block_size, offset - offset % block_size);
  fill->want(want_end);
  spans.push_back(fill);
  *created = true;
  return fill;
}

void FillTable::remove_span(const Fill& fill) {
  Stripe& s = stripe(fill.primary_key());
  std::lock_guard lock(s.mutex);
  auto it = s.spans.find(fill.primary_key());
  if (it == s.spans.end()) return;
  std::vector<std::weak_ptr<Fill>>& spans = it->second;
  for (size_t i = 0; i < spans.size();) {
    std::shared_ptr<Fill> current = spans[i].lock();
    if (!current || current.get() == &fill) {
      spans[i] = std::move(spans.back());
      spans.pop_back();
    } else {
      ++i;
    }
  }
  if (spans.empty()) s.spans.erase(it);
}

bool FillTable::has_span(const std::string& key) {
  Stripe& s = stripe(key);
  std::lock_guard lock(s.mutex);
  auto it = s.spans.find(key);
  if (it == s.spans.end()) return false;
  for (const std::weak_ptr<Fill>& fill : it->second) {
    if (!fill.expired()) return true;
  }
  return false;
}

void FillTable::mark_uncacheable(const std::string& key,
                                 std::chrono::steady_clock::time_point until) {
  Stripe& s = stripe(key);
  std::lock_guard lock(s.mutex);
  s.uncacheable[key] = until;
}

bool FillTable::is_uncacheable(const std::string& key, std::chrono::steady_clock::time_point now) {
  Stripe& s = stripe(key);
  std::lock_guard lock(s.mutex);
  auto it = s.uncacheable.find(key);
  if (it == s.uncacheable.end()) return false;
  if (it->second > now) return true;
  s.uncacheable.erase(it);
  return false;
}

void FillTable::clear_uncacheable(const std::string& key) {
  Stripe& s = stripe(key);
  std::lock_guard lock(s.mutex);
  s.uncacheable.erase(key);
}

size_t FillTable::in_progress() const {
  size_t n = 0;
  for (const Stripe& s : stripes_) {
    std::lock_guard lock(s.mutex);
    for (const auto& [key, weak] : s.fills) n += weak.expired() ? 0 : 1;
    for (const auto& [key, spans] : s.spans) {
      for (const auto& weak : spans) n += weak.expired() ? 0 : 1;
    }
  }
  return n;
}

}  // namespace stavka::cache
