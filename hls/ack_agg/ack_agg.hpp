// fanout::hw::AckAgg: the NIC's ACK/NACK aggregation kernel.
//
// One step() is one clock of a free-running kernel (PIPELINE II=1). The aggregation rules are
// proto::AckAggregator's (normative, shared with the software backends): this kernel holds one
// aggregator of its table shape and adds what the NIC needs around it: streams, framing, cycle
// timing, addressing and backpressure. It defines no rule and no header field.
//
// Inputs:
//  * in_arm: one ArmWord per child of every DATA packet the replicator forwarded (fanout/hls/
//    arm.hpp); each word is applied as arm(key, parent, &child, 1, total_packets, now), which is
//    what arming all children at once does (arm is idempotent per message); a word with `gone` set
//    (peer down, no copy sent) is applied as mark_gone(key, parent, child, total_packets, now).
//    Neither produces output, so in_arm is read whenever it holds a word: at most one per clock.
//  * in_fb + in_meta: ACK and NACK frames, already validated by the parser (parser.hpp), with their
//    ParsedMeta written in the clock of the first beat. One beat per clock at most. The header
//    comes from the meta (the parser's decode of the same bytes); the set body and an auth trailer
//    behind it (beats 1-17: at most kMaxSetBytes + 12, the whole rest of a feedback frame, which
//    carries no payload) are kept in a slot of a small body ring. At tlast the frame is decoded into a proto::Feedback
//    (type, flags, origin, key = (sender, message id), sequence, length, set by proto::decode_set into a
//    proto::FeedbackSet) and applied with on_ack / on_nack in that clock (on_ack may write the
//    entry's unreported GONE NACKs before its aggregate: up to kMaxOutputsPerEntry outputs).
//  * `now` is the kernel's own clock counter, incremented by every step(): timeouts are in clocks.
//
// Table walk: a clock in which no feedback frame completes runs one step of proto's background
// scan, expire(now, 1, ...), which examines one table slot (reports silent children, frees
// settled entries, reports gone children at once) -- only when the output queue has room for
// kMaxOutputsPerEntry outputs, the most one slot can produce. A whole walk is Sets * Ways such
// clocks, so a silent child is reported within silent_timeout + Sets * Ways idle clocks of its
// last feedback. Back-to-back 1-beat ACKs leave no idle clock: the walk (silence detection)
// pauses while they last.
//
// Outputs: every proto::AggOutput becomes one frame, proto::build_frame with
//  * destination: the neighbour table entry of out.dest (MAC, IPv4; tdest = its port), or, when
//    out.dest is this node (AggregatorConfig::self), this node's own addresses and tdest =
//    kHostPort (delivery to the host); source: this node; TOS 0, TTL kDefaultIpTtl, IP id 0; UDP
//    source port proto::entropy_port(sender, message id), destination the configured port; UDP
//    checksum 0 (a relay never computes one);
//  * Fanout header make_header(type, sender, origin, message id, sequence, length) with the
//    feedback's flags without AUTH, set = the feedback's set in its shortest encoding
//    (default_build_options): this kernel does not sign, so what it builds goes unsigned.
//  * Signed feedback sent on unchanged (a forwarded NACK, a passed-through ACK: the output that
//    keeps the input's origin) is the exception: its Fanout part goes verbatim from the body slot,
//    auth trailer included, so the origin's signature still verifies upstream (docs/protocol.md
//    12: a node forwarding a Fanout part unchanged keeps its trailer); signed_forwarded() counts
//    them. An undecodable set also goes verbatim (below), without AUTH.
//  * A dest that is neither this node nor a valid neighbour entry cannot be addressed: the frame
//    is not built and unroutable() counts it (the same rule as the replicator's, neighbour.hpp).
//    It is the only place an output is discarded, and it is a configuration error.
//  * tuser is 0 on every beat (the frame is built here: no ingress port, not bad).
// Frames wait in a bounded output queue (kQueueDepth entries: kAggQueueDepth, or the next power of
// two above kMaxOutputsPerEntry + 1 for more children; fixed arrays) and leave one beat
// per clock, in the order their outputs were produced. A feedback beat is read only when the
// queue has room for the kMaxOutputsPerEntry outputs its frame could produce (an aggregate with
// its entry's gone reports; and a body slot is free), and the walk runs only with room for
// kMaxOutputsPerEntry: when `out` is back-pressured,
// the queue fills and the kernel stops reading in_fb (backpressure upstream); nothing is
// dropped. full() is checked before every write.
//
// Frames that cannot be decoded: a valid feedback frame whose set has more ranges than a
// FeedbackSet holds (a bitmap body of up to 1,024 bytes can carry thousands of ranges) is counted
// by undecodable() and passed through unchanged (Fanout header and set body verbatim, outer
// headers rewritten as above) to proto's upstream of the message. An ACK among them is also
// given to on_ack with the set truncated to a FeedbackSet: its range count exceeds a child slot,
// so proto passes that child through from then on and counts it; the frame sent is the original.
// A NACK among them is not given to proto (its suppression would judge a truncated set): it is
// always forwarded. A frame on in_fb that is not an ACK or a NACK is dropped and counted by
// not_feedback() (the parser side routes only feedback here).
//
// Hardware mapping. The table is set-associative: the message key hashes to a bucket of Ways
// entries, read in one clock from BRAM/URAM (Ways entries x Children child slots side by side),
// the Ways keys and then the Children child ids compared in parallel. Default shape 1024 sets x
// 4 ways = 4,096 concurrent messages, 17 children (tree fan-out 16 + local delivery), 4 ranges
// per child: about 3 MB, URAM. C-simulation runs each arm / on_ack / on_nack / expire call (and
// each build_frame, decode_set) inside one step(); the aggregate's range union, the set decode
// and the frame build are multi-cycle work in hardware, so II=1 for this kernel is a claim Vitis
// must confirm (or a pipeline of stages must be written out), exactly as the parser says of its
// set validation. The cycle figures of the C-simulation tests do not include that work.
//
// Configuration: every register takes effect at once (proto::AckAggregator::set_config keeps
// the table: new timeouts apply from the next comparison, a new self id from the next output).
//
// Stream depths: step() takes streams of the default depth (2, the FIFO Vitis builds between
// dataflow processes); at the top (ack_agg_top.cpp) they are AXI-Stream ports, which have no
// depth. The only buffering is the output queue and the body ring above.
//
// C++14, synthesizable subset: fixed arrays, bounded loops, no allocation.
#ifndef FANOUT_HLS_ACK_AGG_ACK_AGG_HPP
#define FANOUT_HLS_ACK_AGG_ACK_AGG_HPP

