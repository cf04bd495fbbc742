// The backend interface: what moves Fanout packets between this node and the others. Everything
// above it (transport, queues, progress thread) is shared by all backends; a backend only maps node
// ids to its medium and back.
//
// Packets are the Fanout part (header, set, payload: what proto::parse_packet reads). A backend
// that carries whole Ethernet frames (sim, dpdk, xrt) adds the outer headers with proto::build_frame
// on send (node id -> MAC/IPv4 from its neighbour table) and strips them with proto::parse_frame on
// receive, counting frames that are not Fanout or malformed.
//
// Threading: a backend is created by Device::open and then used only by the device's progress
// thread, except register_memory/deregister_memory (any thread: serialise them inside).
#pragma once

#include "fanout/driver/cluster.hpp"
#include "fanout/driver/stats.hpp"
#include "fanout/driver/status.hpp"

#include <cstdint>
#include <string>

namespace fanout::driver {

struct RxPacket {
  const uint8_t *data; // the Fanout header's first byte
  uint32_t len;
  uint64_t at_us; // clocked backends (provides_clock()): when it arrived, in the backend's time
};

struct BackendCaps {
  // The NIC replicates and aggregates (sim, xrt): the sender hands each packet over once with the
  // whole receiver set, and this node relays nothing in software. False for udp (and dpdk, whose
  // data path is this transport).
  bool nic_replicates = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char *name() const = 0;
  virtual BackendCaps caps() const = 0;
  // Largest packet the medium carries (bytes from the Fanout header), fixed at open.
  virtual uint32_t max_packet_bytes() const = 0;

  // Queue one packet to node `to`: head (Fanout header + set) then payload (gather). Both stay
  // valid until flush() returns. False (and counted as unroutable) if `to` has no address.
  virtual bool send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload,
                    uint32_t payload_len) = 0;
  // Hand every queued packet to the medium.
  virtual void flush() = 0;

  // Up to max received packets, without blocking. They stay valid until the next receive() call
  // (the progress loop flushes its sends before receiving again, so relayed payloads can point
  // into them). Datagrams that cannot be a packet (oversize) are counted here, not returned.
  virtual uint32_t receive(RxPacket *out, uint32_t max) = 0;
  // A descriptor that becomes readable when packets arrive (the progress thread sleeps in poll on
  // it), or -1 for a backend that must be polled continuously.
  virtual int rx_fd() const = 0;

  // Pin / map application memory (no-op for backends that copy).
  virtual Status register_memory(void *addr, uint64_t length, uint64_t *handle) {
    (void)addr;
    (void)length;
    *handle = 0;
    return Status::kOk;
  }
  virtual void deregister_memory(uint64_t handle) { (void)handle; }

  // Add the backend's own counters (datagrams, errors, unroutable, oversize as malformed).
  virtual void add_stats(DeviceStats &s) const = 0;

  // ---- Clocked backends (sim): the backend owns the time -------------------------------------
  // A clocked backend runs in lock step with a simulator: the transport is driven with now_us()
  // instead of the host's clock, and the progress loop (device.cpp, run_clocked) is, per pass:
  //   posts at now_us(); receive() -- the packets delivered before the next round boundary, each
  //   with its at_us; on_timers(now_us()) -- now at the boundary when receive() reached it;
  //   pump + flush until nothing is ready; end_round() -- the backend tells the simulator this
  //   round is handled (after the packets the transport produced in response were flushed).
  // The progress thread sleeps on rx_fd() and the doorbell only, never on a timer: simulated time
  // moves only when the simulator says so.
  virtual bool provides_clock() const { return false; }
  // The backend's time now (microseconds; clocked backends only).
  virtual uint64_t now_us() const { return 0; }
  // After the pass that handled everything received: if receive() reached a round boundary,
  // answer it (sim: DONE(T)) and return true (the next round may already be on its way).
  virtual bool end_round() { return false; }
  // kOk while the medium works; kClosed when it ended normally (sim: BYE), kIoError when it broke
  // (sim: the server went away). Once not kOk, outstanding work completes with it, posts fail
  // with it, and rx_fd() is no longer waited on. `why` says what happened.
  virtual Status link_status(std::string *why) const {
    (void)why;
    return Status::kOk;
  }
};

} // namespace fanout::driver
