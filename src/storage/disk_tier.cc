// DiskTier implementation: the sharded index (as in the memory tier), object files shared by
// handles, the writer that lays blocks out in a file, block reads with verification, and
// open(), which builds the index from disk_recovery's result.
//
// Threads: see disk_tier.h. The index (sharded_index.h) guards itself, the per-object region
// length and dirty flag and the per-shard dirty list included. Manifest operations concerning a
// shard's objects are pushed under that shard's mutex, so the manifest sees them in the index's
// order (shard mutex, then the manifest queue's mutex; never the other way). Handles (DiskObject) are immutable; an
// ObjectFile's only mutable state is its atomic `doomed` flag. A DiskWriter is confined to
// the coroutine that owns it.
// Invariants, per shard, whenever its mutex is free: the index's, with policy charges equal to
// disk_charge(file length); every object in the index has a complete,
// published file that is not doomed; every object that left the index has a doomed file.
#include "storage/disk_tier.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <tuple>
#include <utility>

#include "runtime/io.h"
#include "storage/disk_format.h"
#include "storage/disk_recovery.h"
#include "storage/file_io.h"
#include "storage/manifest.h"
#include "storage/manifest_writer.h"
#include "storage/block_tally.h"
#include "storage/sharded_index.h"

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
  std::shared_ptr<const DiskObject> with_meta(ObjectMeta meta) const {
    return std::make_shared<const DiskObject>(owner, file, std::move(meta));
  }
  // Under the shard lock: the file goes when its last handle does, and the row now (the
  // manifest thread disowns the file if it is still there then, see manifest_writer.h).
  void left_index() const {
    file->doomed.store(true, std::memory_order_release);
    file->manifest->push(ManifestOp::remove(file->id, file->path));
  }

  const DiskTier* const owner;
  const std::shared_ptr<ObjectFile> file;

 private:
  const ObjectMeta meta_;
};

struct DiskSlotState {
  uint32_t region_length = 0;  // of the file's meta region: a rewrite never shrinks it
  bool dirty = false;          // counters changed since the manifest last collected them
};
struct DiskShardState {
  std::vector<uint64_t> dirty;  // ids whose DiskSlotState::dirty is set
};

struct DiskTier::Index : ShardedIndex<DiskObject, DiskSlotState, DiskShardState> {
  using ShardedIndex::ShardedIndex;
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
        block_size_(meta.block_size),
        tally_(meta, tier.shard_capacity()) {}
  ~DiskWriter() override {
    if (created_ && !published_) {
      tier_.manifest_->push(ManifestOp::unlink_file(path_));
    }
  }

  runtime::Task<Error> write_block(uint32_t index, BlockRef block) override;
  runtime::Task<Error> publish(ObjectMeta final_meta) override;

 private:
  DiskTier& tier_;
  const uint64_t id_;
  const std::string path_;
  const uint32_t block_size_;
  BlockTally tally_;
  bool created_ = false;  // the file may exist
  bool finished_ = false;
  bool published_ = false;
};

runtime::Task<Error> DiskTier::DiskWriter::write_block(uint32_t index, BlockRef block) {
  if (finished_ || !block) co_return Error::invalid;
  if (Error e = tally_.admit(index, block->size); e != Error::none) co_return e;
  tally_.record(index, block->size);
  created_ = true;

  char header[disk_format::block_header_size];
  disk_format::encode_block_header({id_, index, block->size, block->crc}, header);
  iovec iov[2] = {{header, sizeof header}, {const_cast<char*>(block->data.get()), block->size}};
  int result =
      co_await write_file(path_.c_str(), iov, 2, disk_format::slot_offset(index, block_size_));
  if (result < 0) {
    tally_.forget(index);  // may be written again
    co_return result == -ENOSPC ? Error::no_space : Error::io;
  }
  co_return Error::none;
}

