// Switch: forwarding by MAC, drop-tail under 2:1 overload, unknown and broadcast MACs, PROBE
// heartbeats on idle egress ports, BIER replication (SwitchConfig::bier).
#include "sim_test.hpp"

#include <algorithm>
#include <memory>

#include "fanout/proto/bier.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/sim/switch.hpp"

namespace fanout {
namespace sim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;
using test::RecordingSink;

// A Fanout DATA frame from node `from` to node `to` (one receiver), `payload` bytes.
std::vector<uint8_t> data_frame(proto::NodeId from, proto::NodeId to, uint32_t seq, uint32_t payload) {
  proto::ReceiverSet set;
  set.append(to);
  std::vector<uint8_t> body(payload, (uint8_t)seq);
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, from, from, 1, seq, payload * (seq + 2));
  std::vector<uint8_t> out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  int err = proto::build_frame(proto::cluster_net_headers(from, to, from, 1), h, set, body.data(), payload,
                               proto::default_build_options(), out.data(), (uint32_t)out.size(), &len);
  EXPECT_EQ(err, proto::kOk);
  out.resize(len);
  return out;
}

// Four hosts (nodes 1..4) on ports 0..3 of one switch; each host is side 0 of its link.
struct Star {
  explicit Star(const SwitchConfig &cfg, const LinkConfig &lc = LinkConfig()) : sw("sw", cfg) {
    for (uint32_t p = 0; p < 4; p++) {
      links.push_back(std::make_unique<Link>(sc_core::sc_gen_unique_name("link"), lc));
      hosts.push_back(std::make_unique<RecordingSink>());
      links[p]->attach(0, hosts[p].get());
      sw.connect(p, *links[p], 1);
      sw.set_route(node(p), p);
    }
  }
  static proto::NodeId node(uint32_t p) { return (proto::NodeId)(p + 1); }
  // Host on port p sends f, waiting for its transmitter (process context).
  void send(uint32_t p, std::vector<uint8_t> bytes) {
    Link &l = *links[p];
    while (l.busy(0)) sc_core::wait(l.ready_event(0));
    l.send(0, make_frame(std::move(bytes)));
  }
  Switch sw;
  std::vector<std::unique_ptr<Link>> links;
  std::vector<std::unique_ptr<RecordingSink>> hosts;
};

TEST(SimSwitch, ForwardsByMacAndDropsUnknownAndBroadcast) {
  FANOUT_SIM_OWN_WORLD();
  SwitchConfig cfg;
  Star star(cfg);
  test::spawn_thread("h0", [&] {
    star.send(0, data_frame(1, 3, 0, 1000));  // to port 2
    star.send(0, data_frame(1, 99, 1, 1000)); // unknown MAC
    std::vector<uint8_t> bcast = data_frame(1, 3, 2, 100);
    for (int i = 0; i < 6; i++) bcast[i] = 0xff; // broadcast: link-local
    star.send(0, bcast);
  });
  test::spawn_thread("h1", [&] { star.send(1, data_frame(2, 4, 0, 500)); }); // to port 3
  test::spawn_thread("h3", [&] { star.send(3, data_frame(4, 1, 0, 200)); }); // to port 0
  sc_core::sc_start(20, SC_US);

  ASSERT_EQ(star.hosts[2]->got.size(), 1u);
  ASSERT_EQ(star.hosts[3]->got.size(), 1u);
  ASSERT_EQ(star.hosts[0]->got.size(), 1u);
  EXPECT_TRUE(star.hosts[1]->got.empty());
  EXPECT_EQ(star.hosts[2]->got[0].frame.bytes, data_frame(1, 3, 0, 1000));
  // Store-and-forward: serialization + delay, forwarding latency, serialization + delay.
  const Link &l = *star.links[0];
  uint32_t n = (uint32_t)star.hosts[2]->got[0].frame.bytes.size();
  sc_time expect = 2 * (l.serialization(n) + sc_time(500, SC_NS)) + cfg.forward_latency;
  EXPECT_EQ(star.hosts[2]->got[0].at, expect);
  const SwitchPortStats &p0 = star.sw.stats(0);
  EXPECT_EQ(p0.frames_in, 3u);
  EXPECT_EQ(p0.drops_unknown, 1u);
  EXPECT_EQ(p0.link_local_in, 1u);
  EXPECT_EQ(p0.frames_out, 1u);
  EXPECT_EQ(star.sw.stats(2).frames_out, 1u);
  EXPECT_EQ(star.sw.stats(2).bytes_out, (uint64_t)n);
  for (uint32_t p = 0; p < 4; p++) EXPECT_EQ(star.sw.stats(p).drops_buffer, 0u);
  for (uint32_t p = 0; p < 4; p++) EXPECT_EQ(star.sw.stats(p).heartbeats_out, 0u) << "heartbeats are off";
}

