// ManifestWriter implementation: the queue, the commit rounds and the file work they carry.
//
// Threads: see manifest_writer.h. Everything under mutex_ is shared with pushers and flushers;
// manifest_ and the ops taken off the queue belong to the manifest thread. A round is counted
// as started when it takes the queue, and flush() waits for the first round started after it
// was called: that round takes every op pushed before, and collects counters touched before.
#include "storage/manifest_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "storage/disk_format.h"

namespace stavka::storage {

ManifestWriter::ManifestWriter(std::unique_ptr<Manifest> manifest)
    : manifest_(std::move(manifest)), thread_([this] { loop(); }) {}

ManifestWriter::~ManifestWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void ManifestWriter::push(ManifestOp op) {
  bool wake;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(op));
    wake = queue_.size() == batch_limit;
  }
  if (wake) wake_.notify_one();
}

void ManifestWriter::flush() {
  std::unique_lock lock(mutex_);
  const uint64_t needed = rounds_started_ + 1;
  flush_requested_ = true;
  wake_.notify_one();
  done_.wait(lock, [&] { return rounds_done_ >= needed; });
}

void ManifestWriter::set_counter_source(CounterSource source) {
  std::lock_guard lock(source_mutex_);
  source_ = std::move(source);
}

ManifestWriterStats ManifestWriter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void ManifestWriter::fail(const std::string& error) {
  std::lock_guard lock(mutex_);
  ++stats_.failures;
  stats_.last_error = error;
}

void ManifestWriter::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, commit_interval,
                   [&] { return stopping_ || flush_requested_ || queue_.size() >= batch_limit; });
    const bool last = stopping_;
    flush_requested_ = false;
    std::vector<ManifestOp> ops = std::move(queue_);
    queue_.clear();
    const uint64_t round = ++rounds_started_;
    lock.unlock();
    apply(ops);
    // Handles (and the files they keep) are released here, off every reactor. Releasing the
    // last handle of a doomed file queues its unlink: a second pass takes those, so that a
    // flush() also sees the files of what it committed deleted.
    ops.clear();
    lock.lock();
    ops = std::move(queue_);
    queue_.clear();
    lock.unlock();
    apply(ops);
    ops.clear();
    lock.lock();
    rounds_done_ = round;
    done_.notify_all();
    if (last && queue_.empty()) return;
  }
}

void ManifestWriter::apply(std::vector<ManifestOp>& ops) {
  std::vector<CounterUpdate> counters;
  std::optional<uint64_t> next_id;
  {
    std::lock_guard lock(source_mutex_);
    if (source_) next_id = source_(counters);
  }
  if (ops.empty() && counters.empty()) return;

  // File work first, in queue order; row changes go in one transaction afterwards. A crash in
  // between leaves files ahead of rows, which start-up reconciles.
  // A removed row's file unlinked in this round too need not be disowned first.
  std::unordered_set<std::string_view> unlinked;
  for (const ManifestOp& op : ops) {
    if (op.kind == ManifestOp::Kind::unlink_file) unlinked.insert(op.path);
  }
  for (const ManifestOp& op : ops) {
    if (op.kind == ManifestOp::Kind::unlink_file) {
      if (::unlink(op.path.c_str()) != 0 && errno != ENOENT) {
        fail("unlink " + op.path + ": " + std::strerror(errno));
      }
    } else if (op.kind == ManifestOp::Kind::put && op.rewrite_region != 0) {
      rewrite_meta(op);
    } else if (op.kind == ManifestOp::Kind::remove && !op.path.empty() &&
               !unlinked.contains(op.path)) {
      disown_file(op.path);
    }
  }

  bool ok = manifest_->begin();
  for (const ManifestOp& op : ops) {
    if (!ok) break;
    if (op.kind == ManifestOp::Kind::put) {
      ok = manifest_->put(op.id, op.object->meta(), op.file_length, op.charge);
    } else if (op.kind == ManifestOp::Kind::remove) {
      ok = manifest_->remove(op.id);
    }
  }
  for (const CounterUpdate& update : counters) {
    if (!ok) break;
    ok = manifest_->update_counters(update);
  }
  if (ok && next_id) ok = manifest_->set_next_id(*next_id);
  if (ok) ok = manifest_->commit();
  if (!ok) {
    fail(manifest_->error());
    manifest_->rollback();
    return;
  }
  std::lock_guard lock(mutex_);
  ++stats_.commits;
}

bool ManifestWriter::disown_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return true;  // unlinked already
    fail("disown " + path + ": " + std::strerror(errno));
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    fail("disown " + path + ": " + std::strerror(errno));
    ::close(fd);
    return false;
  }
  bool ok = true;
  if (st.st_size >= static_cast<off_t>(disk_format::footer_size)) {
    const char zeros[disk_format::footer_size] = {};
    const off_t offset = st.st_size - static_cast<off_t>(sizeof zeros);
    size_t done = 0;
    while (done < sizeof zeros) {
      ssize_t n = ::pwrite(fd, zeros + done, sizeof zeros - done,
                           offset + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fail("disown " + path + ": " + std::strerror(n < 0 ? errno : EIO));
        ok = false;
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  return ok;
}

bool ManifestWriter::rewrite_meta(const ManifestOp& op) {
  const ObjectMeta& meta = op.object->meta();
  std::optional<std::string> tail = disk_format::encode_meta_tail(meta, op.id, op.rewrite_region);
  if (!tail) {
    fail("rewrite " + op.path + ": meta too large");
    return false;
  }
  int fd = ::open(op.path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return true;  // removed meanwhile: nothing to keep in step
    fail("rewrite " + op.path + ": " + std::strerror(errno));
    return false;
  }
  uint64_t offset = disk_format::data_end(meta);
  size_t done = 0;
  while (done < tail->size()) {
    ssize_t n =
        ::pwrite(fd, tail->data() + done, tail->size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fail("rewrite " + op.path + ": " + std::strerror(n < 0 ? errno : EIO));
      ::close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return true;
}

}  // namespace stavka::storage
