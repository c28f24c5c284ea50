// The Storage conformance tests (see storage_conformance.h). Defined once here; every backend's
// test file instantiates them with its own factory, so all backends answer the same contract.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "storage_conformance.h"

namespace stavka::storage::conformance {
namespace {

constexpr uint32_t bs = test_block_size;

}  // namespace

TEST_P(StorageConformance, AbsentKeyIsNotFound) {
  EXPECT_TRUE(storage().lookup("absent").empty());
  EXPECT_EQ(storage().lookup("absent", ""), nullptr);
  EXPECT_EQ(storage().lookup("absent", "gzip"), nullptr);
  EXPECT_EQ(storage().remove("absent", ""), 0u);
  EXPECT_EQ(storage().remove_all_variants("absent"), 0u);
  EXPECT_EQ(storage().remove_by_tag("absent"), 0u);
  TierStats stats = storage().stats();
  EXPECT_EQ(stats.objects, 0u);
  EXPECT_EQ(stats.bytes, 0u);
}

TEST_P(StorageConformance, PublishedObjectReadsBackByteExactWithItsMeta) {
  const std::string body = test_body(3 * bs + 123, 1);
  const ObjectMeta meta = test_meta("k", "", body.size());
  ASSERT_EQ(store(meta, body), Error::none);

  ObjectRef object = storage().lookup("k", "");
  ASSERT_NE(object, nullptr);
  const ObjectMeta& got = object->meta();
  EXPECT_EQ(got.primary_key, meta.primary_key);
  EXPECT_EQ(got.variant, meta.variant);
  EXPECT_EQ(got.url, meta.url);
  EXPECT_EQ(got.host, meta.host);
  EXPECT_EQ(got.status, meta.status);
  EXPECT_EQ(got.headers, meta.headers);
  EXPECT_EQ(got.size, meta.size);
  EXPECT_EQ(got.block_size, meta.block_size);
  EXPECT_EQ(got.request_time, meta.request_time);
  EXPECT_EQ(got.response_time, meta.response_time);
  EXPECT_EQ(got.expires, meta.expires);
  EXPECT_EQ(got.etag, meta.etag);
  EXPECT_EQ(got.last_modified, meta.last_modified);
  EXPECT_EQ(got.surrogate_keys, meta.surrogate_keys);
  ASSERT_EQ(got.block_count(), 4u);

  for (uint32_t i = 0; i < 4; ++i) {
    BlockResult r = read(object, i);
    ASSERT_EQ(r.error, Error::none) << error_name(r.error);
    ASSERT_NE(r.block, nullptr);
    EXPECT_EQ(r.block->size, i < 3 ? bs : 123u);
    EXPECT_EQ(r.block->crc, crc32c(r.block->data.get(), r.block->size));
  }
  ReadBack back = read_all(object);
  ASSERT_EQ(back.error, Error::none) << error_name(back.error);
  EXPECT_EQ(back.body, body);

  std::vector<ObjectRef> all = storage().lookup("k");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(read_all(all[0]).body, body);
}

TEST_P(StorageConformance, NothingIsVisibleBeforePublish) {
  const std::string body = test_body(2 * bs, 2);
  const ObjectMeta meta = test_meta("k", "", body.size());
  std::unique_ptr<Writer> writer = storage().begin_write(meta);
  ASSERT_NE(writer, nullptr);
  std::vector<BlockRef> blocks = cut_blocks(body, bs);
  for (uint32_t i = 0; i < blocks.size(); ++i) ASSERT_EQ(write(*writer, i, blocks[i]), Error::none);
  EXPECT_EQ(storage().lookup("k", ""), nullptr);
  EXPECT_TRUE(storage().lookup("k").empty());
  EXPECT_EQ(storage().stats().objects, 0u);
  ASSERT_EQ(publish(*writer, meta), Error::none);
  EXPECT_NE(storage().lookup("k", ""), nullptr);
}

TEST_P(StorageConformance, BlocksMayBeWrittenInAnyOrder) {
  const std::string body = test_body(3 * bs + 7, 3);
  const ObjectMeta meta = test_meta("k", "", body.size());
  std::unique_ptr<Writer> writer = storage().begin_write(meta);
  ASSERT_NE(writer, nullptr);
  std::vector<BlockRef> blocks = cut_blocks(body, bs);
  for (uint32_t i = blocks.size(); i-- > 0;) ASSERT_EQ(write(*writer, i, blocks[i]), Error::none);
  ASSERT_EQ(publish(*writer, meta), Error::none);
  EXPECT_EQ(read_all(storage().lookup("k", "")).body, body);
}

TEST_P(StorageConformance, ReadingPastTheLastBlockIsInvalid) {
  const std::string body = test_body(bs + 1, 4);
  ASSERT_EQ(store(test_meta("k", "", body.size()), body), Error::none);
  ObjectRef object = storage().lookup("k", "");
  ASSERT_NE(object, nullptr);
  BlockResult r = read(object, 2);
  EXPECT_EQ(r.error, Error::invalid);
  EXPECT_EQ(r.block, nullptr);
  EXPECT_EQ(read(nullptr, 0).error, Error::invalid);
}

TEST_P(StorageConformance, SeveralVariantsLiveUnderOnePrimaryKey) {
  const std::vector<std::string> variants = {"", "gzip", "br"};
  for (uint32_t v = 0; v < variants.size(); ++v) {
    std::string body = test_body(bs + 100 * v, 10 + v);
    ASSERT_EQ(store(test_meta("k", variants[v], body.size()), body), Error::none);
  }
  std::vector<ObjectRef> all = storage().lookup("k");
  ASSERT_EQ(all.size(), 3u);
  std::vector<std::string> seen;
  for (const ObjectRef& object : all) {
    seen.push_back(object->meta().variant);
    uint32_t v = std::find(variants.begin(), variants.end(), object->meta().variant) -
                 variants.begin();
    ASSERT_LT(v, variants.size());
    EXPECT_EQ(read_all(object).body, test_body(bs + 100 * v, 10 + v));
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"", "br", "gzip"}));
  for (uint32_t v = 0; v < variants.size(); ++v) {
    ObjectRef object = storage().lookup("k", variants[v]);
    ASSERT_NE(object, nullptr);
    EXPECT_EQ(read_all(object).body, test_body(bs + 100 * v, 10 + v));
  }
  EXPECT_EQ(storage().lookup("k", "deflate"), nullptr);
  EXPECT_EQ(storage().stats().objects, 3u);
}

