// ShardedIndex's tag index, checked directly on a bare object type: every path an object enters
// or leaves the index by (insert, replacement, update, remove, eviction, purge) keeps tags ->
// ids exactly in step with the stored objects, which check_tags() verifies shard by shard.
// The tiers' behaviour over it is in the conformance suite and the tiers' own tests.
#include "storage/sharded_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace stavka::storage {
namespace {

// The least an Object must provide (see sharded_index.h), and a count of left_index calls.
class FakeObject final : public StoredObject {
 public:
  FakeObject(uint64_t id, ObjectMeta meta, int* left)
      : id_(id), meta_(std::move(meta)), left_(left) {}
  uint64_t id() const { return id_; }
  const ObjectMeta& meta() const override { return meta_; }
  std::shared_ptr<const FakeObject> with_meta(ObjectMeta meta) const {
    return std::make_shared<const FakeObject>(id_, std::move(meta), left_);
  }
  void left_index() const { ++*left_; }

 private:
  uint64_t id_;
  ObjectMeta meta_;
  int* left_;
};

using Index = ShardedIndex<FakeObject>;

ObjectMeta meta_of(std::string key, std::vector<std::string> tags, std::string variant = "") {
  ObjectMeta meta;
  meta.primary_key = std::move(key);
  meta.variant = std::move(variant);
  meta.size = 0;
  meta.surrogate_keys = std::move(tags);
  return meta;
}

class ShardedIndexTags : public ::testing::Test {
 protected:
  explicit ShardedIndexTags(uint64_t capacity = 1u << 30, unsigned shards = 4)
      : index_(capacity, shards) {}

  uint64_t insert(ObjectMeta meta, uint64_t charge = 1000) {
    const uint64_t id = next_id_++;
    auto object = std::make_shared<const FakeObject>(id, std::move(meta), &left_);
    EXPECT_EQ(index_.insert(object, charge, NoExtra{}, [](Index::Shard&) {}), Error::none);
    return id;
  }

  // The tag invariant of sharded_index.h, shard by shard: (t, id) is in `tags` exactly when id
  // is stored and t is one of its snapshot's tags; no tag without ids.
  void check_tags() {
    for (unsigned i = 0; i < index_.shard_count(); ++i) {
      Index::Shard& shard = index_.shard(i);
      std::lock_guard lock(shard.mutex);
      size_t pairs = 0;
      for (const auto& [tag, ids] : shard.tags) {
        EXPECT_FALSE(ids.empty()) << "tag " << tag << " left with no id";
        for (uint64_t id : ids) {
          auto slot = shard.objects.find(id);
          ASSERT_NE(slot, shard.objects.end()) << "tag " << tag << " names gone id " << id;
          const auto& keys = slot->second.snapshot->meta().surrogate_keys;
          EXPECT_NE(std::find(keys.begin(), keys.end(), tag), keys.end())
              << "id " << id << " filed under " << tag << " it does not carry";
          ++pairs;
        }
      }
      size_t expected = 0;
      for (const auto& [id, slot] : shard.objects) {
        const auto& keys = slot.snapshot->meta().surrogate_keys;
        std::set<std::string> distinct(keys.begin(), keys.end());
        expected += distinct.size();
        for (const std::string& tag : distinct) {
          auto entry = shard.tags.find(tag);
          ASSERT_NE(entry, shard.tags.end()) << "id " << id << " missing under " << tag;
          EXPECT_TRUE(entry->second.contains(id)) << "id " << id << " missing under " << tag;
        }
      }
      EXPECT_EQ(pairs, expected);
    }
  }

