// ManifestWriter: the manifest thread. It owns the Manifest after start-up and is the only
// thread that writes it, draining a queue of operations that the disk tier's workers push
// (never waiting for SQLite): rows put at publish and update_meta, rows removed, and the file
// work that cannot run on a reactor because the call that causes it is synchronous or a
// destructor (rewriting a meta record for update_meta, unlinking a file whose last handle went).
//
// Batching: the thread wakes every commit_interval (or as soon as batch_limit operations are
// queued, or flush() asks), takes the whole queue, collects the hit counters that touch()
// accumulated (through the counter source, so a hit costs no queue push), and applies all of
// it, in queue order, in one transaction. File work is done in queue order too, so a meta
// rewrite is never overtaken by the unlink of the same file.
//
// Removed rows: a file can outlive its row (a handle still reads it; its unlink is queued when
// the handle goes), and start-up recovers a verified file that has no row. So when a row is
// removed and its file is not unlinked in the same round, the file is first disowned: its
// footer is zeroed (readers never read it), so that a kill before the unlink leaves a file that
// start-up deletes instead of bringing a removed, purged or evicted object back.
//
// Threads: push() and flush() are callable from any thread; push() takes a mutex for a vector
// push_back, never waits on I/O. Operations and the objects they hold are moved to the manifest
// thread and destroyed there. Failures (a full disk, a SQLite error) are counted and the last
// one kept for stats(); a failed transaction is rolled back and its rows are lost, which
// start-up repairs from the self-describing object files.
//
// Lifetime: shared by the disk tier and every ObjectFile (a file may outlive the tier); the
// destructor applies whatever is still queued and joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/manifest.h"
#include "storage/storage.h"

namespace stavka::storage {

struct ManifestOp {
  enum class Kind : uint8_t {
    put,          // insert or replace the row of `id` with object->meta()
    remove,       // delete the row of `id`; disown the file at `path` unless also unlinked
    unlink_file,  // delete the file at `path`
  };
  Kind kind = Kind::put;
  uint64_t id = 0;
  // put: the published handle; keeps the meta (and the file) alive until applied.
  std::shared_ptr<const StoredObject> object;
  uint64_t file_length = 0;
  uint64_t charge = 0;
  // put: when nonzero, the file at `path` first gets its meta region (of this length) and
  // footer rewritten in place from object->meta() (update_meta).
  uint32_t rewrite_region = 0;
  std::string path;

  static ManifestOp put(std::shared_ptr<const StoredObject> object, uint64_t id,
                        uint64_t file_length, uint64_t charge) {
    ManifestOp op;
    op.id = id;
    op.object = std::move(object);
    op.file_length = file_length;
    op.charge = charge;
    return op;
  }
  static ManifestOp remove(uint64_t id, std::string path) {
    ManifestOp op;
    op.kind = Kind::remove;
    op.id = id;
    op.path = std::move(path);
    return op;
  }
  static ManifestOp unlink_file(std::string path) {
    ManifestOp op;
    op.kind = Kind::unlink_file;
    op.path = std::move(path);
    return op;
  }
};

struct ManifestWriterStats {
  uint64_t commits = 0;
  uint64_t failures = 0;  // failed transactions and failed file rewrites or unlinks
  std::string last_error;
};

class ManifestWriter {
 public:
  static constexpr std::chrono::milliseconds commit_interval{100};
  static constexpr size_t batch_limit = 4096;

  // Appends the counters touched since the last call and returns the id allocator's next id.
  using CounterSource = std::function<uint64_t(std::vector<CounterUpdate>&)>;

  explicit ManifestWriter(std::unique_ptr<Manifest> manifest);
  ~ManifestWriter();
  ManifestWriter(const ManifestWriter&) = delete;
  ManifestWriter& operator=(const ManifestWriter&) = delete;

  void push(ManifestOp op);
  // Returns once everything pushed and touched before the call is committed (or failed).
  void flush();
  // Installs (or, with nullptr, detaches) the counter source; returns only when no call of
  // the previous one is running, so its owner may be destroyed right after detaching.
  void set_counter_source(CounterSource source);

  ManifestWriterStats stats() const;

 private:
  void loop();
  void apply(std::vector<ManifestOp>& ops);
  bool rewrite_meta(const ManifestOp& op);
  bool disown_file(const std::string& path);
  void fail(const std::string& error);

  std::unique_ptr<Manifest> manifest_;  // manifest thread only

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<ManifestOp> queue_;
  uint64_t rounds_started_ = 0;
  uint64_t rounds_done_ = 0;
  bool flush_requested_ = false;
  bool stopping_ = false;
  ManifestWriterStats stats_;

  std::mutex source_mutex_;  // held while the source runs
  CounterSource source_;

  std::thread thread_;  // last: started once everything above is built
};

}  // namespace stavka::storage
