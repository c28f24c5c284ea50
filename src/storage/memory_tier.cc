// MemoryTier implementation: shards (index + S3-FIFO policy behind one mutex each), the
// immutable object handles, and the writer that validates a fill's blocks before publishing.
//
// Threads: see memory_tier.h. Within a shard, `variants`, `objects`, `policy` and `evictions`
// are guarded by `mutex` and touched by any worker; handles (MemoryObject) are immutable after
// construction and shared freely; a MemoryWriter is confined to the coroutine that owns it.
// Invariants, per shard, whenever its mutex is free: every id in `variants` has a slot in
// `objects` and is present in `policy`, and vice versa; one id per (primary key, variant);
// policy.charged() is the sum of the stored metas' charge() and never exceeds the shard's slice.
#include "storage/memory_tier.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "storage/key_hash.h"
#include "storage/s3fifo.h"

namespace stavka::storage {

namespace {

template <typename T>
runtime::Task<T> ready(T value) {
  co_return value;
}

}  // namespace

// One published version of an object's meta over its body. A new version (update_meta, or
// counters folded in by lookup) shares the body and the id; a replacement has a new id.
class MemoryTier::MemoryObject final : public StoredObject {
 public:
  MemoryObject(const MemoryTier* owner, uint64_t id, ObjectMeta meta,
               std::shared_ptr<const std::vector<BlockRef>> blocks)
      : owner(owner), id(id), blocks(std::move(blocks)), meta_(std::move(meta)) {}
  const ObjectMeta& meta() const override { return meta_; }

  const MemoryTier* const owner;
  const uint64_t id;
  const std::shared_ptr<const std::vector<BlockRef>> blocks;

 private:
  const ObjectMeta meta_;
};

struct MemoryTier::Shard {
  struct Slot {
    std::shared_ptr<const MemoryObject> snapshot;  // the version lookup hands out
    uint64_t hits;                                 // live counters (touch); may be ahead of it
    int64_t last_access;
  };
  using Gone = std::vector<std::shared_ptr<const MemoryObject>>;

  // The id stored for (primary_key, variant), or 0.
  uint64_t find(std::string_view primary_key, std::string_view variant) const {
    auto v = variants.find(primary_key);
    if (v == variants.end()) return 0;
    for (uint64_t id : v->second) {
      if (objects.at(id).snapshot->meta().variant == variant) return id;
    }
    return 0;
  }

  // Takes id out of both maps (the caller has already dropped it from the policy). The handle
  // goes to `gone` so that the body, if this was its last reference, is freed after unlocking.
  void unlink(uint64_t id, Gone& gone) {
    auto slot = objects.find(id);
    auto v = variants.find(slot->second.snapshot->meta().primary_key);
    std::erase(v->second, id);
    if (v->second.empty()) variants.erase(v);
    gone.push_back(std::move(slot->second.snapshot));
    objects.erase(slot);
  }

  mutable std::mutex mutex;
  std::unordered_map<std::string, std::vector<uint64_t>, KeyHash, std::equal_to<>> variants;
  std::unordered_map<uint64_t, Slot> objects;
  S3Fifo policy{0};
  uint64_t evictions = 0;
};

// Collects a fill's blocks, checking each against the meta given to begin_write, and publishes
// them once complete. Nothing it holds is visible to lookups before publish(); destroying it
// (published or not) frees whatever it still holds. One publish() per writer, even a failed one.
class MemoryTier::MemoryWriter final : public Writer {
 public:
  MemoryWriter(MemoryTier& tier, const ObjectMeta& meta)
      : tier_(tier),
        primary_key_(meta.primary_key),
        variant_(meta.variant),
        expected_size_(meta.size),
        block_size_(meta.block_size) {}

  runtime::Task<Error> write_block(uint32_t index, BlockRef block) override {
    co_return store(index, std::move(block));
  }
  runtime::Task<Error> publish(ObjectMeta final_meta) override {
    co_return finish(std::move(final_meta));
  }