TEST_P(StorageConformance, ReplacingAVariantNeverServesNewBytesThroughTheOldHandle) {
  const std::string old_body = test_body(2 * bs + 10, 20);
  const std::string new_body = test_body(3 * bs, 21);
  ASSERT_EQ(store(test_meta("k", "gzip", old_body.size()), old_body), Error::none);
  ObjectRef old = storage().lookup("k", "gzip");
  ASSERT_NE(old, nullptr);

  ObjectMeta replacement = test_meta("k", "gzip", new_body.size());
  replacement.etag = "\"v2\"";
  ASSERT_EQ(store(replacement, new_body), Error::none);

  ObjectRef current = storage().lookup("k", "gzip");
  ASSERT_NE(current, nullptr);
  EXPECT_EQ(current->meta().etag, "\"v2\"");
  EXPECT_EQ(read_all(current).body, new_body);
  EXPECT_EQ(storage().lookup("k").size(), 1u);
  EXPECT_EQ(storage().stats().objects, 1u);

  // The old handle still describes the old object.
  EXPECT_EQ(old->meta().etag, "\"v1\"");
  EXPECT_EQ(old->meta().size, old_body.size());
  expect_own_bytes_or_not_found(old, old_body);
}

TEST_P(StorageConformance, RemovedAndRestoredKeyNeverServesNewBytesThroughTheOldHandle) {
  const std::string first = test_body(bs + 5, 30);
  const std::string second = test_body(bs + 5, 31);  // same size: only identity tells them apart
  ASSERT_EQ(store(test_meta("k", "", first.size()), first), Error::none);
  ObjectRef old = storage().lookup("k", "");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(storage().remove("k", ""), 1u);
  ASSERT_EQ(store(test_meta("k", "", second.size()), second), Error::none);
  expect_own_bytes_or_not_found(old, first);
  EXPECT_EQ(read_all(storage().lookup("k", "")).body, second);
}

