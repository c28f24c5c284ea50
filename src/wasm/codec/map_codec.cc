#include "wasm/codec/map_codec.h"

#include <cstring>

namespace stavka::wasm {

namespace {

void put_u32(std::string& out, uint32_t v) {
  char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
               static_cast<char>(v >> 24)};
  out.append(b, 4);
}

uint32_t get_u32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

}  // namespace

void encode_pairs(const Pairs& pairs, std::string& out) {
  size_t total = 4 + pairs.size() * 8;
  for (const auto& [name, value] : pairs) total += name.size() + value.size() + 2;
  out.reserve(out.size() + total);
  put_u32(out, static_cast<uint32_t>(pairs.size()));
  for (const auto& [name, value] : pairs) {
    put_u32(out, static_cast<uint32_t>(name.size()));
    put_u32(out, static_cast<uint32_t>(value.size()));
  }
  for (const auto& [name, value] : pairs) {
    out.append(name);
    out.push_back('\0');
    out.append(value);
    out.push_back('\0');
  }
}

std::optional<Pairs> decode_pairs(std::string_view bytes, size_t max_pairs) {
  Pairs pairs;
  if (bytes.empty()) return pairs;
  if (bytes.size() < 4) return std::nullopt;
  const uint64_t count = get_u32(bytes.data());
  if (count > max_pairs || 4 + count * 8 > bytes.size()) return std::nullopt;
  pairs.reserve(count);
  uint64_t at = 4 + count * 8;
  for (uint64_t i = 0; i < count; ++i) {
    const char* lengths = bytes.data() + 4 + i * 8;
    const uint64_t name_size = get_u32(lengths);
    const uint64_t value_size = get_u32(lengths + 4);
    if (at + name_size + 1 + value_size + 1 > bytes.size()) return std::nullopt;
    std::string_view name = bytes.substr(at, name_size);
    at += name_size;
    if (bytes[at++] != '\0') return std::nullopt;
    std::string_view value = bytes.substr(at, value_size);
    at += value_size;
    if (bytes[at++] != '\0') return std::nullopt;
    pairs.emplace_back(name, value);
  }
  if (at != bytes.size()) return std::nullopt;
  return pairs;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  while (segments.size() < 15) {
    size_t nul = path.find('\0');
    if (nul == std::string_view::npos) break;
    segments.push_back(path.substr(0, nul));
    path.remove_prefix(nul + 1);
  }
  segments.push_back(path);
  return segments;
}

}  // namespace stavka::wasm
