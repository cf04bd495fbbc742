// Hostile input in the simulator (proto/policy.hpp, hls/replicator): NICs refuse DATA packets with
// more receivers than nic.max_receivers, ids outside the cluster, sets naming their sender or
// origin, and senders over nic.rate_mbps; a refused packet is dropped whole at the first NIC that
// sees it and counted (drops.policy_*).
//
// One simulation per process (FANOUT_SIM_OWN_WORLD). Runs are short (tens of microseconds).
#include "sim_test.hpp"

#include <memory>
#include <string>
#include <vector>

#include "fanout/proto/packet.hpp"
#include "fanout/sim/cluster.hpp"
#include "fanout/sim/kernel_core.hpp" // counter names
#include "fanout/sim/link.hpp"
#include "fanout/sim/nic.hpp"
#include "fanout/sim/scenario.hpp"
#include "fanout/sim/switch.hpp" // cluster_mac48

namespace fanout {
namespace sim {
namespace {

using sc_core::sc_time;
using sc_core::SC_US;
using test::RecordingSink;

Scenario scenario(const std::vector<std::pair<std::string, std::string>> &flags) {
  Scenario s;
  for (const auto &f : flags) EXPECT_TRUE(apply_flag(s, f.first, f.second)) << f.first;
  validate(s, "<test>");
  return s;
}

uint64_t policy_drops(const Drops &d) {
  return d.policy_too_many_receivers + d.policy_unknown_id + d.policy_loop + d.policy_rate_limited;
}

// (a) Broadcast to 7 receivers with at most 4 allowed: every packet is refused at the sender's NIC.
TEST(SimPolicy, TooManyReceiversRefusedAtTheSendersNic) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({{"nodes", "8"},
                         {"workload", "broadcast"},
                         {"senders", "0"},
                         {"messages", "2"},
                         {"message-bytes", "16384"},
                         {"max-receivers", "4"},
                         {"duration-us", "40"}});
  RunResult r = run_cluster(s);
  EXPECT_EQ(r.messages_sent, 2u);
  EXPECT_EQ(r.deliveries, 0u);
  EXPECT_EQ(r.messages_completed, 0u);
  EXPECT_EQ(r.replicator_copies, 0u);
  EXPECT_EQ(r.drops.policy_too_many_receivers, 4u); // 2 messages x 2 packets of 8,192 bytes
  EXPECT_EQ(r.drops.policy_unknown_id, 0u);
  EXPECT_EQ(r.drops.policy_loop, 0u);
  EXPECT_EQ(r.drops.policy_rate_limited, 0u);
  EXPECT_EQ(r.drops.total(), policy_drops(r.drops)) << "nothing else dropped";
  EXPECT_EQ(r.wrong_receiver, 0u);
}

// A DATA packet of a one-packet message from `sender`, sent by `origin` to node `to`.
Frame data_frame(proto::NodeId sender, proto::NodeId origin, proto::NodeId to, uint32_t msg,
                 const std::vector<proto::NodeId> &set, uint32_t payload) {
  proto::ReceiverSet rs;
  for (proto::NodeId id : set) EXPECT_TRUE(rs.append(id));
  std::vector<uint8_t> body(payload);
  for (uint32_t i = 0; i < payload; i++) body[i] = (uint8_t)(i * 7 + msg);
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, sender, origin, msg, 0, payload);
  h.flags = proto::kFlagLast;
  std::vector<uint8_t> out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(proto::cluster_net_headers(origin, to, sender, msg), h, rs, body.data(), payload,
                               proto::default_build_options(), out.data(), (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return make_frame(std::move(out));
}

// DATA frames among `got`, as (message id, set size) pairs.
std::vector<std::pair<uint32_t, uint32_t>> data_of(const RecordingSink &s) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (const auto &a : s.got) {
    proto::ParseConfig pc = proto::default_parse_config();
    pc.verify_udp_checksum = false;
    proto::ParsedPacket p;
    proto::ReceiverSet set;
    int e = proto::parse_frame(a.frame.bytes.data(), (uint32_t)a.frame.bytes.size(), pc, p, &set);
    if (e == proto::kOk && p.hdr.type == proto::kTypeData) out.push_back({p.hdr.message_id, set.size()});
  }
  return out;
}

// (b) Crafted frames into NIC 1 of a 4-node cluster (ids 0..3), from the wire (a hostile
// neighbour) and from its host: ids outside the cluster, a set naming its sender, a set naming
// its origin. Each is refused and counted at this first NIC; only the legal frame moves.
TEST(SimPolicy, HostileFramesRefusedAtTheFirstNic) {
  FANOUT_SIM_OWN_WORLD();
  NicConfig c;
  c.node = 1;
  c.heartbeat_clocks = 0;     // the test's end of the link sends no heartbeats
  c.peer_interval_clocks = 0; // no peer probes on the wire
  c.policy = proto::open_set_policy();
  c.policy.first_id = 0;
  c.policy.last_id = 3;
  Nic nic("nic1", c);
  Link link("link1", LinkConfig());
  nic.connect(0, link, 0);
  RecordingSink wire, host;
  link.attach(1, &wire);
  nic.set_host_sink(&host);
  for (proto::NodeId id : {0, 2, 3}) nic.set_neighbour(id, 0, cluster_mac48(id), proto::cluster_ipv4(id));

  test::spawn_thread("inject", [&] {
    sc_core::wait(sc_time(2, SC_US));
    const std::vector<Frame> from_wire = {
        data_frame(2, 2, 1, 11, {1, 500}, 256),  // 500: not in the cluster
        data_frame(2, 2, 1, 12, {1, 2, 3}, 256), // names its sender
        data_frame(2, 0, 1, 13, {0, 1, 3}, 256), // names its origin (node 0 sent it)
        data_frame(2, 2, 1, 14, {1, 3}, 256),    // legal: delivered here, one copy to 3
    };
    for (const Frame &f : from_wire) {
      while (!link.send(1, f)) sc_core::wait(link.ready_event(1));
      sc_core::wait(sc_time(1, SC_US));
    }
    EXPECT_TRUE(nic.host_send(data_frame(1, 1, 1, 15, {2, 900}, 256))); // 900: not in the cluster
    sc_core::wait(sc_time(1, SC_US));
    EXPECT_TRUE(nic.host_send(data_frame(1, 1, 1, 16, {0, 0x7000}, 256))); // 0x7000: not in the cluster
  });
  sc_core::sc_start(sc_time(20, SC_US));

  NicStats st = nic.stats();
  EXPECT_EQ(st.replicator[hw::kCntDataIn], 6u);
  EXPECT_EQ(st.replicator[hw::kCntPolicyUnknownId], 3u);
  EXPECT_EQ(st.replicator[hw::kCntPolicyLoop], 2u);
  EXPECT_EQ(st.replicator[hw::kCntPolicyTooManyReceivers], 0u);
  EXPECT_EQ(st.replicator[hw::kCntPolicyRateLimited], 0u);
  EXPECT_EQ(st.replicator[hw::kCntLocalDeliveries], 1u);
  EXPECT_EQ(st.replicator[hw::kCntCopiesSent], 1u);
  EXPECT_EQ(st.replicator[hw::kCntArmWords], 2u); // the legal frame's: itself and node 3
  auto at_host = data_of(host);
  ASSERT_EQ(at_host.size(), 1u);
  EXPECT_EQ(at_host[0].first, 14u);
  auto on_wire = data_of(wire);
  ASSERT_EQ(on_wire.size(), 1u);
  EXPECT_EQ(on_wire[0].first, 14u);
  EXPECT_EQ(on_wire[0].second, 1u); // {3}
}

// (c) A sender's rate limit: 2 x 32 KiB to 3 receivers at line rate. Under 1,000 Mb/s (27 bytes
// per 64 kernel clocks) its NIC lets two jumbo frames' burst through and refuses most of the
// rest; every drop is a rate drop.
TEST(SimPolicy, SenderOverItsRateLosesPacketsCounted) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({{"nodes", "4"},
                         {"workload", "broadcast"},
                         {"senders", "0"},
                         {"messages", "2"},
                         {"message-bytes", "32768"},
                         {"rate-mbps", "1000"},
                         {"duration-us", "40"}});
  proto::RateConfig rc = rate_config(s);
  EXPECT_EQ(rc.bytes_per_tick, 27u); // per 64 kernel clocks: 1,012.5 Mb/s at 300 MHz
  EXPECT_EQ(rc.burst_bytes, 2 * proto::kMaxFrameBytes);
  RunResult r = run_cluster(s);
  EXPECT_EQ(r.messages_sent, 2u);
  EXPECT_GE(r.drops.policy_rate_limited, 4u);
  EXPECT_LE(r.drops.policy_rate_limited, 6u); // 8 packets: the burst passes 2, the refill ~1 in 40 us
  EXPECT_EQ(r.drops.total(), r.drops.policy_rate_limited) << "nothing else dropped";
  EXPECT_EQ(r.messages_completed, 0u);
  EXPECT_LT(r.deliveries, r.deliveries_expected);
  EXPECT_EQ(r.wrong_receiver, 0u);
  EXPECT_EQ(r.data_errors, 0u);
}

// ... and under 200,000 Mb/s (above the 100 Gb/s line rate) nothing is dropped.
TEST(SimPolicy, SenderBelowItsRateLosesNothing) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({{"nodes", "4"},
                         {"workload", "broadcast"},
                         {"senders", "0"},
                         {"messages", "2"},
                         {"message-bytes", "32768"},
                         {"rate-mbps", "200000"},
                         {"max-receivers", "3"},
                         {"duration-us", "200"}});
  RunResult r = run_cluster(s);
  EXPECT_EQ(policy_drops(r.drops), 0u);
  EXPECT_EQ(r.drops.total(), 0u);
  EXPECT_EQ(r.messages_completed, 2u);
  EXPECT_EQ(r.deliveries, r.deliveries_expected);
  EXPECT_EQ(r.deliveries, 6u);
}

} // namespace
} // namespace sim
} // namespace fanout
