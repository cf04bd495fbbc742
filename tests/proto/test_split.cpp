// Forwarding rules (split.hpp): tree rule, port rule and the sender's packet partitioning.
//
// The tree and port rules are checked by forwarding real frames hop by hop: every copy is built
// with build_frame and parsed with parse_frame at the node that receives it, so the invariants
// hold for what actually crosses the wire, not just for the in-memory split.
#include "fanout/proto/proto.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace fanout::proto;

// ---- Helpers ---------------------------------------------------------------------------------

// Copies between nodes use proto/'s cluster address plan (every node here, switches included,
// has a 16-bit id).
NetHeaders net_between(uint32_t from, uint32_t to) {
  return cluster_net_headers((NodeId)from, (NodeId)to, 1, 0);
}

// A single-packet DATA message: sequence 0, last, length == payload bytes (the reassembly rule).
const uint8_t kPayload[8] = {'f', 'a', 'n', 'o', 'u', 't', '!', '\n'};
const uint32_t kMessageId = 0xABCD0001u;

FanoutHeader data_header(NodeId sender, NodeId origin, uint8_t hops_left) {
  FanoutHeader h = make_header(kTypeData, sender, origin, kMessageId, 0, sizeof(kPayload));
  h.flags = kFlagLast;
  h.hops_left = hops_left;
  return h;
}

template <uint32_t M> std::vector<NodeId> ids_of(const BasicReceiverSet<M> &s) {
  std::vector<NodeId> ids;
  ids.reserve(s.size());
  for (uint32_t r = 0; r < s.range_count(); r++)
    for (uint32_t id = s.range(r).first; id <= s.range(r).last; id++) ids.push_back((NodeId)id);
  return ids;
}

template <uint32_t M> void fill_set(const std::vector<NodeId> &ascending, BasicReceiverSet<M> &out) {
  out.clear();
  for (NodeId id : ascending) ASSERT_TRUE(out.append(id)) << "id " << id;
}

// k distinct ids from [0, id_space), ascending. `exclude` (if < id_space) is never picked.
std::vector<NodeId> random_ids(std::mt19937 &rng, uint32_t k, uint32_t id_space, uint32_t exclude) {
  std::vector<NodeId> pool;
  pool.reserve(id_space);
  for (uint32_t id = 0; id < id_space; id++)
    if (id != exclude) pool.push_back((NodeId)id);
  for (uint32_t i = 0; i < k; i++) {
    std::uniform_int_distribution<uint32_t> pick(i, (uint32_t)pool.size() - 1);
    std::swap(pool[i], pool[pick(rng)]);
  }
  pool.resize(k);
  std::sort(pool.begin(), pool.end());
  return pool;
}

// Smallest d with F^d >= k (k >= 1): ceil(log_F k) in integers.
uint32_t ceil_log(uint32_t k, uint32_t fanout) {
  uint32_t d = 0;
  for (uint64_t reach = 1; reach < k; reach *= fanout) d++;
  return d;
}

bool contains_sorted(const std::vector<NodeId> &ascending, NodeId id) {
  return std::binary_search(ascending.begin(), ascending.end(), id);
}

// ---- Tree rule: hop-by-hop simulation ------------------------------------------------------------

struct TreeCopy {
  std::vector<uint8_t> frame;
  NodeId to;
  std::vector<NodeId> path; // nodes the packet passed through, the sender first
  std::shared_ptr<const std::vector<NodeId>> parent_remaining;
  uint32_t depth; // hops from the sender
};

struct TreeOutcome {
  uint32_t max_depth = 0;
  uint32_t copies = 0;
};

class TreeSimulation {
 public:
  TreeSimulation(uint32_t fanout, NodeId sender) : fanout_(fanout), sender_(sender), delivered_(kNodeIdSpace, 0) {}

  // The sender holds the whole set in memory (its host handed it over); every hop after that is
  // a real frame. Returns how deep the tree went.
  TreeOutcome run(const std::vector<NodeId> &receivers) {
    auto set = std::make_unique<ReceiverSet>();
    auto remaining = std::make_unique<ReceiverSet>();
    fill_set(receivers, *set);
    if (set->contains(sender_)) delivered_[sender_]++;
    EXPECT_TRUE(set->without(sender_, *remaining));
    forward(sender_, *remaining, kDefaultHops, {sender_}, 0);
    while (!queue_.empty() && !::testing::Test::HasFatalFailure()) {
      TreeCopy copy = std::move(queue_.front());
      queue_.pop_front();
      receive(copy);
    }
    return outcome_;
  }