 private:
  Error store(uint32_t index, BlockRef block);
  Error finish(ObjectMeta final_meta);

  MemoryTier& tier_;
  const std::string primary_key_;
  const std::string variant_;
  const uint64_t expected_size_;  // unknown_size until publish when begin_write did not know it
  const uint32_t block_size_;
  std::vector<BlockRef> blocks_;  // by index; null where not written yet
  uint64_t bytes_ = 0;
  bool finished_ = false;
};

Error MemoryTier::MemoryWriter::store(uint32_t index, BlockRef block) {
  if (finished_ || !block || block->size == 0 || block->size > block_size_) return Error::invalid;
  uint64_t start = static_cast<uint64_t>(index) * block_size_;
  if (expected_size_ != unknown_size) {
    if (start >= expected_size_) return Error::invalid;
    if (block->size != std::min<uint64_t>(block_size_, expected_size_ - start)) {
      return Error::invalid;
    }
  } else if (start + block->size > tier_.shard_capacity_) {
    // Checked before resizing blocks_, which keeps the vector as small as a body that fits.
    return Error::no_space;
  }
  if (index < blocks_.size() && blocks_[index]) return Error::invalid;  // each block once
  if (bytes_ + block->size > tier_.shard_capacity_) return Error::no_space;
  if (index >= blocks_.size()) blocks_.resize(index + 1);
  bytes_ += block->size;
  blocks_[index] = std::move(block);
  return Error::none;
}

Error MemoryTier::MemoryWriter::finish(ObjectMeta final_meta) {
  if (finished_) return Error::invalid;
  finished_ = true;
  std::vector<BlockRef> blocks = std::move(blocks_);  // freed on return unless published
  blocks_.clear();
  const ObjectMeta& m = final_meta;
  if (m.size == unknown_size || m.block_size != block_size_ || m.primary_key != primary_key_ ||
      m.variant != variant_ || (expected_size_ != unknown_size && m.size != expected_size_)) {
    return Error::invalid;
  }
  if (blocks.size() != m.block_count()) return Error::invalid;  // trailing blocks missing/extra
  uint64_t total = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    uint64_t start = i * static_cast<uint64_t>(block_size_);
    if (!blocks[i] || blocks[i]->size != std::min<uint64_t>(block_size_, m.size - start)) {
      return Error::invalid;
    }
    total += blocks[i]->size;
  }
  // Guards against block_count() truncating a size that no written body could have.
  if (total != m.size) return Error::invalid;
  return tier_.insert(std::move(final_meta), std::move(blocks));
}

MemoryTier::MemoryTier(uint64_t capacity_bytes, unsigned shards)
    : capacity_(capacity_bytes),
      shard_count_(std::max(shards, 1u)),
      shard_capacity_(capacity_bytes / shard_count_),
      shards_(std::make_unique<Shard[]>(shard_count_)) {
  for (unsigned i = 0; i < shard_count_; ++i) shards_[i].policy = S3Fifo(shard_capacity_);
}

MemoryTier::~MemoryTier() = default;

unsigned MemoryTier::shard_of(std::string_view primary_key) const {
  return static_cast<unsigned>(mix(hash_of(primary_key)) % shard_count_);
}

MemoryTier::Shard& MemoryTier::shard_for(std::string_view primary_key) const {
  return shards_[shard_of(primary_key)];
}

const MemoryTier::MemoryObject* MemoryTier::own(const ObjectRef& object) const {
  const auto* mine = dynamic_cast<const MemoryObject*>(object.get());
  return mine && mine->owner == this ? mine : nullptr;
}

