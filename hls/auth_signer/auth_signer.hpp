// fanout::hw::AuthSigner: the NIC's egress signer (proto/auth.hpp, docs/protocol.md 12).
//
// It sits between the NIC shell's P transmit ports and the MACs, and signs every Fanout frame this
// node is the origin of: the replicator's DATA copies and the aggregator's, peer monitor's and
// host's own feedback and probes leave with the AUTH flag and a 12-byte trailer (this node's
// counter and the SipHash-2-4 tag), exactly the bytes proto::auth_append gives. Everything else
// passes unchanged: frames already signed (feedback forwarded verbatim by the aggregator keeps its
// origin's trailer), Fanout frames of another origin, non-Fanout frames, and frames whose lengths
// disagree (a frame is signed only if it is IPv4 (IHL 5, not a fragment), UDP to the Fanout port,
// Fanout version 1, and its IPv4 total length covers it exactly).
//
// One step() is one clock (PIPELINE II=1) of P independent ports sharing one counter:
//  * Input: a port reads a beat when its FIFO has room (the transmit path may be back-pressured:
//    nothing is dropped). At tlast a signable frame takes the next counter value (ports in order
//    within a clock): one counter per node, strictly increasing over everything it signs, as the
//    protocol requires of a signer; a receiver behind any port sees an increasing sequence. The
//    counter starts at 1 and stops at 2^32 - 1: from then on frames leave unsigned and
//    counter_exhausted() counts them (a node must change its key first).
//  * Hashing: Lanes SipHash lanes per port (fanout/hls/siphash_lanes.hpp: 4 bytes per clock per
//    lane, so 16 lanes keep up with 64 bytes per clock). A signable frame gets the lowest free lane
//    in arrival order; the lane hashes the Fanout part as it will be sent (AUTH set) and then the
//    counter.
//  * Output: frames leave in arrival order, one beat per clock. A signed frame waits for its tag,
//    then leaves with beat 0 rewritten (AUTH set; IPv4 total length and UDP length + 12; IPv4
//    header checksum recomputed; UDP checksum 0, which IPv4 allows: the tag covers the Fanout part,
//    and every frame the NIC builds already sends 0) and the trailer after its last byte: merged
//    into its last beat when 12 bytes are free there, else split across it and one more beat.
//  * Heartbeats bypass: a single-beat PROBE with hops-left 0 or 1 (the link monitor's and the peer
//    monitor's, which parsers do not check: hls/parser) skips the FIFO through a 4-frame queue
//    and leaves at the next frame boundary, ahead of the frames waiting for their tags: the
//    shell serves them with strict priority, and a heartbeat held behind a jumbo frame's
//    signature (8 us) would read as a dead peer. It is never signed (kSignCntHeartbeats).
//  * Cost: 12 bytes per signed frame; latency about 2 clocks per 8 bytes of Fanout part + 8; line
//    rate needs the FIFO to hold what arrives while the oldest frame hashes (figures: docs/hls.md).
//
// Stream depths: step() takes streams of the default depth (2). The kernel checks full() before
// every write and empty() before every read.
//
// C++14, synthesizable subset: fixed arrays, bounded loops, no allocation.
#ifndef FANOUT_HLS_AUTH_SIGNER_AUTH_SIGNER_HPP
#define FANOUT_HLS_AUTH_SIGNER_AUTH_SIGNER_HPP

#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/hls/siphash_lanes.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

// Per port: a FIFO of two maximum frames (one leaving while the next hashes) and 16 lanes.
static const uint32_t kSignerFifoBeats = 512;
static const uint32_t kSignerLanes = 16;
static const uint32_t kSignerHeartbeatSlots = 4; // a heartbeat per peer interval per port: never more queued

