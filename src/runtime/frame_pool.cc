// FramePool implementation; see frame_pool.h.
#include "runtime/frame_pool.h"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace stavka::runtime {

namespace {

constexpr std::size_t granule = 64;
constexpr std::size_t classes = 128;             // up to 8 KiB
constexpr std::size_t max_kept_bytes = 256 << 10;  // per size class

struct FreeFrame {
  FreeFrame* next;
};

struct Lists {
  FreeFrame* head[classes] = {};
  std::size_t count[classes] = {};
  ~Lists() {
    for (std::size_t c = 0; c < classes; ++c) {
      while (FreeFrame* f = head[c]) {
        head[c] = f->next;
        std::free(f);
      }
    }
  }
};

thread_local Lists lists;

// Small frames keep up to 256 each; large ones as many as fit in max_kept_bytes. A table: the
// division would cost more than the rest of free_frame.
constexpr auto max_kept = [] {
  std::array<uint16_t, classes> t{};
  for (std::size_t c = 1; c < classes; ++c) {
    std::size_t n = max_kept_bytes / (c * granule);
    t[c] = static_cast<uint16_t>(n > 256 ? 256 : n);
  }
  return t;
}();

}  // namespace

void* allocate_frame(std::size_t size) {
  std::size_t c = (size + granule - 1) / granule;
  if (c < classes) {
    if (FreeFrame* f = lists.head[c]) {
      lists.head[c] = f->next;
      --lists.count[c];
      return f;
    }
    void* p = std::malloc(c * granule);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void* p = std::malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}

void free_frame(void* frame, std::size_t size) noexcept {
  std::size_t c = (size + granule - 1) / granule;
  if (c < classes && lists.count[c] < max_kept[c]) {
    auto* f = static_cast<FreeFrame*>(frame);
    f->next = lists.head[c];
    lists.head[c] = f;
    ++lists.count[c];
    return;
  }
  std::free(frame);
}

}  // namespace stavka::runtime
