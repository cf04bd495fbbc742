// libFuzzer target: AckAggregator driven by an arbitrary sequence of arm / ACK / NACK / expire.
//
// The aggregator holds per-message state in fixed tables in the NIC, fed by whatever feedback
// children send (late, duplicate, from unknown children, with too many ranges). A tiny
// instance (8 sets x 2 ways, 4 children, 2 ranges per child) makes table-full, entry-full and
// pass-through paths reachable within a few operations; keys, children and ids come from small
// ranges so that operations keep hitting the same entries.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fanout/proto/aggregator.hpp"
#include "fuzz_check.hpp"

using namespace fanout::proto;

namespace {

typedef AckAggregator<8, 2, 4, 2> Agg;
const uint32_t kSenders = 4, kMessages = 8; // key universe: 32 keys over 16 slots
const uint32_t kMaxOps = 512;

// Reads the input front to back; past the end it yields zeros so every operation is complete.
class Bytes {
 public:
  Bytes(const uint8_t *d, size_t n) : d_(d), n_(n), i_(0) {}
  bool done() const { return i_ >= n_; }
  uint8_t u8() { return i_ < n_ ? d_[i_++] : 0; }
  uint16_t u16() { return (uint16_t)((u8() << 8) | u8()); }
  uint32_t u32() { return ((uint32_t)u16() << 16) | u16(); }

