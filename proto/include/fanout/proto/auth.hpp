// Optional per-packet authentication with a group key: SipHash-2-4 tag in a 12-byte trailer.
//
// A packet with kFlagAuth (wire.hpp) ends its UDP payload with the auth trailer:
//   counter u32 BE  the signing node's packet counter, from 1, strictly increasing per packet it
//                   signs (every destination, every type: one counter per node and key)
//   tag     u64 BE  siphash24(key, Fanout header || set body || payload || counter)
// The tag input is contiguous in the packet: the Fanout part up to the trailer, plus the counter.
// The Fanout header is covered as sent, AUTH flag included; the outer Ethernet/IPv4/UDP headers
// are not (relays and switches rewrite them; what authenticates a packet is its Fanout origin).
// The signer is always the packet's origin: a node that emits a Fanout part (every DATA copy, every
// ACK/NACK/PROBE it creates) sets origin = itself and signs with its own counter; a node that
// forwards a Fanout part unchanged (a forwarded NACK, a passed-through ACK) keeps its trailer.
// Receivers keep, per origin, the highest counter seen and a 64-counter window (RFC 4303 style).
//
// parse_frame / parse_packet (packet.hpp) locate the trailer; auth_check verifies the tag and then
// the counter. The key is distributed out of band. docs/protocol.md section 12 is the prose.
//
// C++14, synthesizable subset.
#ifndef FANOUT_PROTO_AUTH_HPP
#define FANOUT_PROTO_AUTH_HPP

#include "fanout/proto/packet.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace proto {

// ---- SipHash-2-4 (Aumasson & Bernstein, 2012) ----------------------------------------------
// Key k0 = key[0..8), k1 = key[8..16), both little-endian; message words little-endian.
inline uint64_t sip_rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}
inline uint64_t load_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

// Incremental SipHash-2-4 over any number of segments (gather I/O; a stream of bus words).
struct SipHash24 {
  uint64_t v0, v1, v2, v3;
  uint8_t buf[8]; // bytes of the current partial word
  uint32_t nbuf;  // 0..7
  uint32_t total; // bytes absorbed (mod 2^32; only the low 8 bits enter the final word)

