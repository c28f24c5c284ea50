// A concurrency stress run any backend can be put through: several threads, each on its own
// reactor, publish, look up, read, touch, update (tags included), remove and purge by tag
// overlapping keys. Every object carries the tag stress_key_tag(key), and one of "mod/0".."mod/2"
// (a tag spread over every shard), so that afterwards the sum of purging each key's tag must
// be the tier's object count if its tag index kept up with its objects. Every body's seed
// is in its etag, so a reader can tell that each block it got belongs to the object it looked
// up. Backends call it from their own tests with a budget small enough to evict all the time,
// then check their own invariants on what is left.
#pragma once

#include <atomic>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage_conformance.h"
#include "support/run_on_reactor.h"

namespace stavka::storage::conformance {

inline std::string stress_key_tag(const std::string& key) { return "key:" + key; }

struct StressResult {
  int wrong_bytes = 0;  // a block, meta or key that belongs to another object
  int failures = 0;     // an operation that should have worked did not
};

// key_for(thread, rng): the primary key the next operation of that thread uses.
inline StressResult stress(Storage& tier, int threads, int iterations,
                           const std::function<std::string(int, std::mt19937&)>& key_for) {
  constexpr uint32_t bs = test_block_size;
  const std::vector<std::string> variants = {"", "gzip"};
  std::atomic<int> wrong_bytes{0};
  std::atomic<int> failures{0};

  auto worker = [&](int thread) {
    test::run_on_reactor([&]() -> runtime::Task<void> {
      std::mt19937 rng(thread);
      for (int i = 0; i < iterations; ++i) {
        const std::string key = key_for(thread, rng);
        const std::string& variant = variants[rng() % variants.size()];
        unsigned op = rng() % 20;
        if (op < 7) {
          uint32_t seed = thread * 1'000'000 + i;
          std::string body = test_body(rng() % (3 * bs), seed);
          ObjectMeta meta = test_meta(key, variant, body.size());
          meta.etag = std::to_string(seed);
          meta.surrogate_keys = {stress_key_tag(key), "mod/" + std::to_string(seed % 3)};
          std::unique_ptr<Writer> writer = tier.begin_write(meta);
          if (!writer) {
            ++failures;
            continue;
          }
          std::vector<BlockRef> blocks = cut_blocks(body, bs);
          for (uint32_t b = 0; b < blocks.size(); ++b) {
            if (co_await writer->write_block(b, blocks[b]) != Error::none) ++failures;
          }
          if (rng() % 10 == 0) continue;  // abandoned fill: the writer aborts
          if (co_await writer->publish(meta) != Error::none) ++failures;
        } else if (op < 13) {
          std::vector<ObjectRef> found;
          if (op < 11) {
            if (ObjectRef one = tier.lookup(key, variant)) found.push_back(one);
          } else {
            found = tier.lookup(key);
          }
          for (const ObjectRef& object : found) {
            const ObjectMeta& meta = object->meta();
            if (meta.primary_key != key) ++wrong_bytes;
            std::string expected = test_body(meta.size, std::stoul(meta.etag));
            for (uint32_t b = 0; b < meta.block_count(); ++b) {
              BlockResult r = co_await tier.read_block(object, b);
              if (r.error != Error::none || !r.block) {
                ++failures;
                break;
              }
              if (r.block->crc != crc32c(r.block->data.get(), r.block->size) ||
                  r.block->view() != std::string_view(expected).substr(b * bs, bs)) {
                ++wrong_bytes;
              }
            }
            tier.touch(object, i);
          }
        } else if (op < 15) {
          if (ObjectRef object = tier.lookup(key, variant)) {
            ObjectMeta meta = object->meta();
            meta.headers = "X-Updated-By: " + std::to_string(thread) + "\r\n";
            if (rng() % 2) {
              meta.surrogate_keys = {"mod/" + std::to_string(rng() % 3), stress_key_tag(key)};
            }
            ObjectRef updated = tier.update_meta(object, meta);
            if (updated && updated->meta().etag != meta.etag) ++wrong_bytes;
          }
        } else if (op < 17) {
          tier.remove(key, variant);
        } else if (op < 18) {
          // Mostly one key's objects; now and then a tag on objects of every shard.
          tier.remove_by_tag(rng() % 8 ? stress_key_tag(key) : "mod/" + std::to_string(rng() % 3));
        } else {
          tier.remove_all_variants(key);
        }
      }
    });
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  for (std::thread& t : pool) t.join();
  return {wrong_bytes.load(), failures.load()};
}

}  // namespace stavka::storage::conformance
