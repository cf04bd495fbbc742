// fanout_peer_monitor: the synthesis top of the peer monitor kernel (peer_monitor.hpp), over one
// static fanout::hw::PeerMonitor of the default shape (64 slots). Free-running (ap_ctrl_none):
// one call is one clock.
//
// Ports:
//  * in_seen (ParsedMeta, a tap of the parser's out_meta), in_watch (ArmWord, a tap of the
//    replicator's out_arm), out_probe (single-beat PROBE frames, tdest = egress port; merged into
//    the ports' transmit paths by the shell's arbiters), out_state (PeerState, to the
//    replicator's NodeDownTable): AXI-Stream with register slices (axis register both).
//    AXI-Stream ports have no depth; the kernel's buffering is its three small queues.
//  * s_axilite (bundle ctrl), configuration:
//      self_id, self_mac_hi (MAC bytes 0-1), self_mac_lo (bytes 2-5), self_ipv4: this node;
//      udp_port: UDP port of the probes, both ways (0: proto::kDefaultUdpPort);
//      interval: heartbeat interval in kernel clocks (0: kPeerDefaultInterval, 800);
//      misses: silent intervals before a peer is down (0: kPeerDefaultMisses, 3);
//      idle: clocks without a copy before a live peer is no longer watched (0: 16 * interval);
//      disable: non-zero turns probing and detection off (PeerMonitor::set_interval(0));
//      forget_id, forget_seq: PeerMonitor::forget(forget_id) once per change of forget_seq
//        (the table-write scheme of table_write.hpp);
//      tbl_*: one neighbour-table write per change of tbl_seq (table_write.hpp).
//    Changes apply at once; the slots are kept.
//  * s_axilite (bundle ctrl), counters[kPeerCntCount]: indexed by PeerMonitorCounter (probes and
//    replies sent, peers down / up, watch overflow, replies dropped, unroutable, frames seen,
//    ..., slots in use).
//
// C++14, synthesizable subset.
#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "fanout/hls/arm.hpp"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/hls/neighbour.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/hls/peer_state.hpp"
#include "fanout/hls/table_write.hpp"
#include "fanout/proto/wire.hpp"
#include "peer_monitor.hpp"

extern "C" void fanout_peer_monitor(hls::stream<fanout::hw::ParsedMeta> &in_seen,
                                    hls::stream<fanout::hw::ArmWord> &in_watch,
                                    hls::stream<fanout::hw::axis_word> &out_probe,
                                    hls::stream<fanout::hw::PeerState> &out_state, uint16_t self_id,
                                    uint16_t self_mac_hi, uint32_t self_mac_lo, uint32_t self_ipv4, uint16_t udp_port,
                                    uint32_t interval, uint32_t misses, uint32_t idle, uint8_t disable,
                                    uint32_t forget_seq, uint16_t forget_id, uint32_t tbl_seq, uint8_t tbl_kind,
                                    uint16_t tbl_index, uint16_t tbl_mac_hi, uint32_t tbl_mac_lo, uint32_t tbl_ipv4,
                                    uint8_t tbl_port, uint8_t tbl_valid, uint32_t counters[fanout::hw::kPeerCntCount]) {
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_ctrl_none port = return )
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in_seen)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in_watch)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_probe)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_state)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_id bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_mac_hi bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_mac_lo bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_ipv4 bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = udp_port bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = interval bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = misses bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = idle bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = disable bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = forget_seq bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = forget_id bundle = ctrl)
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

  static fanout::hw::PeerMonitor<> mon;
  static fanout::hw::TableWriteLatch latch;
  static fanout::hw::TableWriteLatch forget_latch; // the same one-commit-per-change scheme

  fanout::hw::NodeAddress self;
  self.id = self_id;
  self.mac[0] = (uint8_t)(self_mac_hi >> 8);
  self.mac[1] = (uint8_t)self_mac_hi;
  self.mac[2] = (uint8_t)(self_mac_lo >> 24);
  self.mac[3] = (uint8_t)(self_mac_lo >> 16);
  self.mac[4] = (uint8_t)(self_mac_lo >> 8);
  self.mac[5] = (uint8_t)self_mac_lo;
  self.ipv4 = self_ipv4;
  mon.set_self(self);
  mon.set_udp_port(udp_port == 0 ? fanout::proto::kDefaultUdpPort : udp_port);
  uint32_t iv = interval == 0 ? fanout::hw::kPeerDefaultInterval : interval;
  mon.set_interval(disable != 0 ? 0 : iv);
  mon.set_misses(misses == 0 ? fanout::hw::kPeerDefaultMisses : misses);
  mon.set_idle(idle == 0 ? fanout::hw::kPeerDefaultIdleFactor * iv : idle);

  if (latch.commit(tbl_seq))
    mon.apply_table_write(fanout::hw::table_write_from_registers(tbl_seq, tbl_kind, tbl_index, tbl_mac_hi, tbl_mac_lo,
                                                                 tbl_ipv4, tbl_port, tbl_valid));
  if (forget_latch.commit(forget_seq)) mon.forget(forget_id);

  mon.step(in_seen, in_watch, out_probe, out_state);
  mon.read_counters(counters);
}
