// BIER (RFC 8279 / RFC 8296), for comparison only: the header cost of a receiver set, and the
// Ethernet encapsulation fanout-sim's BIER baseline mode sends (docs/report.md).
//
// A BIER packet carries a 12-byte header (BIFT-id, TC, S, TTL, nibble, version, BSL, entropy,
// OAM, DSCP, proto, BFIR-id) plus a BitString of BSL bits (64..4096). One BitString covers one
// Set Identifier (SI): ids [SI * BSL, (SI + 1) * BSL). A set spread over several SIs needs one
// copy per SI, each with its own header. Fanout ids map to BIER bit positions one to one: id n
// is bit position (n mod BSL) + 1 of SI n / BSL, and bit position 1 is the least significant bit
// of the BitString's last byte (RFC 8279 section 3).
//
// Frames (build_bier_frame / parse_bier_frame): Ethernet II with EtherType 0xAB37 (RFC 8296
// over Ethernet), the BIER header with proto = kBierProtoFanout, the BitString, then the payload:
// in the simulator's baseline, a 22-byte Fanout header without a receiver set (the BitString is
// the set) and the data. BIFT-id = SI + 1 (sub-domain 0, one BSL; the simulated fabric's own
// assignment), TTL 64, entropy = the ECMP entropy of the message.
//
// C++14, synthesizable subset.
#ifndef FANOUT_PROTO_BIER_HPP
#define FANOUT_PROTO_BIER_HPP

#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

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

// ---- BIER over Ethernet (RFC 8296) ---------------------------------------------------------
static const uint16_t kEtherTypeBier = 0xAB37;
static const uint8_t kBierNibble = 5; // first nibble after the BIFT-id word
static const uint8_t kBierVersion = 0;
static const uint8_t kBierProtoFanout = 63; // RFC 8296 proto 63: experimental (a Fanout header follows)
static const uint8_t kBierDefaultTtl = 64;

// BSL field code: 1 = 64 bits ... 7 = 4096 bits; 0 for a length BIER does not have.
inline uint8_t bier_bsl_code(uint32_t bsl) {
  uint8_t code = 1;
  for (uint32_t b = kBierMinBsl; b <= kBierMaxBsl; b *= 2, code++)
    if (b == bsl) return code;
  return 0;
}
inline uint32_t bier_bsl_bits(uint8_t code) {
  return code >= 1 && code <= 7 ? kBierMinBsl << (code - 1) : 0;
}

struct BierHeader {
  uint32_t bift_id; // 20 bits
  uint8_t tc;       // 3 bits
  uint8_t s;        // 1 bit (bottom of stack)
  uint8_t ttl;
  uint32_t bsl;     // BitString length in bits (64..4096)
  uint32_t entropy; // 20 bits
  uint8_t oam;      // 2 bits
  uint8_t dscp;     // 6 bits
  uint8_t proto;    // 6 bits: what follows the BitString
  uint16_t bfir_id; // the ingress (sender)
};

inline BierHeader make_bier_header(uint32_t si, uint32_t bsl, NodeId sender, uint32_t entropy) {
  BierHeader h;
  h.bift_id = (si + 1) & 0xFFFFFu;
  h.tc = 0;
  h.s = 1;
  h.ttl = kBierDefaultTtl;
  h.bsl = bsl;
  h.entropy = entropy & 0xFFFFFu;
  h.oam = 0;
  h.dscp = 0;
  h.proto = kBierProtoFanout;
  h.bfir_id = sender;
  return h;
}

inline void write_bier_header(const BierHeader &h, uint8_t *p) {
  store_be32(p, (h.bift_id & 0xFFFFFu) << 12 | (uint32_t)(h.tc & 7) << 9 | (uint32_t)(h.s & 1) << 8 | h.ttl);
  store_be32(p + 4, (uint32_t)kBierNibble << 28 | (uint32_t)kBierVersion << 24 | (uint32_t)bier_bsl_code(h.bsl) << 20 |
                        (h.entropy & 0xFFFFFu));
  store_be16(p + 8, (uint16_t)((h.oam & 3) << 14 | (h.dscp & 0x3F) << 6 | (h.proto & 0x3F)));
  store_be16(p + 10, h.bfir_id);
}