TEST_P(StorageConformance, WriterDestroyedWithoutPublishLeavesNoTrace) {
  const std::string kept = test_body(bs, 40);
  ASSERT_EQ(store(test_meta("kept", "", kept.size()), kept), Error::none);
  const TierStats before = storage().stats();

  for (const char* key : {"kept", "fresh"}) {
    const std::string body = test_body(2 * bs + 3, 41);
    ObjectMeta meta = test_meta(key, "", body.size());
    std::unique_ptr<Writer> writer = storage().begin_write(meta);
    ASSERT_NE(writer, nullptr);
    std::vector<BlockRef> blocks = cut_blocks(body, bs);
    for (uint32_t i = 0; i < blocks.size(); ++i) {
      ASSERT_EQ(write(*writer, i, blocks[i]), Error::none);
    }
    writer.reset();  // abort
  }
  EXPECT_EQ(storage().lookup("fresh", ""), nullptr);
  ObjectRef object = storage().lookup("kept", "");
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(read_all(object).body, kept);
  const TierStats after = storage().stats();
  EXPECT_EQ(after.objects, before.objects);
  EXPECT_EQ(after.bytes, before.bytes);
}

TEST_P(StorageConformance, PublishingTwiceIsInvalid) {
  const std::string body = test_body(bs, 50);
  const ObjectMeta meta = test_meta("k", "", body.size());
  std::unique_ptr<Writer> writer = storage().begin_write(meta);
  ASSERT_NE(writer, nullptr);
  ASSERT_EQ(write(*writer, 0, make_block(body)), Error::none);
  ASSERT_EQ(publish(*writer, meta), Error::none);
  EXPECT_EQ(publish(*writer, meta), Error::invalid);
  EXPECT_EQ(write(*writer, 0, make_block(body)), Error::invalid);
  writer.reset();  // destroying a published writer does not unpublish
  EXPECT_EQ(read_all(storage().lookup("k", "")).body, body);
}

