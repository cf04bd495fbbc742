// Frames (packet.hpp): build_frame / parse_frame round trips, and one error code per malformed class.
#include "fanout/proto/packet.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace fanout::proto;

using Frame = std::vector<uint8_t>;

NetHeaders test_net() {
  NetHeaders n;
  const uint8_t dst[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  const uint8_t src[6] = {0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE};
  for (int i = 0; i < 6; i++) {
    n.eth_dst[i] = dst[i];
    n.eth_src[i] = src[i];
  }
  n.ip_src = 0x0A000001; // 10.0.0.1
  n.ip_dst = 0x0A0000FE; // 10.0.0.254
  n.ip_tos = 0x2E;
  n.ip_ttl = 17;
  n.ip_id = 0xBEEF;
  n.udp_src_port = 51234;
  n.udp_dst_port = kDefaultUdpPort;
  return n;
}

std::vector<uint8_t> payload_bytes(uint32_t n, uint32_t salt = 0) {
  std::vector<uint8_t> p(n);
  for (uint32_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 31 + salt * 7 + 1);
  return p;
}

ReceiverSet set_of(std::initializer_list<uint16_t> ids) {
  ReceiverSet s;
  for (uint16_t id : ids) EXPECT_TRUE(s.append(id));
  return s;
}

BuildOptions options(SetEncoding e, bool udp_checksum = false) {
  BuildOptions o = default_build_options();
  o.encoding = e;
  o.udp_checksum = udp_checksum;
  return o;
}

// Builds into a large buffer and returns exactly the frame's bytes.
Frame build(const FanoutHeader &h, const ReceiverSet &set, const std::vector<uint8_t> &payload, const BuildOptions &opt,
            const NetHeaders &net = test_net()) {
  std::vector<uint8_t> buf(kMaxFrameBytes + 64, 0xCC);
  uint32_t len = 0;
  int rc =
      build_frame(net, h, set, payload.data(), (uint32_t)payload.size(), opt, buf.data(), (uint32_t)buf.size(), &len);
  EXPECT_EQ(rc, kOk) << error_name(rc);
  buf.resize(len);
  return buf;
}

struct Parsed {
  int rc;
  ParsedPacket pkt;
  ReceiverSet set;
};

// Parses from an exact-size heap buffer (the vector itself), with the set decoded.
std::unique_ptr<Parsed> parse(const Frame &f, const ParseConfig &cfg = default_parse_config()) {
  auto p = std::make_unique<Parsed>();
  p->rc = parse_frame(f.data(), (uint32_t)f.size(), cfg, p->pkt, &p->set);
  return p;
}

int parse_status(const Frame &f, const ParseConfig &cfg = default_parse_config()) {
  ParsedPacket pkt;
  return parse_frame<kMaxSetRanges>(f.data(), (uint32_t)f.size(), cfg, pkt, nullptr);
}

void put16(Frame &f, uint32_t off, uint32_t v) {
  store_be16(f.data() + off, (uint16_t)v);
}
void put32(Frame &f, uint32_t off, uint32_t v) {
  store_be32(f.data() + off, v);
}
uint16_t get16(const Frame &f, uint32_t off) {
  return load_be16(f.data() + off);
}

// Recompute the IPv4 header checksum after editing the IPv4 header (any IHL).
void reseal_ipv4(Frame &f) {
  const uint32_t header_bytes = 4u * (f[kIpVerIhlOff] & 0x0F);
  put16(f, kIpChecksumOff, 0);
  uint32_t sum = 0;
  for (uint32_t i = 0; i < header_bytes; i += 2) sum += get16(f, kIpv4Offset + i);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  put16(f, kIpChecksumOff, (uint16_t)~sum);
}

// Independent RFC 768 check: the one's-complement sum over pseudo-header and datagram is 0xFFFF.
bool udp_checksum_verifies(const Frame &f) {
  const uint32_t udp_len = get16(f, kUdpLenOff);
  uint32_t sum = get16(f, kIpSrcOff) + get16(f, kIpSrcOff + 2) + get16(f, kIpDstOff) + get16(f, kIpDstOff + 2) +
                 kIpProtoUdp + udp_len;
  for (uint32_t i = 0; i < udp_len; i++) sum += (i % 2 == 0) ? (uint32_t)f[kUdpOffset + i] << 8 : f[kUdpOffset + i];
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return sum == 0xFFFF;
}

FanoutHeader data_header(uint32_t sequence, uint32_t length, bool last) {
  FanoutHeader h = make_header(kTypeData, 700, 9, 0xA1B2C3D4, sequence, length);
  h.flags = last ? kFlagLast : 0;
  return h;
}

// Every header field, the outer fields and the payload survive the round trip.
void expect_round_trip(const Frame &f, const FanoutHeader &h, const ReceiverSet &set,
                       const std::vector<uint8_t> &payload, SetEncoding expected_encoding) {
  auto p = parse(f);
  ASSERT_EQ(p->rc, kOk) << error_name(p->rc);
  const FanoutHeader &got = p->pkt.hdr;
  EXPECT_EQ(got.version, kProtocolVersion);
  EXPECT_EQ(got.type, h.type);
  EXPECT_EQ(got.flags, h.flags);
  EXPECT_EQ(got.set_encoding, expected_encoding);
  EXPECT_EQ(got.hops_left, h.hops_left);
  EXPECT_EQ(got.set_len, set_cost(set).bytes(expected_encoding));
  EXPECT_EQ(got.sender, h.sender);
  EXPECT_EQ(got.origin, h.origin);
  EXPECT_EQ(got.message_id, h.message_id);
  EXPECT_EQ(got.sequence, h.sequence);
  EXPECT_EQ(got.length, h.length);
  const NetHeaders net = test_net();
  for (int i = 0; i < 6; i++) {
    EXPECT_EQ(p->pkt.eth_dst[i], net.eth_dst[i]);
    EXPECT_EQ(p->pkt.eth_src[i], net.eth_src[i]);
  }
  EXPECT_EQ(p->pkt.ip_src, net.ip_src);
  EXPECT_EQ(p->pkt.ip_dst, net.ip_dst);
  EXPECT_EQ(p->pkt.ip_tos, net.ip_tos);
  EXPECT_EQ(p->pkt.udp_src_port, net.udp_src_port);
  EXPECT_EQ(p->pkt.udp_dst_port, net.udp_dst_port);
  EXPECT_EQ(p->pkt.set_offset, kSetOffset);
  EXPECT_EQ(p->pkt.payload_offset, kSetOffset + got.set_len);
  ASSERT_EQ(p->pkt.payload_len, payload.size());
  EXPECT_EQ(f.size(), kSetOffset + got.set_len + payload.size());
  EXPECT_EQ(std::vector<uint8_t>(f.begin() + p->pkt.payload_offset, f.end()), payload);
  EXPECT_TRUE(p->set == set);
}

// ---- Wire layout -------------------------------------------------------------------------------
TEST(Packet, BuiltFrameHasTheWireLayout) {
  FanoutHeader h = data_header(2, 5000, false);
  h.flags = kFlagRetx | kFlagAckReq;
  h.hops_left = 7;
  const ReceiverSet set = set_of({0x0102, 0x0304});
  const Frame f = build(h, set, payload_bytes(1000), options(kSetList));
  ASSERT_EQ(f.size(), 64u + 4 + 1000);
  EXPECT_EQ(f[0], 0x02);
  EXPECT_EQ(f[5], 0x55);
  EXPECT_EQ(f[6], 0x02);
  EXPECT_EQ(f[11], 0xEE);
  EXPECT_EQ(get16(f, 12), 0x0800);
  EXPECT_EQ(f[14], 0x45);
  EXPECT_EQ(f[15], 0x2E);
  EXPECT_EQ(get16(f, 16), 20 + 8 + 22 + 4 + 1000);
  EXPECT_EQ(get16(f, 18), 0xBEEF);
  EXPECT_EQ(get16(f, 20), 0x4000); // don't fragment
  EXPECT_EQ(f[22], 17);            // TTL
  EXPECT_EQ(f[23], 17);            // UDP
  EXPECT_EQ(load_be32(&f[26]), 0x0A000001u);
  EXPECT_EQ(load_be32(&f[30]), 0x0A0000FEu);
  EXPECT_EQ(get16(f, 34), 51234);
  EXPECT_EQ(get16(f, 36), 47100);
  EXPECT_EQ(get16(f, 38), 8 + 22 + 4 + 1000);
  EXPECT_EQ(get16(f, 40), 0); // no UDP checksum asked
  EXPECT_EQ(f[42], 0x11);     // version 1, DATA
  EXPECT_EQ(f[43], kFlagRetx | kFlagAckReq);
  EXPECT_EQ(f[44], kSetList);
  EXPECT_EQ(f[45], 7);
  EXPECT_EQ(get16(f, 46), 4);
  EXPECT_EQ(get16(f, 48), 700);
  EXPECT_EQ(get16(f, 50), 9);
  EXPECT_EQ(load_be32(&f[52]), 0xA1B2C3D4u);
  EXPECT_EQ(load_be32(&f[56]), 2u);
  EXPECT_EQ(load_be32(&f[60]), 5000u);
  EXPECT_EQ(std::vector<uint8_t>(f.begin() + 64, f.begin() + 68), (std::vector<uint8_t>{1, 2, 3, 4}));
  // The IPv4 checksum verifies: the header's one's-complement sum is 0xFFFF.
  uint32_t sum = 0;
  for (uint32_t i = 0; i < 20; i += 2) sum += get16(f, 14 + i);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  EXPECT_EQ(sum, 0xFFFFu);
}

// ---- Round trips ------------------------------------------------------------------------------
TEST(Packet, DataPacketsOfAMessageRoundTripInEveryEncoding) {
  const ReceiverSet set = set_of({3, 4, 5, 6, 90, 1000, 1001, 40000});
  const uint32_t message = 2500, chunk = 1000;
  for (SetEncoding e : {kSetList, kSetRanges, kSetBitmap}) {
    for (uint32_t seq = 0; seq < 3; seq++) {
      SCOPED_TRACE(std::string(encoding_name(e)) + " packet " + std::to_string(seq));
      const bool last = seq == 2;
      const uint32_t len = last ? message - 2 * chunk : chunk;
      const FanoutHeader h = data_header(seq, message, last);
      const std::vector<uint8_t> payload = payload_bytes(len, seq);
      const Frame f = build(h, set, payload, options(e));
      expect_round_trip(f, h, set, payload, e);
      auto p = parse(f);
      ASSERT_EQ(p->rc, kOk);
      EXPECT_EQ(data_offset(p->pkt.hdr, p->pkt.payload_len), seq * chunk);
      EXPECT_EQ(packets_in_message(p->pkt.hdr, p->pkt.payload_len), 3u);
    }
  }
}

TEST(Packet, SinglePacketAndEmptyMessagesRoundTrip) {
  const ReceiverSet set = set_of({12});
  for (SetEncoding e : {kSetList, kSetRanges, kSetBitmap}) {
    SCOPED_TRACE(encoding_name(e));
    const FanoutHeader single = data_header(0, 300, true);
    const std::vector<uint8_t> payload = payload_bytes(300);
    expect_round_trip(build(single, set, payload, options(e)), single, set, payload, e);

    const FanoutHeader empty = data_header(0, 0, true);
    const Frame f = build(empty, set, {}, options(e));
    expect_round_trip(f, empty, set, {}, e);
    EXPECT_GE(f.size(), kMinFrameBytes);
  }
}

TEST(Packet, BuildChoosesTheShortestEncodingWhenAskedForNone) {
  const ReceiverSet set = set_of({0, 2, 4, 6, 8, 10}); // bitmap 5 bytes beats list 12, ranges 24
  const FanoutHeader h = data_header(0, 10, true);
  const std::vector<uint8_t> payload = payload_bytes(10);
  expect_round_trip(build(h, set, payload, options(kSetNone)), h, set, payload, kSetBitmap);
}

TEST(Packet, AckRoundTripsWithRangesAndWithoutASet) {
  ReceiverSet covered;
  ASSERT_TRUE(covered.append_range(0, 499));
  ASSERT_TRUE(covered.append_range(600, 65535));
  FanoutHeader h = make_header(kTypeAck, 4, 77, 123, 42, covered.size());
  expect_round_trip(build(h, covered, {}, options(kSetRanges)), h, covered, {}, kSetRanges);

  const ReceiverSet none;
  FanoutHeader bare = make_header(kTypeAck, 4, 77, 123, 43, 1);
  expect_round_trip(build(bare, none, {}, options(kSetNone)), bare, none, {}, kSetNone);
}

TEST(Packet, NackRoundTrips) {
  const ReceiverSet missing = set_of({10, 11, 12, 500});
  FanoutHeader h = make_header(kTypeNack, 1, 2, 99, 5, 3);
  expect_round_trip(build(h, missing, {}, options(kSetList)), h, missing, {}, kSetList);

  FanoutHeader silent = make_header(kTypeNack, 1, 2, 99, 7, 0);
  silent.flags = kFlagSilent;
  auto f = build(silent, missing, {}, options(kSetRanges));
  expect_round_trip(f, silent, missing, {}, kSetRanges);
  EXPECT_EQ(parse(f)->pkt.hdr.flags & kFlagSilent, kFlagSilent);
}

TEST(Packet, ProbeRoundTrips) {
  const ReceiverSet none;
  FanoutHeader h = make_header(kTypeProbe, 8, 8, 0, 1234, 0);
  h.flags = kFlagReply;
  const Frame f = build(h, none, {}, options(kSetNone));
  EXPECT_EQ(f.size(), kFixedHeadersBytes);
  expect_round_trip(f, h, none, {}, kSetNone);
}

TEST(Packet, ParseClearsTheCallersSetForASetlessPacket) {
  const ReceiverSet none;
  const Frame f = build(make_header(kTypeProbe, 8, 8, 0, 1, 0), none, {}, options(kSetNone));
  ReceiverSet stale = set_of({5});
  ParsedPacket pkt;
  ASSERT_EQ(parse_frame(f.data(), (uint32_t)f.size(), default_parse_config(), pkt, &stale), kOk);
  EXPECT_TRUE(stale.empty());
}

TEST(Packet, EthernetPaddingIsNotPayload) {
  const ReceiverSet set = set_of({1});
  const FanoutHeader h = data_header(0, 3, true);
  Frame f = build(h, set, payload_bytes(3), options(kSetList));
  ASSERT_EQ(f.size(), 64u + 2 + 3);
  f.resize(f.size() + 25, 0); // trailing padding, as a short frame would carry up to the minimum size
  auto p = parse(f);
  ASSERT_EQ(p->rc, kOk) << error_name(p->rc);
  EXPECT_EQ(p->pkt.payload_len, 3u);
  EXPECT_EQ(p->pkt.payload_offset, 66u);
}

TEST(Packet, UdpChecksumIsComputedAndVerified) {
  const ReceiverSet set = set_of({1, 2, 3});
  const FanoutHeader h = data_header(0, 101, true); // odd length: the padded trailing byte counts
  Frame f = build(h, set, payload_bytes(101), options(kSetList, true));
  EXPECT_NE(get16(f, kUdpChecksumOff), 0);
  EXPECT_TRUE(udp_checksum_verifies(f));
  EXPECT_EQ(parse_status(f), kOk);

  f[f.size() - 1] ^= 0x10; // one payload bit
  EXPECT_EQ(parse_status(f), kUdpBadChecksum);
  ParseConfig no_verify = default_parse_config();
  no_verify.verify_udp_checksum = false;
  EXPECT_EQ(parse_status(f, no_verify), kOk);
}

TEST(Packet, ZeroUdpChecksumIsAccepted) {
  const ReceiverSet set = set_of({1});
  Frame f = build(data_header(0, 50, true), set, payload_bytes(50), options(kSetList, false));
  EXPECT_EQ(get16(f, kUdpChecksumOff), 0);
  EXPECT_EQ(parse_status(f), kOk);
  f[f.size() - 1] ^= 0x10; // nothing to verify it against
  EXPECT_EQ(parse_status(f), kOk);
}

TEST(Packet, ConfiguredPortSelectsFanoutFrames) {
  NetHeaders net = test_net();
  net.udp_dst_port = 9999;
  const ReceiverSet set = set_of({1});
  const Frame f = build(data_header(0, 4, true), set, payload_bytes(4), options(kSetList), net);
  EXPECT_EQ(parse_status(f), kNotFanout);
  ParseConfig cfg = default_parse_config();
  cfg.udp_port = 9999;
  EXPECT_EQ(parse_status(f, cfg), kOk);
}

// ---- Build errors --------------------------------------------------------------------------------
TEST(Packet, BuildRejectsOversizedSetsAndFrames) {
  ReceiverSet big;
  for (uint32_t id = 0; id < 1200; id += 2) ASSERT_TRUE(big.append((NodeId)id));
  std::vector<uint8_t> buf(kMaxFrameBytes + 100);
  uint32_t len = 7;
  const FanoutHeader h = data_header(0, 1, true);
  const uint8_t one = 0;
  EXPECT_EQ(build_frame(test_net(), h, big, &one, 1, options(kSetList), buf.data(), (uint32_t)buf.size(), &len),
            kSetTooLarge);
  EXPECT_EQ(len, 0u);

  const ReceiverSet set = set_of({1});
  const std::vector<uint8_t> jumbo(kMaxFrameBytes - 64 - 2 + 1);
  EXPECT_EQ(build_frame(test_net(), data_header(0, (uint32_t)jumbo.size(), true), set, jumbo.data(),
                        (uint32_t)jumbo.size(), options(kSetList), buf.data(), (uint32_t)buf.size(), &len),
            kFrameTooLong);
  EXPECT_EQ(build_frame(test_net(), data_header(0, 10, true), set, jumbo.data(), 10, options(kSetList), buf.data(),
                        64 + 2 + 9, &len),
            kFrameTooLong);
  EXPECT_EQ(build_frame(test_net(), data_header(0, 10, true), set, jumbo.data(), 10, options(kSetList), buf.data(),
                        64 + 2 + 10, &len),
            kOk);
  EXPECT_EQ(len, 76u);
}

// ---- Malformed frames: one code per class ----------------------------------------------------------
struct MalformedCase {
  const char *what;
  int expected;
  std::function<Frame()> make;
};

// A valid DATA frame: one packet, 100-byte payload, the given set and encoding.
Frame valid_data(const ReceiverSet &set, SetEncoding e, bool udp_checksum = false) {
  return build(data_header(0, 100, true), set, payload_bytes(100), options(e, udp_checksum));
}
Frame valid_list() {
  return valid_data(set_of({1, 2, 7}), kSetList);
} // body 00 01 00 02 00 07

// Shrink the datagram to udp_len bytes (IPv4 and UDP lengths agree), leaving the rest as padding.
void set_datagram_len(Frame &f, uint32_t udp_len) {
  put16(f, kIpTotalLenOff, kIpv4HeaderBytes + udp_len);
  put16(f, kUdpLenOff, udp_len);
  reseal_ipv4(f);
}

std::vector<MalformedCase> malformed_cases() {
  return {
      {"ends inside the IPv4 header", kTruncated,
       [] {
         Frame f = valid_list();
         f.resize(30);
         return f;
       }},
      {"ends inside the Ethernet header", kTruncated,
       [] {
         Frame f = valid_list();
         f.resize(13);
         return f;
       }},
      {"ends inside the UDP header", kTruncated,
       [] {
         Frame f = valid_list();
         f.resize(40);
         return f;
       }},
      {"longer than a jumbo frame", kFrameTooLong,
       [] {
         Frame f = valid_list();
         f.resize(kMaxFrameBytes + 1, 0);
         return f;
       }},
      {"IPv4 version 6", kIpv4BadHeader,
       [] {
         Frame f = valid_list();
         f[kIpVerIhlOff] = 0x65;
         reseal_ipv4(f);
         return f;
       }},
      {"IPv4 IHL 4", kIpv4BadHeader,
       [] {
         Frame f = valid_list();
         f[kIpVerIhlOff] = 0x44;
         return f;
       }},
      {"IPv4 checksum off by one", kIpv4BadChecksum,
       [] {
         Frame f = valid_list();
         f[kIpChecksumOff + 1] ^= 1;
         return f;
       }},
      {"IPv4 total length past the frame", kIpv4BadLength,
       [] {
         Frame f = valid_list();
         set_datagram_len(f, (uint32_t)f.size() - kUdpOffset + 1);
         return f;
       }},
      {"IPv4 total length below 28", kIpv4BadLength,
       [] {
         Frame f = valid_list();
         put16(f, kIpTotalLenOff, 27);
         reseal_ipv4(f);
         return f;
       }},
      {"IPv4 more fragments", kIpv4Fragment,
       [] {
         Frame f = valid_list();
         put16(f, kIpFlagsFragOff, kIpv4FlagMoreFragments);
         reseal_ipv4(f);
         return f;
       }},
      {"UDP length one more than IPv4's", kUdpBadLength,
       [] {
         Frame f = valid_list();
         put16(f, kUdpLenOff, get16(f, kUdpLenOff) + 1);
         return f;
       }},
      {"UDP length one less than IPv4's", kUdpBadLength,
       [] {
         Frame f = valid_list();
         put16(f, kUdpLenOff, get16(f, kUdpLenOff) - 1);
         return f;
       }},
      {"payload bit flipped under a UDP checksum", kUdpBadChecksum,
       [] {
         Frame f = valid_data(set_of({1}), kSetList, true);
         f[f.size() - 1] ^= 0x01;
         return f;
       }},
      {"UDP payload shorter than the Fanout header", kFanoutTruncated,
       [] {
         Frame f = valid_list();
         set_datagram_len(f, kUdpHeaderBytes + kFanoutHeaderBytes - 1);
         return f;
       }},
      {"UDP payload empty", kFanoutTruncated,
       [] {
         Frame f = valid_list();
         set_datagram_len(f, kUdpHeaderBytes);
         return f;
       }},
      {"Fanout version 2", kBadVersion,
       [] {
         Frame f = valid_list();
         f[kFanoutOffset] = 0x21;
         return f;
       }},
      {"Fanout version 0", kBadVersion,
       [] {
         Frame f = valid_list();
         f[kFanoutOffset] = 0x01;
         return f;
       }},
      {"packet type 5", kBadType,
       [] {
         Frame f = valid_list();
         f[kFanoutOffset] = 0x15;
         return f;
       }},
      {"packet type 0", kBadType,
       [] {
         Frame f = valid_list();
         f[kFanoutOffset] = 0x10;
         return f;
       }},
      {"set encoding 4", kBadSetEncoding,
       [] {
         Frame f = valid_list();
         f[kFanoutOffset + kFoSetEncOff] = 4;
         return f;
       }},
      {"DATA with encoding none", kBadSetEncoding,
       [] {
         Frame f = valid_list();
         f[kFanoutOffset + kFoSetEncOff] = kSetNone;
         return f;
       }},
      {"PROBE with a set", kBadSetEncoding,
       [] {
         Frame f = build(make_header(kTypeAck, 1, 1, 0, 0, 0), set_of({3}), {}, options(kSetList));
         f[kFanoutOffset] = (uint8_t)(kProtocolVersion << 4 | kTypeProbe);
         return f;
       }},
      {"set length past the datagram", kSetTruncated,
       [] {
         Frame f = valid_list();
         put16(f, kFanoutOffset + kFoSetLenOff, 6 + 100 + 2);
         return f;
       }},
      {"set length over the limit", kSetTooLarge,
       [] {
         Frame f = valid_list();
         put16(f, kFanoutOffset + kFoSetLenOff, kMaxSetBytes + 1);
         return f;
       }},
      {"bitmap run of zero bytes", kSetBadLength,
       [] {
         Frame f = valid_data(set_of({8}), kSetBitmap);
         put16(f, kSetOffset + 2, 0);
         return f;
       }},
      {"bitmap run past the set body", kSetBadLength,
       [] {
         Frame f = valid_data(set_of({8}), kSetBitmap);
         put16(f, kSetOffset + 2, 2);
         return f;
       }},
      {"bitmap run without a set bit", kSetEmpty,
       [] {
         Frame f = valid_data(set_of({8}), kSetBitmap);
         f[kSetOffset + 4] = 0;
         return f;
       }},
      {"list encoding with set length 0", kSetEmpty,
       [] {
         Frame f = build(make_header(kTypeAck, 1, 1, 0, 0, 0), ReceiverSet(), {}, options(kSetNone));
         f[kFanoutOffset + kFoSetEncOff] = kSetList;
         return f;
       }},
      {"list ids descending", kSetUnsorted,
       [] {
         Frame f = valid_list();
         put16(f, kSetOffset, 3);
         return f;
       }},
      {"list id repeated", kSetDuplicate,
       [] {
         Frame f = valid_list();
         put16(f, kSetOffset + 2, 1);
         return f;
       }},
      {"bitmap bit for id 65536", kBitmapOutOfRange,
       [] {
         Frame f = valid_data(set_of({65535}), kSetBitmap);
         f[kSetOffset + 4] = 0xC0;
         return f;
       }},
      {"bitmap runs not cut by the greedy rule", kSetNotCanonical,
       [] {
         // {3, 100}: two one-byte runs; moving the second run to id 11 keeps the length, but the
         // rule would encode {3, 11} as one 2-byte run.
         Frame f = valid_data(set_of({3, 100}), kSetBitmap);
         put16(f, kSetOffset + 5, 11);
         return f;
       }},
      {"DATA message length one more than the payload", kLengthMismatch,
       [] {
         Frame f = valid_list();
         put32(f, kFanoutOffset + kFoLengthOff, 101);
         return f;
       }},
      {"ACK with a payload byte", kLengthMismatch,
       [] {
         Frame f = build(make_header(kTypeAck, 1, 1, 0, 0, 0), set_of({3}), {}, options(kSetList));
         f.push_back(0);
         set_datagram_len(f, get16(f, kUdpLenOff) + 1);
         return f;
       }},
      {"PROBE with a non-zero length", kLengthMismatch,
       [] {
         Frame f = build(make_header(kTypeProbe, 1, 1, 0, 0, 0), ReceiverSet(), {}, options(kSetNone));
         put32(f, kFanoutOffset + kFoLengthOff, 1);
         return f;
       }},
      {"PROBE with AUTH and no trailer", kAuthTruncated,
       [] {
         Frame f = build(make_header(kTypeProbe, 1, 1, 0, 0, 0), ReceiverSet(), {}, options(kSetNone));
         f[kFanoutOffset + kFoFlagsOff] |= kFlagAuth;
         return f;
       }},
  };
}

TEST(PacketMalformed, EachMutationYieldsItsCode) {
  for (const MalformedCase &c : malformed_cases()) {
    const Frame f = c.make();
    EXPECT_EQ(parse_status(f), c.expected)
        << c.what << ": got " << error_name(parse_status(f)) << ", want " << error_name(c.expected);
    // The same verdict when the caller also asks for the set.
    EXPECT_EQ(parse(f)->rc, c.expected) << c.what;
  }
}

TEST(PacketMalformed, TableCoversEveryErrorCode) {
  std::set<int> covered;
  for (const MalformedCase &c : malformed_cases()) covered.insert(c.expected);
  for (int code = kTruncated; code < kErrorCount; code++) EXPECT_EQ(covered.count(code), 1u) << error_name(code);
  EXPECT_EQ(covered.count(kOk), 0u);
  EXPECT_EQ(covered.count(kNotFanout), 0u);
}

TEST(PacketMalformed, MutationsStartFromValidFrames) {
  EXPECT_EQ(parse_status(valid_list()), kOk);
  EXPECT_EQ(parse_status(valid_data(set_of({8}), kSetBitmap)), kOk);
  EXPECT_EQ(parse_status(valid_data(set_of({65535}), kSetBitmap)), kOk);
  EXPECT_EQ(parse_status(valid_data(set_of({1}), kSetList, true)), kOk);
}

// ---- Not Fanout ------------------------------------------------------------------------------------
TEST(PacketNotFanout, OtherTrafficBelongsToTheHost) {
  Frame arp = valid_list();
  put16(arp, kEthTypeOff, 0x0806);
  EXPECT_EQ(parse_status(arp), kNotFanout);

  Frame ipv6 = valid_list();
  put16(ipv6, kEthTypeOff, kEtherTypeIpv6);
  EXPECT_EQ(parse_status(ipv6), kNotFanout);

  Frame tcp = valid_list();
  tcp[kIpProtoOff] = 6;
  reseal_ipv4(tcp);
  EXPECT_EQ(parse_status(tcp), kNotFanout);

  Frame other_port = valid_list();
  put16(other_port, kUdpDstPortOff, kDefaultUdpPort + 1);
  EXPECT_EQ(parse_status(other_port), kNotFanout);

  Frame later_fragment = valid_list();
  put16(later_fragment, kIpFlagsFragOff, kIpv4FlagMoreFragments | 185);
  reseal_ipv4(later_fragment);
  EXPECT_EQ(parse_status(later_fragment), kNotFanout);

  // A short non-IPv4 frame is not ours either: only its Ethernet header is read.
  Frame short_arp = arp;
  short_arp.resize(kEthHeaderBytes);
  EXPECT_EQ(parse_status(short_arp), kNotFanout);
}

// The frame with 4 bytes of IPv4 options (IHL 6) inserted before the UDP header.
Frame with_ipv4_options(uint16_t udp_dst_port) {
  Frame f = valid_list();
  put16(f, kUdpDstPortOff, udp_dst_port);
  const uint8_t nops[4] = {1, 1, 1, 1};
  f.insert(f.begin() + kUdpOffset, nops, nops + 4);
  f[kIpVerIhlOff] = 0x46;
  put16(f, kIpTotalLenOff, get16(f, kIpTotalLenOff) + 4);
  reseal_ipv4(f);
  return f;
}

TEST(PacketNotFanout, Ipv4OptionsAreAnErrorOnlyOnTheFanoutPort) {
  EXPECT_EQ(parse_status(with_ipv4_options(kDefaultUdpPort)), kIpv4BadHeader);
  EXPECT_EQ(parse_status(with_ipv4_options(53)), kNotFanout);
  // Too short to hold the moved UDP ports: it cannot be told to be ours.
  Frame cut = with_ipv4_options(kDefaultUdpPort);
  cut.resize(kUdpOffset + 4 + 3);
  EXPECT_EQ(parse_status(cut), kNotFanout);
}

// ---- Bounds: parse_frame reads only frame[0..len) ---------------------------------------------------
TEST(PacketBounds, EveryShortPrefixIsAnError) {
  const Frame frames[] = {
      valid_list(),
      valid_data(set_of({1, 900, 65535}), kSetBitmap, true),
      build(make_header(kTypeProbe, 1, 1, 0, 0, 0), ReceiverSet(), {}, options(kSetNone)),
  };
  for (const Frame &full : frames) {
    const uint32_t datagram_end = kIpv4Offset + get16(full, kIpTotalLenOff);
    ASSERT_EQ(full.size(), datagram_end);
    for (uint32_t len = 0; len <= full.size(); len++) {
      // A fresh heap buffer of exactly len bytes: any read past it is outside the allocation.
      const Frame prefix(full.begin(), full.begin() + len);
      const int rc = parse_status(prefix);
      if (len < datagram_end) {
        ASSERT_GE(rc, kTruncated) << "prefix " << len << " gave " << error_name(rc);
        ASSERT_LT(rc, kErrorCount);
      } else {
        ASSERT_EQ(rc, kOk);
      }
    }
  }
}

// ---- Message arithmetic --------------------------------------------------------------------------
TEST(PacketMessage, OffsetsAndPacketCounts) {
  // 2500 bytes in packets of 1000: 1000 @0, 1000 @1000, 500 @2000 (last).
  EXPECT_EQ(data_offset(data_header(0, 2500, false), 1000), 0u);
  EXPECT_EQ(data_offset(data_header(1, 2500, false), 1000), 1000u);
  EXPECT_EQ(data_offset(data_header(2, 2500, true), 500), 2000u);
  EXPECT_EQ(packets_in_message(data_header(0, 2500, false), 1000), 3u);
  EXPECT_EQ(packets_in_message(data_header(1, 2500, false), 1000), 3u);
  EXPECT_EQ(packets_in_message(data_header(2, 2500, true), 500), 3u);
  // 3000 bytes: the last packet is full.
  EXPECT_EQ(data_offset(data_header(2, 3000, true), 1000), 2000u);
  EXPECT_EQ(packets_in_message(data_header(0, 3000, false), 1000), 3u);
  // Empty and single-packet messages.
  EXPECT_EQ(data_offset(data_header(0, 0, true), 0), 0u);
  EXPECT_EQ(packets_in_message(data_header(0, 0, true), 0), 1u);
  EXPECT_EQ(packets_in_message(data_header(0, 77, true), 77), 1u);
  // A non-last packet with no payload cannot tell.
  EXPECT_EQ(packets_in_message(data_header(3, 2500, false), 0), 0u);
}

TEST(PacketMessage, DataLengthsConsistent) {
  EXPECT_TRUE(data_lengths_consistent(data_header(0, 2500, false), 1000));
  EXPECT_TRUE(data_lengths_consistent(data_header(1, 2500, false), 1000));
  EXPECT_TRUE(data_lengths_consistent(data_header(2, 2500, true), 500));
  EXPECT_TRUE(data_lengths_consistent(data_header(2, 3000, true), 1000));
  EXPECT_TRUE(data_lengths_consistent(data_header(0, 300, true), 300));
  EXPECT_TRUE(data_lengths_consistent(data_header(0, 0, true), 0));

  EXPECT_FALSE(data_lengths_consistent(data_header(1, 2000, false), 1000)); // would be the last packet
  EXPECT_FALSE(data_lengths_consistent(data_header(2, 2500, false), 1000)); // past the end
  EXPECT_FALSE(data_lengths_consistent(data_header(0, 2500, false), 0));    // empty non-last
  EXPECT_FALSE(data_lengths_consistent(data_header(2, 3001, true), 1001));  // last larger than the others
  EXPECT_FALSE(data_lengths_consistent(data_header(2, 2501, true), 500));   // 2001 not a multiple of 2
  EXPECT_FALSE(data_lengths_consistent(data_header(0, 301, true), 300));    // single packet, short
  EXPECT_FALSE(data_lengths_consistent(data_header(0, 10, true), 11));      // more payload than message
  EXPECT_FALSE(data_lengths_consistent(data_header(1, 0, true), 0));        // empty message in packet 1
  EXPECT_FALSE(data_lengths_consistent(data_header(1, 1000, true), 0));     // empty last packet
}

// A non-last packet's end, (sequence + 1) * payload, must be compared without 32-bit wrap-around:
// sequence 0xFFFFFFFF places a 1-byte packet at offset 4 GiB - 1, far beyond a 5-byte message.
TEST(PacketMessage, DataLengthsConsistentDoesNotWrapTheSequence) {
  EXPECT_FALSE(data_lengths_consistent(data_header(0xFFFFFFFFu, 5, false), 1));
  EXPECT_FALSE(data_lengths_consistent(data_header(0xFFFFFFFFu, 0xFFFFFFFFu, false), 1));
}

TEST(PacketMessage, ParseRejectsAWrappedSequence) {
  const Frame f = build(data_header(0xFFFFFFFFu, 5, false), set_of({1}), payload_bytes(1), options(kSetList));
  EXPECT_EQ(parse_status(f), kLengthMismatch);
}

// ---- Names -----------------------------------------------------------------------------------------
TEST(PacketNames, EveryCodeHasADistinctName) {
  std::set<std::string> names;
  for (int code = kOk; code < kErrorCount; code++) {
    const std::string name = error_name(code);
    EXPECT_NE(name, "unknown_error") << code;
    EXPECT_FALSE(name.empty()) << code;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
  }
  EXPECT_STREQ(error_name(kErrorCount), "unknown_error");
  EXPECT_STREQ(error_name(-1), "unknown_error");
}

} // namespace

