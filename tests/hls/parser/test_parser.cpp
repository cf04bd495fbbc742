// The header-parser kernel (hls/parser) against golden vectors from the software path:
// frames built with proto::build_frame (and mutated), classified with proto::parse_frame
// (verify_udp_checksum = false, as hardware relays do), fed to fanout::hw::Parser as beats, one
// step() per clock.
#include "parser.hpp"

#include "../hls_test_util.hpp"
#include "auth_model.hpp"

#include "fanout/hls/axis.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

extern "C" void fanout_parser(hls::stream<fanout::hw::axis_word> &in, hls::stream<fanout::hw::axis_word> &out_fanout,
                              hls::stream<fanout::hw::ParsedMeta> &out_meta,
                              hls::stream<fanout::hw::axis_word> &out_host,
                              hls::stream<fanout::hw::ParsedMeta> &out_seen, uint16_t udp_port,
                              uint32_t error_counts[fanout::proto::kErrorCount], uint32_t *overflow_count,
                              uint32_t *bad_frame_count, uint32_t *seen_dropped, uint8_t auth_mode,
                              const uint32_t auth_key[4], uint32_t auth_counts[fanout::proto::kAuthCodeCount]);

namespace {

namespace proto = fanout::proto;
namespace hw = fanout::hw;
using hw::axis_word;
using hw::ParsedMeta;
using Bytes = std::vector<uint8_t>;

const uint16_t kPort = proto::kDefaultUdpPort;

proto::ParseConfig sw_config() {
  proto::ParseConfig c = proto::default_parse_config();
  c.udp_port = kPort;
  c.verify_udp_checksum = false; // hardware relays do not verify UDP checksums
  return c;
}

// ---- Frame construction (software path) ------------------------------------------------------
uint32_t g_msg = 1; // every frame gets its own message id, so frames are told apart in outputs

Bytes build(uint8_t type, const std::vector<uint16_t> &ids, proto::SetEncoding enc, uint32_t payload_len,
            uint32_t sequence, uint32_t length, uint8_t flags, uint16_t udp_port = kPort) {
  proto::NetHeaders net = proto::cluster_net_headers(3, 7, 3, g_msg);
  net.udp_dst_port = udp_port;
  proto::FanoutHeader h = proto::make_header(type, 3, 3, g_msg++, sequence, length);
  h.flags = flags;
  proto::ReceiverSet set;
  for (uint16_t id : ids) EXPECT_TRUE(set.append(id));
  proto::BuildOptions opt = proto::default_build_options();
  opt.encoding = enc;
  Bytes payload(payload_len);
  for (uint32_t i = 0; i < payload_len; i++) payload[i] = (uint8_t)(i * 7 + 1);
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  int e = proto::build_frame(net, h, set, payload.data(), payload_len, opt, out.data(), (uint32_t)out.size(), &len);
  EXPECT_EQ(e, proto::kOk);
  out.resize(len);
  return out;
}

// A last-and-only DATA packet: payload_len == length keeps the lengths consistent.
Bytes data_frame(const std::vector<uint16_t> &ids, proto::SetEncoding enc, uint32_t payload_len) {
  return build(proto::kTypeData, ids, enc, payload_len, 0, payload_len, proto::kFlagLast);
}

// IPv4 total length, UDP length and IPv4 checksum made consistent with the frame's size.
void fix_lengths(Bytes &f) {
  proto::store_be16(&f[proto::kIpTotalLenOff], (uint16_t)(f.size() - proto::kIpv4Offset));
  proto::store_be16(&f[proto::kUdpLenOff], (uint16_t)(f.size() - proto::kUdpOffset));
  proto::store_be16(&f[proto::kIpChecksumOff], 0);
  proto::store_be16(&f[proto::kIpChecksumOff], proto::ipv4_checksum(&f[proto::kIpv4Offset]));
}
void fix_ip_checksum(Bytes &f) {
  proto::store_be16(&f[proto::kIpChecksumOff], 0);
  proto::store_be16(&f[proto::kIpChecksumOff], proto::ipv4_checksum(&f[proto::kIpv4Offset]));
}

// A last-and-only DATA packet with a raw set body (for set errors): lengths consistent.
Bytes raw_set_frame(proto::SetEncoding enc, const Bytes &body, uint32_t payload_len) {
  Bytes f = data_frame({1}, proto::kSetList, 0);
  f.resize(proto::kSetOffset);
  f.insert(f.end(), body.begin(), body.end());
  for (uint32_t i = 0; i < payload_len; i++) f.push_back((uint8_t)i);
  uint8_t *fo = &f[proto::kFanoutOffset];
  fo[proto::kFoSetEncOff] = (uint8_t)enc;
  proto::store_be16(fo + proto::kFoSetLenOff, (uint16_t)body.size());
  proto::store_be32(fo + proto::kFoLengthOff, payload_len);
  fix_lengths(f);
  return f;
}

Bytes non_ipv4(uint16_t ethertype, uint32_t len) {
  Bytes f(len);
  for (uint32_t i = 0; i < len; i++) f[i] = (uint8_t)(g_msg * 31 + i);
  g_msg++;
  // A frame too short to hold the EtherType (the truncated cases) keeps its filler bytes.
  if (len >= proto::kEthTypeOff + 2) proto::store_be16(&f[proto::kEthTypeOff], ethertype);
  return f;
}

struct Case {
  std::string name;
  Bytes frame;
  int intended; // the code the mutation is meant to produce (-1: whatever parse_frame says)
};

// Valid Fanout frames of every type and set encoding.
std::vector<Case> valid_cases() {
  std::vector<Case> v;
  v.push_back({"data_list", data_frame({5, 9, 200}, proto::kSetList, 100), proto::kOk});
  v.push_back({"data_ranges", data_frame({10, 11, 12, 13, 40, 41}, proto::kSetRanges, 1000), proto::kOk});
  v.push_back({"data_bitmap", data_frame({0, 3, 8, 15, 22}, proto::kSetBitmap, 64), proto::kOk});
  v.push_back({"data_mid", build(proto::kTypeData, {1, 2}, proto::kSetList, 500, 2, 5000, 0), proto::kOk});
  std::vector<uint16_t> many;
  for (uint16_t i = 0; i < 512; i++) many.push_back((uint16_t)(i * 3)); // 1024-byte list: largest set
  v.push_back({"data_max_set", data_frame(many, proto::kSetList, 7000), proto::kOk});
  v.push_back({"data_jumbo", data_frame({4}, proto::kSetList, proto::kMaxFrameBytes - 66), proto::kOk});
  v.push_back({"ack", build(proto::kTypeAck, {1, 2, 3, 9}, proto::kSetRanges, 0, 17, 4, 0), proto::kOk});
  v.push_back({"ack_noset", build(proto::kTypeAck, {}, proto::kSetNone, 0, 3, 0, 0), proto::kOk});
  v.push_back({"nack", build(proto::kTypeNack, {6, 8}, proto::kSetList, 0, 4, 2, 0), proto::kOk});
  v.push_back({"probe", build(proto::kTypeProbe, {}, proto::kSetNone, 0, 99, 0, 0), proto::kOk});
  {
    // AUTH flag set (proto/auth.hpp) but no room for the 12-byte trailer.
    Bytes f = build(proto::kTypeProbe, {}, proto::kSetNone, 0, 97, 0, 0);
    f[proto::kFanoutOffset + proto::kFoFlagsOff] |= proto::kFlagAuth;
    v.push_back({"auth_truncated", f, proto::kAuthTruncated});
  }
  {
    // A peer monitor's probe (hops-left 1): valid, its meta on out_seen only.
    Bytes f = build(proto::kTypeProbe, {}, proto::kSetNone, 0, 98, 0, 0);
    f[proto::kFanoutOffset + proto::kFoHopsOff] = proto::kPeerProbeHops;
    v.push_back({"peer_probe", f, proto::kOk});
  }
  return v;
}

std::vector<Case> host_cases() {
  std::vector<Case> v;
  v.push_back({"ipv6", non_ipv4(proto::kEtherTypeIpv6, 150), proto::kNotFanout});
  v.push_back({"arp", non_ipv4(0x0806, 60), proto::kNotFanout});
  v.push_back({"short_non_ip", non_ipv4(0x88CC, 20), proto::kNotFanout});
  Bytes tcp = data_frame({1}, proto::kSetList, 30);
  tcp[proto::kIpProtoOff] = 6;
  fix_ip_checksum(tcp);
  v.push_back({"tcp", tcp, proto::kNotFanout});
  v.push_back({"udp_other_port", data_frame({1}, proto::kSetList, 300), proto::kNotFanout});
  proto::store_be16(&v.back().frame[proto::kUdpDstPortOff], 53);
  Bytes frag = data_frame({1}, proto::kSetList, 10);
  proto::store_be16(&frag[proto::kIpFlagsFragOff], 0x0010); // a later fragment: no UDP header
  fix_ip_checksum(frag);
  v.push_back({"ip_later_fragment", frag, proto::kNotFanout});
  return v;
}

std::vector<Case> malformed_cases() {
  std::vector<Case> v;
  auto base = [] { return data_frame({2, 4, 6}, proto::kSetList, 40); };
  v.push_back({"truncated_eth", non_ipv4(proto::kEtherTypeIpv4, 10), proto::kTruncated});
  v.push_back({"truncated_ip", base(), proto::kTruncated});
  v.back().frame.resize(30);
  v.push_back({"truncated_udp", base(), proto::kTruncated});
  v.back().frame.resize(38);
  v.push_back({"too_long_fanout", base(), proto::kFrameTooLong});
  v.back().frame.resize(proto::kMaxFrameBytes + 1, 0xAB);
  v.push_back({"too_long_ipv6", non_ipv4(proto::kEtherTypeIpv6, 12000), proto::kFrameTooLong});
  {
    Bytes f = base();
    f[proto::kIpVerIhlOff] = 0x65;
    fix_ip_checksum(f);
    v.push_back({"ipv4_bad_header", f, proto::kIpv4BadHeader});
  }
  {
    Bytes f = base();
    f[proto::kIpVerIhlOff] = 0x46; // options: moves UDP, whose dst port (bytes 40..41 then) is ours
    proto::store_be16(&f[proto::kIpv4Offset + 24 + 2], kPort);
    v.push_back({"ipv4_options", f, proto::kIpv4BadHeader});
  }
  {
    Bytes f = base();
    f[proto::kIpChecksumOff] ^= 0x01;
    v.push_back({"ipv4_bad_checksum", f, proto::kIpv4BadChecksum});
  }
  {
    Bytes f = base();
    proto::store_be16(&f[proto::kIpTotalLenOff], (uint16_t)(f.size() - proto::kIpv4Offset + 1));
    fix_ip_checksum(f);
    v.push_back({"ipv4_bad_length", f, proto::kIpv4BadLength});
  }
  {
    Bytes f = base();
    proto::store_be16(&f[proto::kIpFlagsFragOff], proto::kIpv4FlagMoreFragments);
    fix_ip_checksum(f);
    v.push_back({"ipv4_fragment", f, proto::kIpv4Fragment});
  }
  {
    Bytes f = base();
    proto::store_be16(&f[proto::kUdpLenOff], (uint16_t)(proto::load_be16(&f[proto::kUdpLenOff]) - 1));
    v.push_back({"udp_bad_length", f, proto::kUdpBadLength});
  }
  {
    Bytes f = base();
    f.resize(proto::kFanoutOffset + 10);
    fix_lengths(f);
    f.resize(60, 0); // Ethernet padding
    v.push_back({"fanout_truncated", f, proto::kFanoutTruncated});
  }
  auto hdr_mut = [&](const char *name, uint32_t off, uint8_t val, int code) {
    Bytes f = base();
    f[proto::kFanoutOffset + off] = val;
    v.push_back({name, f, code});
  };
  hdr_mut("bad_version", proto::kFoVerTypeOff, (uint8_t)(2 << 4 | proto::kTypeData), proto::kBadVersion);
  hdr_mut("bad_type", proto::kFoVerTypeOff, (uint8_t)(proto::kProtocolVersion << 4 | 7), proto::kBadType);
  hdr_mut("bad_set_encoding", proto::kFoSetEncOff, 5, proto::kBadSetEncoding);
  {
    Bytes f = build(proto::kTypeProbe, {}, proto::kSetNone, 0, 1, 0, 0);
    f[proto::kFanoutOffset + proto::kFoSetEncOff] = proto::kSetList;
    v.push_back({"probe_with_set", f, proto::kBadSetEncoding});
  }
  {
    Bytes f = base();
    proto::store_be16(&f[proto::kFanoutOffset + proto::kFoSetLenOff], 6 + 40 + 2);
    v.push_back({"set_truncated", f, proto::kSetTruncated});
  }
  {
    Bytes f = data_frame({2}, proto::kSetList, 3000);
    proto::store_be16(&f[proto::kFanoutOffset + proto::kFoSetLenOff], 2000);
    v.push_back({"set_too_large", f, proto::kSetTooLarge});
  }
  v.push_back({"set_bad_length", raw_set_frame(proto::kSetList, {0, 1, 0}, 20), proto::kSetBadLength});
  v.push_back({"set_empty_bitmap", raw_set_frame(proto::kSetBitmap, {0, 8, 0, 1, 0}, 20), proto::kSetEmpty});
  v.push_back({"set_unsorted", raw_set_frame(proto::kSetList, {0, 5, 0, 3}, 20), proto::kSetUnsorted});
  v.push_back({"set_duplicate", raw_set_frame(proto::kSetList, {0, 5, 0, 5}, 20), proto::kSetDuplicate});
  v.push_back({"bitmap_out_of_range", raw_set_frame(proto::kSetBitmap, {0xFF, 0xFF, 0, 1, 0xC0}, 20),
               proto::kBitmapOutOfRange});
  {
    Bytes f = build(proto::kTypeProbe, {}, proto::kSetNone, 0, 1, 0, 0);
    proto::store_be32(&f[proto::kFanoutOffset + proto::kFoLengthOff], 5);
    v.push_back({"length_mismatch", f, proto::kLengthMismatch});
  }
  v.push_back({"set_not_canonical", raw_set_frame(proto::kSetBitmap, {0, 0, 0, 1, 0x80, 0, 8, 0, 1, 0x80}, 20),
               proto::kSetNotCanonical});
  return v;
}

// ---- Kernel harness ---------------------------------------------------------------------------
struct Expected {
  int code;
  proto::ParsedPacket pp;
};

Expected classify_sw(const Bytes &f) {
  Expected e;
  std::memset(&e.pp, 0, sizeof(e.pp));
  proto::ReceiverSet set;
  e.code = proto::parse_frame(f.data(), (uint32_t)f.size(), sw_config(), e.pp, &set);
  return e;
}

std::vector<axis_word> to_words(const Bytes &f, uint8_t ingress) {
  std::vector<proto::Beat> beats(proto::beats_for((uint32_t)f.size()));
  uint32_t n = proto::frame_to_beats(f.data(), (uint32_t)f.size(), beats.data(), (uint32_t)beats.size());
  EXPECT_EQ(n, beats.size());
  std::vector<axis_word> w;
  for (const proto::Beat &b : beats) w.push_back(hw::from_beat(b, 0, ingress));
  return w;
}

bool same_word(const axis_word &a, const axis_word &b) {
  return a.data == b.data && a.keep == b.keep && a.last == b.last && a.user == b.user;
}

template <class ParserT> struct BasicKernelRun {
  // Inputs: per frame its beats (back to back), ingress port.
  std::vector<Bytes> frames;
  std::vector<uint8_t> ingress;
  // Random backpressure / input gaps (probabilities per cycle); 1.0 = always.
  double p_in = 1.0, p_fanout = 1.0, p_meta = 1.0, p_host = 1.0;
  uint32_t seed = 1;
  uint64_t max_cycles = 10'000'000;

  // Results.
  std::vector<std::vector<axis_word>> fanout_frames, host_frames;
  std::vector<ParsedMeta> metas, seen;
  uint64_t cycles = 0, in_beats = 0, first_in_cycle = 0, first_out_cycle = UINT64_MAX;
  std::unique_ptr<ParserT> parser = std::make_unique<ParserT>();

  void go() {
    hls::stream<axis_word> in, out_fanout, out_host; // depth 2: the test reads them on random cycles
    hls::stream<ParsedMeta> out_meta, out_seen;
    std::vector<axis_word> words;
    for (size_t i = 0; i < frames.size(); i++) {
      std::vector<axis_word> w = to_words(frames[i], ingress.empty() ? (uint8_t)(i % 4) : ingress[i]);
      words.insert(words.end(), w.begin(), w.end());
    }
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<axis_word> cur_f, cur_h;
    size_t next = 0;
    uint64_t idle = 0;
    for (cycles = 0; cycles < max_cycles; cycles++) {
      if (next < words.size() && u(rng) < p_in) {
        if (next == 0) first_in_cycle = cycles;
        in.write(words[next++]);
        in_beats++;
      }
      parser->step(in, out_fanout, out_meta, out_host, out_seen);
      EXPECT_TRUE(in.empty()) << "the input is never stalled";
      while (!out_seen.empty()) seen.push_back(out_seen.read());
      if (!out_fanout.empty() && u(rng) < p_fanout) {
        if (first_out_cycle == UINT64_MAX) first_out_cycle = cycles;
        cur_f.push_back(out_fanout.read());
        if (cur_f.back().last == 1) fanout_frames.push_back(std::move(cur_f)), cur_f.clear();
      }
      if (!out_meta.empty() && u(rng) < p_meta) metas.push_back(out_meta.read());
      if (!out_host.empty() && u(rng) < p_host) {
        if (first_out_cycle == UINT64_MAX) first_out_cycle = cycles;
        cur_h.push_back(out_host.read());
        if (cur_h.back().last == 1) host_frames.push_back(std::move(cur_h)), cur_h.clear();
      }
      bool quiet = next == words.size() && parser->fifo_level() == 0 && out_fanout.empty() && out_meta.empty() &&
                   out_host.empty();
      idle = quiet ? idle + 1 : 0;
      if (idle > 4) break;
    }
    EXPECT_TRUE(cur_f.empty() && cur_h.empty()) << "partial frame at an output";
  }
};
using KernelRun = BasicKernelRun<hw::Parser>;
using DeepKernelRun = BasicKernelRun<hw::BasicParser<hw::kParserAuthFifoBeats>>;

void expect_meta(const ParsedMeta &m, const proto::ParsedPacket &pp, const Bytes &f, uint8_t ingress,
                 const std::string &what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(m.hdr.version, pp.hdr.version);
  EXPECT_EQ(m.hdr.type, pp.hdr.type);
  EXPECT_EQ(m.hdr.flags, pp.hdr.flags);
  EXPECT_EQ(m.hdr.set_encoding, pp.hdr.set_encoding);
  EXPECT_EQ(m.hdr.hops_left, pp.hdr.hops_left);
  EXPECT_EQ(m.hdr.set_len, pp.hdr.set_len);
  EXPECT_EQ(m.hdr.sender, pp.hdr.sender);
  EXPECT_EQ(m.hdr.origin, pp.hdr.origin);
  EXPECT_EQ(m.hdr.message_id, pp.hdr.message_id);
  EXPECT_EQ(m.hdr.sequence, pp.hdr.sequence);
  EXPECT_EQ(m.hdr.length, pp.hdr.length);
  EXPECT_EQ(m.payload_len, pp.payload_len);
  EXPECT_EQ(m.frame_len, f.size());
  EXPECT_EQ(m.ingress_port, ingress);
  EXPECT_EQ(m.ip_src, pp.ip_src);
  EXPECT_EQ(m.ip_dst, pp.ip_dst);
  EXPECT_EQ(m.udp_src_port, pp.udp_src_port);
}

bool frame_matches(const std::vector<axis_word> &got, const Bytes &f, uint8_t ingress) {
  std::vector<axis_word> want = to_words(f, ingress);
  if (got.size() != want.size()) return false;
  for (size_t i = 0; i < got.size(); i++)
    if (!same_word(got[i], want[i])) return false;
  return true;
}

// Check a run against parse_frame's verdicts. With allow_overflow, kept frames may be missing
// (dropped with the FIFO full): outputs must then be an in-order subsequence, no duplicates, and
// every frame accounted for exactly once by an output, an error code or the overflow counter.
void check_run(KernelRun &r, bool allow_overflow) {
  std::vector<size_t> want_f, want_h;
  std::map<int, uint32_t> want_codes;
  std::vector<Expected> exp;
  uint32_t want_peer = 0;
  for (size_t i = 0; i < r.frames.size(); i++) {
    exp.push_back(classify_sw(r.frames[i]));
    want_codes[exp.back().code]++;
    // A peer monitor's PROBE is valid but only goes to out_seen (not kept).
    bool peer =
        exp.back().code == proto::kOk && proto::is_peer_probe(exp.back().pp.hdr.type, exp.back().pp.hdr.hops_left);
    if (exp.back().code == proto::kOk && !peer) want_f.push_back(i);
    if (peer) want_peer++;
    if (exp.back().code == proto::kNotFanout) want_h.push_back(i);
  }
  auto ing = [&](size_t i) { return r.ingress.empty() ? (uint8_t)(i % 4) : r.ingress[i]; };
  ASSERT_EQ(r.metas.size(), r.fanout_frames.size()) << "one meta per Fanout frame";
  // Greedy in-order matching (every frame is distinct).
  auto match = [&](const std::vector<std::vector<axis_word>> &got, const std::vector<size_t> &want,
                   std::vector<size_t> &matched) {
    size_t j = 0;
    for (const auto &g : got) {
      while (j < want.size() && !frame_matches(g, r.frames[want[j]], ing(want[j]))) j++;
      ASSERT_LT(j, want.size()) << "an output frame that is not the next expected one (order, loss or duplicate)";
      matched.push_back(want[j++]);
    }
  };
  std::vector<size_t> got_f, got_h;
  match(r.fanout_frames, want_f, got_f);
  match(r.host_frames, want_h, got_h);
  for (size_t k = 0; k < got_f.size(); k++)
    expect_meta(r.metas[k], exp[got_f[k]].pp, r.frames[got_f[k]], ing(got_f[k]), "frame " + std::to_string(got_f[k]));
  uint32_t lost = (uint32_t)(want_f.size() - got_f.size() + want_h.size() - got_h.size());
  uint32_t overflow = r.parser->overflow_count();
  if (!allow_overflow) {
    EXPECT_EQ(overflow, 0u);
    EXPECT_EQ(lost, 0u);
    for (int c = 0; c < proto::kErrorCount; c++)
      EXPECT_EQ(r.parser->error_count(c), want_codes[c]) << proto::error_name(c);
    EXPECT_EQ(r.parser->peer_frames(), want_peer);
  } else {
    // Overflowed frames are counted there, not by their code.
    uint32_t counted = overflow;
    for (int c = 0; c < proto::kErrorCount; c++) {
      EXPECT_LE(r.parser->error_count(c), want_codes[c]) << proto::error_name(c);
      counted += r.parser->error_count(c);
    }
    EXPECT_EQ(counted, r.frames.size()) << "every frame counted once";
    EXPECT_EQ(r.parser->error_count(proto::kOk), got_f.size() + r.parser->peer_frames());
    EXPECT_EQ(r.parser->error_count(proto::kNotFanout), got_h.size());
  }
  EXPECT_EQ(r.parser->bad_frame_count(), 0u);
}

std::vector<Case> all_cases() {
  std::vector<Case> all;
  for (auto &v : {valid_cases(), host_cases(), malformed_cases()}) all.insert(all.end(), v.begin(), v.end());
  return all;
}

// ---- Tests ---------------------------------------------------------------------------------------
TEST(Parser, GoldenVerdictsAreWhatTheMutationsIntend) {
  std::set<int> produced;
  for (const Case &c : all_cases()) {
    Expected e = classify_sw(c.frame);
    EXPECT_EQ(e.code, c.intended) << c.name << ": " << proto::error_name(e.code);
    produced.insert(e.code);
  }
  // Every ParseError class but kUdpBadChecksum (not checked by hardware relays) is exercised.
  for (int c = 0; c < proto::kErrorCount; c++)
    if (c != proto::kUdpBadChecksum) {
      EXPECT_TRUE(produced.count(c)) << proto::error_name(c);
    }
}

TEST(Parser, EachFrameAloneMatchesParseFrame) {
  for (const Case &c : all_cases()) {
    SCOPED_TRACE(c.name);
    KernelRun r;
    r.frames = {c.frame};
    r.ingress = {5};
    r.go();
    check_run(r, false);
  }
}

TEST(Parser, BackToBackMixedFramesMatchParseFrame) {
  KernelRun r;
  std::mt19937 rng(7);
  std::vector<Case> all = all_cases();
  for (int round = 0; round < 4; round++) {
    std::shuffle(all.begin(), all.end(), rng);
    for (const Case &c : all) {
      Bytes f = c.frame;
      r.frames.push_back(f);
    }
  }
  r.go();
  check_run(r, false);
  EXPECT_GT(r.fanout_frames.size(), 0u);
  EXPECT_GT(r.host_frames.size(), 0u);
}

TEST(Parser, RandomBackpressureLosesNothing) {
  std::vector<Case> all = all_cases();
  for (uint32_t seed = 1; seed <= 4; seed++) {
    SCOPED_TRACE(seed);
    KernelRun r;
    std::mt19937 rng(seed);
    for (int round = 0; round < 3; round++) {
      std::shuffle(all.begin(), all.end(), rng);
      for (const Case &c : all) r.frames.push_back(c.frame);
    }
    r.seed = seed;
    r.p_in = 0.35; // input gaps, so the outputs keep up on average and the FIFO absorbs bursts
    r.p_fanout = 0.6;
    r.p_meta = 0.5;
    r.p_host = 0.6;
    r.go();
    check_run(r, false);
  }
}

TEST(Parser, HeavyBackpressureDropsWholeFramesAsOverflow) {
  std::vector<Case> all = all_cases();
  KernelRun r;
  std::mt19937 rng(11);
  for (int round = 0; round < 3; round++) {
    std::shuffle(all.begin(), all.end(), rng);
    for (const Case &c : all) r.frames.push_back(c.frame);
  }
  r.seed = 11;
  r.p_in = 1.0; // line rate in, outputs read on 1 cycle in 5
  r.p_fanout = r.p_meta = r.p_host = 0.2;
  r.go();
  check_run(r, true);
  EXPECT_GT(r.parser->overflow_count(), 0u) << "the test should have filled the FIFO";
  std::printf("[parser] heavy backpressure: %zu frames in, %zu fanout + %zu host out, %u overflow drops\n",
              r.frames.size(), r.fanout_frames.size(), r.host_frames.size(), r.parser->overflow_count());
}

TEST(Parser, MalformedFrameInTheMiddleAffectsNothingElse) {
  for (const Case &bad : malformed_cases()) {
    SCOPED_TRACE(bad.name);
    KernelRun r;
    for (int i = 0; i < 3; i++) r.frames.push_back(data_frame({1, 2}, proto::kSetList, 70 + i));
    r.frames.push_back(bad.frame);
    for (int i = 0; i < 3; i++) r.frames.push_back(data_frame({3}, proto::kSetList, 200 + i));
    r.go();
    check_run(r, false);
    EXPECT_EQ(r.fanout_frames.size(), 6u);
    EXPECT_EQ(r.parser->error_count(bad.intended), 1u);
  }
}

TEST(Parser, MacBadFrameIsDroppedWhole) {
  KernelRun r;
  r.frames = {data_frame({1}, proto::kSetList, 100)};
  r.go();
  // Feed one frame with tuser bit 8 on its last beat by hand, then a good one.
  hls::stream<axis_word> in, of, oh;
  hls::stream<ParsedMeta> om;
  hw::Parser &p = *r.parser;
  p.reset();
  std::vector<axis_word> bad = to_words(data_frame({1}, proto::kSetList, 100), 1);
  bad.back().user[hw::kUserBadFrameBit] = 1;
  std::vector<axis_word> good = to_words(data_frame({1}, proto::kSetList, 101), 1);
  for (const axis_word &w : bad) in.write(w), p.step(in, of, om, oh);
  for (const axis_word &w : good) in.write(w), p.step(in, of, om, oh);
  size_t n = 0;
  for (int i = 0; i < 10; i++) {
    p.step(in, of, om, oh);
    while (!of.empty()) of.read(), n++;
    while (!om.empty()) om.read();
  }
  EXPECT_EQ(n, good.size());
  EXPECT_EQ(p.bad_frame_count(), 1u);
  EXPECT_EQ(p.error_count(proto::kOk), 1u);
}

TEST(Parser, ThroughputAndLatency) {
  // The smallest valid DATA frame: 64 header bytes + a 2-byte list set, empty last packet (2 beats).
  KernelRun r;
  const uint64_t kCycles = 100'000;
  for (uint64_t i = 0; i < kCycles / 2; i++) r.frames.push_back(data_frame({(uint16_t)(i % 1000)}, proto::kSetList, 0));
  ASSERT_EQ(r.frames[0].size(), 66u);
  r.go();
  check_run(r, false);
  // Input accepted: every beat offered on consecutive clocks, the kernel takes one per clock.
  uint64_t input_cycles = r.in_beats; // p_in = 1: one beat offered per clock until the last
  double in_rate = (double)r.in_beats / (double)input_cycles;
  uint64_t out_beats = 0;
  for (const auto &f : r.fanout_frames) out_beats += f.size();
  double out_rate = (double)out_beats / (double)(r.cycles - r.first_out_cycle);
  uint64_t latency = r.first_out_cycle - r.first_in_cycle;
  EXPECT_EQ(out_beats, r.in_beats);
  EXPECT_GE(in_rate, 0.99);
  EXPECT_GE(out_rate, 0.99);
  std::printf("[parser] min-size DATA frames back to back: %llu input beats in %llu cycles, accepted %.4f "
              "beats/cycle, output %.4f beats/cycle; latency first input beat -> first output beat: %llu cycles "
              "(set validation not included: one call in C simulation, multi-cycle in hardware)\n",
              (unsigned long long)r.in_beats, (unsigned long long)r.cycles, in_rate, out_rate,
              (unsigned long long)latency);
  EXPECT_LE(latency, 3u);

  KernelRun big; // store and forward: latency of a maximum frame is its length in beats (+ 1)
  big.frames = {data_frame({4}, proto::kSetList, proto::kMaxFrameBytes - 66)};
  big.go();
  std::printf("[parser] latency of a %zu-byte (%u-beat) frame: %llu cycles\n", big.frames[0].size(),
              proto::beats_for((uint32_t)big.frames[0].size()),
              (unsigned long long)(big.first_out_cycle - big.first_in_cycle));
}

TEST(ParserTop, PassesFramesThroughTheStaticInstance) {
  hls::stream<axis_word> in, of, oh;
  hls::stream<ParsedMeta> om, seen;
  uint32_t counts[proto::kErrorCount] = {};
  uint32_t overflow = 0, bad = 0, seen_dropped = 0;
  Bytes fan = data_frame({9}, proto::kSetList, 10), host = non_ipv4(proto::kEtherTypeIpv6, 80);
  std::vector<axis_word> w = to_words(fan, 2), h = to_words(host, 3);
  w.insert(w.end(), h.begin(), h.end());
  std::vector<axis_word> got_f, got_h;
  for (size_t c = 0; c < w.size() + 8; c++) {
    if (c < w.size()) in.write(w[c]);
    uint32_t key[4] = {}, auth_counts[proto::kAuthCodeCount] = {};
    fanout_parser(in, of, om, oh, seen, 0, counts, &overflow, &bad, &seen_dropped, hw::kParserAuthOff, key,
                  auth_counts); // port 0: the default port
    if (c == 1) {
      // The Fanout frame (2 beats) was classified at its last beat: its meta is on the tap
      // already, before the frame itself leaves the FIFO.
      ASSERT_FALSE(seen.empty());
      EXPECT_EQ(seen.read().hdr.type, proto::kTypeData);
    }
    while (!of.empty()) got_f.push_back(of.read());
    while (!oh.empty()) got_h.push_back(oh.read());
  }
  EXPECT_TRUE(frame_matches(got_f, fan, 2));
  EXPECT_TRUE(frame_matches(got_h, host, 3));
  ASSERT_FALSE(om.empty());
  EXPECT_EQ(om.read().ingress_port, 2);
  EXPECT_EQ(counts[proto::kOk], 1u);
  EXPECT_EQ(counts[proto::kNotFanout], 1u);
  EXPECT_EQ(overflow, 0u);
  EXPECT_EQ(bad, 0u);
  EXPECT_TRUE(seen.empty()) << "one word per valid Fanout frame, none for the host's";
  EXPECT_EQ(seen_dropped, 0u);
}

} // namespace

