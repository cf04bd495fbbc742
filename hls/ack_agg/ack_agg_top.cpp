// fanout_ack_agg: the synthesis top of the ACK aggregator kernel (ack_agg.hpp), over one static
// fanout::hw::AckAgg of the default shape (1024 sets x 4 ways, 17 children, 4 ranges per
// child). Free-running (ap_ctrl_none): one call is one clock.
//
// Ports:
//  * in_arm, in_meta, in_fb, out: AXI-Stream with register slices (axis register both).
//    AXI-Stream ports have no depth; the kernel's buffering is its output queue (ack_agg.hpp).
//  * s_axilite (bundle ctrl), configuration:
//      self_id, self_mac_hi (MAC bytes 0-1), self_mac_lo (bytes 2-5), self_ipv4: this node;
//      udp_port: Fanout destination port of the frames built (0: proto::kDefaultUdpPort);
//      silent_timeout, nack_window: in kernel clocks (0: kAggDefaultSilentTimeout /
//        kAggDefaultNackWindow). Changes apply at once; the table is kept.
//      tbl_*: one neighbour-table write per change of tbl_seq (table_write.hpp).
//  * s_axilite (bundle ctrl), counters[kAggCntCount]: indexed by AckAggCounter (every
//    proto::AggregatorStats field, then arm words, frames in / out, unroutable, undecodable,
//    not-feedback frames, build errors).
//
// C++14, synthesizable subset.
#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "ack_agg.hpp"
#include "fanout/hls/arm.hpp"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/hls/neighbour.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/hls/table_write.hpp"
#include "fanout/proto/wire.hpp"

extern "C" void fanout_ack_agg(hls::stream<fanout::hw::ArmWord> &in_arm, hls::stream<fanout::hw::ParsedMeta> &in_meta,
                               hls::stream<fanout::hw::axis_word> &in_fb, hls::stream<fanout::hw::axis_word> &out,
                               uint16_t self_id, uint16_t self_mac_hi, uint32_t self_mac_lo, uint32_t self_ipv4,
                               uint16_t udp_port, uint32_t silent_timeout, uint32_t nack_window, uint32_t tbl_seq,
                               uint8_t tbl_kind, uint16_t tbl_index, uint16_t tbl_mac_hi, uint32_t tbl_mac_lo,
                               uint32_t tbl_ipv4, uint8_t tbl_port, uint8_t tbl_valid,
                               uint32_t counters[fanout::hw::kAggCntCount]) {
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_ctrl_none port = return )
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in_arm)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in_meta)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in_fb)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_id bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_mac_hi bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_mac_lo bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_ipv4 bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = udp_port bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = silent_timeout bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = nack_window bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_seq bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_kind bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_index bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_mac_hi bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_mac_lo bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_ipv4 bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_port bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_valid bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = counters bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)

  static fanout::hw::AckAgg<> agg;
  static fanout::hw::TableWriteLatch latch;

  fanout::hw::AckAggConfig cfg;
  cfg.self.id = self_id;
  cfg.self.mac[0] = (uint8_t)(self_mac_hi >> 8);
  cfg.self.mac[1] = (uint8_t)self_mac_hi;
  cfg.self.mac[2] = (uint8_t)(self_mac_lo >> 24);
  cfg.self.mac[3] = (uint8_t)(self_mac_lo >> 16);
  cfg.self.mac[4] = (uint8_t)(self_mac_lo >> 8);
  cfg.self.mac[5] = (uint8_t)self_mac_lo;
  cfg.self.ipv4 = self_ipv4;
  cfg.udp_port = udp_port == 0 ? fanout::proto::kDefaultUdpPort : udp_port;
  cfg.silent_timeout = silent_timeout == 0 ? fanout::hw::kAggDefaultSilentTimeout : silent_timeout;
  cfg.nack_window = nack_window == 0 ? fanout::hw::kAggDefaultNackWindow : nack_window;
  agg.configure(cfg);

  if (latch.commit(tbl_seq))
    agg.write_table(fanout::hw::table_write_from_registers(tbl_seq, tbl_kind, tbl_index, tbl_mac_hi, tbl_mac_lo,
                                                           tbl_ipv4, tbl_port, tbl_valid));

  agg.step(in_arm, in_meta, in_fb, out);
  agg.read_counters(counters);
}
