// Hostile-input policy: which valid DATA packets a node refuses to replicate, and per-sender
// rate limits. Shared by every data path (HLS replicator, fanout::dp, the udp transport), so a
// packet is refused for the same reason everywhere (docs/protocol.md section 8.1).
//
// parse_frame already drops malformed sets (duplicates, unsorted, bad lengths: section 8). A
// well-formed set can still be an attack on the fabric -- a receiver list as long as the cluster
// from one sender, ids that do not exist, a set that sends the packet back where it came from --
// so a node checks, before replicating a DATA packet:
//  1. kPolicyTooManyReceivers: more than max_receivers ids (0: no limit) in the packet's set;
//  2. kPolicyUnknownId: an id outside the cluster's id range [first_id, last_id];
//  3. kPolicyLoop: the set names the packet's sender or its origin (the node that sent this
//     copy: this node's parent) -- a copy would travel back up the tree;
//  4. kPolicyRateLimited: the sender's token bucket lacks the packet's bytes.
// A refused packet is dropped whole (no local delivery, no copy, no arming) and counted by code.
// The first failing check decides; the rate limiter is charged only for packets that pass 1-3.
// Together with the tree rule (at most F + 1 outputs per input, section 5) a single packet can
// cause neither a fan-out beyond the configured bound nor a loop.
//
// Rate limiter: one token bucket per sender id, direct-mapped over the 16-bit id space (65,536 x
// 9 bytes = 576 KiB: URAM on the NIC), tokens in bytes, refilled at `bytes_per_tick` per tick of
// the caller's clock (kernel clocks in hardware, microseconds in software) up to `burst_bytes`.
// rate 0 disables it. Time comparisons are wrap-safe for gaps below 2^31 ticks.
//
// C++14, synthesizable subset.
#ifndef FANOUT_PROTO_POLICY_HPP
#define FANOUT_PROTO_POLICY_HPP

#include <stdint.h>

#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace proto {

enum PolicyCode {
  kPolicyOk = 0,
  kPolicyTooManyReceivers = 1,
  kPolicyUnknownId = 2,
  kPolicyLoop = 3,
  kPolicyRateLimited = 4,
  kPolicyCodeCount = 5
};

inline const char *policy_code_name(int c) {
  switch (c) {
  case kPolicyOk: return "ok";
  case kPolicyTooManyReceivers: return "too_many_receivers";
  case kPolicyUnknownId: return "unknown_id";
  case kPolicyLoop: return "loop";
  case kPolicyRateLimited: return "rate_limited";
  default: return "unknown";
  }
}

struct SetPolicy {
  uint32_t max_receivers; // ids per packet; 0: no limit
  NodeId first_id;        // the cluster's ids: [first_id, last_id]
  NodeId last_id;
};

// No limit: every id known, any set size.
inline SetPolicy open_set_policy() {
  SetPolicy p;
  p.max_receivers = 0;
  p.first_id = 0;
  p.last_id = (NodeId)(kNodeIdSpace - 1);
  return p;
}

// The open policy: no limit, every id. It refuses nothing, not even a loop (docs/protocol.md 8.1:
// an unconfigured node replicates as before).
inline bool is_open(const SetPolicy &p) {
  return p.max_receivers == 0 && p.first_id == 0 && p.last_id == (NodeId)(kNodeIdSpace - 1);
}

// Checks 1-3 for a DATA packet from `sender` received from `origin` with receiver set `set`; the
// open policy passes everything.
template <uint32_t M>
int check_set_policy(const SetPolicy &p, const BasicReceiverSet<M> &set, NodeId sender, NodeId origin) {
  if (is_open(p)) return kPolicyOk;
  if (p.max_receivers != 0 && set.size() > p.max_receivers) return kPolicyTooManyReceivers;
  if (!set.empty() && (set.first_id() < p.first_id || set.last_id() > p.last_id)) return kPolicyUnknownId;
  if (set.contains(sender) || set.contains(origin)) return kPolicyLoop;
  return kPolicyOk;
}

struct RateConfig {
  uint32_t bytes_per_tick; // refill; 0: no limit
  uint32_t burst_bytes;    // bucket size (a full bucket at the first packet)
};

template <uint32_t Ids = kNodeIdSpace> class RateLimiter {
 public:
  static const uint32_t kBytes = Ids * 9; // tokens, last refill, seen

  RateLimiter() { reset(); }
  void reset() {
    for (uint32_t i = 0; i < Ids; i++) {
      tokens_[i] = 0;
      last_[i] = 0;
      seen_[i] = false;
    }
  }
  void configure(const RateConfig &c) { cfg_ = c; }
  const RateConfig &config() const { return cfg_; }

  // Charge `bytes` to `sender` at `now`: true if the bucket held them (they are taken).
  bool allow(NodeId sender, uint32_t bytes, uint32_t now) {
    if (cfg_.bytes_per_tick == 0) return true;
    if ((uint32_t)sender >= Ids) return false;
    uint32_t t = tokens_[sender];
    if (!seen_[sender]) {
      seen_[sender] = true;
      t = cfg_.burst_bytes;
    } else {
      uint32_t dt = now - last_[sender];
      if (dt > 0x7FFFFFFFu) dt = 0; // a time before the last one: no refill
      uint64_t add = (uint64_t)dt * cfg_.bytes_per_tick;
      uint64_t n = (uint64_t)t + add;
      t = n > cfg_.burst_bytes ? cfg_.burst_bytes : (uint32_t)n;
    }
    last_[sender] = now;
    if (t < bytes) {
      tokens_[sender] = t;
      return false;
    }
    tokens_[sender] = t - bytes;
    return true;
  }

 private:
  RateConfig cfg_ = {0, 0};
  uint32_t tokens_[Ids];
  uint32_t last_[Ids];
  bool seen_[Ids];
};

} // namespace proto
} // namespace fanout

#endif