 private:
  const uint8_t *d_;
  size_t n_, i_;
};

MessageKey read_key(Bytes &in) {
  uint8_t b = in.u8();
  MessageKey k;
  k.sender = (NodeId)(b % kSenders);
  k.message_id = (uint32_t)(b / kSenders) % kMessages;
  return k;
}

// Child / origin ids: a handful, so ACKs and NACKs often come from armed children.
NodeId read_child(Bytes &in) {
  return (NodeId)(100 + in.u8() % 6);
}

// 0..5 ranges (more than RangesPerChild sends the child to pass-through), ascending from a
// small base so that children's ranges overlap and merge.
void read_set(Bytes &in, FeedbackSet &s) {
  s.clear();
  uint32_t n = in.u8() % 6;
  uint32_t next = in.u8();
  for (uint32_t r = 0; r < n; r++) {
    uint32_t first = next + in.u8() % 8;
    uint32_t last = first + in.u8() % 16;
    if (last > 0xFFFF) break;
    s.append_range((NodeId)first, (NodeId)last);
    next = last + 2;
  }
}

void read_feedback(Bytes &in, uint8_t type, Feedback &f) {
  f.type = type;
  f.flags = in.u8() & kFlagSilent;
  f.origin = read_child(in);
  f.key = read_key(in);
  f.sequence = in.u8() % 8;
  f.length = in.u8() % 8;
  read_set(in, f.set);
}

// Cross-checks that hold after every operation.
void check_state(const Agg &agg) {
  const AggregatorStats &s = agg.stats();
  FUZZ_CHECK(s.entries_in_use <= Agg::table_slots());
  FUZZ_CHECK(s.entries_in_use == s.armed - s.entries_completed);
  FUZZ_CHECK(s.acks_in == s.acks_merged + s.acks_duplicate + s.acks_passed);
  FUZZ_CHECK(s.nacks_in == s.nacks_forwarded + s.nacks_suppressed);
  // Every armed key comes from the small universe, so counting them must give entries_in_use.
  uint32_t armed = 0;
  for (uint32_t snd = 0; snd < kSenders; snd++) {
    for (uint32_t id = 0; id < kMessages; id++) {
      MessageKey k;
      k.sender = (NodeId)snd;
      k.message_id = id;
      if (agg.is_armed(k)) armed++;
    }
  }
  FUZZ_CHECK(armed == s.entries_in_use);
}

void check_output(const AggOutput &o) {
  FUZZ_CHECK(o.fb.type == kTypeAck || o.fb.type == kTypeNack);
  FUZZ_CHECK(fanout_fuzz::set_well_formed(o.fb.set));
  FUZZ_CHECK(o.fb.key.sender < kSenders && o.fb.key.message_id < kMessages);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Bytes in(data, size);
  AggregatorConfig cfg;
  cfg.self = 1;
  cfg.silent_timeout = in.u8() % 64;
  cfg.nack_window = in.u8() % 64;
  // Start anywhere in the 32-bit tick space so that wrap-around is exercised.
  uint32_t now = in.u32();

  // Heap-allocated: a real table is large, and ASan then guards the object's bounds.
  std::unique_ptr<Agg> agg(new Agg(cfg));
  std::unique_ptr<Feedback> fb(new Feedback);
  std::unique_ptr<AggOutput> out(new AggOutput);

  for (uint32_t op = 0; op < kMaxOps && !in.done(); op++) {
    uint8_t code = in.u8();
    now += code >> 4; // time moves with every operation, by 0..15 ticks
    switch (code % 6) {
    case 0: { // arm
      MessageKey key = read_key(in);
      NodeId parent = (NodeId)(in.u8() % 4);
      uint32_t nchildren = in.u8() % 7; // up to Children + 2: entry-full path
      ChildSpec children[7];
      for (uint32_t i = 0; i < nchildren; i++) {
        children[i].id = read_child(in);
        children[i].hull_first = (NodeId)in.u8();
        children[i].hull_last = (NodeId)(children[i].hull_first + in.u8() % 32);
      }
      uint32_t total = in.u8() % 6;
      AggregatorStats before = agg->stats();
      bool was_armed = agg->is_armed(key);
      ArmResult r = agg->arm(key, parent, children, nchildren, total, now);
      const AggregatorStats &after = agg->stats();
      FUZZ_CHECK((r == kArmExisting) == was_armed);
      if (r == kArmNew) FUZZ_CHECK(after.entries_in_use == before.entries_in_use + 1 && agg->is_armed(key));
      if (r == kArmTableFull) FUZZ_CHECK(after.entries_in_use == before.entries_in_use && !agg->is_armed(key));
      if (r == kArmTableFull) FUZZ_CHECK(after.arm_overflow == before.arm_overflow + 1);
      if (r == kArmNew) FUZZ_CHECK(agg->upstream_of(key) == parent);
      break;
    }
    case 1:
    case 2: { // ACK (twice as likely: most feedback is ACKs)
      read_feedback(in, kTypeAck, *fb);
      AggregatorStats before = agg->stats();
      bool sent = agg->on_ack(*fb, now, *out);
      const AggregatorStats &after = agg->stats();
      uint32_t passed = after.acks_passed - before.acks_passed;
      uint32_t merged = after.acks_merged - before.acks_merged;
      uint32_t dup = after.acks_duplicate - before.acks_duplicate;
      uint32_t emitted = after.acks_emitted - before.acks_emitted;
      // Exactly one fate per ACK: passed through, merged (possibly emitting), or duplicate.
      FUZZ_CHECK(after.acks_in == before.acks_in + 1);
      FUZZ_CHECK(passed + merged + dup == 1);
      FUZZ_CHECK(emitted <= merged);
      FUZZ_CHECK(sent == (passed == 1 || emitted == 1));
      if (sent) {
        FUZZ_CHECK(out->fb.type == kTypeAck);
        check_output(*out);
        if (passed) FUZZ_CHECK(out->fb.sequence == fb->sequence && out->fb.set == fb->set);
        if (emitted) FUZZ_CHECK(out->fb.origin == cfg.self);
      }
      break;
    }
    case 3: { // NACK
      read_feedback(in, kTypeNack, *fb);
      AggregatorStats before = agg->stats();
      bool sent = agg->on_nack(*fb, now, *out);
      const AggregatorStats &after = agg->stats();
      FUZZ_CHECK(after.nacks_in == before.nacks_in + 1);
      FUZZ_CHECK(sent == (after.nacks_forwarded == before.nacks_forwarded + 1));
      FUZZ_CHECK(!sent == (after.nacks_suppressed == before.nacks_suppressed + 1));
      if (sent) FUZZ_CHECK(out->fb.type == kTypeNack && out->fb.set == fb->set && out->fb.key.sender == fb->key.sender);
      break;
    }
    case 4: { // expire, with any budget including ones too small for a whole entry
      now += in.u8();
      uint32_t slots = in.u8() % (Agg::table_slots() + 2);
      uint32_t max_out = in.u8() % (2 * Agg::kMaxOutputsPerEntry + 2);
      // Exactly max_out outputs on the heap: ASan reports a write past the budget.
      std::vector<AggOutput> outs(max_out);
      AggregatorStats before = agg->stats();
      uint32_t n = agg->expire(now, slots, outs.data(), max_out);
      FUZZ_CHECK(n <= max_out);
      uint32_t emitted = agg->stats().acks_emitted - before.acks_emitted;
      uint32_t silent = agg->stats().silent_reported - before.silent_reported;
      FUZZ_CHECK(n == emitted + silent);
      for (uint32_t i = 0; i < n; i++) {
        check_output(outs[i]);
        FUZZ_CHECK(outs[i].fb.origin == cfg.self);
        if (outs[i].fb.type == kTypeNack) FUZZ_CHECK(outs[i].fb.flags == kFlagSilent && outs[i].fb.length == 0);
      }
      break;
    }
    default: { // a long quiet spell: large time jumps, past the timeouts and the 2^31 wrap point
      now += in.u32();
      break;
    }
    }
    check_state(*agg);
  }
  return 0;
}
