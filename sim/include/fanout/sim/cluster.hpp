// A whole simulated cluster: hosts (sim/host.hpp) on Fanout NICs (sim/nic.hpp), joined by links
// (sim/link.hpp) through a star or a leaf/spine fabric, run until every message of the scenario's
// workload has settled or the scenario's duration has passed; then the run's figures.
//
// Topologies (node ids 0..nodes-1 are the workload's; switch ids 0xF000 + leaf (or the star
// switch), 0xF100 + spine never collide with them). Every NIC uses MAC port 0; its link is
// "node<N>" (side 0 the NIC, side 1 the switch); leaf/spine uplinks are "leaf<L>-spine<S>" (side
// 0 the leaf). Leaf L holds nodes [L * nodes / leaves, (L + 1) * nodes / leaves) on its first
// ports, then one port per spine; traffic to a remote node m goes up to spine leaf_of(m) % spines.
//  * tree mode: L2 Switches (static routes by the nodes' cluster MACs) and NICs relaying copies
//    to chunk heads; every NIC knows every other node on port 0.
//  * port mode: FanoutSwitches (the kernels with a port table) replicate per port and aggregate
//    the ACKs of the ids behind each port; a NIC sends one copy to its top-of-rack switch (its
//    port-0 peer) and routes its own id to the host (kPortLocal).
//  * unicast and bier (the baselines of docs/report.md): plain NICs (sim/plain_nic.hpp) and L2
//    Switches, which in bier mode also replicate BIER frames; hosts use Transport::kUnicast /
//    kBier, receivers ACK the sender directly, and no heartbeats run (a plain NIC has no link
//    monitor). Hosts wait for their messages without a timeout (no aggregator NACKs would come
//    first): a message still open at the duration counts as not completed.
// Switch heartbeats every heartbeat_clocks kernel periods, so the NICs' link monitors hear their
// peer. Faults: link_down is the link's down schedule; loss/corrupt change the link's
// probabilities for their window. Outputs: pcap per captured link direction
// (<dir>/<link>.<from>-to-<to>.pcap), FST per traced NIC (<dir>/nic<N>.fst).
//
// Serve mode (serve_cluster, sim/serve.hpp): the same cluster without workload hosts; the hosts
// of served nodes are applications outside the process, attached through Unix sockets and run in
// lock-step with the simulation; the other nodes' NICs idle.
//
// SystemC elaborates once per process: one run per process.
//
// This header does not include SystemC (fanout-sim's report code uses it without); the Cluster
// class is for code that runs the simulation itself (SystemC).
//
// C++17. Namespace fanout::sim.
#ifndef FANOUT_SIM_CLUSTER_HPP
#define FANOUT_SIM_CLUSTER_HPP

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fanout/proto/policy.hpp"
#include "fanout/sim/scenario.hpp"

