// rtl/alveo/fanout_shell_kernel.sv: the shell as the Vitis RTL kernel fanout_shell, Verilated with
// its two clocks (ap_clk 300 MHz, ap_clk_2 here 322 MHz, unrelated phases; on the card both are
// 300 MHz). The wrapper's own work is names, unpacking and port_down as a stream, so the test
// proves the wiring of every interface, not the shell again (test_fanout_nic_top does that):
//  * every stream interface carries a frame to where fanout_nic_top sends that bus: MAC port p's
//    frames to m_axis_parser_in tagged with ingress port p, the host's tagged PORT_LOCAL, the
//    replicator's per-port copies and the peer monitor's beats to m_axis_mac_tx_<p>, the
//    aggregator's by tdest, the parser's and replicator's host frames to m_axis_host_rx;
//  * m_axis_port_down: one beat after reset, one per change of the link monitor's verdict, under
//    back-pressure the last beat carries the current value;
//  * s_axi_control answers at 0x000 with the nic block's type (ap_ctrl_none: no control
//    registers in front), the chain walks on to the link block, mac_link_up reads high (tied).
#include "Vfanout_shell_kernel.h"
#include "rtl_axis.hpp"

#include "fanout/regs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using rtltest::Beat;
namespace regs = fanout::regs;
using Frames = std::vector<std::vector<Beat>>;

const uint64_t kKernelPs = 3333; // ap_clk
const uint64_t kMacPs = 3103;    // ap_clk_2
const uint8_t kHost = 0xFE;      // proto::kPortLocal

// One 512-bit AXI4-Stream interface of the wrapper, by its Verilated signals.
struct Axis {
  VlWide<16> *tdata;
  QData *tkeep;
  CData *tlast;
  SData *tuser;
  CData *tdest;
  CData *tvalid;
  CData *tready;
};
#define AXIS(m, name)                                                                                                  \
  Axis {                                                                                                               \
    &(m)->name##_tdata, &(m)->name##_tkeep, &(m)->name##_tlast, &(m)->name##_tuser, &(m)->name##_tdest,                \
        &(m)->name##_tvalid, &(m)->name##_tready                                                                       \
  }

// A master played by the test: random tvalid, a beat held until taken.
struct Source {
  Source(Axis a) : s(a) {} // NOLINT(google-explicit-constructor): arrays of them are brace-initialized
  Axis s;
  bool mac = false; // on ap_clk_2
  std::vector<Beat> beats;
  std::size_t next = 0;
  bool offer = false, fire = false;
  void add(const Frames &fs) {
    for (const auto &f : fs) beats.insert(beats.end(), f.begin(), f.end());
  }
};

// A slave played by the test: random tready, every beat taken recorded.
struct Sink {
  Sink(Axis a) : s(a) {} // NOLINT(google-explicit-constructor)
  Axis s;
  bool mac = false;
  double p_ready = 0.6;
  bool rdy = false;
  std::vector<Beat> got;
};

struct Shell {
  std::unique_ptr<VerilatedContext> ctx = std::make_unique<VerilatedContext>();
  std::unique_ptr<Vfanout_shell_kernel> m = std::make_unique<Vfanout_shell_kernel>(ctx.get());
  uint64_t t_k = kKernelPs, t_mac = kMacPs / 2; // unrelated phases
  bool kernel_edge = false;
  std::mt19937 rng{7};
  std::uniform_real_distribution<double> u{0, 1};
  std::vector<Source *> sources;
  std::vector<Sink *> sinks;
  bool pd_ready = true;                 // m_axis_port_down's tready, set by the test
  std::vector<uint8_t> port_down_beats; // every beat taken from m_axis_port_down

  Shell() {
    m->m_axis_port_down_tready = 1;
    m->ap_rst_n = m->ap_rst_n_2 = 0;
    for (int i = 0; i < 16; i++) step();
    m->ap_rst_n = m->ap_rst_n_2 = 1;
    // The wrapper registers the resets (one flop each): the shell leaves reset a clock later. A
    // host reaches the registers long after that.
    run_kernel_clocks(4);
  }

