// send_spliced: see splice.h.
#include "runtime/splice.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/pipe_pool.h"

namespace stavka::runtime {

namespace {

constexpr unsigned splice_flags = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;

// Where a send stands: what is still to go into the pipe, and how much the pipe holds.
struct Cursor {
  std::string_view prefix;
  std::span<const SpliceRange> ranges;
  uint64_t into_range = 0;  // bytes of ranges[0] already in the pipe
  uint32_t in_pipe = 0;

  bool more_to_fill() const { return !prefix.empty() || !ranges.empty(); }
};

// Moves bytes into the pipe until it is full or nothing is left. 0, or -errno.
int fill(Cursor& c, const Pipe& pipe) {
  while (c.in_pipe < pipe.capacity && c.more_to_fill()) {
    ssize_t n;
    if (!c.prefix.empty()) {
      n = ::write(pipe.write_fd, c.prefix.data(), c.prefix.size());
      if (n > 0) c.prefix.remove_prefix(static_cast<size_t>(n));
    } else {
      const SpliceRange& r = c.ranges.front();
      if (c.into_range == r.size) {  // an empty range
        c.ranges = c.ranges.subspan(1);
        c.into_range = 0;
        continue;
      }
      auto offset = static_cast<loff_t>(r.offset + c.into_range);
      n = ::splice(r.fd, &offset, pipe.write_fd, nullptr, r.size - c.into_range, splice_flags);
      if (n == 0) return -EIO;  // the file is shorter than the range
      if (n > 0 && (c.into_range += static_cast<uint64_t>(n)) == r.size) {
        c.ranges = c.ranges.subspan(1);
        c.into_range = 0;
      }
    }
    if (n < 0) return errno == EAGAIN ? 0 : -errno;  // EAGAIN: the pipe is full
    c.in_pipe += static_cast<uint32_t>(n);
  }
  return 0;
}

}  // namespace

Task<int64_t> send_spliced(int sock, std::string_view prefix, std::span<const SpliceRange> ranges,
                           Duration timeout) {
  Reactor& reactor = Reactor::current();
  const Clock::time_point deadline = Clock::now() + timeout;
  Pipe pipe = reactor.pipes().take();
  if (!pipe) co_return -errno;
  Cursor c{prefix, ranges};
  int64_t sent = 0;
  int64_t error = 0;
  while (error == 0) {
    if (int rc = fill(c, pipe); rc < 0) {
      error = rc;
      break;
    }
    if (c.in_pipe == 0) break;  // everything went out
    unsigned more = c.more_to_fill() ? SPLICE_F_MORE : 0;
    ssize_t n = ::splice(pipe.read_fd, nullptr, sock, nullptr, c.in_pipe, splice_flags | more);
    if (n > 0) {
      c.in_pipe -= static_cast<uint32_t>(n);
      sent += n;
    } else if (n < 0 && errno == EAGAIN) {
      // The socket is full: wait until it takes more (the deadline covers the whole send).
      Duration left = timeout > Duration::zero() ? deadline - Clock::now() : no_timeout;
      if (timeout > Duration::zero() && left <= Duration::zero()) {
        error = -ETIMEDOUT;
      } else if (int32_t rc = co_await poll(sock, POLLOUT, left); rc < 0) {
        error = rc;
      }
    } else {
      error = n < 0 ? -errno : -EPIPE;
    }
  }
  reactor.pipes().give(pipe, c.in_pipe == 0);
  co_return error != 0 ? error : sent;
}

}  // namespace stavka::runtime
