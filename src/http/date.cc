// HTTP date formatting and parsing; see date.h for the accepted forms.
//
// Parsing is pure: no locale, no strptime/timegm, so the result never depends on TZ or on the
// C library's idea of the calendar. Positions are fixed by the three grammars, so each form is
// checked by length first and then character by character. Invariant: a parsed value formats
// back (format_http_date) to a date that parses to the same value.
#include "http/date.h"

#include <cstdint>
#include <cstdio>

namespace stavka::http {

namespace {

constexpr std::string_view short_days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::string_view long_days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday"};
constexpr std::string_view month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_one_of(std::string_view text, const std::string_view (&names)[7]) {
  for (std::string_view name : names) {
    if (text == name) return true;
  }
  return false;
}

// 1..12, or 0 when text is not a month name.
int month_number(std::string_view text) {
  for (int i = 0; i < 12; ++i) {
    if (text == month_names[i]) return i + 1;
  }
  return 0;
}

// Reads count decimal digits at text[pos]; false unless all are digits.
bool read_digits(std::string_view text, size_t pos, size_t count, int& value) {
  if (pos + count > text.size()) return false;
  value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

struct Civil {
  int64_t year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..31
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// "HH:MM:SS" at text[pos].
bool read_time(std::string_view text, size_t pos, Civil& c) {
  return read_digits(text, pos, 2, c.hour) && text[pos + 2] == ':' &&
         read_digits(text, pos + 3, 2, c.minute) && text[pos + 5] == ':' &&
         read_digits(text, pos + 6, 2, c.second);
}

bool is_leap(int64_t year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int days_in_month(int64_t year, int month) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Days since 1970-01-01 of a proleptic Gregorian date. The year is shifted to start in March so
// that the leap day falls at the end; then whole 400-year cycles (146097 days) are counted,
// followed by the years and days inside the cycle.
int64_t days_from_civil(int64_t year, int month, int day) {
  if (month <= 2) --year;
  int64_t cycle = floor_div(year, 400);
  int64_t year_of_cycle = year - cycle * 400;                        // 0..399
  int64_t month_from_march = month > 2 ? month - 3 : month + 9;      // 0..11
  int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;  // 0..365
  int64_t day_of_cycle =
      year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
  return cycle * 146097 + day_of_cycle - 719468;  // 719468: 0000-03-01 to 1970-01-01
}

// The (Gregorian) year containing a day count since 1970-01-01; the inverse of the above.
int64_t year_from_days(int64_t days) {
  int64_t shifted = days + 719468;
  int64_t cycle = floor_div(shifted, 146097);
  int64_t day_of_cycle = shifted - cycle * 146097;  // 0..146096
  int64_t year_of_cycle =
      (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36524 - day_of_cycle / 146096) / 365;
  int64_t day_of_year =
      day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
  int64_t month_from_march = (5 * day_of_year + 2) / 153;
  // January and February belong to the next calendar year in the March-based count.
  return year_of_cycle + cycle * 400 + (month_from_march >= 10 ? 1 : 0);
}

std::optional<time_t> to_time(Civil c) {
  if (c.month < 1 || c.month > 12) return std::nullopt;
  if (c.day < 1 || c.day > days_in_month(c.year, c.month)) return std::nullopt;
  if (c.hour > 23 || c.minute > 59 || c.second > 60) return std::nullopt;
  if (c.second == 60) c.second = 59;  // a leap second; time_t cannot represent it
  int64_t days = days_from_civil(c.year, c.month, c.day);
  return static_cast<time_t>(days * 86400 + c.hour * 3600 + c.minute * 60 + c.second);
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<time_t> parse_imf_fixdate(std::string_view text) {
  if (text.size() != 29 || !is_one_of(text.substr(0, 3), short_days)) return std::nullopt;
  Civil c;
  int year = 0;
  c.month = month_number(text.substr(8, 3));
  if (text.substr(3, 2) != ", " || !read_digits(text, 5, 2, c.day) || text[7] != ' ' ||
      text[11] != ' ' || !read_digits(text, 12, 4, year) || text[16] != ' ' ||
      !read_time(text, 17, c) || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  c.year = year;
  return to_time(c);
}

// "Sunday, 06-Nov-94 08:49:37 GMT"
std::optional<time_t> parse_rfc850(std::string_view text, time_t now) {
  size_t comma = text.find(',');
  if (comma == std::string_view::npos || !is_one_of(text.substr(0, comma), long_days)) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(comma + 1);  // " 06-Nov-94 08:49:37 GMT"
  if (rest.size() != 23) return std::nullopt;
  Civil c;
  int two_digit_year = 0;
  c.month = month_number(rest.substr(4, 3));
  if (rest[0] != ' ' || !read_digits(rest, 1, 2, c.day) || rest[3] != '-' || rest[7] != '-' ||
      !read_digits(rest, 8, 2, two_digit_year) || rest[10] != ' ' || !read_time(rest, 11, c) ||
      rest.substr(19) != " GMT") {
    return std::nullopt;
  }
  int64_t now_year = year_from_days(floor_div(now, 86400));
  int64_t year = floor_div(now_year, 100) * 100 + two_digit_year;
  if (year > now_year + 50) {
    year -= 100;
  } else if (year <= now_year - 50) {
    year += 100;
  }
  c.year = year;
  return to_time(c);
}

// "Sun Nov  6 08:49:37 1994"
std::optional<time_t> parse_asctime(std::string_view text) {
  if (text.size() != 24 || !is_one_of(text.substr(0, 3), short_days)) return std::nullopt;
  Civil c;
  int year = 0;
  c.month = month_number(text.substr(4, 3));
  bool day_ok = text[8] == ' ' ? read_digits(text, 9, 1, c.day) : read_digits(text, 8, 2, c.day);
  if (text[3] != ' ' || text[7] != ' ' || !day_ok || text[10] != ' ' || !read_time(text, 11, c) ||
      text[19] != ' ' || !read_digits(text, 20, 4, year)) {
    return std::nullopt;
  }
  c.year = year;
  return to_time(c);
}

}  // namespace

std::string format_http_date(time_t t) {
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  tm parts;
  gmtime_r(&t, &parts);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[parts.tm_wday],
                parts.tm_mday, months[parts.tm_mon], parts.tm_year + 1900, parts.tm_hour,
                parts.tm_min, parts.tm_sec);
  return buf;
}

std::string_view http_date_now() {
  thread_local time_t cached_second = -1;
  thread_local std::string cached;
  time_t now = time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    cached = format_http_date(now);
  }
  return cached;
}

std::optional<time_t> parse_http_date(std::string_view text, time_t now) {
  // The character after the weekday tells the forms apart: ',' after three letters is
  // IMF-fixdate, ' ' is asctime, and a longer name before ',' is RFC 850.
  if (text.size() < 4) return std::nullopt;
  if (text[3] == ',') return parse_imf_fixdate(text);
  if (text[3] == ' ') return parse_asctime(text);
  return parse_rfc850(text, now);
}

std::optional<time_t> parse_http_date(std::string_view text) {
  return parse_http_date(text, time(nullptr));
}

}  // namespace stavka::http
