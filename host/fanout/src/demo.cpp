// `fanout demo`: real frames through proto/ for three AI-cluster workloads (see demo.hpp).
#include "fanout/cli/demo.hpp"

#include "fanout/cli/cli.hpp"
#include "fanout/cli/ids.hpp"
#include "fanout/cli/json_writer.hpp"
#include "fanout/proto/proto.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <sstream>

namespace fanout {
namespace cli {
namespace {

using namespace proto;
using Aggregator = AckAggregator<>;

// No time passes in this walk, so no child is ever silent and no NACK repeats.
constexpr uint32_t kSilentTimeoutTicks = 1u << 30;
constexpr uint32_t kNackWindowTicks = 1000;

// ---- Workload shapes --------------------------------------------------------------------------
// MoE dispatch, DeepSeek-V3: 256 routed experts, top-8, hidden size 7168 in BF16.
constexpr uint32_t kMoeNodes = 32;
constexpr uint32_t kRoutedExperts = 256;
constexpr uint32_t kExpertsPerNode = kRoutedExperts / kMoeNodes;
constexpr uint32_t kTopK = 8;
constexpr uint32_t kHiddenSize = 7168;
constexpr uint32_t kActivationBytes = 2; // BF16
constexpr uint32_t kTokens = 16;
constexpr uint32_t kTokenNodeStride = 7; // token t comes from node 7t mod 32: spread over the cluster
constexpr NodeId kSharedExpertNode = kMoeNodes - 1;
constexpr uint32_t kRoutingSeed = 20241226;
// AllReduce broadcast phase.
constexpr uint32_t kBroadcastNodes = 64;
constexpr NodeId kBroadcastRoot = 0;
constexpr uint64_t kBroadcastBytes = 64 * 1024;
// Checkpoint replication: one replica in each other rack, at the owner's slot.
constexpr uint32_t kCheckpointNodes = 64;
constexpr uint32_t kRackSize = 16;
constexpr uint32_t kReplicas = 3;
constexpr NodeId kShardOwner = 5;
constexpr uint64_t kShardBytes = 1024 * 1024;

// Deterministic message contents: splitmix64 of (message id, byte index / 8).
std::vector<uint8_t> message_bytes(uint64_t size, uint32_t message_id) {
  std::vector<uint8_t> bytes(size);
  uint64_t state = 0x9E3779B97F4A7C15ull * (message_id + 1);
  for (uint64_t i = 0; i < size; i += 8) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (uint64_t b = 0; b < 8 && i + b < size; b++) bytes[i + b] = (uint8_t)(z >> (8 * b));
  }
  return bytes;
}

struct Transfer {
  NodeId from; // == to: the node's host handing a frame to its own NIC
  NodeId to;
  std::vector<uint8_t> frame;
};

struct NodeState {
  NodeId parent = 0; // where DATA came from (the node itself at the sender: its host)
  bool has_parent = false;
  uint32_t depth = 0;
  bool relay = false; // forwarded copies, so aggregates ACKs
  std::vector<uint8_t> data;
  std::vector<uint32_t> copies_of_packet;
  uint32_t packets_held = 0;
  bool acked = false;
};

// The cluster of one workload: its nodes' aggregators outlive single messages.
class Cluster {
 public:
  Cluster(uint32_t fanout, const DemoOptions &options, WorkloadReport &report)
      : fanout_(fanout), options_(options), report_(report), cfg_(default_parse_config()) {}

  void send(NodeId sender, const ReceiverSet &receivers, uint32_t message_id, const std::vector<uint8_t> &message);

  uint64_t acks_merged() const {
    uint64_t merged = 0;
    for (const auto &a : aggregators_) merged += a.second->stats().acks_merged;
    return merged;
  }