#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "fanout/hls/arm.hpp"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/hls/neighbour.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/hls/table_write.hpp"
#include "fanout/proto/aggregator.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/set_codec.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

// Largest feedback frame: fixed headers + the largest set body + an auth trailer, no payload.
static const uint32_t kAggFrameBytes = proto::kFixedHeadersBytes + proto::kMaxSetBytes + proto::kAuthTrailerBytes;
// Beats kept after the fixed headers: the set body and the auth trailer behind it (17).
static const uint32_t kAggBodyBytes = proto::kMaxSetBytes + proto::kBeatBytes;
static const uint32_t kAggBodyBeats = kAggBodyBytes / proto::kBeatBytes;
static_assert(proto::kMaxSetBytes % proto::kBeatBytes == 0, "set body is whole beats");
static_assert(proto::kAuthTrailerBytes <= proto::kBeatBytes, "a trailer fits the extra beat");
// Output queue: room for one full table-walk step (kMaxOutputsPerEntry = Children + 1 = 18 for
// the default shape) plus what the input adds while a frame drains, rounded up to a power of
// two so pointers wrap by masking.
static const uint32_t kAggQueueDepth = 32; // at least; larger for more children (AckAgg::kQueueDepth)
static_assert((kAggQueueDepth & (kAggQueueDepth - 1)) == 0, "queue size must be a power of two");
// Smallest power of two >= n, and >= kAggQueueDepth (compile time only).
constexpr uint32_t agg_queue_depth(uint32_t n) {
  uint32_t d = kAggQueueDepth;
  while (d < n) d *= 2;
  return d;
}
// Set-body ring: one slot receives the frame in progress; a slot holding an undecodable frame
// stays committed until its pass-through copy starts. Two slots: one waiting, one receiving.
static const uint32_t kAggBodySlots = 2;
static const uint32_t kAggBodyMask = kAggBodySlots - 1;

