// AccessLog: one line per request, text or JSON, written without blocking the worker.
//
// Each worker owns one AccessLog; all of them write to the same fd (stdout, stderr or a file
// opened with O_APPEND). Lines are buffered and written by io_uring in whole-line batches of at
// most 4 KiB, so lines of different workers never interleave (PIPE_BUF atomicity on pipes,
// O_APPEND on files). A batch goes out when 4 KiB are pending or 100 ms after its first line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "runtime/reactor.h"

namespace stavka::proxy {

struct AccessRecord {
  std::string_view client_ip;
  std::string_view host;
  std::string_view method;
  std::string_view target;
  int status = 0;
  uint64_t bytes = 0;       // bytes sent to the client, head included
  double duration_ms = 0;   // request received → response done
  double upstream_ms = -1;  // origin request sent → response head received; < 0: no origin
  std::string_view cache_status = "-";
};

class AccessLog {
 public:
  // fd < 0: logging off.
  AccessLog(int fd, config::LogFormat format);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;

  bool enabled() const { return fd_ >= 0; }
  void write(const AccessRecord& r);
  // Writes everything pending with a plain write() (shutdown only).
  void flush_blocking();

  // Formatting, exposed for tests.
  static void format_text(const AccessRecord& r, std::string_view time, std::string& out);
  static void format_json(const AccessRecord& r, std::string_view time, std::string& out);

 private:
  void schedule_flush();
  void flush();
  static void on_written(runtime::Completion* c, int32_t res, uint32_t flags);
  static void on_timer(runtime::Timer* t);
  std::string_view timestamp();

  struct WriteCompletion : runtime::Completion {
    AccessLog* log;
  };
  struct FlushTimer : runtime::Timer {
    AccessLog* log;
  };

  int fd_;
  config::LogFormat format_;
  std::string pending_;
  std::string inflight_;
  size_t inflight_done_ = 0;
  bool writing_ = false;
  WriteCompletion write_completion_;
  FlushTimer timer_;
  int64_t cached_second_ = -1;
  std::string time_text_;
};

}  // namespace stavka::proxy
