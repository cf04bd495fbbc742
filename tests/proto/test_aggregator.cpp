// ACK/NACK aggregation (aggregator.hpp): merge rules, pass-through (nothing is ever dropped),
// table limits, silent children, the background scan, NACK suppression, and a whole feedback
// tree of aggregators built with the tree rule and fed with real ACK/NACK frames.
//
// Aggregators are heap-allocated: the default template is about 0.7 MiB.
#include "fanout/proto/proto.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace fanout::proto;

typedef AckAggregator<> DefaultAggregator;
typedef AckAggregator<4, 2, 4, 2> SmallAggregator; // 8 slots, 4 children, 2 ranges per child

const NodeId kSelf = 100;
const NodeId kParent = 50;
const MessageKey kKey = {7, 0x1234};

AggregatorConfig test_config(NodeId self = kSelf, uint32_t silent_timeout = 1000, uint32_t nack_window = 500) {
  AggregatorConfig cfg;
  cfg.self = self;
  cfg.silent_timeout = silent_timeout;
  cfg.nack_window = nack_window;
  return cfg;
}

typedef std::vector<std::pair<uint32_t, uint32_t>> Ranges;

template <uint32_t M> Ranges ranges_of(const BasicReceiverSet<M> &s) {
  Ranges r;
  for (uint32_t i = 0; i < s.range_count(); i++) r.push_back({s.range(i).first, s.range(i).last});
  return r;
}

Feedback feedback(uint8_t type, NodeId origin, const MessageKey &key, uint32_t sequence, uint32_t length,
                  const Ranges &ranges) {
  Feedback fb;
  fb.type = type;
  fb.flags = 0;
  fb.origin = origin;
  fb.key = key;
  fb.sequence = sequence;
  fb.length = length;
  fb.set.clear();
  for (const auto &r : ranges) EXPECT_TRUE(fb.set.append_range((NodeId)r.first, (NodeId)r.second));
  return fb;
}
Feedback ack(NodeId origin, uint32_t cumulative, uint32_t covered, const Ranges &ranges, const MessageKey &key = kKey) {
  return feedback(kTypeAck, origin, key, cumulative, covered, ranges);
}
Feedback nack(NodeId origin, uint32_t first_missing, uint32_t count, const Ranges &ranges,
              const MessageKey &key = kKey) {
  return feedback(kTypeNack, origin, key, first_missing, count, ranges);
}

ChildSpec child(NodeId id, NodeId hull_first, NodeId hull_last) {
  ChildSpec c;
  c.id = id;
  c.hull_first = hull_first;
  c.hull_last = hull_last;
  return c;
}

void expect_same_feedback(const Feedback &got, const Feedback &want) {
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.flags, want.flags);
  EXPECT_EQ(got.origin, want.origin);
  EXPECT_EQ(got.key.sender, want.key.sender);
  EXPECT_EQ(got.key.message_id, want.key.message_id);
  EXPECT_EQ(got.sequence, want.sequence);
  EXPECT_EQ(got.length, want.length);
  EXPECT_EQ(ranges_of(got.set), ranges_of(want.set));
}

// Expect `out` to be an aggregated ACK from kSelf to kParent.
void expect_aggregate(const AggOutput &out, uint32_t sequence, uint32_t covered, const Ranges &ranges) {
  EXPECT_EQ(out.dest, kParent);
  EXPECT_EQ(out.fb.type, kTypeAck);
  EXPECT_EQ(out.fb.flags, 0);
  EXPECT_EQ(out.fb.origin, kSelf);
  EXPECT_EQ(out.fb.key.sender, kKey.sender);
  EXPECT_EQ(out.fb.key.message_id, kKey.message_id);
  EXPECT_EQ(out.fb.sequence, sequence);
  EXPECT_EQ(out.fb.length, covered);
  EXPECT_EQ(ranges_of(out.fb.set), ranges);
}

// Three children with hulls [10,19], [20,29], [30,39]; message of 4 packets.
const ChildSpec kThree[3] = {child(10, 10, 19), child(20, 20, 29), child(30, 30, 39)};

// ---- Merge semantics --------------------------------------------------------------------------

TEST(AggregatorMerge, MinSequenceSumCoveredUnionRangesOnceEveryChildReported) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 3, 4, 0), kArmNew);
  EXPECT_TRUE(agg->is_armed(kKey));
  EXPECT_EQ(agg->upstream_of(kKey), kParent);
  AggOutput out;

  EXPECT_FALSE(agg->on_ack(ack(10, 2, 10, {{10, 19}}), 1, out)) << "children 20 and 30 have not reported";
  EXPECT_FALSE(agg->on_ack(ack(20, 3, 10, {{20, 29}}), 2, out)) << "child 30 has not reported";
  ASSERT_TRUE(agg->on_ack(ack(30, 1, 5, {{30, 34}}), 3, out));
  expect_aggregate(out, 1, 25, {{10, 34}}); // adjacent ranges merge into one

  EXPECT_FALSE(agg->on_ack(ack(20, 4, 10, {{20, 29}}), 4, out)) << "(min sequence, covered) unchanged";
  ASSERT_TRUE(agg->on_ack(ack(30, 2, 10, {{30, 39}}), 5, out));
  expect_aggregate(out, 2, 30, {{10, 39}});
  EXPECT_FALSE(agg->on_ack(ack(10, 4, 10, {{10, 19}}), 6, out)) << "child 30 still holds the minimum at 2";
  ASSERT_TRUE(agg->on_ack(ack(30, 4, 10, {{30, 39}}), 7, out));
  expect_aggregate(out, 4, 30, {{10, 39}});
  const AggregatorStats &s = agg->stats();
  EXPECT_EQ(s.acks_in, 7u);
  EXPECT_EQ(s.acks_merged, 7u);
  EXPECT_EQ(s.acks_duplicate, 0u);
  EXPECT_EQ(s.acks_emitted, 3u);
  EXPECT_FALSE(agg->is_armed(kKey)) << "every child complete";
}

TEST(AggregatorMerge, UnionOfInterleavedRanges) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  const ChildSpec two[2] = {child(10, 10, 15), child(12, 12, 20)};
  ASSERT_EQ(agg->arm(kKey, kParent, two, 2, 4, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 1, 4, {{10, 11}, {14, 15}}), 1, out));
  ASSERT_TRUE(agg->on_ack(ack(12, 1, 3, {{12, 13}, {20, 20}}), 2, out));
  expect_aggregate(out, 1, 7, {{10, 15}, {20, 20}});
}

TEST(AggregatorMerge, OverlappingReportsKeepTheUnion) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  const ChildSpec two[2] = {child(10, 10, 15), child(12, 11, 30)};
  ASSERT_EQ(agg->arm(kKey, kParent, two, 2, 4, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 1, 6, {{10, 15}}), 1, out));
  ASSERT_TRUE(agg->on_ack(ack(12, 1, 12, {{11, 12}, {14, 20}, {30, 30}}), 2, out));
  expect_aggregate(out, 1, 18, {{10, 20}, {30, 30}});
}

TEST(AggregatorMerge, DuplicateAndLateAcksAreIgnoredAndCounted) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 1, 10, 0), kArmNew); // one child: every ACK is the aggregate
  AggOutput out;
  ASSERT_TRUE(agg->on_ack(ack(10, 3, 10, {{10, 19}}), 1, out));
  expect_aggregate(out, 3, 10, {{10, 19}});
  EXPECT_FALSE(agg->on_ack(ack(10, 3, 10, {{10, 19}}), 2, out)) << "duplicate";
  EXPECT_FALSE(agg->on_ack(ack(10, 2, 10, {{10, 19}}), 3, out)) << "late";
  EXPECT_EQ(agg->stats().acks_duplicate, 2u);
  EXPECT_EQ(agg->stats().acks_merged, 1u);
  EXPECT_EQ(agg->stats().acks_emitted, 1u);
}

