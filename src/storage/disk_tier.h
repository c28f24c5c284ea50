// DiskTier: the large tier, a Storage (storage.h) kept in a directory (cache.dir), bounded by
// max_size bytes, that survives restarts, clean or kill -9. One file per published object in
// the format of disk_format.h; a SQLite manifest (manifest.h) lists them.
//
// Index: the tiers' sharded index (sharded_index.h), in memory: shards by a hash of the primary
// key, each with its own mutex, slice of the budget (max_size / shards) and S3-FIFO policy,
// mapping object ids to their current handle and live counters, and tags to ids (for
// remove_by_tag). An object costs its file's length rounded up to 4 KiB. Nothing is awaited and
// no file or SQLite call is made under a shard lock.
//
// I/O: every open, read, write and close of an object file on the data path is an io_uring
// operation on the calling worker's reactor (one open/close per block: no descriptor outlives
// the operation that needed it, so none leaks with a dropped handle or an aborted writer).
// Work caused by synchronous calls and destructors (rewriting the meta record for
// update_meta, unlinking files) and every SQLite write run on the manifest thread
// (manifest_writer.h). open() alone blocks; it runs before the workers start.
//
// Integrity: every block and meta record carries CRC32C checks and its object id. read_block
// verifies the block header and the bytes; on a mismatch the object is dropped from the index
// and the manifest, its file is deleted, and the read reports Error::corrupt.
//
// Files outlive handles: a handle shares its object's ObjectFile. Removal, replacement,
// eviction and corruption take the object out of the index and the budget at once and mark the
// file doomed; the file is unlinked (by the manifest thread) when the last handle goes, so a
// response being sent completes with that object's own bytes. Ids are never reused, so a
// handle never reads another object's file. Meanwhile the file's row is gone and the file is
// disowned (its footer zeroed, manifest_writer.h), so that a kill before the unlink does not
// bring the object back at start-up: what was removed or purged stays gone.
//
// Start-up (open): every manifest row whose file is present, of the right length and whose
// footer and meta record verify and agree with the row is loaded; other rows are dropped (and
// their files deleted). Files with no row (published, then killed before the manifest commit)
// are recovered if their footer and meta verify and the length matches, else deleted (a torn
// fill). The counts are in open_stats(). Every object loaded goes through the same insert as a
// publish, with its tags from the manifest's surrogate_keys rows (or the file's meta record), so
// the tag index is whole again before the first purge by tag.
//
// Lifetime: the tier must outlive its Writers; handles may outlive it. The destructor flushes
// the manifest (rows and hit counters).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/task.h"
#include "storage/storage.h"

namespace stavka::storage {

class ManifestWriter;
struct CounterUpdate;
struct ManifestWriterStats;

struct DiskOpenStats {
  uint64_t loaded = 0;     // manifest rows loaded
  uint64_t dropped = 0;    // manifest rows dropped: file missing, short or failing its checks
  uint64_t recovered = 0;  // files with no row, verified and added
  uint64_t deleted = 0;    // files with no row that failed verification (torn writes), deleted
  uint64_t evicted = 0;    // loaded, then evicted because max_size shrank
};

class DiskTier final : public Storage {
 public:
  struct Opened {
    std::unique_ptr<DiskTier> tier;  // null on failure
    std::string error;               // why, naming the path
  };
  // Opens (creating) the tier in dir. Blocks; call before the workers start.
  static Opened open(const std::string& dir, uint64_t max_size, unsigned shards);
  ~DiskTier() override;
  DiskTier(const DiskTier&) = delete;
  DiskTier& operator=(const DiskTier&) = delete;

  std::vector<ObjectRef> lookup(std::string_view primary_key) override;
  ObjectRef lookup(std::string_view primary_key, std::string_view variant) override;
  // nullptr when meta.block_size is 0 or the size is known and the file would not fit a shard.
  std::unique_ptr<Writer> begin_write(const ObjectMeta& meta) override;
  runtime::Task<BlockResult> read_block(const ObjectRef& object, uint32_t index) override;
  // Same rules as MemoryTier::update_meta (counters never go back). The file's meta record is
  // rewritten and the row replaced by the manifest thread, in order with later changes.
  ObjectRef update_meta(const ObjectRef& object, ObjectMeta meta) override;
  void touch(const ObjectRef& object, int64_t now) override;
  size_t remove(std::string_view primary_key, std::string_view variant) override;
  size_t remove_all_variants(std::string_view primary_key) override;
  // Every object carrying tag, through the same path as remove() (each shard's lock once).
  size_t remove_by_tag(std::string_view tag) override;
  // The same, calling removed(meta) for each object taken out, outside the locks (how
  // TieredStorage tells which objects both tiers held).
  size_t remove_by_tag(std::string_view tag,
                       const std::function<void(const ObjectMeta&)>& removed);
  // Every object whose URL starts with url_prefix, as remove() would (a batch of keys per
  // shard lock); removed(meta) as for remove_by_tag.
  size_t remove_by_prefix(std::string_view url_prefix) override;
  size_t remove_by_prefix(std::string_view url_prefix,
                          const std::function<void(const ObjectMeta&)>& removed);
  std::vector<ListedKey> list(const ListQuery& q) override;
  TierStats stats() const override;

  // A hit on the variant stored under a key, without a handle (a tier in front served it).
  void touch(std::string_view primary_key, std::string_view variant, int64_t now);
  // The handle is one of this tier's.
  bool owns(const ObjectRef& object) const { return own(object) != nullptr; }
  // The handle's object is still the one stored (not removed, replaced, evicted or dropped).
  bool contains(const ObjectRef& object) const;

  // Waits until every row change, file rewrite and counter so far is on disk (committed).
  void flush();
  const DiskOpenStats& open_stats() const { return open_stats_; }
  ManifestWriterStats manifest_stats() const;  // defined in storage/manifest_writer.h
  uint64_t corrupt_drops() const { return corrupt_drops_.load(std::memory_order_relaxed); }

  const std::string& dir() const { return dir_; }
  unsigned shard_count() const;
  uint64_t shard_capacity() const;
  unsigned shard_of(std::string_view primary_key) const;

 private:
  struct ObjectFile;
  class DiskObject;
  class DiskWriter;
  struct Index;  // ShardedIndex<DiskObject, ...>

  DiskTier(std::string dir, uint64_t max_size, unsigned shards,
           std::shared_ptr<ManifestWriter> manifest);

  const DiskObject* own(const ObjectRef& object) const;
  // Installs an object whose file is complete. `recorded`: its row is already in the manifest
  // (start-up), so none is queued. Error::no_space if the file does not fit a shard.
  Error insert(uint64_t id, ObjectMeta meta, uint32_t region_length, bool recorded);
  runtime::Task<BlockResult> read_from(std::shared_ptr<const DiskObject> object, uint32_t index);
  // Takes an object that failed a check out of the index (if it is still there).
  void drop_corrupt(const DiskObject& object);
  uint64_t collect_counters(std::vector<CounterUpdate>& out);

  std::string dir_;
  std::unique_ptr<Index> index_;
  std::shared_ptr<ManifestWriter> manifest_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint64_t> corrupt_drops_{0};
  DiskOpenStats open_stats_;
};

}  // namespace stavka::storage