// Defaults for registers left at 0 (clocks of the 300 MHz kernel clock, hls/vitis/boards.tcl).
static const uint32_t kAggDefaultSilentTimeout = 300000; // 1 ms
static const uint32_t kAggDefaultNackWindow = 30000;     // 100 us

// Counter indices (read_counters(); the top's `counters` register array): every
// proto::AggregatorStats field, then the kernel's own.
enum AckAggCounter {
  kAggCntArmed = 0,
  kAggCntArmOverflow,
  kAggCntChildrenOverflow,
  kAggCntAcksIn,
  kAggCntAcksMerged,
  kAggCntAcksDuplicate,
  kAggCntAcksEmitted,
  kAggCntAcksPassed,
  kAggCntNacksIn,
  kAggCntNacksForwarded,
  kAggCntNacksSuppressed,
  kAggCntSilentReported,
  kAggCntGoneReported,
  kAggCntEntriesCompleted,
  kAggCntEntriesInUse,
  kAggCntArmWords,        // ArmWords read
  kAggCntFramesIn,        // frames read from in_fb (every kind)
  kAggCntFramesOut,       // frames written to out
  kAggCntUnroutable,      // outputs whose dest has no neighbour entry (not sent)
  kAggCntUndecodable,     // feedback frames passed through undecoded
  kAggCntNotFeedback,     // frames on in_fb that are not ACK/NACK (dropped)
  kAggCntBuildErrors,     // outputs build_frame refused (never expected; not sent)
  kAggCntSignedForwarded, // signed feedback sent on verbatim, trailer kept (forwarded, passed through)
  kAggCntCount
};

// Runtime configuration (s_axilite registers at the top).
struct AckAggConfig {
  NodeAddress self;        // this node: id (the aggregator's self), source MAC and IPv4
  uint16_t udp_port;       // Fanout destination port of the frames built
  uint32_t silent_timeout; // clocks without feedback before a child is reported silent
  uint32_t nack_window;    // clocks a forwarded NACK suppresses its repeats
};

inline AckAggConfig default_ack_agg_config() {
  AckAggConfig c;
  c.self.id = 0;
  for (uint32_t i = 0; i < 6; i++) c.self.mac[i] = 0;
  c.self.ipv4 = 0;
  c.udp_port = proto::kDefaultUdpPort;
  c.silent_timeout = kAggDefaultSilentTimeout;
  c.nack_window = kAggDefaultNackWindow;
  return c;
}