TEST(AggregatorMerge, ProgressAcksProduceNewUpstreamAcks) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 2, 5, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(20, 5, 10, {{20, 29}}), 1, out));
  for (uint32_t seq = 1; seq <= 5; seq++) {
    ASSERT_TRUE(agg->on_ack(ack(10, seq, 10, {{10, 19}}), 1 + seq, out)) << "sequence " << seq;
    expect_aggregate(out, seq, 20, {{10, 29}});
  }
  EXPECT_EQ(agg->stats().acks_emitted, 5u);
  EXPECT_FALSE(agg->is_armed(kKey)) << "both children complete";
}

// ---- Completion and pass-through ---------------------------------------------------------------

TEST(AggregatorPassThrough, EntryFreedWhenEveryChildCompleteThenAcksGoToTheSender) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 2, 3, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 3, 10, {{10, 19}}), 1, out));
  EXPECT_TRUE(agg->is_armed(kKey)) << "child 20 still owes its ACK";
  ASSERT_TRUE(agg->on_ack(ack(20, 3, 10, {{20, 29}}), 2, out));
  expect_aggregate(out, 3, 20, {{10, 29}});
  EXPECT_FALSE(agg->is_armed(kKey));
  EXPECT_EQ(agg->stats().entries_completed, 1u);
  EXPECT_EQ(agg->stats().entries_in_use, 0u);
  EXPECT_EQ(agg->upstream_of(kKey), kKey.sender);

  const Feedback late = ack(20, 3, 10, {{20, 29}});
  ASSERT_TRUE(agg->on_ack(late, 3, out)) << "never dropped";
  EXPECT_EQ(out.dest, kKey.sender);
  expect_same_feedback(out.fb, late);
  EXPECT_EQ(agg->stats().acks_passed, 1u);
}

TEST(AggregatorPassThrough, UnknownMessageGoesToItsSender) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  const MessageKey other = {9, 42};
  const Feedback a = ack(10, 1, 1, {{10, 10}}, other);
  AggOutput out;
  ASSERT_TRUE(agg->on_ack(a, 0, out));
  EXPECT_EQ(out.dest, other.sender);
  expect_same_feedback(out.fb, a);
  EXPECT_EQ(agg->stats().acks_passed, 1u);
}

TEST(AggregatorPassThrough, UnknownChildGoesToTheParent) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 3, 4, 0), kArmNew);
  const Feedback stranger = ack(77, 4, 1, {{77, 77}});
  AggOutput out;
  ASSERT_TRUE(agg->on_ack(stranger, 1, out));
  EXPECT_EQ(out.dest, kParent);
  expect_same_feedback(out.fb, stranger);
}

TEST(AggregatorPassThrough, ChildWithTooManyRangesPassesThroughFromThenOn) {
  auto agg = std::make_unique<SmallAggregator>(test_config()); // 2 ranges per child
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 2, 4, 0), kArmNew);
  AggOutput out;
  const Feedback wide = ack(10, 1, 3, {{10, 10}, {12, 12}, {14, 14}});
  ASSERT_TRUE(agg->on_ack(wide, 1, out));
  EXPECT_EQ(out.dest, kParent);
  expect_same_feedback(out.fb, wide);

  const Feedback narrow = ack(10, 2, 1, {{10, 10}});
  ASSERT_TRUE(agg->on_ack(narrow, 2, out)) << "still passed through with a single range";
  EXPECT_EQ(out.dest, kParent);
  expect_same_feedback(out.fb, narrow);

  ASSERT_TRUE(agg->on_ack(ack(20, 1, 10, {{20, 29}}), 3, out)) << "child 10 no longer holds the aggregate back";
  expect_aggregate(out, 1, 10, {{20, 29}});
  ASSERT_TRUE(agg->on_ack(ack(20, 4, 10, {{20, 29}}), 4, out));
  expect_aggregate(out, 4, 10, {{20, 29}});
  EXPECT_FALSE(agg->is_armed(kKey)) << "the remaining child completed";
  EXPECT_EQ(agg->stats().acks_passed, 2u);
}

// ---- Table limits --------------------------------------------------------------------------------

TEST(AggregatorOverflow, FullTableMessagesPassThroughUnaggregated) {
  auto agg = std::make_unique<SmallAggregator>(test_config());
  std::vector<MessageKey> armed, refused;
  for (uint32_t id = 0; id < 200; id++) {
    MessageKey key = {3, id};
    ArmResult r = agg->arm(key, kParent, kThree, 2, 4, 0);
    ASSERT_NE(r, kArmExisting);
    (r == kArmNew ? armed : refused).push_back(key);
  }
  EXPECT_EQ(armed.size(), SmallAggregator::table_slots()) << "every slot of every bucket used";
  EXPECT_EQ(refused.size(), 200u - SmallAggregator::table_slots());
  EXPECT_EQ(agg->stats().arm_overflow, refused.size());
  EXPECT_EQ(agg->stats().entries_in_use, SmallAggregator::table_slots());

  for (const MessageKey &key : refused) {
    EXPECT_FALSE(agg->is_armed(key));
    EXPECT_EQ(agg->arm(key, kParent, kThree, 2, 4, 1), kArmTableFull) << "still no room";
    AggOutput out;
    const Feedback a = ack(10, 4, 10, {{10, 19}}, key);
    ASSERT_TRUE(agg->on_ack(a, 1, out)) << "ACKs of an unarmed message are never dropped";
    EXPECT_EQ(out.dest, key.sender);
    expect_same_feedback(out.fb, a);
  }
  // The armed messages still aggregate.
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 4, 10, {{10, 19}}, armed[0]), 2, out));
  ASSERT_TRUE(agg->on_ack(ack(20, 4, 10, {{20, 29}}, armed[0]), 2, out));
  EXPECT_EQ(out.fb.length, 20u);
  EXPECT_EQ(out.dest, kParent);
}

TEST(AggregatorOverflow, FirstFullBucketRefusesAndItsAcksPassThrough) {
  auto agg = std::make_unique<SmallAggregator>(test_config());
  // Arm until the first refusal: that message's bucket has every way in use.
  MessageKey refused = {0, 0};
  uint32_t armed = 0;
  for (uint32_t id = 0; id < 64; id++) {
    MessageKey key = {11, id};
    if (agg->arm(key, kParent, kThree, 1, 4, 0) == kArmTableFull) {
      refused = key;
      break;
    }
    armed++;
  }
  ASSERT_GE(armed, 2u) << "a bucket holds 2 ways";
  ASSERT_LT(armed, SmallAggregator::table_slots()) << "with 64 keys some bucket fills before the table";
  EXPECT_EQ(agg->stats().arm_overflow, 1u);
  AggOutput out;
  const Feedback n = nack(10, 1, 2, {{10, 19}}, refused);
  ASSERT_TRUE(agg->on_nack(n, 1, out));
  EXPECT_EQ(out.dest, refused.sender);
  expect_same_feedback(out.fb, n);
}

TEST(AggregatorOverflow, ChildrenBeyondCapacityAreCountedAndPassThrough) {
  auto agg = std::make_unique<SmallAggregator>(test_config()); // 4 children per entry
  const ChildSpec five[5] = {child(10, 10, 10), child(11, 11, 11), child(12, 12, 12), child(13, 13, 13),
                             child(14, 14, 14)};
  ASSERT_EQ(agg->arm(kKey, kParent, five, 5, 2, 0), kArmNew);
  EXPECT_EQ(agg->stats().children_overflow, 1u);

  AggOutput out;
  const Feedback extra = ack(14, 2, 1, {{14, 14}});
  ASSERT_TRUE(agg->on_ack(extra, 1, out)) << "the unrecorded child's ACK passes through";
  EXPECT_EQ(out.dest, kParent);
  expect_same_feedback(out.fb, extra);
  for (NodeId id = 10; id < 13; id++) EXPECT_FALSE(agg->on_ack(ack(id, 2, 1, {{id, id}}), 2, out));
  ASSERT_TRUE(agg->on_ack(ack(13, 2, 1, {{13, 13}}), 2, out)) << "the four recorded children settle it";
  expect_aggregate(out, 2, 4, {{10, 13}});
  EXPECT_FALSE(agg->is_armed(kKey));
}

