// DiskTier implementation: the sharded index (as in the memory tier), object files shared by
// handles, the writer that lays blocks out in a file, block reads with verification, and
// open(), which builds the index from disk_recovery's result.
//
// Threads: see disk_tier.h. Within a shard, `variants`, `objects`, `policy`, `evictions` and
// `dirty` are guarded by `mutex`. Manifest operations concerning a shard's objects are pushed
// under that shard's mutex, so the manifest sees them in the index's order (shard mutex, then
// the manifest queue's mutex; never the other way). Handles (DiskObject) are immutable; an
// ObjectFile's only mutable state is its atomic `doomed` flag. A DiskWriter is confined to
// the coroutine that owns it.
// Invariants, per shard, whenever its mutex is free: the same as the memory tier's, with
// policy charges equal to disk_charge(file length); every object in the index has a complete,
// published file that is not doomed; every object that left the index has a doomed file.
#include "storage/disk_tier.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "runtime/io.h"
#include "storage/disk_format.h"
#include "storage/disk_recovery.h"
#include "storage/file_io.h"
#include "storage/key_hash.h"
#include "storage/manifest.h"
#include "storage/manifest_writer.h"
#include "storage/s3fifo.h"

namespace stavka::storage {

namespace {

// An object costs what its file takes on a file system of 4 KiB blocks.
uint64_t disk_charge(uint64_t file_length) {
  return (file_length + 4095) / 4096 * 4096;
}

template <typename T>
runtime::Task<T> ready(T value) {
  co_return value;
}

}  // namespace

// The file of one object id, shared by every handle of that object (update_meta's new
// versions included). Once doomed (the object left the index), the last owner to let go
// queues the unlink on the manifest thread: destructors may run on a reactor.
struct DiskTier::ObjectFile {
  ObjectFile(uint64_t id, std::string path, std::shared_ptr<ManifestWriter> manifest)
      : id(id), path(std::move(path)), manifest(std::move(manifest)) {}
  ~ObjectFile() {
    if (doomed.load(std::memory_order_acquire)) {
      manifest->push(ManifestOp::unlink_file(path));
    }
  }

  const uint64_t id;
  const std::string path;
  const std::shared_ptr<ManifestWriter> manifest;
  std::atomic<bool> doomed{false};
};

class DiskTier::DiskObject final : public StoredObject {
 public:
  DiskObject(const DiskTier* owner, std::shared_ptr<ObjectFile> file, ObjectMeta meta)
      : owner(owner), file(std::move(file)), meta_(std::move(meta)) {}
  const ObjectMeta& meta() const override { return meta_; }
  uint64_t id() const { return file->id; }

  const DiskTier* const owner;
  const std::shared_ptr<ObjectFile> file;

 private:
  const ObjectMeta meta_;
};

struct DiskTier::Shard {
  struct Slot {
    std::shared_ptr<const DiskObject> snapshot;  // the version lookup hands out
    uint64_t hits;                               // live counters (touch); may be ahead of it
    int64_t last_access;
    uint32_t region_length;  // of the file's meta region: a rewrite never shrinks it
    bool dirty;              // counters changed since the manifest last collected them
  };
  using Gone = std::vector<std::shared_ptr<const DiskObject>>;

  uint64_t find(std::string_view primary_key, std::string_view variant) const {
    auto v = variants.find(primary_key);
    if (v == variants.end()) return 0;
    for (uint64_t id : v->second) {
      if (objects.at(id).snapshot->meta().variant == variant) return id;
    }
    return 0;
  }

  // Takes id out of both maps (the caller has dropped it from the policy), dooms its file and
  // queues the row's removal. The handle goes to `gone`, released after the lock.
  void unlink(uint64_t id, Gone& gone, ManifestWriter& manifest) {
    auto slot = objects.find(id);
    const DiskObject& object = *slot->second.snapshot;
    auto v = variants.find(object.meta().primary_key);
    std::erase(v->second, id);
    if (v->second.empty()) variants.erase(v);
    object.file->doomed.store(true, std::memory_order_release);
    manifest.push(ManifestOp::remove(id));
    gone.push_back(std::move(slot->second.snapshot));
    objects.erase(slot);
  }

