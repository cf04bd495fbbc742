// Configuration-table writes through AXI-Lite registers (the same scheme in every kernel).
//
// Tables are far too large to map into the register space (the neighbour table alone is 65,536
// entries), so software writes one entry at a time: it fills the tbl_* registers, then changes
// tbl_seq (any new value, e.g. +1). The kernel compares tbl_seq with the value it saw on the
// previous clock and, when it differs, writes that one entry in that clock. Software must hold
// the other registers stable until it has seen the write land (or simply until its next AXI-Lite
// access, which takes far more than one kernel clock).
//
// Register layout of one write (all kernels use these names in their s_axilite bundle):
//   tbl_seq    u32  change it to commit one write
//   tbl_kind   u8   kTableNeighbour, kTablePort, kTablePortPeer or kTablePortBackup (kernels
//                   ignore kinds they do not hold)
//   tbl_index  u16  node id (port peer: the peer's node id; port backup: the backup port)
//   tbl_mac_hi u16  MAC bytes 0-1 (neighbour)
//   tbl_mac_lo u32  MAC bytes 2-5 (neighbour)
//   tbl_ipv4   u32  (neighbour)
//   tbl_port   u8   egress port (neighbour), or the port-table value (port table:
//                   0 .. P-1, proto::kPortLocal or proto::kPortNone)
//                   port peer / port backup: the port whose peer / backup is written
//   tbl_valid  u8   neighbour: 0 erases the entry; port peer / backup: 0 clears it
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_TABLE_WRITE_HPP
#define FANOUT_HLS_TABLE_WRITE_HPP

#include <stdint.h>

#include "fanout/hls/neighbour.hpp"

namespace fanout {
namespace hw {

static const uint8_t kTableNeighbour = 0;
static const uint8_t kTablePort = 1;
static const uint8_t kTablePortPeer = 2; // replicator, port mode: the Fanout node behind a port
// Replicator, port mode: tbl_port's copies leave on port tbl_index while tbl_port is down
// (tbl_valid 0 clears it). Precomputed by software from the topology (docs/reliability.md).
static const uint8_t kTablePortBackup = 3;

struct TableWrite {
  uint32_t seq;
  uint8_t kind;
  uint16_t index;
  uint16_t mac_hi;
  uint32_t mac_lo;
  uint32_t ipv4;
  uint8_t port;
  uint8_t valid;
};

// The write the tbl_* registers hold (a synthesis top's s_axilite arguments).
inline TableWrite table_write_from_registers(uint32_t seq, uint8_t kind, uint16_t index, uint16_t mac_hi,
                                             uint32_t mac_lo, uint32_t ipv4, uint8_t port, uint8_t valid) {
  TableWrite w;
  w.seq = seq;
  w.kind = kind;
  w.index = index;
  w.mac_hi = mac_hi;
  w.mac_lo = mac_lo;
  w.ipv4 = ipv4;
  w.port = port;
  w.valid = valid;
  return w;
}

inline NeighbourEntry neighbour_from_write(const TableWrite &w) {
  NeighbourEntry e;
  e.mac[0] = (uint8_t)(w.mac_hi >> 8);
  e.mac[1] = (uint8_t)w.mac_hi;
  e.mac[2] = (uint8_t)(w.mac_lo >> 24);
  e.mac[3] = (uint8_t)(w.mac_lo >> 16);
  e.mac[4] = (uint8_t)(w.mac_lo >> 8);
  e.mac[5] = (uint8_t)w.mac_lo;
  e.ipv4 = w.ipv4;
  e.port = w.port;
  e.valid = w.valid != 0;
  return e;
}

// The registers that write `e` for node `id` (software side and tests).
inline TableWrite neighbour_write(uint32_t seq, proto::NodeId id, const NeighbourEntry &e) {
  TableWrite w;
  w.seq = seq;
  w.kind = kTableNeighbour;
  w.index = id;
  w.mac_hi = (uint16_t)((e.mac[0] << 8) | e.mac[1]);
  w.mac_lo = ((uint32_t)e.mac[2] << 24) | ((uint32_t)e.mac[3] << 16) | ((uint32_t)e.mac[4] << 8) | e.mac[5];
  w.ipv4 = e.ipv4;
  w.port = e.port;
  w.valid = e.valid ? 1 : 0;
  return w;
}
inline TableWrite port_write(uint32_t seq, proto::NodeId id, uint8_t port) {
  TableWrite w;
  w.seq = seq;
  w.kind = kTablePort;
  w.index = id;
  w.mac_hi = 0;
  w.mac_lo = 0;
  w.ipv4 = 0;
  w.port = port;
  w.valid = 1;
  return w;
}

// Port mode: node `peer` is the Fanout node behind `port` (valid = false clears the port's peer).
inline TableWrite port_peer_write(uint32_t seq, uint8_t port, proto::NodeId peer, bool valid = true) {
  TableWrite w;
  w.seq = seq;
  w.kind = kTablePortPeer;
  w.index = peer;
  w.mac_hi = 0;
  w.mac_lo = 0;
  w.ipv4 = 0;
  w.port = port;
  w.valid = valid ? 1 : 0;
  return w;
}

// Tracks tbl_seq between clocks: commit() is true once per change.
class TableWriteLatch {
 public:
  TableWriteLatch() : last_seq_(0) {}
  bool commit(uint32_t seq) {
    bool changed = seq != last_seq_;
    last_seq_ = seq;
    return changed;
  }

 private:
  uint32_t last_seq_;
};

} // namespace hw
} // namespace fanout

#endif