// ---- Address plan and ECMP entropy ------------------------------------------------------------

TEST(PacketAddressing, EntropyPortIsStablePerMessageAndSpreadsMessages) {
  std::set<uint16_t> ports;
  for (uint32_t message = 0; message < 256; message++) {
    uint16_t port = entropy_port(7, message);
    EXPECT_EQ(port, entropy_port(7, message)); // every packet of a message: one path
    EXPECT_GE(port, 49152);
    ports.insert(port);
  }
  EXPECT_GT(ports.size(), 200u); // different messages spread over paths
  EXPECT_NE(entropy_port(7, 1), entropy_port(8, 1));
}

TEST(PacketAddressing, ClusterNetHeadersFollowTheAddressPlan) {
  NetHeaders net = cluster_net_headers(0x0102, 0xBEEF, 0x0102, 9);
  const uint8_t src[6] = {0x02, 0, 0, 0, 0x01, 0x02}, dst[6] = {0x02, 0, 0, 0, 0xBE, 0xEF};
  EXPECT_TRUE(std::equal(src, src + 6, net.eth_src));
  EXPECT_TRUE(std::equal(dst, dst + 6, net.eth_dst));
  EXPECT_EQ(net.ip_src, 0x0A000102u);
  EXPECT_EQ(net.ip_dst, 0x0A00BEEFu);
  EXPECT_EQ(net.udp_src_port, entropy_port(0x0102, 9));
  EXPECT_EQ(net.udp_dst_port, kDefaultUdpPort);
}

