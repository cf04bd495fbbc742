// rtl/axis_async_fifo.sv, Verilated with two unrelated clocks (322.27 MHz and 300 MHz, simulated
// in picoseconds): random valid/ready, every beat crosses once and in order; with both sides
// always willing, the slower side moves one beat per its clock in both directions
// (MAC -> kernel and kernel -> MAC).
#include "Vaxis_async_fifo.h"
#include "rtl_axis.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace {

using rtltest::Beat;

const uint64_t kMacPs = 3103;    // 322.27 MHz: 100G MAC clock
const uint64_t kKernelPs = 3333; // 300 MHz: kernel clock

struct Result {
  std::vector<Beat> out;
  uint64_t write_cycles = 0, read_cycles = 0; // clocks of each side while the transfer ran
  uint64_t write_busy = 0, read_busy = 0;     // clocks that moved a beat
};

Result run(const std::vector<Beat> &in, uint64_t write_ps, uint64_t read_ps, double p_valid, double p_ready,
           uint32_t seed) {
  auto ctx = std::make_unique<VerilatedContext>();
  auto m = std::make_unique<Vaxis_async_fifo>(ctx.get());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Result r;
  // Overlapping resets, several clocks of each side.
  m->s_rst = m->m_rst = 1;
  for (int i = 0; i < 4; i++) {
    m->s_clk = m->m_clk = 0;
    m->eval();
    m->s_clk = m->m_clk = 1;
    m->eval();
  }
  m->s_rst = m->m_rst = 0;
  uint64_t t_write = write_ps, t_read = read_ps / 2; // unrelated phases
  std::size_t next = 0;
  bool offer = false;
  for (uint64_t guard = 0; r.out.size() < in.size() && guard < 200 * in.size() + 1000; guard++) {
    uint64_t t = std::min(t_write, t_read);
    bool wedge = t == t_write, redge = t == t_read;
    m->s_clk = m->m_clk = 0;
    m->eval();
    bool in_fire = false, out_fire = false;
    if (wedge) {
      if (!offer) offer = next < in.size() && u(rng) < p_valid; // tvalid held until taken
      m->s_axis_tvalid = offer;
      if (offer) {
        const Beat &b = in[next];
        rtltest::put_bytes(m->s_axis_tdata, 0, b.data);
        m->s_axis_tkeep = b.keep;
        m->s_axis_tlast = b.last;
        m->s_axis_tuser = b.user;
        m->s_axis_tdest = b.dest;
      }
    }
    if (redge) m->m_axis_tready = u(rng) < p_ready;
    m->eval();
    if (wedge) in_fire = offer && m->s_axis_tready;
    if (redge && m->m_axis_tvalid && m->m_axis_tready) {
      out_fire = true;
      r.out.push_back(rtltest::output_beat(*m));
    }
    m->s_clk = wedge;
    m->m_clk = redge;
    m->eval();
    if (wedge) {
      r.write_cycles++;
      if (in_fire) r.write_busy++, next++, offer = false;
      t_write += write_ps;
    }
    if (redge) {
      r.read_cycles++;
      if (out_fire) r.read_busy++;
      t_read += read_ps;
    }
  }
  return r;
}

std::vector<Beat> beats(unsigned frames, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Beat> v;
  for (const auto &f : rtltest::random_frames(rng, frames, 6, 5)) v.insert(v.end(), f.begin(), f.end());
  return v;
}

TEST(AxisAsyncFifo, EveryBeatCrossesOnceInOrderUnderRandomValidAndReady) {
  std::vector<Beat> in = beats(300, 1);
  for (auto [w, r] : {std::pair{kMacPs, kKernelPs}, std::pair{kKernelPs, kMacPs}}) {
    for (double p_ready : {1.0, 0.6, 0.2}) {
      Result res = run(in, w, r, 0.7, p_ready, 3);
      ASSERT_EQ(res.out.size(), in.size()) << "write " << w << " ps, read " << r << " ps, p_ready " << p_ready;
      for (std::size_t i = 0; i < in.size(); i++) {
        ASSERT_TRUE(res.out[i] == in[i]) << "beat " << i;
      }
    }
  }
}

TEST(AxisAsyncFifo, SlowerSideMovesOneBeatPerClock) {
  std::vector<Beat> in = beats(2000, 2);
  // MAC (fast) -> kernel (slow): the reader is the bottleneck and must be busy every clock.
  Result down = run(in, kMacPs, kKernelPs, 1.0, 1.0, 4);
  ASSERT_EQ(down.out.size(), in.size());
  double read_util = (double)down.read_busy / (double)down.read_cycles;
  // kernel (slow) -> MAC (fast): the writer is the bottleneck and must never be held off.
  Result up = run(in, kKernelPs, kMacPs, 1.0, 1.0, 5);
  ASSERT_EQ(up.out.size(), in.size());
  double write_util = (double)up.write_busy / (double)up.write_cycles;
  std::printf("[axis_async_fifo] 322 -> 300 MHz: reader busy %.4f of its clocks; 300 -> 322 MHz: writer busy %.4f "
              "of its clocks (%zu beats)\n",
              read_util, write_util, in.size());
  EXPECT_GE(read_util, 0.99);
  EXPECT_GE(write_util, 0.99);
}

} // namespace
