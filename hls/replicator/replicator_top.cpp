// fanout_replicator: the synthesis top of the replicator kernel (replicator.hpp), over one static
// fanout::hw::Replicator<kReplTopPorts>. Free-running (ap_ctrl_none): one call is one clock.
//
// Ports:
//  * in_meta, in_frame (from the parser), out_port[kReplTopPorts] (one per MAC port), out_host,
//    out_arm (to the ACK aggregator), out_fb_meta, out_fb (ACK/NACK to the ACK aggregator):
//    AXI-Stream with register slices (axis register both). AXI-Stream ports have no depth; the
//    kernel's buffering is its internal beat ring (replicator.hpp).
//  * s_axilite (bundle ctrl), configuration: self_id, self_mac_hi (MAC bytes 0-1), self_mac_lo
//    (bytes 2-5), self_ipv4; mode (kReplModeTree = 0, kReplModePort = 1); tree_fanout (tree fan-out F,
//    0, the reset value, means kReplDefaultFanout); udp_port (UDP destination port of the copies,
//    0 means proto::kDefaultUdpPort); the tbl_* registers that write the neighbour table and the
//    port table one entry at a time (fanout/hls/table_write.hpp).
//  * port_down (ap_none, a plain wire): bit p = MAC port p is down, driven by the shell's link
//    monitor (rtl/link_monitor.sv); copies for a down port leave on its backup port (port mode,
//    kTablePortBackup) or are dropped and counted.
//  * peer_state (AXI-Stream, from the peer monitor, hls/peer_monitor): nodes declared down or up
//    again; at most one applied per clock, before the clock's planning (local repair).
//  * s_axilite (bundle ctrl), status: counters[kReplCounterCount] (ReplCounter order).
//  * s_axilite (bundle ctrl), hostile-input policy (proto/policy.hpp, after the registers above so
//    their offsets do not move): policy_max_receivers (0: no limit), policy_first_id,
//    policy_last_id (the cluster's ids; a last id of 0, the reset value, means 0xFFFF, so the
//    all-zero reset state is the open policy, which checks nothing), rate_bytes_per_tick (per
//    64 kernel clocks, kReplRateTickClocks, and sender; 0, the reset value: no limit), rate_burst_bytes (bucket size).
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
#include "fanout/proto/policy.hpp"
#include "fanout/proto/wire.hpp"
#include "replicator.hpp"

// MAC ports of the built kernel: the two QSFP28 cages of the U55C, U250 and U280.
static const uint32_t kReplTopPorts = 2;

typedef hls::stream<fanout::hw::axis_word> ReplAxisStream;
typedef hls::stream<fanout::hw::ParsedMeta> ReplMetaStream;
typedef hls::stream<fanout::hw::ArmWord> ReplArmStream;
typedef hls::stream<fanout::hw::PeerState> ReplPeerStream;

extern "C" void fanout_replicator(ReplMetaStream &in_meta, ReplAxisStream &in_frame,
                                  ReplAxisStream out_port[kReplTopPorts], ReplAxisStream &out_host,
                                  ReplArmStream &out_arm, ReplMetaStream &out_fb_meta, ReplAxisStream &out_fb,
                                  ReplPeerStream &peer_state, uint16_t self_id, uint16_t self_mac_hi,
                                  uint32_t self_mac_lo, uint32_t self_ipv4, uint8_t mode, uint8_t tree_fanout,
                                  uint16_t udp_port, uint8_t port_down, uint32_t tbl_seq, uint8_t tbl_kind,
                                  uint16_t tbl_index, uint16_t tbl_mac_hi, uint32_t tbl_mac_lo, uint32_t tbl_ipv4,
                                  uint8_t tbl_port, uint8_t tbl_valid, uint32_t counters[fanout::hw::kReplCounterCount],
                                  uint32_t policy_max_receivers, uint16_t policy_first_id, uint16_t policy_last_id,
                                  uint32_t rate_bytes_per_tick, uint32_t rate_burst_bytes) {
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_ctrl_none port = return )
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in_meta)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in_frame)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_port)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_host)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_arm)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_fb_meta)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_fb)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = peer_state)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_id bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_mac_hi bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_mac_lo bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = self_ipv4 bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = mode bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tree_fanout bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = udp_port bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_none port = port_down)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_seq bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_kind bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_index bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_mac_hi bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_mac_lo bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_ipv4 bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_port bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = tbl_valid bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = counters bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = policy_max_receivers bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = policy_first_id bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = policy_last_id bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = rate_bytes_per_tick bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = rate_burst_bytes bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)

  static fanout::hw::Replicator<kReplTopPorts> repl;
  static fanout::hw::TableWriteLatch latch;

  fanout::hw::NodeAddress self;
  self.id = self_id;
  self.mac[0] = (uint8_t)(self_mac_hi >> 8);
  self.mac[1] = (uint8_t)self_mac_hi;
  self.mac[2] = (uint8_t)(self_mac_lo >> 24);
  self.mac[3] = (uint8_t)(self_mac_lo >> 16);
  self.mac[4] = (uint8_t)(self_mac_lo >> 8);
  self.mac[5] = (uint8_t)self_mac_lo;
  self.ipv4 = self_ipv4;
  repl.set_self(self);
  repl.set_mode(mode);
  repl.set_fanout(tree_fanout == 0 ? fanout::hw::kReplDefaultFanout : (uint32_t)tree_fanout);
  repl.set_udp_port(udp_port == 0 ? fanout::proto::kDefaultUdpPort : udp_port);
  repl.set_port_down(port_down);
  fanout::proto::SetPolicy policy;
  policy.max_receivers = policy_max_receivers;
  policy.first_id = policy_first_id;
  policy.last_id = policy_last_id == 0 ? (fanout::proto::NodeId)(fanout::proto::kNodeIdSpace - 1) : policy_last_id;
  repl.set_policy(policy);
  fanout::proto::RateConfig rate;
  rate.bytes_per_tick = rate_bytes_per_tick;
  rate.burst_bytes = rate_burst_bytes;
  repl.set_rate(rate);
  if (latch.commit(tbl_seq))
    repl.apply_table_write(fanout::hw::table_write_from_registers(tbl_seq, tbl_kind, tbl_index, tbl_mac_hi, tbl_mac_lo,
                                                                  tbl_ipv4, tbl_port, tbl_valid));
  if (!peer_state.empty()) repl.apply_peer_state(peer_state.read());
  repl.step(in_meta, in_frame, out_port, out_host, out_arm, out_fb_meta, out_fb);
  repl.read_counters(counters);
}
