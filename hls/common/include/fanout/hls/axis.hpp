// The 512-bit AXI-Stream beat every Fanout kernel reads and writes, and its link to proto::Beat.
//
// Byte lanes follow proto/beats.hpp: frame byte i of a beat is tdata bits [8i+7 : 8i] and tkeep
// bit i says it is valid; every beat but the last is full, the last has tlast = 1. Header fields
// are located with proto/'s offsets (wire.hpp); this file defines none.
//
// Sideband, chosen for Fanout:
//  * tdest (8 bits): the egress port the beat goes to, in one numbering of the NIC's ports
//    (physical MACs, the host, loopback). 256 is far more than a NIC has.
//  * tuser (16 bits): bits [7:0] the ingress port the frame arrived on, in the same numbering as
//    tdest (the replicator never sends a copy back where it came from, and the ACK aggregator
//    knows which child spoke without trusting the header); bit 8 marks a frame the MAC flagged
//    bad (FCS error, runt), to be dropped whole on its last beat; bits [15:9] are reserved, sent
//    0. It rides in tuser because it is per-frame metadata that must travel with the bytes
//    without changing them.
//  * tid: none (width 0). Each stream carries whole frames back to back and never interleaves
//    two, so there is no transfer to identify.
//  * tstrb equals tkeep: Fanout never sends position bytes.
//
// Namespace fanout::hw, not fanout::hls: inside namespace fanout, a nested "hls" would hide
// Vitis's ::hls (hls::stream would stop resolving).
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_AXIS_HPP
#define FANOUT_HLS_AXIS_HPP

#include "ap_axi_sdata.h"
#include "ap_int.h"
#include "fanout/hls/compat.hpp"
#include "fanout/proto/beats.hpp"

namespace fanout {
namespace hw {

static const int kAxisDataBits = 512;
static const int kAxisUserBits = 16;
static const int kAxisIdBits = 0;
static const int kAxisDestBits = 8;
static_assert(kAxisDataBits == 8 * (int)proto::kBeatBytes, "beat width must match proto::kBeatBytes");

typedef ap_axiu<kAxisDataBits, kAxisUserBits, kAxisIdBits, kAxisDestBits> axis_word;
typedef ap_uint<kAxisDataBits> axis_data;
typedef ap_uint<kAxisDataBits / 8> axis_keep;
typedef ap_uint<kAxisDestBits> axis_port;

// The longest frame a kernel handles, in beats: proto::kMaxFrameBytes (9014) -> 141.
static const uint32_t kMaxFrameBeats = (proto::kMaxFrameBytes + proto::kBeatBytes - 1) / proto::kBeatBytes;

// tuser layout (see above).
static const int kUserIngressLo = 0;
static const int kUserIngressHi = 7;
static const int kUserBadFrameBit = 8;

// Byte i (0..63) of a beat's data, following the byte-lane convention.
inline ap_uint<8> byte(const axis_data &d, unsigned i) {
  return d.range(8 * i + 7, 8 * i);
}
inline void set_byte(axis_data &d, unsigned i, ap_uint<8> v) {
  d.range(8 * i + 7, 8 * i) = v;
}

// Big-endian 16/32-bit field starting at byte `off` of a beat (the field must not cross the beat;
// offsets come from proto/wire.hpp, reduced modulo kBeatBytes).
inline ap_uint<16> get_be16(const axis_data &d, unsigned off) {
  return (byte(d, off), byte(d, off + 1));
}
inline void set_be16(axis_data &d, unsigned off, ap_uint<16> v) {
  set_byte(d, off, v.range(15, 8));
  set_byte(d, off + 1, v.range(7, 0));
}
inline ap_uint<32> get_be32(const axis_data &d, unsigned off) {
  return (byte(d, off), byte(d, off + 1), byte(d, off + 2), byte(d, off + 3));
}
inline void set_be32(axis_data &d, unsigned off, ap_uint<32> v) {
  set_be16(d, off, v.range(31, 16));
  set_be16(d, off + 2, v.range(15, 0));
}

// tkeep for a beat holding nbytes valid bytes (0..64; more counts as 64).
inline axis_keep keep_for(unsigned nbytes) {
  return axis_keep(proto::keep_mask(nbytes));
}

inline axis_word from_beat(const proto::Beat &b, axis_port dest = 0, ap_uint<kAxisUserBits> user = 0) {
  axis_word w;
  for (unsigned i = 0; i < proto::kBeatBytes; i++) {
    FANOUT_HLS_PRAGMA(HLS UNROLL)
    set_byte(w.data, i, b.data[i]);
  }
  w.keep = b.keep;
  w.strb = b.keep;
  w.user = user;
  w.last = b.last ? 1 : 0;
  w.dest = dest;
  return w;
}

inline proto::Beat to_beat(const axis_word &w) {
  proto::Beat b;
  for (unsigned i = 0; i < proto::kBeatBytes; i++) {
    FANOUT_HLS_PRAGMA(HLS UNROLL)
    b.data[i] = (uint8_t)byte(w.data, i).to_uint();
  }
  b.keep = w.keep.to_uint64();
  b.last = w.last == 1;
  return b;
}

} // namespace hw
} // namespace fanout

#endif