// Header: "children_overflow: children not recorded: entry full". Every child past the capacity
// must be counted, however many the caller passes.
TEST(AggregatorOverflow, EveryChildBeyondCapacityIsCounted) {
  auto agg = std::make_unique<SmallAggregator>(test_config());
  ChildSpec eight[8];
  for (uint32_t i = 0; i < 8; i++) eight[i] = child((NodeId)(10 + i), (NodeId)(10 + i), (NodeId)(10 + i));
  ASSERT_EQ(agg->arm(kKey, kParent, eight, 8, 2, 0), kArmNew);
  EXPECT_EQ(agg->stats().children_overflow, 4u) << "8 children offered, 4 recorded";
}

TEST(AggregatorArm, ReArmingAddsChildrenAndLearnsTotalPackets) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 1, 0, 0), kArmNew);
  EXPECT_EQ(agg->arm(kKey, kParent, kThree, 2, 5, 0), kArmExisting); // child 10 again, child 20 new
  EXPECT_EQ(agg->stats().armed, 1u);
  EXPECT_EQ(agg->stats().entries_in_use, 1u);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 5, 10, {{10, 19}}), 1, out)) << "child 20 was added by the re-arm";
  ASSERT_TRUE(agg->on_ack(ack(20, 5, 10, {{20, 29}}), 2, out));
  expect_aggregate(out, 5, 20, {{10, 29}});
  EXPECT_FALSE(agg->is_armed(kKey)) << "total_packets (5) was learned: both children complete";
}

TEST(AggregatorArm, UnknownTotalKeepsTheEntry) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 1, 0, 0), kArmNew);
  AggOutput out;
  ASSERT_TRUE(agg->on_ack(ack(10, 9, 10, {{10, 19}}), 1, out));
  EXPECT_TRUE(agg->is_armed(kKey)) << "completion cannot be judged without total_packets";
}

// ---- Silent children and the background scan ---------------------------------------------------

std::vector<AggOutput> expire_all(DefaultAggregator &agg, uint32_t now) {
  std::vector<AggOutput> outs(64);
  uint32_t n = agg.expire(now, DefaultAggregator::table_slots(), outs.data(), (uint32_t)outs.size());
  outs.resize(n);
  return outs;
}

void expect_silent_nack(const AggOutput &o, uint32_t sequence, NodeId hull_first, NodeId hull_last) {
  EXPECT_EQ(o.dest, kParent);
  EXPECT_EQ(o.fb.type, kTypeNack);
  EXPECT_EQ(o.fb.flags, kFlagSilent);
  EXPECT_EQ(o.fb.origin, kSelf);
  EXPECT_EQ(o.fb.key.sender, kKey.sender);
  EXPECT_EQ(o.fb.key.message_id, kKey.message_id);
  EXPECT_EQ(o.fb.sequence, sequence);
  EXPECT_EQ(o.fb.length, 0u);
  EXPECT_EQ(ranges_of(o.fb.set), (Ranges{{hull_first, hull_last}}));
}

TEST(AggregatorSilent, SilentChildIsReportedThenTheRestAggregates) {
  auto agg = std::make_unique<DefaultAggregator>(test_config()); // timeout 1000
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 3, 4, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 4, 10, {{10, 19}}), 10, out));
  EXPECT_FALSE(agg->on_ack(ack(20, 2, 10, {{20, 29}}), 20, out));

  EXPECT_TRUE(expire_all(*agg, 1000).empty()) << "not silent for longer than the timeout yet";
  std::vector<AggOutput> outs = expire_all(*agg, 1001);
  ASSERT_EQ(outs.size(), 2u) << "child 30 silent: one NACK, then the aggregate of the others";
  expect_silent_nack(outs[0], 0, 30, 39);
  ASSERT_EQ(outs[1].fb.type, kTypeAck);
  expect_aggregate(outs[1], 2, 20, {{10, 29}});
  EXPECT_EQ(agg->stats().silent_reported, 1u);
  EXPECT_TRUE(agg->is_armed(kKey)) << "child 20 is not complete";

  EXPECT_TRUE(expire_all(*agg, 1010).empty()) << "reported once; child 20 heard at 20";
  ASSERT_TRUE(agg->on_ack(ack(20, 4, 10, {{20, 29}}), 1015, out));
  expect_aggregate(out, 4, 20, {{10, 29}});
  EXPECT_FALSE(agg->is_armed(kKey)) << "freed once the rest completed";
}

TEST(AggregatorSilent, SilentNackCarriesTheChildsLastCumulativeSequence) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 2, 9, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 9, 10, {{10, 19}}), 5, out));
  ASSERT_TRUE(agg->on_ack(ack(20, 3, 4, {{20, 23}}), 5, out));
  std::vector<AggOutput> outs = expire_all(*agg, 1006);
  ASSERT_EQ(outs.size(), 2u);
  expect_silent_nack(outs[0], 3, 20, 29); // the hull, not just the ids acknowledged so far
  expect_aggregate(outs[1], 9, 10, {{10, 19}});
  EXPECT_FALSE(agg->is_armed(kKey)) << "child 10 complete, child 20 silent: settled";
}

TEST(AggregatorSilent, NackIsASignOfLife) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 2, 4, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 4, 10, {{10, 19}}), 900, out));
  ASSERT_TRUE(agg->on_nack(nack(20, 0, 4, {{20, 29}}), 900, out));
  EXPECT_EQ(out.dest, kParent);
  EXPECT_TRUE(expire_all(*agg, 1500).empty()) << "child 20 sent a NACK at 900";
  std::vector<AggOutput> outs = expire_all(*agg, 1901);
  ASSERT_GE(outs.size(), 1u);
  expect_silent_nack(outs[0], 0, 20, 29);
}

TEST(AggregatorSilent, SilentChildThatAcksLaterIsCountedAgain) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 3, 4, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 2, 10, {{10, 19}}), 10, out));
  EXPECT_FALSE(agg->on_ack(ack(20, 2, 10, {{20, 29}}), 10, out));
  std::vector<AggOutput> outs = expire_all(*agg, 1001);
  ASSERT_EQ(outs.size(), 2u);
  expect_aggregate(outs[1], 2, 20, {{10, 29}});

  ASSERT_TRUE(agg->on_ack(ack(30, 2, 10, {{30, 39}}), 1100, out)) << "child 30 is back";
  expect_aggregate(out, 2, 30, {{10, 39}});
  for (NodeId id : {10, 20}) EXPECT_FALSE(agg->on_ack(ack(id, 4, 10, {{id, (NodeId)(id + 9)}}), 1200, out));
  ASSERT_TRUE(agg->on_ack(ack(30, 4, 10, {{30, 39}}), 1200, out)) << "child 30 holds the aggregate again";
  expect_aggregate(out, 4, 30, {{10, 39}});
  EXPECT_FALSE(agg->is_armed(kKey));
}

TEST(AggregatorSilent, TickCounterWrapsAround) {
  auto agg = std::make_unique<DefaultAggregator>(test_config()); // timeout 1000
  const uint32_t armed_at = 0xFFFFFFF0u;
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 1, 4, armed_at), kArmNew);
  EXPECT_TRUE(expire_all(*agg, 0x10).empty()) << "32 ticks after arming";
  EXPECT_TRUE(expire_all(*agg, armed_at + 1000u).empty()) << "exactly the timeout";
  std::vector<AggOutput> outs = expire_all(*agg, armed_at + 1001u); // == 984 after the wrap
  ASSERT_EQ(outs.size(), 1u);
  expect_silent_nack(outs[0], 0, 10, 19);
  EXPECT_FALSE(agg->is_armed(kKey)) << "every child silent: nothing left to wait for";
}

