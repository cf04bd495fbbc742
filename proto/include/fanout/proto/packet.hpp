// Frames: build (encode) and parse (decode + validate) Ethernet/IPv4/UDP/Fanout packets.
//
// parse_frame never reads outside [frame, frame + len) and returns one ParseError code per
// malformed class (wire.hpp). build_frame computes the IPv4 header checksum, the IPv4 and UDP
// lengths and, if asked, the UDP checksum (0 = none, as RFC 768 allows for IPv4: a node that
// rewrites headers in flight sends 0; a receiver verifies any non-zero checksum).
// build_packet / parse_packet do the same for the Fanout part alone (a UDP datagram's payload,
// what a transport over the host's sockets sees), with the same rules (parse_fanout_part).
//
// C++14, synthesizable subset.
#ifndef FANOUT_PROTO_PACKET_HPP
#define FANOUT_PROTO_PACKET_HPP

#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/set_codec.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace proto {

struct FanoutHeader {
  uint8_t version;
  uint8_t type;
  uint8_t flags;
  uint8_t set_encoding;
  uint8_t hops_left;
  uint16_t set_len;
  NodeId sender;
  NodeId origin;
  uint32_t message_id;
  uint32_t sequence;
  uint32_t length;
};

// The outer headers' fields a node chooses; lengths and checksums are computed.
struct NetHeaders {
  uint8_t eth_dst[6];
  uint8_t eth_src[6];
  uint32_t ip_src;
  uint32_t ip_dst;
  uint8_t ip_tos; // DSCP/ECN
  uint8_t ip_ttl;
  uint16_t ip_id;
  uint16_t udp_src_port; // entropy for ECMP: senders derive it from (sender, message id)
  uint16_t udp_dst_port;
};

// ECMP entropy for the UDP source port: every packet of one message takes one path (no
// reordering inside a message); different messages spread over paths. Dynamic range 49152..65535.
inline uint16_t entropy_port(NodeId sender, uint32_t message_id) {
  return (uint16_t)(49152u + (((uint32_t)sender * 2654435761u) ^ message_id) % 16384u);
}

// The address plan of simulated and example clusters: node n has MAC 02:00:00:00:hi(n):lo(n)
// (locally administered) and IPv4 10.0.hi(n).lo(n). Deployments take addresses from their
// neighbour table instead; only the node ids are part of the protocol.
inline uint32_t cluster_ipv4(NodeId n) {
  return 0x0A000000u | n;
}
inline void cluster_mac(NodeId n, uint8_t mac[6]) {
  mac[0] = 0x02;
  mac[1] = 0;
  mac[2] = 0;
  mac[3] = 0;
  mac[4] = (uint8_t)(n >> 8);
  mac[5] = (uint8_t)n;
}
// Outer headers for a copy from node `from` to node `to` of message (sender, message_id).
inline NetHeaders cluster_net_headers(NodeId from, NodeId to, NodeId sender, uint32_t message_id) {
  NetHeaders net;
  cluster_mac(to, net.eth_dst);
  cluster_mac(from, net.eth_src);
  net.ip_src = cluster_ipv4(from);
  net.ip_dst = cluster_ipv4(to);
  net.ip_tos = 0;
  net.ip_ttl = kDefaultIpTtl;
  net.ip_id = 0;
  net.udp_src_port = entropy_port(sender, message_id);
  net.udp_dst_port = kDefaultUdpPort;
  return net;
}

inline FanoutHeader make_header(uint8_t type, NodeId sender, NodeId origin, uint32_t message_id, uint32_t sequence,
                                uint32_t length) {
  FanoutHeader h;
  h.version = kProtocolVersion;
  h.type = type;
  h.flags = 0;
  h.set_encoding = kSetNone;
  h.hops_left = kDefaultHops;
  h.set_len = 0;
  h.sender = sender;
  h.origin = origin;
  h.message_id = message_id;
  h.sequence = sequence;
  h.length = length;
  return h;
}

inline void write_fanout_header(const FanoutHeader &h, uint8_t *p) {
  p[kFoVerTypeOff] = (uint8_t)((h.version << 4) | (h.type & 0x0F));
  p[kFoFlagsOff] = h.flags;
  p[kFoSetEncOff] = (uint8_t)(h.set_encoding & 0x0F);
  p[kFoHopsOff] = h.hops_left;
  store_be16(p + kFoSetLenOff, h.set_len);
  store_be16(p + kFoSenderOff, h.sender);
  store_be16(p + kFoOriginOff, h.origin);
  store_be32(p + kFoMessageIdOff, h.message_id);
  store_be32(p + kFoSequenceOff, h.sequence);
  store_be32(p + kFoLengthOff, h.length);
}

