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
// FifoBeats beats, room for more than two maximum frames; 512 in Parser) behind a committed write
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
// Authentication (optional; proto/auth.hpp, docs/protocol.md "Authentication"). With a group key
// and mode kParserAuthAccept or kParserAuthRequire (set_auth; top registers auth_mode, auth_key),
// every valid Fanout frame with kFlagAuth is held in the FIFO until its SipHash-2-4 tag and replay
// counter are checked; one that fails is dropped whole and counted by proto::AuthCode
// (auth_count()). In require mode an unsigned Fanout frame is dropped at tlast (kAuthUnsigned); in
// accept mode it is counted and kept. Frames from this node's host (ingress port
// proto::kPortLocal) are trusted: unsigned ones are kept uncounted in both modes (the node signs
// what it sends on, hls/auth_signer); signed ones are checked. So are link-local heartbeats (PROBE
// with hops-left 0, trusted_unsigned()). Peer-monitor frames are not checked (see step()).
//  * SipHash is sequential within a frame: one SipRound per clock (four 64-bit add-rotate-xor
//    layers, what fits a 300 MHz clock) absorbs 8 bytes per 2 clocks, 4 bytes per clock against
//    the 64 bytes per clock a port delivers. So kParserAuthLanes = 16 lanes (fanout/hls/
//    siphash_lanes.hpp, shared with hls/auth_signer) hash 16 frames at
//    once. A frame gets a lane at tlast, in arrival order; its lane reads it back from the FIFO
//    through a second read port that serves one lane per clock (round robin), one beat at a time
//    into a 2-beat buffer per lane (modelled by a fetch count: the C model reads the bytes from
//    the FIFO). Clocks per frame: 2 per 8-byte word of Fanout header, set, payload and counter,
//    plus 6 for the last word and the finalization.
//  * Verdicts are applied in arrival order (one frame per clock): the tag, then the counter
//    against the replay windows (ParserReplayWindows: origins 0-4,095 and 16 higher ids; 64 counters per
//    origin, 12 bytes per origin: 48 KiB), which records it only if both pass. The output side
//    waits at a frame whose verdict is pending: frames keep their order, and the FIFO holds what
//    arrives meanwhile. 512 beats keep line rate with signed frames up to about 1.5 KB; longer
//    signed frames back to back fill it, and the frames that find it full are dropped as
//    overflow. kParserAuthFifoBeats (4096) keeps line rate up to jumbo frames. Figures: docs/hls.md.
//  * A signed frame's out_seen word is written at its verdict, and only if it passes: a forged
//    frame is no sign of life.
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
#include "fanout/hls/siphash_lanes.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/set_codec.hpp"
#include "fanout/proto/split.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

// Store-and-forward FIFO: at least two maximum frames (one draining while the next arrives),
// rounded up to a power of two so pointers wrap by masking. 512 x 512-bit beats: 8 BRAM36 wide.
// The depth is BasicParser's parameter; Parser (the simulator's and the top's) uses this one.
// kParserAuthFifoBeats is the depth at which signed jumbo frames are checked at line rate: a
// 9,000-byte frame's verdict takes about 2,400 clocks, in which as many beats arrive (256 KiB:
// 8 URAM). parser_top.cpp takes FANOUT_PARSER_FIFO_BEATS to build with it (the Vitis flow:
// FANOUT_AUTH_FIFO_BEATS=4096 in the environment, hls_config.tcl).
static const uint32_t kParserFifoBeats = 512;
static const uint32_t kParserAuthFifoBeats = 4096;
// Bytes kept for classification: the fixed headers (beat 0) and the largest set body (beats 1-16).
static const uint32_t kParserHeadBytes = proto::kFixedHeadersBytes + proto::kMaxSetBytes;
static const uint32_t kParserHeadBeats = kParserHeadBytes / proto::kBeatBytes; // 17
static_assert(kParserHeadBytes % proto::kBeatBytes == 0, "head buffer holds whole beats");

