// Parsers for the values written in Stavka's configuration (addresses, origins, durations,
// sizes, host patterns) and the text helpers its error messages use.
//
// Pure functions, no state: used by the loader (config.cc) on the main thread and by the
// command-line flags. A parser returns a Problem (the reason, for a message) or std::nullopt
// on success, and never throws; config.cc turns a Problem into a ConfigError with a line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace stavka::config::detail {

// A failed parse returns the reason; std::nullopt means success.
using Problem = std::optional<std::string>;

constexpr Millis max_duration = std::chrono::hours(24);

// User text shown in a message: control and non-ASCII bytes escaped as \xNN, so a message
// stays one printable line whatever the input holds.
std::string printable(std::string_view text);
std::string in_quotes(std::string_view text);
std::string lowercase(std::string_view text);
bool is_digit(char c);
bool is_alnum(char c);

Problem try_parse_listen(std::string_view text, ListenAddress& out);
// "10.0.0.0/8", "192.0.2.7" (/32), "2001:db8::/32", "::1" (/128).
Problem try_parse_address_range(std::string_view text, AddressRange& out);
Problem try_parse_origin(std::string_view text, OriginUrl& out);
// "250ms", "10s", "5m", "1h"; at most 24h.
Problem try_parse_duration(std::string_view text, Millis& out);
// "512", "64KiB", "256MiB", "10GiB", "1TiB" (binary units; also "KB"/"MB"/"GB"/"TB" as
// powers of 1000). At most 2^50 bytes.
Problem try_parse_size(std::string_view text, uint64_t& out);
// A [[site]] host pattern, lowercased into `out`: "name", "*.name", "*" or "[v6]".
Problem try_parse_host_pattern(std::string_view text, std::string& out);
// RFC 9110 token (as Via's pseudonym and header names must be).
bool is_token(std::string_view text);
// Optimal string alignment distance (a swap of two neighbours is one edit), for suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace stavka::config::detail
