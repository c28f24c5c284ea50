// BufferPool implementation; see buffer_pool.h.
#include "runtime/buffer_pool.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace stavka::runtime {

void Buffer::release() {
  if (data_ && pool_) pool_->give_back(data_, id_);
  data_ = nullptr;
  pool_ = nullptr;
  size_ = offset_ = 0;
  id_ = -1;
}

BufferPool::BufferPool(io_uring* ring, uint32_t count, uint32_t buffer_size)
    : ring_(ring), count_(count), buffer_size_(buffer_size) {
  size_t ring_bytes = count * sizeof(io_uring_buf);
  void* ring_mem = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                        -1, 0);
  if (ring_mem == MAP_FAILED) throw std::runtime_error("cannot map the receive buffer ring");
  buf_ring_ = static_cast<io_uring_buf_ring*>(ring_mem);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  int rc = io_uring_register_buf_ring(ring_, &reg, 0);
  if (rc < 0) {
    munmap(ring_mem, ring_bytes);
    throw std::runtime_error(std::string("io_uring provided-buffer rings are not supported by "
                                         "this kernel (need Linux 5.19 or later): ") +
                             strerror(-rc));
  }
  // Untouched pages cost no RSS: memory is only committed as buffers are first used.
  memory_ = static_cast<char*>(mmap(nullptr, size_t(count) * buffer_size, PROT_READ | PROT_WRITE,
                                    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0));
  if (memory_ == MAP_FAILED) throw std::runtime_error("cannot map receive buffers");
  uint32_t mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(buf_ring_, memory_ + size_t(i) * buffer_size, buffer_size, i, mask, i);
  }
  io_uring_buf_ring_advance(buf_ring_, count);
}

BufferPool::~BufferPool() {
  io_uring_unregister_buf_ring(ring_, group_id);
  munmap(buf_ring_, count_ * sizeof(io_uring_buf));
  munmap(memory_, size_t(count_) * buffer_size_);
  for (char* b : heap_free_) std::free(b);
}

Buffer BufferPool::take_ring_buffer(uint16_t id, uint32_t len) {
  ++ring_out_;
  return Buffer(this, memory_ + size_t(id) * buffer_size_, len, id);
}

char* BufferPool::take_heap_block() {
  if (!heap_free_.empty()) {
    char* b = heap_free_.back();
    heap_free_.pop_back();
    return b;
  }
  return static_cast<char*>(std::malloc(buffer_size_));
}

void BufferPool::give_back(char* data, int32_t id) {
  if (id < 0) {
    if (heap_free_.size() < 64) {
      heap_free_.push_back(data);
    } else {
      std::free(data);
    }
    return;
  }
  --ring_out_;
  io_uring_buf_ring_add(buf_ring_, data, buffer_size_, static_cast<uint16_t>(id),
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

}  // namespace stavka::runtime
