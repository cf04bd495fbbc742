// Traffic of a scenario: the messages each sender posts, with their receiver sets.
//
// Deterministic for a scenario's seed, so every replication mode of one run (and every run of
// one seed) moves exactly the same messages to exactly the same sets.
//  * broadcast: each sender posts `messages` messages of `message_bytes` to every other node.
//  * sparse:    each message goes to k distinct random nodes other than its sender.
//  * moe:       DeepSeek-V3-shaped token dispatch. `experts` routed experts are spread evenly over
//               the nodes (expert e lives on node e / (experts / nodes)). For every token a router
//               score is drawn per expert; with node-limited routing the token first picks the
//               node_limit nodes whose best (top_k / node_limit) expert scores sum highest, then
//               its top_k experts among those nodes' experts (DeepSeek-V3's group-limited
//               gating); without it, the top_k experts overall. The token (token_bytes) goes once
//               to every node hosting a chosen expert other than its own (experts on the
//               sender's node, and the shared expert, need no network). A token whose experts are
//               all local sends nothing. Tokens are grouped in steps: a step's tokens are posted
//               together, and the simulator starts step s + 1 of a sender when its step s is
//               complete (the layer's compute waits for its dispatch).
//  * allreduce: the broadcast half of AllReduce (the reduced result going out): the root alone
//               posts `allreduce.messages` messages of `allreduce.message_bytes`, each to every
//               other node; `senders` is ignored. Message i is released at i * interval_ns.
//  * checkpoint: checkpoint replication: every sender writes `checkpoint.shards` shards of
//               `checkpoint.shard_bytes`, each to `checkpoint.replicas` distinct nodes other than
//               itself: per shard round the nodes are put in a random ring order and a writer's
//               replicas are the next `replicas` nodes on the ring (ring placement, as in-memory
//               checkpoint systems place replicas), so when every node writes, every node holds
//               exactly `replicas` shards of each round. Shard i of every sender is posted
//               (senders ascending) before shard i + 1 and released at i * interval_ns.
// Only moe uses steps and experts; the other workloads' messages are all step 0, experts empty.
#pragma once

#include "fanout/sim/scenario.hpp"

#include <cstdint>
#include <vector>

namespace fanout::sim {

struct Message {
  uint64_t id;                      // unique in the workload, in posting order
  uint32_t sender;
  std::vector<uint16_t> receivers;  // ascending, never the sender, never empty
  uint32_t bytes;
  uint32_t step;                    // moe: the step; others: 0
  uint64_t release_ns;              // earliest time the sender may post it (steps: see above)
  // moe: the experts the token was routed to (for checks and reports); empty otherwise.
  std::vector<uint16_t> experts;
};

struct WorkloadSummary {
  uint64_t messages = 0;
  uint64_t deliveries = 0;   // sum of receiver-set sizes
  uint64_t payload_bytes = 0; // sum of message bytes
  double mean_receivers = 0;
};

std::vector<Message> generate_workload(const Scenario &s);
WorkloadSummary summarize(const std::vector<Message> &w);

} // namespace fanout::sim
