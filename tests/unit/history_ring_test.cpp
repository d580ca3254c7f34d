// HistoryRing: a bounded ring of the most recent items, read oldest first,
// whose oldest items can also be dropped early.
#include "server/chat/history_ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

namespace loopchat {
namespace {

std::vector<int> recent(const HistoryRing<int>& ring, std::size_t count) {
  std::vector<int> out;
  ring.for_each_recent(count, [&](const int& item) { out.push_back(item); });
  return out;
}

// The integers first..last inclusive.
std::vector<int> range(int first, int last) {
  std::vector<int> out;
  for (int i = first; i <= last; ++i) out.push_back(i);
  return out;
}

TEST(HistoryRing, Empty) {
  HistoryRing<int> ring(4);
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(ring.capacity(), 4u);
  EXPECT_TRUE(recent(ring, 0).empty());
  EXPECT_TRUE(recent(ring, 1).empty());
  EXPECT_TRUE(recent(ring, 100).empty());
}

TEST(HistoryRing, Partial) {
  HistoryRing<int> ring(5);
  for (int i = 1; i <= 3; ++i) ring.push(i);
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(recent(ring, 3), range(1, 3));
  EXPECT_EQ(recent(ring, 10), range(1, 3));
  EXPECT_EQ(recent(ring, 2), range(2, 3));
  EXPECT_EQ(recent(ring, 1), range(3, 3));
  EXPECT_TRUE(recent(ring, 0).empty());
}

TEST(HistoryRing, ExactlyFull) {
  HistoryRing<int> ring(4);
  for (int i = 1; i <= 4; ++i) ring.push(i);
  EXPECT_EQ(ring.size(), 4u);
  EXPECT_EQ(recent(ring, 4), range(1, 4));
  EXPECT_EQ(recent(ring, 5), range(1, 4));
  EXPECT_EQ(recent(ring, 3), range(2, 4));
}

TEST(HistoryRing, OnePastFullDropsTheOldest) {
  HistoryRing<int> ring(4);
  for (int i = 1; i <= 5; ++i) ring.push(i);
  EXPECT_EQ(ring.size(), 4u);
  EXPECT_EQ(recent(ring, 4), range(2, 5));
  EXPECT_EQ(recent(ring, 1), range(5, 5));
}

TEST(HistoryRing, WrappingSeveralTimes) {
  const std::size_t capacity = 3;
  HistoryRing<int> ring(capacity);
  // Check after every push, through more than three full turns of the ring.
  for (int pushed = 1; pushed <= 11; ++pushed) {
    ring.push(pushed);
    int kept = std::min<int>(pushed, capacity);
    ASSERT_EQ(ring.size(), std::size_t(kept)) << "after " << pushed;
    EXPECT_EQ(recent(ring, 100), range(pushed - kept + 1, pushed)) << "after " << pushed;
    for (int count = 0; count <= kept; ++count)
      EXPECT_EQ(recent(ring, count), range(pushed - count + 1, pushed))
          << "after " << pushed << ", count " << count;
  }
  EXPECT_EQ(ring.capacity(), capacity);
}

TEST(HistoryRing, CountSmallerThanSizeAfterWrap) {
  HistoryRing<int> ring(7);
  for (int i = 1; i <= 30; ++i) ring.push(i);
  EXPECT_EQ(recent(ring, 2), range(29, 30));
  EXPECT_EQ(recent(ring, 5), range(26, 30));
  EXPECT_EQ(recent(ring, 7), range(24, 30));
  EXPECT_EQ(recent(ring, 8), range(24, 30));
}

TEST(HistoryRing, CapacityOne) {
  HistoryRing<int> ring(1);
  ring.push(1);
  ring.push(2);
  ring.push(3);
  EXPECT_EQ(ring.size(), 1u);
  EXPECT_EQ(recent(ring, 5), range(3, 3));
}

TEST(HistoryRing, CapacityZeroKeepsNothing) {
  HistoryRing<int> ring(0);
  ring.push(1);
  ring.push(2);
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(ring.capacity(), 0u);
  EXPECT_TRUE(recent(ring, 0).empty());
  EXPECT_TRUE(recent(ring, 10).empty());
}

TEST(HistoryRing, MoveOnlyItemsAndReleaseOfDropped) {
  HistoryRing<std::shared_ptr<int>> ring(2);
  auto first = std::make_shared<int>(1);
  std::weak_ptr<int> watch = first;
  ring.push(std::move(first));
  ring.push(std::make_shared<int>(2));
  EXPECT_FALSE(watch.expired());
  ring.push(std::make_shared<int>(3));
  EXPECT_TRUE(watch.expired()) << "the dropped item must be released";
  std::vector<int> seen;
  ring.for_each_recent(2, [&](const std::shared_ptr<int>& p) { seen.push_back(*p); });
  EXPECT_EQ(seen, range(2, 3));
}

// The whole ring through operator[], oldest first.
std::vector<int> by_index(const HistoryRing<int>& ring) {
  std::vector<int> out;
  for (std::size_t i = 0; i < ring.size(); ++i) out.push_back(ring[i]);
  return out;
}

TEST(HistoryRing, IndexZeroIsTheOldest) {
  HistoryRing<int> ring(3);
  for (int i = 1; i <= 5; ++i) ring.push(i);
  EXPECT_EQ(by_index(ring), range(3, 5));
  EXPECT_EQ(ring.front(), 3);
}

TEST(HistoryRing, PopFrontDropsTheOldestAndPushingGoesOn) {
  HistoryRing<int> ring(4);
  for (int i = 1; i <= 6; ++i) ring.push(i);  // 3..6, wrapped
  ring.pop_front();
  ring.pop_front();
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_EQ(by_index(ring), range(5, 6));
  EXPECT_EQ(recent(ring, 10), range(5, 6));
  for (int i = 7; i <= 9; ++i) ring.push(i);  // into the freed slots, then full again
  EXPECT_EQ(ring.size(), 4u);
  EXPECT_EQ(by_index(ring), range(6, 9));
  ring.push(10);
  EXPECT_EQ(by_index(ring), range(7, 10));
}

TEST(HistoryRing, PoppingEverythingEmptiesItAndItRefills) {
  HistoryRing<int> ring(3);
  for (int i = 1; i <= 4; ++i) ring.push(i);
  for (int i = 0; i < 3; ++i) ring.pop_front();
  EXPECT_TRUE(ring.empty());
  EXPECT_TRUE(recent(ring, 3).empty());
  ring.push(8);
  EXPECT_EQ(by_index(ring), range(8, 8));
}

TEST(HistoryRing, InterleavedPushAndPopWhileGrowingKeepsTheOrder) {
  // The storage doubles up to the capacity: grow it while items were popped
  // from the front, and check the order after every step against a model.
  HistoryRing<int> ring(37);
  std::vector<int> model;
  int next = 1;
  for (int step = 0; step < 500; ++step) {
    if (step % 3 == 2 && !model.empty()) {
      ring.pop_front();
      model.erase(model.begin());
    } else {
      ring.push(next);
      model.push_back(next++);
      if (model.size() > 37) model.erase(model.begin());
    }
    ASSERT_EQ(by_index(ring), model) << "after step " << step;
  }
}

TEST(HistoryRing, PopReleasesTheItem) {
  HistoryRing<std::shared_ptr<int>> ring(4);
  auto first = std::make_shared<int>(1);
  std::weak_ptr<int> watch = first;
  ring.push(std::move(first));
  ring.push(std::make_shared<int>(2));
  ring.pop_front();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(*ring.front(), 2);
}

}  // namespace
}  // namespace loopchat
