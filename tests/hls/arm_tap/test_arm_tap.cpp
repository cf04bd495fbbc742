// The arm tap kernel (hls/arm_tap), one step() per clock: every ArmWord reaches both outputs
// exactly once and in order whatever back-pressure each output sees, one word per clock when
// nothing blocks, a blocked output holds the input (nothing lost, the other output gets nothing
// either), and the synthesis top fanout_arm_tap behaves as the class, clock for clock.
#include "arm_tap.hpp"

#include "fanout/hls/arm.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

extern "C" void fanout_arm_tap(hls::stream<fanout::hw::ArmWord> &in, hls::stream<fanout::hw::ArmWord> &out_agg,
                               hls::stream<fanout::hw::ArmWord> &out_watch);

namespace {

namespace hw = fanout::hw;

// Word i: every field derived from i, so a word identifies its position.
hw::ArmWord word(uint32_t i) {
  hw::ArmWord a;
  a.key.sender = (uint16_t)(i * 7 + 1);
  a.key.message_id = i;
  a.parent = (uint16_t)(i * 3);
  a.child.id = (uint16_t)(i + 2);
  a.child.hull_first = (uint16_t)(i + 2);
  a.child.hull_last = (uint16_t)(i + 9);
  a.total_packets = i * 11 + 5;
  a.last = (i % 3) == 0;
  a.gone = (i % 5) == 0;
  return a;
}

bool same(const hw::ArmWord &a, const hw::ArmWord &b) {
  return a.key.sender == b.key.sender && a.key.message_id == b.key.message_id && a.parent == b.parent &&
         a.child.id == b.child.id && a.child.hull_first == b.child.hull_first &&
         a.child.hull_last == b.child.hull_last && a.total_packets == b.total_packets && a.last == b.last &&
         a.gone == b.gone;
}

// The kernel under test, one clock per call: the class, or the synthesis top.
struct ClassTap {
  hw::ArmTap tap;
  void operator()(hls::stream<hw::ArmWord> &in, hls::stream<hw::ArmWord> &a, hls::stream<hw::ArmWord> &w) {
    tap.step(in, a, w);
  }
};
struct TopTap {
  void operator()(hls::stream<hw::ArmWord> &in, hls::stream<hw::ArmWord> &a, hls::stream<hw::ArmWord> &w) {
    fanout_arm_tap(in, a, w);
  }
};

// One clock of a bench: the source writes the next word when `in` has room (as the replicator
// does), the tap steps, each sink reads one word when it is ready this clock.
struct Bench {
  hls::stream<hw::ArmWord> in, agg, watch;
  uint32_t next = 0;
  std::vector<hw::ArmWord> got_agg, got_watch;
  uint64_t clocks = 0;

