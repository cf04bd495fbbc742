// libFuzzer target: beats_to_frame on arbitrary beat sequences, frame_to_beats on the result.
//
// Input: byte 0 picks the output capacity, then 65 bytes per beat: a control byte (bit 7 =
// tlast, bits 0..6 = valid byte count; counts above 64 stand for a non-contiguous keep taken
// from the beat's first 8 data bytes) and 64 data bytes. The simulator and the HLS testbenches
// turn beats into frames this way, so malformed streams (early tlast, holes in keep, partial
// middle beats) must be refused, and a frame must survive the trip through beats unchanged.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fanout/proto/beats.hpp"
#include "fuzz_check.hpp"

using namespace fanout::proto;

namespace {

const uint32_t kBeatInputBytes = 1 + kBeatBytes;
// A little over a jumbo frame, so that both too-long and cap-limited streams are reachable.
const uint32_t kMaxInputBeats = kMaxFrameBytes / kBeatBytes + 4;

// Reference rule, written from beats.hpp's contract rather than its loop.
uint32_t expected_len(const Beat *beats, uint32_t n, uint32_t cap) {
  uint32_t len = 0;
  for (uint32_t b = 0; b < n; b++) {
    uint32_t valid = (uint32_t)__builtin_popcountll(beats[b].keep);
    uint64_t contiguous = valid >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << valid) - 1);
    if (valid == 0 || beats[b].keep != contiguous) return 0;
    if (beats[b].last != (b + 1 == n)) return 0;
    if (b + 1 < n && valid != kBeatBytes) return 0;
    len += valid;
    if (len > cap) return 0;
  }
  return len;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  // 0 = the jumbo limit; otherwise a multiple of 37 bytes (not of 64, so caps fall mid-beat).
  uint32_t cap = data[0] == 0 ? kMaxFrameBytes : data[0] * 37u;
  size_t nbeats = (size - 1) / kBeatInputBytes;
  if (nbeats > kMaxInputBeats) nbeats = kMaxInputBeats;

  std::vector<Beat> beats(nbeats);
  for (size_t b = 0; b < nbeats; b++) {
    const uint8_t *in = data + 1 + b * kBeatInputBytes;
    uint32_t count = in[0] & 0x7F;
    std::memcpy(beats[b].data, in + 1, kBeatBytes);
    beats[b].last = (in[0] & 0x80) != 0;
    if (count <= kBeatBytes) {
      beats[b].keep = keep_mask(count);
    } else {
      uint64_t k = 0;
      for (int i = 0; i < 8; i++) k = (k << 8) | in[1 + i];
      beats[b].keep = k;
    }
  }

  // Exact-size heap buffer: ASan reports any write past cap.
  std::vector<uint8_t> frame(cap);
  uint32_t len = beats_to_frame(beats.data(), (uint32_t)nbeats, frame.data(), cap);
  FUZZ_CHECK(len == expected_len(beats.data(), (uint32_t)nbeats, cap));
  if (len == 0) return 0;

  // The frame is the valid bytes in order, and it splits back into the very same beats.
  uint32_t pos = 0;
  for (size_t b = 0; b < nbeats; b++) {
    uint32_t valid = (uint32_t)__builtin_popcountll(beats[b].keep);
    FUZZ_CHECK(std::memcmp(frame.data() + pos, beats[b].data, valid) == 0);
    pos += valid;
  }
  FUZZ_CHECK(pos == len);
  FUZZ_CHECK(beats_for(len) == nbeats);

  std::vector<Beat> again(nbeats);
  FUZZ_CHECK(frame_to_beats(frame.data(), len, again.data(), (uint32_t)nbeats) == nbeats);
  for (size_t b = 0; b < nbeats; b++) {
    uint32_t valid = (uint32_t)__builtin_popcountll(beats[b].keep);
    FUZZ_CHECK(again[b].keep == beats[b].keep && again[b].last == beats[b].last);
    FUZZ_CHECK(std::memcmp(again[b].data, beats[b].data, valid) == 0);
    for (uint32_t i = valid; i < kBeatBytes; i++) FUZZ_CHECK(again[b].data[i] == 0);
  }
  // One beat too few must be refused rather than written past.
  std::vector<Beat> fewer(nbeats - 1);
  FUZZ_CHECK(frame_to_beats(frame.data(), len, fewer.data(), (uint32_t)(nbeats - 1)) == 0);
  return 0;
}
