// ShardedIndex: the in-memory index both tiers keep, primary key -> variants -> object, cut
// into shards by a hash of the primary key so that every variant of a URL lives in one shard.
// Each shard has its own mutex, its slice of the tier's budget (capacity / shards), its own
// S3-FIFO policy and eviction count. Critical sections are a few map and policy operations;
// nothing is awaited under a shard lock, and objects leaving the index are released after the
// lock is (their bodies or files may go with them).
//
// Objects are the tier's immutable handles. An Object provides:
//   uint64_t id() const;                     never reused: a replacement gets a new id
//   const ObjectMeta& meta() const;
//   std::shared_ptr<const Object> with_meta(ObjectMeta) const;  a new version, same id and body
//   void left_index() const;                 called under the shard lock when the object is
//                                            removed, replaced or evicted
// Each slot holds the version lookups hand out (`snapshot`) and live hit counters, which may be
// ahead of it; lookups fold them into a new version outside the lock. `Extra` and `ShardExtra`
// are the tier's own state per object and per shard, guarded by the same mutex.
//
// Tags: each shard also maps a tag (a surrogate key, compared byte for byte) to the ids of its
// objects that carry it, so that a purge by tag visits only those objects, one lock per shard.
// The map follows the snapshot's meta: insert adds an object's tags, update swaps them when a
// new version changes them, and unlink (remove, replacement, eviction, corruption, purge)
// takes them out, so that no path an object leaves by can leave an id behind. The tier pays
// for the entries through ObjectMeta::charge().
//
// Listing and purge by prefix: each shard also keeps its primary keys in the order of (URL,
// key) (`ordered`: views into the nodes of `variants`, which do not move; a key is listed under
// the URL of its latest object), so that a listing or a purge by URL prefix visits the range of
// keys it wants, resuming after a position, a bounded batch per lock.
//
// Invariants, per shard, whenever its mutex is free: every id in `variants` has a slot in
// `objects` and is in `policy`, and vice versa; one id per (primary key, variant); `ordered`
// holds exactly one position per key of `variants`, (its Keyed::url, the key);
// policy.charged() is the sum of the objects' charges and never exceeds the shard's slice;
// `tags` holds (t, id) exactly when `objects` has id and t is among its snapshot's
// surrogate_keys (duplicates in the list count once), and holds no tag with no id.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "storage/key_hash.h"
#include "storage/s3fifo.h"
#include "storage/storage.h"

namespace stavka::storage {

struct NoExtra {};

template <typename Object, typename Extra = NoExtra, typename ShardExtra = NoExtra>
class ShardedIndex {
 public:
  struct Slot {
    std::shared_ptr<const Object> snapshot;  // the version lookup hands out
    uint64_t hits = 0;                       // live counters (touch); may be ahead of it
    int64_t last_access = 0;
    Extra extra{};
  };
  // Objects that left the index under a lock, released after it.
  using Gone = std::vector<std::shared_ptr<const Object>>;
  using TagIds = std::unordered_set<uint64_t>;
  using Tags = std::unordered_map<std::string, TagIds, KeyHash, std::equal_to<>>;
  // A primary key's variants, and the URL it is listed under.
  struct Keyed {
    std::vector<uint64_t> ids;
    std::string url;
  };
  using Position = std::pair<std::string_view, std::string_view>;  // (URL, primary key)

  struct Shard {
    // The id stored for (primary_key, variant), or 0. Under the lock.
    uint64_t find(std::string_view primary_key, std::string_view variant) const {
      auto v = variants.find(primary_key);
      if (v == variants.end()) return 0;
      for (uint64_t id : v->second.ids) {
        if (objects.at(id).snapshot->meta().variant == variant) return id;
      }
      return 0;
    }

    // Files id under each of meta's tags. Under the lock.
    void tag(uint64_t id, const ObjectMeta& meta) {
      for (const std::string& t : meta.surrogate_keys) {
        auto entry = tags.find(std::string_view(t));
        if (entry == tags.end()) entry = tags.emplace(t, TagIds{}).first;
        entry->second.insert(id);
      }
    }

