// DiskTier: the conformance suite (a fresh directory per test), plus what only the disk tier
// promises: persistence across reopen, recovery from kill -9 (torn files, files without rows,
// rows without files), corruption detected and dropped, eviction under max_size, precise open
// errors, files outliving handles, purges by tag across restarts (the tag index rebuilt at start,
// purged objects gone for good, even after a kill while a handle held a file), and consistency
// under concurrent use from several reactors.
#include "storage/disk_tier.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "disk_test_support.h"
#include "storage/disk_format.h"
#include "storage/manifest_writer.h"
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
using conformance::tagged;
using conformance::test_meta;
using disk_test::flip_byte;
using disk_test::object_files;
using disk_test::open_tier;
using disk_test::read_all;
using disk_test::store;
using disk_test::TempDir;

// Conformance tiers live in subdirectories of one directory removed at exit.
std::string fresh_dir() {
  static TempDir root;
  static std::atomic<int> next{0};
  return root.path() + "/" + std::to_string(next++);
}

INSTANTIATE_TEST_SUITE_P(Disk, StorageConformance, ::testing::Values(StorageFactory([] {
                           return std::unique_ptr<Storage>(open_tier(fresh_dir(), 64u << 20, 8));
                         })));

constexpr uint32_t bs = test_block_size;

// Runs a SQL statement on a tier's manifest while the tier is closed.
void sql(const std::string& dir, const std::string& statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/manifest.db").c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

class DiskTierTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(DiskTierTest, ReopenKeepsObjectsByteExactWithTheirMeta) {
  const std::string a = test_body(3 * bs + 17, 1);
  const std::string b = test_body(bs, 2);
  ObjectMeta a_meta = test_meta("a", "", a.size());
  ObjectMeta b_meta = test_meta("b", "gzip", b.size());
  b_meta.surrogate_keys = {"z", "y", "z"};  // order and duplicates kept
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 4);
    ASSERT_EQ(store(*tier, a_meta, a), Error::none);
    ASSERT_EQ(store(*tier, b_meta, b), Error::none);
    ObjectRef object = tier->lookup("a", "");
    ASSERT_NE(object, nullptr);
    ObjectMeta merged = object->meta();
    merged.headers += "X-Merged: " + std::string(2000, 'm') + "\r\n";  // grows the meta region
    merged.etag = "\"v2\"";
    ASSERT_NE(tier->update_meta(object, merged), nullptr);
    a_meta = merged;
    tier->touch(tier->lookup("a", ""), 1'700'000'500);
    tier->touch(tier->lookup("a", ""), 1'700'000'600);
  }
  auto tier = open_tier(dir_.path(), 64u << 20, 4);
  DiskOpenStats opened = tier->open_stats();
  EXPECT_EQ(opened.loaded, 2u);
  EXPECT_EQ(opened.dropped + opened.recovered + opened.deleted + opened.evicted, 0u);
  EXPECT_EQ(tier->stats().objects, 2u);

  ObjectRef got_a = tier->lookup("a", "");
  ASSERT_NE(got_a, nullptr);
  const ObjectMeta& m = got_a->meta();
  EXPECT_EQ(m.headers, a_meta.headers);
  EXPECT_EQ(m.etag, "\"v2\"");
  EXPECT_EQ(m.url, a_meta.url);
  EXPECT_EQ(m.host, a_meta.host);
  EXPECT_EQ(m.status, a_meta.status);
  EXPECT_EQ(m.size, a.size());
  EXPECT_EQ(m.request_time, a_meta.request_time);
  EXPECT_EQ(m.response_time, a_meta.response_time);
  EXPECT_EQ(m.expires, a_meta.expires);
  EXPECT_EQ(m.last_modified, a_meta.last_modified);
  EXPECT_EQ(m.surrogate_keys, a_meta.surrogate_keys);
  EXPECT_EQ(m.hits, 2u);
  EXPECT_EQ(m.last_access, 1'700'000'600);
  EXPECT_EQ(read_all(*tier, got_a).body, a);

  ObjectRef got_b = tier->lookup("b", "gzip");
  ASSERT_NE(got_b, nullptr);
  EXPECT_EQ(got_b->meta().surrogate_keys, b_meta.surrogate_keys);
  EXPECT_EQ(read_all(*tier, got_b).body, b);
  EXPECT_EQ(tier->lookup("b", ""), nullptr);

  // Ids are never reused: a new object gets a file of its own.
  std::vector<std::string> before = object_files(dir_.path());
  ASSERT_EQ(store(*tier, test_meta("c", "", 10), test_body(10, 3)), Error::none);
  std::vector<std::string> after = object_files(dir_.path());
  EXPECT_EQ(after.size(), before.size() + 1);
}

TEST_F(DiskTierTest, TornWriteWithoutARowIsDeletedAtStartAndNeverVisible) {
  std::string torn_copy = dir_.path() + "/torn.copy";
  std::string torn_path;
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 2);
    const std::string body = test_body(3 * bs, 4);
    std::unique_ptr<Writer> writer = tier->begin_write(test_meta("torn", "", body.size()));
    std::vector<BlockRef> blocks = cut_blocks(body, bs);
    ASSERT_EQ(test::run_task(writer->write_block(0, blocks[0])), Error::none);
    ASSERT_EQ(test::run_task(writer->write_block(2, blocks[2])), Error::none);
    // Killed here: keep the file as it is, which the aborting writer would delete.
    std::vector<std::string> files = object_files(dir_.path());
    ASSERT_EQ(files.size(), 1u);
    torn_path = files[0];
    std::filesystem::copy_file(torn_path, torn_copy);
  }
  std::filesystem::rename(torn_copy, torn_path);
  auto tier = open_tier(dir_.path(), 64u << 20, 2);
  EXPECT_EQ(tier->open_stats().deleted, 1u);
  EXPECT_EQ(tier->open_stats().recovered, 0u);
  EXPECT_EQ(tier->lookup("torn", ""), nullptr);
  EXPECT_FALSE(std::filesystem::exists(torn_path));
  EXPECT_EQ(tier->stats().objects, 0u);
}

