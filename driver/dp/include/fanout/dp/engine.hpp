// fanout::dp: the software data path of a Fanout node on DPDK 22.11 (docs/fanout-dp.md).
//
// An Engine does in software what the NIC's kernels do in hardware (hls/replicator,
// hls/ack_agg, rtl/link_monitor), through proto/ only, so hardware and software nodes mix in
// one cluster: same copies (headers, subsets, arm words), same aggregation, same PROBEs.
//
// Threading: an Engine is single-threaded. Every call on one Engine (poll, host_send,
// host_receive, timers, port_link, stats) must come from ONE lcore at a time; there are no locks
// and no atomics on the fast path. Scale out with one Engine per lcore, each polling its own RX
// queue(s) and transmitting on its own EngineConfig::tx_queue. Aggregation state is per Engine,
// so the feedback of a message must reach the Engine that replicated it: steer RSS on the UDP
// source port only (DATA copies keep the sender's entropy_port(sender, message id); ACK/NACK
// frames carry the same port), or run one Engine per node.
//
// Mbuf ownership (who frees what) is stated at every hand-off below and in the sources.
#ifndef FANOUT_DP_ENGINE_HPP
#define FANOUT_DP_ENGINE_HPP

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "fanout/proto/aggregator.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/policy.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace dp {

// Ports one Engine drives.
static const uint32_t kMaxPorts = 4;

// A next hop: the DPDK port it is reached through and its addresses.
struct Neighbour {
  uint16_t port; // DPDK port id; must be one of EngineConfig::ports
  uint8_t mac[6];
  uint32_t ipv4; // host byte order, as proto:: uses it
};

struct EngineConfig {
  proto::NodeId node = 0;
  uint8_t mac[6] = {0, 0, 0, 0, 0, 0};
  uint32_t ipv4 = 0;
  enum Mode { kTree, kPort } mode = kTree;
  uint32_t fanout = 4;         // tree mode: F, 2..64 (proto::valid_fanout)
  std::vector<uint16_t> ports; // DPDK port ids, 1..kMaxPorts; port index = position here
  uint16_t tx_queue = 0;       // TX queue this Engine uses on every port (one per lcore)
  std::map<proto::NodeId, Neighbour> neighbours;
  // Port mode (the HLS replicator's port table): id -> DPDK port id (or kRouteLocal: deliver to
  // this node's host); ids without a route are unroutable. port_peers: DPDK port id -> the Fanout
  // node at the other end (copies on that port go to it and it is the child armed for them).
  static const uint16_t kRouteLocal = 0xFFFE;
  std::map<proto::NodeId, uint16_t> port_routes;
  std::map<uint16_t, proto::NodeId> port_peers;
  uint16_t udp_port = proto::kDefaultUdpPort;
  uint32_t heartbeat_us = 0;           // PROBE interval on idle ports; 0 = off (link status only)
  uint32_t silent_timeout_us = 100000; // aggregator: child silent after this long
  uint32_t nack_window_us = 1000;      // aggregator: NACK repeat suppression window
  rte_mempool *header_pool = nullptr;  // per-copy header mbufs and built frames (feedback, PROBE)
  uint32_t burst = 32;                 // RX burst and TX batch size, 1..256
  uint32_t host_queue = 1024;          // host_receive queue depth (frames beyond: dropped, counted)
  bool probes_to_host = true;          // PROBEs go to host_receive (as the NIC does); false: consumed
  // Drop received unicast frames addressed to another MAC than `mac` (a NIC's MAC filter): for
  // ports that see other stations' frames (promiscuous af_packet on a flooding bridge).
  bool mac_filter = false;
  // Several Engines of one node (one per lcore, each polling its own RX queues): every message has
  // one owner Engine, (sender * 2654435761 ^ message id) % engine_count, which replicates its
  // DATA and aggregates its feedback. A frame received by another Engine is moved to the owner's
  // inbox (inboxes[owner], a multi-producer / single-consumer rte_ring, lock-free) and handled
  // there at its next poll, so the feedback of a message always meets the entry its DATA armed,
  // whatever queue RSS put each frame on. engine_count 1: no inboxes.
  uint16_t engine_index = 0, engine_count = 1;
  struct rte_ring *const *inboxes = nullptr; // engine_count rings, indexed by engine
  // Hostile-input policy (proto/policy.hpp, docs/protocol.md section 8.1) for DATA received from a
  // port (not host_send): checked after the parse, before local delivery or any copy. A refused
  // frame is dropped whole and counted in Stats::policy_drops by proto::PolicyCode. Defaults: no
  // limit (max_receivers 0, every id known, rate 0).
  uint32_t max_receivers = 0; // ids per DATA packet; 0: no limit
  proto::NodeId first_id = 0; // the cluster's ids: [first_id, last_id]
  proto::NodeId last_id = 0xFFFF;
  uint32_t rate_bytes_per_us = 0; // per-sender token bucket refill (payload bytes / us); 0: off
  uint32_t rate_burst_bytes = 0;  // bucket size; 0: max(64 KiB, 1 ms at the rate)
  // Per-packet authentication (proto/auth.hpp, docs/protocol.md section 12). auth: every frame the
  // Engine builds (DATA copies, feedback it creates, PROBEs) is signed with this node's counter and
  // every frame received from a port is checked against a ReplayWindow (768 KiB), counted in
  // Stats::auth by proto::AuthCode; only kAuthOk (and kAuthUnsigned unless auth_require) goes on.
  // Forwarded / passed-through feedback keeps its trailer. Frames from host_send are not checked.
  bool auth = false;
  bool auth_require = true;
  uint8_t auth_key[16] = {};
  // The node's signing counter, shared by its Engines (one counter per node and key); null: the
  // Engine's own (engine_count 1 only). Holds the last counter used (start: 0).
  std::atomic<uint32_t> *auth_counter = nullptr;
};

