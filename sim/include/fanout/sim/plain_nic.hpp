// A plain NIC: what the baselines' hosts (unicast fan-out and BIER, docs/report.md) sit on. No
// Fanout kernels: frames the host hands over leave on the link in order at line rate, frames from
// the link go to the host (an FCS-bad frame is dropped, as a MAC does). It adds no latency of its
// own, so the baselines are measured at their best.
//
// host_send() queues whole frames, at most kHostTxQueueFrames; the queue drains onto the link as
// fast as the link serializes them, so a sender posting more than the line rate is held back
// (host_tx_ready) exactly like on a Fanout NIC.
//
// C++17, SystemC. Namespace fanout::sim.
#ifndef FANOUT_SIM_PLAIN_NIC_HPP
#define FANOUT_SIM_PLAIN_NIC_HPP

#include <cstdint>
#include <deque>

#include "fanout/sim/frame.hpp"
#include "fanout/sim/host_port.hpp"
#include "fanout/sim/link.hpp"

namespace fanout {
namespace sim {

struct PlainNicStats {
  uint64_t tx_frames = 0, tx_bytes = 0; // host -> link
  uint64_t rx_frames = 0, rx_bytes = 0; // link -> host
  uint64_t rx_fcs_bad = 0;              // dropped: the link corrupted them
  uint64_t tx_queue_peak = 0;           // most frames waiting in the host TX queue at once
};

class PlainNic : public sc_core::sc_module, public HostPort, public FrameSink {
 public:
  static constexpr uint32_t kHostTxQueueFrames = 16; // a few jumbo frames: a DMA ring's worth in flight
  // kernel_period: the clock latencies are counted in (the Fanout kernels' 300 MHz, so that
  // cycles compare across modes); the plain NIC itself is not clocked.
  PlainNic(sc_core::sc_module_name name, proto::NodeId node, sc_core::sc_time kernel_period);

  // Attach to `side` of `link` (before sc_start).
  void connect(Link &link, int side);

  proto::NodeId node_id() const override { return node_; }
  bool host_send(Frame f) override;
  const sc_core::sc_event &host_tx_ready() const override { return host_tx_ready_; }
  void set_host_sink(FrameSink *sink) override { host_sink_ = sink; }
  sc_core::sc_time kernel_period() const override { return kernel_period_; }
  // FrameSink: frames arriving from the link.
  void receive(Frame f) override;

  const PlainNicStats &stats() const { return stats_; }

 private:
  void tx_loop();

  proto::NodeId node_;
  sc_core::sc_time kernel_period_;
  Link *link_ = nullptr;
  int side_ = 0;
  FrameSink *host_sink_ = nullptr;
  std::deque<Frame> tx_queue_;
  sc_core::sc_event tx_work_, host_tx_ready_;
  PlainNicStats stats_;
};

} // namespace sim
} // namespace fanout

#endif
