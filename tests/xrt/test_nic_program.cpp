// The xrt backend's NIC programming (driver/src/xrt/nic_program.cpp) against the real kernels in
// C-simulation: under XRT's noop shim no register answers, so here a register file that acts on
// what it is given stands in for the card.
//
// ClockedRegisters (a fanout::driver::CardRegisters) holds one register file per compute unit
// (fanout_shell and the five free-running HLS kernels). A write stores the value, then clocks
// every HLS kernel once: each top is called with its scalar arguments read from its register file
// at the offsets of fanout/regs.hpp (arrays from consecutive words) and its streams, as the
// free-running kernels keep running while the host writes (so a tbl_seq write lands one table
// entry, table_write.hpp). A read returns the stored value, for a read-only register what the top
// last wrote. A kernel or offset regs.hpp does not name, a write to a read-only register or a
// value wider than the register fails with an error naming them. The shell (RTL, tested by
// tests/rtl) is a plain register file.
//
// Between the tops the streams are wired as the simulator wires the kernels
// (sim/include/fanout/sim/kernel_core.hpp; the arm tap, which has no registers, is modelled in
// place: an arm word moves when both its readers have room), and the replicator's MAC ports
// feed the egress signer as the shell's transmit ports do (constraints/alveo_design.yaml); the
// peer monitor's and the aggregator's frames are taken before the shell's arbiters.
//
// The tops keep their state in function-static objects: one programming per process. The suite
// programs the NIC once (SetUpTestSuite) and every TEST then observes it: each uses its own
// message ids and signature counters, and SetUp frees the peer monitor's slots (forget_id /
// forget_seq, through the registers) so that no test finds a head another one left declared down.
// Each TEST passes alone (--gtest_filter) or after the ones declared before it (ctest runs them
// all in one process, in this order; the rate test comes last because it empties a sender's
// token bucket).
#include "xrt/nic_program.hpp"

#include "fanout/driver/card.hpp"
#include "fanout/driver/cluster.hpp"
#include "fanout/regs.hpp"
#include "own_nic_frame.hpp" // after cluster.hpp (NodeId)

#include "ack_agg.hpp"
#include "auth_signer.hpp"
#include "parser.hpp"
#include "peer_monitor.hpp"
#include "replicator.hpp"

#include "fanout/hls/arm.hpp"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/hls/peer_state.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

// The kernels' synthesis tops (hls/<kernel>/<kernel>_top.cpp, linked from fanout::hls_<kernel>).
extern "C" void fanout_parser(hls::stream<fanout::hw::axis_word> &in, hls::stream<fanout::hw::axis_word> &out_fanout,
                              hls::stream<fanout::hw::ParsedMeta> &out_meta,
                              hls::stream<fanout::hw::axis_word> &out_host,
                              hls::stream<fanout::hw::ParsedMeta> &out_seen, uint16_t udp_port,
                              uint32_t error_counts[fanout::proto::kErrorCount], uint32_t *overflow_count,
                              uint32_t *bad_frame_count, uint32_t *seen_dropped, uint8_t auth_mode,
                              const uint32_t auth_key[4], uint32_t auth_counts[fanout::proto::kAuthCodeCount]);
extern "C" void
fanout_replicator(hls::stream<fanout::hw::ParsedMeta> &in_meta, hls::stream<fanout::hw::axis_word> &in_frame,
                  hls::stream<fanout::hw::axis_word> out_port[2], hls::stream<fanout::hw::axis_word> &out_host,
                  hls::stream<fanout::hw::ArmWord> &out_arm, hls::stream<fanout::hw::ParsedMeta> &out_fb_meta,
                  hls::stream<fanout::hw::axis_word> &out_fb, hls::stream<fanout::hw::PeerState> &peer_state,
                  uint16_t self_id, uint16_t self_mac_hi, uint32_t self_mac_lo, uint32_t self_ipv4, uint8_t mode,
                  uint8_t tree_fanout, uint16_t udp_port, hls::stream<ap_uint<8>> &port_down, uint32_t tbl_seq,
                  uint8_t tbl_kind, uint16_t tbl_index, uint16_t tbl_mac_hi, uint32_t tbl_mac_lo, uint32_t tbl_ipv4,
                  uint8_t tbl_port, uint8_t tbl_valid, uint32_t counters[fanout::hw::kReplCounterCount],
                  uint32_t policy_max_receivers, uint16_t policy_first_id, uint16_t policy_last_id,
                  uint32_t rate_bytes_per_tick, uint32_t rate_burst_bytes);
extern "C" void fanout_ack_agg(hls::stream<fanout::hw::ArmWord> &in_arm, hls::stream<fanout::hw::ParsedMeta> &in_meta,
                               hls::stream<fanout::hw::axis_word> &in_fb, hls::stream<fanout::hw::axis_word> &out,
                               uint16_t self_id, uint16_t self_mac_hi, uint32_t self_mac_lo, uint32_t self_ipv4,
                               uint16_t udp_port, uint32_t silent_timeout, uint32_t nack_window, uint32_t tbl_seq,
                               uint8_t tbl_kind, uint16_t tbl_index, uint16_t tbl_mac_hi, uint32_t tbl_mac_lo,
                               uint32_t tbl_ipv4, uint8_t tbl_port, uint8_t tbl_valid,
                               uint32_t counters[fanout::hw::kAggCntCount]);
extern "C" void fanout_peer_monitor(hls::stream<fanout::hw::ParsedMeta> &in_seen,
                                    hls::stream<fanout::hw::ArmWord> &in_watch,
                                    hls::stream<fanout::hw::axis_word> &out_probe,
                                    hls::stream<fanout::hw::PeerState> &out_state, uint16_t self_id,
                                    uint16_t self_mac_hi, uint32_t self_mac_lo, uint32_t self_ipv4, uint16_t udp_port,
                                    uint32_t interval, uint32_t misses, uint32_t idle, uint8_t disable,
                                    uint32_t forget_seq, uint16_t forget_id, uint32_t tbl_seq, uint8_t tbl_kind,
                                    uint16_t tbl_index, uint16_t tbl_mac_hi, uint32_t tbl_mac_lo, uint32_t tbl_ipv4,
                                    uint8_t tbl_port, uint8_t tbl_valid, uint32_t counters[fanout::hw::kPeerCntCount]);
