// fanout::hw::Replicator<P>: the NIC's replicator kernel (P MAC ports, 2 <= P <= proto::kMaxPorts).
//
// One step() is one clock of a free-running kernel (PIPELINE II=1). Input: the parser's output,
// one ParsedMeta per frame (in_meta, written in the clock of the frame's first beat) and the
// frame's beats unchanged (in_frame); frames are valid Fanout frames. Per frame type:
//  * DATA: local delivery (the frame unchanged on out_host, tdest = kHostPort) if this node is a
//    receiver, then one copy per next hop on out_port[egress], each with rewritten headers and
//    only its subset of the receiver set; one ArmWord per child (and one for self) on out_arm.
//  * ACK, NACK: unchanged to the ACK aggregator, ParsedMeta on out_fb_meta in the clock of the
//    first beat, beats on out_fb.
//  * PROBE: a peer monitor's (hops-left proto::kPeerProbeHops, hls/peer_monitor, which reads it
//    from the parser's meta; the parser already drops them, this is for a parser that does not)
//    is consumed and counted; any other (a link monitor's heartbeat, a transport's probe) goes
//    unchanged to out_host (tdest = kHostPort).
//
// Next hops (config: mode, tree fan-out F, port table, neighbour table, this node's addresses):
//  * tree mode: remaining = set minus self; proto::tree_split(remaining, F); a copy per chunk to
//    its head, egress port and addresses from the head's neighbour entry.
//  * port mode: proto::port_split(set, port_table, P, ingress port); a copy per non-empty port
//    subset to the port's Fanout peer when one is configured (set_port_peer: a Fanout switch or
//    NIC at the other end of the link, which replicates further and aggregates the feedback of
//    the ids behind it, so it is the child the aggregator expects), else to the subset's first id;
//    addresses from the destination's neighbour entry, egress port = p. Ids routed back out of the
//    ingress port (looped) or with no route are counted, never sent.
//  * every subset is cut with proto::partition_for_packets so that each copy fits one packet
//    (max set bytes = min(kMaxSetBytes, kMaxFrameBytes - kFixedHeadersBytes - payload_len)); each
//    piece is its own copy to the piece's first id. A copy whose destination has no valid
//    neighbour entry, or whose egress port is >= P, is dropped and counted (unroutable).
//  * hops_left == 0: no copies (local delivery still happens).
// Local repair (docs/reliability.md):
//  * tree mode: a node the peer monitor declared down (apply_peer_state, NodeDownTable) is never a
//    chunk's head: the chunk goes to its first live id instead (at most kReplMaxGoneHeads heads
//    skipped per chunk, the rest counted), which splits the rest by the tree rule as the dead
//    head would have. Each skipped head is armed as gone (ArmWord::gone, hull [id, id], no copy),
//    so the ACK aggregator reports it upstream in a NACK with kFlagGone and the sender names it.
//    Only the failed child's subset changes course; the other chunks are as before.
//  * port mode: a port the link monitor marks down with a backup port configured
//    (kTablePortBackup) that is up sends its copies out of the backup port, to the backup port's
//    Fanout peer (which routes the ids onwards and aggregates them); without a usable backup the
//    copies are dropped and counted (kCntPortDownCopies).
// A copy is exactly what proto::build_frame makes from: eth_dst/ip_dst = the neighbour's,
// eth_src/ip_src = this node's, the input's TOS and UDP source port, TTL kDefaultIpTtl, IP id 0,
// the configured UDP destination port, the input's Fanout header with hops_left - 1 and
// origin = this node, the copy's subset in its shortest encoding, the same payload, UDP
// checksum 0 (relays rewrite in flight and never send one). tdest = egress port, tuser = 0.
//
// Store and replay. Every frame is written into an internal beat ring (kReplRingBeats beats, room
// for more than two maximum frames); the input is read at most one beat per clock whenever there
// is room, so nothing is ever dropped: upstream holds when we do not read (the parser's own FIFO
// absorbs the MAC's bursts). A DATA frame is replayed from the ring only once it is complete
// (store and forward: its set must be decoded and its copies planned first); ACK/NACK/PROBE frames
// pass unchanged and cut through (a beat leaves as soon as it is stored). The payload is stored
// once and replayed once per copy; the ring slots of a frame are freed after its last copy.
//
// Replay engine: ONE output beat per clock in total, across all outputs (out_port[0..P-1],
// out_host, out_fb). The aggregate egress of the kernel is therefore one 512-bit beat per kernel
// clock = 153.6 Gb/s at 300 MHz, a bus shared by the ports (a copy to port 0 and a copy to port 1
// are sent one after the other, never side by side). The engine walks the frames in arrival
// order; for each it sends its units one after the other (local delivery, then each copy), with no
// idle clock between two units of a frame nor between the last unit of a frame and the first of
// the next when that frame is already stored. A copy's bytes are
//   [64 rewritten header bytes][new set body, set_out bytes][payload, payload_len bytes]
// and the stored input is [64 header bytes][set_in bytes][payload]. Since set_out != set_in in
// general, payload bytes move by delta = set_in - set_out: output frame byte X of the payload
// region is stored frame byte X + delta. Output beat b (b >= 1) therefore needs stored bytes
// [64b + delta, 64b + 64 + delta), which lie in at most two consecutive stored beats lo and lo + 1
// (lo = floor((64b + delta) / 64)): a byte funnel shift of the pair by (64b + delta) mod 64 bytes.
// lo advances by exactly one per output beat, so the upper beat of one clock is the lower beat of
// the next: the engine keeps it in a register (win_) and reads ONE ring beat per clock (the first
// lower beat is read during the header beat, which comes from a register). Set bytes (low bytes
// of the beats they occupy) and payload bytes are merged with byte masks; bytes past the end of
// the frame are zero, tkeep and tlast are exact.
//
// Planning. When the engine reaches a complete DATA frame it plans it: the set body is read from
// the stored beats and decoded (proto::decode_set), local delivery decided, and the copy list made
// (tree_split or port_split, partition_for_packets, neighbour look-ups; unroutable copies are
// removed here, so the list holds exactly the copies that will be sent and the last ArmWord is
// known). When a copy starts, its subset is re-derived from the plan (intersect_range), encoded and
// its header beat built (proto::build_frame on a zero-length payload, lengths and IPv4 checksum
// then set for the real payload). C simulation does all of this inside one step(). In hardware it
// is a multi-cycle planning engine (one id range or set byte per clock, like the parser's set
// validation) running ahead of the replay on the next stored frame and the next copy, with its
// results double-buffered: the cycle counts the C-simulation tests measure (throughput, latency)
// do NOT include it. A frame with many small copies and large sets can outrun such an engine;
// that is a limit of the hardware to come, not measured here.
//
// Hostile input (proto/policy.hpp, docs/protocol.md section 8.1). A DATA frame is checked in
// plan_frame right after its set is decoded and before anything else (no local delivery, copy,
// arm word or host frame): set_policy's rules 1-3 (too many receivers, an id outside
// [first_id, last_id], a set naming the packet's sender or origin) with proto::check_set_policy,
// then set_rate's per-sender token bucket (proto::RateLimiter, charged with the payload bytes,
// time = clock_ / kReplRateTickClocks: one tick per 64 kernel clocks, so a rate is set in steps
// of 37.5 Mb/s at 300 MHz, not 2.4 Gb/s). A refused frame is dropped whole (finish_frame) and
// counted by code (kCntPolicy*). Retransmissions are checked like any DATA frame.
//  * The open policy (proto::open_set_policy(), the default and the top's reset values) checks
//    nothing, not even the loop rule: an unconfigured kernel replicates as before.
//  * A frame from this node's own host (ingress kHostPort) is checked with this node as its
//    sender and origin, and a set naming this node is legal there: protocol section 5 makes the
//    sender's NIC deliver locally when its own id is in the set its host posted (a loopback copy
//    that never leaves the node, so no loop). Rules 1 and 2 and the rate limit apply.
// In hardware: the set's size and its first and last ids come out of the planning engine's
// decode (counted as it walks the ranges), so rules 1 and 2 are three comparisons at the end of
// the decode; rule 3's contains() of two ids is part of the same walk (a range compare per range
// per id). The bucket table is proto::RateLimiter's 65,536 x 9 bytes = 576 KiB of URAM, one
// read-modify-write per DATA frame (sender's entry read, refilled, compared, written back), in
// the planning engine's clocks, ahead of the replay.
//
// Flow control: full() is checked before every write; a full output (or out_arm, when the beat
// carries an arm word) holds the engine on that beat, so nothing is lost or duplicated and the
// order per output is kept. An ArmWord is written in the clock of the first beat of its copy (or
// of the local delivery), so the ACK aggregator is armed before the copy leaves.
//
// Stream depths: step() takes streams of the default depth (2, the FIFO Vitis builds between
// dataflow processes). At the top (replicator_top.cpp) they are AXI-Stream ports, which have no
// depth; the only buffering is the internal beat ring and its descriptor ring.
//
// C++14, synthesizable subset: fixed arrays, bounded loops, no allocation. The object is large
// (neighbour table, port table, P port subsets of any size): simulations allocate it on the heap.
#ifndef FANOUT_HLS_REPLICATOR_REPLICATOR_HPP
#define FANOUT_HLS_REPLICATOR_REPLICATOR_HPP

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
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/policy.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/set_codec.hpp"
#include "fanout/proto/split.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