// parse_frame's promise to the HLS parser: without UDP checksum verification it reads only the
// headers and the set body, so a prefix buffer with the whole frame's length gives the same
// verdict. The prefix lives in an exact-size heap buffer, so the asan preset catches an over-read.
TEST(PacketParsePrefix, WithoutChecksumVerificationOnlyHeadersAndSetAreRead) {
  ReceiverSet set;
  for (NodeId id = 100; id < 400; id += 3) ASSERT_TRUE(set.append(id));
  std::vector<uint8_t> payload(3000, 0xA5);
  NetHeaders net = cluster_net_headers(1, 2, 1, 77);
  FanoutHeader h = make_header(kTypeData, 1, 1, 77, 0, (uint32_t)payload.size());
  h.flags = kFlagLast;
  std::vector<uint8_t> frame(kMaxFrameBytes);
  uint32_t len = 0;
  BuildOptions opt = default_build_options();
  opt.udp_checksum = true;
  ASSERT_EQ(build_frame(net, h, set, payload.data(), (uint32_t)payload.size(), opt, frame.data(),
                        (uint32_t)frame.size(), &len),
            kOk);
  ParseConfig cfg = default_parse_config();
  cfg.verify_udp_checksum = false;
  ParsedPacket whole, prefix_parsed;
  ReceiverSet whole_set, prefix_set;
  ASSERT_EQ(parse_frame(frame.data(), len, cfg, whole, &whole_set), kOk);
  const uint32_t prefix_len = kSetOffset + whole.hdr.set_len;
  ASSERT_LT(prefix_len, len);
  std::unique_ptr<uint8_t[]> prefix(new uint8_t[prefix_len]);
  std::copy(frame.begin(), frame.begin() + prefix_len, prefix.get());
  ASSERT_EQ(parse_frame(prefix.get(), len, cfg, prefix_parsed, &prefix_set), kOk);
  EXPECT_TRUE(prefix_set == whole_set);
  EXPECT_EQ(prefix_parsed.payload_len, whole.payload_len);
  EXPECT_EQ(prefix_parsed.hdr.set_len, whole.hdr.set_len);
}

