// A replicating Fanout node at the top of a rack ("port mode"): the three HLS kernels of a Fanout
// node (parser, replicator, ACK aggregator: sim/kernel_core.hpp, one step() per kernel clock)
// behind P frame-level MAC ports attached to Links. No RTL shell: kernel-level only.
//
//   Link --frame--> RX queue[p] --beats, 1/clock, round-robin--> core.in
//   core.repl_port[p] --copies--> copy assembly[p] --+--> TX queue[p] --> Link
//   core.agg_out --feedback, by tdest--> fb assembly[p] --+
//   core.parser_host, core.repl_host --> counted and discarded (there is no host)
//
// Clock: an SC_METHOD re-triggered every kernel period (1e6 / kernel_mhz ps, rounded to ps),
// running from t = 0. Each clock:
//  1. ingress: at most one beat in total into core.in (tuser[7:0] = ingress port, tuser[8] =
//     Frame::fcs_bad, which the parser drops and counts). Ports are served round-robin at frame
//     boundaries; a frame's beats are contiguous. A frame starts only when the parser's FIFO has
//     room for all of it (the RX buffer's credit check): the parser never overflows, frames wait
//     in their RX queue instead, and a frame arriving at a full RX queue is dropped and counted
//     (drops_rx_queue). Backpressure thus reaches the RX queues, never the links.
//  2. core.step().
//  3. egress: at most one beat per clock from each repl_port[p] and from agg_out (routed by the
//     tdest of its first beat: a used port, else counted in KernelStats::agg_no_port and
//     discarded). Each port assembles copies and feedback in two buffers and queues each frame
//     whole at tlast on its TX queue, so the two merge at frame boundaries. A stream starts a new
//     frame only while queued + assembling frames < tx_queue_frames: a full TX queue holds that
//     stream (and, since the replicator has one replay engine and agg_out is one stream, the
//     kernels behind it); nothing is dropped. Beats on parser_host and repl_host are drained
//     every clock and counted per ingress port (PROBEs: link_local_in; others: host_bound_in).
// A port's TX pump sends its queue head when the link's transmitter is free (Link::ready_event).
// Latency through the node is the kernels' cycles plus serialization on the links.
//
// Heartbeats: as sim/switch.hpp. With heartbeat_interval > 0, every connected port whose egress
// has been idle (nothing queued or assembling, link free) for the interval sends a Fanout PROBE:
// Ethernet and IPv4 broadcast, this node's MAC/IPv4, UDP port udp_port, sender = origin =
// node_id, message id = port, sequence = per-port counter from 0, hops 0, no receiver set. The
// NICs' link monitors mark a silent peer down after 3 intervals, so an idle port keeps probing.
//
// Aggregator shape: KernelCore<kMaxPorts, kAggChildren>: one child per port plus one (65), so
// every copy of a message is aggregated, whatever the port count.
//
// C++17, SystemC 2.3.4. Namespace fanout::sim.
#ifndef FANOUT_SIM_FANOUT_SWITCH_HPP
#define FANOUT_SIM_FANOUT_SWITCH_HPP

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "fanout/proto/policy.hpp"
#include "fanout/proto/wire.hpp"
#include "fanout/sim/frame.hpp"
#include "fanout/sim/link.hpp"
#include "fanout/sim/switch.hpp" // Mac48, cluster_mac48

namespace fanout {
namespace sim {

struct FanoutSwitchConfig {
  proto::NodeId node_id = 0xF000; // this Fanout node's id (origin of its copies, aggregator self)
  uint32_t ports = 4;             // 2..FanoutSwitch::kMaxPorts used ports
  double kernel_mhz = 300;
  sc_core::sc_time heartbeat_interval = sc_core::SC_ZERO_TIME; // PROBE on ports idle this long (0: none)
  uint16_t udp_port = proto::kDefaultUdpPort;
  // Per-port MAC RX queue before the kernels, bounded in frames and in bytes (a switch's ingress
  // buffer); a frame that would exceed either is dropped and counted. ACKs are small and many
  // (every receiver answers every message), so the byte bound is the one that matters.
  uint32_t rx_queue_frames = 4096;
  uint64_t rx_queue_bytes = 1 << 20;
  uint32_t tx_queue_frames = 64;      // per-port MAC TX queue (frames); full -> the kernels' streams hold
  uint32_t silent_timeout_clocks = 0; // ACK aggregator; 0: the kernel's default
  uint32_t nack_window_clocks = 0;    // ACK aggregator; 0: the kernel's default
  // Hostile-input policy and per-sender rate limit of the replicator (proto/policy.hpp).
  proto::SetPolicy policy = proto::open_set_policy();
  proto::RateConfig rate = {0, 0};
  // Per-packet authentication (as NicConfig): the parser checks signed frames; an egress signer
  // (hls/auth_signer) before the TX queues signs what this node originates.
  uint8_t auth_mode = 0;
  uint8_t auth_key[16] = {};
  std::optional<Mac48> mac;     // default: cluster_mac48(node_id)
  std::optional<uint32_t> ipv4; // default: proto::cluster_ipv4(node_id)
};

// Throws std::invalid_argument naming the offending field.
void validate(const FanoutSwitchConfig &c);

struct FanoutSwitchPortStats {
  uint64_t frames_in = 0, bytes_in = 0;   // received on this port (every frame, dropped ones too)
  uint64_t frames_out = 0, bytes_out = 0; // transmitted on this port (heartbeats included)
  uint64_t copies_out = 0;                // of which replicator copies
  uint64_t feedback_out = 0;              // of which aggregator frames
  uint64_t heartbeats_out = 0;            // of which PROBEs made here
  uint64_t drops_rx_queue = 0;            // received while the RX queue was full
  uint64_t drops_fcs = 0;                 // received with a bad FCS (the parser drops them: parser_bad_frames)
  uint64_t drops_runt = 0;                // received empty (no beat to carry it)
  uint64_t drops_no_link = 0;             // frames the kernels sent to this port while it has no link
  uint64_t link_local_in = 0;             // PROBEs received here (the kernels hand them to the absent host)
  uint64_t host_bound_in = 0; // other frames received here that the kernels sent to the host (non-Fanout, local)
  uint64_t rx_queue_peak = 0; // frames
  uint64_t tx_queue_frames = 0, tx_queue_bytes = 0; // now (queued, not yet sending)
  uint64_t tx_queue_peak_frames = 0, tx_queue_peak_bytes = 0;
  uint64_t tx_hold_clocks = 0;    // clocks a kernel stream to this port waited for TX queue room
  sc_core::sc_time egress_busy{}; // serialization time of frames sent on this port
};

class FanoutSwitch : public sc_core::sc_module {
 public:
  static constexpr uint32_t kMaxPorts = 64;
  // Aggregator children per message: every port, plus one.
  static constexpr uint32_t kAggChildren = kMaxPorts + 1;