TEST(AggregatorExpire, RespectsSlotsAndMaxOutAndResumes) {
  auto agg = std::make_unique<SmallAggregator>(test_config());
  const uint32_t slots = SmallAggregator::table_slots();
  std::set<uint32_t> armed;
  for (uint32_t id = 0; armed.size() < slots && id < 1000; id++) {
    MessageKey key = {5, id};
    if (agg->arm(key, kParent, kThree, 1, 4, 0) == kArmNew) armed.insert(id);
  }
  ASSERT_EQ(armed.size(), slots);
  const uint32_t per_entry = SmallAggregator::kMaxOutputsPerEntry;
  ASSERT_EQ(per_entry, 5u);

  const uint32_t now = 5000;
  std::vector<AggOutput> outs(64);
  EXPECT_EQ(agg->expire(now, slots, outs.data(), per_entry - 1), 0u) << "an entry's outputs would not fit";

  std::set<uint32_t> reported;
  auto collect = [&](uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
      EXPECT_EQ(outs[i].fb.type, kTypeNack);
      EXPECT_EQ(outs[i].fb.flags, kFlagSilent);
      EXPECT_TRUE(reported.insert(outs[i].fb.key.message_id).second) << "reported twice";
    }
  };
  uint32_t n = agg->expire(now, 3, outs.data(), (uint32_t)outs.size());
  EXPECT_EQ(n, 3u) << "3 slots examined, one silent child each";
  collect(n);

  // max_out 9: after 5 outputs, fewer than kMaxOutputsPerEntry slots remain, so it stops there.
  const uint32_t max_out = per_entry + 4;
  AggOutput sentinel;
  sentinel.dest = 0xBEEF;
  std::fill(outs.begin(), outs.end(), sentinel);
  n = agg->expire(now, slots, outs.data(), max_out);
  EXPECT_EQ(n, 5u);
  for (uint32_t i = max_out; i < outs.size(); i++) ASSERT_EQ(outs[i].dest, 0xBEEF) << "wrote past max_out";
  collect(n);
  EXPECT_EQ(reported, armed) << "the second scan resumed after the 3 slots already examined";
  EXPECT_EQ(agg->stats().entries_in_use, 0u);
  EXPECT_EQ(agg->expire(now, slots, outs.data(), (uint32_t)outs.size()), 0u);
}

TEST(AggregatorExpire, OneSlotPerCallCoversTheTable) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  for (uint32_t id = 0; id < 50; id++) {
    MessageKey key = {6, id};
    ASSERT_EQ(agg->arm(key, kParent, kThree, 3, 4, 0), kArmNew);
  }
  AggOutput outs[DefaultAggregator::kMaxOutputsPerEntry];
  uint32_t silent = 0;
  for (uint32_t call = 0; call < DefaultAggregator::table_slots(); call++)
    silent += agg->expire(2000, 1, outs, DefaultAggregator::kMaxOutputsPerEntry);
  EXPECT_EQ(silent, 150u) << "3 silent children in each of 50 entries";
  EXPECT_EQ(agg->stats().entries_in_use, 0u);
}

// ---- NACK suppression -----------------------------------------------------------------------------

TEST(AggregatorNack, RepeatsSuppressedWithinTheWindowOnly) {
  auto agg = std::make_unique<DefaultAggregator>(test_config()); // window 500
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 3, 8, 0), kArmNew);
  AggOutput out;
  const Feedback first = nack(10, 5, 2, {{10, 19}});
  ASSERT_TRUE(agg->on_nack(first, 0, out));
  EXPECT_EQ(out.dest, agg->upstream_of(kKey));
  EXPECT_EQ(out.dest, kParent);
  expect_same_feedback(out.fb, first);

  EXPECT_FALSE(agg->on_nack(first, 100, out)) << "identical repeat within the window";
  EXPECT_FALSE(agg->on_nack(nack(10, 5, 2, {{12, 14}}), 200, out)) << "ids inside what was forwarded";
  EXPECT_EQ(agg->stats().nacks_suppressed, 2u);

  ASSERT_TRUE(agg->on_nack(nack(20, 5, 2, {{20, 24}}), 300, out)) << "same packets, ids not yet covered";
  EXPECT_FALSE(agg->on_nack(nack(30, 5, 2, {{12, 12}, {22, 24}}), 350, out)) << "both ranges already forwarded";
  ASSERT_TRUE(agg->on_nack(nack(30, 5, 2, {{12, 12}, {30, 30}}), 360, out)) << "id 30 not yet forwarded";
  ASSERT_TRUE(agg->on_nack(nack(10, 6, 2, {{10, 19}}), 370, out)) << "different sequence";
  ASSERT_TRUE(agg->on_nack(nack(10, 5, 3, {{10, 19}}), 380, out)) << "different count";

  ASSERT_TRUE(agg->on_nack(first, 360 + 501, out)) << "after the window it is forwarded again";
  EXPECT_EQ(agg->stats().nacks_in, 9u);
  EXPECT_EQ(agg->stats().nacks_forwarded, 6u);
}

TEST(AggregatorNack, UnknownMessageGoesToItsSender) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  const MessageKey other = {321, 9};
  AggOutput out;
  const Feedback n = nack(10, 0, 1, {{10, 10}}, other);
  ASSERT_TRUE(agg->on_nack(n, 0, out));
  EXPECT_EQ(out.dest, other.sender);
  expect_same_feedback(out.fb, n);
}

// ---- Gone children (mark_gone: local repair of a failed relay) ------------------------------------

void expect_gone_nack(const AggOutput &o, uint32_t sequence, NodeId hull_first, NodeId hull_last) {
  EXPECT_EQ(o.dest, kParent);
  EXPECT_EQ(o.fb.type, kTypeNack);
  EXPECT_EQ(o.fb.flags, kFlagGone);
  EXPECT_EQ(o.fb.origin, kSelf);
  EXPECT_EQ(o.fb.key.sender, kKey.sender);
  EXPECT_EQ(o.fb.key.message_id, kKey.message_id);
  EXPECT_EQ(o.fb.sequence, sequence);
  EXPECT_EQ(o.fb.length, 0u);
  EXPECT_EQ(ranges_of(o.fb.set), (Ranges{{hull_first, hull_last}}));
}

size_t count_flags(const std::vector<AggOutput> &v, uint8_t type, uint8_t flags) {
  size_t n = 0;
  for (const AggOutput &o : v) n += o.fb.type == type && o.fb.flags == flags;
  return n;
}

TEST(AggregatorGone, NewGoneChildIsReportedOnceBeforeTheAckThatCompletesTheEntry) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 2, 4, 0), kArmNew);
  agg->mark_gone(kKey, kParent, kThree[2], 4, 0); // child 30, never sent a copy
  EXPECT_EQ(agg->stats().armed, 1u);
  EXPECT_EQ(agg->stats().gone_reported, 0u) << "mark_gone itself emits nothing";
  AggOutput outs[DefaultAggregator::kMaxOutputsPerEntry];
  EXPECT_EQ(agg->on_ack(ack(10, 4, 10, {{10, 19}}), 5, outs, DefaultAggregator::kMaxOutputsPerEntry), 0u);
  ASSERT_EQ(agg->on_ack(ack(20, 4, 10, {{20, 29}}), 6, outs, DefaultAggregator::kMaxOutputsPerEntry), 2u)
      << "the gone child does not hold the aggregate back";
  expect_gone_nack(outs[0], 0, 30, 39);
  expect_aggregate(outs[1], 4, 20, {{10, 29}});
  EXPECT_EQ(agg->stats().gone_reported, 1u);
  EXPECT_EQ(agg->stats().silent_reported, 0u);
  EXPECT_FALSE(agg->is_armed(kKey)) << "complete + gone and reported: settled";
  EXPECT_TRUE(expire_all(*agg, 100000).empty()) << "reported once, never silent";
}