  // To the next rising edge of either clock (or both), agents of that domain driving and sampling.
  void step() {
    uint64_t t = std::min(t_k, t_mac);
    bool ke = t == t_k, me = t == t_mac;
    auto edge = [&](bool mac) { return mac ? me : ke; };
    m->ap_clk = 0;
    m->ap_clk_2 = 0;
    m->eval();
    for (Source *s : sources) {
      if (!edge(s->mac)) continue;
      if (!s->offer && s->next < s->beats.size() && u(rng) < 0.7) {
        const Beat &b = s->beats[s->next];
        rtltest::put_bytes(*s->s.tdata, 0, b.data);
        *s->s.tkeep = b.keep;
        *s->s.tlast = b.last;
        *s->s.tuser = b.user;
        *s->s.tdest = b.dest;
        s->offer = true;
      }
      *s->s.tvalid = s->offer;
    }
    for (Sink *k : sinks) {
      if (!edge(k->mac)) continue;
      k->rdy = u(rng) < k->p_ready;
      *k->s.tready = k->rdy;
    }
    if (ke) m->m_axis_port_down_tready = pd_ready;
    m->eval();
    for (Source *s : sources) {
      if (edge(s->mac)) s->fire = s->offer && *s->s.tready;
    }
    for (Sink *k : sinks) {
      if (edge(k->mac) && k->rdy && *k->s.tvalid) {
        Beat b;
        b.data = rtltest::get_bytes(*k->s.tdata, 0, 64);
        b.keep = *k->s.tkeep;
        b.last = *k->s.tlast;
        b.user = *k->s.tuser;
        b.dest = *k->s.tdest;
        k->got.push_back(b);
      }
    }
    if (ke && m->m_axis_port_down_tvalid && m->m_axis_port_down_tready)
      port_down_beats.push_back(m->m_axis_port_down_tdata);
    m->ap_clk = ke;
    m->ap_clk_2 = me;
    m->eval();
    for (Source *s : sources) {
      if (s->fire) {
        s->next++;
        s->offer = s->fire = false;
      }
    }
    kernel_edge = ke;
    if (ke) t_k += kKernelPs;
    if (me) t_mac += kMacPs;
  }
  void kstep() {
    do step();
    while (!kernel_edge);
  }
  void run_kernel_clocks(unsigned n) {
    for (unsigned i = 0; i < n; i++) kstep();
  }

  // s_axi_control (ap_clk): {resp, data}, AR or AW + W held until taken as a platform master does.
  std::pair<uint32_t, uint32_t> read(uint32_t addr) {
    m->s_axi_control_araddr = addr;
    m->s_axi_control_arvalid = 1;
    m->s_axi_control_rready = 1;
    for (int i = 0; i < 10; i++) {
      m->eval();
      bool taken = m->s_axi_control_arready;
      kstep();
      if (taken) m->s_axi_control_arvalid = 0;
      m->eval();
      if (m->s_axi_control_rvalid) {
        std::pair<uint32_t, uint32_t> r{m->s_axi_control_rresp, m->s_axi_control_rdata};
        kstep();
        return r;
      }
    }
    ADD_FAILURE() << "s_axi_control read 0x" << std::hex << addr << " never answered";
    return {99, 0};
  }
  uint32_t write(uint32_t addr, uint32_t data) {
    m->s_axi_control_awaddr = addr;
    m->s_axi_control_wdata = data;
    m->s_axi_control_wstrb = 0xF;
    m->s_axi_control_awvalid = 1;
    m->s_axi_control_wvalid = 1;
    m->s_axi_control_bready = 1;
    for (int i = 0; i < 10; i++) {
      m->eval();
      bool taken = m->s_axi_control_awready && m->s_axi_control_wready;
      kstep();
      if (taken) m->s_axi_control_awvalid = m->s_axi_control_wvalid = 0;
      m->eval();
      if (m->s_axi_control_bvalid) {
        uint32_t resp = m->s_axi_control_bresp;
        kstep();
        return resp;
      }
    }
    ADD_FAILURE() << "s_axi_control write 0x" << std::hex << addr << " never answered";
    return 99;
  }
};

// What a sink received, by source (test frames carry their source's tag in data byte 0).
std::map<uint8_t, std::vector<Beat>> by_source(const std::vector<Beat> &got) {
  std::map<uint8_t, std::vector<Beat>> out;
  for (const Beat &b : got) out[b.data[0]].push_back(b);
  return out;
}