    // Takes id out from under each of meta's tags, dropping tags left with no id. A tag that
    // is not there any more (a duplicate in the list, or the tag remove_by_tag is purging) is
    // skipped. Under the lock.
    void untag(uint64_t id, const ObjectMeta& meta) {
      for (const std::string& t : meta.surrogate_keys) {
        auto entry = tags.find(std::string_view(t));
        if (entry == tags.end()) continue;
        TagIds& ids = entry->second;
        ids.erase(id);
        if (ids.empty()) {
          tags.erase(entry);
        } else if (ids.size() * 4 < ids.bucket_count() && ids.bucket_count() > 64) {
          // A tag that once had many objects and now has few gives its buckets back (amortised:
          // this follows at least 3/4 as many erasures), so memory follows the live objects.
          ids.rehash(0);
        }
      }
    }

    // Takes id out of the policy (unless it is gone from it already: evicted), both maps and
    // its tags. Under the lock.
    void unlink(uint64_t id, Gone& gone, bool in_policy = true) {
      if (in_policy) policy.remove(id);
      auto slot = objects.find(id);
      const Object& object = *slot->second.snapshot;
      auto v = variants.find(object.meta().primary_key);
      std::erase(v->second.ids, id);
      if (v->second.ids.empty()) {
        ordered.erase(Position(v->second.url, v->first));
        variants.erase(v);
      }
      untag(id, object.meta());
      object.left_index();
      gone.push_back(std::move(slot->second.snapshot));
      objects.erase(slot);
    }

    // Evicts what policy.insert / recharge chose. Under the lock.
    void evict(const std::vector<uint64_t>& evicted, Gone& gone) {
      for (uint64_t victim : evicted) unlink(victim, gone, /*in_policy=*/false);
      evictions += evicted.size();
    }

    mutable std::mutex mutex;
    std::unordered_map<std::string, Keyed, KeyHash, std::equal_to<>> variants;
    std::map<Position, const Keyed*> ordered;  // every key of `variants`, in (URL, key) order
    std::unordered_map<uint64_t, Slot> objects;
    Tags tags;  // tag -> ids of this shard's objects that carry it
    S3Fifo policy{0};
    uint64_t evictions = 0;
    ShardExtra extra{};
  };

  ShardedIndex(uint64_t capacity, unsigned shards)
      : capacity_(capacity),
        shard_count_(std::max(shards, 1u)),
        shard_capacity_(capacity / shard_count_),
        shards_(std::make_unique<Shard[]>(shard_count_)) {
    for (unsigned i = 0; i < shard_count_; ++i) shards_[i].policy = S3Fifo(shard_capacity_);
  }

  unsigned shard_count() const { return shard_count_; }
  uint64_t shard_capacity() const { return shard_capacity_; }
  unsigned shard_of(std::string_view primary_key) const {
    return static_cast<unsigned>(mix(hash_of(primary_key)) % shard_count_);
  }
  Shard& shard_for(std::string_view primary_key) const { return shards_[shard_of(primary_key)]; }
  Shard& shard(unsigned i) const { return shards_[i]; }

  // Every variant stored under primary_key, with current counters.
  std::vector<ObjectRef> lookup(std::string_view primary_key) {
    Shard& shard = shard_for(primary_key);
    std::vector<Slot> found;
    found.reserve(4);  // outside the lock; few URLs have more variants
    {
      std::lock_guard lock(shard.mutex);
      auto v = shard.variants.find(primary_key);
      if (v == shard.variants.end()) return {};
      for (uint64_t id : v->second.ids) found.push_back(shard.objects.at(id));
    }
    std::vector<ObjectRef> refs;
    refs.reserve(found.size());
    for (Slot& slot : found) refs.push_back(fresh(shard, slot));
    return refs;
  }

  ObjectRef lookup(std::string_view primary_key, std::string_view variant) {
    Shard& shard = shard_for(primary_key);
    Slot found;
    {
      std::lock_guard lock(shard.mutex);
      uint64_t id = shard.find(primary_key, variant);
      if (id == 0) return nullptr;
      found = shard.objects.at(id);
    }
    return fresh(shard, found);
  }

  // Whether this very version's object is still in the index.
  bool contains(const Object& object) const {
    Shard& shard = shard_for(object.meta().primary_key);
    std::lock_guard lock(shard.mutex);
    return shard.objects.contains(object.id());
  }