 private:
  void on_data(const Transfer &t);
  void deliver(NodeId node, NodeState &st, const ParsedPacket &p, const uint8_t *frame);
  void host_ack(NodeId node, const NodeState &st);
  void on_ack(const Transfer &t);
  void send_feedback(NodeId from, NodeId to, const Feedback &fb, bool endpoint);
  Aggregator &aggregator(NodeId node) {
    std::unique_ptr<Aggregator> &a = aggregators_[node];
    if (!a) a = std::make_unique<Aggregator>(AggregatorConfig{node, kSilentTimeoutTicks, kNackWindowTicks});
    return *a;
  }
  void error() { report_.frame_errors++; }

  uint32_t fanout_;
  const DemoOptions &options_;
  WorkloadReport &report_;
  ParseConfig cfg_;
  std::map<NodeId, std::unique_ptr<Aggregator>> aggregators_;
  uint32_t now_ = 0; // event counter standing in for time
  bool corrupted_ = false;

  // Per message.
  NodeId sender_ = 0;
  uint32_t message_id_ = 0;
  uint32_t packets_ = 0;
  std::map<NodeId, NodeState> nodes_;
  std::deque<Transfer> queue_;
  uint32_t acks_at_host_ = 0;
  Feedback last_host_ack_{};
  std::unique_ptr<ReceiverSet> scratch_set_ = std::make_unique<ReceiverSet>();
  std::unique_ptr<ReceiverSet> remaining_ = std::make_unique<ReceiverSet>();
  std::unique_ptr<ReceiverSet> chunk_ = std::make_unique<ReceiverSet>();
  std::unique_ptr<Feedback> feedback_ = std::make_unique<Feedback>();
};

void Cluster::send(NodeId sender, const ReceiverSet &receivers, uint32_t message_id,
                   const std::vector<uint8_t> &message) {
  sender_ = sender;
  message_id_ = message_id;
  nodes_.clear();
  acks_at_host_ = 0;
  const uint32_t k = receivers.size();
  const uint32_t set_bytes = set_cost(receivers).best_bytes();
  // Equal packets of S bytes, the last carrying the rest: S fills a 4096-byte frame, beat-aligned.
  const uint32_t payload_size = (kDemoFrameBytes - kFixedHeadersBytes - set_bytes) / kBeatBytes * kBeatBytes;
  const uint64_t length = message.size();
  packets_ = length == 0 ? 1 : (uint32_t)((length + payload_size - 1) / payload_size);

  report_.messages++;
  report_.message_bytes = length;
  report_.receivers.add(k);
  report_.deliveries += k;
  report_.packets.add(packets_);
  report_.payload_size.add(payload_size);
  report_.set_bytes.add(set_bytes);
  report_.header_bytes.add(kFixedHeadersBytes + set_bytes);
  report_.addressing_bytes.add(kAddressingFixedBytes + set_bytes);
  BierCost bier = bier_best(receivers);
  report_.bier_bytes.add(bier.total_bytes);
  report_.bier_bsl.add(bier.bsl);
  report_.bier_copies.add(bier.copies);
  report_.unicast_packets += (uint64_t)k * packets_;
  report_.unicast_acks += k;

  BuildOptions endpoint = default_build_options();
  endpoint.udp_checksum = true;
  std::vector<uint8_t> frame(kMaxFrameBytes);
  auto single = std::make_unique<ReceiverSet>();
  for (uint32_t seq = 0; seq < packets_; seq++) {
    uint64_t offset = (uint64_t)seq * payload_size;
    uint32_t size = (uint32_t)std::min<uint64_t>(payload_size, length - offset);
    FanoutHeader h = make_header(kTypeData, sender, sender, message_id, seq, (uint32_t)length);
    if (seq + 1 == packets_) h.flags = kFlagLast;
    // Unicast fan-out: the same packet once per receiver, each with a one-id set.
    for (uint32_t i = 0; i < k; i++) {
      single->clear();
      single->append(receivers.at(i));
      uint32_t unicast_len = 0;
      if (build_frame(cluster_net_headers(sender, receivers.at(i), sender, message_id), h, *single,
                      message.data() + offset, size, endpoint, frame.data(), (uint32_t)frame.size(),
                      &unicast_len) != kOk)
        error();
      report_.unicast_bytes += unicast_len;
    }
    uint32_t len = 0;
    if (build_frame(cluster_net_headers(sender, sender, sender, message_id), h, receivers, message.data() + offset,
                    size, endpoint, frame.data(), (uint32_t)frame.size(), &len) != kOk) {
      error();
      continue;
    }
    report_.host_interface_bytes += len;
    queue_.push_back(Transfer{sender, sender, std::vector<uint8_t>(frame.begin(), frame.begin() + len)});
    while (!queue_.empty()) {
      Transfer t = std::move(queue_.front());
      queue_.pop_front();
      now_++;
      uint8_t type = (uint8_t)(t.frame.size() > kFanoutOffset ? t.frame[kFanoutOffset + kFoVerTypeOff] & 0x0F : 0);
      if (type == kTypeAck) {
        on_ack(t);
      } else {
        on_data(t);
      }
    }
  }

  // Checks: every receiver holds the message, each packet exactly once; nobody else got it;
  // the sender's host heard one ACK covering every receiver at cum = packets.
  for (uint32_t i = 0; i < k; i++) {
    NodeId r = receivers.at(i);
    auto it = nodes_.find(r);
    if (it == nodes_.end()) continue;
    const NodeState &st = it->second;
    bool each_once =
        st.copies_of_packet.size() == packets_ &&
        std::all_of(st.copies_of_packet.begin(), st.copies_of_packet.end(), [](uint32_t c) { return c == 1; });
    if (each_once && st.data == message) report_.receivers_ok++;
    report_.max_depth = std::max(report_.max_depth, st.depth);
  }
  for (const auto &n : nodes_) {
    if (!receivers.contains(n.first) && !n.second.data.empty()) error(); // delivered to a non-receiver
  }
  report_.acks_at_sender_host += acks_at_host_;
  if (acks_at_host_ >= 1 && last_host_ack_.sequence == packets_ && last_host_ack_.length == k &&
      last_host_ack_.set == receivers)
    report_.final_ack_ok++;
}

void Cluster::on_data(const Transfer &t) {
  const NodeId node = t.to;
  ParsedPacket p;
  int err = parse_frame(t.frame.data(), (uint32_t)t.frame.size(), cfg_, p, scratch_set_.get());
  if (err != kOk || p.hdr.type != kTypeData) return error();
  uint32_t depth = t.from == node ? 0 : nodes_[t.from].depth + 1;
  NodeState &st = nodes_[node];
  if (!st.has_parent) {
    st.parent = t.from;
    st.depth = depth;
    st.has_parent = true;
  } else if (st.parent != t.from) {
    return error(); // the tree rule is deterministic: every packet takes the same path
  }

  bool local = scratch_set_->contains(node);
  if (local) {
    scratch_set_->without(node, *remaining_);
  } else {
    remaining_->assign(*scratch_set_);
  }
  Chunk chunks[kMaxTreeFanout];
  uint32_t n = tree_split(*remaining_, fanout_, chunks);
  if (n > 0 && p.hdr.hops_left == 0) return error();

  // Arm before any copy leaves, so no ACK can arrive at an unarmed relay.
  if (n > 0) {
    ChildSpec children[kMaxTreeFanout + 1];
    uint32_t nchildren = 0;
    for (uint32_t c = 0; c < n; c++)
      children[nchildren++] =
          ChildSpec{chunks[c].head, remaining_->at(chunks[c].begin), remaining_->at(chunks[c].end - 1)};
    if (local) children[nchildren++] = ChildSpec{node, node, node}; // its own host
    MessageKey key{p.hdr.sender, p.hdr.message_id};
    if (aggregator(node).arm(key, st.parent, children, nchildren, packets_in_message(p.hdr, p.payload_len), now_) ==
        kArmTableFull)
      error();
    st.relay = true;
  }

  std::vector<uint8_t> frame(kMaxFrameBytes);
  for (uint32_t c = 0; c < n; c++) {
    remaining_->slice(chunks[c].begin, chunks[c].end, *chunk_);
    FanoutHeader h = p.hdr;
    h.hops_left = (uint8_t)(h.hops_left - 1);
    h.origin = node;
    uint32_t len = 0;
    if (build_frame(cluster_net_headers(node, chunks[c].head, h.sender, h.message_id), h, *chunk_,
                    t.frame.data() + p.payload_offset, p.payload_len, default_build_options(), frame.data(),
                    (uint32_t)frame.size(), &len) != kOk) {
      error();
      continue;
    }
    report_.link_data_copies++;
    if (node == sender_) {
      report_.sender_packets++;
      report_.sender_bytes += len;
    }
    queue_.push_back(Transfer{node, chunks[c].head, std::vector<uint8_t>(frame.begin(), frame.begin() + len)});
  }
  if (local) deliver(node, st, p, t.frame.data());
}

void Cluster::deliver(NodeId node, NodeState &st, const ParsedPacket &p, const uint8_t *frame) {
  if (st.data.empty()) {
    st.data.assign(p.hdr.length, 0);
    st.copies_of_packet.assign(packets_in_message(p.hdr, p.payload_len), 0);
  }
  uint32_t offset = data_offset(p.hdr, p.payload_len);
  if (p.hdr.sequence >= st.copies_of_packet.size() || (uint64_t)offset + p.payload_len > st.data.size()) return error();
  if (st.copies_of_packet[p.hdr.sequence]++ == 0) {
    std::copy(frame + p.payload_offset, frame + p.payload_offset + p.payload_len, st.data.begin() + offset);
    st.packets_held++;
  }
  if (options_.corrupt_one_delivery && !corrupted_ && p.payload_len > 0) {
    st.data[offset] ^= 0xFF;
    corrupted_ = true;
  }
  if (st.packets_held == st.copies_of_packet.size() && !st.acked) {
    st.acked = true;
    host_ack(node, st);
  }
}

// A receiver's host acknowledges the whole message once: to its own NIC when that NIC relays
// (it is a local child there), else to the node the data came from.
void Cluster::host_ack(NodeId node, const NodeState &st) {
  Feedback &fb = *feedback_;
  fb.type = kTypeAck;
  fb.flags = 0;
  fb.origin = node;
  fb.key = MessageKey{sender_, message_id_};
  fb.sequence = (uint32_t)st.copies_of_packet.size();
  fb.length = 1;
  fb.set.clear();
  fb.set.append(node);
  send_feedback(node, st.relay ? node : st.parent, fb, true);
}

void Cluster::send_feedback(NodeId from, NodeId to, const Feedback &fb, bool endpoint) {
  FanoutHeader h = make_header(fb.type, fb.key.sender, fb.origin, fb.key.message_id, fb.sequence, fb.length);
  h.flags = fb.flags;
  BuildOptions opt = default_build_options();
  opt.encoding = kSetRanges; // feedback carries the covered ids as ranges
  opt.udp_checksum = endpoint;
  std::vector<uint8_t> frame(kMaxFrameBytes);
  uint32_t len = 0;
  if (build_frame(cluster_net_headers(from, to, fb.key.sender, fb.key.message_id), h, fb.set, nullptr, 0, opt,
                  frame.data(), (uint32_t)frame.size(), &len) != kOk)
    return error();
  frame.resize(len);
  if (from != to) report_.link_ack_frames++;
  queue_.push_back(Transfer{from, to, std::move(frame)});
}

void Cluster::on_ack(const Transfer &t) {
  const NodeId node = t.to;
  Feedback &fb = *feedback_;
  ParsedPacket p;
  if (parse_frame(t.frame.data(), (uint32_t)t.frame.size(), cfg_, p, &fb.set) != kOk) return error();
  fb.type = p.hdr.type;
  fb.flags = p.hdr.flags;
  fb.origin = p.hdr.origin;
  fb.key = MessageKey{p.hdr.sender, p.hdr.message_id};
  fb.sequence = p.hdr.sequence;
  fb.length = p.hdr.length;
  auto out = std::make_unique<AggOutput>();
  if (!aggregator(node).on_ack(fb, now_, *out)) return;
  if (out->dest != node) return send_feedback(node, out->dest, out->fb, false);
  // Up to this node's host: only the sender's host expects ACKs.
  if (node != sender_) return error();
  acks_at_host_++;
  last_host_ack_ = out->fb;
}

// ---- Workloads --------------------------------------------------------------------------------

std::unique_ptr<ReceiverSet> make_set(const std::vector<uint32_t> &ascending_ids) {
  auto set = std::make_unique<ReceiverSet>();
  for (uint32_t id : ascending_ids) set->append((NodeId)id);
  return set;
}

WorkloadReport moe_dispatch(const DemoOptions &options) {
  WorkloadReport report;
  report.name = "moe_dispatch";
  report.nodes = kMoeNodes;
  report.description = "MoE token dispatch, DeepSeek-V3 shape: " + std::to_string(kRoutedExperts) +
                       " routed experts on " + std::to_string(kMoeNodes) + " nodes (" +
                       std::to_string(kExpertsPerNode) + " per node) + 1 shared expert on node " +
                       std::to_string(kSharedExpertNode) + "; top-" + std::to_string(kTopK) + ", seed " +
                       std::to_string(kRoutingSeed) + ", " + std::to_string(kTokens) + " tokens of " +
                       std::to_string(kHiddenSize) + " x " + std::to_string(kActivationBytes) +
                       " B; token t from node " + std::to_string(kTokenNodeStride) + "t mod " +
                       std::to_string(kMoeNodes) + "; experts on the sender's own node need no network";
  Cluster cluster(kDemoFanout, options, report);
  std::mt19937 rng(kRoutingSeed); // mt19937's sequence is fixed by the standard; % 256 is unbiased
  for (uint32_t token = 0; token < kTokens; token++) {
    MessageTrace trace;
    trace.sender = token * kTokenNodeStride % kMoeNodes;
    while (trace.experts.size() < kTopK) {
      uint32_t expert = rng() % kRoutedExperts;
      if (std::find(trace.experts.begin(), trace.experts.end(), expert) == trace.experts.end())
        trace.experts.push_back(expert);
    }
    std::sort(trace.experts.begin(), trace.experts.end());
    std::vector<uint32_t> hosting{kSharedExpertNode};
    for (uint32_t expert : trace.experts) hosting.push_back(expert / kExpertsPerNode);
    std::sort(hosting.begin(), hosting.end());
    for (uint32_t node : hosting) {
      if (node == trace.sender) trace.local_hits++;
    }
    hosting.erase(std::unique(hosting.begin(), hosting.end()), hosting.end());
    hosting.erase(std::remove(hosting.begin(), hosting.end(), trace.sender), hosting.end());
    trace.receivers = hosting;
    std::vector<uint8_t> token_bytes = message_bytes((uint64_t)kHiddenSize * kActivationBytes, token + 1);
    cluster.send((NodeId)trace.sender, *make_set(hosting), token + 1, token_bytes);
    report.traces.push_back(trace);
  }
  report.acks_merged = cluster.acks_merged();
  return report;
}

WorkloadReport single_message(const std::string &name, const std::string &description, uint32_t nodes, NodeId sender,
                              const std::vector<uint32_t> &receivers, uint64_t bytes, const DemoOptions &options) {
  WorkloadReport report;
  report.name = name;
  report.description = description;
  report.nodes = nodes;
  Cluster cluster(kDemoFanout, options, report);
  MessageTrace trace;
  trace.sender = sender;
  trace.receivers = receivers;
  cluster.send(sender, *make_set(receivers), 1, message_bytes(bytes, 1));
  report.traces.push_back(trace);
  report.acks_merged = cluster.acks_merged();
  return report;
}

WorkloadReport allreduce_broadcast(const DemoOptions &options) {
  std::vector<uint32_t> receivers;
  for (uint32_t id = 0; id < kBroadcastNodes; id++)
    if (id != kBroadcastRoot) receivers.push_back(id);
  return single_message("allreduce_broadcast",
                        "AllReduce, broadcast half: node " + std::to_string(kBroadcastRoot) +
                            " to every other node of a " + std::to_string(kBroadcastNodes) + "-node cluster, " +
                            std::to_string(kBroadcastBytes / 1024) + " KiB",
                        kBroadcastNodes, kBroadcastRoot, receivers, kBroadcastBytes, options);
}

WorkloadReport checkpoint_replication(const DemoOptions &options) {
  std::vector<uint32_t> receivers;
  for (uint32_t r = 1; r <= kReplicas; r++) receivers.push_back((kShardOwner + r * kRackSize) % kCheckpointNodes);
  std::sort(receivers.begin(), receivers.end());
  return single_message("checkpoint_replication",
                        "checkpoint replication: node " + std::to_string(kShardOwner) + " sends a " +
                            std::to_string(kShardBytes / (1024 * 1024)) + " MiB shard to " + std::to_string(kReplicas) +
                            " replicas, one per other rack of " + std::to_string(kRackSize) + " (" +
                            std::to_string(kCheckpointNodes) + " nodes)",
                        kCheckpointNodes, kShardOwner, receivers, kShardBytes, options);
}

// ---- Output -----------------------------------------------------------------------------------

std::string span_text(const Span &s) {
  return s.min == s.max ? std::to_string(s.min) : std::to_string(s.min) + ".." + std::to_string(s.max);
}

std::string join(const std::vector<uint32_t> &v) {
  std::string text;
  for (size_t i = 0; i < v.size(); i++) text += (i ? "," : "") + std::to_string(v[i]);
  return text;
}

std::string ratio_text(uint64_t unicast, uint64_t fanout) {
  if (fanout == 0) return "";
  if (fanout == unicast) return " (the same: k <= F, the sender's NIC reaches every receiver directly)";
  char buf[32];
  std::snprintf(buf, sizeof buf, " (%.1fx fewer)", (double)unicast / (double)fanout);
  return buf;
}

struct Totals {
  uint64_t messages = 0, deliveries = 0, receivers_ok = 0, sender_packets = 0, unicast_packets = 0;
  uint64_t sender_bytes = 0, unicast_bytes = 0, host_interface_bytes = 0, link_data_copies = 0, link_ack_frames = 0;
  uint64_t acks_at_sender_host = 0, unicast_acks = 0;
  bool delivered = true;
};

Totals totals_of(const std::vector<WorkloadReport> &reports) {
  Totals t;
  for (const WorkloadReport &r : reports) {
    t.messages += r.messages;
    t.deliveries += r.deliveries;
    t.receivers_ok += r.receivers_ok;
    t.sender_packets += r.sender_packets;
    t.unicast_packets += r.unicast_packets;
    t.sender_bytes += r.sender_bytes;
    t.unicast_bytes += r.unicast_bytes;
    t.host_interface_bytes += r.host_interface_bytes;
    t.link_data_copies += r.link_data_copies;
    t.link_ack_frames += r.link_ack_frames;
    t.acks_at_sender_host += r.acks_at_sender_host;
    t.unicast_acks += r.unicast_acks;
    t.delivered = t.delivered && r.delivered();
  }
  return t;
}

void print_row(std::ostream &out, const char *label, const std::string &value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "    %-22s", label);
  out << buf << value << "\n";
}

// "Fanout <x> vs unicast <y> (<ratio>)": the comparison every figure row makes.
void print_versus(std::ostream &out, const char *label, uint64_t fanout, uint64_t unicast) {
  print_row(out, label,
            "Fanout " + std::to_string(fanout) + " vs unicast " + std::to_string(unicast) +
                ratio_text(unicast, fanout));
}

void print_text(const std::vector<WorkloadReport> &reports, std::ostream &out) {
  out << "Fanout demo: a protocol-level walk: every packet is built and parsed by proto/ at every hop, "
         "ACKs aggregated on the way back; no timing.\n"
      << "The cycle-level simulator (time, queues, links) comes with sim/.\n";
  for (size_t w = 0; w < reports.size(); w++) {
    const WorkloadReport &r = reports[w];
    out << "\n[" << w + 1 << "] " << r.description << "\n";
    if (r.name == "moe_dispatch") {
      for (size_t t = 0; t < r.traces.size(); t++) {
        const MessageTrace &m = r.traces[t];
        char head[64];
        std::snprintf(head, sizeof head, "    token %2zu from node %2u: experts ", t, m.sender);
        out << head << join(m.experts) << " -> nodes " << join(m.receivers) << " (k=" << m.receivers.size()
            << (m.local_hits ? ", " + std::to_string(m.local_hits) + " local" : "") << ")\n";
      }
    }
    print_row(out, "messages",
              std::to_string(r.messages) + " x " + std::to_string(r.message_bytes) + " B, " + span_text(r.packets) +
                  " packets each (payload S = " + span_text(r.payload_size) + " B)");
    print_row(out, "receivers",
              "k = " + span_text(r.receivers) + " per message, " + std::to_string(r.deliveries) + " deliveries");
    print_versus(out, "sender packets", r.sender_packets, r.unicast_packets);
    print_versus(out, "sender bytes", r.sender_bytes, r.unicast_bytes);
    print_versus(out, "host->NIC bytes", r.host_interface_bytes, r.unicast_bytes);
    print_row(out, "copies on all links",
              std::to_string(r.link_data_copies) + " DATA + " + std::to_string(r.link_ack_frames) + " ACK frames");
    print_row(out, "addressing/packet",
              "Fanout " + span_text(r.addressing_bytes) + " B (whole header " + span_text(r.header_bytes) +
                  " B) vs BIER best " + span_text(r.bier_bytes) + " B (BSL " + span_text(r.bier_bsl) + ", " +
                  span_text(r.bier_copies) + (r.bier_copies.max == 1 ? " copy)" : " copies)"));
    print_row(out, "tree depth",
              std::to_string(r.max_depth) + " (F = " + std::to_string(kDemoFanout) +
                  "; bound ceil(log_F k) + 1 = " + std::to_string(r.depth_bound) + ")");
    print_row(out, "ACKs at sender host",
              "Fanout " + std::to_string(r.acks_at_sender_host) + " (" + std::to_string(r.final_ack_ok) + " of " +
                  std::to_string(r.messages) + " messages: 1 ACK covering all k) vs unicast " +
                  std::to_string(r.unicast_acks) + "; " + std::to_string(r.acks_merged) +
                  " ACKs absorbed by aggregators");
    print_row(out, "delivery",
              "all " + std::to_string(r.deliveries) +
                  " receivers got identical data: " + (r.delivered() ? "yes" : "no") +
                  (r.frame_errors ? " (" + std::to_string(r.frame_errors) + " frame errors)" : ""));
  }
  Totals t = totals_of(reports);
  out << "\nTotal: " << t.messages << " messages, " << t.deliveries << " deliveries\n";
  print_versus(out, "sender packets", t.sender_packets, t.unicast_packets);
  print_versus(out, "sender bytes", t.sender_bytes, t.unicast_bytes);
  print_versus(out, "host->NIC bytes", t.host_interface_bytes, t.unicast_bytes);
  print_row(out, "copies on all links",
            std::to_string(t.link_data_copies) + " DATA + " + std::to_string(t.link_ack_frames) + " ACK frames");
  print_row(out, "ACKs at sender hosts",
            "Fanout " + std::to_string(t.acks_at_sender_host) + " vs unicast " + std::to_string(t.unicast_acks));
  print_row(out, "delivery",
            "all " + std::to_string(t.deliveries) + " receivers got identical data: " + (t.delivered ? "yes" : "no"));
}

void write_span(JsonWriter &json, const char *key, const Span &s) {
  json.begin_object(key);
  json.field("min", s.min);
  json.field("max", s.max);
  json.end_object();
}

void print_json(const std::vector<WorkloadReport> &reports, std::ostream &out) {
  JsonWriter json(out);
  json.begin_object();
  json.field("fanout", kDemoFanout);
  json.field("frame_bytes", kDemoFrameBytes);
  json.begin_array("workloads");
  for (const WorkloadReport &r : reports) {
    json.begin_object();
    json.field("name", r.name);
    json.field("description", r.description);
    json.field("nodes", r.nodes);
    json.field("messages", r.messages);
    json.field("message_bytes", r.message_bytes);
    write_span(json, "receivers", r.receivers);
    json.field("deliveries", r.deliveries);
    write_span(json, "packets_per_message", r.packets);
    write_span(json, "payload_size", r.payload_size);
    json.field("sender_packets", r.sender_packets);
    json.field("unicast_packets", r.unicast_packets);
    json.field("sender_bytes", r.sender_bytes);
    json.field("unicast_bytes", r.unicast_bytes);
    json.field("host_interface_bytes", r.host_interface_bytes);
    json.field("link_data_copies", r.link_data_copies);
    json.field("link_ack_frames", r.link_ack_frames);
    write_span(json, "set_bytes", r.set_bytes);
    write_span(json, "header_bytes", r.header_bytes);
    write_span(json, "addressing_bytes", r.addressing_bytes);
    write_span(json, "bier_best_bytes", r.bier_bytes);
    write_span(json, "bier_best_bsl", r.bier_bsl);
    write_span(json, "bier_best_copies", r.bier_copies);
    json.field("max_depth", r.max_depth);
    json.field("depth_bound", r.depth_bound);
    json.field("acks_at_sender_host", r.acks_at_sender_host);
    json.field("unicast_acks", r.unicast_acks);
    json.field("acks_merged", r.acks_merged);
    json.field("final_ack_ok", r.final_ack_ok);
    json.field("receivers_ok", r.receivers_ok);
    json.field("frame_errors", r.frame_errors);
    json.field("delivered", r.delivered());
    json.begin_array("messages_detail");
    for (const MessageTrace &m : r.traces) {
      json.begin_object();
      json.field("sender", m.sender);
      if (!m.experts.empty()) {
        json.begin_array("experts");
        for (uint32_t e : m.experts) json.field(nullptr, e);
        json.end_array();
      }
      json.field("receivers", (uint64_t)m.receivers.size());
      json.end_object();
    }
    json.end_array();
    json.end_object();
  }
  json.end_array();
  Totals t = totals_of(reports);
  json.begin_object("total");
  json.field("messages", t.messages);
  json.field("deliveries", t.deliveries);
  json.field("receivers_ok", t.receivers_ok);
  json.field("sender_packets", t.sender_packets);
  json.field("unicast_packets", t.unicast_packets);
  json.field("sender_bytes", t.sender_bytes);
  json.field("unicast_bytes", t.unicast_bytes);
  json.field("host_interface_bytes", t.host_interface_bytes);
  json.field("link_data_copies", t.link_data_copies);
  json.field("link_ack_frames", t.link_ack_frames);
  json.field("acks_at_sender_host", t.acks_at_sender_host);
  json.field("unicast_acks", t.unicast_acks);
  json.field("delivered", t.delivered);
  json.end_object();
  json.end_object();
  json.finish();
}

} // namespace

std::vector<WorkloadReport> run_demo_workloads(const DemoOptions &options) {
  std::vector<WorkloadReport> reports;
  reports.push_back(moe_dispatch(options));
  reports.push_back(allreduce_broadcast(options));
  reports.push_back(checkpoint_replication(options));
  for (WorkloadReport &r : reports) r.depth_bound = depth_bound((uint32_t)r.receivers.max, kDemoFanout);
  return reports;
}

int run_demo(const std::vector<std::string> &args, std::ostream &out, std::ostream &err) {
  bool json = false;
  for (const std::string &arg : args) {
    if (arg == "--json") {
      json = true;
    } else if (arg == "-h" || arg == "--help") {
      out << "usage: fanout demo [--json]\n";
      return kExitOk;
    } else {
      err << "fanout demo: unknown option '" << arg << "'\n";
      return kExitUsage;
    }
  }
  std::vector<WorkloadReport> reports = run_demo_workloads();
  if (json) {
    print_json(reports, out);
  } else {
    print_text(reports, out);
  }
  return totals_of(reports).delivered ? kExitOk : kExitCheckFailed;
}

} // namespace cli
} // namespace fanout
