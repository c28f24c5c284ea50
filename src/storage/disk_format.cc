// Encoders and strict decoders of the disk tier's records (see disk_format.h for the layout).
//
// Threads: pure functions, callable from any thread. Decoders read only inside the string_view
// they are given and check every length before using it; they are fuzzed (disk_format_fuzz.cc).
#include "storage/disk_format.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace stavka::storage::disk_format {

namespace {

// Payload: status u16, 0 u16, block_size u32, size u64, request_time i64, response_time i64,
// expires i64, hits u64, last_access i64, then the strings primary_key, variant, url, host,
// headers, etag, last_modified (each u32 length + bytes), then u32 count + that many strings
// (surrogate keys, in order).
constexpr size_t payload_fixed = 2 + 2 + 4 + 8 * 7;

void put16(std::string& out, uint16_t v) {
  char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  out.append(b, 2);
}
void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void put64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void put_string(std::string& out, std::string_view s) {
  put32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

void store32(char* at, uint32_t v) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<char>(v >> (8 * i));
}
void store64(char* at, uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<char>(v >> (8 * i));
}
uint16_t load16(const char* at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(at[0]) | static_cast<uint8_t>(at[1]) << 8);
}
uint32_t load32(const char* at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(at[i]);
  return v;
}
uint64_t load64(const char* at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(at[i]);
  return v;
}

// The 32-byte record headers share a prefix: magic u32, version u16, 0 u16, object id u64,
// then 12 bytes of their own and a CRC of bytes 0..27.
void encode_record_header(char out[32], uint32_t magic, uint64_t object_id) {
  std::memset(out, 0, 32);
  store32(out, magic);
  out[4] = static_cast<char>(version);
  out[5] = static_cast<char>(version >> 8);
  store64(out + 8, object_id);
}
void seal_record_header(char out[32]) {
  store32(out + 28, crc32c(out, 28));
}
bool check_record_header(std::string_view bytes, uint32_t magic) {
  return bytes.size() == 32 && load32(bytes.data()) == magic &&
         load16(bytes.data() + 4) == version && load16(bytes.data() + 6) == 0 &&
         load32(bytes.data() + 28) == crc32c(bytes.data(), 28);
}

// Reads the payload front to back; every read is bounds-checked and a failed read sticks.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && rest_.empty(); }

  uint16_t u16() { return take(2) ? load16(last_) : 0; }
  uint32_t u32() { return take(4) ? load32(last_) : 0; }
  uint64_t u64() { return take(8) ? load64(last_) : 0; }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  std::string string() {
    uint32_t length = u32();
    if (!ok_ || length > rest_.size()) {
      ok_ = false;
      return {};
    }
    std::string s(rest_.substr(0, length));
    rest_.remove_prefix(length);
    return s;
  }

 private:
  bool take(size_t n) {
    if (!ok_ || rest_.size() < n) {
      ok_ = false;
      return false;
    }
    last_ = rest_.data();
    rest_.remove_prefix(n);
    return true;
  }
  std::string_view rest_;
  const char* last_ = nullptr;
  bool ok_ = true;
};

uint64_t payload_length(const ObjectMeta& m) {
  uint64_t total = payload_fixed + 4 * 8;  // 7 string lengths and the key count
  total += m.primary_key.size() + m.variant.size() + m.url.size() + m.host.size() +
           m.headers.size() + m.etag.size() + m.last_modified.size();
  for (const std::string& key : m.surrogate_keys) total += 4 + key.size();
  if (m.soft_purged != 0) total += 8;
  return total;
}

uint64_t round_up(uint64_t n, uint64_t to) {
  return (n + to - 1) / to * to;
}

// The size and block size describe a body this format can hold: block_count() fits its
// uint32_t and the layout's offsets fit a uint64_t.
bool valid_layout(uint64_t size, uint32_t block_size) {
  if (block_size == 0 || size == unknown_size) return false;
  uint64_t blocks = size / block_size + (size % block_size != 0);
  if (blocks > UINT32_MAX) return false;
  uint64_t end;
  return !__builtin_mul_overflow(blocks, block_header_size + block_size, &end) &&
         end <= UINT64_MAX - max_region_size - footer_size;
}

}  // namespace