std::vector<ObjectRef> MemoryTier::lookup(std::string_view primary_key) {
  Shard& shard = shard_for(primary_key);
  std::vector<Shard::Slot> found;
  found.reserve(4);  // outside the lock; few URLs have more variants
  {
    std::lock_guard lock(shard.mutex);
    auto v = shard.variants.find(primary_key);
    if (v == shard.variants.end()) return {};
    for (uint64_t id : v->second) found.push_back(shard.objects.at(id));
  }
  std::vector<ObjectRef> refs;
  refs.reserve(found.size());
  for (Shard::Slot& slot : found) {
    refs.push_back(fresh(shard, std::move(slot.snapshot), slot.hits, slot.last_access));
  }
  return refs;
}

ObjectRef MemoryTier::lookup(std::string_view primary_key, std::string_view variant) {
  Shard& shard = shard_for(primary_key);
  Shard::Slot found;
  {
    std::lock_guard lock(shard.mutex);
    uint64_t id = shard.find(primary_key, variant);
    if (id == 0) return nullptr;
    found = shard.objects.at(id);
  }
  return fresh(shard, std::move(found.snapshot), found.hits, found.last_access);
}

ObjectRef MemoryTier::fresh(Shard& shard, std::shared_ptr<const MemoryObject> snapshot,
                            uint64_t hits, int64_t last_access) {
  const ObjectMeta& current = snapshot->meta();
  if (current.hits == hits && current.last_access == last_access) return snapshot;
  ObjectMeta meta = current;  // the copy happens outside the lock
  meta.hits = hits;
  meta.last_access = last_access;
  auto updated = std::make_shared<const MemoryObject>(this, snapshot->id, std::move(meta),
                                                      snapshot->blocks);
  {
    // Installed only over the version it was made from, so a concurrent update_meta wins.
    std::lock_guard lock(shard.mutex);
    auto slot = shard.objects.find(snapshot->id);
    if (slot != shard.objects.end() && slot->second.snapshot == snapshot) {
      slot->second.snapshot = updated;
    }
  }
  return updated;
}

std::unique_ptr<Writer> MemoryTier::begin_write(const ObjectMeta& meta) {
  if (meta.block_size == 0 || meta.charge() > shard_capacity_) return nullptr;
  return std::make_unique<MemoryWriter>(*this, meta);
}

Error MemoryTier::insert(ObjectMeta meta, std::vector<BlockRef> blocks) {
  uint64_t charge = meta.charge();
  if (charge > shard_capacity_) return Error::no_space;
  Shard& shard = shard_for(meta.primary_key);
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t key_hash = object_key_hash(meta.primary_key, meta.variant);
  const uint64_t hits = meta.hits;
  const int64_t last_access = meta.last_access;
  auto object = std::make_shared<const MemoryObject>(
      this, id, std::move(meta), std::make_shared<const std::vector<BlockRef>>(std::move(blocks)));
  const ObjectMeta& m = object->meta();

  Shard::Gone gone;  // declared before the lock, so destroyed after it is released
  std::vector<uint64_t> evicted;
  std::lock_guard lock(shard.mutex);
  if (uint64_t old = shard.find(m.primary_key, m.variant)) {
    // A refetch of a stored object is a reuse: remembering its key sends the new one to main.
    shard.policy.remove(old, /*remember_in_ghost=*/true);
    shard.unlink(old, gone);
  }
  shard.policy.insert(id, key_hash, charge, evicted);  // fits: charge <= capacity, checked above
  for (uint64_t victim : evicted) shard.unlink(victim, gone);
  shard.evictions += evicted.size();
  shard.objects.emplace(id, Shard::Slot{object, hits, last_access});
  auto v = shard.variants.find(std::string_view(m.primary_key));
  if (v == shard.variants.end()) {
    v = shard.variants.emplace(m.primary_key, std::vector<uint64_t>{}).first;
  }
  v->second.push_back(id);
  return Error::none;
}

