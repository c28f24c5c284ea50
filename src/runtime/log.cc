// Process log implementation; see log.h.
#include "runtime/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace stavka::runtime {

namespace {
std::atomic<int> current_level{static_cast<int>(LogLevel::info)};
const char* const level_names[] = {"error", "warn", "info", "debug"};
}  // namespace

void set_log_level(LogLevel level) { current_level.store(static_cast<int>(level)); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) <= current_level.load(); }

void log(LogLevel level, const char* format, ...) {
  if (!log_enabled(level)) return;
  char line[2048];
  auto now = std::chrono::system_clock::now();
  time_t secs = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  tm parts;
  gmtime_r(&secs, &parts);
  int n = static_cast<int>(std::strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &parts));
  n += std::snprintf(line + n, sizeof line - n, ".%03dZ %s ", ms,
                     level_names[static_cast<int>(level)]);
  va_list args;
  va_start(args, format);
  int m = std::vsnprintf(line + n, sizeof line - n - 1, format, args);
  va_end(args);
  n = (m < 0) ? n : std::min<int>(n + m, sizeof line - 2);
  line[n++] = '\n';
  [[maybe_unused]] ssize_t w = ::write(2, line, static_cast<size_t>(n));
}

}  // namespace stavka::runtime
