// FramePool implementation; see frame_pool.h.
#include "runtime/frame_pool.h"

#include <cstdlib>
#include <new>

namespace stavka::runtime {

namespace {

constexpr std::size_t granule = 64;
constexpr std::size_t classes = 32;  // up to 2 KiB
constexpr std::size_t max_kept = 256;

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
  if (c < classes && lists.count[c] < max_kept) {
    auto* f = static_cast<FreeFrame*>(frame);
    f->next = lists.head[c];
    lists.head[c] = f;
    ++lists.count[c];
    return;
  }
  std::free(frame);
}

}  // namespace stavka::runtime