TEST_F(DiskTierTest, PublishedFileWithoutARowIsRecovered) {
  const std::string body = test_body(2 * bs + 5, 5);
  ObjectMeta meta = test_meta("orphan", "br", body.size());
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 2);
    ASSERT_EQ(store(*tier, meta, body), Error::none);
  }
  // As if killed after publish, before the manifest committed the row.
  sql(dir_.path(), "DELETE FROM objects; DELETE FROM surrogate_keys;");
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 2);
    EXPECT_EQ(tier->open_stats().recovered, 1u);
    EXPECT_EQ(tier->open_stats().loaded, 0u);
    ObjectRef object = tier->lookup("orphan", "br");
    ASSERT_NE(object, nullptr);
    EXPECT_EQ(object->meta().headers, meta.headers);
    EXPECT_EQ(object->meta().surrogate_keys, meta.surrogate_keys);
    EXPECT_EQ(read_all(*tier, object).body, body);
  }
  // The recovered object got its row back.
  auto tier = open_tier(dir_.path(), 64u << 20, 2);
  EXPECT_EQ(tier->open_stats().loaded, 1u);
  EXPECT_EQ(tier->open_stats().recovered, 0u);
}

TEST_F(DiskTierTest, RowsWithAMissingOrShortFileAreDropped) {
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 1);
    ASSERT_EQ(store(*tier, test_meta("missing", "", bs), test_body(bs, 6)), Error::none);
    ASSERT_EQ(store(*tier, test_meta("short", "", 2 * bs), test_body(2 * bs, 7)), Error::none);
    ASSERT_EQ(store(*tier, test_meta("kept", "", bs), test_body(bs, 8)), Error::none);
  }
  std::vector<std::string> files = object_files(dir_.path());
  ASSERT_EQ(files.size(), 3u);
  std::sort(files.begin(), files.end());  // ids in order of creation (same subdirectory order)
  // Ids 1, 2, 3 live in subdirectories 01, 02, 03.
  std::filesystem::remove(files[0]);
  std::filesystem::resize_file(files[1], bs);
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 1);
    EXPECT_EQ(tier->open_stats().dropped, 2u);
    EXPECT_EQ(tier->open_stats().loaded, 1u);
    EXPECT_EQ(tier->lookup("missing", ""), nullptr);
    EXPECT_EQ(tier->lookup("short", ""), nullptr);
    ASSERT_NE(tier->lookup("kept", ""), nullptr);
    EXPECT_FALSE(std::filesystem::exists(files[1]));
  }
  auto tier = open_tier(dir_.path(), 64u << 20, 1);
  EXPECT_EQ(tier->open_stats().dropped, 0u);
  EXPECT_EQ(tier->open_stats().loaded, 1u);
}