extern "C" void fanout_auth_signer(hls::stream<fanout::hw::axis_word> in[2], hls::stream<fanout::hw::axis_word> out[2],
                                   uint8_t enable, uint16_t self_id, uint16_t udp_port, const uint32_t key[4],
                                   uint32_t counter_load, uint32_t counter_load_seq, uint32_t *next_counter,
                                   uint32_t counters[fanout::hw::kSignCntCount]);

namespace {

namespace proto = fanout::proto;
namespace hw = fanout::hw;
namespace regs = fanout::regs;
namespace drv = fanout::driver;
using hw::axis_word;
using Bytes = std::vector<uint8_t>;

// The register arrays the tops take, as long as regs.hpp says.
static_assert(regs::parser::kErrorCountsCount == proto::kErrorCount, "parser error_counts");
static_assert(regs::parser::kAuthCountsCount == proto::kAuthCodeCount, "parser auth_counts");
static_assert(regs::parser::kAuthKeyCount == 4 && regs::auth_signer::kKeyCount == 4, "key words");
static_assert(regs::replicator::kCountersCount == hw::kReplCounterCount, "replicator counters");
static_assert(regs::ack_agg::kCountersCount == hw::kAggCntCount, "ack_agg counters");
static_assert(regs::peer_monitor::kCountersCount == hw::kPeerCntCount, "peer_monitor counters");
static_assert(regs::auth_signer::kCountersCount == hw::kSignCntCount, "auth_signer counters");

constexpr const char *kShell = "fanout_shell";

std::string hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%03x", v);
  return b;
}

// A frame that left a kernel: its bytes, tdest, and the clock its last beat left in.
struct Frame {
  Bytes bytes;
  uint32_t dest = 0;
  uint64_t clock = 0;
};

// Beats of one output stream into frames.
struct Collector {
  std::vector<Frame> frames;
  Frame partial;
  bool open = false;
  void take(const axis_word &w, uint64_t clock) {
    if (!open) {
      partial = Frame();
      partial.dest = (uint32_t)w.dest.to_uint();
      open = true;
    }
    proto::Beat b = hw::to_beat(w);
    for (uint32_t i = 0; i < proto::kBeatBytes; i++)
      if ((b.keep >> i) & 1) partial.bytes.push_back(b.data[i]);
    if (b.last) {
      partial.clock = clock;
      frames.push_back(partial);
      open = false;
    }
  }
  void drain(hls::stream<axis_word> &s, uint64_t clock) {
    while (!s.empty()) take(s.read(), clock);
  }
};

// ---- The register file that acts ------------------------------------------------------------
class ClockedRegisters : public drv::CardRegisters {
 public:
  ClockedRegisters() {
    // The shell: its blocks' registers (nic, link), one address space.
    for (const regs::RegisterInfo &r : regs::kRegisters)
      for (uint32_t i = 0; i < r.count; i++)
        defs_[kShell][r.offset + 4 * i] = {32, r.access == regs::Access::kReadWrite};
    // The free-running HLS kernels (h2c and c2h are ap_ctrl_hs data movers, not programmed).
    for (const char *top : {regs::parser::kKernelName, regs::replicator::kKernelName, regs::ack_agg::kKernelName,
                            regs::peer_monitor::kKernelName, regs::auth_signer::kKernelName}) {
      const char *short_name = nullptr;
      for (const regs::KernelInfo &k : regs::kKernels)
        if (std::strcmp(k.top, top) == 0) short_name = k.name;
      EXPECT_NE(short_name, nullptr) << top;
      if (!short_name) continue;
      for (const regs::KernelRegisterInfo &r : regs::kKernelRegisters) {
        if (std::strcmp(r.kernel, short_name) != 0) continue;
        EXPECT_NE(r.kind, regs::KernelRegKind::kMaxiAddress) << top << " " << r.name;
        for (uint32_t i = 0; i < r.count; i++)
          defs_[top][r.offset + 4 * i] = {r.bits, r.access == regs::Access::kReadWrite};
      }
    }
  }

  bool read(const std::string &kernel, uint32_t offset, uint32_t *value, std::string *error) override {
    if (!known(kernel, offset, error)) return false;
    *value = files_[kernel][offset];
    return true;
  }

  bool write(const std::string &kernel, uint32_t offset, uint32_t value, std::string *error) override {
    if (!known(kernel, offset, error)) return false;
    const Def &d = defs_[kernel][offset];
    if (!d.writable) {
      *error = kernel + ": register at " + hex(offset) + " is read-only";
      return false;
    }
    if (d.bits < 32 && (value >> d.bits) != 0) {
      *error = kernel + ": value " + std::to_string(value) + " is wider than the " + std::to_string(d.bits) +
               "-bit register at " + hex(offset);
      return false;
    }
    files_[kernel][offset] = value;
    writes_++;
    clock();
    return true;
  }

  // One kernel clock: every HLS kernel's top is called once, in the simulator's order.
  void clock() {
    if (!to_parser_.empty() && !parser_in_.full()) {
      parser_in_.write(to_parser_.front());
      to_parser_.pop_front();
    }
    clock_parser();
    clock_replicator();
    // The arm tap (an AXI-Stream broadcaster): the replicator's arm words to both readers.
    if (!arm_raw_.empty() && !arm_.full() && !watch_.full()) {
      hw::ArmWord a = arm_raw_.read();
      arms.push_back({clock_, a});
      arm_.write(a);
      watch_.write(a);
    }
    clock_ack_agg();
    clock_peer_monitor();
    // The shell's transmit path: the replicator's MAC ports into the signer.
    for (int p = 0; p < 2; p++)
      if (!repl_port_[p].empty() && !sign_in_[p].full()) {
        axis_word w = repl_port_[p].read();
        copies[p].take(w, clock_);
        sign_in_[p].write(w);
      }
    clock_auth_signer();
    parser_host.drain(parser_host_, clock_);
    repl_host.drain(repl_host_, clock_);
    agg_out.drain(agg_out_, clock_);
    probes.drain(peer_probe_, clock_);
    for (int p = 0; p < 2; p++) wire[p].drain(sign_out_[p], clock_);
    clock_++;
  }
  void run(uint64_t clocks) {
    for (uint64_t i = 0; i < clocks; i++) clock();
  }

