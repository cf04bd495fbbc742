// SipHashLanes: parallel SipHash-2-4 lanes over frames held in a beat FIFO (proto/auth.hpp's
// tag), shared by the parser's check (hls/parser) and the egress signer (hls/auth_signer).
//
// SipHash is sequential within a message: one SipRound (four layers of 64-bit add, rotate and
// xor) per clock is what a 300 MHz clock allows, so a lane absorbs an 8-byte word in 2 clocks,
// 4 bytes per clock, against the 64 bytes per clock of a port: Lanes lanes hash Lanes frames at
// once. Clocks per message: 2 per whole word, then 6 for the last word (message length in its
// top byte) and the finalization.
//
// A lane hashes a message made of a span of a frame in the FIFO and an optional tail:
//   frame bytes [base, base + body_len) (one byte ORed with a mask: the signer sets AUTH in the
//   flags it is about to send), then tail_len (0..4) bytes of `tail`, big-endian (the signer's
//   counter, appended after the frame).
// Lanes read the frame back through one FIFO read port that serves one lane per clock (round
// robin), a beat at a time into a 2-beat buffer per lane; the C model keeps a fetch count per lane
// and reads the bytes through the caller's Reader (`uint8_t frame_byte(uint32_t start, uint32_t off)`:
// byte off of the frame whose first beat is at FIFO pointer start), as the lane would from its
// buffer. A lane needs `need` beats of the frame before its last word: the caller may read bytes
// after the message (the parser compares the tag the frame carries) once the lane is done.
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_SIPHASH_LANES_HPP
#define FANOUT_HLS_SIPHASH_LANES_HPP

#include <stdint.h>

#include "fanout/hls/compat.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

// The group key in s_axilite registers (the parser's auth_key, the signer's key): four 32-bit
// words, key byte 4i + j in bits 8j+7..8j of word i (key bytes in proto::SipHash24's order).
inline void auth_key_from_registers(const uint32_t words[4], uint8_t key[16]) {
  for (uint32_t i = 0; i < 16; i++) {
    FANOUT_HLS_PRAGMA(HLS UNROLL)
    key[i] = (uint8_t)(words[i / 4] >> (8 * (i % 4)));
  }
}
// The inverse: what software writes to the registers for a key.
inline void auth_key_to_registers(const uint8_t key[16], uint32_t words[4]) {
  proto::auth_key_words(key, words);
}

struct SipHashJob {
  uint32_t start;    // FIFO pointer of the frame's first beat
  uint32_t base;     // frame offset of the message's first byte
  uint32_t body_len; // message bytes taken from the frame
  uint32_t or_off;   // message offset of the byte ORed with or_mask (any value if or_mask is 0)
  uint8_t or_mask;
  uint32_t tail;    // appended big-endian after the frame bytes ...
  uint8_t tail_len; // ... this many of its low bytes (0..4)
  uint32_t need;    // beats of the frame the lane reads (through the last message byte at least)
};

