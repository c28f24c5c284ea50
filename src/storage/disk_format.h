// The disk tier's on-disk format, version 1: how one object file is laid out, and the encoders
// and strict decoders of its records. Pure functions over bytes; no I/O.
//
// One file per published object, dir/objects/<id & 0xff as 2 hex>/<id as 16 hex>.obj, named by
// a 64-bit object id that is never reused. All integers are little-endian, widths explicit:
//
//   slot i, at i * (block_header_size + block_size), for every block i of the body:
//     BlockHeader (32 bytes): magic "SKBL", version u16, 0 u16, object id u64, index u32,
//                             size u32, crc32c(bytes) u32, crc32c(header bytes 0..27) u32
//     the block's bytes (size; block_size for all but the last block)
//   meta region, at data_end, right after the last block's bytes (so a small object's file is
//   small whatever the block size):
//     MetaHeader (32 bytes): magic "SKMD", version u16, 0 u16, object id u64,
//                            payload length u32, crc32c(payload) u32, 0 u32, header crc u32
//     payload: every ObjectMeta field (see encode_meta_payload; soft_purged, last, only when it
//     is set, so that a meta never soft-purged reads the same as before it existed), then zero
//     padding up to the region length (a multiple of 512, so that rewriting a meta that grew a
//     little keeps the region, and a rewritten region never shrinks: no truncation is needed)
//   Footer (32 bytes, the file's last): magic "SKFT", version u16, 0 u16, object id u64,
//                                       meta offset u64, region length u32, footer crc u32
//
// A block's slot is fixed by its index, so blocks are written in any order; the meta region
// and footer are written at publish (and rewritten in place by update_meta). A file is
// self-describing: its footer finds the meta, the meta gives the block size and body size, and
// the file's length must be exactly data_end + region length + footer size. Every record names
// its object id, so bytes of another object (an id is never reused) never pass for this one.
//
// Decoders take untrusted bytes (a file may be torn, truncated or bit-flipped) and return
// nullopt on anything that is not a well-formed record of this version: no read past the input,
// no allocation larger than the input, every length and count checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/storage.h"

namespace stavka::storage::disk_format {

constexpr uint16_t version = 1;
constexpr uint32_t block_magic = 0x4C424B53;   // "SKBL"
constexpr uint32_t meta_magic = 0x444D4B53;    // "SKMD"
constexpr uint32_t footer_magic = 0x54464B53;  // "SKFT"
constexpr size_t block_header_size = 32;
constexpr size_t meta_header_size = 32;
constexpr size_t footer_size = 32;
constexpr uint32_t region_alignment = 512;
// Bounds a decoder accepts; an encoder never produces more for a meta a cache would store.
constexpr uint32_t max_region_size = 16u << 20;
constexpr uint32_t max_surrogate_keys = 1u << 16;

struct BlockHeader {
  uint64_t object_id = 0;
  uint32_t index = 0;
  uint32_t size = 0;
  uint32_t crc = 0;  // crc32c of the block's bytes
};

struct Footer {
  uint64_t object_id = 0;
  uint64_t meta_offset = 0;
  uint32_t region_length = 0;
};

// Where block `index` (its header) starts.
uint64_t slot_offset(uint32_t index, uint32_t block_size);
// Where the meta region starts: after the last block's slot. meta.size must be known.
uint64_t data_end(const ObjectMeta& meta);
// Bytes meta's region takes, before any padding to an older, larger region.
uint32_t natural_region_length(const ObjectMeta& meta);
// The file's length with a meta region of region_length bytes.
uint64_t file_length(const ObjectMeta& meta, uint32_t region_length);

void encode_block_header(const BlockHeader& header, char out[block_header_size]);
// Checks magic, version and the header's own CRC; the caller checks id, index and size.
std::optional<BlockHeader> decode_block_header(std::string_view bytes);

// The meta region (padded to max(region_length, natural length)) followed by the footer: the
// bytes to write at data_end(meta). nullopt if the meta is too large for the format.
std::optional<std::string> encode_meta_tail(const ObjectMeta& meta, uint64_t object_id,
                                            uint32_t region_length);

std::optional<Footer> decode_footer(std::string_view bytes);
// Decodes a meta region of object_id (exactly footer.region_length bytes).
std::optional<ObjectMeta> decode_meta_region(std::string_view region, uint64_t object_id);

// A whole file's meta, checked end to end: `tail` is the last tail.size() bytes of a file of
// file_length bytes. Besides each record's checks: the footer's region lies inside the tail,
// the meta's data_end is the region's offset, and the file is exactly as long as the layout
// says. Used by start-up recovery and fuzzed.
struct ParsedFile {
  uint64_t object_id = 0;
  uint32_t region_length = 0;
  ObjectMeta meta;
};
std::optional<ParsedFile> parse_file_tail(std::string_view tail, uint64_t file_length);

// dir/objects/xx/<16 hex>.obj, and the id back from a file name ("<16 hex>.obj").
std::string object_path(const std::string& dir, uint64_t object_id);
std::string object_subdir(const std::string& dir, unsigned index);  // index < 256
std::optional<uint64_t> parse_object_file_name(std::string_view name);

}  // namespace stavka::storage::disk_format
