// FanoutSwitch (port mode, kernels behind frame-level ports): replication to the ports of a
// DATA frame's set, ACK aggregation back to the sender, malformed and bad-FCS frames dropped and
// counted, PROBE heartbeats on idle ports, backpressure from a slow link (nothing lost) and RX
// queue drops under sustained overload.
#include "sim_test.hpp"

#include <memory>
#include <string>

#include "fanout/proto/packet.hpp"
#include "fanout/sim/fanout_switch.hpp"

#include "ack_agg.hpp"
#include "replicator.hpp"

namespace fanout {
namespace sim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;
using test::RecordingSink;
using Bytes = std::vector<uint8_t>;

const proto::NodeId kSwitch = 0xF000;

uint8_t payload_byte(uint32_t seq, uint32_t i) {
  return (uint8_t)(seq * 7 + i * 13);
}

// DATA packet `seq` of an `npackets`-packet message from host `from` (its own origin) to the
// switch, set `ids`, `payload` bytes per packet.
Bytes data_frame(proto::NodeId from, uint32_t msg, uint32_t seq, uint32_t npackets, uint32_t payload,
                 const std::vector<proto::NodeId> &ids) {
  auto set = std::make_unique<proto::ReceiverSet>();
  for (proto::NodeId id : ids) EXPECT_TRUE(set->append(id));
  Bytes body(payload);
  for (uint32_t i = 0; i < payload; i++) body[i] = payload_byte(seq, i);
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, from, from, msg, seq, payload * npackets);
  if (seq + 1 == npackets) h.flags = proto::kFlagLast;
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  int err = proto::build_frame(proto::cluster_net_headers(from, kSwitch, from, msg), h, *set, body.data(), payload,
                               proto::default_build_options(), out.data(), (uint32_t)out.size(), &len);
  EXPECT_EQ(err, proto::kOk);
  out.resize(len);
  return out;
}

// A receiver's ACK (as a NIC sends it): the whole message (`packets`) for itself alone.
Bytes ack_frame(proto::NodeId from, proto::NodeId sender, uint32_t msg, uint32_t packets) {
  auto set = std::make_unique<proto::ReceiverSet>();
  EXPECT_TRUE(set->append(from));
  proto::FanoutHeader h = proto::make_header(proto::kTypeAck, sender, from, msg, packets, 1);
  proto::BuildOptions opt = proto::default_build_options();
  opt.encoding = proto::kSetRanges;
  opt.udp_checksum = true; // an endpoint may
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  int err = proto::build_frame(proto::cluster_net_headers(from, kSwitch, sender, msg), h, *set, nullptr, 0, opt,
                               out.data(), (uint32_t)out.size(), &len);
  EXPECT_EQ(err, proto::kOk);
  out.resize(len);
  return out;
}

