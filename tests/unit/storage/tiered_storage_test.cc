// TieredStorage: the conformance suite over memory + disk (with a roomy memory tier, and with
// one too small for most objects, so that the disk path answers), memory alone and disk alone;
// plus what only the composition promises: write-through, disk hits promoted into memory from
// the blocks they served, no older version left in either tier, and changes applied to both
// (purges by tag included, each object counted once, never promoted back).
#include "storage/tiered_storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "disk_test_support.h"
#include "storage_conformance.h"
#include "support/run_on_reactor.h"

namespace stavka::storage {
namespace {

using conformance::cut_blocks;
using conformance::StorageConformance;
using conformance::StorageFactory;
using conformance::test_block_size;
using conformance::test_body;
using conformance::tagged;
using conformance::test_meta;
using disk_test::open_tier;
using disk_test::read_all;
using disk_test::store;
using disk_test::TempDir;

std::string fresh_dir() {
  static TempDir root;
  static std::atomic<int> next{0};
  return root.path() + "/" + std::to_string(next++);
}

std::unique_ptr<Storage> make_tiered(uint64_t memory_bytes, bool with_disk) {
  return std::make_unique<TieredStorage>(
      memory_bytes ? std::make_unique<MemoryTier>(memory_bytes, 8) : nullptr,
      with_disk ? open_tier(fresh_dir(), 64u << 20, 8) : nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    Tiered, StorageConformance,
    ::testing::Values(StorageFactory([] { return make_tiered(64u << 20, true); }),
                      // 2 KiB per memory shard: anything with a body goes to disk only.
                      StorageFactory([] { return make_tiered(8 * 2048, true); }),
                      StorageFactory([] { return make_tiered(64u << 20, false); }),
                      StorageFactory([] { return make_tiered(0, true); })));

constexpr uint32_t bs = test_block_size;

class TieredStorageTest : public ::testing::Test {
 protected:
  // A memory tier of 8 shards of 128 KiB (promotes up to 16 KiB) over a disk tier.
  TieredStorageTest()
      : storage_(std::make_unique<MemoryTier>(8 * 131'072, 8),
                 open_tier(dir_.path(), 64u << 20, 4)) {}

  MemoryTier& memory() { return *storage_.memory(); }
  DiskTier& disk() { return *storage_.disk(); }

  TempDir dir_;
  TieredStorage storage_;
};

TEST_F(TieredStorageTest, WritesGoThroughToBothTiers) {
  const std::string body = test_body(2 * bs + 3, 1);
  ASSERT_EQ(store(storage_, test_meta("k", "", body.size()), body), Error::none);
  ObjectRef in_memory = memory().lookup("k", "");
  ObjectRef on_disk = disk().lookup("k", "");
  ASSERT_NE(in_memory, nullptr);
  ASSERT_NE(on_disk, nullptr);
  EXPECT_EQ(read_all(memory(), in_memory).body, body);
  EXPECT_EQ(read_all(disk(), on_disk).body, body);
  // Memory answers first.
  EXPECT_FALSE(disk().owns(storage_.lookup("k", "")));
  EXPECT_EQ(storage_.memory_stats().objects, 1u);
  EXPECT_EQ(storage_.disk_stats().objects, 1u);
  EXPECT_EQ(storage_.stats().objects, 1u);
}

TEST_F(TieredStorageTest, ADiskHitReadInFullIsPromotedFromTheBlocksItServed) {
  const std::string body = test_body(3 * bs, 2);
  ASSERT_EQ(store(storage_, test_meta("k", "", body.size()), body), Error::none);
  ASSERT_EQ(memory().remove("k", ""), 1u);  // as if evicted from memory

  ObjectRef partial = storage_.lookup("k", "");
  ASSERT_NE(partial, nullptr);
  EXPECT_EQ(test::run_task(storage_.read_block(partial, 1)).error, Error::none);
  EXPECT_EQ(memory().lookup("k", ""), nullptr);  // a range read does not promote

  ObjectRef hit = storage_.lookup("k", "");
  EXPECT_EQ(read_all(storage_, hit).body, body);
  ObjectRef promoted = memory().lookup("k", "");
  ASSERT_NE(promoted, nullptr);
  EXPECT_EQ(read_all(memory(), promoted).body, body);
  EXPECT_EQ(storage_.counters().promotions, 1u);
  EXPECT_FALSE(disk().owns(storage_.lookup("k", "")));

  // Too large to promote (over 1/8 of a memory shard): stays a plain disk hit.
  const std::string large = test_body(5 * bs, 3);
  ASSERT_EQ(store(storage_, test_meta("large", "", large.size()), large), Error::none);
  ASSERT_EQ(memory().remove("large", ""), 1u);
  ObjectRef large_hit = storage_.lookup("large", "");
  EXPECT_TRUE(disk().owns(large_hit));
  EXPECT_EQ(read_all(storage_, large_hit).body, large);
  EXPECT_EQ(memory().lookup("large", ""), nullptr);
}

TEST_F(TieredStorageTest, PromotionNeverBringsBackAReplacedVersion) {
  const std::string v1 = test_body(2 * bs, 4);
  const std::string v2 = test_body(2 * bs, 5);
  ASSERT_EQ(store(storage_, test_meta("k", "", v1.size()), v1), Error::none);
  ASSERT_EQ(memory().remove("k", ""), 1u);
  ObjectRef old = storage_.lookup("k", "");
  EXPECT_EQ(test::run_task(storage_.read_block(old, 0)).error, Error::none);

  ObjectMeta replacement = test_meta("k", "", v2.size());
  replacement.etag = "\"v2\"";
  ASSERT_EQ(store(storage_, replacement, v2), Error::none);
  ASSERT_EQ(memory().remove("k", ""), 1u);  // only the disk has v2 now
  // The old handle completes its read (its own bytes); promotion must not install v1.
  BlockResult last = test::run_task(storage_.read_block(old, 1));
  ASSERT_EQ(last.error, Error::none);
  EXPECT_EQ(last.block->view(), std::string_view(v1).substr(bs));
  EXPECT_EQ(memory().lookup("k", ""), nullptr);
  ObjectRef current = storage_.lookup("k", "");
  ASSERT_NE(current, nullptr);
  EXPECT_EQ(current->meta().etag, "\"v2\"");
  EXPECT_EQ(read_all(storage_, current).body, v2);
}

TEST_F(TieredStorageTest, ATierThatDoesNotTakeANewVersionDropsItsOldOne) {
  const std::string small = test_body(bs, 6);
  const std::string large = test_body(40 * bs, 7);  // over a memory shard (128 KiB)
  ASSERT_EQ(store(storage_, test_meta("k", "", small.size()), small), Error::none);
  ASSERT_NE(memory().lookup("k", ""), nullptr);
  ASSERT_EQ(store(storage_, test_meta("k", "", large.size()), large), Error::none);
  EXPECT_EQ(memory().lookup("k", ""), nullptr);
  ObjectRef current = storage_.lookup("k", "");
  ASSERT_NE(current, nullptr);
  EXPECT_EQ(current->meta().size, large.size());
  EXPECT_EQ(read_all(storage_, current).body, large);

  // The same with the size unknown up front: memory drops out when the body outgrows it.
  ASSERT_EQ(store(storage_, test_meta("u", "", small.size()), small), Error::none);
  std::unique_ptr<Writer> writer = storage_.begin_write(test_meta("u", "", unknown_size));
  std::vector<BlockRef> blocks = cut_blocks(large, bs);
  for (uint32_t i = 0; i < blocks.size(); ++i) {
    ASSERT_EQ(test::run_task(writer->write_block(i, blocks[i])), Error::none);
  }
  ASSERT_EQ(test::run_task(writer->publish(test_meta("u", "", large.size()))), Error::none);
  EXPECT_EQ(memory().lookup("u", ""), nullptr);
  EXPECT_EQ(read_all(storage_, storage_.lookup("u", "")).body, large);
}

TEST_F(TieredStorageTest, UpdateMetaAndTouchReachBothTiers) {
  const std::string body = test_body(bs, 8);
  ASSERT_EQ(store(storage_, test_meta("k", "", body.size()), body), Error::none);
  ObjectRef object = storage_.lookup("k", "");
  ObjectMeta merged = object->meta();
  merged.headers = "Cache-Control: max-age=600\r\n";
  ObjectRef updated = storage_.update_meta(object, merged);
  ASSERT_NE(updated, nullptr);
  EXPECT_EQ(memory().lookup("k", "")->meta().headers, merged.headers);
  EXPECT_EQ(disk().lookup("k", "")->meta().headers, merged.headers);

  storage_.touch(updated, 1'700'000'900);
  EXPECT_EQ(memory().lookup("k", "")->meta().hits, 1u);
  EXPECT_EQ(disk().lookup("k", "")->meta().hits, 1u);
  EXPECT_EQ(disk().lookup("k", "")->meta().last_access, 1'700'000'900);

  // Through a disk handle (memory lost it), the update still lands on disk.
  ASSERT_EQ(memory().remove("k", ""), 1u);
  ObjectRef from_disk = storage_.lookup("k", "");
  merged.headers = "Cache-Control: max-age=900\r\n";
  ASSERT_NE(storage_.update_meta(from_disk, merged), nullptr);
  EXPECT_EQ(disk().lookup("k", "")->meta().headers, merged.headers);
}

TEST_F(TieredStorageTest, RemoveCountsAnObjectInBothTiersOnce) {
  for (const char* variant : {"", "gzip"}) {
    ASSERT_EQ(store(storage_, test_meta("k", variant, bs), test_body(bs, 9)), Error::none);
  }
  ASSERT_EQ(memory().remove("k", "gzip"), 1u);  // only on disk now
  ASSERT_EQ(storage_.lookup("k").size(), 2u);
  EXPECT_EQ(storage_.remove_all_variants("k"), 2u);
  EXPECT_TRUE(storage_.lookup("k").empty());
  EXPECT_EQ(memory().stats().objects, 0u);
  EXPECT_EQ(disk().stats().objects, 0u);
}

TEST_F(TieredStorageTest, RemoveByTagEmptiesBothTiersAndCountsEachObjectOnce) {
  ASSERT_EQ(store(storage_, tagged("both", "", bs, {"t"}), test_body(bs, 11)), Error::none);
  ASSERT_EQ(store(storage_, tagged("disk-only", "", bs, {"t"}), test_body(bs, 12)), Error::none);
  ASSERT_EQ(memory().remove("disk-only", ""), 1u);
  // Over a memory shard: written to disk alone.
  const std::string large = test_body(40 * bs, 13);
  ASSERT_EQ(store(storage_, tagged("large", "", large.size(), {"t"}), large), Error::none);
  ASSERT_EQ(memory().lookup("large", ""), nullptr);
  ASSERT_EQ(store(storage_, tagged("memory-only", "gzip", bs, {"t"}), test_body(bs, 14)),
            Error::none);
  ASSERT_EQ(disk().remove("memory-only", "gzip"), 1u);
  ASSERT_EQ(store(storage_, tagged("untagged", "", bs, {"u"}), test_body(bs, 15)), Error::none);

  EXPECT_EQ(storage_.remove_by_tag("t"), 4u);
  for (const char* key : {"both", "disk-only", "large", "memory-only"}) {
    EXPECT_TRUE(storage_.lookup(key).empty()) << key;
  }
  EXPECT_EQ(memory().stats().objects, 1u);
  EXPECT_EQ(disk().stats().objects, 1u);
  EXPECT_EQ(storage_.remove_by_tag("t"), 0u);
  EXPECT_EQ(storage_.remove_by_tag("u"), 1u);
  EXPECT_EQ(storage_.stats().objects, 0u);
}

TEST_F(TieredStorageTest, APurgedDiskHitIsNotPromotedBack) {
  const std::string body = test_body(2 * bs, 16);
  ASSERT_EQ(store(storage_, tagged("k", "", body.size(), {"t"}), body), Error::none);
  ASSERT_EQ(memory().remove("k", ""), 1u);
  ObjectRef hit = storage_.lookup("k", "");  // a disk hit that promotes once read in full
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(test::run_task(storage_.read_block(hit, 0)).error, Error::none);
  EXPECT_EQ(storage_.remove_by_tag("t"), 1u);
  // The response in flight completes with its own bytes; its promotion is withdrawn.
  BlockResult last = test::run_task(storage_.read_block(hit, 1));
  ASSERT_EQ(last.error, Error::none);
  EXPECT_EQ(last.block->view(), std::string_view(body).substr(bs));
  EXPECT_EQ(memory().lookup("k", ""), nullptr);
  EXPECT_EQ(storage_.lookup("k", ""), nullptr);
}

TEST_F(TieredStorageTest, PurgeByTagAfterARestartOfTheComposition) {
  TempDir dir;
  {
    TieredStorage storage(std::make_unique<MemoryTier>(1u << 20, 2),
                          open_tier(dir.path(), 1u << 20, 2));
    ASSERT_EQ(store(storage, tagged("a", "", bs, {"t"}), test_body(bs, 17)), Error::none);
    ASSERT_EQ(store(storage, tagged("b", "", bs, {"u"}), test_body(bs, 18)), Error::none);
  }
  {
    TieredStorage storage(std::make_unique<MemoryTier>(1u << 20, 2),
                          open_tier(dir.path(), 1u << 20, 2));
    // Promote "a" into memory first, so that both tiers hold it again.
    ObjectRef a = storage.lookup("a", "");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(read_all(storage, a).body, test_body(bs, 17));
    ASSERT_NE(storage.memory()->lookup("a", ""), nullptr);
    a.reset();
    EXPECT_EQ(storage.remove_by_tag("t"), 1u);
    EXPECT_EQ(storage.lookup("a", ""), nullptr);
  }
  TieredStorage storage(std::make_unique<MemoryTier>(1u << 20, 2),
                        open_tier(dir.path(), 1u << 20, 2));
  EXPECT_EQ(storage.lookup("a", ""), nullptr);
  EXPECT_NE(storage.lookup("b", ""), nullptr);
  EXPECT_EQ(storage.remove_by_tag("t"), 0u);
  EXPECT_EQ(storage.remove_by_tag("u"), 1u);
}

TEST_F(TieredStorageTest, DiskContentSurvivesARestartOfTheComposition) {
  TempDir dir;
  const std::string body = test_body(2 * bs + 1, 10);
  {
    TieredStorage storage(std::make_unique<MemoryTier>(1u << 20, 2),
                          open_tier(dir.path(), 1u << 20, 2));
    ASSERT_EQ(store(storage, test_meta("k", "", body.size()), body), Error::none);
  }
  TieredStorage storage(std::make_unique<MemoryTier>(1u << 20, 2),
                        open_tier(dir.path(), 1u << 20, 2));
  EXPECT_EQ(storage.memory_stats().objects, 0u);
  ObjectRef object = storage.lookup("k", "");
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(read_all(storage, object).body, body);
  EXPECT_NE(storage.memory()->lookup("k", ""), nullptr);  // promoted by that read
}

}  // namespace
}  // namespace stavka::storage
