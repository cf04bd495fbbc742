// ACK/NACK aggregation at a relay (and at the sender's own NIC, whose "parent" is its host).
//
// When a DATA packet leaves a node, the node arms an entry for the message: "expect feedback
// from these children" (each child with the hull [first, last] of the ids it was sent). Then:
//  - ACK from a child: the child's cumulative sequence, covered count and covered id ranges are
//    recorded (a lower sequence than already held is a duplicate or late ACK: ignored). Once
//    every child has reported or been declared silent, one ACK goes upstream with
//    sequence = minimum over reporting children, covered = sum, ranges = union; it is sent again
//    only when that aggregate changes. Ranges are exact: every id in them acknowledged.
//  - NACK from a child: forwarded upstream at once, unless the same (message, flags, sequence,
//    count) was forwarded within the suppression window for ids that include all of this NACK's
//    ids (so a GONE NACK never suppresses, nor is suppressed by, one without kFlagGone).
//  - a child silent for longer than the timeout -- counted from its last feedback or the last
//    packet armed towards it, whichever is later, so a long message is not cut short -- is
//    reported upstream by a NACK with kFlagSilent, sequence = the child's last cumulative
//    sequence, count 0, ranges = the child's hull; it no longer holds back the aggregate.
//  - re-arming from another parent (the tree was repaired around a failed relay, or a port
//    moved to its backup) moves the entry to that parent: feedback follows the data's latest
//    path, and the aggregate is sent again at its next change.
//  - a child gone (mark_gone: the peer monitor says it is down, no copy went to it): like arm()
//    for that child, but it is settled at once (never holds back the aggregate, never reported
//    silent) and reported upstream exactly once by a NACK with kFlagGone, origin = self,
//    sequence = the child's last cumulative sequence (0 if none), count 0, ranges = the hull of
//    the mark_gone call (it replaces a recorded child's hull). A complete child stays complete
//    (no report); a gone child stays gone (no second report). mark_gone emits nothing: the
//    report leaves from the next expire() that examines the entry (no timeout), or from on_ack
//    when it emits the entry's aggregate (reports first, then the ACK). A gone child that
//    acknowledges later came back: its ACK is recorded normally (before its report: no report).
//    Per call and entry, a child is reported once at most (silent or gone), so one call writes
//    at most kMaxOutputsPerEntry = Children + 1 outputs for an entry.
// Nothing is ever dropped for lack of room: when the table is full, a message is not armed and
// its ACKs pass through unchanged (to the parent if known, else to the message's sender); the
// same for an ACK from an unknown child or one with more ranges than a child slot holds (that
// child's ACKs pass through from then on). The sender counts receivers from exact ranges, so
// unaggregated ACKs cost packets, never correctness.
//
// Time is a caller-supplied tick counter (clock cycles in hardware, microseconds in software);
// comparisons are wrap-safe. C++14, synthesizable subset: hash-indexed set-associative tables,
// bounded loops.
#ifndef FANOUT_PROTO_AGGREGATOR_HPP
#define FANOUT_PROTO_AGGREGATOR_HPP

#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace proto {

struct MessageKey {
  NodeId sender;
  uint32_t message_id;
};
inline bool same_key(const MessageKey &a, const MessageKey &b) {
  return a.sender == b.sender && a.message_id == b.message_id;
}

// Ranges a feedback packet can carry and an aggregator handles: a full list body (512 ids).
static const uint32_t kMaxFeedbackRanges = kMaxSetBytes / 2;
typedef BasicReceiverSet<kMaxFeedbackRanges> FeedbackSet;

// An ACK or NACK as aggregation sees it (decoded from, or encoded into, a packet).
struct Feedback {
  uint8_t type;  // kTypeAck or kTypeNack
  uint8_t flags; // kFlagSilent on silent reports, kFlagGone on gone reports
  NodeId origin; // node that emitted it
  MessageKey key;
  uint32_t sequence; // ACK: cumulative; NACK: first missing
  uint32_t length;   // ACK: receivers covered; NACK: missing count (0 = all from sequence on)
  FeedbackSet set;   // ACK: ids covered; NACK: ids missing data
};

