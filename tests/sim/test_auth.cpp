// Per-packet authentication in the simulated cluster (nic.auth, proto/auth.hpp): every NIC signs
// what it originates (hls/auth_signer, between the shell and the MACs) and its parser checks what
// arrives (hls/parser). Label fault: hostile input.
//
// One simulation per process (FANOUT_SIM_OWN_WORLD).
#include "sim_test.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "fanout/sim/cluster.hpp"
#include "fanout/sim/scenario.hpp"

namespace fanout {
namespace sim {
namespace {

const char *kKey = "000102030405060708090a0b0c0d0e0f";

Scenario scenario(const std::vector<std::pair<std::string, std::string>> &flags) {
  Scenario s;
  for (const auto &f : flags) EXPECT_TRUE(apply_flag(s, f.first, f.second)) << f.first;
  validate(s, "<test>");
  return s;
}

// 16 nodes, star, tree mode F = 4, node 0 broadcasts 3 x 64 KiB with a group key required.
std::vector<std::pair<std::string, std::string>> broadcast_flags() {
  return {{"nodes", "16"},        {"workload", "broadcast"},          {"senders", "0"},
          {"messages", "3"},      {"message-bytes", "65536"},         {"auth-key", kKey},
          {"retransmit", "true"}, {"silent-timeout-clocks", "30000"}, {"message-timeout-us", "1500"}};
}

// Every NIC signs, every hop verifies: the broadcast completes as without authentication, nothing
// is refused, and the frames verified are the DATA copies and the ACKs the NICs received.
TEST(SimAuth, SignedClusterDeliversEverything) {
  FANOUT_SIM_OWN_WORLD();
  RunResult r = run_cluster(scenario(broadcast_flags()));
  for (const std::string &f : failures(r)) ADD_FAILURE() << f;
  for (const auto &d : r.drops.nonzero()) ADD_FAILURE() << d.first << " " << d.second;
  EXPECT_EQ(r.messages_completed, 3u);
  EXPECT_EQ(r.deliveries, r.deliveries_expected);
  EXPECT_EQ(r.data_errors, 0u);
  EXPECT_GT(r.auth_signed, 0u);
  EXPECT_GE(r.auth_verified, r.replicator_copies) << "every copy crossed a link to a NIC that checked it";
  EXPECT_EQ(r.drops.total(), 0u) << "nothing refused";
}

// Port mode: the Fanout switches sign their copies and aggregates and check what they receive, the
// NICs check the switches' frames (origins 0xF000 up: the parsers' extra replay windows).
TEST(SimAuth, PortModeSwitchesSignAndCheck) {
  FANOUT_SIM_OWN_WORLD();
  std::vector<std::pair<std::string, std::string>> f = broadcast_flags();
  f.push_back({"mode", "port"});
  RunResult r = run_cluster(scenario(f));
  for (const std::string &e : failures(r)) ADD_FAILURE() << e;
  EXPECT_EQ(r.messages_completed, 3u);
  EXPECT_EQ(r.deliveries, r.deliveries_expected);
  EXPECT_GT(r.switch_replicator_copies, 0u);
  EXPECT_GE(r.auth_verified, r.switch_replicator_copies) << "every switch copy checked at a NIC";
  EXPECT_EQ(r.drops.total(), 0u) << "nothing refused";
}

// A node configured with another key (node 4, a leaf of node 0's tree) is shut out: it refuses
// every frame it is sent (bad tag), its own ACKs are refused by its parent, and the other 14
// receivers get every message whole; node 4 never counts as delivered.
TEST(SimAuth, NodeWithAnotherKeyIsShutOut) {
  FANOUT_SIM_OWN_WORLD();
  ClusterOptions o;
  o.foreign_key_nodes = {4};
  RunResult r = run_cluster(scenario(broadcast_flags()), o);
  EXPECT_GT(r.drops.auth_bad_tag, 0u);
  EXPECT_EQ(r.drops.auth_replayed + r.drops.auth_stale + r.drops.auth_unknown_origin + r.drops.auth_unsigned, 0u);
  EXPECT_EQ(r.data_errors, 0u);
  EXPECT_EQ(r.wrong_receiver, 0u);
  ASSERT_EQ(r.messages.size(), 3u);
  for (const MessageOutcome &m : r.messages) {
    SCOPED_TRACE("message " + std::to_string(m.id));
    for (uint16_t id : m.receivers) {
      bool delivered = std::count(m.delivered.begin(), m.delivered.end(), id) > 0;
      EXPECT_EQ(delivered, id != 4) << "receiver " << id;
    }
  }
}

} // namespace
} // namespace sim
} // namespace fanout
