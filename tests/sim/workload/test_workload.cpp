// Workload generation (sim/workload): deterministic per seed; broadcast and sparse sets have the
// right sizes and never contain the sender; MoE tokens follow DeepSeek-V3's shape (top-k distinct
// experts, at most node_limit nodes, local experts cost no traffic); allreduce is the root to
// everyone else; checkpoint shards go to distinct replicas other than their writer.
#include "fanout/sim/workload.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace {

namespace sim = fanout::sim;

void expect_well_formed(const std::vector<sim::Message> &w, uint32_t nodes) {
  for (std::size_t i = 0; i < w.size(); i++) {
    const sim::Message &m = w[i];
    EXPECT_EQ(m.id, i);
    ASSERT_FALSE(m.receivers.empty());
    EXPECT_TRUE(std::is_sorted(m.receivers.begin(), m.receivers.end()));
    EXPECT_EQ(std::adjacent_find(m.receivers.begin(), m.receivers.end()), m.receivers.end()) << "duplicate receiver";
    EXPECT_EQ(std::count(m.receivers.begin(), m.receivers.end(), m.sender), 0) << "sender in its own set";
    EXPECT_LT(m.receivers.back(), nodes);
  }
}

TEST(Workload, BroadcastReachesEveryOtherNode) {
  sim::Scenario s;
  s.workload = sim::Workload::kBroadcast;
  s.nodes = 8;
  s.messages = 3;
  s.interval_ns = 500;
  auto w = sim::generate_workload(s);
  ASSERT_EQ(w.size(), 24u);
  expect_well_formed(w, 8);
  for (const auto &m : w) EXPECT_EQ(m.receivers.size(), 7u);
  EXPECT_EQ(w.back().release_ns, 1000u) << "third message of a sender after two intervals";
}

TEST(Workload, SparseSetsHaveKDistinctReceiversAndCoverTheCluster) {
  sim::Scenario s;
  s.workload = sim::Workload::kSparse;
  s.nodes = 64;
  s.k = 5;
  s.messages = 50;
  auto w = sim::generate_workload(s);
  ASSERT_EQ(w.size(), 64u * 50);
  expect_well_formed(w, 64);
  std::set<uint16_t> seen;
  for (const auto &m : w) {
    EXPECT_EQ(m.receivers.size(), 5u);
    seen.insert(m.receivers.begin(), m.receivers.end());
  }
  EXPECT_EQ(seen.size(), 64u) << "every node is somebody's receiver";
}

TEST(Workload, SameSeedSameTrafficOtherSeedOtherTraffic) {
  sim::Scenario s;
  auto a = sim::generate_workload(s);
  auto b = sim::generate_workload(s);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); i++) EXPECT_EQ(a[i].receivers, b[i].receivers);
  s.seed = 2;
  auto c = sim::generate_workload(s);
  bool differs = a.size() != c.size();
  for (std::size_t i = 0; !differs && i < a.size(); i++) differs = a[i].receivers != c[i].receivers;
  EXPECT_TRUE(differs);
}

TEST(Workload, MoeTokensFollowTheDeepSeekShape) {
  sim::Scenario s; // defaults: 16 nodes x 16 experts, top-8, node limit 4, 7,168-byte tokens
  s.moe.steps = 4;
  auto w = sim::generate_workload(s);
  expect_well_formed(w, 16);
  uint32_t per_node = s.moe.experts / s.nodes;
  std::size_t max_nodes = 0;
  for (const auto &m : w) {
    EXPECT_EQ(m.bytes, 7168u);
    ASSERT_EQ(m.experts.size(), 8u);
    EXPECT_EQ(std::adjacent_find(m.experts.begin(), m.experts.end()), m.experts.end()) << "an expert twice";
    std::set<uint32_t> nodes;
    for (uint16_t e : m.experts) nodes.insert(e / per_node);
    EXPECT_LE(nodes.size(), 4u) << "node-limited routing";
    nodes.erase(m.sender);
    EXPECT_EQ(std::set<uint32_t>(m.receivers.begin(), m.receivers.end()), nodes)
        << "receivers are exactly the remote nodes of the experts";
    max_nodes = std::max(max_nodes, m.receivers.size());
  }
  auto sum = sim::summarize(w);
  std::printf("[workload] moe default: %llu tokens with traffic of %u posted, mean %.2f receiver nodes, max %zu\n",
              (unsigned long long)sum.messages, s.nodes * s.moe.tokens_per_step * s.moe.steps, sum.mean_receivers,
              max_nodes);
  EXPECT_GT(sum.mean_receivers, 2.0);
  EXPECT_LE(max_nodes, 4u);
}