inline FanoutHeader read_fanout_header(const uint8_t *p) {
  FanoutHeader h;
  h.version = (uint8_t)(p[kFoVerTypeOff] >> 4);
  h.type = (uint8_t)(p[kFoVerTypeOff] & 0x0F);
  h.flags = p[kFoFlagsOff];
  h.set_encoding = (uint8_t)(p[kFoSetEncOff] & 0x0F);
  h.hops_left = p[kFoHopsOff];
  h.set_len = load_be16(p + kFoSetLenOff);
  h.sender = load_be16(p + kFoSenderOff);
  h.origin = load_be16(p + kFoOriginOff);
  h.message_id = load_be32(p + kFoMessageIdOff);
  h.sequence = load_be32(p + kFoSequenceOff);
  h.length = load_be32(p + kFoLengthOff);
  return h;
}

// ---- Checksums -----------------------------------------------------------------------------
// One's-complement sum of 16-bit big-endian words (odd trailing byte padded with zero).
inline uint32_t ones_sum(const uint8_t *p, uint32_t len, uint32_t sum) {
  for (uint32_t i = 0; i + 1 < len; i += 2) sum += load_be16(p + i);
  if (len & 1) sum += (uint32_t)p[len - 1] << 8;
  return sum;
}
inline uint16_t ones_fold(uint32_t sum) {
  for (int i = 0; i < 2; i++) sum = (sum & 0xFFFF) + (sum >> 16);
  return (uint16_t)sum;
}
// IPv4 header checksum over the 20-byte header at ip (checksum field included: 0 when computing).
inline uint16_t ipv4_checksum(const uint8_t *ip) {
  return (uint16_t)~ones_fold(ones_sum(ip, kIpv4HeaderBytes, 0));
}
// UDP checksum over pseudo-header + UDP header + data (udp points at the UDP header, udp_len
// bytes). A result of 0 is sent as 0xFFFF.
inline uint16_t udp_checksum(uint32_t ip_src, uint32_t ip_dst, const uint8_t *udp, uint32_t udp_len) {
  uint32_t sum = (ip_src >> 16) + (ip_src & 0xFFFF) + (ip_dst >> 16) + (ip_dst & 0xFFFF) + kIpProtoUdp + udp_len;
  uint16_t c = (uint16_t)~ones_fold(ones_sum(udp, udp_len, sum));
  return c == 0 ? (uint16_t)0xFFFF : c;
}

// ---- Build ---------------------------------------------------------------------------------
struct BuildOptions {
  SetEncoding encoding; // kSetNone with a non-empty set means "choose the shortest"
  bool udp_checksum;    // compute it (endpoints may); false sends 0 (what relays do)
};

inline BuildOptions default_build_options() {
  BuildOptions o;
  o.encoding = kSetNone;
  o.udp_checksum = false;
  return o;
}

// Ethernet, IPv4 (checksummed) and UDP headers (checksum 0) into out[0..kFanoutOffset) for a
// Fanout part (header, set, payload) of fanout_len bytes that follows them: for builders that
// gather the Fanout part from elsewhere (a header buffer and a payload segment).
inline void write_net_headers(const NetHeaders &net, uint32_t fanout_len, uint8_t *out) {
  for (uint32_t i = 0; i < 6; i++) {
    out[kEthDstOff + i] = net.eth_dst[i];
    out[kEthSrcOff + i] = net.eth_src[i];
  }
  store_be16(out + kEthTypeOff, kEtherTypeIpv4);
  uint32_t udp_len = kUdpHeaderBytes + fanout_len;
  uint8_t *ip = out + kIpv4Offset;
  ip[0] = 0x45;
  ip[1] = net.ip_tos;
  store_be16(ip + 2, (uint16_t)(kIpv4HeaderBytes + udp_len));
  store_be16(ip + 4, net.ip_id);
  store_be16(ip + 6, kIpv4FlagDontFragment);
  ip[8] = net.ip_ttl;
  ip[9] = kIpProtoUdp;
  store_be32(ip + 12, net.ip_src);
  store_be32(ip + 16, net.ip_dst);
  // The header checksum from the field values (what ipv4_checksum() would read back from the
  // bytes just written: the same one's-complement sum, without re-reading them).
  uint32_t sum = 0x4500u + net.ip_tos + (kIpv4HeaderBytes + udp_len) + net.ip_id + kIpv4FlagDontFragment +
                 ((uint32_t)net.ip_ttl << 8 | kIpProtoUdp) + (net.ip_src >> 16) + (net.ip_src & 0xFFFFu) +
                 (net.ip_dst >> 16) + (net.ip_dst & 0xFFFFu);
  store_be16(ip + 10, (uint16_t)~ones_fold(sum));
  uint8_t *udp = out + kUdpOffset;
  store_be16(udp + 0, net.udp_src_port);
  store_be16(udp + 2, net.udp_dst_port);
  store_be16(udp + 4, (uint16_t)udp_len);
  store_be16(udp + 6, 0);
}