namespace fanout {
namespace sim {

// Nearest-rank percentiles of a sample (all 0 when it is empty).
struct Percentiles {
  uint64_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// A link-monitor transition on a NIC port (NIC MAC port 0 is the node's access link).
struct LinkEvent {
  uint32_t node = 0;
  uint32_t port = 0;
  bool down = false;
  uint64_t at_ns = 0;
};

// A peer-monitor verdict: NIC `node` declared `peer` down (or up again).
struct PeerEventOut {
  uint32_t node = 0;
  uint32_t peer = 0;
  bool down = false;
  uint64_t at_ns = 0;
};

struct FaultOutcome {
  std::string kind; // link_down, loss, corrupt
  std::string link;
  uint64_t at_ns = 0, duration_ns = 0;
  double probability = 0;
  // link_down: the first port-down event on either end at or after at_ns. Only NICs have link
  // monitors, so a fault between two switches (leaf/spine uplinks) is never detected.
  bool monitored = false; // some end of the link has a link monitor
  bool detected = false;
  uint64_t detection_ns = 0; // after at_ns
  double detection_cycles = 0;
  // link_down of node<N>, tree mode: the other NICs' view. peer_detected: some NIC's peer monitor
  // declared N down (first such verdict at or after at_ns); repaired: some NIC then skipped N as
  // a chunk head (the first copy sent around it); in_flight: messages posted before at_ns and
  // not settled then; in_flight_settled_ns: when the last of them settled, after at_ns.
  bool peer_detected = false;
  uint32_t peer_detected_by = 0;
  uint64_t peer_detection_ns = 0;
  double peer_detection_cycles = 0;
  bool repaired = false;
  uint64_t repair_ns = 0; // after at_ns
  uint64_t in_flight = 0;
  uint64_t in_flight_settled_ns = 0;
};

// Frames dropped anywhere, by reason.
struct Drops {
  uint64_t link_loss = 0;           // random loss on links
  uint64_t link_down = 0;           // on the wire while the link was down
  uint64_t fcs = 0;                 // bad FCS (a link corrupted it): L2 switch drops_fcs, parsers' bad frames
  uint64_t switch_buffer = 0;       // L2 switch drop-tail
  uint64_t switch_unknown_mac = 0;  // L2 switch: unknown unicast destination
  uint64_t switch_rx_queue = 0;     // Fanout switch: RX queue full
  uint64_t switch_no_port = 0;      // Fanout switch: frames for a port without link / unused tdest
  uint64_t parser_overflow = 0;     // parser FIFO full (NICs and Fanout switches)
  uint64_t mac_rx_dropped = 0;      // NIC MAC RX frames dropped whole: RX FIFO full at their start
  uint64_t repl_unroutable = 0;     // replicator copies without a neighbour entry / port
  uint64_t repl_unroutable_ids = 0; // port mode: ids without a route
  uint64_t repl_looped_ids = 0;     // port mode: ids routed back out of their ingress port
  uint64_t repl_port_down = 0;      // copies for a port the link monitor marked down
  uint64_t repl_plan_overflow = 0;  // copies past the replicator's plan capacity
  // DATA frames a replicator refused whole (proto/policy.hpp): more receivers than
  // nic.max_receivers, an id outside the cluster, a set naming its sender or origin, over the
  // sender's nic.rate_mbps.
  uint64_t policy_too_many_receivers = 0;
  uint64_t policy_unknown_id = 0;
  uint64_t policy_loop = 0;
  uint64_t policy_rate_limited = 0;
  // Frames a NIC's parser refused (nic.auth, proto/auth.hpp): tag does not verify, counter
  // replayed or too old, origin outside the replay windows, unsigned where signing is required.
  uint64_t auth_bad_tag = 0;
  uint64_t auth_replayed = 0;
  uint64_t auth_stale = 0;
  uint64_t auth_unknown_origin = 0;
  uint64_t auth_unsigned = 0;
  uint64_t agg_unroutable = 0; // aggregator outputs without a neighbour entry
  uint64_t agg_dropped = 0;    // NIC shell: aggregator frames with an unknown tdest
  uint64_t host_gone = 0;      // serve mode: frames host RX delivered to a node whose client left
  uint64_t bier = 0;           // BIER switches: malformed BIER frames, TTL expired, bits without a route
  std::map<std::string, uint64_t> parse_errors; // by proto::error_name (NICs and Fanout switches)
  uint64_t total() const;
  // Every nonzero reason as (snake_case name, count), in a fixed order.
  std::vector<std::pair<std::string, uint64_t>> nonzero() const;
};

// Outcome of one message of the workload.
struct MessageOutcome {
  uint64_t id = 0;
  uint32_t sender = 0;
  uint32_t step = 0;                   // moe: the step; else 0
  std::vector<uint16_t> receivers;     // intended (the workload's set)
  std::vector<uint16_t> delivered;     // receivers holding it whole and byte-correct
  std::vector<uint16_t> wrong;         // nodes outside the set that got DATA of it
  std::vector<uint16_t> nacked;        // ids NACKs named at the sender
  std::vector<uint16_t> timed_out;     // ids neither ACKed nor NACKed within the host's timeout
  std::vector<uint16_t> gone;          // ids a relay reported down (NACK kFlagGone): named, not retried
  std::vector<uint16_t> given_up;      // retransmit: ids still missing data after the last round
  std::vector<uint16_t> retransmitted; // retransmit: ids some RETX round was sent to
  uint64_t duplicate_packets = 0;
  uint64_t data_errors = 0;
  uint32_t ack_frames = 0, nack_frames = 0;
  bool posted = false, completed = false;
  uint64_t posted_ns = 0, completed_ns = 0;
};

// Serve mode: one served node's client.
struct ServeClient {
  uint32_t node = 0;
  bool connected = false;  // a client connected within the wait
  bool left = false;       // it disconnected (or was dropped for not answering) before the end
  uint64_t left_at_ns = 0; // simulated time it was noticed gone
  uint64_t frames_in = 0;  // FRAME records from the client (to its NIC's host TX)
  uint64_t bytes_in = 0;   // their frame bytes
  uint64_t frames_out = 0; // FRAME records to the client (from host RX)
  uint64_t bytes_out = 0;
  uint64_t malformed = 0;      // records dropped as malformed
  uint64_t host_gone = 0;      // host RX frames dropped because the client had left
  uint64_t tx_backlog_max = 0; // most of its frames waiting at once for the NIC's DMA queue
};

struct ServeReport {
  bool enabled = false;
  std::string dir;
  uint64_t quantum_ns = 0;
  uint64_t rounds = 0;           // TICKs sent (TICK(0) included)
  bool duration_reached = false; // ended at duration_ns (BYE sent); else every client had left
  uint64_t frames_from_clients = 0, bytes_from_clients = 0;
  uint64_t frames_to_clients = 0, bytes_to_clients = 0;
  uint64_t malformed_records = 0;
  // By reason: serve::decode_error_name, wrong_direction, unexpected_done, empty_record, record_too_long.
  std::map<std::string, uint64_t> malformed;
  std::vector<ServeClient> clients; // served nodes, ascending
};

struct RunResult {
  // Scenario
  std::string name, topology, mode, workload;
  uint32_t nodes = 0, fanout = 0, k = 0, window = 0;
  double mean_receivers = 0;
  double kernel_period_ns = 0;
  // Traffic
  uint64_t messages_total = 0;      // in the workload
  uint64_t messages_sent = 0;       // posted by their sender
  uint64_t messages_completed = 0;  // every receiver ACKed
  uint64_t messages_failed = 0;     // settled without every receiver ACKed (NACKed or timed out)
  uint64_t messages_timed_out = 0;  // of which some receiver was neither ACKed nor NACKed in time
  uint64_t deliveries_expected = 0; // sum of the set sizes of posted messages
  uint64_t deliveries = 0;          // (message, receiver) pairs delivered whole and byte-correct
  uint64_t duplicates = 0;          // duplicate DATA packets at intended receivers
  uint64_t duplicate_messages = 0;  // whole messages received more than once
  uint64_t wrong_receiver = 0;      // (message, node) pairs: DATA at a node outside the set
  uint64_t data_errors = 0;         // DATA packets with wrong bytes or fields
  uint64_t acks_at_senders = 0;     // ACK frames reaching sender hosts
  // ACK frames a correct run brings: one per completed message (Fanout aggregates), or one per
  // receiver of each completed message (unicast and bier: receivers ACK the sender directly).
  uint64_t acks_expected = 0;
  uint64_t messages_single_ack = 0; // completed with exactly one ACK frame
  uint64_t nacks_at_senders = 0;
  uint64_t silent_receivers = 0;    // (message, receiver) pairs reported silent
  uint64_t timed_out_receivers = 0; // (message, receiver) pairs neither ACKed nor NACKed in time
  uint64_t gone_receivers = 0;      // (message, receiver) pairs reported down (kFlagGone)
  uint64_t given_up_receivers = 0;  // retransmit: (message, receiver) pairs given up
  bool retransmit = false;          // hosts retransmitted (fault runs: duplicates and NACKs expected)
  uint64_t retx_frames = 0;         // RETX DATA frames senders sent
  uint64_t retx_payload_bytes = 0;  // their payload bytes (the repair's extra bytes, before replication)
  // Nodes whose access link went down for good (link_down with no duration): the receivers a
  // completion may name gone.
  std::vector<uint16_t> dead_nodes;
  std::vector<PeerEventOut> peer_events; // every NIC's peer-monitor verdicts, in time order
  uint64_t host_probes = 0;              // PROBEs reaching hosts (ignored)
  uint64_t host_non_fanout = 0;          // non-Fanout frames reaching hosts
  uint64_t host_unexpected = 0; // frames hosts could not attribute (parse errors, unknown messages, stray feedback)
  // Time
  uint64_t sim_time_ns = 0;
  uint64_t mac_rx_stall_clocks = 0; // NIC MAC clocks a beat inside a frame waited (nic.hpp; expected 0)
  bool all_settled = false;         // stopped because every message settled (else: duration)
  double wall_seconds = 0;
  Percentiles delivery_latency_ns, delivery_latency_cycles;     // post -> whole message at a receiver
  Percentiles completion_latency_ns, completion_latency_cycles; // post -> covering ACK at the sender
  uint64_t makespan_ns = 0;                                     // first post to last completion (0: nothing completed)
  // moe: per step, its first post to its last completion (steps with a completed message).
  std::vector<std::pair<uint32_t, uint64_t>> step_completion_ns;
  // FNV-1a 64 of every message's (id, sender, delivered receivers), in workload order, and of
  // the intended sets: equal digests in two runs of one workload mean identical deliveries (each
  // delivery is checked byte by byte by its receiver).
  uint64_t delivery_digest = 0, intended_digest = 0;
  // Bytes
  uint64_t payload_bytes = 0;               // of posted messages
  uint64_t sender_host_bytes = 0;           // DATA frames sender hosts handed their NICs
  uint64_t sender_data_frames = 0;          // how many (every copy: unicast sends one per receiver)
  uint64_t sender_payload_bytes = 0;        // their payload bytes
  double header_bytes_per_packet = 0;       // (sender_host_bytes - sender_payload_bytes) / sender_data_frames
  uint64_t sender_egress_bytes = 0;         // bytes sending nodes put on their access links (relayed copies too)
  uint64_t ack_host_bytes = 0;              // ACK frames receiver hosts handed their NICs
  uint64_t link_bytes = 0, link_frames = 0; // on every link direction
  std::string busiest_link;                 // "<link>.<from>-to-<to>"
  double busiest_link_utilization = 0;
  // Kernels
  uint64_t replicator_copies = 0;        // NIC replicators
  uint64_t auth_signed = 0;              // nic.auth: frames the signers signed (NICs, Fanout switches)
  uint64_t auth_verified = 0;            // nic.auth: signed frames the parsers accepted (same)
  uint64_t switch_replicator_copies = 0; // Fanout switches (port mode)
  uint64_t acks_aggregated = 0;          // ACKs merged by aggregators (NICs and switches)
  double parser_in_beats_per_cycle_mean = 0, parser_in_beats_per_cycle_max = 0; // per NIC
  double egress_beats_per_cycle_mean = 0, egress_beats_per_cycle_max = 0;       // per NIC
  Drops drops;
  std::vector<LinkEvent> link_events;
  std::vector<FaultOutcome> faults;
  std::vector<MessageOutcome> messages;
  ServeReport serve; // serve mode only
};

struct ClusterOptions {
  uint32_t window = 8;           // messages outstanding per sender
  uint32_t payload_bytes = 8192; // DATA payload per packet (jumbo frames)
  // ACK aggregators' silent timeout (NICs and Fanout switches), kernel clocks; 0: the kernel's
  // default (hw::kAggDefaultSilentTimeout, 1 ms at 300 MHz).
  uint32_t silent_timeout_clocks = 0;
  // Hosts' message timeout (HostConfig::message_timeout); 0: twice the silent timeout + 100 us.
  uint64_t message_timeout_ns = 0;
  // Fault injection with nic.auth on: these nodes' NICs are configured with another group key.
  std::vector<uint32_t> foreign_key_nodes;
};

// Build the cluster of `s`, simulate it, collect the figures. Once per process (SystemC).
// Throws std::invalid_argument / ScenarioError for a scenario it cannot build.
RunResult run_cluster(const Scenario &s, const ClusterOptions &options = ClusterOptions());

// The replicators' per-sender rate limit for s.rate_mbps (NicConfig::rate): payload bytes per
// kernel clock = rate_mbps / (8 x kernel_mhz), rounded to the nearest, at least 1 when the rate is
// on (the step is 8 x kernel_mhz Mb/s: 2.4 Gb/s at 300 MHz); burst 2 x proto::kMaxFrameBytes
// (two jumbo frames pass back to back). rate_mbps 0: {0, 0}, no limit.
proto::RateConfig rate_config(const Scenario &s);

struct ServeOptions {
  std::string dir;             // <dir>/node<N>.sock per served node (made if missing)
  std::vector<uint32_t> nodes; // served nodes; empty: all
  uint64_t quantum_ns = 1000;  // simulated time per lock-step round (> 0)
  // How long to wait for the clients to connect, and for each client's DONE; 0: no limit.
  double wait_s = 60;
  ClusterOptions cluster; // window and message timeout are unused (no workload hosts)
};

// Serve mode: build the cluster of `s` with no workload, attach the served nodes' hosts to
// clients over the serve protocol (sim/serve.hpp), run in lock-step until every client has left
// or s.duration_ns is reached. Once per process (SystemC). Throws std::invalid_argument for bad
// options (quantum 0, a node that does not exist, a socket path too long) and
// std::runtime_error when serving fails (sockets, no client connected).
RunResult serve_cluster(const Scenario &s, const ServeOptions &options);

class HostPort;

// The simulated cluster itself, for code that drives the simulation (SystemC): built at
// construction (elaboration), with or without the workload's hosts.
class Cluster {
 public:
  enum class Hosts {
    kWorkload, // a sim::Host per node, sending the scenario's workload (run_cluster)
    kNone,     // no hosts and no workload: the caller attaches its own (serve mode)
  };
  explicit Cluster(const Scenario &s, const ClusterOptions &options = ClusterOptions(), Hosts hosts = Hosts::kWorkload);
  ~Cluster();
  Cluster(const Cluster &) = delete;
  Cluster &operator=(const Cluster &) = delete;

  uint32_t nodes() const;
  // What a host sees of node n's NIC (set_host_sink to receive).
  HostPort &host_port(uint32_t n);
  // Hosts::kWorkload: simulate until every message settled (and faults had time to show) or the
  // duration, then finish(); the figures.
  RunResult run();
  // The figures of the run so far (simulated time now).
  RunResult collect(double wall_seconds);
  // Stop the simulation (NICs flush waveforms) and flush captures. Idempotent.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What broke, one line each ("" when nothing did): every posted message delivered exactly once
// to exactly its receivers, byte-correct, and one aggregated ACK per message at its sender.
std::vector<std::string> failures(const RunResult &r);

} // namespace sim
} // namespace fanout

#endif