// Beat ring: at least two maximum frames (one replaying while the next arrives), a power of two
// so pointers wrap by masking. 512 x 512-bit beats: 8 BRAM36 wide, as the parser's FIFO.
static const uint32_t kReplRingBeats = 512;
static const uint32_t kReplRingMask = kReplRingBeats - 1;
static_assert(kReplRingBeats >= 2 * kMaxFrameBeats, "ring must hold two maximum frames");
static_assert((kReplRingBeats & kReplRingMask) == 0, "ring size must be a power of two");
// Frame descriptors: every frame has at least one beat, so one per ring beat never overflows.
static const uint32_t kReplDescs = kReplRingBeats;
static const uint32_t kReplDescMask = kReplDescs - 1;
// Set body in beats (kMaxSetBytes = 1024 bytes = 16 beats).
static const uint32_t kReplSetBeats = proto::kMaxSetBytes / proto::kBeatBytes;
static_assert(proto::kMaxSetBytes % proto::kBeatBytes == 0, "set body is whole beats");
// Copies one frame can be planned into. Tree mode needs at most F = 64 (a chunk of a set that
// fitted one packet fits again); port mode with a port table that scatters a large set can need
// more pieces. Copies past this bound are dropped and counted (plan_overflow).
static const uint32_t kReplMaxCopies = 1024;
// Tree mode: down heads skipped per chunk (one NodeDownTable read each). Past it, the chunk's
// remaining ids are dropped and counted (kCntRepairLimit): a chunk with that many dead nodes at
// its head needs the sender's retransmission, which re-splits the set.
static const uint32_t kReplMaxGoneHeads = 8;
// Gone children armed per frame (kReplMaxGoneHeads per chunk, at most kMaxTreeFanout chunks).
static const uint32_t kReplMaxGone = 64;

// The rate limiter's tick: 64 kernel clocks (rates in bytes per tick: steps of 64 B / 64 clocks =
// 37.5 Mb/s at 300 MHz).
static const uint32_t kReplRateTickShift = 6;
static const uint32_t kReplRateTickClocks = 1u << kReplRateTickShift;

// Operating mode (s_axilite register `mode`).
static const uint8_t kReplModeTree = 0;
static const uint8_t kReplModePort = 1;
// Tree fan-out used when the register holds 0 (its reset value).
static const uint32_t kReplDefaultFanout = 4;

