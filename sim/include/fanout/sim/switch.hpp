// An output-queued Ethernet switch with a static L2 table.
//
// A frame is received whole from a port's link (store-and-forward), looked up by destination MAC
// and, `forward_latency` later, appended to the output port's queue if the queue's bytes plus the
// frame's stay within buffer_bytes; otherwise it is dropped (drop-tail, counted per output port).
// A queued frame leaves its queue (and frees its buffer) when its transmission starts.
// Two queues per output port sharing that buffer, served in strict priority: network control
// (IPv4 DSCP CS6/CS7, is_network_control) first, then everything else, each in arrival order.
// Unknown unicast destinations and frames whose FCS fails (Frame::fcs_bad) are dropped and
// counted on the ingress port (no flooding, no learning). Frames to ff:ff:ff:ff:ff:ff are link-local (Fanout PROBE
// heartbeats between a NIC and its switch port): counted on the ingress port, never forwarded.
//
// Heartbeats: with heartbeat_interval > 0, every connected port whose egress has been idle (no
// transmission, empty queue) for the interval sends a Fanout PROBE built with proto::build_frame:
// Ethernet and IPv4 broadcast, the switch's own MAC/IPv4, UDP port proto::kDefaultUdpPort,
// sender = origin = node_id, message id = port number, sequence = per-port counter from 0,
// hops 0, no receiver set.
//
// BIER (SwitchConfig::bier, fanout-sim's BIER baseline; proto/bier.hpp): a frame with EtherType
// 0xAB37 is replicated as a BIER forwarding router does: each set bit's id is looked up in the
// node routes (set_route(NodeId, port)); one copy leaves per output port that has bits, its
// BitString masked to that port's ids (the port's forwarding bit mask), TTL decremented,
// Ethernet source the switch and destination the copy's lowest id (a BFER's own MAC on the last
// hop). Copies take the forwarding latency and the output queues like any frame. Malformed BIER
// frames, TTL expiry and bits without a route are dropped and counted (drops_bier).
#ifndef FANOUT_SIM_SWITCH_HPP
#define FANOUT_SIM_SWITCH_HPP

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "fanout/proto/wire.hpp"
#include "fanout/sim/frame.hpp"
#include "fanout/sim/link.hpp"

namespace fanout {
namespace sim {

using Mac48 = std::array<uint8_t, 6>;
inline constexpr Mac48 kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
// The cluster address plan's MAC of node n (proto::cluster_mac).
Mac48 cluster_mac48(proto::NodeId n);

struct SwitchConfig {
  uint32_t ports = 4;
  uint64_t buffer_bytes = 256 * 1024; // per output port (frame bytes)
  sc_core::sc_time forward_latency = sc_core::sc_time(500, sc_core::SC_NS);
  sc_core::sc_time heartbeat_interval = sc_core::SC_ZERO_TIME; // zero: no heartbeats
  proto::NodeId node_id = 0xFFF0;                              // sender/origin of its PROBEs
  std::optional<Mac48> mac;                                    // default: cluster_mac(node_id)
  std::optional<uint32_t> ipv4;                                // default: cluster_ipv4(node_id)
  bool bier = false;                                           // replicate BIER frames (above)
};

// Throws std::invalid_argument naming the offending field.
void validate(const SwitchConfig &c);

// The PROBE heartbeat a switch port sends (Switch and FanoutSwitch): Ethernet and IPv4 broadcast
// (link-local, TTL 1), from `mac`/`ipv4`, UDP `udp_port` both ways, sender = origin = node,
// message id = port, sequence = seq, hops 0, no receiver set; built with proto::build_frame.
Frame make_switch_probe(proto::NodeId node, const Mac48 &mac, uint32_t ipv4, uint16_t udp_port, uint32_t port,
                        uint32_t seq);

// One heartbeat check of a switch port (Switch and FanoutSwitch): when the port's egress is idle
// (nothing of its own to send, `idle`) and has been for `interval`, send make_probe() on `side` of
// `link`, count it in `stats` (frames_out, bytes_out, heartbeats_out, egress_busy) and move
// idle_since past it; then re-arm `event` one interval after the egress last went (or will go) idle.
template <class PortStats, class MakeProbe>
void switch_heartbeat(Link &link, int side, bool idle, sc_core::sc_time interval, sc_core::sc_time &idle_since,
                      PortStats &stats, sc_core::sc_event &event, MakeProbe make_probe) {
  sc_core::sc_time now = sc_core::sc_time_stamp();
  if (idle && !link.busy(side) && now >= idle_since + interval) {
    Frame probe = make_probe();
    uint64_t n = probe.bytes.size();
    sc_core::sc_time ser = link.serialization((uint32_t)n);
    link.send(side, std::move(probe));
    stats.frames_out++;
    stats.bytes_out += n;
    stats.heartbeats_out++;
    stats.egress_busy += ser;
    idle_since = now + ser;
  }
  sc_core::sc_time base = idle_since;
  if (link.busy(side) && link.free_at(side) > base) base = link.free_at(side);
  sc_core::sc_time next = base + interval;
  event.notify(next > now ? next - now : interval);
}

struct SwitchPortStats {
  uint64_t frames_in = 0, bytes_in = 0;   // received on this port
  uint64_t frames_out = 0, bytes_out = 0; // transmitted on this port (heartbeats included)
  uint64_t drops_buffer = 0;              // drop-tail at this output port
  uint64_t drops_unknown = 0;             // received here for an unknown unicast MAC (or runt)
  uint64_t drops_fcs = 0;                 // received here with a bad FCS (a link corrupted it)
  uint64_t link_local_in = 0;             // broadcast frames received here (not forwarded)
  uint64_t heartbeats_out = 0;            // PROBEs sent on this port
  uint64_t bier_in = 0;                   // BIER frames received here (SwitchConfig::bier)
  uint64_t bier_copies = 0;               // copies made of them
  uint64_t drops_bier = 0;                // received here: malformed BIER, TTL expired, or (per bit) no route
  uint64_t queue_bytes = 0;               // now
  uint64_t queue_peak_bytes = 0;
  uint64_t control_frames = 0;    // frames queued in the network-control (strict priority) queue
  sc_core::sc_time egress_busy{}; // serialization time of frames sent on this port
};

// A frame of network-control class: IPv4 with DSCP CS6 or CS7 (TOS & 0xE0 >= 0xC0), the class
// the peer monitor's probes use (hls/peer_monitor). The switch queues them in a strict-priority
// queue per output port, as data-centre switches do for control traffic, so that a heartbeat
// never waits behind a deep data queue (a false "peer down").
bool is_network_control(const Frame &f);

class Switch : public sc_core::sc_module {
 public:
  Switch(sc_core::sc_module_name name, const SwitchConfig &config);
  ~Switch() override;