struct AggOutput {
  NodeId dest; // next hop upstream (== config self: deliver to this node's host)
  Feedback fb;
};

struct ChildSpec {
  NodeId id;
  NodeId hull_first; // lowest id sent to this child
  NodeId hull_last;  // highest id sent to this child
};

struct AggregatorConfig {
  NodeId self;
  uint32_t silent_timeout; // ticks without feedback before a child is reported silent
  uint32_t nack_window;    // ticks a forwarded NACK suppresses its repeats
};

struct AggregatorStats {
  uint32_t armed;             // entries created
  uint32_t arm_overflow;      // messages not armed: table full (their ACKs pass through)
  uint32_t children_overflow; // children not recorded: entry full (their ACKs pass through)
  uint32_t acks_in;
  uint32_t acks_merged;    // ACKs absorbed into an entry
  uint32_t acks_duplicate; // ACKs that advanced nothing (duplicate or late)
  uint32_t acks_emitted;   // aggregated ACKs sent upstream
  uint32_t acks_passed;    // ACKs passed through unchanged
  uint32_t nacks_in;
  uint32_t nacks_forwarded;
  uint32_t nacks_suppressed;
  uint32_t silent_reported;   // silent children reported upstream
  uint32_t gone_reported;     // gone children reported upstream (mark_gone)
  uint32_t entries_completed; // entries freed: every child complete, silent, gone or passed through
  uint32_t entries_in_use;
};

enum ArmResult { kArmNew, kArmExisting, kArmTableFull };

// Children one arm() call examines: the largest fan-out or port count (64) + local delivery.
// Children past an entry's capacity are counted in children_overflow; their ACKs pass through.
static const uint32_t kMaxArmChildren = 65;

// Sets: hash buckets (power of two); Ways: entries per bucket; Children: children per entry
// (tree fan-out + 1 for local delivery, or switch ports + 1); RangesPerChild: ranges kept per child.
template <uint32_t Sets = 256, uint32_t Ways = 4, uint32_t Children = 17, uint32_t RangesPerChild = 4>
class AckAggregator {
  static_assert((Sets & (Sets - 1)) == 0, "Sets must be a power of two");
  static_assert(Children * RangesPerChild <= kMaxFeedbackRanges, "aggregate must fit one feedback packet");

 public:
  static const uint32_t kMaxOutputsPerEntry = Children + 1; // one silent or gone NACK per child + one ACK

  explicit AckAggregator(const AggregatorConfig &cfg) : cfg_(cfg), cursor_(0) { reset(); }

  void reset() {
    for (uint32_t i = 0; i < Sets * Ways; i++) {
      acks_[i].valid = false;
      nacks_[i].valid = false;
    }
    AggregatorStats zero = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    stats_ = zero;
    cursor_ = 0;
  }
  const AggregatorStats &stats() const { return stats_; }
  const AggregatorConfig &config() const { return cfg_; }
  // Live reconfiguration (the NIC's registers): entries are kept. New timeouts apply from the
  // next comparison; a new self id from the next output.
  void set_config(const AggregatorConfig &cfg) { cfg_ = cfg; }

  // A DATA packet of `key` left towards `children` (the ids it came from: `parent`).
  // total_packets: packets in the message, 0 if not known yet. Idempotent per message:
  // re-arming adds children not yet recorded and learns total_packets.
  ArmResult arm(const MessageKey &key, NodeId parent, const ChildSpec *children, uint32_t nchildren,
                uint32_t total_packets, uint32_t now) {
    ArmResult result = kArmExisting;
    AckEntry *e = arm_entry(key, parent, total_packets, result);
    if (!e) return kArmTableFull;
    for (uint32_t i = 0; i < kMaxArmChildren; i++) {
      if (i >= nchildren) break;
      Child *c = find_child(*e, children[i].id);
      if (c) {
        // Still being sent data: its silence counts from this packet on.
        if (c->state == kWaiting) c->last_heard = now;
        continue;
      }
      add_child(*e, children[i], kWaiting, now);
    }
    return result;
  }