TEST(Workload, MoeWithoutNodeLimitSpreadsWider) {
  sim::Scenario s;
  s.moe.node_limit = 0;
  s.moe.steps = 4;
  auto wide = sim::summarize(sim::generate_workload(s));
  s.moe.node_limit = 4;
  auto limited = sim::summarize(sim::generate_workload(s));
  EXPECT_GT(wide.mean_receivers, limited.mean_receivers);
  EXPECT_GT(wide.mean_receivers, 5.0) << "8 experts over 16 nodes land on ~6.5 distinct nodes";
}

TEST(Workload, AllReduceRootAloneSendsToEveryOtherNode) {
  sim::Scenario s;
  s.workload = sim::Workload::kAllReduce;
  s.nodes = 8;
  s.senders = {0, 1}; // ignored: only the root sends
  s.allreduce.root = 3;
  s.allreduce.messages = 4;
  s.allreduce.message_bytes = 4096;
  s.interval_ns = 250;
  auto w = sim::generate_workload(s);
  ASSERT_EQ(w.size(), 4u);
  expect_well_formed(w, 8);
  const std::vector<uint16_t> everyone_else = {0, 1, 2, 4, 5, 6, 7};
  for (std::size_t i = 0; i < w.size(); i++) {
    EXPECT_EQ(w[i].sender, 3u);
    EXPECT_EQ(w[i].receivers, everyone_else);
    EXPECT_EQ(w[i].bytes, 4096u);
    EXPECT_EQ(w[i].step, 0u);
    EXPECT_TRUE(w[i].experts.empty());
    EXPECT_EQ(w[i].release_ns, i * 250u) << "message i released at i x interval";
  }
  auto sum = sim::summarize(w);
  EXPECT_EQ(sum.deliveries, 4u * 7);
  EXPECT_EQ(sum.payload_bytes, 4u * 4096);
  EXPECT_DOUBLE_EQ(sum.mean_receivers, 7.0);
}

TEST(Workload, AllReduceDefaults) {
  sim::Scenario s; // 16 nodes; root 0, 2 messages of 512 KiB
  s.workload = sim::Workload::kAllReduce;
  auto w = sim::generate_workload(s);
  ASSERT_EQ(w.size(), 2u);
  expect_well_formed(w, 16);
  for (const auto &m : w) {
    EXPECT_EQ(m.sender, 0u);
    EXPECT_EQ(m.receivers.size(), 15u);
    EXPECT_EQ(m.bytes, 512u << 10);
  }
}