  const SwitchConfig &config() const { return cfg_; }
  uint32_t ports() const { return cfg_.ports; }
  const Mac48 &mac() const { return mac_; }
  uint32_t ipv4() const { return ipv4_; }

  // What receives frames for port p (connect() attaches it to the link for you).
  FrameSink *ingress(uint32_t p);
  // The switch transmits on `link` from `side` and receives what arrives at that side. Before
  // sc_start only (it creates the port's processes).
  void connect(uint32_t p, Link &link, int side);
  // Static L2 table: frames to mac leave on port p.
  void set_route(const Mac48 &mac, uint32_t p);
  // A node's route: its cluster MAC (L2) and, for BIER, its bit.
  void set_route(proto::NodeId cluster_node, uint32_t p);

  const SwitchPortStats &stats(uint32_t p) const { return port(p).stats; }
  double egress_utilization(uint32_t p) const;

 private:
  class Ingress : public FrameSink {
   public:
    Ingress(Switch *sw, uint32_t p) : sw_(sw), p_(p) {}
    void receive(Frame f) override { sw_->on_receive(p_, std::move(f)); }

   private:
    Switch *sw_;
    uint32_t p_;
  };
  struct Port {
    std::unique_ptr<Ingress> ingress;
    Link *link = nullptr;
    int side = 0;
    std::deque<Frame> queue;
    std::deque<Frame> control;     // network-control frames (is_network_control): served first
    sc_core::sc_time idle_since{}; // egress idle from this time on (if the queue is empty)
    sc_core::sc_event heartbeat;
    uint32_t heartbeat_seq = 0;
    SwitchPortStats stats;
  };
  struct Pending {
    sc_core::sc_time ready;
    uint32_t out;
    Frame frame;
  };

  Port &port(uint32_t p);
  const Port &port(uint32_t p) const;
  void on_receive(uint32_t p, Frame f);
  void replicate_bier(uint32_t p, Frame f);
  void forward(uint32_t out, Frame f);
  void enqueue(uint32_t out, Frame f);
  void forward_pending();
  void pump(uint32_t p);
  void on_heartbeat(uint32_t p);
  Frame make_probe(uint32_t p);
  void start_of_simulation() override;

  SwitchConfig cfg_;
  Mac48 mac_{};
  uint32_t ipv4_ = 0;
  std::vector<std::unique_ptr<Port>> ports_;
  std::unordered_map<uint64_t, uint32_t> l2_;
  std::unordered_map<uint32_t, uint32_t> node_port_; // BIER: id -> output port
  std::deque<Pending> pipeline_;                     // frames inside the forwarding latency, in ready order
  sc_core::sc_event pipeline_event_;
};

} // namespace sim
} // namespace fanout

#endif