// Write a whole frame into out[0..cap). h.set_encoding and h.set_len are filled in from set.
// Returns kOk and *frame_len, or kSetTooLarge (set body over
// kMaxSetBytes), kFrameTooLong (over cap or kMaxFrameBytes), kBadSetEncoding, kSetEmpty.
template <uint32_t M>
int build_frame(const NetHeaders &net, FanoutHeader h, const BasicReceiverSet<M> &set, const uint8_t *payload,
                uint32_t payload_len, const BuildOptions &opt, uint8_t *out, uint32_t cap, uint32_t *frame_len) {
  *frame_len = 0;
  SetEncoding enc = opt.encoding;
  SetCost cost = set_cost(set); // once: it walks the set
  if (enc == kSetNone && !set.empty()) enc = cost.best_encoding();
  uint32_t set_bytes = enc == kSetNone ? 0 : cost.bytes(enc);
  if (set_bytes > kMaxSetBytes) return kSetTooLarge;
  uint32_t len = kFixedHeadersBytes + set_bytes + payload_len;
  if (payload_len > kMaxFrameBytes || len > kMaxFrameBytes || len > cap) return kFrameTooLong;
  uint32_t written = 0;
  int err = encode_set(set, enc, out + kSetOffset, cap - kSetOffset, &written);
  if (err != kOk) return err;
  h.set_encoding = (uint8_t)enc;
  h.set_len = (uint16_t)written;

  uint32_t udp_len = kUdpHeaderBytes + kFanoutHeaderBytes + written + payload_len;
  write_net_headers(net, kFanoutHeaderBytes + written + payload_len, out);
  uint8_t *udp = out + kUdpOffset;
  write_fanout_header(h, out + kFanoutOffset);
  uint8_t *pl = out + kSetOffset + written;
  for (uint32_t i = 0; i < payload_len; i++) pl[i] = payload[i];
  if (opt.udp_checksum) store_be16(udp + 6, udp_checksum(net.ip_src, net.ip_dst, udp, udp_len));

  // The fixed headers alone are 64 bytes, so a Fanout frame never needs Ethernet padding.
  *frame_len = kFixedHeadersBytes + written + payload_len;
  return kOk;
}

// ---- Parse ---------------------------------------------------------------------------------
struct ParseConfig {
  uint16_t udp_port;        // the Fanout destination port
  bool verify_udp_checksum; // verify non-zero UDP checksums (software paths)
};

inline ParseConfig default_parse_config() {
  ParseConfig c;
  c.udp_port = kDefaultUdpPort;
  c.verify_udp_checksum = true;
  return c;
}

struct ParsedPacket {
  FanoutHeader hdr;
  uint8_t eth_dst[6];
  uint8_t eth_src[6];
  uint32_t ip_src;
  uint32_t ip_dst;
  uint8_t ip_tos;
  uint16_t udp_src_port;
  uint16_t udp_dst_port;
  uint32_t set_offset;     // frame offset of the receiver-set body (always kSetOffset)
  uint32_t payload_offset; // frame offset of the payload
  uint32_t payload_len;    // payload bytes (from the UDP length; Ethernet padding and the auth
                           // trailer excluded)
  bool auth;               // kFlagAuth: an auth trailer follows the payload (not yet verified:
                           // auth.hpp's auth_check does that)
  uint32_t auth_offset;    // frame offset of the trailer (payload_offset + payload_len); 0 if none
};