// Throws std::invalid_argument("EngineConfig.<field>: <problem>").
void validate(const EngineConfig &cfg);

struct PortStats {
  uint64_t rx_packets = 0, rx_bytes = 0;
  uint64_t tx_packets = 0, tx_bytes = 0;
  uint64_t tx_full = 0;     // frames tx_burst did not take: freed (no pending queue), counted
  uint64_t probes_sent = 0; // heartbeats
  uint64_t down_events = 0; // up -> down transitions
  bool up = true;
};

struct Stats {
  std::array<PortStats, kMaxPorts> port{}; // by port index (EngineConfig::ports order)
  // Input classes (as the replicator counts them).
  uint64_t data_in = 0, ack_in = 0, nack_in = 0, probe_in = 0;
  uint64_t not_fanout = 0;   // frames that are not Fanout: to the host unchanged (RX)
  uint64_t mac_filtered = 0; // unicast frames for another MAC (EngineConfig::mac_filter): dropped
  uint64_t moved_out = 0;    // frames moved to their message's owner Engine (engine_count > 1)
  uint64_t moved_in = 0;     // frames other Engines moved here
  uint64_t move_full = 0;    // the owner's inbox was full: handled here instead (aggregation may pass through)
  // Malformed frames, by proto::ParseError code (names: proto::error_name): dropped.
  std::array<uint64_t, proto::kErrorCount> parse_errors{};
  // Replication (hls/replicator counters).
  uint64_t copies = 0;            // copies handed to a TX queue
  uint64_t local_deliveries = 0;  // DATA frames queued for host_receive
  uint64_t unroutable_copies = 0; // destination without a neighbour entry
  uint64_t looped_ids = 0;        // port mode: ids routed back out of the ingress port
  uint64_t unroutable_ids = 0;    // port mode: ids without a route
  uint64_t hops_exhausted = 0;    // DATA with hops_left == 0 (no copies)
  uint64_t port_down_copies = 0;  // copies for a port marked down: dropped, not armed
  uint64_t plan_overflow = 0;     // pieces past the per-frame copy limit (1024)
  // Hostile-input policy: DATA frames refused, by proto::PolicyCode (names: proto::policy_code_name;
  // index kPolicyOk unused). Dropped whole: no delivery, no copy, no arming.
  std::array<uint64_t, proto::kPolicyCodeCount> policy_drops{};
  // Authentication (EngineConfig::auth): frames received from ports by proto::AuthCode (names:
  // proto::auth_code_name); all but kAuthOk (and kAuthUnsigned when not required) dropped.
  std::array<uint64_t, proto::kAuthCodeCount> auth{};
  uint64_t auth_signed = 0; // frames this Engine signed
  // Aggregation (frames built from proto::AckAggregator outputs).
  uint64_t acks_merged = 0;          // ACKs absorbed by the aggregator
  uint64_t acks_forwarded = 0;       // ACK frames sent upstream (aggregated or passed through)
  uint64_t nacks_forwarded = 0;      // NACK frames sent upstream (incl. silent reports)
  uint64_t silent_reports = 0;       // NACK kFlagSilent created
  uint64_t feedback_to_host = 0;     // feedback for this node's own messages, to host_receive
  uint64_t feedback_unroutable = 0;  // upstream without a neighbour entry (not sent)
  uint64_t feedback_undecodable = 0; // feedback whose set has more ranges than proto::FeedbackSet
  // Resources.
  uint64_t host_queue_full = 0;        // frames for host_receive dropped: queue full
  uint64_t mbuf_exhausted = 0;         // header_pool (or payload copy) allocation failed: frame/copy dropped
  uint64_t header_room = 0;            // header + set larger than a header_pool mbuf: copy dropped
  uint64_t payload_copies = 0;         // inputs whose payload had to be copied (chained/shared input)
  uint64_t host_tx_rejected = 0;       // host_send frames not taken (not Fanout)
  proto::AggregatorStats aggregator{}; // the AckAggregator's own counters (armed, silent_reported, ...)

