// A Fanout NIC in the cluster simulator: the SystemVerilog shell (rtl/fanout_nic_top.sv, P = 2,
// Verilated, exact clock by clock in both clock domains) with the three HLS kernels (parser,
// replicator, ACK aggregator: sim/kernel_core.hpp, one step() per kernel clock) attached to the
// shell's kernel-side AXI-Stream ports through ready/valid adapters.
//
//   Link --frames--> MAC RX adapter --beats, mac_clk--> shell --parser_in--> kernels --> shell
//   shell --mac_tx beats--> MAC TX adapter --frames--> Link
//   host (HostPort) <--frames--> host_tx / host_rx adapters <--beats, clk--> shell
//
// Clocks: the MAC clock (322.27 MHz) and the kernel clock (300 MHz) run from t = 0 with unrelated
// phases; each edge evaluates the Verilated model, and each kernel edge also steps the kernels.
// Before t = 0 the NIC is reset and configured through its AXI-Lite registers (node id, MAC,
// IPv4, UDP port, link-monitor interval: rtl/regs/fanout_regs.yaml), as the driver does; the
// kernels take cfg_* and port_down from the shell every clock.
//
// MAC adapters: a frame arriving from a link is presented one beat per MAC clock (tuser[8] set
// when its FCS is bad); a MAC cannot be back-pressured, so a frame whose first beat the shell's RX
// FIFO refuses is dropped whole and counted (mac_rx_dropped). On transmit, beats are collected to
// tlast and the frame handed to the link when it is free; once kMacTxFrames whole frames wait for
// the link, the adapter holds tready low (the MAC's pause). PHY link status (mac_link_up) follows
// the link's up/down schedule. A port without a link reads link down.
//
// Host adapters: host_send() queues whole frames (kHostTxQueueFrames). The DMA engine presents a
// frame to host_tx only when the parser's FIFO has room for all of it (so the host's own frames
// are never dropped inside the NIC), the replicator's ring holds at most one frame (received
// frames never queue behind more than one host frame's copies: the replicator replays in order),
// and a per-NIC rate limiter allows it: each host frame books the line time of the copies the
// replicator will make of it (tree chunks, or ports used), so the host alone never offers more
// than the line rate. host_rx is always ready.
//
// C++17, SystemC, Verilator runtime. Namespace fanout::sim.
#ifndef FANOUT_SIM_NIC_HPP
#define FANOUT_SIM_NIC_HPP

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fanout/proto/policy.hpp"
#include "fanout/proto/wire.hpp"
#include "fanout/sim/frame.hpp"
#include "fanout/sim/host_port.hpp"
#include "fanout/sim/link.hpp"
#include "fanout/sim/switch.hpp" // Mac48

