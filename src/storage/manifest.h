// Manifest: the disk tier's index on disk, a SQLite database (dir/manifest.db) with one row per
// published object, so that start-up need not read every object file's meta, and so that
// listings, purges by URL prefix, host or surrogate key can be answered by queries.
//
// Schema (PRAGMA user_version = disk_format::version):
//   objects(id PK, primary_key, variant, url, host, status, headers, size, block_size, charge,
//           file_length, request_time, response_time, expires, etag, last_modified, hits,
//           last_access, soft_purged), indexed by (primary_key, variant), url and host (a
//           manifest from before soft purges gets the soft_purged column, 0, when opened);
//   surrogate_keys(id, position, tag) keyed by (id, position), indexed by tag: one row per key,
//           so a purge by tag is an index lookup and the keys reload in their order;
//   state(name PK, value): "next_id", the lowest object id never handed out.
// The database runs in WAL mode with synchronous=NORMAL: a commit survives the process being
// killed; a power loss may roll back the last commits, which start-up repairs from the files.
//
// Threads: a Manifest is a single SQLite connection used by one thread at a time: the opening
// thread during DiskTier::open, then the manifest thread (ManifestWriter) alone. Not shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/storage.h"

struct sqlite3;

namespace stavka::storage {

struct ManifestRow {
  uint64_t id = 0;
  uint64_t file_length = 0;
  uint64_t charge = 0;  // bytes counted against the tier's budget
  ObjectMeta meta;
};

struct CounterUpdate {
  uint64_t id = 0;
  uint64_t hits = 0;
  int64_t last_access = 0;
};

class Manifest {
 public:
  // Opens (creating if absent) the database at path. nullptr with `error` set (naming the path)
  // when it cannot be opened, is not a manifest, or has a newer format version than this build.
  static std::unique_ptr<Manifest> open(const std::string& path, std::string& error);
  ~Manifest();
  Manifest(const Manifest&) = delete;
  Manifest& operator=(const Manifest&) = delete;

  const std::string& path() const { return path_; }

  // Every row, and the stored next id (0 if none). False with `error` set on a SQLite error.
  bool load(std::vector<ManifestRow>& rows, uint64_t& next_id, std::string& error);

  // Writes happen inside begin()..commit(); each returns false on a SQLite error (see error()),
  // after which the caller rolls back.
  bool begin();
  bool commit();
  void rollback();
  bool put(uint64_t id, const ObjectMeta& meta, uint64_t file_length, uint64_t charge);
  bool remove(uint64_t id);
  bool update_counters(const CounterUpdate& update);
  bool set_next_id(uint64_t next_id);
  std::string error() const;

 private:
  struct Statements;
  Manifest(std::string path, sqlite3* db);
  bool prepare(std::string& error);
  bool exec(const char* sql);
  bool add_soft_purged();

  std::string path_;
  sqlite3* db_;
  std::unique_ptr<Statements> statements_;
};

}  // namespace stavka::storage
