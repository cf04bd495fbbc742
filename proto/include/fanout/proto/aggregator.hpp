// ACK/NACK aggregation at a relay (and at the sender's own NIC, whose "parent" is its host).
//
// When a DATA packet leaves a node, the node arms an entry for the message: "expect feedback
// from these children" (each child with the hull [first, last] of the ids it was sent). Then:
//  - ACK from a child: the child's cumulative sequence, covered count and covered id ranges are
//    recorded (a lower sequence than already held is a duplicate or late ACK: ignored). Once
//    every child has reported or been declared silent, one ACK goes upstream with
//    sequence = minimum over reporting children, covered = sum, ranges = union; it is sent again
//    only when that aggregate changes. Ranges are exact: every id in them acknowledged.
//  - NACK from a child: forwarded upstream at once, unless the same (message, sequence, count)
//    was forwarded within the suppression window for ids that include all of this NACK's ids.
//  - a child silent for longer than the timeout: reported upstream by a NACK with kFlagSilent,
//    sequence = the child's last cumulative sequence, count 0, ranges = the child's hull; it no
//    longer holds back the aggregate.
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
  uint8_t flags; // kFlagSilent on silent reports
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
  uint32_t entries_completed; // entries freed: every child complete or silent
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
  static const uint32_t kMaxOutputsPerEntry = Children + 1; // one silent NACK per child + one ACK

  explicit AckAggregator(const AggregatorConfig &cfg) : cfg_(cfg), cursor_(0) { reset(); }

  void reset() {
    for (uint32_t i = 0; i < Sets * Ways; i++) {
      acks_[i].valid = false;
      nacks_[i].valid = false;
    }
    AggregatorStats zero = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
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
    AckEntry *e = find_ack(key);
    ArmResult result = kArmExisting;
    if (!e) {
      e = free_ack_slot(key);
      if (!e) {
        stats_.arm_overflow++;
        return kArmTableFull;
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
    for (uint32_t i = 0; i < kMaxArmChildren; i++) {
      if (i >= nchildren) break;
      if (find_child(*e, children[i].id)) continue;
      if (e->nchildren >= Children) {
        stats_.children_overflow++;
        continue;
      }
      Child &c = e->children[e->nchildren++];
      c.id = children[i].id;
      c.hull_first = children[i].hull_first;
      c.hull_last = children[i].hull_last;
      c.state = kWaiting;
      c.sequence = 0;
      c.covered = 0;
      c.nranges = 0;
      c.last_heard = now;
    }
    return result;
  }

  // Upstream next hop for a message: the parent it was armed with, else the message's sender.
  NodeId upstream_of(const MessageKey &key) const {
    const AckEntry *e = find_ack_const(key);
    return e ? e->parent : key.sender;
  }

  bool is_armed(const MessageKey &key) const { return find_ack_const(key) != 0; }

  // An ACK arrived. Returns true and fills out when something must be sent upstream.
  bool on_ack(const Feedback &ack, uint32_t now, AggOutput &out) {
    stats_.acks_in++;
    AckEntry *e = find_ack(ack.key);
    Child *c = e ? find_child(*e, ack.origin) : 0;
    if (c && c->state != kPassThrough && ack.set.range_count() > RangesPerChild) c->state = kPassThrough;
    if (!c || c->state == kPassThrough) {
      stats_.acks_passed++;
      out.dest = e ? e->parent : ack.key.sender;
      out.fb = ack;
      return true;
    }
    c->last_heard = now;
    // A reported child only moves forward; a silent child that speaks again is counted again.
    bool stale = c->state == kReported &&
                 (ack.sequence < c->sequence || (ack.sequence == c->sequence && ack.length == c->covered));
    if (stale) {
      stats_.acks_duplicate++;
      return false;
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
    return emit_if_changed(*e, out);
  }

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

  // Background scan: report silent children and free settled entries. Examines table slots
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
        bool pending = c.state == kWaiting || (c.state == kReported && !child_complete(e, c));
        if (!pending || (uint32_t)(now - c.last_heard) <= cfg_.silent_timeout) continue;
        c.state = kSilent;
        stats_.silent_reported++;
        AggOutput &o = out[n++];
        o.dest = e.parent;
        o.fb.type = kTypeNack;
        o.fb.flags = kFlagSilent;
        o.fb.origin = cfg_.self;
        o.fb.key = e.key;
        o.fb.sequence = c.sequence;
        o.fb.length = 0;
        o.fb.set.clear();
        o.fb.set.append_range(c.hull_first, c.hull_last);
      }
      if (e.valid && emit_if_changed(e, out[n])) n++;
    }
    return n;
  }

  static uint32_t table_slots() { return Sets * Ways; }

 private:
  enum ChildStateCode { kWaiting = 0, kReported = 1, kSilent = 2, kPassThrough = 3 };

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

  // Build the aggregate; write an ACK to out if every child has settled (reported, silent or
  // passed through), at least one reported, and (sequence, covered) changed since last sent.
  // Frees the entry once every child is complete, silent or passed through.
  bool emit_if_changed(AckEntry &e, AggOutput &out) {
    bool all_heard = true, any_reported = false, settled = true;
    uint32_t min_seq = 0xFFFFFFFFu, covered = 0;
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
      }
    }
    bool emit = all_heard && any_reported && (!e.sent_any || min_seq != e.sent_sequence || covered != e.sent_covered);
    if (emit) {
      out.dest = e.parent;
      out.fb.type = kTypeAck;
      out.fb.flags = 0;
      out.fb.origin = cfg_.self;
      out.fb.key = e.key;
      out.fb.sequence = min_seq;
      out.fb.length = covered;
      merge_ranges(e, out.fb.set);
      e.sent_any = true;
      e.sent_sequence = min_seq;
      e.sent_covered = covered;
      stats_.acks_emitted++;
    }
    if (all_heard && settled) {
      e.valid = false;
      stats_.entries_completed++;
      stats_.entries_in_use--;
    }
    return emit;
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

  // NACK suppression: forward unless an unexpired entry for (key, sequence, length) already
  // covers every id of this NACK.
  bool nack_should_forward(const Feedback &f, uint32_t now) {
    uint32_t base = bucket(f.key) * Ways;
    NackEntry *hit = 0;
    NackEntry *victim = &nacks_[base];
    for (uint32_t w = 0; w < Ways; w++) {
      NackEntry &x = nacks_[base + w];
      bool live = x.valid && (uint32_t)(now - x.time) <= cfg_.nack_window;
      if (live && same_key(x.key, f.key) && x.sequence == f.sequence && x.length == f.length) hit = &x;
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
