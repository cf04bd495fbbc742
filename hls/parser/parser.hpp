// fanout::hw::Parser: the NIC's header-parser kernel (Ethernet/IPv4/UDP/Fanout).
//
// One step() is one clock of a free-running kernel (PIPELINE II=1): it reads at most one beat
// from `in` and writes at most one beat to each output. Every frame is classified exactly as
// proto::parse_frame classifies it with verify_udp_checksum = false, then
//  * kNotFanout: the frame goes to out_host unchanged, beat for beat;
//  * kOk, a PROBE with hops-left kPeerProbeHops (the peer monitor's, hls/peer_monitor): its ParsedMeta goes
//    to out_seen and the frame is dropped (counted by peer_frames());
//  * kOk: the frame goes to out_fanout unchanged, beat for beat, and one ParsedMeta goes to
//    out_meta in the clock its first beat is written;
//  * any other code: the frame is dropped whole (nothing of it reaches an output) and
//    error_count(code) counts it.
// UDP checksums are not verified: hardware relays never do (a relay rewrites headers in flight
// and sends 0; endpoints verify non-zero checksums in software), so kUdpBadChecksum never occurs.
//
// Store and forward. Most errors are only known at tlast (the lengths), and a MAC cannot be
// back-pressured, so every beat is written into an internal drop-capable FIFO (a fixed array of
// kParserFifoBeats beats, room for more than two maximum frames) behind a committed write
// pointer. At tlast the pointer advances over the frame if it is kept (kOk, kNotFanout) and rolls
// back otherwise. The output side streams committed frames out, one beat per clock, in arrival
// order, each to its output; a full output holds the frames behind it in the FIFO (order is kept
// across both outputs). The input is never stalled: a frame that finds the FIFO full is dropped
// whole and counted by overflow_count(), not by a ParseError code.
//  * A frame longer than kMaxFrameBytes stops being stored once it passes the limit; it is
//    counted as kFrameTooLong at its tlast.
//  * tlast always resynchronizes: the next beat starts a new frame. A frame that ends inside its
//    Ethernet/IPv4/UDP headers is kTruncated (as parse_frame says).
//  * A frame whose beats carry the MAC's bad-frame bit (tuser bit 8, fanout/hls/axis.hpp) is
//    dropped whole and counted by bad_frame_count().
//
// Receiver-set validation: the set body (at most kMaxSetBytes = 16 beats, from beat 1) is kept in
// a fixed buffer as it arrives and validated at tlast with proto::decode_set. C simulation runs
// that in one call, inside the step() that sees tlast. In hardware this validation is a
// multi-cycle engine (up to one entry or bitmap byte per clock over the body), NOT one clock: the
// cycle counts measured by the C simulation tests (throughput, latency) do not include it.
//
// Stream depths: step() takes streams of the default depth (2, the FIFO Vitis builds between
// dataflow processes). At the top (parser_top.cpp) they are AXI-Stream ports, which have no
// depth; the only buffering is the internal FIFO above. The kernel checks full() before every
// write, so a shallow consumer FIFO costs throughput, never beats.
//
// C++14, synthesizable subset: fixed arrays, bounded loops, no allocation.
#ifndef FANOUT_HLS_PARSER_PARSER_HPP
#define FANOUT_HLS_PARSER_PARSER_HPP

#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/set_codec.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

// Store-and-forward FIFO: at least two maximum frames (one draining while the next arrives),
// rounded up to a power of two so pointers wrap by masking. 512 x 512-bit beats: 8 BRAM36 wide.
static const uint32_t kParserFifoBeats = 512;
static const uint32_t kParserFifoMask = kParserFifoBeats - 1;
static_assert(kParserFifoBeats >= 2 * kMaxFrameBeats, "FIFO must hold two maximum frames");
static_assert((kParserFifoBeats & kParserFifoMask) == 0, "FIFO size must be a power of two");
// Bytes kept for classification: the fixed headers (beat 0) and the largest set body (beats 1-16).
static const uint32_t kParserHeadBytes = proto::kFixedHeadersBytes + proto::kMaxSetBytes;
static const uint32_t kParserHeadBeats = kParserHeadBytes / proto::kBeatBytes; // 17
static_assert(kParserHeadBytes % proto::kBeatBytes == 0, "head buffer holds whole beats");