// A frame whose FCS fails (a link flipped a bit) is dropped at ingress, never forwarded.
TEST(SimSwitch, DropsFramesWithBadFcs) {
  FANOUT_SIM_OWN_WORLD();
  SwitchConfig cfg;
  Star star(cfg);
  test::spawn_thread("h0", [&] {
    Link &l = *star.links[0];
    Frame bad = make_frame(data_frame(1, 3, 0, 1000));
    bad.fcs_bad = true;
    l.send(0, std::move(bad));
    star.send(0, data_frame(1, 3, 1, 1000));
  });
  sc_core::sc_start(20, SC_US);
  ASSERT_EQ(star.hosts[2]->got.size(), 1u);
  EXPECT_EQ(star.sw.stats(0).drops_fcs, 1u);
  EXPECT_EQ(star.sw.stats(0).frames_in, 2u);
}

TEST(SimSwitch, TwoToOneOverloadDropsTail) {
  FANOUT_SIM_OWN_WORLD();
  SwitchConfig cfg;
  cfg.buffer_bytes = 64 * 1024;
  Star star(cfg);
  const sc_time kRun(200, SC_US);
  uint64_t sent[2] = {0, 0};
  for (uint32_t p : {0u, 1u}) {
    test::spawn_thread("src", [&, p] {
      for (uint32_t i = 0; sc_core::sc_time_stamp() < kRun; i++) {
        star.send(p, data_frame(Star::node(p), 3, i, 1434)); // 1500-byte frames, line rate
        sent[p]++;
      }
    });
  }
  sc_core::sc_start(kRun);
  const SwitchPortStats &out = star.sw.stats(2);
  // The egress is busy from the first frame's arrival (about 1.1 us) to the end.
  const double util = star.sw.egress_utilization(2);
  EXPECT_GT(util, 0.99);
  EXPECT_LE(out.queue_peak_bytes, cfg.buffer_bytes);
  EXPECT_GT(out.queue_peak_bytes, cfg.buffer_bytes - 1500);
  sc_core::sc_start(50, SC_US); // the senders stopped at kRun: let the queue drain
  uint64_t in = star.sw.stats(0).frames_in + star.sw.stats(1).frames_in;
  EXPECT_EQ(in, sent[0] + sent[1]);
  EXPECT_GT(out.drops_buffer, in / 3);
  EXPECT_EQ(out.frames_out + out.drops_buffer, in) << "every frame is forwarded or dropped";
  EXPECT_EQ(out.queue_bytes, 0u);
  EXPECT_EQ(star.hosts[2]->got.size(), out.frames_out);
  EXPECT_EQ(out.bytes_out, out.frames_out * 1500);
  std::printf("switch 2:1 overload, 1500 B frames, 64 KiB buffer, %s: in %llu, out %llu, drop-tail %llu, "
              "queue peak %llu B, egress utilization %.4f\n",
              kRun.to_string().c_str(), (unsigned long long)in, (unsigned long long)out.frames_out,
              (unsigned long long)out.drops_buffer, (unsigned long long)out.queue_peak_bytes, util);
}

