// BlockArena: body blocks kept in one memory file (memfd), so that a hit can be spliced from the
// arena's pages into a client socket instead of being copied through a user-space buffer.
//
// The file is sparse and mapped once (MAP_SHARED | MAP_NORESERVE): a slot costs RAM only for
// the pages a block actually wrote, so slots are sized generously (a power of two from
// min_block up to 64 MiB) and the virtual reserve is a few times the memory budget.
//
// Reuse is the one hazard of splicing: a spliced page stays referenced by socket buffers (and
// TCP's retransmit queue) after the block that owned it is gone, and writing new data into that
// page would change bytes already "sent". So release() punches the slot's pages out of the file
// before the slot can be handed out again: the old pages live on, detached, until the kernel
// drops its last reference, and the next block written there gets fresh ones.
//
// Huge pages would defeat that (a partly punched huge page still referenced by a socket is
// zeroed in place), so the mapping is advised against them and the arena refuses to start where
// the system forces them on shared memory.
//
// Slots are carved from 64 MiB chunks, each dedicated to one size class while any of its slots
// is in use; a chunk whose last slot is released returns to the free pool, so a change in the
// mix of block sizes does not strand the reserve.
//
// Threads: allocate() and release() may be called from any thread (one mutex, held for a few
// list operations; the system calls happen outside it). The arena must outlive every block
// allocated from it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace stavka::storage {

class BlockArena {
 public:
  static constexpr uint64_t chunk_size = 64ull << 20;
  static constexpr uint32_t default_min_block = 16 * 1024;

  struct Stats {
    uint64_t reserve = 0;        // bytes of address space (and file size)
    uint64_t slots_in_use = 0;
    uint64_t bytes_in_use = 0;   // sum of the allocated sizes
    uint64_t chunks_in_use = 0;
    uint64_t full = 0;           // allocations refused because no slot was free
    uint64_t lost = 0;           // slots never reused because punching them failed
  };

  // An arena of `reserve` bytes (rounded up to whole chunks) for blocks of min_block bytes or
  // more. nullptr with *error set when the kernel refuses the memory file or the mapping, or
  // forces huge pages on shared memory.
  static std::unique_ptr<BlockArena> create(uint64_t reserve, std::string* error,
                                            uint32_t min_block = default_min_block);
  ~BlockArena();
  BlockArena(const BlockArena&) = delete;
  BlockArena& operator=(const BlockArena&) = delete;

  // Writable memory for a block of `size` bytes, its pages already allocated; nullptr when the
  // size is under min_block or over the largest class, no slot is free or the pages cannot be
  // had (the caller then uses the heap).
  char* allocate(uint32_t size);
  // Returns memory from allocate(size) (the same size).
  void release(char* p, uint32_t size);

  // Where p (from allocate) lives in the arena's file.
  int fd() const { return fd_; }
  uint64_t offset_of(const char* p) const { return static_cast<uint64_t>(p - base_); }
  uint32_t min_block() const { return min_block_; }

  Stats stats() const;

 private:
  struct Chunk {
    int size_class = -1;               // -1: free
    uint32_t used = 0;                 // slots handed out
    uint32_t carved = 0;               // slots ever handed out since the chunk took its class
    std::vector<uint32_t> free_slots;  // released slots, punched, ready for reuse
  };

  BlockArena(int fd, char* base, uint64_t reserve, uint32_t min_block);
  static int class_of(uint32_t size);
  static uint64_t slot_size(int size_class) { return uint64_t{1} << (size_class + 12); }
  static uint32_t slots_per_chunk(int size_class) {
    return static_cast<uint32_t>(chunk_size / slot_size(size_class));
  }
  // A chunk with a slot of this class to hand out, taking a free chunk if needed; -1 if none.
  int64_t chunk_with_room(int size_class);

  const int fd_;
  char* const base_;
  const uint64_t reserve_;
  const uint32_t min_block_;

  mutable std::mutex mutex_;
  std::vector<Chunk> chunks_;
  std::vector<uint32_t> free_chunks_;
  std::vector<std::vector<uint32_t>> partial_;  // per class: chunks with a slot to hand out
  uint64_t bytes_in_use_ = 0;
  uint64_t slots_in_use_ = 0;
  uint64_t full_ = 0;
  uint64_t lost_ = 0;
};

// The arena blocks come from (allocate_block_bytes in storage.h), process-wide. None is
// installed by default: blocks then live on the heap. Install once at start-up, before any
// block is made; the arena must then outlive every block.
void install_block_arena(BlockArena* arena);
BlockArena* installed_block_arena();

}  // namespace stavka::storage