TEST_F(DiskTierTest, FlippedByteInABlockIsCorruptThenGoneForGood) {
  const std::string body = test_body(3 * bs, 9);
  const ObjectMeta meta = test_meta("k", "", body.size());
  std::string path;
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 2);
    ASSERT_EQ(store(*tier, meta, body), Error::none);
    path = object_files(dir_.path()).at(0);
    flip_byte(path, disk_format::slot_offset(1, bs) + disk_format::block_header_size + 100);

    ObjectRef object = tier->lookup("k", "");
    ASSERT_NE(object, nullptr);
    BlockResult first = test::run_task(tier->read_block(object, 0));
    EXPECT_EQ(first.error, Error::none);
    BlockResult second = test::run_task(tier->read_block(object, 1));
    EXPECT_EQ(second.error, Error::corrupt);
    EXPECT_EQ(second.block, nullptr);
    EXPECT_EQ(tier->lookup("k", ""), nullptr);
    EXPECT_EQ(tier->stats().objects, 0u);
    EXPECT_EQ(tier->stats().bytes, 0u);
    EXPECT_EQ(tier->corrupt_drops(), 1u);
    object.reset();
    tier->flush();
    EXPECT_FALSE(std::filesystem::exists(path));
  }
  auto tier = open_tier(dir_.path(), 64u << 20, 2);
  EXPECT_EQ(tier->open_stats().loaded + tier->open_stats().recovered, 0u);
  EXPECT_EQ(tier->lookup("k", ""), nullptr);
}

TEST_F(DiskTierTest, FlippedBlockHeaderIsCorruptToo) {
  const std::string body = test_body(2 * bs, 10);
  auto tier = open_tier(dir_.path(), 64u << 20, 2);
  ASSERT_EQ(store(*tier, test_meta("k", "", body.size()), body), Error::none);
  flip_byte(object_files(dir_.path()).at(0), disk_format::slot_offset(1, bs) + 16);  // index
  ObjectRef object = tier->lookup("k", "");
  EXPECT_EQ(test::run_task(tier->read_block(object, 1)).error, Error::corrupt);
  EXPECT_EQ(tier->lookup("k", ""), nullptr);
}

TEST_F(DiskTierTest, FlippedByteInTheMetaRecordIsDroppedAtStart) {
  const std::string body = test_body(bs + 1, 11);
  const ObjectMeta meta = test_meta("k", "", body.size());
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 2);
    ASSERT_EQ(store(*tier, meta, body), Error::none);
    ASSERT_EQ(store(*tier, test_meta("other", "", 10), test_body(10, 12)), Error::none);
  }
  std::vector<std::string> files = object_files(dir_.path());
  std::sort(files.begin(), files.end());
  flip_byte(files[0], disk_format::data_end(meta) + disk_format::meta_header_size + 20);
  auto tier = open_tier(dir_.path(), 64u << 20, 2);
  EXPECT_EQ(tier->open_stats().dropped, 1u);
  EXPECT_EQ(tier->open_stats().loaded, 1u);
  EXPECT_EQ(tier->lookup("k", ""), nullptr);
  EXPECT_NE(tier->lookup("other", ""), nullptr);
  EXPECT_FALSE(std::filesystem::exists(files[0]));
}

TEST_F(DiskTierTest, EvictionKeepsBytesWithinMaxSizeAndCountsEvictions) {
  const uint64_t max_size = 200'000;
  auto tier = open_tier(dir_.path(), max_size, 2);
  for (int i = 0; i < 100; ++i) {
    std::string key = "key/" + std::to_string(i);
    ASSERT_EQ(store(*tier, test_meta(key, "", 2 * bs), test_body(2 * bs, i)), Error::none);
    ASSERT_LE(tier->stats().bytes, max_size);
  }
  TierStats stats = tier->stats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_LT(stats.objects, 100u);
  EXPECT_EQ(stats.capacity, max_size);
  tier->flush();
  // Evicted files are gone (no handle held them); the rest are exactly the stored objects.
  EXPECT_EQ(object_files(dir_.path()).size(), stats.objects);
  // A known size larger than a shard's slice is refused up front.
  EXPECT_EQ(tier->begin_write(test_meta("huge", "", max_size)), nullptr);

  // Reopened with a smaller budget, the tier evicts down to it.
  tier.reset();
  tier = open_tier(dir_.path(), max_size / 2, 2);
  EXPECT_GT(tier->open_stats().evicted, 0u);
  EXPECT_LE(tier->stats().bytes, max_size / 2);
  EXPECT_EQ(tier->stats().evictions, 0u);
}

