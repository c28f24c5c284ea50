// The shared pieces of the storage contract (storage.h): CRC32C, block creation (heap or block
// arena), the charge of an entry and error names.
//
// Threads: everything here is a pure function, reads constant data or goes through the block
// arena (thread-safe), callable from any worker.
// The CRC implementation is chosen once, on first use (a function-local static, so the choice is
// thread-safe), and never changes afterwards.
#include "storage/storage.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "storage/block_arena.h"
#include "storage/crc32c.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace stavka::storage {

namespace {

// Reflected Castagnoli polynomial.
constexpr uint32_t castagnoli = 0x82F63B78u;

// tables[k][b] is the CRC of byte b followed by k zero bytes: slicing-by-8 folds eight input
// bytes per step instead of one, which makes the fallback about five times faster.
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> tables{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ ((c & 1u) ? castagnoli : 0u);
    tables[0][b] = c;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (size_t k = 1; k < 8; ++k) {
      uint32_t prev = tables[k - 1][b];
      tables[k][b] = (prev >> 8) ^ tables[0][prev & 0xFFu];
    }
  }
  return tables;
}

constexpr auto crc_tables = make_tables();

// Bytes an entry costs a tier beyond its strings and body: the meta object itself, the index
// nodes that find it (the ordered key set's among them), the eviction-policy node and the block
// references. An estimate, kept deliberately generous so that many tiny objects cannot overrun
// the budget.
constexpr uint64_t entry_overhead = 320;

// Bytes a tag costs beyond its two copies of the text (the meta's and, when the tag is new in
// its shard, the tag index's key): the meta's std::string, the index's id-set node and bucket,
// and for a tag new in its shard the index's map node, its bucket and the id set's buckets.
// Charged in full for every tag, shared or not, so that objects whose tags are all their own
// stay within the budget: measured with glibc's malloc on 100 000 objects, a tag of its own
// costs about 335 bytes besides its text, a tag shared by all about 125.
constexpr uint64_t tag_overhead = 352;

}  // namespace

namespace detail {

uint32_t crc32c_software(const void* data, size_t size, uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  while (size >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;  // little-endian: the first four bytes fold into the running CRC
    c = crc_tables[7][lo & 0xFF] ^ crc_tables[6][(lo >> 8) & 0xFF] ^
        crc_tables[5][(lo >> 16) & 0xFF] ^ crc_tables[4][lo >> 24] ^
        crc_tables[3][hi & 0xFF] ^ crc_tables[2][(hi >> 8) & 0xFF] ^
        crc_tables[1][(hi >> 16) & 0xFF] ^ crc_tables[0][hi >> 24];
    p += 8;
    size -= 8;
  }
  while (size--) c = (c >> 8) ^ crc_tables[0][(c ^ *p++) & 0xFF];
  return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_hardware(const void* data, size_t size,
                                                           uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  // Unaligned 8-byte loads are fine on x86, so no alignment prologue.
  while (size >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = static_cast<uint32_t>(_mm_crc32_u64(c, v));
    p += 8;
    size -= 8;
  }
  while (size--) c = _mm_crc32_u8(c, *p++);
  return ~c;
}

bool crc32c_hardware_available() {
  static const bool available = __builtin_cpu_supports("sse4.2");
  return available;
}
#else
uint32_t crc32c_hardware(const void* data, size_t size, uint32_t crc) {
  return crc32c_software(data, size, crc);
}
bool crc32c_hardware_available() { return false; }
#endif

}  // namespace detail

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  static const bool hardware = detail::crc32c_hardware_available();
  return hardware ? detail::crc32c_hardware(data, size, crc)
                  : detail::crc32c_software(data, size, crc);
}

void BlockBytesDeleter::operator()(char* p) const noexcept {
  if (arena) {
    arena->release(p, size);
  } else {
    delete[] p;
  }
}

BlockBytes allocate_block_bytes(uint32_t size) {
  if (BlockArena* arena = installed_block_arena()) {
    if (char* p = arena->allocate(size)) return BlockBytes(p, BlockBytesDeleter{arena, size});
  }
  return BlockBytes(new char[size]);
}

FileSpan Block::file_span() const {
  const BlockArena* arena = data.get_deleter().arena;
  if (!arena) return {};
  return {arena->fd(), arena->offset_of(data.get())};
}

BlockRef make_block(std::string_view bytes) {
  // A block's size is a uint32_t; nothing cuts bodies into pieces that large.
  if (bytes.size() > UINT32_MAX) return nullptr;
  auto block = std::make_shared<Block>();
  block->size = static_cast<uint32_t>(bytes.size());
  block->data = allocate_block_bytes(static_cast<uint32_t>(bytes.size()));
  if (!bytes.empty()) std::memcpy(block->data.get(), bytes.data(), bytes.size());
  block->crc = crc32c(bytes.data(), bytes.size());
  return block;
}

uint64_t ObjectMeta::charge() const {
  uint64_t total = entry_overhead;
  if (size != unknown_size) total += size;
  total += primary_key.size() + variant.size() + url.size() + host.size() + headers.size() +
           etag.size() + last_modified.size();
  for (const std::string& key : surrogate_keys) total += 2 * key.size() + tag_overhead;
  return total;
}

bool passes(const ListQuery& q, const ObjectMeta& meta) {
  return meta.url.starts_with(q.url_prefix) && (q.host.empty() || meta.host == q.host) &&
         (q.tag.empty() || std::find(meta.surrogate_keys.begin(), meta.surrogate_keys.end(),
                                     q.tag) != meta.surrogate_keys.end());
}

const char* error_name(Error e) {
  switch (e) {
    case Error::none: return "none";
    case Error::not_found: return "not_found";
    case Error::corrupt: return "corrupt";
    case Error::io: return "io";
    case Error::no_space: return "no_space";
    case Error::invalid: return "invalid";
  }
  return "unknown";
}

}  // namespace stavka::storage
