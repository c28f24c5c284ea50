// The disk tier's on-disk format, version 1: the layout pinned byte for byte (a change that
// would make files of this version unreadable fails here), round trips, and strict rejection
// of torn, truncated, flipped and foreign records.
#include "storage/disk_format.h"

#include <gtest/gtest.h>

#include <cstring>

#include <string>

#include "storage_conformance.h"

namespace stavka::storage::disk_format {
namespace {

using conformance::test_meta;

std::string hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

TEST(DiskFormat, BlockHeaderLayoutIsPinned) {
  char header[block_header_size];
  encode_block_header({0x0102030405060708ull, 7, 4096, 0xAABBCCDD}, header);
  const std::string bytes(header, sizeof header);
  // magic "SKBL", version 1, 0, id, index, size, crc, then the header's own crc32c.
  EXPECT_EQ(hex(bytes.substr(0, 28)),
            "534b424c"
            "01000000"
            "0807060504030201"
            "07000000"
            "00100000"
            "ddccbbaa");
  const uint32_t own_crc = crc32c(header, 28);
  const std::string own_crc_le = {static_cast<char>(own_crc), static_cast<char>(own_crc >> 8),
                                  static_cast<char>(own_crc >> 16),
                                  static_cast<char>(own_crc >> 24)};
  EXPECT_EQ(bytes.substr(28), own_crc_le);
  std::optional<BlockHeader> decoded = decode_block_header(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->object_id, 0x0102030405060708ull);
  EXPECT_EQ(decoded->index, 7u);
  EXPECT_EQ(decoded->size, 4096u);
  EXPECT_EQ(decoded->crc, 0xAABBCCDDu);
}

TEST(DiskFormat, EveryFlippedBitOfABlockHeaderIsRejected) {
  char header[block_header_size];
  encode_block_header({42, 1, 100, 0x12345678}, header);
  for (size_t bit = 0; bit < 8 * block_header_size; ++bit) {
    std::string flipped(header, sizeof header);
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(decode_block_header(flipped)) << "bit " << bit;
  }
  EXPECT_FALSE(decode_block_header(std::string(header, sizeof header - 1)));
}

TEST(DiskFormat, SlotsAndLengthsFollowTheLayout) {
  ObjectMeta meta = test_meta("k", "", 2 * 4096 + 1);
  EXPECT_EQ(slot_offset(0, 4096), 0u);
  EXPECT_EQ(slot_offset(2, 4096), 2u * (4096 + 32));
  // The meta region starts right after the last block's bytes, not at the end of its slot.
  EXPECT_EQ(data_end(meta), 2u * (4096 + 32) + 32 + 1);
  uint32_t region = natural_region_length(meta);
  EXPECT_EQ(region % region_alignment, 0u);
  EXPECT_EQ(file_length(meta, region), data_end(meta) + region + footer_size);
  meta.size = 0;
  EXPECT_EQ(data_end(meta), 0u);
}

TEST(DiskFormat, MetaTailRoundTripsEveryField) {
  ObjectMeta meta = test_meta("http://example.test/a?b", "accept-encoding=gzip", 12345);
  meta.status = 203;
  meta.hits = 99;
  meta.last_access = -5;
  meta.surrogate_keys = {"", "x", "x", std::string(300, 'k')};
  meta.headers.push_back('\0');  // bytes, not C strings
  std::optional<std::string> tail = encode_meta_tail(meta, 77, 0);
  ASSERT_TRUE(tail);
  const uint64_t length = data_end(meta) + tail->size();
  std::optional<ParsedFile> parsed = parse_file_tail(*tail, length);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->object_id, 77u);
  EXPECT_EQ(parsed->region_length, tail->size() - footer_size);
  const ObjectMeta& m = parsed->meta;
  EXPECT_EQ(m.primary_key, meta.primary_key);
  EXPECT_EQ(m.variant, meta.variant);
  EXPECT_EQ(m.url, meta.url);
  EXPECT_EQ(m.host, meta.host);
  EXPECT_EQ(m.status, 203);
  EXPECT_EQ(m.headers, meta.headers);
  EXPECT_EQ(m.size, 12345u);
  EXPECT_EQ(m.block_size, meta.block_size);
  EXPECT_EQ(m.request_time, meta.request_time);
  EXPECT_EQ(m.response_time, meta.response_time);
  EXPECT_EQ(m.expires, meta.expires);
  EXPECT_EQ(m.etag, meta.etag);
  EXPECT_EQ(m.last_modified, meta.last_modified);
  EXPECT_EQ(m.surrogate_keys, meta.surrogate_keys);
  EXPECT_EQ(m.hits, 99u);
  EXPECT_EQ(m.last_access, -5);
  EXPECT_EQ(m.soft_purged, 0);
}

uint32_t le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // the format and every host Stavka runs on are little-endian
  return v;
}
void put_le32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }

TEST(DiskFormat, SoftPurgedIsWrittenOnlyWhenSetAndReadsBack) {
  ObjectMeta meta = test_meta("http://example.test/s", "", 10);
  std::optional<std::string> plain = encode_meta_tail(meta, 5, 0);
  meta.soft_purged = 1'700'000'123;
  std::optional<std::string> marked = encode_meta_tail(meta, 5, 0);
  ASSERT_TRUE(plain && marked);
  // The payload is 8 bytes longer (the region, a multiple of 512, may be the same).
  EXPECT_EQ(le32(marked->data() + 16), le32(plain->data() + 16) + 8);
  std::optional<ParsedFile> parsed = parse_file_tail(*marked, data_end(meta) + marked->size());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->meta.soft_purged, 1'700'000'123);
  // A trailing field that is zero is not one this format writes.
  std::string forged = *plain;
  const uint32_t payload = le32(forged.data() + 16);  // the padding after it is zeros
  put_le32(forged.data() + 16, payload + 8);
  put_le32(forged.data() + 20, crc32c(forged.data() + meta_header_size, payload + 8));
  put_le32(forged.data() + 28, crc32c(forged.data(), 28));  // the header's own CRC
  EXPECT_FALSE(parse_file_tail(forged, data_end(meta) + forged.size()));
  forged[meta_header_size + payload] = 7;  // the same forgery with a value: it reads
  put_le32(forged.data() + 20, crc32c(forged.data() + meta_header_size, payload + 8));
  put_le32(forged.data() + 28, crc32c(forged.data(), 28));
  std::optional<ParsedFile> seven = parse_file_tail(forged, data_end(meta) + forged.size());
  ASSERT_TRUE(seven);
  EXPECT_EQ(seven->meta.soft_purged, 7);
}

TEST(DiskFormat, ARewrittenTailKeepsALargerRegion) {
  ObjectMeta meta = test_meta("k", "", 10);
  meta.headers = std::string(3000, 'h');
  std::optional<std::string> big = encode_meta_tail(meta, 5, 0);
  ASSERT_TRUE(big);
  const uint32_t big_region = static_cast<uint32_t>(big->size() - footer_size);
  meta.headers = "short";
  std::optional<std::string> small = encode_meta_tail(meta, 5, big_region);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->size(), big->size());  // same footer position: no truncation needed
  std::optional<ParsedFile> parsed = parse_file_tail(*small, data_end(meta) + small->size());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->meta.headers, "short");
  EXPECT_FALSE(encode_meta_tail(meta, 5, 1000));  // not a multiple of the alignment
}

TEST(DiskFormat, BrokenTailsAreRejected) {
  const ObjectMeta meta = test_meta("k", "v", 3 * 4096);
  std::string tail = *encode_meta_tail(meta, 9, 0);
  const uint64_t length = data_end(meta) + tail.size();
  ASSERT_TRUE(parse_file_tail(tail, length));

  EXPECT_FALSE(parse_file_tail(tail, length + 1));  // file longer than the layout says
  EXPECT_FALSE(parse_file_tail(tail, length - 1));
  EXPECT_FALSE(parse_file_tail(std::string_view(tail).substr(1), length));  // region cut
  EXPECT_FALSE(parse_file_tail(std::string_view(tail).substr(0, tail.size() - 1), length - 1));
  EXPECT_FALSE(parse_file_tail("", 0));
  EXPECT_FALSE(parse_file_tail(std::string(tail.size(), '\0'), length));  // never written

  // A flipped byte anywhere in the header, payload, padding or footer.
  for (size_t at :
       {size_t{0}, size_t{5}, size_t{12}, meta_header_size + 3, meta_header_size + 40,
        tail.size() - footer_size - 1, tail.size() - footer_size + 9, tail.size() - 1}) {
    std::string flipped = tail;
    flipped[at] = static_cast<char>(flipped[at] ^ 1);
    EXPECT_FALSE(parse_file_tail(flipped, length)) << "byte " << at;
  }

  // Another object's region (ids differ) does not pass for this one.
  std::string other = *encode_meta_tail(meta, 10, 0);
  std::string mixed =
      other.substr(0, other.size() - footer_size) + tail.substr(tail.size() - footer_size);
  EXPECT_FALSE(parse_file_tail(mixed, length));
}

TEST(DiskFormat, ObjectFileNames) {
  EXPECT_EQ(object_path("/c", 0x1234), "/c/objects/34/0000000000001234.obj");
  EXPECT_EQ(parse_object_file_name("0000000000001234.obj"), 0x1234u);
  EXPECT_EQ(parse_object_file_name("00000000000012345.obj"), std::nullopt);
  EXPECT_EQ(parse_object_file_name("000000000000123G.obj"), std::nullopt);
  EXPECT_EQ(parse_object_file_name("000000000000123A.obj"), std::nullopt);  // lower case only
  EXPECT_EQ(parse_object_file_name("0000000000000000.obj"), std::nullopt);
  EXPECT_EQ(parse_object_file_name("0000000000001234.tmp"), std::nullopt);
}

}  // namespace
}  // namespace stavka::storage::disk_format