// Each case breaks the block contract in one way; the write must fail with Error::invalid,
// either when the offending block is written or at publish, and leave nothing visible.
TEST_P(StorageConformance, BrokenBlockContractIsInvalid) {
  struct Write {
    uint32_t index;
    BlockRef block;
  };
  struct Case {
    const char* name;
    uint64_t begin_size;
    std::vector<Write> writes;
    uint64_t final_size;
  };
  auto block = [](uint32_t size, uint32_t seed = 60) { return make_block(test_body(size, seed)); };
  const std::vector<Case> cases = {
      {"short middle block", 3 * bs, {{0, block(bs)}, {1, block(100)}, {2, block(bs)}}, 3 * bs},
      {"oversized block", bs + 1, {{0, block(bs + 1)}}, bs + 1},
      {"index past the end", 2 * bs, {{0, block(bs)}, {1, block(bs)}, {5, block(bs)}}, 2 * bs},
      {"missing middle block", 3 * bs, {{0, block(bs)}, {2, block(bs)}}, 3 * bs},
      {"missing last block", 2 * bs + 1, {{0, block(bs)}, {1, block(bs)}}, 2 * bs + 1},
      {"wrong last block size", 2 * bs + 100, {{0, block(bs)}, {1, block(200)}}, 2 * bs + 100},
      {"empty block", bs, {{0, block(0)}}, bs},
      {"null block", bs, {{0, nullptr}}, bs},
      {"total short of final size", unknown_size, {{0, block(bs)}, {1, block(bs)}}, 2 * bs + 5},
      {"total beyond final size", unknown_size, {{0, block(bs)}, {1, block(bs)}}, bs},
      {"short non-last block", unknown_size, {{0, block(100)}, {1, block(bs)}}, bs + 100},
      {"final size unknown", unknown_size, {{0, block(bs)}}, unknown_size},
      {"final size differs from begin", 2 * bs, {{0, block(bs)}, {1, block(bs)}}, 2 * bs + 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string key = std::string("case/") + c.name;
    std::unique_ptr<Writer> writer = storage().begin_write(test_meta(key, "", c.begin_size));
    ASSERT_NE(writer, nullptr);
    Error error = Error::none;
    for (const Write& w : c.writes) {
      if ((error = write(*writer, w.index, w.block)) != Error::none) break;
    }
    if (error == Error::none) error = publish(*writer, test_meta(key, "", c.final_size));
    EXPECT_EQ(error, Error::invalid) << error_name(error);
    writer.reset();
    EXPECT_EQ(storage().lookup(key, ""), nullptr);
  }
  EXPECT_EQ(storage().stats().objects, 0u);
  EXPECT_EQ(storage().stats().bytes, 0u);
}

TEST_P(StorageConformance, UpdateMetaReplacesTheHeadAndKeepsTheBody) {
  const std::string body = test_body(2 * bs + 9, 70);
  ASSERT_EQ(store(test_meta("k", "", body.size()), body), Error::none);
  ObjectRef object = storage().lookup("k", "");
  ASSERT_NE(object, nullptr);

  ObjectMeta merged = object->meta();
  merged.headers = "Content-Type: application/octet-stream\r\nCache-Control: max-age=600\r\n";
  merged.expires += 540;
  merged.response_time += 100;
  ObjectRef updated = storage().update_meta(object, merged);
  ASSERT_NE(updated, nullptr);
  EXPECT_EQ(updated->meta().headers, merged.headers);
  EXPECT_EQ(updated->meta().expires, merged.expires);
  EXPECT_EQ(read_all(updated).body, body);

  ObjectRef again = storage().lookup("k", "");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->meta().headers, merged.headers);
  EXPECT_EQ(again->meta().expires, merged.expires);
  EXPECT_EQ(read_all(again).body, body);
  // Same object: the handle from before the update still reads its body.
  EXPECT_EQ(read_all(object).body, body);
  EXPECT_EQ(storage().stats().objects, 1u);
}

TEST_P(StorageConformance, UpdateMetaRejectsADifferentSize) {
  const std::string body = test_body(bs + 9, 71);
  ASSERT_EQ(store(test_meta("k", "", body.size()), body), Error::none);
  ObjectRef object = storage().lookup("k", "");
  ASSERT_NE(object, nullptr);
  ObjectMeta bad = object->meta();
  bad.size += 1;
  bad.headers = "X-Changed: 1\r\n";
  EXPECT_EQ(storage().update_meta(object, bad), nullptr);
  ObjectRef again = storage().lookup("k", "");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->meta().headers, object->meta().headers);
  EXPECT_EQ(again->meta().size, body.size());
  EXPECT_EQ(read_all(again).body, body);
}

TEST_P(StorageConformance, UpdateMetaOfARemovedObjectFails) {
  const std::string body = test_body(bs, 72);
  ASSERT_EQ(store(test_meta("k", "", body.size()), body), Error::none);
  ObjectRef object = storage().lookup("k", "");
  ASSERT_NE(object, nullptr);
  ASSERT_EQ(storage().remove("k", ""), 1u);
  EXPECT_EQ(storage().update_meta(object, object->meta()), nullptr);
  EXPECT_EQ(storage().lookup("k", ""), nullptr);  // not resurrected

  // Nor does an update through a replaced object's handle touch its replacement.
  ASSERT_EQ(store(test_meta("k", "", body.size()), body), Error::none);
  ObjectMeta stale = object->meta();
  stale.headers = "X-Stale: 1\r\n";
  EXPECT_EQ(storage().update_meta(object, stale), nullptr);
  ObjectRef current = storage().lookup("k", "");
  ASSERT_NE(current, nullptr);
  EXPECT_NE(current->meta().headers, stale.headers);
}