TEST(Workload, CheckpointShardsGoToDistinctReplicasOtherThanTheWriter) {
  sim::Scenario s;
  s.workload = sim::Workload::kCheckpoint;
  s.nodes = 16;
  s.senders = {1, 4, 9};
  s.checkpoint.replicas = 3;
  s.checkpoint.shards = 40;
  s.checkpoint.shard_bytes = 8192;
  s.interval_ns = 100;
  auto w = sim::generate_workload(s);
  ASSERT_EQ(w.size(), 3u * 40) << "senders x shards";
  expect_well_formed(w, 16); // ids sequential, ascending, distinct, never the sender
  std::map<uint32_t, uint32_t> per_sender;
  std::set<uint16_t> seen;
  for (std::size_t i = 0; i < w.size(); i++) {
    const sim::Message &m = w[i];
    EXPECT_EQ(m.receivers.size(), 3u);
    EXPECT_EQ(m.bytes, 8192u);
    EXPECT_EQ(m.step, 0u);
    EXPECT_TRUE(m.experts.empty());
    EXPECT_EQ(m.release_ns, (i / 3) * 100u) << "shard i released at i x interval";
    per_sender[m.sender]++;
    seen.insert(m.receivers.begin(), m.receivers.end());
  }
  EXPECT_EQ(per_sender, (std::map<uint32_t, uint32_t>{{1, 40}, {4, 40}, {9, 40}}));
  EXPECT_EQ(seen.size(), 16u) << "replicas are drawn from the whole cluster";
  EXPECT_EQ(sim::summarize(w).deliveries, 3u * 40 * 3);
}

TEST(Workload, CheckpointDefaultsAndAllReplicas) {
  sim::Scenario s; // every node sends one 256 KiB shard to 3 replicas
  s.workload = sim::Workload::kCheckpoint;
  auto w = sim::generate_workload(s);
  ASSERT_EQ(w.size(), 16u);
  expect_well_formed(w, 16);
  for (uint32_t n = 0; n < 16; n++) {
    EXPECT_EQ(w[n].sender, n);
    EXPECT_EQ(w[n].receivers.size(), 3u);
    EXPECT_EQ(w[n].bytes, 256u << 10);
  }
  s.nodes = 5;
  s.checkpoint.replicas = 4; // nodes - 1: every other node
  w = sim::generate_workload(s);
  ASSERT_EQ(w.size(), 5u);
  expect_well_formed(w, 5);
  for (const auto &m : w) EXPECT_EQ(m.receivers.size(), 4u);
}

TEST(Workload, CheckpointRingPlacementGivesEveryNodeReplicasShards) {
  sim::Scenario s; // every node writes
  s.workload = sim::Workload::kCheckpoint;
  s.checkpoint.shards = 3;
  auto w = sim::generate_workload(s);
  std::map<uint32_t, uint32_t> held;
  for (const auto &m : w)
    for (uint16_t r : m.receivers) held[r]++;
  ASSERT_EQ(held.size(), 16u);
  for (const auto &h : held) EXPECT_EQ(h.second, 3u * 3) << "node " << h.first;
}

TEST(Workload, CheckpointSameSeedSameReplicasOtherSeedOtherReplicas) {
  sim::Scenario s;
  s.workload = sim::Workload::kCheckpoint;
  s.checkpoint.shards = 4;
  auto a = sim::generate_workload(s);
  auto b = sim::generate_workload(s);
  ASSERT_EQ(a.size(), 64u);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); i++) {
    EXPECT_EQ(a[i].sender, b[i].sender);
    EXPECT_EQ(a[i].receivers, b[i].receivers);
  }
  s.seed = 2;
  auto c = sim::generate_workload(s);
  ASSERT_EQ(a.size(), c.size());
  bool differs = false;
  for (std::size_t i = 0; !differs && i < a.size(); i++) differs = a[i].receivers != c[i].receivers;
  EXPECT_TRUE(differs);
}

TEST(Workload, NewWorkloadsAreValidated) {
  sim::Scenario s;
  s.nodes = 8;
  s.workload = sim::Workload::kAllReduce;
  s.allreduce.root = 8;
  try {
    sim::generate_workload(s);
    FAIL() << "root outside the cluster accepted";
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "workload: workload.allreduce.root: must be between 0 and nodes - 1 = 7 (got 8)");
  }
  s.workload = sim::Workload::kCheckpoint;
  s.checkpoint.replicas = 8;
  try {
    sim::generate_workload(s);
    FAIL() << "more replicas than other nodes accepted";
  } catch (const sim::ScenarioError &e) {
    EXPECT_STREQ(e.what(), "workload: workload.checkpoint.replicas: must be between 1 and nodes - 1 = 7 (got 8)");
  }
}

} // namespace
