// rtl/link_monitor.sv (P = 2), Verilated: the PROBE it sends is byte for byte the frame
// proto::build_frame makes and proto::parse_frame accepts; heartbeats go out only on idle links,
// one per interval; a silent peer is marked down 3 intervals after its last frame (measured), a
// PHY link-down at once, and a port comes back with the peer's next frame.
#include "Vlink_monitor.h"
#include "rtl_axis.hpp"

#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace {

namespace proto = fanout::proto;

const uint16_t kNode = 0x0107;
const uint32_t kInterval = 200;

struct Monitor : rtltest::Dut<Vlink_monitor> {
  explicit Monitor(uint32_t interval = kInterval) {
    m->cfg_interval = interval;
    m->cfg_node_id = kNode;
    m->cfg_mac = 0x020000000107ull;
    m->cfg_ipv4 = proto::cluster_ipv4(kNode);
    m->cfg_udp_port = proto::kDefaultUdpPort;
    m->mac_link_up = 3;
    reset();
  }
  std::vector<uint8_t> probe(unsigned port) const { return rtltest::get_bytes(m->probe_tdata, 512 * port, 64); }
};

std::vector<uint8_t> golden_probe(uint16_t port, uint32_t seq) {
  proto::NetHeaders net;
  for (int i = 0; i < 6; i++) net.eth_dst[i] = 0xFF;
  proto::cluster_mac(kNode, net.eth_src);
  net.ip_src = proto::cluster_ipv4(kNode);
  net.ip_dst = 0xFFFFFFFFu;
  net.ip_tos = 0;
  net.ip_ttl = proto::kDefaultIpTtl;
  net.ip_id = 0;
  net.udp_src_port = proto::kDefaultUdpPort;
  net.udp_dst_port = proto::kDefaultUdpPort;
  proto::FanoutHeader h = proto::make_header(proto::kTypeProbe, kNode, kNode, port, seq, 0);
  h.hops_left = 0;
  proto::ReceiverSet none;
  std::vector<uint8_t> frame(128);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(net, h, none, nullptr, 0, proto::default_build_options(), frame.data(),
                               (uint32_t)frame.size(), &len),
            proto::kOk);
  frame.resize(len);
  return frame;
}

TEST(LinkMonitor, ProbeIsTheFrameProtoBuildsAndParses) {
  Monitor mon;
  mon.m->probe_tready = 3;
  std::vector<std::vector<uint8_t>> got[2];
  for (int c = 0; c < 5 * (int)kInterval; c++) {
    mon.m->eval();
    for (unsigned p = 0; p < 2; p++) {
      if (mon.m->probe_tvalid & (1u << p)) {
        EXPECT_EQ(mon.m->probe_tkeep[2 * p] & mon.m->probe_tkeep[2 * p + 1], 0xFFFFFFFFu);
        EXPECT_TRUE(mon.m->probe_tlast & (1u << p));
        got[p].push_back(mon.probe(p));
      }
    }
    mon.tick();
  }
  for (unsigned p = 0; p < 2; p++) {
    ASSERT_GE(got[p].size(), 4u) << "port " << p << ": one PROBE per interval on an idle link";
    for (uint32_t s = 0; s < got[p].size(); s++) {
      std::vector<uint8_t> want = golden_probe((uint16_t)p, s);
      ASSERT_EQ(want.size(), 64u);
      EXPECT_EQ(got[p][s], want) << "port " << p << " sequence " << s;
      proto::ParsedPacket parsed;
      proto::ReceiverSet set;
      ASSERT_EQ(proto::parse_frame(got[p][s].data(), 64, proto::default_parse_config(), parsed, &set), proto::kOk);
      EXPECT_EQ(parsed.hdr.type, proto::kTypeProbe);
      EXPECT_EQ(parsed.hdr.sequence, s);
    }
  }
}

