// BIER's header cost for a receiver set (RFC 8279 / RFC 8296), for comparison only.
//
// A BIER packet carries a 12-byte header (BIFT-id, TC, S, TTL, nibble, version, BSL, entropy,
// OAM, DSCP, proto, BFIR-id) plus a BitString of BSL bits (64..4096). One BitString covers one
// Set Identifier (SI): ids [SI * BSL, (SI + 1) * BSL). A set spread over several SIs needs one
// copy per SI, each with its own header. Fanout ids map to BIER bit positions one to one.
//
// C++14, synthesizable subset.
#ifndef FANOUT_PROTO_BIER_HPP
#define FANOUT_PROTO_BIER_HPP

#include "fanout/proto/receiver_set.hpp"

namespace fanout {
namespace proto {

static const uint32_t kBierHeaderBytes = 12;
static const uint32_t kBierMinBsl = 64;
static const uint32_t kBierMaxBsl = 4096;

struct BierCost {
  uint32_t bsl;            // BitString length in bits
  uint32_t copies;         // SIs the set touches: packets the ingress sends
  uint32_t bytes_per_copy; // 12 + BSL / 8
  uint32_t total_bytes;    // copies * bytes_per_copy
};

template <uint32_t M> BierCost bier_cost(const BasicReceiverSet<M> &s, uint32_t bsl) {
  BierCost c;
  c.bsl = bsl;
  c.copies = 0;
  c.bytes_per_copy = kBierHeaderBytes + bsl / 8;
  uint32_t last_si = 0xFFFFFFFFu;
  for (uint32_t r = 0; r < M; r++) {
    if (r >= s.range_count()) break;
    uint32_t first_si = s.range(r).first / bsl, end_si = s.range(r).last / bsl;
    uint32_t from = first_si == last_si ? first_si + 1 : first_si;
    if (end_si >= from) c.copies += end_si - from + 1;
    last_si = end_si;
  }
  c.total_bytes = c.copies * c.bytes_per_copy;
  return c;
}

// The BSL (64..4096) that minimises BIER's total header bytes for this set: BIER at its best.
template <uint32_t M> BierCost bier_best(const BasicReceiverSet<M> &s) {
  BierCost best = bier_cost(s, kBierMinBsl);
  for (uint32_t bsl = kBierMinBsl * 2; bsl <= kBierMaxBsl; bsl *= 2) {
    BierCost c = bier_cost(s, bsl);
    if (c.total_bytes < best.total_bytes) best = c;
  }
  return best;
}

} // namespace proto
} // namespace fanout

#endif
