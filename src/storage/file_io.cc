// io_uring file transfers for the disk tier (see file_io.h).
//
// Threads: reactor threads only; no state of its own.
#include "storage/file_io.h"

#include <fcntl.h>

#include <cerrno>

#include "runtime/io.h"

namespace stavka::storage {

namespace {

// Drops the first `bytes` of an iovec array that a partial transfer consumed.
void advance(iovec*& iov, int& count, size_t bytes) {
  while (count > 0 && bytes >= iov->iov_len) {
    bytes -= iov->iov_len;
    ++iov;
    --count;
  }
  if (count > 0) {
    iov->iov_base = static_cast<char*>(iov->iov_base) + bytes;
    iov->iov_len -= bytes;
  }
}

}  // namespace

runtime::Task<int> write_file(const char* path, iovec* iov, int count, uint64_t offset) {
  int fd = co_await runtime::openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) co_return fd;
  int result = 0;
  while (count > 0) {
    int n = co_await runtime::make_op(
        [=](io_uring_sqe* s) { io_uring_prep_writev(s, fd, iov, count, offset); });
    if (n <= 0) {
      result = n < 0 ? n : -EIO;
      break;
    }
    offset += static_cast<uint64_t>(n);
    advance(iov, count, static_cast<size_t>(n));
  }
  co_await runtime::close(fd);
  co_return result;
}

runtime::Task<int64_t> read_file(int fd, iovec* iov, int count, uint64_t offset) {
  int64_t total = 0;
  while (count > 0) {
    int n = co_await runtime::make_op(
        [=](io_uring_sqe* s) { io_uring_prep_readv(s, fd, iov, count, offset); });
    if (n < 0) co_return n;
    if (n == 0) break;  // end of file
    total += n;
    offset += static_cast<uint64_t>(n);
    advance(iov, count, static_cast<size_t>(n));
  }
  co_return total;
}

}  // namespace stavka::storage
