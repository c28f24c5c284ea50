// libFuzzer target for parse_cache_control, parse_cdn_cache_control and parse_delta_seconds.
//
// Single-threaded; no state survives between inputs. The input is split at '\n' into field
// lines and fed to both field parsers (and whole to parse_delta_seconds). Invariants checked,
// trapping on violation:
//   every delta-seconds value is <= max_delta_seconds; a max-stale value implies max_stale;
//   field names are non-empty, lower-case tokens without duplicates; a record that is not
//   `present` has nothing set; a CDN-Cache-Control result is always `present`;
//   the CDN field gives the same result as one line or as several trimmed lines joined with
//   ", " (RFC 8941 §4.2);
//   a further "no-store" line always yields no_store, so a bad line cannot swallow the next;
//   an accepted delta-seconds is non-empty digits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/cache_control.h"

namespace {

using stavka::http::CacheDirectives;
using stavka::http::HeaderMap;
using stavka::http::max_delta_seconds;

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void check_delta(const std::optional<uint32_t>& value) {
  if (value) FUZZ_CHECK(*value <= max_delta_seconds);
}

void check_fields(const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    FUZZ_CHECK(!fields[i].empty());
    for (char c : fields[i]) FUZZ_CHECK(is_tchar(c) && !(c >= 'A' && c <= 'Z'));
    for (size_t j = 0; j < i; ++j) FUZZ_CHECK(fields[i] != fields[j]);
  }
}

bool nothing_set(const CacheDirectives& d) {
  return !d.max_age && !d.no_cache && d.no_cache_fields.empty() && !d.no_store && !d.no_transform &&
         !d.s_maxage && !d.must_revalidate && !d.proxy_revalidate && !d.must_understand &&
         !d.is_private && d.private_fields.empty() && !d.is_public && !d.immutable &&
         !d.stale_while_revalidate && !d.stale_if_error && !d.max_stale && !d.max_stale_value &&
         !d.min_fresh && !d.only_if_cached && !d.freshness_invalid;
}

void check_record(const CacheDirectives& d) {
  check_delta(d.max_age);
  check_delta(d.s_maxage);
  check_delta(d.stale_while_revalidate);
  check_delta(d.stale_if_error);
  check_delta(d.max_stale_value);
  check_delta(d.min_fresh);
  if (d.max_stale_value) FUZZ_CHECK(d.max_stale);
  check_fields(d.no_cache_fields);
  check_fields(d.private_fields);
  if (!d.present) FUZZ_CHECK(nothing_set(d));
}

bool same(const CacheDirectives& a, const CacheDirectives& b) {
  return a.present == b.present && a.max_age == b.max_age && a.no_cache == b.no_cache &&
         a.no_cache_fields == b.no_cache_fields && a.no_store == b.no_store &&
         a.no_transform == b.no_transform && a.s_maxage == b.s_maxage &&
         a.must_revalidate == b.must_revalidate && a.proxy_revalidate == b.proxy_revalidate &&
         a.must_understand == b.must_understand && a.is_private == b.is_private &&
         a.private_fields == b.private_fields && a.is_public == b.is_public &&
         a.immutable == b.immutable && a.stale_while_revalidate == b.stale_while_revalidate &&
         a.stale_if_error == b.stale_if_error && a.max_stale == b.max_stale &&
         a.max_stale_value == b.max_stale_value && a.min_fresh == b.min_fresh &&
         a.only_if_cached == b.only_if_cached && a.freshness_invalid == b.freshness_invalid;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  for (size_t pos = 0;;) {
    size_t nl = input.find('\n', pos);
    lines.push_back(input.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }

  CacheDirectives cc = stavka::http::parse_cache_control(lines);
  check_record(cc);
  std::vector<std::string_view> with_no_store = lines;
  with_no_store.push_back("no-store");
  FUZZ_CHECK(stavka::http::parse_cache_control(with_no_store).no_store);

  HeaderMap split;
  std::string joined;
  for (size_t i = 0; i < lines.size(); ++i) {
    split.add("CDN-Cache-Control", lines[i]);
    // A field line's value never starts or ends with OWS (RFC 9110 §5.5), which matters when
    // a String spans lines.
    std::string_view value = lines[i];
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (i > 0) joined += ", ";
    joined += value;
  }
  HeaderMap one;
  one.add("cdn-cache-control", joined);
  std::optional<CacheDirectives> cdn = stavka::http::parse_cdn_cache_control(split);
  std::optional<CacheDirectives> cdn_one = stavka::http::parse_cdn_cache_control(one);
  FUZZ_CHECK(cdn.has_value() == cdn_one.has_value());
  if (cdn) {
    check_record(*cdn);
    FUZZ_CHECK(cdn->present);
    FUZZ_CHECK(same(*cdn, *cdn_one));
  }

  std::optional<uint32_t> delta = stavka::http::parse_delta_seconds(input);
  if (delta) {
    FUZZ_CHECK(!input.empty() && *delta <= max_delta_seconds);
    for (char c : input) FUZZ_CHECK(c >= '0' && c <= '9');
  }
  return 0;
}
