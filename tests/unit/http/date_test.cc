// parse_http_date and format_http_date.
//
// Single-threaded GoogleTest cases on plain values; `now` is always passed in except where the
// clock-reading overload itself is under test. Expected values were computed independently
// (Python's calendar.timegm), not with the code under test.
#include "http/date.h"

#include <gtest/gtest.h>

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace stavka::http {
namespace {

constexpr time_t rfc_example = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr time_t june_2025 = 1748736000;   // Sun, 01 Jun 2025 00:00:00 GMT

std::optional<time_t> parse(std::string_view text) {
  return parse_http_date(text, june_2025);
}

TEST(HttpDate, ThreeFormsOfTheRfcExample) {
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT"), rfc_example);   // IMF-fixdate
  EXPECT_EQ(parse("Sunday, 06-Nov-94 08:49:37 GMT"), rfc_example);  // RFC 850
  EXPECT_EQ(parse("Sun Nov  6 08:49:37 1994"), rfc_example);        // asctime
  EXPECT_EQ(parse("Sun Nov 06 08:49:37 1994"), rfc_example);        // asctime, 2DIGIT day
}

TEST(HttpDate, KnownInstants) {
  EXPECT_EQ(parse("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parse("Wed, 31 Dec 1969 23:59:59 GMT"), -1);
  EXPECT_EQ(parse("Thu, 01 Mar 1900 00:00:00 GMT"), -2203891200);
  EXPECT_EQ(parse("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
  EXPECT_EQ(parse("Thu, 29 Feb 2024 12:00:00 GMT"), 1709208000);
  EXPECT_EQ(parse("Fri, 01 Jan 2100 00:00:00 GMT"), 4102444800);
  EXPECT_EQ(parse("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799);
  EXPECT_EQ(parse("Sat, 01 Jan 0000 00:00:00 GMT"), -62167219200);
  EXPECT_EQ(parse("Sun Jun  1 00:00:00 2025"), june_2025);
  EXPECT_EQ(parse("Sunday, 01-Jun-25 00:00:00 GMT"), june_2025);
}

TEST(HttpDate, EveryMonthAndDayName) {
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::optional<time_t> previous;
  for (const char* month : months) {
    std::optional<time_t> t = parse(std::string("Mon, 01 ") + month + " 2001 00:00:00 GMT");
    ASSERT_TRUE(t) << month;
    if (previous) {
      EXPECT_GT(*t, *previous) << month;
    }
    previous = t;
  }
  for (const char* day : {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}) {
    EXPECT_EQ(parse(std::string(day) + ", 06 Nov 1994 08:49:37 GMT"), rfc_example) << day;
    EXPECT_EQ(parse(std::string(day) + " Nov  6 08:49:37 1994"), rfc_example) << day;
  }
  for (const char* day :
       {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}) {
    EXPECT_EQ(parse(std::string(day) + ", 06-Nov-94 08:49:37 GMT"), rfc_example) << day;
  }
}

TEST(HttpDate, WrongWeekdayIsTolerated) {
  EXPECT_EQ(parse("Mon, 06 Nov 1994 08:49:37 GMT"), rfc_example);
  EXPECT_EQ(parse("Friday, 06-Nov-94 08:49:37 GMT"), rfc_example);
}

TEST(HttpDate, WeekdayMustBeAName) {
  EXPECT_EQ(parse("Xyz, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("sun, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("SUN, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06-Nov-94 08:49:37 GMT"), std::nullopt);  // RFC 850 needs the long name
  EXPECT_EQ(parse("Sundae, 06-Nov-94 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sunday Nov  6 08:49:37 1994"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 06 Nov 1994 08:49:37 GMT"), std::nullopt);  // long name, IMF body
}

TEST(HttpDate, MonthMustBeAName) {
  EXPECT_EQ(parse("Sun, 06 nov 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 NOV 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Foo 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 11  1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 06-nov-94 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun Nox  6 08:49:37 1994"), std::nullopt);
}

TEST(HttpDate, CalendarRangeChecks) {
  EXPECT_EQ(parse("Fri, 30 Feb 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Wed, 29 Feb 2023 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Thu, 29 Feb 1900 00:00:00 GMT"), std::nullopt);  // century, not leap
  EXPECT_EQ(parse("Thu, 31 Apr 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Thu, 31 Jun 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Thu, 31 Sep 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Thu, 31 Nov 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Thu, 00 Jan 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Thu, 32 Jan 2024 00:00:00 GMT"), std::nullopt);
  EXPECT_TRUE(parse("Tue, 31 Dec 2024 00:00:00 GMT"));
  EXPECT_TRUE(parse("Thu, 31 Jul 2024 00:00:00 GMT"));
  EXPECT_EQ(parse("Sunday, 30-Feb-94 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun Feb 30 08:49:37 1994"), std::nullopt);
  EXPECT_EQ(parse("Sun Feb  0 08:49:37 1994"), std::nullopt);
}

TEST(HttpDate, TimeRangeChecks) {
  EXPECT_EQ(parse("Sun, 06 Nov 1994 25:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 24:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 23:60:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 23:59:61 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 23:59:99 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 06-Nov-94 25:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun Nov  6 25:00:00 1994"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 8:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08-49-37 GMT"), std::nullopt);
}

TEST(HttpDate, LeapSecondReadsAs59) {
  EXPECT_EQ(parse("Sat, 31 Dec 2016 23:59:60 GMT"), parse("Sat, 31 Dec 2016 23:59:59 GMT"));
  EXPECT_EQ(parse("Sun Nov  6 08:49:60 1994"), rfc_example + 22);
}

TEST(HttpDate, GmtIsRequired) {
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 UTC"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 gmt"), std::nullopt);
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 +0000"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 06-Nov-94 08:49:37"), std::nullopt);
  EXPECT_EQ(parse("Sunday, 06-Nov-94 08:49:37 UTC"), std::nullopt);
  EXPECT_EQ(parse("Sun Nov  6 08:49:37 1994 GMT"), std::nullopt);  // asctime has no zone
}

TEST(HttpDate, ExactSyntaxOnly) {
  for (std::string_view text : {"",
                                "0",
                                "-1",
                                "1",
                                "Sun",
                                "Sun,",
                                "Sun, ",
                                "Sunday,",
                                "Sun ",
                                "Sunday",
                                "Sun, 06 Nov 1994 08:49:37 GMT ",
                                " Sun, 06 Nov 1994 08:49:37 GMT",
                                "Sun, 06 Nov 1994 08:49:37 GMTx",
                                "Sun, 06 Nov 1994 08:49:37 GMT\r\n",
                                "Sun,  06 Nov 1994 08:49:37 GMT",
                                "Sun,06 Nov 1994 08:49:37 GMT",
                                "Sun, 6 Nov 1994 08:49:37 GMT",
                                "Sun, 06 Nov 94 08:49:37 GMT",
                                "Sun, 06 Nov 19940 08:49:37 GMT",
                                "Sun, 0a Nov 1994 08:49:37 GMT",
                                "Sun, 06 Nov 199x 08:49:37 GMT",
                                "Sun, 06-Nov-1994 08:49:37 GMT",
                                "Sunday, 06-Nov-1994 08:49:37 GMT",
                                "Sunday, 6-Nov-94 08:49:37 GMT",
                                "Sunday, 06 Nov 94 08:49:37 GMT",
                                "Sunday,06-Nov-94 08:49:37 GMT",
                                "Sunday, 06-Nov-94 08:49:37 GMT ",
                                "Sun Nov 6 08:49:37 1994",
                                "Sun Nov  6 08:49:37 94",
                                "Sun Nov  6 08:49:37  1994",
                                "Sun  Nov 6 08:49:37 1994",
                                "Sun Nov  6 08:49:37 1994 ",
                                "Sun Nov \t6 08:49:37 1994",
                                "Sun, 06 Nov -994 08:49:37 GMT",
                                "2024-06-01T00:00:00Z",
                                "1717200000"}) {
    EXPECT_EQ(parse(text), std::nullopt) << '"' << text << '"';
  }
  using namespace std::string_view_literals;
  EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT\0"sv), std::nullopt);
}

TEST(HttpDate, TwoDigitYearWindow) {
  // now = 2025: the window is 1976..2075.
  EXPECT_EQ(parse("Sunday, 06-Nov-94 08:49:37 GMT"), rfc_example);   // 1994
  EXPECT_EQ(parse("Thursday, 06-Nov-75 08:49:37 GMT"), 3340255777);  // 2075: 50 years ahead
  EXPECT_EQ(parse("Saturday, 06-Nov-76 08:49:37 GMT"), 216118177);   // 2076 would be > 50: 1976
  EXPECT_EQ(parse("Sunday, 06-Nov-05 08:49:37 GMT"), 1131266977);    // 2005
  // now = 2099: 2001 is 98 years back, 2101 only 2 ahead.
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-01 08:49:37 GMT", 4070908800), 4160710177);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", 4070908800),
            parse("Thu, 06 Nov 2094 08:49:37 GMT"));
  // Both edges of the window with now = 2099 (2049 excluded, 2149 included); the weekday is not
  // checked, so the IMF-fixdate comparisons need not name the right one.
  EXPECT_EQ(parse_http_date("Monday, 06-Nov-49 08:49:37 GMT", 4070908800),
            parse("Mon, 06 Nov 2149 08:49:37 GMT"));
  EXPECT_EQ(parse_http_date("Monday, 06-Nov-50 08:49:37 GMT", 4070908800),
            parse("Mon, 06 Nov 2050 08:49:37 GMT"));
  // now = 1999: "05" is 2005, "94" is 1994.
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-05 08:49:37 GMT", 915148800), 1131266977);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", 915148800), rfc_example);
  // Leap years are judged on the resolved year: 2000 is a leap year, 1900 and 2100 are not.
  EXPECT_TRUE(parse("Tuesday, 29-Feb-00 00:00:00 GMT"));
  EXPECT_EQ(parse_http_date("Monday, 29-Feb-00 00:00:00 GMT", 4070908800), std::nullopt);
}

TEST(HttpDate, OtherFormsIgnoreNow) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", 0), rfc_example);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994", 253402300799), rfc_example);
}

TEST(HttpDate, ClockOverloadReadsTheClock) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), rfc_example);
  // Stays 1994 until 2044, when 94 first falls outside the window.
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), rfc_example);
  std::optional<time_t> now = parse_http_date(http_date_now());
  ASSERT_TRUE(now);
  EXPECT_LE(*now, time(nullptr));
  EXPECT_GE(*now, time(nullptr) - 5);
}

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(format_http_date(rfc_example), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST(HttpDate, RoundTripsKnownInstants) {
  for (time_t t :
       {time_t{0}, time_t{-1}, rfc_example, time_t{951782400}, time_t{4102444800},
        time_t{253402300799}, time_t{-62167219200}, time_t{2147483647}, time_t{2147483648}}) {
    std::string text = format_http_date(t);
    EXPECT_EQ(parse(text), t) << text;
  }
}

TEST(HttpDate, RoundTripsAcrossCenturies) {
  // Steps of a week plus 1 h 1 min 1 s walk every weekday, month and time of day; the libc
  // formatter and our parser must agree from 1600 to 2400.
  for (time_t t = -11676096000; t < 13569465600; t += 7 * 86400 + 3661) {
    std::string text = format_http_date(t);
    ASSERT_EQ(parse(text), t) << text;
  }
}

TEST(HttpDate, ParsedTextFormatsBackUnchanged) {
  for (std::string_view text : {"Sun, 06 Nov 1994 08:49:37 GMT", "Tue, 29 Feb 2000 23:59:59 GMT",
                                "Sat, 01 Jan 0000 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
                                "Mon, 01 Jan 1601 12:34:56 GMT"}) {
    std::optional<time_t> t = parse(text);
    ASSERT_TRUE(t) << text;
    EXPECT_EQ(format_http_date(*t), text);
  }
}

}  // namespace
}  // namespace stavka::http
