// FramePool: recycles coroutine frames per thread, so the few frames each request creates
// (one per awaited Task) cost a list pop instead of malloc and free.
//
// Thread-local: a frame goes back to the list of the thread that frees it (coroutines stay on
// their reactor, so that is the thread that allocated it). Sizes are rounded up to 64 bytes;
// frames over 2 KiB, and frames beyond 256 kept per size class, go to malloc as usual, so the
// memory held here is bounded (at most 32 classes x 256 frames).
#pragma once

#include <cstddef>

namespace stavka::runtime {

void* allocate_frame(std::size_t size);
void free_frame(void* frame, std::size_t size) noexcept;

}  // namespace stavka::runtime
