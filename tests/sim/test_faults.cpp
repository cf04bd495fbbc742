// The simulator's fault-injection suite (label fault): a relay or a leaf dies mid-message, a link
// flaps, links lose or corrupt frames; hosts retransmit as the driver's transport does
// (sim/host.hpp). Invariants checked on every run (sim::failures and here):
//  * every message is delivered whole and byte-correct to every receiver that stayed alive, and
//    its completion names as gone exactly receivers whose link went down (no live one);
//  * retransmissions go only to receivers that missed data;
//  * detection by the peer monitor within 10 us of the fault, the first copy around the dead node
//    within 100 us (docs/reliability.md has the figures).
// One simulation per process (FANOUT_SIM_OWN_WORLD).
#include "sim_test.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "fanout/sim/cluster.hpp"
#include "fanout/sim/scenario.hpp"
#include "fanout/sim/workload.hpp"

namespace fanout {
namespace sim {
namespace {

Scenario scenario(const std::vector<std::pair<std::string, std::string>> &flags) {
  Scenario s;
  for (const auto &f : flags) EXPECT_TRUE(apply_flag(s, f.first, f.second)) << f.first;
  validate(s, "<test>");
  return s;
}

// 16 nodes, star, tree mode F = 4, node 0 broadcasts `messages` x 256 KiB (32 packets each);
// hosts retransmit; the aggregators' silent timeout 100 us.
Scenario broadcast(const std::string &fault, uint32_t messages = 3) {
  std::vector<std::pair<std::string, std::string>> f = {{"nodes", "16"},
                                                        {"workload", "broadcast"},
                                                        {"senders", "0"},
                                                        {"messages", std::to_string(messages)},
                                                        {"message-bytes", "262144"},
                                                        {"retransmit", "true"},
                                                        {"silent-timeout-clocks", "30000"},
                                                        {"message-timeout-us", "5000"}};
  if (!fault.empty()) f.push_back({"fault", fault});
  return scenario(f);
}

std::string failures_text(const RunResult &r) {
  std::string t;
  for (const std::string &f : failures(r)) t += f + "; ";
  return t;
}

// Every receiver delivered, or named gone and in `may_be_gone`; nothing else wrong.
void expect_delivered_or_gone(const RunResult &r, const std::set<uint16_t> &may_be_gone) {
  EXPECT_TRUE(failures(r).empty()) << failures_text(r);
  EXPECT_TRUE(r.all_settled);
  for (const MessageOutcome &m : r.messages) {
    SCOPED_TRACE("message " + std::to_string(m.id));
    EXPECT_TRUE(m.completed);
    EXPECT_EQ(m.data_errors, 0u);
    EXPECT_TRUE(m.wrong.empty());
    for (uint16_t id : m.receivers) {
      bool delivered = std::count(m.delivered.begin(), m.delivered.end(), id) > 0;
      bool gone = std::count(m.gone.begin(), m.gone.end(), id) > 0;
      EXPECT_TRUE(delivered || gone) << "receiver " << id;
      if (gone) {
        EXPECT_TRUE(may_be_gone.count(id)) << "live receiver " << id << " named gone";
      }
    }
  }
}

// A node's crash (its access link cut for good at 20 us, mid-message): detected by a peer
// monitor within 10 us, repaired within 100 us, every live receiver served, the dead one named.
void crash_case(uint16_t dead, const std::set<uint16_t> &behind) {
  Scenario s = broadcast("link_down:node" + std::to_string(dead) + ":20");
  RunResult r = run_cluster(s);
  expect_delivered_or_gone(r, {dead});
  ASSERT_EQ(r.faults.size(), 1u);
  const FaultOutcome &f = r.faults[0];
  ASSERT_TRUE(f.peer_detected);
  EXPECT_LE(f.peer_detection_ns, 10000u) << "detection within 10 us";
  ASSERT_TRUE(f.repaired);
  EXPECT_LE(f.repair_ns, 100000u) << "first copy around the dead node within 100 us";
  uint64_t named = 0;
  for (const MessageOutcome &m : r.messages) {
    named += std::count(m.gone.begin(), m.gone.end(), dead);
    // Only receivers behind the fault (the dead node's subtree, and the dead node) see a
    // retransmission.
    for (uint16_t id : m.retransmitted)
      EXPECT_TRUE(id == dead || behind.count(id) > 0) << "retransmission to " << id << " in front of the fault";
  }
  EXPECT_GE(named, 2u) << "the messages after the crash name it";
  std::printf("[fault] crash of node %u: peer monitor verdict %.3f us, first copy around it %.3f us, in-flight "
              "settled %.1f us after the fault; %llu RETX frames (%llu payload bytes)\n",
              dead, f.peer_detection_ns / 1e3, f.repair_ns / 1e3, f.in_flight_settled_ns / 1e3,
              (unsigned long long)r.retx_frames, (unsigned long long)r.retx_payload_bytes);
}

TEST(Fault, RelayCrashMidMessage) {
  FANOUT_SIM_OWN_WORLD();
  // Tree from node 0 over 1..15, F = 4: node 1 heads chunk {1, 2, 3, 4}.
  crash_case(1, {2, 3, 4});
}

TEST(Fault, LeafCrashMidMessage) {
  FANOUT_SIM_OWN_WORLD();
  crash_case(4, {});
}

TEST(Fault, PortModeUplinkCutUsesTheBackupSpine) {
  FANOUT_SIM_OWN_WORLD();
  // Port mode on leaf/spine (4 leaves of 4 nodes, 2 spines): leaf 0's uplink to spine 1 (its
  // route to leaves 1 and 3) is cut for good at 20 us. The leaf's replicator sees the PHY go down
  // and sends those copies out of its precomputed backup uplink (spine 0): nobody is lost.
  Scenario s = scenario({{"nodes", "16"},
                         {"mode", "port"},
                         {"topology", "leaf_spine"},
                         {"leaves", "4"},
                         {"spines", "2"},
                         {"workload", "broadcast"},
                         {"senders", "0"},
                         {"messages", "3"},
                         {"message-bytes", "262144"},
                         {"retransmit", "true"},
                         {"silent-timeout-clocks", "30000"},
                         {"message-timeout-us", "5000"},
                         {"fault", "link_down:leaf0-spine1:20"}});
  RunResult r = run_cluster(s);
  expect_delivered_or_gone(r, {});
  ASSERT_EQ(r.faults.size(), 1u);
  const FaultOutcome &f = r.faults[0];
  EXPECT_TRUE(f.monitored);
  ASSERT_TRUE(f.detected);
  EXPECT_LE(f.detection_ns, 10000u);
  ASSERT_TRUE(f.repaired);
  EXPECT_LE(f.repair_ns, 100000u);
  // The sender's own leaf is in front of the cut: its receivers never miss data, so no data is
  // resent to them (a probe may reach them: their leaf's report covers its whole hull).
  // Receivers on leaf 2 may miss some: the backup doubles spine 0's load, and it drops.
  for (const MessageOutcome &m : r.messages)
    for (uint16_t id : m.retransmitted) EXPECT_NE(id / 4, 0) << "retransmission to " << id << " on the sender's leaf";
  std::printf("[fault] port mode, leaf0-spine1 cut: detected %.3f us, first copy on the backup uplink %.3f us, "
              "in-flight settled %.1f us after the fault; %llu RETX frames\n",
              f.detection_ns / 1e3, f.repair_ns / 1e3, f.in_flight_settled_ns / 1e3, (unsigned long long)r.retx_frames);
}

TEST(Fault, FlappingLinkComesBack) {
  FANOUT_SIM_OWN_WORLD();
  // Node 5's link down from 20 us for 30 us, then up: declared down, then up again at the first
  // frame heard; messages after its return reach it.
  Scenario s = broadcast("link_down:node5:20:30", 4);
  RunResult r = run_cluster(s);
  expect_delivered_or_gone(r, {5});
  bool down = false, up = false;
  for (const PeerEventOut &e : r.peer_events) {
    if (e.peer != 5) continue;
    if (e.down) down = true;
    if (!e.down && down) up = true;
  }
  EXPECT_TRUE(down);
  EXPECT_TRUE(up) << "node 5 seen coming back";
  const MessageOutcome &last = r.messages.back();
  EXPECT_TRUE(std::count(last.delivered.begin(), last.delivered.end(), 5)) << "the last message reaches node 5 again";
}

void lossy_case(const std::string &kind, const char *probability) {
  // Node 6's access link loses (or corrupts) frames both ways at random from the start: hosts
  // retransmit what their receivers miss; nobody is declared gone by mistake.
  Scenario s = broadcast(kind + ":node6:0:0:" + probability);
  RunResult r = run_cluster(s);
  expect_delivered_or_gone(r, {});
  for (const MessageOutcome &m : r.messages) EXPECT_TRUE(m.gone.empty());
  std::printf("[fault] %s %s on node6: %llu RETX frames (%llu payload bytes), %llu dropped on the link\n", kind.c_str(),
              probability, (unsigned long long)r.retx_frames, (unsigned long long)r.retx_payload_bytes,
              (unsigned long long)(r.drops.link_loss + r.drops.fcs));
}

TEST(Fault, LossOfATenthOfAPercent) {
  FANOUT_SIM_OWN_WORLD();
  lossy_case("loss", "0.001");
}

TEST(Fault, LossOfOnePercent) {
  FANOUT_SIM_OWN_WORLD();
  lossy_case("loss", "0.01");
}

TEST(Fault, LossOfTenPercent) {
  FANOUT_SIM_OWN_WORLD();
  lossy_case("loss", "0.1");
}

TEST(Fault, BitCorruptionOfFivePercent) {
  FANOUT_SIM_OWN_WORLD();
  lossy_case("corrupt", "0.05");
}

} // namespace
} // namespace sim
} // namespace fanout
