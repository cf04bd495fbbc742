// rtl/axis_fifo.sv, Verilated, one clock per tick: random valid and ready on both sides, beats
// come out exactly as they went in (no loss, no duplication, order kept), a full FIFO holds
// s_axis_tready low, level counts beats, and both sides move one beat per clock when free.
#include "Vaxis_fifo.h"
#include "rtl_axis.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <memory>

namespace {

using rtltest::Beat;

struct Fifo : rtltest::Dut<Vaxis_fifo> {
  Fifo() { reset(); }
  void drive(const Beat *b) {
    m->s_axis_tvalid = b != nullptr;
    if (!b) return;
    rtltest::put_bytes(m->s_axis_tdata, 0, b->data);
    m->s_axis_tkeep = b->keep;
    m->s_axis_tlast = b->last;
    m->s_axis_tuser = b->user;
    m->s_axis_tdest = b->dest;
  }
  Beat output() const { return rtltest::output_beat(*m); }
};

// Runs all beats through with the given valid/ready probabilities; returns what came out.
std::vector<Beat> run(Fifo &f, const std::vector<Beat> &in, double p_valid, double p_ready, uint32_t seed,
                      unsigned *max_level = nullptr) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Beat> out;
  std::size_t next = 0;
  bool offer = false; // AXI-Stream: once tvalid is up it stays up until the beat is taken
  for (uint64_t guard = 0; out.size() < in.size() && guard < 100 * in.size() + 1000; guard++) {
    if (!offer) offer = next < in.size() && u(rng) < p_valid;
    f.drive(offer ? &in[next] : nullptr);
    f.m->m_axis_tready = u(rng) < p_ready;
    f.m->eval(); // settle the combinational outputs for this clock
    bool in_fire = offer && f.m->s_axis_tready;
    bool out_fire = f.m->m_axis_tvalid && f.m->m_axis_tready;
    if (out_fire) out.push_back(f.output());
    if (max_level && f.m->level > *max_level) *max_level = f.m->level;
    f.tick();
    if (in_fire) next++, offer = false;
  }
  return out;
}

std::vector<Beat> flatten(const std::vector<std::vector<Beat>> &frames) {
  std::vector<Beat> v;
  for (const auto &fr : frames) v.insert(v.end(), fr.begin(), fr.end());
  return v;
}

TEST(AxisFifo, RandomValidAndReadyKeepEveryBeatInOrder) {
  std::mt19937 rng(7);
  std::vector<Beat> in = flatten(rtltest::random_frames(rng, 300, 8, 1));
  for (double p_ready : {1.0, 0.7, 0.3}) {
    Fifo f;
    unsigned max_level = 0;
    std::vector<Beat> out = run(f, in, 0.8, p_ready, 11, &max_level);
    ASSERT_EQ(out.size(), in.size()) << "p_ready " << p_ready;
    for (std::size_t i = 0; i < in.size(); i++) {
      ASSERT_TRUE(out[i] == in[i]) << "beat " << i;
    }
    EXPECT_LE(max_level, 16u);
    if (p_ready < 0.5) {
      EXPECT_EQ(max_level, 16u) << "a slow reader fills the FIFO";
    }
  }
}

TEST(AxisFifo, FullFifoHoldsReadyLowAndLevelCounts) {
  std::mt19937 rng(3);
  std::vector<Beat> in = flatten(rtltest::random_frames(rng, 40, 1, 2));
  Fifo f;
  f.m->m_axis_tready = 0;
  for (unsigned i = 0; i < 16; i++) {
    f.drive(&in[i]);
    f.m->eval();
    ASSERT_TRUE(f.m->s_axis_tready) << "room for beat " << i;
    f.tick();
    EXPECT_EQ(f.m->level, i + 1);
  }
  f.drive(&in[16]);
  f.m->eval();
  EXPECT_FALSE(f.m->s_axis_tready) << "16 beats stored: full";
  f.tick();
  EXPECT_EQ(f.m->level, 16u) << "nothing written while full";
  f.m->m_axis_tready = 1;
  f.drive(nullptr);
  f.m->eval();
  EXPECT_TRUE(f.output() == in[0]);
}

TEST(AxisFifo, OneBeatPerClockThroughput) {
  std::mt19937 rng(5);
  std::vector<Beat> in = flatten(rtltest::random_frames(rng, 500, 4, 3));
  Fifo f;
  uint64_t start = f.cycles;
  std::vector<Beat> out = run(f, in, 1.0, 1.0, 1);
  ASSERT_EQ(out.size(), in.size());
  uint64_t cycles = f.cycles - start;
  EXPECT_LE(cycles, in.size() + 2) << "one beat per clock, one clock of fall-through latency";
  std::printf("[axis_fifo] %zu beats in %llu clocks\n", in.size(), (unsigned long long)cycles);
}

} // namespace