// Classify frame[0..len) with proto::parse_frame, UDP checksum not verified (hardware relays do
// not verify UDP checksums: the payload streams past before the verdict would be known). With
// verification off, parse_frame reads only frame[0..min(len, kSetOffset + kMaxSetBytes)) —
// a guarantee stated in packet.hpp — so the head buffer (beat 0 + the largest set body) is
// enough although len is the whole frame's length. The set body is decoded into `scratch` (see
// the note on multi-cycle set validation above). On kOk, meta is filled (ingress_port excepted).
inline int classify_frame(const uint8_t *frame, uint32_t len, uint16_t udp_port, proto::ReceiverSet &scratch,
                          ParsedMeta &meta) {
  proto::ParseConfig cfg;
  cfg.udp_port = udp_port;
  cfg.verify_udp_checksum = false;
  proto::ParsedPacket parsed;
  int code = proto::parse_frame(frame, len, cfg, parsed, &scratch);
  if (code != proto::kOk) return code;
  meta.hdr = parsed.hdr;
  meta.payload_len = parsed.payload_len;
  meta.frame_len = len;
  meta.ip_src = parsed.ip_src;
  meta.ip_dst = parsed.ip_dst;
  meta.udp_src_port = parsed.udp_src_port;
  return proto::kOk;
}

class Parser {
 public:
  Parser() : udp_port_(proto::kDefaultUdpPort) { reset(); }

  // Power-on state: empty FIFO, no frame in progress, counters 0. The UDP port is kept.
  void reset() {
    wr_ = 0;
    commit_ = 0;
    seen_dropped_ = 0;
    peer_frames_ = 0;
    rd_ = 0;
    desc_wr_ = 0;
    desc_rd_ = 0;
    out_first_ = true;
    in_beat_ = 0;
    in_bytes_ = 0;
    in_ingress_ = 0;
    in_overflow_ = false;
    in_bad_ = false;
    for (uint32_t i = 0; i < proto::kErrorCount; i++) error_counts_[i] = 0;
    overflow_count_ = 0;
    bad_frame_count_ = 0;
  }

  // The Fanout destination port (s_axilite register at the top).
  void set_udp_port(uint16_t port) { udp_port_ = port; }
  uint16_t udp_port() const { return udp_port_; }

  // Frames classified with each ParseError code (kOk: forwarded Fanout frames, kNotFanout:
  // frames passed to the host, others: malformed frames dropped).
  uint32_t error_count(int code) const { return code >= 0 && code < proto::kErrorCount ? error_counts_[code] : 0; }
  // Frames dropped because the FIFO was full (outputs back-pressured for too long).
  uint32_t overflow_count() const { return overflow_count_; }
  // Frames dropped because the MAC flagged them bad (tuser bit 8).
  uint32_t bad_frame_count() const { return bad_frame_count_; }
  // out_seen words dropped because the tap was full (a sign of life lost, nothing else).
  uint32_t seen_dropped() const { return seen_dropped_; }
  // Peer-monitor frames (PROBE with hops-left kPeerProbeHops): valid, given to out_seen, not kept.
  uint32_t peer_frames() const { return peer_frames_; }
  // Beats stored (committed or in progress) in the FIFO.
  uint32_t fifo_level() const { return wr_ - rd_; }

  void read_counters(uint32_t counts[proto::kErrorCount], uint32_t *overflow, uint32_t *bad_frames) const {
    for (uint32_t i = 0; i < proto::kErrorCount; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      counts[i] = error_counts_[i];
    }
    *overflow = overflow_count_;
    *bad_frames = bad_frame_count_;
  }

  // One clock, without the out_seen tap (its words are discarded).
  void step(hls::stream<axis_word> &in, hls::stream<axis_word> &out_fanout, hls::stream<ParsedMeta> &out_meta,
            hls::stream<axis_word> &out_host) {
    step(in, out_fanout, out_meta, out_host, no_seen_);
    while (!no_seen_.empty()) no_seen_.read();
  }

  // One clock. out_seen: the ParsedMeta of every valid Fanout frame (kOk), written in the clock
  // its last beat is classified -- before the frame waits in the FIFO behind others -- for the
  // peer monitor (hls/peer_monitor): a frame from a peer is a sign of life the moment it is
  // whole and valid. A tap: when out_seen is full the word is dropped and counted
  // (seen_dropped()), never holding the data path. The peer monitor's own frames (PROBE with
  // hops-left kPeerProbeHops) go to out_seen only: they are not kept (peer_frames() counts them).
  void step(hls::stream<axis_word> &in, hls::stream<axis_word> &out_fanout, hls::stream<ParsedMeta> &out_meta,
            hls::stream<axis_word> &out_host, hls::stream<ParsedMeta> &out_seen) {
    FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)
    // Output side first: a slot it frees is usable by this clock's input beat (one BRAM port
    // reads, the other writes).
    if (rd_ != commit_) {
      const FrameDesc &d = desc_[desc_rd_ & kParserFifoMask];
      axis_word w = fifo_[rd_ & kParserFifoMask];
      bool sent = false;
      if (d.to_host) {
        if (!out_host.full()) {
          out_host.write(w);
          sent = true;
        }
      } else if (!out_fanout.full() && (!out_first_ || !out_meta.full())) {
        if (out_first_) out_meta.write(d.meta);
        out_fanout.write(w);
        sent = true;
      }
      if (sent) {
        rd_++;
        out_first_ = w.last == 1;
        if (w.last == 1) desc_rd_++;
      }
    }

