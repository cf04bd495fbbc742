// ArmWord: the replicator tells the ACK aggregator which children to expect feedback from.
//
// For every DATA packet it forwards, the replicator writes one ArmWord per child: each next hop
// that got a copy (child = the copy's destination node, hull = lowest and highest id the copy
// carried) and, when the packet was delivered locally, this node itself (hull [self, self]: its
// host acknowledges through the same path). One word per child and clock keeps the stream narrow;
// proto::AckAggregator::arm is idempotent per message, so arming child by child equals arming
// them all at once. `last` marks the packet's final word. A child the replicator skipped because
// its peer is down is sent as a word with `gone` set (local repair, docs/reliability.md).
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_ARM_HPP
#define FANOUT_HLS_ARM_HPP

#include <stdint.h>

#include "fanout/proto/aggregator.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

struct ArmWord {
  proto::MessageKey key;  // (sender, message id) of the DATA packet
  proto::NodeId parent;   // where this node's aggregated feedback goes: the packet's origin, or
                          // this node itself when the packet came from its own host
  proto::ChildSpec child; // one child: id and hull
  uint32_t total_packets; // proto::packets_in_message of the packet
  bool last;              // last word for this packet
  // The child is down (peer monitor): no copy went to it; the aggregator settles it at once and
  // reports its ids upstream in a NACK with kFlagGone (proto::AckAggregator::mark_gone).
  bool gone;
};

} // namespace hw
} // namespace fanout

#endif