TEST_P(StorageConformance, RemoveTakesOneVariant) {
  for (const char* variant : {"a", "b"}) {
    ASSERT_EQ(store(test_meta("k", variant, bs), test_body(bs, 80)), Error::none);
  }
  EXPECT_EQ(storage().remove("k", "a"), 1u);
  EXPECT_EQ(storage().remove("k", "a"), 0u);
  EXPECT_EQ(storage().remove("k", "c"), 0u);
  EXPECT_EQ(storage().lookup("k", "a"), nullptr);
  std::vector<ObjectRef> left = storage().lookup("k");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]->meta().variant, "b");
  EXPECT_EQ(storage().stats().objects, 1u);
}

TEST_P(StorageConformance, RemoveAllVariantsTakesEveryVariantOfOneKey) {
  for (const char* variant : {"", "a", "b"}) {
    ASSERT_EQ(store(test_meta("k", variant, bs), test_body(bs, 81)), Error::none);
  }
  ASSERT_EQ(store(test_meta("other", "", bs), test_body(bs, 82)), Error::none);
  EXPECT_EQ(storage().remove_all_variants("k"), 3u);
  EXPECT_EQ(storage().remove_all_variants("k"), 0u);
  EXPECT_TRUE(storage().lookup("k").empty());
  EXPECT_EQ(storage().lookup("k", ""), nullptr);
  ObjectRef other = storage().lookup("other", "");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(read_all(other).body, test_body(bs, 82));
  EXPECT_EQ(storage().stats().objects, 1u);
}

namespace {

// test_meta(key, variant, size) with these tags.
}  // namespace

TEST_P(StorageConformance, RemoveByTagTakesEveryObjectCarryingTheTagExactly) {
  ASSERT_EQ(store(tagged("a", "", bs, {"red", "blue"}), test_body(bs, 120)), Error::none);
  ASSERT_EQ(store(tagged("b", "gzip", bs, {"blue", "blue"}), test_body(bs, 121)), Error::none);
  ASSERT_EQ(store(tagged("b", "", bs, {"Blue"}), test_body(bs, 122)), Error::none);
  ASSERT_EQ(store(tagged("c", "", 10, {"green", "blue-ish"}), test_body(10, 123)), Error::none);
  ASSERT_EQ(store(tagged("d", "", 0, {}), ""), Error::none);

  EXPECT_EQ(storage().remove_by_tag("BLUE"), 0u);
  EXPECT_EQ(storage().remove_by_tag("blu"), 0u);
  EXPECT_EQ(storage().remove_by_tag("blue"), 2u);
  EXPECT_EQ(storage().lookup("a", ""), nullptr);
  EXPECT_EQ(storage().lookup("b", "gzip"), nullptr);
  ObjectRef other_variant = storage().lookup("b", "");
  ASSERT_NE(other_variant, nullptr);
  EXPECT_EQ(read_all(other_variant).body, test_body(bs, 122));
  EXPECT_EQ(storage().stats().objects, 3u);

  EXPECT_EQ(storage().remove_by_tag("blue"), 0u);
  EXPECT_EQ(storage().remove_by_tag("red"), 0u);  // went with "a"
  EXPECT_EQ(storage().remove_by_tag("Blue"), 1u);
  EXPECT_EQ(storage().remove_by_tag("green"), 1u);
  EXPECT_EQ(storage().remove_by_tag("blue-ish"), 0u);
  EXPECT_NE(storage().lookup("d", ""), nullptr);
  EXPECT_EQ(storage().stats().objects, 1u);
}

TEST_P(StorageConformance, ReplacingAnObjectDropsItsOldTags) {
  ASSERT_EQ(store(tagged("k", "", bs, {"old", "kept"}), test_body(bs, 130)), Error::none);
  ASSERT_EQ(store(tagged("k", "", bs, {"new", "kept"}), test_body(bs, 131)), Error::none);
  EXPECT_EQ(storage().remove_by_tag("old"), 0u);
  ObjectRef current = storage().lookup("k", "");
  ASSERT_NE(current, nullptr);
  EXPECT_EQ(read_all(current).body, test_body(bs, 131));
  EXPECT_EQ(storage().remove_by_tag("kept"), 1u);
  EXPECT_EQ(storage().lookup("k", ""), nullptr);
  EXPECT_EQ(storage().remove_by_tag("new"), 0u);
}