    // Input side: never stalled.
    if (!in.empty()) {
      axis_word w = in.read();
      if (in_beat_ == 0) in_ingress_ = (uint8_t)w.user.range(kUserIngressHi, kUserIngressLo).to_uint();
      uint32_t nbytes = 0;
      for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
        FANOUT_HLS_PRAGMA(HLS UNROLL)
        nbytes += w.keep[i] ? 1u : 0u;
      }
      // Saturates just past the limit: enough to say "too long", no wrap on endless frames.
      if (in_bytes_ <= proto::kMaxFrameBytes) in_bytes_ += nbytes;
      if (w.user[kUserBadFrameBit]) in_bad_ = true;
      if (in_beat_ < kParserHeadBeats) {
        for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
          FANOUT_HLS_PRAGMA(HLS UNROLL)
          head_[in_beat_ * proto::kBeatBytes + i] = (uint8_t)byte(w.data, i).to_uint();
        }
      }
      if (in_beat_ <= kParserHeadBeats) in_beat_++; // only "beat < 17" matters after beat 0

      if (in_overflow_ || in_bad_ || in_bytes_ > proto::kMaxFrameBytes) {
        wr_ = commit_; // dropping this frame: nothing of it stays
      } else if (wr_ - rd_ >= kParserFifoBeats) {
        in_overflow_ = true; // no room: drop the frame in progress whole
        wr_ = commit_;
      } else {
        fifo_[wr_ & kParserFifoMask] = w;
        wr_++;
      }

      if (w.last == 1) {
        if (in_overflow_) {
          overflow_count_++;
        } else if (in_bad_) {
          bad_frame_count_++;
        } else {
          ParsedMeta meta = ParsedMeta();
          int code = classify_frame(head_, in_bytes_, udp_port_, scratch_, meta);
          error_counts_[code]++;
          bool peer_frame = code == proto::kOk && proto::is_peer_probe(meta.hdr.type, meta.hdr.hops_left);
          if (peer_frame) {
            // A peer monitor's probe, reply or keepalive (hops-left 1): its meta on out_seen is
            // all it carries; the frame is not kept (it would cost the FIFO and the replicator a
            // slot per heartbeat).
            meta.ingress_port = in_ingress_;
            peer_frames_++;
            if (!out_seen.full()) {
              out_seen.write(meta);
            } else {
              seen_dropped_++;
            }
          } else if (code == proto::kOk || code == proto::kNotFanout) {
            meta.ingress_port = in_ingress_;
            FrameDesc &d = desc_[desc_wr_ & kParserFifoMask];
            d.to_host = code == proto::kNotFanout;
            d.meta = meta;
            desc_wr_++;
            commit_ = wr_;
            if (code == proto::kOk) {
              if (!out_seen.full()) {
                out_seen.write(meta);
              } else {
                seen_dropped_++;
              }
            }
          } else {
            wr_ = commit_;
          }
        }
        wr_ = commit_; // no-op for a kept frame; rollback otherwise
        in_beat_ = 0;
        in_bytes_ = 0;
        in_overflow_ = false;
        in_bad_ = false;
      }
    }
  }

 private:
  // A committed frame: where it goes and, for Fanout frames, its metadata. At most one per FIFO
  // beat, so a ring as deep as the FIFO never overflows.
  struct FrameDesc {
    bool to_host;
    ParsedMeta meta;
  };

  uint16_t udp_port_;
  // Beat FIFO. Pointers count beats modulo 2^32; the slot is the pointer masked.
  axis_word fifo_[kParserFifoBeats];
  uint32_t wr_;                     // next write (frame in progress included)
  uint32_t commit_;                 // end of the last kept frame: the output side reads up to here
  uint32_t seen_dropped_;           // out_seen words dropped: the tap was full
  uint32_t peer_frames_;            // peer-monitor frames given to out_seen only
  hls::stream<ParsedMeta> no_seen_; // the 4-stream step()'s discarded tap
  uint32_t rd_;                     // next beat to send
  FrameDesc desc_[kParserFifoBeats];
  uint32_t desc_wr_;
  uint32_t desc_rd_;
  bool out_first_; // the next beat sent starts a frame

  // Frame in progress on the input.
  uint8_t head_[kParserHeadBytes]; // frame bytes 0..1087: fixed headers and the set body
  uint32_t in_beat_;               // beats seen, saturating at kParserHeadBeats + 1
  uint32_t in_bytes_;              // bytes seen, saturating just past kMaxFrameBytes
  uint8_t in_ingress_;
  bool in_overflow_;
  bool in_bad_;
  proto::ReceiverSet scratch_; // decode_set's output (only validity is used)

  uint32_t error_counts_[proto::kErrorCount];
  uint32_t overflow_count_;
  uint32_t bad_frame_count_;
};

} // namespace hw
} // namespace fanout

#endif
