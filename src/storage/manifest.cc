// Manifest implementation: schema creation and version check, prepared statements, row codec.
//
// Threads: see manifest.h (one thread at a time). Statements are prepared once at open and
// reset after each use, so a failed step never leaves a statement busy.
#include "storage/manifest.h"

#include <sqlite3.h>

#include <algorithm>

#include "storage/disk_format.h"

namespace stavka::storage {

namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS objects (
  id INTEGER PRIMARY KEY,
  primary_key TEXT NOT NULL,
  variant TEXT NOT NULL,
  url TEXT NOT NULL,
  host TEXT NOT NULL,
  status INTEGER NOT NULL,
  headers TEXT NOT NULL,
  size INTEGER NOT NULL,
  block_size INTEGER NOT NULL,
  charge INTEGER NOT NULL,
  file_length INTEGER NOT NULL,
  request_time INTEGER NOT NULL,
  response_time INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  etag TEXT NOT NULL,
  last_modified TEXT NOT NULL,
  hits INTEGER NOT NULL,
  last_access INTEGER NOT NULL,
  soft_purged INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS objects_by_key ON objects(primary_key, variant);
CREATE INDEX IF NOT EXISTS objects_by_url ON objects(url);
CREATE INDEX IF NOT EXISTS objects_by_host ON objects(host);
CREATE TABLE IF NOT EXISTS surrogate_keys (
  id INTEGER NOT NULL,
  position INTEGER NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY (id, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS surrogate_keys_by_tag ON surrogate_keys(tag);
CREATE TABLE IF NOT EXISTS state (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

constexpr const char* select_objects_sql =
    "SELECT id, primary_key, variant, url, host, status, headers, size, block_size, charge, "
    "file_length, request_time, response_time, expires, etag, last_modified, hits, last_access, "
    "soft_purged FROM objects";

std::string column_text(sqlite3_stmt* s, int column) {
  const auto* text = static_cast<const char*>(sqlite3_column_blob(s, column));
  return text ? std::string(text, static_cast<size_t>(sqlite3_column_bytes(s, column)))
              : std::string();
}

int64_t column_int(sqlite3_stmt* s, int column) {
  return sqlite3_column_int64(s, column);
}

void bind_text(sqlite3_stmt* s, int index, const std::string& text) {
  sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

void bind_int(sqlite3_stmt* s, int index, int64_t value) {
  sqlite3_bind_int64(s, index, value);
}

// Steps a write statement once and resets it; true on SQLITE_DONE.
bool run(sqlite3_stmt* s) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc == SQLITE_DONE;
}

}  // namespace

struct Manifest::Statements {
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_stmt* rollback = nullptr;
  sqlite3_stmt* insert_object = nullptr;
  sqlite3_stmt* delete_object = nullptr;
  sqlite3_stmt* insert_key = nullptr;
  sqlite3_stmt* delete_keys = nullptr;
  sqlite3_stmt* update_counters = nullptr;
  sqlite3_stmt* set_next_id = nullptr;

  ~Statements() {
    for (sqlite3_stmt* s : {begin, commit, rollback, insert_object, delete_object, insert_key,
                            delete_keys, update_counters, set_next_id}) {
      sqlite3_finalize(s);
    }
  }
};

Manifest::Manifest(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

Manifest::~Manifest() {
  statements_.reset();  // finalized before the connection closes
  sqlite3_close(db_);
}

std::unique_ptr<Manifest> Manifest::open(const std::string& path, std::string& error) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Manifest> manifest(new Manifest(path, db));
  if (rc != SQLITE_OK) {
    error = "manifest " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    return nullptr;
  }
  sqlite3_busy_timeout(db, 5000);  // another process holding it (an old instance) gets 5 s

  auto fail = [&](const std::string& what) {
    error = "manifest " + path + ": " + what;
    return nullptr;
  };
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr) != SQLITE_OK ||
      sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    return fail(sqlite3_errmsg(db));
  }
  const int64_t found = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  if (found > disk_format::version) {
    return fail("format version " + std::to_string(found) + " is newer than this build's (" +
                std::to_string(disk_format::version) +
                "); use a newer Stavka or another cache.dir");
  }
  if (!manifest->exec("PRAGMA journal_mode=WAL") || !manifest->exec("PRAGMA synchronous=NORMAL") ||
      !manifest->exec("BEGIN") || !manifest->exec(schema) || !manifest->add_soft_purged() ||
      !manifest->exec(("PRAGMA user_version=" + std::to_string(disk_format::version)).c_str()) ||
      !manifest->exec("COMMIT")) {
    return fail(sqlite3_errmsg(db));
  }
  std::string prepare_error;
  if (!manifest->prepare(prepare_error)) return fail(prepare_error);
  return manifest;
}

bool Manifest::exec(const char* sql) {
  return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

// A manifest made before soft purges has no soft_purged column: it is added (every row 0).
bool Manifest::add_soft_purged() {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT 1 FROM pragma_table_info('objects') WHERE name = 'soft_purged'",
                         -1, &s, nullptr) != SQLITE_OK) {
    return false;
  }
  const int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc == SQLITE_ROW) return true;
  return rc == SQLITE_DONE &&
         exec("ALTER TABLE objects ADD COLUMN soft_purged INTEGER NOT NULL DEFAULT 0");
}

