// AccessLog implementation; see access_log.h.
#include "proxy/access_log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace stavka::proxy {

namespace {

constexpr size_t batch_limit = 4096;

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
  out.append(buf, static_cast<size_t>(n));
}

void append_ms(std::string& out, double ms) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.3f", ms);
  out.append(buf, static_cast<size_t>(n));
}

void append_field(std::string& out, std::string_view v) {
  out.append(v.empty() ? std::string_view("-") : v);
}

void append_json_string(std::string& out, std::string_view v) {
  out.push_back('"');
  for (unsigned char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

AccessLog::AccessLog(int fd, config::LogFormat format) : fd_(fd), format_(format) {
  write_completion_.log = this;
  write_completion_.on_complete = &AccessLog::on_written;
  timer_.log = this;
  timer_.fire = &AccessLog::on_timer;
}

AccessLog::~AccessLog() {
  if (auto* r = runtime::Reactor::current_or_null()) r->remove_timer(&timer_);
}

std::string_view AccessLog::timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  int64_t second = ms / 1000;
  if (second != cached_second_) {
    cached_second_ = second;
    time_t t = static_cast<time_t>(second);
    tm parts;
    gmtime_r(&t, &parts);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &parts);
    time_text_ = buf;
    time_text_ += ".000Z";
  }
  char* frac = time_text_.data() + time_text_.size() - 4;
  int millis = static_cast<int>(ms % 1000);
  frac[0] = static_cast<char>('0' + millis / 100);
  frac[1] = static_cast<char>('0' + millis / 10 % 10);
  frac[2] = static_cast<char>('0' + millis % 10);
  return time_text_;
}

void AccessLog::format_text(const AccessRecord& r, std::string_view time, std::string& out) {
  out.append(time);
  out.push_back(' ');
  append_field(out, r.client_ip);
  out.push_back(' ');
  append_field(out, r.host);
  out.push_back(' ');
  append_field(out, r.method);
  out.push_back(' ');
  append_field(out, r.target);
  out.push_back(' ');
  append_number(out, static_cast<uint64_t>(r.status));
  out.push_back(' ');
  append_number(out, r.bytes);
  out.push_back(' ');
  append_ms(out, r.duration_ms);
  out.push_back(' ');
  if (r.upstream_ms < 0) {
    out.push_back('-');
  } else {
    append_ms(out, r.upstream_ms);
  }
  out.push_back(' ');
  append_field(out, r.cache_status);
  out.push_back('\n');
}

void AccessLog::format_json(const AccessRecord& r, std::string_view time, std::string& out) {
  out += "{\"time\":";
  append_json_string(out, time);
  out += ",\"client\":";
  append_json_string(out, r.client_ip);
  out += ",\"host\":";
  append_json_string(out, r.host);
  out += ",\"method\":";
  append_json_string(out, r.method);
  out += ",\"target\":";
  append_json_string(out, r.target);
  out += ",\"status\":";
  append_number(out, static_cast<uint64_t>(r.status));
  out += ",\"bytes\":";
  append_number(out, r.bytes);
  out += ",\"duration_ms\":";
  append_ms(out, r.duration_ms);
  out += ",\"upstream_ms\":";
  if (r.upstream_ms < 0) {
    out += "null";
  } else {
    append_ms(out, r.upstream_ms);
  }
  out += ",\"cache\":";
  append_json_string(out, r.cache_status);
  out += "}\n";
}

void AccessLog::write(const AccessRecord& r) {
  if (fd_ < 0) return;
  std::string_view time = timestamp();
  if (format_ == config::LogFormat::json) {
    format_json(r, time, pending_);
  } else {
    format_text(r, time, pending_);
  }
  if (pending_.size() >= batch_limit) {
    flush();
  } else {
    schedule_flush();
  }
}

void AccessLog::schedule_flush() {
  if (timer_.armed() || writing_) return;
  auto& reactor = runtime::Reactor::current();
  timer_.deadline = reactor.now() + std::chrono::milliseconds(100);
  reactor.add_timer(&timer_);
}

void AccessLog::on_timer(runtime::Timer* t) { static_cast<FlushTimer*>(t)->log->flush(); }

void AccessLog::flush() {
  if (writing_ || pending_.empty()) return;
  auto& reactor = runtime::Reactor::current();
  reactor.remove_timer(&timer_);
  // Take whole lines, at most batch_limit bytes (a longer single line goes alone).
  size_t cut = pending_.size();
  if (cut > batch_limit) {
    size_t nl = pending_.rfind('\n', batch_limit - 1);
    cut = nl == std::string::npos ? pending_.find('\n') + 1 : nl + 1;
  }
  inflight_.assign(pending_, 0, cut);
  pending_.erase(0, cut);
  inflight_done_ = 0;
  writing_ = true;
  io_uring_sqe* sqe = reactor.get_sqe();
  io_uring_prep_write(sqe, fd_, inflight_.data(), static_cast<unsigned>(inflight_.size()),
                      static_cast<uint64_t>(-1));
  io_uring_sqe_set_data(sqe, static_cast<runtime::Completion*>(&write_completion_));
}

void AccessLog::on_written(runtime::Completion* c, int32_t res, uint32_t) {
  AccessLog* log = static_cast<WriteCompletion*>(c)->log;
  auto& reactor = runtime::Reactor::current();
  if (res > 0 && log->inflight_done_ + static_cast<size_t>(res) < log->inflight_.size()) {
    log->inflight_done_ += static_cast<size_t>(res);
    io_uring_sqe* sqe = reactor.get_sqe();
    io_uring_prep_write(sqe, log->fd_, log->inflight_.data() + log->inflight_done_,
                        static_cast<unsigned>(log->inflight_.size() - log->inflight_done_),
                        static_cast<uint64_t>(-1));
    io_uring_sqe_set_data(sqe, c);
    return;
  }
  // A failed write (disk full, closed pipe) drops the batch rather than stalling the worker.
  log->writing_ = false;
  log->inflight_.clear();
  if (!log->pending_.empty()) {
    if (log->pending_.size() >= batch_limit) {
      log->flush();
    } else {
      log->schedule_flush();
    }
  }
}

void AccessLog::flush_blocking() {
  if (fd_ < 0) return;
  // A batch already handed to io_uring is not written again: the ring completes or cancels it
  // on exit, and writing it here too could duplicate lines.
  std::string all = std::move(pending_);
  pending_.clear();
  size_t off = 0;
  while (off < all.size()) {
    ssize_t n = ::write(fd_, all.data() + off, all.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace stavka::proxy