  // Installs object at `charge`, replacing the variant stored before (a refetch is a reuse:
  // its key goes to S3-FIFO's ghost so the new one enters main) and evicting for room.
  // under_lock(shard) runs last, still under the lock. Error::no_space above a shard's slice.
  template <typename UnderLock>
  Error insert(std::shared_ptr<const Object> object, uint64_t charge, Extra extra,
               UnderLock&& under_lock) {
    if (charge > shard_capacity_) return Error::no_space;
    const ObjectMeta& m = object->meta();
    Shard& shard = shard_for(m.primary_key);
    const uint64_t id = object->id();
    const uint64_t key_hash = object_key_hash(m.primary_key, m.variant);
    Gone gone;  // declared before the lock, so released after it
    std::vector<uint64_t> evicted;
    std::lock_guard lock(shard.mutex);
    if (uint64_t old = shard.find(m.primary_key, m.variant)) {
      shard.policy.remove(old, /*remember_in_ghost=*/true);
      shard.unlink(old, gone, /*in_policy=*/false);
    }
    shard.policy.insert(id, key_hash, charge, evicted);  // fits: charge <= slice
    shard.evict(evicted, gone);
    auto v = shard.variants.find(std::string_view(m.primary_key));
    if (v == shard.variants.end()) {
      v = shard.variants.emplace(m.primary_key, Keyed{{}, m.url}).first;
      shard.ordered.emplace(Position(v->second.url, v->first), &v->second);
    } else if (v->second.url != m.url) {  // listed under its latest object's URL
      shard.ordered.erase(Position(v->second.url, v->first));
      v->second.url = m.url;
      shard.ordered.emplace(Position(v->second.url, v->first), &v->second);
    }
    v->second.ids.push_back(id);
    shard.objects.emplace(id, Slot{object, m.hits, m.last_access, std::move(extra)});
    shard.tag(id, m);
    under_lock(shard);
    return Error::none;
  }

  // A new version of a stored object with `meta` (same keys, size and block size: the caller
  // checked). Counters never go back: touches since the caller's snapshot are kept. Under the
  // lock, build(slot, meta) makes the new version and returns it with its charge, or a null
  // object to refuse (the stored object is then unchanged). nullptr when the object is gone,
  // refused, or evicted by its own larger charge.
  template <typename Build>
  std::shared_ptr<const Object> update(const Object& object, ObjectMeta meta, Build&& build) {
    Shard& shard = shard_for(object.meta().primary_key);
    const uint64_t id = object.id();
    Gone gone;
    std::vector<uint64_t> evicted;
    std::lock_guard lock(shard.mutex);
    auto slot = shard.objects.find(id);
    if (slot == shard.objects.end()) return nullptr;
    Slot& s = slot->second;
    meta.hits = std::max(meta.hits, s.hits);
    meta.last_access = std::max(meta.last_access, s.last_access);
    const uint64_t hits = meta.hits;
    const int64_t last_access = meta.last_access;
    auto [updated, charge] = build(s, std::move(meta));
    if (!updated || charge > shard_capacity_) return nullptr;
    s.hits = hits;
    s.last_access = last_access;
    const ObjectMeta& old_meta = s.snapshot->meta();
    if (old_meta.surrogate_keys != updated->meta().surrogate_keys) {
      shard.untag(id, old_meta);
      shard.tag(id, updated->meta());
    }
    gone.push_back(std::exchange(s.snapshot, updated));
    // Evicting id itself (below) untags it by the new version's tags, now the indexed ones.
    shard.policy.recharge(id, charge, evicted);
    shard.evict(evicted, gone);
    if (!shard.objects.contains(id)) return nullptr;  // a larger head made it its own victim
    return updated;
  }

  // Records a hit on id; then also(slot) under the lock. False if it left the index.
  template <typename Also>
  bool touch(std::string_view primary_key, uint64_t id, int64_t now, Also&& also) {
    Shard& shard = shard_for(primary_key);
    std::lock_guard lock(shard.mutex);
    auto slot = shard.objects.find(id);
    if (slot == shard.objects.end()) return false;  // removed, replaced or evicted meanwhile
    shard.policy.access(id);
    ++slot->second.hits;
    slot->second.last_access = std::max(slot->second.last_access, now);
    also(shard, id, slot->second);
    return true;
  }
  bool touch(std::string_view primary_key, uint64_t id, int64_t now) {
    return touch(primary_key, id, now, [](Shard&, uint64_t, Slot&) {});
  }

  // The id stored for (primary_key, variant), or 0 (for tiers that act by key).
  uint64_t find(std::string_view primary_key, std::string_view variant) const {
    Shard& shard = shard_for(primary_key);
    std::lock_guard lock(shard.mutex);
    return shard.find(primary_key, variant);
  }