// ---- Authentication (proto/auth.hpp) ---------------------------------------------------------
namespace {

const uint8_t kKey[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                          0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
const uint8_t kOtherKey[16] = {0xf0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                               0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

// f signed as its origin would sign it (proto::auth_append).
Bytes sign(Bytes f, uint32_t counter, const uint8_t *key = kKey) {
  return fanout::test::signed_frame(std::move(f), counter, key);
}
// A DATA frame from origin `origin` (sender too) with a payload of payload_len bytes.
Bytes data_from(uint16_t origin, uint32_t payload_len, std::vector<uint16_t> ids = {5, 9}) {
  Bytes f = data_frame(ids, proto::kSetList, payload_len);
  proto::store_be16(&f[proto::kFanoutOffset + proto::kFoSenderOff], origin);
  proto::store_be16(&f[proto::kFanoutOffset + proto::kFoOriginOff], origin);
  return f;
}

// The software verdict in arrival order: parse_frame, then the tag and the replay windows
// (auth_model.hpp).
struct AuthModel {
  uint8_t mode;
  fanout::test::ParserAuthModel windows;
  uint32_t counts[proto::kAuthCodeCount] = {};
  // Whether the kernel keeps f (out_fanout or out_host).
  bool keeps(const Bytes &f, uint8_t ingress) {
    Expected e = classify_sw(f);
    if (e.code == proto::kNotFanout) return true;
    if (e.code != proto::kOk || proto::is_peer_probe(e.pp.hdr.type, e.pp.hdr.hops_left)) return false;
    if (mode == hw::kParserAuthOff) return true;
    if (!e.pp.auth && (ingress == proto::kPortLocal || (e.pp.hdr.type == proto::kTypeProbe && e.pp.hdr.hops_left == 0)))
      return true; // this node's host, or a link-local heartbeat: trusted unsigned
    if (!e.pp.auth) {
      counts[proto::kAuthUnsigned]++;
      return mode == hw::kParserAuthAccept;
    }
    int c = windows.check(f.data(), (uint32_t)f.size(), e.pp, kKey);
    counts[c]++;
    return c == proto::kAuthOk;
  }
};

// Runs r with authentication `mode` (key kKey) and checks every output against AuthModel: kept
// frames come out unchanged and in order, the others not at all, the counters agree, and out_seen
// has a word for exactly the kept Fanout frames and the peer probes.
template <class Run> void run_auth(Run &r, uint8_t mode) {
  r.parser->set_auth(mode, kKey);
  r.go();
  AuthModel m;
  m.mode = mode;
  std::vector<size_t> want_f, want_h;
  size_t peer = 0; // peer-monitor probes: unchecked, a tap word each
  for (size_t i = 0; i < r.frames.size(); i++) {
    Expected e = classify_sw(r.frames[i]);
    if (e.code == proto::kOk && proto::is_peer_probe(e.pp.hdr.type, e.pp.hdr.hops_left)) peer++;
    if (!m.keeps(r.frames[i], r.ingress.empty() ? (uint8_t)(i % 4) : r.ingress[i])) continue;
    (classify_sw(r.frames[i]).code == proto::kOk ? want_f : want_h).push_back(i);
  }
  auto ing = [&](size_t i) { return r.ingress.empty() ? (uint8_t)(i % 4) : r.ingress[i]; };
  ASSERT_EQ(r.parser->overflow_count(), 0u) << "the run must not fill the FIFO";
  ASSERT_EQ(r.fanout_frames.size(), want_f.size());
  ASSERT_EQ(r.host_frames.size(), want_h.size());
  ASSERT_EQ(r.metas.size(), want_f.size());
  for (size_t k = 0; k < want_f.size(); k++) {
    EXPECT_TRUE(frame_matches(r.fanout_frames[k], r.frames[want_f[k]], ing(want_f[k]))) << "fanout frame " << k;
    expect_meta(r.metas[k], classify_sw(r.frames[want_f[k]]).pp, r.frames[want_f[k]], ing(want_f[k]),
                "frame " + std::to_string(want_f[k]));
  }
  for (size_t k = 0; k < want_h.size(); k++)
    EXPECT_TRUE(frame_matches(r.host_frames[k], r.frames[want_h[k]], ing(want_h[k]))) << "host frame " << k;
  for (int c = 0; c < proto::kAuthCodeCount; c++)
    EXPECT_EQ(r.parser->auth_count(c), m.counts[c]) << proto::auth_code_name(c);
  EXPECT_EQ(r.seen.size() + r.parser->seen_dropped(), want_f.size() + peer)
      << "a tap word for each kept Fanout frame and each peer probe";
  EXPECT_EQ(r.parser->overflow_count(), 0u);
  EXPECT_EQ(r.parser->auth_lanes_busy(), 0u);
}

} // namespace

TEST(ParserAuth, SignedFramesPassForgedReplayedStaleAndUnsignedAreDropped) {
  KernelRun r;
  Bytes a = sign(data_from(3, 100), 1);
  Bytes forged = a;
  forged[forged.size() - proto::kAuthTrailerBytes - 5] ^= 0x01; // a payload bit
  r.frames = {
      a,                                     // ok
      sign(data_from(3, 1000), 2),           // ok
      a,                                     // replayed
      forged,                                // bad tag (also replays counter 1: the tag is checked first)
      sign(data_from(3, 200), 3, kOtherKey), // bad tag: another key
      sign(data_from(3, 8900), 200),         // ok: jumbo, counter jumps
      sign(data_from(3, 60), 100),           // stale: 100 below the highest (200)
      sign(data_from(3, 60), 150),           // ok: within the window, not seen
      data_from(3, 64),                      // unsigned: dropped in require mode
      non_ipv4(proto::kEtherTypeIpv6, 200),  // not Fanout: to the host, unchecked
      sign(build(proto::kTypeAck, {1, 2}, proto::kSetRanges, 0, 5, 1, 0), 1), // stale (origin 3, counter 1)
      sign(data_from(4095, 33), 7),                                           // ok: the last direct-mapped origin
      sign(data_from(7, 0), 1),                                               // ok: empty payload
  };
  run_auth(r, hw::kParserAuthRequire);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthOk), 6u);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthBadTag), 2u);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthStale), 2u);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthUnsigned), 1u);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthReplayed), 1u);
}