// Counters, in the order the top's `counters` register array holds them.
enum ReplCounter {
  kCntDataIn = 0,        // DATA frames received
  kCntAckIn,             // ACK frames received
  kCntNackIn,            // NACK frames received
  kCntProbeIn,           // PROBE frames received
  kCntCopiesSent,        // copies sent on out_port (counted at their first beat)
  kCntLocalDeliveries,   // DATA frames delivered to out_host
  kCntUnroutableCopies,  // copies dropped: destination without a valid neighbour entry, or port >= P
  kCntLoopedIds,         // port mode, hops_left > 0: ids routed back out of the ingress port (not sent)
  kCntUnroutableIds,     // port mode, hops_left > 0: ids with no route (kPortNone) or a port >= P
  kCntHopsExhausted,     // DATA frames that arrived with hops_left == 0 (no copies made)
  kCntFeedbackForwarded, // ACK/NACK frames forwarded to out_fb
  kCntProbesToHost,      // PROBE frames forwarded to out_host
  kCntArmWords,          // ArmWords written
  kCntBadSet,            // DATA frames whose set failed to decode (dropped whole; 0 after the parser)
  kCntBadType,           // frames of an unknown type (dropped whole; 0 after the parser)
  kCntPlanOverflow,      // copies dropped: more than kReplMaxCopies pieces, or not buildable
  kCntPortDownCopies,    // copies dropped: their egress port is marked down (link monitor), no backup
  kCntGoneHeads,         // tree mode: chunk heads skipped because their peer is down (armed gone)
  kCntRepairLimit,       // tree mode: chunks dropped with more than kReplMaxGoneHeads down heads
  kCntBackupCopies,      // port mode: copies sent out of a backup port (their port is down)
  kCntPeerProbesIn,      // peer probes and replies (PROBE, hops-left kPeerProbeHops) consumed, not given to the host
  kCntPolicyTooManyReceivers, // DATA frames refused: more ids than the policy's max_receivers (dropped whole)
  kCntPolicyUnknownId,        // DATA frames refused: an id outside [first_id, last_id] (dropped whole)
  kCntPolicyLoop,             // DATA frames refused: the set names the sender or the origin (dropped whole)
  kCntPolicyRateLimited,      // DATA frames refused: the sender's token bucket lacked the payload bytes
  kReplCounterCount
};