  // The peer monitor says `child` is down: no copy of this packet went to it (local repair).
  // Arms the message like arm(key, parent, &child, 1, total_packets, now) (same table-full and
  // children-full rules and counters), recording the child as gone with the hull given here:
  // settled at once, reported upstream once by a NACK with kFlagGone. A recorded child that is
  // not complete becomes gone (its hull replaced); a complete or already gone child is left as
  // it is. Produces no output (the report leaves from expire() or on_ack()).
  void mark_gone(const MessageKey &key, NodeId parent, const ChildSpec &child, uint32_t total_packets, uint32_t now) {
    ArmResult result = kArmExisting;
    AckEntry *e = arm_entry(key, parent, total_packets, result);
    if (!e) return;
    Child *c = find_child(*e, child.id);
    if (!c) {
      add_child(*e, child, kGone, now);
      return;
    }
    if (c->state == kGone || c->state == kGoneReported || child_complete(*e, *c)) return;
    c->state = kGone;
    c->hull_first = child.hull_first;
    c->hull_last = child.hull_last;
  }

  // Upstream next hop for a message: the parent it was armed with, else the message's sender.
  NodeId upstream_of(const MessageKey &key) const {
    const AckEntry *e = find_ack_const(key);
    return e ? e->parent : key.sender;
  }

  bool is_armed(const MessageKey &key) const { return find_ack_const(key) != 0; }

  // An ACK arrived. Writes what must be sent upstream to out[0..max_out) and returns how many
  // (max_out >= 1): the ACK passed through, or the entry's unreported gone children followed by
  // the aggregated ACK -- at most kMaxOutputsPerEntry. When max_out cannot hold the gone reports
  // and the ACK, the ACK is held back (0 returned): the next expire() of the entry sends the
  // reports, then the ACK.
  uint32_t on_ack(const Feedback &ack, uint32_t now, AggOutput *out, uint32_t max_out) {
    stats_.acks_in++;
    AckEntry *e = find_ack(ack.key);
    Child *c = e ? find_child(*e, ack.origin) : 0;
    if (c && c->state != kPassThrough && ack.set.range_count() > RangesPerChild) c->state = kPassThrough;
    if (!c || c->state == kPassThrough) {
      stats_.acks_passed++;
      out[0].dest = e ? e->parent : ack.key.sender;
      out[0].fb = ack;
      return 1;
    }
    c->last_heard = now;
    // A reported child only moves forward; a silent or gone child that speaks again is counted
    // again.
    bool stale = c->state == kReported &&
                 (ack.sequence < c->sequence || (ack.sequence == c->sequence && ack.length == c->covered));
    if (stale) {
      stats_.acks_duplicate++;
      return 0;
    }
    stats_.acks_merged++;
    c->state = kReported;
    c->sequence = ack.sequence;
    c->covered = ack.length;
    c->nranges = ack.set.range_count();
    for (uint32_t r = 0; r < RangesPerChild; r++) {
      if (r >= c->nranges) break;
      c->ranges[r] = ack.set.range(r);
    }
    return emit_if_changed(*e, out, max_out);
  }
  // One-output form: true when out must be sent upstream. An aggregate ACK that would have to
  // follow gone reports is held back for expire() (which sends the reports first).
  bool on_ack(const Feedback &ack, uint32_t now, AggOutput &out) { return on_ack(ack, now, &out, 1) != 0; }

  // A NACK arrived. Returns true and fills out when it must go upstream (not suppressed).
  // A NACK is also a sign of life from its sender: the child is not reported silent.
  bool on_nack(const Feedback &nack, uint32_t now, AggOutput &out) {
    stats_.nacks_in++;
    AckEntry *e = find_ack(nack.key);
    if (e) {
      Child *c = find_child(*e, nack.origin);
      if (c) c->last_heard = now;
    }
    if (!nack_should_forward(nack, now)) {
      stats_.nacks_suppressed++;
      return false;
    }
    stats_.nacks_forwarded++;
    out.dest = e ? e->parent : nack.key.sender;
    out.fb = nack;
    return true;
  }