// Authentication (the header comment): lanes, replay-window origins, modes.
static const uint32_t kParserAuthLanes = 16;        // 64 bytes per clock in / 4 bytes per clock per lane
static const uint32_t kParserAuthOrigins = 4096;    // origins 0..4095, direct-mapped (48 KiB)
static const uint32_t kParserAuthExtraOrigins = 16; // and up to 16 higher ids (Fanout switches)
// The parser's replay windows (proto::ReplayWindow, 64 counters per origin): origins below
// kParserAuthOrigins direct-mapped; up to kParserAuthExtraOrigins higher ids (the Fanout switches
// of port mode, 0xF000 up) each get a slot the first time a frame from them is accepted (its tag
// verified: only key holders take slots), kept for good (an evicted origin's old frames could be
// replayed). A higher id finding no slot is kAuthUnknownOrigin.
class ParserReplayWindows {
 public:
  ParserReplayWindows() { clear(); }
  void clear() {
    direct_.clear();
    for (uint32_t i = 0; i < kParserAuthExtraOrigins; i++) {
      used_[i] = false;
      ids_[i] = 0;
      extra_[i].clear();
    }
  }
  // Call only after the tag verified.
  int accept(proto::NodeId origin, uint32_t counter) {
    if ((uint32_t)origin < kParserAuthOrigins) return direct_.accept(origin, counter);
    uint32_t slot = kParserAuthExtraOrigins, free_slot = kParserAuthExtraOrigins;
    for (uint32_t i = 0; i < kParserAuthExtraOrigins; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      if (used_[i] && ids_[i] == origin) slot = i;
      if (!used_[i] && free_slot == kParserAuthExtraOrigins) free_slot = i;
    }
    if (slot == kParserAuthExtraOrigins) {
      if (free_slot == kParserAuthExtraOrigins) return proto::kAuthUnknownOrigin;
      int c = extra_[free_slot].check(0, counter);
      if (c != proto::kAuthOk) return c; // counter 0: no slot taken
      used_[free_slot] = true;
      ids_[free_slot] = origin;
      slot = free_slot;
    }
    return extra_[slot].accept(0, counter);
  }

 private:
  proto::ReplayWindow<kParserAuthOrigins> direct_;
  bool used_[kParserAuthExtraOrigins];
  proto::NodeId ids_[kParserAuthExtraOrigins];
  proto::ReplayWindow<1> extra_[kParserAuthExtraOrigins];
};

enum ParserAuthMode {
  kParserAuthOff = 0,     // no check: signed frames pass with their trailer, nothing counted
  kParserAuthAccept = 1,  // signed frames checked; unsigned Fanout frames counted and kept
  kParserAuthRequire = 2, // signed frames checked; unsigned Fanout frames dropped and counted
};

// Classify frame[0..len) with proto::parse_frame, UDP checksum not verified (hardware relays do
// not verify UDP checksums: the payload streams past before the verdict would be known). With
// verification off, parse_frame reads only frame[0..min(len, kSetOffset + kMaxSetBytes)) —
// a guarantee stated in packet.hpp — so the head buffer (beat 0 + the largest set body) is
// enough although len is the whole frame's length. The set body is decoded into `scratch` (see
// the note on multi-cycle set validation above). On kOk, meta is filled (ingress_port excepted).
// auth_offset, if given, gets the frame offset of the auth trailer (0: not signed).
inline int classify_frame(const uint8_t *frame, uint32_t len, uint16_t udp_port, proto::ReceiverSet &scratch,
                          ParsedMeta &meta, uint32_t *auth_offset = 0) {
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
  if (auth_offset) *auth_offset = parsed.auth ? parsed.auth_offset : 0;
  return proto::kOk;
}

