// Helpers for the disk tier's and the tiered storage's tests: temporary cache directories,
// whole-object store and read-back on any Storage, and file surgery (flip a byte, truncate,
// list object files) to play crashes and corruption.
//
// Threads: TempDir and the file helpers are plain blocking code for the test thread; store and
// read_all drive each task on a fresh reactor (support/run_on_reactor.h).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/disk_tier.h"
#include "storage/storage.h"
#include "storage_conformance.h"
#include "support/run_on_reactor.h"

namespace stavka::storage::disk_test {

namespace fs = std::filesystem;

// A fresh directory under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "stavka-disk-XXXXXX").native();
    if (!::mkdtemp(pattern.data())) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::unique_ptr<DiskTier> open_tier(const std::string& dir, uint64_t max_size,
                                           unsigned shards) {
  DiskTier::Opened opened = DiskTier::open(dir, max_size, shards);
  EXPECT_EQ(opened.error, "");
  return std::move(opened.tier);
}

inline Error store(Storage& storage, const ObjectMeta& meta, std::string_view body) {
  std::unique_ptr<Writer> writer = storage.begin_write(meta);
  if (!writer) return Error::no_space;
  std::vector<BlockRef> blocks = conformance::cut_blocks(body, meta.block_size);
  for (uint32_t i = 0; i < blocks.size(); ++i) {
    if (Error e = test::run_task(writer->write_block(i, blocks[i])); e != Error::none) return e;
  }
  return test::run_task(writer->publish(meta));
}

struct ReadBack {
  Error error = Error::none;
  std::string body;
};

// Every block of object in order; the first error otherwise.
inline ReadBack read_all(Storage& storage, const ObjectRef& object) {
  ReadBack out;
  for (uint32_t i = 0; i < object->meta().block_count(); ++i) {
    BlockResult r = test::run_task(storage.read_block(object, i));
    if (r.error != Error::none) {
      out.error = r.error;
      return out;
    }
    out.body.append(r.block->view());
  }
  return out;
}

// Every object file under dir, as paths.
inline std::vector<std::string> object_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir + "/objects")) {
    if (entry.is_regular_file()) files.push_back(entry.path().native());
  }
  return files;
}

inline void flip_byte(const std::string& path, uint64_t offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(file.is_open()) << path;
  file.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  file.read(&c, 1);
  c = static_cast<char>(c ^ 0x20);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(&c, 1);
}

}  // namespace stavka::storage::disk_test