// A NIC link monitor's PROBE (as sim/switch.cpp builds them).
Bytes probe_frame(proto::NodeId from, uint32_t seq) {
  proto::NetHeaders net = proto::cluster_net_headers(from, from, from, 0);
  for (int i = 0; i < 6; i++) net.eth_dst[i] = 0xff;
  net.ip_dst = 0xFFFFFFFFu;
  proto::FanoutHeader h = proto::make_header(proto::kTypeProbe, from, from, 0, seq, 0);
  h.hops_left = 0;
  proto::BasicReceiverSet<1> none;
  Bytes out(proto::kFixedHeadersBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(net, h, none, nullptr, 0, proto::default_build_options(), out.data(),
                               (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return out;
}

struct Parsed {
  int code = -1;
  proto::ParsedPacket pkt{};
  std::unique_ptr<proto::ReceiverSet> set = std::make_unique<proto::ReceiverSet>();
  Bytes payload;
};
Parsed parse(const Bytes &b) {
  Parsed p;
  p.code = proto::parse_frame(b.data(), (uint32_t)b.size(), proto::default_parse_config(), p.pkt, p.set.get());
  if (p.code == proto::kOk) {
    p.payload.assign(b.begin() + p.pkt.payload_offset, b.begin() + p.pkt.payload_offset + p.pkt.payload_len);
  }
  return p;
}
bool set_is(const proto::ReceiverSet &s, const std::vector<proto::NodeId> &ids) {
  if (s.size() != ids.size()) return false;
  for (proto::NodeId id : ids) {
    if (!s.contains(id)) return false;
  }
  return true;
}

// Hosts 1..n on ports 0..n-1 of one FanoutSwitch (each host is side 0 of its link): port routes
// id n -> port n-1, port peers port n-1 -> n, neighbours n -> port n-1 at cluster addresses.
struct Rack {
  Rack(const FanoutSwitchConfig &cfg, const std::vector<LinkConfig> &lcs = {}) : sw("fsw", cfg) {
    for (uint32_t p = 0; p < cfg.ports; p++) {
      LinkConfig lc = p < lcs.size() ? lcs[p] : LinkConfig();
      links.push_back(std::make_unique<Link>(sc_core::sc_gen_unique_name("link"), lc));
      hosts.push_back(std::make_unique<RecordingSink>());
      links[p]->attach(0, hosts[p].get());
      sw.connect(p, *links[p], 1);
      proto::NodeId n = host(p);
      sw.set_port_route(n, (uint8_t)p);
      sw.set_port_peer((uint8_t)p, n);
      sw.set_neighbour(n, (uint8_t)p, cluster_mac48(n), proto::cluster_ipv4(n));
    }
  }
  static proto::NodeId host(uint32_t p) { return (proto::NodeId)(p + 1); }
  // Host on port p sends a frame, waiting for its transmitter (process context).
  void send(uint32_t p, Bytes bytes, bool fcs_bad = false) {
    Link &l = *links[p];
    while (l.busy(0)) sc_core::wait(l.ready_event(0));
    Frame f = make_frame(std::move(bytes));
    f.fcs_bad = fcs_bad;
    l.send(0, std::move(f));
  }
  FanoutSwitch sw;
  std::vector<std::unique_ptr<Link>> links;
  std::vector<std::unique_ptr<RecordingSink>> hosts;
};

TEST(SimFanoutSwitch, ReplicatesToThePortsOfTheSet) {
  FANOUT_SIM_OWN_WORLD();
  FanoutSwitchConfig cfg;
  Rack rack(cfg);
  EXPECT_THROW(rack.sw.set_port_route(9, 4), std::out_of_range);
  EXPECT_THROW(rack.sw.set_port_peer(7, 9), std::out_of_range);
  EXPECT_THROW(rack.sw.set_neighbour(9, 0, kBroadcastMac, 0), std::invalid_argument);
  const Bytes sent = data_frame(1, 7, 0, 1, 1000, {2, 3, 4});
  test::spawn_thread("h1", [&] { rack.send(0, sent); });
  sc_core::sc_start(20, SC_US);

  Parsed in = parse(sent);
  ASSERT_EQ(in.code, proto::kOk);
  EXPECT_TRUE(rack.hosts[0]->got.empty()) << "nothing goes back out of the ingress port";
  const Mac48 sw_mac = cluster_mac48(kSwitch);
  sc_time prev;
  for (uint32_t p = 1; p < 4; p++) {
    proto::NodeId n = Rack::host(p);
    ASSERT_EQ(rack.hosts[p]->got.size(), 1u) << "host " << n;
    const auto &a = rack.hosts[p]->got[0];
    Parsed c = parse(a.frame.bytes);
    ASSERT_EQ(c.code, proto::kOk) << proto::error_name(c.code);
    EXPECT_EQ(c.pkt.hdr.type, proto::kTypeData);
    EXPECT_TRUE(set_is(*c.set, {n})) << "host " << n;
    EXPECT_EQ(c.pkt.hdr.origin, kSwitch);
    EXPECT_EQ(c.pkt.hdr.sender, 1);
    EXPECT_EQ(c.pkt.hdr.message_id, 7u);
    EXPECT_EQ(c.pkt.hdr.sequence, 0u);
    EXPECT_EQ(c.pkt.hdr.length, 1000u);
    EXPECT_EQ(c.pkt.hdr.flags, proto::kFlagLast);
    EXPECT_EQ(c.pkt.hdr.hops_left, in.pkt.hdr.hops_left - 1);
    EXPECT_EQ(c.payload, in.payload);
    const Mac48 dst = cluster_mac48(n);
    for (int i = 0; i < 6; i++) {
      EXPECT_EQ(c.pkt.eth_dst[i], dst[i]);
      EXPECT_EQ(c.pkt.eth_src[i], sw_mac[i]);
    }
    EXPECT_EQ(c.pkt.ip_src, proto::cluster_ipv4(kSwitch));
    EXPECT_EQ(c.pkt.ip_dst, proto::cluster_ipv4(n));
    EXPECT_EQ(c.pkt.udp_dst_port, cfg.udp_port);
    // Cycle-level latency: link in + kernel cycles + link out. The copies leave one after the
    // other (one replay engine), in port order.
    const Link &l = *rack.links[p];
    sc_time wires = rack.links[0]->serialization((uint32_t)sent.size()) +
                    l.serialization((uint32_t)a.frame.bytes.size()) + 2 * l.config().delay;
    ASSERT_GT(a.at, wires);
    double cycles = (a.at - wires) / rack.sw.kernel_period();
    std::printf("copy to host %u: %.1f kernel cycles inside the node\n", n, cycles);
    EXPECT_GT(cycles, 17.0) << "at least the frame's 17 beats in";
    EXPECT_LT(cycles, 200.0);
    EXPECT_GT(a.at, prev);
    prev = a.at;
    EXPECT_EQ(rack.sw.stats(p).frames_out, 1u);
    EXPECT_EQ(rack.sw.stats(p).copies_out, 1u);
    EXPECT_EQ(rack.sw.stats(p).bytes_out, a.frame.bytes.size());
  }
  const FanoutSwitchPortStats &s0 = rack.sw.stats(0);
  EXPECT_EQ(s0.frames_in, 1u);
  EXPECT_EQ(s0.bytes_in, sent.size());
  EXPECT_EQ(s0.frames_out, 0u);
  FanoutSwitch::KernelStats k = rack.sw.kernel_stats();
  EXPECT_EQ(k.parse_codes[proto::kOk], 1u);
  EXPECT_EQ(k.replicator[hw::kCntDataIn], 1u);
  EXPECT_EQ(k.replicator[hw::kCntCopiesSent], 3u);
  EXPECT_EQ(k.replicator[hw::kCntArmWords], 3u);
  EXPECT_EQ(k.replicator[hw::kCntLoopedIds], 0u);
  EXPECT_EQ(k.replicator[hw::kCntUnroutableCopies], 0u);
  EXPECT_EQ(k.ack_agg[hw::kAggCntArmed], 1u);
  EXPECT_EQ(k.parser_in_beats, proto::beats_for((uint32_t)sent.size()));
  EXPECT_EQ(k.host_frames, 0u);
  // One step per period from t = 0.
  double clocks = sc_core::sc_time_stamp() / rack.sw.kernel_period();
  EXPECT_NEAR((double)k.kernel_cycles, clocks, 1.5);
  EXPECT_TRUE(rack.sw.idle());
}

TEST(SimFanoutSwitch, AggregatesTheReceiversAcksIntoOne) {
  FANOUT_SIM_OWN_WORLD();
  FanoutSwitchConfig cfg;
  Rack rack(cfg);
  const uint32_t kMsg = 42;
  bool early_check_done = false;
  size_t host1_before_last_ack = 99;
  test::spawn_thread("hosts", [&] {
    rack.send(0, data_frame(1, kMsg, 0, 1, 600, {2, 3, 4}));
    sc_core::wait(10, SC_US); // every copy delivered
    rack.send(1, ack_frame(2, 1, kMsg, 1));
    rack.send(3, ack_frame(4, 1, kMsg, 1));
    sc_core::wait(10, SC_US);
    host1_before_last_ack = rack.hosts[0]->got.size();
    early_check_done = true;
    rack.send(2, ack_frame(3, 1, kMsg, 1));
  });
  sc_core::sc_start(40, SC_US);

  ASSERT_TRUE(early_check_done);
  EXPECT_EQ(host1_before_last_ack, 0u) << "no ACK upstream while a child has not reported";
  for (uint32_t p = 1; p < 4; p++) EXPECT_EQ(rack.hosts[p]->got.size(), 1u);
  ASSERT_EQ(rack.hosts[0]->got.size(), 1u) << "exactly one aggregated ACK";
  Parsed a = parse(rack.hosts[0]->got[0].frame.bytes);
  ASSERT_EQ(a.code, proto::kOk) << proto::error_name(a.code);
  EXPECT_EQ(a.pkt.hdr.type, proto::kTypeAck);
  EXPECT_EQ(a.pkt.hdr.sender, 1);
  EXPECT_EQ(a.pkt.hdr.origin, kSwitch);
  EXPECT_EQ(a.pkt.hdr.message_id, kMsg);
  EXPECT_EQ(a.pkt.hdr.sequence, 1u);
  EXPECT_EQ(a.pkt.hdr.length, 3u);
  EXPECT_TRUE(set_is(*a.set, {2, 3, 4}));
  const Mac48 dst = cluster_mac48(1);
  for (int i = 0; i < 6; i++) EXPECT_EQ(a.pkt.eth_dst[i], dst[i]);
  EXPECT_EQ(a.pkt.ip_dst, proto::cluster_ipv4(1));
  EXPECT_EQ(rack.sw.stats(0).feedback_out, 1u);
  EXPECT_EQ(rack.sw.stats(0).copies_out, 0u);
  for (uint32_t p = 1; p < 4; p++) EXPECT_EQ(rack.sw.stats(p).frames_in, 1u);
  FanoutSwitch::KernelStats k = rack.sw.kernel_stats();
  EXPECT_EQ(k.replicator[hw::kCntAckIn], 3u);
  EXPECT_EQ(k.replicator[hw::kCntFeedbackForwarded], 3u);
  EXPECT_EQ(k.ack_agg[hw::kAggCntAcksIn], 3u);
  EXPECT_EQ(k.ack_agg[hw::kAggCntAcksMerged], 3u);
  EXPECT_EQ(k.ack_agg[hw::kAggCntAcksEmitted], 1u);
  EXPECT_EQ(k.ack_agg[hw::kAggCntAcksPassed], 0u);
  EXPECT_EQ(k.ack_agg[hw::kAggCntEntriesCompleted], 1u);
  EXPECT_EQ(k.ack_agg[hw::kAggCntEntriesInUse], 0u);
  EXPECT_EQ(k.ack_agg[hw::kAggCntFramesOut], 1u);
  EXPECT_EQ(k.agg_no_port, 0u);
  EXPECT_TRUE(rack.sw.idle());
}

TEST(SimFanoutSwitch, ReportsASilentChildAndAggregatesTheOthers) {
  FANOUT_SIM_OWN_WORLD();
  FanoutSwitchConfig cfg;
  cfg.silent_timeout_clocks = 3000; // 10 us; a table walk (4,096 slots, one per idle clock) adds up to 13.7 us
  Rack rack(cfg);
  const uint32_t kMsg = 43;
  test::spawn_thread("hosts", [&] {
    rack.send(0, data_frame(1, kMsg, 0, 1, 600, {2, 3, 4}));
    sc_core::wait(2, SC_US);
    rack.send(1, ack_frame(2, 1, kMsg, 1));
    rack.send(2, ack_frame(3, 1, kMsg, 1)); // host 4 stays silent
  });
  sc_core::sc_start(60, SC_US);

  const auto &got = rack.hosts[0]->got;
  ASSERT_EQ(got.size(), 2u) << "a silent NACK for host 4, then the ACK of the others";
  Parsed nack = parse(got[0].frame.bytes);
  ASSERT_EQ(nack.code, proto::kOk);
  EXPECT_EQ(nack.pkt.hdr.type, proto::kTypeNack);
  EXPECT_EQ(nack.pkt.hdr.flags & proto::kFlagSilent, proto::kFlagSilent);
  EXPECT_EQ(nack.pkt.hdr.origin, kSwitch);
  EXPECT_TRUE(set_is(*nack.set, {4}));
  Parsed ack = parse(got[1].frame.bytes);
  ASSERT_EQ(ack.code, proto::kOk);
  EXPECT_EQ(ack.pkt.hdr.type, proto::kTypeAck);
  EXPECT_EQ(ack.pkt.hdr.length, 2u);
  EXPECT_TRUE(set_is(*ack.set, {2, 3}));
  sc_time heard = rack.hosts[2]->got[0].at; // about when the last child spoke
  EXPECT_GT(got[0].at, heard + 3000 * rack.sw.kernel_period());
  EXPECT_LT(got[0].at, heard + 3000 * rack.sw.kernel_period() + sc_time(16, SC_US));
  FanoutSwitch::KernelStats k = rack.sw.kernel_stats();
  EXPECT_EQ(k.ack_agg[hw::kAggCntSilentReported], 1u);
  EXPECT_EQ(k.ack_agg[hw::kAggCntEntriesInUse], 0u);
  EXPECT_EQ(rack.sw.stats(0).feedback_out, 2u);
}

TEST(SimFanoutSwitch, MalformedAndBadFcsFramesAreDroppedAndCounted) {
  FANOUT_SIM_OWN_WORLD();
  FanoutSwitchConfig cfg;
  Rack rack(cfg);
  Bytes truncated = data_frame(1, 1, 0, 1, 500, {2});
  truncated.resize(30); // ends inside the IPv4 header
  Bytes bad_enc = data_frame(1, 2, 0, 1, 500, {2, 3});
  bad_enc[proto::kFanoutOffset + proto::kFoSetEncOff] = 0x0F; // no such encoding (not checksummed)
  Bytes not_fanout = data_frame(1, 3, 0, 1, 500, {2});
  proto::store_be16(not_fanout.data() + proto::kUdpDstPortOff, 9999); // UDP checksum is 0: still valid
  const Bytes good = data_frame(1, 5, 0, 1, 500, {2});
  test::spawn_thread("h1", [&] {
    rack.send(0, truncated);
    rack.send(0, bad_enc);
    rack.send(0, data_frame(1, 4, 0, 1, 500, {2}), true); // a link flipped a bit
    rack.send(0, not_fanout);
    rack.send(0, good); // the parser resynchronized: this one goes through
  });
  sc_core::sc_start(20, SC_US);

  FanoutSwitch::KernelStats k = rack.sw.kernel_stats();
  EXPECT_EQ(k.parse_codes[proto::kTruncated], 1u);
  EXPECT_EQ(k.parse_codes[proto::kBadSetEncoding], 1u);
  EXPECT_EQ(k.parse_codes[proto::kNotFanout], 1u);
  EXPECT_EQ(k.parse_codes[proto::kOk], 1u);
  EXPECT_EQ(k.parser_bad_frames, 1u);
  EXPECT_EQ(k.parser_overflow, 0u);
  EXPECT_EQ(k.replicator[hw::kCntDataIn], 1u);
  EXPECT_EQ(k.host_frames, 1u) << "the non-Fanout frame, for the absent host";
  const FanoutSwitchPortStats &s0 = rack.sw.stats(0);
  EXPECT_EQ(s0.frames_in, 5u);
  EXPECT_EQ(s0.drops_fcs, 1u);
  EXPECT_EQ(s0.host_bound_in, 1u);
  EXPECT_EQ(s0.link_local_in, 0u);
  ASSERT_EQ(rack.hosts[1]->got.size(), 1u);
  Parsed c = parse(rack.hosts[1]->got[0].frame.bytes);
  ASSERT_EQ(c.code, proto::kOk);
  EXPECT_EQ(c.pkt.hdr.message_id, 5u);
  for (uint32_t p : {0u, 2u, 3u}) EXPECT_TRUE(rack.hosts[p]->got.empty()) << "port " << p;
}

TEST(SimFanoutSwitch, HeartbeatsOnIdlePortsAndProbesInAreLinkLocal) {
  FANOUT_SIM_OWN_WORLD();
  FanoutSwitchConfig cfg;
  cfg.heartbeat_interval = sc_time(10, SC_US);
  cfg.node_id = 0xF001;
  Rack rack(cfg);
  // Host 2 keeps port 0's egress busy for 50 us (copies for host 1); host 3's link monitor
  // probes the switch twice.
  const sc_time kTraffic(50, SC_US);
  uint32_t data_sent = 0;
  test::spawn_thread("h2", [&] {
    for (uint32_t i = 0; sc_core::sc_time_stamp() < kTraffic; i++, data_sent++) {
      rack.send(1, data_frame(2, 3, i, 100000, 1434, {1}));
    }
  });
  test::spawn_thread("h3", [&] {
    rack.send(2, probe_frame(3, 0));
    sc_core::wait(10, SC_US);
    rack.send(2, probe_frame(3, 1));
  });
  sc_core::sc_start(100, SC_US);

  EXPECT_EQ(rack.sw.stats(2).link_local_in, 2u);
  EXPECT_EQ(rack.sw.kernel_stats().host_probes, 2u);
  EXPECT_EQ(rack.sw.kernel_stats().replicator[hw::kCntProbesToHost], 2u);
  const Mac48 mac = cluster_mac48(cfg.node_id);
  for (uint32_t p = 0; p < 4; p++) {
    std::vector<sc_time> probe_times;
    uint32_t expect_seq = 0, data = 0;
    sc_time last_data;
    for (const auto &a : rack.hosts[p]->got) {
      Parsed f = parse(a.frame.bytes);
      ASSERT_EQ(f.code, proto::kOk);
      if (f.pkt.hdr.type == proto::kTypeData) {
        last_data = a.at;
        data++;
        continue;
      }
      ASSERT_EQ(f.pkt.hdr.type, proto::kTypeProbe);
      EXPECT_EQ(f.pkt.hdr.sender, cfg.node_id);
      EXPECT_EQ(f.pkt.hdr.origin, cfg.node_id);
      EXPECT_EQ(f.pkt.hdr.message_id, p);
      EXPECT_EQ(f.pkt.hdr.sequence, expect_seq++);
      EXPECT_EQ(f.pkt.hdr.hops_left, 0);
      EXPECT_TRUE(f.set->empty());
      EXPECT_EQ(f.pkt.udp_dst_port, cfg.udp_port);
      for (int i = 0; i < 6; i++) {
        EXPECT_EQ(f.pkt.eth_dst[i], 0xff);
        EXPECT_EQ(f.pkt.eth_src[i], mac[i]);
      }
      probe_times.push_back(a.at);
    }
    EXPECT_EQ(rack.sw.stats(p).heartbeats_out, probe_times.size());
    if (p == 0) {
      EXPECT_EQ(data, data_sent) << "every copy arrived";
      ASSERT_FALSE(probe_times.empty());
      EXPECT_GT(probe_times.front(), last_data + cfg.heartbeat_interval - sc_time(1, SC_US));
      EXPECT_GT(probe_times.front(), kTraffic + cfg.heartbeat_interval);
      EXPECT_LE(probe_times.size(), 5u);
    } else {
      // Idle all along: one PROBE per interval (10, 20, ... us, plus the link's 500.5 ns).
      EXPECT_EQ(data, 0u);
      EXPECT_GE(probe_times.size(), 9u);
      EXPECT_LE(probe_times.size(), 10u);
      for (size_t i = 1; i < probe_times.size(); i++) {
        sc_time gap = probe_times[i] - probe_times[i - 1];
        EXPECT_GE(gap, cfg.heartbeat_interval);
        EXPECT_LE(gap, cfg.heartbeat_interval + sc_time(10, SC_NS));
      }
    }
  }
}

TEST(SimFanoutSwitch, SlowLinkBackpressureLosesNothing) {
  FANOUT_SIM_OWN_WORLD();
  FanoutSwitchConfig cfg;
  cfg.tx_queue_frames = 8;
  cfg.rx_queue_frames = 256;
  std::vector<LinkConfig> lcs(4);
  lcs[1].gbps = 10; // host 2 behind a slow link
  Rack rack(cfg, lcs);
  // A burst of 200 packets at 100 Gb/s for hosts 2 (10 Gb/s) and 3 (100 Gb/s).
  const uint32_t kN = 200, kPayload = 1000, kMsg = 9;
  test::spawn_thread("h1", [&] {
    for (uint32_t i = 0; i < kN; i++) rack.send(0, data_frame(1, kMsg, i, kN, kPayload, {2, 3}));
  });
  sc_core::sc_start(400, SC_US);

  for (uint32_t p : {1u, 2u}) {
    proto::NodeId n = Rack::host(p);
    const auto &got = rack.hosts[p]->got;
    ASSERT_EQ(got.size(), kN) << "host " << n;
    for (uint32_t i = 0; i < kN; i++) {
      Parsed c = parse(got[i].frame.bytes);
      ASSERT_EQ(c.code, proto::kOk);
      EXPECT_EQ(c.pkt.hdr.sequence, i) << "in order, no duplicate (host " << n << ")";
      ASSERT_EQ(c.payload.size(), kPayload);
      EXPECT_EQ(c.payload[1], payload_byte(i, 1));
      EXPECT_TRUE(set_is(*c.set, {n}));
    }
  }
  const FanoutSwitchPortStats &slow = rack.sw.stats(1);
  EXPECT_EQ(slow.tx_queue_peak_frames, cfg.tx_queue_frames) << "the bound is reached, never passed";
  EXPECT_GT(slow.tx_hold_clocks, 0u);
  EXPECT_EQ(slow.tx_queue_frames, 0u);
  EXPECT_LE(rack.sw.stats(2).tx_queue_peak_frames, cfg.tx_queue_frames);
  EXPECT_GT(rack.sw.stats(0).rx_queue_peak, 1u) << "backpressure reached the RX queue";
  for (uint32_t p = 0; p < 4; p++) {
    EXPECT_EQ(rack.sw.stats(p).drops_rx_queue, 0u);
    EXPECT_EQ(rack.sw.stats(p).drops_no_link, 0u);
  }
  FanoutSwitch::KernelStats k = rack.sw.kernel_stats();
  EXPECT_EQ(k.parser_overflow, 0u);
  EXPECT_EQ(k.replicator[hw::kCntCopiesSent], 2 * kN);
  // The slow egress is the bottleneck: busy from its first copy to its last.
  const auto &slow_got = rack.hosts[1]->got;
  sc_time span = slow_got.back().at - slow_got.front().at;
  sc_time busy = (kN - 1) * rack.links[1]->serialization((uint32_t)slow_got[0].frame.bytes.size());
  EXPECT_LE(span, busy + sc_time(1, SC_NS)) << "back to back on the slow link";
  EXPECT_GE(span, busy);
  EXPECT_GT(rack.sw.egress_utilization(1), 0.9 * slow_got.back().at / sc_core::sc_time_stamp());
  // Head of line: one replay engine, so host 3's copies follow host 2's pace.
  EXPECT_GT(rack.hosts[2]->got.back().at, slow_got.back().at - sc_time(10, SC_US));
  std::printf("slow-link burst: %u packets, last copy at %s (10G) / %s (100G), TX queue peak %llu frames, "
              "RX queue peak %llu frames, hold clocks %llu\n",
              kN, slow_got.back().at.to_string().c_str(), rack.hosts[2]->got.back().at.to_string().c_str(),
              (unsigned long long)slow.tx_queue_peak_frames, (unsigned long long)rack.sw.stats(0).rx_queue_peak,
              (unsigned long long)slow.tx_hold_clocks);
  EXPECT_TRUE(rack.sw.idle());
}

TEST(SimFanoutSwitch, FullRxQueueDropsAndCountsUnderSustainedOverload) {
  FANOUT_SIM_OWN_WORLD();
  FanoutSwitchConfig cfg;
  cfg.tx_queue_frames = 4;
  cfg.rx_queue_frames = 4;
  std::vector<LinkConfig> lcs(4);
  lcs[1].gbps = 10;
  Rack rack(cfg, lcs);
  const uint32_t kN = 300;
  test::spawn_thread("h1", [&] {
    for (uint32_t i = 0; i < kN; i++) rack.send(0, data_frame(1, 11, i, kN, 1000, {2}));
  });
  sc_core::sc_start(400, SC_US);

  const FanoutSwitchPortStats &in = rack.sw.stats(0);
  const auto &got = rack.hosts[1]->got;
  EXPECT_EQ(in.frames_in, kN);
  EXPECT_GT(in.drops_rx_queue, 0u);
  EXPECT_EQ(got.size() + in.drops_rx_queue, kN) << "every frame delivered or dropped at the RX queue";
  EXPECT_EQ(in.rx_queue_peak, cfg.rx_queue_frames);
  EXPECT_EQ(rack.sw.kernel_stats().parser_overflow, 0u);
  uint32_t prev = 0;
  for (size_t i = 0; i < got.size(); i++) {
    Parsed c = parse(got[i].frame.bytes);
    ASSERT_EQ(c.code, proto::kOk);
    if (i > 0) {
      EXPECT_GT(c.pkt.hdr.sequence, prev) << "in order";
    }
    prev = c.pkt.hdr.sequence;
  }
}

TEST(SimFanoutSwitch, ConfigurationErrorsNameTheField) {
  auto expect_field = [](FanoutSwitchConfig c, const std::string &field) {
    try {
      validate(c);
      ADD_FAILURE() << field << ": accepted";
    } catch (const std::invalid_argument &e) {
      EXPECT_NE(std::string(e.what()).find("FanoutSwitchConfig." + field), std::string::npos) << e.what();
    }
  };
  FanoutSwitchConfig ok;
  EXPECT_NO_THROW(validate(ok));
  FanoutSwitchConfig c = ok;
  c.ports = 1;
  expect_field(c, "ports");
  c.ports = FanoutSwitch::kMaxPorts + 1;
  expect_field(c, "ports");
  c = ok;
  c.kernel_mhz = 0;
  expect_field(c, "kernel_mhz");
  c.kernel_mhz = 1e7; // 0.1 ps
  expect_field(c, "kernel_mhz");
  c = ok;
  c.udp_port = 0;
  expect_field(c, "udp_port");
  c = ok;
  c.rx_queue_frames = 0;
  expect_field(c, "rx_queue_frames");
  c = ok;
  c.tx_queue_frames = 0;
  expect_field(c, "tx_queue_frames");
  c = ok;
  c.mac = kBroadcastMac;
  expect_field(c, "mac");
}

} // namespace
} // namespace sim
} // namespace fanout