  void sip_round() {
    v0 += v1;
    v1 = sip_rotl(v1, 13);
    v1 ^= v0;
    v0 = sip_rotl(v0, 32);
    v2 += v3;
    v3 = sip_rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = sip_rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = sip_rotl(v1, 17);
    v1 ^= v2;
    v2 = sip_rotl(v2, 32);
  }
  void compress(uint64_t m) {
    v3 ^= m;
    sip_round();
    sip_round();
    v0 ^= m;
  }
  void init(const uint8_t key[16]) {
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    v0 = k0 ^ 0x736f6d6570736575ull;
    v1 = k1 ^ 0x646f72616e646f6dull;
    v2 = k0 ^ 0x6c7967656e657261ull;
    v3 = k1 ^ 0x7465646279746573ull;
    nbuf = 0;
    total = 0;
  }
  // Absorb data[0..len). Loops are bounded by len (callers: at most kMaxFrameBytes).
  void update(const uint8_t *data, uint32_t len) {
    uint32_t i = 0;
    while (nbuf != 0 && i < len) { // fill a partial word first (at most 7 bytes)
      buf[nbuf++] = data[i++];
      if (nbuf == 8) {
        compress(load_le64(buf));
        nbuf = 0;
      }
    }
    uint32_t words = (len - i) / 8;
    for (uint32_t w = 0; w < words; w++, i += 8) compress(load_le64(data + i));
    for (; i < len; i++) buf[nbuf++] = data[i]; // fewer than 8 bytes left
    total += len;
  }
  uint64_t finish() {
    uint64_t b = (uint64_t)(total & 0xFF) << 56;
    for (uint32_t i = 0; i < 7; i++)
      if (i < nbuf) b |= (uint64_t)buf[i] << (8 * i);
    compress(b);
    v2 ^= 0xFF;
    sip_round();
    sip_round();
    sip_round();
    sip_round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

inline uint64_t siphash24(const uint8_t key[16], const uint8_t *data, uint32_t len) {
  SipHash24 s;
  s.init(key);
  s.update(data, len);
  return s.finish();
}

// The group key as four 32-bit words, key byte 4i + j in bits 8j+7..8j of word i: how the NIC's
// registers hold it (the parser's auth_key, the signer's key; fanout/regs.hpp).
inline void auth_key_words(const uint8_t key[16], uint32_t words[4]) {
  for (uint32_t i = 0; i < 4; i++)
    words[i] = (uint32_t)key[4 * i] | (uint32_t)key[4 * i + 1] << 8 | (uint32_t)key[4 * i + 2] << 16 |
               (uint32_t)key[4 * i + 3] << 24;
}

inline void store_be64(uint8_t *p, uint64_t v) {
  store_be32(p, (uint32_t)(v >> 32));
  store_be32(p + 4, (uint32_t)v);
}
inline uint64_t load_be64(const uint8_t *p) {
  return ((uint64_t)load_be32(p) << 32) | load_be32(p + 4);
}

// ---- Results -------------------------------------------------------------------------------
enum AuthCode {
  kAuthOk = 0,        // tag verifies and the counter is new for its origin
  kAuthUnsigned,      // no kFlagAuth: accepted or rejected per configuration (auth_accepted)
  kAuthBadTag,        // tag does not verify (forged, corrupted, or another key)
  kAuthReplayed,      // counter within the window and already seen
  kAuthStale,         // counter 0, or 64 or more below the origin's highest
  kAuthUnknownOrigin, // origin outside the replay window's id range
  kAuthCodeCount
};

inline const char *auth_code_name(int c) {
  switch (c) {
  case kAuthOk: return "auth_ok";
  case kAuthUnsigned: return "auth_unsigned";
  case kAuthBadTag: return "auth_bad_tag";
  case kAuthReplayed: return "auth_replayed";
  case kAuthStale: return "auth_stale";
  case kAuthUnknownOrigin: return "auth_unknown_origin";
  default: return "auth_unknown_code";
  }
}

// Whether a packet with this code is accepted: kAuthOk always, kAuthUnsigned only when the node
// does not require authentication. Every other code is a drop, counted by code.
inline bool auth_accepted(int code, bool require_auth) {
  return code == kAuthOk || (code == kAuthUnsigned && !require_auth);
}

struct AuthCounters {
  uint64_t by_code[kAuthCodeCount];
  void clear() {
    for (int i = 0; i < kAuthCodeCount; i++) by_code[i] = 0;
  }
  void count(int code) {
    if (code >= 0 && code < kAuthCodeCount) by_code[code]++;
  }
};

struct AuthResult {
  uint32_t counter; // the trailer's counter (0 for kAuthUnsigned)
  uint64_t tag;     // the trailer's tag (0 for kAuthUnsigned)
  NodeId origin;    // the Fanout origin the counter belongs to
};

// ---- Replay window -------------------------------------------------------------------------
// Per origin: the highest counter accepted and a 64-bit bitmap, bit i = counter (highest - i)
// accepted (RFC 4303 section 3.4.3 anti-replay). Accept a counter above the highest (shift the
// bitmap), or one 1..63 below it whose bit is clear (set it); reject the rest. Direct-mapped over
// origin ids 0..Ids-1, no eviction (an evicted origin's old packets could be replayed):
// 12 bytes per id, two arrays. Ids = 65,536 (every node id) is 786,432 bytes = 768 KiB.
// Counters start at 1 (state 0 = nothing seen); a node that reaches 2^32 - 1 must change key.
template <uint32_t Ids = kNodeIdSpace> class ReplayWindow {
 public:
  static const uint32_t kWindow = 64;
  static const uint32_t kBytes = Ids * (4 + 8);

  ReplayWindow() { clear(); }
  void clear() {
    for (uint32_t i = 0; i < Ids; i++) {
      top_[i] = 0;
      seen_[i] = 0;
    }
  }
  // What accept() would return, without recording anything.
  int check(NodeId origin, uint32_t counter) const {
    if ((uint32_t)origin >= Ids) return kAuthUnknownOrigin;
    if (counter == 0) return kAuthStale;
    uint32_t top = top_[origin];
    if (counter > top) return kAuthOk;
    uint32_t back = top - counter;
    if (back >= kWindow) return kAuthStale;
    return ((seen_[origin] >> back) & 1) ? kAuthReplayed : kAuthOk;
  }
  // Check and, on kAuthOk, record the counter. Call only after the tag verified.
  int accept(NodeId origin, uint32_t counter) {
    int c = check(origin, counter);
    if (c != kAuthOk) return c;
    uint32_t top = top_[origin];
    if (counter > top) {
      uint32_t shift = counter - top;
      seen_[origin] = shift >= kWindow ? 1ull : ((seen_[origin] << shift) | 1ull);
      top_[origin] = counter;
    } else {
      seen_[origin] |= 1ull << (top - counter);
    }
    return kAuthOk;
  }
  uint32_t highest(NodeId origin) const { return (uint32_t)origin < Ids ? top_[origin] : 0; }

 private:
  uint32_t top_[Ids];
  uint64_t seen_[Ids];
};
template <uint32_t Ids> const uint32_t ReplayWindow<Ids>::kWindow;
template <uint32_t Ids> const uint32_t ReplayWindow<Ids>::kBytes;

// ---- Sign ----------------------------------------------------------------------------------
// The tag of a Fanout part fo[0..body_len) (header with kFlagAuth, set, payload) whose counter is
// stored big-endian at fo[body_len..body_len + 4): siphash24 over fo[0..body_len + 4).
inline uint64_t auth_tag(const uint8_t key[16], const uint8_t *fo, uint32_t body_len) {
  return siphash24(key, fo, body_len + 4);
}

// Sign a Fanout part alone (a UDP datagram's payload: what the socket transport sends):
// fo[0..len) is header, set and payload without kFlagAuth; sets kFlagAuth and appends the trailer.
// False (nothing changed) if len < 22, the flag is already set, or len + 12 exceeds cap or
// kMaxPacketBytes.
inline bool auth_sign_packet(uint8_t *fo, uint32_t len, uint32_t cap, const uint8_t key[16], uint32_t counter,
                             uint32_t *new_len) {
  if (len < kFanoutHeaderBytes || (fo[kFoFlagsOff] & kFlagAuth)) return false;
  uint32_t n = len + kAuthTrailerBytes;
  if (n > cap || n > kMaxPacketBytes) return false;
  fo[kFoFlagsOff] = (uint8_t)(fo[kFoFlagsOff] | kFlagAuth);
  store_be32(fo + len + kAuthCounterOff, counter);
  store_be64(fo + len + kAuthTagOff, auth_tag(key, fo, len));
  *new_len = n;
  return true;
}

// The trailer for a Fanout part held in two pieces (gather I/O: a header buffer with the Fanout
// header, AUTH already set, and the set body; then the payload segment): writes trailer[0..12) for
// head[0..head_len) || payload[0..payload_len). The same bytes auth_sign_packet appends.
inline void auth_write_trailer(const uint8_t key[16], const uint8_t *head, uint32_t head_len, const uint8_t *payload,
                               uint32_t payload_len, uint32_t counter, uint8_t trailer[12]) {
  store_be32(trailer + kAuthCounterOff, counter);
  SipHash24 s;
  s.init(key);
  s.update(head, head_len);
  s.update(payload, payload_len);
  s.update(trailer + kAuthCounterOff, 4);
  store_be64(trailer + kAuthTagOff, s.finish());
}

// Sign a frame: frame[0..len) is build_frame output (or any frame whose IPv4 total length and UDP
// length agree and whose Fanout header lacks kFlagAuth). Sets kFlagAuth, appends the trailer at
// the end of the UDP payload (bytes after the IPv4 total length are dropped), and fixes the IPv4
// total length and checksum and the UDP length. UDP checksum: 0 stays 0 (relays); a non-zero
// checksum (an endpoint computed one) is recomputed over the new datagram. Returns false and
// leaves the frame unchanged if it is too short, the lengths disagree, the flag is already set, or
// the result exceeds cap or kMaxFrameBytes. The trailer's cost: 12 bytes per packet.
inline bool auth_append(uint8_t *frame, uint32_t len, uint32_t cap, const uint8_t key[16], uint32_t counter,
                        uint32_t *new_len) {
  if (len < kFixedHeadersBytes) return false;
  uint8_t *ip = frame + kIpv4Offset;
  uint8_t *udp = frame + kUdpOffset;
  uint32_t ip_total = load_be16(ip + 2);
  uint32_t udp_len = load_be16(udp + 4);
  if (ip_total > len - kIpv4Offset || udp_len != ip_total - kIpv4HeaderBytes ||
      udp_len < kUdpHeaderBytes + kFanoutHeaderBytes)
    return false;
  uint32_t fo_len = udp_len - kUdpHeaderBytes;
  uint32_t end = kIpv4Offset + ip_total;
  uint32_t n = end + kAuthTrailerBytes;
  if (n > cap || n > kMaxFrameBytes) return false;
  uint32_t signed_len = 0;
  if (!auth_sign_packet(frame + kFanoutOffset, fo_len, fo_len + kAuthTrailerBytes, key, counter, &signed_len))
    return false;
  store_be16(ip + 2, (uint16_t)(ip_total + kAuthTrailerBytes));
  store_be16(ip + 10, 0);
  store_be16(ip + 10, ipv4_checksum(ip));
  udp_len += kAuthTrailerBytes;
  store_be16(udp + 4, (uint16_t)udp_len);
  if (load_be16(udp + 6) != 0) {
    store_be16(udp + 6, 0);
    store_be16(udp + 6, udp_checksum(load_be32(ip + 12), load_be32(ip + 16), udp, udp_len));
  }
  *new_len = n;
  return true;
}

// ---- Verify --------------------------------------------------------------------------------
// The tag alone, stateless: kAuthUnsigned (no trailer), kAuthBadTag or kAuthOk; out gets the
// trailer's counter and tag and the origin. fo[0..fo_len) is the Fanout part; trailer_off and
// auth come from the parse (ParsedPacket / PacketView, relative to fo).
inline int auth_verify_fanout(const uint8_t *fo, uint32_t fo_len, bool auth, uint32_t trailer_off,
                              const uint8_t key[16], AuthResult &out) {
  out.counter = 0;
  out.tag = 0;
  out.origin = load_be16(fo + kFoOriginOff);
  if (!auth) return kAuthUnsigned;
  if (trailer_off < kFanoutHeaderBytes || trailer_off > fo_len || fo_len - trailer_off < kAuthTrailerBytes)
    return kAuthBadTag; // not a parse result for this packet
  out.counter = load_be32(fo + trailer_off + kAuthCounterOff);
  out.tag = load_be64(fo + trailer_off + kAuthTagOff);
  return auth_tag(key, fo, trailer_off) == out.tag ? (int)kAuthOk : (int)kAuthBadTag;
}

// A parsed frame (pp from parse_frame on frame[0..len)): the tag, then the counter against the
// window, which records it only if both pass (a forged packet never moves the window).
template <uint32_t Ids>
int auth_check(const uint8_t *frame, uint32_t len, const ParsedPacket &pp, const uint8_t key[16],
               ReplayWindow<Ids> &window, AuthResult &out) {
  uint32_t off = pp.auth ? pp.auth_offset - kFanoutOffset : 0;
  if (len < kFixedHeadersBytes) return kAuthBadTag;
  int c = auth_verify_fanout(frame + kFanoutOffset, len - kFanoutOffset, pp.auth, off, key, out);
  if (c != kAuthOk) return c;
  return window.accept(out.origin, out.counter);
}

// A parsed Fanout part (pv from parse_packet on packet[0..len)): as auth_check.
template <uint32_t Ids>
int auth_check_packet(const uint8_t *packet, uint32_t len, const PacketView &pv, const uint8_t key[16],
                      ReplayWindow<Ids> &window, AuthResult &out) {
  if (len < kFanoutHeaderBytes) return kAuthBadTag;
  int c = auth_verify_fanout(packet, len, pv.auth, pv.auth ? pv.auth_offset : 0, key, out);
  if (c != kAuthOk) return c;
  return window.accept(out.origin, out.counter);
}

} // namespace proto
} // namespace fanout

#endif