  FanoutSwitch(sc_core::sc_module_name name, const FanoutSwitchConfig &config);
  ~FanoutSwitch() override;

  const FanoutSwitchConfig &config() const { return cfg_; }
  uint32_t ports() const { return cfg_.ports; }
  const Mac48 &mac() const { return mac_; }
  uint32_t ipv4() const { return ipv4_; }
  sc_core::sc_time kernel_period() const { return period_; }

  // Port p transmits on `link` from `side` and receives what arrives at that side. Before
  // sc_start only (it creates the port's processes).
  void connect(uint32_t p, Link &link, int side);
  // Both kernels' neighbour tables: node `id` is reached through `port` at these addresses.
  void set_neighbour(proto::NodeId id, uint8_t port, const Mac48 &mac, uint32_t ipv4);
  // Replicator port table (port mode): ids routed to `port` (proto::kPortNone: no route).
  void set_port_route(proto::NodeId id, uint8_t port);
  // The Fanout node behind a port (a host NIC or another switch): copies on that port go to it,
  // and it is the child the aggregator expects feedback from. Needs a neighbour entry for `peer`.
  void set_port_peer(uint8_t port, proto::NodeId peer);
  // Local repair: while `port`'s link is down (its PHY status, sampled every kernel clock), the
  // replicator sends that port's copies out of `backup` to the backup port's peer
  // (hls::Replicator, kTablePortBackup), e.g. a leaf's other uplink. Precomputed from the
  // topology; a port without one drops its copies (counted).
  void set_port_backup(uint8_t port, uint8_t backup);
  // Port-down transitions the replicator was given: (time, port, down).
  struct PortEvent {
    sc_core::sc_time at;
    uint32_t port;
    bool down;
  };
  const std::vector<PortEvent> &port_events() const { return port_events_; }
  // Local repairs: the time of the first copy sent out of a backup port after each port went down.
  const std::vector<sc_core::sc_time> &repairs() const { return repairs_; }

  const FanoutSwitchPortStats &stats(uint32_t p) const;
  // Busy fraction of port p's transmitter since time 0 (0 without a link).
  double egress_utilization(uint32_t p) const;

  // Kernel counters, like NicStats (sim/nic.hpp).
  struct KernelStats {
    uint64_t kernel_cycles = 0;
    uint64_t parser_in_beats = 0; // beats written to core.in
    uint64_t egress_beats = 0;    // beats taken from repl_port[] and agg_out
    // Parser: frames per proto::ParseError code (index = code), FIFO overflow, MAC bad frames.
    std::vector<uint32_t> parse_codes;
    uint32_t parser_overflow = 0, parser_bad_frames = 0;
    std::vector<uint32_t> replicator;  // hw::ReplCounter order
    std::vector<uint32_t> ack_agg;     // hw::AckAggCounter order
    uint64_t host_frames = 0;          // frames on parser_host and repl_host (no host: discarded)
    uint64_t host_probes = 0;          // of which PROBEs
    uint64_t agg_no_port = 0;          // aggregator frames whose tdest is not a used port (discarded)
    std::vector<uint32_t> parser_auth; // proto::AuthCode order: the parser's verdicts
    std::vector<uint32_t> signer;      // hw::SignerCounter order (empty: no signer, auth off)
  };
  KernelStats kernel_stats() const;
  // Nothing inside the node: RX and TX queues empty, no frame in the kernels or their streams.
  bool idle() const;

 private:
  struct Impl;
  class Ingress;

  void on_receive(uint32_t p, Frame f);
  void tick(); // one kernel clock (SC_METHOD, re-triggered every period)
  void ingress();
  void egress();
  void drain_host();
  void sign_step(); // nic.auth: one clock of the egress signer
  void pump(uint32_t p);
  void on_heartbeat(uint32_t p);
  Frame make_probe(uint32_t p);
  void start_of_simulation() override;

  FanoutSwitchConfig cfg_;
  std::vector<PortEvent> port_events_;
  std::vector<sc_core::sc_time> repairs_;
  uint64_t port_down_ = 0;
  uint32_t backup_copies_ = 0;
  bool awaiting_repair_ = false;
  Mac48 mac_{};
  uint32_t ipv4_ = 0;
  sc_core::sc_time period_;
  std::unique_ptr<Impl> impl_;
};

} // namespace sim
} // namespace fanout

#endif