TEST_P(StorageConformance, UpdateMetaMayChangeTheTags) {
  ASSERT_EQ(store(tagged("k", "", bs, {"before", "kept"}), test_body(bs, 140)), Error::none);
  ObjectRef object = storage().lookup("k", "");
  ASSERT_NE(object, nullptr);
  ObjectMeta merged = object->meta();
  merged.surrogate_keys = {"kept", "after"};
  ASSERT_NE(storage().update_meta(object, merged), nullptr);
  EXPECT_EQ(storage().remove_by_tag("before"), 0u);
  EXPECT_NE(storage().lookup("k", ""), nullptr);
  EXPECT_EQ(storage().remove_by_tag("after"), 1u);
  EXPECT_EQ(storage().lookup("k", ""), nullptr);
  EXPECT_EQ(storage().remove_by_tag("kept"), 0u);
}

TEST_P(StorageConformance, ATagSharedByObjectsInEveryShardIsPurgedEverywhere) {
  // 64 keys land in every shard of any backend the factories make (8 shards or fewer).
  for (int i = 0; i < 64; ++i) {
    const std::string key = "key/" + std::to_string(i);
    ASSERT_EQ(store(tagged(key, "", 100, {"own/" + std::to_string(i), "shared"}),
                    test_body(100, 150 + i)),
              Error::none);
    ASSERT_EQ(store(tagged(key, "gzip", 100, {"untouched"}), test_body(100, 250 + i)),
              Error::none);
  }
  EXPECT_EQ(storage().remove_by_tag("shared"), 64u);
  for (int i = 0; i < 64; ++i) {
    const std::string key = "key/" + std::to_string(i);
    EXPECT_EQ(storage().lookup(key, ""), nullptr) << key;
    ObjectRef kept = storage().lookup(key, "gzip");
    ASSERT_NE(kept, nullptr) << key;
    EXPECT_EQ(read_all(kept).body, test_body(100, 250 + i));
  }
  EXPECT_EQ(storage().remove_by_tag("own/7"), 0u);  // the purged objects' other tags went too
  EXPECT_EQ(storage().stats().objects, 64u);
  EXPECT_EQ(storage().remove_by_tag("untouched"), 64u);
  EXPECT_EQ(storage().stats().objects, 0u);
  EXPECT_EQ(storage().stats().bytes, 0u);
}

TEST_P(StorageConformance, PurgedAndRestoredKeyNeverServesNewBytesThroughTheOldHandle) {
  const std::string first = test_body(bs + 5, 160);
  const std::string second = test_body(bs + 5, 161);
  ASSERT_EQ(store(tagged("k", "", first.size(), {"t"}), first), Error::none);
  ObjectRef old = storage().lookup("k", "");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(storage().remove_by_tag("t"), 1u);
  EXPECT_EQ(storage().update_meta(old, old->meta()), nullptr);  // not resurrected
  ASSERT_EQ(store(tagged("k", "", second.size(), {"t"}), second), Error::none);
  expect_own_bytes_or_not_found(old, first);
  EXPECT_EQ(read_all(storage().lookup("k", "")).body, second);
  EXPECT_EQ(storage().remove_by_tag("t"), 1u);
}

TEST_P(StorageConformance, SizeUnknownAtBeginIsSetAtPublish) {
  const std::string body = test_body(2 * bs + 77, 90);
  const ObjectMeta begin = test_meta("k", "", unknown_size);
  const ObjectMeta final_meta = test_meta("k", "", body.size());
  ASSERT_EQ(store(begin, final_meta, body), Error::none);
  ObjectRef object = storage().lookup("k", "");
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(object->meta().size, body.size());
  EXPECT_EQ(object->meta().block_count(), 3u);
  EXPECT_EQ(read_all(object).body, body);
}

