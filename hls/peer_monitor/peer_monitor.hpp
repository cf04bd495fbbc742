// fanout::hw::PeerMonitor<Slots>: the NIC's peer monitor kernel, failure detection of the Fanout
// nodes this NIC is sending copies to.
//
// Why: in tree mode the replicator sends copies to chunk heads that sit behind switches; the link
// monitor (rtl/link_monitor.sv) only sees this NIC's own link. The peer monitor watches the nodes
// themselves and tells the replicator (PeerState, fanout/hls/peer_state.hpp) within a few
// microseconds that one died, so that it repairs locally (skips it, docs/reliability.md).
//
// One step() is one clock of a free-running kernel (PIPELINE II=1). `now` is the kernel's own
// clock counter, incremented by every step(): every time below is in clocks.
//
// Inputs (both taps: always read, at most one word per clock each, never back-pressured):
//  * in_seen: the parser's ParsedMeta of every valid Fanout frame this NIC received. A frame from
//    kHostPort (this node's own host) is counted and ignored. Any other frame is a sign of life of
//    hdr.origin (the node that emitted it: a copy's parent, a feedback frame's aggregator, a
//    probe's sender): if origin has a slot, its last_heard becomes now, and a slot that was down
//    is up again at once (PeerState{id, false}, counted by peers_up). A peer probe addressed to
//    us -- PROBE without kFlagReply, hops_left kPeerProbeHops (the link monitor's probes are broadcast with
//    hops 0), sender not this node -- is answered (see out_probe); answering needs no slot and
//    works while probing is disabled.
//    A DATA frame's origin (the parent that sent this node the copy) is watched as well (below),
//    as a parent: it gets a keepalive every interval (one way: a silent child is heard within
//    interval + one-way latency instead of a probe's round trip). Only children (peers this NIC
//    sends copies to) are probed and can be declared down: that is the replicator's business; a
//    parent that dies simply stops sending.
//  * in_watch: a tap of the replicator's ArmWord stream. A word with child.id != self and !gone
//    means "a copy just went to child.id": its slot's last_watched becomes now, or, when it has
//    none, the first free slot is allocated for it (last_heard = last_probe = last_watched = now:
//    a new peer has misses * interval clocks to be heard before it can be declared down); when no
//    slot is free the word is counted by watch_overflow (the peer is not monitored; the ACK
//    aggregator's silence timeout still covers it). Words for self or with gone set are ignored.
//
// Background walk: ONE slot per clock (cursor 0, 1, .., Slots - 1, 0, ..., advancing every clock
// whatever else happens), so every slot is examined exactly once every Slots clocks. A valid slot:
//  1. forget(id) requested: the slot is freed (once its queued probe, if any, has left); if it
//     was down, PeerState{id, false} is written (the replicator stops skipping it; were it still
//     dead, a new watch and the aggregator's timeout would find it again).
//  2. interval == 0 (disabled): no probe, no detection, no release; the slot's timers are held at
//     now (re-enabling gives every peer a full grace) and a down slot is reported up (no monitor,
//     nothing to skip).
//  3. release: not down, no probe queued, and now - last_watched >= idle: freed (a peer this NIC
//     no longer sends to is not watched); counted by released.
//  4. down slot heard again while the state queue was full: reported up now.
//     not down and now - last_heard >= misses * interval: declared down (PeerState{id, true},
//     counted by peers_down).
//  5. probe: (down, or now - last_heard >= interval) and now - last_probe >= interval and no
//     probe of this slot already queued: a probe with the slot's heartbeat sequence is queued
//     (seq + 1, last_probe = now). A down slot is never released: it is probed every interval so
//     that it is seen coming back (only forget() frees it). Hearing a peer also sets its
//     last_probe (which changes no decision: probes go by the later of the two) so that no age
//     grows without bound in a live slot.
// A decision that needs room (a probe in the probe queue, a transition in the state queue) and
// finds none is not taken: the slot is examined again Slots clocks later; nothing is lost.
//
// Detection bound. A peer whose last frame was read at clock t0 (its last_heard) is declared down
// in the first walk visit at a clock >= t0 + misses * interval, i.e. by t0 + misses * interval +
// Slots - 1, and its PeerState leaves on out_state in that same clock unless an up event
// (in_seen) was queued in the same clock: worst case
//     t_down - t0 <= misses * interval + Slots clocks  (out_state not back-pressured),
// and never earlier than misses * interval. Defaults: 3 * 800 + 64 = 2,464 clocks = 8.2 us at
// the 300 MHz kernel clock (hls/vitis/boards.tcl), within the 10 us target; the top's AXI-Stream
// register slices add a few clocks of wire latency on top. Measured (PeerMonitor.
// DetectionWithinBound, 192 peers dying at random phases): 2,700 .. 2,763 clocks.
// False detection: a silent live peer is probed at its first walk visit >= interval after its
// last frame (at most interval + Slots - 1 clocks after it), then every interval rounded up to
// whole walks (ceil(interval / Slots) * Slots = 960 by default) while silent, and declared down
// only if no answer is read by misses * interval. With the defaults, worst walk phase: the first
// probe must be answered within 1,736 clocks (5.8 us), or, if it or its reply is lost, the
// second within 777 clocks (2.6 us). Peers that send anything (data, ACKs) are never probed.
//
// Outputs:
//  * out_probe: single-beat (64-byte) PROBE frames, one beat per clock at most, built with
//    proto::build_frame: Ethernet/IPv4 destination = the peer's neighbour entry (MAC, IPv4;
//    tdest = its port), source = this node; TOS kPeerProbeTos (DSCP CS6), TTL kDefaultIpTtl, IP id 0;
//    UDP source port =
//    destination port = the configured port, checksum 0; Fanout PROBE, sender = origin = this
//    node, message id 0, length 0, no set, hops_left kPeerProbeHops (1: a peer probe; the link
//    monitor's are broadcast with hops 0), sequence = the slot's heartbeat counter, flags 0.
//    A reply is the same frame to the prober (its hdr.sender's neighbour entry) with kFlagReply
//    and the probe's sequence. tuser 0, tlast 1, tkeep all 64 bytes.
//    Probes wait in the probe queue (kPeerProbeQueueDepth; a slot has at most one probe queued,
//    so back-pressure never makes a burst of stale probes), replies in the reply queue
//    (kPeerReplyQueueDepth; a peer probe that finds it full is not answered, counted by
//    replies_dropped: its prober sends another one interval later). When both hold a frame they
//    alternate. The neighbour entry is read when the frame leaves (one table read per clock): an
//    invalid entry makes the frame unroutable, counted, not sent (the only discard besides
//    replies_dropped). full() is checked before every write.
//  * out_state: PeerState{id, down} on every transition, through a small queue
//    (kPeerStateQueueDepth, one write per clock at most); a transition is made only when the
//    queue has room.
//
// Hardware mapping: the slots are registers (64 x about 150 bits); a look-up by id (in_seen
// origin, in_watch child, is_down, forget) is a parallel compare over all slots, and the free
// slot a watch word takes is a priority encoder over the valid bits: both fine at 64 x 16 bits.
// The walk reads and writes one slot per clock. C-simulation builds a frame (proto::build_frame)
// inside one step(); in hardware the 64-byte header is a handful of constant bytes plus the
// entry's addresses, the sequence and the IPv4 checksum: one pipelined clock or two.
//
// Configuration (every register takes effect at once; slots are kept): set_self, set_udp_port,
// set_neighbour / apply_table_write (kTableNeighbour; other kinds are not held here),
// set_interval (clocks; 0 disables probing and detection), set_misses (>= 1), set_idle (clocks).
// Defaults (kPeerDefault*): interval 800 (2.7 us), misses 3, idle 4 * 800 = 3,200 (11 us).
//
// Stream depths: step() takes streams of the default depth (2, the FIFO Vitis builds between
// dataflow processes); at the top (peer_monitor_top.cpp) they are AXI-Stream ports, which have
// no depth. The only buffering is the three small queues above.
//
// C++14, synthesizable subset: fixed arrays, bounded loops, no allocation.
#ifndef FANOUT_HLS_PEER_MONITOR_PEER_MONITOR_HPP
#define FANOUT_HLS_PEER_MONITOR_PEER_MONITOR_HPP

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
#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace hw {