TEST(AggregatorGone, GoneChildAloneIsFreedByTheScanWithoutTimeout) {
  auto agg = std::make_unique<DefaultAggregator>(test_config()); // timeout 1000
  agg->mark_gone(kKey, kParent, child(30, 30, 39), 4, 0);
  ASSERT_TRUE(agg->is_armed(kKey)) << "mark_gone arms the message";
  EXPECT_EQ(agg->stats().armed, 1u);
  std::vector<AggOutput> outs = expire_all(*agg, 1);
  ASSERT_EQ(outs.size(), 1u);
  expect_gone_nack(outs[0], 0, 30, 39);
  EXPECT_FALSE(agg->is_armed(kKey)) << "nothing left to wait for";
  EXPECT_EQ(agg->stats().entries_completed, 1u);
  EXPECT_EQ(agg->stats().entries_in_use, 0u);
}

TEST(AggregatorGone, ExpireReportsGoneAtOnceSilentOnlyAfterTheTimeout) {
  auto agg = std::make_unique<DefaultAggregator>(test_config()); // timeout 1000
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 3, 4, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 4, 10, {{10, 19}}), 5, out));
  agg->mark_gone(kKey, kParent, kThree[1], 4, 6);
  std::vector<AggOutput> outs = expire_all(*agg, 7);
  ASSERT_EQ(outs.size(), 1u) << "the gone child at once; child 30 only waiting";
  expect_gone_nack(outs[0], 0, 20, 29);
  EXPECT_TRUE(expire_all(*agg, 500).empty()) << "gone is reported once";
  outs = expire_all(*agg, 1001);
  ASSERT_EQ(outs.size(), 2u) << "child 30 silent, then the aggregate (child 10 only)";
  expect_silent_nack(outs[0], 0, 30, 39);
  expect_aggregate(outs[1], 4, 10, {{10, 19}});
  EXPECT_EQ(agg->stats().gone_reported, 1u);
  EXPECT_EQ(agg->stats().silent_reported, 1u);
  EXPECT_FALSE(agg->is_armed(kKey));
}

TEST(AggregatorGone, ExpireReportsGoneBeforeTheAckOfTheSameEntry) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 2, 4, 0), kArmNew);
  agg->mark_gone(kKey, kParent, kThree[2], 4, 0);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 4, 10, {{10, 19}}), 5, out));
  // The one-output form cannot carry the report and the ACK: the ACK waits for the scan.
  EXPECT_FALSE(agg->on_ack(ack(20, 4, 10, {{20, 29}}), 6, out));
  EXPECT_TRUE(agg->is_armed(kKey));
  EXPECT_EQ(agg->stats().acks_emitted, 0u);
  std::vector<AggOutput> outs = expire_all(*agg, 7);
  ASSERT_EQ(outs.size(), 2u);
  expect_gone_nack(outs[0], 0, 30, 39);
  expect_aggregate(outs[1], 4, 20, {{10, 29}});
  EXPECT_FALSE(agg->is_armed(kKey));
}

TEST(AggregatorGone, WaitingChildMarkedGoneMidMessageReportsTheNewHull) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 3, 4, 0), kArmNew);
  AggOutput outs[DefaultAggregator::kMaxOutputsPerEntry];
  const uint32_t kMax = DefaultAggregator::kMaxOutputsPerEntry;
  EXPECT_EQ(agg->on_ack(ack(10, 4, 10, {{10, 19}}), 5, outs, kMax), 0u);
  EXPECT_EQ(agg->on_ack(ack(20, 2, 5, {{20, 24}}), 6, outs, kMax), 0u) << "child 30 still waiting";
  // Child 20 (a relay) fails: its own id only (its subtree is re-armed below it by the caller).
  agg->mark_gone(kKey, kParent, child(20, 20, 20), 4, 7);
  EXPECT_EQ(agg->stats().armed, 1u);
  ASSERT_EQ(agg->on_ack(ack(30, 4, 10, {{30, 39}}), 8, outs, kMax), 2u);
  expect_gone_nack(outs[0], 2, 20, 20); // its last cumulative sequence, the new hull
  expect_aggregate(outs[1], 4, 20, {{10, 19}, {30, 39}});
  EXPECT_FALSE(agg->is_armed(kKey));
  EXPECT_EQ(agg->stats().gone_reported, 1u);
}

TEST(AggregatorGone, SilentChildMarkedGoneIsReportedGone) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 2, 4, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 2, 10, {{10, 19}}), 5, out));
  std::vector<AggOutput> outs = expire_all(*agg, 1001);
  ASSERT_EQ(outs.size(), 2u);
  expect_silent_nack(outs[0], 0, 20, 29);
  agg->mark_gone(kKey, kParent, kThree[1], 4, 1002);
  outs = expire_all(*agg, 1003);
  ASSERT_EQ(outs.size(), 1u);
  expect_gone_nack(outs[0], 0, 20, 29);
  agg->mark_gone(kKey, kParent, kThree[1], 4, 1004);
  EXPECT_TRUE(expire_all(*agg, 1005).empty()) << "already gone: no second report";
  EXPECT_EQ(agg->stats().gone_reported, 1u);
}

TEST(AggregatorGone, CompleteChildStaysCompleteAndIsNotReported) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 2, 4, 0), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 4, 10, {{10, 19}}), 5, out));
  agg->mark_gone(kKey, kParent, kThree[0], 4, 6); // child 10 acknowledged everything
  EXPECT_TRUE(expire_all(*agg, 7).empty());
  ASSERT_TRUE(agg->on_ack(ack(20, 4, 10, {{20, 29}}), 8, out)) << "nothing to report: the one-output form suffices";
  expect_aggregate(out, 4, 20, {{10, 29}});
  EXPECT_FALSE(agg->is_armed(kKey));
  EXPECT_EQ(agg->stats().gone_reported, 0u);
}

TEST(AggregatorGone, GoneChildThatAcksLaterIsRecorded) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 2, 4, 0), kArmNew);
  agg->mark_gone(kKey, kParent, kThree[2], 4, 0);
  const uint32_t kMax = DefaultAggregator::kMaxOutputsPerEntry;
  AggOutput outs[DefaultAggregator::kMaxOutputsPerEntry];
  EXPECT_EQ(agg->on_ack(ack(10, 2, 10, {{10, 19}}), 1, outs, kMax), 0u);
  ASSERT_EQ(agg->on_ack(ack(20, 2, 10, {{20, 29}}), 2, outs, kMax), 2u);
  expect_gone_nack(outs[0], 0, 30, 39);
  expect_aggregate(outs[1], 2, 20, {{10, 29}});
  // Child 30 was only unreachable for a while: its ACK counts again.
  ASSERT_EQ(agg->on_ack(ack(30, 1, 5, {{30, 34}}), 3, outs, kMax), 1u);
  expect_aggregate(outs[0], 1, 25, {{10, 34}});
  EXPECT_EQ(agg->stats().acks_merged, 3u);
  for (NodeId id : {10, 20}) EXPECT_EQ(agg->on_ack(ack(id, 4, 10, {{id, (NodeId)(id + 9)}}), 4, outs, kMax), 0u);
  EXPECT_TRUE(agg->is_armed(kKey)) << "child 30 holds the entry again";
  ASSERT_EQ(agg->on_ack(ack(30, 4, 10, {{30, 39}}), 5, outs, kMax), 1u);
  expect_aggregate(outs[0], 4, 30, {{10, 39}});
  EXPECT_FALSE(agg->is_armed(kKey));
  EXPECT_EQ(agg->stats().gone_reported, 1u);
}

TEST(AggregatorGone, GoneChildThatAcksBeforeItsReportIsNotReported) {
  auto agg = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 1, 4, 0), kArmNew);
  agg->mark_gone(kKey, kParent, kThree[1], 4, 0);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(20, 4, 10, {{20, 29}}), 1, out)) << "child 10 waiting";
  ASSERT_TRUE(agg->on_ack(ack(10, 4, 10, {{10, 19}}), 2, out));
  expect_aggregate(out, 4, 20, {{10, 29}});
  EXPECT_FALSE(agg->is_armed(kKey));
  EXPECT_EQ(agg->stats().gone_reported, 0u);
}

