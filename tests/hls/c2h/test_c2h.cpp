// The card-to-host data mover (hls/c2h) against buffers built with proto/host_dma.hpp: the
// buffer a run writes is byte-identical to the one proto::dma_write_slot / c2h_encode_header
// build from the same frames; when runs end (capacity, idle, frame cap); oversized frames; the
// input rate per modelled clock; and the round trip host -> h2c -> c2h -> host of every frame size.
#include "c2h.hpp"
#include "h2c.hpp"

#include "../dma_test_util.hpp"
#include "../hls_test_util.hpp"

#include "fanout/hls/axis.hpp"
#include "fanout/proto/host_dma.hpp"
#include "fanout/proto/split.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

extern "C" void fanout_c2h(hls::stream<fanout::hw::axis_word> &in, ap_uint<512> *dst, uint32_t capacity_beats,
                           uint32_t idle_clocks);

namespace {

namespace proto = fanout::proto;
namespace hw = fanout::hw;
using fanout::test::Bytes;
using fanout::test::FeedHook;
using fanout::test::FrameMix;
using fanout::test::kFrameMixes;
using fanout::test::Words;
using hw::axis_word;

// A frame as the host should find it: bytes and the tuser it arrived with.
struct Frame {
  Bytes bytes;
  uint16_t user;
};

uint16_t random_user(std::mt19937 &rng) {
  uint16_t port = (uint16_t)(rng() & 0xFF);
  uint16_t bad = (rng() % 8 == 0) ? (uint16_t)(1u << hw::kUserBadFrameBit) : 0;
  return (uint16_t)(port | bad);
}

// One run of the kernel against a buffer of `capacity` beats (pre-filled with a pattern, to see
// what it writes), with the test's clock model.
struct RunOut {
  Bytes buf; // capacity beats
  proto::C2hHeader hdr{};
  bool hdr_ok = false;
  uint64_t clocks = 0; // modelled clocks of this run
  uint32_t beats_written = 0;
};

RunOut run_c2h(FeedHook &feed, uint32_t capacity, uint32_t idle, uint32_t sequence,
               uint32_t max_frames = proto::kC2hMaxFramesPerRun) {
  Words dst(capacity, hw::dma_word(0));
  for (hw::dma_word &w : dst) w = ~hw::dma_word(0); // 0xFF everywhere: unwritten beats stay so
  std::unique_ptr<hw::C2h> k(new hw::C2h());
  uint64_t c0 = feed.clocks;
  k->run(feed.in, dst.data(), capacity, idle, sequence, feed, max_frames);
  RunOut r;
  r.clocks = feed.clocks - c0;
  r.buf = fanout::test::to_bytes(dst, capacity);
  r.beats_written = k->beats_written();
  if (capacity > 0) r.hdr_ok = proto::c2h_decode_header(r.buf.data(), &r.hdr);
  if (r.hdr_ok) {
    EXPECT_EQ(r.hdr.frames, k->frames());
    EXPECT_EQ(r.hdr.beats_used, k->beats_used());
    EXPECT_EQ(r.hdr.beats_used, r.beats_written) << "the slots end where the header says";
    EXPECT_EQ(r.hdr.dropped, k->dropped());
  }
  return r;
}

// The buffer proto builds for these frames (what the kernel must have written, beats_used long).
Bytes expected_buffer(const std::vector<Frame> &frames, uint32_t dropped, uint32_t sequence, uint8_t reason) {
  uint32_t beats = 1;
  for (const Frame &f : frames) beats += proto::dma_slot_beats((uint32_t)f.bytes.size());
  Bytes buf(64 * (size_t)beats);
  uint32_t at = 1;
  for (const Frame &f : frames) {
    uint8_t flags = (f.user >> hw::kUserBadFrameBit) & 1 ? proto::kDmaFlagBadFrame : 0;
    at = proto::dma_write_slot(buf.data(), beats, at, f.bytes.data(), (uint32_t)f.bytes.size(), flags,
                               (uint8_t)(f.user & 0xFF));
  }
  proto::c2h_encode_header(proto::C2hHeader{(uint32_t)frames.size(), beats, dropped, sequence, reason}, buf.data());
  return buf;
}

void expect_buffer(const RunOut &r, const std::vector<Frame> &frames, uint32_t dropped, uint32_t sequence,
                   uint8_t reason) {
  ASSERT_TRUE(r.hdr_ok);
  Bytes want = expected_buffer(frames, dropped, sequence, reason);
  ASSERT_EQ(r.hdr.beats_used, want.size() / 64);
  for (size_t i = 0; i < want.size(); i++)
    ASSERT_EQ(r.buf[i], want[i]) << "buffer differs from proto's at byte " << i << " (beat " << i / 64 << ")";
  for (size_t i = want.size(); i < r.buf.size(); i++) ASSERT_EQ(r.buf[i], 0xFF) << "written past beats_used: " << i;
}

void feed_frames(FeedHook &feed, const std::vector<Frame> &frames, uint32_t gap = 0) {
  for (const Frame &f : frames) feed.add(fanout::test::stream_words(f.bytes, f.user), gap);
}

TEST(C2h, WritesFramesWithTheirTuser) {
  std::mt19937 rng(4);
  std::vector<Frame> frames;
  for (uint32_t len : {1u, 14u, 60u, 63u, 64u, 65u, 128u, 1500u, 9000u, proto::kMaxFrameBytes, 200u})
    frames.push_back(Frame{fanout::test::random_bytes(len, rng), random_user(rng)});
  hls::stream<axis_word> in("c2h.in");
  FeedHook feed(in);
  feed_frames(feed, frames);
  RunOut r = run_c2h(feed, 4096, 50, 42);
  expect_buffer(r, frames, 0, 42, proto::kC2hEndIdle);
  // Walk it as the host will.
  uint32_t at = 1;
  for (const Frame &f : frames) {
    proto::DmaDesc d{};
    uint32_t next = 0;
    ASSERT_EQ(proto::c2h_read_slot(r.buf.data(), r.hdr.beats_used, at, &d, &next), proto::kDmaDescOk);
    EXPECT_EQ(d.length, f.bytes.size());
    EXPECT_EQ(d.port, f.user & 0xFF);
    EXPECT_EQ((d.flags & proto::kDmaFlagBadFrame) != 0, ((f.user >> hw::kUserBadFrameBit) & 1) != 0);
    at = next;
  }
  EXPECT_EQ(at, r.hdr.beats_used);
}

TEST(C2h, IdleReturnWithZeroFrames) {
  hls::stream<axis_word> in("c2h.in");
  FeedHook feed(in);
  for (uint32_t idle : {0u, 1u, 100u, 3000u}) {
    RunOut r = run_c2h(feed, 1024, idle, 7);
    expect_buffer(r, {}, 0, 7, proto::kC2hEndIdle);
    EXPECT_EQ(r.hdr.beats_used, 1u);
    EXPECT_EQ(r.clocks, idle == 0 ? 1u : idle) << "returns after exactly idle_clocks quiet clocks (0 counts as 1)";
  }
}

TEST(C2h, IdleCountsOnlyQuietClocksBetweenFrames) {
  std::mt19937 rng(9);
  const uint32_t idle = 200;
  std::vector<Frame> a = {{fanout::test::random_bytes(700, rng), 1}}, b = {{fanout::test::random_bytes(90, rng), 2}};
  hls::stream<axis_word> in("c2h.in");
  FeedHook feed(in);
  // The producer pauses `gap` clocks between a's last beat and b's first: the kernel sees that
  // many clocks with nothing offered. idle - 1 quiet clocks: one run holds both frames.
  feed_frames(feed, a);
  feed_frames(feed, b, idle - 1);
  RunOut r = run_c2h(feed, 4096, idle, 1);
  std::vector<Frame> both = a;
  both.push_back(b[0]);
  expect_buffer(r, both, 0, 1, proto::kC2hEndIdle);
  // idle quiet clocks: the first run returns with a, the next gets b.
  feed_frames(feed, a);
  feed_frames(feed, b, idle);
  r = run_c2h(feed, 4096, idle, 2);
  expect_buffer(r, a, 0, 2, proto::kC2hEndIdle);
  r = run_c2h(feed, 4096, idle, 3);
  expect_buffer(r, b, 0, 3, proto::kC2hEndIdle);
  EXPECT_TRUE(feed.queue.empty() && in.empty());
}

TEST(C2h, CapacityEdges) {
  std::mt19937 rng(8);
  std::vector<Frame> big;
  for (int i = 0; i < 4; i++) big.push_back(Frame{fanout::test::random_bytes(proto::kMaxFrameBytes, rng), 3});
  {
    // Exactly full: the header and 3 maximal slots. The 4th frame waits in the stream.
    hls::stream<axis_word> in("c2h.in");
    FeedHook feed(in);
    feed_frames(feed, big);
    const uint32_t cap = 1 + 3 * proto::kDmaMaxSlotBeats;
    RunOut r = run_c2h(feed, cap, 1000, 1);
    expect_buffer(r, {big[0], big[1], big[2]}, 0, 1, proto::kC2hEndCapacity);
    EXPECT_EQ(r.hdr.beats_used, cap) << "exactly full";
    EXPECT_EQ(feed.taken(), 3u * proto::kDmaMaxFrameBeats) << "the 4th frame was not started";
    r = run_c2h(feed, cap, 1000, 2);
    expect_buffer(r, {big[3]}, 0, 2, proto::kC2hEndIdle);
  }
  {
    // One beat short: only 2 maximal slots fit; the 3rd frame goes to the next run.
    hls::stream<axis_word> in("c2h.in");
    FeedHook feed(in);
    feed_frames(feed, big);
    const uint32_t cap = 3 * proto::kDmaMaxSlotBeats;
    RunOut r = run_c2h(feed, cap, 1000, 1);
    expect_buffer(r, {big[0], big[1]}, 0, 1, proto::kC2hEndCapacity);
    r = run_c2h(feed, cap, 1000, 2); // the same two slots leave 141 beats: full again
    expect_buffer(r, {big[2], big[3]}, 0, 2, proto::kC2hEndCapacity);
  }
  {
    // Small frames: a frame starts only with a maximal slot's room left, so a run's last frames
    // are followed by less than 142 free beats, never by a split frame.
    hls::stream<axis_word> in("c2h.in");
    FeedHook feed(in);
    std::vector<Frame> small;
    for (int i = 0; i < 200; i++) small.push_back(Frame{fanout::test::random_bytes(100, rng), 5});
    feed_frames(feed, small);
    const uint32_t cap = 1 + proto::kDmaMaxSlotBeats + 9; // room for 1 + 3 slots of 3 beats
    RunOut r = run_c2h(feed, cap, 1000, 1);
    EXPECT_EQ(r.hdr.frames, 4u);
    EXPECT_EQ(r.hdr.beats_used, 13u);
    expect_buffer(r, {small[0], small[1], small[2], small[3]}, 0, 1, proto::kC2hEndCapacity);
  }
  {
    // Below the minimum: the header only (nothing taken); capacity 0: nothing written at all.
    hls::stream<axis_word> in("c2h.in");
    FeedHook feed(in);
    feed_frames(feed, {big[0]});
    RunOut r = run_c2h(feed, proto::kC2hMinCapacityBeats - 1, 1000, 1);
    expect_buffer(r, {}, 0, 1, proto::kC2hEndCapacity);
    EXPECT_EQ(feed.taken(), 0u);
    r = run_c2h(feed, 0, 1000, 2);
    EXPECT_EQ(r.beats_written, 1u);
    EXPECT_EQ(feed.taken(), 0u);
    r = run_c2h(feed, proto::kC2hMinCapacityBeats, 1000, 3);
    expect_buffer(r, {big[0]}, 0, 3, proto::kC2hEndCapacity);
  }
}

TEST(C2h, OversizedFramesDroppedAndCountedNextKept) {
  std::mt19937 rng(12);
  hls::stream<axis_word> in("c2h.in");
  FeedHook feed(in);
  std::vector<Frame> kept;
  auto keep = [&](uint32_t len) {
    Frame f{fanout::test::random_bytes(len, rng), random_user(rng)};
    feed_frames(feed, {f});
    kept.push_back(f);
  };
  auto drop = [&](uint32_t len) { feed_frames(feed, {Frame{fanout::test::random_bytes(len, rng), 1}}); };
  keep(300);
  drop(proto::kMaxFrameBytes + 1);
  keep(100);
  drop(proto::kMaxFrameBytes + 4); // 9,018
  drop(64 * 141 + 1);              // 142 beats
  drop(64 * 300);                  // far longer than the ring's free space
  keep(proto::kMaxFrameBytes);
  // A lone tlast beat with no byte: nothing to write, counted as dropped.
  axis_word empty = hw::from_beat(proto::Beat{}, 0, 0);
  empty.last = 1;
  feed.add({empty});
  keep(14);
  RunOut r = run_c2h(feed, 8192, 100, 5);
  expect_buffer(r, kept, 5, 5, proto::kC2hEndIdle);
  EXPECT_EQ(r.hdr.dropped, 5u);
  EXPECT_EQ(r.hdr.frames, 4u);

  // A multi-beat frame whose last beat has no byte: its length is the full beats before it.
  Frame f{fanout::test::random_bytes(128, rng), 9};
  std::vector<axis_word> w = fanout::test::stream_words(f.bytes, f.user);
  w.back().last = 0;
  w.push_back(empty);
  w.back().user = f.user;
  feed.add(w);
  r = run_c2h(feed, 8192, 100, 6);
  expect_buffer(r, {f}, 0, 6, proto::kC2hEndIdle);
}

TEST(C2h, FrameCapEndsTheRun) {
  std::mt19937 rng(13);
  hls::stream<axis_word> in("c2h.in");
  FeedHook feed(in);
  std::vector<Frame> frames;
  for (int i = 0; i < 7; i++) frames.push_back(Frame{fanout::test::random_bytes(80, rng), 0});
  feed_frames(feed, {frames[0], frames[1]});
  feed_frames(feed, {Frame{fanout::test::random_bytes(proto::kMaxFrameBytes + 1, rng), 0}}); // dropped
  feed_frames(feed, {frames[2], frames[3], frames[4], frames[5], frames[6]});
  RunOut r = run_c2h(feed, 8192, 100, 1, 4); // 4 frames, written or dropped
  expect_buffer(r, {frames[0], frames[1], frames[2]}, 1, 1, proto::kC2hEndFrameCap);
  r = run_c2h(feed, 8192, 100, 2, 4);
  expect_buffer(r, {frames[3], frames[4], frames[5], frames[6]}, 0, 2, proto::kC2hEndFrameCap);
}

// Input beats per clock with frames offered back to back: a frame of n beats costs the writer
// n + 1 clocks (descriptor + data), so the ring fills (it gains about a beat per frame: some 400
// frames) and the input settles at n / (n + 1). The steady state is measured over the second half
// of 2,000 frames or more, after the ring has filled.
TEST(C2h, InputBeatsPerClock) {
  std::mt19937 rng(21);
  for (const FrameMix &m : kFrameMixes) {
    hls::stream<axis_word> in("c2h.in");
    FeedHook feed(in);
    std::vector<uint64_t> last_beat; // index of each frame's last beat in the input
    uint64_t beats = 0;
    for (uint32_t i = 0; i < m.frames; i++) {
      uint32_t len = std::uniform_int_distribution<uint32_t>(m.lo, m.hi)(rng);
      feed.add(fanout::test::stream_words(fanout::test::random_bytes(len, rng), random_user(rng)));
      beats += proto::dma_frame_beats(len);
      last_beat.push_back(beats - 1);
    }
    RunOut r = run_c2h(feed, (uint32_t)(1 + beats + m.frames + proto::kDmaMaxSlotBeats), 1000, 1);
    ASSERT_EQ(r.hdr.frames, m.frames);
    ASSERT_EQ(feed.take_clock.size(), beats);
    uint64_t b0 = last_beat[m.frames / 2], b1 = last_beat[m.frames - 1];
    double steady = (double)(b1 - b0) / (double)(feed.take_clock[b1] - feed.take_clock[b0]);
    double whole = (double)beats / (double)(feed.take_clock[beats - 1] - feed.take_clock[0] + 1);
    std::printf("[c2h] %s: %llu input beats; steady state %.4f beats/clock in (whole run %.4f, the ring's "
                "filling included)\n",
                m.what, (unsigned long long)beats, steady, whole);
    EXPECT_GE(steady, m.min_rate) << m.what;
  }
}

// Host -> h2c -> (the NIC: here, a tuser per frame) -> c2h -> host, every frame size from 14 to
// kMaxFrameBytes once, in random order. h2c buffers of up to 4,096 beats, its consumer
// back-pressuring at random; c2h's frames arriving with random gaps (shorter than idle_clocks)
// into buffers of 3,000 beats, re-armed until the stream is empty, so runs end both by capacity
// and by idle.
TEST(DataMovers, RoundTripEveryFrameSize) {
  std::mt19937 rng(2024);
  std::vector<uint32_t> sizes;
  for (uint32_t len = proto::kDmaMinFrameBytes; len <= proto::kMaxFrameBytes; len++) sizes.push_back(len);
  std::shuffle(sizes.begin(), sizes.end(), rng);
  std::vector<Frame> sent;
  for (uint32_t len : sizes) sent.push_back(Frame{fanout::test::random_bytes(len, rng), random_user(rng)});

  hls::stream<axis_word> in("c2h.in");
  FeedHook feed(in);
  std::vector<Frame> got;
  uint32_t runs_h2c = 0, runs_c2h = 0, seq = 0, by_capacity = 0, by_idle = 0;
  uint64_t wire_beats = 0;
  for (size_t i = 0; i < sent.size();) {
    // Host to card: one buffer.
    size_t first_frame = i;
    std::vector<Bytes> batch;
    uint32_t beats = 0;
    while (i < sent.size() && beats + proto::dma_slot_beats((uint32_t)sent[i].bytes.size()) <= 4096) {
      beats += proto::dma_slot_beats((uint32_t)sent[i].bytes.size());
      batch.push_back(sent[i++].bytes);
    }
    Words src = fanout::test::to_words(fanout::test::h2c_buffer(batch));
    hls::stream<axis_word> out("h2c.out");
    fanout::test::DrainHook drain(out, 0.8, runs_h2c + 1);
    hw::H2cResult res{};
    hw::h2c_run(src.data(), (uint32_t)src.size(), out, res, drain);
    while (!out.empty()) drain.clock();
    ASSERT_EQ(res.frames_sent, batch.size());
    ASSERT_EQ(res.bad_descriptors, 0u);
    runs_h2c++;

    // The NIC: each frame gets its tuser (ingress port, bad bit) on every beat.
    size_t f = first_frame;
    std::vector<axis_word> frame;
    for (axis_word w : drain.got) {
      ASSERT_EQ(w.user, proto::kPortLocal);
      w.user = sent[f].user;
      frame.push_back(w);
      if (w.last == 1) {
        feed.add(frame, rng() % 4 == 0 ? (uint32_t)(rng() % 50) : 0);
        frame.clear();
        f++;
      }
    }
    ASSERT_EQ(f, i);
    wire_beats += drain.got.size();

    // Card to host until the stream is empty.
    while (!(feed.queue.empty() && in.empty())) {
      RunOut r = run_c2h(feed, 3000, 100, ++seq);
      ASSERT_TRUE(r.hdr_ok);
      ASSERT_EQ(r.hdr.sequence, seq);
      ASSERT_EQ(r.hdr.dropped, 0u);
      size_t first = got.size();
      uint32_t at = 1;
      for (uint32_t k = 0; k < r.hdr.frames; k++) {
        proto::DmaDesc d{};
        uint32_t next = 0;
        ASSERT_EQ(proto::c2h_read_slot(r.buf.data(), r.hdr.beats_used, at, &d, &next), proto::kDmaDescOk);
        Frame g;
        g.bytes.assign(r.buf.begin() + 64 * (at + 1), r.buf.begin() + 64 * (at + 1) + d.length);
        g.user = (uint16_t)(d.port | ((d.flags & proto::kDmaFlagBadFrame) ? 1u << hw::kUserBadFrameBit : 0u));
        got.push_back(g);
        at = next;
      }
      ASSERT_EQ(at, r.hdr.beats_used);
      // Byte-identical to the buffer proto builds from the same frames.
      std::vector<Frame> these(got.begin() + (long)first, got.end());
      expect_buffer(r, these, 0, seq, r.hdr.end_reason);
      if (r.hdr.end_reason == proto::kC2hEndCapacity) by_capacity++;
      if (r.hdr.end_reason == proto::kC2hEndIdle) by_idle++;
      runs_c2h++;
    }
  }
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); i++) {
    ASSERT_EQ(got[i].bytes, sent[i].bytes) << "frame " << i << " (" << sent[i].bytes.size() << " bytes)";
    ASSERT_EQ(got[i].user, sent[i].user) << "frame " << i;
  }
  EXPECT_GT(by_capacity, 0u);
  EXPECT_GT(by_idle, 0u);
  std::printf("[h2c -> c2h] %zu frames (14..%u bytes, %llu beats): %u h2c runs, %u c2h runs (%u ended by capacity, "
              "%u by idle), byte-identical with their tuser\n",
              sent.size(), proto::kMaxFrameBytes, (unsigned long long)wire_beats, runs_h2c, runs_c2h, by_capacity,
              by_idle);
}

