// libFuzzer target for parse_http_date and format_http_date.
//
// Single-threaded; no state survives between inputs. The whole input is one field value.
// Invariants checked, trapping on violation:
//   a parsed time lies between years 0000 and 9999;
//   it formats to a 29-byte IMF-fixdate that parses back to the same time (the round trip);
//   an IMF-fixdate input (other than a leap second) formats back to itself apart from the
//   weekday, which cross-checks our calendar arithmetic against the C library's gmtime;
//   only the RFC 850 form (two-digit year) may depend on `now` (even on whether it parses:
//   "29-Feb-00" is a date in 2000 but not in 2100).
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "http/date.h"

namespace {

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

constexpr time_t june_2025 = 1748736000;
constexpr time_t january_2099 = 4070908800;
constexpr time_t year_0000 = -62167219200;    // 0000-01-01T00:00:00Z
constexpr time_t end_of_9999 = 253402300799;  // 9999-12-31T23:59:59Z

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<time_t> parsed = stavka::http::parse_http_date(text, june_2025);
  std::optional<time_t> later = stavka::http::parse_http_date(text, january_2099);
  bool rfc850 = text.size() >= 4 && text[3] != ',' && text[3] != ' ';
  if (!rfc850) FUZZ_CHECK(parsed == later);
  if (!parsed) return 0;

  FUZZ_CHECK(*parsed >= year_0000 && *parsed <= end_of_9999);
  std::string formatted = stavka::http::format_http_date(*parsed);
  FUZZ_CHECK(formatted.size() == 29);
  FUZZ_CHECK(stavka::http::parse_http_date(formatted, june_2025) == parsed);
  if (text.size() == 29 && text[3] == ',' && text.substr(23, 2) != "60") {
    FUZZ_CHECK(formatted.substr(3) == text.substr(3));
  }
  return 0;
}
