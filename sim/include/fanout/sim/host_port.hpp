// The host side of a simulated Fanout node, as the host (sim/host) sees it: frames it hands to the
// NIC's host TX stream, frames the NIC's host RX stream delivers. Implemented by the NIC model
// (sim/nic: the Verilated shell's host_tx/host_rx ports).
//
// C++17, SystemC. Namespace fanout::sim.
#ifndef FANOUT_SIM_HOST_PORT_HPP
#define FANOUT_SIM_HOST_PORT_HPP

#include <cstdint>

#include "fanout/proto/wire.hpp"
#include "fanout/sim/frame.hpp"

namespace fanout {
namespace sim {

class HostPort {
 public:
  virtual ~HostPort() = default;
  virtual proto::NodeId node_id() const = 0;
  // Queue a whole frame for host TX (the NIC's host DMA queue). False, and nothing queued, when
  // the queue is full: wait on host_tx_ready() (notified when a frame leaves the queue) and retry.
  // The NIC takes frames from this queue only when its parser can hold them, so a frame accepted
  // here is never dropped for lack of room inside the NIC.
  virtual bool host_send(Frame f) = 0;
  virtual const sc_core::sc_event &host_tx_ready() const = 0;
  // Frames the NIC delivers to the host: local DATA deliveries, aggregated ACKs and NACKs for this
  // node's messages, PROBEs, non-Fanout frames. nullptr: discarded. receive() runs in SystemC
  // process context at the kernel clock edge the frame's last beat left host RX.
  virtual void set_host_sink(FrameSink *sink) = 0;
  // One kernel clock (latencies are reported in ns and in kernel cycles).
  virtual sc_core::sc_time kernel_period() const = 0;
};

} // namespace sim
} // namespace fanout

#endif
