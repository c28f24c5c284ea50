// TieredStorage implementation: routing by handle ownership, the write-through writer, and
// promotion of disk hits (see tiered_storage.h for the rules and their ordering argument).
//
// Threads: no state of its own besides counters (atomics) and each PromotingHandle's
// collected blocks (behind the handle's mutex). A TieredWriter is confined to the coroutine
// that owns it, like the tiers' writers it drives.
#include "storage/tiered_storage.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <unordered_set>
#include <tuple>
#include <utility>

namespace stavka::storage {

namespace {

template <typename T>
runtime::Task<T> ready(T value) {
  co_return value;
}

// The same stored version of an object, as far as heads tell (ids differ across tiers).
bool same_version(const ObjectMeta& a, const ObjectMeta& b) {
  return a.size == b.size && a.etag == b.etag && a.last_modified == b.last_modified &&
         a.response_time == b.response_time;
}

// The more telling of two write errors: a broken contract over a tier's own trouble.
Error worse(Error a, Error b) {
  if (a == Error::invalid || b == Error::invalid) return Error::invalid;
  return a != Error::none ? a : b;
}

}  // namespace

// A disk handle that collects the blocks read through it; when it has all of them, they are
// promoted into memory (once).
class TieredStorage::PromotingHandle final : public StoredObject {
 public:
  explicit PromotingHandle(ObjectRef disk) : disk(std::move(disk)) {}
  const ObjectMeta& meta() const override { return disk->meta(); }

  // Keeps block `index`; returns every block once the last one arrives (the first time).
  std::vector<BlockRef> collect(uint32_t index, BlockRef block) const {
    std::lock_guard lock(mutex_);
    if (done_) return {};
    if (blocks_.empty()) blocks_.resize(disk->meta().block_count());
    if (!blocks_[index]) {
      blocks_[index] = std::move(block);
      ++have_;
    }
    if (have_ < blocks_.size()) return {};
    done_ = true;
    return std::move(blocks_);
  }

  const ObjectRef disk;

 private:
  mutable std::mutex mutex_;
  mutable std::vector<BlockRef> blocks_;
  mutable size_t have_ = 0;
  mutable bool done_ = false;
};

// Feeds both tiers' writers; a tier whose writer fails drops out (see tiered_storage.h).
class TieredStorage::TieredWriter final : public Writer {
 public:
  TieredWriter(TieredStorage& storage, std::unique_ptr<Writer> disk, std::unique_ptr<Writer> memory)
      : storage_(storage), disk_(std::move(disk)), memory_(std::move(memory)) {}

