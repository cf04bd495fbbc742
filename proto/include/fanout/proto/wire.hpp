// Fanout wire format: every constant, field offset and code point, defined once.
//
// Frame: Ethernet II (14) / IPv4 without options (20) / UDP (8) / Fanout header (22) /
// receiver set (set_len bytes) / payload. The four fixed headers are exactly 64 bytes, so on a
// 512-bit AXI-Stream the first beat holds all of them and the receiver set starts on beat 1.
// All multi-byte fields are big-endian (network byte order). docs/protocol.md is the prose.
//
// C++14, synthesizable subset: this header is included by HLS kernels.
#ifndef FANOUT_PROTO_WIRE_HPP
#define FANOUT_PROTO_WIRE_HPP

#include <stdint.h>

namespace fanout {
namespace proto {

// ---- Sizes -------------------------------------------------------------------------------
static const uint32_t kEthHeaderBytes = 14;
static const uint32_t kIpv4HeaderBytes = 20; // IHL 5: options are not used by Fanout
static const uint32_t kUdpHeaderBytes = 8;
static const uint32_t kFanoutHeaderBytes = 22;
static const uint32_t kEthOffset = 0;
static const uint32_t kIpv4Offset = kEthOffset + kEthHeaderBytes;      // 14
static const uint32_t kUdpOffset = kIpv4Offset + kIpv4HeaderBytes;     // 34
static const uint32_t kFanoutOffset = kUdpOffset + kUdpHeaderBytes;    // 42
static const uint32_t kSetOffset = kFanoutOffset + kFanoutHeaderBytes; // 64: beat 1 on a 512-bit bus
static const uint32_t kFixedHeadersBytes = kSetOffset;
static const uint32_t kBeatBytes = 64; // 512-bit AXI-Stream data width

// Receiver-set body limit per packet. 1024 bytes = 16 beats = 512 listed ids, 256 ranges or a
// bitmap of up to 8,160 ids. A node whose copy would carry a larger set (a sender's set, or a
// port's subset at a switch-like node) cuts it into contiguous pieces, one copy per piece
// (split.hpp, partition_for_packets).
static const uint32_t kMaxSetBytes = 1024;
// Smallest frame Ethernet carries (without FCS); shorter frames are padded by the sender.
static const uint32_t kMinFrameBytes = 60;
// Largest frame this implementation accepts (9,000-byte jumbo MTU + Ethernet header).
static const uint32_t kMaxFrameBytes = 9014;

// ---- Node ids ------------------------------------------------------------------------------
typedef uint16_t NodeId;
static const uint32_t kNodeIdSpace = 65536; // 16-bit ids: 0..65535, all valid receivers

// ---- Ethernet / IPv4 / UDP -----------------------------------------------------------------
static const uint16_t kEtherTypeIpv4 = 0x0800;
// IPv6 (0x86DD) is reserved for a later version: the Fanout header does not depend on the IP
// version, so only the outer header parse changes. Today such frames are "not Fanout".
static const uint16_t kEtherTypeIpv6 = 0x86DD;
static const uint8_t kIpProtoUdp = 17;
static const uint16_t kDefaultUdpPort = 47100; // configurable per deployment
static const uint8_t kDefaultIpTtl = 64;
static const uint16_t kIpv4FlagDontFragment = 0x4000;
static const uint16_t kIpv4FlagMoreFragments = 0x2000;
static const uint16_t kIpv4FragOffsetMask = 0x1FFF;

// Ethernet field offsets (from frame start)
static const uint32_t kEthDstOff = 0;
static const uint32_t kEthSrcOff = 6;
static const uint32_t kEthTypeOff = 12;
// IPv4 field offsets (from frame start)
static const uint32_t kIpVerIhlOff = kIpv4Offset + 0;
static const uint32_t kIpTosOff = kIpv4Offset + 1;
static const uint32_t kIpTotalLenOff = kIpv4Offset + 2;
static const uint32_t kIpIdOff = kIpv4Offset + 4;
static const uint32_t kIpFlagsFragOff = kIpv4Offset + 6;
static const uint32_t kIpTtlOff = kIpv4Offset + 8;
static const uint32_t kIpProtoOff = kIpv4Offset + 9;
static const uint32_t kIpChecksumOff = kIpv4Offset + 10;
static const uint32_t kIpSrcOff = kIpv4Offset + 12;
static const uint32_t kIpDstOff = kIpv4Offset + 16;
// UDP field offsets (from frame start)
static const uint32_t kUdpSrcPortOff = kUdpOffset + 0;
static const uint32_t kUdpDstPortOff = kUdpOffset + 2;
static const uint32_t kUdpLenOff = kUdpOffset + 4;
static const uint32_t kUdpChecksumOff = kUdpOffset + 6;

// ---- Fanout header (22 bytes) ----------------------------------------------------------------
//  off size field
//   0   1   version (high 4 bits) | type (low 4 bits)
//   1   1   flags
//   2   1   set encoding (low 4 bits; high 4 bits reserved, sent 0, ignored)
//   3   1   hops left (decremented by every node that forwards)
//   4   2   set length: bytes of receiver-set body after this header
//   6   2   sender: the message's owner (the node that posted it)
//   8   2   origin: DATA: the node that sent this copy (the receiver's parent);
//               ACK/NACK: the node that created or aggregated it (kept when passed through)
//  10   4   message id (sender-scoped)
//  14   4   sequence
//  18   4   length
// Offsets are relative to the Fanout header; add kFanoutOffset for frame offsets.
static const uint32_t kFoVerTypeOff = 0;
static const uint32_t kFoFlagsOff = 1;
static const uint32_t kFoSetEncOff = 2;
static const uint32_t kFoHopsOff = 3;
static const uint32_t kFoSetLenOff = 4;
static const uint32_t kFoSenderOff = 6;
static const uint32_t kFoOriginOff = 8;
static const uint32_t kFoMessageIdOff = 10;
static const uint32_t kFoSequenceOff = 14;
static const uint32_t kFoLengthOff = 18;

static const uint8_t kProtocolVersion = 1;
static const uint8_t kDefaultHops = 32; // > depth of any tree over 65,536 ids with F >= 2
// PROBE hops-left tells whose probe it is: 0 a link monitor's heartbeat (link-local, to the
// host), kPeerProbeHops a NIC peer monitor's probe, reply or keepalive (NIC to NIC: consumed by
// the receiving NIC, never given to its host), anything else a transport's probe (host to host).
static const uint8_t kPeerProbeHops = 1;

// Packet types (4 bits). Field meanings per type are in docs/protocol.md:
//   DATA  sequence = packet index in the message, length = message length in bytes
//   ACK   sequence = cumulative: every covered receiver holds all packets < sequence,
//         length = number of receivers covered, set = ranges of ids covered
//   NACK  sequence = first missing packet, length = missing packet count (0 = all from
//         sequence on, used to report silent receivers), set = receivers that miss them
//   PROBE sequence = heartbeat counter, length = 0, no set
enum PacketType {
  kTypeData = 1,
  kTypeAck = 2,
  kTypeNack = 3,
  kTypeProbe = 4,
};

// Flags (8 bits). Unassigned bits are sent 0 and ignored on receipt.
static const uint8_t kFlagLast = 0x01;   // DATA: last packet of the message
static const uint8_t kFlagRetx = 0x02;   // DATA: retransmission
static const uint8_t kFlagAckReq = 0x04; // DATA: receiver should acknowledge at once
static const uint8_t kFlagSilent = 0x08; // NACK: receivers did not answer within the timeout
static const uint8_t kFlagReply = 0x10;  // PROBE: answer to a probe (echoes its sequence)
static const uint8_t kFlagGone = 0x20;   // NACK: receivers known down (peer or link monitor): data
                                         // will not reach them; do not retransmit to them
static const uint8_t kFlagAuth = 0x40;   // any type: the UDP payload ends with the 12-byte auth
                                         // trailer (auth.hpp); it is not payload

// Auth trailer (kFlagAuth): the last 12 bytes of the UDP payload, after the payload.
//  off size field
//   0   4   counter: per signing node (the packet's origin), strictly increasing, from 1
//   4   8   tag: SipHash-2-4 under the group key of Fanout header || set || payload || counter
static const uint32_t kAuthTrailerBytes = 12;
static const uint32_t kAuthCounterOff = 0;
static const uint32_t kAuthTagOff = 4;
static const uint32_t kAuthKeyBytes = 16;

// A NIC peer monitor's PROBE (kPeerProbeHops above).
inline bool is_peer_probe(uint8_t type, uint8_t hops_left) {
  return type == kTypeProbe && hops_left == kPeerProbeHops;
}

// Receiver-set encodings (4 bits).
enum SetEncoding {
  kSetNone = 0,   // no set (PROBE, ACK without ranges)
  kSetList = 1,   // ascending u16 ids, 2 bytes each
  kSetRanges = 2, // ascending disjoint u16 pairs [first, last], 4 bytes each
  kSetBitmap = 3, // runs: u16 first id, u16 byte count n (>= 1), n bitmap bytes, MSB first
};
static const uint32_t kBitmapRunHeaderBytes = 4;
// Addressing bytes: the set fields of the fixed header (encoding, hops, set length: 4 bytes)
// plus the set body. This is what is compared with BIER's 12-byte header + bitstring.
static const uint32_t kAddressingFixedBytes = 4;

// ---- Validation results ----------------------------------------------------------------------
// One code per malformed class; kOk and kNotFanout are not errors. Names in error_name().
enum ParseError {
  kOk = 0,
  kNotFanout,        // not IPv4/UDP to the Fanout port: passed to the host untouched
  kTruncated,        // frame ends inside the Ethernet, IPv4 or UDP header
  kFrameTooLong,     // frame longer than kMaxFrameBytes
  kIpv4BadHeader,    // IPv4 version != 4 or IHL != 5 (options are not used by Fanout)
  kIpv4BadChecksum,  // IPv4 header checksum does not verify
  kIpv4BadLength,    // IPv4 total length < 28 or > bytes present
  kIpv4Fragment,     // MF set or fragment offset != 0: Fanout never fragments
  kUdpBadLength,     // UDP length != IPv4 total length - 20
  kUdpBadChecksum,   // non-zero UDP checksum that does not verify
  kFanoutTruncated,  // UDP payload shorter than the 22-byte Fanout header
  kBadVersion,       // Fanout version != 1
  kBadType,          // unknown packet type
  kBadSetEncoding,   // unknown encoding, or an encoding the packet type does not allow
  kSetTruncated,     // set length runs past the end of the UDP payload
  kSetTooLarge,      // set length > kMaxSetBytes
  kSetBadLength,     // set length not a whole number of entries / bitmap runs
  kSetEmpty,         // DATA/NACK without receivers, or a bitmap run with no bit set
  kSetUnsorted,      // ids, ranges or runs not ascending (or a range with first > last)
  kSetDuplicate,     // the same id twice (equal list ids, overlapping ranges; touching ranges are fine)
  kBitmapOutOfRange, // a bitmap run reaching past id 65535
  kLengthMismatch,   // packet fields inconsistent with the type (payload vs message length, ...)
  kSetNotCanonical,  // bitmap runs not cut by the greedy run rule (set_codec.hpp)
  kAuthTruncated,    // kFlagAuth set but fewer than 12 bytes (the trailer) follow the set
  kErrorCount
};

inline const char *error_name(int e) {
  switch (e) {
  case kOk: return "ok";
  case kNotFanout: return "not_fanout";
  case kTruncated: return "truncated";
  case kFrameTooLong: return "frame_too_long";
  case kIpv4BadHeader: return "ipv4_bad_header";
  case kIpv4BadChecksum: return "ipv4_bad_checksum";
  case kIpv4BadLength: return "ipv4_bad_length";
  case kIpv4Fragment: return "ipv4_fragment";
  case kUdpBadLength: return "udp_bad_length";
  case kUdpBadChecksum: return "udp_bad_checksum";
  case kFanoutTruncated: return "fanout_truncated";
  case kBadVersion: return "bad_version";
  case kBadType: return "bad_type";
  case kBadSetEncoding: return "bad_set_encoding";
  case kSetTruncated: return "set_truncated";
  case kSetTooLarge: return "set_too_large";
  case kSetBadLength: return "set_bad_length";
  case kSetEmpty: return "set_empty";
  case kSetUnsorted: return "set_unsorted";
  case kSetDuplicate: return "set_duplicate";
  case kBitmapOutOfRange: return "bitmap_out_of_range";
  case kLengthMismatch: return "length_mismatch";
  case kSetNotCanonical: return "set_not_canonical";
  case kAuthTruncated: return "auth_truncated";
  default: return "unknown_error";
  }
}

inline const char *type_name(int t) {
  switch (t) {
  case kTypeData: return "DATA";
  case kTypeAck: return "ACK";
  case kTypeNack: return "NACK";
  case kTypeProbe: return "PROBE";
  default: return "?";
  }
}

inline const char *encoding_name(int e) {
  switch (e) {
  case kSetNone: return "none";
  case kSetList: return "list";
  case kSetRanges: return "ranges";
  case kSetBitmap: return "bitmap";
  default: return "?";
  }
}

// ---- Byte order ------------------------------------------------------------------------------
inline uint16_t load_be16(const uint8_t *p) {
  return (uint16_t)(((uint16_t)p[0] << 8) | p[1]);
}
inline uint32_t load_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
inline void store_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
inline void store_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

} // namespace proto
} // namespace fanout

#endif
