// MemoryTier implementation: the immutable object handles over their blocks, the sharded index
// they live in (sharded_index.h), and the writer that validates a fill's blocks before
// publishing.
//
// Threads: see memory_tier.h. The index guards itself; handles (MemoryObject) are immutable
// after construction and shared freely; a MemoryWriter is confined to the coroutine that owns
// it.
#include "storage/memory_tier.h"

#include <utility>

#include "storage/block_tally.h"
#include "storage/sharded_index.h"

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
      : owner(owner), blocks(std::move(blocks)), id_(id), meta_(std::move(meta)) {}
  const ObjectMeta& meta() const override { return meta_; }
  uint64_t id() const { return id_; }
  std::shared_ptr<const MemoryObject> with_meta(ObjectMeta meta) const {
    return std::make_shared<const MemoryObject>(owner, id_, std::move(meta), blocks);
  }
  void left_index() const {}  // the body goes with the last handle

  const MemoryTier* const owner;
  const std::shared_ptr<const std::vector<BlockRef>> blocks;

 private:
  const uint64_t id_;
  const ObjectMeta meta_;
};

struct MemoryTier::Index : ShardedIndex<MemoryObject> {
  using ShardedIndex::ShardedIndex;
};

// Collects a fill's blocks, checking each against the meta given to begin_write, and publishes
// them once complete. Nothing it holds is visible to lookups before publish(); destroying it
// (published or not) frees whatever it still holds. One publish() per writer, even a failed one.
class MemoryTier::MemoryWriter final : public Writer {
 public:
  MemoryWriter(MemoryTier& tier, const ObjectMeta& meta)
      : tier_(tier), tally_(meta, tier.shard_capacity()) {}

  runtime::Task<Error> write_block(uint32_t index, BlockRef block) override {
    co_return store(index, std::move(block));
  }
  runtime::Task<Error> publish(ObjectMeta final_meta) override {
    co_return finish(std::move(final_meta));
  }

 private:
  Error store(uint32_t index, BlockRef block) {
    if (finished_ || !block) return Error::invalid;
    if (Error e = tally_.admit(index, block->size); e != Error::none) return e;
    tally_.record(index, block->size);
    if (index >= blocks_.size()) blocks_.resize(index + 1);
    blocks_[index] = std::move(block);
    return Error::none;
  }
  Error finish(ObjectMeta final_meta) {
    if (finished_) return Error::invalid;
    finished_ = true;
    std::vector<BlockRef> blocks = std::move(blocks_);  // freed on return unless published
    if (Error e = tally_.check_final(final_meta); e != Error::none) return e;
    return tier_.insert(std::move(final_meta), std::move(blocks));
  }

  MemoryTier& tier_;
  BlockTally tally_;
  std::vector<BlockRef> blocks_;  // by index; null where not written yet
  bool finished_ = false;
};

MemoryTier::MemoryTier(uint64_t capacity_bytes, unsigned shards)
    : index_(std::make_unique<Index>(capacity_bytes, shards)) {}

MemoryTier::~MemoryTier() = default;

unsigned MemoryTier::shard_count() const { return index_->shard_count(); }
uint64_t MemoryTier::shard_capacity() const { return index_->shard_capacity(); }
unsigned MemoryTier::shard_of(std::string_view primary_key) const {
  return index_->shard_of(primary_key);
}

const MemoryTier::MemoryObject* MemoryTier::own(const ObjectRef& object) const {
  const auto* mine = dynamic_cast<const MemoryObject*>(object.get());
  return mine && mine->owner == this ? mine : nullptr;
}

std::vector<ObjectRef> MemoryTier::lookup(std::string_view primary_key) {
  return index_->lookup(primary_key);
}

ObjectRef MemoryTier::lookup(std::string_view primary_key, std::string_view variant) {
  return index_->lookup(primary_key, variant);
}

std::unique_ptr<Writer> MemoryTier::begin_write(const ObjectMeta& meta) {
  if (meta.block_size == 0 || meta.charge() > index_->shard_capacity()) return nullptr;
  return std::make_unique<MemoryWriter>(*this, meta);
}

Error MemoryTier::insert(ObjectMeta meta, std::vector<BlockRef> blocks) {
  const uint64_t charge = meta.charge();
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  auto object = std::make_shared<const MemoryObject>(
      this, id, std::move(meta), std::make_shared<const std::vector<BlockRef>>(std::move(blocks)));
  return index_->insert(std::move(object), charge, NoExtra{}, [](Index::Shard&) {});
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
  // Built under the lock because the counters are; the meta is moved in, not copied.
  return index_->update(*mine, std::move(meta), [mine](Index::Slot&, ObjectMeta m) {
    const uint64_t charge = m.charge();
    return std::pair(mine->with_meta(std::move(m)), charge);
  });
}

void MemoryTier::touch(const ObjectRef& object, int64_t now) {
  if (const MemoryObject* mine = own(object)) {
    index_->touch(mine->meta().primary_key, mine->id(), now);
  }
}

size_t MemoryTier::remove(std::string_view primary_key, std::string_view variant) {
  return index_->remove(primary_key, variant);
}

size_t MemoryTier::remove_all_variants(std::string_view primary_key) {
  return index_->remove_all_variants(primary_key);
}

size_t MemoryTier::remove_by_tag(std::string_view tag) {
  return index_->remove_by_tag(tag);
}

size_t MemoryTier::remove_by_tag(std::string_view tag,
                                 const std::function<void(const ObjectMeta&)>& removed) {
  return index_->remove_by_tag(tag, [&](const MemoryObject& object) { removed(object.meta()); });
}

size_t MemoryTier::remove_by_prefix(std::string_view url_prefix) {
  return remove_by_prefix(url_prefix, [](const ObjectMeta&) {});
}

size_t MemoryTier::remove_by_prefix(std::string_view url_prefix,
                             const std::function<void(const ObjectMeta&)>& removed) {
  return index_->remove_by_prefix(
      url_prefix, [&](const ObjectMeta& meta) { return meta.url.starts_with(url_prefix); },
      [&](const MemoryObject& object) { removed(object.meta()); });
}

std::vector<ListedKey> MemoryTier::list(const ListQuery& q) {
  return index_->list(q.after_url, q.after_key, q.url_prefix, q.limit,
                      [&](const ObjectMeta& meta) { return passes(q, meta); });
}

TierStats MemoryTier::stats() const { return index_->stats(); }

}  // namespace stavka::storage
