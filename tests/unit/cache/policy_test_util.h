// Helpers for the cache policy tests: a simulated clock, stored responses built from field
// lists, and HTTP dates at offsets from a fixed epoch.
//
// Test-only; single-threaded. Time never comes from the system: every test starts at t0 and
// steps `now` forward explicitly.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "cache/directives.h"
#include "cache/stored_response.h"
#include "http/date.h"
#include "http/headers.h"

namespace stavka::cache::test {

// Tue, 14 Nov 2023 22:13:20 GMT: a fixed origin for all simulated clocks.
constexpr int64_t t0 = 1'700'000'000;

struct SimClock {
  int64_t now = t0;
  void advance(int64_t seconds) { now += seconds; }
};

using FieldList = std::initializer_list<std::pair<std::string_view, std::string_view>>;

inline http::HeaderMap fields(FieldList list) {
  http::HeaderMap out;
  for (const auto& [name, value] : list) out.add(name, value);
  return out;
}

inline std::string date_at(int64_t t) { return http::format_http_date(static_cast<time_t>(t)); }

// A response received at t0 for a request sent at t0 (no delay), with the given fields.
inline StoredResponse stored(int status, FieldList list, int64_t request_time = t0,
                             int64_t response_time = t0) {
  return StoredResponse{status, fields(list), request_time, response_time};
}

inline StoredResponse stored(int status, http::HeaderMap headers, int64_t request_time = t0,
                             int64_t response_time = t0) {
  return StoredResponse{status, std::move(headers), request_time, response_time};
}

inline ResponseDirectives directives_of(const StoredResponse& r) {
  return response_directives(r.headers);
}

}  // namespace stavka::cache::test