TEST(ParserAuth, HigherOriginsGetSixteenWindowsFirstComeForGood) {
  // Origins 0xF000.. (Fanout switches): the first 16 to pass get windows, the 17th is unknown;
  // a slot is kept (replays from its origin still caught), and a bad tag takes none.
  KernelRun r;
  Bytes forged = sign(data_from(0xF0FF, 20), 1);
  forged[forged.size() - 1] ^= 1; // the tag
  r.frames.push_back(forged);
  for (uint16_t i = 0; i < 17; i++) r.frames.push_back(sign(data_from((uint16_t)(0xF000 + i), 20), 1));
  r.frames.push_back(r.frames[1]);                    // a replay from the first
  r.frames.push_back(sign(data_from(0xF000, 20), 2)); // its next counter
  run_auth(r, hw::kParserAuthRequire);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthOk), 17u);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthUnknownOrigin), 1u);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthReplayed), 1u);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthBadTag), 1u);
}

TEST(ParserAuth, AcceptModeKeepsUnsignedFramesAndOffChecksNothing) {
  for (uint8_t mode : {(uint8_t)hw::kParserAuthAccept, (uint8_t)hw::kParserAuthOff}) {
    SCOPED_TRACE((int)mode);
    KernelRun r;
    Bytes forged = sign(data_from(9, 300), 1);
    forged[proto::kFanoutOffset + 30] ^= 0x80;
    r.frames = {sign(data_from(9, 300), 1), data_from(9, 300), forged, sign(data_from(9, 40), 1)};
    run_auth(r, mode);
    if (mode == hw::kParserAuthOff) {
      EXPECT_EQ(r.fanout_frames.size(), 4u) << "no check: every valid frame passes, trailer and all";
      for (int c = 0; c < proto::kAuthCodeCount; c++) EXPECT_EQ(r.parser->auth_count(c), 0u);
    } else {
      EXPECT_EQ(r.fanout_frames.size(), 2u);
      EXPECT_EQ(r.parser->auth_count(proto::kAuthUnsigned), 1u);
    }
  }
}