template <uint32_t P> class Replicator {
  static_assert(P >= 2 && P <= proto::kMaxPorts, "2 <= P <= proto::kMaxPorts");

 public:
  Replicator()
      : mode_(kReplModeTree), fanout_(kReplDefaultFanout), udp_port_(proto::kDefaultUdpPort), port_down_(0),
        policy_(proto::open_set_policy()) {
    self_ = cluster_address(0);
    proto::RateConfig no_limit = {0, 0};
    rate_.configure(no_limit);
    for (uint32_t p = 0; p < P; p++) {
      port_peer_[p] = 0;
      port_peer_valid_[p] = false;
      port_backup_[p] = 0;
      port_backup_valid_[p] = false;
    }
    reset();
  }

  // Power-on state: empty ring, no frame in progress, counters 0. Configuration is kept.
  void reset() {
    wr_ = 0;
    free_ = 0;
    desc_wr_ = 0;
    desc_done_ = 0;
    desc_rd_ = 0;
    in_mid_ = false;
    planned_ = false;
    active_ = false;
    copy_arms_ = true;
    unit_kind_ = kUnitHost;
    ob_ = 0;
    local_pending_ = false;
    ncopies_ = 0;
    copy_next_ = 0;
    ngone_ = 0;
    gone_next_ = 0;
    win_ = 0;
    clock_ = 0;
    rate_.reset();
    for (uint32_t i = 0; i < kReplCounterCount; i++) counters_[i] = 0;
  }

  // ---- Configuration -------------------------------------------------------------------------
  void set_self(const NodeAddress &a) { self_ = a; }
  const NodeAddress &self() const { return self_; }
  void set_mode(uint8_t mode) { mode_ = mode; }
  uint8_t mode() const { return mode_; }
  // Tree fan-out F (proto::valid_fanout: 2..64). An invalid F makes tree_split return no chunk,
  // so no copies are made.
  void set_fanout(uint32_t f) { fanout_ = f; }
  uint32_t fanout() const { return fanout_; }
  // Ports the link monitor marks down (bit p = port p, rtl/link_monitor.sv): copies planned for
  // them are dropped and counted, never queued behind a dead link, and not armed, so the ACK
  // aggregator does not wait for them; the sender's transport retransmits to the receivers
  // that miss data. Applies to frames planned from the next clock on.
  void set_port_down(uint64_t mask) { port_down_ = mask; }
  uint64_t port_down() const { return port_down_; }
  // Hostile-input policy (rules 1-3 of proto/policy.hpp) for DATA frames planned from the next
  // clock on. The open policy (proto::open_set_policy(), the default) checks nothing.
  void set_policy(const proto::SetPolicy &p) { policy_ = p; }
  const proto::SetPolicy &policy() const { return policy_; }
  // Per-sender rate limit: bytes_per_tick per kernel clock, buckets of burst_bytes (rule 4);
  // bytes_per_tick 0 (the default) disables it. The buckets are kept (reset() empties them).
  void set_rate(const proto::RateConfig &c) { rate_.configure(c); }
  const proto::RateConfig &rate() const { return rate_.config(); }
  // Kernel clocks since reset (the rate limiter's time).
  uint32_t clock() const { return clock_; }
  // UDP destination port of the copies.
  void set_udp_port(uint16_t port) { udp_port_ = port; }
  uint16_t udp_port() const { return udp_port_; }
  void set_neighbour(proto::NodeId id, const NeighbourEntry &e) { neighbours_.set(id, e); }
  void erase_neighbour(proto::NodeId id) { neighbours_.erase(id); }
  void set_port(proto::NodeId id, uint8_t port) { ports_.set(id, port); }
  // Port mode: the Fanout node at the other end of `port` (copies on that port go to it, and it is
  // the child armed for them); ignored for port >= P.
  void set_port_peer(uint8_t port, proto::NodeId peer) {
    if (port < P) {
      port_peer_[port] = peer;
      port_peer_valid_[port] = true;
    }
  }
  void clear_port_peer(uint8_t port) {
    if (port < P) port_peer_valid_[port] = false;
  }
  // Port mode: copies for `port` leave on `backup` while `port` is down and `backup` is up.
  void set_port_backup(uint8_t port, uint8_t backup) {
    if (port < P && backup < P && backup != port) {
      port_backup_[port] = backup;
      port_backup_valid_[port] = true;
    }
  }
  void clear_port_backup(uint8_t port) {
    if (port < P) port_backup_valid_[port] = false;
  }
  // Tree mode: the peer monitor's verdict on a node (hls/peer_monitor); applies to frames planned
  // from the next clock on.
  void apply_peer_state(const PeerState &s) { down_.set(s.id, s.down); }
  bool peer_down(proto::NodeId id) const { return down_.down(id); }
  const NeighbourTable &neighbours() const { return neighbours_; }
  const proto::PortTable &port_table() const { return ports_; }
  // One entry written through the tbl_* registers (table_write.hpp).
  void apply_table_write(const TableWrite &w) {
    if (w.kind == kTableNeighbour) {
      neighbours_.set(w.index, neighbour_from_write(w));
    } else if (w.kind == kTablePort) {
      ports_.set(w.index, w.port);
    } else if (w.kind == kTablePortPeer) {
      if (w.valid) {
        set_port_peer(w.port, w.index);
      } else {
        clear_port_peer(w.port);
      }
    } else if (w.kind == kTablePortBackup) {
      if (w.valid) {
        set_port_backup(w.port, (uint8_t)w.index);
      } else {
        clear_port_backup(w.port);
      }
    }
  }

  // ---- Status --------------------------------------------------------------------------------
  uint32_t counter(int c) const { return c >= 0 && c < kReplCounterCount ? counters_[c] : 0; }
  void read_counters(uint32_t out[kReplCounterCount]) const {
    for (uint32_t i = 0; i < kReplCounterCount; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      out[i] = counters_[i];
    }
  }
  // Beats held in the ring (frames waiting, replaying or arriving).
  uint32_t ring_level() const { return wr_ - free_; }
  // No frame stored, none arriving, nothing being sent.
  bool idle() const { return wr_ == free_ && !in_mid_ && !active_ && !planned_; }

  // ---- One clock -----------------------------------------------------------------------------
  void step(hls::stream<ParsedMeta> &in_meta, hls::stream<axis_word> &in_frame, hls::stream<axis_word> out_port[P],
            hls::stream<axis_word> &out_host, hls::stream<ArmWord> &out_arm, hls::stream<ParsedMeta> &out_fb_meta,
            hls::stream<axis_word> &out_fb) {
    FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)
    // Output side first: slots it frees are usable by this clock's input beat (one BRAM port
    // reads, the other writes).
    if (!active_) load_unit(out_arm);
    if (active_) emit_beat(out_port, out_host, out_arm, out_fb_meta, out_fb);

    // Input side: one beat when there is room; a frame's first beat also takes its ParsedMeta.
    bool room = wr_ - free_ < kReplRingBeats;
    bool meta_ok = in_mid_ || (!in_meta.empty() && desc_wr_ - desc_rd_ < kReplDescs);
    if (room && meta_ok && !in_frame.empty()) {
      axis_word w = in_frame.read();
      if (!in_mid_) {
        Desc &d = desc_[desc_wr_ & kReplDescMask];
        d.meta = in_meta.read();
        d.start = wr_;
        d.nbeats = 0;
        desc_wr_++;
        in_mid_ = true;
        uint8_t t = d.meta.hdr.type;
        if (t == proto::kTypeData) counters_[kCntDataIn]++;
        if (t == proto::kTypeAck) counters_[kCntAckIn]++;
        if (t == proto::kTypeNack) counters_[kCntNackIn]++;
        if (t == proto::kTypeProbe) counters_[kCntProbeIn]++;
      }
      ring_[wr_ & kReplRingMask] = w;
      wr_++;
      if (w.last == 1) {
        Desc &d = desc_[(desc_wr_ - 1) & kReplDescMask];
        d.nbeats = wr_ - d.start;
        desc_done_++;
        in_mid_ = false;
      }
    }
    clock_++;
  }

 private:
  // A frame in the ring: where it starts, its beats (once complete) and the parser's metadata.
  struct Desc {
    uint32_t start;
    uint32_t nbeats;
    ParsedMeta meta;
  };
  // A planned copy: the ids of `src` within [first, last] (src = kSrcTree: the tree's remaining
  // set; otherwise port src's subset), to node `first` on egress `port`.
  struct CopyPlan {
    uint8_t src;
    uint8_t port;
    proto::NodeId dest;  // the copy's destination node: the port's peer, or `first`
    proto::NodeId first; // the subset's hull
    proto::NodeId last;
  };
  static const uint8_t kSrcTree = 0xFF;
  // plan_frame results other than a proto::PolicyCode (kPlanOk = proto::kPolicyOk).
  static const int kPlanOk = 0;
  static const int kPlanBadSet = -1;
  // What the engine is sending: the frame unchanged to out_host or out_fb, or a copy.
  enum UnitKind { kUnitHost = 0, kUnitFb = 1, kUnitCopy = 2 };
  // A chunk head skipped because its peer is down: armed gone (hull [id, id]), no copy.
  struct GoneChild {
    proto::NodeId id;
  };
  // Largest remaining set: a decoded set (kMaxSetRanges ranges) with self removed from the
  // middle of a range.
  typedef proto::BasicReceiverSet<proto::kMaxSetRanges + 1> RemainingSet;

  // Bytes [0, n) of a beat set, the others clear (n = 0..64).
  static axis_data low_bytes_mask(uint32_t n) {
    axis_data m = 0;
    if (n == 0) return m;
    m = ~m;
    if (n >= proto::kBeatBytes) return m;
    return m >> (8 * (proto::kBeatBytes - n));
  }

  // floor(pos / 64) for a signed byte position (a right shift of a negative value is
  // implementation-defined in C++14).
  static int32_t beat_of(int32_t pos) {
    return pos >= 0 ? pos / (int32_t)proto::kBeatBytes
                    : -((-pos + (int32_t)proto::kBeatBytes - 1) / (int32_t)proto::kBeatBytes);
  }

  // Bring the next unit of the current frame (or of the next frame) into the engine. In C
  // simulation the planning of a new frame and the header of a new copy are computed here, in
  // the clock the unit starts (see "Planning" above).
  void load_unit(hls::stream<ArmWord> &out_arm) {
    if (!planned_) {
      if (desc_rd_ == desc_wr_) return; // nothing stored
      const Desc &d = desc_[desc_rd_ & kReplDescMask];
      uint8_t t = d.meta.hdr.type;
      if (proto::is_peer_probe(t, d.meta.hdr.hops_left)) {
        // A peer probe or reply (hops-left 1, hls/peer_monitor): NIC to NIC, read by the peer
        // monitor from the parser's meta; consumed here, never given to the host.
        if (desc_done_ == desc_rd_) return; // wait for its (single) beat to be stored
        counters_[kCntPeerProbesIn]++;
        finish_frame();
        return;
      }
      if (t == proto::kTypeAck || t == proto::kTypeNack || t == proto::kTypeProbe) {
        // Pass-through, cut-through: may start before the frame is complete.
        start_pass(t == proto::kTypeProbe ? kUnitHost : kUnitFb, true);
        return;
      }
      if (desc_done_ == desc_rd_) return; // DATA (or unknown type): wait for the whole frame
      if (t != proto::kTypeData) {
        counters_[kCntBadType]++;
        finish_frame();
        return;
      }
      int plan = plan_frame(d);
      if (plan != kPlanOk) {
        if (plan == kPlanBadSet) counters_[kCntBadSet]++;
        if (plan == proto::kPolicyTooManyReceivers) counters_[kCntPolicyTooManyReceivers]++;
        if (plan == proto::kPolicyUnknownId) counters_[kCntPolicyUnknownId]++;
        if (plan == proto::kPolicyLoop) counters_[kCntPolicyLoop]++;
        if (plan == proto::kPolicyRateLimited) counters_[kCntPolicyRateLimited]++;
        finish_frame(); // dropped whole: nothing was sent or armed
        return;
      }
      planned_ = true;
    }
    if (gone_next_ < ngone_) {
      emit_gone(out_arm);
      return;
    }
    if (local_pending_) {
      local_pending_ = false;
      start_pass(kUnitHost, false);
      return;
    }
    if (copy_next_ < ncopies_) {
      start_copy();
      return;
    }
    finish_frame(); // a planned frame with nothing (more) to send
  }

  // Start sending the current frame unchanged. whole_frame: it is the frame's only unit (PROBE,
  // ACK, NACK) rather than the local delivery of a DATA frame.
  void start_pass(UnitKind kind, bool whole_frame) {
    unit_kind_ = kind;
    ob_ = 0;
    active_ = true;
    pass_whole_ = whole_frame;
  }

  // Drop or retire the current frame: free its ring slots and descriptor.
  void finish_frame() {
    const Desc &d = desc_[desc_rd_ & kReplDescMask];
    free_ = d.start + d.nbeats;
    desc_rd_++;
    planned_ = false;
    local_pending_ = false;
    ncopies_ = 0;
    copy_next_ = 0;
    ngone_ = 0;
    gone_next_ = 0;
  }

  // Arm one skipped head as gone: one ArmWord, no beat (a clock of the engine). Held while out_arm
  // is full. Gone words come first, so `last` is set on the frame's final word only when nothing
  // else (local delivery, copy) follows.
  void emit_gone(hls::stream<ArmWord> &out_arm) {
    if (out_arm.full()) return;
    const ParsedMeta &m = frame_.meta;
    ArmWord a;
    a.key.sender = m.hdr.sender;
    a.key.message_id = m.hdr.message_id;
    a.parent = m.ingress_port == kHostPort ? self_.id : m.hdr.origin;
    a.child.id = gone_[gone_next_].id;
    a.child.hull_first = a.child.id;
    a.child.hull_last = a.child.id;
    a.total_packets = proto::packets_in_message(m.hdr, m.payload_len);
    a.gone = true;
    gone_next_++;
    a.last = gone_next_ == ngone_ && !local_pending_ && ncopies_ == 0;
    out_arm.write(a);
    counters_[kCntArmWords]++;
    if (a.last) finish_frame();
  }

  // Decode the stored set, apply the policy and make the copy list. kPlanOk, kPlanBadSet (the set
  // does not decode) or the proto::PolicyCode that refuses the frame.
  int plan_frame(const Desc &d) {
    const ParsedMeta &m = d.meta;
    uint32_t set_in = m.hdr.set_len;
    if (set_in > proto::kMaxSetBytes) return kPlanBadSet;
    for (uint32_t b = 0; b < kReplSetBeats; b++) {
      if (b * proto::kBeatBytes >= set_in) break;
      const axis_data &data = ring_[(d.start + 1 + b) & kReplRingMask].data;
      for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
        FANOUT_HLS_PRAGMA(HLS UNROLL)
        body_[b * proto::kBeatBytes + i] = (uint8_t)byte(data, i).to_uint();
      }
    }
    if (proto::decode_set((proto::SetEncoding)m.hdr.set_encoding, body_, set_in, set_) != proto::kOk)
      return kPlanBadSet;
    int refused = check_policy(m);
    if (refused != proto::kPolicyOk) return refused;

    ncopies_ = 0;
    copy_next_ = 0;
    ngone_ = 0;
    gone_next_ = 0;
    bool hops = m.hdr.hops_left > 0;
    if (!hops) counters_[kCntHopsExhausted]++;
    uint32_t room = proto::kMaxFrameBytes - proto::kFixedHeadersBytes - m.payload_len;
    max_set_bytes_ = room < proto::kMaxSetBytes ? room : proto::kMaxSetBytes;

    if (mode_ == kReplModePort) {
      proto::PortSplitResult r = proto::port_split(set_, ports_, P, m.ingress_port, port_sets_);
      local_pending_ = r.deliver_local;
      if (hops) {
        counters_[kCntLoopedIds] += r.looped;
        counters_[kCntUnroutableIds] += r.unroutable;
        for (uint32_t p = 0; p < P; p++) {
          if (!port_sets_[p].empty()) add_pieces(port_sets_[p], (uint8_t)p);
        }
      }
    } else {
      local_pending_ = set_.contains(self_.id);
      if (hops) {
        set_.without(self_.id, remaining_); // capacity kMaxSetRanges + 1: never fails
        uint32_t n = proto::tree_split(remaining_, fanout_, chunks_);
        for (uint32_t c = 0; c < proto::kMaxTreeFanout; c++) {
          if (c >= n) break;
          remaining_.slice(chunks_[c].begin, chunks_[c].end, chunk_set_);
          if (repair_chunk(m)) add_pieces(chunk_set_, kSrcTree);
        }
      }
    }
    frame_ = d;
    uint8_t in_tos = (uint8_t)byte(ring_[d.start & kReplRingMask].data, proto::kIpTosOff).to_uint();
    in_tos_ = in_tos;
    return kPlanOk;
  }

  // Rules 1-3 (the open policy passes everything), then the rate limit, for the decoded set_ of
  // a DATA frame. A frame from this node's host has this node as sender and origin, and may name
  // it.
  int check_policy(const ParsedMeta &m) {
    bool from_host = m.ingress_port == kHostPort;
    proto::NodeId sender = from_host ? self_.id : m.hdr.sender;
    proto::NodeId origin = from_host ? self_.id : m.hdr.origin;
    int code = proto::check_set_policy(policy_, set_, sender, origin);
    if (from_host && code == proto::kPolicyLoop) code = proto::kPolicyOk; // rule 3 is last
    if (code != proto::kPolicyOk) return code;
    if (!rate_.allow(m.hdr.sender, m.payload_len, clock_ >> kReplRateTickShift)) return proto::kPolicyRateLimited;
    return proto::kPolicyOk;
  }

  // Local repair of chunk_set_ (tree mode): skip the heads whose peer is down, arming each as gone
  // (not for a retransmission, which arms nothing). false: nothing left to send (every id was a
  // down head, or more than kReplMaxGoneHeads of them).
  bool repair_chunk(const ParsedMeta &m) {
    bool retx = (m.hdr.flags & proto::kFlagRetx) != 0;
    for (uint32_t i = 0; i <= kReplMaxGoneHeads; i++) {
      if (chunk_set_.empty()) return false;
      proto::NodeId head = chunk_set_.first_id();
      if (!down_.down(head)) return true;
      if (i == kReplMaxGoneHeads) break;
      counters_[kCntGoneHeads]++;
      if (!retx && ngone_ < kReplMaxGone) gone_[ngone_++].id = head;
      RemainingSet rest;
      chunk_set_.without(head, rest);
      chunk_set_ = rest;
    }
    counters_[kCntRepairLimit]++;
    return false;
  }

  // Cut `s` into pieces that fit one packet and append one copy per routable piece.
  template <uint32_t M> void add_pieces(const proto::BasicReceiverSet<M> &s, uint8_t src) {
    uint32_t cap = kReplMaxCopies - ncopies_;
    uint32_t n = proto::partition_for_packets(s, max_set_bytes_, pieces_, cap);
    if (n > cap) {
      counters_[kCntPlanOverflow] += n - cap;
      n = cap;
    }
    for (uint32_t i = 0; i < kReplMaxCopies; i++) {
      if (i >= n) break;
      proto::NodeId dest = pieces_[i].first;
      if (src != kSrcTree && src < P && port_peer_valid_[src]) dest = port_peer_[src];
      const NeighbourEntry &e = neighbours_.get(dest);
      uint8_t port = src == kSrcTree ? e.port : src;
      if (!e.valid || port >= P) {
        counters_[kCntUnroutableCopies]++;
        continue;
      }
      if ((port_down_ >> port) & 1u) {
        // Port mode: the precomputed backup port, if it is up, carries the copy to its own peer.
        bool backup = src != kSrcTree && port_backup_valid_[port] && ((port_down_ >> port_backup_[port]) & 1u) == 0;
        if (backup) {
          uint8_t b = port_backup_[port];
          proto::NodeId bdest = port_peer_valid_[b] ? port_peer_[b] : dest;
          if (neighbours_.get(bdest).valid) {
            port = b;
            dest = bdest;
            counters_[kCntBackupCopies]++;
          } else {
            backup = false;
          }
        }
        if (!backup) {
          counters_[kCntPortDownCopies]++;
          continue;
        }
      }
      CopyPlan &c = copies_[ncopies_++];
      c.src = src;
      c.port = port;
      c.dest = dest;
      c.first = pieces_[i].first;
      c.last = pieces_[i].last;
    }
  }

  // Start the next planned copy: derive its subset, build its header beat and set beats.
  void start_copy() {
    const CopyPlan &c = copies_[copy_next_];
    bool ok = c.src == kSrcTree ? proto::intersect_range(remaining_, c.first, c.last, piece_)
                                : proto::intersect_range(port_sets_[c.src], c.first, c.last, piece_);
    const ParsedMeta &m = frame_.meta;
    const NeighbourEntry &e = neighbours_.get(c.dest);
    proto::NetHeaders net;
    for (uint32_t i = 0; i < 6; i++) {
      net.eth_dst[i] = e.mac[i];
      net.eth_src[i] = self_.mac[i];
    }
    net.ip_src = self_.ipv4;
    net.ip_dst = e.ipv4;
    net.ip_tos = in_tos_;
    net.ip_ttl = proto::kDefaultIpTtl;
    net.ip_id = 0;
    net.udp_src_port = m.udp_src_port;
    net.udp_dst_port = udp_port_;
    proto::FanoutHeader h = m.hdr;
    h.hops_left = (uint8_t)(m.hdr.hops_left - 1);
    h.origin = self_.id;
    // A copy is a new Fanout part from this node: the input's auth trailer (not payload, not
    // replayed) does not cover it, and this kernel does not sign, so the copy goes unsigned.
    h.flags = (uint8_t)(h.flags & ~proto::kFlagAuth);
    uint32_t len = 0;
    // Headers and set only (no payload); the lengths and the IPv4 checksum are then set for the
    // real payload, which the replay appends.
    int err = ok ? proto::build_frame(net, h, piece_, body_, 0, proto::default_build_options(), build_,
                                      (uint32_t)sizeof(build_), &len)
                 : (int)proto::kSetTooLarge;
    uint32_t set_out = len - proto::kFixedHeadersBytes;
    if (err != proto::kOk || set_out + m.payload_len > proto::kMaxFrameBytes - proto::kFixedHeadersBytes) {
      counters_[kCntPlanOverflow]++; // unreachable with pieces from partition_for_packets
      copy_next_++;
      return; // engine stays idle this clock; the next clock loads the next unit
    }
    uint32_t udp_len = proto::kUdpHeaderBytes + proto::kFanoutHeaderBytes + set_out + m.payload_len;
    proto::store_be16(build_ + proto::kIpTotalLenOff, (uint16_t)(proto::kIpv4HeaderBytes + udp_len));
    proto::store_be16(build_ + proto::kUdpLenOff, (uint16_t)udp_len);
    proto::store_be16(build_ + proto::kIpChecksumOff, 0);
    proto::store_be16(build_ + proto::kIpChecksumOff, proto::ipv4_checksum(build_ + proto::kIpv4Offset));

    for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      set_byte(hdr_beat_, i, build_[i]);
    }
    for (uint32_t b = 0; b < kReplSetBeats; b++) {
      if (b * proto::kBeatBytes >= set_out) break;
      axis_data sb = 0;
      for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
        FANOUT_HLS_PRAGMA(HLS UNROLL)
        uint32_t o = b * proto::kBeatBytes + i;
        if (o < set_out) set_byte(sb, i, build_[proto::kSetOffset + o]);
      }
      set_beats_[b] = sb;
    }
    copy_set_out_ = set_out;
    copy_end_ = set_out + m.payload_len; // bytes after the 64 header bytes
    copy_delta_ = (int32_t)m.hdr.set_len - (int32_t)set_out;
    copy_port_ = c.port;
    copy_arm_.key.sender = m.hdr.sender;
    copy_arm_.key.message_id = m.hdr.message_id;
    copy_arm_.parent = m.ingress_port == kHostPort ? self_.id : m.hdr.origin;
    copy_arm_.child.id = c.dest;
    copy_arm_.child.hull_first = c.first;
    copy_arm_.child.hull_last = c.last;
    copy_arm_.total_packets = proto::packets_in_message(m.hdr, m.payload_len);
    copy_arm_.last = copy_next_ + 1 == ncopies_;
    copy_arm_.gone = false;
    // A retransmission is replicated but arms nothing: the tree its first transmission armed
    // carries the acknowledgements (a node without an entry passes them on), and a retransmission
    // sent straight to a lagging receiver must not add a child that will never answer here.
    copy_arms_ = (m.hdr.flags & proto::kFlagRetx) == 0;
    copy_next_++;
    unit_kind_ = kUnitCopy;
    ob_ = 0;
    active_ = true;
  }

  // Stored beat `lo` of the current frame, counted from its first beat (lo may be negative:
  // bytes before the frame are masked away).
  const axis_data &stored(int32_t lo) const { return ring_[(frame_.start + (uint32_t)lo) & kReplRingMask].data; }

  // Send at most one beat of the current unit.
  void emit_beat(hls::stream<axis_word> out_port[P], hls::stream<axis_word> &out_host, hls::stream<ArmWord> &out_arm,
                 hls::stream<ParsedMeta> &out_fb_meta, hls::stream<axis_word> &out_fb) {
    if (unit_kind_ != kUnitCopy) {
      const Desc &d = desc_[desc_rd_ & kReplDescMask];
      uint32_t at = d.start + ob_;
      if (at == wr_) return; // cut-through: this beat has not arrived yet
      axis_word w = ring_[at & kReplRingMask];
      bool first = ob_ == 0;
      bool sent = false;
      if (unit_kind_ == kUnitFb) {
        if (!out_fb.full() && (!first || !out_fb_meta.full())) {
          if (first) {
            out_fb_meta.write(d.meta);
            counters_[kCntFeedbackForwarded]++;
          }
          out_fb.write(w);
          sent = true;
        }
      } else {
        // Local delivery of DATA also arms this node itself (not for a retransmission: see
        // start_copy).
        bool arm = first && !pass_whole_ && (d.meta.hdr.flags & proto::kFlagRetx) == 0;
        if (!out_host.full() && (!arm || !out_arm.full())) {
          if (arm) {
            ArmWord a;
            a.key.sender = d.meta.hdr.sender;
            a.key.message_id = d.meta.hdr.message_id;
            a.parent = d.meta.ingress_port == kHostPort ? self_.id : d.meta.hdr.origin;
            a.child.id = self_.id;
            a.child.hull_first = self_.id;
            a.child.hull_last = self_.id;
            a.total_packets = proto::packets_in_message(d.meta.hdr, d.meta.payload_len);
            a.last = ncopies_ == 0;
            a.gone = false;
            out_arm.write(a);
            counters_[kCntArmWords]++;
          }
          if (first && !pass_whole_) counters_[kCntLocalDeliveries]++;
          if (first && pass_whole_) counters_[kCntProbesToHost]++;
          w.dest = kHostPort;
          out_host.write(w);
          sent = true;
        }
      }
      if (sent) {
        ob_++;
        if (w.last == 1) {
          active_ = false;
          // Retire the frame in the clock of its last beat, so that the next clock starts the
          // next frame (no idle clock between frames).
          if (pass_whole_ || ncopies_ == 0) finish_frame();
        }
      }
      return;
    }

    // A copy.
    hls::stream<axis_word> &out = out_port[copy_port_];
    bool first = ob_ == 0;
    if (out.full() || (first && copy_arms_ && out_arm.full())) return;
    axis_word w;
    w.user = 0;
    w.dest = copy_port_;
    if (first) {
      w.data = hdr_beat_;
      w.keep = keep_for(proto::kBeatBytes);
      w.last = 0; // a copy always has a set: at least 66 bytes
      // Lower beat of output beat 1 for the window: stored beat floor((64 + delta) / 64).
      win_ = stored(beat_of((int32_t)proto::kBeatBytes + copy_delta_));
      if (copy_arms_) {
        out_arm.write(copy_arm_);
        counters_[kCntArmWords]++;
      }
      counters_[kCntCopiesSent]++;
    } else {
      // Output beat ob_ covers copy bytes o0 .. o0 + 63 after the header.
      uint32_t o0 = (ob_ - 1) * proto::kBeatBytes;
      int32_t pos = (int32_t)(ob_ * proto::kBeatBytes) + copy_delta_; // stored byte of output byte 0
      int32_t lo = beat_of(pos);
      uint32_t shift = (uint32_t)pos & (proto::kBeatBytes - 1);
      axis_data upper = stored(lo + 1); // the one ring read of this clock
      ap_uint<2 *kAxisDataBits> pair = (upper, win_);
      axis_data payload = pair >> (8 * shift);
      win_ = upper;
      uint32_t nset = copy_set_out_ > o0 ? copy_set_out_ - o0 : 0;
      if (nset > proto::kBeatBytes) nset = proto::kBeatBytes;
      uint32_t nvalid = copy_end_ - o0 < proto::kBeatBytes ? copy_end_ - o0 : proto::kBeatBytes;
      axis_data set_mask = low_bytes_mask(nset);
      axis_data set_part = 0;
      if (nset > 0) set_part = set_beats_[(ob_ - 1) & (kReplSetBeats - 1)] & set_mask;
      w.data = set_part | (payload & low_bytes_mask(nvalid) & ~set_mask);
      w.keep = keep_for(nvalid);
      w.last = o0 + proto::kBeatBytes >= copy_end_ ? 1 : 0;
    }
    w.strb = w.keep;
    out.write(w);
    ob_++;
    if (w.last == 1) {
      active_ = false;
      if (copy_next_ >= ncopies_) finish_frame(); // the frame's last copy: retire it now
    }
  }

  // Configuration.
  NodeAddress self_;
  uint8_t mode_;
  uint32_t fanout_;
  uint16_t udp_port_;
  uint64_t port_down_;
  NeighbourTable neighbours_;
  NodeDownTable down_;
  proto::PortTable ports_;
  proto::NodeId port_peer_[P];
  bool port_peer_valid_[P];
  uint8_t port_backup_[P];
  bool port_backup_valid_[P];
  proto::SetPolicy policy_;
  proto::RateLimiter<> rate_; // per-sender token buckets (576 KiB: URAM)
  uint32_t clock_;            // kernel clocks since reset: the rate limiter's time

  // Beat ring. Pointers count beats modulo 2^32; the slot is the pointer masked.
  axis_word ring_[kReplRingBeats];
  uint32_t wr_;   // next write
  uint32_t free_; // first beat still needed (start of the oldest frame not retired)
  Desc desc_[kReplDescs];
  uint32_t desc_wr_;   // descriptors opened (a frame's first beat arrived)
  uint32_t desc_done_; // descriptors whose frame is complete (tlast arrived)
  uint32_t desc_rd_;   // the engine's current frame
  bool in_mid_;        // a frame is arriving (its descriptor is open)

  // Engine.
  bool planned_;       // the current DATA frame is planned
  bool active_;        // a unit is being sent
  UnitKind unit_kind_; // what the unit is
  bool pass_whole_;    // kUnitHost/kUnitFb: the whole frame's only unit (PROBE, ACK, NACK)
  uint32_t ob_;        // beats of the unit sent
  bool local_pending_; // the local delivery is still to send
  uint32_t ncopies_;   // copies planned
  uint32_t copy_next_; // next copy to start
  axis_data win_;      // lower stored beat of the funnel shift (the previous clock's upper beat)

  // Plan of the current DATA frame.
  Desc frame_;
  uint8_t in_tos_;
  uint32_t max_set_bytes_;
  uint8_t body_[proto::kMaxSetBytes];
  proto::ReceiverSet set_;
  RemainingSet remaining_;
  RemainingSet chunk_set_;
  proto::Chunk chunks_[proto::kMaxTreeFanout];
  proto::LargeReceiverSet port_sets_[P]; // port mode: any subset, never truncated
  proto::IdRange pieces_[kReplMaxCopies];
  CopyPlan copies_[kReplMaxCopies];
  GoneChild gone_[kReplMaxGone];
  uint32_t ngone_;     // gone children planned
  uint32_t gone_next_; // next gone child to arm

  // Current copy.
  proto::ReceiverSet piece_;
  uint8_t build_[proto::kFixedHeadersBytes + proto::kMaxSetBytes];
  axis_data hdr_beat_;
  axis_data set_beats_[kReplSetBeats];
  uint32_t copy_set_out_;
  uint32_t copy_end_;
  int32_t copy_delta_;
  uint8_t copy_port_;
  ArmWord copy_arm_;
  bool copy_arms_; // the copy being sent arms the aggregator (not a retransmission)

  uint32_t counters_[kReplCounterCount];
};

} // namespace hw
} // namespace fanout

#endif