// Defaults (clocks of the 300 MHz kernel clock, hls/vitis/boards.tcl): detection within
// kPeerDefaultMisses * kPeerDefaultInterval + Slots = 2,464 clocks (8.2 us) for 64 slots: the
// verdict reaches the replicator within 10 us of the fault with a microsecond to spare for the
// last frame heard to cross the NIC's receive path (measured in the simulator: docs/reliability.md).
static const uint32_t kPeerDefaultInterval = 800; // 2.7 us between probes of a silent peer
static const uint32_t kPeerDefaultMisses = 3;     // silent intervals before a peer is down
static const uint32_t kPeerDefaultIdleFactor = 4; // watched while copies flow, not long after
static const uint32_t kPeerDefaultIdle = kPeerDefaultIdleFactor * kPeerDefaultInterval; // 11 us
static const uint32_t kPeerDefaultNewGrace = 2; // a peer not yet heard: 2 x 2,400 clocks (16 us)
// hops_left of the probes and replies this kernel sends (a peer frame, never forwarded further;
// the link monitor's probes carry 0).
static const uint8_t kPeerProbeHops = proto::kPeerProbeHops;
// IPv4 TOS of probes and replies: DSCP CS6 (network control), so that switches queue them ahead
// of data (strict priority); a heartbeat stuck behind a deep data queue would read as a dead peer.
static const uint8_t kPeerProbeTos = 0xC0;
// Queues (powers of two: pointers wrap by masking).
static const uint32_t kPeerProbeQueueDepth = 8; // probes decided, waiting for out_probe
static const uint32_t kPeerReplyQueueDepth = 4; // replies to peer probes, waiting for out_probe
static const uint32_t kPeerStateQueueDepth = 4; // transitions waiting for out_state
static_assert((kPeerProbeQueueDepth & (kPeerProbeQueueDepth - 1)) == 0, "queue size must be a power of two");
static_assert((kPeerReplyQueueDepth & (kPeerReplyQueueDepth - 1)) == 0, "queue size must be a power of two");
static_assert((kPeerStateQueueDepth & (kPeerStateQueueDepth - 1)) == 0, "queue size must be a power of two");

