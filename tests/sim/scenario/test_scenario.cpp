// Scenario files and flags (sim/scenario): defaults are valid; a full file sets every field; JSON
// works as well as YAML; every kind of mistake is refused with file:line:column, the field's path
// and the problem; flags use the same checks.
#include "fanout/sim/scenario.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

namespace sim = fanout::sim;

// The error parse_scenario raises for `text`, or "" when it is accepted.
std::string error_of(const std::string &text) {
  try {
    sim::parse_scenario(text, "t.yaml");
  } catch (const sim::ScenarioError &e) {
    return e.what();
  }
  return "";
}

TEST(Scenario, EmptyDocumentGivesValidDefaults) {
  sim::Scenario s = sim::parse_scenario("", "t.yaml");
  EXPECT_EQ(s.nodes, 16u);
  EXPECT_EQ(s.topology, sim::Topology::kStar);
  EXPECT_EQ(s.workload, sim::Workload::kMoe);
  EXPECT_EQ(s.moe.experts, 256u);
  EXPECT_EQ(s.moe.top_k, 8u);
  EXPECT_EQ(s.moe.token_bytes, 7168u);
  EXPECT_EQ(s.allreduce.root, 0u);
  EXPECT_EQ(s.allreduce.messages, 2u);
  EXPECT_EQ(s.allreduce.message_bytes, 512u << 10);
  EXPECT_EQ(s.checkpoint.replicas, 3u);
  EXPECT_EQ(s.checkpoint.shards, 1u);
  EXPECT_EQ(s.checkpoint.shard_bytes, 256u << 10);
}

TEST(Scenario, EveryFieldIsRead) {
  sim::Scenario s = sim::parse_scenario(R"(
name: sparse-test
seed: 42
duration_us: 2000
topology: {kind: leaf_spine, nodes: 32, leaves: 4, spines: 2, switch_buffer_kib: 512}
link: {gbps: 400, delay_ns: 250, loss: 0.001, corrupt: 0.0001}
nic: {mode: port, fanout: 8, ports: 2, heartbeat_clocks: 500, kernel_mhz: 250, mac_mhz: 322}
workload:
  kind: sparse
  senders: [0, 5, 31]
  k: 12
  messages: 100
  message_bytes: 4096
  interval_ns: 1000
  moe: {experts: 64, top_k: 4, shared_expert: false, node_limit: 2, tokens_per_step: 16, steps: 3, token_bytes: 1024}
  allreduce: {root: 7, messages: 5, message_bytes: 2097152}
  checkpoint: {replicas: 2, shards: 6, shard_bytes: 524288}
faults:
  - {kind: link_down, link: node3, at_us: 100, duration_us: 50}
  - {kind: loss, link: leaf1-spine0, at_us: 0, probability: 0.01}
output: {json: true, fst: [0, 1], pcap: [node0, leaf0-spine1], dir: out}
)",
                                        "t.yaml");
  EXPECT_EQ(s.name, "sparse-test");
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.duration_ns, 2'000'000u);
  EXPECT_EQ(s.topology, sim::Topology::kLeafSpine);
  EXPECT_EQ(s.nodes, 32u);
  EXPECT_EQ(s.switch_buffer_bytes, 512u * 1024);
  EXPECT_EQ(s.link.gbps, 400);
  EXPECT_EQ(s.link.delay_ns, 250u);
  EXPECT_EQ(s.mode, sim::Mode::kPort);
  EXPECT_EQ(s.fanout, 8u);
  EXPECT_EQ(s.nic_ports, 2u);
  EXPECT_EQ(s.heartbeat_clocks, 500u);
  EXPECT_EQ(s.workload, sim::Workload::kSparse);
  EXPECT_EQ(s.senders, (std::vector<uint32_t>{0, 5, 31}));
  EXPECT_EQ(s.k, 12u);
  EXPECT_EQ(s.interval_ns, 1000u);
  EXPECT_EQ(s.moe.experts, 64u);
  EXPECT_FALSE(s.moe.shared_expert);
  EXPECT_EQ(s.allreduce.root, 7u);
  EXPECT_EQ(s.allreduce.messages, 5u);
  EXPECT_EQ(s.allreduce.message_bytes, 2097152u);
  EXPECT_EQ(s.checkpoint.replicas, 2u);
  EXPECT_EQ(s.checkpoint.shards, 6u);
  EXPECT_EQ(s.checkpoint.shard_bytes, 524288u);
  ASSERT_EQ(s.faults.size(), 2u);
  EXPECT_EQ(s.faults[0].kind, sim::FaultKind::kLinkDown);
  EXPECT_EQ(s.faults[0].at_ns, 100'000u);
  EXPECT_EQ(s.faults[0].duration_ns, 50'000u);
  EXPECT_EQ(s.faults[1].probability, 0.01);
  EXPECT_TRUE(s.json);
  EXPECT_EQ(s.fst_nodes, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(s.pcap_links, (std::vector<std::string>{"node0", "leaf0-spine1"}));
  EXPECT_EQ(s.output_dir, "out");
}

TEST(Scenario, JsonIsAcceptedToo) {
  sim::Scenario s = sim::parse_scenario(
      R"({"topology": {"nodes": 8}, "workload": {"kind": "broadcast", "message_bytes": 1048576}})", "t.json");
  EXPECT_EQ(s.nodes, 8u);
  EXPECT_EQ(s.workload, sim::Workload::kBroadcast);
  EXPECT_EQ(s.message_bytes, 1048576u);
}

TEST(Scenario, AllReduceAndCheckpointScenarios) {
  sim::Scenario a = sim::parse_scenario(R"(
topology: {nodes: 8}
workload:
  kind: allreduce
  interval_ns: 2000
  allreduce: {root: 7, messages: 3, message_bytes: 65536}
)",
                                        "t.yaml");
  EXPECT_EQ(a.workload, sim::Workload::kAllReduce);
  EXPECT_STREQ(sim::name(a.workload), "allreduce");
  EXPECT_EQ(a.allreduce.root, 7u);
  EXPECT_EQ(a.allreduce.messages, 3u);
  EXPECT_EQ(a.allreduce.message_bytes, 65536u);
  EXPECT_EQ(a.interval_ns, 2000u);
  sim::Scenario c = sim::parse_scenario(
      R"({"workload": {"kind": "checkpoint", "senders": [2, 3], "checkpoint": {"replicas": 15, "shards": 4,
          "shard_bytes": 4096}}})",
      "t.json");
  EXPECT_EQ(c.workload, sim::Workload::kCheckpoint);
  EXPECT_STREQ(sim::name(c.workload), "checkpoint");
  EXPECT_EQ(c.senders, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(c.checkpoint.replicas, 15u) << "nodes - 1 is allowed";
  EXPECT_EQ(c.checkpoint.shards, 4u);
  EXPECT_EQ(c.checkpoint.shard_bytes, 4096u);
  // The other workloads' names are unchanged.
  EXPECT_STREQ(sim::name(sim::Workload::kBroadcast), "broadcast");
  EXPECT_STREQ(sim::name(sim::Workload::kSparse), "sparse");
  EXPECT_STREQ(sim::name(sim::Workload::kMoe), "moe");
  // A workload's own checks only apply when it is the one run.
  EXPECT_EQ(error_of("workload: {kind: moe, allreduce: {root: 99}, checkpoint: {replicas: 99}}\n"), "");
}