bool Manifest::prepare(std::string& error) {
  statements_ = std::make_unique<Statements>();
  Statements& s = *statements_;
  struct Sql {
    sqlite3_stmt** statement;
    const char* text;
  };
  const Sql all[] = {
      {&s.begin, "BEGIN"},
      {&s.commit, "COMMIT"},
      {&s.rollback, "ROLLBACK"},
      {&s.insert_object,
       "INSERT OR REPLACE INTO objects (id, primary_key, variant, url, host, status, headers, "
       "size, block_size, charge, file_length, request_time, response_time, expires, etag, "
       "last_modified, hits, last_access, soft_purged) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
       "?19)"},
      {&s.delete_object, "DELETE FROM objects WHERE id = ?1"},
      {&s.insert_key, "INSERT INTO surrogate_keys (id, position, tag) VALUES (?1, ?2, ?3)"},
      {&s.delete_keys, "DELETE FROM surrogate_keys WHERE id = ?1"},
      {&s.update_counters,
       "UPDATE objects SET hits = max(hits, ?2), last_access = max(last_access, ?3) "
       "WHERE id = ?1"},
      {&s.set_next_id, "INSERT OR REPLACE INTO state (name, value) VALUES ('next_id', ?1)"},
  };
  for (const Sql& sql : all) {
    if (sqlite3_prepare_v2(db_, sql.text, -1, sql.statement, nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(db_);
      return false;
    }
  }
  return true;
}

bool Manifest::load(std::vector<ManifestRow>& rows, uint64_t& next_id, std::string& error) {
  auto fail = [&] {
    error = "manifest " + path_ + ": " + sqlite3_errmsg(db_);
    return false;
  };
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, select_objects_sql, -1, &s, nullptr) != SQLITE_OK) return fail();
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    ManifestRow row;
    row.id = static_cast<uint64_t>(column_int(s, 0));
    ObjectMeta& m = row.meta;
    m.primary_key = column_text(s, 1);
    m.variant = column_text(s, 2);
    m.url = column_text(s, 3);
    m.host = column_text(s, 4);
    m.status = static_cast<uint16_t>(column_int(s, 5));
    m.headers = column_text(s, 6);
    m.size = static_cast<uint64_t>(column_int(s, 7));
    m.block_size = static_cast<uint32_t>(column_int(s, 8));
    row.charge = static_cast<uint64_t>(column_int(s, 9));
    row.file_length = static_cast<uint64_t>(column_int(s, 10));
    m.request_time = column_int(s, 11);
    m.response_time = column_int(s, 12);
    m.expires = column_int(s, 13);
    m.etag = column_text(s, 14);
    m.last_modified = column_text(s, 15);
    m.hits = static_cast<uint64_t>(column_int(s, 16));
    m.last_access = column_int(s, 17);
    m.soft_purged = column_int(s, 18);
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return fail();

  // Surrogate keys, attached to their rows in order (rows are few compared with memory, and
  // ids are unique, so a sorted index of positions is enough).
  std::vector<std::pair<uint64_t, size_t>> by_id;
  by_id.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) by_id.emplace_back(rows[i].id, i);
  std::sort(by_id.begin(), by_id.end());
  if (sqlite3_prepare_v2(db_, "SELECT id, tag FROM surrogate_keys ORDER BY id, position", -1, &s,
                         nullptr) != SQLITE_OK) {
    return fail();
  }
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    uint64_t id = static_cast<uint64_t>(column_int(s, 0));
    auto it = std::lower_bound(by_id.begin(), by_id.end(), std::make_pair(id, size_t{0}));
    if (it != by_id.end() && it->first == id) {
      rows[it->second].meta.surrogate_keys.push_back(column_text(s, 1));
    }
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return fail();

  next_id = 0;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM state WHERE name = 'next_id'", -1, &s, nullptr) !=
      SQLITE_OK) {
    return fail();
  }
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) next_id = static_cast<uint64_t>(column_int(s, 0));
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail();
  return true;
}