TEST(C2hTop, RunsAndCountsSequence) {
  // The top's `in` is the shim's depth-2 stream, filled before the call (nothing feeds it during
  // the run): one 2-beat frame here; the stepped tests above cover the rest.
  std::mt19937 rng(3);
  Frame f{fanout::test::random_bytes(100, rng), 0x1FE};
  hls::stream<axis_word> in;
  for (const axis_word &w : fanout::test::stream_words(f.bytes, f.user)) in.write(w);
  Words dst(300);
  fanout_c2h(in, dst.data(), 300, 16);
  Bytes buf = fanout::test::to_bytes(dst, 300);
  proto::C2hHeader h{};
  ASSERT_TRUE(proto::c2h_decode_header(buf.data(), &h));
  EXPECT_EQ(h.frames, 1u);
  EXPECT_EQ(h.end_reason, proto::kC2hEndIdle);
  Bytes want = expected_buffer({f}, 0, h.sequence, proto::kC2hEndIdle);
  EXPECT_TRUE(std::equal(want.begin(), want.end(), buf.begin()));
  uint32_t first_seq = h.sequence;
  fanout_c2h(in, dst.data(), 300, 16); // nothing arrives: zero frames, the next sequence number
  buf = fanout::test::to_bytes(dst, 300);
  ASSERT_TRUE(proto::c2h_decode_header(buf.data(), &h));
  EXPECT_EQ(h.frames, 0u);
  EXPECT_EQ(h.beats_used, 1u);
  EXPECT_EQ(h.sequence, first_seq + 1);
}

} // namespace