TEST(Scenario, MistakesNameTheLocationTheFieldAndTheProblem) {
  struct Case {
    const char *text;
    const char *error;
  };
  const Case cases[] = {
      {"topology:\n  nodes: 1\n", "t.yaml:2:10: topology.nodes: must be between 2 and 1024 (got 1)"},
      {"topology:\n  nodez: 8\n", "t.yaml:2:3: topology.nodez: unknown field (known here: kind, nodes, leaves, spines, "
                                  "switch_buffer_kib)"},
      {"nic: {mode: ring}\n", "t.yaml:1:13: nic.mode: must be one of tree, port, unicast, bier (got 'ring')"},
      {"nic: {ports: 4}\n",
       "t.yaml:1:14: nic.ports: must be 2: fanout-sim's NIC shell is Verilated with P = 2 (got 4)"},
      {"link: {loss: 1.5}\n", "t.yaml:1:14: link.loss: must be between 0 and 1 (got 1.5)"},
      {"seed: -3\n", "t.yaml:1:7: seed: must be a whole number (got '-3')"},
      {"workload: {kind: sparse, k: 16}\n", "t.yaml: workload.k: must be between 1 and nodes - 1 = 15 (got 16)"},
      {"workload: {senders: [1, 99]}\n", "t.yaml: workload.senders: node 99 does not exist (nodes 0..15)"},
      {"topology: {kind: leaf_spine, nodes: 10, leaves: 4}\n",
       "t.yaml: topology.leaves: must divide topology.nodes = 10 (got 4)"},
      {"faults: [{kind: loss, link: node2, at_us: 5}]\n",
       "t.yaml: faults[0].probability: a loss fault needs a probability in (0, 1]"},
      {"faults: [{kind: link_down, link: node99, at_us: 5}]\n",
       "t.yaml: faults[0].link: no link 'node99' (node<N> or leaf<L>-spine<S>)"},
      {"faults: [{kind: link_down, at_us: 5}]\n", "t.yaml:1:10: faults[0].link: missing"},
      {"faults: [{kind: link_down, link: node1, when: 5}]\n",
       "t.yaml:1:41: faults[0].when: unknown field (known: kind, link, at_us, duration_us, probability)"},
      {"name: [a, b]\n", "t.yaml:1:7: name: must be a single value, not a list"},
      {"topology: {nodes: }\n", "t.yaml:1:12: topology.nodes: has no value"},
      {"workload: {moe: {experts: 100}}\n",
       "t.yaml: workload.moe.experts: must be a multiple of nodes = 16 (experts are spread evenly; got 100)"},
      {"workload: {kind: ring}\n",
       "t.yaml:1:18: workload.kind: must be one of broadcast, sparse, moe, allreduce, checkpoint (got 'ring')"},
      {"workload: {kind: allreduce, allreduce: {root: 16}}\n",
       "t.yaml: workload.allreduce.root: must be between 0 and nodes - 1 = 15 (got 16)"},
      {"workload: {allreduce: {messages: 0}}\n",
       "t.yaml:1:34: workload.allreduce.messages: must be between 1 and 1000000 (got 0)"},
      {"workload: {allreduce: {message_bytes: 67108865}}\n",
       "t.yaml:1:39: workload.allreduce.message_bytes: must be between 1 and 67108864 (got 67108865)"},
      {"workload: {allreduce: {rank: 1}}\n",
       "t.yaml:1:24: workload.allreduce.rank: unknown field (known here: root, messages, message_bytes)"},
      {"workload: {kind: checkpoint, checkpoint: {replicas: 16}}\n",
       "t.yaml: workload.checkpoint.replicas: must be between 1 and nodes - 1 = 15 (got 16)"},
      {"workload: {checkpoint: {replicas: 0}}\n",
       "t.yaml:1:35: workload.checkpoint.replicas: must be between 1 and 65535 (got 0)"},
      {"workload: {checkpoint: {shards: 0}}\n",
       "t.yaml:1:33: workload.checkpoint.shards: must be between 1 and 1000000 (got 0)"},
      {"workload: {checkpoint: {shard_bytes: 0}}\n",
       "t.yaml:1:38: workload.checkpoint.shard_bytes: must be between 1 and 67108864 (got 0)"},
      {"a: [\n", "t.yaml:2:1: not valid YAML/JSON"},
      {"- 1\n- 2\n", "t.yaml:1:1: the scenario must be a map of fields"},
  };
  for (const Case &c : cases) {
    std::string e = error_of(c.text);
    EXPECT_EQ(e.substr(0, std::string(c.error).size()), c.error) << "input:\n" << c.text << "got: " << e;
  }
}

