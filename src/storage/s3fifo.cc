// S3-FIFO eviction decisions (see s3fifo.h for the algorithm and its invariants).
//
// Threads: none of its own; the owner serialises calls. Every operation is O(1) except the
// eviction loops, which are amortised O(1): each pass over an entry either evicts it, moves it
// from small to main once, or lowers its frequency, which only accesses raise again.
#include "storage/s3fifo.h"

#include <algorithm>

namespace stavka::storage {

S3Fifo::S3Fifo(uint64_t capacity)
    : capacity_(capacity), small_target_(capacity / 10), ghost_limit_(capacity - capacity / 10) {}

bool S3Fifo::insert(Id id, uint64_t key_hash, uint64_t charge, std::vector<Id>& evicted) {
  if (charge > capacity_ || nodes_.contains(id)) return false;
  make_room(charge, evicted);
  // A key seen again soon after leaving small has proved it is reused: skip the filter.
  Queue queue = forget(key_hash) ? Queue::main : Queue::small;
  std::list<Id>& list = queue == Queue::main ? main_ : small_;
  list.push_front(id);
  nodes_.emplace(id, Node{queue, 0, charge, key_hash, list.begin()});
  (queue == Queue::main ? main_charged_ : small_charged_) += charge;
  return true;
}

bool S3Fifo::access(Id id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return false;
  Node& node = it->second;
  if (node.frequency < max_frequency) ++node.frequency;
  return true;
}

bool S3Fifo::remove(Id id, bool remember_in_ghost) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return false;
  if (remember_in_ghost) remember(it->second.key_hash, it->second.charge);
  erase(it);
  return true;
}

bool S3Fifo::recharge(Id id, uint64_t charge, std::vector<Id>& evicted) {
  auto it = nodes_.find(id);
  if (it == nodes_.end() || charge > capacity_) return false;
  Node& node = it->second;
  uint64_t& queue_charged = node.queue == Queue::main ? main_charged_ : small_charged_;
  queue_charged = queue_charged - node.charge + charge;
  node.charge = charge;
  make_room(0, evicted);
  return true;
}

S3Fifo::Queue S3Fifo::queue_of(Id id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? Queue::none : it->second.queue;
}

uint8_t S3Fifo::frequency(Id id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? 0 : it->second.frequency;
}

void S3Fifo::make_room(uint64_t incoming, std::vector<Id>& evicted) {
  while (charged() + incoming > capacity_ && !nodes_.empty()) {
    // Small gives up space while it holds its share (or main has nothing to give); a small
    // queue whose entries were all accessed empties into main without evicting, and then main
    // must evict instead.
    bool from_small = !small_.empty() && (small_charged_ >= small_target_ || main_.empty());
    if (from_small && evict_from_small(evicted)) continue;
    evict_from_main(evicted);
  }
}

bool S3Fifo::evict_from_small(std::vector<Id>& evicted) {
  while (!small_.empty()) {
    Id id = small_.back();
    auto it = nodes_.find(id);
    Node& node = it->second;
    if (node.frequency > 0) {
      // Promotion: main starts the entry afresh, so it must be hit again to survive there.
      main_.splice(main_.begin(), small_, node.position);
      node.position = main_.begin();
      node.queue = Queue::main;
      node.frequency = 0;
      small_charged_ -= node.charge;
      main_charged_ += node.charge;
      continue;
    }
    remember(node.key_hash, node.charge);
    evicted.push_back(id);
    erase(it);
    return true;
  }
  return false;
}

bool S3Fifo::evict_from_main(std::vector<Id>& evicted) {
  while (!main_.empty()) {
    Id id = main_.back();
    auto it = nodes_.find(id);
    Node& node = it->second;
    if (node.frequency > 0) {
      --node.frequency;
      main_.splice(main_.begin(), main_, node.position);
      continue;
    }
    evicted.push_back(id);
    erase(it);
    return true;
  }
  return false;
}

void S3Fifo::erase(std::unordered_map<Id, Node>::iterator it) {
  Node& node = it->second;
  if (node.queue == Queue::main) {
    main_.erase(node.position);
    main_charged_ -= node.charge;
  } else {
    small_.erase(node.position);
    small_charged_ -= node.charge;
  }
  nodes_.erase(it);
}

void S3Fifo::remember(uint64_t key_hash, uint64_t charge) {
  forget(key_hash);  // a hash appears once; the newest memory wins
  // Zero-charge entries still occupy a ghost slot, so count them as one byte: the queue stays
  // bounded whatever the charges.
  uint64_t cost = std::max<uint64_t>(charge, 1);
  if (cost > ghost_limit_) return;
  ghost_.push_front(Ghost{key_hash, cost});
  ghost_index_.emplace(key_hash, ghost_.begin());
  ghost_charged_ += cost;
  while (ghost_charged_ > ghost_limit_) {
    const Ghost& oldest = ghost_.back();
    ghost_charged_ -= oldest.charge;
    ghost_index_.erase(oldest.key_hash);
    ghost_.pop_back();
  }
}

bool S3Fifo::forget(uint64_t key_hash) {
  auto it = ghost_index_.find(key_hash);
  if (it == ghost_index_.end()) return false;
  ghost_charged_ -= it->second->charge;
  ghost_.erase(it->second);
  ghost_index_.erase(it);
  return true;
}

}  // namespace stavka::storage