  Index index_;
  uint64_t next_id_ = 1;
  int left_ = 0;
};

TEST_F(ShardedIndexTags, InsertFilesAnObjectUnderEachOfItsTagsOnce) {
  insert(meta_of("a", {"red", "blue", "red"}));  // a duplicate counts once
  insert(meta_of("b", {"blue"}));
  insert(meta_of("c", {}));
  check_tags();
  EXPECT_EQ(index_.remove_by_tag("blue"), 2u);
  EXPECT_EQ(index_.lookup("a", ""), nullptr);
  EXPECT_EQ(index_.lookup("b", ""), nullptr);
  EXPECT_NE(index_.lookup("c", ""), nullptr);
  EXPECT_EQ(index_.remove_by_tag("red"), 0u);  // went with "a"
  EXPECT_EQ(index_.tag_entries(), 0u);
  check_tags();
}

TEST_F(ShardedIndexTags, TagsCompareExactly) {
  insert(meta_of("a", {"Product-1"}));
  insert(meta_of("b", {"product-1"}));
  insert(meta_of("c", {"product-1 "}));
  EXPECT_EQ(index_.remove_by_tag("PRODUCT-1"), 0u);
  EXPECT_EQ(index_.remove_by_tag("product"), 0u);
  EXPECT_EQ(index_.remove_by_tag("product-1"), 1u);
  EXPECT_NE(index_.lookup("a", ""), nullptr);
  EXPECT_NE(index_.lookup("c", ""), nullptr);
  check_tags();
}

TEST_F(ShardedIndexTags, ReplacementDropsTheOldVersionsTags) {
  insert(meta_of("k", {"old", "both"}, "gzip"));
  insert(meta_of("k", {"new", "both"}, "gzip"));
  check_tags();
  EXPECT_EQ(index_.remove_by_tag("old"), 0u);
  EXPECT_NE(index_.lookup("k", "gzip"), nullptr);
  EXPECT_EQ(index_.remove_by_tag("both"), 1u);
  EXPECT_EQ(index_.tag_entries(), 0u);
}

TEST_F(ShardedIndexTags, UpdateRefilesAnObjectWhoseTagsChange) {
  insert(meta_of("k", {"old", "kept"}));
  ObjectRef stored = index_.lookup("k", "");
  ASSERT_NE(stored, nullptr);
  const auto& object = static_cast<const FakeObject&>(*stored);
  auto updated =
      index_.update(object, meta_of("k", {"kept", "new"}), [&](Index::Slot&, ObjectMeta m) {
        return std::pair(object.with_meta(std::move(m)), uint64_t{1000});
      });
  ASSERT_NE(updated, nullptr);
  check_tags();
  EXPECT_EQ(index_.remove_by_tag("old"), 0u);
  EXPECT_EQ(index_.remove_by_tag("new"), 1u);
  EXPECT_EQ(index_.tag_entries(), 0u);

  // A refused update changes nothing.
  insert(meta_of("r", {"before"}));
  ObjectRef r = index_.lookup("r", "");
  const auto& r_object = static_cast<const FakeObject&>(*r);
  EXPECT_EQ(index_.update(r_object, meta_of("r", {"after"}),
                          [](Index::Slot&, ObjectMeta) {
                            return std::pair(std::shared_ptr<const FakeObject>(), uint64_t{0});
                          }),
            nullptr);
  check_tags();
  EXPECT_EQ(index_.remove_by_tag("after"), 0u);
  EXPECT_EQ(index_.remove_by_tag("before"), 1u);
}

TEST_F(ShardedIndexTags, RemoveAndRemoveAllVariantsUntag) {
  insert(meta_of("k", {"t"}, "a"));
  insert(meta_of("k", {"t", "u"}, "b"));
  insert(meta_of("j", {"u"}));
  EXPECT_EQ(index_.remove("k", "a"), 1u);
  check_tags();
  EXPECT_EQ(index_.remove_all_variants("k"), 1u);
  check_tags();
  EXPECT_EQ(index_.remove_by_tag("t"), 0u);
  EXPECT_EQ(index_.tag_entries(), 1u);  // "u", on "j"
  index_.remove_id("j", index_.find("j", ""));
  EXPECT_EQ(index_.tag_entries(), 0u);
}

TEST_F(ShardedIndexTags, PurgeReachesEveryShardAndCallsBackOutsideTheLock) {
  std::vector<std::string> keys;
  std::set<unsigned> shards;
  for (int i = 0; i < 64; ++i) {
    keys.push_back("key/" + std::to_string(i));
    shards.insert(index_.shard_of(keys.back()));
    insert(meta_of(keys.back(), {"shared", "own/" + std::to_string(i)}));
  }
  ASSERT_EQ(shards.size(), index_.shard_count());  // the tag spans every shard
  std::set<std::string> removed;
  const size_t count = index_.remove_by_tag("shared", [&](const FakeObject& object) {
    // The shard's lock is free here: a lookup in the same shard would deadlock otherwise.
    EXPECT_EQ(index_.lookup(object.meta().primary_key, ""), nullptr);
    removed.insert(object.meta().primary_key);
  });
  EXPECT_EQ(count, 64u);
  EXPECT_EQ(removed, std::set<std::string>(keys.begin(), keys.end()));
  EXPECT_EQ(left_, 64);
  EXPECT_EQ(index_.stats().objects, 0u);
  EXPECT_EQ(index_.stats().bytes, 0u);
  EXPECT_EQ(index_.tag_entries(), 0u);  // the objects' own tags went with them
  check_tags();
}

class ShardedIndexTagsEvicting : public ShardedIndexTags {
 protected:
  ShardedIndexTagsEvicting() : ShardedIndexTags(2 * 10'000, 2) {}  // ten objects per shard
};

TEST_F(ShardedIndexTagsEvicting, EvictionUntags) {
  for (int i = 0; i < 200; ++i) {
    insert(meta_of("key/" + std::to_string(i), {"all", "own/" + std::to_string(i)}));
  }
  check_tags();
  const TierStats stats = index_.stats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_EQ(index_.tag_entries(), 2 + stats.objects);  // "all" in each shard, one "own" each
  EXPECT_EQ(index_.remove_by_tag("all"), stats.objects);
  EXPECT_EQ(index_.tag_entries(), 0u);
}

// Random inserts, replacements, updates, removals and purges over a few keys and tags, on a
// budget that evicts all the time; the tag invariant holds after every step.
TEST_F(ShardedIndexTagsEvicting, InvariantHoldsUnderRandomOperations) {
  std::mt19937 rng(7);
  const std::vector<std::string> tags = {"a", "b", "c", "d", "A"};
  auto random_tags = [&] {
    std::vector<std::string> out;
    for (unsigned n = rng() % 4; n > 0; --n) out.push_back(tags[rng() % tags.size()]);
    return out;
  };
  size_t purged = 0;
  for (int step = 0; step < 5000; ++step) {
    const std::string key = "key/" + std::to_string(rng() % 40);
    const std::string variant = rng() % 2 ? "" : "gzip";
    switch (rng() % 6) {
      case 0:
      case 1:
        insert(meta_of(key, random_tags(), variant), 500 + rng() % 2000);
        break;
      case 2:
        if (ObjectRef stored = index_.lookup(key, variant)) {
          const auto& object = static_cast<const FakeObject&>(*stored);
          const uint64_t charge = 500 + rng() % 4000;
          index_.update(object, meta_of(key, random_tags(), variant),
                        [&](Index::Slot&, ObjectMeta m) {
                          return std::pair(object.with_meta(std::move(m)), charge);
                        });
        }
        break;
      case 3:
        index_.remove(key, variant);
        break;
      case 4:
        index_.remove_all_variants(key);
        break;
      case 5:
        purged += index_.remove_by_tag(tags[rng() % tags.size()]);
        break;
    }
    check_tags();
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(purged, 0u);
  EXPECT_GT(index_.stats().evictions, 0u);
}

}  // namespace
}  // namespace stavka::storage