TEST(FanoutShellKernel, SAxiControlAnswersWithTheNicBlockAtZero) {
  Shell sh;
  auto type = sh.read(0x000);
  EXPECT_EQ(type.first, 0u) << "OKAY";
  EXPECT_EQ(type.second, regs::nic::kType) << "ap_ctrl_none: offset 0 is the nic block's type, \"FAN1\"";
  EXPECT_EQ(sh.read(regs::nic::kPorts).second, 2u) << "P = 2";
  EXPECT_EQ(sh.read(regs::kBlockNext).second, regs::link::kBase);
  EXPECT_EQ(sh.read(regs::link::kBase + regs::kBlockType).second, regs::link::kType);
  EXPECT_EQ(sh.read(regs::link::kLinkUp).second, 3u) << "mac_link_up tied high in the wrapper";
  EXPECT_EQ(sh.write(regs::nic::kScratch, 0x5A5AC3C3), 0u);
  EXPECT_EQ(sh.read(regs::nic::kScratch).second, 0x5A5AC3C3u);
  EXPECT_EQ(sh.read(0xFFC).first, 2u) << "SLVERR past the map (12-bit address space)";
}

TEST(FanoutShellKernel, EveryStreamInterfaceCarriesFramesWhereTheShellSendsThem) {
  Shell sh;
  Vfanout_shell_kernel *m = sh.m.get();
  ASSERT_EQ(sh.write(regs::link::kInterval, 0), 0u) << "no PROBEs between the test's frames";
  std::mt19937 rng(5);
  Source rx[2] = {{AXIS(m, s_axis_mac_rx_0)}, {AXIS(m, s_axis_mac_rx_1)}};
  Source host{AXIS(m, s_axis_host_tx)}, phost{AXIS(m, s_axis_parser_host)}, rhost{AXIS(m, s_axis_repl_host)};
  Source repl[2] = {{AXIS(m, s_axis_repl_port_0)}, {AXIS(m, s_axis_repl_port_1)}};
  Source agg{AXIS(m, s_axis_agg_out)}, peer{AXIS(m, s_axis_peer_tx)};
  Sink parser{AXIS(m, m_axis_parser_in)}, hrx{AXIS(m, m_axis_host_rx)};
  Sink mtx[2] = {{AXIS(m, m_axis_mac_tx_0)}, {AXIS(m, m_axis_mac_tx_1)}};
  std::map<uint8_t, std::vector<Beat>> want_parser, want_host, want_tx[2];
  auto expect = [](std::map<uint8_t, std::vector<Beat>> &w, const Frames &fs) {
    for (const auto &f : fs) {
      for (const Beat &b : f) w[b.data[0]].push_back(b);
    }
  };

  for (unsigned p = 0; p < 2; p++) {
    rx[p].mac = mtx[p].mac = true;
    Frames fs = rtltest::random_frames(rng, 20, 4, (uint8_t)(0x10 + p));
    rx[p].add(fs);
    for (auto &f : fs) {
      for (Beat &b : f) b.user = (uint16_t)((b.user & 0x100) | p); // ingress port p, bad-frame bit kept
    }
    expect(want_parser, fs);
    Frames rs = rtltest::random_frames(rng, 20, 4, (uint8_t)(0x20 + p));
    repl[p].add(rs);
    expect(want_tx[p], rs);
  }
  Frames hs = rtltest::random_frames(rng, 20, 4, 0x30);
  host.add(hs);
  for (auto &f : hs) {
    for (Beat &b : f) b.user = (uint16_t)((b.user & 0x100) | kHost);
  }
  expect(want_parser, hs);
  Frames ph = rtltest::random_frames(rng, 20, 4, 0x40), rh = rtltest::random_frames(rng, 20, 4, 0x41);
  phost.add(ph);
  rhost.add(rh);
  expect(want_host, ph);
  expect(want_host, rh);
  // The aggregator's frames by tdest: port 0, port 1, the host (tags 0x50, 0x51, 0x52).
  const uint8_t kDest[3] = {0, 1, kHost};
  for (unsigned d = 0; d < 3; d++) {
    Frames as = rtltest::random_frames(rng, 10, 3, (uint8_t)(0x50 + d));
    for (auto &f : as) {
      for (Beat &b : f) b.dest = kDest[d];
    }
    agg.add(as);
    expect(d < 2 ? want_tx[d] : want_host, as);
  }
  // The peer monitor's single beats to port 0 and 1 (tags 0x60, 0x61).
  for (unsigned p = 0; p < 2; p++) {
    Frames ks = rtltest::random_frames(rng, 10, 1, (uint8_t)(0x60 + p));
    for (auto &f : ks) f[0].dest = (uint8_t)p;
    peer.add(ks);
    expect(want_tx[p], ks);
  }

  sh.sources = {&rx[0], &rx[1], &host, &phost, &rhost, &repl[0], &repl[1], &agg, &peer};
  sh.sinks = {&parser, &hrx, &mtx[0], &mtx[1]};
  auto done = [&] {
    for (Source *s : sh.sources) {
      if (s->next < s->beats.size()) return false;
    }
    return true;
  };
  for (unsigned guard = 0; !done() && guard < 20000; guard++) sh.step();
  ASSERT_TRUE(done()) << "an input interface stalled";
  sh.run_kernel_clocks(200); // the FIFOs drain

  EXPECT_TRUE(by_source(parser.got) == want_parser) << "m_axis_parser_in: MAC ports 0/1 and host frames, tagged";
  EXPECT_TRUE(by_source(hrx.got) == want_host) << "m_axis_host_rx: parser, replicator and aggregator host frames";
  for (unsigned p = 0; p < 2; p++)
    EXPECT_TRUE(by_source(mtx[p].got) == want_tx[p])
        << "m_axis_mac_tx_" << p << ": replicator copies, aggregator and peer-monitor frames for port " << p;
  std::printf("[fanout_shell_kernel] beats out: parser_in %zu, host_rx %zu, mac_tx_0 %zu, mac_tx_1 %zu\n",
              parser.got.size(), hrx.got.size(), mtx[0].got.size(), mtx[1].got.size());
}

