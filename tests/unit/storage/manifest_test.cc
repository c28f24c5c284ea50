// The manifest's schema over time: a manifest written before a column existed opens, gains it,
// and keeps its rows.
#include "storage/manifest.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "disk_test_support.h"

namespace stavka::storage {
namespace {

// The objects table as it was before soft purges (no soft_purged column), with one row.
void write_old_manifest(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* sql = R"sql(
    CREATE TABLE objects (id INTEGER PRIMARY KEY, primary_key TEXT NOT NULL,
      variant TEXT NOT NULL, url TEXT NOT NULL, host TEXT NOT NULL, status INTEGER NOT NULL,
      headers TEXT NOT NULL, size INTEGER NOT NULL, block_size INTEGER NOT NULL,
      charge INTEGER NOT NULL, file_length INTEGER NOT NULL, request_time INTEGER NOT NULL,
      response_time INTEGER NOT NULL, expires INTEGER NOT NULL, etag TEXT NOT NULL,
      last_modified TEXT NOT NULL, hits INTEGER NOT NULL, last_access INTEGER NOT NULL);
    INSERT INTO objects VALUES (7, 'http://a.test/x', '', 'http://a.test/x', 'a.test', 200,
      'Cache-Control: max-age=60\r\n', 10, 65536, 4096, 4096, 1000, 1001, 1061, '"e"', '',
      3, 1002);
    PRAGMA user_version = 1;
  )sql";
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(Manifest, AManifestFromBeforeSoftPurgesGainsTheColumnAndKeepsItsRows) {
  disk_test::TempDir dir;
  const std::string path = dir.path() + "/manifest.db";
  write_old_manifest(path);
  std::string error;
  std::unique_ptr<Manifest> manifest = Manifest::open(path, error);
  ASSERT_NE(manifest, nullptr) << error;
  std::vector<ManifestRow> rows;
  uint64_t next_id = 0;
  ASSERT_TRUE(manifest->load(rows, next_id, error)) << error;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, 7u);
  EXPECT_EQ(rows[0].meta.url, "http://a.test/x");
  EXPECT_EQ(rows[0].meta.hits, 3u);
  EXPECT_EQ(rows[0].meta.soft_purged, 0);
  manifest.reset();
  // Opened again (the column now there): the same.
  manifest = Manifest::open(path, error);
  ASSERT_NE(manifest, nullptr) << error;
  rows.clear();
  ASSERT_TRUE(manifest->load(rows, next_id, error)) << error;
  EXPECT_EQ(rows.size(), 1u);
}

}  // namespace
}  // namespace stavka::storage
