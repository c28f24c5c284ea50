// Range requests: see range.h.
#include "http/range.h"

#include <algorithm>
#include <optional>

namespace stavka::http {

namespace {

// One member of a range-set: first-last, first- (last empty) or -suffix (first empty).
struct Spec {
  std::optional<uint64_t> first;
  std::optional<uint64_t> last;
};

bool is_ows(char c) { return c == ' ' || c == '\t'; }

// Digits only, below 2^63 (a length nobody stores): the number, else nullopt.
std::optional<uint64_t> position(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::optional<Spec> parse_spec(std::string_view s) {
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view a = s.substr(0, dash);
  std::string_view b = s.substr(dash + 1);
  Spec spec;
  if (a.empty()) {  // suffix-range
    spec.last = position(b);
    if (!spec.last) return std::nullopt;
    return spec;
  }
  spec.first = position(a);
  if (!spec.first) return std::nullopt;
  if (!b.empty()) {
    spec.last = position(b);
    if (!spec.last || *spec.last < *spec.first) return std::nullopt;
  }
  return spec;
}

// The members of a range-set, or nullopt if it is malformed or too long.
std::optional<std::vector<Spec>> parse_set(std::string_view set) {
  std::vector<Spec> specs;
  while (!set.empty()) {
    size_t comma = set.find(',');
    std::string_view member = set.substr(0, comma);
    set = comma == std::string_view::npos ? std::string_view{} : set.substr(comma + 1);
    while (!member.empty() && is_ows(member.front())) member.remove_prefix(1);
    while (!member.empty() && is_ows(member.back())) member.remove_suffix(1);
    if (member.empty()) continue;  // an empty list member (§5.6.1)
    std::optional<Spec> spec = parse_spec(member);
    if (!spec || specs.size() == max_ranges) return std::nullopt;
    specs.push_back(*spec);
  }
  if (specs.empty()) return std::nullopt;
  return specs;
}

bool unit_is_bytes(std::string_view unit) {
  constexpr std::string_view bytes = "bytes";
  return unit.size() == bytes.size() &&
         std::equal(unit.begin(), unit.end(), bytes.begin(),
                    [](char a, char b) { return (a | 0x20) == b; });
}

// Sorted and merged when any two overlap or nearly touch; as given otherwise.
void coalesce(std::vector<ByteRange>& ranges) {
  std::vector<ByteRange> sorted = ranges;
  std::sort(sorted.begin(), sorted.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.first < b.first; });
  bool merge = false;
  for (size_t i = 1; i < sorted.size() && !merge; ++i) {
    merge = sorted[i].first <= sorted[i - 1].last + coalesce_gap;
  }
  if (!merge) return;
  ranges.clear();
  for (const ByteRange& r : sorted) {
    if (!ranges.empty() && r.first <= ranges.back().last + coalesce_gap) {
      ranges.back().last = std::max(ranges.back().last, r.last);
    } else {
      ranges.push_back(r);
    }
  }
}

}  // namespace

ResolvedRange resolve_range(std::string_view field, uint64_t length) {
  ResolvedRange out;
  size_t eq = field.find('=');
  if (eq == std::string_view::npos || !unit_is_bytes(field.substr(0, eq))) return out;
  std::optional<std::vector<Spec>> specs = parse_set(field.substr(eq + 1));
  if (!specs) return out;
  for (const Spec& s : *specs) {
    if (!s.first) {  // suffix: the last *s.last bytes
      if (*s.last == 0 || length == 0) continue;
      out.ranges.push_back({length - std::min(*s.last, length), length - 1});
    } else if (*s.first < length) {
      out.ranges.push_back({*s.first, s.last ? std::min(*s.last, length - 1) : length - 1});
    }
  }
  if (out.ranges.empty()) {
    out.verdict = RangeVerdict::unsatisfiable;
    return out;
  }
  coalesce(out.ranges);
  out.verdict = RangeVerdict::partial;
  return out;
}

std::optional<RangeSpan> range_span(std::string_view field) {
  size_t eq = field.find('=');
  if (eq == std::string_view::npos || !unit_is_bytes(field.substr(0, eq))) return std::nullopt;
  std::optional<std::vector<Spec>> specs = parse_set(field.substr(eq + 1));
  if (!specs) return std::nullopt;
  RangeSpan span{UINT64_MAX, uint64_t{0}, specs->size()};
  for (const Spec& s : *specs) {
    if (!s.first) return std::nullopt;
    span.first = std::min(span.first, *s.first);
    if (!s.last) {
      span.last.reset();
    } else if (span.last) {
      span.last = std::max(*span.last, *s.last);
    }
  }
  return span;
}

std::optional<ContentRange> parse_content_range(std::string_view value) {
  while (!value.empty() && is_ows(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_ows(value.back())) value.remove_suffix(1);
  size_t space = value.find(' ');
  if (space == std::string_view::npos || !unit_is_bytes(value.substr(0, space))) {
    return std::nullopt;
  }
  value.remove_prefix(space + 1);
  size_t slash = value.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::optional<Spec> spec = parse_spec(value.substr(0, slash));
  std::optional<uint64_t> length = position(value.substr(slash + 1));
  if (!spec || !spec->first || !spec->last || !length || *spec->last >= *length) {
    return std::nullopt;
  }
  return ContentRange{{*spec->first, *spec->last}, *length};
}

std::string content_range(const ByteRange& range, uint64_t length) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
         std::to_string(length);
}

std::string unsatisfied_content_range(uint64_t length) {
  return "bytes */" + std::to_string(length);
}

}  // namespace stavka::http
