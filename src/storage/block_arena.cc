// BlockArena: see block_arena.h.
#include "storage/block_arena.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace stavka::storage {

namespace {

constexpr uint64_t page_size = 4096;

uint64_t round_to_page(uint64_t n) { return (n + page_size - 1) & ~(page_size - 1); }

std::atomic<BlockArena*> installed{nullptr};

// True when the system puts huge pages in shared memory whatever a mapping advises.
bool shmem_huge_pages_forced() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/shmem_enabled");
  std::string setting;
  std::getline(in, setting);
  return setting.find("[force]") != std::string::npos;
}

}  // namespace

void install_block_arena(BlockArena* arena) { installed.store(arena, std::memory_order_release); }

BlockArena* installed_block_arena() { return installed.load(std::memory_order_acquire); }

std::unique_ptr<BlockArena> BlockArena::create(uint64_t reserve, std::string* error,
                                               uint32_t min_block) {
  reserve = std::max<uint64_t>(chunk_size, (reserve + chunk_size - 1) / chunk_size * chunk_size);
  int fd = memfd_create("stavka-blocks", MFD_CLOEXEC);
  if (fd < 0) {
    *error = std::string("memfd_create: ") + std::strerror(errno);
    return nullptr;
  }
  if (ftruncate(fd, static_cast<off_t>(reserve)) != 0) {
    *error = std::string("sizing the block arena: ") + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  if (shmem_huge_pages_forced()) {
    *error = "transparent huge pages are forced on shared memory "
             "(/sys/kernel/mm/transparent_hugepage/shmem_enabled is \"force\"), so freed pages "
             "cannot be punched out while sockets still hold them";
    ::close(fd);
    return nullptr;
  }
  void* base = mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (base == MAP_FAILED) {
    *error = std::string("mapping the block arena: ") + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  // Small pages only: punching part of a huge page zeroes it in place when it cannot be split
  // (a socket still holds it), which would change bytes in flight. Every page of the file is
  // allocated through this mapping (writes and MADV_POPULATE_WRITE), so the advice covers all.
  madvise(base, reserve, MADV_NOHUGEPAGE);
  return std::unique_ptr<BlockArena>(
      new BlockArena(fd, static_cast<char*>(base), reserve, std::max<uint32_t>(min_block, 1)));
}

BlockArena::BlockArena(int fd, char* base, uint64_t reserve, uint32_t min_block)
    : fd_(fd), base_(base), reserve_(reserve), min_block_(min_block),
      chunks_(reserve / chunk_size), partial_(class_of(static_cast<uint32_t>(chunk_size)) + 1) {
  free_chunks_.reserve(chunks_.size());
  for (size_t i = chunks_.size(); i-- > 0;) free_chunks_.push_back(static_cast<uint32_t>(i));
}

BlockArena::~BlockArena() {
  munmap(base_, reserve_);
  ::close(fd_);
}

int BlockArena::class_of(uint32_t size) {
  int bits = std::bit_width(std::max<uint32_t>(size, 1) - 1);  // ceil(log2(size))
  return std::max(bits, 12) - 12;
}

int64_t BlockArena::chunk_with_room(int size_class) {
  std::vector<uint32_t>& partial = partial_[static_cast<size_t>(size_class)];
  if (!partial.empty()) return partial.back();
  if (free_chunks_.empty()) return -1;
  uint32_t c = free_chunks_.back();
  free_chunks_.pop_back();
  chunks_[c].size_class = size_class;
  partial.push_back(c);
  return c;
}

char* BlockArena::allocate(uint32_t size) {
  if (size < min_block_ || size > chunk_size) return nullptr;
  const int size_class = class_of(size);
  uint64_t offset;
  {
    std::lock_guard lock(mutex_);
    int64_t c = chunk_with_room(size_class);
    if (c < 0) {
      ++full_;
      return nullptr;
    }
    Chunk& chunk = chunks_[static_cast<size_t>(c)];
    uint32_t slot;
    if (!chunk.free_slots.empty()) {
      slot = chunk.free_slots.back();
      chunk.free_slots.pop_back();
    } else {
      slot = chunk.carved++;
    }
    ++chunk.used;
    if (chunk.free_slots.empty() && chunk.carved == slots_per_chunk(size_class)) {
      std::vector<uint32_t>& partial = partial_[static_cast<size_t>(size_class)];
      partial.erase(std::find(partial.begin(), partial.end(), static_cast<uint32_t>(c)));
    }
    ++slots_in_use_;
    bytes_in_use_ += size;
    offset = static_cast<uint64_t>(c) * chunk_size + uint64_t{slot} * slot_size(size_class);
  }
  char* p = base_ + offset;
  // One call instead of a page fault per page. EINVAL: a kernel before 5.14, the pages come
  // with the first writes instead. Anything else (no memory): the caller uses the heap.
  if (madvise(p, round_to_page(size), MADV_POPULATE_WRITE) != 0 && errno != EINVAL) {
    release(p, size);
    return nullptr;
  }
  return p;
}

void BlockArena::release(char* p, uint32_t size) {
  const uint64_t offset = offset_of(p);
  // Before the slot can be handed out again: see "Reuse" in block_arena.h.
  bool punched = fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                           static_cast<off_t>(offset), static_cast<off_t>(round_to_page(size))) == 0;
  const int size_class = class_of(size);
  const auto c = static_cast<uint32_t>(offset / chunk_size);
  const auto slot = static_cast<uint32_t>((offset % chunk_size) / slot_size(size_class));
  std::lock_guard lock(mutex_);
  Chunk& chunk = chunks_[c];
  std::vector<uint32_t>& partial = partial_[static_cast<size_t>(size_class)];
  const bool had_room = !chunk.free_slots.empty() || chunk.carved < slots_per_chunk(size_class);
  --slots_in_use_;
  bytes_in_use_ -= size;
  --chunk.used;
  if (!punched) {
    ++lost_;  // the slot stays carved but never comes back
  } else {
    chunk.free_slots.push_back(slot);
  }
  if (chunk.used == 0 && chunk.free_slots.size() == chunk.carved) {
    // Every slot ever carved is back and punched: the chunk may take another class.
    if (had_room) partial.erase(std::find(partial.begin(), partial.end(), c));
    chunk = Chunk{};
    free_chunks_.push_back(c);
  } else if (!had_room && !chunk.free_slots.empty()) {
    partial.push_back(c);
  }
}

BlockArena::Stats BlockArena::stats() const {
  std::lock_guard lock(mutex_);
  Stats s;
  s.reserve = reserve_;
  s.slots_in_use = slots_in_use_;
  s.bytes_in_use = bytes_in_use_;
  s.chunks_in_use = chunks_.size() - free_chunks_.size();
  s.full = full_;
  s.lost = lost_;
  return s;
}

}  // namespace stavka::storage
