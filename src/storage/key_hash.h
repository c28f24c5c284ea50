// Hashing shared by the tiers' sharded indexes: which shard a primary key lives in, the
// transparent hash that lets their maps be searched with a string_view, and the key hash that
// names an object across ids for the S3-FIFO ghost queue.
//
// Threads: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace stavka::storage {

// splitmix64's finaliser: spreads std::hash's bits so that shard choice, in-shard buckets and
// ghost hashes do not correlate.
inline uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

inline uint64_t hash_of(std::string_view s) { return std::hash<std::string_view>{}(s); }

// Names an object across ids, for the S3-FIFO ghost queue.
inline uint64_t object_key_hash(std::string_view primary_key, std::string_view variant) {
  return mix(hash_of(primary_key) ^ mix(hash_of(variant) + 0x9E3779B97F4A7C15ull));
}

// Lets the shard maps be searched with a string_view, without building a std::string.
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return hash_of(s); }
};

}  // namespace stavka::storage
