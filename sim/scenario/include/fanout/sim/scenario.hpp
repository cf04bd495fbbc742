// A simulation scenario: the cluster, the replication mode, the workload, faults and outputs.
//
// Read from a YAML file (JSON is accepted too: it is YAML's flow syntax) and/or set by
// command-line flags; every field is checked, and a bad one raises ScenarioError naming where
// it is (file:line:column), the field's path and the problem, e.g.
//   moe.yaml:7:6: workload.k: must be between 1 and nodes - 1 = 15 (got 40)
// Unknown keys are errors too, so a misspelt field never silently falls back to its default.
// docs/simulator.md lists every field with its default.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace fanout::sim {

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Topology { kStar, kLeafSpine };
// kTree and kPort are Fanout; kUnicast and kBier are the baselines the report compares with
// (plain NICs, the sender sends one copy per receiver / per 256-id BIER set; docs/report.md).
enum class Mode { kTree, kPort, kUnicast, kBier };
enum class Workload { kBroadcast, kSparse, kMoe, kAllReduce, kCheckpoint };
enum class FaultKind { kLinkDown, kLoss, kCorrupt };

struct LinkSpec {
  double gbps = 100;
  uint64_t delay_ns = 500; // about 100 m of fibre
  double loss = 0;         // probability a frame is lost
  double corrupt = 0;      // probability a frame gets one bit flipped
};

struct FaultSpec {
  FaultKind kind = FaultKind::kLinkDown;
  std::string link;         // "node<N>" (a host's access link), "leaf<L>-spine<S>"
  uint64_t at_ns = 0;       // when it starts
  uint64_t duration_ns = 0; // 0: until the end
  double probability = 0;   // loss / corrupt
};

struct MoeSpec {
  uint32_t experts = 256;        // routed experts, spread evenly over the nodes
  uint32_t top_k = 8;            // routed experts per token
  bool shared_expert = true;     // plus one shared expert (on the token's own node: no traffic)
  uint32_t node_limit = 4;       // node-limited routing: at most this many nodes per token (0: off)
  uint32_t tokens_per_step = 32; // per sender
  uint32_t steps = 2;
  uint32_t token_bytes = 7168; // hidden size 7,168 x 1 byte (FP8)
};

// The broadcast half of AllReduce: the root sends every message to every other node.
struct AllReduceSpec {
  uint32_t root = 0; // the only sender (workload.senders is ignored)
  uint32_t messages = 2;
  uint32_t message_bytes = 512u << 10;
};

// Checkpoint replication: each sender writes its shards, each to `replicas` other nodes.
struct CheckpointSpec {
  uint32_t replicas = 3; // distinct nodes per shard, never the writer (1..nodes - 1)
  uint32_t shards = 1;   // per sender
  uint32_t shard_bytes = 256u << 10;
};

struct Scenario {
  std::string name = "default";
  uint64_t seed = 1;
  // Cluster
  Topology topology = Topology::kStar;
  uint32_t nodes = 16;
  uint32_t leaves = 4; // leaf_spine: nodes are spread evenly over the leaves
  uint32_t spines = 2;
  LinkSpec link;
  uint32_t switch_buffer_bytes = 1u << 20; // per output port
  // NICs
  Mode mode = Mode::kTree;
  uint32_t fanout = 4; // tree fan-out F
  uint32_t nic_ports = 2;
  uint32_t heartbeat_clocks = 1000; // link monitor interval (kernel clocks)
  // Peer monitor interval (kernel clocks; 0: off): a peer this NIC sends copies to is probed
  // when silent this long, and declared down after 3 silent intervals (hls/peer_monitor).
  uint32_t peer_interval_clocks = 800;
  uint32_t silent_timeout_clocks = 0; // ACK aggregators; 0: the kernel's default
  // Hostile-input policy of every NIC's replicator (proto/policy.hpp; ids outside 0..nodes-1 are
  // always refused): at most this many receivers per DATA packet (0: no limit), and a per-sender
  // token bucket of rate_mbps (0: off) with a burst of two maximum frames (cluster.hpp).
  uint32_t max_receivers = 0;
  double rate_mbps = 0;
  // Per-packet authentication in hardware (proto/auth.hpp): every NIC and Fanout switch signs
  // what it sends (hls/auth_signer) and checks what it receives (the parser). auth: 0 off,
  // 1 accept (unsigned frames from the network kept), 2 require; a key alone means require.
  bool has_auth_key = false;
  uint8_t auth_key[16] = {};
  uint8_t auth = 0;
  bool auth_explicit = false;
  double kernel_mhz = 300;
  double mac_mhz = 322.265625;
  // Workload
  Workload workload = Workload::kMoe;
  std::vector<uint32_t> senders; // empty: every node sends (allreduce: ignored, the root sends)
  uint32_t k = 8;                // sparse: receivers per message
  uint32_t messages = 8;         // broadcast / sparse: messages per sender
  uint32_t message_bytes = 65536;
  uint64_t interval_ns = 0;        // gap between a sender's messages (0: back to back, window permitting)
  bool retransmit = false;         // hosts retransmit on NACKs (sim/host.hpp)
  uint64_t message_timeout_us = 0; // hosts' message timeout; 0: twice the silent timeout + 100 us
  MoeSpec moe;
  AllReduceSpec allreduce;
  CheckpointSpec checkpoint;
  // Run
  uint64_t duration_ns = 10'000'000; // stop here even if traffic is left
  std::vector<FaultSpec> faults;
  // Outputs
  bool json = false;
  std::vector<uint32_t> fst_nodes;     // NICs whose waveforms are written
  std::vector<std::string> pcap_links; // links captured to pcap
  std::string output_dir = "sim-out";
};

// Parse a whole scenario document. `origin` names it in errors (a path, or "<flags>").
Scenario parse_scenario(const std::string &text, const std::string &origin);
Scenario load_scenario_file(const std::string &path);

// One command-line flag (`--nodes 16` is apply_flag(s, "nodes", "16")), with the same checks
// as the file field of the same name (dots become dashes: workload.k is --k, link.gbps is
// --link-gbps). Returns false for a flag this module does not know.
bool apply_flag(Scenario &s, const std::string &flag, const std::string &value);
// The flags apply_flag knows, with a one-line description each, for --help.
std::string flag_help();

// Checks that need several fields (k < nodes, senders exist, leaves divide nodes, fault links
// name real links, ...). load_scenario_file and parse_scenario call it; call it again after
// flags.
void validate(const Scenario &s, const std::string &origin);

const char *name(Topology t);
const char *name(Mode m);
const char *name(Workload w);
const char *name(FaultKind f);

} // namespace fanout::sim