namespace fanout {
namespace sim {

struct NicConfig {
  proto::NodeId node = 0;
  bool port_mode = false;           // replicator mode: false tree, true port (copies per port table)
  uint32_t fanout = 4;              // tree fan-out F (2..64)
  uint32_t heartbeat_clocks = 1000; // link monitor interval (kernel clocks); silent peer down after 3
  // Peer monitor (hls/peer_monitor), tree mode: probe interval in kernel clocks (0: off); a node
  // this NIC sends copies to is declared down after 3 silent intervals.
  uint32_t peer_interval_clocks = 800;
  double kernel_mhz = 300;
  double mac_mhz = 322.265625;
  uint16_t udp_port = proto::kDefaultUdpPort;
  uint32_t silent_timeout_clocks = 0; // ACK aggregator; 0: the kernel's default
  uint32_t nack_window_clocks = 0;    // ACK aggregator; 0: the kernel's default
  std::string fst_path;               // non-empty: write the shell's waveforms (FST) here
  // The replicator's hostile-input policy and per-sender rate limit (proto/policy.hpp; rate in
  // payload bytes per kernel clock). Defaults: open, no limit.
  proto::SetPolicy policy = proto::open_set_policy();
  proto::RateConfig rate = {0, 0};
  // Per-packet authentication (proto/auth.hpp): auth_mode hw::ParserAuthMode (0 off, 1 accept,
  // 2 require). On, the parser checks signed frames and the egress signer (hls/auth_signer),
  // between the shell's transmit ports and the MACs, signs every frame this node originates.
  uint8_t auth_mode = 0;
  uint8_t auth_key[16] = {};
};

// Throws std::invalid_argument naming the offending field.
void validate(const NicConfig &c);

// Kernel and shell counters of one NIC.
struct NicStats {
  uint64_t kernel_cycles = 0, mac_cycles = 0;
  uint64_t parser_in_beats = 0; // beats the parser took (shell parser_in handshakes)
  uint64_t egress_beats = 0;    // beats the kernels handed the shell (copies, host, feedback)
  uint64_t mac_rx_frames = 0, mac_tx_frames = 0;
  uint64_t mac_rx_dropped = 0; // frames dropped whole: the RX FIFO refused their first beat
  // MAC clocks a beat inside a frame was refused. A real MAC would have to cut the frame; the
  // model holds the beat and counts (the RX FIFO is sized so this stays 0).
  uint64_t mac_rx_stall_clocks = 0;
  uint64_t host_tx_frames = 0, host_rx_frames = 0;
  // Parser: frames per proto::ParseError code (index = code), FIFO overflow, MAC bad frames.
  std::vector<uint32_t> parse_codes;
  uint32_t parser_overflow = 0, parser_bad_frames = 0;
  std::vector<uint32_t> replicator;   // hw::ReplCounter order
  std::vector<uint32_t> ack_agg;      // hw::AckAggCounter order
  uint32_t agg_dropped = 0;           // shell: aggregator frames with an unknown tdest
  uint32_t peer_dropped = 0;          // shell: peer-monitor beats with a tdest >= P
  uint32_t port_down = 0;             // link monitor's mask now
  std::vector<uint32_t> peer_monitor; // hw::PeerCounter order
  std::vector<uint32_t> parser_auth;  // proto::AuthCode order: the parser's verdicts
  std::vector<uint32_t> signer;       // hw::SignerCounter order (empty: no signer, auth off)
};

class Nic : public sc_core::sc_module, public HostPort {
 public:
  static constexpr uint32_t kPorts = 2;
  static constexpr uint32_t kHostTxQueueFrames = 64;
  // MAC transmit buffer, whole frames (store and forward): two, so that a short frame (a peer
  // monitor's heartbeat) between two copies does not leave the link idle while the next copy
  // is collected -- a real MAC's TX FIFO holds at least two maximum frames.
  static constexpr uint32_t kMacTxFrames = 2;

  Nic(sc_core::sc_module_name name, const NicConfig &config);
  ~Nic() override;

  const NicConfig &config() const { return cfg_; }

  // MAC port p transmits on `link` from `side` and receives what arrives there. Before sc_start.
  void connect(uint32_t p, Link &link, int side);
  // Kernel tables (their tbl_* registers): node `id` is reached through `port` at these addresses.
  void set_neighbour(proto::NodeId id, uint8_t port, const Mac48 &mac, uint32_t ipv4);
  // Port mode: ids routed to `port` (proto::PortTable), and the Fanout node behind a port.
  void set_port_route(proto::NodeId id, uint8_t port);
  void set_port_peer(uint8_t port, proto::NodeId peer);

  // HostPort
  proto::NodeId node_id() const override { return cfg_.node; }
  bool host_send(Frame f) override;
  const sc_core::sc_event &host_tx_ready() const override { return host_tx_ready_; }
  void set_host_sink(FrameSink *sink) override { host_sink_ = sink; }
  sc_core::sc_time kernel_period() const override { return kernel_period_; }

  NicStats stats() const;
  // Link monitor transitions seen on the shell's port_down output: (time, port, down).
  struct PortEvent {
    sc_core::sc_time at;
    uint32_t port;
    bool down;
  };
  const std::vector<PortEvent> &port_events() const { return port_events_; }
  // Peer monitor verdicts as the replicator applied them: (time, node, down).
  struct PeerEvent {
    sc_core::sc_time at;
    proto::NodeId node;
    bool down;
  };
  const std::vector<PeerEvent> &peer_events() const { return peer_events_; }
  // Local repairs: the time of the first chunk head skipped after each down verdict.
  const std::vector<sc_core::sc_time> &repairs() const { return repairs_; }

 private:
  struct Impl;
  void start_of_simulation() override;
  void end_of_simulation() override;
  void tick(); // one edge of either clock (SC_METHOD, re-triggered for the next edge)

  NicConfig cfg_;
  sc_core::sc_time kernel_period_, mac_period_;
  std::unique_ptr<Impl> impl_;
  FrameSink *host_sink_ = nullptr;
  sc_core::sc_event host_tx_ready_;
  std::vector<PortEvent> port_events_;
  std::vector<PeerEvent> peer_events_;
  std::vector<sc_core::sc_time> repairs_;
};

} // namespace sim
} // namespace fanout

#endif
