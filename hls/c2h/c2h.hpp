// fanout::hw::C2h: the card-to-host data mover (hls/c2h), the body of fanout_c2h (c2h_top.cpp).
//
// One run (ap_ctrl_hs: XRT starts it, it returns) writes the frames arriving on `in` into a
// card-to-host buffer of capacity_beats beats (proto/host_dma.hpp): slots (descriptor with the
// frame's length, ingress port and bad-frame bit from tuser, then the data beats) back to back
// from beat 1, then the header at beat 0, last, so a host that sees the run done reads a
// complete buffer. The run returns
//  (a) kC2hEndCapacity: between frames, when the space left (capacity - beats used) cannot hold
//      a maximal slot (kDmaMaxSlotBeats = 142 beats); also at once when capacity < 143 (the
//      header alone is written; capacity 0 writes nothing at all);
//  (b) kC2hEndIdle: after idle_clocks clocks in a row between frames with no beat offered on
//      `in` (0 counts as 1). This is how the host polls: zero frames is a normal run;
//  (c) kC2hEndFrameCap: after kC2hMaxFramesPerRun frames (written + dropped), which bounds a run
//      that sees only oversized frames (they take no space).
// A frame is never split: the run starts a frame only with a maximal slot's room left and, once
// started, reads it to tlast whatever else happens (a run ends only between frames). A frame
// longer than kMaxFrameBytes (or with no byte at all) is read to tlast and counted as dropped;
// nothing of it is written. Bytes past a frame's end in its last data beat are written 0.
// tkeep: every beat but the last is taken as full (the stream convention, axis.hpp); the length
// is 64 (beats - 1) + the set keep bits of the last beat.
//
// Structure, chosen for bursts. A descriptor needs the frame's length, known at tlast, and must
// precede the data in memory, while Vitis only bursts accesses that are sequential, in a loop
// whose trip count is known at entry, and unconditional. So the frame is buffered, then written:
//  * Reader (read_clock(), one call per clock): takes at most one beat from `in` into a ring of
//    kC2hRingBeats beats and, at tlast, queues a record {length, tuser} (kC2hRecords deep).
//  * Writer (run()): for each queued record, one pipelined loop (II=1) of 1 + n iterations
//    writes the descriptor and the frame's n beats from the ring to dst[at .. at + n]: one burst
//    per frame, its length known when the loop starts. The reader runs in every iteration of
//    that loop too (and alone, one clock per iteration, when no frame is queued), so frame k + 1
//    arrives while frame k is written: the ring's one write and one read per clock are its two
//    ports (DEPENDENCE inter false: the reader only writes slots the writer freed in an earlier
//    clock; one slot is always left free for that).
// Throughput: a frame of n beats takes n + 1 writer clocks, so a steady stream is taken at
// n / (n + 1) beats per clock (0.96 for 1,500-byte frames), the ring absorbing bursts; when the
// ring or the record queue is full the reader leaves beats on `in` (back-pressure: the shell's
// FIFO holds them), never drops one.
//
// C-simulation clocks. run() is run-to-completion, so a test cannot step it from outside: it
// takes a Hook whose clock() is called once per modelled clock (each iteration of the slot loop
// and of the idle branch), in which the test offers the next input beat and counts. The top
// passes C2hNoHook. Not modelled (unknown without Vitis): the slot loop's pipeline fill at each
// entry (a few clocks per frame in hardware, on top of n + 1) and the m_axi write latency.
//
// Stream depths: `in` is an AXI-Stream port (no depth; register slices); in C simulation it has
// the shim's default depth 2. The ring (512 beats, 32 KiB: more than three maximal frames, so one
// can be written while the next arrives) and the record queue (64 frames: it only absorbs bursts
// of short frames, whose rate the writer bounds anyway, 1-beat frames at 0.5 per clock; full, it
// holds the reader back, nothing is lost) are arrays, not streams.
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_C2H_C2H_HPP
#define FANOUT_HLS_C2H_C2H_HPP

