// Switch: forwarding by MAC, drop-tail under 2:1 overload, unknown and broadcast MACs, PROBE
// heartbeats on idle egress ports.
#include "sim_test.hpp"

#include <memory>

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