  // A frame into the parser (through the shell's receive arbiter): ingress port in tuser.
  void send(const Bytes &f, uint8_t ingress) {
    std::vector<proto::Beat> beats(proto::beats_for((uint32_t)f.size()));
    uint32_t n = proto::frame_to_beats(f.data(), (uint32_t)f.size(), beats.data(), (uint32_t)beats.size());
    EXPECT_EQ(n, beats.size());
    for (const proto::Beat &b : beats) to_parser_.push_back(hw::from_beat(b, 0, ingress));
  }
  size_t backlog() const { return to_parser_.size(); }

  // A register read that must work (test convenience).
  uint32_t reg(const std::string &kernel, uint32_t offset) {
    uint32_t v = 0;
    std::string error;
    EXPECT_TRUE(read(kernel, offset, &v, &error)) << error;
    return v;
  }

  void clear_outputs() {
    for (Collector *c : {&parser_host, &repl_host, &agg_out, &probes, &copies[0], &copies[1], &wire[0], &wire[1]})
      c->frames.clear();
    arms.clear();
  }

  uint64_t now() const { return clock_; }
  uint64_t writes() const { return writes_; }

  // What left the kernels (the edges of the stream graph).
  Collector parser_host, repl_host, agg_out, probes;
  Collector copies[2];                                // the replicator's MAC ports (into the signer)
  Collector wire[2];                                  // the signer's outputs (to the MACs)
  std::vector<std::pair<uint64_t, hw::ArmWord>> arms; // arm words through the tap, with their clock

 private:
  struct Def {
    uint32_t bits = 32;
    bool writable = false;
  };
  using File = std::map<uint32_t, uint32_t>; // byte offset -> value

  bool known(const std::string &kernel, uint32_t offset, std::string *error) {
    auto k = defs_.find(kernel);
    if (k == defs_.end()) {
      *error = "no compute unit of kernel '" + kernel + "'";
      return false;
    }
    if (!k->second.count(offset)) {
      *error = kernel + ": no register at " + hex(offset) + " (fanout/regs.hpp)";
      return false;
    }
    return true;
  }

  // ---- One call of each top: arguments from its register file at regs.hpp's offsets, in the
  // order of its signature; output pointers and arrays back into the file.
  void clock_parser() {
    namespace r = regs::parser;
    File &f = files_[r::kKernelName];
    uint32_t key[r::kAuthKeyCount], error_counts[r::kErrorCountsCount], auth_counts[r::kAuthCountsCount];
    for (uint32_t i = 0; i < r::kAuthKeyCount; i++) key[i] = f[r::auth_key(i)];
    uint32_t overflow = 0, bad_frame = 0, seen_dropped = 0;
    fanout_parser(parser_in_, p2r_frame_, p2r_meta_, parser_host_, seen_, (uint16_t)f[r::kUdpPort], error_counts,
                  &overflow, &bad_frame, &seen_dropped, (uint8_t)f[r::kAuthMode], key, auth_counts);
    f[r::kOverflowCount] = overflow;
    f[r::kBadFrameCount] = bad_frame;
    f[r::kSeenDropped] = seen_dropped;
    for (uint32_t i = 0; i < r::kErrorCountsCount; i++) f[r::error_counts(i)] = error_counts[i];
    for (uint32_t i = 0; i < r::kAuthCountsCount; i++) f[r::auth_counts(i)] = auth_counts[i];
  }

  void clock_replicator() {
    namespace r = regs::replicator;
    File &f = files_[r::kKernelName];
    uint32_t counters[r::kCountersCount];
    fanout_replicator(p2r_meta_, p2r_frame_, repl_port_, repl_host_, arm_raw_, fb_meta_, fb_, state_,
                      (uint16_t)f[r::kSelfId], (uint16_t)f[r::kSelfMacHi], f[r::kSelfMacLo], f[r::kSelfIpv4],
                      (uint8_t)f[r::kMode], (uint8_t)f[r::kTreeFanout], (uint16_t)f[r::kUdpPort], port_down_,
                      f[r::kTblSeq], (uint8_t)f[r::kTblKind], (uint16_t)f[r::kTblIndex], (uint16_t)f[r::kTblMacHi],
                      f[r::kTblMacLo], f[r::kTblIpv4], (uint8_t)f[r::kTblPort], (uint8_t)f[r::kTblValid], counters,
                      f[r::kPolicyMaxReceivers], (uint16_t)f[r::kPolicyFirstId], (uint16_t)f[r::kPolicyLastId],
                      f[r::kRateBytesPerTick], f[r::kRateBurstBytes]);
    for (uint32_t i = 0; i < r::kCountersCount; i++) f[r::counters(i)] = counters[i];
  }

  void clock_ack_agg() {
    namespace r = regs::ack_agg;
    File &f = files_[r::kKernelName];
    uint32_t counters[r::kCountersCount];
    fanout_ack_agg(arm_, fb_meta_, fb_, agg_out_, (uint16_t)f[r::kSelfId], (uint16_t)f[r::kSelfMacHi], f[r::kSelfMacLo],
                   f[r::kSelfIpv4], (uint16_t)f[r::kUdpPort], f[r::kSilentTimeout], f[r::kNackWindow], f[r::kTblSeq],
                   (uint8_t)f[r::kTblKind], (uint16_t)f[r::kTblIndex], (uint16_t)f[r::kTblMacHi], f[r::kTblMacLo],
                   f[r::kTblIpv4], (uint8_t)f[r::kTblPort], (uint8_t)f[r::kTblValid], counters);
    for (uint32_t i = 0; i < r::kCountersCount; i++) f[r::counters(i)] = counters[i];
  }