TEST(SimSwitch, HeartbeatsOnIdlePortsParseAsProbes) {
  FANOUT_SIM_OWN_WORLD();
  SwitchConfig cfg;
  cfg.heartbeat_interval = sc_time(10, SC_US);
  cfg.node_id = 0xFF01;
  Star star(cfg);
  // Host 1 keeps port 0's egress busy for 50 us; then everything is idle.
  const sc_time kTraffic(50, SC_US);
  test::spawn_thread("h1", [&] {
    for (uint32_t i = 0; sc_core::sc_time_stamp() < kTraffic; i++) star.send(1, data_frame(2, 1, i, 1434));
  });
  sc_core::sc_start(100, SC_US);

  const Mac48 mac = cluster_mac48(cfg.node_id);
  for (uint32_t p = 0; p < 4; p++) {
    std::vector<sc_time> probe_times;
    uint32_t expect_seq = 0;
    sc_time last_data;
    for (const auto &a : star.hosts[p]->got) {
      proto::ParsedPacket pkt;
      proto::ReceiverSet set;
      const auto &b = a.frame.bytes;
      ASSERT_EQ(proto::parse_frame(b.data(), (uint32_t)b.size(), proto::default_parse_config(), pkt, &set), proto::kOk);
      if (pkt.hdr.type == proto::kTypeData) {
        last_data = a.at;
        continue;
      }
      ASSERT_EQ(pkt.hdr.type, proto::kTypeProbe);
      EXPECT_EQ(pkt.hdr.sender, cfg.node_id);
      EXPECT_EQ(pkt.hdr.origin, cfg.node_id);
      EXPECT_EQ(pkt.hdr.message_id, p);
      EXPECT_EQ(pkt.hdr.sequence, expect_seq++);
      EXPECT_EQ(pkt.hdr.hops_left, 0);
      EXPECT_EQ(pkt.hdr.length, 0u);
      EXPECT_TRUE(set.empty());
      EXPECT_EQ(pkt.udp_dst_port, proto::kDefaultUdpPort);
      for (int i = 0; i < 6; i++) {
        EXPECT_EQ(pkt.eth_dst[i], 0xff);
        EXPECT_EQ(pkt.eth_src[i], mac[i]);
      }
      probe_times.push_back(a.at);
    }
    EXPECT_EQ(star.sw.stats(p).heartbeats_out, probe_times.size());
    if (p == 0) {
      // Busy until about 50 us + the queue: the first PROBE comes one interval after the last data.
      ASSERT_FALSE(probe_times.empty());
      EXPECT_GT(probe_times.front(), last_data + cfg.heartbeat_interval - sc_time(1, SC_US));
      EXPECT_GT(probe_times.front(), kTraffic + cfg.heartbeat_interval);
      EXPECT_LE(probe_times.size(), 5u);
    } else {
      // Idle all along: one PROBE per interval (10, 20, ... us, plus the link's 500.5 ns).
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

// ---- BIER (SwitchConfig::bier) -----------------------------------------------------------------

// A BIER frame (SI `si`, BitString of `bsl` bits with `ids` set) from node 0's MAC to `dst`,
// `payload` bytes of a recognisable pattern. The fields the switch must leave alone (entropy,
// BFIR-id, proto, payload) get non-default values so that a rewrite of them would show.
std::vector<uint8_t> bier_frame(uint32_t bsl, uint32_t si, const std::vector<uint32_t> &ids, uint8_t ttl,
                                const Mac48 &dst, const Mac48 &src, uint32_t payload = 300) {
  proto::BierHeader h = proto::make_bier_header(si, bsl, 0, 0xABCDE);
  h.ttl = ttl;
  h.tc = 5;
  h.dscp = 0x2A;
  std::vector<uint8_t> bits(bsl / 8, 0);
  for (uint32_t id : ids) proto::bier_set_bit(bits.data(), bsl, id - si * bsl);
  std::vector<uint8_t> body(payload);
  for (uint32_t i = 0; i < payload; i++) body[i] = (uint8_t)(i * 7 + 3);
  std::vector<uint8_t> out(proto::kEthHeaderBytes + proto::kBierHeaderBytes + bsl / 8 + payload);
  uint32_t len = 0;
  EXPECT_TRUE(proto::build_bier_frame(dst.data(), src.data(), h, bits.data(), body.data(), payload, out.data(),
                                      (uint32_t)out.size(), &len));
  out.resize(len);
  return out;
}

// The ids set in a received BIER frame's BitString (empty if it does not parse).
std::vector<uint32_t> bier_ids(const std::vector<uint8_t> &f) {
  proto::BierView v;
  std::vector<uint32_t> ids;
  if (proto::parse_bier_frame(f.data(), (uint32_t)f.size(), v) != proto::kBierOk) return ids;
  for (uint32_t pos = 0; pos < v.hdr.bsl; pos++) {
    if (proto::bier_test_bit(f.data() + v.bitstring_offset, v.hdr.bsl, pos)) ids.push_back(v.si * v.hdr.bsl + pos);
  }
  return ids;
}

// Four hosts, nodes 0..3, on ports 0..3 of one BIER switch (node n's bit is id n); each host is
// side 0 of its link.
struct BierStar {
  explicit BierStar(SwitchConfig cfg, bool bier = true) : sw("sw", with_bier(cfg, bier)) {
    for (uint32_t p = 0; p < 4; p++) {
      links.push_back(std::make_unique<Link>(sc_core::sc_gen_unique_name("link")));
      hosts.push_back(std::make_unique<RecordingSink>());
      links[p]->attach(0, hosts[p].get());
      sw.connect(p, *links[p], 1);
      sw.set_route((proto::NodeId)p, p);
    }
  }
  static SwitchConfig with_bier(SwitchConfig c, bool bier) {
    c.bier = bier;
    return c;
  }
  void send(uint32_t p, std::vector<uint8_t> bytes) {
    Link &l = *links[p];
    while (l.busy(0)) sc_core::wait(l.ready_event(0));
    l.send(0, make_frame(std::move(bytes)));
  }
  Switch sw;
  std::vector<std::unique_ptr<Link>> links;
  std::vector<std::unique_ptr<RecordingSink>> hosts;
};

TEST(SimSwitch, BierReplicatesOneCopyPerPortWithOnlyItsBits) {
  FANOUT_SIM_OWN_WORLD();
  SwitchConfig cfg;
  BierStar star(cfg);
  const std::vector<uint8_t> in = bier_frame(256, 0, {1, 3}, 64, star.sw.mac(), cluster_mac48(0));
  test::spawn_thread("h0", [&] { star.send(0, in); });
  sc_core::sc_start(20, SC_US);

  EXPECT_TRUE(star.hosts[0]->got.empty()) << "no copy back to the ingress (node 0's bit is not set)";
  EXPECT_TRUE(star.hosts[2]->got.empty()) << "node 2's bit is not set";
  const Link &l = *star.links[0];
  for (uint32_t n : {1u, 3u}) {
    SCOPED_TRACE(n);
    ASSERT_EQ(star.hosts[n]->got.size(), 1u);
    const std::vector<uint8_t> &got = star.hosts[n]->got[0].frame.bytes;
    // The whole copy is the original with its own bit only, TTL 63, and new Ethernet addresses:
    // everything else (EtherType, entropy, TC, DSCP, BFIR-id, payload) is unchanged.
    EXPECT_EQ(got, bier_frame(256, 0, {n}, 63, cluster_mac48((proto::NodeId)n), star.sw.mac()));
    EXPECT_EQ(proto::load_be16(got.data() + proto::kEthTypeOff), proto::kEtherTypeBier);
    EXPECT_EQ(bier_ids(got), std::vector<uint32_t>{n});
    proto::BierView v;
    ASSERT_EQ(proto::parse_bier_frame(got.data(), (uint32_t)got.size(), v), proto::kBierOk);
    EXPECT_EQ(v.hdr.ttl, 63);
    EXPECT_TRUE(std::equal(got.begin() + v.payload_offset, got.end(), in.begin() + v.payload_offset, in.end()));
    // Store-and-forward both ways plus the forwarding latency: the copy pays its own
    // serialization on the egress link.
    sc_time ser = l.serialization((uint32_t)got.size());
    EXPECT_EQ(star.hosts[n]->got[0].at, 2 * (ser + l.config().delay) + cfg.forward_latency);
    EXPECT_GE(star.hosts[n]->got[0].at, cfg.forward_latency + ser);
  }
  const SwitchPortStats &p0 = star.sw.stats(0);
  EXPECT_EQ(p0.frames_in, 1u);
  EXPECT_EQ(p0.bier_in, 1u);
  EXPECT_EQ(p0.bier_copies, 2u);
  EXPECT_EQ(p0.drops_bier, 0u);
  EXPECT_EQ(p0.drops_unknown, 0u);
  EXPECT_EQ(star.sw.stats(1).frames_out, 1u);
  EXPECT_EQ(star.sw.stats(3).frames_out, 1u);
  EXPECT_EQ(star.sw.stats(2).frames_out, 0u);
  EXPECT_EQ(star.sw.stats(3).bytes_out, (uint64_t)in.size()) << "a copy is as long as the original";
}

// Leaf/spine: several nodes behind one port (an uplink) get ONE copy carrying all their bits,
// addressed to the lowest of them. Ids of a later SI map through SI * BSL + position.
TEST(SimSwitch, BierOneCopyPerPortCarriesAllItsBits) {
  FANOUT_SIM_OWN_WORLD();
  SwitchConfig cfg;
  BierStar star(cfg);
  for (proto::NodeId n : {4, 5, 6}) star.sw.set_route(n, 3);
  star.sw.set_route(70, 1); // BSL 64: SI 1, position 6
  star.sw.set_route(100, 3);
  test::spawn_thread("h0", [&] {
    star.send(0, bier_frame(256, 0, {2, 5, 6}, 64, star.sw.mac(), cluster_mac48(0)));
    star.send(0, bier_frame(64, 1, {70, 100}, 10, star.sw.mac(), cluster_mac48(0)));
  });
  sc_core::sc_start(20, SC_US);

  ASSERT_EQ(star.hosts[2]->got.size(), 1u);
  EXPECT_EQ(star.hosts[2]->got[0].frame.bytes, bier_frame(256, 0, {2}, 63, cluster_mac48(2), star.sw.mac()));
  ASSERT_EQ(star.hosts[3]->got.size(), 2u);
  EXPECT_EQ(star.hosts[3]->got[0].frame.bytes, bier_frame(256, 0, {5, 6}, 63, cluster_mac48(5), star.sw.mac()));
  EXPECT_EQ(star.hosts[3]->got[1].frame.bytes, bier_frame(64, 1, {100}, 9, cluster_mac48(100), star.sw.mac()));
  ASSERT_EQ(star.hosts[1]->got.size(), 1u);
  EXPECT_EQ(star.hosts[1]->got[0].frame.bytes, bier_frame(64, 1, {70}, 9, cluster_mac48(70), star.sw.mac()));
  EXPECT_EQ(bier_ids(star.hosts[1]->got[0].frame.bytes), std::vector<uint32_t>{70});
  EXPECT_TRUE(star.hosts[0]->got.empty());
  EXPECT_EQ(star.sw.stats(0).bier_in, 2u);
  EXPECT_EQ(star.sw.stats(0).bier_copies, 4u);
  EXPECT_EQ(star.sw.stats(0).drops_bier, 0u);
}

// Bits without a route are dropped one by one; the routed rest is still delivered.
TEST(SimSwitch, BierCountsUnroutedBitsAndDeliversTheRest) {
  FANOUT_SIM_OWN_WORLD();
  SwitchConfig cfg;
  BierStar star(cfg);
  test::spawn_thread("h0", [&] {
    star.send(0, bier_frame(256, 0, {1, 9, 200}, 64, star.sw.mac(), cluster_mac48(0)));
    star.send(0, bier_frame(256, 0, {17}, 64, star.sw.mac(), cluster_mac48(0))); // no bit routed
  });
  sc_core::sc_start(20, SC_US);

  ASSERT_EQ(star.hosts[1]->got.size(), 1u);
  EXPECT_EQ(star.hosts[1]->got[0].frame.bytes, bier_frame(256, 0, {1}, 63, cluster_mac48(1), star.sw.mac()));
  for (uint32_t p : {0u, 2u, 3u}) EXPECT_TRUE(star.hosts[p]->got.empty()) << p;
  const SwitchPortStats &p0 = star.sw.stats(0);
  EXPECT_EQ(p0.bier_in, 2u);
  EXPECT_EQ(p0.bier_copies, 1u);
  EXPECT_EQ(p0.drops_bier, 3u) << "one per unrouted bit";
  EXPECT_EQ(p0.drops_unknown, 0u);
}

// TTL expiry and malformed BIER frames are dropped whole and counted; nothing leaves. A good
// frame after them shows the switch keeps going.
TEST(SimSwitch, BierDropsTtlExpiryAndMalformedFrames) {
  FANOUT_SIM_OWN_WORLD();
  SwitchConfig cfg;
  BierStar star(cfg);
  const Mac48 src = cluster_mac48(0);
  std::vector<uint8_t> ttl1 = bier_frame(256, 0, {1, 3}, 1, star.sw.mac(), src);
  std::vector<uint8_t> ttl0 = bier_frame(256, 0, {1, 3}, 0, star.sw.mac(), src);
  std::vector<uint8_t> nibble = bier_frame(256, 0, {1, 3}, 64, star.sw.mac(), src);
  nibble[proto::kEthHeaderBytes + 4] = (uint8_t)(0x4 << 4 | (nibble[proto::kEthHeaderBytes + 4] & 0xF)); // 0100
  std::vector<uint8_t> bsl = bier_frame(256, 0, {1, 3}, 64, star.sw.mac(), src);
  bsl[proto::kEthHeaderBytes + 5] |= 0xF0; // BSL code 15
  std::vector<uint8_t> cut = bier_frame(256, 0, {1, 3}, 64, star.sw.mac(), src);
  cut.resize(proto::kEthHeaderBytes + proto::kBierHeaderBytes + 16); // half the BitString
  std::vector<uint8_t> header_cut(cut.begin(), cut.begin() + proto::kEthHeaderBytes + 6);
  std::vector<uint8_t> empty = bier_frame(256, 0, {}, 64, star.sw.mac(), src);
  test::spawn_thread("h0", [&] {
    for (const auto *f : {&ttl1, &ttl0, &nibble, &bsl, &cut, &header_cut, &empty}) star.send(0, *f);
    star.send(0, bier_frame(256, 0, {2}, 2, star.sw.mac(), src));
  });
  sc_core::sc_start(20, SC_US);

  for (uint32_t p : {0u, 1u, 3u}) EXPECT_TRUE(star.hosts[p]->got.empty()) << p;
  ASSERT_EQ(star.hosts[2]->got.size(), 1u) << "TTL 2 still goes one hop";
  EXPECT_EQ(star.hosts[2]->got[0].frame.bytes, bier_frame(256, 0, {2}, 1, cluster_mac48(2), star.sw.mac()));
  const SwitchPortStats &p0 = star.sw.stats(0);
  EXPECT_EQ(p0.frames_in, 8u);
  EXPECT_EQ(p0.bier_in, 8u);
  EXPECT_EQ(p0.drops_bier, 7u);
  EXPECT_EQ(p0.bier_copies, 1u);
  EXPECT_EQ(p0.drops_unknown, 0u);
  for (uint32_t p = 0; p < 4; p++) EXPECT_EQ(star.sw.stats(p).frames_out, p == 2 ? 1u : 0u) << p;
}

// Without SwitchConfig::bier a BIER frame is plain L2: forwarded unchanged by destination MAC
// (its bits ignored), or dropped as unknown unicast.
TEST(SimSwitch, BierOffForwardsBierFramesByMac) {
  FANOUT_SIM_OWN_WORLD();
  SwitchConfig cfg;
  BierStar star(cfg, false);
  const std::vector<uint8_t> to2 = bier_frame(256, 0, {1, 3}, 64, cluster_mac48(2), cluster_mac48(0));
  test::spawn_thread("h0", [&] {
    star.send(0, to2);
    star.send(0, bier_frame(256, 0, {1, 3}, 64, star.sw.mac(), cluster_mac48(0))); // the switch's MAC: unknown
  });
  sc_core::sc_start(20, SC_US);

  ASSERT_EQ(star.hosts[2]->got.size(), 1u);
  EXPECT_EQ(star.hosts[2]->got[0].frame.bytes, to2) << "bits and TTL untouched";
  for (uint32_t p : {0u, 1u, 3u}) EXPECT_TRUE(star.hosts[p]->got.empty()) << p;
  const SwitchPortStats &p0 = star.sw.stats(0);
  EXPECT_EQ(p0.bier_in, 0u);
  EXPECT_EQ(p0.bier_copies, 0u);
  EXPECT_EQ(p0.drops_bier, 0u);
  EXPECT_EQ(p0.drops_unknown, 1u);
}

// Copies go through the output queues like any frame: two copies for one port made at the same
// time leave one serialization apart.
TEST(SimSwitch, BierCopiesQueueAndSerializeOnTheEgress) {
  FANOUT_SIM_OWN_WORLD();
  SwitchConfig cfg;
  BierStar star(cfg);
  const std::vector<uint8_t> a = bier_frame(256, 0, {1, 3}, 64, star.sw.mac(), cluster_mac48(0), 1000);
  const std::vector<uint8_t> b = bier_frame(256, 0, {1}, 64, star.sw.mac(), cluster_mac48(2), 1000);
  test::spawn_thread("h0", [&] { star.send(0, a); });
  test::spawn_thread("h2", [&] { star.send(2, b); });
  sc_core::sc_start(20, SC_US);

  const Link &l = *star.links[1];
  const sc_time ser = l.serialization((uint32_t)a.size());
  const sc_time first = 2 * (ser + l.config().delay) + cfg.forward_latency;
  ASSERT_EQ(star.hosts[1]->got.size(), 2u);
  EXPECT_EQ(star.hosts[1]->got[0].at, first);
  EXPECT_EQ(star.hosts[1]->got[1].at, first + ser) << "the second copy waited for the first";
  ASSERT_EQ(star.hosts[3]->got.size(), 1u);
  EXPECT_EQ(star.hosts[3]->got[0].at, first);
  EXPECT_EQ(star.sw.stats(1).queue_peak_bytes, (uint64_t)a.size()) << "never more than one copy queued";
  EXPECT_EQ(star.sw.stats(1).egress_busy, 2 * ser);
}

TEST(SimSwitch, ConfigurationErrorsNameTheField) {
  SwitchConfig c;
  c.ports = 0;
  try {
    validate(c);
    FAIL() << "accepted";
  } catch (const std::invalid_argument &e) {
    EXPECT_NE(std::string(e.what()).find("SwitchConfig.ports"), std::string::npos) << e.what();
  }
}

} // namespace
} // namespace sim
} // namespace fanout