  runtime::Task<Error> write_block(uint32_t index, BlockRef block) override {
    if (finished_) co_return Error::invalid;
    Error error = Error::none;
    if (disk_) {
      if (Error e = co_await disk_->write_block(index, block); e != Error::none) {
        error = e;
        disk_.reset();  // aborts the disk write
        if (e != Error::invalid) {
          storage_.disk_publish_failures_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    if (memory_) {
      if (Error e = co_await memory_->write_block(index, std::move(block)); e != Error::none) {
        error = worse(e, error);
        memory_.reset();
      }
    }
    // A broken contract fails the write whatever a tier made of it.
    if (error == Error::invalid || (!disk_ && !memory_)) {
      disk_.reset();
      memory_.reset();
      co_return error;
    }
    co_return Error::none;
  }

  runtime::Task<Error> publish(ObjectMeta final_meta) override {
    if (finished_) co_return Error::invalid;
    finished_ = true;
    if (!disk_ && !memory_) co_return Error::invalid;  // a failed write_block already told
    Error disk_error = Error::no_space;
    Error memory_error = Error::no_space;
    // Disk first: promotion relies on it (tiered_storage.h).
    if (disk_) {
      disk_error = co_await disk_->publish(final_meta);
      if (disk_error != Error::none && disk_error != Error::invalid) {
        storage_.disk_publish_failures_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (memory_) {
      memory_error = co_await memory_->publish(final_meta);
      if (memory_error != Error::none && memory_error != Error::invalid) {
        storage_.memory_publish_failures_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (disk_error == Error::invalid || memory_error == Error::invalid) {
      // Both check the same contract; a disk copy published on its own is withdrawn.
      if (disk_error == Error::none) {
        storage_.disk_->remove(final_meta.primary_key, final_meta.variant);
      }
      co_return Error::invalid;
    }
    if (disk_error != Error::none && memory_error != Error::none) {
      co_return disk_ ? disk_error : memory_error;
    }
    if (storage_.disk_ && disk_error != Error::none) {
      storage_.publish_missed(*storage_.disk_, final_meta);
    }
    if (storage_.memory_ && memory_error != Error::none) {
      storage_.publish_missed(*storage_.memory_, final_meta);
    }
    co_return Error::none;
  }

 private:
  TieredStorage& storage_;
  std::unique_ptr<Writer> disk_;
  std::unique_ptr<Writer> memory_;
  bool finished_ = false;
};

TieredStorage::TieredStorage(std::unique_ptr<MemoryTier> memory, std::unique_ptr<DiskTier> disk)
    : memory_(std::move(memory)), disk_(std::move(disk)) {
  if (memory_) promote_limit_ = memory_->shard_capacity() / 8;
}

TieredStorage::~TieredStorage() = default;

void TieredStorage::publish_missed(Storage& tier, const ObjectMeta& meta) {
  tier.remove(meta.primary_key, meta.variant);
}

ObjectRef TieredStorage::from_disk(ObjectRef object) {
  if (!object || !memory_ || object->meta().block_count() == 0 ||
      object->meta().charge() > promote_limit_) {
    return object;
  }
  return std::make_shared<const PromotingHandle>(std::move(object));
}

std::vector<ObjectRef> TieredStorage::lookup(std::string_view primary_key) {
  std::vector<ObjectRef> found;
  if (memory_) found = memory_->lookup(primary_key);
  if (disk_) {
    for (ObjectRef& object : disk_->lookup(primary_key)) {
      const std::string& variant = object->meta().variant;
      bool in_memory = std::any_of(found.begin(), found.end(), [&](const ObjectRef& m) {
        return m->meta().variant == variant;
      });
      if (!in_memory) found.push_back(from_disk(std::move(object)));
    }
  }
  return found;
}

ObjectRef TieredStorage::lookup(std::string_view primary_key, std::string_view variant) {
  if (memory_) {
    if (ObjectRef object = memory_->lookup(primary_key, variant)) return object;
  }
  return disk_ ? from_disk(disk_->lookup(primary_key, variant)) : nullptr;
}

std::unique_ptr<Writer> TieredStorage::begin_write(const ObjectMeta& meta) {
  std::unique_ptr<Writer> disk = disk_ ? disk_->begin_write(meta) : nullptr;
  std::unique_ptr<Writer> memory = memory_ ? memory_->begin_write(meta) : nullptr;
  if (!disk && !memory) return nullptr;
  return std::make_unique<TieredWriter>(*this, std::move(disk), std::move(memory));
}

runtime::Task<BlockResult> TieredStorage::read_block(const ObjectRef& object, uint32_t index) {
  if (const auto* promoting = dynamic_cast<const PromotingHandle*>(object.get())) {
    if (index >= promoting->meta().block_count()) {
      return ready(BlockResult{Error::invalid, nullptr});
    }
    return read_promoting(std::shared_ptr<const PromotingHandle>(object, promoting), index);
  }
  if (disk_ && disk_->owns(object)) return disk_->read_block(object, index);
  if (memory_) return memory_->read_block(object, index);
  return ready(BlockResult{Error::invalid, nullptr});
}

runtime::Task<BlockResult> TieredStorage::read_promoting(
    std::shared_ptr<const PromotingHandle> handle, uint32_t index) {
  BlockResult result = co_await disk_->read_block(handle->disk, index);
  if (result.error == Error::none) {
    std::vector<BlockRef> all = handle->collect(index, result.block);
    if (!all.empty()) co_await promote(handle->disk, std::move(all));
  }
  co_return result;
}

runtime::Task<void> TieredStorage::promote(ObjectRef disk_object, std::vector<BlockRef> blocks) {
  const ObjectMeta& meta = disk_object->meta();
  if (memory_->lookup(meta.primary_key, meta.variant)) co_return;  // promoted by another reader
  std::unique_ptr<Writer> writer = memory_->begin_write(meta);
  if (!writer) co_return;
  for (uint32_t i = 0; i < blocks.size(); ++i) {
    if (co_await writer->write_block(i, std::move(blocks[i])) != Error::none) co_return;
  }
  if (co_await writer->publish(meta) != Error::none) co_return;
  // Replaced or removed on disk meanwhile: the copy just made must not outlive it.
  if (!disk_->contains(disk_object)) {
    memory_->remove(meta.primary_key, meta.variant);
    co_return;
  }
  promotions_.fetch_add(1, std::memory_order_relaxed);
}

ObjectRef TieredStorage::update_meta(const ObjectRef& object, ObjectMeta meta) {
  ObjectRef target = object;
  if (const auto* promoting = dynamic_cast<const PromotingHandle*>(object.get())) {
    target = promoting->disk;
  }
  if (!target) return nullptr;
  const bool on_disk = disk_ && disk_->owns(target);
  Storage* own_tier = on_disk ? static_cast<Storage*>(disk_.get()) : memory_.get();
  Storage* other_tier = on_disk ? static_cast<Storage*>(memory_.get()) : disk_.get();
  if (!own_tier) return nullptr;
  const ObjectMeta& old = target->meta();
  ObjectRef other = other_tier ? other_tier->lookup(old.primary_key, old.variant) : nullptr;
  ObjectRef updated = own_tier->update_meta(target, other ? meta : std::move(meta));
  if (updated && other && same_version(other->meta(), old)) {
    other_tier->update_meta(other, std::move(meta));
  }
  return on_disk ? from_disk(std::move(updated)) : updated;
}

void TieredStorage::touch(const ObjectRef& object, int64_t now) {
  ObjectRef target = object;
  if (const auto* promoting = dynamic_cast<const PromotingHandle*>(object.get())) {
    target = promoting->disk;
  }
  if (!target) return;
  if (disk_ && disk_->owns(target)) {
    disk_->touch(target, now);
    return;
  }
  if (!memory_) return;
  memory_->touch(target, now);
  // The disk copy's counters and recency follow, so that they survive a restart.
  if (disk_) disk_->touch(target->meta().primary_key, target->meta().variant, now);
}

size_t TieredStorage::remove(std::string_view primary_key, std::string_view variant) {
  // Disk first: promotion relies on it (tiered_storage.h).
  size_t removed = disk_ ? disk_->remove(primary_key, variant) : 0;
  if (memory_) removed = std::max(removed, memory_->remove(primary_key, variant));
  return removed;
}

size_t TieredStorage::remove_all_variants(std::string_view primary_key) {
  std::set<std::string> variants;  // objects are counted once, whichever tiers held them
  for (Storage* tier : {static_cast<Storage*>(disk_.get()), static_cast<Storage*>(memory_.get())}) {
    if (!tier) continue;
    for (const ObjectRef& object : tier->lookup(primary_key)) {
      variants.insert(object->meta().variant);
    }
  }
  size_t removed = disk_ ? disk_->remove_all_variants(primary_key) : 0;
  removed = std::max(removed, memory_ ? memory_->remove_all_variants(primary_key) : 0);
  return std::max(removed, variants.size());
}

namespace {

// Names (primary key, variant) in one string without ambiguity: the key's length comes first.
void object_name(const ObjectMeta& meta, std::string& out) {
  out.assign(std::to_string(meta.primary_key.size()));
  out.push_back(':');
  out.append(meta.primary_key);
  out.append(meta.variant);
}

}  // namespace

// Runs a removal on both tiers, disk first (promotion relies on it, tiered_storage.h): an
// object found in both is counted once, by its disk copy. remove(tier, removed) removes from
// one tier, calling removed(meta) for each object it took out.
template <typename Remove>
size_t TieredStorage::remove_from_both(Remove&& remove) {
  if (!memory_) return remove(*disk_, [](const ObjectMeta&) {});
  if (!disk_) return remove(*memory_, [](const ObjectMeta&) {});
  std::unordered_set<std::string> on_disk;
  std::string name;
  size_t removed = remove(*disk_, [&](const ObjectMeta& meta) {
    object_name(meta, name);
    on_disk.insert(name);
  });
  remove(*memory_, [&](const ObjectMeta& meta) {
    object_name(meta, name);
    if (!on_disk.contains(name)) ++removed;
  });
  return removed;
}

size_t TieredStorage::remove_by_tag(std::string_view tag) {
  return remove_from_both([&](auto& tier, const std::function<void(const ObjectMeta&)>& removed) {
    return tier.remove_by_tag(tag, removed);
  });
}

size_t TieredStorage::remove_by_prefix(std::string_view url_prefix) {
  return remove_from_both([&](auto& tier, const std::function<void(const ObjectMeta&)>& removed) {
    return tier.remove_by_prefix(url_prefix, removed);
  });
}

// Both tiers' pages merged by key: an object is normally in both (write-through), and one the
// other tier refused is listed from the tier that has it. A key in both lists the disk's
// variants and those only memory has.
std::vector<ListedKey> TieredStorage::list(const ListQuery& q) {
  if (!memory_) return disk_->list(q);
  if (!disk_) return memory_->list(q);
  std::vector<ListedKey> d = disk_->list(q), m = memory_->list(q);
  std::vector<ListedKey> out;
  auto before = [](const ListedKey& a, const ListedKey& b) {
    return std::tie(a.url, a.key) < std::tie(b.url, b.key);
  };
  size_t i = 0, j = 0;
  while (out.size() < q.limit && (i < d.size() || j < m.size())) {
    if (j == m.size() || (i < d.size() && before(d[i], m[j]))) {
      out.push_back(std::move(d[i++]));
    } else if (i == d.size() || before(m[j], d[i])) {
      out.push_back(std::move(m[j++]));
    } else {
      ListedKey& both = out.emplace_back(std::move(d[i++]));
      for (ObjectRef& r : m[j++].variants) {
        const bool known = std::any_of(both.variants.begin(), both.variants.end(),
                                       [&](const ObjectRef& x) {
                                         return x->meta().variant == r->meta().variant;
                                       });
        if (!known) both.variants.push_back(std::move(r));
      }
    }
  }
  return out;
}

TierStats TieredStorage::memory_stats() const {
  return memory_ ? memory_->stats() : TierStats{};
}
TierStats TieredStorage::disk_stats() const {
  return disk_ ? disk_->stats() : TierStats{};
}

TierStats TieredStorage::stats() const {
  TierStats m = memory_stats();
  TierStats d = disk_stats();
  return {std::max(m.objects, d.objects), m.bytes + d.bytes, m.capacity + d.capacity,
          m.evictions + d.evictions};
}

TieredCounters TieredStorage::counters() const {
  return {promotions_.load(std::memory_order_relaxed),
          memory_publish_failures_.load(std::memory_order_relaxed),
          disk_publish_failures_.load(std::memory_order_relaxed)};
}

}  // namespace stavka::storage