  void clock_peer_monitor() {
    namespace r = regs::peer_monitor;
    File &f = files_[r::kKernelName];
    uint32_t counters[r::kCountersCount];
    fanout_peer_monitor(seen_, watch_, peer_probe_, state_, (uint16_t)f[r::kSelfId], (uint16_t)f[r::kSelfMacHi],
                        f[r::kSelfMacLo], f[r::kSelfIpv4], (uint16_t)f[r::kUdpPort], f[r::kInterval], f[r::kMisses],
                        f[r::kIdle], (uint8_t)f[r::kDisable], f[r::kForgetSeq], (uint16_t)f[r::kForgetId],
                        f[r::kTblSeq], (uint8_t)f[r::kTblKind], (uint16_t)f[r::kTblIndex], (uint16_t)f[r::kTblMacHi],
                        f[r::kTblMacLo], f[r::kTblIpv4], (uint8_t)f[r::kTblPort], (uint8_t)f[r::kTblValid], counters);
    for (uint32_t i = 0; i < r::kCountersCount; i++) f[r::counters(i)] = counters[i];
  }

  void clock_auth_signer() {
    namespace r = regs::auth_signer;
    File &f = files_[r::kKernelName];
    uint32_t key[r::kKeyCount], counters[r::kCountersCount];
    for (uint32_t i = 0; i < r::kKeyCount; i++) key[i] = f[r::key(i)];
    uint32_t next_counter = 0;
    fanout_auth_signer(sign_in_, sign_out_, (uint8_t)f[r::kEnable], (uint16_t)f[r::kSelfId], (uint16_t)f[r::kUdpPort],
                       key, f[r::kCounterLoad], f[r::kCounterLoadSeq], &next_counter, counters);
    f[r::kNextCounter] = next_counter;
    for (uint32_t i = 0; i < r::kCountersCount; i++) f[r::counters(i)] = counters[i];
  }

  std::map<std::string, std::map<uint32_t, Def>> defs_; // kernel -> offset -> register
  std::map<std::string, File> files_;
  uint64_t clock_ = 0, writes_ = 0;
  std::deque<axis_word> to_parser_;

  // The stream graph (kernel_core.hpp): edges, then the streams between the kernels.
  hls::stream<axis_word> parser_in_, parser_host_, repl_port_[2], repl_host_, agg_out_, peer_probe_;
  hls::stream<axis_word> sign_in_[2], sign_out_[2];
  hls::stream<hw::ParsedMeta> p2r_meta_, seen_, fb_meta_;
  hls::stream<axis_word> p2r_frame_, fb_;
  hls::stream<hw::ArmWord> arm_raw_, arm_, watch_;
  hls::stream<hw::PeerState> state_;
  hls::stream<ap_uint<8>> port_down_; // the link monitor's word: never written (every port up)
};