  const std::vector<uint32_t> &delivered() const { return delivered_; }

 private:
  void receive(const TreeCopy &copy) {
    NodeId self = copy.to;
    outcome_.max_depth = std::max(outcome_.max_depth, copy.depth);
    auto set = std::make_unique<ReceiverSet>();
    ParsedPacket parsed;
    ASSERT_EQ(parse_frame(copy.frame.data(), (uint32_t)copy.frame.size(), default_parse_config(), parsed, set.get()),
              kOk)
        << "node " << self;
    ASSERT_EQ(parsed.hdr.type, kTypeData);
    ASSERT_EQ(parsed.ip_dst, cluster_ipv4((NodeId)self));
    ASSERT_EQ(parsed.hdr.origin, copy.path[copy.path.size() - 2]) << "origin is the node that sent this hop";
    ASSERT_EQ(parsed.hdr.sender, sender_);
    ASSERT_EQ(parsed.hdr.hops_left, kDefaultHops - copy.depth) << "hops_left drops by exactly one per hop";
    ASSERT_EQ(parsed.payload_len, sizeof(kPayload));
    ASSERT_TRUE(std::equal(kPayload, kPayload + sizeof(kPayload), copy.frame.data() + parsed.payload_offset));
    ASSERT_FALSE(set->empty());
    ASSERT_EQ(set->first_id(), self) << "a chunk goes to its first member";
    for (NodeId id : ids_of(*set))
      ASSERT_TRUE(contains_sorted(*copy.parent_remaining, id)) << "copy of node " << self << " carries " << id;

    delivered_[self]++;
    auto rest = std::make_unique<ReceiverSet>();
    ASSERT_TRUE(set->without(self, *rest));
    ASSERT_FALSE(rest->contains(self));
    ASSERT_EQ(rest->size(), set->size() - 1);
    forward(self, *rest, parsed.hdr.hops_left, copy.path, copy.depth);
  }

  void forward(NodeId self, const ReceiverSet &remaining, uint8_t hops_left, const std::vector<NodeId> &path,
               uint32_t depth) {
    Chunk chunks[kMaxTreeFanout];
    uint32_t n = tree_split(remaining, fanout_, chunks);
    ASSERT_EQ(n, std::min(fanout_, remaining.size())) << "node " << self;
    if (n == 0) return;
    ASSERT_GT(hops_left, 0) << "a tree this small never runs out of hops";

    auto remaining_ids = std::make_shared<const std::vector<NodeId>>(ids_of(remaining));
    std::vector<NodeId> union_of_copies;
    auto subset = std::make_unique<ReceiverSet>();
    for (uint32_t i = 0; i < n; i++) {
      const Chunk &c = chunks[i];
      ASSERT_EQ(c.begin, i == 0 ? 0u : chunks[i - 1].end) << "chunks are contiguous";
      ASSERT_LT(c.begin, c.end) << "no empty chunk";
      if (i > 0) {
        uint32_t prev_len = chunks[i - 1].end - chunks[i - 1].begin, len = c.end - c.begin;
        ASSERT_TRUE(len == prev_len || len + 1 == prev_len) << "sizes differ by at most one, larger first";
      }
      ASSERT_TRUE(remaining.slice(c.begin, c.end, *subset));
      ASSERT_EQ(subset->size(), c.end - c.begin);
      ASSERT_EQ(subset->first_id(), c.head);
      std::vector<NodeId> subset_ids = ids_of(*subset);
      union_of_copies.insert(union_of_copies.end(), subset_ids.begin(), subset_ids.end());

      ASSERT_EQ(std::find(path.begin(), path.end(), c.head), path.end())
          << "node " << self << " would send to " << c.head << ", already on the path";
      TreeCopy copy;
      copy.frame.resize(kMaxFrameBytes);
      uint32_t frame_len = 0;
      ASSERT_EQ(build_frame(net_between(self, c.head), data_header(sender_, self, (uint8_t)(hops_left - 1)), *subset,
                            kPayload, sizeof(kPayload), default_build_options(), copy.frame.data(),
                            (uint32_t)copy.frame.size(), &frame_len),
                kOk);
      copy.frame.resize(frame_len);
      copy.to = c.head;
      copy.path = path;
      copy.path.push_back(c.head);
      copy.parent_remaining = remaining_ids;
      copy.depth = depth + 1;
      queue_.push_back(std::move(copy));
      outcome_.copies++;
    }
    ASSERT_EQ(chunks[n - 1].end, remaining.size()) << "chunks cover the whole remaining set";
    // Ascending concatenation == remaining: the subsets are disjoint, inside it, and cover it.
    ASSERT_EQ(union_of_copies, *remaining_ids) << "node " << self;
  }