  // Takes id out if it is still there (one that failed a check).
  void remove_id(std::string_view primary_key, uint64_t id) {
    Shard& shard = shard_for(primary_key);
    Gone gone;
    std::lock_guard lock(shard.mutex);
    if (shard.objects.contains(id)) shard.unlink(id, gone);
  }

  size_t remove(std::string_view primary_key, std::string_view variant) {
    Shard& shard = shard_for(primary_key);
    Gone gone;
    std::lock_guard lock(shard.mutex);
    uint64_t id = shard.find(primary_key, variant);
    if (id == 0) return 0;
    shard.unlink(id, gone);
    return 1;
  }

  size_t remove_all_variants(std::string_view primary_key) {
    Shard& shard = shard_for(primary_key);
    Gone gone;
    std::lock_guard lock(shard.mutex);
    size_t removed = 0;
    // unlink() erases the primary key's entry with its last variant, which ends the loop.
    for (auto v = shard.variants.find(primary_key); v != shard.variants.end();
         v = shard.variants.find(primary_key)) {
      shard.unlink(v->second.ids.back(), gone);
      ++removed;
    }
    return removed;
  }

  // Removes every object carrying `tag` (exact, case-sensitive match), shard by shard, each
  // shard's lock taken once; each object leaves through unlink, as a remove() would take it.
  // After a shard's lock is released, and before its objects are released,
  // removed(const Object&) is called for each object it took out. Returns how many.
  template <typename Removed>
  size_t remove_by_tag(std::string_view tag, Removed&& removed) {
    size_t count = 0;
    for (unsigned i = 0; i < shard_count_; ++i) {
      Shard& shard = shards_[i];
      Gone gone;                        // declared before the lock, so released after it
      typename Tags::node_type purged;  // the tag's id set, freed after the lock too
      {
        std::lock_guard lock(shard.mutex);
        auto entry = shard.tags.find(tag);
        if (entry == shard.tags.end()) continue;
        // Taken out whole first: unlink() skips this tag, so the set is not edited while it is
        // walked, and the objects' other tags are untagged as usual.
        purged = shard.tags.extract(entry);
        gone.reserve(purged.mapped().size());
        for (uint64_t id : purged.mapped()) shard.unlink(id, gone);
      }
      count += gone.size();
      for (const std::shared_ptr<const Object>& object : gone) removed(*object);
    }
    return count;
  }
  size_t remove_by_tag(std::string_view tag) {
    return remove_by_tag(tag, [](const Object&) {});
  }

  using Listed = ListedKey;

  // Keys in (URL, key) order, from every shard: up to `limit` keys after the position
  // (after_url, after_key) ("", "": from the first) whose URL starts with url_prefix and that
  // have a variant for which keep(meta) holds, each with all its variants. A shard is read a
  // batch of keys per lock, so a sparse filter over many keys never holds a lock long. Objects
  // stored meanwhile may or may not be listed; none is listed twice.
  template <typename Keep>
  std::vector<Listed> list(std::string_view after_url, std::string_view after_key,
                           std::string_view url_prefix, size_t limit, Keep&& keep) {
    // The first `limit` matching keys of each shard, merged: the first `limit` of all.
    std::vector<std::pair<Listed, std::vector<Slot>>> found;
    for (unsigned i = 0; i < shard_count_; ++i) {
      Shard& shard = shards_[i];
      // From (prefix, "") inclusive, or after the given position when it is further on.
      const bool from_prefix = after_url < url_prefix;
      std::string from_url(from_prefix ? url_prefix : after_url);
      std::string from_key(from_prefix ? std::string_view() : after_key);
      bool inclusive = from_prefix;
      size_t taken = 0;
      while (taken < limit) {
        std::lock_guard lock(shard.mutex);
        const Position from(from_url, from_key);
        auto k = inclusive ? shard.ordered.lower_bound(from) : shard.ordered.upper_bound(from);
        size_t visited = 0;
        auto in_range = [&] {
          return k != shard.ordered.end() && k->first.first.starts_with(url_prefix);
        };
        for (; in_range() && visited < list_batch && taken < limit; ++k, ++visited) {
          const std::vector<uint64_t>& ids = k->second->ids;
          const bool kept = std::any_of(ids.begin(), ids.end(), [&](uint64_t id) {
            return keep(shard.objects.at(id).snapshot->meta());
          });
          if (!kept) continue;
          std::vector<Slot> slots;
          for (uint64_t id : ids) slots.push_back(shard.objects.at(id));
          found.emplace_back(Listed{std::string(k->first.first), std::string(k->first.second), {}},
                             std::move(slots));
          ++taken;
        }
        if (!in_range() || taken == limit) break;
        // The batch's last key: the next batch resumes after it.
        from_url = std::string(std::prev(k)->first.first);
        from_key = std::string(std::prev(k)->first.second);
        inclusive = false;
      }
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return Position(a.first.url, a.first.key) < Position(b.first.url, b.first.key);
    });
    if (found.size() > limit) found.resize(limit);
    std::vector<Listed> out;
    out.reserve(found.size());
    for (auto& [listed, slots] : found) {
      Shard& shard = shard_for(listed.key);
      for (Slot& slot : slots) listed.variants.push_back(fresh(shard, slot));
      out.push_back(std::move(listed));
    }
    return out;
  }

