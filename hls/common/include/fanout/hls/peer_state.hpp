// PeerState: the peer monitor (hls/peer_monitor) tells the replicator that a Fanout peer went
// down or came back.
//
// The peer monitor watches the nodes this NIC has recently sent copies to (the children on the
// ArmWord stream), probes those it has not heard from, and declares one down after
// `misses` silent heartbeat intervals; it is up again at the first frame heard from it. The
// replicator keeps one down bit per node id (NodeDownTable) and repairs locally: a tree chunk
// whose head is down goes to its first live id instead, and the skipped heads are armed as
// gone (ArmWord::gone) so that the sender learns they are unreachable (docs/reliability.md).
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_PEER_STATE_HPP
#define FANOUT_HLS_PEER_STATE_HPP

#include <stdint.h>

#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

struct PeerState {
  proto::NodeId id;
  bool down; // true: declared down; false: heard from again
};

// One down bit per node id: 65,536 bits, two BRAM36 (one read per clock for the replicator's
// plan, one write port for the peer monitor's updates).
class NodeDownTable {
 public:
  NodeDownTable() { clear(); }
  void clear() {
    for (uint32_t i = 0; i < kWords; i++) bits_[i] = 0;
  }
  void set(proto::NodeId id, bool down) {
    uint32_t w = id >> 5;
    uint32_t b = 1u << (id & 31u);
    bits_[w] = down ? (bits_[w] | b) : (bits_[w] & ~b);
  }
  bool down(proto::NodeId id) const { return ((bits_[id >> 5] >> (id & 31u)) & 1u) != 0; }

 private:
  static const uint32_t kWords = proto::kNodeIdSpace / 32;
  uint32_t bits_[kWords];
};

} // namespace hw
} // namespace fanout

#endif
