// HTTP dates (RFC 9110 §5.6.7): formatting the IMF-fixdate form for Date headers, and parsing
// all three forms a recipient must accept (Expires, Last-Modified, Date, If-Modified-Since...).
//
// Parsing and formatting are pure and independent of the locale and of TZ: the calendar
// arithmetic is done here, in UTC, on the proleptic Gregorian calendar. http_date_now() caches
// the text per second in thread-local storage, so each worker formats at most one date a second.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace stavka::http {

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::string format_http_date(time_t t);
// The current time as above; valid until the next call on this thread.
std::string_view http_date_now();

// Parses an HTTP-date, exactly as written (no surrounding whitespace, case-sensitive names):
//   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"
//   asctime      "Sun Nov  6 08:49:37 1994"   (the day may also be "06")
// The weekday must be one of the seven names (abbreviated, or in full for RFC 850) but is not
// checked against the date: RFC 9110 lets recipients ignore it, and origins get it wrong.
// The date and time must exist (Feb 29 only in leap years, hour <= 23, minute <= 59); a leap
// second ":60" is read as ":59". Dates before 1970 give negative values. nullopt otherwise,
// including for the "0" and "-1" some origins send as Expires (the caller decides what an
// invalid date means there).
// RFC 850's two-digit year is resolved against `now` (RFC 9110 §5.6.7): the year with those
// last two digits in the window (now's year - 50, now's year + 50]; so one that would be more
// than 50 years in the future is taken from the previous century.
std::optional<time_t> parse_http_date(std::string_view text, time_t now);
// As above with now = time(nullptr).
std::optional<time_t> parse_http_date(std::string_view text);

}  // namespace stavka::http
