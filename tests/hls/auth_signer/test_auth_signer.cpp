// The egress signer kernel (hls/auth_signer) against golden frames: every frame this node is the
// origin of leaves exactly as proto::auth_append signs it (counter in order of tlast), everything
// else unchanged; the signed frames pass the parser kernel's check (hls/parser, require mode).
#include "auth_signer.hpp"
#include "parser.hpp"

#include "fanout/hls/axis.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/wire.hpp"

#include <gtest/gtest.h>

#include "../hls_test_util.hpp"

#include <cstdio>
#include <memory>
#include <random>
#include <vector>

namespace {

namespace proto = fanout::proto;
namespace hw = fanout::hw;
using hw::axis_word;
using Bytes = std::vector<uint8_t>;

const proto::NodeId kSelf = 3;
const uint8_t kKey[16] = {0xa0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                          0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
uint32_t g_msg = 1;

Bytes frame(uint8_t type, proto::NodeId origin, uint32_t payload_len, std::vector<uint16_t> ids = {5, 9}) {
  proto::NetHeaders net = proto::cluster_net_headers(origin, 7, origin, g_msg);
  proto::FanoutHeader h = proto::make_header(type, origin, origin, g_msg++, 0, payload_len);
  if (type == proto::kTypeData) h.flags = proto::kFlagLast;
  if (type == proto::kTypeProbe) ids.clear(), h.length = 0;
  proto::ReceiverSet set;
  for (uint16_t id : ids) EXPECT_TRUE(set.append(id));
  Bytes payload(payload_len);
  for (uint32_t i = 0; i < payload_len; i++) payload[i] = (uint8_t)(i * 11 + 3);
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(net, h, set, payload.data(), payload_len, proto::default_build_options(), out.data(),
                               (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return out;
}
Bytes signed_copy(Bytes f, uint32_t counter) {
  return fanout::test::signed_frame(std::move(f), counter, kKey);
}

std::vector<axis_word> to_words(const Bytes &f, uint8_t dest) {
  std::vector<proto::Beat> beats(proto::beats_for((uint32_t)f.size()));
  proto::frame_to_beats(f.data(), (uint32_t)f.size(), beats.data(), (uint32_t)beats.size());
  std::vector<axis_word> w;
  for (const proto::Beat &b : beats) w.push_back(hw::from_beat(b, dest, 0));
  return w;
}
bool same_word(const axis_word &a, const axis_word &b) {
  return a.data == b.data && a.keep == b.keep && a.last == b.last && a.user == b.user && a.dest == b.dest;
}

// Frames fed to ports (per port in order), outputs collected per port.
template <uint32_t FifoBeats> struct BasicSignerRun {
  static const uint32_t P = 2;
  std::vector<Bytes> in[P];
  double p_in = 1.0, p_out = 1.0;
  uint32_t seed = 1;
  std::unique_ptr<hw::AuthSigner<P, FifoBeats>> k = std::make_unique<hw::AuthSigner<P, FifoBeats>>();
  std::vector<std::vector<axis_word>> out[P];
  uint64_t cycles = 0, first_in = UINT64_MAX, first_out = UINT64_MAX, out_beats = 0;

  void go() {
    hls::stream<axis_word> si[P], so[P];
    std::vector<axis_word> words[P], cur[P];
    size_t next[P] = {};
    for (uint32_t p = 0; p < P; p++)
      for (const Bytes &f : in[p]) {
        std::vector<axis_word> w = to_words(f, (uint8_t)p);
        words[p].insert(words[p].end(), w.begin(), w.end());
      }
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    uint64_t idle = 0;
    for (cycles = 0; cycles < 5'000'000; cycles++) {
      for (uint32_t p = 0; p < P; p++)
        if (next[p] < words[p].size() && !si[p].full() && u(rng) < p_in) {
          if (first_in == UINT64_MAX) first_in = cycles;
          si[p].write(words[p][next[p]++]);
        }
      k->step(si, so);
      bool busy = false;
      for (uint32_t p = 0; p < P; p++) {
        if (!so[p].empty() && u(rng) < p_out) {
          if (first_out == UINT64_MAX) first_out = cycles;
          cur[p].push_back(so[p].read());
          out_beats++;
          if (cur[p].back().last == 1) out[p].push_back(cur[p]), cur[p].clear();
        }
        busy = busy || next[p] < words[p].size() || !si[p].empty() || !so[p].empty() || k->fifo_level(p) != 0;
      }
      idle = busy ? 0 : idle + 1;
      if (idle > 4) break;
    }
    for (uint32_t p = 0; p < P; p++) EXPECT_TRUE(cur[p].empty()) << "partial frame at port " << p;
  }
};

using SignerRun = BasicSignerRun<hw::kSignerFifoBeats>;
using DeepSignerRun = BasicSignerRun<4096>;

template <class Run> void configure(Run &r) {
  r.k->configure(true, kSelf, kKey, proto::kDefaultUdpPort);
}

// Expected output for frame f of port p: signed with the counter it takes, or unchanged.
void expect_frame(const std::vector<axis_word> &got, const Bytes &want, uint8_t p, const char *what) {
  std::vector<axis_word> w = to_words(want, p);
  ASSERT_EQ(got.size(), w.size()) << what;
  for (size_t i = 0; i < w.size(); i++) EXPECT_TRUE(same_word(got[i], w[i])) << what << ": beat " << i;
}

} // namespace

TEST(AuthSigner, SignsItsOwnFramesExactlyAsAuthAppend) {
  // Lengths around the trailer's split: the last beat keeps 52 (fits), 53 (spills 1 byte),
  // 64 (spills all 12) bytes, and others; every type.
  SignerRun r;
  configure(r);
  std::vector<Bytes> all;
  for (uint32_t target : {66u, 116u, 117u, 128u, 129u, 180u, 1000u, 1500u, 9000u}) {
    Bytes f = frame(proto::kTypeData, kSelf, target - 66, {9});
    ASSERT_EQ(f.size(), target);
    all.push_back(f);
  }
  all.push_back(frame(proto::kTypeAck, kSelf, 0, {1, 2, 3}));
  all.push_back(frame(proto::kTypeNack, kSelf, 0, {4}));
  all.push_back(frame(proto::kTypeProbe, kSelf, 0));
  for (size_t i = 0; i < all.size(); i++) r.in[i % 2].push_back(all[i]);
  r.go();
  // Counters by tlast order: the ports run side by side, so recover each frame's counter from
  // its output and check the set of counters is 1..N with each frame exactly auth_append's.
  std::vector<bool> used(all.size() + 1, false);
  for (uint32_t p = 0; p < 2; p++) {
    ASSERT_EQ(r.out[p].size(), r.in[p].size());
    for (size_t i = 0; i < r.in[p].size(); i++) {
      const std::vector<axis_word> &g = r.out[p][i];
      Bytes bytes = fanout::test::frame_bytes(g);
      ASSERT_EQ(bytes.size(), r.in[p][i].size() + proto::kAuthTrailerBytes);
      uint32_t counter = proto::load_be32(&bytes[bytes.size() - proto::kAuthTrailerBytes]);
      ASSERT_TRUE(counter >= 1 && counter <= all.size() && !used[counter]) << counter;
      used[counter] = true;
      expect_frame(g, signed_copy(r.in[p][i], counter), (uint8_t)p, "signed frame");
    }
  }
  EXPECT_EQ(r.k->count(hw::kSignCntSigned), all.size());
  EXPECT_EQ(r.k->next_counter(), all.size() + 1);
  EXPECT_EQ(r.k->lanes_busy(0) + r.k->lanes_busy(1), 0u);
}

TEST(AuthSigner, CountersFollowTlastOrderAcrossPorts) {
  // Port 0 gets a long frame, port 1 short ones: counters go by tlast, not by first beat.
  SignerRun r;
  configure(r);
  r.in[0] = {frame(proto::kTypeData, kSelf, 4000)};
  for (int i = 0; i < 5; i++) r.in[1].push_back(frame(proto::kTypeData, kSelf, 10));
  r.go();
  ASSERT_EQ(r.out[0].size(), 1u);
  ASSERT_EQ(r.out[1].size(), 5u);
  for (int i = 0; i < 5; i++) expect_frame(r.out[1][i], signed_copy(r.in[1][i], i + 1), 1, "short");
  expect_frame(r.out[0][0], signed_copy(r.in[0][0], 6), 0, "long");
}

TEST(AuthSigner, EverythingElsePassesUnchanged) {
  SignerRun r;
  configure(r);
  Bytes other = frame(proto::kTypeData, 44, 100);                      // another origin
  Bytes already = signed_copy(frame(proto::kTypeNack, 44, 0, {3}), 9); // forwarded, signed
  Bytes arp(60, 0x11);
  proto::store_be16(&arp[proto::kEthTypeOff], 0x0806);
  Bytes padded = frame(proto::kTypeAck, kSelf, 0, {1});
  padded.resize(padded.size() + 6, 0); // Ethernet padding past the IPv4 total length
  Bytes other_port = frame(proto::kTypeData, kSelf, 20);
  proto::store_be16(&other_port[proto::kUdpDstPortOff], 53);
  Bytes mine = frame(proto::kTypeData, kSelf, 30);
  r.in[0] = {other, already, arp, padded, other_port, mine};
  r.go();
  ASSERT_EQ(r.out[0].size(), 6u);
  expect_frame(r.out[0][0], other, 0, "other origin");
  expect_frame(r.out[0][1], already, 0, "already signed");
  expect_frame(r.out[0][2], arp, 0, "not IPv4");
  expect_frame(r.out[0][3], padded, 0, "padded");
  expect_frame(r.out[0][4], other_port, 0, "not the Fanout port");
  expect_frame(r.out[0][5], signed_copy(mine, 1), 0, "signed");
  EXPECT_EQ(r.k->count(hw::kSignCntSigned), 1u);
  EXPECT_EQ(r.k->count(hw::kSignCntPassedSigned), 1u);
  EXPECT_EQ(r.k->count(hw::kSignCntPassedOther), 4u);
}

TEST(AuthSigner, HeartbeatsBypassFramesWaitingForTheirTags) {
  // A jumbo frame being signed (about 2,400 clocks), then a peer monitor's keepalive and a link
  // monitor's probe (single-beat PROBEs, hops-left 1 and 0): both leave first, unchanged and
  // unsigned; then the jumbo frame, signed.
  SignerRun r;
  configure(r);
  Bytes jumbo = frame(proto::kTypeData, kSelf, 8900);
  Bytes keepalive = frame(proto::kTypeProbe, kSelf, 0);
  keepalive[proto::kFanoutOffset + proto::kFoHopsOff] = proto::kPeerProbeHops;
  Bytes link_probe = frame(proto::kTypeProbe, kSelf, 0);
  link_probe[proto::kFanoutOffset + proto::kFoHopsOff] = 0;
  ASSERT_EQ(keepalive.size(), 64u);
  r.in[0] = {jumbo, keepalive, link_probe};
  r.go();
  ASSERT_EQ(r.out[0].size(), 3u);
  expect_frame(r.out[0][0], keepalive, 0, "keepalive first");
  expect_frame(r.out[0][1], link_probe, 0, "link probe next");
  expect_frame(r.out[0][2], signed_copy(jumbo, 1), 0, "jumbo, signed");
  EXPECT_EQ(r.k->count(hw::kSignCntHeartbeats), 2u);
  EXPECT_EQ(r.k->count(hw::kSignCntSigned), 1u);
}

TEST(AuthSigner, DisabledPassesEverythingAndExhaustedCounterStopsSigning) {
  SignerRun off;
  off.k->configure(false, kSelf, kKey, proto::kDefaultUdpPort);
  Bytes f = frame(proto::kTypeData, kSelf, 50);
  off.in[0] = {f};
  off.go();
  ASSERT_EQ(off.out[0].size(), 1u);
  expect_frame(off.out[0][0], f, 0, "disabled");

  SignerRun r;
  configure(r);
  r.k->set_next_counter(0xFFFFFFFEu);
  Bytes a = frame(proto::kTypeData, kSelf, 50), b = frame(proto::kTypeData, kSelf, 51);
  r.in[0] = {a, b};
  r.go();
  ASSERT_EQ(r.out[0].size(), 2u);
  expect_frame(r.out[0][0], signed_copy(a, 0xFFFFFFFEu), 0, "last counter");
  expect_frame(r.out[0][1], b, 0, "no counter left: unsigned");
  EXPECT_EQ(r.k->count(hw::kSignCntCounterExhausted), 1u);
}

TEST(AuthSigner, RandomBackpressureAndTheParserAcceptsEverySignedFrame) {
  // Random frames of both kinds on both ports with random input gaps and output backpressure;
  // each output frame then goes through the parser kernel in require mode: exactly the frames
  // this node signed pass, each counted auth_ok, in order.
  for (uint32_t seed = 1; seed <= 3; seed++) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    SignerRun r;
    configure(r);
    r.seed = seed;
    r.p_in = 0.6;
    r.p_out = 0.5;
    size_t mine = 0;
    for (int i = 0; i < 300; i++) {
      bool own = rng() % 4 != 0;
      uint32_t len = rng() % 8 == 0 ? rng() % 8900 : rng() % 400;
      r.in[rng() % 2].push_back(frame(proto::kTypeData, own ? kSelf : 50, len));
      mine += own;
    }
    r.go();
    // One receiver per port (each sees an increasing subsequence of the shared counter).
    size_t passed = 0, ok = 0, unsigned_ = 0, bad = 0;
    for (uint32_t p = 0; p < 2; p++) {
      auto parser = std::make_unique<hw::BasicParser<hw::kParserAuthFifoBeats>>();
      parser->set_auth(hw::kParserAuthRequire, kKey);
      hls::stream<axis_word> in, of, oh;
      hls::stream<hw::ParsedMeta> om;
      ASSERT_EQ(r.out[p].size(), r.in[p].size());
      for (const auto &g : r.out[p]) {
        for (const axis_word &w : g) {
          axis_word x = w;
          x.dest = 0;
          in.write(x);
          parser->step(in, of, om, oh);
          while (!of.empty()) passed += of.read().last;
          while (!om.empty()) om.read();
        }
      }
      for (int c = 0; c < 100000 && parser->fifo_level() != 0; c++) {
        parser->step(in, of, om, oh);
        while (!of.empty()) passed += of.read().last;
        while (!om.empty()) om.read();
      }
      ok += parser->auth_count(proto::kAuthOk);
      unsigned_ += parser->auth_count(proto::kAuthUnsigned);
      bad += parser->auth_count(proto::kAuthBadTag) + parser->auth_count(proto::kAuthReplayed) +
             parser->auth_count(proto::kAuthStale);
    }
    EXPECT_EQ(passed, mine);
    EXPECT_EQ(ok, mine);
    EXPECT_EQ(unsigned_, 300 - mine);
    EXPECT_EQ(bad, 0u);
  }
}

TEST(AuthSigner, ThroughputAndLatency) {
  // Own DATA frames back to back on port 0: beats per clock out (trailer beats included), clocks
  // first beat in to first beat out (one frame alone). The input is back-pressured, never
  // dropped: a slow signature costs throughput. A 4,096-beat FIFO keeps up to jumbo frames.
  auto measure = [](auto &r, uint32_t payload, uint32_t n, const char *fifo) {
    configure(r);
    for (uint32_t i = 0; i < n; i++) r.in[0].push_back(frame(proto::kTypeData, kSelf, payload));
    r.go();
    SignerRun one;
    configure(one);
    one.in[0] = {r.in[0][0]};
    one.go();
    double rate = (double)r.out_beats / (double)r.cycles;
    std::printf("[auth_signer] FIFO %s beats, %5zu-byte frames x %u: %.4f beats/clock out; latency %llu clocks\n", fifo,
                r.in[0][0].size(), n, rate, (unsigned long long)(one.first_out - one.first_in));
    EXPECT_EQ(r.out[0].size(), n);
    EXPECT_EQ(r.k->count(hw::kSignCntSigned), n);
    return rate;
  };
  for (uint32_t payload : {14u, 270u, 1414u, 4014u, 8914u}) {
    uint32_t n = payload < 500 ? 2000 : payload < 2000 ? 500 : 120;
    SignerRun r;
    double rate = measure(r, payload, n, "512");
    if (payload < 2000) {
      EXPECT_GT(rate, 0.95) << "line rate up to 1.5 KB frames";
    } else {
      DeepSignerRun deep;
      EXPECT_GT(measure(deep, payload, n, "4096"), 0.8) << "line rate up to jumbo frames, after the first wait";
    }
  }
}

extern "C" void fanout_auth_signer(hls::stream<fanout::hw::axis_word> in[2], hls::stream<fanout::hw::axis_word> out[2],
                                   uint8_t enable, uint16_t self_id, uint16_t udp_port, const uint32_t key[4],
                                   uint32_t counter_load, uint32_t counter_load_seq, uint32_t *next_counter,
                                   uint32_t counters[fanout::hw::kSignCntCount]);

TEST(AuthSignerTop, RegistersSignAndLoadTheCounter) {
  // The key in registers (little-endian words); a counter loaded through counter_load_seq is the
  // next one used; next_counter and counters read back.
  uint32_t key[4];
  hw::auth_key_to_registers(kKey, key);
  hls::stream<axis_word> in[2], out[2];
  uint32_t next = 0, counters[hw::kSignCntCount] = {};
  Bytes f = frame(proto::kTypeData, kSelf, 100);
  std::vector<axis_word> w = to_words(f, 0), got;
  for (size_t c = 0; c < w.size() + 300; c++) {
    if (c < w.size()) in[0].write(w[c]);
    fanout_auth_signer(in, out, 1, kSelf, 0, key, 5000, 1, &next, counters); // load 5000 once
    while (!out[0].empty()) got.push_back(out[0].read());
  }
  expect_frame(got, signed_copy(f, 5000), 0, "signed with the loaded counter");
  EXPECT_EQ(next, 5001u);
  EXPECT_EQ(counters[hw::kSignCntSigned], 1u);
}
