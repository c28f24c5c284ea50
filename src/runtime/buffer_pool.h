// Receive buffers of one reactor: an io_uring provided-buffer ring plus a small heap fallback.
//
// Owned by one reactor thread. A receive names no buffer: the kernel picks one from the ring
// only when data arrives, so a connection waiting for its next request holds no buffer at all.
// A Buffer is a move-only lease on one of them; destroying it gives the memory back (to the
// ring, or to the fallback free list when the ring was empty and the receive used a heap block).
// Leases must be destroyed on the reactor thread that made them, before that reactor ends.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace stavka::runtime {

class BufferPool;

class Buffer {
 public:
  Buffer() = default;
  Buffer(BufferPool* pool, char* data, uint32_t size, int32_t id)
      : pool_(pool), data_(data), size_(size), id_(id) {}
  Buffer(Buffer&& o) noexcept { take(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      if (data_) release();
      take(o);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  ~Buffer() {
    if (data_) release();
  }

  explicit operator bool() const { return data_ != nullptr; }
  // The unread bytes.
  std::string_view view() const { return {data_ + offset_, size_ - offset_}; }
  size_t remaining() const { return size_ - offset_; }
  void consume(size_t n) { offset_ += static_cast<uint32_t>(n); }
  void release();

 private:
  void take(Buffer& o) {
    pool_ = std::exchange(o.pool_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    offset_ = std::exchange(o.offset_, 0);
    id_ = std::exchange(o.id_, -1);
  }

  BufferPool* pool_ = nullptr;
  char* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t offset_ = 0;
  int32_t id_ = -1;  // ring buffer id, or -1 for a heap block
};

class BufferPool {
 public:
  static constexpr uint16_t group_id = 0;

  // count must be a power of two.
  BufferPool(io_uring* ring, uint32_t count, uint32_t buffer_size);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;

  uint32_t buffer_size() const { return buffer_size_; }
  // A leased ring buffer the kernel filled: id from the CQE, len bytes valid.
  Buffer take_ring_buffer(uint16_t id, uint32_t len);
  // A heap block for a receive when the ring ran dry (ENOBUFS).
  char* take_heap_block();
  Buffer lease_heap_block(char* block, uint32_t len) { return Buffer(this, block, len, -1); }
  void give_back(char* data, int32_t id);

  size_t ring_buffers_out() const { return ring_out_; }

 private:
  io_uring* ring_;
  io_uring_buf_ring* buf_ring_ = nullptr;
  char* memory_ = nullptr;
  uint32_t count_;
  uint32_t buffer_size_;
  size_t ring_out_ = 0;
  std::vector<char*> heap_free_;
};

}  // namespace stavka::runtime