uint64_t slot_offset(uint32_t index, uint32_t block_size) {
  return static_cast<uint64_t>(index) * (block_header_size + block_size);
}

uint64_t data_end(const ObjectMeta& meta) {
  uint32_t blocks = meta.block_count();
  if (blocks == 0) return 0;
  uint64_t last_size = meta.size - static_cast<uint64_t>(blocks - 1) * meta.block_size;
  return slot_offset(blocks - 1, meta.block_size) + block_header_size + last_size;
}

uint32_t natural_region_length(const ObjectMeta& meta) {
  // A meta too large for the format reports one alignment unit over the limit, which
  // encode_meta_tail refuses.
  uint64_t length = round_up(meta_header_size + payload_length(meta), region_alignment);
  return length > max_region_size ? max_region_size + region_alignment
                                  : static_cast<uint32_t>(length);
}

uint64_t file_length(const ObjectMeta& meta, uint32_t region_length) {
  return data_end(meta) + region_length + footer_size;
}

void encode_block_header(const BlockHeader& header, char out[block_header_size]) {
  encode_record_header(out, block_magic, header.object_id);
  store32(out + 16, header.index);
  store32(out + 20, header.size);
  store32(out + 24, header.crc);
  seal_record_header(out);
}

std::optional<BlockHeader> decode_block_header(std::string_view bytes) {
  if (!check_record_header(bytes, block_magic)) return std::nullopt;
  const char* p = bytes.data();
  return BlockHeader{load64(p + 8), load32(p + 16), load32(p + 20), load32(p + 24)};
}

std::optional<std::string> encode_meta_tail(const ObjectMeta& meta, uint64_t object_id,
                                            uint32_t region_length) {
  const uint32_t natural = natural_region_length(meta);
  if (natural > max_region_size || region_length > max_region_size ||
      region_length % region_alignment != 0 || !valid_layout(meta.size, meta.block_size) ||
      meta.surrogate_keys.size() > max_surrogate_keys) {
    return std::nullopt;
  }
  const uint32_t region = std::max(region_length, natural);

  std::string out(meta_header_size, '\0');
  out.reserve(region + footer_size);
  put16(out, meta.status);
  put16(out, 0);
  put32(out, meta.block_size);
  put64(out, meta.size);
  put64(out, static_cast<uint64_t>(meta.request_time));
  put64(out, static_cast<uint64_t>(meta.response_time));
  put64(out, static_cast<uint64_t>(meta.expires));
  put64(out, meta.hits);
  put64(out, static_cast<uint64_t>(meta.last_access));
  for (const std::string* s : {&meta.primary_key, &meta.variant, &meta.url, &meta.host,
                               &meta.headers, &meta.etag, &meta.last_modified}) {
    put_string(out, *s);
  }
  put32(out, static_cast<uint32_t>(meta.surrogate_keys.size()));
  for (const std::string& key : meta.surrogate_keys) put_string(out, key);
  // Optional, last: a meta never soft-purged is written as before the field existed.
  if (meta.soft_purged != 0) put64(out, static_cast<uint64_t>(meta.soft_purged));

  const uint32_t payload = static_cast<uint32_t>(out.size() - meta_header_size);
  char header[meta_header_size];
  encode_record_header(header, meta_magic, object_id);
  store32(header + 16, payload);
  store32(header + 20, crc32c(out.data() + meta_header_size, payload));
  seal_record_header(header);
  out.replace(0, meta_header_size, header, meta_header_size);
  out.resize(region, '\0');

  char footer[footer_size];
  encode_record_header(footer, footer_magic, object_id);
  store64(footer + 16, data_end(meta));
  store32(footer + 24, region);
  seal_record_header(footer);
  out.append(footer, footer_size);
  return out;
}

std::optional<Footer> decode_footer(std::string_view bytes) {
  if (!check_record_header(bytes, footer_magic)) return std::nullopt;
  const char* p = bytes.data();
  Footer footer{load64(p + 8), load64(p + 16), load32(p + 24)};
  if (footer.region_length < meta_header_size || footer.region_length > max_region_size ||
      footer.region_length % region_alignment != 0) {
    return std::nullopt;
  }
  return footer;
}