bool Manifest::begin() {
  return run(statements_->begin);
}
bool Manifest::commit() {
  return run(statements_->commit);
}
void Manifest::rollback() {
  if (!sqlite3_get_autocommit(db_)) run(statements_->rollback);
}

bool Manifest::put(uint64_t id, const ObjectMeta& m, uint64_t file_length, uint64_t charge) {
  sqlite3_stmt* s = statements_->insert_object;
  bind_int(s, 1, static_cast<int64_t>(id));
  bind_text(s, 2, m.primary_key);
  bind_text(s, 3, m.variant);
  bind_text(s, 4, m.url);
  bind_text(s, 5, m.host);
  bind_int(s, 6, m.status);
  bind_text(s, 7, m.headers);
  bind_int(s, 8, static_cast<int64_t>(m.size));
  bind_int(s, 9, m.block_size);
  bind_int(s, 10, static_cast<int64_t>(charge));
  bind_int(s, 11, static_cast<int64_t>(file_length));
  bind_int(s, 12, m.request_time);
  bind_int(s, 13, m.response_time);
  bind_int(s, 14, m.expires);
  bind_text(s, 15, m.etag);
  bind_text(s, 16, m.last_modified);
  bind_int(s, 17, static_cast<int64_t>(m.hits));
  bind_int(s, 18, m.last_access);
  bind_int(s, 19, m.soft_purged);
  if (!run(s)) return false;
  sqlite3_stmt* d = statements_->delete_keys;
  bind_int(d, 1, static_cast<int64_t>(id));
  if (!run(d)) return false;
  for (size_t i = 0; i < m.surrogate_keys.size(); ++i) {
    sqlite3_stmt* k = statements_->insert_key;
    bind_int(k, 1, static_cast<int64_t>(id));
    bind_int(k, 2, static_cast<int64_t>(i));
    bind_text(k, 3, m.surrogate_keys[i]);
    if (!run(k)) return false;
  }
  return true;
}

bool Manifest::remove(uint64_t id) {
  for (sqlite3_stmt* s : {statements_->delete_object, statements_->delete_keys}) {
    bind_int(s, 1, static_cast<int64_t>(id));
    if (!run(s)) return false;
  }
  return true;
}

bool Manifest::update_counters(const CounterUpdate& update) {
  sqlite3_stmt* s = statements_->update_counters;
  bind_int(s, 1, static_cast<int64_t>(update.id));
  bind_int(s, 2, static_cast<int64_t>(update.hits));
  bind_int(s, 3, update.last_access);
  return run(s);
}

bool Manifest::set_next_id(uint64_t next_id) {
  sqlite3_stmt* s = statements_->set_next_id;
  bind_int(s, 1, static_cast<int64_t>(next_id));
  return run(s);
}

std::string Manifest::error() const {
  return "manifest " + path_ + ": " + sqlite3_errmsg(db_);
}

}  // namespace stavka::storage