// Message reassembly rule: every packet of a message but the last carries the same payload size
// S; the last carries the rest (1..S bytes, or 0 for an empty message). Hence any DATA packet
// alone gives its byte offset in the message:
inline uint32_t data_offset(const FanoutHeader &h, uint32_t payload_len) {
  return (h.flags & kFlagLast) ? h.length - payload_len : h.sequence * payload_len;
}
// Packets in the message, from any one of its DATA packets (0 if it cannot be told: a non-last
// packet with an empty payload, which validation rejects).
inline uint32_t packets_in_message(const FanoutHeader &h, uint32_t payload_len) {
  if (h.flags & kFlagLast) return h.sequence + 1;
  if (payload_len == 0) return 0;
  return (uint32_t)(((uint64_t)h.length + payload_len - 1) / payload_len);
}

// DATA fields against the reassembly rule above.
inline bool data_lengths_consistent(const FanoutHeader &h, uint32_t payload_len) {
  if (h.flags & kFlagLast) {
    if (payload_len > h.length) return false;
    if (h.sequence == 0) return payload_len == h.length;
    uint32_t before = h.length - payload_len; // bytes in packets 0..sequence-1, all of size S
    if (before % h.sequence != 0) return false;
    uint32_t s = before / h.sequence;
    return s > 0 && payload_len <= s && (payload_len > 0 || h.length == 0);
  }
  if (payload_len == 0) return false;
  return ((uint64_t)h.sequence + 1) * payload_len < (uint64_t)h.length;
}

// The Fanout part of a packet: fo[0..fo_len) holds the Fanout header, the set body and the payload
// (in a frame: the UDP payload; fo_len >= kFanoutHeaderBytes), then, with kFlagAuth, the 12-byte
// auth trailer (not counted in *payload_len; it starts at header + set + *payload_len). Checks in
// the order of docs/protocol.md section 8 from the version on; reads the header and the set body,
// never the payload or the trailer (the tag is auth_check's job). Shared by parse_frame and
// parse_packet so the rules are written once.
template <uint32_t M>
int parse_fanout_part(const uint8_t *fo, uint32_t fo_len, FanoutHeader &hdr, uint32_t *payload_len,
                      BasicReceiverSet<M> *set) {
  FanoutHeader h = read_fanout_header(fo);
  if (h.version != kProtocolVersion) return kBadVersion;
  if (h.type < kTypeData || h.type > kTypeProbe) return kBadType;
  if (h.set_encoding > kSetBitmap) return kBadSetEncoding;
  uint32_t after_header = fo_len - kFanoutHeaderBytes;
  if (h.set_len > kMaxSetBytes) return kSetTooLarge;
  if (h.set_len > after_header) return kSetTruncated;
  bool needs_set = h.type == kTypeData || h.type == kTypeNack;
  if (h.type == kTypeProbe && h.set_encoding != kSetNone) return kBadSetEncoding;
  if (needs_set && h.set_encoding == kSetNone) return kBadSetEncoding;
  if (h.set_encoding == kSetNone && h.set_len != 0) return kBadSetEncoding;

  uint32_t plen = after_header - h.set_len;
  if (h.flags & kFlagAuth) {
    if (plen < kAuthTrailerBytes) return kAuthTruncated;
    plen -= kAuthTrailerBytes;
  }
  if (h.type == kTypeData) {
    if (!data_lengths_consistent(h, plen)) return kLengthMismatch;
  } else if (plen != 0) {
    return kLengthMismatch; // feedback and probes carry no payload
  } else if (h.type == kTypeProbe && h.length != 0) {
    return kLengthMismatch;
  }

  if (h.set_encoding != kSetNone) {
    // Validate even when the caller does not want the set (a bounded scratch set would be as large
    // as the body allows, so decode into the caller's set or a default-capacity one).
    if (set) {
      int e = decode_set((SetEncoding)h.set_encoding, fo + kFanoutHeaderBytes, h.set_len, *set);
      if (e != kOk) return e;
    } else {
      ReceiverSet scratch;
      int e = decode_set((SetEncoding)h.set_encoding, fo + kFanoutHeaderBytes, h.set_len, scratch);
      if (e != kOk) return e;
    }
  } else if (set) {
    set->clear();
  }
  hdr = h;
  *payload_len = plen;
  return kOk;
}

