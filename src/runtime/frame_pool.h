// FramePool: recycles coroutine frames per thread, so the few frames each request creates
// (one per awaited Task) cost a list pop instead of malloc and free.
//
// Thread-local: a frame goes back to the list of the thread that frees it (coroutines stay on
// their reactor, so that is the thread that allocated it). Sizes are rounded up to 64 bytes;
// frames over 8 KiB, and frames beyond what a size class keeps (256 frames, and at most 256 KiB),
// go to malloc as usual, so the memory held here is bounded (128 classes x at most 256 KiB). A
// request's outermost frame holds its Exchange and is over 2 KiB.
#pragma once

#include <cstddef>

namespace stavka::runtime {

void* allocate_frame(std::size_t size);
void free_frame(void* frame, std::size_t size) noexcept;

}  // namespace stavka::runtime