runtime::Task<Error> DiskTier::DiskWriter::publish(ObjectMeta final_meta) {
  if (finished_) co_return Error::invalid;
  finished_ = true;
  if (Error e = tally_.check_final(final_meta); e != Error::none) co_return e;
  std::optional<std::string> tail = disk_format::encode_meta_tail(final_meta, id_, 0);
  if (!tail) co_return Error::no_space;
  const auto region = static_cast<uint32_t>(tail->size() - disk_format::footer_size);
  if (disk_charge(disk_format::file_length(final_meta, region)) > tier_.shard_capacity()) {
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
      index_(std::make_unique<Index>(max_size, shards)),
      manifest_(std::move(manifest)) {
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
      std::string path = disk_format::object_path(root, object.id);
      manifest->push(ManifestOp::remove(object.id, path));
      manifest->push(ManifestOp::unlink_file(std::move(path)));
      ++stats.evicted;
    }
  }
  for (unsigned i = 0; i < tier->shard_count(); ++i) {
    stats.evicted += std::exchange(tier->index_->shard(i).evictions, 0);
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

unsigned DiskTier::shard_count() const { return index_->shard_count(); }
uint64_t DiskTier::shard_capacity() const { return index_->shard_capacity(); }
unsigned DiskTier::shard_of(std::string_view primary_key) const {
  return index_->shard_of(primary_key);
}

const DiskTier::DiskObject* DiskTier::own(const ObjectRef& object) const {
  const auto* mine = dynamic_cast<const DiskObject*>(object.get());
  return mine && mine->owner == this ? mine : nullptr;
}

bool DiskTier::contains(const ObjectRef& object) const {
  const DiskObject* mine = own(object);
  return mine && index_->contains(*mine);
}

std::vector<ObjectRef> DiskTier::lookup(std::string_view primary_key) {
  return index_->lookup(primary_key);
}

ObjectRef DiskTier::lookup(std::string_view primary_key, std::string_view variant) {
  return index_->lookup(primary_key, variant);
}

std::unique_ptr<Writer> DiskTier::begin_write(const ObjectMeta& meta) {
  if (meta.block_size == 0) return nullptr;
  const uint32_t region = disk_format::natural_region_length(meta);
  if (region > disk_format::max_region_size) return nullptr;
  if (meta.size != unknown_size &&
      disk_charge(disk_format::file_length(meta, region)) > shard_capacity()) {
    return nullptr;
  }
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  return std::make_unique<DiskWriter>(*this, id, meta);
}

Error DiskTier::insert(uint64_t id, ObjectMeta meta, uint32_t region_length, bool recorded) {
  const uint64_t file_length = disk_format::file_length(meta, region_length);
  const uint64_t charge = disk_charge(file_length);
  auto file = std::make_shared<ObjectFile>(id, disk_format::object_path(dir_, id), manifest_);
  auto object = std::make_shared<const DiskObject>(this, std::move(file), std::move(meta));
  return index_->insert(object, charge, DiskSlotState{region_length, false},
                        [&](Index::Shard&) {
                          if (!recorded) {
                            manifest_->push(ManifestOp::put(object, id, file_length, charge));
                          }
                        });
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
  block->data = allocate_block_bytes(size);
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
  index_->remove_id(object.meta().primary_key, object.id());
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
  const uint64_t capacity = shard_capacity();
  return index_->update(*mine, std::move(meta), [&](Index::Slot& slot, ObjectMeta m) {
    const uint32_t region = std::max(slot.extra.region_length, natural);
    const uint64_t file_length = disk_format::file_length(m, region);
    const uint64_t charge = disk_charge(file_length);
    std::shared_ptr<const DiskObject> updated;
    if (charge > capacity) return std::pair(updated, charge);  // refused: unchanged
    slot.extra.region_length = region;
    updated = mine->with_meta(std::move(m));
    ManifestOp op = ManifestOp::put(updated, updated->id(), file_length, charge);
    op.rewrite_region = region;
    op.path = updated->file->path;
    manifest_->push(std::move(op));
    return std::pair(updated, charge);
  });
}

namespace {

// Marks a touched object's counters for the manifest's next collection.
void mark_dirty(DiskShardState& shard, uint64_t id, DiskSlotState& slot) {
  if (!std::exchange(slot.dirty, true)) shard.dirty.push_back(id);
}

}  // namespace

void DiskTier::touch(const ObjectRef& object, int64_t now) {
  const DiskObject* mine = own(object);
  if (!mine) return;
  index_->touch(mine->meta().primary_key, mine->id(), now,
                [](Index::Shard& shard, uint64_t id, Index::Slot& slot) {
                  mark_dirty(shard.extra, id, slot.extra);
                });
}

void DiskTier::touch(std::string_view primary_key, std::string_view variant, int64_t now) {
  if (uint64_t id = index_->find(primary_key, variant)) {
    index_->touch(primary_key, id, now, [](Index::Shard& shard, uint64_t id, Index::Slot& slot) {
      mark_dirty(shard.extra, id, slot.extra);
    });
  }
}

uint64_t DiskTier::collect_counters(std::vector<CounterUpdate>& out) {
  for (unsigned i = 0; i < shard_count(); ++i) {
    Index::Shard& shard = index_->shard(i);
    std::lock_guard lock(shard.mutex);
    for (uint64_t id : shard.extra.dirty) {
      auto slot = shard.objects.find(id);
      if (slot == shard.objects.end() || !slot->second.extra.dirty) continue;
      slot->second.extra.dirty = false;
      out.push_back({id, slot->second.hits, slot->second.last_access});
    }
    shard.extra.dirty.clear();
  }
  return next_id_.load(std::memory_order_relaxed);
}

size_t DiskTier::remove(std::string_view primary_key, std::string_view variant) {
  return index_->remove(primary_key, variant);
}

size_t DiskTier::remove_all_variants(std::string_view primary_key) {
  return index_->remove_all_variants(primary_key);
}

// As remove(): each object leaves through the index's unlink, whose left_index() queues the
// row's deletion under the shard lock and dooms the file (unlinked by the manifest thread when
// its last handle goes), so a purged object is not loaded again at start-up.
size_t DiskTier::remove_by_tag(std::string_view tag) {
  return index_->remove_by_tag(tag);
}

size_t DiskTier::remove_by_tag(std::string_view tag,
                               const std::function<void(const ObjectMeta&)>& removed) {
  return index_->remove_by_tag(tag, [&](const DiskObject& object) { removed(object.meta()); });
}

size_t DiskTier::remove_by_prefix(std::string_view url_prefix) {
  return remove_by_prefix(url_prefix, [](const ObjectMeta&) {});
}

size_t DiskTier::remove_by_prefix(std::string_view url_prefix,
                             const std::function<void(const ObjectMeta&)>& removed) {
  return index_->remove_by_prefix(
      url_prefix, [&](const ObjectMeta& meta) { return meta.url.starts_with(url_prefix); },
      [&](const DiskObject& object) { removed(object.meta()); });
}

std::vector<ListedKey> DiskTier::list(const ListQuery& q) {
  return index_->list(q.after_url, q.after_key, q.url_prefix, q.limit,
                      [&](const ObjectMeta& meta) { return passes(q, meta); });
}

TierStats DiskTier::stats() const { return index_->stats(); }

}  // namespace stavka::storage
