// HTTP dates (RFC 9110 §5.6.7): formatting the IMF-fixdate form for Date headers.
//
// http_date_now() caches the text per second in thread-local storage, so each worker formats
// at most one date a second.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace stavka::http {

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::string format_http_date(time_t t);
// The current time as above; valid until the next call on this thread.
std::string_view http_date_now();

}  // namespace stavka::http