// ---- Packets without outer headers (build_packet / parse_packet) ---------------------------------
// The Fanout part of a frame, parsed alone, gives the same header, set and payload; every
// single-byte mutation of that part gives the same verdict from both parsers.
TEST(PacketAlone, RoundTripsAndAgreesWithTheFrameParser) {
  ReceiverSet set = set_of({3, 17, 200, 201, 202, 4000});
  std::vector<uint8_t> payload = payload_bytes(700, 3);
  FanoutHeader h = data_header(0, 700, true);
  std::vector<uint8_t> pkt(kMaxPacketBytes);
  uint32_t len = 0;
  ASSERT_EQ(build_packet(h, set, payload.data(), (uint32_t)payload.size(), default_build_options(), pkt.data(),
                         (uint32_t)pkt.size(), &len),
            kOk);
  pkt.resize(len);
  Frame frame = build(h, set, payload, default_build_options());
  ASSERT_EQ(frame.size(), kFanoutOffset + len);
  EXPECT_TRUE(std::equal(pkt.begin(), pkt.end(), frame.begin() + kFanoutOffset));

  PacketView view;
  ReceiverSet got;
  ASSERT_EQ(parse_packet(pkt.data(), len, view, &got), kOk);
  EXPECT_TRUE(got == set);
  EXPECT_EQ(view.set_offset, kFanoutHeaderBytes);
  EXPECT_EQ(view.payload_offset, kFanoutHeaderBytes + view.hdr.set_len);
  ASSERT_EQ(view.payload_len, payload.size());
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), pkt.begin() + view.payload_offset));

  ParseConfig cfg = default_parse_config();
  cfg.verify_udp_checksum = false; // the frame's UDP checksum is 0 anyway: only Fanout checks differ
  for (uint32_t off = 0; off < kFanoutHeaderBytes + view.hdr.set_len; off++) {
    for (uint32_t bit = 0; bit < 8; bit++) {
      Frame f = frame;
      f[kFanoutOffset + off] ^= (uint8_t)(1u << bit);
      std::vector<uint8_t> p(f.begin() + kFanoutOffset, f.end());
      ParsedPacket fp;
      PacketView pv;
      int from_frame = parse_frame<kMaxSetRanges>(f.data(), (uint32_t)f.size(), cfg, fp, nullptr);
      int from_packet = parse_packet<kMaxSetRanges>(p.data(), (uint32_t)p.size(), pv, nullptr);
      EXPECT_EQ(from_frame, from_packet) << "byte " << off << " bit " << bit;
    }
  }
}

