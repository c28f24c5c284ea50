// Range requests (RFC 9110 §14): the Range field of the bytes unit, resolved against a
// representation's length, and the Content-Range values of the answers.
//
// Pure functions; no state, usable from any thread. What a cache does with a range (serve it from
// stored blocks, fetch the missing ones) lives above this layer.
//
// Rules applied here:
//   - the unit compares case-insensitively; any unit but "bytes" is not understood, and the
//     field is then ignored (the whole representation is served, §14.2);
//   - the range-set is a list (§5.6.1): empty members and optional whitespace around the
//     commas are allowed; whitespace elsewhere ("bytes= 0-1", "0 -1") is malformed;
//   - a malformed field (a last position before its first, a non-digit, no member at all,
//     numbers past 2^63) is ignored: a server may ignore Range (§14.2), and serving the whole
//     representation is the answer that cannot be misread;
//   - a range is satisfiable when its first position is below the length, a suffix range when
//     its length is above zero (§14.1.1); none satisfiable: 416 with `bytes */length`;
//   - ranges are clipped to the representation. When two of them overlap or are closer than
//     `coalesce_gap` bytes (a part costs about that much in multipart headers), all are sorted
//     and merged (§14.2 allows it); otherwise they keep the client's order (as §14.6 asks).
//     Either way a client cannot make one object cost many times its size;
//   - more than max_ranges members: the field is ignored (§14.2 lets a server refuse sets of
//     many small ranges, the shape of a denial-of-service attempt).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stavka::http {

// Bytes first..last, both included.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;

  uint64_t size() const { return last - first + 1; }
  bool operator==(const ByteRange&) const = default;
};

enum class RangeVerdict : uint8_t {
  whole,          // no usable Range: serve the whole representation (200)
  partial,        // serve `ranges` (206)
  unsatisfiable,  // 416
};

struct ResolvedRange {
  RangeVerdict verdict = RangeVerdict::whole;
  std::vector<ByteRange> ranges;  // with partial: at least one, disjoint
};

constexpr size_t max_ranges = 64;
constexpr uint64_t coalesce_gap = 80;

// The Range field value (one line; a Range field repeated is malformed, pass it joined) resolved
// against a representation of `length` bytes.
ResolvedRange resolve_range(std::string_view field, uint64_t length);

// What a Range field asks for before the representation's length is known: the first position
// any member needs and, when every member has a last position, the greatest of them (else
// nullopt: to the end). nullopt for a field resolve_range would ignore, or one with a suffix
// range (its position depends on the length).
struct RangeSpan {
  uint64_t first = 0;
  std::optional<uint64_t> last;
  size_t members = 1;
};
std::optional<RangeSpan> range_span(std::string_view field);

// A 206's Content-Range (§14.4): "bytes first-last/length". nullopt when malformed, when the
// length is "*" (unknown), or when the range does not lie inside the length.
struct ContentRange {
  ByteRange range;
  uint64_t length = 0;
};
std::optional<ContentRange> parse_content_range(std::string_view value);

// "bytes first-last/length", and "bytes */length" for a 416.
std::string content_range(const ByteRange& range, uint64_t length);
std::string unsatisfied_content_range(uint64_t length);

}  // namespace stavka::http