TEST(LinkMonitor, HeartbeatsOnlyOnIdleLinksOncePerInterval) {
  Monitor mon;
  mon.m->probe_tready = 3;
  std::vector<uint64_t> sent[2];
  for (int c = 0; c < 10 * (int)kInterval; c++) {
    mon.m->tx_beat = 1; // port 0 carries traffic every clock; port 1 is idle
    mon.m->eval();
    for (unsigned p = 0; p < 2; p++) {
      if (mon.m->probe_tvalid & (1u << p)) sent[p].push_back(mon.cycles);
    }
    mon.tick();
  }
  EXPECT_TRUE(sent[0].empty()) << "a busy link needs no heartbeat";
  ASSERT_GE(sent[1].size(), 9u);
  for (std::size_t i = 1; i < sent[1].size(); i++) EXPECT_EQ(sent[1][i] - sent[1][i - 1], kInterval);
  EXPECT_EQ((uint32_t)(mon.m->probes_sent >> 32), sent[1].size());
  std::printf("[link_monitor] idle link: a PROBE every %u clocks; busy link: none\n",
              (unsigned)(sent[1][1] - sent[1][0]));
}

TEST(LinkMonitor, SilentPeerIsDownThreeIntervalsAfterItsLastFrame) {
  Monitor mon;
  mon.m->probe_tready = 3;
  uint64_t last_rx_port1 = 0, down_at = 0;
  for (int c = 0; c < 12 * (int)kInterval; c++) {
    // Both peers send a frame every interval / 2; peer 1 dies after 4 intervals.
    bool tick_rx = mon.cycles % (kInterval / 2) == 0;
    bool peer1_alive = mon.cycles < 4 * kInterval;
    mon.m->rx_frame_end = (tick_rx ? 1u : 0u) | (tick_rx && peer1_alive ? 2u : 0u);
    if (tick_rx && peer1_alive) last_rx_port1 = mon.cycles;
    mon.tick();
    mon.m->eval();
    EXPECT_FALSE(mon.m->port_down & 1u) << "port 0's peer is alive, clock " << mon.cycles;
    if ((mon.m->port_down & 2u) && !down_at) down_at = mon.cycles;
  }
  ASSERT_NE(down_at, 0u) << "port 1 never marked down";
  uint64_t detect = down_at - last_rx_port1;
  std::printf("[link_monitor] interval %u clocks: silent peer marked down %llu clocks after its last frame\n",
              kInterval, (unsigned long long)detect);
  EXPECT_GE(detect, 3u * kInterval) << "two lost heartbeats are tolerated";
  EXPECT_LE(detect, 3u * kInterval + 2);
  EXPECT_EQ((uint32_t)(mon.m->down_events >> 32), 1u);
  EXPECT_EQ((uint32_t)mon.m->down_events, 0u);
  // The peer comes back: the port is up again after its next frame.
  mon.m->rx_frame_end = 2;
  mon.tick();
  mon.m->rx_frame_end = 0;
  mon.tick();
  mon.m->eval();
  EXPECT_FALSE(mon.m->port_down & 2u);
}

TEST(LinkMonitor, PhyLinkDownIsImmediateAndStopsHeartbeats) {
  Monitor mon;
  mon.m->probe_tready = 3;
  mon.m->mac_link_up = 1; // port 1's PHY is down
  unsigned probes1 = 0;
  for (int c = 0; c < 4 * (int)kInterval; c++) {
    mon.m->rx_frame_end = (mon.cycles % 50 == 0) ? 3 : 0;
    mon.tick();
    mon.m->eval();
    if (c >= 1) {
      EXPECT_TRUE(mon.m->port_down & 2u);
    }
    EXPECT_FALSE(mon.m->port_down & 1u);
    if (mon.m->probe_tvalid & 2u) probes1++;
  }
  EXPECT_EQ(probes1, 0u) << "no heartbeat on a link that is down";
}

TEST(LinkMonitor, IntervalZeroDisablesHeartbeatsAndSilenceDetection) {
  Monitor mon(0);
  mon.m->probe_tready = 3;
  for (int c = 0; c < 2000; c++) {
    mon.tick();
    mon.m->eval();
    EXPECT_EQ(mon.m->probe_tvalid, 0u);
    EXPECT_EQ(mon.m->port_down, 0u);
  }
}

} // namespace
