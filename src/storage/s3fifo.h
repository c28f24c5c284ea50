// S3Fifo: the S3-FIFO eviction policy (Yang et al., "FIFO queues are all you need for cache
// eviction", SOSP'23) over opaque entry ids with byte charges. It decides what to evict; the
// owner (a memory-tier shard) holds the entries themselves and drops the ids it is handed.
//
// Three queues. New entries enter the small FIFO (a tenth of the capacity), which filters out
// one-hit wonders quickly: when it must give up space, its oldest entry moves to the main FIFO
// if it was accessed since insertion, and otherwise is evicted and its key hash remembered in
// the ghost FIFO. An entry whose key hash is found in the ghost queue on insertion goes straight
// to main. Main is a FIFO with lazy reinsertion (a 2-bit CLOCK): its oldest entry is evicted if
// its frequency is 0, else moved to the head with frequency - 1. Accesses only bump a counter
// capped at 3, so a hit never reorders a queue.
//
// Thresholds: an entry leaves small for main when accessed at least once after insertion (the
// paper's prose; its pseudo-code and libCacheSim default say twice). The ghost queue holds the
// hashes of at most the main queue's target capacity worth of evicted charges.
//
// Threads: not thread-safe; the owner serialises every call (a shard calls it under its mutex).
// Invariants: charged() == small_charged() + main_charged() == sum of present charges;
// charged() <= capacity() after every insert() or recharge() returns; an id is in at most one
// queue; ids are never evicted except from inside insert() and recharge().
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

namespace stavka::storage {

class S3Fifo {
 public:
  using Id = uint64_t;
  enum class Queue : uint8_t { none, small, main };
  static constexpr uint8_t max_frequency = 3;

  explicit S3Fifo(uint64_t capacity);

  // Admits a new id (not present) with its charge, first evicting entries until it fits; the
  // evicted ids are appended to `evicted`. key_hash names the object across ids (the same URL
  // and variant stored again gets a new id), which is what the ghost queue remembers.
  // Returns false, changing nothing, when charge alone exceeds the capacity.
  bool insert(Id id, uint64_t key_hash, uint64_t charge, std::vector<Id>& evicted);
  // Records a hit: frequency + 1, capped at max_frequency. False if id is not present.
  bool access(Id id);
  // Drops an entry that left for another reason than space (purge, replacement). Not an
  // eviction. With remember_in_ghost its key hash is kept as if it had been evicted from small,
  // so that storing the same key again (a refresh of a reused object) goes straight to main.
  bool remove(Id id, bool remember_in_ghost = false);
  // Changes a present entry's charge, then evicts (possibly id itself) until within capacity.
  // False, changing nothing, if id is not present or the charge exceeds the capacity.
  bool recharge(Id id, uint64_t charge, std::vector<Id>& evicted);

  uint64_t capacity() const { return capacity_; }
  uint64_t charged() const { return small_charged_ + main_charged_; }
  uint64_t small_charged() const { return small_charged_; }
  uint64_t main_charged() const { return main_charged_; }
  size_t size() const { return nodes_.size(); }

  // For tests and diagnostics.
  Queue queue_of(Id id) const;
  uint8_t frequency(Id id) const;  // 0 when absent
  bool in_ghost(uint64_t key_hash) const { return ghost_index_.contains(key_hash); }
  size_t ghost_size() const { return ghost_index_.size(); }

 private:
  struct Node {
    Queue queue;
    uint8_t frequency;
    uint64_t charge;
    uint64_t key_hash;
    std::list<Id>::iterator position;
  };
  struct Ghost {
    uint64_t key_hash;
    uint64_t charge;
  };

  void make_room(uint64_t incoming, std::vector<Id>& evicted);
  // Each returns true once it has evicted one entry; false when its queue ran empty first.
  bool evict_from_small(std::vector<Id>& evicted);
  bool evict_from_main(std::vector<Id>& evicted);
  void erase(std::unordered_map<Id, Node>::iterator it);
  void remember(uint64_t key_hash, uint64_t charge);
  bool forget(uint64_t key_hash);  // true if it was in the ghost queue

  uint64_t capacity_;
  uint64_t small_target_;  // a tenth of capacity
  uint64_t ghost_limit_;   // the main queue's share: charges remembered at most
  uint64_t small_charged_ = 0;
  uint64_t main_charged_ = 0;
  uint64_t ghost_charged_ = 0;
  // Queues run from front (newest) to back (oldest, next to leave).
  std::list<Id> small_;
  std::list<Id> main_;
  std::unordered_map<Id, Node> nodes_;
  std::list<Ghost> ghost_;
  std::unordered_map<uint64_t, std::list<Ghost>::iterator> ghost_index_;
};

}  // namespace stavka::storage
