// TieredStorage: a Storage made of a MemoryTier in front of a DiskTier (either may be absent,
// not both). Objects are written through to both; reads go to memory first, then disk; a disk
// hit on a small object is promoted into memory.
//
// Handles: lookup returns the owning tier's own handle (a memory hit costs nothing extra),
// except for a disk hit that may be promoted, which is wrapped so it can collect the blocks it
// serves. read_block goes to the tier that owns the handle.
//
// Writes: begin_write hands out a writer that feeds both tiers' writers (a tier that refuses,
// or fails a block, drops out; the write fails only when none is left). publish publishes on
// disk first, then in memory; it succeeds if either tier took the object, and a tier that did
// not take it has its older copy of that variant removed, so that the tiers never serve two
// versions. Failures are counted (counters()).
//
// Promotion: an object on disk whose charge is at most 1/8 of a memory shard is copied into
// memory once one handle has read every block of it, from the very blocks it served: no extra
// disk read. Partial readers (ranges) do not promote. To never leave an older version in
// memory, promotion checks after publishing into memory that the disk still holds that same
// object, and removes the memory copy if not; this is correct because publish and remove act
// on disk before memory. (An update_meta racing with a promotion may leave the older head in
// memory; it is the same body and is revalidated as any stored head.)
//
// Changes: update_meta, touch, remove, remove_all_variants, remove_by_tag and remove_by_prefix
// apply to both tiers (removals to disk first, see Promotion). update_meta through one tier's handle updates
// the other tier's copy if it is the same version (same size, validators and response time).
// remove_by_tag and remove_by_prefix count objects as remove_all_variants does: each (primary
// key, variant) once, whether it was in memory, on disk or both, so the count is how many
// objects the cache no longer holds. list() merges both tiers' pages by key.
//
// stats(): bytes, capacity and evictions are the sums of both tiers; objects is the larger of
// the two counts (an object is normally in both), a lower bound of distinct objects.
//
// Threads: as the tiers; the promotion state of a handle is behind its own mutex. Lifetime:
// owns both tiers; it must outlive its writers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "storage/disk_tier.h"
#include "storage/memory_tier.h"
#include "storage/storage.h"

namespace stavka::storage {

struct TieredCounters {
  uint64_t promotions = 0;
  uint64_t memory_publish_failures = 0;  // a memory writer took the blocks, publish failed
  uint64_t disk_publish_failures = 0;    // a disk writer failed a block or the publish
};

class TieredStorage final : public Storage {
 public:
  // At least one of the tiers.
  TieredStorage(std::unique_ptr<MemoryTier> memory, std::unique_ptr<DiskTier> disk);
  ~TieredStorage() override;

  std::vector<ObjectRef> lookup(std::string_view primary_key) override;
  ObjectRef lookup(std::string_view primary_key, std::string_view variant) override;
  std::unique_ptr<Writer> begin_write(const ObjectMeta& meta) override;
  runtime::Task<BlockResult> read_block(const ObjectRef& object, uint32_t index) override;
  ObjectRef update_meta(const ObjectRef& object, ObjectMeta meta) override;
  void touch(const ObjectRef& object, int64_t now) override;
  size_t remove(std::string_view primary_key, std::string_view variant) override;
  size_t remove_all_variants(std::string_view primary_key) override;
  size_t remove_by_tag(std::string_view tag) override;
  size_t remove_by_prefix(std::string_view url_prefix) override;
  std::vector<ListedKey> list(const ListQuery& q) override;
  TierStats stats() const override;

  TierStats memory_stats() const;  // zeros without a memory tier
  TierStats disk_stats() const;    // zeros without a disk tier
  TieredCounters counters() const;
  MemoryTier* memory() const { return memory_.get(); }
  DiskTier* disk() const { return disk_.get(); }

 private:
  class PromotingHandle;
  class TieredWriter;
  template <typename Remove>
  size_t remove_from_both(Remove&& remove);

  // A disk handle, wrapped when it may be promoted.
  ObjectRef from_disk(ObjectRef object);
  runtime::Task<BlockResult> read_promoting(std::shared_ptr<const PromotingHandle> handle,
                                            uint32_t index);
  runtime::Task<void> promote(ObjectRef disk_object, std::vector<BlockRef> blocks);
  // Removes (primary_key, variant) from a tier that did not take a newer version of it.
  void publish_missed(Storage& tier, const ObjectMeta& meta);

  std::unique_ptr<MemoryTier> memory_;
  std::unique_ptr<DiskTier> disk_;
  uint64_t promote_limit_ = 0;  // largest charge promoted
  std::atomic<uint64_t> promotions_{0};
  std::atomic<uint64_t> memory_publish_failures_{0};
  std::atomic<uint64_t> disk_publish_failures_{0};
};

}  // namespace stavka::storage
