// Whole clusters (sim/cluster.hpp): hosts on Verilated NICs over star and leaf/spine fabrics, tree
// and port mode, checked message by message against the workload's receiver sets; a link_down
// fault and its detection; the fanout-sim program's exit status and JSON.
//
// One simulation per process: each TEST starts with FANOUT_SIM_OWN_WORLD(), and the program is
// run through popen. Runs are short (8-16 nodes, small messages, tens of microseconds).
#include "sim_test.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

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

// Every message of the workload: posted, delivered whole and byte-correct to exactly its
// receivers (the workload's set, generated again here), no duplicates, no node outside the set,
// exactly one aggregated ACK at its sender, no NACK; nothing dropped anywhere.
void expect_exact(const Scenario &s, const RunResult &r) {
  std::vector<Message> w = generate_workload(s);
  ASSERT_EQ(r.messages.size(), w.size());
  ASSERT_GT(w.size(), 0u);
  uint64_t deliveries = 0;
  for (size_t i = 0; i < w.size(); i++) {
    const MessageOutcome &m = r.messages[i];
    SCOPED_TRACE("message " + std::to_string(w[i].id) + " from node " + std::to_string(w[i].sender));
    EXPECT_EQ(m.id, w[i].id);
    EXPECT_EQ(m.receivers, w[i].receivers);
    EXPECT_TRUE(m.posted);
    EXPECT_EQ(m.delivered, w[i].receivers);
    EXPECT_TRUE(m.wrong.empty());
    EXPECT_EQ(m.duplicate_packets, 0u);
    EXPECT_EQ(m.data_errors, 0u);
    EXPECT_TRUE(m.completed);
    EXPECT_EQ(m.ack_frames, 1u);
    EXPECT_EQ(m.nack_frames, 0u);
    EXPECT_TRUE(m.timed_out.empty());
    deliveries += w[i].receivers.size();
  }
  EXPECT_EQ(r.deliveries_expected, deliveries);
  EXPECT_EQ(r.deliveries, deliveries);
  EXPECT_EQ(r.acks_at_senders, w.size());
  EXPECT_EQ(r.messages_single_ack, w.size());
  EXPECT_EQ(r.host_unexpected, 0u);
  EXPECT_EQ(r.drops.total(), 0u) << [&] {
    std::string d;
    for (const auto &x : r.drops.nonzero()) d += x.first + "=" + std::to_string(x.second) + " ";
    return d;
  }();
  EXPECT_TRUE(r.all_settled);
  EXPECT_TRUE(failures(r).empty()) << failures(r).front();
  EXPECT_GT(r.delivery_latency_ns.p50, 0);
  EXPECT_LE(r.delivery_latency_ns.max, r.completion_latency_ns.max);
}

TEST(Cluster, TreeStarBroadcast) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({{"nodes", "16"}, {"workload", "broadcast"}, {"messages", "3"}, {"message-bytes", "1024"}});
  RunResult r = run_cluster(s);
  expect_exact(s, r);
  // F = 4 over 15 receivers: 15 copies per message, every one made by a NIC.
  EXPECT_EQ(r.replicator_copies, r.messages_total * 15);
  EXPECT_EQ(r.switch_replicator_copies, 0u);
}

TEST(Cluster, TreeStarSparseMultiPacket) {
  FANOUT_SIM_OWN_WORLD();
  // 12,000 bytes: packets of 8,192 and 3,808 bytes.
  Scenario s = scenario({{"nodes", "12"},
                         {"workload", "sparse"},
                         {"k", "3"},
                         {"messages", "2"},
                         {"message-bytes", "12000"},
                         {"interval-ns", "10000"}});
  RunResult r = run_cluster(s);
  expect_exact(s, r);
  // Two DATA frames per message, each with the 64 header bytes and the set (3 ids: <= 12 bytes).
  EXPECT_GT(r.sender_host_bytes, r.payload_bytes + r.messages_total * 2 * 64);
  EXPECT_LE(r.sender_host_bytes, r.payload_bytes + r.messages_total * 2 * (64 + 12));
}

