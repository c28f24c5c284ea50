// Start-up of the disk tier: prepares cache.dir, opens the manifest and reconciles its rows
// with the object files, so that DiskTier::open only has to build its index from the result.
//
// Rules: a row is kept when its file exists and the file's footer and meta record verify and
// name the row's object (id, keys, size, block size); otherwise the row is deleted, and its
// file too. A file with no row is recovered when it verifies the same way (the meta comes from
// the file), and deleted otherwise: a fill killed before publish leaves blocks without a footer.
// When two survivors claim one (primary key, variant), the higher id (the later write) wins.
// Files not named like object files are left alone.
//
// Threads: runs on the opening thread and blocks (directory scan, preads, SQLite).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/disk_tier.h"
#include "storage/storage.h"

namespace stavka::storage {

class Manifest;

struct RecoveredObject {
  uint64_t id = 0;
  uint32_t region_length = 0;  // of the file's meta region, as found
  bool recorded = false;       // the manifest already has an up-to-date row
  ObjectMeta meta;
};

struct Recovery {
  std::unique_ptr<Manifest> manifest;
  std::vector<RecoveredObject> objects;
  uint64_t next_id = 1;  // above every id seen in rows, files and the manifest's state
  DiskOpenStats stats;
};

// False with `error` naming the path and the cause (dir missing and not creatable, not a
// directory, not writable; manifest unreadable or of a newer format version).
bool recover(const std::string& dir, Recovery& out, std::string& error);

}  // namespace stavka::storage
