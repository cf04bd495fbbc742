// fanout_arm_tap: the synthesis top of the arm tap kernel (arm_tap.hpp), the replicator's ArmWord
// stream to the ACK aggregator and the peer monitor. Free-running (ap_ctrl_none): one call is one
// clock.
//
// Ports:
//  * in (ArmWord, from the replicator's out_arm), out_agg (to the ACK aggregator's in_arm),
//    out_watch (to the peer monitor's in_watch): AXI-Stream with register slices (axis register
//    both). AXI-Stream ports have no depth; the kernel has no buffering of its own.
//  * No s_axilite: no registers, no AXI-Lite slave. Its entry in rtl/regs/fanout_regs.yaml
//    (kernel 'arm_tap') lists only the streams; ctest kernel_regs_consistent checks this file
//    against it.
//
// C++14, synthesizable subset.
#include "hls_stream.h"

#include "arm_tap.hpp"
#include "fanout/hls/arm.hpp"
#include "fanout/hls/compat.hpp"

extern "C" void fanout_arm_tap(hls::stream<fanout::hw::ArmWord> &in, hls::stream<fanout::hw::ArmWord> &out_agg,
                               hls::stream<fanout::hw::ArmWord> &out_watch) {
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_ctrl_none port = return )
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_agg)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_watch)
  FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)

  static fanout::hw::ArmTap tap;
  tap.step(in, out_agg, out_watch);
}