template <uint32_t Sets = 1024, uint32_t Ways = 4, uint32_t Children = 17, uint32_t RangesPerChild = 4> class AckAgg {
 public:
  typedef proto::AckAggregator<Sets, Ways, Children, RangesPerChild> Aggregator;
  static const uint32_t kMaxOutputsPerEntry = Aggregator::kMaxOutputsPerEntry;
  // One walk step or one feedback frame (every child silent or gone + the ACK), and a frame
  // still leaving, must fit together.
  static const uint32_t kQueueDepth = agg_queue_depth(kMaxOutputsPerEntry + 1);
  static const uint32_t kQueueMask = kQueueDepth - 1;

  explicit AckAgg(const AckAggConfig &cfg = default_ack_agg_config()) : cfg_(cfg), agg_(agg_config(cfg)) { reset_io(); }

  // Apply the configuration registers (called every clock by the top); the table is kept.
  void configure(const AckAggConfig &cfg) {
    agg_.set_config(agg_config(cfg));
    cfg_ = cfg;
  }
  const AckAggConfig &config() const { return cfg_; }

  // One neighbour-table write (table_write.hpp); other kinds are not held here.
  void write_table(const TableWrite &w) {
    if (w.kind == kTableNeighbour) table_.set(w.index, neighbour_from_write(w));
  }
  void set_neighbour(proto::NodeId id, const NeighbourEntry &e) { table_.set(id, e); }

  const proto::AggregatorStats &stats() const { return agg_.stats(); }
  uint32_t frames_in() const { return frames_in_; }
  uint32_t frames_out() const { return frames_out_; }
  uint32_t unroutable() const { return unroutable_; }
  uint32_t undecodable() const { return undecodable_; }
  uint32_t not_feedback() const { return not_feedback_; }
  uint32_t build_errors() const { return build_errors_; }
  uint32_t signed_forwarded() const { return signed_forwarded_; }
  // Status for simulations and tests: the clock counter the next step() uses, table-walk steps
  // run so far (slots examined), outputs waiting in the queue.
  uint32_t now() const { return now_; }
  uint32_t walk_steps() const { return walk_steps_; }
  uint32_t queue_level() const { return q_wr_ - q_rd_; }
  // A frame is leaving on `out` (its queue entry is already freed).
  bool sending() const { return out_active_; }

  void read_counters(uint32_t c[kAggCntCount]) const {
    const proto::AggregatorStats &s = agg_.stats();
    c[kAggCntArmed] = s.armed;
    c[kAggCntArmOverflow] = s.arm_overflow;
    c[kAggCntChildrenOverflow] = s.children_overflow;
    c[kAggCntAcksIn] = s.acks_in;
    c[kAggCntAcksMerged] = s.acks_merged;
    c[kAggCntAcksDuplicate] = s.acks_duplicate;
    c[kAggCntAcksEmitted] = s.acks_emitted;
    c[kAggCntAcksPassed] = s.acks_passed;
    c[kAggCntNacksIn] = s.nacks_in;
    c[kAggCntNacksForwarded] = s.nacks_forwarded;
    c[kAggCntNacksSuppressed] = s.nacks_suppressed;
    c[kAggCntSilentReported] = s.silent_reported;
    c[kAggCntGoneReported] = s.gone_reported;
    c[kAggCntEntriesCompleted] = s.entries_completed;
    c[kAggCntEntriesInUse] = s.entries_in_use;
    c[kAggCntArmWords] = arm_words_;
    c[kAggCntFramesIn] = frames_in_;
    c[kAggCntFramesOut] = frames_out_;
    c[kAggCntUnroutable] = unroutable_;
    c[kAggCntUndecodable] = undecodable_;
    c[kAggCntNotFeedback] = not_feedback_;
    c[kAggCntBuildErrors] = build_errors_;
    c[kAggCntSignedForwarded] = signed_forwarded_;
  }

  // One clock.
  void step(hls::stream<ArmWord> &in_arm, hls::stream<ParsedMeta> &in_meta, hls::stream<axis_word> &in_fb,
            hls::stream<axis_word> &out) {
    FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)
    // Output side first: the queue slot a starting frame frees is usable by this clock's input.
    if (!out_active_ && q_rd_ != q_wr_) start_output();
    if (out_active_ && !out.full()) {
      out.write(output_beat());
      out_beat_++;
      if (out_beat_ * proto::kBeatBytes >= out_len_) {
        out_active_ = false;
        frames_out_++;
      }
    }

    // Arming produces no output: never held back.
    if (!in_arm.empty()) {
      ArmWord a = in_arm.read();
      if (a.gone)
        agg_.mark_gone(a.key, a.parent, a.child, a.total_packets, now_);
      else
        agg_.arm(a.key, a.parent, &a.child, 1, a.total_packets, now_);
      arm_words_++;
    }

    // Feedback: a beat is read only if the queue has room for every output its frame may produce
    // (an aggregate with its entry's unreported gone reports: kMaxOutputsPerEntry).
    bool completed = false;
    bool room = queue_free() >= kMaxOutputsPerEntry && body_wr_ - body_rd_ < kAggBodySlots;
    if (room && !in_fb.empty() && (fb_beat_ != 0 || !in_meta.empty())) {
      if (fb_beat_ == 0) fb_meta_ = in_meta.read();
      axis_word w = in_fb.read();
      if (fb_beat_ >= 1 && fb_beat_ <= kAggBodyBeats) {
        uint8_t *body = body_[body_wr_ & kAggBodyMask];
        for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
          FANOUT_HLS_PRAGMA(HLS UNROLL)
          body[(fb_beat_ - 1) * proto::kBeatBytes + i] = (uint8_t)byte(w.data, i).to_uint();
        }
      }
      if (fb_beat_ <= kAggBodyBeats) fb_beat_++; // saturates: later beats (not feedback) are ignored
      if (w.last == 1) {
        finish_feedback();
        completed = true;
        fb_beat_ = 0;
      }
    }

    // Idle clock: one step of the table walk, if every output it may produce fits.
    if (!completed && queue_free() >= kMaxOutputsPerEntry) {
      uint32_t n = agg_.expire(now_, 1, walk_out_, kMaxOutputsPerEntry);
      for (uint32_t i = 0; i < kMaxOutputsPerEntry; i++) {
        if (i >= n) break;
        enqueue(walk_out_[i], false);
      }
      walk_steps_++;
    }
    now_++;
  }

 private:
  struct OutEntry {
    proto::AggOutput out;
    bool raw;                    // send the frame in body_[body_rd_] on: undecodable set, or signed
    proto::FanoutHeader raw_hdr; // its Fanout header, sent verbatim
    uint32_t raw_body;           // bytes of it after the header: set body (+ auth trailer if signed)
  };

  static proto::AggregatorConfig agg_config(const AckAggConfig &c) {
    proto::AggregatorConfig a;
    a.self = c.self.id;
    a.silent_timeout = c.silent_timeout;
    a.nack_window = c.nack_window;
    return a;
  }

  void reset_io() {
    q_wr_ = 0;
    q_rd_ = 0;
    body_wr_ = 0;
    body_rd_ = 0;
    fb_beat_ = 0;
    out_active_ = false;
    out_len_ = 0;
    out_beat_ = 0;
    out_dest_ = 0;
    now_ = 0;
    walk_steps_ = 0;
    arm_words_ = 0;
    frames_in_ = 0;
    frames_out_ = 0;
    unroutable_ = 0;
    undecodable_ = 0;
    not_feedback_ = 0;
    build_errors_ = 0;
    signed_forwarded_ = 0;
  }

  uint32_t queue_free() const { return kQueueDepth - (q_wr_ - q_rd_); }

  // raw: the input frame goes on verbatim from its body slot; keep_auth: with its auth trailer
  // (signed feedback forwarded unchanged keeps its origin's signature, docs/protocol.md 12);
  // otherwise without AUTH (the trailer does not cover what is sent).
  void enqueue(const proto::AggOutput &o, bool raw, bool keep_auth = false) {
    OutEntry &e = q_[q_wr_ & kQueueMask];
    e.out = o;
    e.raw = raw;
    e.raw_hdr = fb_meta_.hdr;
    e.raw_body = fb_meta_.hdr.set_len + (keep_auth ? proto::kAuthTrailerBytes : 0u);
    if (!keep_auth) e.raw_hdr.flags = (uint8_t)(e.raw_hdr.flags & ~proto::kFlagAuth);
    q_wr_++;
  }

  // tlast of a feedback frame: decode and apply (callers checked the queue has room for
  // kMaxOutputsPerEntry).
  void finish_feedback() {
    frames_in_++;
    const proto::FanoutHeader &h = fb_meta_.hdr;
    if (h.type != proto::kTypeAck && h.type != proto::kTypeNack) {
      not_feedback_++;
      return;
    }
    proto::Feedback &fb = fb_scratch_.fb;
    fb.type = h.type;
    // Without AUTH: every frame this kernel sends is rebuilt without the input's auth trailer
    // (which it does not keep) and is not signed, so it goes unsigned (docs/hls.md, Known limits);
    // NACK suppression then treats a signed and an unsigned copy of a report alike.
    fb.flags = (uint8_t)(h.flags & ~proto::kFlagAuth);
    fb.origin = h.origin;
    fb.key.sender = h.sender;
    fb.key.message_id = h.message_id;
    fb.sequence = h.sequence;
    fb.length = h.length;
    int code = proto::decode_set((proto::SetEncoding)h.set_encoding, body_[body_wr_ & kAggBodyMask], h.set_len, fb.set);
    proto::AggOutput &o = fb_scratch_;
    if (code == proto::kOk) {
      uint32_t n = h.type == proto::kTypeAck ? agg_.on_ack(fb, now_, fb_out_, kMaxOutputsPerEntry)
                                             : (agg_.on_nack(fb, now_, fb_out_[0]) ? 1u : 0u);
      // Signed feedback sent on unchanged (a forwarded NACK, a passed-through ACK: the output that
      // keeps the child's origin) goes verbatim with its trailer, as software relays send it; at
      // most one output per input is the input itself, so one body slot is enough.
      bool signed_in = (h.flags & proto::kFlagAuth) != 0 && h.origin != agg_.config().self &&
                       fb_meta_.payload_len == 0 &&
                       fb_meta_.frame_len >= proto::kSetOffset + h.set_len + proto::kAuthTrailerBytes;
      bool slot_used = false;
      for (uint32_t i = 0; i < kMaxOutputsPerEntry; i++) {
        if (i >= n) break;
        bool verbatim = signed_in && !slot_used && fb_out_[i].fb.origin == h.origin;
        enqueue(fb_out_[i], verbatim, verbatim);
        if (verbatim) {
          slot_used = true;
          signed_forwarded_++;
        }
      }
      if (slot_used) body_wr_++;
      return;
    }
    // Undecodable: the original frame goes upstream; the body slot stays until it is sent.
    undecodable_++;
    o.dest = agg_.upstream_of(fb.key);
    if (h.type == proto::kTypeAck && code == proto::kSetTooLarge && fb.set.range_count() > RangesPerChild) {
      // fb.set holds the first FeedbackSet-capacity ranges: more than a child slot, so proto
      // passes this child through (and counts it). Its output's dest is the upstream.
      if (agg_.on_ack(fb, now_, o_scratch_)) o.dest = o_scratch_.dest;
    }
    enqueue(o, true);
    body_wr_++;
  }

  // Dequeue the next output and build its frame into out_buf_.
  void start_output() {
    const OutEntry &e = q_[q_rd_ & kQueueMask];
    q_rd_++;
    const proto::Feedback &fb = e.out.fb;
    proto::NetHeaders net;
    bool routable = true;
    if (e.out.dest == agg_.config().self) {
      for (uint32_t i = 0; i < 6; i++) net.eth_dst[i] = cfg_.self.mac[i];
      net.ip_dst = cfg_.self.ipv4;
      out_dest_ = kHostPort;
    } else {
      const NeighbourEntry &n = table_.get(e.out.dest);
      routable = n.valid;
      for (uint32_t i = 0; i < 6; i++) net.eth_dst[i] = n.mac[i];
      net.ip_dst = n.ipv4;
      out_dest_ = n.port;
    }
    if (e.raw) body_rd_++; // in order: the oldest committed slot is this entry's
    if (!routable) {
      unroutable_++;
      return;
    }
    for (uint32_t i = 0; i < 6; i++) net.eth_src[i] = cfg_.self.mac[i];
    net.ip_src = cfg_.self.ipv4;
    net.ip_tos = 0;
    net.ip_ttl = proto::kDefaultIpTtl;
    net.ip_id = 0;
    net.udp_src_port = proto::entropy_port(fb.key.sender, fb.key.message_id);
    net.udp_dst_port = cfg_.udp_port;
    int code;
    if (!e.raw) {
      proto::FanoutHeader h =
          proto::make_header(fb.type, fb.key.sender, fb.origin, fb.key.message_id, fb.sequence, fb.length);
      h.flags = fb.flags;
      code = proto::build_frame(net, h, fb.set, (const uint8_t *)0, 0, proto::default_build_options(), out_buf_,
                                kAggFrameBytes, &out_len_);
    } else {
      // The set body rides as build_frame's payload (lengths and checksums right), then the
      // original Fanout header (encoding, set length) is written over the one built.
      proto::BasicReceiverSet<1> none;
      code = proto::build_frame(net, e.raw_hdr, none, body_[(body_rd_ - 1) & kAggBodyMask], e.raw_body,
                                proto::default_build_options(), out_buf_, kAggFrameBytes, &out_len_);
      proto::write_fanout_header(e.raw_hdr, out_buf_ + proto::kFanoutOffset);
    }
    if (code != proto::kOk) {
      build_errors_++;
      return;
    }
    out_active_ = true;
    out_beat_ = 0;
  }

  axis_word output_beat() const {
    axis_word w;
    uint32_t base = out_beat_ * proto::kBeatBytes;
    uint32_t valid = out_len_ - base < proto::kBeatBytes ? out_len_ - base : proto::kBeatBytes;
    for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      set_byte(w.data, i, i < valid ? out_buf_[base + i] : (uint8_t)0);
    }
    w.keep = keep_for(valid);
    w.strb = w.keep;
    w.user = 0;
    w.last = base + valid >= out_len_ ? 1 : 0;
    w.dest = out_dest_;
    return w;
  }

  AckAggConfig cfg_;
  Aggregator agg_;
  NeighbourTable table_;

  // Output queue (ring of outputs in production order) and the frame being sent.
  OutEntry q_[kQueueDepth];
  uint32_t q_wr_;
  uint32_t q_rd_;
  uint8_t out_buf_[kAggFrameBytes];
  uint32_t out_len_;
  uint32_t out_beat_;
  uint8_t out_dest_;
  bool out_active_;

  // Feedback frame in progress: its meta and set body (slot body_wr_ of the ring).
  ParsedMeta fb_meta_;
  uint8_t body_[kAggBodySlots][kAggBodyBytes];
  uint32_t body_wr_; // slot receiving; slots body_rd_ .. body_wr_-1 hold undecodable frames
  uint32_t body_rd_;
  uint32_t fb_beat_; // beats of the frame read so far, saturating at kAggBodyBeats + 1

  proto::AggOutput fb_scratch_;                  // decoded feedback (its fb) / pass-through output
  proto::AggOutput o_scratch_;                   // on_ack output of an undecodable ACK (passed through)
  proto::AggOutput fb_out_[kMaxOutputsPerEntry]; // on_ack / on_nack outputs
  proto::AggOutput walk_out_[kMaxOutputsPerEntry];

  uint32_t now_;
  uint32_t walk_steps_;
  uint32_t arm_words_;
  uint32_t frames_in_;
  uint32_t frames_out_;
  uint32_t unroutable_;
  uint32_t undecodable_;
  uint32_t not_feedback_;
  uint32_t build_errors_;
  uint32_t signed_forwarded_;
};

} // namespace hw
} // namespace fanout

#endif