TEST(Scenario, FlagsUseTheSameChecks) {
  sim::Scenario s;
  EXPECT_TRUE(sim::apply_flag(s, "nodes", "64"));
  EXPECT_TRUE(sim::apply_flag(s, "workload", "sparse"));
  EXPECT_TRUE(sim::apply_flag(s, "k", "8"));
  EXPECT_TRUE(sim::apply_flag(s, "senders", "0,1,2"));
  EXPECT_TRUE(sim::apply_flag(s, "fault", "link_down:node3:100:20"));
  EXPECT_TRUE(sim::apply_flag(s, "json", "true"));
  EXPECT_FALSE(sim::apply_flag(s, "no-such-flag", "1"));
  EXPECT_EQ(s.nodes, 64u);
  EXPECT_EQ(s.senders.size(), 3u);
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].duration_ns, 20'000u);
  EXPECT_NO_THROW(sim::validate(s, "<flags>"));
  try {
    sim::apply_flag(s, "fanout", "1");
    FAIL() << "fan-out 1 accepted";
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "--fanout: must be between 2 and 64 (got 1)");
  }
  try {
    sim::apply_flag(s, "fault", "link_down:node3");
    FAIL() << "short fault accepted";
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "--fault: must be kind:link:at_us[:duration_us[:probability]] (got 'link_down:node3')");
  }
  EXPECT_NE(sim::flag_help().find("--nodes VALUE"), std::string::npos);
}