TEST(Cluster, PortStarSparse) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({{"nodes", "8"},
                         {"mode", "port"},
                         {"workload", "sparse"},
                         {"k", "5"},
                         {"messages", "3"},
                         {"message-bytes", "2048"}});
  RunResult r = run_cluster(s);
  expect_exact(s, r);
  // One copy from each sender's NIC to the switch, which makes one per receiver.
  EXPECT_EQ(r.replicator_copies, r.messages_total);
  EXPECT_EQ(r.switch_replicator_copies, r.messages_total * 5);
}

TEST(Cluster, PortStarBroadcast) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario(
      {{"nodes", "8"}, {"mode", "port"}, {"workload", "broadcast"}, {"messages", "2"}, {"message-bytes", "4096"}});
  RunResult r = run_cluster(s);
  expect_exact(s, r);
  EXPECT_EQ(r.switch_replicator_copies, r.messages_total * 7);
}

TEST(Cluster, TreeLeafSpineSparse) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({{"nodes", "16"},
                         {"topology", "leaf_spine"},
                         {"leaves", "4"},
                         {"spines", "2"},
                         {"workload", "sparse"},
                         {"k", "4"},
                         {"messages", "3"},
                         {"message-bytes", "1024"}});
  RunResult r = run_cluster(s);
  expect_exact(s, r);
}

TEST(Cluster, PortLeafSpineBroadcast) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({{"nodes", "16"},
                         {"topology", "leaf_spine"},
                         {"leaves", "4"},
                         {"spines", "2"},
                         {"mode", "port"},
                         {"workload", "broadcast"},
                         {"messages", "2"},
                         {"message-bytes", "1024"}});
  RunResult r = run_cluster(s);
  expect_exact(s, r);
  EXPECT_EQ(r.replicator_copies, r.messages_total); // NICs send one copy to their leaf
}

TEST(Cluster, PortLeafSpineSparse) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({{"nodes", "12"},
                         {"topology", "leaf_spine"},
                         {"leaves", "3"},
                         {"spines", "2"},
                         {"mode", "port"},
                         {"workload", "sparse"},
                         {"k", "4"},
                         {"messages", "3"},
                         {"message-bytes", "3000"}});
  RunResult r = run_cluster(s);
  expect_exact(s, r);
}

// The README's main job: the default scenario (16 nodes, star, tree mode, DeepSeek-V3-shaped MoE
// dispatch, 1,024 tokens) runs clean: every token exactly once to exactly its expert nodes.
TEST(Cluster, DefaultScenarioRunsClean) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({});
  RunResult r = run_cluster(s);
  expect_exact(s, r);
  EXPECT_EQ(r.messages_total, 1024u);
}

// 64 nodes on a two-tier leaf/spine (8 leaves x 8 nodes, 4 spines), both modes' worth of
// plumbing at the largest size CI runs.
TEST(Cluster, SixtyFourNodesLeafSpine) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({{"nodes", "64"},
                         {"topology", "leaf_spine"},
                         {"leaves", "8"},
                         {"spines", "4"},
                         {"workload", "sparse"},
                         {"k", "6"},
                         {"messages", "2"},
                         {"message-bytes", "4096"}});
  RunResult r = run_cluster(s);
  expect_exact(s, r);
}

TEST(Cluster, MoeStepsWaitForTheirDispatch) {
  FANOUT_SIM_OWN_WORLD();
  Scenario s = scenario({{"nodes", "8"},
                         {"workload", "moe"},
                         {"experts", "64"},
                         {"tokens-per-step", "2"},
                         {"steps", "2"},
                         {"token-bytes", "2048"}});
  RunResult r = run_cluster(s);
  expect_exact(s, r);
  // A sender starts step 1 only when every step-0 message of its own has completed.
  std::vector<Message> w = generate_workload(s);
  for (size_t i = 0; i < w.size(); i++) {
    if (w[i].step != 1) continue;
    for (size_t j = 0; j < w.size(); j++) {
      if (w[j].step == 0 && w[j].sender == w[i].sender) {
        EXPECT_GE(r.messages[i].posted_ns, r.messages[j].completed_ns) << "message " << w[i].id;
      }
    }
  }
}

