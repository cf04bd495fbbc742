// A full-duplex point-to-point Ethernet link with serialization, propagation delay, random loss,
// single-bit corruption and scheduled down periods. Two sides, 0 and 1; a frame sent from side s
// arrives at the sink attached to side 1 - s.
//
// Timing per frame: the transmitter is busy for (bytes + overhead_bytes) * 8 / gbps ns; the
// frame's last bit arrives `delay` after that, which is when the sink's receive() runs
// (store-and-forward receivers see whole frames). Each direction has its own transmitter and
// its own random stream (seeded from seed and the side), so the two directions are independent
// and a run is deterministic for a given seed. Every frame draws the same random numbers whether
// it is lost or not, so changing the down schedule does not change which frames are lost
// randomly.
//
// Down periods: schedule lists (time, up) changes; the link starts up. A frame whose time on the
// wire [start of transmission, arrival) overlaps a down period is lost (dropped_down, counted
// apart from random loss). The transmitter still spends the serialization time on it.
#ifndef FANOUT_SIM_LINK_HPP
#define FANOUT_SIM_LINK_HPP

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <utility>
#include <vector>

#include "fanout/sim/frame.hpp"

namespace fanout {
namespace sim {

class PcapWriter;

struct LinkConfig {
  double gbps = 100;
  sc_core::sc_time delay = sc_core::sc_time(500, sc_core::SC_NS); // about 100 m of fibre
  double loss = 0;                                                // probability a frame is lost
  double corrupt = 0;                                             // probability a frame gets one random bit flipped
  uint64_t seed = 1;
  std::vector<std::pair<sc_core::sc_time, bool>> schedule; // times the link goes down (false) / up (true)
  uint32_t overhead_bytes = 24;                            // preamble 8 + FCS 4 + inter-frame gap 12
};

// Throws std::invalid_argument naming the offending field.
void validate(const LinkConfig &c);

struct LinkStats {
  uint64_t frames = 0;       // frames transmitted (offered to the wire)
  uint64_t bytes = 0;        // their bytes (frame bytes, without overhead)
  uint64_t delivered = 0;    // frames handed to the far side's sink
  uint64_t lost = 0;         // random loss
  uint64_t corrupted = 0;    // delivered with one bit flipped
  uint64_t dropped_down = 0; // on the wire while the link was down
  sc_core::sc_time busy{};   // transmitter serializing (utilization = busy / elapsed)
};

class Link : public sc_core::sc_module {
 public:
  Link(sc_core::sc_module_name name, const LinkConfig &config = LinkConfig());

  const LinkConfig &config() const { return cfg_; }

  // The sink that receives frames sent from the other side (nullptr: frames are discarded).
  void attach(int side, FrameSink *sink);
  // Transmitter of `side` serializing a frame.
  bool busy(int side) const;
  // Start sending f from `side` now. False (nothing sent) if that transmitter is busy: wait on
  // ready_event(side), which is notified when it becomes free. Callable from process context.
  bool send(int side, Frame f);
  const sc_core::sc_event &ready_event(int side) const { return dir_[check(side)].ready; }
  // Simulation time at which the transmitter of `side` is free.
  sc_core::sc_time free_at(int side) const { return dir_[check(side)].busy_until; }
  // Serialization time of a frame of `bytes` bytes (overhead included).
  sc_core::sc_time serialization(uint32_t bytes) const;
  // Up now, per the schedule.
  bool up() const;
  // Stats of the direction whose transmitter is `side`.
  const LinkStats &stats(int side) const { return dir_[check(side)].stats; }
  // Busy fraction of `side`'s transmitter since time 0 (0 before any time has passed).
  double utilization(int side) const;
  // Record frames as they are sent from `side` (original bytes, start of transmission).
  void set_pcap(int side, PcapWriter *w) { dir_[check(side)].pcap = w; }
  // Change the loss / corruption probability of both directions for frames sent from now on (a
  // fault window). Throws std::invalid_argument outside [0, 1]. The random draws per frame stay
  // the same, so only the threshold changes.
  void set_loss(double p);
  void set_corrupt(double p);

 private:
  struct InFlight {
    sc_core::sc_time arrival;
    Frame frame;
  };
  struct Direction {
    FrameSink *sink = nullptr; // receives frames sent from this side (attached to the other)
    PcapWriter *pcap = nullptr;
    sc_core::sc_time busy_until{};
    sc_core::sc_event ready;
    sc_core::sc_event arrive;
    std::deque<InFlight> in_flight;
    std::mt19937_64 rng;
    LinkStats stats;
  };

  static int check(int side);
  double uniform(std::mt19937_64 &rng);
  bool down_during(sc_core::sc_time from, sc_core::sc_time to) const;
  void deliver(int from_side);

  LinkConfig cfg_;
  std::vector<std::pair<sc_core::sc_time, sc_core::sc_time>> down_; // [start, end) periods
  std::array<Direction, 2> dir_;
};

// What Switch and FanoutSwitch do in connect(): check that the port is free and that elaboration
// is still running, attach `ingress` to `side` of `link`, and spawn the port's two methods: `pump`
// runs when the link's transmitter on `side` becomes free, `heartbeat` when `heartbeat_event`
// fires. `owner` names the processes (connect() runs in the caller's scope, where spawned
// processes are created, so the owner's name keeps two switches connected from one scope apart).
// `*port_link` is the port's link pointer (null while free); it is set here.
void connect_switch_port(const sc_core::sc_module &owner, uint32_t p, Link &link, int side, FrameSink *ingress,
                         Link **port_link, const sc_core::sc_event &heartbeat_event, std::function<void()> pump,
                         std::function<void()> heartbeat);

} // namespace sim
} // namespace fanout

#endif