// Counter indices (read_counters(); the top's `counters` register array).
enum PeerMonitorCounter {
  kPeerCntProbesSent = 0, // probes written to out_probe
  kPeerCntRepliesSent,    // replies written to out_probe
  kPeerCntPeersDown,      // up -> down transitions
  kPeerCntPeersUp,        // down -> up transitions (heard again, or disabled)
  kPeerCntWatchOverflow,  // watch words for an unwatched peer with no slot free
  kPeerCntRepliesDropped, // peer probes not answered: reply queue full
  kPeerCntUnroutable,     // probes / replies not sent: no valid neighbour entry
  kPeerCntSeenFrames,     // ParsedMeta read from in_seen (every one)
  kPeerCntSeenHost,       // ... of which from kHostPort (ignored)
  kPeerCntProbesIn,       // peer probes received (answered or dropped)
  kPeerCntWatchWords,     // ArmWords read from in_watch (every one)
  kPeerCntWatchIgnored,   // ... of which for self or with gone set
  kPeerCntReleased,       // slots freed: not watched for idle clocks
  kPeerCntForgotten,      // slots freed by forget()
  kPeerCntBuildErrors,    // frames build_frame refused (never expected; not sent)
  kPeerCntWatched,        // slots in use now (a level, not an event count)
  kPeerCntParentWatch,    // DATA frames whose origin (a parent) was watched or refreshed
  kPeerCntKeepalives,     // keepalives queued to parents (probes with kFlagReply, unanswered)
  kPeerCntCount
};

