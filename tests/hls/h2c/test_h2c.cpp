// The host-to-card data mover (hls/h2c) against buffers built with proto/host_dma.hpp: every
// frame leaves as the stream beats of its bytes (tkeep, tlast, tuser = the host port), nothing of a
// malformed slot or after it leaves, and the output rate per modelled clock.
#include "h2c.hpp"

#include "../dma_test_util.hpp"
#include "../hls_test_util.hpp"

#include "fanout/hls/axis.hpp"
#include "fanout/proto/host_dma.hpp"
#include "fanout/proto/split.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

extern "C" void fanout_h2c(const ap_uint<512> *src, uint32_t beats, hls::stream<fanout::hw::axis_word> &out,
                           uint32_t *frames_sent, uint32_t *bad_descriptors);

namespace {

namespace proto = fanout::proto;
namespace hw = fanout::hw;
using fanout::test::Bytes;
using fanout::test::DrainHook;
using fanout::test::FrameMix;
using fanout::test::kFrameMixes;
using fanout::test::Words;
using hw::axis_word;

struct H2cRun {
  hw::H2cResult res{};
  std::vector<axis_word> got;
  uint64_t clocks = 0;
};

H2cRun run_h2c(const Bytes &buf, double p_ready = 1.0, uint32_t seed = 1) {
  Words src = fanout::test::to_words(buf);
  hls::stream<axis_word> out("h2c.out");
  DrainHook hook(out, p_ready, seed);
  H2cRun r;
  hw::h2c_run(src.data(), (uint32_t)src.size(), out, r.res, hook);
  while (!out.empty()) hook.clock(); // the consumer takes the rest
  r.got = hook.got;
  r.clocks = hook.clocks;
  return r;
}

// The output words split into frames at tlast, each checked beat by beat against its bytes.
void expect_frames(const std::vector<axis_word> &got, const std::vector<Bytes> &frames) {
  size_t w = 0;
  for (size_t f = 0; f < frames.size(); f++) {
    const Bytes &bytes = frames[f];
    uint32_t n = proto::dma_frame_beats((uint32_t)bytes.size());
    ASSERT_LE(w + n, got.size()) << "frame " << f << " missing";
    std::vector<axis_word> words(got.begin() + (long)w, got.begin() + (long)(w + n));
    ASSERT_EQ(fanout::test::frame_bytes(words), bytes) << "frame " << f;
    for (uint32_t b = 0; b < n; b++) {
      const axis_word &x = words[b];
      uint32_t valid = b + 1 == n ? hw::dma_last_beat_bytes((uint32_t)bytes.size()) : 64;
      ASSERT_EQ(x.keep, hw::keep_for(valid)) << "frame " << f << " beat " << b;
      ASSERT_EQ(x.strb, x.keep);
      ASSERT_EQ(x.last == 1, b + 1 == n);
      ASSERT_EQ(x.user, proto::kPortLocal) << "ingress port: the host, bad-frame bit 0";
      ASSERT_EQ(x.dest, 0);
      // Bytes past the end are 0: nothing of host memory past the frame leaves the kernel.
      for (uint32_t i = valid; i < 64; i++) ASSERT_EQ(hw::byte(x.data, i), 0) << "frame " << f;
    }
    w += n;
  }
  EXPECT_EQ(w, got.size()) << "beats beyond the expected frames";
}

TEST(H2c, SendsFramesExactly) {
  std::mt19937 rng(11);
  std::vector<Bytes> frames;
  for (uint32_t len = proto::kDmaMinFrameBytes; len <= 300; len++)
    frames.push_back(fanout::test::random_bytes(len, rng));
  for (uint32_t len : {1499u, 1500u, 1514u, 4096u, 8999u, 9000u, 9013u, proto::kMaxFrameBytes})
    frames.push_back(fanout::test::random_bytes(len, rng));
  Bytes buf = fanout::test::h2c_buffer(frames);
  // Garbage in the padding of the host's last beats must not leave the kernel.
  for (uint32_t at = 0, f = 0; f < frames.size(); f++) {
    uint32_t len = (uint32_t)frames[f].size();
    uint32_t end = 64 * (at + 1) + len, pad_end = 64 * (at + proto::dma_slot_beats(len));
    for (uint32_t i = end; i < pad_end; i++) buf[i] = 0x5A;
    at += proto::dma_slot_beats(len);
  }
  for (double p : {1.0, 0.5}) {
    H2cRun r = run_h2c(buf, p, 7);
    EXPECT_EQ(r.res.frames_sent, frames.size());
    EXPECT_EQ(r.res.bad_descriptors, 0u);
    EXPECT_EQ(r.res.stop_error, proto::kDmaDescOk);
    expect_frames(r.got, frames);
  }
}

TEST(H2c, MalformedDescriptorStopsTheRunCleanly) {
  std::mt19937 rng(5);
  std::vector<Bytes> good = {fanout::test::random_bytes(100, rng), fanout::test::random_bytes(1500, rng)};
  Bytes after = fanout::test::random_bytes(150, rng);
  struct Case {
    const char *what;
    uint32_t length;
    uint8_t flags, port;
    int reserved_byte;
    proto::DmaDescError expect;
  };
  const Case cases[] = {
      {"length 0", 0, 0, 0, -1, proto::kDmaDescZeroLength},
      {"length 13", 13, 0, 0, -1, proto::kDmaDescTooShort},
      {"length 9015", proto::kMaxFrameBytes + 1, 0, 0, -1, proto::kDmaDescTooLong},
      {"length 9018", proto::kMaxFrameBytes + 4, 0, 0, -1, proto::kDmaDescTooLong},
      {"length 65535", 0xFFFF, 0, 0, -1, proto::kDmaDescTooLong},
      {"flags set", 100, 0x80, 0, -1, proto::kDmaDescReserved},
      {"port set", 100, 0, 0xFE, -1, proto::kDmaDescReserved},
      {"byte 4 set", 100, 0, 0, 4, proto::kDmaDescReserved},
      {"byte 63 set", 100, 0, 0, 63, proto::kDmaDescReserved},
      {"past the end", 64 * 4 + 1, 0, 0, -1, proto::kDmaDescPastEnd},
  };
  for (const Case &c : cases) {
    Bytes buf = fanout::test::h2c_buffer(good);
    uint32_t bad_beat = (uint32_t)buf.size() / 64;
    Bytes desc(64);
    proto::dma_encode_desc(proto::DmaDesc{(uint16_t)c.length, c.flags, c.port}, desc.data());
    if (c.reserved_byte >= 0) desc[c.reserved_byte] = 1;
    buf.insert(buf.end(), desc.begin(), desc.end());
    // 4 beats follow: a slot of 150 bytes, which must not be sent.
    Bytes tail = fanout::test::h2c_buffer({after});
    buf.insert(buf.end(), tail.begin(), tail.end());
    ASSERT_EQ(tail.size(), 4u * 64);
    ASSERT_EQ(proto::h2c_check_desc(&buf[64 * bad_beat], 4), c.expect) << c.what;
    H2cRun r = run_h2c(buf);
    EXPECT_EQ(r.res.frames_sent, 2u) << c.what;
    EXPECT_EQ(r.res.bad_descriptors, 1u) << c.what;
    EXPECT_EQ(r.res.stop_beat, bad_beat) << c.what;
    EXPECT_EQ(r.res.stop_error, c.expect) << c.what;
    expect_frames(r.got, good);
    // Every beat was still read (one clock each): the burst covers the whole buffer.
    EXPECT_EQ(r.clocks, buf.size() / 64 + 0u) << c.what;
  }

  // A slot whose length understates its data: the next "descriptor" is frame data, refused (its
  // reserved bytes are not 0), so a host that got the lengths wrong gets no garbage frame out.
  Bytes buf = fanout::test::h2c_buffer({good[1]});
  proto::dma_put_le16(&buf[0], 1400); // 22 data beats, then beat 23 (the frame's last 2) as a descriptor
  H2cRun r = run_h2c(buf);
  EXPECT_EQ(r.res.frames_sent, 1u);
  EXPECT_EQ(r.res.bad_descriptors, 1u);
  EXPECT_EQ(r.res.stop_beat, 23u);
  EXPECT_EQ(r.got.size(), 22u);

  // A malformed first descriptor: nothing leaves. An empty buffer: nothing, nothing bad.
  Bytes zero(64 * 3, 0);
  r = run_h2c(zero);
  EXPECT_EQ(r.res.frames_sent, 0u);
  EXPECT_EQ(r.res.bad_descriptors, 1u);
  EXPECT_EQ(r.res.stop_beat, 0u);
  EXPECT_TRUE(r.got.empty());
  r = run_h2c(Bytes());
  EXPECT_EQ(r.res.frames_sent, 0u);
  EXPECT_EQ(r.res.bad_descriptors, 0u);
  EXPECT_EQ(r.clocks, 0u);
}

// Beats per clock of the output with no back-pressure: one buffer beat read per clock, the
// descriptor beat sends nothing, so n / (n + 1) for n-beat frames.
TEST(H2c, OutputBeatsPerClock) {
  std::mt19937 rng(1);
  for (const FrameMix &m : kFrameMixes) {
    std::vector<Bytes> frames;
    uint64_t data_beats = 0;
    for (uint32_t i = 0; i < m.frames; i++) {
      uint32_t len = std::uniform_int_distribution<uint32_t>(m.lo, m.hi)(rng);
      frames.push_back(fanout::test::random_bytes(len, rng));
      data_beats += proto::dma_frame_beats(len);
    }
    Bytes buf = fanout::test::h2c_buffer(frames);
    H2cRun r = run_h2c(buf);
    ASSERT_EQ(r.res.frames_sent, m.frames);
    ASSERT_EQ(r.got.size(), data_beats);
    double rate = (double)data_beats / (double)r.clocks;
    std::printf("[h2c] %s: %llu output beats in %llu clocks (buffer %zu beats): %.4f beats/clock out\n", m.what,
                (unsigned long long)data_beats, (unsigned long long)r.clocks, buf.size() / 64, rate);
    EXPECT_GE(rate, m.min_rate) << m.what;
    EXPECT_EQ(r.clocks, buf.size() / 64) << "one clock per buffer beat, no stall";
  }
}

TEST(H2cTop, RunsAndReportsInRegisters) {
  // The top's `out` is the shim's depth-2 stream and nothing drains it during the call, so the
  // run sends at most 2 beats here; the stepped tests above cover the rest.
  std::mt19937 rng(2);
  std::vector<Bytes> frames = {fanout::test::random_bytes(60, rng), fanout::test::random_bytes(14, rng)};
  Words src = fanout::test::to_words(fanout::test::h2c_buffer(frames));
  hls::stream<axis_word> out;
  uint32_t sent = 99, bad = 99;
  fanout_h2c(src.data(), (uint32_t)src.size(), out, &sent, &bad);
  EXPECT_EQ(sent, 2u);
  EXPECT_EQ(bad, 0u);
  std::vector<axis_word> got;
  while (!out.empty()) got.push_back(out.read());
  expect_frames(got, frames);

  src[2].range(7, 0) = 0; // the second descriptor's length low byte: 14 -> 0
  fanout_h2c(src.data(), (uint32_t)src.size(), out, &sent, &bad);
  EXPECT_EQ(sent, 1u);
  EXPECT_EQ(bad, 1u);
  got.clear();
  while (!out.empty()) got.push_back(out.read());
  expect_frames(got, {frames[0]});
}

} // namespace
