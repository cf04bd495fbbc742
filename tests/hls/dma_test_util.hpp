// Helpers shared by the data movers' tests (tests/hls/h2c, tests/hls/c2h): host buffers as bytes
// and as the kernels' 512-bit words, and the clock models (hooks) the kernels' runs call once per
// clock (hls/h2c/h2c.hpp, hls/c2h/c2h.hpp).
#ifndef FANOUT_TESTS_HLS_DMA_TEST_UTIL_HPP
#define FANOUT_TESTS_HLS_DMA_TEST_UTIL_HPP

#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include "fanout/hls/axis.hpp"
#include "fanout/hls/dma_beat.hpp"
#include "fanout/proto/host_dma.hpp"

namespace fanout {
namespace test {

using Bytes = std::vector<uint8_t>;
using Words = std::vector<hw::dma_word>;

inline Bytes random_bytes(uint32_t len, std::mt19937 &rng) {
  Bytes f(len);
  for (uint8_t &b : f) b = (uint8_t)rng();
  return f;
}

// A host buffer (a multiple of 64 bytes) as m_axi words, and back.
inline Words to_words(const Bytes &buf) {
  Words w(buf.size() / 64);
  for (size_t b = 0; b < w.size(); b++)
    for (unsigned k = 0; k < 8; k++) {
      uint64_t v = 0;
      for (unsigned i = 0; i < 8; i++) v |= (uint64_t)buf[64 * b + 8 * k + i] << (8 * i);
      w[b].range(64 * k + 63, 64 * k) = v;
    }
  return w;
}
inline Bytes to_bytes(const Words &w, size_t beats) {
  Bytes buf(64 * beats);
  for (size_t b = 0; b < beats; b++)
    for (unsigned k = 0; k < 8; k++) {
      uint64_t v = w[b].range(64 * k + 63, 64 * k).to_uint64();
      for (unsigned i = 0; i < 8; i++) buf[64 * b + 8 * k + i] = (uint8_t)(v >> (8 * i));
    }
  return buf;
}

// A host-to-card buffer holding `frames` (proto::dma_write_slot), in beats.
inline Bytes h2c_buffer(const std::vector<Bytes> &frames) {
  uint32_t beats = 0;
  for (const Bytes &f : frames) beats += proto::dma_slot_beats((uint32_t)f.size());
  Bytes buf(64 * (size_t)beats);
  uint32_t at = 0;
  for (const Bytes &f : frames) at = proto::dma_write_slot(buf.data(), beats, at, f.data(), (uint32_t)f.size());
  return buf;
}

// A frame as the stream beats the shell delivers (tuser on every beat, tdest 0).
inline std::vector<hw::axis_word> stream_words(const Bytes &f, uint16_t user) {
  std::vector<hw::axis_word> out;
  uint32_t n = proto::dma_frame_beats((uint32_t)f.size());
  for (uint32_t b = 0; b < n; b++) {
    proto::Beat beat;
    uint32_t valid = (uint32_t)f.size() - 64 * b < 64 ? (uint32_t)f.size() - 64 * b : 64;
    for (uint32_t i = 0; i < 64; i++) beat.data[i] = i < valid ? f[64 * b + i] : 0;
    beat.keep = proto::keep_mask(valid);
    beat.last = b + 1 == n;
    out.push_back(hw::from_beat(beat, 0, user));
  }
  return out;
}

// h2c's clock model: each clock the consumer takes the output beat if there is one, with
// probability p_ready (1: never back-pressures). Records every beat and the clocks.
struct DrainHook {
  static const bool kModelsClocks = true;
  explicit DrainHook(hls::stream<hw::axis_word> &o, double p = 1.0, uint32_t seed = 1)
      : out(o), p_ready(p), rng(seed) {}
  void clock() {
    clocks++;
    if (!out.empty() && (p_ready >= 1.0 || std::uniform_real_distribution<double>(0, 1)(rng) < p_ready)) {
      got.push_back(out.read());
      if (first_out == 0) first_out = clocks;
      last_out = clocks;
    }
  }
  hls::stream<hw::axis_word> &out;
  double p_ready;
  std::mt19937 rng;
  std::vector<hw::axis_word> got;
  uint64_t clocks = 0, first_out = 0, last_out = 0;
};

// c2h's clock model: the producer offers the next beat each clock unless `in` is full (the
// kernel has not taken the last one) or the next frame's gap (idle clocks before it) runs.
// Lives across runs (the stream keeps what a run left). take_clock[k]: the clock of the kernel's
// k-th taken beat (the kernel reads in the clock before it calls the hook).
struct FeedHook {
  explicit FeedHook(hls::stream<hw::axis_word> &i) : in(i) {}
  void add(const std::vector<hw::axis_word> &frame, uint32_t gap_before = 0) {
    for (size_t b = 0; b < frame.size(); b++) queue.push_back(Item{frame[b], b == 0 ? gap_before : 0});
  }
  void clock() {
    clocks++;
    uint64_t taken = pushed - in.size();
    while (take_clock.size() < taken) take_clock.push_back(clocks);
    if (queue.empty()) return;
    if (queue.front().gap > 0) {
      queue.front().gap--;
      return;
    }
    if (!in.full()) {
      in.write(queue.front().w);
      queue.pop_front();
      pushed++;
    }
  }
  uint64_t taken() const { return pushed - in.size(); }
  struct Item {
    hw::axis_word w;
    uint32_t gap;
  };
  hls::stream<hw::axis_word> &in;
  std::deque<Item> queue;
  uint64_t clocks = 0, pushed = 0;
  std::vector<uint64_t> take_clock;
};

// The frame-size mixes both data movers' throughput tests run: sizes drawn uniformly from
// [lo, hi], and the least steady-state beats per clock accepted (n / (n + 1) for n-beat frames).
struct FrameMix {
  const char *what;
  uint32_t lo, hi;
  uint32_t frames;
  double min_rate;
};
const FrameMix kFrameMixes[] = {
    {"1,500-byte frames", 1500, 1500, 2000, 0.95},
    {"random 14..9,014 bytes", proto::kDmaMinFrameBytes, proto::kMaxFrameBytes, 2000, 0.95},
    {"random 64..1,518 bytes", 64, 1518, 3000, 0.9},
    {"minimum frames (60 bytes)", 60, 60, 5000, 0.5},
};

} // namespace test
} // namespace fanout

#endif