TEST(ParserAuth, RandomMixUnderBackpressureMatchesTheSoftwareCheck) {
  // Signed, forged, replayed, unsigned, malformed and host frames from 6 origins, in random
  // order, with input gaps and random output backpressure; lanes finish out of order (frames of
  // 0-8,900 payload bytes) but verdicts and outputs keep arrival order.
  std::vector<Case> all = all_cases();
  for (uint32_t seed = 1; seed <= 3; seed++) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    DeepKernelRun r; // long signed frames at this rate would fill the 512-beat FIFO
    uint32_t counter[6] = {};
    std::vector<Bytes> sent;
    for (int i = 0; i < 400; i++) {
      uint32_t kind = rng() % 10;
      uint16_t origin = (uint16_t)(rng() % 6);
      uint32_t len = rng() % 4 == 0 ? rng() % 8900 : rng() % 300;
      Bytes f;
      if (kind < 5) {
        f = sign(data_from(origin, len), ++counter[origin]); // in order
      } else if (kind == 5 && !sent.empty()) {
        f = sent[rng() % sent.size()]; // a replay
      } else if (kind == 6) {
        f = sign(data_from(origin, len), ++counter[origin]);
        f[proto::kFanoutOffset + rng() % (f.size() - proto::kFanoutOffset)] ^= (uint8_t)(1u << (rng() % 8));
      } else if (kind == 7) {
        counter[origin] += 3; // a gap, then an older counter within the window
        f = sign(data_from(origin, len), counter[origin] - 2);
      } else if (kind == 8) {
        f = data_from(origin, len);
      } else {
        f = all[rng() % all.size()].frame;
      }
      if (kind < 5) sent.push_back(f);
      r.frames.push_back(f);
    }
    r.seed = seed;
    r.p_in = 0.5;
    r.p_fanout = 0.7;
    r.p_meta = 0.7;
    r.p_host = 0.7;
    run_auth(r, hw::kParserAuthRequire);
    EXPECT_GT(r.parser->auth_count(proto::kAuthOk), 100u);
    EXPECT_GT(r.parser->auth_count(proto::kAuthBadTag), 10u);
    EXPECT_GT(r.parser->auth_count(proto::kAuthReplayed), 10u);
  }
}