template <uint32_t FifoBeats> class BasicParser {
 public:
  static const uint32_t kFifoBeats = FifoBeats;
  static const uint32_t kFifoMask = FifoBeats - 1;
  static_assert(FifoBeats >= 2 * kMaxFrameBeats, "FIFO must hold two maximum frames");
  static_assert((FifoBeats & kFifoMask) == 0, "FIFO size must be a power of two");

  BasicParser() : udp_port_(proto::kDefaultUdpPort), auth_mode_(kParserAuthOff), fifo_limit_(FifoBeats) {
    for (uint32_t i = 0; i < 16; i++) auth_key_[i] = 0;
    reset();
  }

  // Power-on state: empty FIFO, no frame in progress, counters 0, replay windows empty. The UDP
  // port and the authentication settings are kept.
  void reset() {
    desc_assign_ = 0;
    desc_verdict_ = 0;
    lanes_.reset();
    for (uint32_t i = 0; i < proto::kAuthCodeCount; i++) auth_counts_[i] = 0;
    window_.clear();
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

  // Authentication mode (ParserAuthMode; other values act as kParserAuthOff) and the 16-byte group
  // key (proto::SipHash24 key order). Set between frames: a frame in flight may see either.
  void set_auth(uint8_t mode, const uint8_t key[16]) {
    auth_mode_ = mode == kParserAuthAccept || mode == kParserAuthRequire ? mode : (uint8_t)kParserAuthOff;
    for (uint32_t i = 0; i < 16; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      auth_key_[i] = key[i];
    }
  }
  uint8_t auth_mode() const { return auth_mode_; }
  // Beats of the FIFO in use (1..FifoBeats; default all): a simulation builds the deep FIFO once
  // and models the shallower one unless authentication needs the depth. Set while empty.
  void set_fifo_limit(uint32_t beats) {
    fifo_limit_ =
        beats == 0 || beats > FifoBeats ? FifoBeats : (beats < 2 * kMaxFrameBeats ? 2 * kMaxFrameBeats : beats);
  }
  uint32_t fifo_limit() const { return fifo_limit_; }
  // Frames per proto::AuthCode: kAuthOk passed, kAuthUnsigned unsigned Fanout frames seen with
  // authentication on (dropped only in require mode), the others dropped.
  uint32_t auth_count(int code) const { return code >= 0 && code < proto::kAuthCodeCount ? auth_counts_[code] : 0; }
  // Lanes hashing a frame now.
  uint32_t auth_lanes_busy() const { return lanes_.busy_count(); }
  // The lanes' Reader (siphash_lanes.hpp): byte off of the frame at FIFO pointer start.
  uint8_t frame_byte(uint32_t start, uint32_t off) const { return fifo_byte(start, off); }

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
  void read_auth_counters(uint32_t counts[proto::kAuthCodeCount]) const {
    for (uint32_t i = 0; i < proto::kAuthCodeCount; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      counts[i] = auth_counts_[i];
    }
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
    if (rd_ != commit_ && desc_[desc_rd_ & kFifoMask].state == kDescDrop) {
      // A frame that failed authentication: skip it whole (the read pointer jumps).
      rd_ += desc_[desc_rd_ & kFifoMask].beats;
      desc_rd_++;
    } else if (rd_ != commit_ && desc_[desc_rd_ & kFifoMask].state == kDescReady) {
      const FrameDesc &d = desc_[desc_rd_ & kFifoMask];
      axis_word w = fifo_[rd_ & kFifoMask];
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

    auth_step(out_seen);

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
      } else if (wr_ - rd_ >= fifo_limit_) {
        in_overflow_ = true; // no room: drop the frame in progress whole
        wr_ = commit_;
      } else {
        fifo_[wr_ & kFifoMask] = w;
        wr_++;
      }

      if (w.last == 1) {
        if (in_overflow_) {
          overflow_count_++;
        } else if (in_bad_) {
          bad_frame_count_++;
        } else {
          ParsedMeta meta = ParsedMeta();
          uint32_t auth_offset = 0;
          int code = classify_frame(head_, in_bytes_, udp_port_, scratch_, meta, &auth_offset);
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
          } else if (code == proto::kOk && auth_mode_ == kParserAuthRequire && auth_offset == 0 &&
                     !trusted_unsigned(meta)) {
            auth_counts_[proto::kAuthUnsigned]++; // unsigned from the network where required: dropped
          } else if (code == proto::kOk || code == proto::kNotFanout) {
            meta.ingress_port = in_ingress_;
            bool check = code == proto::kOk && auth_mode_ != kParserAuthOff && auth_offset != 0;
            if (code == proto::kOk && auth_mode_ != kParserAuthOff && auth_offset == 0 && !trusted_unsigned(meta))
              auth_counts_[proto::kAuthUnsigned]++; // accept mode: counted, kept
            FrameDesc &d = desc_[desc_wr_ & kFifoMask];
            d.to_host = code == proto::kNotFanout;
            d.meta = meta;
            d.state = check ? kDescAuth : kDescReady;
            d.start = commit_;
            d.beats = wr_ - commit_;
            d.trailer = check ? auth_offset - proto::kFanoutOffset : 0;
            d.has_lane = false;
            d.lane = 0;
            desc_wr_++;
            commit_ = wr_;
            if (code == proto::kOk && !check) {
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
  enum DescState { kDescReady = 0, kDescAuth = 1, kDescDrop = 2 };
  struct FrameDesc {
    bool to_host;
    uint8_t state; // DescState: kDescAuth until the verdict, then ready or drop
    uint8_t lane;  // the lane hashing it (kDescAuth, once assigned)
    bool has_lane;
    uint32_t start;   // FIFO pointer of its first beat
    uint32_t beats;   // beats it holds in the FIFO
    uint32_t trailer; // kDescAuth: offset of the auth trailer in the Fanout part
    ParsedMeta meta;
  };

  // Unsigned frames kept (and not counted) even where signing is required: from this node's host
  // (ingress kPortLocal; the node signs what it sends on), and link-local heartbeats (PROBE with
  // hops-left 0: a link monitor's, never forwarded; like the peer monitor's, they carry only
  // liveness, so a forged one can delay a failure's detection, never fake data or a failure).
  bool trusted_unsigned(const ParsedMeta &m) const {
    return in_ingress_ == proto::kPortLocal || (m.hdr.type == proto::kTypeProbe && m.hdr.hops_left == 0);
  }

  // A byte of the committed frame starting at FIFO pointer start (frame offset off).
  uint8_t fifo_byte(uint32_t start, uint32_t off) const {
    const axis_word &w = fifo_[(start + off / proto::kBeatBytes) & kFifoMask];
    return (uint8_t)byte(w.data, off % proto::kBeatBytes).to_uint();
  }
  uint32_t fo_be32(uint32_t start, uint32_t off) const {
    uint32_t v = 0;
    for (uint32_t i = 0; i < 4; i++) v = (v << 8) | fifo_byte(start, proto::kFanoutOffset + off + i);
    return v;
  }

  // One clock of the authentication engine: lane assignment, the auth read port, every lane's
  // round, and the in-order verdict.
  void auth_step(hls::stream<ParsedMeta> &out_seen) {
    // Frames the output side has passed were settled (it waits at a pending one): the engine's
    // pointers never trail it (with authentication off nothing else moves them).
    if ((int32_t)(desc_rd_ - desc_verdict_) > 0) desc_verdict_ = desc_rd_;
    if ((int32_t)(desc_rd_ - desc_assign_) > 0) desc_assign_ = desc_rd_;
    // Verdict: the oldest frame not yet settled (one per clock, in arrival order).
    if (desc_verdict_ != desc_wr_) {
      FrameDesc &d = desc_[desc_verdict_ & kFifoMask];
      if (d.state != kDescAuth) {
        desc_verdict_++;
      } else if (d.has_lane && lanes_.done(d.lane)) {
        // The tag the frame carries, behind the counter the lane hashed.
        uint32_t tag_off = d.trailer + proto::kAuthTagOff;
        uint64_t sent = ((uint64_t)fo_be32(d.start, tag_off) << 32) | fo_be32(d.start, tag_off + 4);
        int code = proto::kAuthBadTag;
        if (lanes_.tag(d.lane) == sent) code = window_.accept(d.meta.hdr.origin, fo_be32(d.start, d.trailer));
        auth_counts_[code]++;
        if (code == proto::kAuthOk) {
          d.state = kDescReady;
          if (!out_seen.full()) {
            out_seen.write(d.meta);
          } else {
            seen_dropped_++;
          }
        } else {
          d.state = kDescDrop;
        }
        lanes_.release(d.lane);
        desc_verdict_++;
      }
    }
    // Assignment: the oldest frame without a lane gets the lowest free lane.
    if (desc_assign_ != desc_wr_) {
      FrameDesc &d = desc_[desc_assign_ & kFifoMask];
      if (d.state != kDescAuth) {
        desc_assign_++;
      } else {
        uint32_t free_lane = lanes_.free_lane();
        if (free_lane != Lanes::kNone) {
          SipHashJob job;
          job.start = d.start;
          job.base = proto::kFanoutOffset;
          job.body_len = d.trailer + proto::kAuthCounterOff + 4; // through the counter
          job.or_off = 0;
          job.or_mask = 0;
          job.tail = 0;
          job.tail_len = 0;
          job.need = (proto::kFanoutOffset + d.trailer + proto::kAuthTrailerBytes + proto::kBeatBytes - 1) /
                     proto::kBeatBytes; // through the tag
          lanes_.start(free_lane, job, auth_key_);
          d.lane = (uint8_t)free_lane;
          d.has_lane = true;
          desc_assign_++;
        }
      }
    }
    // The lanes: the auth read port serves one lane, every lane runs one round.
    lanes_.step(*this);
  }

  uint16_t udp_port_;
  uint8_t auth_mode_;
  uint8_t auth_key_[16];
  uint32_t fifo_limit_; // beats of fifo_ in use
  // Beat FIFO. Pointers count beats modulo 2^32; the slot is the pointer masked.
  axis_word fifo_[kFifoBeats];
  uint32_t wr_;                     // next write (frame in progress included)
  uint32_t commit_;                 // end of the last kept frame: the output side reads up to here
  uint32_t seen_dropped_;           // out_seen words dropped: the tap was full
  uint32_t peer_frames_;            // peer-monitor frames given to out_seen only
  hls::stream<ParsedMeta> no_seen_; // the 4-stream step()'s discarded tap
  uint32_t rd_;                     // next beat to send
  FrameDesc desc_[kFifoBeats];
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

  // Authentication engine.
  typedef SipHashLanes<kParserAuthLanes> Lanes;
  Lanes lanes_;
  uint32_t desc_assign_;  // next descriptor to consider for a lane
  uint32_t desc_verdict_; // next descriptor to settle
  ParserReplayWindows window_;
  uint32_t auth_counts_[proto::kAuthCodeCount];

  uint32_t error_counts_[proto::kErrorCount];
  uint32_t overflow_count_;
  uint32_t bad_frame_count_;
};
template <uint32_t FifoBeats> const uint32_t BasicParser<FifoBeats>::kFifoBeats;
template <uint32_t FifoBeats> const uint32_t BasicParser<FifoBeats>::kFifoMask;

typedef BasicParser<kParserFifoBeats> Parser;

} // namespace hw
} // namespace fanout

#endif
