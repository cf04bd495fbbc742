// fanout_c2h: the synthesis top of the card-to-host data mover (c2h.hpp). ap_ctrl_hs: XRT starts
// a run (xrt::kernel / xrt::run over an xrt::bo in card memory) and waits for it to return; the
// host re-arms it to poll (a run returns after idle_clocks quiet clocks, with zero frames too).
//
// Ports (s_axilite bundle `control`; 0x00-0x0C are the ap_ctrl_hs control, global and interrupt
// registers Vitis places there):
//  * 0x10 dst: card-memory address of the card-to-host buffer (64-bit, 0x10-0x17), written over
//    m_axi bundle gmem, one burst per frame slot (descriptor + data, at most 142 beats; the
//    adapter cuts at 64 beats = 4 KiB), then the header beat.
//  * 0x1C capacity_beats: the buffer's size in 64-byte beats.
//  * 0x24 idle_clocks: kernel clocks (300 MHz) between frames with nothing offered before the
//    run returns (0 counts as 1).
//  * in: AXI-Stream with register slices (axis register both) from the shell's host_rx. No depth:
//    the kernel's buffering is its ring (c2h.hpp); the shell's FIFO holds what it leaves.
// Register offsets: defined once in rtl/regs/fanout_regs.yaml (kernel 'c2h'); the pragmas take them
// from fanout/hls/generated/kernel_regs.hpp (FANOUT_REG_C2H_<ARGUMENT>), software from
// driver/include/fanout/regs.hpp (fanout::regs::c2h).
// Everything the host needs after a run is in the buffer's header beat (proto/host_dma.hpp):
// frames, beats used, frames dropped, the run's sequence number, why it returned.
//
// C++14, synthesizable subset.
#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "c2h.hpp"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/hls/dma_beat.hpp"
#include "fanout/hls/generated/kernel_regs.hpp"

extern "C" void fanout_c2h(hls::stream<fanout::hw::axis_word> &in, ap_uint<512> *dst, uint32_t capacity_beats,
                           uint32_t idle_clocks) {
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in)
  FANOUT_HLS_PRAGMA(HLS INTERFACE m_axi port = dst bundle = gmem offset = slave max_write_burst_length =
                        64 num_write_outstanding = 16)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = dst offset = FANOUT_REG_C2H_DST bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = capacity_beats offset = FANOUT_REG_C2H_CAPACITY_BEATS bundle =
                        control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = idle_clocks offset = FANOUT_REG_C2H_IDLE_CLOCKS bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = return bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_ctrl_hs port = return )

  // The run number in the header: a register kept across runs (reset when the bitstream loads).
  static uint32_t sequence = 0;
  sequence++;
  fanout::hw::C2h mover;
  fanout::hw::C2hNoHook hook;
  mover.run(in, dst, capacity_beats, idle_clocks, sequence, hook);
}