// BitString bits: `pos` is the 0-based position inside the SI (id mod BSL).
inline void bier_set_bit(uint8_t *bits, uint32_t bsl, uint32_t pos) {
  bits[bsl / 8 - 1 - pos / 8] |= (uint8_t)(1u << (pos % 8));
}
inline bool bier_test_bit(const uint8_t *bits, uint32_t bsl, uint32_t pos) {
  return (bits[bsl / 8 - 1 - pos / 8] >> (pos % 8)) & 1;
}

// parse_bier_frame results.
enum BierParseError {
  kBierOk = 0,
  kBierNotBier,       // not EtherType 0xAB37
  kBierTruncated,     // shorter than Ethernet + header + BitString
  kBierBadNibble,     // first nibble of the second word is not 0101
  kBierBadVersion,    // version other than 0
  kBierBadBsl,        // BSL code outside 1..7
  kBierEmptyBitString // no bit set: a copy addressed to nobody
};

struct BierView {
  BierHeader hdr;
  uint32_t si;               // bift_id - 1
  uint32_t bitstring_offset; // from the frame start
  uint32_t payload_offset;
  uint32_t payload_len;
};

inline int parse_bier_frame(const uint8_t *f, uint32_t len, BierView &out) {
  if (len < kEthHeaderBytes) return kBierTruncated;
  if (load_be16(f + kEthTypeOff) != kEtherTypeBier) return kBierNotBier;
  if (len < kEthHeaderBytes + kBierHeaderBytes) return kBierTruncated;
  const uint8_t *p = f + kEthHeaderBytes;
  uint32_t w0 = load_be32(p), w1 = load_be32(p + 4);
  uint16_t w2 = load_be16(p + 8);
  if ((w1 >> 28) != kBierNibble) return kBierBadNibble;
  if (((w1 >> 24) & 0xF) != kBierVersion) return kBierBadVersion;
  uint32_t bsl = bier_bsl_bits((uint8_t)((w1 >> 20) & 0xF));
  if (bsl == 0) return kBierBadBsl;
  if (len < kEthHeaderBytes + kBierHeaderBytes + bsl / 8) return kBierTruncated;
  BierHeader &h = out.hdr;
  h.bift_id = w0 >> 12;
  h.tc = (uint8_t)((w0 >> 9) & 7);
  h.s = (uint8_t)((w0 >> 8) & 1);
  h.ttl = (uint8_t)(w0 & 0xFF);
  h.bsl = bsl;
  h.entropy = w1 & 0xFFFFFu;
  h.oam = (uint8_t)(w2 >> 14);
  h.dscp = (uint8_t)((w2 >> 6) & 0x3F);
  h.proto = (uint8_t)(w2 & 0x3F);
  h.bfir_id = load_be16(p + 10);
  out.si = h.bift_id == 0 ? 0 : h.bift_id - 1;
  out.bitstring_offset = kEthHeaderBytes + kBierHeaderBytes;
  out.payload_offset = out.bitstring_offset + bsl / 8;
  out.payload_len = len - out.payload_offset;
  uint8_t any = 0;
  for (uint32_t i = 0; i < kBierMaxBsl / 8; i++) {
    if (i >= bsl / 8) break;
    any |= f[out.bitstring_offset + i];
  }
  return any ? kBierOk : kBierEmptyBitString;
}

// Ethernet (dst, src, 0xAB37) + header + BitString (bsl / 8 bytes) + payload into out[0..cap).
// Returns false when it does not fit or the BSL is not BIER's.
inline bool build_bier_frame(const uint8_t dst[6], const uint8_t src[6], const BierHeader &h, const uint8_t *bitstring,
                             const uint8_t *payload, uint32_t payload_len, uint8_t *out, uint32_t cap, uint32_t *len) {
  *len = 0;
  if (bier_bsl_code(h.bsl) == 0) return false;
  uint32_t head = kEthHeaderBytes + kBierHeaderBytes + h.bsl / 8;
  if (cap < head || payload_len > cap - head) return false;
  for (uint32_t i = 0; i < 6; i++) {
    out[kEthDstOff + i] = dst[i];
    out[kEthSrcOff + i] = src[i];
  }
  store_be16(out + kEthTypeOff, kEtherTypeBier);
  write_bier_header(h, out + kEthHeaderBytes);
  for (uint32_t i = 0; i < h.bsl / 8; i++) out[kEthHeaderBytes + kBierHeaderBytes + i] = bitstring[i];
  for (uint32_t i = 0; i < payload_len; i++) out[head + i] = payload[i];
  *len = head + payload_len;
  return true;
}

} // namespace proto
} // namespace fanout

#endif
