// The Storage conformance suite: the behaviour storage.h promises, checked against every backend
// (memory tier now, disk tier later). The tests are in storage_conformance_test.cc, compiled once
// into unit_storage; each backend's own test file instantiates them in one line:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, StorageConformance,
//                            ::testing::Values(StorageFactory([] { return make_my_tier(); })));
//
// A factory returns a fresh, empty backend with room for a few hundred KiB of objects in any
// one primary key's shard. Tasks are driven on a real Reactor (support/run_on_reactor.h).
// Threads: single-threaded; concurrency is backend-specific and tested next to each backend.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/storage.h"
#include "support/run_on_reactor.h"

namespace stavka::storage::conformance {

// A std::function that GoogleTest prints by name instead of dumping its bytes in failure
// messages ("where GetParam() = ...").
struct StorageFactory : std::function<std::unique_ptr<Storage>()> {
  using function::function;
  friend void PrintTo(const StorageFactory&, std::ostream* os) { *os << "storage factory"; }
};

// Small blocks keep the bodies small while still spanning several blocks. A multiple of 4096 so
// that a disk backend with sector-aligned I/O can take it as is.
constexpr uint32_t test_block_size = 4096;

// Deterministic bytes that differ with seed at every position, so that a block of one object
// can never pass for the same block of another.
inline std::string test_body(size_t size, uint32_t seed) {
  std::string body(size, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    body[i] = static_cast<char>(x);
  }
  return body;
}

inline ObjectMeta test_meta(std::string primary_key, std::string variant, uint64_t size) {
  ObjectMeta meta;
  meta.primary_key = std::move(primary_key);
  meta.variant = std::move(variant);
  meta.url = "http://example.test/" + meta.primary_key;
  meta.host = "example.test";
  meta.status = 200;
  meta.headers = "Content-Type: application/octet-stream\r\nCache-Control: max-age=60\r\n";
  meta.size = size;
  meta.block_size = test_block_size;
  meta.request_time = 1'700'000'000;
  meta.response_time = 1'700'000'001;
  meta.expires = 1'700'000'061;
  meta.etag = "\"v1\"";
  meta.last_modified = "Tue, 14 Nov 2023 22:13:20 GMT";
  meta.surrogate_keys = {"tag-a", "tag-b"};
  return meta;
}

// test_meta with these tags (surrogate keys).
inline ObjectMeta tagged(std::string primary_key, std::string variant, uint64_t size,
                         std::vector<std::string> tags) {
  ObjectMeta meta = test_meta(std::move(primary_key), std::move(variant), size);
  meta.surrogate_keys = std::move(tags);
  return meta;
}

// Cuts body into blocks of meta.block_size, as a fill does.
inline std::vector<BlockRef> cut_blocks(std::string_view body, uint32_t block_size) {
  std::vector<BlockRef> blocks;
  for (size_t at = 0; at < body.size(); at += block_size) {
    blocks.push_back(make_block(body.substr(at, block_size)));
  }
  return blocks;
}

class StorageConformance : public ::testing::TestWithParam<StorageFactory> {
 protected:
  void SetUp() override {
    storage_ = GetParam()();
    ASSERT_NE(storage_, nullptr);
  }

  Storage& storage() { return *storage_; }

  Error write(Writer& writer, uint32_t index, BlockRef block) {
    return test::run_task(writer.write_block(index, std::move(block)));
  }
  Error publish(Writer& writer, ObjectMeta final_meta) {
    return test::run_task(writer.publish(std::move(final_meta)));
  }
  BlockResult read(const ObjectRef& object, uint32_t index) {
    return test::run_task(storage_->read_block(object, index));
  }

  // begin_write with `begin`, every block in order, publish with `final_meta`. Returns the
  // first error of those steps (Error::no_space if begin_write refused).
  Error store(const ObjectMeta& begin, const ObjectMeta& final_meta, std::string_view body) {
    std::unique_ptr<Writer> writer = storage_->begin_write(begin);
    if (!writer) return Error::no_space;
    std::vector<BlockRef> blocks = cut_blocks(body, begin.block_size);
    for (uint32_t i = 0; i < blocks.size(); ++i) {
      if (Error e = write(*writer, i, blocks[i]); e != Error::none) return e;
    }
    return publish(*writer, final_meta);
  }
  Error store(const ObjectMeta& meta, std::string_view body) { return store(meta, meta, body); }

  // Every block of object in order, each checked against its CRC; the error of the first read
  // that failed otherwise (with CRC mismatches reported as Error::corrupt).
  struct ReadBack {
    Error error = Error::none;
    std::string body;
  };
  ReadBack read_all(const ObjectRef& object) {
    ReadBack out;
    for (uint32_t i = 0; i < object->meta().block_count(); ++i) {
      BlockResult r = read(object, i);
      if (r.error != Error::none) {
        out.error = r.error;
        return out;
      }
      if (!r.block || r.block->crc != crc32c(r.block->data.get(), r.block->size)) {
        out.error = Error::corrupt;
        return out;
      }
      out.body.append(r.block->view());
    }
    return out;
  }

  // A handle on an object that was since removed or replaced may fail with not_found or keep
  // serving that object's own bytes, block by block, but must never serve other bytes.
  void expect_own_bytes_or_not_found(const ObjectRef& old, std::string_view body) {
    for (uint32_t i = 0; i < old->meta().block_count(); ++i) {
      BlockResult r = read(old, i);
      if (r.error == Error::not_found) continue;
      ASSERT_EQ(r.error, Error::none) << "block " << i << ": " << error_name(r.error);
      ASSERT_NE(r.block, nullptr);
      EXPECT_EQ(r.block->view(), body.substr(static_cast<size_t>(i) * old->meta().block_size,
                                             old->meta().block_size))
          << "block " << i << " holds another object's bytes";
    }
  }

  std::unique_ptr<Storage> storage_;
};

}  // namespace stavka::storage::conformance
