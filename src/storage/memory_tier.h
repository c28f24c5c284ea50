// MemoryTier: the hot-object tier, a Storage (storage.h) that keeps whole objects in RAM as the
// very blocks the fill produced (no copy), within a byte budget, evicting by S3-FIFO.
//
// Threads: one MemoryTier is shared by every worker. Its index (primary key -> variants,
// sharded_index.h) is cut into shards by a hash of the primary key, so all variants of a URL
// live in one shard; each shard has its own mutex, its own slice of the budget (capacity /
// shards), its own S3-FIFO policy and its own tag index (tag -> ids, for remove_by_tag).
// Critical sections are a few map and list operations: no meta or body is copied and nothing is
// awaited under a shard lock, and objects leaving the index are destroyed after the lock is
// released. Handles (ObjectRef), their metas and the blocks are immutable once published, so
// reading them needs no lock. A Writer belongs to the coroutine that began it.
//
// Identity: every published object gets an id that is never reused (update_meta keeps it, a
// replacement gets a new one); touch and update_meta act only on the object with the ref's id.
//
// Reads of gone objects: an ObjectRef keeps its object's body alive. read_block through a ref
// taken before the object was removed, replaced or evicted keeps returning that object's own
// blocks (never another object's), so a response already being sent completes instead of being
// cut. Such bodies have left the index and the budget at once; the memory comes back when the
// last ref is dropped, so callers hold refs only while serving.
//
// Counters: touch() bumps the S3-FIFO frequency and the entry's hits/last_access under the
// shard lock; the metas handed out are snapshots, and lookup folds new counters into a fresh
// snapshot (one meta copy, outside the lock) when they changed since the last one.
//
// Lifetime: the MemoryTier must outlive every Writer it hands out.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "storage/storage.h"

namespace stavka::storage {

class MemoryTier final : public Storage {
 public:
  // capacity_bytes is split evenly across shards (at least one); an object whose charge
  // exceeds one shard's slice is never stored.
  MemoryTier(uint64_t capacity_bytes, unsigned shards);
  ~MemoryTier() override;
  MemoryTier(const MemoryTier&) = delete;
  MemoryTier& operator=(const MemoryTier&) = delete;

  std::vector<ObjectRef> lookup(std::string_view primary_key) override;
  ObjectRef lookup(std::string_view primary_key, std::string_view variant) override;
  // nullptr when meta.charge() (the body included if meta.size is known) exceeds a shard's
  // slice, or meta.block_size is 0.
  std::unique_ptr<Writer> begin_write(const ObjectMeta& meta) override;
  // Lock-free: reads the blocks the ref keeps alive (see "Reads of gone objects").
  runtime::Task<BlockResult> read_block(const ObjectRef& object, uint32_t index) override;
  // nullptr, leaving the stored object as it was, also when meta changes the primary key, the
  // variant, the size or the block size, or no longer fits a shard. hits and last_access never
  // go back: the larger of the stored and the given value is kept.
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

  unsigned shard_count() const;
  uint64_t shard_capacity() const;
  // The shard that holds every variant of primary_key.
  unsigned shard_of(std::string_view primary_key) const;

 private:
  class MemoryObject;
  class MemoryWriter;
  struct Index;  // ShardedIndex<MemoryObject>

  // Downcast with an ownership check: nullptr for null refs and refs of another tier.
  const MemoryObject* own(const ObjectRef& object) const;
  // Installs a complete, validated object (MemoryWriter::publish's last step).
  Error insert(ObjectMeta meta, std::vector<BlockRef> blocks);

  std::unique_ptr<Index> index_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace stavka::storage