TEST_P(StorageConformance, ZeroLengthBody) {
  for (uint64_t begin_size : {uint64_t{0}, unknown_size}) {
    SCOPED_TRACE(begin_size == 0 ? "size known" : "size unknown");
    const std::string key = begin_size == 0 ? "known" : "unknown";
    ASSERT_EQ(store(test_meta(key, "", begin_size), test_meta(key, "", 0), ""), Error::none);
    ObjectRef object = storage().lookup(key, "");
    ASSERT_NE(object, nullptr);
    EXPECT_EQ(object->meta().size, 0u);
    EXPECT_EQ(object->meta().block_count(), 0u);
    ReadBack back = read_all(object);
    EXPECT_EQ(back.error, Error::none);
    EXPECT_EQ(back.body, "");
    EXPECT_EQ(read(object, 0).error, Error::invalid);
  }
  EXPECT_EQ(storage().stats().objects, 2u);
}

TEST_P(StorageConformance, StatsCountObjectsAndBytes) {
  const std::string small = test_body(100, 100);
  const std::string large = test_body(3 * bs, 101);
  ASSERT_EQ(store(test_meta("a", "", small.size()), small), Error::none);
  ASSERT_EQ(store(test_meta("b", "", large.size()), large), Error::none);
  TierStats two = storage().stats();
  EXPECT_EQ(two.objects, 2u);
  EXPECT_GE(two.bytes, small.size() + large.size());
  EXPECT_GE(two.capacity, two.bytes);

  ASSERT_EQ(storage().remove("b", ""), 1u);
  TierStats one = storage().stats();
  EXPECT_EQ(one.objects, 1u);
  EXPECT_GE(one.bytes, small.size());
  EXPECT_LE(one.bytes + large.size(), two.bytes);

  ASSERT_EQ(storage().remove_all_variants("a"), 1u);
  TierStats none = storage().stats();
  EXPECT_EQ(none.objects, 0u);
  EXPECT_EQ(none.bytes, 0u);
  EXPECT_EQ(none.capacity, two.capacity);
}

