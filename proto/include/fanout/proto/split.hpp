// Forwarding rules: how a node splits the receivers it must still reach among its next hops.
//
// Every node: deliver locally if its id is in the set, remove it, then split the rest:
//  - tree rule (NIC relays): the remaining ascending set is cut into at most F contiguous chunks
//    whose sizes differ by at most one (larger chunks first); each chunk goes to its first
//    member, which repeats the rule on its chunk.
//  - port rule (switch-like node): each id goes to the egress port the port table names; one
//    copy per port carries that port's ids. Ids routed back out of the ingress port ("would
//    loop") or with no route are dropped and counted, never sent.
// A copy is sent only if the packet's hops-left is > 0; copies carry hops-left - 1.
// A copy whose subset does not fit one packet (kMaxSetBytes) is sent as several copies, one per
// piece of partition_for_packets. Under the tree rule a chunk is a contiguous part of a set that
// fitted (its list and ranges encodings are never longer, and no counterexample for bitmaps is
// known); under the port rule a subset can be longer (a port holding every other id of a
// broadcast). The rule is the same for both: any copy that does not fit is cut.
//
// C++14, synthesizable subset.
#ifndef FANOUT_PROTO_SPLIT_HPP
#define FANOUT_PROTO_SPLIT_HPP

#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/set_codec.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace proto {

static const uint32_t kMinTreeFanout = 2;
static const uint32_t kMaxTreeFanout = 64;
static const uint32_t kMaxPorts = 64;

// A contiguous chunk of a set: positions [begin, end) of the ascending ids; head = first id.
struct Chunk {
  uint32_t begin;
  uint32_t end;
  NodeId head;
};

inline bool valid_fanout(uint32_t fanout) {
  return fanout >= kMinTreeFanout && fanout <= kMaxTreeFanout;
}

// Tree rule over the ids still to reach (this node already removed). Writes min(F, size)
// chunks to out and returns their number; 0 for an empty set or an invalid F.
template <uint32_t M>
uint32_t tree_split(const BasicReceiverSet<M> &remaining, uint32_t fanout, Chunk out[kMaxTreeFanout]) {
  uint32_t m = remaining.size();
  if (m == 0 || !valid_fanout(fanout)) return 0;
  uint32_t n = m < fanout ? m : fanout;
  uint32_t base = m / n, extra = m % n;
  uint32_t pos = 0;
  for (uint32_t i = 0; i < kMaxTreeFanout; i++) {
    if (i >= n) break;
    uint32_t len = base + (i < extra ? 1u : 0u);
    out[i].begin = pos;
    out[i].end = pos + len;
    out[i].head = remaining.at(pos);
    pos += len;
  }
  return n;
}

// Hops from a node that is not in the set to the deepest of k receivers under the tree rule:
// d(0) = 0, d(k) = 1 + d(ceil(k / F) - 1). Never more than ceil(log_F k) + 1.
inline uint32_t tree_depth(uint32_t k, uint32_t fanout) {
  uint32_t depth = 0;
  for (uint32_t guard = 0; guard < 32 && k > 0; guard++) {
    depth++;
    k = (k + fanout - 1) / fanout - 1;
  }
  return depth;
}

// ---- Port rule -------------------------------------------------------------------------------
static const uint8_t kPortLocal = 0xFE; // deliver to this node's host
static const uint8_t kPortNone = 0xFF;  // no route: dropped and counted

// Node id -> egress port, one byte per id (64 KiB: a BRAM/URAM table in hardware).
class PortTable {
 public:
  PortTable() { clear(); }
  void clear() {
    for (uint32_t i = 0; i < kNodeIdSpace; i++) port_[i] = kPortNone;
  }
  void set(NodeId id, uint8_t port) { port_[id] = port; }
  uint8_t get(NodeId id) const { return port_[id]; }

 private:
  uint8_t port_[kNodeIdSpace];
};

struct PortSplitResult {
  bool deliver_local;  // some id routes to kPortLocal
  uint32_t copies;     // ports with a non-empty subset
  uint32_t looped;     // ids routed back out of the ingress port: dropped
  uint32_t unroutable; // ids with no route or a port >= nports: dropped
  bool overflow;       // a subset exceeded its set's capacity (the rest of that subset is dropped)
};

// Port rule. out[p] receives port p's ids (p < nports <= kMaxPorts). ingress_port is the port
// the packet arrived on, or kPortNone when it came from this node's host.
template <uint32_t M, uint32_t M2>
PortSplitResult port_split(const BasicReceiverSet<M> &set, const PortTable &table, uint32_t nports,
                           uint8_t ingress_port, BasicReceiverSet<M2> *out) {
  PortSplitResult res = {false, 0, 0, 0, false};
  if (nports > kMaxPorts) nports = kMaxPorts;
  for (uint32_t p = 0; p < kMaxPorts; p++) {
    if (p >= nports) break;
    out[p].clear();
  }
  for (uint32_t r = 0; r < M; r++) {
    if (r >= set.range_count()) break;
    for (uint32_t id = set.range(r).first; id <= set.range(r).last; id++) {
      uint8_t p = table.get((NodeId)id);
      if (p == kPortLocal) {
        res.deliver_local = true;
      } else if (p >= nports) {
        res.unroutable++;
      } else if (p == ingress_port) {
        res.looped++;
      } else {
        if (out[p].empty()) res.copies++;
        if (!out[p].append((NodeId)id)) res.overflow = true;
      }
    }
  }
  return res;
}

// ---- Sender: sets larger than one packet -------------------------------------------------------
// Cut an ascending set into contiguous pieces, each encodable in at most max_bytes (every single
// range fits: 4 bytes). Piece i is the set's ids within [pieces[i].first, pieces[i].last].
// Returns the number of pieces needed; writes at most max_pieces of them.
template <uint32_t M>
uint32_t partition_for_packets(const BasicReceiverSet<M> &s, uint32_t max_bytes, IdRange *pieces, uint32_t max_pieces) {
  uint32_t count = 0;
  SetCost cost;
  bool open = false;
  for (uint32_t r = 0; r < M; r++) {
    if (r >= s.range_count()) break;
    const IdRange &x = s.range(r);
    SetCost trial = cost;
    trial.add_range(x.first, x.last);
    if (open && trial.best_bytes() <= max_bytes) {
      cost = trial;
      if (count <= max_pieces) pieces[count - 1].last = x.last;
      continue;
    }
    cost = SetCost();
    cost.add_range(x.first, x.last);
    count++;
    if (count <= max_pieces) {
      pieces[count - 1].first = x.first;
      pieces[count - 1].last = x.last;
    }
    open = true;
  }
  return count;
}

// out = the ids of s within [first, last].
template <uint32_t M, uint32_t M2>
bool intersect_range(const BasicReceiverSet<M> &s, NodeId first, NodeId last, BasicReceiverSet<M2> &out) {
  out.clear();
  for (uint32_t r = 0; r < M; r++) {
    if (r >= s.range_count()) break;
    NodeId lo = s.range(r).first > first ? s.range(r).first : first;
    NodeId hi = s.range(r).last < last ? s.range(r).last : last;
    if (lo <= hi && !out.append_range(lo, hi)) return false;
  }
  return true;
}

} // namespace proto
} // namespace fanout

#endif
