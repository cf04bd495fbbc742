// Frames on the simulated wire, and the interface everything that receives them implements.
//
// C++17, SystemC 2.3.4 (Debian's build, C++17 ABI). Namespace fanout::sim.
#ifndef FANOUT_SIM_FRAME_HPP
#define FANOUT_SIM_FRAME_HPP

#include <cstdint>
#include <utility>
#include <vector>

#include <systemc>

namespace fanout {
namespace sim {

// One Ethernet frame without preamble and FCS (what a pcap file and proto::parse_frame hold).
struct Frame {
  std::vector<uint8_t> bytes;
  uint64_t id = 0;         // unique per frame in a simulation (next_frame_id), for tracing
  sc_core::sc_time born{}; // simulation time the frame was made
  bool fcs_bad = false;    // a link flipped a bit: the receiving MAC's FCS check fails
};

// Ids for frames, unique within one process (one simulation). Single-threaded, like SystemC.
inline uint64_t next_frame_id() {
  static uint64_t next = 1;
  return next++;
}

// A frame with a fresh id, born now.
inline Frame make_frame(std::vector<uint8_t> bytes) {
  Frame f;
  f.bytes = std::move(bytes);
  f.id = next_frame_id();
  f.born = sc_core::sc_time_stamp();
  return f;
}

// Receives frames at their arrival time, called from SystemC process context.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void receive(Frame f) = 0;
};

} // namespace sim
} // namespace fanout

#endif