template <uint32_t Lanes> class SipHashLanes {
 public:
  static const uint32_t kNone = Lanes;

  SipHashLanes() { reset(); }
  void reset() {
    for (uint32_t l = 0; l < Lanes; l++) lanes_[l].busy = false;
    rr_ = 0;
    busy_ = 0;
  }

  uint32_t busy_count() const { return busy_; }
  // The lowest free lane, or kNone.
  uint32_t free_lane() const {
    uint32_t f = kNone;
    for (uint32_t l = 0; l < Lanes; l++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      if (!lanes_[l].busy && f == kNone) f = l;
    }
    return f;
  }
  void start(uint32_t l, const SipHashJob &job, const uint8_t key[16]) {
    Lane &x = lanes_[l];
    x.busy = true;
    x.done = false;
    x.job = job;
    x.msg_len = job.body_len + job.tail_len;
    x.pos = 0;
    x.fetched = 0;
    x.phase = 0;
    x.h.init(key);
    busy_++;
  }
  bool done(uint32_t l) const { return lanes_[l].done; }
  uint64_t tag(uint32_t l) const { return lanes_[l].tag; }
  void release(uint32_t l) {
    if (lanes_[l].busy) busy_--;
    lanes_[l].busy = false;
  }

  // One clock: the read port gives one lane a beat, then every lane runs one round.
  template <class Reader> void step(const Reader &r) {
    if (busy_ == 0) return;
    for (uint32_t k = 0; k < Lanes; k++) {
      uint32_t i = (rr_ + k) % Lanes;
      Lane &x = lanes_[i];
      uint32_t first_needed = (x.job.base + x.pos) / proto::kBeatBytes;
      if (x.busy && !x.done && x.fetched < x.job.need && x.fetched < first_needed + 2) {
        x.fetched++;
        rr_ = (i + 1) % Lanes;
        break;
      }
    }
    for (uint32_t i = 0; i < Lanes; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      Lane &x = lanes_[i];
      if (!x.busy || x.done) continue;
      if (x.pos + 8 <= x.msg_len) { // a whole word
        if (x.phase == 0) {
          uint32_t last = x.pos + 7 < x.job.body_len ? x.pos + 7 : (x.job.body_len > 0 ? x.job.body_len - 1 : 0);
          if ((x.job.base + last) / proto::kBeatBytes >= x.fetched) continue; // not fetched yet
          x.word = word(r, x, x.pos, 8);
          x.h.v3 ^= x.word;
          x.h.sip_round();
          x.phase = 1;
        } else {
          x.h.sip_round();
          x.h.v0 ^= x.word;
          x.pos += 8;
          x.phase = 0;
        }
      } else { // the last word (message length in its top byte), then the finalization
        if (x.fetched < x.job.need) continue;
        if (x.phase == 0) {
          x.word = word(r, x, x.pos, x.msg_len - x.pos) | ((uint64_t)(x.msg_len & 0xFF) << 56);
          x.h.v3 ^= x.word;
          x.h.sip_round();
        } else if (x.phase == 1) {
          x.h.sip_round();
          x.h.v0 ^= x.word;
        } else if (x.phase == 2) {
          x.h.v2 ^= 0xFF;
          x.h.sip_round();
        } else {
          x.h.sip_round();
        }
        if (x.phase == 5) {
          x.tag = x.h.v0 ^ x.h.v1 ^ x.h.v2 ^ x.h.v3;
          x.done = true;
        }
        x.phase++;
      }
    }
  }

 private:
  struct Lane {
    bool busy;
    bool done;
    SipHashJob job;
    uint32_t msg_len; // body_len + tail_len
    uint32_t pos;     // bytes absorbed (whole words)
    uint32_t fetched; // beats read through the port
    uint8_t phase;    // 0-1: the two rounds of a word; 0-5 of the last word and the finalization
    uint64_t word;    // the word being absorbed
    uint64_t tag;
    proto::SipHash24 h;
  };

  // n (0..8) message bytes from message offset off, little-endian, the rest 0.
  template <class Reader> static uint64_t word(const Reader &r, const Lane &x, uint32_t off, uint32_t n) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < 8; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      uint32_t o = off + i;
      uint8_t b = 0;
      if (i >= n) {
        b = 0;
      } else if (o < x.job.body_len) {
        b = r.frame_byte(x.job.start, x.job.base + o);
        if (o == x.job.or_off) b = (uint8_t)(b | x.job.or_mask);
      } else {
        uint32_t t = o - x.job.body_len; // 0..tail_len-1, most significant first
        b = (uint8_t)(x.job.tail >> (8 * (x.job.tail_len - 1 - t)));
      }
      v |= (uint64_t)b << (8 * i);
    }
    return v;
  }

  Lane lanes_[Lanes];
  uint32_t rr_;   // the read port's next lane
  uint32_t busy_; // lanes busy
};
template <uint32_t Lanes> const uint32_t SipHashLanes<Lanes>::kNone;

} // namespace hw
} // namespace fanout

#endif
