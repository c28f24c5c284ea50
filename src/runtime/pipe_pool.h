// Pipes of one reactor, kept for splice(2): a spliced send (splice.h) borrows one for as long as
// it has bytes in flight and gives it back empty.
//
// Owned by one reactor thread, like its BufferPool. A pipe is made on demand (non-blocking,
// close-on-exec, enlarged to 1 MiB when the system allows, so one splice moves a whole default
// block); at most max_idle empty pipes are kept for reuse, so the file descriptors a reactor
// holds follow the spliced sends in progress, not the connections.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace stavka::runtime {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  uint32_t capacity = 0;  // bytes the pipe holds before a write into it would wait

  explicit operator bool() const { return read_fd >= 0; }
};

class PipePool {
 public:
  static constexpr size_t max_idle = 64;
  static constexpr uint32_t wanted_capacity = 1u << 20;

  PipePool() = default;
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // An empty pipe; a null Pipe (errno set) when the process is out of descriptors.
  Pipe take();
  // Takes back a pipe from take(): kept if it is empty and the pool has room, else closed.
  void give(Pipe pipe, bool empty);
  size_t idle() const { return idle_.size(); }

 private:
  std::vector<Pipe> idle_;
};

}  // namespace stavka::runtime
