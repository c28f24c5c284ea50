// The shared pieces of storage.h: CRC32C (both implementations), blocks, charges, error names.
#include "storage/storage.h"

#include <gtest/gtest.h>

#include <string>

#include "storage/crc32c.h"
#include "storage_conformance.h"

namespace stavka::storage {
namespace {

using conformance::test_body;

TEST(Crc32c, MatchesKnownVectors) {
  // RFC 3720 appendix B.4 and the usual check value.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  std::string zeros(32, '\0');
  std::string ones(32, '\xFF');
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c(ascending.data(), ascending.size()), 0x46DD794Eu);
}

TEST(Crc32c, SoftwareAndHardwareAgreeAtEveryLengthAndAlignment) {
  const std::string data = test_body(4096 + 64, 7);
  ASSERT_EQ(detail::crc32c_software("123456789", 9, 0), 0xE3069283u);
  if (!detail::crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t size = 0; size <= 300; ++size) {
      ASSERT_EQ(detail::crc32c_software(data.data() + offset, size, 0),
                detail::crc32c_hardware(data.data() + offset, size, 0))
          << "offset " << offset << " size " << size;
    }
  }
  EXPECT_EQ(detail::crc32c_software(data.data(), data.size(), 0x12345678u),
            detail::crc32c_hardware(data.data(), data.size(), 0x12345678u));
}

TEST(Crc32c, ContinuesFromAPreviousValue) {
  const std::string data = test_body(10000, 8);
  uint32_t whole = crc32c(data.data(), data.size());
  for (size_t split : {size_t{0}, size_t{1}, size_t{7}, size_t{4096}, size_t{9999}}) {
    uint32_t first = crc32c(data.data(), split);
    EXPECT_EQ(crc32c(data.data() + split, data.size() - split, first), whole) << split;
    EXPECT_EQ(detail::crc32c_software(data.data() + split, data.size() - split,
                                      detail::crc32c_software(data.data(), split, 0)),
              whole);
  }
}

TEST(MakeBlock, CopiesTheBytesAndRecordsTheirCrc) {
  std::string bytes = "hello, block";
  BlockRef block = make_block(bytes);
  ASSERT_NE(block, nullptr);
  bytes[0] = 'j';  // the block owns a copy
  EXPECT_EQ(block->view(), "hello, block");
  EXPECT_EQ(block->size, 12u);
  EXPECT_EQ(block->crc, crc32c("hello, block", 12));

  BlockRef empty = make_block("");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->size, 0u);
  EXPECT_EQ(empty->crc, 0u);
}

TEST(ObjectMeta, ChargeCountsBodyHeadKeysAndAFixedOverhead) {
  ObjectMeta meta;
  const uint64_t overhead = meta.charge();  // empty strings, size unknown
  EXPECT_GT(overhead, 0u);
  meta.primary_key = "example.test/a";  // 14
  meta.variant = "gzip";                // 4
  meta.headers = "A: b\r\n";            // 6
  EXPECT_EQ(meta.charge(), overhead + 24);
  meta.size = 1000;
  EXPECT_EQ(meta.charge(), overhead + 24 + 1000);
  meta.size = 0;
  EXPECT_EQ(meta.charge(), overhead + 24);
  meta.surrogate_keys = {"k1"};
  // A tag costs its bytes twice (the meta's copy and the tag index's key) and a fixed share of
  // the index's nodes and buckets, the same for every tag.
  const uint64_t one_tag = meta.charge() - (overhead + 24);
  EXPECT_GT(one_tag, 2u * 2);
  meta.surrogate_keys = {"k1", "k2"};
  EXPECT_EQ(meta.charge(), overhead + 24 + 2 * one_tag);
  meta.surrogate_keys = {"k1", std::string(102, 'k')};
  EXPECT_EQ(meta.charge(), overhead + 24 + 2 * one_tag + 2 * 100);
}

TEST(ErrorName, NamesEveryError) {
  EXPECT_STREQ(error_name(Error::none), "none");
  EXPECT_STREQ(error_name(Error::not_found), "not_found");
  EXPECT_STREQ(error_name(Error::corrupt), "corrupt");
  EXPECT_STREQ(error_name(Error::io), "io");
  EXPECT_STREQ(error_name(Error::no_space), "no_space");
  EXPECT_STREQ(error_name(Error::invalid), "invalid");
}

}  // namespace
}  // namespace stavka::storage
