// libFuzzer target for the disk tier's record decoders (storage/disk_format.h): the input is a
// whole object file as found on disk, possibly torn, truncated or bit-flipped.
//
// Single-threaded; no state survives between inputs. Invariants checked, trapping on violation
// (and, under ASan/UBSan, no read outside the input and no undefined behaviour):
//   a file whose tail parses re-encodes to exactly its last region + footer bytes (the format is
//   canonical: zero padding and reserved fields are checked), and its meta's layout matches;
//   a block header that decodes re-encodes to the same 32 bytes;
//   an object file name that parses names the path object_path gives for its id.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "storage/disk_format.h"

namespace {

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

namespace format = stavka::storage::disk_format;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view file(reinterpret_cast<const char*>(data), size);

  if (std::optional<format::ParsedFile> parsed = format::parse_file_tail(file, file.size())) {
    const uint64_t tail_length = parsed->region_length + format::footer_size;
    FUZZ_CHECK(tail_length <= file.size());
    FUZZ_CHECK(format::data_end(parsed->meta) + tail_length == file.size());
    FUZZ_CHECK(format::file_length(parsed->meta, parsed->region_length) == file.size());
    std::optional<std::string> encoded =
        format::encode_meta_tail(parsed->meta, parsed->object_id, parsed->region_length);
    FUZZ_CHECK(encoded);
    FUZZ_CHECK(*encoded == file.substr(file.size() - tail_length));
  }

  if (file.size() >= format::footer_size) {
    std::optional<format::Footer> footer =
        format::decode_footer(file.substr(file.size() - format::footer_size));
    if (footer) FUZZ_CHECK(footer->region_length <= format::max_region_size);
  }

  if (file.size() >= format::block_header_size) {
    std::string_view bytes = file.substr(0, format::block_header_size);
    if (std::optional<format::BlockHeader> header = format::decode_block_header(bytes)) {
      char again[format::block_header_size];
      format::encode_block_header(*header, again);
      FUZZ_CHECK(std::memcmp(again, bytes.data(), sizeof again) == 0);
    }
  }

  std::string_view name = file.substr(0, 20);
  if (std::optional<uint64_t> id = format::parse_object_file_name(name)) {
    FUZZ_CHECK(format::object_path("d", *id).ends_with(name));
  }
  return 0;
}