// ---- The cluster ------------------------------------------------------------------------------
constexpr proto::NodeId kSelf = 2;
constexpr uint32_t kNodes = 6;
constexpr uint16_t kUdp = 47200; // not proto's default: the udp_port registers must carry it
const proto::NodeId kOthers[] = {0, 1, 3, 4, 5};
const uint8_t kKey[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                          0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
constexpr uint32_t kSilentUs = 50, kRateMbps = 600, kBurstBytes = 3000;

// Explicit addresses, nothing like proto's cluster plan (cluster_mac / cluster_ipv4).
void node_mac(proto::NodeId n, uint8_t mac[6]) {
  const uint8_t m[6] = {0x02, 0xa5, 0x17, 0x5e, (uint8_t)(0x40 + n), (uint8_t)(0x91 + 3 * n)};
  std::memcpy(mac, m, 6);
}
uint32_t node_ipv4(proto::NodeId n) {
  return 0xC0A80700u + 10 + n; // 192.168.7.(10 + n)
}

std::string cluster_yaml() {
  std::string y = "nodes:\n";
  for (uint32_t n = 0; n < kNodes; n++) {
    uint8_t m[6];
    node_mac((proto::NodeId)n, m);
    char line[160];
    std::snprintf(line, sizeof line, "  - {id: %u, address: 192.168.7.%u:%u, mac: %02x:%02x:%02x:%02x:%02x:%02x}\n", n,
                  10 + n, kUdp, m[0], m[1], m[2], m[3], m[4], m[5]);
    y += line;
  }
  y += "transport: {fanout: 2, auth: require, auth_key: 00112233445566778899aabbccddeeff, silent_timeout_us: " +
       std::to_string(kSilentUs) + ", max_receivers: 5, rate_mbps: " + std::to_string(kRateMbps) +
       ", rate_burst_bytes: " + std::to_string(kBurstBytes) + "}\n";
  return y;
}

// ---- Frames -----------------------------------------------------------------------------------
uint32_t g_message = 1000;                   // every frame its own message id
std::map<proto::NodeId, uint32_t> g_counter; // each origin's signature counter (starts at 1)

std::unique_ptr<proto::ReceiverSet> set_of(const std::vector<proto::NodeId> &ids) {
  auto s = std::make_unique<proto::ReceiverSet>();
  for (proto::NodeId id : ids) EXPECT_TRUE(s->append(id));
  return s;
}

// The first DATA packet of a message of `packets` packets from `from` (sender and origin) to this
// node's NIC, addressed with the cluster file's addresses. From this node's host it is addressed as
// the xrt backend addresses it (send(), own_nic_headers): from this node to itself.
Bytes data_frame(proto::NodeId from, const std::vector<proto::NodeId> &ids, uint32_t payload_len,
                 uint32_t *message = nullptr, uint32_t packets = 1) {
  uint32_t msg = g_message++;
  if (message) *message = msg;
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, from, from, msg, 0, packets * payload_len);
  h.flags = packets == 1 ? proto::kFlagLast : 0;
  proto::NetHeaders net = proto::cluster_net_headers(from, kSelf, from, msg);
  node_mac(kSelf, net.eth_dst);
  node_mac(from, net.eth_src);
  net.ip_src = node_ipv4(from);
  net.ip_dst = node_ipv4(kSelf);
  net.udp_dst_port = kUdp;
  if (from == kSelf) { // what the xrt backend writes (driver/src/own_nic_frame.hpp)
    uint8_t head[proto::kFanoutHeaderBytes], mac[6];
    proto::write_fanout_header(h, head);
    node_mac(kSelf, mac);
    net = drv::own_nic_headers(kSelf, mac, node_ipv4(kSelf), kUdp, head);
  }
  Bytes payload(payload_len);
  for (uint32_t i = 0; i < payload_len; i++) payload[i] = (uint8_t)(i * 7 + msg);
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(net, h, *set_of(ids), payload.data(), payload_len, proto::default_build_options(),
                               out.data(), (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return out;
}

// f signed as its origin signs it (proto::auth_append) with `key` and the origin's next counter.
Bytes sign(Bytes f, proto::NodeId origin, const uint8_t key[16]) {
  uint32_t n = (uint32_t)f.size(), len = 0;
  f.resize(n + proto::kAuthTrailerBytes);
  EXPECT_TRUE(proto::auth_append(f.data(), n, (uint32_t)f.size(), key, ++g_counter[origin], &len));
  f.resize(len);
  return f;
}

struct Parsed {
  int code = -1;
  proto::ParsedPacket pp{};
  std::unique_ptr<proto::ReceiverSet> set = std::make_unique<proto::ReceiverSet>();
  std::set<proto::NodeId> ids() const {
    std::set<proto::NodeId> s;
    for (uint32_t r = 0; r < set->range_count(); r++)
      for (uint32_t id = set->range(r).first; id <= set->range(r).last; id++) s.insert((proto::NodeId)id);
    return s;
  }
};
Parsed parse(const Bytes &f) {
  Parsed p;
  proto::ParseConfig cfg = proto::default_parse_config();
  cfg.udp_port = kUdp;
  p.code = proto::parse_frame(f.data(), (uint32_t)f.size(), cfg, p.pp, p.set.get());
  return p;
}

// Outer headers of a frame this NIC built for neighbour n: n's MAC and IPv4 from the cluster
// file, this node's as source, the configured UDP port.
void expect_addressed(const Parsed &p, proto::NodeId n) {
  uint8_t mac[6], self_mac[6];
  node_mac(n, mac);
  node_mac(kSelf, self_mac);
  EXPECT_EQ(std::memcmp(p.pp.eth_dst, mac, 6), 0) << "to node " << n;
  EXPECT_EQ(std::memcmp(p.pp.eth_src, self_mac, 6), 0) << "to node " << n;
  EXPECT_EQ(p.pp.ip_dst, node_ipv4(n));
  EXPECT_EQ(p.pp.ip_src, node_ipv4(kSelf));
  EXPECT_EQ(p.pp.udp_dst_port, kUdp);
}

proto::NodeId node_of_mac(const uint8_t mac[6]) {
  for (proto::NodeId n = 0; n < kNodes; n++) {
    uint8_t m[6];
    node_mac(n, m);
    if (std::memcmp(m, mac, 6) == 0) return n;
  }
  return 0xFFFF;
}

// ---- The suite: one programmed NIC ------------------------------------------------------------
class NicProgram : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    nic_ = new ClockedRegisters;
    drv::ClusterConfig cluster;
    ok_ = drv::parse_cluster(cluster_yaml(), "nic_program.yaml", &cluster, &error_) &&
          drv::xrt::nic_program_from_cluster(cluster, kSelf, &prog_, &error_) &&
          drv::xrt::program_nic(*nic_, prog_, &error_);
  }
  static void TearDownTestSuite() {
    delete nic_;
    nic_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(ok_) << error_;
    // Free the peer monitor's slots (a head left down by an earlier test would be skipped).
    namespace pm = regs::peer_monitor;
    for (proto::NodeId n : kOthers) {
      std::string error;
      uint32_t seq = nic().reg(pm::kKernelName, pm::kForgetSeq);
      ASSERT_TRUE(nic().write(pm::kKernelName, pm::kForgetId, n, &error)) << error;
      ASSERT_TRUE(nic().write(pm::kKernelName, pm::kForgetSeq, seq + 1, &error)) << error;
    }
    nic().run(400); // a few walks of the 64 slots; frames in flight leave
    nic().clear_outputs();
  }

  static ClockedRegisters &nic() { return *nic_; }
  uint32_t repl_counter(int i) { return nic().reg(regs::replicator::kKernelName, regs::replicator::counters(i)); }
  uint32_t auth_count(int code) { return nic().reg(regs::parser::kKernelName, regs::parser::auth_counts(code)); }

  static ClockedRegisters *nic_;
  static drv::xrt::NicProgram prog_;
  static bool ok_;
  static std::string error_;
};
ClockedRegisters *NicProgram::nic_ = nullptr;
drv::xrt::NicProgram NicProgram::prog_;
bool NicProgram::ok_ = false;
std::string NicProgram::error_;