  uint32_t fanout_;
  NodeId sender_;
  std::vector<uint32_t> delivered_;
  std::deque<TreeCopy> queue_;
  TreeOutcome outcome_;
};

class TreeRuleTest : public ::testing::TestWithParam<std::tuple<uint32_t, uint32_t>> {};

TEST_P(TreeRuleTest, EveryReceiverExactlyOnceWithinTheDepthBound) {
  const uint32_t id_space = std::get<0>(GetParam());
  const uint32_t fanout = std::get<1>(GetParam());
  std::mt19937 rng(1000 * id_space + fanout);
  std::vector<uint32_t> sizes = {1, 2, 3, fanout, fanout + 1, 9, 17, 64, 100, 255, 256, 513, 1000, 1024};
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());

  for (uint32_t k : sizes) {
    if (k > id_space) continue;
    for (bool sender_in_set : {false, true}) {
      if (!sender_in_set && k == id_space) continue; // no id left for a sender outside the set
      NodeId sender = (NodeId)std::uniform_int_distribution<uint32_t>(0, id_space - 1)(rng);
      std::vector<NodeId> receivers;
      if (sender_in_set) {
        receivers = random_ids(rng, k - 1, id_space, sender);
        receivers.insert(std::upper_bound(receivers.begin(), receivers.end(), sender), sender);
      } else {
        receivers = random_ids(rng, k, id_space, sender);
      }
      SCOPED_TRACE("N=" + std::to_string(id_space) + " F=" + std::to_string(fanout) + " k=" + std::to_string(k) +
                   " sender=" + std::to_string(sender) + (sender_in_set ? " (in set)" : " (outside)"));

      TreeSimulation sim(fanout, sender);
      TreeOutcome outcome = sim.run(receivers);
      ASSERT_FALSE(HasFatalFailure());

      for (uint32_t id = 0; id < kNodeIdSpace; id++) {
        uint32_t expected = contains_sorted(receivers, (NodeId)id) ? 1 : 0;
        ASSERT_EQ(sim.delivered()[id], expected) << "deliveries at node " << id;
      }
      uint32_t to_reach = sender_in_set ? k - 1 : k; // receivers reached over the network
      EXPECT_EQ(outcome.copies, to_reach) << "one copy per receiver reached over the network";
      EXPECT_EQ(outcome.max_depth, tree_depth(to_reach, fanout));
      if (to_reach > 0) {
        EXPECT_LE(outcome.max_depth, ceil_log(to_reach, fanout) + 1);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(IdSpacesAndFanouts, TreeRuleTest,
                         ::testing::Combine(::testing::Values(256u, 4096u, 65536u),
                                            ::testing::Values(2u, 3u, 4u, 8u, 16u, 64u)),
                         [](const ::testing::TestParamInfo<TreeRuleTest::ParamType> &param_info) {
                           return "N" + std::to_string(std::get<0>(param_info.param)) + "_F" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

TEST(TreeSplit, ReturnsZeroForAnInvalidFanoutOrAnEmptySet) {
  ReceiverSet set;
  ASSERT_TRUE(set.append_range(10, 99));
  Chunk chunks[kMaxTreeFanout];
  for (uint32_t fanout : {0u, 1u, kMaxTreeFanout + 1, 1000u}) EXPECT_EQ(tree_split(set, fanout, chunks), 0u) << fanout;
  EXPECT_EQ(tree_split(set, kMinTreeFanout, chunks), 2u);
  EXPECT_EQ(tree_split(set, kMaxTreeFanout, chunks), kMaxTreeFanout);

  ReceiverSet empty;
  for (uint32_t fanout : {2u, 4u, kMaxTreeFanout}) EXPECT_EQ(tree_split(empty, fanout, chunks), 0u) << fanout;
}

TEST(TreeSplit, HandCheckedChunks) {
  // 10 ids, F = 4: sizes 3 3 2 2, heads at positions 0, 3, 6, 8.
  ReceiverSet set;
  ASSERT_TRUE(set.append_range(100, 104));
  ASSERT_TRUE(set.append_range(200, 204));
  Chunk chunks[kMaxTreeFanout];
  ASSERT_EQ(tree_split(set, 4, chunks), 4u);
  const uint32_t begins[4] = {0, 3, 6, 8}, ends[4] = {3, 6, 8, 10};
  const NodeId heads[4] = {100, 103, 201, 203};
  for (uint32_t i = 0; i < 4; i++) {
    EXPECT_EQ(chunks[i].begin, begins[i]) << i;
    EXPECT_EQ(chunks[i].end, ends[i]) << i;
    EXPECT_EQ(chunks[i].head, heads[i]) << i;
  }
}

TEST(TreeDepth, HandCheckedValues) {
  EXPECT_EQ(tree_depth(0, 2), 0u);
  EXPECT_EQ(tree_depth(1, 2), 1u);
  EXPECT_EQ(tree_depth(2, 2), 1u); // both are heads of their own chunk
  EXPECT_EQ(tree_depth(3, 2), 2u); // chunks {2, 1}: the 2-chunk's head forwards once more
  EXPECT_EQ(tree_depth(4, 4), 1u);
  EXPECT_EQ(tree_depth(5, 4), 2u);
  EXPECT_EQ(tree_depth(64, 64), 1u);
  EXPECT_EQ(tree_depth(65536, 2), 16u);
}

// ---- Port rule ---------------------------------------------------------------------------------

TEST(PortRule, EveryIdLandsInExactlyOneOutcome) {
  std::mt19937 rng(20240611);
  auto table = std::make_unique<PortTable>();
  auto set = std::make_unique<LargeReceiverSet>();
  std::vector<ReceiverSet> out(kMaxPorts);

  for (uint32_t trial = 0; trial < 200; trial++) {
    const uint32_t nports = std::uniform_int_distribution<uint32_t>(2, kMaxPorts)(rng);
    const uint32_t id_space = trial % 2 ? 65536 : 4096;
    std::uniform_int_distribution<uint32_t> kind(0, 99);
    std::uniform_int_distribution<uint32_t> port(0, nports - 1);
    std::uniform_int_distribution<uint32_t> bad_port(nports, kPortLocal - 1);
    table->clear();
    for (uint32_t id = 0; id < id_space; id++) {
      uint32_t roll = kind(rng);
      // Mostly real ports; some local, some without a route, some naming a port beyond nports.
      uint8_t p = roll < 3    ? kPortLocal
                  : roll < 8  ? kPortNone
                  : roll < 12 ? (uint8_t)bad_port(rng)
                              : (uint8_t)port(rng);
      table->set((NodeId)id, p);
    }
    const uint8_t ingress = trial % 5 == 0 ? kPortNone : (uint8_t)port(rng);
    const uint32_t k = std::uniform_int_distribution<uint32_t>(1, 1500)(rng);
    std::vector<NodeId> ids = random_ids(rng, std::min(k, id_space), id_space, kNodeIdSpace);
    fill_set(ids, *set);
    SCOPED_TRACE("trial " + std::to_string(trial) + " nports=" + std::to_string(nports) +
                 " ingress=" + std::to_string(ingress) + " k=" + std::to_string(ids.size()));

    PortSplitResult res = port_split(*set, *table, nports, ingress, out.data());

    uint32_t expect_looped = 0, expect_unroutable = 0;
    bool expect_local = false;
    std::vector<std::vector<NodeId>> expect_out(nports);
    for (NodeId id : ids) {
      uint8_t p = table->get(id);
      if (p == kPortLocal)
        expect_local = true;
      else if (p >= nports)
        expect_unroutable++;
      else if (p == ingress)
        expect_looped++;
      else
        expect_out[p].push_back(id);
    }
    EXPECT_FALSE(res.overflow);
    EXPECT_EQ(res.deliver_local, expect_local);
    EXPECT_EQ(res.looped, expect_looped);
    EXPECT_EQ(res.unroutable, expect_unroutable);
    uint32_t nonempty = 0, sent = 0;
    for (uint32_t p = 0; p < nports; p++) {
      EXPECT_EQ(ids_of(out[p]), expect_out[p]) << "port " << p;
      if (!out[p].empty()) nonempty++;
      sent += out[p].size();
    }
    if (ingress < nports) {
      EXPECT_TRUE(out[ingress].empty()) << "nothing goes back out of the ingress port";
    }
    EXPECT_EQ(res.copies, nonempty);
    uint32_t local = 0;
    for (NodeId id : ids) local += table->get(id) == kPortLocal ? 1 : 0;
    EXPECT_EQ(sent + local + res.looped + res.unroutable, set->size()) << "every id accounted for exactly once";
    if (HasFailure()) return;
  }
}

TEST(PortRule, SubsetOverflowIsFlagged) {
  auto table = std::make_unique<PortTable>();
  for (uint32_t id = 0; id < 64; id++) table->set((NodeId)id, 1);
  ReceiverSet set;
  for (NodeId id = 0; id < 64; id += 2) ASSERT_TRUE(set.append(id)); // 32 isolated ids
  BasicReceiverSet<8> out[2];
  PortSplitResult res = port_split(set, *table, 2, kPortNone, out);
  EXPECT_TRUE(res.overflow);
  EXPECT_EQ(res.copies, 1u);
  EXPECT_EQ(out[1].range_count(), 8u) << "what fits is kept";
}

// Two tiers: 4 leaf switches with 16 hosts each, one spine. Every node is a port-rule node with
// its own table; hosts have a single port (their uplink) and deliver their own id locally.
class TwoTierFabric {
 public:
  static constexpr uint32_t kLeaves = 4, kHostsPerLeaf = 16, kHosts = kLeaves * kHostsPerLeaf;
  static constexpr uint32_t kLeafUplink = kHostsPerLeaf; // leaf ports 0..15: hosts, 16: spine
  // Node numbering: hosts 0..63 (their receiver ids), leaves 100..103, spine 200.
  static uint32_t leaf_node(uint32_t leaf) { return 100 + leaf; }
  static constexpr uint32_t kSpineNode = 200;

  struct Link {
    uint32_t node;
    uint8_t ingress; // port on which the neighbour receives
  };

  TwoTierFabric() {
    for (uint32_t h = 0; h < kHosts; h++) {
      Node &host = nodes_[h];
      host.nports = 1;
      host.table = std::make_unique<PortTable>();
      for (uint32_t id = 0; id < kHosts; id++) host.table->set((NodeId)id, id == h ? kPortLocal : 0);
      host.links = {{leaf_node(h / kHostsPerLeaf), (uint8_t)(h % kHostsPerLeaf)}};
    }
    for (uint32_t l = 0; l < kLeaves; l++) {
      Node &leaf = nodes_[leaf_node(l)];
      leaf.nports = kHostsPerLeaf + 1;
      leaf.table = std::make_unique<PortTable>();
      for (uint32_t id = 0; id < kHosts; id++)
        leaf.table->set((NodeId)id, id / kHostsPerLeaf == l ? (uint8_t)(id % kHostsPerLeaf) : (uint8_t)kLeafUplink);
      for (uint32_t p = 0; p < kHostsPerLeaf; p++) leaf.links.push_back({l * kHostsPerLeaf + p, 0});
      leaf.links.push_back({kSpineNode, (uint8_t)l});
    }
    Node &spine = nodes_[kSpineNode];
    spine.nports = kLeaves;
    spine.table = std::make_unique<PortTable>();
    for (uint32_t id = 0; id < kHosts; id++) spine.table->set((NodeId)id, (uint8_t)(id / kHostsPerLeaf));
    for (uint32_t l = 0; l < kLeaves; l++) spine.links.push_back({leaf_node(l), (uint8_t)kLeafUplink});
  }

  // Send one message from host `sender` to `receivers`; returns deliveries per host.
  std::vector<uint32_t> send(NodeId sender, const std::vector<NodeId> &receivers) {
    struct InFlight {
      std::vector<uint8_t> frame;
      uint32_t node;
      uint8_t ingress;
      std::vector<uint32_t> path;
    };
    std::vector<uint32_t> delivered(kHosts, 0);
    auto set = std::make_unique<ReceiverSet>();
    fill_set(receivers, *set);
    std::deque<InFlight> queue;
    // The sender's host hands the whole set to its own node, as if it had arrived from the host.
    std::vector<uint8_t> first(kMaxFrameBytes);
    uint32_t len = 0;
    EXPECT_EQ(build_frame(net_between(sender, sender), data_header(sender, sender, kDefaultHops), *set, kPayload,
                          sizeof(kPayload), default_build_options(), first.data(), (uint32_t)first.size(), &len),
              kOk);
    first.resize(len);
    queue.push_back({first, sender, kPortNone, {}});

    std::vector<ReceiverSet> out(kMaxPorts);
    while (!queue.empty()) {
      InFlight pkt = std::move(queue.front());
      queue.pop_front();
      EXPECT_EQ(std::find(pkt.path.begin(), pkt.path.end(), pkt.node), pkt.path.end())
          << "packet returned to node " << pkt.node;
      pkt.path.push_back(pkt.node);
      ParsedPacket parsed;
      EXPECT_EQ(parse_frame(pkt.frame.data(), (uint32_t)pkt.frame.size(), default_parse_config(), parsed, set.get()),
                kOk);
      if (::testing::Test::HasFailure()) break;
      Node &node = nodes_[pkt.node];
      PortSplitResult res = port_split(*set, *node.table, node.nports, pkt.ingress, out.data());
      EXPECT_EQ(res.looped, 0u) << "node " << pkt.node;
      EXPECT_EQ(res.unroutable, 0u) << "node " << pkt.node;
      EXPECT_FALSE(res.overflow);
      if (res.deliver_local) {
        EXPECT_LT(pkt.node, kHosts) << "only hosts deliver";
        delivered[pkt.node]++;
      }
      if (res.copies > 0) {
        EXPECT_GT(parsed.hdr.hops_left, 0);
      }
      for (uint32_t p = 0; p < node.nports; p++) {
        if (out[p].empty()) continue;
        const Link &link = node.links[p];
        std::vector<uint8_t> frame(kMaxFrameBytes);
        EXPECT_EQ(build_frame(net_between(pkt.node, link.node),
                              data_header(sender, (NodeId)pkt.node, (uint8_t)(parsed.hdr.hops_left - 1)), out[p],
                              kPayload, sizeof(kPayload), default_build_options(), frame.data(), (uint32_t)frame.size(),
                              &len),
                  kOk);
        frame.resize(len);
        queue.push_back({std::move(frame), link.node, link.ingress, pkt.path});
      }
    }
    return delivered;
  }

 private:
  struct Node {
    uint32_t nports = 0;
    std::unique_ptr<PortTable> table;
    std::vector<Link> links; // by port
  };
  Node nodes_[kSpineNode + 1];
};

TEST(PortRule, TwoTierFabricDeliversEachReceiverOnce) {
  auto fabric = std::make_unique<TwoTierFabric>();
  std::mt19937 rng(77);
  std::vector<NodeId> everyone(TwoTierFabric::kHosts);
  std::iota(everyone.begin(), everyone.end(), 0);

  for (uint32_t trial = 0; trial < 60; trial++) {
    NodeId sender = (NodeId)std::uniform_int_distribution<uint32_t>(0, TwoTierFabric::kHosts - 1)(rng);
    std::vector<NodeId> receivers;
    if (trial == 0) {
      receivers = everyone; // broadcast including the sender itself
    } else {
      uint32_t k = std::uniform_int_distribution<uint32_t>(1, TwoTierFabric::kHosts - 1)(rng);
      receivers = random_ids(rng, k, TwoTierFabric::kHosts, trial % 3 == 0 ? TwoTierFabric::kHosts : sender);
    }
    SCOPED_TRACE("trial " + std::to_string(trial) + " sender " + std::to_string(sender));
    std::vector<uint32_t> delivered = fabric->send(sender, receivers);
    for (uint32_t h = 0; h < TwoTierFabric::kHosts; h++)
      EXPECT_EQ(delivered[h], contains_sorted(receivers, (NodeId)h) ? 1u : 0u) << "host " << h;
    if (HasFailure()) return;
  }
}

// ---- Sender partitioning -----------------------------------------------------------------------

void expect_valid_partition(const LargeReceiverSet &set, uint32_t max_bytes, const std::string &what) {
  SCOPED_TRACE(what + ", max_bytes " + std::to_string(max_bytes));
  const uint32_t needed = partition_for_packets(set, max_bytes, nullptr, 0);
  ASSERT_GE(needed, set.empty() ? 0u : 1u);
  std::vector<IdRange> pieces(needed + 1, IdRange{0xDEAD, 0xBEEF});
  ASSERT_EQ(partition_for_packets(set, max_bytes, pieces.data(), needed), needed);
  EXPECT_EQ(pieces[needed].first, 0xDEAD) << "wrote past max_pieces";

  auto piece_set = std::make_unique<LargeReceiverSet>();
  auto rebuilt = std::make_unique<LargeReceiverSet>();
  std::vector<uint8_t> frame(kMaxFrameBytes);
  for (uint32_t i = 0; i < needed; i++) {
    if (i > 0) {
      ASSERT_LT(pieces[i - 1].last, pieces[i].first) << "pieces ascending and disjoint at " << i;
    }
    ASSERT_LE(pieces[i].first, pieces[i].last);
    ASSERT_TRUE(intersect_range(set, pieces[i].first, pieces[i].last, *piece_set));
    ASSERT_FALSE(piece_set->empty()) << "piece " << i;
    EXPECT_EQ(piece_set->first_id(), pieces[i].first) << "pieces start at a member";
    EXPECT_EQ(piece_set->last_id(), pieces[i].last) << "pieces end at a member";
    SetCost cost = set_cost(*piece_set);
    ASSERT_LE(cost.best_bytes(), max_bytes) << "piece " << i;
    if (i + 1 < needed) {
      // Greedy: the piece could not have taken the next range as well (so the count is needed).
      SetCost longer = cost;
      for (uint32_t r = 0; r < set.range_count(); r++) {
        if (set.range(r).first >= pieces[i + 1].first) {
          longer.add_range(set.range(r).first, set.range(r).last);
          break;
        }
      }
      EXPECT_GT(longer.best_bytes(), max_bytes) << "piece " << i << " stopped early";
    }
    if (max_bytes == kMaxSetBytes && i % 7 == 0) {
      // Each piece is a real packet.
      uint32_t len = 0;
      ASSERT_EQ(build_frame(net_between(1, 2), data_header(1, 1, kDefaultHops), *piece_set, kPayload, sizeof(kPayload),
                            default_build_options(), frame.data(), (uint32_t)frame.size(), &len),
                kOk)
          << "piece " << i;
    }
    for (uint32_t r = 0; r < piece_set->range_count(); r++)
      ASSERT_TRUE(rebuilt->append_range(piece_set->range(r).first, piece_set->range(r).last));
  }
  EXPECT_TRUE(*rebuilt == set) << "pieces cover the set exactly";
}

TEST(PartitionForPackets, PiecesFitAscendDisjointAndCover) {
  std::mt19937 rng(4242);
  auto set = std::make_unique<LargeReceiverSet>();
  const uint32_t max_bytes_list[] = {kMaxSetBytes, 128, 64};

  for (uint32_t id = 0; id < kNodeIdSpace; id += 2) ASSERT_TRUE(set->append((NodeId)id));
  for (uint32_t max_bytes : max_bytes_list) expect_valid_partition(*set, max_bytes, "alternating ids");

  set->clear();
  ASSERT_TRUE(set->append_range(0, 65535));
  for (uint32_t max_bytes : max_bytes_list) expect_valid_partition(*set, max_bytes, "full id space");

  for (uint32_t k : {1u, 100u, 511u, 512u, 513u, 4000u, 20000u, 65535u}) {
    fill_set(random_ids(rng, k, kNodeIdSpace, kNodeIdSpace), *set);
    for (uint32_t max_bytes : max_bytes_list) expect_valid_partition(*set, max_bytes, "random k=" + std::to_string(k));
  }

  // Random runs of random lengths: mixes all three encodings inside one set.
  set->clear();
  for (uint32_t id = 0; id < kNodeIdSpace;) {
    uint32_t gap = std::uniform_int_distribution<uint32_t>(1, 40)(rng);
    uint32_t run = std::uniform_int_distribution<uint32_t>(1, 30)(rng);
    id += gap;
    if (id >= kNodeIdSpace) break;
    uint32_t last = std::min(id + run - 1, kNodeIdSpace - 1);
    ASSERT_TRUE(set->append_range((NodeId)id, (NodeId)last));
    id = last + 1;
  }
  for (uint32_t max_bytes : max_bytes_list) expect_valid_partition(*set, max_bytes, "random runs");
}

TEST(PartitionForPackets, FullSetIsOnePiece) {
  auto set = std::make_unique<LargeReceiverSet>();
  ASSERT_TRUE(set->append_range(0, 65535));
  IdRange piece = {1, 0};
  ASSERT_EQ(partition_for_packets(*set, kMaxSetBytes, &piece, 1), 1u);
  EXPECT_EQ(piece.first, 0);
  EXPECT_EQ(piece.last, 65535);
}

TEST(PartitionForPackets, EmptySetNeedsNoPiece) {
  auto set = std::make_unique<LargeReceiverSet>();
  IdRange piece = {7, 7};
  EXPECT_EQ(partition_for_packets(*set, kMaxSetBytes, &piece, 1), 0u);
  EXPECT_EQ(piece.first, 7);
}

TEST(PartitionForPackets, ReturnsTheNeededCountButWritesOnlyMaxPieces) {
  auto set = std::make_unique<LargeReceiverSet>();
  for (uint32_t id = 0; id < kNodeIdSpace; id += 2) ASSERT_TRUE(set->append((NodeId)id));
  const uint32_t needed = partition_for_packets(*set, 64, nullptr, 0);
  ASSERT_GT(needed, 100u) << "alternating ids need many 64-byte pieces";
  std::vector<IdRange> all(needed);
  ASSERT_EQ(partition_for_packets(*set, 64, all.data(), needed), needed);

  for (uint32_t max_pieces : {0u, 1u, 3u, needed - 1}) {
    std::vector<IdRange> some(needed, IdRange{0xDEAD, 0xBEEF});
    EXPECT_EQ(partition_for_packets(*set, 64, some.data(), max_pieces), needed) << max_pieces;
    for (uint32_t i = 0; i < needed; i++) {
      if (i < max_pieces) {
        EXPECT_EQ(some[i].first, all[i].first) << i;
        EXPECT_EQ(some[i].last, all[i].last) << i;
      } else {
        EXPECT_EQ(some[i].first, 0xDEAD) << "piece " << i << " written with max_pieces " << max_pieces;
        EXPECT_EQ(some[i].last, 0xBEEF) << "piece " << i << " written with max_pieces " << max_pieces;
      }
    }
  }
}

TEST(IntersectRange, MatchesBruteForce) {
  std::mt19937 rng(99);
  auto set = std::make_unique<LargeReceiverSet>();
  auto out = std::make_unique<LargeReceiverSet>();
  for (uint32_t trial = 0; trial < 300; trial++) {
    const uint32_t id_space = trial % 3 == 0 ? 65536 : 512;
    const uint32_t k = std::uniform_int_distribution<uint32_t>(0, std::min(id_space, 3000u))(rng);
    std::vector<NodeId> ids = random_ids(rng, k, id_space, kNodeIdSpace);
    fill_set(ids, *set);
    std::uniform_int_distribution<uint32_t> any(0, id_space - 1);
    uint32_t a = any(rng), b = any(rng);
    if (trial % 10 == 1) a = 0, b = 65535;
    if (trial % 10 == 2) b = a;
    NodeId first = (NodeId)a, last = (NodeId)b; // a > b too: an empty window
    ASSERT_TRUE(intersect_range(*set, first, last, *out));
    std::vector<NodeId> expected;
    for (NodeId id : ids)
      if (id >= first && id <= last) expected.push_back(id);
    ASSERT_EQ(ids_of(*out), expected) << "trial " << trial << " [" << first << ", " << last << "]";
  }
}

TEST(IntersectRange, FailsWhenOutputLacksCapacity) {
  ReceiverSet set;
  for (NodeId id = 0; id < 20; id += 2) ASSERT_TRUE(set.append(id));
  BasicReceiverSet<3> small;
  EXPECT_FALSE(intersect_range(set, 0, 19, small));
  EXPECT_TRUE(intersect_range(set, 3, 7, small)); // {4, 6}
  EXPECT_EQ(small.size(), 2u);
}

} // namespace
