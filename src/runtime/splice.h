// Sending bytes that live in a file (the block arena's memory file, a page-cached file) to a
// socket without copying them through user space: splice(2) from the file into a pipe, then
// from the pipe into the socket. The socket's buffers then reference the file's pages.
//
// The system calls run on the reactor thread, non-blocking: io_uring's splice always completes
// in a kernel worker thread, which would cost a thread switch per call. Only a full socket is
// waited for, with an io_uring poll. So the socket must be non-blocking (O_NONBLOCK); the file
// must be one whose pages are in memory (splicing from it never waits for a device).
//
// splice(2) has no MSG_NOSIGNAL: a peer that has gone raises SIGPIPE, so the process must ignore
// that signal (the server does at start) to get -EPIPE instead.
//
// Callers keep the files' ranges unchanged until the send completes; after that the kernel may
// still hold the pages (until the peer acknowledges them), so a range is never rewritten in
// place afterwards (see block_arena.h for how the arena reuses its pages).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "runtime/io.h"
#include "runtime/task.h"

namespace stavka::runtime {

struct SpliceRange {
  int fd = -1;
  uint64_t offset = 0;
  uint32_t size = 0;
};

// Sends prefix (copied into the pipe) then every range, in order, to the non-blocking socket
// sock. Result: bytes sent (prefix included), or -errno: -ETIMEDOUT when it is not done within
// timeout, -EIO when a file ends before its range does.
Task<int64_t> send_spliced(int sock, std::string_view prefix, std::span<const SpliceRange> ranges,
                           Duration timeout);

}  // namespace stavka::runtime