  // Removes every object of the keys listed under a URL that starts with url_prefix for which
  // match(meta) (the exact test, on the object's own URL) holds, a batch of keys per lock;
  // removed(object) as for remove_by_tag. Returns how many.
  template <typename Match, typename Removed>
  size_t remove_by_prefix(std::string_view url_prefix, Match&& match, Removed&& removed) {
    size_t count = 0;
    for (unsigned i = 0; i < shard_count_; ++i) {
      Shard& shard = shards_[i];
      std::string from_url(url_prefix), from_key;
      while (true) {
        Gone gone;  // declared before the lock, so released after it
        bool more = false;
        {
          std::lock_guard lock(shard.mutex);
          auto k = shard.ordered.lower_bound(Position(from_url, from_key));
          std::vector<uint64_t> doomed;
          size_t visited = 0;
          for (; k != shard.ordered.end() && k->first.first.starts_with(url_prefix) &&
                 visited < list_batch;
               ++k, ++visited) {
            for (uint64_t id : k->second->ids) {
              if (match(shard.objects.at(id).snapshot->meta())) doomed.push_back(id);
            }
          }
          more = k != shard.ordered.end() && k->first.first.starts_with(url_prefix);
          if (more) {  // not yet visited: the next batch starts at it
            from_url = std::string(k->first.first);
            from_key = std::string(k->first.second);
          }
          for (uint64_t id : doomed) shard.unlink(id, gone);  // (erases visited keys only)
        }
        count += gone.size();
        for (const std::shared_ptr<const Object>& object : gone) removed(*object);
        if (!more) break;
      }
    }
    return count;
  }

  // Distinct tags over every shard (a tag on objects of n shards counts n times). For tests and
  // diagnostics.
  size_t tag_entries() const {
    size_t total = 0;
    for (unsigned i = 0; i < shard_count_; ++i) {
      std::lock_guard lock(shards_[i].mutex);
      total += shards_[i].tags.size();
    }
    return total;
  }

  TierStats stats() const {
    TierStats total;
    total.capacity = capacity_;
    for (unsigned i = 0; i < shard_count_; ++i) {
      const Shard& shard = shards_[i];
      std::lock_guard lock(shard.mutex);
      total.objects += shard.objects.size();
      total.bytes += shard.policy.charged();
      total.evictions += shard.evictions;
    }
    return total;
  }

 private:
  // The slot's snapshot with its live counters folded in (one meta copy, outside the lock),
  // installed only over the version it was made from, so a concurrent update wins.
  ObjectRef fresh(Shard& shard, Slot& slot) {
    std::shared_ptr<const Object> snapshot = std::move(slot.snapshot);
    const ObjectMeta& current = snapshot->meta();
    if (current.hits == slot.hits && current.last_access == slot.last_access) return snapshot;
    ObjectMeta meta = current;
    meta.hits = slot.hits;
    meta.last_access = slot.last_access;
    std::shared_ptr<const Object> updated = snapshot->with_meta(std::move(meta));
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(snapshot->id());
    if (it != shard.objects.end() && it->second.snapshot == snapshot) {
      it->second.snapshot = updated;
    }
    return updated;
  }

  // Keys a listing or a purge by prefix visits per lock.
  static constexpr size_t list_batch = 2048;

  uint64_t capacity_;
  unsigned shard_count_;
  uint64_t shard_capacity_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace stavka::storage
