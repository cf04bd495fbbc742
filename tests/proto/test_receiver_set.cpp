// BasicReceiverSet: ascending, merged ranges with a fixed capacity (receiver_set.hpp).
#include "fanout/proto/receiver_set.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace {

using fanout::proto::BasicReceiverSet;
using fanout::proto::LargeReceiverSet;
using fanout::proto::NodeId;
using fanout::proto::ReceiverSet;

using SmallSet = BasicReceiverSet<4>;

// The set's ranges as (first, last) pairs, for readable comparisons.
template <uint32_t M> std::vector<std::pair<int, int>> ranges_of(const BasicReceiverSet<M> &s) {
  std::vector<std::pair<int, int>> out;
  for (uint32_t r = 0; r < s.range_count(); r++) out.emplace_back(s.range(r).first, s.range(r).last);
  return out;
}

using Ranges = std::vector<std::pair<int, int>>;

// Every id of the set in ascending order, read from the ranges (not through at()).
template <uint32_t M> std::vector<uint16_t> ids_of(const BasicReceiverSet<M> &s) {
  std::vector<uint16_t> out;
  for (uint32_t r = 0; r < s.range_count(); r++)
    for (uint32_t id = s.range(r).first; id <= s.range(r).last; id++) out.push_back((uint16_t)id);
  return out;
}

TEST(ReceiverSet, StartsEmpty) {
  SmallSet s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.range_count(), 0u);
  EXPECT_FALSE(s.contains(0));
  EXPECT_FALSE(s.contains(65535));
}

TEST(ReceiverSet, AppendMergesTouchingIds) {
  SmallSet s;
  ASSERT_TRUE(s.append(3));
  ASSERT_TRUE(s.append(4));
  ASSERT_TRUE(s.append(5));
  ASSERT_TRUE(s.append(9));
  EXPECT_EQ(ranges_of(s), (Ranges{{3, 5}, {9, 9}}));
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s.first_id(), 3);
  EXPECT_EQ(s.last_id(), 9);
}

TEST(ReceiverSet, AppendRangeMergesTouchingRanges) {
  SmallSet s;
  ASSERT_TRUE(s.append_range(10, 19));
  ASSERT_TRUE(s.append_range(20, 29)); // touches: merges
  ASSERT_TRUE(s.append_range(31, 40)); // gap of one id: new range
  EXPECT_EQ(ranges_of(s), (Ranges{{10, 29}, {31, 40}}));
  EXPECT_EQ(s.size(), 30u);
}

TEST(ReceiverSet, AppendRangeCoversTheWholeIdSpace) {
  SmallSet s;
  ASSERT_TRUE(s.append_range(0, 32767));
  ASSERT_TRUE(s.append_range(32768, 65535));
  EXPECT_EQ(ranges_of(s), (Ranges{{0, 65535}}));
  EXPECT_EQ(s.size(), 65536u);
  EXPECT_TRUE(s.contains(0));
  EXPECT_TRUE(s.contains(65535));
  EXPECT_EQ(s.at(65535), 65535);
}

TEST(ReceiverSet, RejectsNonAscendingInputAndStaysUnchanged) {
  SmallSet s;
  ASSERT_TRUE(s.append_range(10, 20));
  const Ranges before = ranges_of(s);
  EXPECT_FALSE(s.append_range(5, 8));   // below
  EXPECT_FALSE(s.append_range(15, 30)); // overlaps the tail
  EXPECT_FALSE(s.append_range(20, 25)); // starts on the last id
  EXPECT_FALSE(s.append(20));
  EXPECT_FALSE(s.append(7));
  EXPECT_FALSE(s.append_range(30, 25)); // first > last
  EXPECT_EQ(ranges_of(s), before);
  EXPECT_EQ(s.size(), 11u);

  SmallSet empty;
  EXPECT_FALSE(empty.append_range(2, 1));
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.range_count(), 0u);
}

TEST(ReceiverSet, CapacityExhaustionReturnsFalseAndLeavesSetUnchanged) {
  SmallSet s;
  ASSERT_TRUE(s.append(0));
  ASSERT_TRUE(s.append(2));
  ASSERT_TRUE(s.append(4));
  ASSERT_TRUE(s.append(6));
  const Ranges full = ranges_of(s);
  EXPECT_FALSE(s.append(8)); // would need a fifth range
  EXPECT_FALSE(s.append_range(100, 200));
  EXPECT_EQ(ranges_of(s), full);
  EXPECT_EQ(s.size(), 4u);
  // Extending the tail needs no new range, so it still succeeds at capacity.
  EXPECT_TRUE(s.append(7));
  EXPECT_EQ(ranges_of(s), (Ranges{{0, 0}, {2, 2}, {4, 4}, {6, 7}}));
  EXPECT_EQ(s.size(), 5u);
}