TEST_P(StorageConformance, TouchIsHarmlessOnLiveAndGoneObjects) {
  const std::string body = test_body(bs, 110);
  ASSERT_EQ(store(test_meta("k", "", body.size()), body), Error::none);
  ObjectRef object = storage().lookup("k", "");
  ASSERT_NE(object, nullptr);
  storage().touch(object, 1'700'000'100);
  ASSERT_EQ(storage().remove("k", ""), 1u);
  storage().touch(object, 1'700'000'200);  // gone: ignored
  EXPECT_EQ(storage().lookup("k", ""), nullptr);
  EXPECT_EQ(storage().stats().objects, 0u);
}

namespace {

// The primary keys of a listing page, in its order.
std::vector<std::string> keys_of(const std::vector<ListedKey>& page) {
  std::vector<std::string> out;
  for (const ListedKey& k : page) {
    out.push_back(k.key);
    for (const ObjectRef& v : k.variants) EXPECT_EQ(v->meta().primary_key, k.key);
    EXPECT_EQ(k.url, k.variants.front()->meta().url);
  }
  return out;
}

// Every key the listing gives for q, page by page (q.limit keys a page).
std::vector<std::string> list_all(Storage& storage, ListQuery q) {
  std::vector<std::string> all;
  while (true) {
    std::vector<ListedKey> page = storage.list(q);
    EXPECT_LE(page.size(), q.limit);
    for (std::string& k : keys_of(page)) all.push_back(std::move(k));
    if (page.size() < q.limit) return all;
    q.after_url = page.back().url;
    q.after_key = page.back().key;
  }
}

}  // namespace

TEST_P(StorageConformance, ListingPagesThroughEveryKeyInOrderWithItsVariants) {
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) {  // in every shard of any backend the factories make
    const std::string key = "key/" + std::to_string(1000 + i * 7 % 50);
    keys.push_back(key);
    ASSERT_EQ(store(test_meta(key, "", 10), test_body(10, 400 + i)), Error::none);
  }
  ASSERT_EQ(store(test_meta("key/1003", "gzip", 10), test_body(10, 460)), Error::none);
  std::sort(keys.begin(), keys.end());

  ListQuery q;
  q.limit = 7;
  EXPECT_EQ(list_all(storage(), q), keys);
  q.limit = 1000;
  std::vector<ListedKey> page = storage().list(q);
  ASSERT_EQ(page.size(), 50u);
  for (const ListedKey& k : page) {
    EXPECT_EQ(k.variants.size(), k.key == "key/1003" ? 2u : 1u) << k.key;
    EXPECT_EQ(k.url, "http://example.test/" + k.key);
  }
  q.after_url = "http://example.test/key/1047";  // resumes after it, stored or not
  q.after_key = "key/1047";
  EXPECT_EQ(keys_of(storage().list(q)), (std::vector<std::string>{"key/1048", "key/1049"}));
  ASSERT_EQ(storage().remove_all_variants("key/1048"), 1u);
  EXPECT_EQ(keys_of(storage().list(q)), (std::vector<std::string>{"key/1049"}));
}

TEST_P(StorageConformance, ListingFiltersByUrlPrefixHostAndTag) {
  ObjectMeta a = tagged("a", "", 10, {"red"});
  ObjectMeta b = tagged("b", "", 10, {"blue"});
  b.url = "http://example.test/videos/b";
  ObjectMeta c = tagged("c", "", 10, {"red", "blue"});
  c.url = "http://other.test/videos/c";
  c.host = "other.test";
  ObjectMeta d = tagged("d", "gzip", 10, {});  // only its gzip variant is red
  ObjectMeta d2 = tagged("d", "", 10, {"red"});
  for (const ObjectMeta* m : {&a, &b, &c, &d, &d2}) {
    ASSERT_EQ(store(*m, test_body(10, 470)), Error::none);
  }
  ListQuery q;
  q.limit = 100;
  q.tag = "red";
  // In the order of (URL, key): http://example.test/a, .../d, http://other.test/videos/c.
  EXPECT_EQ(list_all(storage(), q), (std::vector<std::string>{"a", "d", "c"}));
  q.tag = "";
  q.host = "other.test";
  EXPECT_EQ(list_all(storage(), q), (std::vector<std::string>{"c"}));
  q.host = "";
  q.url_prefix = "http://example.test/videos/";
  EXPECT_EQ(list_all(storage(), q), (std::vector<std::string>{"b"}));
  q.url_prefix = "http://nowhere.test/";
  EXPECT_TRUE(storage().list(q).empty());
  // A key passes when one of its variants does; it is listed with all of them.
  q = ListQuery{};
  q.tag = "red";
  for (const ListedKey& k : storage().list(q)) {
    if (k.key == "d") {
      EXPECT_EQ(k.variants.size(), 2u);
    }
  }
}

TEST_P(StorageConformance, RemoveByPrefixTakesEveryObjectWhoseUrlStartsWithIt) {
  for (int i = 0; i < 40; ++i) {
    ObjectMeta m = test_meta("k" + std::to_string(i), "", 10);
    m.url = (i % 2 ? "http://example.test/videos/" : "http://example.test/images/") +
            std::to_string(i);
    ASSERT_EQ(store(m, test_body(10, 500 + i)), Error::none);
  }
  ObjectMeta variant = test_meta("k1", "gzip", 10);
  variant.url = "http://example.test/videos/1";
  ASSERT_EQ(store(variant, test_body(10, 560)), Error::none);

  EXPECT_EQ(storage().remove_by_prefix("http://example.test/none/"), 0u);
  EXPECT_EQ(storage().remove_by_prefix("http://example.test/videos/"), 21u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(storage().lookup("k" + std::to_string(i)).empty(), i % 2 == 1) << i;
  }
  EXPECT_EQ(storage().stats().objects, 20u);
  EXPECT_EQ(storage().remove_by_prefix(""), 20u);  // everything
  EXPECT_EQ(storage().stats().objects, 0u);
  EXPECT_TRUE(storage().list(ListQuery{}).empty());
}

}  // namespace stavka::storage::conformance
