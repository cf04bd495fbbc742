// Neighbour table and node addressing: configuration shared by the replicator (where a copy for
// node n goes) and the ACK aggregator (where feedback for node n goes).
//
// A copy or a feedback packet for node n leaves on egress port table[n].port with Ethernet
// destination table[n].mac and IPv4 destination table[n].ipv4; source addresses are this node's
// (NodeAddress). In a routed data centre `mac` is the next router's MAC, in a flat L2 cluster the
// node's own. Entries are written through the kernels' configuration registers (never compiled
// in); an entry that was never written (valid = false) makes the copy unroutable: dropped and
// counted, never sent to a made-up address.
//
// Port numbering (tdest / tuser[7:0], fanout/hls/axis.hpp): 0 .. P-1 are the MAC ports;
// proto::kPortLocal (0xFE) is this node's host, both as an ingress (frames the host sent) and as
// a destination (local delivery).
//
// Direct-mapped over the whole 16-bit id space: 65,536 entries x 88 bits, about 20 URAM288
// blocks on an UltraScale+ part, one read per clock.
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_NEIGHBOUR_HPP
#define FANOUT_HLS_NEIGHBOUR_HPP

#include <stdint.h>

#include "fanout/proto/packet.hpp"
#include "fanout/proto/split.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

// The host port in tdest / tuser numbering.
static const uint8_t kHostPort = proto::kPortLocal;

struct NeighbourEntry {
  uint8_t mac[6];
  uint32_t ipv4;
  uint8_t port; // egress port 0 .. P-1
  bool valid;
};

// This node's own addresses (source of every packet it builds).
struct NodeAddress {
  proto::NodeId id;
  uint8_t mac[6];
  uint32_t ipv4;
};

class NeighbourTable {
 public:
  NeighbourTable() { clear(); }
  void clear() {
    for (uint32_t i = 0; i < proto::kNodeIdSpace; i++) entries_[i].valid = false;
  }
  void set(proto::NodeId id, const NeighbourEntry &e) { entries_[id] = e; }
  void erase(proto::NodeId id) { entries_[id].valid = false; }
  const NeighbourEntry &get(proto::NodeId id) const { return entries_[id]; }

 private:
  NeighbourEntry entries_[proto::kNodeIdSpace];
};

// The cluster address plan of proto/packet.hpp (cluster_mac, cluster_ipv4), for simulations and
// tests: node n reachable on `port`.
inline NeighbourEntry cluster_neighbour(proto::NodeId n, uint8_t port) {
  NeighbourEntry e;
  proto::cluster_mac(n, e.mac);
  e.ipv4 = proto::cluster_ipv4(n);
  e.port = port;
  e.valid = true;
  return e;
}
inline NodeAddress cluster_address(proto::NodeId n) {
  NodeAddress a;
  a.id = n;
  proto::cluster_mac(n, a.mac);
  a.ipv4 = proto::cluster_ipv4(n);
  return a;
}

} // namespace hw
} // namespace fanout

#endif