TEST(ParserAuth, UnsignedFramesFromTheHostAndLinkHeartbeatsAreTrusted) {
  // In require mode an unsigned Fanout frame from this node's host (ingress kPortLocal) is kept
  // and not counted (the node signs what it sends on); the same frame from a MAC port is dropped.
  // A link-local heartbeat (PROBE, hops-left 0) from a MAC port is kept too.
  KernelRun r;
  Bytes f = data_from(3, 100);
  Bytes heartbeat = build(proto::kTypeProbe, {}, proto::kSetNone, 0, 7, 0, 0);
  heartbeat[proto::kFanoutOffset + proto::kFoHopsOff] = 0;
  Bytes forwarded_probe = build(proto::kTypeProbe, {}, proto::kSetNone, 0, 8, 0, 0); // hops-left 32
  r.frames = {f, f, sign(data_from(3, 50), 1), heartbeat, forwarded_probe};
  r.ingress = {proto::kPortLocal, 1, proto::kPortLocal, 1, 1};
  run_auth(r, hw::kParserAuthRequire);
  EXPECT_EQ(r.fanout_frames.size(), 3u);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthUnsigned), 2u);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthOk), 1u) << "a signed frame from the host is checked";
}

TEST(ParserAuth, EveryBitFlipOfASignedFrameIsRejected) {
  // Each flip of a bit the tag covers (Fanout header, set, payload, counter) or of the tag itself.
  Bytes good = sign(data_from(2, 40, {1, 4, 7}), 1);
  KernelRun r;
  for (size_t byte = proto::kFanoutOffset; byte < good.size(); byte++)
    for (int bit = 0; bit < 8; bit++) {
      Bytes f = good;
      f[byte] ^= (uint8_t)(1u << bit);
      r.frames.push_back(f);
    }
  run_auth(r, hw::kParserAuthRequire);
  EXPECT_EQ(r.parser->auth_count(proto::kAuthOk), 0u);
  EXPECT_EQ(r.fanout_frames.size(), 0u);
}

