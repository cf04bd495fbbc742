// fanout::hw::ArmTap: the NIC's arm tap kernel, the replicator's ArmWord stream to both its
// readers.
//
// Why: the replicator writes one ArmWord per child on one stream (out_arm), and two kernels read
// it: the ACK aggregator (in_arm: which children to expect feedback from) and the peer monitor
// (in_watch: which peers to watch). Vitis links kernels with stream_connect, which is point to
// point; this kernel is the AXI4-Stream broadcaster between them (constraints/alveo_design.yaml:
// replicator.out_arm -> arm_tap.in, out_agg -> ack_agg.in_arm, out_watch -> peer_monitor.in_watch).
//
// One step() is one clock of a free-running kernel (PIPELINE II=1): when a word waits on `in` and
// both outputs have room, it is read and written to both, in the same clock. Otherwise nothing
// moves: a full output holds the input (back-pressure reaches the replicator, which holds a copy
// until its arm word has room), and the other output gets nothing either, so the two readers see
// the same words in the same order. Never drops, never duplicates, never reorders; one word per clock
// when nothing blocks; no buffering of its own (the words wait in the input stream).
//
// The simulator's node (sim/include/fanout/sim/kernel_core.hpp) runs this class between the
// replicator and the two readers, one step() per kernel clock.
//
// Stream depths: step() takes streams of the default depth (2, the FIFO Vitis builds between
// dataflow processes); at the top (arm_tap_top.cpp) they are AXI-Stream ports, which have no
// depth.
//
// No registers and no counters: the readers count the words they take (the aggregator's
// kAggCntArmWords, the peer monitor's kPeerCntWatchWords), so the kernel has no AXI-Lite slave.
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_ARM_TAP_ARM_TAP_HPP
#define FANOUT_HLS_ARM_TAP_ARM_TAP_HPP

#include "hls_stream.h"

#include "fanout/hls/arm.hpp"

namespace fanout {
namespace hw {

class ArmTap {
 public:
  // One clock: the word at the head of `in` to both outputs, or nothing.
  void step(hls::stream<ArmWord> &in, hls::stream<ArmWord> &out_agg, hls::stream<ArmWord> &out_watch) {
    if (!in.empty() && !out_agg.full() && !out_watch.full()) {
      ArmWord a = in.read();
      out_agg.write(a);
      out_watch.write(a);
    }
  }
};

} // namespace hw
} // namespace fanout

#endif
