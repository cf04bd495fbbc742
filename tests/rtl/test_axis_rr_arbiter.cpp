// rtl/axis_rr_arbiter.sv, Verilated: frames from every input under random valid and ready come
// out whole (never interleaved), each input's frames in order, none lost or duplicated.
// N = 3 (test_rtl_axis_rr_arbiter): with every input busy the grants rotate 0, 1, 2, 0, ... one
// frame each (no input starves), and the output moves one beat per clock when ready.
// N = 4, PRIO_TOP = 1 (test_rtl_axis_rr_arbiter_prio, the NIC shell's TX arbiter): input 3 goes
// first at every frame boundary it has a beat waiting, and the others still rotate among
// themselves as if it were not there.
#include "Vaxis_rr_arbiter.h"
#include "rtl_axis.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace {

using rtltest::Beat;
using Frame = std::vector<Beat>;
#ifndef FANOUT_ARB_INPUTS
#define FANOUT_ARB_INPUTS 3
#endif
#ifndef FANOUT_ARB_PRIO_TOP
#define FANOUT_ARB_PRIO_TOP 0
#endif
constexpr unsigned kInputs = FANOUT_ARB_INPUTS;

struct Arbiter : rtltest::Dut<Vaxis_rr_arbiter> {
  Arbiter() { reset(); }
  void drive(unsigned i, const Beat *b) {
    uint32_t valid = m->s_axis_tvalid & ~(1u << i);
    if (b) {
      valid |= 1u << i;
      rtltest::put_bytes(m->s_axis_tdata, 512 * i, b->data);
      uint64_t keep_lo = b->keep;
      // tkeep is N x 64 bits packed: input i at bits [64 i, 64 i + 63].
      rtltest::put_bytes(m->s_axis_tkeep, 64 * i,
                         std::vector<uint8_t>{(uint8_t)keep_lo, (uint8_t)(keep_lo >> 8), (uint8_t)(keep_lo >> 16),
                                              (uint8_t)(keep_lo >> 24), (uint8_t)(keep_lo >> 32),
                                              (uint8_t)(keep_lo >> 40), (uint8_t)(keep_lo >> 48),
                                              (uint8_t)(keep_lo >> 56)});
      m->s_axis_tlast = (m->s_axis_tlast & ~(1u << i)) | ((b->last ? 1u : 0u) << i);
      m->s_axis_tuser = (m->s_axis_tuser & ~(0xFFFFull << (16 * i))) | ((uint64_t)b->user << (16 * i));
      m->s_axis_tdest = (m->s_axis_tdest & ~(0xFFu << (8 * i))) | ((uint32_t)b->dest << (8 * i));
    }
    m->s_axis_tvalid = valid;
  }
  Beat output() const { return rtltest::output_beat(*m); }
};

struct Result {
  std::vector<Frame> out;          // frames as they left, whole
  std::vector<unsigned> out_input; // which input each came from
  uint64_t cycles = 0, beats = 0;
};

Result run(const std::vector<std::vector<Frame>> &inputs, double p_valid, double p_ready, uint32_t seed) {
  Arbiter a;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::size_t total = 0;
  for (const auto &v : inputs) total += v.size();
  std::vector<std::size_t> frame(kInputs, 0), beat(kInputs, 0);
  std::vector<bool> offering(kInputs, false);
  Result r;
  Frame cur;
  for (uint64_t guard = 0; r.out.size() < total && guard < 1'000'000; guard++) {
    for (unsigned i = 0; i < kInputs; i++) {
      // AXI-Stream: a raised tvalid stays up until its beat is taken.
      if (!offering[i]) offering[i] = frame[i] < inputs[i].size() && u(rng) < p_valid;
      a.drive(i, offering[i] ? &inputs[i][frame[i]][beat[i]] : nullptr);
    }
    a.m->m_axis_tready = u(rng) < p_ready;
    a.m->eval();
    uint32_t ready = a.m->s_axis_tready;
    if (a.m->m_axis_tvalid && a.m->m_axis_tready) {
      EXPECT_EQ(__builtin_popcount(ready), 1) << "exactly one input takes the beat";
      unsigned src = a.m->grant;
      EXPECT_TRUE(ready & (1u << src));
      cur.push_back(a.output());
      r.beats++;
      if (cur.back().last) {
        r.out.push_back(cur);
        r.out_input.push_back(src);
        cur.clear();
      }
    } else {
      EXPECT_EQ(ready, 0u) << "no input is told ready unless the output moves";
    }
    for (unsigned i = 0; i < kInputs; i++) {
      if (offering[i] && (ready & (1u << i))) {
        offering[i] = false;
        if (++beat[i] == inputs[i][frame[i]].size()) beat[i] = 0, frame[i]++;
      }
    }
    a.tick();
    r.cycles++;
  }
  return r;
}