TEST(Scenario, AllReduceAndCheckpointFlags) {
  sim::Scenario s;
  EXPECT_TRUE(sim::apply_flag(s, "nodes", "8"));
  EXPECT_TRUE(sim::apply_flag(s, "workload", "allreduce"));
  EXPECT_TRUE(sim::apply_flag(s, "root", "5"));
  EXPECT_TRUE(sim::apply_flag(s, "allreduce-messages", "9"));
  EXPECT_TRUE(sim::apply_flag(s, "allreduce-bytes", "131072"));
  EXPECT_EQ(s.workload, sim::Workload::kAllReduce);
  EXPECT_EQ(s.allreduce.root, 5u);
  EXPECT_EQ(s.allreduce.messages, 9u);
  EXPECT_EQ(s.allreduce.message_bytes, 131072u);
  EXPECT_NO_THROW(sim::validate(s, "<flags>"));
  EXPECT_TRUE(sim::apply_flag(s, "root", "8"));
  try {
    sim::validate(s, "<flags>");
    FAIL() << "root 8 of 8 nodes accepted";
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "<flags>: workload.allreduce.root: must be between 0 and nodes - 1 = 7 (got 8)");
  }
  try {
    sim::apply_flag(s, "allreduce-bytes", "0");
    FAIL() << "0-byte messages accepted";
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "--allreduce-bytes: must be between 1 and 67108864 (got 0)");
  }

  EXPECT_TRUE(sim::apply_flag(s, "workload", "checkpoint"));
  EXPECT_TRUE(sim::apply_flag(s, "replicas", "7"));
  EXPECT_TRUE(sim::apply_flag(s, "shards", "3"));
  EXPECT_TRUE(sim::apply_flag(s, "shard-bytes", "262144"));
  EXPECT_EQ(s.workload, sim::Workload::kCheckpoint);
  EXPECT_EQ(s.checkpoint.replicas, 7u);
  EXPECT_EQ(s.checkpoint.shards, 3u);
  EXPECT_EQ(s.checkpoint.shard_bytes, 262144u);
  EXPECT_NO_THROW(sim::validate(s, "<flags>")) << "the allreduce root is not checked for checkpoint";
  EXPECT_TRUE(sim::apply_flag(s, "replicas", "8"));
  try {
    sim::validate(s, "<flags>");
    FAIL() << "8 replicas among 7 other nodes accepted";
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "<flags>: workload.checkpoint.replicas: must be between 1 and nodes - 1 = 7 (got 8)");
  }
  try {
    sim::apply_flag(s, "replicas", "0");
    FAIL() << "0 replicas accepted";
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "--replicas: must be between 1 and 65535 (got 0)");
  }
  try {
    sim::apply_flag(s, "shards", "0");
    FAIL() << "0 shards accepted";
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "--shards: must be between 1 and 1000000 (got 0)");
  }
  try {
    sim::apply_flag(s, "workload", "alltoall");
    FAIL() << "unknown workload accepted";
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "--workload: must be one of broadcast, sparse, moe, allreduce, checkpoint (got 'alltoall')");
  }
  std::string help = sim::flag_help();
  for (const char *flag : {"--root VALUE", "--allreduce-messages VALUE", "--allreduce-bytes VALUE", "--replicas VALUE",
                           "--shards VALUE", "--shard-bytes VALUE"})
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  EXPECT_NE(help.find("broadcast, sparse, moe, allreduce or checkpoint"), std::string::npos);
}

TEST(Scenario, MissingFileIsNamed) {
  try {
    sim::load_scenario_file("/nonexistent/dir/s.yaml");
    FAIL();
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "/nonexistent/dir/s.yaml: cannot open the scenario file");
  }
}

} // namespace

namespace {

// Found by fuzz_scenario: YAML allows non-scalar and repeated keys; a scenario has neither, and
// both are ScenarioErrors naming where (a yaml-cpp exception escaping would end fanout-sim).
TEST(Scenario, KeysArePlainNamesGivenOnce) {
  EXPECT_EQ(error_of("{[1]: 2}\n"), "t.yaml:1:2: <key>: a key must be a plain name");
  EXPECT_EQ(error_of("faults: [{[a]: 1}]\n"), "t.yaml:1:11: faults[0]: a key must be a plain name");
  EXPECT_EQ(error_of("topology: {nodes: 8, nodes: 16}\n"), "t.yaml:1:22: topology.nodes: given twice");
  EXPECT_EQ(error_of("faults: [{kind: loss, kind: corrupt, link: node1, at_us: 1}]\n"),
            "t.yaml:1:23: faults[0].kind: given twice");
}

} // namespace