TEST_F(DiskTierTest, OpenErrorsArePrecise) {
  std::string file = dir_.path() + "/plain-file";
  {
    std::ofstream(file) << "x";
  }
  DiskTier::Opened not_dir = DiskTier::open(file, 1 << 20, 1);
  EXPECT_EQ(not_dir.tier, nullptr);
  EXPECT_EQ(not_dir.error, "cache.dir " + file + ": not a directory");

  DiskTier::Opened not_creatable = DiskTier::open(file + "/sub", 1 << 20, 1);
  EXPECT_EQ(not_creatable.tier, nullptr);
  EXPECT_NE(not_creatable.error.find("cache.dir " + file + "/sub: cannot create it"),
            std::string::npos)
      << not_creatable.error;

  std::string cache = dir_.path() + "/cache";
  {
    auto tier = open_tier(cache, 1 << 20, 1);
  }
  sql(cache, "PRAGMA user_version = 99");
  DiskTier::Opened newer = DiskTier::open(cache, 1 << 20, 1);
  EXPECT_EQ(newer.tier, nullptr);
  EXPECT_NE(newer.error.find("manifest " + cache + "/manifest.db: format version 99 is newer"),
            std::string::npos)
      << newer.error;

  std::string garbage = dir_.path() + "/garbage";
  std::filesystem::create_directories(garbage);
  {
    std::ofstream(garbage + "/manifest.db") << std::string(4096, 'g');
  }
  DiskTier::Opened bad = DiskTier::open(garbage, 1 << 20, 1);
  EXPECT_EQ(bad.tier, nullptr);
  EXPECT_NE(bad.error.find("manifest " + garbage + "/manifest.db: "), std::string::npos)
      << bad.error;
}

TEST_F(DiskTierTest, AHandleKeepsARemovedObjectsFileUntilItGoes) {
  auto tier = open_tier(dir_.path(), 64u << 20, 2);
  const std::string body = test_body(3 * bs, 13);
  ASSERT_EQ(store(*tier, test_meta("k", "", body.size()), body), Error::none);
  ObjectRef object = tier->lookup("k", "");
  const std::string path = object_files(dir_.path()).at(0);
  ASSERT_EQ(tier->remove("k", ""), 1u);
  EXPECT_EQ(tier->stats().bytes, 0u);  // out of the budget at once
  // A replacement under the same key does not disturb the old handle's reads.
  ASSERT_EQ(store(*tier, test_meta("k", "", body.size()), test_body(body.size(), 14)), Error::none);
  tier->flush();
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(read_all(*tier, object).body, body);
  object.reset();
  tier->flush();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(object_files(dir_.path()).size(), 1u);
}

TEST_F(DiskTierTest, AbortedWriterLeavesNoFile) {
  auto tier = open_tier(dir_.path(), 64u << 20, 2);
  std::unique_ptr<Writer> writer = tier->begin_write(test_meta("k", "", 2 * bs));
  ASSERT_EQ(test::run_task(writer->write_block(1, make_block(test_body(bs, 15)))), Error::none);
  EXPECT_EQ(object_files(dir_.path()).size(), 1u);
  writer.reset();
  tier->flush();
  EXPECT_TRUE(object_files(dir_.path()).empty());
}

