// rtl/fanout_nic_top.sv (P = 2), Verilated with its two clocks (MAC 322.27 MHz, kernels 300 MHz,
// simulated in picoseconds). The test plays the MACs, the host and the four kernels:
//  * RX merge: both MAC ports and the host onto parser_in, every frame whole and once, per-source
//    order kept, tuser[7:0] = the ingress port, tuser[8] (bad frame) kept, bytes unchanged;
//  * TX paths: replicator copies, the peer monitor's single beats (by their tdest, or dropped and
//    counted), the aggregator's output split by tdest (port, host, or dropped
//    and counted), the parser's and replicator's host frames, each to the right MAC or the host;
//  * the link monitor inside: PROBEs on idle MAC ports once per interval that proto parses, a
//    silent peer and a PHY link-down marked in port_down (detection time measured end to end);
//  * the registers over AXI-Lite (offsets from driver/include/fanout/regs.hpp): discovery walk,
//    the cfg_* outputs following writes, link status readable.
#include "Vfanout_nic_top.h"
#include "rtl_axis.hpp"

#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"
#include "fanout/regs.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>

namespace {

using rtltest::Beat;
namespace proto = fanout::proto;
namespace regs = fanout::regs;

const uint64_t kMacPs = 3103;    // 322.27 MHz: 100G MAC clock
const uint64_t kKernelPs = 3333; // 300 MHz: kernel clock
const unsigned kPorts = 2;
const uint8_t kHost = 0xFE; // proto::kPortLocal
const uint16_t kNode = 0x0107;

enum Domain { kMac, kKernel };

// Bits [lo, lo + w) of a Verilated signal (packed per-port buses), narrow or wide.
template <std::size_t N> void set_bits(VlWide<N> &s, unsigned lo, unsigned w, uint64_t v) {
  for (unsigned i = 0; i < w; i++) {
    unsigned bit = lo + i;
    uint32_t mask = 1u << (bit % 32);
    s[bit / 32] = (v >> i) & 1 ? (s[bit / 32] | mask) : (s[bit / 32] & ~mask);
  }
}
template <class T, std::enable_if_t<std::is_integral<T>::value, int> = 0>
void set_bits(T &s, unsigned lo, unsigned w, uint64_t v) {
  uint64_t mask = (w >= 64 ? ~0ull : ((1ull << w) - 1)) << lo;
  s = (T)(((uint64_t)s & ~mask) | ((v << lo) & mask));
}
template <std::size_t N> uint64_t get_bits(const VlWide<N> &s, unsigned lo, unsigned w) {
  uint64_t v = 0;
  for (unsigned i = 0; i < w; i++) v |= (uint64_t)((s[(lo + i) / 32] >> ((lo + i) % 32)) & 1) << i;
  return v;
}
template <class T, std::enable_if_t<std::is_integral<T>::value, int> = 0>
uint64_t get_bits(T s, unsigned lo, unsigned w) {
  return ((uint64_t)s >> lo) & (w >= 64 ? ~0ull : ((1ull << w) - 1));
}

// An AXI-Stream master played by the test (a MAC, the host or a kernel output): random tvalid,
// a beat held until taken.
struct Source {
  Domain dom = kKernel;
  double p_valid = 1.0;
  std::vector<Beat> beats;
  std::size_t next = 0;
  bool offer = false, fire = false;
  uint64_t last_fire_ps = 0; // when its latest beat was taken
  std::function<void(const Beat &)> put;
  std::function<void(bool)> set_valid;
  std::function<bool()> ready;
  void add(const std::vector<std::vector<Beat>> &frames) {
    for (const auto &f : frames) beats.insert(beats.end(), f.begin(), f.end());
  }
  bool done() const { return next == beats.size() && !offer; }
};

// An AXI-Stream slave played by the test: random tready, every beat taken recorded with its time.
struct Sink {
  Domain dom = kKernel;
  double p_ready = 1.0;
  bool rdy = false;
  struct Rec {
    Beat b;
    uint64_t ps;
  };
  std::vector<Rec> got;
  std::function<void(bool)> set_ready;
  std::function<bool()> valid;
  std::function<Beat()> get;
};

// Port `idx` of the packed bus PFX_* (idx 0 for single buses).
#define BIND_SOURCE(src, mod, PFX, idx)                                                                                \
  do {                                                                                                                 \
    Vfanout_nic_top *mm = (mod);                                                                                       \
    unsigned ii = (idx);                                                                                               \
    (src).put = [mm, ii](const Beat &b) {                                                                              \
      rtltest::put_bytes(mm->PFX##_tdata, 512 * ii, b.data);                                                           \
      set_bits(mm->PFX##_tkeep, 64 * ii, 64, b.keep);                                                                  \
      set_bits(mm->PFX##_tlast, ii, 1, b.last);                                                                        \
      set_bits(mm->PFX##_tuser, 16 * ii, 16, b.user);                                                                  \
      set_bits(mm->PFX##_tdest, 8 * ii, 8, b.dest);                                                                    \
    };                                                                                                                 \
    (src).set_valid = [mm, ii](bool v) { set_bits(mm->PFX##_tvalid, ii, 1, v); };                                      \
    (src).ready = [mm, ii] { return get_bits(mm->PFX##_tready, ii, 1) != 0; };                                         \
  } while (0)

#define BIND_SINK(snk, mod, PFX, idx)                                                                                  \
  do {                                                                                                                 \
    Vfanout_nic_top *mm = (mod);                                                                                       \
    unsigned ii = (idx);                                                                                               \
    (snk).set_ready = [mm, ii](bool r) { set_bits(mm->PFX##_tready, ii, 1, r); };                                      \
    (snk).valid = [mm, ii] { return get_bits(mm->PFX##_tvalid, ii, 1) != 0; };                                         \
    (snk).get = [mm, ii] {                                                                                             \
      Beat b;                                                                                                          \
      b.data = rtltest::get_bytes(mm->PFX##_tdata, 512 * ii, 64);                                                      \
      b.keep = get_bits(mm->PFX##_tkeep, 64 * ii, 64);                                                                 \
      b.last = get_bits(mm->PFX##_tlast, ii, 1) != 0;                                                                  \
      b.user = (uint16_t)get_bits(mm->PFX##_tuser, 16 * ii, 16);                                                       \
      b.dest = (uint8_t)get_bits(mm->PFX##_tdest, 8 * ii, 8);                                                          \
      return b;                                                                                                        \
    };                                                                                                                 \
  } while (0)

// The top with both clocks: step() advances to the next rising edge of either (or both), driving
// and sampling the agents of the domain(s) that edge.
struct Top {
  std::unique_ptr<VerilatedContext> ctx = std::make_unique<VerilatedContext>();
  std::unique_ptr<Vfanout_nic_top> m = std::make_unique<Vfanout_nic_top>(ctx.get());
  uint64_t t_mac = kMacPs, t_k = kKernelPs / 2; // unrelated phases
  uint64_t now = 0, kcycles = 0, mcycles = 0;
  bool kernel_edge = false, mac_edge = false; // what the last step() was
  std::mt19937 rng;
  std::uniform_real_distribution<double> u{0, 1};
  std::vector<Source *> sources;
  std::vector<Sink *> sinks;
  std::function<void()> on_mac_edge, on_kernel_edge; // after the edge

  explicit Top(uint32_t seed) : rng(seed) {
    m->mac_tx_tready = (1u << kPorts) - 1;
    m->host_rx_tready = 1;
    m->parser_in_tready = 1;
    m->mac_link_up = (1u << kPorts) - 1;
    // Overlapping resets, several clocks of each side.
    m->rst = m->mac_rst = 1;
    for (int i = 0; i < 16; i++) step();
    m->rst = m->mac_rst = 0;
  }
  Vfanout_nic_top *dut() { return m.get(); }

  void step() {
    uint64_t t = std::min(t_mac, t_k);
    bool me = t == t_mac, ke = t == t_k;
    auto edges = [&](Domain d) { return d == kMac ? me : ke; };
    now = t;
    m->mac_clk = 0;
    m->clk = 0;
    m->eval();
    for (Source *s : sources) {
      if (!edges(s->dom)) continue;
      if (!s->offer) {
        s->offer = s->next < s->beats.size() && u(rng) < s->p_valid;
        if (s->offer) s->put(s->beats[s->next]);
      }
      s->set_valid(s->offer);
    }
    for (Sink *k : sinks) {
      if (!edges(k->dom)) continue;
      k->rdy = u(rng) < k->p_ready;
      k->set_ready(k->rdy);
    }
    m->eval();
    for (Source *s : sources) {
      if (edges(s->dom)) s->fire = s->offer && s->ready();
    }
    for (Sink *k : sinks) {
      if (edges(k->dom) && k->rdy && k->valid()) k->got.push_back({k->get(), t});
    }
    m->mac_clk = me;
    m->clk = ke;
    m->eval();
    for (Source *s : sources) {
      if (s->fire) {
        s->last_fire_ps = t;
        s->next++;
        s->offer = s->fire = false;
      }
    }
    kernel_edge = ke;
    mac_edge = me;
    if (me) {
      mcycles++;
      t_mac += kMacPs;
      if (on_mac_edge) on_mac_edge();
    }
    if (ke) {
      kcycles++;
      t_k += kKernelPs;
      if (on_kernel_edge) on_kernel_edge();
    }
  }
  void kstep() { // up to and including the next kernel clock edge
    do step();
    while (!kernel_edge);
  }
  void run_kernel_clocks(uint64_t n) {
    for (uint64_t i = 0; i < n; i++) kstep();
  }

  // AXI-Lite (kernel clock), as test_fanout_regs.cpp drives fanout_regs: {resp, data}.
  std::pair<uint32_t, uint32_t> read(uint32_t addr) {
    m->s_axil_araddr = addr;
    m->s_axil_arvalid = 1;
    m->s_axil_rready = 1;
    for (int i = 0; i < 10; i++) {
      m->eval();
      bool taken = m->s_axil_arready;
      kstep();
      if (taken) m->s_axil_arvalid = 0;
      m->eval();
      if (m->s_axil_rvalid) {
        std::pair<uint32_t, uint32_t> r{m->s_axil_rresp, m->s_axil_rdata};
        kstep();
        return r;
      }
    }
    ADD_FAILURE() << "read 0x" << std::hex << addr << " never answered";
    return {99, 0};
  }
  uint32_t write(uint32_t addr, uint32_t data) {
    m->s_axil_awaddr = addr;
    m->s_axil_wdata = data;
    m->s_axil_wstrb = 0xF;
    m->s_axil_awvalid = 1;
    m->s_axil_wvalid = 1;
    m->s_axil_bready = 1;
    for (int i = 0; i < 10; i++) {
      m->eval();
      bool taken = m->s_axil_awready && m->s_axil_wready;
      kstep();
      if (taken) m->s_axil_awvalid = m->s_axil_wvalid = 0;
      m->eval();
      if (m->s_axil_bvalid) {
        uint32_t resp = m->s_axil_bresp;
        kstep();
        return resp;
      }
    }
    ADD_FAILURE() << "write 0x" << std::hex << addr << " never answered";
    return 99;
  }
};

using Frames = std::vector<std::vector<Beat>>;
using Want = std::map<uint8_t, std::deque<std::vector<Beat>>>; // source tag (data byte 0) -> frames

// A PROBE from the link monitor: one full beat, Ethernet broadcast, built on this node.
bool is_probe(const Beat &b) {
  return b.last && b.keep == ~0ull && b.user == kHost && b.data[0] == 0xFF;
}

// Splits what a sink received into frames and matches each with the next frame expected from its
// source (test frames carry their source's tag in byte 0): whole, once, in order per source.
// PROBEs between frames are counted, not matched. Returns the PROBE count.
unsigned expect_frames(const std::vector<Sink::Rec> &got, Want want, const std::string &where) {
  unsigned probes = 0;
  std::size_t i = 0;
  while (i < got.size()) {
    if (is_probe(got[i].b)) {
      probes++;
      i++;
      continue;
    }
    uint8_t tag = got[i].b.data[0];
    auto it = want.find(tag);
    if (it == want.end() || it->second.empty()) {
      ADD_FAILURE() << where << ": unexpected frame from source 0x" << std::hex << (unsigned)tag << " at beat "
                    << std::dec << i;
      return probes;
    }
    const std::vector<Beat> &fr = it->second.front();
    for (std::size_t k = 0; k < fr.size(); k++) {
      if (i + k >= got.size() || !(got[i + k].b == fr[k])) {
        unsigned f = fr[0].data[1] | (unsigned)fr[0].data[2] << 8;
        ADD_FAILURE() << where << ": source 0x" << std::hex << (unsigned)tag << std::dec << " frame " << f << " beat "
                      << k << " differs (lost, reordered, interleaved or altered)";
        return probes;
      }
    }
    i += fr.size();
    it->second.pop_front();
  }
  for (const auto &w : want) {
    EXPECT_TRUE(w.second.empty()) << where << ": " << w.second.size() << " frames from source 0x" << std::hex
                                  << (unsigned)w.first << " never arrived";
  }
  return probes;
}

std::size_t beat_count(const Frames &fs) {
  std::size_t n = 0;
  for (const auto &f : fs) n += f.size();
  return n;
}

TEST(FanoutNicTop, RxMergeEveryFrameOnceInOrderTaggedWithItsIngressPort) {
  for (double p_ready : {1.0, 0.4}) {
    Top top(1);
    std::mt19937 rng(11);
    Source rx[kPorts], host;
    Sink parser;
    Want want;
    std::size_t total = 0;
    for (unsigned p = 0; p <= kPorts; p++) {
      Source &s = p < kPorts ? rx[p] : host;
      uint8_t tag = (uint8_t)(0x10 + p);
      Frames fs = rtltest::random_frames(rng, 1000, 6, tag); // tuser bit 8 (bad frame) set on odd frames
      s.dom = p < kPorts ? kMac : kKernel;
      s.p_valid = 0.7;
      s.add(fs);
      for (auto &f : fs) {
        for (Beat &b : f) b.user = (uint16_t)((b.user & 0x100) | (p < kPorts ? p : kHost));
        want[tag].push_back(f);
      }
      total += beat_count(fs);
    }
    for (unsigned p = 0; p < kPorts; p++) BIND_SOURCE(rx[p], top.dut(), mac_rx, p);
    BIND_SOURCE(host, top.dut(), host_tx, 0);
    parser.p_ready = p_ready;
    BIND_SINK(parser, top.dut(), parser_in, 0);
    top.sources = {&rx[0], &rx[1], &host};
    top.sinks = {&parser};
    for (uint64_t guard = 0; parser.got.size() < total && guard < 40 * total; guard++) top.step();
    top.run_kernel_clocks(100); // nothing more may come
    EXPECT_EQ(parser.got.size(), total) << "p_ready " << p_ready;
    expect_frames(parser.got, want, "parser_in (p_ready " + std::to_string(p_ready) + ")");
  }
}

TEST(FanoutNicTop, TxPathsReachTheRightPortOrHostAndUnknownAggDestIsDropped) {
  Top top(2);
  std::mt19937 rng(22);
  Source repl[kPorts], agg, phost, rhost;
  Sink mtx[kPorts], hrx;
  Want want_tx[kPorts], want_host;
  for (unsigned p = 0; p < kPorts; p++) {
    Frames fs = rtltest::random_frames(rng, 1000, 5, (uint8_t)(0x20 + p));
    repl[p].add(fs);
    for (auto &f : fs) want_tx[p][(uint8_t)(0x20 + p)].push_back(f);
    BIND_SOURCE(repl[p], top.dut(), repl_port, p);
  }
  // The aggregator's frames go to port 0, port 1, the host, or nowhere (0x07 >= P); only the first
  // beat's tdest counts, so the others carry noise.
  const uint8_t kDests[] = {0, 1, kHost, 0x07};
  Frames afs = rtltest::random_frames(rng, 1500, 4, 0x30);
  unsigned dropped = 0;
  for (std::size_t f = 0; f < afs.size(); f++) {
    uint8_t d = kDests[rng() % 4];
    for (std::size_t k = 0; k < afs[f].size(); k++) afs[f][k].dest = k == 0 ? d : (uint8_t)rng();
    if (d < kPorts)
      want_tx[d][0x30].push_back(afs[f]);
    else if (d == kHost)
      want_host[0x30].push_back(afs[f]);
    else
      dropped++;
  }
  agg.add(afs);
  BIND_SOURCE(agg, top.dut(), agg_out, 0);
  // The peer monitor's single-beat frames: to port 0 or 1 by their own tdest, or dropped (0x07).
  Source peer;
  Frames kfs = rtltest::random_frames(rng, 600, 1, 0x50);
  unsigned peer_dropped = 0;
  for (auto &f : kfs) {
    uint8_t d = (uint8_t)(rng() % 5 == 0 ? 0x07 : rng() % kPorts);
    f[0].dest = d;
    if (d < kPorts)
      want_tx[d][0x50].push_back(f);
    else
      peer_dropped++;
  }
  peer.add(kfs);
  BIND_SOURCE(peer, top.dut(), peer_tx, 0);
  Frames pfs = rtltest::random_frames(rng, 800, 5, 0x40), rfs = rtltest::random_frames(rng, 800, 5, 0x41);
  phost.add(pfs);
  rhost.add(rfs);
  for (auto &f : pfs) want_host[0x40].push_back(f);
  for (auto &f : rfs) want_host[0x41].push_back(f);
  BIND_SOURCE(phost, top.dut(), parser_host, 0);
  BIND_SOURCE(rhost, top.dut(), repl_host, 0);
  for (unsigned p = 0; p < kPorts; p++) {
    mtx[p].dom = kMac;
    mtx[p].p_ready = 0.5;
    BIND_SINK(mtx[p], top.dut(), mac_tx, p);
  }
  hrx.p_ready = 0.5;
  BIND_SINK(hrx, top.dut(), host_rx, 0);
  for (Source *s : {&repl[0], &repl[1], &agg, &phost, &rhost, &peer}) s->p_valid = 0.6;
  top.sources = {&repl[0], &repl[1], &agg, &phost, &rhost, &peer};
  top.sinks = {&mtx[0], &mtx[1], &hrx};
  auto all_sent = [&] {
    for (Source *s : top.sources) {
      if (!s->done()) return false;
    }
    return true;
  };
  for (uint64_t guard = 0; !all_sent() && guard < 2000000; guard++) top.step();
  ASSERT_TRUE(all_sent()) << "a kernel output was never drained";
  top.run_kernel_clocks(500); // the FIFOs drain
  unsigned probes = 0;
  for (unsigned p = 0; p < kPorts; p++)
    probes += expect_frames(mtx[p].got, want_tx[p], "mac_tx[" + std::to_string(p) + "]");
  EXPECT_EQ(expect_frames(hrx.got, want_host, "host_rx"), 0u) << "no PROBE goes to the host";
  EXPECT_EQ(top.m->agg_dropped, dropped) << "aggregator frames with tdest 0x07 (P = 2)";
  EXPECT_EQ(top.m->peer_dropped, peer_dropped) << "peer-monitor beats with tdest 0x07 (P = 2)";
  std::printf("[fanout_nic_top] TX: %zu + %zu beats to the MACs, %zu to the host, %u agg frames dropped, %u PROBEs "
              "between frames\n",
              mtx[0].got.size(), mtx[1].got.size(), hrx.got.size(), dropped, probes);
}

struct LinkFixture {
  Top top{3};
  Source peer[kPorts]; // the peers' frames arriving on the MAC ports
  Sink parser, mtx[kPorts];
  bool alive[kPorts] = {true, true};
  static constexpr uint32_t kInterval = 200;

  LinkFixture() {
    EXPECT_EQ(top.write(regs::link::kInterval, kInterval), 0u);
    EXPECT_EQ(top.write(regs::nic::kNodeId, kNode), 0u);
    uint8_t mac[6];
    proto::cluster_mac(kNode, mac);
    EXPECT_EQ(top.write(regs::nic::kMacHi, (uint32_t)mac[0] << 8 | mac[1]), 0u);
    EXPECT_EQ(top.write(regs::nic::kMacLo, (uint32_t)mac[2] << 24 | mac[3] << 16 | mac[4] << 8 | mac[5]), 0u);
    EXPECT_EQ(top.write(regs::nic::kIpv4, proto::cluster_ipv4(kNode)), 0u);
    for (unsigned p = 0; p < kPorts; p++) {
      peer[p].dom = kMac;
      BIND_SOURCE(peer[p], top.dut(), mac_rx, p);
      mtx[p].dom = kMac;
      BIND_SINK(mtx[p], top.dut(), mac_tx, p);
    }
    BIND_SINK(parser, top.dut(), parser_in, 0);
    top.sources = {&peer[0], &peer[1]};
    top.sinks = {&parser, &mtx[0], &mtx[1]};
    // Each live peer sends a one-beat frame every ~interval / 2 (100 MAC clocks).
    top.on_mac_edge = [this] {
      if (top.mcycles % 100 != 0) return;
      for (unsigned p = 0; p < kPorts; p++) {
        if (!alive[p]) continue;
        Beat b;
        b.data.assign(64, 0);
        b.data[0] = (uint8_t)(0x50 + p);
        b.keep = ~0ull;
        b.last = true;
        peer[p].beats.push_back(b);
      }
    };
  }
};

TEST(FanoutNicTop, ProbeLeavesEveryIdleMacPortOncePerIntervalAndParses) {
  LinkFixture fx;
  Top &top = fx.top;
  top.run_kernel_clocks(2 * LinkFixture::kInterval); // the interval written above takes over
  for (Sink &s : fx.mtx) s.got.clear();
  top.run_kernel_clocks(10 * LinkFixture::kInterval);
  for (unsigned p = 0; p < kPorts; p++) {
    const auto &got = fx.mtx[p].got;
    ASSERT_GE(got.size(), 9u) << "port " << p << ": one PROBE per interval on an idle link";
    uint32_t first_seq = 0;
    for (std::size_t i = 0; i < got.size(); i++) {
      ASSERT_TRUE(is_probe(got[i].b)) << "port " << p << ": only PROBEs leave an idle port";
      EXPECT_EQ(got[i].b.dest, p);
      proto::ParsedPacket parsed;
      proto::ReceiverSet set;
      ASSERT_EQ(proto::parse_frame(got[i].b.data.data(), 64, proto::default_parse_config(), parsed, &set), proto::kOk);
      EXPECT_EQ(parsed.hdr.type, proto::kTypeProbe);
      EXPECT_EQ(parsed.hdr.sender, kNode) << "cfg_node_id, written over AXI-Lite";
      EXPECT_EQ(parsed.hdr.origin, kNode);
      EXPECT_EQ(parsed.hdr.message_id, p) << "the port it leaves on";
      EXPECT_EQ(parsed.ip_src, proto::cluster_ipv4(kNode));
      uint8_t mac[6];
      proto::cluster_mac(kNode, mac);
      EXPECT_EQ(0, std::memcmp(parsed.eth_src, mac, 6));
      if (i == 0) first_seq = parsed.hdr.sequence;
      EXPECT_EQ(parsed.hdr.sequence, first_seq + i) << "one sequence number per heartbeat";
      if (i > 0) {
        // Exactly interval kernel clocks apart when they leave the monitor; the crossing to the
        // MAC clock moves each by less than one MAC clock.
        int64_t gap = (int64_t)(got[i].ps - got[i - 1].ps);
        EXPECT_LE(std::llabs(gap - (int64_t)(LinkFixture::kInterval * kKernelPs)), (int64_t)kMacPs + 1)
            << "port " << p << " PROBE " << i;
      }
    }
    uint32_t sent = top.read(regs::link::probes_sent(p)).second;
    EXPECT_GE(sent, got.size()) << "link.probes_sent counts them";
    std::printf("[fanout_nic_top] port %u idle: %zu PROBEs in 10 intervals, gap %.1f kernel clocks (interval %u)\n", p,
                got.size(), (double)(got[1].ps - got[0].ps) / kKernelPs, LinkFixture::kInterval);
  }
  EXPECT_EQ(top.m->port_down, 0u) << "both peers alive";
  EXPECT_EQ(top.read(regs::link::kPortDown).second, 0u);
}

TEST(FanoutNicTop, SilentPeerAndPhyLinkDownMarkPortDown) {
  LinkFixture fx;
  Top &top = fx.top;
  const uint32_t T = LinkFixture::kInterval;
  top.run_kernel_clocks(4 * T);
  ASSERT_EQ(top.m->port_down, 0u);

  // Peer 1 goes silent: port 1 is down 3 intervals after its last frame reached the NIC.
  uint64_t down_at = 0;
  bool port0_fell = false;
  top.on_kernel_edge = [&] {
    if ((top.m->port_down & 2u) && !down_at) down_at = top.now;
    if (top.m->port_down & 1u) port0_fell = true;
  };
  fx.alive[1] = false;
  top.run_kernel_clocks(5 * T);
  ASSERT_NE(down_at, 0u) << "port 1 never marked down";
  EXPECT_FALSE(port0_fell) << "peer 0 is alive";
  double detect = (double)(down_at - fx.peer[1].last_fire_ps) / kKernelPs;
  std::printf("[fanout_nic_top] interval %u clocks: silent peer on port 1 marked down %.1f kernel clocks after its "
              "last beat entered mac_rx (3 x interval + 2 in link_monitor, the rest the RX crossing)\n",
              T, detect);
  EXPECT_GE(detect, 3.0 * T) << "two lost heartbeats are tolerated";
  EXPECT_LE(detect, 3.0 * T + 2 + 6) << "3 intervals + 2 clocks + the RX FIFO's crossing";
  EXPECT_EQ(top.read(regs::link::down_events(1)).second, 1u);
  EXPECT_EQ(top.read(regs::link::kPortDown).second, 2u);

  // Port 0's PHY reports the link down (a MAC-clock signal): marked down through the synchronizer.
  uint64_t phy_down_at = 0;
  top.on_kernel_edge = [&] {
    if ((top.m->port_down & 1u) && !phy_down_at) phy_down_at = top.now;
  };
  do top.step();
  while (!top.mac_edge || top.kernel_edge); // changed just after a MAC edge, as a MAC would
  uint64_t t_phy = top.now;
  top.m->mac_link_up = 2;
  std::size_t probes_before = fx.mtx[0].got.size();
  top.run_kernel_clocks(3 * T);
  ASSERT_NE(phy_down_at, 0u) << "port 0 never marked down";
  double phy_detect = (double)(phy_down_at - t_phy) / kKernelPs;
  std::printf("[fanout_nic_top] PHY link-down on port 0 in port_down after %.1f kernel clocks (2-flop synchronizer "
              "+ 1)\n",
              phy_detect);
  EXPECT_LE(phy_detect, 4.0);
  EXPECT_LE(fx.mtx[0].got.size() - probes_before, 1u) << "no heartbeat on a link that is down (one may be in flight)";
  EXPECT_EQ(top.read(regs::link::kLinkUp).second, 2u);
  EXPECT_EQ(top.read(regs::link::kPortDown).second, 3u);
  EXPECT_EQ(top.read(regs::link::down_events(0)).second, 1u);
}

TEST(FanoutNicTop, RegistersAreDiscoveredAndConfigurationFollowsWrites) {
  Top top(4);
  std::map<uint32_t, uint32_t> found; // type -> base
  uint32_t base = 0;
  for (int guard = 0; guard < 16; guard++) {
    auto type = top.read(base + regs::kBlockType);
    auto next = top.read(base + regs::kBlockNext);
    ASSERT_EQ(type.first, 0u);
    found[type.second] = base;
    if (next.second == 0) break;
    ASSERT_GT(next.second, base) << "the chain moves forward";
    base = next.second;
  }
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found.at(regs::nic::kType), regs::nic::kBase);
  EXPECT_EQ(found.at(regs::link::kType), regs::link::kBase);
  EXPECT_EQ(top.read(regs::nic::kPorts).second, kPorts);
  EXPECT_EQ(top.read(regs::link::kLinkUp).second, 3u) << "mac_link_up, synchronized";
  EXPECT_EQ(top.read(regs::link::kPortDown).second, 0u);
  top.m->eval();
  EXPECT_EQ(top.m->cfg_udp_port, proto::kDefaultUdpPort) << "reset value";

  EXPECT_EQ(top.write(regs::nic::kNodeId, 0x0203), 0u);
  EXPECT_EQ(top.write(regs::nic::kMacHi, 0x0211), 0u);
  EXPECT_EQ(top.write(regs::nic::kMacLo, 0x22334455), 0u);
  EXPECT_EQ(top.write(regs::nic::kIpv4, 0x0A000203), 0u);
  EXPECT_EQ(top.write(regs::nic::kUdpPort, 47200), 0u);
  EXPECT_EQ(top.write(regs::nic::kScratch, 0xDEADBEEF), 0u);
  top.m->eval();
  EXPECT_EQ(top.m->cfg_node_id, 0x0203u);
  EXPECT_EQ(top.m->cfg_mac, 0x021122334455ull) << "[47:40] is the first byte on the wire";
  EXPECT_EQ(top.m->cfg_ipv4, 0x0A000203u);
  EXPECT_EQ(top.m->cfg_udp_port, 47200u);
  EXPECT_EQ(top.read(regs::nic::kScratch).second, 0xDEADBEEFu);
  EXPECT_EQ(top.read(regs::nic::kNodeId).second, 0x0203u);
}

} // namespace
