// Process log (stderr): start-up, reload, origin trouble, errors. Not the access log.
//
// Lines are formatted into one buffer and written with a single write() so that lines from
// different threads never interleave. A write to stderr can block if whoever reads it stalls,
// so the data path logs only rare events (failures), never per request.
#pragma once

#include <atomic>

namespace stavka::runtime {

enum class LogLevel : int { error = 0, warn = 1, info = 2, debug = 3 };

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
// printf-style; a newline is added.
void log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace stavka::runtime