TEST(AggregatorGone, TableFullAndChildrenFullFollowTheArmRules) {
  auto agg = std::make_unique<SmallAggregator>(test_config()); // 8 slots, 4 children
  uint32_t armed = 0;
  for (uint32_t id = 0; id < 200; id++) {
    MessageKey key = {3, id};
    agg->mark_gone(key, kParent, kThree[0], 4, 0);
    armed += agg->is_armed(key);
  }
  EXPECT_EQ(armed, SmallAggregator::table_slots());
  EXPECT_EQ(agg->stats().armed, SmallAggregator::table_slots());
  EXPECT_EQ(agg->stats().arm_overflow, 200u - SmallAggregator::table_slots());

  auto small = std::make_unique<SmallAggregator>(test_config());
  const ChildSpec four[4] = {child(10, 10, 10), child(11, 11, 11), child(12, 12, 12), child(13, 13, 13)};
  ASSERT_EQ(small->arm(kKey, kParent, four, 4, 2, 0), kArmNew);
  small->mark_gone(kKey, kParent, child(14, 14, 14), 2, 1);
  EXPECT_EQ(small->stats().children_overflow, 1u) << "no room for the gone child";
  AggOutput outs[SmallAggregator::kMaxOutputsPerEntry];
  small->mark_gone(kKey, kParent, child(13, 13, 13), 2, 1); // recorded: it becomes gone
  for (NodeId id = 10; id < 12; id++)
    EXPECT_EQ(small->on_ack(ack(id, 2, 1, {{id, id}}), 2, outs, SmallAggregator::kMaxOutputsPerEntry), 0u);
  ASSERT_EQ(small->on_ack(ack(12, 2, 1, {{12, 12}}), 2, outs, SmallAggregator::kMaxOutputsPerEntry), 2u);
  EXPECT_EQ(outs[0].fb.flags, kFlagGone);
  EXPECT_EQ(ranges_of(outs[0].fb.set), (Ranges{{13, 13}}));
  expect_aggregate(outs[1], 2, 3, {{10, 12}});
  EXPECT_EQ(small->stats().gone_reported, 1u);
}

TEST(AggregatorGone, OutputBoundPerCallHolds) {
  auto agg = std::make_unique<SmallAggregator>(test_config()); // 4 children: at most 5 outputs
  const uint32_t kMax = SmallAggregator::kMaxOutputsPerEntry;
  ASSERT_EQ(kMax, 5u);
  const ChildSpec four[4] = {child(10, 10, 10), child(11, 11, 11), child(12, 12, 12), child(13, 13, 13)};
  // Entry A: 3 gone children + 1 that completes through on_ack: 3 reports + the ACK.
  ASSERT_EQ(agg->arm(kKey, kParent, four, 4, 2, 0), kArmNew);
  for (uint32_t i = 1; i < 4; i++) agg->mark_gone(kKey, kParent, four[i], 2, 0);
  AggOutput outs[16];
  AggOutput sentinel;
  sentinel.dest = 0xBEEF;
  std::fill(outs, outs + 16, sentinel);
  EXPECT_EQ(agg->on_ack(ack(10, 1, 1, {{10, 10}}), 1, outs, 3), 0u) << "3 reports + ACK do not fit in 3: held back";
  EXPECT_EQ(outs[0].dest, 0xBEEF);
  uint32_t n = agg->on_ack(ack(10, 2, 1, {{10, 10}}), 2, outs, kMax);
  ASSERT_EQ(n, 4u);
  for (uint32_t i = 0; i < 3; i++) EXPECT_EQ(outs[i].fb.flags, kFlagGone);
  expect_aggregate(outs[3], 2, 1, {{10, 10}});
  EXPECT_EQ(outs[4].dest, 0xBEEF);
  EXPECT_FALSE(agg->is_armed(kKey));

  // Entry B: 2 silent + 2 gone (one of them silent before): one report per child + the ACK.
  const MessageKey kb = {7, 99};
  ASSERT_EQ(agg->arm(kb, kParent, four, 4, 2, 10), kArmNew);
  AggOutput out;
  EXPECT_FALSE(agg->on_ack(ack(10, 1, 1, {{10, 10}}, kb), 11, out));
  agg->mark_gone(kb, kParent, four[3], 2, 12);
  agg->mark_gone(kb, kParent, four[0], 2, 12); // child 10 reported but incomplete: gone
  std::fill(outs, outs + 16, sentinel);
  n = agg->expire(5000, SmallAggregator::table_slots(), outs, kMax);
  ASSERT_EQ(n, 4u) << "2 gone + 2 silent, no ACK (no reporting child left)";
  std::vector<AggOutput> v(outs, outs + n);
  EXPECT_EQ(count_flags(v, kTypeNack, kFlagGone), 2u);
  EXPECT_EQ(count_flags(v, kTypeNack, kFlagSilent), 2u);
  EXPECT_EQ(outs[4].dest, 0xBEEF);
  EXPECT_FALSE(agg->is_armed(kb));
  EXPECT_EQ(agg->stats().entries_in_use, 0u);
  EXPECT_EQ(agg->expire(5000, SmallAggregator::table_slots(), outs, kMax), 0u);
}

TEST(AggregatorGone, RandomCallsNeverExceedTheOutputBound) {
  auto agg = std::make_unique<SmallAggregator>(test_config(kSelf, 50, 20));
  const uint32_t kMax = SmallAggregator::kMaxOutputsPerEntry;
  std::mt19937 rng(7);
  auto uni = [&](uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); };
  AggOutput outs[2 * SmallAggregator::kMaxOutputsPerEntry];
  for (uint32_t t = 1; t < 20000; t++) {
    MessageKey key = {9, uni(0, 5)};
    NodeId c = (NodeId)uni(10, 14);
    uint32_t n = 0;
    switch (uni(0, 4)) {
    case 0: {
      ChildSpec cs = child(c, c, c);
      agg->arm(key, kParent, &cs, 1, 3, t);
      break;
    }
    case 1: agg->mark_gone(key, kParent, child(c, c, c), 3, t); break;
    case 2: n = agg->on_ack(ack(c, uni(0, 3), 1, {{c, c}}, key), t, outs, kMax); break;
    case 3: {
      AggOutput o;
      n = agg->on_nack(nack(c, 0, 1, {{c, c}}, key), t, o) ? 1 : 0;
      break;
    }
    default: n = agg->expire(t, uni(1, 3), outs, kMax + uni(0, kMax - 1)); break;
    }
    std::map<uint32_t, uint32_t> per_entry;
    for (uint32_t i = 0; i < n; i++) per_entry[outs[i].fb.key.message_id]++;
    for (const auto &p : per_entry) ASSERT_LE(p.second, kMax) << "outputs of one entry in one call";
    // Within one call an entry reports a child once at most (silent or gone), before its ACK.
    std::set<std::pair<uint32_t, NodeId>> seen;
    std::set<uint32_t> acked;
    for (uint32_t i = 0; i < n; i++) {
      const Feedback &f = outs[i].fb;
      if (f.type == kTypeAck && f.origin == kSelf) acked.insert(f.key.message_id);
      if (f.type != kTypeNack || f.origin != kSelf) continue;
      EXPECT_EQ(f.length, 0u);
      EXPECT_TRUE(f.flags == kFlagGone || f.flags == kFlagSilent);
      EXPECT_TRUE(seen.insert({f.key.message_id, f.set.range(0).first}).second) << "child reported twice";
      EXPECT_EQ(acked.count(f.key.message_id), 0u) << "report after the entry's ACK";
    }
  }
  EXPECT_GT(agg->stats().gone_reported, 0u);
  EXPECT_GT(agg->stats().silent_reported, 0u);
}

