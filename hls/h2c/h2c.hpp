// fanout::hw::h2c_run: the host-to-card data mover (hls/h2c), the body of fanout_h2c
// (h2c_top.cpp).
//
// One run (ap_ctrl_hs: XRT starts it, it returns) reads `beats` beats of a host-to-card buffer
// (proto/host_dma.hpp: descriptor beat, then the frame's data beats, slot after slot) from card
// memory and sends each frame on `out` as AXI-Stream beats: tdata = the data beat, tkeep from the
// length (every beat full but the last), tlast on the last, tuser = proto::kPortLocal (the host's
// ingress port; the shell, rtl/fanout_nic_top.sv, forces that and forwards tuser bit 8, which is
// 0 here), tdest 0. Bytes past the frame's end in its last beat are sent 0.
//
// Timing: one loop over the buffer, PIPELINE II=1: each clock reads one beat and writes at most
// one stream beat (none for a descriptor), so a frame of n beats leaves in n + 1 clocks:
// n / (n + 1) beats per clock, 0.96 for 1,500-byte frames; a full `out` stalls the loop. The read
// address is i, unconditionally, for i in [0, beats): Vitis infers one sequential read burst
// over the whole buffer (cut into max_read_burst_length pieces), its length known at loop entry.
//
// Malformed descriptor (proto::h2c_desc_check: length 0, < 14, > kMaxFrameBytes, a reserved
// flag/port/byte set, or the frame running past `beats`): detected at the descriptor, before any
// beat of that frame is sent, so what went out is whole frames only. The run then stops sending:
// the remaining beats are still read (the burst was issued for the whole buffer; an early exit
// would keep Vitis from inferring it) and ignored. Reported in the result: frames_sent (frames
// sent whole) and bad_descriptors (1 if the run stopped at a malformed descriptor, else 0; the
// bad slot is the (frames_sent + 1)-th), stop_error and stop_beat for tests.
//
// C-simulation clocks. The kernel is run-to-completion, one call per run, so a test cannot step
// it clock by clock from outside. h2c_run takes a Hook instead: hook.clock() is called once per
// modelled clock (one loop iteration, plus one per clock the loop waits on a full `out`, modelled
// only in C simulation when Hook::kModelsClocks). The top passes H2cNoHook (nothing; synthesis
// sees only the loop); tests pass a hook that drains `out` under random back-pressure and counts
// clocks. Loop-iteration clocks are exact for II=1; the pipeline's fill and the m_axi latency at
// the start of a run (a few tens of clocks, unknown without Vitis) are not modelled.
//
// Stream depth: `out` is an AXI-Stream port (no depth; the shell's FIFO behind it). In C
// simulation it has the shim's default depth 2 (the register slice).
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_H2C_H2C_HPP
#define FANOUT_HLS_H2C_H2C_HPP

#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/hls/dma_beat.hpp"
#include "fanout/proto/host_dma.hpp"
#include "fanout/proto/split.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

// Loop-count hint for reports: a 4 MiB buffer (65,536 beats); runtime bound `beats`.
static const uint32_t kH2cTypicalBeats = 65536;

struct H2cResult {
  uint32_t frames_sent;     // frames sent whole
  uint32_t bad_descriptors; // 1: stopped at a malformed descriptor; 0: every beat consumed cleanly
  uint32_t stop_beat;       // the malformed descriptor's beat index (beats when none)
  uint8_t stop_error;       // its proto::DmaDescError (kDmaDescOk when none)
};

// The top's hook: no clock model.
struct H2cNoHook {
  static const bool kModelsClocks = false;
  void clock() {}
};

template <class Hook>
void h2c_run(const dma_word *src, uint32_t beats, hls::stream<axis_word> &out, H2cResult &res, Hook &hook) {
  uint32_t left = 0;       // data beats of the current frame still to send (0: next is a descriptor)
  uint32_t last_bytes = 0; // valid bytes of the current frame's last beat
  bool stopped = false;
  uint32_t frames = 0;
  uint32_t stop_beat = beats;
  uint8_t stop_error = proto::kDmaDescOk;
  for (uint32_t i = 0; i < beats; i++) {
    FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)
    FANOUT_HLS_PRAGMA(HLS LOOP_TRIPCOUNT min = 2 max = 65536 avg = 65536)
    dma_word d = src[i];
    if (!stopped) {
      if (left == 0) {
        uint32_t len = dma_desc_length(d);
        proto::DmaDescError e =
            proto::h2c_desc_check(len, dma_desc_flags(d), dma_desc_port(d), dma_desc_reserved_zero(d), beats - 1 - i);
        if (e != proto::kDmaDescOk) {
          stopped = true;
          stop_beat = i;
          stop_error = (uint8_t)e;
        } else {
          left = proto::dma_frame_beats(len);
          last_bytes = dma_last_beat_bytes(len);
        }
      } else {
        bool last = left == 1;
        axis_word w;
        w.data = last ? dma_keep_bytes(d, last_bytes) : d;
        w.keep = keep_for(last ? last_bytes : proto::kBeatBytes);
        w.strb = w.keep;
        w.user = proto::kPortLocal; // ingress port: the host; bad-frame bit 0
        w.dest = 0;
        w.last = last ? 1 : 0;
#ifndef __SYNTHESIS__
        // C simulation: the clocks the loop waits for the consumer (in hardware the blocking
        // write stalls the pipeline).
        if (Hook::kModelsClocks) {
          while (out.full()) hook.clock();
        }
#endif
        out.write(w);
        left--;
        if (last) frames++;
      }
    }
    hook.clock();
  }
  res.frames_sent = frames;
  res.bad_descriptors = stopped ? 1u : 0u;
  res.stop_beat = stop_beat;
  res.stop_error = stop_error;
}

} // namespace hw
} // namespace fanout

#endif
