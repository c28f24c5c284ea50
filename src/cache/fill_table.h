// FillTable: the fills in progress, by primary cache key, shared by every worker; and the keys
// recently found uncacheable, for which requests go straight to the origin.
//
// This is the collapse point: the first request for a key that misses the cache creates the
// fill, every later one until the fill ends attaches to it. Sixteen stripes, each a mutex over
// a hash map, held only for a lookup or an insertion. The table holds weak references: a fill
// lives as long as its writer or a reader holds it, and removes itself when its writer ends.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/fill.h"

namespace stavka::cache {

class FillTable {
 public:
  // The fill in progress for key; if there is none, creates one (with block_size) and sets
  // *created.
  std::shared_ptr<Fill> find_or_create(const std::string& key, uint32_t block_size,
                                       bool* created);
  std::shared_ptr<Fill> find(const std::string& key);
  // The writer of `fill` ended: later requests for the key start a new fill.
  void remove(const Fill& fill);

  // Range fills (per block, src/proxy/range_cache): several may run for one key, each from its
  // start() up to its want_end(). Returns one that has or will fetch the byte at `offset`
  // (Fill::will_have); if there is none, creates one
  // starting at `offset` floored to block_size and wanting up to `want_end`, and sets *created.
  std::shared_ptr<Fill> find_or_create_span(const std::string& key, uint64_t offset,
                                            uint32_t block_size, uint64_t want_end,
                                            bool* created);
  // The writer of a range fill ended.
  void remove_span(const Fill& fill);
  // Whether a range fill for key is in progress.
  bool has_span(const std::string& key);

  // A response for key was not cacheable: until `until` (a steady-clock time), requests for it
  // do not wait behind a fill.
  void mark_uncacheable(const std::string& key, std::chrono::steady_clock::time_point until);
  bool is_uncacheable(const std::string& key, std::chrono::steady_clock::time_point now);
  void clear_uncacheable(const std::string& key);

  size_t in_progress() const;

 private:
  struct Stripe {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::weak_ptr<Fill>> fills;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> uncacheable;
    std::unordered_map<std::string, std::vector<std::weak_ptr<Fill>>> spans;
  };
  Stripe& stripe(std::string_view key) {
    return stripes_[std::hash<std::string_view>{}(key) % stripes_.size()];
  }
  std::array<Stripe, 16> stripes_;
};

}  // namespace stavka::cache
