// `fanout demo`: three AI-cluster workloads walked packet by packet through proto/.
//
// Each message is segmented by the reassembly rule, built as DATA frames at the sender, and
// forwarded hop by hop with the tree rule (parse_frame -> local delivery -> tree_split ->
// build_frame). Every receiver reassembles the message and sends one ACK frame to the node it got
// the data from; every relay (and the sender's NIC, whose parent is its host) aggregates ACKs
// with an AckAggregator. There is no time: the order of events is a FIFO of frames.
#ifndef FANOUT_CLI_DEMO_HPP
#define FANOUT_CLI_DEMO_HPP

#include <cstdint>
#include <string>
#include <vector>

namespace fanout {
namespace cli {

constexpr uint32_t kDemoFanout = 4;
constexpr uint32_t kDemoFrameBytes = 4096; // payload size S = 4096 - 64 - set bytes, beat-aligned

// A figure measured over a workload's messages: smallest and largest value.
struct Span {
  uint64_t min = 0;
  uint64_t max = 0;
  bool any = false;
  void add(uint64_t v) {
    min = any && min < v ? min : v;
    max = any && max > v ? max : v;
    any = true;
  }
};

// One message's receiver set, kept for printing (MoE shows each token's routing).
struct MessageTrace {
  uint32_t sender = 0;
  std::vector<uint32_t> experts; // MoE only: the routed experts chosen for the token
  std::vector<uint32_t> receivers;
  uint32_t local_hits = 0; // MoE only: chosen experts on the sender's own node (no network)
};

struct WorkloadReport {
  std::string name;
  std::string description;
  uint32_t nodes = 0;
  uint32_t messages = 0;
  uint64_t message_bytes = 0;  // per message
  Span receivers;              // k per message
  uint64_t deliveries = 0;     // sum of k over messages
  Span packets;                // packets per message
  Span payload_size;           // S per message
  uint64_t sender_packets = 0; // copies the sender's NIC put on the network
  uint64_t unicast_packets = 0;
  uint64_t sender_bytes = 0;
  uint64_t unicast_bytes = 0;
  // Bytes the sender's host hands its NIC: one frame per packet with Fanout (the NIC replicates);
  // with unicast fan-out every copy crosses the host interface, so it equals unicast_bytes.
  uint64_t host_interface_bytes = 0;
  uint64_t link_data_copies = 0; // DATA copies on every link
  uint64_t link_ack_frames = 0;  // ACK frames on every link (host -> own NIC not counted)
  Span set_bytes;                // receiver-set body in the sender's packets
  Span header_bytes;             // 64 + set bytes
  Span addressing_bytes;         // kAddressingFixedBytes + set bytes
  Span bier_bytes;               // bier_best total header bytes per packet
  Span bier_bsl;
  Span bier_copies;
  uint32_t max_depth = 0;
  uint32_t depth_bound = 0; // ceil(log_F k_max) + 1
  uint64_t acks_at_sender_host = 0;
  uint64_t unicast_acks = 0;
  uint64_t acks_merged = 0;  // ACKs absorbed by aggregators on the way
  uint64_t receivers_ok = 0; // deliveries with identical bytes, every packet exactly once
  uint64_t final_ack_ok = 0; // messages whose last ACK at the host covers all k at cum = packets
  uint64_t frame_errors = 0; // build/parse failures (should be 0)
  std::vector<MessageTrace> traces;
  bool delivered() const { return receivers_ok == deliveries && final_ack_ok == messages && frame_errors == 0; }
};

struct DemoOptions {
  // Test hook: corrupt one reassembled byte at the first receiver so the check must fail.
  bool corrupt_one_delivery = false;
};

std::vector<WorkloadReport> run_demo_workloads(const DemoOptions &options = DemoOptions());

} // namespace cli
} // namespace fanout

#endif
