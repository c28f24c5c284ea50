// BlockTally: what every tier's Writer checks (storage.h's rules for write_block and publish),
// kept in one place: each block against the meta begin_write saw, and the final meta against
// the blocks written.
//
// Threads: belongs to its writer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace stavka::storage {

class BlockTally {
 public:
  // budget: the most body bytes the tier can take for one object.
  BlockTally(const ObjectMeta& meta, uint64_t budget)
      : primary_key_(meta.primary_key),
        variant_(meta.variant),
        expected_size_(meta.size),
        block_size_(meta.block_size),
        budget_(budget) {}

  // Whether block `index` of `size` bytes may be stored now: Error::invalid if it breaks the
  // layout (empty, too large, not the size its index implies, past the known end, or written
  // before), Error::no_space if the body would exceed the budget.
  Error admit(uint32_t index, uint32_t size) const {
    if (size == 0 || size > block_size_) return Error::invalid;
    const uint64_t start = static_cast<uint64_t>(index) * block_size_;
    if (expected_size_ != unknown_size) {
      if (start >= expected_size_) return Error::invalid;
      if (size != std::min<uint64_t>(block_size_, expected_size_ - start)) return Error::invalid;
    } else if (start + size > budget_) {
      return Error::no_space;  // before sizes_ would grow to the index
    }
    if (index < sizes_.size() && sizes_[index] != 0) return Error::invalid;  // each block once
    if (bytes_ + size > budget_) return Error::no_space;
    return Error::none;
  }
  // Counts an admitted block as stored / no longer stored (its write failed).
  void record(uint32_t index, uint32_t size) {
    if (index >= sizes_.size()) sizes_.resize(index + 1, 0);
    sizes_[index] = size;
    bytes_ += size;
  }
  void forget(uint32_t index) {
    bytes_ -= sizes_[index];
    sizes_[index] = 0;
  }

  // Whether the blocks recorded add up to final_meta: size known, same keys and block size as
  // at begin_write, every block present at the size its index implies.
  Error check_final(const ObjectMeta& m) const {
    if (m.size == unknown_size || m.block_size != block_size_ || m.primary_key != primary_key_ ||
        m.variant != variant_ || (expected_size_ != unknown_size && m.size != expected_size_)) {
      return Error::invalid;
    }
    if (sizes_.size() != m.block_count()) return Error::invalid;  // trailing blocks missing/extra
    uint64_t total = 0;
    for (size_t i = 0; i < sizes_.size(); ++i) {
      uint64_t start = i * static_cast<uint64_t>(block_size_);
      if (sizes_[i] != std::min<uint64_t>(block_size_, m.size - start)) return Error::invalid;
      total += sizes_[i];
    }
    // Guards against block_count() truncating a size that no written body could have.
    return total == m.size ? Error::none : Error::invalid;
  }

 private:
  const std::string primary_key_;
  const std::string variant_;
  const uint64_t expected_size_;  // unknown_size until publish when begin_write did not know it
  const uint32_t block_size_;
  const uint64_t budget_;
  std::vector<uint32_t> sizes_;  // by index; 0 where not written (yet)
  uint64_t bytes_ = 0;
};

}  // namespace stavka::storage