// The shell is RTL (tests/rtl/test_fanout_regs.cpp): its register file holds what regs.hpp says.
TEST_F(NicProgram, ShellRegistersHoldThisNode) {
  uint8_t mac[6];
  node_mac(kSelf, mac);
  EXPECT_EQ(nic().reg(kShell, regs::nic::kNodeId), kSelf);
  EXPECT_EQ(nic().reg(kShell, regs::nic::kMacHi), (uint32_t)mac[0] << 8 | mac[1]);
  EXPECT_EQ(nic().reg(kShell, regs::nic::kMacLo),
            (uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5]);
  EXPECT_EQ(nic().reg(kShell, regs::nic::kIpv4), node_ipv4(kSelf));
  EXPECT_EQ(nic().reg(kShell, regs::nic::kUdpPort), kUdp);
  EXPECT_EQ(nic().reg(kShell, regs::link::kInterval), prog_.heartbeat_clocks);
  // What the program holds, against the cluster file's numbers.
  EXPECT_EQ(prog_.neighbours.size(), kNodes - 1);
  EXPECT_EQ(prog_.silent_timeout_clocks, kSilentUs * drv::xrt::kKernelMhz);
  EXPECT_EQ(nic().reg(regs::ack_agg::kKernelName, regs::ack_agg::kSilentTimeout), kSilentUs * 300);
  // 600 Mbit/s = 75 bytes per us = 0.25 bytes per 300 MHz clock = 16 bytes per 64 clocks.
  EXPECT_EQ(nic().reg(regs::replicator::kKernelName, regs::replicator::kRateBytesPerTick), 16u);
  EXPECT_EQ(nic().reg(regs::replicator::kKernelName, regs::replicator::kRateBurstBytes), kBurstBytes);
  EXPECT_GT(nic().writes(), 0u);
}

// A wrong kernel, offset, access or width fails, naming it.
TEST_F(NicProgram, RegisterFileRefusesWhatRegsHppDoesNotName) {
  std::string error;
  uint32_t v = 0;
  EXPECT_FALSE(nic().write("fanout_nope", 0x10, 1, &error));
  EXPECT_NE(error.find("fanout_nope"), std::string::npos) << error;
  EXPECT_FALSE(nic().write(regs::h2c::kKernelName, regs::h2c::kBeats, 1, &error)) << "not a programmed kernel";
  EXPECT_FALSE(nic().write(regs::parser::kKernelName, 0x014, 1, &error)) << "between udp_port and overflow_count";
  EXPECT_NE(error.find("0x014"), std::string::npos) << error;
  EXPECT_FALSE(nic().read(regs::parser::kKernelName, 0x000, &v, &error)) << "the control word of ap_ctrl_hs";
  EXPECT_FALSE(nic().write(kShell, 0x028, 1, &error)) << "past nic.scratch";
  EXPECT_FALSE(nic().write(regs::parser::kKernelName, regs::parser::auth_counts(1), 0, &error));
  EXPECT_NE(error.find("read-only"), std::string::npos) << error;
  EXPECT_FALSE(nic().write(kShell, regs::nic::kPorts, 2, &error));
  EXPECT_FALSE(nic().write(regs::replicator::kKernelName, regs::replicator::kTreeFanout, 256, &error));
  EXPECT_NE(error.find("8-bit"), std::string::npos) << error;
  EXPECT_TRUE(nic().read(regs::parser::kKernelName, regs::parser::auth_key(3), &v, &error)) << error;
  EXPECT_FALSE(nic().read(regs::parser::kKernelName, regs::parser::auth_key(4), &v, &error)) << "past auth_key[3]";
}

// A DATA message this node's host sends to {0, 1, 3, 4, 5}: F = 2 chunks {0, 1, 3} and {4, 5},
// each to its head on MAC port 0 at the head's addresses; the signer signs both with the key.
TEST_F(NicProgram, ReplicatorSendsHostDataAsTreeCopiesThatTheSignerSigns) {
  namespace as = regs::auth_signer;
  uint32_t signed_before = nic().reg(as::kKernelName, as::counters(hw::kSignCntSigned));
  uint32_t next_before = nic().reg(as::kKernelName, as::kNextCounter);
  uint32_t msg = 0;
  Bytes f = data_frame(kSelf, {0, 1, 3, 4, 5}, 300, &msg);
  nic().send(f, proto::kPortLocal); // the shell tags host frames with ingress kPortLocal
  for (int i = 0; i < 3000 && nic().wire[0].frames.size() < 2; i++) nic().clock();

  const std::map<proto::NodeId, std::set<proto::NodeId>> chunks = {{0, {0, 1, 3}}, {4, {4, 5}}};
  ASSERT_EQ(nic().copies[0].frames.size(), 2u);
  EXPECT_TRUE(nic().copies[1].frames.empty());
  EXPECT_TRUE(nic().repl_host.frames.empty()) << "this node is not a receiver";
  std::set<proto::NodeId> heads;
  for (const Frame &c : nic().copies[0].frames) {
    Parsed p = parse(c.bytes);
    ASSERT_EQ(p.code, proto::kOk);
    proto::NodeId head = node_of_mac(p.pp.eth_dst);
    ASSERT_TRUE(chunks.count(head)) << "copy to an unexpected MAC, node " << head;
    heads.insert(head);
    expect_addressed(p, head);
    EXPECT_EQ(c.dest, 0u);
    EXPECT_EQ(p.ids(), chunks.at(head));
    EXPECT_EQ(p.pp.hdr.type, proto::kTypeData);
    EXPECT_EQ(p.pp.hdr.message_id, msg);
    EXPECT_EQ(p.pp.hdr.sender, kSelf);
    EXPECT_EQ(p.pp.hdr.origin, kSelf);
    EXPECT_FALSE(p.pp.auth) << "the replicator does not sign";
    EXPECT_EQ(Bytes(c.bytes.begin() + p.pp.payload_offset, c.bytes.end()),
              Bytes(f.begin() + (f.size() - 300), f.end()));
  }
  EXPECT_EQ(heads.size(), 2u);

  // The signer, enabled with the key: both copies leave signed, and verify with that key only.
  ASSERT_EQ(nic().wire[0].frames.size(), 2u);
  const uint8_t wrong[16] = {1};
  for (size_t i = 0; i < 2; i++) {
    const Bytes &w = nic().wire[0].frames[i].bytes;
    Parsed p = parse(w);
    ASSERT_EQ(p.code, proto::kOk);
    EXPECT_TRUE(p.pp.auth);
    expect_addressed(p, node_of_mac(p.pp.eth_dst));
    auto window = std::make_unique<proto::ReplayWindow<>>();
    proto::AuthResult r;
    EXPECT_EQ(proto::auth_check(w.data(), (uint32_t)w.size(), p.pp, wrong, *window, r), proto::kAuthBadTag);
    EXPECT_EQ(proto::auth_check(w.data(), (uint32_t)w.size(), p.pp, kKey, *window, r), proto::kAuthOk);
    EXPECT_EQ(r.origin, kSelf);
    EXPECT_EQ(r.counter, next_before + i);
  }
  EXPECT_EQ(nic().reg(as::kKernelName, as::counters(hw::kSignCntSigned)), signed_before + 2);
  EXPECT_EQ(nic().reg(as::kKernelName, as::kNextCounter), next_before + 2);
}