TEST(PacketAlone, LengthLimitsAndHeaderOnlyBuild) {
  ReceiverSet set = set_of({5});
  PacketView view;
  std::vector<uint8_t> buf(kMaxPacketBytes + 1, 0);
  EXPECT_EQ(parse_packet<kMaxSetRanges>(buf.data(), kFanoutHeaderBytes - 1, view, nullptr), kFanoutTruncated);
  EXPECT_EQ(parse_packet<kMaxSetRanges>(buf.data(), kMaxPacketBytes + 1, view, nullptr), kFrameTooLong);

  // The largest payload that fits one packet with a 2-byte list, and one byte more.
  const uint32_t max_payload = kMaxPacketBytes - kFanoutHeaderBytes - 2;
  FanoutHeader h = data_header(0, max_payload, true);
  uint8_t header[kFanoutHeaderBytes + kMaxSetBytes];
  uint32_t hl = 0;
  ASSERT_EQ(build_packet_header(h, set, max_payload, default_build_options(), header, sizeof header, &hl), kOk);
  EXPECT_EQ(hl, kFanoutHeaderBytes + 2);
  EXPECT_EQ(build_packet_header(h, set, max_payload + 1, default_build_options(), header, sizeof header, &hl),
            kFrameTooLong);
  EXPECT_EQ(build_packet_header(h, set, 10, default_build_options(), header, kFanoutHeaderBytes + 1, &hl),
            kFrameTooLong);

  // Header-only build + payload appended = a valid packet.
  std::vector<uint8_t> payload = payload_bytes(max_payload, 9);
  ASSERT_EQ(build_packet_header(h, set, max_payload, default_build_options(), header, sizeof header, &hl), kOk);
  std::vector<uint8_t> pkt(header, header + hl);
  pkt.insert(pkt.end(), payload.begin(), payload.end());
  ASSERT_EQ(pkt.size(), kMaxPacketBytes);
  ReceiverSet got;
  ASSERT_EQ(parse_packet(pkt.data(), (uint32_t)pkt.size(), view, &got), kOk);
  EXPECT_EQ(view.payload_len, max_payload);
  EXPECT_TRUE(got == set);
}
