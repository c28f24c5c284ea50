// The Proxy-Wasm wire formats a module and the host exchange through linear memory.
//
// A header map ("pairs") is: a little-endian u32 count N; N pairs of u32 lengths (name, value);
// then each name and value, each followed by a NUL byte that its length does not count. A
// property path is its segments joined by NUL bytes ("request\0path").
//
// Decoding reads bytes a module wrote, so it trusts nothing: every length is checked against
// the buffer, and a map that does not parse exactly is rejected whole. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stavka::wasm {

using Pairs = std::vector<std::pair<std::string_view, std::string_view>>;

// Appends the encoding of `pairs` to out.
void encode_pairs(const Pairs& pairs, std::string& out);

// The pairs encoded in `bytes` (views into it), or nullopt when it is not a well-formed map:
// short, lengths past the end, missing NUL terminators, or trailing bytes. An empty buffer is an
// empty map. `max_pairs` bounds the count a module may claim.
std::optional<Pairs> decode_pairs(std::string_view bytes, size_t max_pairs = 10000);

// "a\0b\0c" → {"a", "b", "c"}. At most 16 segments are split; the rest stays in the last one.
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace stavka::wasm