// Node 3's access link goes down for 20 us in the middle of the traffic. The NIC's link monitor
// marks port 0 down within 3 heartbeat intervals + 8 kernel clocks of the fault (the PHY reports
// the loss at once, so it is in fact a few clocks; a silent peer would take the 3 intervals).
// Everything dropped is dropped because of the fault: frames on the dead wire and copies the
// replicator did not send to the down port. Messages that do not touch node 3 are unaffected;
// messages to or from node 3 during the fault fail (NACKed silent, or timed out at the host).
void link_down_case(const char *mode) {
  Scenario s = scenario({{"nodes", "8"},
                         {"mode", mode},
                         {"workload", "sparse"},
                         {"k", "3"},
                         {"messages", "6"},
                         {"message-bytes", "1024"},
                         {"interval-ns", "5000"},
                         {"fault", "link_down:node3:10:20"}});
  ClusterOptions o;
  o.silent_timeout_clocks = 30000; // 100 us: the run ends soon after the fault
  RunResult r = run_cluster(s, o);

  ASSERT_EQ(r.faults.size(), 1u);
  const FaultOutcome &f = r.faults[0];
  EXPECT_TRUE(f.monitored);
  ASSERT_TRUE(f.detected);
  double bound_cycles = 3.0 * s.heartbeat_clocks + 8;
  EXPECT_LE(f.detection_cycles, bound_cycles);
  EXPECT_LE((double)f.detection_ns, bound_cycles * r.kernel_period_ns);
  bool saw_up = false;
  for (const LinkEvent &e : r.link_events) {
    EXPECT_EQ(e.node, 3u) << "only node 3's link monitor has reason to act";
    if (!e.down) {
      saw_up = true;
      EXPECT_GE(e.at_ns, 30000u); // back up at the first frame heard after the link returns
    }
  }
  EXPECT_TRUE(saw_up);

  EXPECT_GT(r.drops.link_down, 0u);
  EXPECT_EQ(r.drops.total(), r.drops.link_down + r.drops.repl_port_down);

  std::vector<Message> w = generate_workload(s);
  ASSERT_EQ(r.messages.size(), w.size());
  uint64_t affected = 0;
  for (size_t i = 0; i < w.size(); i++) {
    const MessageOutcome &m = r.messages[i];
    SCOPED_TRACE("message " + std::to_string(w[i].id) + " from node " + std::to_string(w[i].sender));
    EXPECT_TRUE(m.posted);
    EXPECT_TRUE(m.wrong.empty());
    EXPECT_EQ(m.duplicate_packets, 0u);
    EXPECT_EQ(m.data_errors, 0u);
    bool touches = w[i].sender == 3 || std::count(w[i].receivers.begin(), w[i].receivers.end(), 3);
    if (!touches) {
      // Tree: k = 3 <= F, the sender's NIC reaches every receiver directly, never through node 3.
      // Port: the switch sends node 3 nothing of it.
      EXPECT_TRUE(m.completed);
      EXPECT_EQ(m.delivered, w[i].receivers);
      EXPECT_EQ(m.ack_frames, 1u);
      EXPECT_EQ(m.nack_frames, 0u);
    } else if (!m.completed) {
      affected++;
      // Only node 3 misses data of a message it receives; its sender misses the ACK.
      for (uint16_t id : w[i].receivers) {
        if (w[i].sender == 3 || id == 3) continue;
        EXPECT_TRUE(std::count(m.delivered.begin(), m.delivered.end(), id)) << "receiver " << id;
      }
    }
  }
  EXPECT_GT(affected, 0u) << "the fault hit no message: move it";
  EXPECT_TRUE(r.all_settled);
  EXPECT_FALSE(failures(r).empty());
}

TEST(Cluster, TreeLinkDownDetectedAndOnlyItsDrops) {
  FANOUT_SIM_OWN_WORLD();
  link_down_case("tree");
}

TEST(Cluster, PortLinkDownDetectedAndOnlyItsDrops) {
  FANOUT_SIM_OWN_WORLD();
  link_down_case("port");
}

