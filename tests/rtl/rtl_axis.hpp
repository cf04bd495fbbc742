// Helpers for driving Verilated AXI-Stream ports from tests: wide signals (VlWide) as byte
// vectors, and one beat as a plain struct.
#pragma once

#include <verilated.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

namespace rtltest {

struct Beat {
  std::vector<uint8_t> data; // 64 bytes
  uint64_t keep = 0;
  bool last = false;
  uint16_t user = 0;
  uint8_t dest = 0;
  bool operator==(const Beat &o) const {
    return data == o.data && keep == o.keep && last == o.last && user == o.user && dest == o.dest;
  }
};

// Bits [lo, lo + 8 * bytes.size()) of a wide signal.
template <std::size_t W> void put_bytes(VlWide<W> &w, unsigned lo_bit, const std::vector<uint8_t> &bytes) {
  for (std::size_t i = 0; i < bytes.size(); i++) {
    for (unsigned b = 0; b < 8; b++) {
      unsigned bit = lo_bit + 8 * (unsigned)i + b;
      uint32_t &word = w[bit / 32];
      uint32_t mask = 1u << (bit % 32);
      word = (bytes[i] >> b) & 1 ? (word | mask) : (word & ~mask);
    }
  }
}
template <std::size_t W> std::vector<uint8_t> get_bytes(const VlWide<W> &w, unsigned lo_bit, unsigned nbytes) {
  std::vector<uint8_t> out(nbytes, 0);
  for (unsigned i = 0; i < nbytes; i++) {
    for (unsigned b = 0; b < 8; b++) {
      unsigned bit = lo_bit + 8 * i + b;
      if ((w[bit / 32] >> (bit % 32)) & 1) out[i] |= (uint8_t)(1u << b);
    }
  }
  return out;
}

// A Verilated module with a `clk` and a synchronous active-high `rst`, clocked one edge at a time.
template <class V> struct Dut {
  std::unique_ptr<VerilatedContext> ctx = std::make_unique<VerilatedContext>();
  std::unique_ptr<V> m = std::make_unique<V>(ctx.get());
  uint64_t cycles = 0; // rising edges since construction
  void tick() {
    m->clk = 0;
    m->eval();
    m->clk = 1;
    m->eval();
    cycles++;
  }
  void reset() {
    m->rst = 1;
    tick();
    tick();
    m->rst = 0;
  }
};

// The beat a module presents on its m_axis_* port (512-bit data).
template <class V> Beat output_beat(const V &m) {
  Beat b;
  b.data = get_bytes(m.m_axis_tdata, 0, 64);
  b.keep = m.m_axis_tkeep;
  b.last = m.m_axis_tlast;
  b.user = m.m_axis_tuser;
  b.dest = m.m_axis_tdest;
  return b;
}

// Frames of random length (1..max_beats beats) with distinct content, tagged by `stream`.
inline std::vector<std::vector<Beat>> random_frames(std::mt19937 &rng, unsigned count, unsigned max_beats,
                                                    uint8_t stream) {
  std::vector<std::vector<Beat>> frames;
  std::uniform_int_distribution<unsigned> len(1, max_beats), byte(0, 255), tail(1, 64);
  for (unsigned f = 0; f < count; f++) {
    std::vector<Beat> fr(len(rng));
    for (std::size_t i = 0; i < fr.size(); i++) {
      Beat &b = fr[i];
      b.data.resize(64);
      for (auto &x : b.data) x = (uint8_t)byte(rng);
      b.data[0] = stream;
      b.data[1] = (uint8_t)f;
      b.data[2] = (uint8_t)(f >> 8);
      b.last = i + 1 == fr.size();
      unsigned n = b.last ? tail(rng) : 64;
      b.keep = n == 64 ? ~0ull : ((1ull << n) - 1);
      b.user = (uint16_t)(stream | (f << 8));
      b.dest = (uint8_t)(f * 7 + stream);
    }
    frames.push_back(fr);
  }
  return frames;
}

} // namespace rtltest
