// MemoryTier: the conformance suite, plus what only the memory tier promises: its budget and
// S3-FIFO eviction per shard, zero-copy blocks, reads through handles of evicted objects,
// counters, tags charged and dropped with evicted objects, a purge of 10 000 objects by one tag,
// and consistency under concurrent use from several threads.
#include "storage/memory_tier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage_conformance.h"
#include "storage_stress.h"
#include "support/run_on_reactor.h"

namespace stavka::storage {
namespace {

using conformance::cut_blocks;
using conformance::StorageConformance;
using conformance::StorageFactory;
using conformance::test_block_size;
using conformance::test_body;
using conformance::test_meta;

INSTANTIATE_TEST_SUITE_P(Memory, StorageConformance, ::testing::Values(StorageFactory([] {
                           return std::make_unique<MemoryTier>(64u << 20, 8);
                         })));

constexpr uint32_t bs = test_block_size;

// The conformance fixture's helpers, over a MemoryTier made by each test.
class MemoryTierTest : public ::testing::Test {
 protected:
  Error store(MemoryTier& tier, const ObjectMeta& meta, std::string_view body) {
    std::unique_ptr<Writer> writer = tier.begin_write(meta);
    if (!writer) return Error::no_space;
    std::vector<BlockRef> blocks = cut_blocks(body, meta.block_size);
    for (uint32_t i = 0; i < blocks.size(); ++i) {
      if (Error e = test::run_task(writer->write_block(i, blocks[i])); e != Error::none) return e;
    }
    return test::run_task(writer->publish(meta));
  }
  std::string read_all(MemoryTier& tier, const ObjectRef& object) {
    std::string body;
    for (uint32_t i = 0; i < object->meta().block_count(); ++i) {
      BlockResult r = test::run_task(tier.read_block(object, i));
      EXPECT_EQ(r.error, Error::none) << error_name(r.error);
      if (!r.block) return body;
      body.append(r.block->view());
    }
    return body;
  }
  // Sum of the stored metas' charges, found by looking every key up.
  uint64_t charged(MemoryTier& tier, const std::vector<std::string>& keys) {
    uint64_t total = 0;
    for (const std::string& key : keys) {
      for (const ObjectRef& object : tier.lookup(key)) total += object->meta().charge();
    }
    return total;
  }
};

TEST_F(MemoryTierTest, CapacityIsSplitEvenlyAcrossShards) {
  MemoryTier tier(1'000'000, 4);
  EXPECT_EQ(tier.shard_count(), 4u);
  EXPECT_EQ(tier.shard_capacity(), 250'000u);
  EXPECT_EQ(tier.stats().capacity, 1'000'000u);
  MemoryTier no_shards(1000, 0);  // treated as one
  EXPECT_EQ(no_shards.shard_count(), 1u);
  EXPECT_EQ(no_shards.shard_capacity(), 1000u);
}

TEST_F(MemoryTierTest, BeginWriteRefusesAnObjectLargerThanAShard) {
  MemoryTier tier(400'000, 4);  // 100 000 per shard
  EXPECT_EQ(tier.begin_write(test_meta("big", "", 100'000)), nullptr);
  ObjectMeta fits = test_meta("fits", "", 0);
  fits.size = tier.shard_capacity() - fits.charge();  // charge exactly the shard's slice
  EXPECT_NE(tier.begin_write(fits), nullptr);
  fits.size += 1;
  EXPECT_EQ(tier.begin_write(fits), nullptr);
  ObjectMeta no_blocks = test_meta("zero-block-size", "", 10);
  no_blocks.block_size = 0;
  EXPECT_EQ(tier.begin_write(no_blocks), nullptr);
  EXPECT_NE(tier.begin_write(test_meta("unknown", "", unknown_size)), nullptr);
}

TEST_F(MemoryTierTest, BodyOfUnknownSizeOutgrowingAShardIsNoSpace) {
  MemoryTier tier(4 * 40'000, 4);  // 40 000 per shard: nine full blocks fit, ten do not
  std::unique_ptr<Writer> writer = tier.begin_write(test_meta("k", "", unknown_size));
  ASSERT_NE(writer, nullptr);
  Error error = Error::none;
  uint32_t written = 0;
  for (; written < 20 && error == Error::none; ++written) {
    error = test::run_task(writer->write_block(written, make_block(test_body(bs, written))));
  }
  EXPECT_EQ(error, Error::no_space);
  EXPECT_EQ(written, 10u);
  // A block far past anything that could fit is refused before it costs anything.
  EXPECT_EQ(test::run_task(writer->write_block(1'000'000, make_block(test_body(bs, 1)))),
            Error::no_space);
  // Nine blocks that fit, published with a final size whose charge does not: no_space too.
  writer = tier.begin_write(test_meta("k", "", unknown_size));
  for (uint32_t i = 0; i < 9; ++i) {
    ASSERT_EQ(test::run_task(writer->write_block(i, make_block(test_body(bs, i)))), Error::none);
  }
  ObjectMeta final_meta = test_meta("k", "", 9 * bs);
  final_meta.headers += std::string(4000, 'x');  // body fits, body + head does not
  EXPECT_EQ(test::run_task(writer->publish(final_meta)), Error::no_space);
  EXPECT_EQ(tier.lookup("k", ""), nullptr);
}

TEST_F(MemoryTierTest, BytesAreTheSumOfCharges) {
  MemoryTier tier(8u << 20, 4);
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) {
    keys.push_back("key/" + std::to_string(i));
    ObjectMeta meta = test_meta(keys.back(), i % 3 ? "" : "gzip", 500 * i);
    ASSERT_EQ(store(tier, meta, test_body(meta.size, i)), Error::none);
  }
  TierStats stats = tier.stats();
  EXPECT_EQ(stats.objects, 20u);
  EXPECT_EQ(stats.bytes, charged(tier, keys));
  EXPECT_EQ(stats.evictions, 0u);
}

TEST_F(MemoryTierTest, BlocksAreStoredWithoutACopy) {
  MemoryTier tier(1u << 20, 1);
  const std::string body = test_body(2 * bs + 1, 1);
  ObjectMeta meta = test_meta("k", "", body.size());
  std::vector<BlockRef> blocks = cut_blocks(body, bs);
  std::unique_ptr<Writer> writer = tier.begin_write(meta);
  for (uint32_t i = 0; i < blocks.size(); ++i) {
    ASSERT_EQ(test::run_task(writer->write_block(i, blocks[i])), Error::none);
  }
  ASSERT_EQ(test::run_task(writer->publish(meta)), Error::none);
  ObjectRef object = tier.lookup("k", "");
  for (uint32_t i = 0; i < blocks.size(); ++i) {
    EXPECT_EQ(test::run_task(tier.read_block(object, i)).block, blocks[i]);
  }
}

TEST_F(MemoryTierTest, ABlockIsWrittenOnlyOnce) {
  MemoryTier tier(1u << 20, 1);
  std::unique_ptr<Writer> writer = tier.begin_write(test_meta("k", "", 2 * bs));
  BlockRef block = make_block(test_body(bs, 1));
  EXPECT_EQ(test::run_task(writer->write_block(0, block)), Error::none);
  EXPECT_EQ(test::run_task(writer->write_block(0, block)), Error::invalid);
}

TEST_F(MemoryTierTest, EvictionKeepsEachShardWithinItsSliceAndCountsEvictions) {
  MemoryTier tier(60'000, 1);  // roughly a dozen 4 KiB objects
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) {
    keys.push_back("key/" + std::to_string(i));
    ASSERT_EQ(store(tier, test_meta(keys.back(), "", bs), test_body(bs, i)), Error::none);
    TierStats stats = tier.stats();
    ASSERT_LE(stats.bytes, stats.capacity);
    ASSERT_EQ(stats.objects + stats.evictions, static_cast<uint64_t>(i + 1));
  }
  TierStats stats = tier.stats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_EQ(stats.bytes, charged(tier, keys));
  EXPECT_NE(tier.lookup("key/49", ""), nullptr);  // the newest is there
  EXPECT_EQ(tier.lookup("key/0", ""), nullptr);   // the oldest one-hit wonder is not
}

TEST_F(MemoryTierTest, AReusedObjectSurvivesAScanOfOneHitWonders) {
  MemoryTier tier(100'000, 1);
  ASSERT_EQ(store(tier, test_meta("hot", "", bs), test_body(bs, 1)), Error::none);
  tier.touch(tier.lookup("hot", ""), 1);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(store(tier, test_meta("scan/" + std::to_string(i), "", bs), test_body(bs, 2)),
              Error::none);
  }
  ObjectRef hot = tier.lookup("hot", "");
  ASSERT_NE(hot, nullptr);
  EXPECT_EQ(read_all(tier, hot), test_body(bs, 1));
  EXPECT_GT(tier.stats().evictions, 150u);
}

TEST_F(MemoryTierTest, HandleOfAnEvictedObjectStillReadsItsOwnBytes) {
  MemoryTier tier(30'000, 1);
  const std::string body = test_body(2 * bs, 7);
  ASSERT_EQ(store(tier, test_meta("victim", "", body.size()), body), Error::none);
  ObjectRef held = tier.lookup("victim", "");
  ASSERT_NE(held, nullptr);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(store(tier, test_meta("other/" + std::to_string(i), "", bs), test_body(bs, i)),
              Error::none);
  }
  ASSERT_EQ(tier.lookup("victim", ""), nullptr);
  EXPECT_EQ(read_all(tier, held), body);  // a response in flight completes
  tier.touch(held, 5);                    // no effect on anything stored
  EXPECT_EQ(tier.update_meta(held, held->meta()), nullptr);
}

TEST_F(MemoryTierTest, TouchCountsHitsAndLastAccess) {
  MemoryTier tier(1u << 20, 2);
  ASSERT_EQ(store(tier, test_meta("k", "", 10), test_body(10, 1)), Error::none);
  ObjectRef first = tier.lookup("k", "");
  EXPECT_EQ(first->meta().hits, 0u);
  tier.touch(first, 100);
  tier.touch(first, 50);  // last_access never goes back
  ObjectRef second = tier.lookup("k", "");
  EXPECT_EQ(second->meta().hits, 2u);
  EXPECT_EQ(second->meta().last_access, 100);
  EXPECT_EQ(first->meta().hits, 0u);  // handles are snapshots
  tier.touch(first, 200);             // an older snapshot of the same object still counts
  EXPECT_EQ(tier.lookup("k")[0]->meta().hits, 3u);
  EXPECT_EQ(tier.lookup("k", "")->meta().last_access, 200);
}

TEST_F(MemoryTierTest, UpdateMetaKeepsCountersThatOnlyGoUp) {
  MemoryTier tier(1u << 20, 2);
  ASSERT_EQ(store(tier, test_meta("k", "", 10), test_body(10, 1)), Error::none);
  ObjectRef object = tier.lookup("k", "");
  for (int i = 0; i < 3; ++i) tier.touch(object, 500);
  ObjectMeta meta = object->meta();  // hits 0 in this snapshot
  meta.headers = "X-New: 1\r\n";
  ObjectRef updated = tier.update_meta(object, meta);
  ASSERT_NE(updated, nullptr);
  EXPECT_EQ(updated->meta().hits, 3u);
  EXPECT_EQ(updated->meta().last_access, 500);
  meta.hits = 10;
  EXPECT_EQ(tier.update_meta(updated, meta)->meta().hits, 10u);
}

TEST_F(MemoryTierTest, UpdateMetaRejectsAChangeOfKeyOrBlockSize) {
  MemoryTier tier(1u << 20, 2);
  ASSERT_EQ(store(tier, test_meta("k", "a", 10), test_body(10, 1)), Error::none);
  ObjectRef object = tier.lookup("k", "a");
  ObjectMeta moved = object->meta();
  moved.primary_key = "elsewhere";
  EXPECT_EQ(tier.update_meta(object, moved), nullptr);
  moved = object->meta();
  moved.variant = "b";
  EXPECT_EQ(tier.update_meta(object, moved), nullptr);
  moved = object->meta();
  moved.block_size = 8192;
  EXPECT_EQ(tier.update_meta(object, moved), nullptr);
  EXPECT_EQ(tier.lookup("k").size(), 1u);
  EXPECT_EQ(tier.lookup("elsewhere").size(), 0u);
}

TEST_F(MemoryTierTest, UpdateMetaChargesTheNewHead) {
  MemoryTier tier(1u << 20, 1);
  ASSERT_EQ(store(tier, test_meta("k", "", 10), test_body(10, 1)), Error::none);
  ObjectRef object = tier.lookup("k", "");
  ObjectMeta meta = object->meta();
  meta.headers += std::string(1000, 'x');
  ASSERT_NE(tier.update_meta(object, meta), nullptr);
  EXPECT_EQ(tier.stats().bytes, meta.charge());
}

TEST_F(MemoryTierTest, HandlesOfAnotherTierAreRejected) {
  MemoryTier mine(1u << 20, 1);
  MemoryTier theirs(1u << 20, 1);
  ASSERT_EQ(store(theirs, test_meta("k", "", 10), test_body(10, 1)), Error::none);
  ASSERT_EQ(store(mine, test_meta("k", "", 10), test_body(10, 2)), Error::none);
  ObjectRef foreign = theirs.lookup("k", "");
  EXPECT_EQ(test::run_task(mine.read_block(foreign, 0)).error, Error::invalid);
  EXPECT_EQ(mine.update_meta(foreign, foreign->meta()), nullptr);
  mine.touch(foreign, 10);
  EXPECT_EQ(mine.lookup("k", "")->meta().hits, 0u);
}

TEST_F(MemoryTierTest, ShardsAreIndependent) {
  MemoryTier tier(4 * 30'000, 4);
  std::set<unsigned> used;
  for (int i = 0; i < 1000; ++i) used.insert(tier.shard_of("spread/" + std::to_string(i)));
  EXPECT_EQ(used.size(), 4u);

  // A key in another shard than the flood survives it untouched.
  std::string quiet;
  std::vector<std::string> flood;
  for (int i = 0; quiet.empty() || flood.size() < 40; ++i) {
    std::string key = "k/" + std::to_string(i);
    if (tier.shard_of(key) == 0) {
      flood.push_back(key);
    } else if (quiet.empty()) {
      quiet = key;
    }
  }
  ASSERT_EQ(store(tier, test_meta(quiet, "", bs), test_body(bs, 1)), Error::none);
  for (const std::string& key : flood) {
    ASSERT_EQ(store(tier, test_meta(key, "", bs), test_body(bs, 2)), Error::none);
  }
  EXPECT_NE(tier.lookup(quiet, ""), nullptr);
  TierStats stats = tier.stats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_LT(stats.objects, 41u);
}

// The stress run (storage_stress.h) on a tier small enough to evict all the time; then the index
// must still be consistent with the budget. Why this is race-free by design (and TSAN-clean): all shared mutable state is a shard's maps,
// policy and counter, touched only under that shard's mutex; handles, metas and blocks are
// immutable once published through that mutex; refcounts are atomic; a Writer and everything a
// thread reads from a handle stay on that thread.
TEST_F(MemoryTierTest, ConcurrentUseStaysConsistent) {
  MemoryTier tier(4 * 40'000, 4);
  std::vector<std::string> keys;
  for (int i = 0; i < 12; ++i) keys.push_back("shared/" + std::to_string(i));
  conformance::StressResult result = conformance::stress(
      tier, 4, 4000, [&](int, std::mt19937& rng) { return keys[rng() % keys.size()]; });
  EXPECT_EQ(result.wrong_bytes, 0);
  EXPECT_EQ(result.failures, 0);
  TierStats stats = tier.stats();
  uint64_t objects = 0;
  for (const std::string& key : keys) {
    std::vector<ObjectRef> found = tier.lookup(key);
    objects += found.size();
    std::set<std::string> distinct;
    for (const ObjectRef& object : found) distinct.insert(object->meta().variant);
    EXPECT_EQ(distinct.size(), found.size()) << key;  // one object per variant
  }
  EXPECT_EQ(stats.objects, objects);
  EXPECT_EQ(stats.bytes, charged(tier, keys));
  EXPECT_LE(stats.bytes, stats.capacity);
  EXPECT_GT(stats.evictions, 0u);
  // The tag index kept up with every publish, replacement, update, eviction and removal.
  size_t purged = 0;
  for (const std::string& key : keys) {
    purged += tier.remove_by_tag(conformance::stress_key_tag(key));
  }
  EXPECT_EQ(purged, stats.objects);
  EXPECT_EQ(tier.stats().objects, 0u);
  EXPECT_EQ(tier.stats().bytes, 0u);
}

TEST_F(MemoryTierTest, TagsAreChargedAndEvictedObjectsLeaveTheirTags) {
  MemoryTier tier(60'000, 1);
  ObjectMeta untagged = test_meta("k", "", bs);
  untagged.surrogate_keys = {};
  ObjectMeta tagged = untagged;
  tagged.surrogate_keys = {std::string(100, 't'), "u"};
  EXPECT_GE(tagged.charge(), untagged.charge() + 2 * 101);  // the meta's copy and the index's
  ASSERT_EQ(store(tier, tagged, test_body(bs, 1)), Error::none);
  EXPECT_EQ(tier.stats().bytes, tagged.charge());

  for (int i = 0; i < 50; ++i) {
    ObjectMeta meta = test_meta("key/" + std::to_string(i), "", bs);
    meta.surrogate_keys = {"all", "own/" + std::to_string(i)};
    ASSERT_EQ(store(tier, meta, test_body(bs, i)), Error::none);
  }
  const TierStats stats = tier.stats();
  ASSERT_GT(stats.evictions, 0u);
  EXPECT_EQ(tier.lookup("k", ""), nullptr);
  EXPECT_EQ(tier.lookup("key/0", ""), nullptr);
  EXPECT_EQ(tier.remove_by_tag("own/0"), 0u);  // evicted, and its tag with it
  EXPECT_EQ(tier.remove_by_tag("u"), 0u);
  EXPECT_EQ(tier.remove_by_tag("all"), stats.objects);  // exactly the ones still stored
  EXPECT_EQ(tier.stats().objects, 0u);
  EXPECT_EQ(tier.stats().bytes, 0u);
}

TEST_F(MemoryTierTest, TenThousandObjectsUnderOneTagArePurgedInOneCall) {
  MemoryTier tier(64u << 20, 8);
  test::run_on_reactor([&]() -> runtime::Task<void> {
    for (int i = 0; i < 10'000; ++i) {
      ObjectMeta meta = test_meta("key/" + std::to_string(i), "", 100);
      meta.surrogate_keys = {"all", "own/" + std::to_string(i)};
      std::unique_ptr<Writer> writer = tier.begin_write(meta);
      EXPECT_EQ(co_await writer->write_block(0, make_block(test_body(100, i))), Error::none);
      EXPECT_EQ(co_await writer->publish(meta), Error::none);
    }
  });
  ObjectMeta other = test_meta("other", "", 0);
  other.surrogate_keys = {"not-all"};
  ASSERT_EQ(store(tier, other, ""), Error::none);
  ASSERT_EQ(tier.stats().objects, 10'001u);
  ASSERT_EQ(tier.stats().evictions, 0u);

  EXPECT_EQ(tier.remove_by_tag("all"), 10'000u);
  EXPECT_EQ(tier.stats().objects, 1u);
  EXPECT_EQ(tier.stats().bytes, other.charge());
  EXPECT_EQ(tier.lookup("key/1234", ""), nullptr);
  EXPECT_EQ(tier.remove_by_tag("own/1234"), 0u);
  EXPECT_EQ(tier.remove_by_tag("all"), 0u);
  EXPECT_NE(tier.lookup("other", ""), nullptr);
}

}  // namespace
}  // namespace stavka::storage
