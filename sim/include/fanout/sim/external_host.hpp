// The host of a served node (fanout-sim --serve, sim/serve.hpp): a stand-in inside the simulation
// for an application outside it. Frames the application sent are queued between two sc_start()
// calls and handed to the NIC's host TX in order (HostPort::host_send, retried on host_tx_ready);
// frames the NIC's host RX delivers are kept with their arrival time until the serve loop takes
// them to the client. No traffic of its own.
//
// C++17, SystemC. Namespace fanout::sim.
#ifndef FANOUT_SIM_EXTERNAL_HOST_HPP
#define FANOUT_SIM_EXTERNAL_HOST_HPP

#include <cstdint>
#include <deque>
#include <vector>

#include "fanout/sim/frame.hpp"
#include "fanout/sim/host_port.hpp"

namespace fanout {
namespace sim {

struct ExternalHostStats {
  uint64_t tx_frames = 0, tx_bytes = 0; // handed to the NIC's host TX
  uint64_t tx_data_bytes = 0;           // of which DATA frames
  uint64_t tx_ack_bytes = 0;            // of which ACK frames
  uint64_t rx_frames = 0, rx_bytes = 0; // delivered by the NIC's host RX
  uint64_t rx_probes = 0;               // of which PROBEs
  uint64_t rx_non_fanout = 0;           // of which not Fanout (proto::kNotFanout)
  uint64_t rx_parse_errors = 0;         // of which Fanout frames proto::parse_frame rejects
  uint64_t tx_backlog_max = 0;          // most frames waiting for the NIC's DMA queue at once
};

class ExternalHost : public sc_core::sc_module, public FrameSink {
 public:
  struct Arrival {
    uint64_t at_ps;
    std::vector<uint8_t> bytes;
  };

  ExternalHost(sc_core::sc_module_name name, HostPort &port);

  proto::NodeId node() const { return port_.node_id(); }
  // Outside the simulation (between sc_start calls): the frame enters host TX at the current
  // simulated time, after the frames queued before it.
  void queue(std::vector<uint8_t> bytes);
  // Frames host RX delivered since the last call, in arrival order.
  std::vector<Arrival> take_rx();
  size_t tx_backlog() const { return pending_.size(); }
  const ExternalHostStats &stats() const { return stats_; }

  // FrameSink: host RX (process context).
  void receive(Frame f) override;

 private:
  void tx_loop(); // SC_THREAD

  HostPort &port_;
  std::deque<Frame> pending_;
  sc_core::sc_event work_;
  std::vector<Arrival> rx_;
  ExternalHostStats stats_;
};

} // namespace sim
} // namespace fanout

#endif