// Parse and validate frame[0..len). On kOk, out is filled and, if set is non-null, the receiver
// set is decoded into it. On kNotFanout the frame belongs to the host stack. Any other code is a
// malformed Fanout packet: drop it and count the code.
// With cfg.verify_udp_checksum false, only frame[0..min(len, kSetOffset + kMaxSetBytes)) is read
// (headers and set body, never the payload): a caller may pass just that prefix with the whole
// frame's length, as the HLS parser does with the beats it keeps.
template <uint32_t M>
int parse_frame(const uint8_t *frame, uint32_t len, const ParseConfig &cfg, ParsedPacket &out,
                BasicReceiverSet<M> *set) {
  if (len < kEthHeaderBytes) return kTruncated;
  if (len > kMaxFrameBytes) return kFrameTooLong;
  if (load_be16(frame + kEthTypeOff) != kEtherTypeIpv4) return kNotFanout;
  if (len < kIpv4Offset + kIpv4HeaderBytes) return kTruncated;
  const uint8_t *ip = frame + kIpv4Offset;
  uint8_t ver = (uint8_t)(ip[0] >> 4), ihl = (uint8_t)(ip[0] & 0x0F);
  if (ver != 4 || ihl < 5) return kIpv4BadHeader;
  if (ip[9] != kIpProtoUdp) return kNotFanout;
  uint16_t flags_frag = load_be16(ip + 6);
  if ((flags_frag & kIpv4FragOffsetMask) != 0) return kNotFanout; // a later fragment has no UDP header
  if (ihl != 5) {
    // Options move the UDP header; Fanout never sends them. Only Fanout's port makes it ours.
    uint32_t udp_at = kIpv4Offset + 4u * ihl;
    if (len >= udp_at + 4 && load_be16(frame + udp_at + 2) == cfg.udp_port) return kIpv4BadHeader;
    return kNotFanout;
  }
  if (len < kUdpOffset + kUdpHeaderBytes) return kTruncated;
  const uint8_t *udp = frame + kUdpOffset;
  if (load_be16(udp + 2) != cfg.udp_port) return kNotFanout;

  // From here on the frame claims to be Fanout: every inconsistency is an error.
  if (ones_fold(ones_sum(ip, kIpv4HeaderBytes, 0)) != 0xFFFF) return kIpv4BadChecksum;
  uint32_t ip_total = load_be16(ip + 2);
  if (ip_total < kIpv4HeaderBytes + kUdpHeaderBytes || ip_total > len - kIpv4Offset) return kIpv4BadLength;
  if (flags_frag & kIpv4FlagMoreFragments) return kIpv4Fragment;
  uint32_t udp_len = load_be16(udp + 4);
  if (udp_len != ip_total - kIpv4HeaderBytes) return kUdpBadLength;
  uint32_t ip_src = load_be32(ip + 12), ip_dst = load_be32(ip + 16);
  uint16_t udp_sum = load_be16(udp + 6);
  if (cfg.verify_udp_checksum && udp_sum != 0) {
    uint32_t sum = (ip_src >> 16) + (ip_src & 0xFFFF) + (ip_dst >> 16) + (ip_dst & 0xFFFF) + kIpProtoUdp + udp_len;
    if (ones_fold(ones_sum(udp, udp_len, sum)) != 0xFFFF) return kUdpBadChecksum;
  }
  if (udp_len < kUdpHeaderBytes + kFanoutHeaderBytes) return kFanoutTruncated;

  FanoutHeader h;
  uint32_t payload_len = 0;
  int e = parse_fanout_part(frame + kFanoutOffset, udp_len - kUdpHeaderBytes, h, &payload_len, set);
  if (e != kOk) return e;

  out.hdr = h;
  for (uint32_t i = 0; i < 6; i++) {
    out.eth_dst[i] = frame[kEthDstOff + i];
    out.eth_src[i] = frame[kEthSrcOff + i];
  }
  out.ip_src = ip_src;
  out.ip_dst = ip_dst;
  out.ip_tos = ip[1];
  out.udp_src_port = load_be16(udp + 0);
  out.udp_dst_port = load_be16(udp + 2);
  out.set_offset = kSetOffset;
  out.payload_offset = kSetOffset + h.set_len;
  out.payload_len = payload_len;
  out.auth = (h.flags & kFlagAuth) != 0;
  out.auth_offset = out.auth ? out.payload_offset + payload_len : 0;
  return kOk;
}

