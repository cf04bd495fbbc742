// Workload generation (include/fanout/sim/workload.hpp).
#include "fanout/sim/workload.hpp"

#include <algorithm>
#include <numeric>
#include <random>

namespace fanout::sim {
namespace {

std::vector<uint32_t> sending_nodes(const Scenario &s) {
  if (!s.senders.empty()) return s.senders;
  std::vector<uint32_t> all(s.nodes);
  std::iota(all.begin(), all.end(), 0u);
  return all;
}

// k distinct nodes out of [0, nodes) other than `self`, ascending.
std::vector<uint16_t> random_set(std::mt19937_64 &rng, uint32_t nodes, uint32_t self, uint32_t k) {
  std::vector<uint16_t> pool;
  for (uint32_t n = 0; n < nodes; n++)
    if (n != self) pool.push_back((uint16_t)n);
  // Partial Fisher-Yates: the first k entries are a uniform sample.
  for (uint32_t i = 0; i < k; i++) {
    std::uniform_int_distribution<std::size_t> pick(i, pool.size() - 1);
    std::swap(pool[i], pool[pick(rng)]);
  }
  pool.resize(k);
  std::sort(pool.begin(), pool.end());
  return pool;
}

// One token's routed experts (DeepSeek-V3 gating, see the header), ascending.
std::vector<uint16_t> route_token(std::mt19937_64 &rng, const MoeSpec &m, uint32_t nodes) {
  uint32_t per_node = m.experts / nodes;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> score(m.experts);
  for (double &x : score) x = u(rng);
  std::vector<uint32_t> candidates;
  if (m.node_limit != 0 && m.node_limit < nodes) {
    uint32_t best_per_node = std::max(1u, m.top_k / m.node_limit);
    std::vector<std::pair<double, uint32_t>> node_score;
    for (uint32_t n = 0; n < nodes; n++) {
      std::vector<double> mine(score.begin() + n * per_node, score.begin() + (n + 1) * per_node);
      std::partial_sort(mine.begin(), mine.begin() + std::min<std::size_t>(best_per_node, mine.size()), mine.end(),
                        std::greater<double>());
      double sum = 0;
      for (uint32_t i = 0; i < best_per_node && i < mine.size(); i++) sum += mine[i];
      node_score.push_back({sum, n});
    }
    std::partial_sort(
        node_score.begin(), node_score.begin() + m.node_limit, node_score.end(),
        [](const auto &a, const auto &b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    for (uint32_t i = 0; i < m.node_limit; i++)
      for (uint32_t e = 0; e < per_node; e++) candidates.push_back(node_score[i].second * per_node + e);
  } else {
    candidates.resize(m.experts);
    std::iota(candidates.begin(), candidates.end(), 0u);
  }
  std::partial_sort(candidates.begin(), candidates.begin() + m.top_k, candidates.end(),
                    [&](uint32_t a, uint32_t b) { return score[a] > score[b] || (score[a] == score[b] && a < b); });
  std::vector<uint16_t> experts(candidates.begin(), candidates.begin() + m.top_k);
  std::sort(experts.begin(), experts.end());
  return experts;
}

} // namespace

std::vector<Message> generate_workload(const Scenario &s) {
  validate(s, "workload");
  std::mt19937_64 rng(s.seed);
  std::vector<Message> out;
  std::vector<uint32_t> senders = sending_nodes(s);
  uint64_t id = 0;
  if (s.workload == Workload::kMoe) {
    uint32_t per_node = s.moe.experts / s.nodes;
    for (uint32_t step = 0; step < s.moe.steps; step++) {
      for (uint32_t sender : senders) {
        for (uint32_t t = 0; t < s.moe.tokens_per_step; t++) {
          std::vector<uint16_t> experts = route_token(rng, s.moe, s.nodes);
          std::vector<uint16_t> nodes;
          for (uint16_t e : experts) {
            uint16_t n = (uint16_t)(e / per_node);
            if (n != sender && (nodes.empty() || nodes.back() != n)) nodes.push_back(n);
          }
          if (nodes.empty()) continue; // every routed expert is local: no traffic
          out.push_back(Message{id++, sender, nodes, s.moe.token_bytes, step, 0, experts});
        }
      }
    }
    return out;
  }
  if (s.workload == Workload::kAllReduce) {
    const AllReduceSpec &a = s.allreduce;
    std::vector<uint16_t> everyone;
    for (uint32_t n = 0; n < s.nodes; n++)
      if (n != a.root) everyone.push_back((uint16_t)n);
    for (uint32_t i = 0; i < a.messages; i++)
      out.push_back(Message{id++, a.root, everyone, a.message_bytes, 0, (uint64_t)i * s.interval_ns, {}});
    return out;
  }
  if (s.workload == Workload::kCheckpoint) {
    const CheckpointSpec &c = s.checkpoint;
    for (uint32_t shard = 0; shard < c.shards; shard++) {
      // Ring placement on a fresh random order of the nodes: a shard's replicas are the next
      // `replicas` nodes after its writer, so with every node writing each node holds exactly
      // `replicas` shards of the round (no node is a hot spot).
      std::vector<uint32_t> ring(s.nodes), position(s.nodes);
      std::iota(ring.begin(), ring.end(), 0u);
      std::shuffle(ring.begin(), ring.end(), rng);
      for (uint32_t p = 0; p < s.nodes; p++) position[ring[p]] = p;
      for (uint32_t sender : senders) {
        std::vector<uint16_t> set;
        for (uint32_t r = 1; r <= c.replicas; r++) set.push_back((uint16_t)ring[(position[sender] + r) % s.nodes]);
        std::sort(set.begin(), set.end());
        out.push_back(Message{id++, sender, set, c.shard_bytes, 0, (uint64_t)shard * s.interval_ns, {}});
      }
    }
    return out;
  }
  for (uint32_t i = 0; i < s.messages; i++) {
    for (uint32_t sender : senders) {
      std::vector<uint16_t> set = s.workload == Workload::kBroadcast ? random_set(rng, s.nodes, sender, s.nodes - 1)
                                                                     : random_set(rng, s.nodes, sender, s.k);
      out.push_back(Message{id++, sender, set, s.message_bytes, 0, (uint64_t)i * s.interval_ns, {}});
    }
  }
  return out;
}

WorkloadSummary summarize(const std::vector<Message> &w) {
  WorkloadSummary sum;
  for (const Message &m : w) {
    sum.messages++;
    sum.deliveries += m.receivers.size();
    sum.payload_bytes += m.bytes;
  }
  sum.mean_receivers = sum.messages ? (double)sum.deliveries / (double)sum.messages : 0;
  return sum;
}

} // namespace fanout::sim