TEST(AggregatorGone, GoneAndPlainNacksDoNotSuppressEachOther) {
  auto agg = std::make_unique<DefaultAggregator>(test_config()); // window 500
  ASSERT_EQ(agg->arm(kKey, kParent, kThree, 3, 8, 0), kArmNew);
  AggOutput out;
  Feedback gone = nack(20, 0, 0, {{20, 29}});
  gone.flags = kFlagGone;
  const Feedback plain = nack(10, 0, 0, {{20, 29}});
  ASSERT_TRUE(agg->on_nack(plain, 1, out));
  ASSERT_TRUE(agg->on_nack(gone, 2, out)) << "a plain NACK does not suppress a GONE one";
  EXPECT_EQ(out.dest, kParent);
  expect_same_feedback(out.fb, gone); // forwarded upstream unchanged
  EXPECT_FALSE(agg->on_nack(gone, 3, out)) << "a GONE repeat is suppressed";
  Feedback gone_sub = nack(20, 0, 0, {{22, 23}});
  gone_sub.flags = kFlagGone;
  EXPECT_FALSE(agg->on_nack(gone_sub, 4, out)) << "covered by the GONE one";

  auto agg2 = std::make_unique<DefaultAggregator>(test_config());
  ASSERT_EQ(agg2->arm(kKey, kParent, kThree, 3, 8, 0), kArmNew);
  ASSERT_TRUE(agg2->on_nack(gone, 1, out));
  ASSERT_TRUE(agg2->on_nack(plain, 2, out)) << "a GONE NACK does not suppress a plain one";
  expect_same_feedback(out.fb, plain);
  EXPECT_FALSE(agg2->on_nack(plain, 3, out));
  EXPECT_EQ(agg2->stats().nacks_forwarded, 2u);
  EXPECT_EQ(agg2->stats().nacks_suppressed, 1u);
}

// ---- End to end: a feedback tree of aggregators ---------------------------------------------------

// Feedback frames between nodes use proto/'s cluster address plan.
NetHeaders net_between(NodeId from, NodeId to) {
  return cluster_net_headers(from, to, from, 0);
}

struct FeedbackFrame {
  NodeId to;
  std::vector<uint8_t> bytes;
};

