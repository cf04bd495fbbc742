// The NIC model (sim/nic.hpp): the Verilated shell and the HLS kernels on real links, with the
// test playing the hosts. Every frame is built and checked through proto/.
#include "sim_test.hpp"

#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>

#include "fanout/proto/packet.hpp"
#include "fanout/sim/kernel_core.hpp" // counter names
#include "fanout/sim/nic.hpp"
#include "fanout/sim/switch.hpp"

namespace fanout {
namespace sim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;
using test::RecordingSink;

const uint32_t kMsg = 77;

std::vector<uint8_t> payload_of(uint32_t n) {
  std::vector<uint8_t> p(n);
  for (uint32_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 7 + 3);
  return p;
}

// What a host hands its NIC: one DATA packet of a one-packet message to `set`.
Frame data_frame(proto::NodeId sender, const std::vector<proto::NodeId> &set, uint32_t payload) {
  proto::ReceiverSet rs;
  for (proto::NodeId id : set) rs.append(id);
  std::vector<uint8_t> body = payload_of(payload);
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, sender, sender, kMsg, 0, payload);
  h.flags = proto::kFlagLast;
  std::vector<uint8_t> out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(proto::cluster_net_headers(sender, sender, sender, kMsg), h, rs, body.data(), payload,
                               proto::default_build_options(), out.data(), (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return make_frame(std::move(out));
}

// A receiver host's ACK of that message, to its own NIC.
Frame ack_frame(proto::NodeId self, proto::NodeId sender) {
  proto::ReceiverSet rs;
  rs.append(self);
  proto::FanoutHeader h = proto::make_header(proto::kTypeAck, sender, self, kMsg, 1, 1);
  proto::BuildOptions opt = proto::default_build_options();
  opt.encoding = proto::kSetRanges;
  std::vector<uint8_t> out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(proto::cluster_net_headers(self, self, sender, kMsg), h, rs, nullptr, 0, opt, out.data(),
                               (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return make_frame(std::move(out));
}

struct Parsed {
  int err;
  proto::ParsedPacket p;
  proto::ReceiverSet set;
};
Parsed parse(const Frame &f) {
  Parsed r;
  proto::ParseConfig pc = proto::default_parse_config();
  pc.verify_udp_checksum = false;
  r.err = proto::parse_frame(f.bytes.data(), (uint32_t)f.bytes.size(), pc, r.p, &r.set);
  return r;
}

std::vector<Frame> of_type(const RecordingSink &s, uint8_t type) {
  std::vector<Frame> out;
  for (const auto &a : s.got) {
    Parsed p = parse(a.frame);
    if (p.err == proto::kOk && p.p.hdr.type == type) out.push_back(a.frame);
  }
  return out;
}

// A host that ACKs every DATA delivery once (what sim/host does, reduced to one message).
class AckingHost : public RecordingSink {
 public:
  explicit AckingHost(Nic &nic) : nic_(nic) { nic.set_host_sink(this); }
  void receive(Frame f) override {
    Parsed p = parse(f);
    if (p.err == proto::kOk && p.p.hdr.type == proto::kTypeData) {
      EXPECT_TRUE(nic_.host_send(ack_frame(nic_.node_id(), p.p.hdr.sender)));
    }
    RecordingSink::receive(std::move(f));
  }

 private:
  Nic &nic_;
};

NicConfig nic_config(proto::NodeId node, uint32_t fanout = 4) {
  NicConfig c;
  c.node = node;
  c.fanout = fanout;
  c.heartbeat_clocks = 300; // 1 us at 300 MHz
  return c;
}

// Hosts 1..n behind NICs on ports 0..n-1 of one L2 switch (heartbeats on, as in fanout-sim).
struct Star {
  Star(uint32_t n, uint32_t fanout, const std::function<LinkConfig(uint32_t)> &link_config = nullptr) {
    SwitchConfig sc;
    sc.ports = n;
    sc.heartbeat_interval = sc_time(1, SC_US);
    sw = std::make_unique<Switch>("sw", sc);
    for (uint32_t i = 0; i < n; i++) {
      proto::NodeId id = (proto::NodeId)(i + 1);
      nics.push_back(std::make_unique<Nic>(("nic" + std::to_string(id)).c_str(), nic_config(id, fanout)));
      links.push_back(
          std::make_unique<Link>(("link" + std::to_string(id)).c_str(), link_config ? link_config(i) : LinkConfig()));
      nics[i]->connect(0, *links[i], 0);
      sw->connect(i, *links[i], 1);
      sw->set_route(id, i);
      hosts.push_back(std::make_unique<AckingHost>(*nics[i]));
    }
    for (auto &nic : nics)
      for (uint32_t j = 1; j <= n; j++)
        if (j != nic->node_id())
          nic->set_neighbour((proto::NodeId)j, 0, cluster_mac48((proto::NodeId)j),
                             proto::cluster_ipv4((proto::NodeId)j));
  }
  std::unique_ptr<Switch> sw;
  std::vector<std::unique_ptr<Nic>> nics;
  std::vector<std::unique_ptr<Link>> links;
  std::vector<std::unique_ptr<AckingHost>> hosts;
};

// One message from host 1 to hosts 2..n through the NICs: every receiver gets it exactly once,
// byte for byte, and the sender's host gets ONE ACK covering them all.
void multicast_once(uint32_t n, uint32_t fanout, uint32_t payload) {
  Star star(n, fanout);
  std::vector<proto::NodeId> set;
  for (uint32_t j = 2; j <= n; j++) set.push_back((proto::NodeId)j);
  Frame data = data_frame(1, set, payload);
  sc_core::sc_spawn([&] {
    sc_core::wait(2, SC_US);
    EXPECT_TRUE(star.nics[0]->host_send(data));
  });
  sc_core::sc_start(40, SC_US);

  std::vector<uint8_t> want = payload_of(payload);
  for (uint32_t j = 2; j <= n; j++) {
    SCOPED_TRACE("host " + std::to_string(j));
    auto got = of_type(*star.hosts[j - 1], proto::kTypeData);
    ASSERT_EQ(got.size(), 1u);
    Parsed p = parse(got[0]);
    EXPECT_EQ(p.p.hdr.sender, 1);
    EXPECT_EQ(p.p.hdr.message_id, kMsg);
    EXPECT_TRUE(p.set.contains((proto::NodeId)j));
    ASSERT_EQ(p.p.payload_len, payload);
    EXPECT_TRUE(std::equal(want.begin(), want.end(), got[0].bytes.begin() + p.p.payload_offset));
    EXPECT_EQ(of_type(*star.hosts[j - 1], proto::kTypeAck).size(), 0u);
  }
  auto acks = of_type(*star.hosts[0], proto::kTypeAck);
  ASSERT_EQ(acks.size(), 1u);
  Parsed a = parse(acks[0]);
  EXPECT_EQ(a.p.hdr.sender, 1);
  EXPECT_EQ(a.p.hdr.message_id, kMsg);
  EXPECT_EQ(a.p.hdr.length, n - 1); // receivers covered
  EXPECT_EQ(a.p.hdr.sequence, 1u);
  for (uint32_t j = 2; j <= n; j++) EXPECT_TRUE(a.set.contains((proto::NodeId)j)) << j;
  EXPECT_EQ(of_type(*star.hosts[0], proto::kTypeData).size(), 0u);
  // Nothing dropped anywhere.
  for (auto &nic : star.nics) {
    NicStats s = nic->stats();
    EXPECT_EQ(s.parser_overflow, 0u) << nic->name();
    EXPECT_EQ(s.agg_dropped, 0u) << nic->name();
    for (int c = 0; c < proto::kErrorCount; c++)
      if (c != proto::kOk && c != proto::kNotFanout) {
        EXPECT_EQ(s.parse_codes[c], 0u) << nic->name() << " code " << c;
      }
    EXPECT_EQ(s.replicator[hw::kCntUnroutableCopies], 0u) << nic->name();
    EXPECT_GT(s.kernel_cycles, 10000u);
  }
}

TEST(Nic, DirectDeliveryAndAck) {
  FANOUT_SIM_OWN_WORLD();
  multicast_once(3, 4, 1000); // k = 2 <= F: the sender's NIC sends both copies
}

TEST(Nic, TreeRelayAndAggregation) {
  FANOUT_SIM_OWN_WORLD();
  // k = 7, F = 2: the sender's NIC makes two copies, chunk heads relay, their aggregators merge
  // their children's ACKs; a 3,000-byte payload spans several beats with realignment.
  multicast_once(8, 2, 3000);
}

// A NIC whose peer never sends: the link monitor PROBEs every interval and marks the port down
// 3 intervals after the last frame heard (none: after 3 intervals from reset).
TEST(Nic, SilentPeerDetectedAndProbed) {
  FANOUT_SIM_OWN_WORLD();
  NicConfig c = nic_config(5);
  Nic nic("nic", c);
  Link link("link");
  RecordingSink far;
  nic.connect(0, link, 0);
  link.attach(1, &far);
  sc_core::sc_start(10, SC_US);
  // PROBEs: broadcast Fanout frames from node 5, one per interval on the idle port.
  auto probes = of_type(far, proto::kTypeProbe);
  ASSERT_GE(probes.size(), 9u);
  EXPECT_LE(probes.size(), 11u);
  EXPECT_EQ(parse(probes[0]).p.hdr.sender, 5);
  // Port 0 down once, within 3 intervals + synchronizer and register clocks.
  const auto &ev = nic.port_events();
  ASSERT_GE(ev.size(), 1u);
  EXPECT_EQ(ev[0].port, 0u);
  EXPECT_TRUE(ev[0].down);
  double cycles = ev[0].at / nic.kernel_period();
  std::printf("silent peer: port down at %.0f kernel clocks (interval %u)\n", cycles, c.heartbeat_clocks);
  // The silence timer starts when reset ends, during power-on before t = 0 (reset and register
  // writes take under 64 clocks).
  EXPECT_LE(cycles, 3.0 * c.heartbeat_clocks + 8);
  EXPECT_GE(cycles, 3.0 * c.heartbeat_clocks - 64);
  // Port 1 has no link: PHY down from the start, so it is down too (before port 0).
  EXPECT_EQ(nic.stats().port_down, 3u);
}

// A link cut (PHY down) on a busy star: detected in a few clocks.
TEST(Nic, LinkCutDetectedByPhy) {
  FANOUT_SIM_OWN_WORLD();
  Star star(3, 4, [](uint32_t i) {
    LinkConfig l;
    if (i == 2) l.schedule = {{sc_time(5, SC_US), false}};
    return l;
  });
  sc_core::sc_start(8, SC_US);
  const auto &ev = star.nics[2]->port_events();
  std::vector<Nic::PortEvent> port0;
  for (auto &e : ev)
    if (e.port == 0) port0.push_back(e);
  ASSERT_EQ(port0.size(), 1u) << "port 0 must stay up until the cut (switch heartbeats) and go down once";
  EXPECT_TRUE(port0[0].down);
  double after = (port0[0].at - sc_time(5, SC_US)) / star.nics[2]->kernel_period();
  std::printf("link cut: port down %.1f kernel clocks after the cut\n", after);
  EXPECT_GE(after, 0);
  EXPECT_LE(after, 8);
  // The healthy NICs never saw their port 0 go down.
  for (int i : {0, 1})
    for (auto &e : star.nics[i]->port_events()) EXPECT_NE(e.port, 0u) << star.nics[i]->name();
}

TEST(Nic, WaveformWritten) {
  FANOUT_SIM_OWN_WORLD();
  std::string path = ::testing::TempDir() + "nic_wave.fst";
  std::remove(path.c_str());
  NicConfig c = nic_config(9);
  c.fst_path = path;
  {
    Nic nic("nic", c);
    Link link("link");
    nic.connect(0, link, 0);
    sc_core::sc_start(2, SC_US);
    sc_core::sc_stop();
  }
  std::ifstream f(path, std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekg(0, std::ios::end);
  EXPECT_GT(f.tellg(), 1000);
}

TEST(Nic, BadConfigNamesTheField) {
  NicConfig c = nic_config(1, 1);
  try {
    validate(c);
    FAIL() << "fan-out 1 accepted";
  } catch (const std::invalid_argument &e) {
    EXPECT_NE(std::string(e.what()).find("NicConfig.fanout"), std::string::npos) << e.what();
  }
}

} // namespace
} // namespace sim
} // namespace fanout
