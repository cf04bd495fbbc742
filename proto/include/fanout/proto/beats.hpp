// Frames as 512-bit AXI-Stream beats: the form the HLS kernels and the simulator see.
//
// Byte i of a beat is frame byte 64 * beat + i and sits in tdata bits [8i+7 : 8i] (AXI-Stream's
// little-endian byte lanes); keep bit i says byte i is valid. Every beat but the last is full;
// the last has tlast = 1 and keep = the low (len mod 64 or 64) bits. Because the fixed headers
// are exactly 64 bytes, beat 0 holds Ethernet, IPv4, UDP and the Fanout header, and the
// receiver set starts at byte 0 of beat 1.
//
// C++14, synthesizable subset.
#ifndef FANOUT_PROTO_BEATS_HPP
#define FANOUT_PROTO_BEATS_HPP

#include "fanout/proto/wire.hpp"

namespace fanout {
namespace proto {

struct Beat {
  uint8_t data[kBeatBytes];
  uint64_t keep;
  bool last;
};

inline uint64_t keep_mask(uint32_t nbytes) {
  return nbytes >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << nbytes) - 1);
}

inline uint32_t beats_for(uint32_t frame_len) {
  return (frame_len + kBeatBytes - 1) / kBeatBytes;
}

// Split frame[0..len) into beats. Returns the beat count, or 0 if len is 0 or out holds fewer
// than beats_for(len) beats. Unused bytes of the last beat are zero.
inline uint32_t frame_to_beats(const uint8_t *frame, uint32_t len, Beat *out, uint32_t max_beats) {
  uint32_t n = beats_for(len);
  if (len == 0 || n > max_beats) return 0;
  for (uint32_t b = 0; b < n; b++) {
    uint32_t base = b * kBeatBytes;
    uint32_t valid = len - base < kBeatBytes ? len - base : kBeatBytes;
    for (uint32_t i = 0; i < kBeatBytes; i++) out[b].data[i] = i < valid ? frame[base + i] : 0;
    out[b].keep = keep_mask(valid);
    out[b].last = b + 1 == n;
  }
  return n;
}

// Join beats back into a frame. Returns the frame length, or 0 if the beats are not a frame:
// no tlast, tlast before the final beat, a non-final beat that is not full, a keep that is not a
// contiguous low mask, or a frame longer than cap.
inline uint32_t beats_to_frame(const Beat *beats, uint32_t n, uint8_t *out, uint32_t cap) {
  uint32_t len = 0;
  for (uint32_t b = 0; b < n; b++) {
    uint64_t keep = beats[b].keep;
    uint32_t valid = 0;
    for (uint32_t i = 0; i < kBeatBytes; i++) valid += (uint32_t)((keep >> i) & 1);
    if (valid == 0 || keep != keep_mask(valid)) return 0;
    bool final_beat = b + 1 == n;
    if (beats[b].last != final_beat) return 0;
    if (!final_beat && valid != kBeatBytes) return 0;
    if (len + valid > cap) return 0;
    for (uint32_t i = 0; i < valid; i++) out[len + i] = beats[b].data[i];
    len += valid;
  }
  return len;
}

} // namespace proto
} // namespace fanout

#endif
