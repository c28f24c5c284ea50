// PipePool: see pipe_pool.h.
#include "runtime/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace stavka::runtime {

namespace {

void close_pipe(const Pipe& p) {
  ::close(p.read_fd);
  ::close(p.write_fd);
}

}  // namespace

PipePool::~PipePool() {
  for (const Pipe& p : idle_) close_pipe(p);
}

Pipe PipePool::take() {
  if (!idle_.empty()) {
    Pipe p = idle_.back();
    idle_.pop_back();
    return p;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return {};
  Pipe p{fds[0], fds[1], 0};
  // Refused past /proc/sys/fs/pipe-max-size or the user's pipe quota: the default size works too.
  fcntl(p.write_fd, F_SETPIPE_SZ, static_cast<int>(wanted_capacity));
  int size = fcntl(p.write_fd, F_GETPIPE_SZ);
  p.capacity = size > 0 ? static_cast<uint32_t>(size) : 4096;
  return p;
}

void PipePool::give(Pipe pipe, bool empty) {
  if (!pipe) return;
  if (empty && idle_.size() < max_idle) {
    idle_.push_back(pipe);
  } else {
    close_pipe(pipe);
  }
}

}  // namespace stavka::runtime