// Authentication required, with the key: from the MAC side an unsigned DATA frame and one signed
// with another key are dropped; one signed with the key is relayed (local delivery, and F = 2
// copies of {3, 4, 5} to heads 3 and 5).
TEST_F(NicProgram, ParserRequiresTheKeyOnTheWire) {
  const uint8_t wrong[16] = {0xde, 0xad};
  uint32_t unsigned0 = auth_count(proto::kAuthUnsigned), bad0 = auth_count(proto::kAuthBadTag),
           ok0 = auth_count(proto::kAuthOk), data0 = repl_counter(hw::kCntDataIn);

  nic().send(data_frame(0, {2, 3, 4, 5}, 200), 0);
  nic().run(300);
  EXPECT_EQ(auth_count(proto::kAuthUnsigned), unsigned0 + 1);
  nic().send(sign(data_frame(0, {2, 3, 4, 5}, 200), 0, wrong), 0);
  nic().run(300);
  EXPECT_EQ(auth_count(proto::kAuthBadTag), bad0 + 1);
  EXPECT_EQ(repl_counter(hw::kCntDataIn), data0) << "nothing reached the replicator";
  EXPECT_TRUE(nic().copies[0].frames.empty());
  EXPECT_TRUE(nic().repl_host.frames.empty());

  uint32_t msg = 0;
  nic().send(sign(data_frame(0, {2, 3, 4, 5}, 200, &msg), 0, kKey), 0);
  for (int i = 0; i < 3000 && nic().wire[0].frames.size() < 2; i++) nic().clock();
  EXPECT_EQ(auth_count(proto::kAuthOk), ok0 + 1);
  EXPECT_EQ(repl_counter(hw::kCntDataIn), data0 + 1);
  ASSERT_EQ(nic().repl_host.frames.size(), 1u);
  Parsed local = parse(nic().repl_host.frames[0].bytes);
  EXPECT_EQ(local.pp.hdr.message_id, msg);
  const std::map<proto::NodeId, std::set<proto::NodeId>> chunks = {{3, {3, 4}}, {5, {5}}};
  ASSERT_EQ(nic().copies[0].frames.size(), 2u);
  for (const Frame &c : nic().copies[0].frames) {
    Parsed p = parse(c.bytes);
    ASSERT_EQ(p.code, proto::kOk);
    proto::NodeId head = node_of_mac(p.pp.eth_dst);
    ASSERT_TRUE(chunks.count(head)) << "copy to node " << head;
    expect_addressed(p, head);
    EXPECT_EQ(p.ids(), chunks.at(head));
    EXPECT_EQ(p.pp.hdr.sender, 0);
    EXPECT_EQ(p.pp.hdr.origin, kSelf) << "a relay's copies are its own";
  }
  // This node signs the relayed copies with its own counter.
  ASSERT_EQ(nic().wire[0].frames.size(), 2u);
  for (const Frame &w : nic().wire[0].frames) {
    Parsed p = parse(w.bytes);
    auto window = std::make_unique<proto::ReplayWindow<>>();
    proto::AuthResult r;
    EXPECT_EQ(proto::auth_check(w.bytes.data(), (uint32_t)w.bytes.size(), p.pp, kKey, *window, r), proto::kAuthOk);
    EXPECT_EQ(r.origin, kSelf);
  }
}

// The policy registers (max_receivers 5, ids 0..5): refused sets are dropped whole and counted.
TEST_F(NicProgram, ReplicatorAppliesTheClusterPolicy) {
  uint32_t many0 = repl_counter(hw::kCntPolicyTooManyReceivers), unknown0 = repl_counter(hw::kCntPolicyUnknownId),
           loop0 = repl_counter(hw::kCntPolicyLoop), data0 = repl_counter(hw::kCntDataIn);
  nic().send(sign(data_frame(1, {0, 2, 3, 4, 5, 6}, 64), 1, kKey), 0); // 6 ids
  nic().send(sign(data_frame(1, {2, 9}, 64), 1, kKey), 0);             // 9 is not in the cluster
  nic().send(sign(data_frame(1, {1, 2}, 64), 1, kKey), 0);             // names its sender
  nic().run(600);
  EXPECT_EQ(repl_counter(hw::kCntDataIn), data0 + 3);
  EXPECT_EQ(repl_counter(hw::kCntPolicyTooManyReceivers), many0 + 1);
  EXPECT_EQ(repl_counter(hw::kCntPolicyUnknownId), unknown0 + 1);
  EXPECT_EQ(repl_counter(hw::kCntPolicyLoop), loop0 + 1);
  EXPECT_TRUE(nic().copies[0].frames.empty());
  EXPECT_TRUE(nic().repl_host.frames.empty());
}

