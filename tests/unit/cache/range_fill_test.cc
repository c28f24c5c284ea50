// Range fills in the FillTable and the Fill's span bookkeeping: which fill a reader of a byte
// joins, how far a fill fetches (want, cap), and letting go of stored blocks.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cache/fill.h"
#include "cache/fill_table.h"
#include "support/run_on_reactor.h"

namespace stavka::cache {
namespace {

using test::run_task;

constexpr uint32_t kBlock = 100;

std::shared_ptr<const FillHead> head_at(uint64_t base, uint64_t size) {
  auto head = std::make_shared<FillHead>();
  head->base = base;
  head->size = size;
  head->cacheable = true;
  return head;
}

TEST(RangeFill, ANewFillStartsAtTheBlockBoundary) {
  FillTable table;
  bool created = false;
  auto fill = table.find_or_create_span("k", 250, kBlock, 600, &created);
  EXPECT_TRUE(created);
  EXPECT_EQ(fill->start(), 200u);
  EXPECT_EQ(fill->want_end(), 600u);
  EXPECT_EQ(table.in_progress(), 1u);
}

TEST(RangeFill, ReadersOfBytesTheFillWillFetchJoinIt) {
  FillTable table;
  bool created = false;
  auto fill = table.find_or_create_span("k", 200, kBlock, 600, &created);
  for (uint64_t offset : {200u, 350u, 599u}) {
    EXPECT_EQ(table.find_or_create_span("k", offset, kBlock, 900, &created), fill) << offset;
    EXPECT_FALSE(created);
  }
  // Before its start, at or past where it stops, or another key: a fill of their own.
  for (uint64_t offset : {199u, 600u}) {
    EXPECT_NE(table.find_or_create_span("k", offset, kBlock, 900, &created), fill) << offset;
    EXPECT_TRUE(created);
  }
  EXPECT_NE(table.find_or_create_span("other", 300, kBlock, 900, &created), fill);
}

TEST(RangeFill, WantGrowsUpToTheCap) {
  Fill fill("k", kBlock, 0);
  fill.want(300);
  fill.want(200);  // never lowered
  EXPECT_EQ(fill.want_end(), 300u);
  fill.cap_want(500);
  fill.want(800);
  EXPECT_EQ(fill.want_end(), 500u);
  fill.cap_want(400);
  EXPECT_EQ(fill.want_end(), 400u);
}

TEST(RangeFill, AnEndedFillStillServesWhatItReceived) {
  FillTable table;
  bool created = false;
  auto fill = table.find_or_create_span("k", 0, kBlock, 1000, &created);
  fill->set_head(head_at(0, 1000), true);
  fill->append(std::string(250, 'x'), nullptr);
  fill->finish(nullptr);
  EXPECT_TRUE(fill->will_have(0));
  EXPECT_TRUE(fill->will_have(249));
  EXPECT_FALSE(fill->will_have(250)) << "stopped: those bytes will not come";
  EXPECT_EQ(table.find_or_create_span("k", 100, kBlock, 1000, &created), fill);
  EXPECT_NE(table.find_or_create_span("k", 250, kBlock, 1000, &created), fill);
  table.remove_span(*fill);
  EXPECT_NE(table.find_or_create_span("k", 100, kBlock, 1000, &created), fill);
}

TEST(RangeFill, TheTableKnowsWhichKeysHaveRangeFillsInProgress) {
  FillTable table;
  bool created = false;
  EXPECT_FALSE(table.has_span("k"));
  auto first = table.find_or_create_span("k", 0, kBlock, 1000, &created);
  auto second = table.find_or_create_span("k", 2000, kBlock, 3000, &created);
  ASSERT_TRUE(created);
  EXPECT_TRUE(table.has_span("k"));
  EXPECT_FALSE(table.has_span("other"));
  table.remove_span(*first);
  EXPECT_TRUE(table.has_span("k")) << "the second one still runs";
  second.reset();  // its writer and readers are gone without removing it
  EXPECT_FALSE(table.has_span("k"));
  table.remove_span(*first);
  EXPECT_FALSE(table.has_span("k"));
}

TEST(RangeFill, AFillThatIgnoredTheRangeHoldsBytesFromZero) {
  Fill fill("k", kBlock, 300);
  fill.want(500);
  fill.set_head(head_at(0, 1000), true);  // the origin answered 200: the body starts at 0
  fill.append(std::string(350, 'x'), nullptr);
  EXPECT_FALSE(fill.will_have(250)) << "before the start it was created for";
  EXPECT_TRUE(fill.will_have(320));
  EXPECT_TRUE(fill.will_have(450)) << "still fetching up to 500";
  EXPECT_FALSE(fill.will_have(500));
}

TEST(RangeFill, FailedOrUnsharedFillsServeNobody) {
  Fill failed("k", kBlock, 0);
  failed.want(500);
  failed.fail();
  EXPECT_FALSE(failed.will_have(0));
  Fill unshared("k", kBlock, 0);
  unshared.want(500);
  unshared.set_head(head_at(0, 1000), false);
  EXPECT_FALSE(unshared.will_have(0));
}

TEST(RangeFill, ReleasedBlocksSendReadersToStorage) {
  Fill fill("k", kBlock, 0);
  fill.set_head(head_at(0, 1000), true);
  std::vector<std::pair<uint32_t, storage::BlockRef>> sealed;
  fill.append(std::string(350, 'y'), &sealed);
  ASSERT_EQ(sealed.size(), 3u);
  fill.release_sealed(2);  // blocks 0 and 1 are stored
  auto chunk_at = [&](uint64_t offset) { return run_task(fill.read(offset, 1000)); };
  EXPECT_TRUE(chunk_at(0).released);
  EXPECT_TRUE(chunk_at(150).released);
  FillChunk kept = chunk_at(200);
  EXPECT_FALSE(kept.released);
  EXPECT_EQ(kept.bytes.size(), 100u);
  FillChunk open = chunk_at(310);
  EXPECT_EQ(open.bytes, std::string(40, 'y'));
}

TEST(RangeFill, ReadersReportHowFarTheyReadAndAsked) {
  Fill fill("k", kBlock, 0);
  fill.note_read(120);
  fill.note_read(80);
  fill.note_asked(900);
  fill.note_asked(400);
  EXPECT_EQ(fill.furthest_read(), 120u);
  EXPECT_EQ(fill.asked_end(), 900u);
}

}  // namespace
}  // namespace stavka::cache
