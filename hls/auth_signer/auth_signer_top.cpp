// fanout_auth_signer: the synthesis top of the egress signer (auth_signer.hpp), P = 2 ports over
// one static fanout::hw::AuthSigner. Free-running (ap_ctrl_none): one call is one clock.
//
// Ports:
//  * in[2] (from the NIC shell's transmit ports), out[2] (to the MACs): AXI-Stream with register
//    slices (axis register both). No depth: the kernel's buffering is its FIFO per port.
//  * s_axilite (bundle ctrl): enable (0: every frame passes unchanged), self_id (the origin it
//    signs for), udp_port (0 means proto::kDefaultUdpPort), key[4] (the 16-byte group key, key byte
//    4i + j in bits 8j+7..8j of word i, as the parser's auth_key); counter_load and
//    counter_load_seq (a new counter_load_seq loads counter_load as the next counter: after a
//    reset with the same key, software restores the counter it saved, or receivers would drop
//    the node's frames as stale); next_counter (read: the counter the next signed frame takes);
//    counters[kSignCntCount] (SignerCounter).
//
// C++14, synthesizable subset.
#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "auth_signer.hpp"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/proto/wire.hpp"

// The FIFO depth per port in beats (auth_signer.hpp): kSignerFifoBeats by default; 4096 signs
// jumbo frames at line rate (hls_config.tcl: FANOUT_AUTH_FIFO_BEATS).
#ifndef FANOUT_SIGNER_FIFO_BEATS
#define FANOUT_SIGNER_FIFO_BEATS fanout::hw::kSignerFifoBeats
#endif

extern "C" void fanout_auth_signer(hls::stream<fanout::hw::axis_word> in[2], hls::stream<fanout::hw::axis_word> out[2],
                                   uint8_t enable, uint16_t self_id, uint16_t udp_port, const uint32_t key[4],
                                   uint32_t counter_load, uint32_t counter_load_seq, uint32_t *next_counter,
                                   uint32_t counters[fanout::hw::kSignCntCount]) {
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_ctrl_none port = return )
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = enable bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_id bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = udp_port bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = key bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = counter_load bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = counter_load_seq bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = next_counter bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = counters bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)

  static fanout::hw::AuthSigner<2, FANOUT_SIGNER_FIFO_BEATS> signer;
  static uint32_t last_load_seq = 0; // the registers' reset value: nothing loaded
  uint8_t k[16];
  fanout::hw::auth_key_from_registers(key, k);
  signer.configure(enable != 0, self_id, k, udp_port == 0 ? fanout::proto::kDefaultUdpPort : udp_port);
  if (counter_load_seq != last_load_seq) {
    last_load_seq = counter_load_seq;
    signer.set_next_counter(counter_load);
  }
  signer.step(in, out);
  *next_counter = signer.next_counter();
  signer.read_counters(counters);
}