TEST(ReceiverSet, ContainsOverSeveralRanges) {
  SmallSet s;
  ASSERT_TRUE(s.append_range(1, 3));
  ASSERT_TRUE(s.append_range(10, 10));
  ASSERT_TRUE(s.append_range(100, 65535));
  for (int id : {1, 2, 3, 10, 100, 1000, 65535}) EXPECT_TRUE(s.contains((NodeId)id)) << id;
  for (int id : {0, 4, 9, 11, 99}) EXPECT_FALSE(s.contains((NodeId)id)) << id;
}

TEST(ReceiverSet, AtIndexesAcrossRanges) {
  SmallSet s;
  ASSERT_TRUE(s.append_range(5, 7));
  ASSERT_TRUE(s.append(20));
  ASSERT_TRUE(s.append_range(30, 31));
  const std::vector<int> expected = {5, 6, 7, 20, 30, 31};
  ASSERT_EQ(s.size(), expected.size());
  for (uint32_t i = 0; i < expected.size(); i++) EXPECT_EQ(s.at(i), expected[i]) << i;
}

TEST(ReceiverSet, SliceTakesPositionsAcrossRanges) {
  SmallSet s;
  ASSERT_TRUE(s.append_range(0, 4));   // positions 0..4
  ASSERT_TRUE(s.append_range(10, 14)); // positions 5..9
  ASSERT_TRUE(s.append_range(20, 24)); // positions 10..14

  SmallSet out;
  ASSERT_TRUE(s.slice(3, 12, out));
  EXPECT_EQ(ranges_of(out), (Ranges{{3, 4}, {10, 14}, {20, 21}}));
  EXPECT_EQ(out.size(), 9u);

  ASSERT_TRUE(s.slice(6, 8, out)); // inside one range
  EXPECT_EQ(ranges_of(out), (Ranges{{11, 12}}));

  ASSERT_TRUE(s.slice(0, 15, out)); // everything
  EXPECT_TRUE(out == s);

  ASSERT_TRUE(s.slice(7, 7, out)); // empty slice clears the output
  EXPECT_TRUE(out.empty());
}

TEST(ReceiverSet, SliceFailsWhenOutputLacksCapacity) {
  SmallSet s;
  ASSERT_TRUE(s.append(1));
  ASSERT_TRUE(s.append(3));
  ASSERT_TRUE(s.append(5));
  BasicReceiverSet<2> out;
  EXPECT_FALSE(s.slice(0, 3, out));
  EXPECT_TRUE(s.slice(1, 3, out));
  EXPECT_EQ(ranges_of(out), (Ranges{{3, 3}, {5, 5}}));
}

TEST(ReceiverSet, WithoutSplitsARangeInTheMiddle) {
  SmallSet s;
  ASSERT_TRUE(s.append_range(10, 20));
  ASSERT_TRUE(s.append(30));
  SmallSet out;
  ASSERT_TRUE(s.without(15, out));
  EXPECT_EQ(ranges_of(out), (Ranges{{10, 14}, {16, 20}, {30, 30}}));
  EXPECT_EQ(out.size(), 11u);
  EXPECT_FALSE(out.contains(15));
}

TEST(ReceiverSet, WithoutAtRangeEdgesAndAbsentIds) {
  SmallSet s;
  ASSERT_TRUE(s.append_range(10, 20));
  ASSERT_TRUE(s.append(30));
  SmallSet out;
  ASSERT_TRUE(s.without(10, out));
  EXPECT_EQ(ranges_of(out), (Ranges{{11, 20}, {30, 30}}));
  ASSERT_TRUE(s.without(20, out));
  EXPECT_EQ(ranges_of(out), (Ranges{{10, 19}, {30, 30}}));
  ASSERT_TRUE(s.without(30, out));
  EXPECT_EQ(ranges_of(out), (Ranges{{10, 20}}));
  ASSERT_TRUE(s.without(25, out)); // absent: a copy
  EXPECT_TRUE(out == s);
}