  uint64_t parse_error(const std::string &name) const; // by proto::error_name; 0 if unknown
  uint64_t malformed() const;                          // sum of parse_errors except kOk/kNotFanout
  uint64_t policy_refused() const;                     // sum of policy_drops
};

class Engine {
 public:
  explicit Engine(const EngineConfig &cfg); // validate(cfg) first; throws std::invalid_argument
  ~Engine();                                // frees every mbuf the Engine still holds
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  // rx burst on (port, queue) -> parse -> deliver / replicate / aggregate -> tx bursts.
  // Returns the frames received. Received mbufs: owned by the Engine from rx_burst on; each is
  // freed, transmitted (tx_burst takes the reference), or queued for host_receive.
  uint32_t poll(uint16_t port, uint16_t queue, uint64_t now_us);

  // A whole Ethernet frame from the local application, handled like the NIC's host TX (DATA
  // replicated with this node as the parent, ACK/NACK into the aggregator, PROBE to the host).
  // true: the Engine owns `frame` (sent, queued or freed; malformed frames are freed and counted).
  // false: not a Fanout frame, not taken: the caller still owns it.
  bool host_send(rte_mbuf *frame, uint64_t now_us);

  // Frames for the local application: DATA whose set holds this node, aggregated feedback for
  // this node's messages, PROBEs (if probes_to_host), non-Fanout RX frames. Moves up to max
  // mbufs to out; the caller owns them (rte_pktmbuf_free each). Frames may be chained.
  uint32_t host_receive(rte_mbuf **out, uint32_t max);

  // Heartbeats, port silence (down after 3 missed intervals), aggregator timeouts (silent
  // children). Call every heartbeat_us / 4 or so and at least every silent_timeout_us / 4.
  void timers(uint64_t now_us);

  // PHY link status of a DPDK port (e.g. from RTE_ETH_EVENT_INTR_LSC or rte_eth_link_get_nowait).
  // Down: copies for it are dropped and counted. Up: the port comes back at its next frame.
  void port_link(uint16_t port, bool up);

  const Stats &stats() const;
  const EngineConfig &config() const;
  // Frames waiting in host_receive's queue.
  uint32_t host_pending() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Configure and start a DPDK port for an Engine: nb_rxq/nb_txq queues of nb_desc descriptors,
// RX mbufs from rx_pool, RTE_ETH_TX_OFFLOAD_MULTI_SEGS requested when the device offers it
// (copies are chains: header mbuf + payload). Returns 0 or a negative errno from DPDK.
int configure_port(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq, uint16_t nb_desc, rte_mempool *rx_pool);

// Data room a header_pool mbuf needs so that no copy is ever dropped for header_room:
// RTE_PKTMBUF_HEADROOM + 64 fixed header bytes + the largest set (1024 bytes) + an auth trailer.+ an auth trailer.
uint16_t header_pool_data_room();

} // namespace dp
} // namespace fanout

#endif
