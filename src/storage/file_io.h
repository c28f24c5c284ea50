// Whole-buffer file transfers on the calling reactor's io_uring, for the disk tier: regular
// files may take a readv/writev in several parts, which these continue until done.
//
// Threads: must be awaited on a reactor thread; the iovec arrays live in the caller's frame,
// which stays suspended until the transfer is over, and are consumed (advanced) as it goes.
#pragma once

#include <sys/uio.h>

#include <cstdint>

#include "runtime/task.h"

namespace stavka::storage {

// Writes the vectors at offset into path (created if absent, mode 0644), opening and closing
// it through the ring. 0, or -errno of the first failure.
runtime::Task<int> write_file(const char* path, iovec* iov, int count, uint64_t offset);
// Reads into the vectors at offset until they are full or the file ends. Bytes read, or -errno.
runtime::Task<int64_t> read_file(int fd, iovec* iov, int count, uint64_t offset);

}  // namespace stavka::storage
