// libFuzzer target for resolve_range, range_span and parse_content_range.
//
// Single-threaded; no state survives between inputs. The first 8 bytes of the input are the
// representation length (little-endian, reduced below 2^40), the rest the Range field value.
// Invariants checked, trapping on violation:
//   a partial verdict has 1..max_ranges ranges, each with first <= last < length, pairwise
//   disjoint and at least coalesce_gap bytes apart; an unsatisfiable or whole verdict has none;
//   the bytes served never exceed the length (coalescing keeps one object from costing more);
//   a field whose unit is not "bytes" is always whole; an unsatisfiable verdict needs a
//   well-formed field, so appending ", 0-0" to it gives partial when length > 0 (and the
//   extra member stays within max_ranges).
// range_span: known only for a field resolve_range does not ignore; then every range resolved
//   against a length past the span's last position starts at or after its first and, when the
//   span is closed, ends at or before its last. parse_content_range (the same bytes read as a
//   Content-Range value): a range that lies inside its length, which content_range() writes
//   back as an equal value.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "http/range.h"

namespace {

using stavka::http::ByteRange;
using stavka::http::RangeVerdict;

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t length = 0;
  std::memcpy(&length, data, 8);
  length &= (uint64_t{1} << 40) - 1;
  std::string_view field(reinterpret_cast<const char*>(data + 8), size - 8);
  stavka::http::ResolvedRange r = stavka::http::resolve_range(field, length);
  if (r.verdict != RangeVerdict::partial) {
    FUZZ_CHECK(r.ranges.empty());
  } else {
    FUZZ_CHECK(!r.ranges.empty() && r.ranges.size() <= stavka::http::max_ranges);
    uint64_t total = 0;
    for (const ByteRange& a : r.ranges) {
      FUZZ_CHECK(a.first <= a.last && a.last < length);
      total += a.size();
      for (const ByteRange& b : r.ranges) {
        if (&a == &b) continue;
        FUZZ_CHECK(a.last + stavka::http::coalesce_gap < b.first ||
                   b.last + stavka::http::coalesce_gap < a.first);
      }
    }
    FUZZ_CHECK(total <= length);
  }
  size_t eq = field.find('=');
  std::string unit(field.substr(0, eq == std::string_view::npos ? field.size() : eq));
  std::transform(unit.begin(), unit.end(), unit.begin(), [](char c) { return c | 0x20; });
  if (eq == std::string_view::npos || unit != "bytes") FUZZ_CHECK(r.verdict == RangeVerdict::whole);
  if (r.verdict == RangeVerdict::unsatisfiable && length > 0 &&
      static_cast<size_t>(std::count(field.begin(), field.end(), ',')) + 1 <
          stavka::http::max_ranges) {
    std::string more(field);
    more += ", 0-0";
    FUZZ_CHECK(stavka::http::resolve_range(more, length).verdict == RangeVerdict::partial);
  }
  if (std::optional<stavka::http::RangeSpan> span = stavka::http::range_span(field)) {
    FUZZ_CHECK(r.verdict != RangeVerdict::whole || length == 0);
    const uint64_t past = span->last ? *span->last + 1 : span->first + 1;
    stavka::http::ResolvedRange wide = stavka::http::resolve_range(field, past);
    FUZZ_CHECK(wide.verdict == RangeVerdict::partial);
    for (const ByteRange& a : wide.ranges) {
      FUZZ_CHECK(a.first >= span->first);
      if (span->last) FUZZ_CHECK(a.last <= *span->last);
    }
  }
  if (auto cr = stavka::http::parse_content_range(field)) {
    FUZZ_CHECK(cr->range.first <= cr->range.last && cr->range.last < cr->length);
    auto again = stavka::http::parse_content_range(stavka::http::content_range(cr->range, cr->length));
    FUZZ_CHECK(again && again->range == cr->range && again->length == cr->length);
  }
  return 0;
}