// ---- Packets: the Fanout part alone ------------------------------------------------------------
// A transport that carries Fanout in UDP datagrams through the host's socket API (the driver's
// udp backend) sends and receives only the UDP payload: Fanout header, receiver set, payload.
// The same rules apply as to a frame; a packet is limited to what one frame can carry.
static const uint32_t kMaxPacketBytes = kMaxFrameBytes - kFanoutOffset; // 8,972

// Offsets relative to the packet's first byte (the Fanout header).
struct PacketView {
  FanoutHeader hdr;
  uint32_t set_offset;     // always kFanoutHeaderBytes
  uint32_t payload_offset; // kFanoutHeaderBytes + set length
  uint32_t payload_len;    // the auth trailer excluded
  bool auth;               // kFlagAuth: an auth trailer follows the payload (not yet verified)
  uint32_t auth_offset;    // offset of the trailer (payload_offset + payload_len); 0 if none
};

// Write the Fanout header and the set body; the caller places payload_len payload bytes right
// after them (a copy, or gather I/O). h.set_encoding and h.set_len are filled in from set.
// Returns kOk and *header_len (22 + set body), or kSetTooLarge (set body over kMaxSetBytes),
// kFrameTooLong (header + set + payload over kMaxPacketBytes, or header + set over cap),
// kBadSetEncoding, kSetEmpty.
template <uint32_t M>
int build_packet_header(FanoutHeader h, const BasicReceiverSet<M> &set, uint32_t payload_len, const BuildOptions &opt,
                        uint8_t *out, uint32_t cap, uint32_t *header_len) {
  *header_len = 0;
  SetEncoding enc = opt.encoding;
  SetCost cost = set_cost(set); // once: it walks the set
  if (enc == kSetNone && !set.empty()) enc = cost.best_encoding();
  uint32_t set_bytes = enc == kSetNone ? 0 : cost.bytes(enc);
  if (set_bytes > kMaxSetBytes) return kSetTooLarge;
  uint32_t len = kFanoutHeaderBytes + set_bytes;
  if (payload_len > kMaxPacketBytes || len + payload_len > kMaxPacketBytes || len > cap) return kFrameTooLong;
  uint32_t written = 0;
  int err = encode_set(set, enc, out + kFanoutHeaderBytes, cap - kFanoutHeaderBytes, &written);
  if (err != kOk) return err;
  h.set_encoding = (uint8_t)enc;
  h.set_len = (uint16_t)written;
  write_fanout_header(h, out);
  *header_len = kFanoutHeaderBytes + written;
  return kOk;
}

// The whole packet into out[0..cap): header, set and a copy of the payload.
template <uint32_t M>
int build_packet(const FanoutHeader &h, const BasicReceiverSet<M> &set, const uint8_t *payload, uint32_t payload_len,
                 const BuildOptions &opt, uint8_t *out, uint32_t cap, uint32_t *packet_len) {
  *packet_len = 0;
  uint32_t hl = 0;
  int err = build_packet_header(h, set, payload_len, opt, out, cap, &hl);
  if (err != kOk) return err;
  if (payload_len > cap - hl) return kFrameTooLong;
  for (uint32_t i = 0; i < payload_len; i++) out[hl + i] = payload[i];
  *packet_len = hl + payload_len;
  return kOk;
}

// Parse and validate packet[0..len). kFrameTooLong over kMaxPacketBytes, kFanoutTruncated under
// kFanoutHeaderBytes, then the frame's Fanout checks in the same order (parse_fanout_part).
// Every byte of the packet is covered by the rules: there is no padding to skip.
template <uint32_t M> int parse_packet(const uint8_t *packet, uint32_t len, PacketView &out, BasicReceiverSet<M> *set) {
  if (len > kMaxPacketBytes) return kFrameTooLong;
  if (len < kFanoutHeaderBytes) return kFanoutTruncated;
  FanoutHeader h;
  uint32_t payload_len = 0;
  int e = parse_fanout_part(packet, len, h, &payload_len, set);
  if (e != kOk) return e;
  out.hdr = h;
  out.set_offset = kFanoutHeaderBytes;
  out.payload_offset = kFanoutHeaderBytes + h.set_len;
  out.payload_len = payload_len;
  out.auth = (h.flags & kFlagAuth) != 0;
  out.auth_offset = out.auth ? out.payload_offset + payload_len : 0;
  return kOk;
}

} // namespace proto
} // namespace fanout

#endif