// Signed DATA frames back to back at line rate: beats per clock in and out, frames dropped, and
// the latency the check adds (first beat in to first beat out, against the same frame unsigned).
TEST(ParserAuth, ThroughputAndLatency) {
  struct Row {
    uint32_t payload;
    uint32_t frames;
  };
  auto measure = [](auto &r, Row row, const char *fifo) {
    for (uint32_t i = 0; i < row.frames; i++) r.frames.push_back(sign(data_from(1, row.payload), i + 1));
    r.parser->set_auth(hw::kParserAuthRequire, kKey);
    r.go();
    uint64_t beats = 0;
    for (const auto &f : r.fanout_frames) beats += f.size();
    uint32_t frame_len = (uint32_t)r.frames[0].size();
    KernelRun one, plain;
    one.frames = {r.frames[0]};
    one.parser->set_auth(hw::kParserAuthRequire, kKey);
    one.go();
    plain.frames = {r.frames[0]};
    plain.go();
    // Beats are offered every clock (the input is never stalled); out: beats delivered per clock
    // from the first beat in to the last out.
    std::printf("[parser auth] FIFO %s beats, %5u-byte signed frames x %u: %.4f beats/clock out, %u dropped "
                "(FIFO full); latency %llu clocks (%llu unsigned, checking off)\n",
                fifo, frame_len, row.frames, (double)beats / (double)r.cycles, r.parser->overflow_count(),
                (unsigned long long)(one.first_out_cycle - one.first_in_cycle),
                (unsigned long long)(plain.first_out_cycle - plain.first_in_cycle));
    EXPECT_EQ(r.parser->auth_count(proto::kAuthOk) + r.parser->overflow_count(), row.frames);
    return frame_len;
  };
  for (Row row : {Row{0, 4000}, Row{256, 2000}, Row{1400, 600}, Row{4000, 200}, Row{8900, 120}}) {
    KernelRun r;
    uint32_t frame_len = measure(r, row, "512");
    if (frame_len <= 1500) {
      EXPECT_EQ(r.parser->overflow_count(), 0u) << "line rate up to 1.5 KB frames";
    }
    if (frame_len > 1500) {
      DeepKernelRun deep;
      measure(deep, row, "4096");
      EXPECT_EQ(deep.parser->overflow_count(), 0u) << "the deep FIFO keeps line rate up to jumbo frames";
    }
  }
}