enum SignerCounter {
  kSignCntSigned = 0,       // frames signed
  kSignCntPassedSigned,     // frames that already carried AUTH (sent unchanged)
  kSignCntPassedOther,      // Fanout frames of another origin, non-Fanout and inconsistent frames
  kSignCntCounterExhausted, // signable frames sent unsigned: the counter reached 2^32 - 1
  kSignCntHeartbeats,       // link-local heartbeats sent through the bypass, unsigned
  kSignCntCount
};

template <uint32_t P, uint32_t FifoBeats = kSignerFifoBeats, uint32_t Lanes = kSignerLanes> class AuthSigner {
 public:
  static const uint32_t kFifoMask = FifoBeats - 1;
  static_assert((FifoBeats & kFifoMask) == 0, "FIFO size must be a power of two");
  static_assert(FifoBeats >= 2 * kMaxFrameBeats, "FIFO must hold two maximum frames");

  AuthSigner() : enabled_(false), self_(0), udp_port_(proto::kDefaultUdpPort) {
    for (uint32_t i = 0; i < 16; i++) key_[i] = 0;
    reset();
  }

  // Power-on state: FIFOs empty, counters 0, the next signing counter 1. Configuration kept.
  void reset() {
    next_counter_ = 1;
    for (uint32_t p = 0; p < P; p++) ports_[p].reset();
    for (uint32_t i = 0; i < kSignCntCount; i++) counts_[i] = 0;
  }

  // enabled: sign (otherwise every frame passes unchanged); self: this node's id (the origin it
  // signs for); key: the group key. A new key restarts the counter at 1.
  void configure(bool enabled, proto::NodeId self, const uint8_t key[16], uint16_t udp_port) {
    bool same = true;
    for (uint32_t i = 0; i < 16; i++) same = same && key_[i] == key[i];
    if (!same) next_counter_ = 1;
    for (uint32_t i = 0; i < 16; i++) key_[i] = key[i];
    enabled_ = enabled;
    self_ = self;
    udp_port_ = udp_port;
  }
  uint32_t next_counter() const { return next_counter_; }
  // Continue a counter (after a reset with the same key the counter would restart at 1 and
  // receivers would drop everything as stale or replayed: restore it, or change the key).
  void set_next_counter(uint32_t c) { next_counter_ = c == 0 ? 1u : c; }
  uint32_t count(int c) const { return c >= 0 && c < kSignCntCount ? counts_[c] : 0; }
  void read_counters(uint32_t c[kSignCntCount]) const {
    for (uint32_t i = 0; i < kSignCntCount; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      c[i] = counts_[i];
    }
  }
  uint32_t fifo_level(uint32_t p) const { return ports_[p].wr - ports_[p].rd; }
  uint32_t lanes_busy(uint32_t p) const { return ports_[p].lanes.busy_count(); }

  // One clock of every port.
  void step(hls::stream<axis_word> in[P], hls::stream<axis_word> out[P]) {
    FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)
    for (uint32_t p = 0; p < P; p++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      step_port(ports_[p], in[p], out[p]);
    }
  }

 private:
  struct FrameDesc {
    uint32_t start;  // FIFO pointer of its first beat
    uint32_t beats;  // beats stored
    uint32_t len;    // bytes
    bool sign;       // sign it (else send unchanged)
    uint32_t fo_len; // signed: bytes of the Fanout part (header, set, payload)
    uint32_t counter;
    uint8_t lane;
    bool has_lane;
  };

  struct Port {
    axis_word fifo[FifoBeats];
    FrameDesc desc[FifoBeats];
    uint32_t wr, rd, commit; // beat pointers: next write, next read, end of the last whole frame
    uint32_t desc_wr, desc_rd, desc_assign;
    SipHashLanes<Lanes> lanes;
    // Heartbeat bypass (single-beat frames).
    axis_word hb[kSignerHeartbeatSlots];
    uint32_t hb_wr, hb_rd;
    // Frame arriving.
    uint32_t in_beats, in_bytes;
    bool in_candidate;   // beat 0 says signable (before the lengths are known)
    bool in_signed_seen; // beat 0 says the frame already carries AUTH
    uint16_t in_ip_total;
    // Frame leaving.
    uint32_t out_beat; // beats of the head frame sent
    bool out_extra;    // the trailer's spill beat is next
    uint8_t trailer[proto::kAuthTrailerBytes];

    void reset() {
      wr = rd = commit = 0;
      hb_wr = hb_rd = 0;
      desc_wr = desc_rd = desc_assign = 0;
      lanes.reset();
      in_beats = in_bytes = 0;
      in_candidate = false;
      in_signed_seen = false;
      in_ip_total = 0;
      out_beat = 0;
      out_extra = false;
    }
    // The lanes' Reader: byte off of the frame at FIFO pointer start.
    uint8_t frame_byte(uint32_t start, uint32_t off) const {
      const axis_word &w = fifo[(start + off / proto::kBeatBytes) & kFifoMask];
      return (uint8_t)byte(w.data, off % proto::kBeatBytes).to_uint();
    }
  };

  // Beat 0 of a frame this node may sign: IPv4 without options or fragments, UDP to the Fanout
  // port, a Fanout header of version 1 without AUTH whose origin is this node. Sets *signed_in
  // when it is a Fanout frame already signed.
  bool signable_head(const axis_word &w, uint16_t *ip_total, bool *signed_in) const {
    uint8_t h[proto::kBeatBytes];
    for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      h[i] = (uint8_t)byte(w.data, i).to_uint();
    }
    *signed_in = false;
    *ip_total = proto::load_be16(h + proto::kIpTotalLenOff);
    if (proto::load_be16(h + proto::kEthTypeOff) != proto::kEtherTypeIpv4) return false;
    if (h[proto::kIpv4Offset] != 0x45 || h[proto::kIpProtoOff] != proto::kIpProtoUdp) return false;
    if ((proto::load_be16(h + proto::kIpFlagsFragOff) & 0x3FFF) != 0) return false; // MF or an offset
    if (proto::load_be16(h + proto::kUdpDstPortOff) != udp_port_) return false;
    const uint8_t *fo = h + proto::kFanoutOffset;
    if ((fo[proto::kFoVerTypeOff] >> 4) != proto::kProtocolVersion) return false;
    if (fo[proto::kFoFlagsOff] & proto::kFlagAuth) {
      *signed_in = true;
      return false;
    }
    return proto::load_be16(fo + proto::kFoOriginOff) == self_;
  }

  // A link-local heartbeat: a single-beat IPv4/UDP Fanout PROBE with hops-left 0 or 1.
  bool heartbeat(const axis_word &w) const {
    if (w.last != 1) return false;
    uint8_t h[proto::kFixedHeadersBytes];
    for (uint32_t i = 0; i < proto::kFixedHeadersBytes; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      h[i] = (uint8_t)byte(w.data, i).to_uint();
    }
    const uint8_t *fo = h + proto::kFanoutOffset;
    return proto::load_be16(h + proto::kEthTypeOff) == proto::kEtherTypeIpv4 &&
           h[proto::kIpProtoOff] == proto::kIpProtoUdp && proto::load_be16(h + proto::kUdpDstPortOff) == udp_port_ &&
           (fo[proto::kFoVerTypeOff] & 0x0F) == proto::kTypeProbe && fo[proto::kFoHopsOff] <= proto::kPeerProbeHops;
  }

  void step_port(Port &t, hls::stream<axis_word> &in, hls::stream<axis_word> &out) {
    // ---- Output: a bypassed heartbeat at a frame boundary; else the head frame, in order (a
    // signed one once its tag is known).
    bool boundary = t.out_beat == 0 && !t.out_extra;
    if (boundary && t.hb_rd != t.hb_wr && !out.full()) {
      out.write(t.hb[t.hb_rd % kSignerHeartbeatSlots]);
      t.hb_rd++;
    } else if (t.desc_rd != t.desc_wr && !out.full()) {
      FrameDesc &d = t.desc[t.desc_rd & kFifoMask];
      // A signed frame starts once its tag is known (its lane is released then: the trailer is
      // kept in t.trailer for the frame's last beat).
      bool ready = !d.sign || t.out_beat != 0 || t.out_extra || (d.has_lane && t.lanes.done(d.lane));
      if (ready) {
        if (d.sign && t.out_beat == 0 && !t.out_extra) {
          uint64_t tag = t.lanes.tag(d.lane);
          proto::store_be32(t.trailer + proto::kAuthCounterOff, d.counter);
          proto::store_be32(t.trailer + proto::kAuthTagOff, (uint32_t)(tag >> 32));
          proto::store_be32(t.trailer + proto::kAuthTagOff + 4, (uint32_t)tag);
          t.lanes.release(d.lane);
        }
        if (t.out_extra) {
          // The trailer bytes that did not fit the frame's last beat.
          uint32_t used = d.len - (d.beats - 1) * proto::kBeatBytes; // bytes of the last beat, 53..64
          uint32_t first = proto::kBeatBytes - used;                 // trailer bytes already sent
          axis_word w;
          w.data = 0;
          for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
            FANOUT_HLS_PRAGMA(HLS UNROLL)
            if (first + i < proto::kAuthTrailerBytes) set_byte(w.data, i, t.trailer[first + i]);
          }
          w.keep = keep_for(proto::kAuthTrailerBytes - first);
          w.strb = w.keep;
          w.user = 0;
          w.dest = t.fifo[(d.start + d.beats - 1) & kFifoMask].dest;
          w.last = 1;
          out.write(w);
          t.out_extra = false;
          t.out_beat = 0;
          t.rd += d.beats;
          t.desc_rd++;
        } else {
          axis_word w = t.fifo[(d.start + t.out_beat) & kFifoMask];
          bool last = t.out_beat + 1 == d.beats;
          if (d.sign) {
            if (t.out_beat == 0) rewrite_head(w, d.len);
            if (last) {
              uint32_t used = d.len - t.out_beat * proto::kBeatBytes; // 1..64
              uint32_t room = proto::kBeatBytes - used;
              for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
                FANOUT_HLS_PRAGMA(HLS UNROLL)
                if (i >= used && i - used < proto::kAuthTrailerBytes) set_byte(w.data, i, t.trailer[i - used]);
              }
              bool fits = room >= proto::kAuthTrailerBytes;
              w.keep = keep_for(fits ? used + proto::kAuthTrailerBytes : proto::kBeatBytes);
              w.strb = w.keep;
              w.last = fits ? 1 : 0;
              if (!fits) t.out_extra = true;
            }
          }
          out.write(w);
          if (last && !t.out_extra) {
            t.out_beat = 0;
            t.rd += d.beats;
            t.desc_rd++;
          } else if (!last) {
            t.out_beat++;
          }
        }
      }
    }

    // ---- Lanes: the oldest signable frame without a lane gets one; every lane runs a round.
    if ((int32_t)(t.desc_rd - t.desc_assign) > 0) t.desc_assign = t.desc_rd;
    if (t.desc_assign != t.desc_wr) {
      FrameDesc &d = t.desc[t.desc_assign & kFifoMask];
      if (!d.sign || d.has_lane) {
        t.desc_assign++;
      } else {
        uint32_t l = t.lanes.free_lane();
        if (l != SipHashLanes<Lanes>::kNone) {
          SipHashJob job;
          job.start = d.start;
          job.base = proto::kFanoutOffset;
          job.body_len = d.fo_len;
          job.or_off = proto::kFoFlagsOff;
          job.or_mask = proto::kFlagAuth;
          job.tail = d.counter;
          job.tail_len = 4;
          job.need = d.beats;
          t.lanes.start(l, job, key_);
          d.lane = (uint8_t)l;
          d.has_lane = true;
          t.desc_assign++;
        }
      }
    }
    t.lanes.step(t);

    // ---- Input: a beat when the FIFO has room.
    if (!in.empty() && t.wr - t.rd < FifoBeats) {
      axis_word w = in.read();
      if (t.in_beats == 0 && enabled_ && t.hb_wr - t.hb_rd < kSignerHeartbeatSlots && heartbeat(w)) {
        t.hb[t.hb_wr % kSignerHeartbeatSlots] = w;
        t.hb_wr++;
        counts_[kSignCntHeartbeats]++;
        return;
      }
      if (t.in_beats == 0) {
        bool signed_in = false;
        t.in_candidate = enabled_ && signable_head(w, &t.in_ip_total, &signed_in);
        if (signed_in) counts_[kSignCntPassedSigned]++;
        t.in_signed_seen = signed_in;
      }
      uint32_t nbytes = 0;
      for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
        FANOUT_HLS_PRAGMA(HLS UNROLL)
        nbytes += w.keep[i] ? 1u : 0u;
      }
      t.fifo[t.wr & kFifoMask] = w;
      t.wr++;
      t.in_beats++;
      t.in_bytes += nbytes;
      if (w.last == 1) {
        FrameDesc &d = t.desc[t.desc_wr & kFifoMask];
        d.start = t.commit;
        d.beats = t.in_beats;
        d.len = t.in_bytes;
        d.has_lane = false;
        d.lane = 0;
        d.counter = 0;
        d.fo_len = 0;
        bool consistent =
            t.in_candidate && t.in_bytes == proto::kIpv4Offset + (uint32_t)t.in_ip_total &&
            t.in_ip_total >= proto::kIpv4HeaderBytes + proto::kUdpHeaderBytes + proto::kFanoutHeaderBytes &&
            t.in_bytes + proto::kAuthTrailerBytes <= proto::kMaxFrameBytes;
        d.sign = false;
        if (consistent && next_counter_ == 0xFFFFFFFFu) {
          counts_[kSignCntCounterExhausted]++;
        } else if (consistent) {
          d.sign = true;
          d.counter = next_counter_++;
          d.fo_len = t.in_ip_total - proto::kIpv4HeaderBytes - proto::kUdpHeaderBytes;
          counts_[kSignCntSigned]++;
        } else if (!t.in_signed_seen) {
          counts_[kSignCntPassedOther]++;
        }
        t.desc_wr++;
        t.commit = t.wr;
        t.in_beats = 0;
        t.in_bytes = 0;
        t.in_candidate = false;
      }
    }
  }

  // Beat 0 of a frame being signed: AUTH set, IPv4 total and UDP lengths + 12, IPv4 header
  // checksum recomputed, UDP checksum 0.
  static void rewrite_head(axis_word &w, uint32_t len) {
    uint8_t h[proto::kBeatBytes];
    for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      h[i] = (uint8_t)byte(w.data, i).to_uint();
    }
    uint32_t ip_total = len - proto::kIpv4Offset + proto::kAuthTrailerBytes;
    proto::store_be16(h + proto::kIpTotalLenOff, (uint16_t)ip_total);
    proto::store_be16(h + proto::kIpChecksumOff, 0);
    proto::store_be16(h + proto::kIpChecksumOff, proto::ipv4_checksum(h + proto::kIpv4Offset));
    proto::store_be16(h + proto::kUdpLenOff, (uint16_t)(ip_total - proto::kIpv4HeaderBytes));
    proto::store_be16(h + proto::kUdpChecksumOff, 0);
    h[proto::kFanoutOffset + proto::kFoFlagsOff] =
        (uint8_t)(h[proto::kFanoutOffset + proto::kFoFlagsOff] | proto::kFlagAuth);
    for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      set_byte(w.data, i, h[i]);
    }
  }

  bool enabled_;
  proto::NodeId self_;
  uint16_t udp_port_;
  uint8_t key_[16];
  uint32_t next_counter_;
  Port ports_[P];
  uint32_t counts_[kSignCntCount];
};

} // namespace hw
} // namespace fanout

#endif