  mutable std::mutex mutex;
  std::unordered_map<std::string, std::vector<uint64_t>, KeyHash, std::equal_to<>> variants;
  std::unordered_map<uint64_t, Slot> objects;
  S3Fifo policy{0};
  uint64_t evictions = 0;
  std::vector<uint64_t> dirty;  // ids whose Slot::dirty is set
};

// Writes a fill's blocks into the object's file at their slots as they come, checking each
// against the meta given to begin_write, then the meta record and footer at publish. The file
// is created by the first write (or by publish for an empty body); a writer destroyed without
// a successful publish has the manifest thread delete it.
class DiskTier::DiskWriter final : public Writer {
 public:
  DiskWriter(DiskTier& tier, uint64_t id, const ObjectMeta& meta)
      : tier_(tier),
        id_(id),
        path_(disk_format::object_path(tier.dir_, id)),
        primary_key_(meta.primary_key),
        variant_(meta.variant),
        expected_size_(meta.size),
        block_size_(meta.block_size) {}
  ~DiskWriter() override {
    if (created_ && !published_) {
      tier_.manifest_->push(ManifestOp::unlink_file(path_));
    }
  }

  runtime::Task<Error> write_block(uint32_t index, BlockRef block) override;
  runtime::Task<Error> publish(ObjectMeta final_meta) override;

 private:
  Error check(uint32_t index, const BlockRef& block) const;
  Error check_final(const ObjectMeta& m) const;