FeedbackFrame encode_feedback(const Feedback &fb, NodeId from, NodeId to) {
  FanoutHeader h = make_header(fb.type, fb.key.sender, fb.origin, fb.key.message_id, fb.sequence, fb.length);
  h.flags = fb.flags;
  FeedbackFrame frame;
  frame.to = to;
  frame.bytes.resize(kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(build_frame(net_between(from, to), h, fb.set, nullptr, 0, default_build_options(), frame.bytes.data(),
                        (uint32_t)frame.bytes.size(), &len),
            kOk);
  frame.bytes.resize(len);
  return frame;
}

bool decode_feedback(const FeedbackFrame &frame, Feedback &fb) {
  ParsedPacket parsed;
  int err = parse_frame(frame.bytes.data(), (uint32_t)frame.bytes.size(), default_parse_config(), parsed, &fb.set);
  EXPECT_EQ(err, kOk) << error_name(err);
  EXPECT_EQ(parsed.ip_dst, cluster_ipv4(frame.to));
  fb.type = parsed.hdr.type;
  fb.flags = parsed.hdr.flags;
  fb.origin = parsed.hdr.origin;
  fb.key.sender = parsed.hdr.sender;
  fb.key.message_id = parsed.hdr.message_id;
  fb.sequence = parsed.hdr.sequence;
  fb.length = parsed.hdr.length;
  return err == kOk;
}

// Every node of the tree-rule tree over `receivers` gets an aggregator if it forwards (the
// sender's NIC, whose parent is its own host, and every relay, which is its own child too).
// Leaves ACK straight to their parent. Nodes higher up wait longer before declaring a child
// silent, so a silent node is reported by its own parent first.
template <class Aggregator> class FeedbackTree {
 public:
  static constexpr uint32_t kTotalPackets = 3;
  static constexpr uint32_t kTimeoutPerLevel = 1000;

  FeedbackTree(NodeId sender, const std::vector<NodeId> &receivers, uint32_t fanout)
      : sender_(sender), key_{sender, 0xFEED}, fanout_(fanout) {
    auto set = std::make_unique<ReceiverSet>();
    for (NodeId id : receivers) EXPECT_TRUE(set->append(id));
    auto rest = std::make_unique<ReceiverSet>();
    EXPECT_TRUE(set->without(sender, *rest));
    nodes_[sender].parent = sender; // the sender's NIC reports to its own host
    nodes_[sender].in_set = false;
    build(sender, *rest);
    height(sender);
    for (auto &entry : nodes_) {
      Node &node = entry.second;
      if (node.children.empty()) continue;
      node.agg = std::make_unique<Aggregator>(test_config(entry.first, kTimeoutPerLevel * node.height, 500));
      EXPECT_EQ(
          node.agg->arm(key_, node.parent, node.children.data(), (uint32_t)node.children.size(), kTotalPackets, 0),
          kArmNew);
    }
  }

  void silence(NodeId node) { silent_.insert(node); }
  NodeId parent_of(NodeId node) const { return nodes_.at(node).parent; }
  bool is_relay(NodeId node) const { return nodes_.at(node).agg != nullptr && node != sender_; }
  uint32_t level_of(NodeId node) const { return nodes_.at(node).level; }
  // Lowest and highest id sent to `node` (its subtree).
  std::pair<NodeId, NodeId> hull_of(NodeId node) const {
    const Node &parent = nodes_.at(nodes_.at(node).parent);
    for (const ChildSpec &c : parent.children)
      if (c.id == node) return {c.hull_first, c.hull_last};
    return {0, 0};
  }
  std::vector<NodeId> subtree_of(NodeId node) const {
    std::vector<NodeId> ids;
    collect(node, ids);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // Every receiver acknowledges the whole message at tick `now`.
  void all_receivers_ack(uint32_t now) {
    for (auto &entry : nodes_) {
      const NodeId id = entry.first;
      const Node &node = entry.second;
      if (!node.in_set || silent_.count(id)) continue;
      Feedback fb = ack_of(id);
      if (node.agg) {
        AggOutput out;
        if (node.agg->on_ack(fb, now, out)) route(id, out); // relays: local delivery is a child
      } else {
        queue_.push_back(encode_feedback(fb, id, node.parent));
      }
    }
    drain(now);
  }

  // Background scan on every live aggregator, then deliver what it produced.
  void expire_all(uint32_t now) {
    std::vector<AggOutput> outs(64);
    for (auto &entry : nodes_) {
      if (!entry.second.agg || silent_.count(entry.first)) continue;
      uint32_t n = entry.second.agg->expire(now, Aggregator::table_slots(), outs.data(), (uint32_t)outs.size());
      for (uint32_t i = 0; i < n; i++) route(entry.first, outs[i]);
    }
    drain(now);
  }

  const std::vector<Feedback> &host_inbox() const { return host_inbox_; }
  bool all_entries_freed() const {
    for (const auto &entry : nodes_)
      if (entry.second.agg && !silent_.count(entry.first) && entry.second.agg->stats().entries_in_use != 0)
        return false;
    return true;
  }

 private:
  struct Node {
    NodeId parent = 0;
    bool in_set = true;
    uint32_t level = 0;
    uint32_t height = 0;
    std::vector<ChildSpec> children; // self first for relays
    std::vector<NodeId> heads;       // chunk heads only
    std::unique_ptr<Aggregator> agg;
  };

  void build(NodeId self, const ReceiverSet &remaining) {
    Chunk chunks[kMaxTreeFanout];
    uint32_t n = tree_split(remaining, fanout_, chunks);
    Node &node = nodes_[self];
    if (n > 0 && node.in_set) node.children.push_back(child(self, self, self));
    auto sub = std::make_unique<ReceiverSet>();
    auto rest = std::make_unique<ReceiverSet>();
    for (uint32_t i = 0; i < n; i++) {
      EXPECT_TRUE(remaining.slice(chunks[i].begin, chunks[i].end, *sub));
      const NodeId head = chunks[i].head;
      nodes_[self].children.push_back(child(head, sub->first_id(), sub->last_id()));
      nodes_[self].heads.push_back(head);
      Node &h = nodes_[head];
      h.parent = self;
      h.level = nodes_[self].level + 1;
      EXPECT_TRUE(sub->without(head, *rest));
      build(head, *rest);
    }
  }
  uint32_t height(NodeId id) {
    uint32_t h = 0;
    for (NodeId head : nodes_[id].heads) h = std::max(h, height(head) + 1);
    nodes_[id].height = h;
    return h;
  }
  void collect(NodeId id, std::vector<NodeId> &ids) const {
    if (nodes_.at(id).in_set) ids.push_back(id);
    for (NodeId head : nodes_.at(id).heads) collect(head, ids);
  }
  Feedback ack_of(NodeId id) const { return ack(id, kTotalPackets, 1, {{id, id}}, key_); }

  void route(NodeId from, const AggOutput &out) {
    if (out.dest == from) {
      EXPECT_EQ(from, sender_) << "only the sender's NIC reports to its own host";
      host_inbox_.push_back(out.fb);
      return;
    }
    EXPECT_EQ(out.dest, nodes_.at(from).parent) << "feedback goes up the tree";
    queue_.push_back(encode_feedback(out.fb, from, out.dest));
  }

  void drain(uint32_t now) {
    while (!queue_.empty()) {
      FeedbackFrame frame = std::move(queue_.front());
      queue_.pop_front();
      if (silent_.count(frame.to)) continue; // a dead node drops everything
      auto fb = std::make_unique<Feedback>();
      if (!decode_feedback(frame, *fb)) continue;
      Node &node = nodes_.at(frame.to);
      ASSERT_NE(node.agg, nullptr) << "feedback reached node " << frame.to << ", which has no children";
      AggOutput out;
      bool send = fb->type == kTypeAck ? node.agg->on_ack(*fb, now, out) : node.agg->on_nack(*fb, now, out);
      if (send) route(frame.to, out);
    }
  }

  NodeId sender_;
  MessageKey key_;
  uint32_t fanout_;
  std::map<NodeId, Node> nodes_;
  std::set<NodeId> silent_;
  std::deque<FeedbackFrame> queue_;
  std::vector<Feedback> host_inbox_;
};

template <uint32_t M> Ranges ranges_of_ids(const std::vector<NodeId> &ids) {
  BasicReceiverSet<M> s;
  for (NodeId id : ids) EXPECT_TRUE(s.append(id));
  return ranges_of(s);
}

std::vector<NodeId> contiguous_receivers() {
  std::vector<NodeId> ids;
  for (NodeId id = 100; id < 164; id++) ids.push_back(id);
  return ids;
}

std::vector<NodeId> scattered_receivers() {
  std::mt19937 rng(64);
  std::set<NodeId> ids;
  while (ids.size() < 64) ids.insert((NodeId)std::uniform_int_distribution<uint32_t>(0, 4095)(rng));
  return std::vector<NodeId>(ids.begin(), ids.end());
}

const NodeId kTreeSender = 5000;
// Children = F + 1 (the relay itself); 16 ranges per child: a level-1 subtree of scattered ids.
typedef AckAggregator<64, 4, 5, 16> WideAggregator;

template <class Aggregator> void expect_one_ack_for_everyone(const std::vector<NodeId> &receivers) {
  auto tree = std::make_unique<FeedbackTree<Aggregator>>(kTreeSender, receivers, 4);
  tree->all_receivers_ack(10);
  const std::vector<Feedback> &inbox = tree->host_inbox();
  ASSERT_EQ(inbox.size(), 1u) << "exactly one ACK reaches the sender's host";
  EXPECT_EQ(inbox[0].type, kTypeAck);
  EXPECT_EQ(inbox[0].origin, kTreeSender);
  EXPECT_EQ(inbox[0].sequence, FeedbackTree<Aggregator>::kTotalPackets);
  EXPECT_EQ(inbox[0].length, 64u);
  EXPECT_EQ(ranges_of(inbox[0].set), ranges_of_ids<kMaxFeedbackRanges>(receivers));
  EXPECT_TRUE(tree->all_entries_freed());
  tree->expire_all(100000);
  EXPECT_EQ(inbox.size(), 1u) << "nothing left to report";
}

TEST(AggregatorTree, OneAckReachesTheSenderContiguousReceivers) {
  expect_one_ack_for_everyone<DefaultAggregator>(contiguous_receivers());
}

TEST(AggregatorTree, OneAckReachesTheSenderScatteredReceivers) {
  expect_one_ack_for_everyone<WideAggregator>(scattered_receivers());
}

TEST(AggregatorTree, TreeHasThreeLevels) {
  auto tree = std::make_unique<FeedbackTree<WideAggregator>>(kTreeSender, scattered_receivers(), 4);
  uint32_t deepest = 0;
  for (NodeId id : scattered_receivers()) deepest = std::max(deepest, tree->level_of(id));
  EXPECT_EQ(deepest, 3u);
  EXPECT_EQ(deepest, tree_depth(64, 4));
}

// One relay never answers (not even for its subtree). Its parent reports its hull silent; the
// sender's host gets that NACK and one ACK for everyone else.
template <class Aggregator> void expect_silent_relay_reported(const std::vector<NodeId> &receivers, uint32_t level) {
  auto tree = std::make_unique<FeedbackTree<Aggregator>>(kTreeSender, receivers, 4);
  NodeId relay = 0;
  for (NodeId id : receivers)
    if (tree->is_relay(id) && tree->level_of(id) == level) relay = id;
  ASSERT_NE(relay, 0) << "no relay at level " << level;
  SCOPED_TRACE("silent relay " + std::to_string(relay) + " at level " + std::to_string(level));
  tree->silence(relay);
  tree->all_receivers_ack(10);
  EXPECT_TRUE(tree->host_inbox().empty()) << "the silent relay holds the aggregate back";

  for (uint32_t now = 500; now <= 5000 && tree->host_inbox().size() < 2; now += 500) tree->expire_all(now);
  const std::vector<Feedback> &inbox = tree->host_inbox();
  ASSERT_EQ(inbox.size(), 2u);
  const Feedback *silent = inbox[0].type == kTypeNack ? &inbox[0] : &inbox[1];
  const Feedback *acked = inbox[0].type == kTypeAck ? &inbox[0] : &inbox[1];
  ASSERT_EQ(silent->type, kTypeNack);
  ASSERT_EQ(acked->type, kTypeAck);

  const std::pair<NodeId, NodeId> hull = tree->hull_of(relay);
  EXPECT_EQ(silent->flags, kFlagSilent);
  EXPECT_EQ(silent->origin, tree->parent_of(relay)) << "reported by the silent relay's parent";
  EXPECT_EQ(silent->sequence, 0u);
  EXPECT_EQ(silent->length, 0u);
  EXPECT_EQ(ranges_of(silent->set), (Ranges{{hull.first, hull.second}}));

  std::vector<NodeId> others, lost = tree->subtree_of(relay);
  for (NodeId id : receivers)
    if (!std::binary_search(lost.begin(), lost.end(), id)) others.push_back(id);
  EXPECT_EQ(hull.first, lost.front());
  EXPECT_EQ(hull.second, lost.back());
  EXPECT_EQ(acked->origin, kTreeSender);
  EXPECT_EQ(acked->sequence, FeedbackTree<Aggregator>::kTotalPackets);
  EXPECT_EQ(acked->length, others.size());
  EXPECT_EQ(ranges_of(acked->set), ranges_of_ids<kMaxFeedbackRanges>(others));
  EXPECT_TRUE(tree->all_entries_freed());
}

TEST(AggregatorTree, SilentFirstLevelRelayScattered) {
  expect_silent_relay_reported<WideAggregator>(scattered_receivers(), 1);
}

TEST(AggregatorTree, SilentSecondLevelRelayScattered) {
  expect_silent_relay_reported<WideAggregator>(scattered_receivers(), 2);
}

TEST(AggregatorTree, SilentFirstLevelRelayContiguous) {
  expect_silent_relay_reported<DefaultAggregator>(contiguous_receivers(), 1);
}

} // namespace
