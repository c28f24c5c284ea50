#include "runtime/intrusive_list.h"

#include <gtest/gtest.h>

#include <vector>

namespace stavka::runtime {
namespace {

struct Item {
  int id;
  ListLink<Item> link;
};
using List = IntrusiveList<Item, &Item::link>;

std::vector<int> ids(const List& list) {
  std::vector<int> out;
  list.for_each([&](Item* i) { out.push_back(i->id); });
  return out;
}

TEST(IntrusiveList, PushFrontPutsTheNewestFirst) {
  Item a{1, {}}, b{2, {}}, c{3, {}};
  List list;
  EXPECT_EQ(list.front(), nullptr);
  list.push_front(&a);
  list.push_front(&b);
  list.push_front(&c);
  EXPECT_EQ(ids(list), (std::vector<int>{3, 2, 1}));
  EXPECT_EQ(list.front(), &c);
}

TEST(IntrusiveList, EraseUnlinksFromAnyPlaceAndClearsTheLinks) {
  Item a{1, {}}, b{2, {}}, c{3, {}};
  List list;
  for (Item* i : {&a, &b, &c}) list.push_front(i);
  list.erase(&b);  // the middle
  EXPECT_EQ(ids(list), (std::vector<int>{3, 1}));
  EXPECT_EQ(b.link.prev, nullptr);
  EXPECT_EQ(b.link.next, nullptr);
  list.erase(&c);  // the front
  EXPECT_EQ(ids(list), (std::vector<int>{1}));
  list.erase(&a);  // the last one
  EXPECT_EQ(list.front(), nullptr);
  list.push_front(&b);  // an erased element can go back on
  EXPECT_EQ(ids(list), (std::vector<int>{2}));
}

TEST(IntrusiveList, ForEachMayEraseTheElementItIsGiven) {
  Item a{1, {}}, b{2, {}}, c{3, {}};
  List list;
  for (Item* i : {&a, &b, &c}) list.push_front(i);
  std::vector<int> seen;
  list.for_each([&](Item* i) {
    seen.push_back(i->id);
    if (i->id != 1) list.erase(i);
  });
  EXPECT_EQ(seen, (std::vector<int>{3, 2, 1}));
  EXPECT_EQ(ids(list), (std::vector<int>{1}));
}

}  // namespace
}  // namespace stavka::runtime