// The stress run (storage_stress.h) on a tier small enough to evict all the time. Afterwards the
// files on disk are exactly the objects in the index, and a reopen finds them all.
TEST_F(DiskTierTest, ConcurrentUseStaysConsistentAndSurvivesReopen) {
  auto tier = open_tier(dir_.path(), 4 * 60'000, 4);
  std::vector<std::string> keys;
  for (int i = 0; i < 12; ++i) keys.push_back("shared/" + std::to_string(i));
  // Half the keys are shared by every thread, half are the thread's own.
  conformance::StressResult result =
      conformance::stress(*tier, 4, 600, [&](int thread, std::mt19937& rng) {
        return rng() % 2 ? keys[rng() % keys.size()]
                         : "own/" + std::to_string(thread) + "/" + std::to_string(rng() % 6);
      });
  EXPECT_EQ(result.wrong_bytes, 0);
  EXPECT_EQ(result.failures, 0);
  TierStats stats = tier->stats();
  EXPECT_LE(stats.bytes, stats.capacity);
  EXPECT_GT(stats.evictions, 0u);
  tier->flush();
  EXPECT_EQ(object_files(dir_.path()).size(), stats.objects);
  EXPECT_EQ(tier->manifest_stats().failures, 0u);

  tier.reset();
  tier = open_tier(dir_.path(), 4 * 60'000, 4);
  EXPECT_EQ(tier->open_stats().loaded, stats.objects);
  EXPECT_EQ(tier->open_stats().dropped + tier->open_stats().recovered + tier->open_stats().deleted,
            0u);
  EXPECT_EQ(tier->stats().objects, stats.objects);

  // The tag index rebuilt at start matches the objects: purging every key's tag takes them all.
  size_t purged = 0;
  for (const std::string& key : keys) {
    purged += tier->remove_by_tag(conformance::stress_key_tag(key));
  }
  for (int t = 0; t < 4; ++t) {
    for (int k = 0; k < 6; ++k) {
      purged += tier->remove_by_tag(
          conformance::stress_key_tag("own/" + std::to_string(t) + "/" + std::to_string(k)));
    }
  }
  EXPECT_EQ(purged, stats.objects);
  EXPECT_EQ(tier->stats().objects, 0u);
  tier->flush();
  EXPECT_TRUE(object_files(dir_.path()).empty());
}

TEST_F(DiskTierTest, PurgeByTagAfterARestartFindsObjectsStoredBeforeAndTheyStayGone) {
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 4);
    ASSERT_EQ(store(*tier, tagged("a", "", bs, {"t", "x"}), test_body(bs, 20)), Error::none);
    ASSERT_EQ(store(*tier, tagged("b", "gzip", 2 * bs, {"t"}), test_body(2 * bs, 21)),
              Error::none);
    ASSERT_EQ(store(*tier, tagged("c", "", 10, {"x"}), test_body(10, 22)), Error::none);
    ASSERT_EQ(store(*tier, tagged("d", "", 10, {"T"}), test_body(10, 23)), Error::none);
  }
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 4);
    EXPECT_EQ(tier->open_stats().loaded, 4u);
    EXPECT_EQ(tier->remove_by_tag("t"), 2u);
    EXPECT_EQ(tier->lookup("a", ""), nullptr);
    EXPECT_EQ(tier->lookup("b", "gzip"), nullptr);
    EXPECT_EQ(tier->stats().objects, 2u);
    tier->flush();
    EXPECT_EQ(object_files(dir_.path()).size(), 2u);  // no handle held: the files went
  }
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 4);
    DiskOpenStats opened = tier->open_stats();
    EXPECT_EQ(opened.loaded, 2u);
    EXPECT_EQ(opened.dropped + opened.recovered + opened.deleted, 0u);
    EXPECT_EQ(tier->lookup("a", ""), nullptr);
    EXPECT_EQ(tier->lookup("b", "gzip"), nullptr);
    EXPECT_EQ(tier->remove_by_tag("t"), 0u);
    EXPECT_EQ(tier->remove_by_tag("x"), 1u);  // "c"; "a" is gone with its tags
    ObjectRef d = tier->lookup("d", "");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(read_all(*tier, d).body, test_body(10, 23));
  }
  auto tier = open_tier(dir_.path(), 64u << 20, 4);
  EXPECT_EQ(tier->open_stats().loaded, 1u);
  EXPECT_EQ(tier->lookup("c", ""), nullptr);
  EXPECT_NE(tier->lookup("d", ""), nullptr);
}

TEST_F(DiskTierTest, ObjectsRecoveredFromTheirFilesAreTaggedToo) {
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 2);
    ASSERT_EQ(store(*tier, tagged("orphan", "", bs, {"t", "u"}), test_body(bs, 24)), Error::none);
    ASSERT_EQ(store(*tier, tagged("kept", "", bs, {"u"}), test_body(bs, 25)), Error::none);
  }
  // As if killed after publish, before the manifest committed the rows.
  sql(dir_.path(), "DELETE FROM objects; DELETE FROM surrogate_keys;");
  {
    auto tier = open_tier(dir_.path(), 64u << 20, 2);
    EXPECT_EQ(tier->open_stats().recovered, 2u);
    EXPECT_EQ(tier->remove_by_tag("t"), 1u);
    EXPECT_EQ(tier->lookup("orphan", ""), nullptr);
  }
  auto tier = open_tier(dir_.path(), 64u << 20, 2);
  EXPECT_EQ(tier->open_stats().loaded, 1u);
  EXPECT_EQ(tier->open_stats().recovered, 0u);
  EXPECT_EQ(tier->lookup("orphan", ""), nullptr);
  EXPECT_EQ(tier->remove_by_tag("u"), 1u);
}