  DiskTier& tier_;
  const uint64_t id_;
  const std::string path_;
  const std::string primary_key_;
  const std::string variant_;
  const uint64_t expected_size_;  // unknown_size until publish when begin_write did not know it
  const uint32_t block_size_;
  std::vector<uint32_t> sizes_;  // written block sizes by index; 0 where not written (yet)
  uint64_t bytes_ = 0;
  bool created_ = false;  // the file may exist
  bool finished_ = false;
  bool published_ = false;
};

Error DiskTier::DiskWriter::check(uint32_t index, const BlockRef& block) const {
  if (finished_ || !block || block->size == 0 || block->size > block_size_) return Error::invalid;
  uint64_t start = static_cast<uint64_t>(index) * block_size_;
  if (expected_size_ != unknown_size) {
    if (start >= expected_size_) return Error::invalid;
    if (block->size != std::min<uint64_t>(block_size_, expected_size_ - start)) {
      return Error::invalid;
    }
  } else if (start + block->size > tier_.shard_capacity_) {
    return Error::no_space;  // before sizes_ grows to the index
  }
  if (index < sizes_.size() && sizes_[index] != 0) return Error::invalid;  // each block once
  if (bytes_ + block->size > tier_.shard_capacity_) return Error::no_space;
  return Error::none;
}

runtime::Task<Error> DiskTier::DiskWriter::write_block(uint32_t index, BlockRef block) {
  if (Error e = check(index, block); e != Error::none) co_return e;
  if (index >= sizes_.size()) sizes_.resize(index + 1, 0);
  sizes_[index] = block->size;
  bytes_ += block->size;
  created_ = true;

  char header[disk_format::block_header_size];
  disk_format::encode_block_header({id_, index, block->size, block->crc}, header);
  iovec iov[2] = {{header, sizeof header}, {const_cast<char*>(block->data.get()), block->size}};
  int result =
      co_await write_file(path_.c_str(), iov, 2, disk_format::slot_offset(index, block_size_));
  if (result < 0) {
    sizes_[index] = 0;  // may be written again
    bytes_ -= block->size;
    co_return result == -ENOSPC ? Error::no_space : Error::io;
  }
  co_return Error::none;
}

Error DiskTier::DiskWriter::check_final(const ObjectMeta& m) const {
  if (m.size == unknown_size || m.block_size != block_size_ || m.primary_key != primary_key_ ||
      m.variant != variant_ || (expected_size_ != unknown_size && m.size != expected_size_)) {
    return Error::invalid;
  }
  if (sizes_.size() != m.block_count()) return Error::invalid;  // trailing blocks missing/extra
  uint64_t total = 0;
  for (size_t i = 0; i < sizes_.size(); ++i) {
    uint64_t start = i * static_cast<uint64_t>(block_size_);
    if (sizes_[i] != std::min<uint64_t>(block_size_, m.size - start)) return Error::invalid;
    total += sizes_[i];
  }
  // Guards against block_count() truncating a size that no written body could have.
  return total == m.size ? Error::none : Error::invalid;
}

runtime::Task<Error> DiskTier::DiskWriter::publish(ObjectMeta final_meta) {
  if (finished_) co_return Error::invalid;
  finished_ = true;
  if (Error e = check_final(final_meta); e != Error::none) co_return e;
  std::optional<std::string> tail = disk_format::encode_meta_tail(final_meta, id_, 0);
  if (!tail) co_return Error::no_space;
  const auto region = static_cast<uint32_t>(tail->size() - disk_format::footer_size);
  if (disk_charge(disk_format::file_length(final_meta, region)) > tier_.shard_capacity_) {
    co_return Error::no_space;
  }
  created_ = true;
  // No fdatasync: a killed process loses nothing from the page cache, and after a power loss
  // every block and meta record still proves itself by its CRC and object id (ids are never
  // reused, so stale bytes cannot pass for this object's). What a power loss costs is objects
  // (dropped at start-up or on first read), never wrong bytes; a flush per fill would cost a
  // device cache flush per object on the fill path.
  iovec iov[1] = {{tail->data(), tail->size()}};
  int result = co_await write_file(path_.c_str(), iov, 1, disk_format::data_end(final_meta));
  if (result < 0) co_return result == -ENOSPC ? Error::no_space : Error::io;
  Error e = tier_.insert(id_, std::move(final_meta), region, /*recorded=*/false);
  published_ = e == Error::none;
  co_return e;
}

DiskTier::DiskTier(std::string dir, uint64_t max_size, unsigned shards,
                   std::shared_ptr<ManifestWriter> manifest)
    : dir_(std::move(dir)),
      capacity_(max_size),
      shard_count_(std::max(shards, 1u)),
      shard_capacity_(max_size / shard_count_),
      shards_(std::make_unique<Shard[]>(shard_count_)),
      manifest_(std::move(manifest)) {
  for (unsigned i = 0; i < shard_count_; ++i) shards_[i].policy = S3Fifo(shard_capacity_);
  manifest_->set_counter_source(
      [this](std::vector<CounterUpdate>& out) { return collect_counters(out); });
}

DiskTier::~DiskTier() {
  manifest_->flush();
  manifest_->set_counter_source(nullptr);
}

DiskTier::Opened DiskTier::open(const std::string& dir, uint64_t max_size, unsigned shards) {
  std::string root = dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  Recovery recovery;
  std::string error;
  if (!recover(root, recovery, error)) return {nullptr, error};
  auto manifest = std::make_shared<ManifestWriter>(std::move(recovery.manifest));
  std::unique_ptr<DiskTier> tier(new DiskTier(root, max_size, shards, manifest));
  tier->next_id_.store(recovery.next_id);

  // Least recently used first, so that if max_size shrank, the policy evicts those.
  std::vector<RecoveredObject>& objects = recovery.objects;
  std::sort(objects.begin(), objects.end(), [](const RecoveredObject& a, const RecoveredObject& b) {
    return std::tie(a.meta.last_access, a.id) < std::tie(b.meta.last_access, b.id);
  });
  DiskOpenStats& stats = recovery.stats;
  for (RecoveredObject& object : objects) {
    if (tier->insert(object.id, std::move(object.meta), object.region_length, object.recorded) !=
        Error::none) {
      // Larger than a shard's slice now: no handle ever existed, so remove row and file here.
      manifest->push(ManifestOp::remove(object.id));
      manifest->push(ManifestOp::unlink_file(disk_format::object_path(root, object.id)));
      ++stats.evicted;
    }
  }
  for (unsigned i = 0; i < tier->shard_count_; ++i) {
    stats.evicted += std::exchange(tier->shards_[i].evictions, 0);
  }
  tier->open_stats_ = stats;
  return {std::move(tier), {}};
}

void DiskTier::flush() {
  manifest_->flush();
}

ManifestWriterStats DiskTier::manifest_stats() const {
  return manifest_->stats();
}

unsigned DiskTier::shard_of(std::string_view primary_key) const {
  return static_cast<unsigned>(mix(hash_of(primary_key)) % shard_count_);
}

DiskTier::Shard& DiskTier::shard_for(std::string_view primary_key) const {
  return shards_[shard_of(primary_key)];
}

const DiskTier::DiskObject* DiskTier::own(const ObjectRef& object) const {
  const auto* mine = dynamic_cast<const DiskObject*>(object.get());
  return mine && mine->owner == this ? mine : nullptr;
}

bool DiskTier::contains(const ObjectRef& object) const {
  const DiskObject* mine = own(object);
  if (!mine) return false;
  Shard& shard = shard_for(mine->meta().primary_key);
  std::lock_guard lock(shard.mutex);
  return shard.objects.contains(mine->id());
}

std::vector<ObjectRef> DiskTier::lookup(std::string_view primary_key) {
  Shard& shard = shard_for(primary_key);
  std::vector<Shard::Slot> found;
  found.reserve(4);
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

ObjectRef DiskTier::lookup(std::string_view primary_key, std::string_view variant) {
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

ObjectRef DiskTier::fresh(Shard& shard, std::shared_ptr<const DiskObject> snapshot, uint64_t hits,
                          int64_t last_access) {
  const ObjectMeta& current = snapshot->meta();
  if (current.hits == hits && current.last_access == last_access) return snapshot;
  ObjectMeta meta = current;  // copied outside the lock
  meta.hits = hits;
  meta.last_access = last_access;
  auto updated = std::make_shared<const DiskObject>(this, snapshot->file, std::move(meta));
  {
    // Installed only over the version it was made from, so a concurrent update_meta wins.
    std::lock_guard lock(shard.mutex);
    auto slot = shard.objects.find(snapshot->id());
    if (slot != shard.objects.end() && slot->second.snapshot == snapshot) {
      slot->second.snapshot = updated;
    }
  }
  return updated;
}

std::unique_ptr<Writer> DiskTier::begin_write(const ObjectMeta& meta) {
  if (meta.block_size == 0) return nullptr;
  const uint32_t region = disk_format::natural_region_length(meta);
  if (region > disk_format::max_region_size) return nullptr;
  if (meta.size != unknown_size &&
      disk_charge(disk_format::file_length(meta, region)) > shard_capacity_) {
    return nullptr;
  }
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  return std::make_unique<DiskWriter>(*this, id, meta);
}

Error DiskTier::insert(uint64_t id, ObjectMeta meta, uint32_t region_length, bool recorded) {
  const uint64_t file_length = disk_format::file_length(meta, region_length);
  const uint64_t charge = disk_charge(file_length);
  if (charge > shard_capacity_) return Error::no_space;
  Shard& shard = shard_for(meta.primary_key);
  const uint64_t key_hash = object_key_hash(meta.primary_key, meta.variant);
  const uint64_t hits = meta.hits;
  const int64_t last_access = meta.last_access;
  auto file = std::make_shared<ObjectFile>(id, disk_format::object_path(dir_, id), manifest_);
  auto object = std::make_shared<const DiskObject>(this, std::move(file), std::move(meta));
  const ObjectMeta& m = object->meta();

  Shard::Gone gone;  // released after the lock
  std::vector<uint64_t> evicted;
  std::lock_guard lock(shard.mutex);
  if (uint64_t old = shard.find(m.primary_key, m.variant)) {
    shard.policy.remove(old, /*remember_in_ghost=*/true);
    shard.unlink(old, gone, *manifest_);
  }
  shard.policy.insert(id, key_hash, charge, evicted);
  for (uint64_t victim : evicted) shard.unlink(victim, gone, *manifest_);
  shard.evictions += evicted.size();
  if (!recorded) {
    manifest_->push(ManifestOp::put(object, id, file_length, charge));
  }
  shard.objects.emplace(id, Shard::Slot{object, hits, last_access, region_length, false});
  auto v = shard.variants.find(std::string_view(m.primary_key));
  if (v == shard.variants.end()) {
    v = shard.variants.emplace(m.primary_key, std::vector<uint64_t>{}).first;
  }
  v->second.push_back(id);
  return Error::none;
}

runtime::Task<BlockResult> DiskTier::read_block(const ObjectRef& object, uint32_t index) {
  // Resolved at the call: `object` may be a temporary by the time the task runs. The copy in
  // the task's frame keeps the file from being unlinked while it is read.
  const DiskObject* mine = own(object);
  if (!mine || index >= mine->meta().block_count()) {
    return ready(BlockResult{Error::invalid, nullptr});
  }
  return read_from(std::shared_ptr<const DiskObject>(object, mine), index);
}

runtime::Task<BlockResult> DiskTier::read_from(std::shared_ptr<const DiskObject> object,
                                               uint32_t index) {
  const ObjectMeta& m = object->meta();
  const auto size = static_cast<uint32_t>(
      std::min<uint64_t>(m.block_size, m.size - static_cast<uint64_t>(index) * m.block_size));
  char header[disk_format::block_header_size];
  auto block = std::make_shared<Block>();
  block->data = std::make_unique_for_overwrite<char[]>(size);
  block->size = size;
  iovec iov[2] = {{header, sizeof header}, {block->data.get(), size}};

  int fd = co_await runtime::openat(AT_FDCWD, object->file->path.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    // The file of a live handle is never unlinked by us: missing means removed behind our back.
    if (fd != -ENOENT) co_return BlockResult{Error::io, nullptr};
    drop_corrupt(*object);
    co_return BlockResult{Error::corrupt, nullptr};
  }
  int64_t n = co_await read_file(fd, iov, 2, disk_format::slot_offset(index, m.block_size));
  co_await runtime::close(fd);
  if (n < 0) co_return BlockResult{Error::io, nullptr};

  std::optional<disk_format::BlockHeader> h;
  if (n == static_cast<int64_t>(sizeof header + size)) {
    h = disk_format::decode_block_header({header, sizeof header});
  }
  if (!h || h->object_id != object->id() || h->index != index || h->size != size ||
      h->crc != crc32c(block->data.get(), size)) {
    drop_corrupt(*object);
    co_return BlockResult{Error::corrupt, nullptr};
  }
  block->crc = h->crc;
  co_return BlockResult{Error::none, std::move(block)};
}

void DiskTier::drop_corrupt(const DiskObject& object) {
  corrupt_drops_.fetch_add(1, std::memory_order_relaxed);
  object.file->doomed.store(true, std::memory_order_release);
  Shard& shard = shard_for(object.meta().primary_key);
  Shard::Gone gone;
  std::lock_guard lock(shard.mutex);
  if (!shard.objects.contains(object.id())) return;  // already gone (and doomed)
  shard.policy.remove(object.id());
  shard.unlink(object.id(), gone, *manifest_);
}

ObjectRef DiskTier::update_meta(const ObjectRef& object, ObjectMeta meta) {
  const DiskObject* mine = own(object);
  if (!mine) return nullptr;
  const ObjectMeta& stored = mine->meta();
  if (meta.size != stored.size || meta.block_size != stored.block_size ||
      meta.primary_key != stored.primary_key || meta.variant != stored.variant) {
    return nullptr;
  }
  const uint32_t natural = disk_format::natural_region_length(meta);
  if (natural > disk_format::max_region_size) return nullptr;
  Shard& shard = shard_for(stored.primary_key);
  const uint64_t id = mine->id();

  Shard::Gone gone;
  std::vector<uint64_t> evicted;
  std::shared_ptr<const DiskObject> updated;
  {
    std::lock_guard lock(shard.mutex);
    auto slot = shard.objects.find(id);
    if (slot == shard.objects.end()) return nullptr;
    Shard::Slot& s = slot->second;
    const uint32_t region = std::max(s.region_length, natural);
    const uint64_t file_length = disk_format::file_length(meta, region);
    const uint64_t charge = disk_charge(file_length);
    if (charge > shard_capacity_) return nullptr;
    meta.hits = std::max(meta.hits, s.hits);
    meta.last_access = std::max(meta.last_access, s.last_access);
    s.hits = meta.hits;
    s.last_access = meta.last_access;
    s.region_length = region;
    updated = std::make_shared<const DiskObject>(this, s.snapshot->file, std::move(meta));
    gone.push_back(std::exchange(s.snapshot, updated));
    ManifestOp op = ManifestOp::put(updated, id, file_length, charge);
    op.rewrite_region = region;
    op.path = updated->file->path;
    manifest_->push(std::move(op));
    shard.policy.recharge(id, charge, evicted);
    for (uint64_t victim : evicted) shard.unlink(victim, gone, *manifest_);
    shard.evictions += evicted.size();
    if (!shard.objects.contains(id)) return nullptr;  // a larger head made it its own victim
  }
  return updated;
}

void DiskTier::touch(const ObjectRef& object, int64_t now) {
  const DiskObject* mine = own(object);
  if (!mine) return;
  Shard& shard = shard_for(mine->meta().primary_key);
  std::lock_guard lock(shard.mutex);
  auto slot = shard.objects.find(mine->id());
  if (slot == shard.objects.end()) return;  // removed, replaced or evicted meanwhile
  shard.policy.access(mine->id());
  ++slot->second.hits;
  slot->second.last_access = std::max(slot->second.last_access, now);
  if (!std::exchange(slot->second.dirty, true)) shard.dirty.push_back(mine->id());
}

void DiskTier::touch(std::string_view primary_key, std::string_view variant, int64_t now) {
  Shard& shard = shard_for(primary_key);
  std::lock_guard lock(shard.mutex);
  uint64_t id = shard.find(primary_key, variant);
  if (id == 0) return;
  Shard::Slot& slot = shard.objects.at(id);
  shard.policy.access(id);
  ++slot.hits;
  slot.last_access = std::max(slot.last_access, now);
  if (!std::exchange(slot.dirty, true)) shard.dirty.push_back(id);
}

uint64_t DiskTier::collect_counters(std::vector<CounterUpdate>& out) {
  for (unsigned i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    for (uint64_t id : shard.dirty) {
      auto slot = shard.objects.find(id);
      if (slot == shard.objects.end() || !slot->second.dirty) continue;
      slot->second.dirty = false;
      out.push_back({id, slot->second.hits, slot->second.last_access});
    }
    shard.dirty.clear();
  }
  return next_id_.load(std::memory_order_relaxed);
}

size_t DiskTier::remove(std::string_view primary_key, std::string_view variant) {
  Shard& shard = shard_for(primary_key);
  Shard::Gone gone;
  std::lock_guard lock(shard.mutex);
  uint64_t id = shard.find(primary_key, variant);
  if (id == 0) return 0;
  shard.policy.remove(id);
  shard.unlink(id, gone, *manifest_);
  return 1;
}

size_t DiskTier::remove_all_variants(std::string_view primary_key) {
  Shard& shard = shard_for(primary_key);
  Shard::Gone gone;
  std::lock_guard lock(shard.mutex);
  size_t removed = 0;
  for (auto v = shard.variants.find(primary_key); v != shard.variants.end();
       v = shard.variants.find(primary_key)) {
    uint64_t id = v->second.back();
    shard.policy.remove(id);
    shard.unlink(id, gone, *manifest_);
    ++removed;
  }
  return removed;
}

TierStats DiskTier::stats() const {
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
