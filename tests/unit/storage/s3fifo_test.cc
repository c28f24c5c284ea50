// S3Fifo on its own: admission, quick demotion of one-hit wonders, promotion, ghost hits, the
// CLOCK-like main queue, arbitrary removal and charge accounting.
#include "storage/s3fifo.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

namespace stavka::storage {
namespace {

using Queue = S3Fifo::Queue;
using Ids = std::vector<S3Fifo::Id>;

// Entry ids double as key hashes unless a test needs them apart (a key stored again).
uint64_t key(S3Fifo::Id id) { return 1000 + id; }

// Capacity 1000, ten entries of 100: full, everything in small.
S3Fifo full_of_ten() {
  S3Fifo policy(1000);
  Ids evicted;
  for (S3Fifo::Id id = 1; id <= 10; ++id) EXPECT_TRUE(policy.insert(id, key(id), 100, evicted));
  EXPECT_TRUE(evicted.empty());
  return policy;
}

TEST(S3Fifo, NewEntriesEnterSmall) {
  S3Fifo policy(1000);
  Ids evicted;
  ASSERT_TRUE(policy.insert(1, key(1), 100, evicted));
  EXPECT_EQ(policy.queue_of(1), Queue::small);
  EXPECT_EQ(policy.frequency(1), 0);
  EXPECT_EQ(policy.charged(), 100u);
  EXPECT_EQ(policy.small_charged(), 100u);
  EXPECT_EQ(policy.main_charged(), 0u);
  EXPECT_EQ(policy.size(), 1u);
  EXPECT_EQ(policy.queue_of(2), Queue::none);
}

TEST(S3Fifo, RefusesAChargeAboveCapacityAndADuplicateId) {
  S3Fifo policy = full_of_ten();
  Ids evicted;
  EXPECT_FALSE(policy.insert(11, key(11), 1001, evicted));
  EXPECT_FALSE(policy.insert(5, key(5), 10, evicted));
  EXPECT_TRUE(evicted.empty());
  EXPECT_EQ(policy.size(), 10u);
  EXPECT_EQ(policy.charged(), 1000u);
}

TEST(S3Fifo, OneHitWondersLeaveSmallForTheGhostQueue) {
  S3Fifo policy = full_of_ten();
  Ids evicted;
  ASSERT_TRUE(policy.insert(11, key(11), 100, evicted));
  EXPECT_EQ(evicted, Ids{1});  // the oldest, never accessed
  EXPECT_EQ(policy.queue_of(1), Queue::none);
  EXPECT_TRUE(policy.in_ghost(key(1)));
  EXPECT_EQ(policy.charged(), 1000u);
  EXPECT_EQ(policy.size(), 10u);
}

TEST(S3Fifo, AccessedEntriesArePromotedToMainInsteadOfEvicted) {
  S3Fifo policy = full_of_ten();
  ASSERT_TRUE(policy.access(1));
  EXPECT_EQ(policy.frequency(1), 1);
  Ids evicted;
  ASSERT_TRUE(policy.insert(11, key(11), 100, evicted));
  EXPECT_EQ(evicted, Ids{2});
  EXPECT_EQ(policy.queue_of(1), Queue::main);
  EXPECT_EQ(policy.frequency(1), 0);  // main starts it afresh
  EXPECT_EQ(policy.main_charged(), 100u);
  EXPECT_EQ(policy.small_charged(), 900u);
  EXPECT_FALSE(policy.in_ghost(key(1)));
}

TEST(S3Fifo, AGhostHitGoesStraightToMain) {
  S3Fifo policy = full_of_ten();
  Ids evicted;
  ASSERT_TRUE(policy.insert(11, key(11), 100, evicted));
  ASSERT_EQ(evicted, Ids{1});
  // The same key stored again (a new id): admitted to main, and forgotten by the ghost queue.
  evicted.clear();
  ASSERT_TRUE(policy.insert(12, key(1), 100, evicted));
  EXPECT_EQ(evicted, Ids{2});
  EXPECT_EQ(policy.queue_of(12), Queue::main);
  EXPECT_FALSE(policy.in_ghost(key(1)));
  EXPECT_TRUE(policy.in_ghost(key(2)));
}

TEST(S3Fifo, FrequencyIsCappedAtThree) {
  S3Fifo policy = full_of_ten();
  for (int i = 0; i < 10; ++i) policy.access(3);
  EXPECT_EQ(policy.frequency(3), S3Fifo::max_frequency);
  EXPECT_FALSE(policy.access(99));
}

TEST(S3Fifo, MainReinsertsAccessedEntriesLikeAClock) {
  S3Fifo policy = full_of_ten();
  for (S3Fifo::Id id = 1; id <= 10; ++id) policy.access(id);
  Ids evicted;
  // Small empties into main (all were accessed) and main, all at frequency 0, evicts its oldest.
  ASSERT_TRUE(policy.insert(11, key(11), 100, evicted));
  EXPECT_EQ(evicted, Ids{1});
  for (S3Fifo::Id id = 2; id <= 10; ++id) EXPECT_EQ(policy.queue_of(id), Queue::main) << id;
  EXPECT_EQ(policy.queue_of(11), Queue::small);

  // With small under its tenth, space comes from main: 2 (accessed) is spared once, 3 goes.
  ASSERT_TRUE(policy.remove(11));
  policy.access(2);
  evicted.clear();
  ASSERT_TRUE(policy.insert(20, key(20), 50, evicted));
  ASSERT_TRUE(evicted.empty());
  ASSERT_TRUE(policy.insert(21, key(21), 100, evicted));
  EXPECT_EQ(evicted, Ids{3});
  EXPECT_EQ(policy.queue_of(2), Queue::main);
  EXPECT_EQ(policy.frequency(2), 0);
  EXPECT_LE(policy.charged(), policy.capacity());
}

TEST(S3Fifo, RemovesArbitraryEntriesWithoutCountingThemAsEvictions) {
  S3Fifo policy = full_of_ten();
  policy.access(1);
  Ids evicted;
  ASSERT_TRUE(policy.insert(11, key(11), 100, evicted));  // 1 to main, 2 evicted
  ASSERT_EQ(policy.queue_of(1), Queue::main);

  EXPECT_TRUE(policy.remove(5));  // middle of small
  EXPECT_TRUE(policy.remove(1));  // from main
  EXPECT_FALSE(policy.remove(5));
  EXPECT_FALSE(policy.in_ghost(key(5)));
  EXPECT_FALSE(policy.in_ghost(key(1)));
  EXPECT_EQ(policy.charged(), 800u);
  EXPECT_EQ(policy.main_charged(), 0u);
  EXPECT_EQ(policy.size(), 8u);

  EXPECT_TRUE(policy.remove(6, /*remember_in_ghost=*/true));
  EXPECT_TRUE(policy.in_ghost(key(6)));
  evicted.clear();
  ASSERT_TRUE(policy.insert(12, key(6), 100, evicted));  // key 6 refreshed: straight to main
  EXPECT_EQ(policy.queue_of(12), Queue::main);
  EXPECT_TRUE(evicted.empty());
}

TEST(S3Fifo, RechargeEvictsToStayWithinCapacity) {
  S3Fifo policy = full_of_ten();
  Ids evicted;
  ASSERT_TRUE(policy.recharge(5, 300, evicted));
  EXPECT_EQ(evicted, (Ids{1, 2}));
  EXPECT_EQ(policy.charged(), 1000u);
  EXPECT_EQ(policy.queue_of(5), Queue::small);
  evicted.clear();
  EXPECT_FALSE(policy.recharge(5, 1001, evicted));
  EXPECT_FALSE(policy.recharge(99, 10, evicted));
  ASSERT_TRUE(policy.recharge(5, 50, evicted));
  EXPECT_TRUE(evicted.empty());
  EXPECT_EQ(policy.charged(), 750u);
}

TEST(S3Fifo, GhostQueueIsBoundedByMainsShare) {
  S3Fifo policy(1000);
  Ids evicted;
  for (S3Fifo::Id id = 1; id <= 200; ++id) ASSERT_TRUE(policy.insert(id, key(id), 100, evicted));
  EXPECT_EQ(evicted.size(), 190u);
  EXPECT_LE(policy.ghost_size(), 9u);  // 900 bytes of charges
  EXPECT_TRUE(policy.in_ghost(key(190)));
  EXPECT_FALSE(policy.in_ghost(key(1)));
}

TEST(S3Fifo, ScanDoesNotFlushAReusedEntry) {
  S3Fifo policy(1000);
  Ids evicted;
  ASSERT_TRUE(policy.insert(1, key(1), 100, evicted));
  policy.access(1);
  for (S3Fifo::Id id = 2; id < 500; ++id) ASSERT_TRUE(policy.insert(id, key(id), 100, evicted));
  EXPECT_EQ(policy.queue_of(1), Queue::main);
}

// Random operations against a model of what is present: charges always add up, stay within
// capacity, and every id leaves exactly once (evicted or removed).
TEST(S3Fifo, ChargeAccountingHoldsUnderRandomOperations) {
  S3Fifo policy(10'000);
  std::map<S3Fifo::Id, uint64_t> present;
  std::mt19937_64 rng(42);
  S3Fifo::Id next = 1;
  for (int step = 0; step < 20'000; ++step) {
    unsigned op = rng() % 10;
    if (op < 5) {
      uint64_t charge = rng() % 1500;
      Ids evicted;
      S3Fifo::Id id = next++;
      ASSERT_TRUE(policy.insert(id, rng() % 300, charge, evicted));
      for (S3Fifo::Id e : evicted) ASSERT_EQ(present.erase(e), 1u) << "evicted twice: " << e;
      present[id] = charge;
    } else if (op < 8 && !present.empty()) {
      auto it = present.lower_bound(rng() % next);
      if (it != present.end()) {
        ASSERT_TRUE(policy.access(it->first));
      }
    } else if (op < 9 && !present.empty()) {
      auto it = present.lower_bound(rng() % next);
      if (it != present.end()) {
        ASSERT_TRUE(policy.remove(it->first, rng() % 2));
        present.erase(it);
      }
    } else if (!present.empty()) {
      auto it = present.lower_bound(rng() % next);
      if (it != present.end()) {
        Ids evicted;
        uint64_t charge = rng() % 1500;
        ASSERT_TRUE(policy.recharge(it->first, charge, evicted));
        it->second = charge;
        for (S3Fifo::Id e : evicted) ASSERT_EQ(present.erase(e), 1u);
      }
    }
    uint64_t sum = 0;
    for (const auto& [id, charge] : present) sum += charge;
    ASSERT_EQ(policy.charged(), sum);
    ASSERT_EQ(policy.small_charged() + policy.main_charged(), sum);
    ASSERT_EQ(policy.size(), present.size());
    ASSERT_LE(policy.charged(), policy.capacity());
  }
}

}  // namespace
}  // namespace stavka::storage
