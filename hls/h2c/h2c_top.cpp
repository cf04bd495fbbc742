// fanout_h2c: the synthesis top of the host-to-card data mover (h2c.hpp). ap_ctrl_hs: XRT starts
// a run (xrt::kernel / xrt::run over an xrt::bo in card memory) and waits for it to return.
//
// Ports (s_axilite bundle `control`; 0x00-0x0C are the ap_ctrl_hs control, global and interrupt
// registers Vitis places there):
//  * 0x10 src: card-memory address of the host-to-card buffer (64-bit, 0x10-0x17), read over
//    m_axi bundle gmem in bursts of up to 64 beats (4 KiB, the AXI burst boundary).
//  * 0x1C beats: beats of the buffer to read (proto/host_dma.hpp: slots back to back).
//  * 0x2C frames_sent (read-only, valid after the run; ap_vld at 0x30): frames sent whole.
//  * 0x34 bad_descriptors (read-only, valid after the run; ap_vld at 0x38): 1 if the run stopped
//    at a malformed descriptor (the slot after the frames_sent-th), 0 otherwise.
//  * out: AXI-Stream with register slices (axis register both) to the shell's host_tx. No depth:
//    the shell's FIFO is the buffering.
//  * Register offsets: defined once in rtl/regs/fanout_regs.yaml (kernel 'h2c'); the pragmas take
//    them from fanout/hls/generated/kernel_regs.hpp (FANOUT_REG_H2C_<ARGUMENT>), software from
//    driver/include/fanout/regs.hpp (fanout::regs::h2c); ctest kernel_regs_consistent checks.
//
// C++14, synthesizable subset.
#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/hls/dma_beat.hpp"
#include "fanout/hls/generated/kernel_regs.hpp"
#include "h2c.hpp"

extern "C" void fanout_h2c(const ap_uint<512> *src, uint32_t beats, hls::stream<fanout::hw::axis_word> &out,
                           uint32_t *frames_sent, uint32_t *bad_descriptors) {
  FANOUT_HLS_PRAGMA(HLS INTERFACE m_axi port = src bundle = gmem offset = slave max_read_burst_length =
                        64 num_read_outstanding = 16)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = src offset = FANOUT_REG_H2C_SRC bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = beats offset = FANOUT_REG_H2C_BEATS bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = frames_sent offset = FANOUT_REG_H2C_FRAMES_SENT bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = bad_descriptors offset = FANOUT_REG_H2C_BAD_DESCRIPTORS bundle =
                        control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = return bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_ctrl_hs port = return )

  fanout::hw::H2cResult res;
  fanout::hw::H2cNoHook hook;
  fanout::hw::h2c_run(src, beats, out, res, hook);
  *frames_sent = res.frames_sent;
  *bad_descriptors = res.bad_descriptors;
}