TEST(ParserTop, AuthRegisters) {
  // The key in registers (little-endian words) checks a frame signed with it.
  for (bool right_key : {true, false}) {
    hls::stream<axis_word> in, of, oh;
    hls::stream<ParsedMeta> om, seen;
    uint32_t counts[proto::kErrorCount] = {}, auth_counts[proto::kAuthCodeCount] = {};
    uint32_t overflow = 0, bad = 0, seen_dropped = 0;
    uint32_t key[4];
    hw::auth_key_to_registers(kKey, key);
    if (!right_key) key[0] ^= 0x100u;
    Bytes f = sign(data_from(3, 500), 1000 + right_key);
    std::vector<axis_word> w = to_words(f, 1);
    size_t out = 0;
    for (size_t c = 0; c < w.size() + 400; c++) {
      if (c < w.size()) in.write(w[c]);
      fanout_parser(in, of, om, oh, seen, 0, counts, &overflow, &bad, &seen_dropped, hw::kParserAuthRequire, key,
                    auth_counts);
      while (!of.empty()) of.read(), out++;
      while (!om.empty()) om.read();
      while (!seen.empty()) seen.read();
    }
    EXPECT_EQ(out, right_key ? w.size() : 0u);
    // The top's counters are cumulative: the right key runs first.
    EXPECT_EQ(auth_counts[proto::kAuthOk], 1u);
    EXPECT_EQ(auth_counts[proto::kAuthBadTag], right_key ? 0u : 1u);
  }
}