// ---- The program ----------------------------------------------------------------------------

struct CliRun {
  int status = -1;
  std::string out;
};

// Run fanout-sim with `args` (a shell word list), stdout and, with `merge`, stderr captured.
CliRun run_cli(const std::string &args, bool merge = false) {
  std::string cmd = std::string(FANOUT_SIM_EXE) + " " + args + (merge ? " 2>&1" : " 2>/dev/null");
  CliRun r;
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

TEST(FanoutSimCli, BadFlagsExitTwoNamingTheField) {
  FANOUT_SIM_OWN_WORLD();
  CliRun r = run_cli("--nodes 8 --workload sparse --k 40", true);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out.rfind("fanout-sim: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("workload.k"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;

  r = run_cli("--nodes 1", true);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--nodes"), std::string::npos) << r.out;

  r = run_cli("--no-such-flag 3", true);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--no-such-flag"), std::string::npos) << r.out;

  // A file's error names file:line:column and the field.
  std::string path = ::testing::TempDir() + "fanout_sim_bad.yaml";
  std::ofstream(path) << "topology:\n  nodez: 8\n";
  r = run_cli(path, true);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find(path + ":2:3: topology.nodez"), std::string::npos) << r.out;
  std::remove(path.c_str());
}

TEST(FanoutSimCli, JsonReport) {
  FANOUT_SIM_OWN_WORLD();
  // Leaf/spine: many switch ports, whose SystemC process names once collided (a warning on stdout).
  CliRun r = run_cli("--nodes 8 --topology leaf_spine --leaves 2 --spines 2 --mode port --workload sparse --k 3 "
                     "--messages 2 --message-bytes 1024 --json");
  EXPECT_EQ(r.status, 0) << r.out;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.front(), '{');
  EXPECT_EQ(r.out.substr(r.out.size() - 2), "}\n");
  for (const char *kv : {"\"ok\": true", "\"messages_sent\": 16", "\"deliveries_expected\": 48", "\"deliveries\": 48",
                         "\"duplicates\": 0", "\"acks_at_senders\": 16", "\"messages_single_ack\": 16"})
    EXPECT_NE(r.out.find(kv), std::string::npos) << kv << "\n" << r.out.substr(0, 2000);
  for (const char *key : {"\"sim_time_ns\": ", "\"delivery_latency_ns\": ", "\"completion_latency_cycles\": ",
                          "\"drops\": ", "\"link_bytes\": ", "\"busiest_link_utilization\": "})
    EXPECT_NE(r.out.find(key), std::string::npos) << key;

  // The readable summary ends with the verdict.
  r = run_cli("--nodes 8 --workload sparse --k 3 --messages 2 --message-bytes 1024");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("\nOK: every message delivered exactly once to exactly its receivers, one aggregated ACK per "
                       "message\n"),
            std::string::npos)
      << r.out;
}

// --pcap: one capture per direction of the link, readable pcap (nanosecond magic); --fst: the
// NIC's waveform.
TEST(FanoutSimCli, CapturesAndWaveforms) {
  FANOUT_SIM_OWN_WORLD();
  std::string dir = ::testing::TempDir() + "fanout_sim_out";
  CliRun r = run_cli(
      "--nodes 4 --workload broadcast --messages 1 --message-bytes 1024 --pcap node0 --fst 1 --output-dir " + dir);
  EXPECT_EQ(r.status, 0) << r.out;
  for (const char *name : {"/node0.nic-to-switch.pcap", "/node0.switch-to-nic.pcap"}) {
    std::ifstream in(dir + name, std::ios::binary);
    ASSERT_TRUE(in) << dir + name;
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(bytes.size(), 24u + 16u) << "a header and at least one record";
    uint32_t magic = 0;
    std::memcpy(&magic, bytes.data(), 4);
    EXPECT_EQ(magic, 0xa1b23c4du);
  }
  std::ifstream fst(dir + "/nic1.fst", std::ios::binary | std::ios::ate);
  ASSERT_TRUE(fst);
  EXPECT_GT((long)fst.tellg(), 1000);
  fst.close();
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace sim
} // namespace fanout