TEST(FanoutShellKernel, PortDownBeatsOnceAfterResetAndOnEveryChange) {
  Shell sh;
  sh.run_kernel_clocks(4);
  ASSERT_EQ(sh.port_down_beats, std::vector<uint8_t>{0}) << "one beat after reset: every port up";

  // Silent peers: both ports down 3 intervals + 2 clocks after the interval is written.
  const uint32_t kInterval = 50;
  ASSERT_EQ(sh.write(regs::link::kInterval, kInterval), 0u);
  Sink mtx[2] = {{AXIS(sh.m.get(), m_axis_mac_tx_0)}, {AXIS(sh.m.get(), m_axis_mac_tx_1)}};
  for (Sink &k : mtx) { // the PROBEs leave
    k.mac = true;
    k.p_ready = 1.0;
  }
  sh.sinks = {&mtx[0], &mtx[1]};
  sh.run_kernel_clocks(3 * kInterval + 20);
  ASSERT_FALSE(sh.port_down_beats.empty());
  EXPECT_EQ(sh.port_down_beats.back(), 3u) << "both peers silent";
  EXPECT_EQ(sh.read(regs::link::kPortDown).second, 3u);

  // Back-pressure: port 0 comes up (2), then port 1 (0) while no beat is taken. The beat on offer
  // (2) holds; once it is taken the current value (0) follows.
  sh.pd_ready = false;
  Source peer[2] = {{AXIS(sh.m.get(), s_axis_mac_rx_0)}, {AXIS(sh.m.get(), s_axis_mac_rx_1)}};
  Sink parser{AXIS(sh.m.get(), m_axis_parser_in)};
  parser.p_ready = 1.0;
  Beat b;
  b.data.assign(64, 0);
  b.keep = ~0ull;
  b.last = true;
  for (Source &s : peer) s.mac = true;
  peer[0].beats.push_back(b);
  sh.sources = {&peer[0], &peer[1]};
  sh.sinks = {&mtx[0], &mtx[1], &parser};
  std::size_t before = sh.port_down_beats.size();
  sh.run_kernel_clocks(15);
  peer[1].beats.push_back(b);
  sh.run_kernel_clocks(15);
  EXPECT_EQ(sh.port_down_beats.size(), before) << "nothing taken while tready is low";
  EXPECT_EQ(sh.m->m_axis_port_down_tvalid, 1u);
  EXPECT_EQ(sh.m->m_axis_port_down_tdata, 2u) << "the first change, held while not taken";
  sh.pd_ready = true;
  sh.run_kernel_clocks(5);
  std::vector<uint8_t> tail(sh.port_down_beats.begin() + (long)before, sh.port_down_beats.end());
  EXPECT_EQ(tail, (std::vector<uint8_t>{2, 0})) << "the held beat, then the current value";
  EXPECT_EQ(sh.read(regs::link::kPortDown).second, 0u);

  for (std::size_t i = 1; i < sh.port_down_beats.size(); i++)
    EXPECT_NE(sh.port_down_beats[i], sh.port_down_beats[i - 1]) << "a beat only on a change (beat " << i << ")";
  std::string seq;
  for (uint8_t v : sh.port_down_beats) seq += " " + std::to_string(v);
  std::printf("[fanout_shell_kernel] m_axis_port_down beats:%s\n", seq.c_str());
}

} // namespace