#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/hls/dma_beat.hpp"
#include "fanout/proto/host_dma.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

static const uint32_t kC2hRingBeats = 512; // power of two; > 3 maximal frames (3 x 141 beats)
static const uint32_t kC2hRingMask = kC2hRingBeats - 1;
static const uint32_t kC2hRecords = 64; // power of two
static const uint32_t kC2hRecordMask = kC2hRecords - 1;

struct C2hRecord {
  uint16_t length; // frame bytes
  uint16_t user;   // the frame's tuser (first beat): ingress port, bad-frame bit
};

// The top's hook: no clock model.
struct C2hNoHook {
  void clock() {}
};

class C2h {
 public:
  // One run; returns when the buffer holds its header (see above). sequence: the header's.
  // max_frames: the frame cap (c); the top keeps the default, tests lower it.
  template <class Hook>
  void run(hls::stream<axis_word> &in, dma_word *dst, uint32_t capacity_beats, uint32_t idle_clocks, uint32_t sequence,
           Hook &hook, uint32_t max_frames = proto::kC2hMaxFramesPerRun) {
    begin(capacity_beats, idle_clocks, max_frames);
    uint32_t at = 1; // beat of the next slot
    while (!(closed_ && rec_count_ == 0)) {
      FANOUT_HLS_PRAGMA(HLS LOOP_TRIPCOUNT min = 1 max = 65536 avg = 2048)
      if (rec_count_ != 0) {
        C2hRecord r = recs_[rec_rd_];
        rec_rd_ = (rec_rd_ + 1) & kC2hRecordMask;
        rec_count_--;
        uint32_t n = proto::dma_frame_beats(r.length);
        uint32_t last_bytes = dma_last_beat_bytes(r.length);
        uint8_t flags = r.user & (1u << kUserBadFrameBit) ? proto::kDmaFlagBadFrame : 0;
        dma_word desc = dma_desc_word(r.length, flags, (uint8_t)(r.user & 0xFF));
        for (uint32_t i = 0; i <= n; i++) {
          FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)
          FANOUT_HLS_PRAGMA(HLS LOOP_TRIPCOUNT min = 2 max = 142 avg = 25)
          FANOUT_HLS_PRAGMA(HLS DEPENDENCE variable = ring_ inter false)
          dma_word w = desc;
          if (i != 0) {
            dma_word d = ring_[rd_];
            rd_ = (rd_ + 1) & kC2hRingMask;
            ring_count_--;
            w = i == n ? dma_keep_bytes(d, last_bytes) : d;
          }
          dst[at + i] = w;
          read_clock(in);
          hook.clock();
        }
        at += n + 1;
      } else {
        read_clock(in);
        hook.clock();
      }
    }
    beats_written_ = at;
    if (capacity_beats != 0) dst[0] = c2h_header_word(frames_, committed_, dropped_, sequence, end_reason_);
  }

  // The last run's header fields, and the beats it wrote (= beats_used when capacity != 0).
  uint32_t frames() const { return frames_; }
  uint32_t beats_used() const { return committed_; }
  uint32_t dropped() const { return dropped_; }
  uint8_t end_reason() const { return end_reason_; }
  uint32_t beats_written() const { return beats_written_; }

 private:
  void begin(uint32_t capacity_beats, uint32_t idle_clocks, uint32_t max_frames) {
    wr_ = 0;
    rd_ = 0;
    frame_start_ = 0;
    ring_count_ = 0;
    rec_wr_ = 0;
    rec_rd_ = 0;
    rec_count_ = 0;
    in_frame_ = false;
    dropping_ = false;
    cur_beats_ = 0;
    cur_user_ = 0;
    capacity_ = capacity_beats;
    committed_ = capacity_beats == 0 ? 0 : 1; // the header
    idle_ = 0;
    idle_limit_ = idle_clocks == 0 ? 1 : idle_clocks;
    max_frames_ = max_frames;
    frames_ = 0;
    dropped_ = 0;
    closed_ = false;
    end_reason_ = 0;
    beats_written_ = 0;
  }

  void close(uint8_t reason) {
    closed_ = true;
    end_reason_ = reason;
  }

  static uint32_t keep_count(const axis_keep &keep) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      n += keep[i] ? 1u : 0u;
    }
    return n;
  }

  // One clock of the reader: at most one beat from `in`.
  void read_clock(hls::stream<axis_word> &in) {
    FANOUT_HLS_PRAGMA(HLS INLINE)
    if (closed_) return;
    if (!in_frame_) {
      // Between frames: the only place a run may end.
      if (capacity_ - committed_ < proto::kDmaMaxSlotBeats) {
        close(proto::kC2hEndCapacity);
        return;
      }
      if (frames_ + dropped_ >= max_frames_) {
        close(proto::kC2hEndFrameCap);
        return;
      }
      if (in.empty()) {
        idle_++;
        if (idle_ >= idle_limit_) close(proto::kC2hEndIdle);
        return;
      }
    }
    // A beat is taken only with room for it in the ring and, should it be a tlast, a record. The
    // ring keeps one slot free: the slot the reader writes is then never the one the writer reads
    // in the same clock (no read/write collision on the RAM's two ports).
    if (in.empty() || ring_count_ >= kC2hRingBeats - 1 || rec_count_ == kC2hRecords) return;
    axis_word w = in.read();
    idle_ = 0;
    if (!in_frame_) {
      in_frame_ = true;
      dropping_ = false;
      cur_beats_ = 0;
      frame_start_ = wr_;
      cur_user_ = (uint16_t)w.user.to_uint();
    }
    if (!dropping_) {
      if (cur_beats_ == proto::kDmaMaxFrameBeats) {
        // Longer than any frame: nothing of it stays.
        dropping_ = true;
        wr_ = frame_start_;
        ring_count_ -= cur_beats_;
      } else {
        ring_[wr_] = w.data;
        wr_ = (wr_ + 1) & kC2hRingMask;
        ring_count_++;
        cur_beats_++;
      }
    }
    if (w.last == 1) {
      uint32_t kb = keep_count(w.keep);
      if (!dropping_ && kb == 0) {
        // A last beat with no byte carries nothing: not stored.
        wr_ = (wr_ - 1) & kC2hRingMask;
        ring_count_--;
        cur_beats_--;
      }
      uint32_t len = kb == 0 ? cur_beats_ * proto::kBeatBytes : (cur_beats_ - 1) * proto::kBeatBytes + kb;
      if (dropping_ || len == 0 || len > proto::kDmaMaxFrameBytes) {
        if (!dropping_) {
          wr_ = frame_start_;
          ring_count_ -= cur_beats_;
        }
        dropped_++;
      } else {
        C2hRecord r;
        r.length = (uint16_t)len;
        r.user = cur_user_;
        recs_[rec_wr_] = r;
        rec_wr_ = (rec_wr_ + 1) & kC2hRecordMask;
        rec_count_++;
        committed_ += 1 + cur_beats_;
        frames_++;
      }
      in_frame_ = false;
    }
  }

  dma_word ring_[kC2hRingBeats];
  C2hRecord recs_[kC2hRecords];
  uint32_t wr_ = 0, rd_ = 0, frame_start_ = 0, ring_count_ = 0;
  uint32_t rec_wr_ = 0, rec_rd_ = 0, rec_count_ = 0;
  bool in_frame_ = false, dropping_ = false;
  uint32_t cur_beats_ = 0;
  uint16_t cur_user_ = 0;
  uint32_t capacity_ = 0, committed_ = 0;
  uint32_t idle_ = 0, idle_limit_ = 1, max_frames_ = 0;
  uint32_t frames_ = 0, dropped_ = 0;
  bool closed_ = false;
  uint8_t end_reason_ = 0;
  uint32_t beats_written_ = 0;
};

} // namespace hw
} // namespace fanout

#endif
