// Per-packet authentication (auth.hpp): SipHash-2-4, the AUTH trailer in parse_frame /
// parse_packet, auth_append / auth_check, and the per-origin replay window.
#include "fanout/proto/auth.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

namespace {

using namespace fanout::proto;

using Frame = std::vector<uint8_t>;

const uint8_t kKey[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE,
                          0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
const uint8_t kOtherKey[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE,
                               0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEE};

// SipHash-2-4 reference vectors (vectors.h of the reference implementation): key 00..0f, message
// 00 01 .. (i-1) for i = 0..63; each output as its 8 bytes, little-endian.
const uint8_t kSipVectors[64][8] = {
    {0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72}, {0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74},
    {0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d}, {0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85},
    {0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf}, {0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18},
    {0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb}, {0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab},
    {0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93}, {0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e},
    {0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a}, {0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4},
    {0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75}, {0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14},
    {0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7}, {0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1},
    {0xdb, 0x9b, 0xc2, 0x57, 0x7f, 0xcc, 0x2a, 0x3f}, {0x94, 0x47, 0xbe, 0x2c, 0xf5, 0xe9, 0x9a, 0x69},
    {0x9c, 0xd3, 0x8d, 0x96, 0xf0, 0xb3, 0xc1, 0x4b}, {0xbd, 0x61, 0x79, 0xa7, 0x1d, 0xc9, 0x6d, 0xbb},
    {0x98, 0xee, 0xa2, 0x1a, 0xf2, 0x5c, 0xd6, 0xbe}, {0xc7, 0x67, 0x3b, 0x2e, 0xb0, 0xcb, 0xf2, 0xd0},
    {0x88, 0x3e, 0xa3, 0xe3, 0x95, 0x67, 0x53, 0x93}, {0xc8, 0xce, 0x5c, 0xcd, 0x8c, 0x03, 0x0c, 0xa8},
    {0x94, 0xaf, 0x49, 0xf6, 0xc6, 0x50, 0xad, 0xb8}, {0xea, 0xb8, 0x85, 0x8a, 0xde, 0x92, 0xe1, 0xbc},
    {0xf3, 0x15, 0xbb, 0x5b, 0xb8, 0x35, 0xd8, 0x17}, {0xad, 0xcf, 0x6b, 0x07, 0x63, 0x61, 0x2e, 0x2f},
    {0xa5, 0xc9, 0x1d, 0xa7, 0xac, 0xaa, 0x4d, 0xde}, {0x71, 0x65, 0x95, 0x87, 0x66, 0x50, 0xa2, 0xa6},
    {0x28, 0xef, 0x49, 0x5c, 0x53, 0xa3, 0x87, 0xad}, {0x42, 0xc3, 0x41, 0xd8, 0xfa, 0x92, 0xd8, 0x32},
    {0xce, 0x7c, 0xf2, 0x72, 0x2f, 0x51, 0x27, 0x71}, {0xe3, 0x78, 0x59, 0xf9, 0x46, 0x23, 0xf3, 0xa7},
    {0x38, 0x12, 0x05, 0xbb, 0x1a, 0xb0, 0xe0, 0x12}, {0xae, 0x97, 0xa1, 0x0f, 0xd4, 0x34, 0xe0, 0x15},
    {0xb4, 0xa3, 0x15, 0x08, 0xbe, 0xff, 0x4d, 0x31}, {0x81, 0x39, 0x62, 0x29, 0xf0, 0x90, 0x79, 0x02},
    {0x4d, 0x0c, 0xf4, 0x9e, 0xe5, 0xd4, 0xdc, 0xca}, {0x5c, 0x73, 0x33, 0x6a, 0x76, 0xd8, 0xbf, 0x9a},
    {0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e}, {0x92, 0x59, 0x58, 0xfc, 0xd6, 0x42, 0x0c, 0xad},
    {0xa9, 0x15, 0xc2, 0x9b, 0xc8, 0x06, 0x73, 0x18}, {0x95, 0x2b, 0x79, 0xf3, 0xbc, 0x0a, 0xa6, 0xd4},
    {0xf2, 0x1d, 0xf2, 0xe4, 0x1d, 0x45, 0x35, 0xf9}, {0x87, 0x57, 0x75, 0x19, 0x04, 0x8f, 0x53, 0xa9},
    {0x10, 0xa5, 0x6c, 0xf5, 0xdf, 0xcd, 0x9a, 0xdb}, {0xeb, 0x75, 0x09, 0x5c, 0xcd, 0x98, 0x6c, 0xd0},
    {0x51, 0xa9, 0xcb, 0x9e, 0xcb, 0xa3, 0x12, 0xe6}, {0x96, 0xaf, 0xad, 0xfc, 0x2c, 0xe6, 0x66, 0xc7},
    {0x72, 0xfe, 0x52, 0x97, 0x5a, 0x43, 0x64, 0xee}, {0x5a, 0x16, 0x45, 0xb2, 0x76, 0xd5, 0x92, 0xa1},
    {0xb2, 0x74, 0xcb, 0x8e, 0xbf, 0x87, 0x87, 0x0a}, {0x6f, 0x9b, 0xb4, 0x20, 0x3d, 0xe7, 0xb3, 0x81},
    {0xea, 0xec, 0xb2, 0xa3, 0x0b, 0x22, 0xa8, 0x7f}, {0x99, 0x24, 0xa4, 0x3c, 0xc1, 0x31, 0x57, 0x24},
    {0xbd, 0x83, 0x8d, 0x3a, 0xaf, 0xbf, 0x8d, 0xb7}, {0x0b, 0x1a, 0x2a, 0x32, 0x65, 0xd5, 0x1a, 0xea},
    {0x13, 0x50, 0x79, 0xa3, 0x23, 0x1c, 0xe6, 0x60}, {0x93, 0x2b, 0x28, 0x46, 0xe4, 0xd7, 0x06, 0x66},
    {0xe1, 0x91, 0x5f, 0x5c, 0xb1, 0xec, 0xa4, 0x6c}, {0xf3, 0x25, 0x96, 0x5c, 0xa1, 0x6d, 0x62, 0x9f},
    {0x57, 0x5f, 0xf2, 0x8e, 0x60, 0x38, 0x1b, 0xe5}, {0x72, 0x45, 0x06, 0xeb, 0x4c, 0x32, 0x8a, 0x95},
};

NetHeaders test_net() {
  return cluster_net_headers(1, 254, 1, 0x101);
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

Frame build(const FanoutHeader &h, const ReceiverSet &set, const std::vector<uint8_t> &payload, SetEncoding enc,
            bool udp_checksum = false) {
  BuildOptions opt = default_build_options();
  opt.encoding = enc;
  opt.udp_checksum = udp_checksum;
  Frame buf(kMaxFrameBytes + 64, 0xCC);
  uint32_t len = 0;
  int rc = build_frame(test_net(), h, set, payload.data(), (uint32_t)payload.size(), opt, buf.data(),
                       (uint32_t)buf.size(), &len);
  EXPECT_EQ(rc, kOk) << error_name(rc);
  buf.resize(len);
  return buf;
}

Frame sign(Frame f, uint32_t counter, const uint8_t *key = kKey) {
  uint32_t len = (uint32_t)f.size(), n = 0;
  f.resize(len + kAuthTrailerBytes);
  EXPECT_TRUE(auth_append(f.data(), len, (uint32_t)f.size(), key, counter, &n));
  EXPECT_EQ(n, len + kAuthTrailerBytes);
  return f;
}

struct Parsed {
  int rc;
  ParsedPacket pkt;
  ReceiverSet set;
};

std::unique_ptr<Parsed> parse(const Frame &f) {
  auto p = std::make_unique<Parsed>();
  p->rc = parse_frame(f.data(), (uint32_t)f.size(), default_parse_config(), p->pkt, &p->set);
  return p;
}

typedef ReplayWindow<> FullWindow;

// Parse, then auth_check against w; a parse error is returned as is (negative to tell it apart).
int parse_and_check(const Frame &f, FullWindow &w, const uint8_t *key = kKey, AuthResult *res = nullptr) {
  auto p = parse(f);
  if (p->rc != kOk) return -p->rc;
  AuthResult r;
  int c = auth_check(f.data(), (uint32_t)f.size(), p->pkt, key, w, r);
  if (res) *res = r;
  return c;
}

struct Case {
  const char *what;
  Frame frame;
};

std::vector<Case> sample_frames() {
  std::vector<Case> v;
  FanoutHeader d = make_header(kTypeData, 1, 1, 0x101, 0, 16);
  d.flags = kFlagLast;
  v.push_back({"DATA list, 16 B", build(d, set_of({3, 17, 200}), payload_bytes(16), kSetList)});
  FanoutHeader d0 = make_header(kTypeData, 1, 7, 0x102, 0, 0);
  d0.flags = kFlagLast;
  v.push_back({"DATA empty message", build(d0, set_of({5}), {}, kSetList)});
  FanoutHeader d1 = make_header(kTypeData, 2, 9, 0x103, 3, 1400 * 10);
  d1.flags = kFlagRetx | kFlagAckReq;
  ReceiverSet big;
  for (uint16_t i = 100; i < 900; i += 3) big.append(i);
  v.push_back({"DATA bitmap, 1400 B", build(d1, big, payload_bytes(1400, 3), kSetBitmap)});
  ReceiverSet ranges;
  ranges.append_range(10, 20);
  ranges.append_range(40, 4000);
  v.push_back({"DATA ranges, 8 KiB, UDP checksum", build(make_header(kTypeData, 3, 3, 0x104, 0, 100000), ranges,
                                                         payload_bytes(8192, 5), kSetRanges, true)});
  v.push_back({"ACK ranges", build(make_header(kTypeAck, 1, 17, 0x101, 1, 2), ranges, {}, kSetRanges)});
  v.push_back({"ACK no set", build(make_header(kTypeAck, 1, 18, 0x101, 1, 0), ReceiverSet(), {}, kSetNone)});
  FanoutHeader n = make_header(kTypeNack, 1, 19, 0x101, 4, 0);
  n.flags = kFlagSilent | kFlagGone;
  v.push_back({"NACK list", build(n, set_of({19, 20}), {}, kSetList, true)});
  FanoutHeader pr = make_header(kTypeProbe, 21, 21, 0, 77, 0);
  pr.flags = kFlagReply;
  v.push_back({"PROBE", build(pr, ReceiverSet(), {}, kSetNone)});
  return v;
}

TEST(Siphash, ReferenceVectors) {
  uint8_t key[16], msg[64];
  for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
  for (int i = 0; i < 64; i++) msg[i] = (uint8_t)i;
  for (uint32_t len = 0; len < 64; len++) {
    EXPECT_EQ(siphash24(key, msg, len), load_le64(kSipVectors[len])) << "message length " << len;
  }
  EXPECT_EQ(siphash24(key, msg, 0), 0x726fdb47dd0e0e31ull);
  EXPECT_EQ(siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
}

TEST(Siphash, SegmentsEqualOneShot) {
  std::vector<uint8_t> data = payload_bytes(1000, 9);
  for (uint32_t len : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 333u, 1000u}) {
    uint64_t want = siphash24(kKey, data.data(), len);
    for (uint32_t cut1 = 0; cut1 <= len; cut1 += (len / 7) + 1) {
      for (uint32_t cut2 = cut1; cut2 <= len; cut2 += (len / 5) + 1) {
        SipHash24 s;
        s.init(kKey);
        s.update(data.data(), cut1);
        s.update(data.data() + cut1, cut2 - cut1);
        s.update(data.data() + cut2, len - cut2);
        EXPECT_EQ(s.finish(), want) << len << " cut at " << cut1 << ", " << cut2;
      }
    }
  }
}

TEST(AuthParse, UnsignedFramesUnchanged) {
  for (const Case &c : sample_frames()) {
    auto p = parse(c.frame);
    ASSERT_EQ(p->rc, kOk) << c.what;
    EXPECT_FALSE(p->pkt.auth) << c.what;
    EXPECT_EQ(p->pkt.auth_offset, 0u) << c.what;
    EXPECT_EQ(p->pkt.payload_offset + p->pkt.payload_len, c.frame.size()) << c.what;
    auto w = std::make_unique<FullWindow>();
    AuthResult r;
    EXPECT_EQ(auth_check(c.frame.data(), (uint32_t)c.frame.size(), p->pkt, kKey, *w, r), kAuthUnsigned);
    EXPECT_TRUE(auth_accepted(kAuthUnsigned, false));
    EXPECT_FALSE(auth_accepted(kAuthUnsigned, true));
  }
}

TEST(AuthAppend, AppendParseCheckEveryType) {
  auto w = std::make_unique<FullWindow>();
  uint32_t counter = 1;
  for (const Case &c : sample_frames()) {
    auto before = parse(c.frame);
    ASSERT_EQ(before->rc, kOk) << c.what;
    Frame f = sign(c.frame, counter);
    auto p = parse(f);
    ASSERT_EQ(p->rc, kOk) << c.what << ": " << error_name(p->rc);
    EXPECT_TRUE(p->pkt.auth);
    EXPECT_EQ(p->pkt.hdr.flags, before->pkt.hdr.flags | kFlagAuth) << c.what;
    EXPECT_EQ(p->pkt.payload_offset, before->pkt.payload_offset) << c.what;
    EXPECT_EQ(p->pkt.payload_len, before->pkt.payload_len) << c.what;
    EXPECT_EQ(p->pkt.auth_offset, before->pkt.payload_offset + before->pkt.payload_len) << c.what;
    EXPECT_EQ(p->pkt.auth_offset + kAuthTrailerBytes, f.size()) << c.what;
    EXPECT_TRUE(p->set == before->set) << c.what;
    // Outer lengths follow the trailer; a computed UDP checksum was recomputed (parse verified it).
    EXPECT_EQ(load_be16(&f[kIpTotalLenOff]), f.size() - kIpv4Offset);
    EXPECT_EQ(load_be16(&f[kUdpLenOff]), f.size() - kUdpOffset);
    EXPECT_EQ(load_be16(&f[kUdpChecksumOff]) != 0, load_be16(&c.frame[kUdpChecksumOff]) != 0) << c.what;
    // Everything before the trailer but the flag, IPv4 length/checksum and UDP length/checksum is
    // byte-identical.
    for (uint32_t i = kFanoutOffset; i < c.frame.size(); i++)
      if (i != kFanoutOffset + kFoFlagsOff) {
        ASSERT_EQ(f[i], c.frame[i]) << c.what << " byte " << i;
      }
    EXPECT_EQ(load_be32(&f[p->pkt.auth_offset]), counter);
    AuthResult r;
    EXPECT_EQ(auth_check(f.data(), (uint32_t)f.size(), p->pkt, kKey, *w, r), kAuthOk) << c.what;
    EXPECT_EQ(r.counter, counter);
    EXPECT_EQ(r.origin, before->pkt.hdr.origin);
    EXPECT_EQ(r.tag, load_be64(&f[p->pkt.auth_offset + kAuthTagOff]));
    counter++;
  }
}

TEST(AuthAppend, PayloadExcludesTrailer) {
  FanoutHeader h = make_header(kTypeData, 1, 1, 9, 0, 100);
  h.flags = kFlagLast;
  Frame f = sign(build(h, set_of({2, 3}), payload_bytes(100), kSetList), 5);
  auto p = parse(f);
  ASSERT_EQ(p->rc, kOk);
  EXPECT_EQ(p->pkt.payload_offset, kSetOffset + 4);
  EXPECT_EQ(p->pkt.payload_len, 100u);
  EXPECT_EQ(p->pkt.auth_offset, kSetOffset + 4 + 100);
  EXPECT_EQ(f.size(), kSetOffset + 4 + 100 + kAuthTrailerBytes);
  std::vector<uint8_t> want = payload_bytes(100);
  EXPECT_TRUE(std::equal(want.begin(), want.end(), f.begin() + p->pkt.payload_offset));
  // Ethernet padding after the IPv4 total length is still not payload, nor trailer.
  Frame padded = f;
  padded.resize(f.size() + 7, 0);
  auto q = parse(padded);
  ASSERT_EQ(q->rc, kOk);
  EXPECT_EQ(q->pkt.auth_offset, p->pkt.auth_offset);
  auto w = std::make_unique<FullWindow>();
  AuthResult r;
  EXPECT_EQ(auth_check(padded.data(), (uint32_t)padded.size(), q->pkt, kKey, *w, r), kAuthOk);
}

TEST(AuthAppend, Refusals) {
  FanoutHeader h = make_header(kTypeData, 1, 1, 9, 0, 16);
  h.flags = kFlagLast;
  Frame f = build(h, set_of({2}), payload_bytes(16), kSetList);
  uint32_t len = (uint32_t)f.size(), n = 0;
  Frame orig = f;
  f.resize(len + kAuthTrailerBytes);
  EXPECT_FALSE(auth_append(f.data(), len, len + kAuthTrailerBytes - 1, kKey, 1, &n)); // no room
  EXPECT_TRUE(std::equal(orig.begin(), orig.end(), f.begin()));
  EXPECT_FALSE(auth_append(f.data(), 63, (uint32_t)f.size(), kKey, 1, &n)); // shorter than the headers
  EXPECT_TRUE(auth_append(f.data(), len, (uint32_t)f.size(), kKey, 1, &n));
  Frame signed_once = f;
  f.resize(f.size() + kAuthTrailerBytes);
  EXPECT_FALSE(auth_append(f.data(), n, (uint32_t)f.size(), kKey, 2, &n)); // already signed
  EXPECT_TRUE(std::equal(signed_once.begin(), signed_once.end(), f.begin()));
  // The largest frame cannot grow past kMaxFrameBytes.
  FanoutHeader big = make_header(kTypeData, 1, 1, 9, 0, kMaxFrameBytes - kSetOffset - 2);
  big.flags = kFlagLast;
  Frame g = build(big, set_of({2}), payload_bytes(kMaxFrameBytes - kSetOffset - 2), kSetList);
  ASSERT_EQ(g.size(), kMaxFrameBytes);
  uint32_t glen = (uint32_t)g.size();
  g.resize(glen + kAuthTrailerBytes);
  EXPECT_FALSE(auth_append(g.data(), glen, (uint32_t)g.size(), kKey, 1, &n));
}

TEST(AuthCheck, EveryBitFlipRejected) {
  auto w = std::make_unique<ReplayWindow<256>>();
  uint32_t flipped = 0, checked = 0;
  for (const Case &c : sample_frames()) {
    if (c.frame.size() > 200) continue; // the small frames: every bit, quickly
    Frame f = sign(c.frame, 42);
    for (uint32_t byte = kFanoutOffset; byte < f.size(); byte++) {
      for (int bit = 0; bit < 8; bit++) {
        Frame g = f;
        g[byte] ^= (uint8_t)(1u << bit);
        flipped++;
        w->clear();
        auto p = parse(g);
        if (p->rc != kOk) continue; // malformed: dropped before auth
        AuthResult r;
        int rc = auth_check(g.data(), (uint32_t)g.size(), p->pkt, kKey, *w, r);
        checked++;
        EXPECT_NE(rc, kAuthOk) << c.what << " byte " << byte << " bit " << bit;
        if (byte != kFanoutOffset + kFoFlagsOff || bit != 6) {
          EXPECT_TRUE(rc == kAuthBadTag || rc == kAuthUnknownOrigin)
              << c.what << " byte " << byte << " bit " << bit << ": " << auth_code_name(rc);
        } else {
          EXPECT_EQ(rc, kAuthUnsigned) << c.what; // AUTH cleared: the trailer reads as payload
        }
      }
    }
  }
  EXPECT_GT(flipped, 6u * 30 * 8); // six small frames, every bit of their Fanout part and trailer
  EXPECT_GT(checked, flipped / 2); // most flips leave a well-formed packet: the tag catches them
  std::printf("bit flips: %u, %u parsed and rejected by auth_check\n", flipped, checked);
}

TEST(AuthCheck, LargeFrameBitFlipsSampled) {
  auto w = std::make_unique<FullWindow>();
  std::vector<Case> v = sample_frames();
  Frame f = sign(v[3].frame, 7); // 8 KiB DATA, UDP checksum
  // Zero the UDP checksum so that the tag, not the checksum, must catch every flip.
  store_be16(&f[kUdpChecksumOff], 0);
  for (uint32_t byte = kFanoutOffset; byte < f.size(); byte += 37) {
    Frame g = f;
    g[byte] ^= (uint8_t)(1u << (byte % 8));
    auto p = parse(g);
    if (p->rc != kOk) continue;
    AuthResult r;
    EXPECT_EQ(auth_check(g.data(), (uint32_t)g.size(), p->pkt, kKey, *w, r), kAuthBadTag) << "byte " << byte;
  }
  EXPECT_EQ(parse_and_check(f, *w), kAuthOk); // forged copies did not move the window
}

TEST(AuthCheck, WrongKey) {
  auto w = std::make_unique<FullWindow>();
  for (const Case &c : sample_frames()) {
    Frame f = sign(c.frame, 3, kOtherKey);
    EXPECT_EQ(parse_and_check(f, *w, kKey), kAuthBadTag) << c.what;
  }
  EXPECT_EQ(w->highest(1), 0u);
}

TEST(AuthCheck, ReplayRejected) {
  auto w = std::make_unique<FullWindow>();
  Frame f = sign(sample_frames()[0].frame, 1000);
  EXPECT_EQ(parse_and_check(f, *w), kAuthOk);
  EXPECT_EQ(parse_and_check(f, *w), kAuthReplayed);
  EXPECT_EQ(parse_and_check(f, *w), kAuthReplayed);
  // The same packet signed again with a new counter is a new packet (a retransmission).
  Frame g = sign(sample_frames()[0].frame, 1001);
  EXPECT_EQ(parse_and_check(g, *w), kAuthOk);
  EXPECT_EQ(parse_and_check(g, *w), kAuthReplayed);
}

TEST(AuthCheck, CounterWindow) {
  auto w = std::make_unique<FullWindow>();
  const Frame base = sample_frames()[0].frame; // origin 1
  struct Step {
    uint32_t counter;
    int want;
  } steps[] = {
      {0, kAuthStale}, // counters start at 1
      {10, kAuthOk},        {5, kAuthOk},           {5, kAuthReplayed},
      {9, kAuthOk},         {10, kAuthReplayed},    {100, kAuthOk},
      {37, kAuthOk},        {37, kAuthReplayed},    {36, kAuthStale},
      {99, kAuthOk},        {200, kAuthOk},         {137, kAuthOk},
      {136, kAuthStale},    {100, kAuthStale},      {201, kAuthOk},
      {200, kAuthReplayed}, {0xFFFFFFFFu, kAuthOk}, {0xFFFFFFFFu, kAuthReplayed},
      {201, kAuthStale},
  };
  for (const Step &s : steps) {
    EXPECT_EQ(parse_and_check(sign(base, s.counter), *w), s.want) << "counter " << s.counter;
  }
  EXPECT_EQ(w->highest(1), 0xFFFFFFFFu);
}

TEST(AuthCheck, OriginsIndependent) {
  auto w = std::make_unique<FullWindow>();
  std::vector<Case> v = sample_frames();
  // v[0]: origin 1; v[4]: ACK origin 17; v[7]: PROBE origin 21.
  EXPECT_EQ(parse_and_check(sign(v[0].frame, 500), *w), kAuthOk);
  EXPECT_EQ(parse_and_check(sign(v[4].frame, 500), *w), kAuthOk);
  EXPECT_EQ(parse_and_check(sign(v[7].frame, 1), *w), kAuthOk);
  EXPECT_EQ(parse_and_check(sign(v[4].frame, 2), *w), kAuthStale);
  EXPECT_EQ(parse_and_check(sign(v[7].frame, 2), *w), kAuthOk);
  EXPECT_EQ(parse_and_check(sign(v[0].frame, 500), *w), kAuthReplayed);
  EXPECT_EQ(w->highest(1), 500u);
  EXPECT_EQ(w->highest(17), 500u);
  EXPECT_EQ(w->highest(21), 2u);
  EXPECT_EQ(w->highest(2), 0u);
}

TEST(AuthCheck, SmallWindowRejectsOriginsOutOfRange) {
  auto w = std::make_unique<ReplayWindow<16>>();
  EXPECT_EQ(w->accept(15, 1), kAuthOk);
  EXPECT_EQ(w->accept(16, 1), kAuthUnknownOrigin);
  EXPECT_EQ(ReplayWindow<16>::kBytes, 16u * 12);
  EXPECT_EQ(FullWindow::kBytes, 786432u); // 768 KiB for every node id
  EXPECT_GE(sizeof(FullWindow), FullWindow::kBytes);
  EXPECT_LE(sizeof(FullWindow), FullWindow::kBytes + 16);
}

TEST(AuthParse, TruncatedTrailer) {
  // AUTH set on frames that carry fewer than 12 bytes after the set.
  std::vector<Case> v = sample_frames();
  for (size_t i : {4u, 5u, 6u, 7u}) { // ACK, ACK, NACK, PROBE: nothing after the set
    Frame f = v[i].frame;
    f[kFanoutOffset + kFoFlagsOff] |= kFlagAuth;
    if (load_be16(&f[kUdpChecksumOff]) != 0) {
      store_be16(&f[kUdpChecksumOff], 0);
    }
    EXPECT_EQ(parse(f)->rc, kAuthTruncated) << v[i].what;
  }
  FanoutHeader h = make_header(kTypeData, 1, 1, 9, 0, 11);
  h.flags = kFlagLast;
  Frame d = build(h, set_of({2}), payload_bytes(11), kSetList);
  d[kFanoutOffset + kFoFlagsOff] |= kFlagAuth;
  EXPECT_EQ(parse(d)->rc, kAuthTruncated);
  // A signed frame cut short (IPv4 and UDP lengths made consistent) by one byte.
  Frame s = sign(v[6].frame, 1);
  store_be16(&s[kUdpChecksumOff], 0);
  s.pop_back();
  store_be16(&s[kIpTotalLenOff], (uint16_t)(s.size() - kIpv4Offset));
  store_be16(&s[kUdpLenOff], (uint16_t)(s.size() - kUdpOffset));
  store_be16(&s[kIpChecksumOff], 0);
  store_be16(&s[kIpChecksumOff], ipv4_checksum(&s[kIpv4Offset]));
  EXPECT_EQ(parse(s)->rc, kAuthTruncated);
  // DATA with 12 or more bytes after the set: the last 12 are the trailer, so the payload is
  // shorter than the message length says.
  Frame m = v[0].frame;
  m[kFanoutOffset + kFoFlagsOff] |= kFlagAuth;
  EXPECT_EQ(parse(m)->rc, kLengthMismatch);
  EXPECT_STREQ(error_name(kAuthTruncated), "auth_truncated");
  EXPECT_EQ(kAuthTruncated + 1, kErrorCount);
}

TEST(AuthPacket, SignParseCheckFanoutPartAlone) {
  auto w = std::make_unique<FullWindow>();
  std::vector<Case> v = sample_frames();
  uint32_t counter = 1;
  for (const Case &c : v) {
    Frame pkt(c.frame.begin() + kFanoutOffset, c.frame.end());
    uint32_t len = (uint32_t)pkt.size(), n = 0;
    pkt.resize(len + kAuthTrailerBytes);
    ASSERT_TRUE(auth_sign_packet(pkt.data(), len, (uint32_t)pkt.size(), kKey, counter, &n));
    ASSERT_EQ(n, pkt.size());
    // The same bytes as the frame path's Fanout part.
    Frame f = sign(c.frame, counter);
    EXPECT_TRUE(std::equal(pkt.begin(), pkt.end(), f.begin() + kFanoutOffset)) << c.what;
    PacketView pv;
    auto set = std::make_unique<ReceiverSet>();
    ASSERT_EQ(parse_packet(pkt.data(), n, pv, set.get()), kOk) << c.what;
    EXPECT_TRUE(pv.auth);
    EXPECT_EQ(pv.auth_offset, n - kAuthTrailerBytes);
    EXPECT_EQ(pv.payload_offset + pv.payload_len, pv.auth_offset);
    AuthResult r;
    EXPECT_EQ(auth_check_packet(pkt.data(), n, pv, kKey, *w, r), kAuthOk) << c.what;
    EXPECT_EQ(auth_check_packet(pkt.data(), n, pv, kKey, *w, r), kAuthReplayed) << c.what;
    pkt[kFanoutHeaderBytes - 1] ^= 1; // length field
    if (parse_packet(pkt.data(), n, pv, set.get()) == kOk) {
      EXPECT_EQ(auth_check_packet(pkt.data(), n, pv, kKey, *w, r), kAuthBadTag) << c.what;
    }
    counter++;
  }
  // Truncated: a PROBE with AUTH and 11 trailer bytes.
  Frame probe(v[7].frame.begin() + kFanoutOffset, v[7].frame.end());
  probe[kFoFlagsOff] |= kFlagAuth;
  probe.resize(probe.size() + kAuthTrailerBytes - 1, 0);
  PacketView pv;
  EXPECT_EQ(parse_packet<kMaxSetRanges>(probe.data(), (uint32_t)probe.size(), pv, nullptr), kAuthTruncated);
}

TEST(AuthPacket, GatherTrailerEqualsContiguous) {
  for (const Case &c : sample_frames()) {
    auto p = parse(c.frame);
    ASSERT_EQ(p->rc, kOk);
    Frame pkt(c.frame.begin() + kFanoutOffset, c.frame.end());
    uint32_t len = (uint32_t)pkt.size(), n = 0;
    pkt.resize(len + kAuthTrailerBytes);
    ASSERT_TRUE(auth_sign_packet(pkt.data(), len, (uint32_t)pkt.size(), kKey, 77, &n));
    // Header buffer (header + set, AUTH set) and payload apart, as a gather send has them.
    uint32_t head_len = p->pkt.payload_offset - kFanoutOffset;
    Frame head(pkt.begin(), pkt.begin() + head_len);
    Frame payload(pkt.begin() + head_len, pkt.begin() + len);
    uint8_t trailer[kAuthTrailerBytes];
    auth_write_trailer(kKey, head.data(), head_len, payload.data(), (uint32_t)payload.size(), 77, trailer);
    EXPECT_TRUE(std::equal(trailer, trailer + kAuthTrailerBytes, pkt.begin() + len)) << c.what;
  }
}

TEST(AuthCounters, CountAndNames) {
  AuthCounters c;
  c.clear();
  c.count(kAuthOk);
  c.count(kAuthBadTag);
  c.count(kAuthBadTag);
  c.count(99);
  EXPECT_EQ(c.by_code[kAuthOk], 1u);
  EXPECT_EQ(c.by_code[kAuthBadTag], 2u);
  for (int i = 0; i < kAuthCodeCount; i++) EXPECT_STRNE(auth_code_name(i), "auth_unknown_code");
}

} // namespace