runtime::Task<BlockResult> MemoryTier::read_block(const ObjectRef& object, uint32_t index) {
  // Resolved at the call rather than when awaited: `object` may be a temporary by then. The ref
  // keeps its blocks alive, so no lock and no identity check against the index are needed.
  const MemoryObject* mine = own(object);
  if (!mine || index >= mine->blocks->size()) return ready(BlockResult{Error::invalid, nullptr});
  return ready(BlockResult{Error::none, (*mine->blocks)[index]});
}

ObjectRef MemoryTier::update_meta(const ObjectRef& object, ObjectMeta meta) {
  const MemoryObject* mine = own(object);
  if (!mine) return nullptr;
  const ObjectMeta& stored = mine->meta();
  if (meta.size != stored.size || meta.block_size != stored.block_size ||
      meta.primary_key != stored.primary_key || meta.variant != stored.variant) {
    return nullptr;
  }
  const uint64_t charge = meta.charge();
  if (charge > shard_capacity_) return nullptr;
  Shard& shard = shard_for(stored.primary_key);
  const uint64_t id = mine->id;

  Shard::Gone gone;  // destroyed after the lock
  std::vector<uint64_t> evicted;
  std::shared_ptr<const MemoryObject> updated;
  {
    std::lock_guard lock(shard.mutex);
    auto slot = shard.objects.find(id);
    if (slot == shard.objects.end()) return nullptr;
    // Counters never go back: touches since the caller's snapshot are kept.
    meta.hits = std::max(meta.hits, slot->second.hits);
    meta.last_access = std::max(meta.last_access, slot->second.last_access);
    slot->second.hits = meta.hits;
    slot->second.last_access = meta.last_access;
    // Built under the lock because the counters are; the meta is moved in, not copied.
    updated = std::make_shared<const MemoryObject>(this, id, std::move(meta), mine->blocks);
    gone.push_back(std::exchange(slot->second.snapshot, updated));
    shard.policy.recharge(id, charge, evicted);
    for (uint64_t victim : evicted) shard.unlink(victim, gone);
    shard.evictions += evicted.size();
    if (!shard.objects.contains(id)) return nullptr;  // a larger head made it its own victim
  }
  return updated;
}

void MemoryTier::touch(const ObjectRef& object, int64_t now) {
  const MemoryObject* mine = own(object);
  if (!mine) return;
  Shard& shard = shard_for(mine->meta().primary_key);
  std::lock_guard lock(shard.mutex);
  auto slot = shard.objects.find(mine->id);
  if (slot == shard.objects.end()) return;  // removed, replaced or evicted meanwhile
  shard.policy.access(mine->id);
  ++slot->second.hits;
  slot->second.last_access = std::max(slot->second.last_access, now);
}

size_t MemoryTier::remove(std::string_view primary_key, std::string_view variant) {
  Shard& shard = shard_for(primary_key);
  Shard::Gone gone;
  std::lock_guard lock(shard.mutex);
  uint64_t id = shard.find(primary_key, variant);
  if (id == 0) return 0;
  shard.policy.remove(id);
  shard.unlink(id, gone);
  return 1;
}

size_t MemoryTier::remove_all_variants(std::string_view primary_key) {
  Shard& shard = shard_for(primary_key);
  Shard::Gone gone;
  std::lock_guard lock(shard.mutex);
  size_t removed = 0;
  // unlink() erases the primary key's entry with its last variant, which ends the loop.
  for (auto v = shard.variants.find(primary_key); v != shard.variants.end();
       v = shard.variants.find(primary_key)) {
    uint64_t id = v->second.back();
    shard.policy.remove(id);
    shard.unlink(id, gone);
    ++removed;
  }
  return removed;
}

TierStats MemoryTier::stats() const {
  TierStats total;
  total.capacity = capacity_;
  for (unsigned i = 0; i < shard_count_; ++i) {
    const Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    total.objects += shard.objects.size();
    total.bytes += shard.policy.charged();
    total.evictions += shard.evictions;
  }
  return total;
}

}  // namespace stavka::storage