// The peer monitor's neighbour table and self: a copy of a multi-packet message (one-packet
// messages are not watched) to each neighbour makes it a watched head; silent, it is probed at its
// own MAC and IPv4, from this node, on the configured port.
TEST_F(NicProgram, PeerMonitorProbesEachNeighbourAtItsAddress) {
  for (proto::NodeId n : kOthers) nic().send(data_frame(kSelf, {n}, 64, nullptr, 4), proto::kPortLocal);
  std::set<proto::NodeId> probed;
  size_t seen = 0;
  for (int i = 0; i < 6000 && probed.size() < 5; i++) {
    nic().clock();
    for (; seen < nic().probes.frames.size(); seen++) {
      Parsed p = parse(nic().probes.frames[seen].bytes);
      if (p.code == proto::kOk && proto::is_peer_probe(p.pp.hdr.type, p.pp.hdr.hops_left) &&
          !(p.pp.hdr.flags & proto::kFlagReply))
        probed.insert(node_of_mac(p.pp.eth_dst));
    }
  }
  // Every neighbour entry of the replicator too: one copy each, at its address.
  ASSERT_EQ(nic().copies[0].frames.size(), 5u);
  for (const Frame &c : nic().copies[0].frames) {
    Parsed p = parse(c.bytes);
    ASSERT_EQ(p.code, proto::kOk);
    proto::NodeId n = node_of_mac(p.pp.eth_dst);
    expect_addressed(p, n);
    EXPECT_EQ(p.ids(), std::set<proto::NodeId>{n});
  }
  EXPECT_EQ(probed, std::set<proto::NodeId>(std::begin(kOthers), std::end(kOthers)));
  for (const Frame &f : nic().probes.frames) {
    Parsed p = parse(f.bytes);
    ASSERT_EQ(p.code, proto::kOk);
    expect_addressed(p, node_of_mac(p.pp.eth_dst));
    EXPECT_EQ(p.pp.hdr.sender, kSelf);
    EXPECT_EQ(p.pp.hdr.origin, kSelf);
    EXPECT_EQ(f.dest, 0u) << "through MAC port 0";
  }
}

// The ACK aggregator's neighbour table, self and silent timeout: DATA from each neighbour for this
// node alone arms the local child with that neighbour as parent; the host never ACKs, so after
// silent_timeout_us (50 us = 15,000 clocks, plus at most one table walk of 4,096 clocks) a NACK
// with kFlagSilent goes to the neighbour at its address.
TEST_F(NicProgram, AckAggReportsSilenceToEachParentAfterTheTimeout) {
  std::map<proto::NodeId, uint32_t> msg;
  for (proto::NodeId n : kOthers) {
    uint32_t m = 0;
    nic().send(sign(data_frame(n, {kSelf}, 64, &m), n, kKey), 0);
    msg[n] = m;
  }
  const uint64_t silent = (uint64_t)kSilentUs * 300, walk = 1024 * 4;
  std::map<proto::NodeId, Frame> report;
  uint64_t end = nic().now() + silent + walk + 2000;
  size_t seen = 0;
  while (nic().now() < end && report.size() < 5) {
    nic().clock();
    for (; seen < nic().agg_out.frames.size(); seen++) {
      const Frame &f = nic().agg_out.frames[seen];
      Parsed p = parse(f.bytes);
      if (p.code != proto::kOk || p.pp.hdr.type != proto::kTypeNack || !(p.pp.hdr.flags & proto::kFlagSilent)) continue;
      for (proto::NodeId n : kOthers)
        if (p.pp.hdr.sender == n && p.pp.hdr.message_id == msg[n] && !report.count(n)) report[n] = f;
    }
  }
  ASSERT_EQ(report.size(), 5u);
  for (proto::NodeId n : kOthers) {
    SCOPED_TRACE("parent " + std::to_string(n));
    Parsed p = parse(report[n].bytes);
    expect_addressed(p, n);
    EXPECT_EQ(report[n].dest, 0u);
    EXPECT_EQ(p.pp.hdr.origin, kSelf);
    EXPECT_EQ(p.ids(), std::set<proto::NodeId>{kSelf}) << "the silent child: this node's host";
    uint64_t armed = 0;
    for (const auto &a : nic().arms)
      if (a.second.key.sender == n && a.second.key.message_id == msg[n]) armed = a.first;
    ASSERT_NE(armed, 0u);
    EXPECT_GE(report[n].clock - armed, silent) << "not before silent_timeout_us";
    EXPECT_LE(report[n].clock - armed, silent + walk + 64) << "within one table walk after it";
  }
}

// rate_mbps 600 = 16 payload bytes per 64 kernel clocks, bucket rate_burst_bytes: a sender
// offering far more gets its bucket, then that rate. (It leaves node 5's bucket empty; SetUp's 400
// clocks refill 100 bytes, more than a later test's frame from node 5 carries.)
TEST_F(NicProgram, ReplicatorLimitsASenderToRateMbps) {
  constexpr uint32_t kPayload = 100;
  auto offer = [&] {
    if (nic().backlog() < 8) nic().send(sign(data_frame(5, {kSelf}, kPayload), 5, kKey), 0);
    nic().clock();
  };
  uint32_t limited0 = repl_counter(hw::kCntPolicyRateLimited);
  for (int i = 0; i < 20000 && repl_counter(hw::kCntPolicyRateLimited) == limited0; i++) offer();
  ASSERT_GT(repl_counter(hw::kCntPolicyRateLimited), limited0) << "the bucket never ran out";
  uint32_t delivered0 = repl_counter(hw::kCntLocalDeliveries), limited1 = repl_counter(hw::kCntPolicyRateLimited);
  const uint64_t window = 16000;
  for (uint64_t i = 0; i < window; i++) offer();
  uint32_t delivered = repl_counter(hw::kCntLocalDeliveries) - delivered0;
  // kRateMbps * 1e6 / 8 bytes per second at 300 MHz: 0.25 bytes per clock, 40 frames.
  const double expected = (double)kRateMbps * 1e6 / 8 * ((double)window / 300e6) / kPayload;
  EXPECT_NEAR((double)delivered, expected, 2.0);
  EXPECT_GT(repl_counter(hw::kCntPolicyRateLimited) - limited1, 10 * delivered) << "offered far above the rate";
}

} // namespace