template <uint32_t Slots = 64> class PeerMonitor {
  static_assert(Slots >= 1 && Slots <= 1024, "1 <= Slots <= 1024");

 public:
  PeerMonitor() {
    self_.id = 0;
    for (uint32_t i = 0; i < 6; i++) self_.mac[i] = 0;
    self_.ipv4 = 0;
    udp_port_ = proto::kDefaultUdpPort;
    interval_ = kPeerDefaultInterval;
    misses_ = kPeerDefaultMisses;
    idle_ = kPeerDefaultIdle;
    new_grace_ = kPeerDefaultNewGrace;
    keepalive_all_ = false;
    update_down_after();
    reset();
  }

  // Slots, queues, counters and the clock back to zero (configuration and table kept).
  void reset() {
    for (uint32_t s = 0; s < Slots; s++) {
      valid_[s] = false;
      id_[s] = 0;
      down_[s] = false;
      up_pending_[s] = false;
      pending_[s] = false;
      forget_[s] = false;
      seq_[s] = 0;
      parent_[s] = false;
      child_[s] = false;
      heard_once_[s] = false;
      last_sent_[s] = 0;
      last_heard_[s] = 0;
      last_probe_[s] = 0;
      last_watched_[s] = 0;
    }
    pq_wr_ = 0;
    pq_rd_ = 0;
    rq_wr_ = 0;
    rq_rd_ = 0;
    sq_wr_ = 0;
    sq_rd_ = 0;
    last_was_reply_ = false;
    cursor_ = 0;
    now_ = 0;
    watched_ = 0;
    for (uint32_t i = 0; i < kPeerCntCount; i++) counters_[i] = 0;
  }

  // ---- Configuration -------------------------------------------------------------------------
  void set_self(const NodeAddress &a) { self_ = a; }
  const NodeAddress &self() const { return self_; }
  // UDP source and destination port of the probes and replies.
  void set_udp_port(uint16_t port) { udp_port_ = port; }
  uint16_t udp_port() const { return udp_port_; }
  void set_neighbour(proto::NodeId id, const NeighbourEntry &e) { table_.set(id, e); }
  void erase_neighbour(proto::NodeId id) { table_.erase(id); }
  // One entry written through the tbl_* registers (table_write.hpp); other kinds are not held.
  void apply_table_write(const TableWrite &w) {
    if (w.kind == kTableNeighbour) table_.set(w.index, neighbour_from_write(w));
  }
  // Heartbeat interval in clocks; 0 disables probing and detection (see the walk, rule 2).
  void set_interval(uint32_t clocks) {
    interval_ = clocks;
    update_down_after();
  }
  uint32_t interval() const { return interval_; }
  // Silent intervals before a peer is declared down (0 counts as 1).
  // A peer not heard since it was watched is declared down only after `factor` (1..8) times the
  // usual silence: its first copy and its first keepalive are still on their way (NIC egress
  // behind data, the fabric), and a false "down" costs a live receiver its data.
  void set_new_peer_grace(uint32_t factor) {
    new_grace_ = factor < 1 ? 1 : factor > 8 ? 8 : factor;
    update_down_after();
  }
  uint32_t new_peer_grace() const { return new_grace_; }
  // Keepalives to every watched peer (default), or only to parents (peers that send this node
  // DATA). With both ends of a tree edge sending one every interval, each hears the other one
  // way (NIC egress, fabric, NIC ingress) instead of a probe's round trip: under full load the
  // round trip does not fit misses x interval, the one way does. Cost: one 64-byte frame per
  // watched peer per interval each way (0.19 Gb/s per peer at the defaults).
  void set_keepalive_all(bool on) { keepalive_all_ = on; }
  bool keepalive_all() const { return keepalive_all_; }
  void set_misses(uint32_t m) {
    misses_ = m == 0 ? 1 : m;
    update_down_after();
  }
  uint32_t misses() const { return misses_; }
  // Clocks without a watch word before a live peer's slot is freed.
  void set_idle(uint32_t clocks) { idle_ = clocks; }
  uint32_t idle_timeout() const { return idle_; }
  // Clocks of silence after which a peer is declared down: misses * interval (saturating).
  uint32_t down_after() const { return down_after_; }

  // Software: stop watching `id` (a decommissioned node), even when it is down. The slot is freed
  // at its next walk visit, within Slots clocks (rule 1 above); false if `id` has no slot.
  bool forget(proto::NodeId id) {
    uint32_t s = find(id);
    if (s >= Slots) return false;
    forget_[s] = true;
    return true;
  }

  // ---- Status --------------------------------------------------------------------------------
  uint32_t counter(int c) const {
    if (c == (int)kPeerCntWatched) return watched_;
    return c >= 0 && c < (int)kPeerCntCount ? counters_[c] : 0;
  }
  void read_counters(uint32_t out[kPeerCntCount]) const {
    for (uint32_t i = 0; i < kPeerCntCount; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      out[i] = i == (uint32_t)kPeerCntWatched ? watched_ : counters_[i];
    }
  }
  // Slots in use.
  uint32_t watched() const { return watched_; }
  bool is_watched(proto::NodeId id) const { return find(id) < Slots; }
  // `id` has a slot and is declared down.
  bool is_down(proto::NodeId id) const {
    uint32_t s = find(id);
    return s < Slots && down_[s];
  }
  // The clock counter the next step() uses.
  uint32_t now() const { return now_; }
  // No probe, reply or transition waiting to leave.
  bool idle() const { return pq_wr_ == pq_rd_ && rq_wr_ == rq_rd_ && sq_wr_ == sq_rd_; }

  // ---- One clock -----------------------------------------------------------------------------
  void step(hls::stream<ParsedMeta> &in_seen, hls::stream<ArmWord> &in_watch, hls::stream<axis_word> &out_probe,
            hls::stream<PeerState> &out_state) {
    FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = valid_ complete)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = id_ complete)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = down_ complete)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = up_pending_ complete)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = pending_ complete)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = forget_ complete)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = last_heard_ complete)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = last_watched_ complete)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = parent_ complete)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = heard_once_ complete)
    FANOUT_HLS_PRAGMA(HLS ARRAY_PARTITION variable = child_ complete)

    // Frames heard: signs of life, and peer probes to answer.
    if (!in_seen.empty()) {
      ParsedMeta m = in_seen.read();
      counters_[kPeerCntSeenFrames]++;
      if (m.ingress_port == kHostPort) {
        counters_[kPeerCntSeenHost]++;
      } else {
        heard(m.hdr.origin);
        const proto::FanoutHeader &h = m.hdr;
        // A DATA copy's origin is a parent: watch it too, so that this node probes it when it is
        // silent -- and those probes are the parent's evidence that this child lives (one way,
        // not a round trip). One allocation per clock: skipped when in_watch holds a word (the
        // parent's next packet tries again).
        bool stream = h.type == proto::kTypeData && proto::packets_in_message(h, m.payload_len) != 1;
        if (stream && h.origin != self_.id && (in_watch.empty() || find(h.origin) < Slots)) {
          counters_[kPeerCntParentWatch]++;
          watch(h.origin);
          uint32_t ps = find(h.origin);
          if (ps < Slots) parent_[ps] = true;
        }
        if (proto::is_peer_probe(h.type, h.hops_left) && (h.flags & proto::kFlagReply) == 0 && h.sender != self_.id) {
          counters_[kPeerCntProbesIn]++;
          if (rq_wr_ - rq_rd_ < kPeerReplyQueueDepth) {
            FrameReq &r = rq_[rq_wr_ & (kPeerReplyQueueDepth - 1)];
            r.dest = h.sender;
            r.seq = h.sequence;
            r.slot = 0;
            r.keepalive = false;
            rq_wr_++;
          } else {
            counters_[kPeerCntRepliesDropped]++;
          }
        }
      }
    }

    // Copies sent: peers to watch.
    if (!in_watch.empty()) {
      ArmWord a = in_watch.read();
      counters_[kPeerCntWatchWords]++;
      // A one-packet message is gone with its packet: liveness matters for streams (local repair
      // mid-message), and watching every short edge of an all-to-all costs more heartbeats than
      // data. Only copies of multi-packet messages are watched.
      if (a.gone || a.child.id == self_.id || a.total_packets == 1) {
        counters_[kPeerCntWatchIgnored]++;
      } else {
        watch(a.child.id);
        uint32_t cs = find(a.child.id);
        if (cs < Slots) child_[cs] = true;
      }
    }

    // One slot of the walk.
    walk(cursor_);
    cursor_ = cursor_ + 1 == Slots ? 0 : cursor_ + 1;

    // One frame out (a reply and a probe waiting alternate).
    bool have_reply = rq_wr_ != rq_rd_;
    bool have_probe = pq_wr_ != pq_rd_;
    if ((have_reply || have_probe) && !out_probe.full()) {
      bool reply = have_reply && (!have_probe || !last_was_reply_);
      last_was_reply_ = reply;
      FrameReq r;
      if (reply) {
        r = rq_[rq_rd_ & (kPeerReplyQueueDepth - 1)];
        rq_rd_++;
      } else {
        r = pq_[pq_rd_ & (kPeerProbeQueueDepth - 1)];
        pq_rd_++;
        if (valid_[r.slot] && id_[r.slot] == r.dest) pending_[r.slot] = false;
      }
      send(r, reply, out_probe);
    }

    // One transition out.
    if (sq_wr_ != sq_rd_ && !out_state.full()) {
      out_state.write(sq_[sq_rd_ & (kPeerStateQueueDepth - 1)]);
      sq_rd_++;
    }
    now_++;
  }

 private:
  struct FrameReq {
    proto::NodeId dest; // peer probed (probe) or prober (reply)
    uint32_t seq;       // sequence of the frame
    uint16_t slot;      // probe: the slot it was decided for
    bool keepalive;     // probe queue: a keepalive to a parent (sent with kFlagReply)
  };

  void update_down_after() {
    uint64_t d = (uint64_t)misses_ * interval_;
    down_after_ = d > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)d;
    uint64_t f = d * new_grace_;
    first_down_after_ = f > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)f;
  }

  // Slot holding `id`, or Slots: a parallel compare in hardware.
  uint32_t find(proto::NodeId id) const {
    uint32_t hit = Slots;
    for (uint32_t s = 0; s < Slots; s++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      if (valid_[s] && id_[s] == id) hit = s;
    }
    return hit;
  }
  // Lowest free slot, or Slots: a priority encoder.
  uint32_t first_free() const {
    uint32_t f = Slots;
    for (uint32_t i = Slots; i > 0; i--) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      if (!valid_[i - 1]) f = i - 1;
    }
    return f;
  }

  bool state_room() const { return sq_wr_ - sq_rd_ < kPeerStateQueueDepth; }
  void push_state(proto::NodeId id, bool down) {
    PeerState &p = sq_[sq_wr_ & (kPeerStateQueueDepth - 1)];
    p.id = id;
    p.down = down;
    sq_wr_++;
    counters_[down ? kPeerCntPeersDown : kPeerCntPeersUp]++;
  }

  void free_slot(uint32_t s) {
    valid_[s] = false;
    parent_[s] = false;
    child_[s] = false;
    down_[s] = false;
    up_pending_[s] = false;
    forget_[s] = false;
    pending_[s] = false;
    watched_--;
  }

  // A frame from `origin` was read.
  void heard(proto::NodeId origin) {
    uint32_t s = find(origin);
    if (s >= Slots) return;
    heard_once_[s] = true;
    last_heard_[s] = now_;
    last_probe_[s] = now_;
    if (!down_[s]) return;
    if (state_room()) {
      bring_up(s);
    } else {
      up_pending_[s] = true; // reported by the walk (rule 4) when the queue has room
    }
  }

  void bring_up(uint32_t s) {
    push_state(id_[s], false);
    down_[s] = false;
    up_pending_[s] = false;
    last_watched_[s] = now_; // watched for another idle period after it comes back
  }

  void watch(proto::NodeId id) {
    uint32_t s = find(id);
    if (s < Slots) {
      last_watched_[s] = now_;
      return;
    }
    uint32_t f = first_free();
    if (f >= Slots) {
      counters_[kPeerCntWatchOverflow]++;
      return;
    }
    valid_[f] = true;
    id_[f] = id;
    down_[f] = false;
    up_pending_[f] = false;
    pending_[f] = false;
    forget_[f] = false;
    seq_[f] = 0;
    parent_[f] = false;
    child_[f] = false;
    heard_once_[f] = false;
    last_sent_[f] = now_;
    last_heard_[f] = now_;
    last_probe_[f] = now_;
    last_watched_[f] = now_;
    watched_++;
  }

  // Examine slot s (the rules of the header comment, in order).
  void walk(uint32_t s) {
    if (!valid_[s]) return;
    // 1. forget()
    if (forget_[s]) {
      if (pending_[s]) return;
      if (down_[s]) {
        if (!state_room()) return;
        push_state(id_[s], false);
      }
      free_slot(s);
      counters_[kPeerCntForgotten]++;
      return;
    }
    // 2. disabled: timers held, nothing down.
    if (interval_ == 0) {
      last_heard_[s] = now_;
      last_probe_[s] = now_;
      last_watched_[s] = now_;
      if (down_[s] && state_room()) bring_up(s);
      return;
    }
    uint32_t heard_age = now_ - last_heard_[s];
    uint32_t probe_age = now_ - last_probe_[s];
    // 3. release
    if (!down_[s] && !pending_[s] && now_ - last_watched_[s] >= idle_) {
      free_slot(s);
      counters_[kPeerCntReleased]++;
      return;
    }
    // 4. transitions
    if (down_[s]) {
      if (up_pending_[s] && state_room()) bring_up(s);
    } else if (child_[s] && heard_age >= (heard_once_[s] ? down_after_ : first_down_after_) && state_room()) {
      push_state(id_[s], true);
      down_[s] = true;
    }
    // 5. probe; 6. keepalive to a parent (a REPLY-flagged probe, unanswered: this child's
    // heartbeat, sent every interval whatever it hears, since a parent streaming data to it has
    // nothing to hear back)
    bool silent = (down_[s] && !up_pending_[s]) || heard_age >= interval_;
    bool probe = child_[s] && silent && probe_age >= interval_;
    bool keepalive = !probe && (parent_[s] || keepalive_all_) && !down_[s] && now_ - last_sent_[s] >= interval_;
    if ((probe || keepalive) && !pending_[s] && pq_wr_ - pq_rd_ < kPeerProbeQueueDepth) {
      FrameReq &r = pq_[pq_wr_ & (kPeerProbeQueueDepth - 1)];
      r.dest = id_[s];
      r.seq = seq_[s];
      r.slot = (uint16_t)s;
      r.keepalive = keepalive;
      pq_wr_++;
      seq_[s]++;
      if (probe) last_probe_[s] = now_;
      last_sent_[s] = now_;
      pending_[s] = true;
      if (keepalive) counters_[kPeerCntKeepalives]++;
    }
  }

  // Build and write one probe or reply (out_probe has room).
  void send(const FrameReq &r, bool reply, hls::stream<axis_word> &out_probe) {
    const NeighbourEntry &n = table_.get(r.dest);
    if (!n.valid) {
      counters_[kPeerCntUnroutable]++;
      return;
    }
    proto::NetHeaders net;
    for (uint32_t i = 0; i < 6; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      net.eth_dst[i] = n.mac[i];
      net.eth_src[i] = self_.mac[i];
    }
    net.ip_src = self_.ipv4;
    net.ip_dst = n.ipv4;
    net.ip_tos = kPeerProbeTos;
    net.ip_ttl = proto::kDefaultIpTtl;
    net.ip_id = 0;
    net.udp_src_port = udp_port_;
    net.udp_dst_port = udp_port_;
    proto::FanoutHeader h = proto::make_header(proto::kTypeProbe, self_.id, self_.id, 0, r.seq, 0);
    h.hops_left = kPeerProbeHops;
    h.flags = reply || r.keepalive ? proto::kFlagReply : (uint8_t)0;
    proto::BasicReceiverSet<1> none;
    uint32_t len = 0;
    int code = proto::build_frame(net, h, none, (const uint8_t *)0, 0, proto::default_build_options(), buf_,
                                  proto::kBeatBytes, &len);
    if (code != proto::kOk || len != proto::kBeatBytes) {
      counters_[kPeerCntBuildErrors]++;
      return;
    }
    axis_word w;
    for (uint32_t i = 0; i < proto::kBeatBytes; i++) {
      FANOUT_HLS_PRAGMA(HLS UNROLL)
      set_byte(w.data, i, buf_[i]);
    }
    w.keep = keep_for(proto::kBeatBytes);
    w.strb = w.keep;
    w.user = 0;
    w.last = 1;
    w.dest = n.port;
    out_probe.write(w);
    counters_[reply ? kPeerCntRepliesSent : kPeerCntProbesSent]++;
  }

  // Configuration.
  NodeAddress self_;
  uint16_t udp_port_;
  uint32_t interval_;
  uint32_t misses_;
  uint32_t idle_;
  uint32_t down_after_;       // misses_ * interval_, saturating
  uint32_t new_grace_;        // a peer never heard since it was watched: new_grace_ times longer
  uint32_t first_down_after_; // down_after_ * new_grace_, saturating
  NeighbourTable table_;

  // Slots (registers; see the header comment).
  bool valid_[Slots];
  proto::NodeId id_[Slots];
  bool down_[Slots];       // declared down
  bool up_pending_[Slots]; // down, heard again, up event not yet queued
  bool pending_[Slots];    // a probe of this slot is in the probe queue
  bool forget_[Slots];     // forget() requested
  uint32_t seq_[Slots];    // heartbeat sequence of the next probe
  uint32_t last_heard_[Slots];
  uint32_t last_probe_[Slots];
  uint32_t last_watched_[Slots];
  bool parent_[Slots];        // watched because it sends this node DATA: keepalives go to it
  bool heard_once_[Slots];    // heard since it was watched (until then: twice the grace)
  bool child_[Slots];         // this NIC sends it copies: probed when silent, declared down
  bool keepalive_all_;        // keepalives to every watched peer, not only to parents
  uint32_t last_sent_[Slots]; // last probe or keepalive queued for it
  uint32_t cursor_;           // slot the walk examines this clock
  uint32_t watched_;

  // Queues (ring buffers, free-running pointers).
  FrameReq pq_[kPeerProbeQueueDepth];
  uint32_t pq_wr_;
  uint32_t pq_rd_;
  FrameReq rq_[kPeerReplyQueueDepth];
  uint32_t rq_wr_;
  uint32_t rq_rd_;
  PeerState sq_[kPeerStateQueueDepth];
  uint32_t sq_wr_;
  uint32_t sq_rd_;
  bool last_was_reply_;
  uint8_t buf_[proto::kBeatBytes]; // the frame being built

  uint32_t now_;
  uint32_t counters_[kPeerCntCount];
};

} // namespace hw
} // namespace fanout

#endif