std::vector<std::vector<Frame>> make_inputs(unsigned frames_each, unsigned max_beats, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<Frame>> in;
  for (unsigned i = 0; i < kInputs; i++) in.push_back(rtltest::random_frames(rng, frames_each, max_beats, (uint8_t)i));
  return in;
}

TEST(AxisRrArbiter, WholeFramesInOrderUnderRandomValidAndReady) {
  auto in = make_inputs(150, 6, 1);
  for (double p_ready : {1.0, 0.5}) {
    Result r = run(in, 0.6, p_ready, 9);
    ASSERT_EQ(r.out.size(), 150u * kInputs);
    std::vector<std::size_t> seen(kInputs, 0);
    for (std::size_t k = 0; k < r.out.size(); k++) {
      unsigned i = r.out_input[k];
      ASSERT_LT(seen[i], in[i].size());
      ASSERT_EQ(r.out[k].size(), in[i][seen[i]].size()) << "frame " << k << " whole, not interleaved";
      for (std::size_t b = 0; b < r.out[k].size(); b++) {
        ASSERT_TRUE(r.out[k][b] == in[i][seen[i]][b]);
      }
      seen[i]++;
    }
  }
}

#if !FANOUT_ARB_PRIO_TOP
TEST(AxisRrArbiter, BusyInputsAreServedInTurnAtOneBeatPerClock) {
  auto in = make_inputs(200, 5, 2);
  Result r = run(in, 1.0, 1.0, 3);
  ASSERT_EQ(r.out.size(), 600u);
  for (std::size_t k = 0; k < 600; k++) ASSERT_EQ(r.out_input[k], k % kInputs) << "frame " << k;
  EXPECT_EQ(r.cycles, r.beats) << "no idle clock between frames";
  std::printf("[axis_rr_arbiter] 3 busy inputs: %llu beats in %llu clocks, grants in strict rotation\n",
              (unsigned long long)r.beats, (unsigned long long)r.cycles);
}

TEST(AxisRrArbiter, AWaitingInputIsServedWithinOneFrameOfEachOther) {
  // Inputs 0 and 1 always busy with long frames; input 2 rarely has a frame: every frame of
  // input 2 leaves after at most N - 1 = 2 frames from the others.
  auto in = make_inputs(100, 8, 4);
  in[2].resize(10);
  Result r = run(in, 1.0, 1.0, 5);
  unsigned others_in_a_row = 0;
  for (std::size_t k = 0; k < r.out.size(); k++) {
    others_in_a_row = r.out_input[k] == 2 ? 0 : others_in_a_row + 1;
    if (k < 25) {
      EXPECT_LE(others_in_a_row, 2u) << "while input 2 still had frames";
    }
  }
}

#else
TEST(AxisRrArbiterPrio, TheTopInputGoesFirstAtEveryFrameBoundary) {
  // Every input always busy: input 3's frames all leave first (each at a frame boundary), then
  // the others rotate 0, 1, 2, ... one frame each, one beat per clock throughout.
  auto in = make_inputs(60, 5, 6);
  Result r = run(in, 1.0, 1.0, 7);
  ASSERT_EQ(r.out.size(), 240u);
  for (std::size_t k = 0; k < 60; k++) ASSERT_EQ(r.out_input[k], 3u) << "frame " << k;
  for (std::size_t k = 60; k < 240; k++) ASSERT_EQ(r.out_input[k], (k - 60) % 3) << "frame " << k;
  EXPECT_EQ(r.cycles, r.beats) << "no idle clock between frames";
}

TEST(AxisRrArbiterPrio, OthersKeepTheirRotation) {
  // Inputs 0-2 busy with long frames, input 3 (single beats, like the NIC's heartbeats) offered
  // now and then: the others' order, input 3's frames removed, is the strict rotation.
  auto in = make_inputs(100, 8, 8);
  std::mt19937 rng(9);
  in[3] = rtltest::random_frames(rng, 40, 1, 3);
  Result r = run(in, 1.0, 1.0, 10);
  ASSERT_EQ(r.out.size(), 340u);
  unsigned k_other = 0;
  for (std::size_t k = 0; k < r.out.size(); k++) {
    if (r.out_input[k] == 3) continue;
    ASSERT_EQ(r.out_input[k], k_other++ % 3) << "frame " << k;
  }
}
#endif

} // namespace