  template <typename Tap> void clock(Tap &tap, uint32_t n, bool agg_ready, bool watch_ready) {
    if (next < n && !in.full()) in.write(word(next++));
    tap(in, agg, watch);
    if (agg_ready && !agg.empty()) got_agg.push_back(agg.read());
    if (watch_ready && !watch.empty()) got_watch.push_back(watch.read());
    clocks++;
  }
  bool drained() const { return in.empty() && agg.empty() && watch.empty(); }
};

void expect_all_in_order(const std::vector<hw::ArmWord> &got, uint32_t n, const char *what) {
  ASSERT_EQ(got.size(), n) << what;
  for (uint32_t i = 0; i < n; i++) ASSERT_TRUE(same(got[i], word(i))) << what << " word " << i;
}

TEST(ArmTap, EveryWordToBothOutputsOnceInOrderUnderRandomBackPressure) {
  // Each output ready with its own probability, drawn independently every clock.
  const double kReady[][2] = {{0.5, 0.5}, {0.9, 0.1}, {0.1, 0.9}, {0.3, 0.7}, {1.0, 0.2}, {0.05, 1.0}};
  std::mt19937 rng(12345);
  for (const auto &p : kReady) {
    SCOPED_TRACE(testing::Message() << "agg ready " << p[0] << ", watch ready " << p[1]);
    std::bernoulli_distribution agg_ready(p[0]), watch_ready(p[1]);
    ClassTap tap;
    Bench b;
    const uint32_t n = 5000;
    while (b.clocks < 1000000 && (b.next < n || !b.drained())) {
      b.clock(tap, n, agg_ready(rng), watch_ready(rng));
      // Never more words out of either output than went in, and the two never more than the
      // stream depths apart (what one output has not taken holds the other).
      ASSERT_LE(b.got_agg.size() + b.agg.size(), b.next);
      ASSERT_LE(b.got_watch.size() + b.watch.size(), b.next);
      ASSERT_EQ(b.got_agg.size() + b.agg.size(), b.got_watch.size() + b.watch.size())
          << "a word written to one output and not the other";
    }
    expect_all_in_order(b.got_agg, n, "out_agg");
    expect_all_in_order(b.got_watch, n, "out_watch");
  }
}

TEST(ArmTap, OneWordPerClockWhenNothingBlocks) {
  ClassTap tap;
  Bench b;
  const uint32_t n = 10000;
  // Clock c: word c is written to `in` and passed by the tap in the same clock, read by both sinks.
  for (uint32_t c = 0; c < n; c++) {
    b.clock(tap, n, true, true);
    ASSERT_EQ(b.got_agg.size(), c + 1u) << "clock " << c;
    ASSERT_EQ(b.got_watch.size(), c + 1u) << "clock " << c;
  }
  EXPECT_TRUE(b.drained());
  expect_all_in_order(b.got_agg, n, "out_agg");
  expect_all_in_order(b.got_watch, n, "out_watch");
}

TEST(ArmTap, ABlockedOutputHoldsTheInput) {
  for (int blocked = 0; blocked < 2; blocked++) {
    SCOPED_TRACE(blocked == 0 ? "out_agg blocked" : "out_watch blocked");
    ClassTap tap;
    Bench b;
    const uint32_t n = 50;
    // The blocked output's reader takes nothing for 100 clocks: the tap fills it (depth 2), then
    // moves nothing; the input fills (depth 2) and the source stops. Nothing is lost, and the
    // other output got exactly what the blocked one holds.
    for (int c = 0; c < 100; c++) b.clock(tap, n, blocked != 0, blocked == 0);
    hls::stream<hw::ArmWord> &stuck = blocked == 0 ? b.agg : b.watch;
    const std::vector<hw::ArmWord> &other = blocked == 0 ? b.got_watch : b.got_agg;
    EXPECT_TRUE(stuck.full());
    EXPECT_TRUE(b.in.full()) << "the input holds the words the tap cannot pass";
    EXPECT_EQ(other.size(), 2u) << "the free output gets no word the blocked one does not";
    EXPECT_EQ(b.next, 4u) << "2 in the blocked output, 2 held in the input";
    // Released: everything arrives, once, in order, on both.
    while (b.next < n || !b.drained()) b.clock(tap, n, true, true);
    expect_all_in_order(b.got_agg, n, "out_agg");
    expect_all_in_order(b.got_watch, n, "out_watch");
  }
}

TEST(ArmTap, NothingMovesWithoutInput) {
  ClassTap tap;
  Bench b;
  for (int c = 0; c < 10; c++) b.clock(tap, 0, true, true);
  EXPECT_TRUE(b.got_agg.empty());
  EXPECT_TRUE(b.got_watch.empty());
  EXPECT_TRUE(b.drained());
}

TEST(ArmTap, TopBehavesAsTheClass) {
  // The same random back-pressure on a bench driven by the class and one driven by the top: the
  // same words on the same clocks.
  std::mt19937 rng(777);
  std::bernoulli_distribution ready(0.6);
  ClassTap cls;
  TopTap top;
  Bench bc, bt;
  const uint32_t n = 3000;
  while (bc.next < n || !bc.drained()) {
    bool ra = ready(rng), rw = ready(rng);
    bc.clock(cls, n, ra, rw);
    bt.clock(top, n, ra, rw);
    ASSERT_EQ(bc.got_agg.size(), bt.got_agg.size()) << "clock " << bc.clocks;
    ASSERT_EQ(bc.got_watch.size(), bt.got_watch.size()) << "clock " << bc.clocks;
    ASSERT_EQ(bc.next, bt.next) << "clock " << bc.clocks;
    ASSERT_LT(bc.clocks, 1000000u);
  }
  EXPECT_TRUE(bt.drained());
  expect_all_in_order(bt.got_agg, n, "top out_agg");
  expect_all_in_order(bt.got_watch, n, "top out_watch");
}

} // namespace
