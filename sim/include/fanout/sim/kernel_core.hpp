// The HLS kernels of a Fanout node, joined as the NIC joins them, stepped one kernel clock at
// a time (cycle-level: each kernel's step() is its clock; docs/simulator.md says what is exact).
//
//   in ──> parser ──meta+frame──> replicator ──> port[0..P-1], repl_host
//            └──> parser_host │   ▲    ├──arm──────────┐
//                             │   │    └──fb meta+fb──> ack_agg ──> agg_out (tdest = port or host)
//                     seen    │   │peer state  arm tap
//                             └─> peer_monitor <──────┘ ──> peer_out (tdest = port)
//
// The parser's `seen` output gives the peer monitor each valid frame's meta as soon as the frame
// is classified (before it queues in the parser's FIFO: under load a frame can wait there for
// microseconds, which would read as silence). The arm tap is the kernel hls/arm_tap (hw::ArmTap:
// the replicator's arm words to the ACK aggregator and the peer monitor, a word when both have
// room), stepped between the replicator and its readers. The peer monitor reads both its inputs
// every clock, so they never hold the main path. Its frames leave on peer_out, which the NIC
// shell serves with strict priority at every MAC port (a heartbeat must not wait behind data, nor
// behind the aggregator's frames for the host, which share agg_out). Its PeerState words update
// the replicator's down table (tree-mode local repair, docs/reliability.md).
//
// The streams between the kernels are the default hls::stream depth (2), what Vitis builds between
// free-running kernels joined by stream_connect with no extra FIFO. The edge streams (in, and every
// output) belong to the caller: a NIC shell or a switch model moves beats between them and its
// ready/valid signals or frame queues; they too are depth 2 (a register slice), which keeps one
// beat per clock flowing when the adapter moves one beat per clock.
//
// Configuration (addresses, mode, fan-out, UDP port, neighbour and port tables) is written through
// the kernel objects, as the kernels' s_axilite registers would be. C++17 (sim/), kernels C++14.
#ifndef FANOUT_SIM_KERNEL_CORE_HPP
#define FANOUT_SIM_KERNEL_CORE_HPP

#include <cstdint>
#include <memory>
#include <vector>

#include "ack_agg.hpp"
#include "arm_tap.hpp"
#include "parser.hpp"
#include "peer_monitor.hpp"
#include "replicator.hpp"

namespace fanout {
namespace sim {

template <uint32_t P, uint32_t AggChildren = 17> class KernelCore {
 public:
  using Replicator = hw::Replicator<P>;
  using AckAgg = hw::AckAgg<1024, 4, AggChildren, 4>;
  using Beats = hls::stream<hw::axis_word>;
  static constexpr uint32_t kPorts = P;

  using PeerMonitor = hw::PeerMonitor<64>;

  // The parser is built with the deep FIFO (hw::kParserAuthFifoBeats) and uses kParserFifoBeats of
  // it unless authentication needs the depth (Nic: parser().set_fifo_limit).
  using Parser = hw::BasicParser<hw::kParserAuthFifoBeats>;

  KernelCore() : parser_(new Parser), repl_(new Replicator), agg_(new AckAgg), peer_(new PeerMonitor) {
    parser_->set_fifo_limit(hw::kParserFifoBeats);
  }

  // One kernel clock: every kernel steps once, parser first. A beat the parser writes in this
  // clock may be read by the replicator in the same call: a zero-latency hand-off, one clock less
  // than a registered stream; each kernel's own latency is its model's (docs/simulator.md).
  void step() {
    if (!state_.empty()) {
      hw::PeerState ps = state_.read();
      repl_->apply_peer_state(ps);
      peer_events.push_back(PeerEvent{cycles_, ps});
    }
    parser_->step(in, p2r_frame_, p2r_meta_, parser_host, seen_);
    repl_->step(p2r_meta_, p2r_frame_, repl_port, repl_host, arm_raw_, fb_meta_, fb_);
    tap_.step(arm_raw_, arm_, watch_);
    agg_->step(arm_, fb_meta_, fb_, agg_out);
    peer_->step(seen_, watch_, peer_out, state_);
    cycles_++;
  }

  // This node's identity, replicated to the three kernels.
  void set_self(const hw::NodeAddress &a, uint16_t udp_port) {
    parser_->set_udp_port(udp_port);
    peer_->set_self(a);
    peer_->set_udp_port(udp_port);
    repl_->set_self(a);
    repl_->set_udp_port(udp_port);
    hw::AckAggConfig c = agg_->config();
    c.self = a;
    c.udp_port = udp_port;
    agg_->configure(c);
  }
  // A neighbour (node id -> MAC, IPv4, egress port) in the three kernels that address frames.
  void set_neighbour(proto::NodeId id, const hw::NeighbourEntry &e) {
    repl_->set_neighbour(id, e);
    agg_->set_neighbour(id, e);
    peer_->set_neighbour(id, e);
  }

  Parser &parser() { return *parser_; }
  Replicator &replicator() { return *repl_; }
  AckAgg &ack_agg() { return *agg_; }
  PeerMonitor &peer_monitor() { return *peer_; }
  const PeerMonitor &peer_monitor() const { return *peer_; }
  const Parser &parser() const { return *parser_; }
  const Replicator &replicator() const { return *repl_; }
  const AckAgg &ack_agg() const { return *agg_; }
  uint64_t cycles() const { return cycles_; }
  // Nothing stored or moving inside the kernels (edge streams not included).
  bool idle() const {
    return repl_->idle() && parser_->fifo_level() == 0 && p2r_frame_.empty() && fb_.empty() && arm_.empty() &&
           agg_->queue_level() == 0 && !agg_->sending() && arm_raw_.empty() && peer_->idle();
  }

  // Peer monitor verdicts applied to the replicator, in order (kernel clock, state).
  struct PeerEvent {
    uint64_t cycle;
    hw::PeerState state;
  };
  std::vector<PeerEvent> peer_events;

  // Edge streams, owned by the caller's adapters.
  Beats in;          // -> parser (tuser[7:0] = ingress port, tuser[8] = bad frame)
  Beats parser_host; // non-Fanout frames for the host
  Beats repl_port[P];
  Beats repl_host; // local deliveries and PROBEs
  Beats agg_out;   // aggregated feedback, tdest = egress port or proto::kPortLocal
  Beats peer_out;  // the peer monitor's probes, replies and keepalives (one beat each), tdest = port

 private:
  std::unique_ptr<Parser> parser_;
  std::unique_ptr<Replicator> repl_;
  std::unique_ptr<AckAgg> agg_;
  std::unique_ptr<PeerMonitor> peer_;
  hw::ArmTap tap_; // no state: the words wait in arm_raw_

  hls::stream<hw::ParsedMeta> seen_;
  hls::stream<hw::ArmWord> arm_raw_, watch_;
  hls::stream<hw::PeerState> state_;
  hls::stream<hw::axis_word> p2r_frame_;
  hls::stream<hw::ParsedMeta> p2r_meta_;
  hls::stream<hw::ArmWord> arm_;
  hls::stream<hw::ParsedMeta> fb_meta_;
  hls::stream<hw::axis_word> fb_;
  uint64_t cycles_ = 0;
};

} // namespace sim
} // namespace fanout

#endif
