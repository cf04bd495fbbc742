// Workload generation (sim/workload): deterministic per seed; broadcast and sparse sets have the
// right sizes and never contain the sender; MoE tokens follow DeepSeek-V3's shape (top-k distinct
// experts, at most node_limit nodes, local experts cost no traffic).
#include "fanout/sim/workload.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
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

} // namespace