TEST(ReceiverSet, WithoutFailsWhenSplitNeedsMoreCapacity) {
  BasicReceiverSet<1> one;
  ASSERT_TRUE(one.append_range(0, 9));
  BasicReceiverSet<1> out;
  EXPECT_FALSE(one.without(5, out));
  EXPECT_TRUE(one.without(0, out));
  EXPECT_EQ(ranges_of(out), (Ranges{{1, 9}}));
}

TEST(ReceiverSet, AssignCopiesAcrossCapacities) {
  SmallSet small;
  ASSERT_TRUE(small.append_range(1, 2));
  ASSERT_TRUE(small.append(7));
  ReceiverSet big;
  ASSERT_TRUE(big.append(60000)); // replaced by assign
  ASSERT_TRUE(big.assign(small));
  EXPECT_EQ(ranges_of(big), (Ranges{{1, 2}, {7, 7}}));
  EXPECT_EQ(big.size(), 3u);
  EXPECT_TRUE(big == small);

  BasicReceiverSet<1> tiny;
  EXPECT_FALSE(tiny.assign(small));
}

TEST(ReceiverSet, EqualityComparesRangesAcrossCapacities) {
  SmallSet a;
  ReceiverSet b;
  EXPECT_TRUE(a == b);
  ASSERT_TRUE(a.append_range(4, 8));
  EXPECT_TRUE(a != b);
  ASSERT_TRUE(b.append_range(4, 7));
  EXPECT_TRUE(a != b);               // same first range start, different end
  ASSERT_TRUE(b.append_range(8, 8)); // merges into [4, 8]
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a != b);

  SmallSet c;
  ASSERT_TRUE(c.append_range(4, 5));
  ASSERT_TRUE(c.append_range(7, 9)); // same size as a, different ids
  EXPECT_EQ(c.size(), a.size());
  EXPECT_FALSE(a == c);
}

// Random sets built both ways; every query must agree with std::set.
TEST(ReceiverSet, MatchesStdSetOracle) {
  auto s = std::make_unique<LargeReceiverSet>();
  auto sliced = std::make_unique<LargeReceiverSet>();
  auto removed = std::make_unique<LargeReceiverSet>();
  for (uint32_t seed = 1; seed <= 40; seed++) {
    std::mt19937 rng(seed);
    const uint32_t space = seed % 2 ? 2000 : 65536;
    const double density = std::uniform_real_distribution<double>(0.01, 0.9)(rng);
    std::bernoulli_distribution take(density);
    std::set<uint16_t> oracle;
    s->clear();
    for (uint32_t id = 0; id < space; id++) {
      if (!take(rng)) continue;
      oracle.insert((uint16_t)id);
      ASSERT_TRUE(s->append((NodeId)id));
    }
    ASSERT_EQ(s->size(), oracle.size());
    const std::vector<uint16_t> ids(oracle.begin(), oracle.end());
    ASSERT_EQ(ids_of(*s), ids);

    // Ranges are disjoint, non-touching, ascending.
    for (uint32_t r = 0; r + 1 < s->range_count(); r++)
      ASSERT_LT((uint32_t)s->range(r).last + 1, (uint32_t)s->range(r + 1).first);

    std::uniform_int_distribution<uint32_t> any_id(0, space - 1);
    for (int q = 0; q < 500; q++) {
      const NodeId id = (NodeId)any_id(rng);
      ASSERT_EQ(s->contains(id), oracle.count(id) == 1) << "seed " << seed << " id " << id;
    }
    if (ids.empty()) continue;
    std::uniform_int_distribution<uint32_t> any_pos(0, (uint32_t)ids.size() - 1);
    for (int q = 0; q < 200; q++) {
      const uint32_t pos = any_pos(rng);
      ASSERT_EQ(s->at(pos), ids[pos]) << "seed " << seed;
    }

    uint32_t begin = any_pos(rng), end = any_pos(rng) + 1;
    if (begin > end) std::swap(begin, end);
    ASSERT_TRUE(s->slice(begin, end, *sliced));
    ASSERT_EQ(sliced->size(), end - begin);
    ASSERT_EQ(ids_of(*sliced), std::vector<uint16_t>(ids.begin() + begin, ids.begin() + end));

    const uint16_t victim = ids[any_pos(rng)];
    ASSERT_TRUE(s->without(victim, *removed));
    std::set<uint16_t> expected = oracle;
    expected.erase(victim);
    ASSERT_EQ(removed->size(), expected.size());
    ASSERT_EQ(ids_of(*removed), std::vector<uint16_t>(expected.begin(), expected.end()));
    ASSERT_FALSE(removed->contains(victim));
  }
}

} // namespace