// Copies a live tier's directory as a kill -9 would leave it: the object files and the manifest
// with its write-ahead log (the shared-memory index is rebuilt by whoever opens the copy).
void copy_as_killed(const std::string& from, const std::string& to) {
  std::filesystem::create_directories(to);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(from)) {
    const std::filesystem::path target = to / std::filesystem::relative(entry.path(), from);
    if (entry.is_directory()) {
      std::filesystem::create_directories(target);
    } else if (!entry.path().native().ends_with("-shm")) {
      std::filesystem::copy_file(entry.path(), target);
    }
  }
}

// A response in flight keeps a purged object's file; the manifest forgets the object at once.
// Killed then, the tier must not bring the object back from its file at the next start.
TEST_F(DiskTierTest, APurgedObjectStaysGoneAfterAKillWhileAHandleHeldItsFile) {
  const std::string body = test_body(2 * bs, 26);
  const std::string crashed = dir_.path() + "/crashed";
  const std::string cache = dir_.path() + "/cache";
  {
    auto tier = open_tier(cache, 64u << 20, 2);
    ASSERT_EQ(store(*tier, tagged("k", "", body.size(), {"t"}), body), Error::none);
    ASSERT_EQ(store(*tier, tagged("other", "", 10, {"u"}), test_body(10, 27)), Error::none);
    ObjectRef held = tier->lookup("k", "");
    ASSERT_NE(held, nullptr);
    EXPECT_EQ(tier->remove_by_tag("t"), 1u);
    tier->flush();  // the row's removal is committed; the file stays for `held`
    ASSERT_EQ(object_files(cache).size(), 2u);
    copy_as_killed(cache, crashed);
    EXPECT_EQ(read_all(*tier, held).body, body);
  }
  auto tier = open_tier(crashed, 64u << 20, 2);
  EXPECT_EQ(tier->open_stats().recovered, 0u);
  EXPECT_EQ(tier->open_stats().loaded, 1u);
  EXPECT_EQ(tier->lookup("k", ""), nullptr);
  EXPECT_NE(tier->lookup("other", ""), nullptr);
  EXPECT_EQ(object_files(crashed).size(), 1u);
}

TEST_F(DiskTierTest, TenThousandObjectsUnderOneTagArePurgedAfterARestart) {
  constexpr int count = 10'000;
  {
    auto tier = open_tier(dir_.path(), 1u << 30, 8);
    test::run_on_reactor([&]() -> runtime::Task<void> {
      for (int i = 0; i < count; ++i) {
        ObjectMeta meta =
            tagged("key/" + std::to_string(i), "", 0, {"all", "own/" + std::to_string(i)});
        std::unique_ptr<Writer> writer = tier->begin_write(meta);
        EXPECT_EQ(co_await writer->publish(meta), Error::none);
      }
    });
    ASSERT_EQ(store(*tier, tagged("other", "", 0, {"not-all"}), ""), Error::none);
  }
  {
    auto tier = open_tier(dir_.path(), 1u << 30, 8);
    ASSERT_EQ(tier->open_stats().loaded, count + 1u);
    EXPECT_EQ(tier->remove_by_tag("all"), static_cast<size_t>(count));
    EXPECT_EQ(tier->stats().objects, 1u);
    EXPECT_EQ(tier->remove_by_tag("own/1234"), 0u);
    tier->flush();
    EXPECT_EQ(object_files(dir_.path()).size(), 1u);
    EXPECT_EQ(tier->manifest_stats().failures, 0u);
  }
  auto tier = open_tier(dir_.path(), 1u << 30, 8);
  EXPECT_EQ(tier->open_stats().loaded, 1u);
  EXPECT_EQ(tier->open_stats().dropped + tier->open_stats().recovered, 0u);
  EXPECT_NE(tier->lookup("other", ""), nullptr);
}

}  // namespace
}  // namespace stavka::storage