  // Background scan: report gone and silent children and free settled entries. Examines table slots
  // from where the previous call stopped, at most `slots` of them, writing at most max_out
  // outputs (a slot is only examined when kMaxOutputsPerEntry outputs still fit). Returns the
  // number of outputs written. Hardware calls it with slots = 1 every idle cycle; software calls
  // it with slots = table_slots() on a timer.
  uint32_t expire(uint32_t now, uint32_t slots, AggOutput *out, uint32_t max_out) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < Sets * Ways; i++) {
      if (i >= slots || max_out - n < kMaxOutputsPerEntry) break;
      AckEntry &e = acks_[cursor_];
      cursor_ = (cursor_ + 1) % (Sets * Ways);
      if (!e.valid) continue;
      for (uint32_t k = 0; k < Children; k++) {
        if (k >= e.nchildren) break;
        Child &c = e.children[k];
        if (c.state == kGone) { // gone: reported at once, never also silent
          report_gone(e, c, out[n++]);
          continue;
        }
        bool pending = c.state == kWaiting || (c.state == kReported && !child_complete(e, c));
        if (!pending || (uint32_t)(now - c.last_heard) <= cfg_.silent_timeout) continue;
        c.state = kSilent;
        stats_.silent_reported++;
        report(e, c, kFlagSilent, out[n++]);
      }
      if (e.valid) n += emit_if_changed(e, out + n, max_out - n);
    }
    return n;
  }

  static uint32_t table_slots() { return Sets * Ways; }

 private:
  // kGone: gone, its report not sent yet; kGoneReported: gone and reported.
  enum ChildStateCode { kWaiting = 0, kReported = 1, kSilent = 2, kPassThrough = 3, kGone = 4, kGoneReported = 5 };

  struct Child {
    NodeId id;
    NodeId hull_first;
    NodeId hull_last;
    uint8_t state;
    uint32_t sequence;
    uint32_t covered;
    uint32_t nranges;
    IdRange ranges[RangesPerChild];
    uint32_t last_heard;
  };
  struct AckEntry {
    bool valid;
    MessageKey key;
    NodeId parent;
    uint32_t total_packets;
    uint32_t nchildren;
    Child children[Children];
    bool sent_any;
    uint32_t sent_sequence;
    uint32_t sent_covered;
  };
  static const uint32_t kNackRanges = 4;
  struct NackEntry {
    bool valid;
    MessageKey key;
    uint8_t flags;
    uint32_t sequence;
    uint32_t length;
    uint32_t nranges;
    IdRange ranges[kNackRanges];
    uint32_t time;
  };

  static uint32_t bucket(const MessageKey &k) {
    uint32_t h = (uint32_t)k.sender * 0x9E3779B1u ^ k.message_id * 0x85EBCA77u;
    h ^= h >> 15;
    return h & (Sets - 1);
  }

  AckEntry *find_ack(const MessageKey &k) {
    uint32_t base = bucket(k) * Ways;
    for (uint32_t w = 0; w < Ways; w++)
      if (acks_[base + w].valid && same_key(acks_[base + w].key, k)) return &acks_[base + w];
    return 0;
  }
  const AckEntry *find_ack_const(const MessageKey &k) const {
    uint32_t base = bucket(k) * Ways;
    for (uint32_t w = 0; w < Ways; w++)
      if (acks_[base + w].valid && same_key(acks_[base + w].key, k)) return &acks_[base + w];
    return 0;
  }
  AckEntry *free_ack_slot(const MessageKey &k) {
    uint32_t base = bucket(k) * Ways;
    for (uint32_t w = 0; w < Ways; w++)
      if (!acks_[base + w].valid) return &acks_[base + w];
    return 0;
  }
  // The entry of `key`, created if needed (result kArmNew), learning total_packets; 0 when the
  // table is full (counted in arm_overflow).
  AckEntry *arm_entry(const MessageKey &key, NodeId parent, uint32_t total_packets, ArmResult &result) {
    AckEntry *e = find_ack(key);
    if (!e) {
      e = free_ack_slot(key);
      if (!e) {
        stats_.arm_overflow++;
        return 0;
      }
      e->valid = true;
      e->key = key;
      e->parent = parent;
      e->total_packets = 0;
      e->nchildren = 0;
      e->sent_any = false;
      e->sent_sequence = 0;
      e->sent_covered = 0;
      stats_.armed++;
      stats_.entries_in_use++;
      result = kArmNew;
    }
    if (e->total_packets == 0) e->total_packets = total_packets;
    if (e->parent != parent) {
      // A first transmission from another node: the tree was repaired around a failed relay (or
      // a port moved to its backup). Feedback follows the data's latest path, and the aggregate
      // is sent again to the new parent at the next change.
      e->parent = parent;
      e->sent_any = false;
    }
    return e;
  }
  // Records a new child (the caller checked it is not recorded); counted in children_overflow
  // when the entry is full.
  void add_child(AckEntry &e, const ChildSpec &spec, uint8_t state, uint32_t now) {
    if (e.nchildren >= Children) {
      stats_.children_overflow++;
      return;
    }
    Child &c = e.children[e.nchildren++];
    c.id = spec.id;
    c.hull_first = spec.hull_first;
    c.hull_last = spec.hull_last;
    c.state = state;
    c.sequence = 0;
    c.covered = 0;
    c.nranges = 0;
    c.last_heard = now;
  }
  // A NACK reporting child c upstream (silent or gone): its last sequence, count 0, its hull.
  void report(const AckEntry &e, const Child &c, uint8_t flags, AggOutput &o) const {
    o.dest = e.parent;
    o.fb.type = kTypeNack;
    o.fb.flags = flags;
    o.fb.origin = cfg_.self;
    o.fb.key = e.key;
    o.fb.sequence = c.sequence;
    o.fb.length = 0;
    o.fb.set.clear();
    o.fb.set.append_range(c.hull_first, c.hull_last);
  }
  void report_gone(const AckEntry &e, Child &c, AggOutput &o) {
    c.state = kGoneReported;
    stats_.gone_reported++;
    report(e, c, kFlagGone, o);
  }

  static Child *find_child(AckEntry &e, NodeId id) {
    for (uint32_t k = 0; k < Children; k++) {
      if (k >= e.nchildren) break;
      if (e.children[k].id == id) return &e.children[k];
    }
    return 0;
  }
  static bool child_complete(const AckEntry &e, const Child &c) {
    return c.state == kReported && e.total_packets != 0 && c.sequence >= e.total_packets;
  }

  // Build the aggregate; write an ACK to out if every child has settled (reported, silent, gone
  // or passed through), at least one reported, and (sequence, covered) changed since last sent,
  // preceded by a report of each unreported gone child (held back, 0 written, if max_out cannot
  // hold them all). Frees the entry once every child is complete, silent, gone and reported, or
  // passed through. Returns the number of outputs written (at most kMaxOutputsPerEntry).
  uint32_t emit_if_changed(AckEntry &e, AggOutput *out, uint32_t max_out) {
    bool all_heard = true, any_reported = false, settled = true;
    uint32_t min_seq = 0xFFFFFFFFu, covered = 0, gone = 0;
    for (uint32_t k = 0; k < Children; k++) {
      if (k >= e.nchildren) break;
      const Child &c = e.children[k];
      if (c.state == kWaiting) all_heard = false;
      if (c.state == kReported) {
        any_reported = true;
        if (c.sequence < min_seq) min_seq = c.sequence;
        covered += c.covered;
        if (!child_complete(e, c)) settled = false;
      } else if (c.state == kWaiting) {
        settled = false;
      } else if (c.state == kGone) {
        gone++; // settled once reported
      }
    }
    bool emit = all_heard && any_reported && (!e.sent_any || min_seq != e.sent_sequence || covered != e.sent_covered);
    if (emit && gone + 1 > max_out) return 0; // the reports must go first: left to expire()
    uint32_t n = 0;
    if (emit) {
      for (uint32_t k = 0; k < Children; k++) {
        if (k >= e.nchildren) break;
        if (e.children[k].state == kGone) report_gone(e, e.children[k], out[n++]);
      }
      AggOutput &o = out[n++];
      o.dest = e.parent;
      o.fb.type = kTypeAck;
      o.fb.flags = 0;
      o.fb.origin = cfg_.self;
      o.fb.key = e.key;
      o.fb.sequence = min_seq;
      o.fb.length = covered;
      merge_ranges(e, o.fb.set);
      e.sent_any = true;
      e.sent_sequence = min_seq;
      e.sent_covered = covered;
      stats_.acks_emitted++;
    }
    if (all_heard && settled && (gone == 0 || emit)) {
      e.valid = false;
      stats_.entries_completed++;
      stats_.entries_in_use--;
    }
    return n;
  }

  // Union of the reporting children's ranges, ascending (insertion into a bounded list).
  static void merge_ranges(const AckEntry &e, FeedbackSet &out) {
    IdRange all[Children * RangesPerChild];
    uint32_t n = 0;
    for (uint32_t k = 0; k < Children; k++) {
      if (k >= e.nchildren) break;
      const Child &c = e.children[k];
      if (c.state != kReported) continue;
      for (uint32_t r = 0; r < RangesPerChild; r++) {
        if (r >= c.nranges) break;
        uint32_t j = n++;
        for (; j > 0 && all[j - 1].first > c.ranges[r].first; j--) all[j] = all[j - 1];
        all[j] = c.ranges[r];
      }
    }
    out.clear();
    for (uint32_t i = 0; i < Children * RangesPerChild; i++) {
      if (i >= n) break;
      NodeId first = all[i].first, last = all[i].last;
      if (!out.empty() && first <= out.last_id()) { // overlapping reports: keep the union
        if (last <= out.last_id()) continue;
        first = (NodeId)(out.last_id() + 1);
      }
      out.append_range(first, last);
    }
  }

  // NACK suppression: forward unless an unexpired entry for (key, flags, sequence, length)
  // already covers every id of this NACK.
  bool nack_should_forward(const Feedback &f, uint32_t now) {
    uint32_t base = bucket(f.key) * Ways;
    NackEntry *hit = 0;
    NackEntry *victim = &nacks_[base];
    for (uint32_t w = 0; w < Ways; w++) {
      NackEntry &x = nacks_[base + w];
      bool live = x.valid && (uint32_t)(now - x.time) <= cfg_.nack_window;
      if (live && same_key(x.key, f.key) && x.flags == f.flags && x.sequence == f.sequence && x.length == f.length)
        hit = &x;
      if (!live)
        victim = &x;
      else if (victim->valid && (uint32_t)(now - victim->time) <= cfg_.nack_window &&
               (uint32_t)(now - x.time) > (uint32_t)(now - victim->time))
        victim = &x;
    }
    if (hit && covers(*hit, f.set)) return false;
    NackEntry *e = hit ? hit : victim;
    if (!hit) {
      e->valid = true;
      e->key = f.key;
      e->flags = f.flags;
      e->sequence = f.sequence;
      e->length = f.length;
      e->nranges = 0;
    }
    e->time = now;
    // Remember this NACK's ranges; if they do not fit, remember only the newest ones.
    if (e->nranges + f.set.range_count() > kNackRanges) e->nranges = 0;
    for (uint32_t r = 0; r < kNackRanges; r++) {
      if (r >= f.set.range_count() || e->nranges >= kNackRanges) break;
      e->ranges[e->nranges++] = f.set.range(r);
    }
    return true;
  }
  static bool covers(const NackEntry &x, const FeedbackSet &s) {
    for (uint32_t r = 0; r < kMaxFeedbackRanges; r++) {
      if (r >= s.range_count()) break;
      bool inside = false;
      for (uint32_t q = 0; q < kNackRanges; q++) {
        if (q >= x.nranges) break;
        if (s.range(r).first >= x.ranges[q].first && s.range(r).last <= x.ranges[q].last) inside = true;
      }
      if (!inside) return false;
    }
    return s.range_count() > 0;
  }

  AggregatorConfig cfg_;
  AckEntry acks_[Sets * Ways];
  NackEntry nacks_[Sets * Ways];
  AggregatorStats stats_;
  uint32_t cursor_;
};

} // namespace proto
} // namespace fanout

#endif
