// BlockArena: slot sizing, reuse, the punching that keeps bytes already spliced into a pipe or
// a socket intact when their slot is reused, chunks moving between size classes, concurrent
// use, and blocks (storage.h) made from an installed arena.
#include "storage/block_arena.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage.h"
#include "support/tcp_pair.h"

namespace stavka::storage {
namespace {

constexpr uint64_t MiB = 1 << 20;
constexpr uint32_t KiB = 1 << 10;

std::unique_ptr<BlockArena> make_arena(uint64_t reserve,
                                       uint32_t min_block = BlockArena::default_min_block) {
  std::string error;
  std::unique_ptr<BlockArena> arena = BlockArena::create(reserve, &error, min_block);
  EXPECT_NE(arena, nullptr) << error;
  return arena;
}

std::string read_file(int fd, uint64_t offset, size_t size) {
  std::string bytes(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, bytes.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

// Bytes of the arena's file backed by memory (the file is sparse).
uint64_t allocated_bytes(const BlockArena& arena) {
  struct stat st{};
  EXPECT_EQ(fstat(arena.fd(), &st), 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// Moves size bytes at offset of fd into the pipe's write end, without reading them.
void splice_into(int fd, uint64_t offset, size_t size, int pipe_write) {
  auto off = static_cast<loff_t>(offset);
  size_t done = 0;
  while (done < size) {
    ssize_t n = splice(fd, &off, pipe_write, nullptr, size - done, 0);
    ASSERT_GT(n, 0) << std::strerror(errno);
    done += static_cast<size_t>(n);
  }
}

std::string read_exactly(int fd, size_t size) {
  std::string bytes(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, bytes.data() + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    read = fds[0];
    write = fds[1];
    fcntl(write, F_SETPIPE_SZ, 1 << 20);
  }
  ~Pipe() {
    ::close(read);
    ::close(write);
  }
};

using test::TcpPair;

TEST(BlockArena, ReserveIsRoundedUpToWholeChunks) {
  EXPECT_EQ(make_arena(1)->stats().reserve, BlockArena::chunk_size);
  EXPECT_EQ(make_arena(BlockArena::chunk_size + 1)->stats().reserve, 2 * BlockArena::chunk_size);
  EXPECT_EQ(make_arena(3 * BlockArena::chunk_size)->stats().reserve, 3 * BlockArena::chunk_size);
}

TEST(BlockArena, RefusesSizesUnderMinBlock) {
  auto arena = make_arena(64 * MiB);
  EXPECT_EQ(arena->min_block(), BlockArena::default_min_block);
  EXPECT_EQ(arena->allocate(0), nullptr);
  EXPECT_EQ(arena->allocate(BlockArena::default_min_block - 1), nullptr);
  char* p = arena->allocate(BlockArena::default_min_block);
  ASSERT_NE(p, nullptr);
  arena->release(p, BlockArena::default_min_block);

  auto small = make_arena(64 * MiB, 100);
  EXPECT_EQ(small->allocate(99), nullptr);
  char* q = small->allocate(100);
  ASSERT_NE(q, nullptr);
  small->release(q, 100);
  EXPECT_EQ(arena->stats().full, 0u);  // a refused size is not a full arena
  EXPECT_EQ(small->stats().full, 0u);
}

TEST(BlockArena, RefusesSizesOverTheLargestClass) {
  auto arena = make_arena(64 * MiB);
  EXPECT_EQ(arena->allocate(64 * MiB + 1), nullptr);
  EXPECT_EQ(arena->allocate(UINT32_MAX), nullptr);
  EXPECT_EQ(arena->stats().full, 0u);
  char* p = arena->allocate(64 * MiB);  // the largest class: a whole chunk
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(arena->offset_of(p), 0u);
  arena->release(p, 64 * MiB);
}

TEST(BlockArena, SizesAreServedFromPowerOfTwoSlots) {
  auto arena = make_arena(8 * BlockArena::chunk_size);
  struct Case {
    uint32_t size;
    uint64_t slot;
  };
  for (Case c : {Case{16 * KiB, 16 * KiB}, Case{16 * KiB + 1, 32 * KiB},
                 Case{20'000, 32 * KiB}, Case{32 * KiB, 32 * KiB}, Case{100'000, 128 * KiB},
                 Case{1 * MiB, 1 * MiB}, Case{1 * MiB + 1, 2 * MiB}}) {
    char* a = arena->allocate(c.size);
    char* b = arena->allocate(c.size);
    ASSERT_NE(a, nullptr) << c.size;
    ASSERT_NE(b, nullptr) << c.size;
    EXPECT_EQ(static_cast<uint64_t>(b - a), c.slot) << c.size;  // consecutive slots
    EXPECT_EQ(arena->offset_of(a) % c.slot, 0u) << c.size;
    arena->release(a, c.size);
    arena->release(b, c.size);
  }
  // Everything was released between cases, so each class found the chunk pool whole again.
  EXPECT_EQ(arena->stats().chunks_in_use, 0u);
}

TEST(BlockArena, DifferentClassesLiveInDifferentChunks) {
  auto arena = make_arena(4 * BlockArena::chunk_size);
  char* a = arena->allocate(16 * KiB);
  char* b = arena->allocate(1 * MiB);
  char* c = arena->allocate(20 * KiB);
  ASSERT_TRUE(a && b && c);
  EXPECT_NE(arena->offset_of(a) / BlockArena::chunk_size,
            arena->offset_of(b) / BlockArena::chunk_size);
  EXPECT_NE(arena->offset_of(a) / BlockArena::chunk_size,
            arena->offset_of(c) / BlockArena::chunk_size);
  EXPECT_NE(arena->offset_of(b) / BlockArena::chunk_size,
            arena->offset_of(c) / BlockArena::chunk_size);
  EXPECT_EQ(arena->stats().chunks_in_use, 3u);
  arena->release(a, 16 * KiB);
  arena->release(b, 1 * MiB);
  arena->release(c, 20 * KiB);
}

TEST(BlockArena, WrittenBytesAreReadableInMemoryAndThroughTheFile) {
  auto arena = make_arena(64 * MiB);
  constexpr uint32_t size = 50'000;
  char* p = arena->allocate(size);
  ASSERT_NE(p, nullptr);
  std::string pattern(size, '\0');
  for (uint32_t i = 0; i < size; ++i) pattern[i] = static_cast<char>(i * 7 + 3);
  std::memcpy(p, pattern.data(), size);
  EXPECT_EQ(std::string_view(p, size), pattern);
  EXPECT_EQ(read_file(arena->fd(), arena->offset_of(p), size), pattern);
  arena->release(p, size);
}

TEST(BlockArena, StatsFollowAllocationsAndReleases) {
  auto arena = make_arena(4 * BlockArena::chunk_size);
  BlockArena::Stats s = arena->stats();
  EXPECT_EQ(s.reserve, 4 * BlockArena::chunk_size);
  EXPECT_EQ(s.slots_in_use, 0u);
  EXPECT_EQ(s.bytes_in_use, 0u);
  EXPECT_EQ(s.chunks_in_use, 0u);

  char* a = arena->allocate(20'000);
  char* b = arena->allocate(30'000);  // same class as a
  char* c = arena->allocate(1 * MiB);
  ASSERT_TRUE(a && b && c);
  s = arena->stats();
  EXPECT_EQ(s.slots_in_use, 3u);
  EXPECT_EQ(s.bytes_in_use, 20'000u + 30'000u + MiB);  // the sizes asked for, not the slots
  EXPECT_EQ(s.chunks_in_use, 2u);

  arena->release(a, 20'000);
  s = arena->stats();
  EXPECT_EQ(s.slots_in_use, 2u);
  EXPECT_EQ(s.bytes_in_use, 30'000u + MiB);
  EXPECT_EQ(s.chunks_in_use, 2u);  // b still holds the 32 KiB chunk

  arena->release(c, 1 * MiB);
  arena->release(b, 30'000);
  s = arena->stats();
  EXPECT_EQ(s.slots_in_use, 0u);
  EXPECT_EQ(s.bytes_in_use, 0u);
  EXPECT_EQ(s.chunks_in_use, 0u);
  EXPECT_EQ(s.full, 0u);
  EXPECT_EQ(s.lost, 0u);
}

TEST(BlockArena, ReleasedSlotIsReusedBySameClass) {
  auto arena = make_arena(64 * MiB);
  char* keep = arena->allocate(20'000);  // keeps the chunk in the 32 KiB class
  char* a = arena->allocate(20'000);
  char* b = arena->allocate(20'000);
  ASSERT_TRUE(keep && a && b);
  arena->release(a, 20'000);
  EXPECT_EQ(arena->allocate(30'000), a);  // another size of the same class
  arena->release(b, 20'000);
  EXPECT_EQ(arena->allocate(17'000), b);
  arena->release(a, 30'000);
  arena->release(b, 17'000);
  arena->release(keep, 20'000);
  EXPECT_EQ(arena->stats().slots_in_use, 0u);
}

TEST(BlockArena, ReleasePunchesTheSlotsPagesOutOfTheFile) {
  auto arena = make_arena(64 * MiB);
  char* keep = arena->allocate(1 * MiB);
  ASSERT_NE(keep, nullptr);
  const uint64_t baseline = allocated_bytes(*arena);
  EXPECT_GE(baseline, 1 * MiB);  // allocate() populated the pages

  char* p = arena->allocate(1 * MiB);
  ASSERT_NE(p, nullptr);
  std::memset(p, 'A', 1 * MiB);
  EXPECT_GE(allocated_bytes(*arena), baseline + 1 * MiB);
  const uint64_t offset = arena->offset_of(p);
  arena->release(p, 1 * MiB);
  EXPECT_EQ(allocated_bytes(*arena), baseline);
  EXPECT_EQ(read_file(arena->fd(), offset, 1 * MiB), std::string(1 * MiB, '\0'));

  // Handed out again: fresh pages, the old bytes are gone.
  char* again = arena->allocate(1 * MiB);
  ASSERT_EQ(again, p);
  EXPECT_EQ(std::string_view(again, 1 * MiB), std::string(1 * MiB, '\0'));
  arena->release(again, 1 * MiB);
  arena->release(keep, 1 * MiB);
}

TEST(BlockArena, ReleasePunchesWholePagesOfAnUnalignedSize) {
  auto arena = make_arena(64 * MiB);
  constexpr uint32_t size = 20'000;  // ends inside its fifth page
  char* p = arena->allocate(size);
  ASSERT_NE(p, nullptr);
  std::memset(p, 'A', size);
  p[size - 1] = 'Z';
  arena->release(p, size);
  char* again = arena->allocate(size);
  ASSERT_EQ(again, p);
  EXPECT_EQ(std::string_view(again, 5 * 4096), std::string(5 * 4096, '\0'));
  arena->release(again, size);
}

// Checks that splicing from the arena's file shares its pages with the pipe (rather than
// copying them): without that, the next test would pass even if release() did nothing.
TEST(BlockArena, SplicedPagesAreSharedWithTheFile) {
  auto arena = make_arena(64 * MiB);
  constexpr uint32_t size = 64 * KiB;
  char* p = arena->allocate(size);
  ASSERT_NE(p, nullptr);
  std::memset(p, 'A', size);
  Pipe pipe;
  splice_into(arena->fd(), arena->offset_of(p), size, pipe.write);
  std::memset(p, 'B', size);  // in place, with no release: what release() exists to prevent
  EXPECT_EQ(read_exactly(pipe.read, size), std::string(size, 'B'));
  arena->release(p, size);
}

TEST(BlockArena, BytesInAPipeSurviveReleaseAndReuseOfTheirSlot) {
  auto arena = make_arena(64 * MiB);
  constexpr uint32_t size = 256 * KiB;
  char* p = arena->allocate(size);
  ASSERT_NE(p, nullptr);
  std::string pattern_a(size, '\0');
  for (uint32_t i = 0; i < size; ++i) pattern_a[i] = static_cast<char>('a' + i % 26);
  std::memcpy(p, pattern_a.data(), size);
  Pipe pipe;
  splice_into(arena->fd(), arena->offset_of(p), size, pipe.write);

  arena->release(p, size);
  char* q = arena->allocate(size);
  ASSERT_EQ(q, p);  // the same slot, so the same offset of the file
  std::memset(q, 'B', size);

  EXPECT_EQ(read_exactly(pipe.read, size), pattern_a);
  EXPECT_EQ(read_file(arena->fd(), arena->offset_of(q), size), std::string(size, 'B'));
  arena->release(q, size);
}

TEST(BlockArena, BytesInASocketSurviveReleaseAndReuseOfTheirSlot) {
  auto arena = make_arena(64 * MiB);
  constexpr uint32_t size = 64 * KiB;  // well within loopback socket buffers
  char* p = arena->allocate(size);
  ASSERT_NE(p, nullptr);
  std::string pattern_a(size, '\0');
  for (uint32_t i = 0; i < size; ++i) pattern_a[i] = static_cast<char>('A' + i % 26);
  std::memcpy(p, pattern_a.data(), size);

  TcpPair tcp(0, false);
  Pipe pipe;
  splice_into(arena->fd(), arena->offset_of(p), size, pipe.write);
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = splice(pipe.read, nullptr, tcp.sender, nullptr, size - sent, 0);
    ASSERT_GT(n, 0) << std::strerror(errno);
    sent += static_cast<size_t>(n);
  }

  // The pages now sit in the peer's receive queue (and possibly the sender's).
  arena->release(p, size);
  char* q = arena->allocate(size);
  ASSERT_EQ(q, p);
  std::memset(q, 'B', size);

  EXPECT_EQ(read_exactly(tcp.peer, size), pattern_a);
  arena->release(q, size);
}

TEST(BlockArena, FullArenaRefusesAndCountsFull) {
  auto arena = make_arena(64 * MiB);  // one chunk: 64 slots of 1 MiB
  std::vector<char*> held;
  for (int i = 0; i < 64; ++i) {
    char* p = arena->allocate(1 * MiB);
    ASSERT_NE(p, nullptr) << i;
    held.push_back(p);
  }
  EXPECT_EQ(arena->allocate(1 * MiB), nullptr);
  EXPECT_EQ(arena->allocate(600 * KiB), nullptr);
  EXPECT_EQ(arena->stats().full, 2u);
  EXPECT_EQ(arena->stats().slots_in_use, 64u);

  arena->release(held.back(), 1 * MiB);  // one slot back: allocatable again
  held.back() = arena->allocate(1 * MiB);
  EXPECT_NE(held.back(), nullptr);
  EXPECT_EQ(arena->stats().full, 2u);
  for (char* p : held) arena->release(p, 1 * MiB);
  EXPECT_EQ(arena->stats().slots_in_use, 0u);
}

TEST(BlockArena, ChunkHeldByOneClassIsNotAvailableToAnother) {
  auto arena = make_arena(64 * MiB);
  char* p = arena->allocate(1 * MiB);  // one slot is enough to dedicate the only chunk
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(arena->allocate(16 * KiB), nullptr);
  EXPECT_EQ(arena->allocate(64 * MiB), nullptr);
  EXPECT_EQ(arena->stats().full, 2u);
  EXPECT_EQ(arena->stats().chunks_in_use, 1u);
  arena->release(p, 1 * MiB);
  EXPECT_EQ(arena->stats().chunks_in_use, 0u);
  char* q = arena->allocate(16 * KiB);
  EXPECT_NE(q, nullptr);
  arena->release(q, 16 * KiB);
}

TEST(BlockArena, EmptiedChunkReturnsToThePoolForAnotherClass) {
  auto arena = make_arena(64 * MiB);
  std::vector<char*> held;
  for (int i = 0; i < 64; ++i) held.push_back(arena->allocate(1 * MiB));
  for (char* p : held) ASSERT_NE(p, nullptr);
  EXPECT_EQ(arena->allocate(16 * KiB), nullptr);
  EXPECT_EQ(arena->stats().full, 1u);
  for (char* p : held) arena->release(p, 1 * MiB);
  EXPECT_EQ(arena->stats().chunks_in_use, 0u);

  // The chunk now serves 16 KiB slots, all 4096 of them.
  held.clear();
  for (int i = 0; i < 4096; ++i) {
    char* p = arena->allocate(16 * KiB);
    ASSERT_NE(p, nullptr) << i;
    held.push_back(p);
  }
  EXPECT_EQ(arena->allocate(16 * KiB), nullptr);
  EXPECT_EQ(arena->stats().full, 2u);
  for (char* p : held) arena->release(p, 16 * KiB);

  // And then the largest class, whose one slot is the whole chunk.
  char* whole = arena->allocate(64 * MiB);
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(arena->allocate(64 * MiB), nullptr);
  arena->release(whole, 64 * MiB);
  char* small = arena->allocate(20 * KiB);
  EXPECT_NE(small, nullptr);
  arena->release(small, 20 * KiB);
  EXPECT_EQ(arena->stats().chunks_in_use, 0u);
  EXPECT_EQ(arena->stats().slots_in_use, 0u);
}

TEST(BlockArena, PartlyReleasedChunkStaysWithItsClass) {
  auto arena = make_arena(64 * MiB);
  std::vector<char*> held;
  for (int i = 0; i < 64; ++i) held.push_back(arena->allocate(1 * MiB));
  for (int i = 0; i < 63; ++i) arena->release(held[i], 1 * MiB);
  EXPECT_EQ(arena->stats().chunks_in_use, 1u);
  EXPECT_EQ(arena->allocate(16 * KiB), nullptr);
  // The released slots are handed out again (the chunk went back to the class's list).
  for (int i = 0; i < 63; ++i) {
    held[i] = arena->allocate(1 * MiB);
    ASSERT_NE(held[i], nullptr) << i;
  }
  EXPECT_EQ(arena->allocate(1 * MiB), nullptr);
  for (char* p : held) arena->release(p, 1 * MiB);
  EXPECT_EQ(arena->stats().chunks_in_use, 0u);
}

TEST(BlockArena, ConcurrentUseKeepsBlocksApartAndEndsEmpty) {
  auto arena = make_arena(8 * BlockArena::chunk_size);
  constexpr int threads = 4;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  std::atomic<uint64_t> allocations{0}, corrupted{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(t + 1));
      const uint32_t sizes[] = {16 * KiB, 20'000, 64 * KiB, 100'000, 1 * MiB};
      struct Held {
        char* p;
        uint32_t size;
        char fill;
      };
      std::vector<Held> held;
      uint64_t count = 0;
      auto drop = [&](size_t i) {
        Held h = held[i];
        // Each block carries its own byte: another thread writing into it would show.
        if (std::string_view(h.p, h.size).find_first_not_of(h.fill) != std::string_view::npos) {
          ++corrupted;
        }
        arena->release(h.p, h.size);
        held[i] = held.back();
        held.pop_back();
      };
      while (std::chrono::steady_clock::now() < until) {
        if (held.size() < 8 && rng() % 3 != 0) {
          uint32_t size = sizes[rng() % std::size(sizes)];
          char* p = arena->allocate(size);
          if (!p) continue;
          char fill = static_cast<char>(t * 32 + count % 32);
          // Fresh pages: nothing left behind by an earlier block of the slot.
          if (p[0] != 0 || p[size - 1] != 0) ++corrupted;
          std::memset(p, fill, size);
          held.push_back({p, size, fill});
          ++count;
        } else if (!held.empty()) {
          drop(rng() % held.size());
        }
      }
      while (!held.empty()) drop(0);
      allocations += count;
    });
  }
  for (std::thread& w : workers) w.join();
  EXPECT_GT(allocations.load(), 100u);
  EXPECT_EQ(corrupted.load(), 0u);
  BlockArena::Stats s = arena->stats();
  EXPECT_EQ(s.slots_in_use, 0u);
  EXPECT_EQ(s.bytes_in_use, 0u);
  EXPECT_EQ(s.chunks_in_use, 0u);
  EXPECT_EQ(s.lost, 0u);
}

// Installs an arena for blocks for the length of a test (the installed arena is process-wide).
struct InstalledArena {
  explicit InstalledArena(BlockArena* arena) { install_block_arena(arena); }
  ~InstalledArena() { install_block_arena(nullptr); }
};

TEST(BlockArenaBlocks, WithoutAnInstalledArenaBlocksLiveOnTheHeap) {
  ASSERT_EQ(installed_block_arena(), nullptr);
  BlockRef block = make_block(std::string(64 * KiB, 'x'));
  EXPECT_EQ(block->file_span().fd, -1);
  EXPECT_EQ(block->data.get_deleter().arena, nullptr);
  EXPECT_EQ(block->view(), std::string(64 * KiB, 'x'));
}

TEST(BlockArenaBlocks, BlocksOfMinBlockOrMoreComeFromTheInstalledArena) {
  auto arena = make_arena(4 * BlockArena::chunk_size);
  InstalledArena installed(arena.get());
  EXPECT_EQ(installed_block_arena(), arena.get());
  {
    std::string big(16 * KiB, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 13);
    BlockRef block = make_block(big);
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(block->view(), big);
    EXPECT_EQ(block->size, big.size());
    EXPECT_EQ(block->crc, crc32c(big.data(), big.size()));
    FileSpan span = block->file_span();
    EXPECT_EQ(span.fd, arena->fd());
    EXPECT_EQ(span.offset, arena->offset_of(block->data.get()));
    EXPECT_EQ(read_file(span.fd, span.offset, big.size()), big);

    BlockRef small = make_block(std::string(16 * KiB - 1, 's'));
    EXPECT_EQ(small->file_span().fd, -1);
    EXPECT_EQ(small->view(), std::string(16 * KiB - 1, 's'));
    BlockRef empty = make_block("");
    EXPECT_EQ(empty->file_span().fd, -1);
    EXPECT_EQ(empty->size, 0u);

    EXPECT_EQ(arena->stats().slots_in_use, 1u);
    EXPECT_EQ(arena->stats().bytes_in_use, big.size());
  }
  // Dropping the block gave its slot back.
  EXPECT_EQ(arena->stats().slots_in_use, 0u);
  EXPECT_EQ(arena->stats().bytes_in_use, 0u);
}

TEST(BlockArenaBlocks, AllocateBlockBytesUsesTheArenaWhenItTakesTheSize) {
  auto arena = make_arena(4 * BlockArena::chunk_size);
  InstalledArena installed(arena.get());
  {
    BlockBytes big = allocate_block_bytes(100'000);
    ASSERT_NE(big, nullptr);
    EXPECT_EQ(big.get_deleter().arena, arena.get());
    EXPECT_EQ(big.get_deleter().size, 100'000u);
    std::memset(big.get(), 'q', 100'000);  // all of it writable

    BlockBytes small = allocate_block_bytes(1000);
    ASSERT_NE(small, nullptr);
    EXPECT_EQ(small.get_deleter().arena, nullptr);

    BlockBytes huge = allocate_block_bytes(64 * MiB + 1);  // over the largest class: the heap
    ASSERT_NE(huge, nullptr);
    EXPECT_EQ(huge.get_deleter().arena, nullptr);

    // Filled by hand, as the fill and the disk tier do.
    auto block = std::make_shared<Block>();
    block->data = std::move(big);
    block->size = 100'000;
    EXPECT_EQ(block->file_span().fd, arena->fd());
    EXPECT_EQ(read_file(arena->fd(), block->file_span().offset, 100'000),
              std::string(100'000, 'q'));
    EXPECT_EQ(arena->stats().slots_in_use, 1u);
  }
  EXPECT_EQ(arena->stats().slots_in_use, 0u);
}

TEST(BlockArenaBlocks, FullArenaFallsBackToTheHeap) {
  auto arena = make_arena(64 * MiB);
  InstalledArena installed(arena.get());
  char* whole = arena->allocate(64 * MiB);  // takes the only chunk
  ASSERT_NE(whole, nullptr);
  {
    std::string bytes(32 * KiB, 'h');
    BlockRef block = make_block(bytes);
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(block->file_span().fd, -1);
    EXPECT_EQ(block->view(), bytes);
    EXPECT_EQ(arena->stats().full, 1u);
  }
  arena->release(whole, 64 * MiB);
  EXPECT_EQ(arena->stats().slots_in_use, 0u);
}

}  // namespace
}  // namespace stavka::storage