std::optional<ObjectMeta> decode_meta_region(std::string_view region, uint64_t object_id) {
  if (region.size() < meta_header_size) return std::nullopt;
  std::string_view header = region.substr(0, meta_header_size);
  if (!check_record_header(header, meta_magic) || load64(header.data() + 8) != object_id ||
      load32(header.data() + 24) != 0) {
    return std::nullopt;
  }
  const uint32_t payload_size = load32(header.data() + 16);
  if (payload_size > region.size() - meta_header_size) return std::nullopt;
  std::string_view payload = region.substr(meta_header_size, payload_size);
  if (crc32c(payload.data(), payload.size()) != load32(header.data() + 20)) return std::nullopt;

  Reader in(payload);
  ObjectMeta meta;
  meta.status = in.u16();
  if (in.u16() != 0) return std::nullopt;
  meta.block_size = in.u32();
  meta.size = in.u64();
  meta.request_time = in.i64();
  meta.response_time = in.i64();
  meta.expires = in.i64();
  meta.hits = in.u64();
  meta.last_access = in.i64();
  for (std::string* s : {&meta.primary_key, &meta.variant, &meta.url, &meta.host, &meta.headers,
                         &meta.etag, &meta.last_modified}) {
    *s = in.string();
  }
  uint32_t keys = in.u32();
  // Each key takes at least its 4-byte length, which bounds the reservation by the input.
  if (!in.ok() || keys > max_surrogate_keys || keys > payload.size() / 4) return std::nullopt;
  meta.surrogate_keys.reserve(keys);
  for (uint32_t i = 0; i < keys && in.ok(); ++i) meta.surrogate_keys.push_back(in.string());
  if (in.ok() && !in.done()) {
    meta.soft_purged = in.i64();
    if (meta.soft_purged == 0) return std::nullopt;  // written only when set
  }
  if (!in.done() || !valid_layout(meta.size, meta.block_size)) return std::nullopt;
  // Padding is zeros: anything else means the region was not written as a whole.
  for (char c : region.substr(meta_header_size + payload_size)) {
    if (c != 0) return std::nullopt;
  }
  return meta;
}

std::optional<ParsedFile> parse_file_tail(std::string_view tail, uint64_t file_length) {
  if (tail.size() < footer_size || tail.size() > file_length) return std::nullopt;
  std::optional<Footer> footer = decode_footer(tail.substr(tail.size() - footer_size));
  if (!footer) return std::nullopt;
  // The region ends where the footer starts: file_length - footer_size.
  const uint64_t region_end = file_length - footer_size;
  if (footer->meta_offset > region_end ||
      region_end - footer->meta_offset != footer->region_length) {
    return std::nullopt;
  }
  const uint64_t tail_start = file_length - tail.size();
  if (footer->meta_offset < tail_start) return std::nullopt;  // the caller read too little
  std::string_view region =
      tail.substr(static_cast<size_t>(footer->meta_offset - tail_start), footer->region_length);
  std::optional<ObjectMeta> meta = decode_meta_region(region, footer->object_id);
  if (!meta || data_end(*meta) != footer->meta_offset) return std::nullopt;
  return ParsedFile{footer->object_id, footer->region_length, std::move(*meta)};
}

std::string object_subdir(const std::string& dir, unsigned index) {
  char name[4];
  std::snprintf(name, sizeof name, "%02x", index & 0xFFu);
  return dir + "/objects/" + name;
}

std::string object_path(const std::string& dir, uint64_t object_id) {
  char name[24];
  std::snprintf(name, sizeof name, "/%016llx.obj", static_cast<unsigned long long>(object_id));
  return object_subdir(dir, static_cast<unsigned>(object_id & 0xFF)) + name;
}

std::optional<uint64_t> parse_object_file_name(std::string_view name) {
  if (name.size() != 20 || name.substr(16) != ".obj") return std::nullopt;
  uint64_t id = 0;
  for (char c : name.substr(0, 16)) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    id = id << 4 | static_cast<uint64_t>(digit);
  }
  if (id == 0) return std::nullopt;  // ids start at 1
  return id;
}

}  // namespace stavka::storage::disk_format
