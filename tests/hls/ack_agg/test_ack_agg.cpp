// The ACK aggregator kernel (hls/ack_agg) against golden outputs from the software path: an
// independent proto::AckAggregator of the same shape is driven with the same events (arm words,
// Feedback structs, table-walk steps) at the clock the kernel applied them (read from the
// kernel's now() before each step and from which input beats the step consumed); its outputs,
// framed in the test with proto::build_frame, must equal the kernel's output frames byte for
// byte, in order, with the right tdest. Inputs are frames built with proto::build_frame, one
// step() per clock.
#include "ack_agg.hpp"

#include "fanout/hls/axis.hpp"
#include "fanout/proto/aggregator.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

#include <gtest/gtest.h>

#include "../hls_test_util.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

extern "C" void fanout_ack_agg(hls::stream<fanout::hw::ArmWord> &in_arm, hls::stream<fanout::hw::ParsedMeta> &in_meta,
                               hls::stream<fanout::hw::axis_word> &in_fb, hls::stream<fanout::hw::axis_word> &out,
                               uint16_t self_id, uint16_t self_mac_hi, uint32_t self_mac_lo, uint32_t self_ipv4,
                               uint16_t udp_port, uint32_t silent_timeout, uint32_t nack_window, uint32_t tbl_seq,
                               uint8_t tbl_kind, uint16_t tbl_index, uint16_t tbl_mac_hi, uint32_t tbl_mac_lo,
                               uint32_t tbl_ipv4, uint8_t tbl_port, uint8_t tbl_valid,
                               uint32_t counters[fanout::hw::kAggCntCount]);

namespace {

namespace proto = fanout::proto;
namespace hw = fanout::hw;
using hw::axis_word;
using Kernel = hw::AckAgg<>;
using Ref = proto::AckAggregator<1024, 4, 17, 4>;
using Words = std::vector<axis_word>;

const proto::NodeId kSelf = 100;
const uint32_t kTableSlots = 1024 * 4;
const uint32_t kWalkOut = Ref::kMaxOutputsPerEntry;

// ---- Configuration and addressing ------------------------------------------------------------
hw::AckAggConfig make_config(uint32_t silent_timeout, uint32_t nack_window) {
  hw::AckAggConfig c;
  c.self = hw::cluster_address(kSelf);
  c.udp_port = proto::kDefaultUdpPort;
  c.silent_timeout = silent_timeout;
  c.nack_window = nack_window;
  return c;
}

// Neighbours: nodes 1..99 on port n % 4; node 7 on port 3 with a non-cluster MAC; ids >= 200
// have no entry (unroutable).
std::map<proto::NodeId, hw::NeighbourEntry> make_neighbours() {
  std::map<proto::NodeId, hw::NeighbourEntry> m;
  for (proto::NodeId n = 1; n < 100; n++) m[n] = hw::cluster_neighbour(n, (uint8_t)(n % 4));
  m[7].mac[0] = 0x0A;
  m[7].ipv4 = 0xC0A80007u;
  return m;
}

// ---- Frames ----------------------------------------------------------------------------------
Words to_words(const uint8_t *f, uint32_t len, uint8_t dest, uint16_t user) {
  std::vector<proto::Beat> beats(proto::beats_for(len));
  uint32_t n = proto::frame_to_beats(f, len, beats.data(), (uint32_t)beats.size());
  EXPECT_EQ(n, beats.size());
  Words w;
  for (const proto::Beat &b : beats) w.push_back(hw::from_beat(b, dest, user));
  return w;
}

// An input feedback frame (as the parser would pass it on) and its meta.
struct FbFrame {
  proto::Feedback fb;
  Words words;
  hw::ParsedMeta meta;
  size_t arm_before = 0; // arm words that must have been consumed before its first beat is offered
};

FbFrame make_fb_frame(const proto::Feedback &fb, proto::SetEncoding enc) {
  FbFrame f;
  f.fb = fb;
  proto::NetHeaders net = proto::cluster_net_headers(fb.origin, kSelf, fb.key.sender, fb.key.message_id);
  proto::FanoutHeader h =
      proto::make_header(fb.type, fb.key.sender, fb.origin, fb.key.message_id, fb.sequence, fb.length);
  h.flags = fb.flags;
  proto::BuildOptions opt = proto::default_build_options();
  opt.encoding = fb.set.empty() ? proto::kSetNone : enc;
  std::vector<uint8_t> buf(hw::kAggFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(
      proto::build_frame(net, h, fb.set, (const uint8_t *)nullptr, 0, opt, buf.data(), (uint32_t)buf.size(), &len),
      proto::kOk);
  proto::ParseConfig pc = proto::default_parse_config();
  pc.verify_udp_checksum = false;
  proto::ParsedPacket pp;
  std::memset(&pp, 0, sizeof(pp));
  proto::ReceiverSet scratch;
  EXPECT_EQ(proto::parse_frame(buf.data(), len, pc, pp, &scratch), proto::kOk) << "test frame must be valid";
  f.meta.hdr = pp.hdr;
  f.meta.payload_len = pp.payload_len;
  f.meta.frame_len = len;
  f.meta.ingress_port = (uint8_t)(fb.origin % 4);
  f.meta.ip_src = pp.ip_src;
  f.meta.ip_dst = pp.ip_dst;
  f.meta.udp_src_port = pp.udp_src_port;
  f.words = to_words(buf.data(), len, 0, f.meta.ingress_port);
  return f;
}

proto::Feedback feedback(uint8_t type, proto::NodeId origin, proto::NodeId sender, uint32_t msg, uint32_t seq,
                         uint32_t length) {
  proto::Feedback fb;
  fb.type = type;
  fb.flags = 0;
  fb.origin = origin;
  fb.key.sender = sender;
  fb.key.message_id = msg;
  fb.sequence = seq;
  fb.length = length;
  fb.set.clear();
  return fb;
}

// The frame the kernel must send for an aggregator output (empty: unroutable).
Words expected_words(const proto::AggOutput &o, const hw::AckAggConfig &cfg,
                     const std::map<proto::NodeId, hw::NeighbourEntry> &nb) {
  proto::NetHeaders net;
  uint8_t dest;
  if (o.dest == cfg.self.id) {
    std::memcpy(net.eth_dst, cfg.self.mac, 6);
    net.ip_dst = cfg.self.ipv4;
    dest = hw::kHostPort;
  } else {
    auto it = nb.find(o.dest);
    if (it == nb.end() || !it->second.valid) return Words();
    std::memcpy(net.eth_dst, it->second.mac, 6);
    net.ip_dst = it->second.ipv4;
    dest = it->second.port;
  }
  std::memcpy(net.eth_src, cfg.self.mac, 6);
  net.ip_src = cfg.self.ipv4;
  net.ip_tos = 0;
  net.ip_ttl = proto::kDefaultIpTtl;
  net.ip_id = 0;
  net.udp_src_port = proto::entropy_port(o.fb.key.sender, o.fb.key.message_id);
  net.udp_dst_port = cfg.udp_port;
  proto::FanoutHeader h =
      proto::make_header(o.fb.type, o.fb.key.sender, o.fb.origin, o.fb.key.message_id, o.fb.sequence, o.fb.length);
  h.flags = o.fb.flags;
  std::vector<uint8_t> buf(hw::kAggFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(net, h, o.fb.set, (const uint8_t *)nullptr, 0, proto::default_build_options(),
                               buf.data(), (uint32_t)buf.size(), &len),
            proto::kOk);
  return to_words(buf.data(), len, dest, 0);
}

bool same_word(const axis_word &a, const axis_word &b) {
  return a.data == b.data && a.keep == b.keep && a.strb == b.strb && a.last == b.last && a.dest == b.dest &&
         a.user == b.user;
}

// ---- Harness ---------------------------------------------------------------------------------
struct KernelRun {
  hw::AckAggConfig cfg = make_config(1000, 200);
  std::map<proto::NodeId, hw::NeighbourEntry> nb = make_neighbours();
  std::vector<hw::ArmWord> arms;
  std::vector<FbFrame> frames;
  // Optional, per arm word: feedback frames that must have been consumed before it is offered
  // (keeps the replicator's lead bounded, as in a NIC where arming follows the DATA traffic).
  std::vector<size_t> arm_after_frames;
  // Probabilities per clock of offering an arm word / a feedback beat, and of reading `out`.
  double p_arm = 1.0, p_fb = 1.0, p_out = 1.0;
  uint32_t seed = 1;
  uint64_t tail = 64;              // clocks run after the last input is consumed and the queue drains
  uint64_t max_cycles = 5'000'000; // safety net

  // Results.
  std::unique_ptr<Kernel> k;
  std::unique_ptr<Ref> ref;
  std::vector<proto::AggOutput> ref_out;              // reference outputs, in order
  std::vector<uint64_t> ref_cycle;                    // clock each was produced
  std::vector<Words> got;                             // kernel output frames
  std::vector<uint64_t> got_first_cycle;              // clock of each one's first beat
  std::vector<uint64_t> first_beat_cycle, done_cycle; // per input frame: first beat / tlast consumed
  std::vector<uint64_t> arm_cycle;                    // per arm word: consumed
  uint64_t cycles = 0;
  uint64_t max_queue = 0;
  uint64_t fb_stalls = 0; // clocks a feedback beat waited at the input (the kernel's backpressure)

  void go() {
    k = std::make_unique<Kernel>(cfg);
    ref = std::make_unique<Ref>(proto::AggregatorConfig{cfg.self.id, cfg.silent_timeout, cfg.nack_window});
    for (const auto &e : nb) k->set_neighbour(e.first, e.second);
    // Default depth 2 (what Vitis builds between processes): the test offers and reads one
    // element per stream and clock, checking full() / empty() as the kernel does.
    hls::stream<hw::ArmWord> in_arm;
    hls::stream<hw::ParsedMeta> in_meta;
    hls::stream<axis_word> in_fb, out;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    first_beat_cycle.assign(frames.size(), 0);
    done_cycle.assign(frames.size(), 0);
    arm_cycle.assign(arms.size(), 0);
    size_t arm_offered = 0, arm_done = 0;
    size_t f_off = 0, b_off = 0;   // next frame / beat to offer
    size_t f_cons = 0, b_cons = 0; // next frame / beat the kernel consumes
    Words cur;
    uint64_t quiet = 0;
    std::vector<proto::AggOutput> walk(kWalkOut);
    for (cycles = 0; cycles < max_cycles; cycles++) {
      bool arm_gate =
          arm_offered < arms.size() && (arm_after_frames.empty() || f_cons >= arm_after_frames[arm_offered]);
      if (arm_gate && !in_arm.full() && u(rng) < p_arm) in_arm.write(arms[arm_offered++]);
      if (f_off < frames.size() && !in_fb.full() && u(rng) < p_fb) {
        FbFrame &f = frames[f_off];
        bool ok = b_off > 0 || (arm_done >= f.arm_before && !in_meta.full());
        if (ok) {
          if (b_off == 0) in_meta.write(f.meta);
          in_fb.write(f.words[b_off++]);
          if (b_off == f.words.size()) f_off++, b_off = 0;
        }
      }
      unsigned arm_sz = in_arm.size(), fb_sz = in_fb.size();
      uint32_t walk0 = k->walk_steps(), now = k->now();
      EXPECT_EQ(now, (uint32_t)cycles);
      k->step(in_arm, in_meta, in_fb, out);
      // Mirror into the reference, in the kernel's order within a clock: arm, feedback, walk.
      if (in_arm.size() < arm_sz) {
        const hw::ArmWord &a = arms[arm_done];
        if (a.gone)
          ref->mark_gone(a.key, a.parent, a.child, a.total_packets, now);
        else
          ref->arm(a.key, a.parent, &a.child, 1, a.total_packets, now);
        arm_cycle[arm_done++] = cycles;
      }
      if (fb_sz > 0 && in_fb.size() == fb_sz) fb_stalls++;
      if (in_fb.size() < fb_sz) {
        if (b_cons == 0) first_beat_cycle[f_cons] = cycles;
        if (++b_cons == frames[f_cons].words.size()) {
          const proto::Feedback &fb = frames[f_cons].fb;
          uint32_t n = fb.type == proto::kTypeAck ? ref->on_ack(fb, now, walk.data(), kWalkOut)
                                                  : (ref->on_nack(fb, now, walk[0]) ? 1u : 0u);
          for (uint32_t i = 0; i < n; i++) ref_out.push_back(walk[i]), ref_cycle.push_back(cycles);
          done_cycle[f_cons++] = cycles;
          b_cons = 0;
        }
      }
      if (k->walk_steps() != walk0) {
        EXPECT_EQ(k->walk_steps(), walk0 + 1);
        uint32_t n = ref->expire(now, 1, walk.data(), kWalkOut);
        for (uint32_t i = 0; i < n; i++) ref_out.push_back(walk[i]), ref_cycle.push_back(cycles);
      }
      max_queue = std::max<uint64_t>(max_queue, k->queue_level());
      if (!out.empty() && u(rng) < p_out) {
        if (cur.empty()) got_first_cycle.push_back(cycles);
        cur.push_back(out.read());
        if (cur.back().last == 1) got.push_back(std::move(cur)), cur.clear();
      }
      bool inputs_done = arm_done == arms.size() && f_cons == frames.size();
      quiet = inputs_done && k->queue_level() == 0 && out.empty() && cur.empty() ? quiet + 1 : 0;
      if (quiet > tail) break;
    }
    EXPECT_LT(cycles, max_cycles) << "run did not finish";
    EXPECT_TRUE(cur.empty()) << "partial frame at the output";
  }

  // Kernel frames == reference outputs framed by the test, in order; counters agree.
  void check() {
    size_t j = 0;
    uint32_t unroutable = 0;
    for (size_t i = 0; i < ref_out.size(); i++) {
      Words w = expected_words(ref_out[i], cfg, nb);
      if (w.empty()) {
        unroutable++;
        continue;
      }
      ASSERT_LT(j, got.size()) << "missing output " << i << " (and later)";
      ASSERT_EQ(got[j].size(), w.size()) << "output frame " << j << " length";
      for (size_t b = 0; b < w.size(); b++) ASSERT_TRUE(same_word(got[j][b], w[b])) << "frame " << j << " beat " << b;
      j++;
    }
    EXPECT_EQ(j, got.size()) << "extra output frames";
    EXPECT_EQ(k->unroutable(), unroutable);
    EXPECT_EQ(k->frames_out(), got.size());
    EXPECT_EQ(k->frames_in(), frames.size());
    EXPECT_EQ(k->undecodable(), 0u);
    EXPECT_EQ(k->not_feedback(), 0u);
    EXPECT_EQ(k->build_errors(), 0u);
    const proto::AggregatorStats &a = k->stats(), &b = ref->stats();
    EXPECT_EQ(std::memcmp(&a, &b, sizeof(a)), 0) << "stats differ";
    EXPECT_EQ(a.acks_in, b.acks_in);
    EXPECT_EQ(a.acks_emitted, b.acks_emitted);
    EXPECT_EQ(a.silent_reported, b.silent_reported);
    EXPECT_EQ(a.gone_reported, b.gone_reported);
    EXPECT_EQ(a.arm_overflow, b.arm_overflow);
  }
};

hw::ArmWord arm_word(proto::NodeId sender, uint32_t msg, proto::NodeId parent, proto::NodeId child, proto::NodeId hf,
                     proto::NodeId hl, uint32_t total, bool last) {
  hw::ArmWord a;
  a.key.sender = sender;
  a.key.message_id = msg;
  a.parent = parent;
  a.child.id = child;
  a.child.hull_first = hf;
  a.child.hull_last = hl;
  a.total_packets = total;
  a.last = last;
  a.gone = false;
  return a;
}
// A word for a child the replicator skipped (its peer is down).
hw::ArmWord gone_word(proto::NodeId sender, uint32_t msg, proto::NodeId parent, proto::NodeId child, proto::NodeId hf,
                      proto::NodeId hl, uint32_t total, bool last) {
  hw::ArmWord a = arm_word(sender, msg, parent, child, hf, hl, total, last);
  a.gone = true;
  return a;
}

// ---- Random scenarios ------------------------------------------------------------------------
struct Scenario {
  std::mt19937 rng;
  // Timing-free scenarios: the outputs cannot depend on clocks. Arm words and feedback frames are
  // offered in one total order (each waits for everything before it), and no ACK carries more
  // ranges than a child slot (proto passes such a child through without re-evaluating the
  // entry, so the aggregate then leaves on a later walk step, whose clock depends on timing).
  // Used with timeouts and windows longer than the run.
  bool timing_free = false;
  bool with_gone = false; // some arm words mark a child (recorded or new) gone
  explicit Scenario(uint32_t seed, bool tf = false, bool gone = false) : rng(seed), timing_free(tf), with_gone(gone) {}
  uint32_t uni(uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }
  proto::SetEncoding enc() { return (proto::SetEncoding)uni(proto::kSetList, proto::kSetBitmap); }

  // r disjoint, non-touching ranges inside [a, b] (fewer if the hull is too narrow, at least one
  // if r > 0).
  proto::FeedbackSet ranges_in(uint32_t a, uint32_t b, uint32_t r) {
    proto::FeedbackSet s;
    uint32_t pos = a;
    for (uint32_t i = 0; i < r && pos <= b; i++) {
      uint32_t first = std::min(b, pos + uni(0, 2));
      uint32_t last = std::min(b, first + uni(0, 3));
      s.append_range((proto::NodeId)first, (proto::NodeId)last);
      pos = last + 2;
    }
    return s;
  }

  struct Item {
    bool is_arm;
    hw::ArmWord arm;
    proto::Feedback fb;
  };

  // Messages with 1..17 children (this node among them at times), ACKs with ranges and
  // cumulative sequences, duplicates, late ACKs, NACKs with repeats, unknown messages and
  // children, silent children; events of a message follow its arm words.
  void build(KernelRun &r, uint32_t messages) {
    std::vector<Item> timeline;
    std::vector<proto::Feedback> pending;
    auto flush = [&](size_t n) {
      // Oldest first: each message's own events stay in the order they were made.
      n = std::min(n, pending.size());
      for (size_t i = 0; i < n; i++) timeline.push_back(Item{false, hw::ArmWord(), pending[i]});
      pending.erase(pending.begin(), pending.begin() + (long)n);
    };
    const proto::NodeId senders[] = {1, 2, 3, 7, 50, 250}; // 250: no neighbour entry
    for (uint32_t m = 0; m < messages; m++) {
      uint32_t msg = 1000 + m;
      bool from_host = chance(0.2);
      proto::NodeId sender = from_host ? kSelf : senders[uni(0, 5)];
      proto::NodeId parent = from_host ? kSelf : chance(0.85) ? sender : (proto::NodeId)uni(1, 99);
      uint32_t total = chance(0.1) ? 0 : uni(1, 4);
      uint32_t nchildren = uni(1, 17);
      std::set<proto::NodeId> ids;
      if (chance(0.3)) ids.insert(kSelf);
      while (ids.size() < nchildren) ids.insert((proto::NodeId)uni(300, 340));
      std::vector<proto::NodeId> kids(ids.begin(), ids.end());
      std::shuffle(kids.begin(), kids.end(), rng);
      for (size_t i = 0; i < kids.size(); i++) {
        proto::NodeId c = kids[i];
        proto::NodeId hf = c == kSelf ? kSelf : (proto::NodeId)(c * 20),
                      hl = c == kSelf ? kSelf : (proto::NodeId)(hf + 15);
        bool last = i + 1 == kids.size();
        timeline.push_back(Item{true, arm_word(sender, msg, parent, c, hf, hl, total, last), {}});
        if (with_gone && chance(0.05)) { // the peer of c went down: a later packet skipped it
          proto::NodeId g = chance(0.5) ? c : (proto::NodeId)uni(341, 345);
          timeline.push_back(
              Item{true, gone_word(sender, msg, parent, g, hf, (proto::NodeId)(hf + uni(0, 3)), total, last), {}});
        }
      }
      // Feedback of this message, in the order each child sends it.
      std::vector<std::vector<proto::Feedback>> per_child;
      for (proto::NodeId c : kids) {
        std::vector<proto::Feedback> ev;
        proto::NodeId hf = c == kSelf ? kSelf : (proto::NodeId)(c * 20),
                      hl = c == kSelf ? kSelf : (proto::NodeId)(hf + 15);
        if (!chance(0.12)) { // else: silent child
          uint32_t top = total ? total : 3;
          uint32_t acks = uni(1, 3);
          uint32_t seq = 0;
          for (uint32_t a = 0; a < acks; a++) {
            seq = std::min(top, seq + uni(0, 2));
            if (a + 1 == acks && chance(0.8)) seq = top; // most children complete
            proto::Feedback fb = feedback(proto::kTypeAck, c, sender, msg, seq, 0);
            uint32_t nr = !timing_free && chance(0.08) ? uni(5, 6) : uni(0, 4); // over 4 ranges: child passes through
            fb.set = ranges_in(hf, hl, nr);
            fb.length = fb.set.empty() ? uni(0, 3) : fb.set.size();
            ev.push_back(fb);
            if (chance(0.2)) ev.push_back(fb); // duplicate
          }
          if (chance(0.15) && seq > 0) { // late ACK
            proto::Feedback fb = feedback(proto::kTypeAck, c, sender, msg, seq - 1, 1);
            fb.set.append_range(hf, hf);
            ev.push_back(fb);
          }
          if (chance(0.3)) {
            proto::Feedback fb = feedback(proto::kTypeNack, c, sender, msg, uni(0, 3), uni(0, 2));
            fb.set = ranges_in(hf, hl, uni(1, 3));
            ev.insert(ev.begin() + uni(0, (uint32_t)ev.size()), fb);
            if (chance(0.6)) { // a repeat: same (sequence, count), a subset of the ids
              proto::Feedback rep = fb;
              rep.set.clear();
              rep.set.append_range(fb.set.range(0).first, fb.set.range(0).first);
              ev.push_back(rep);
            }
          }
        }
        per_child.push_back(ev);
      }
      if (chance(0.1)) { // an unknown child
        proto::Feedback fb = feedback(proto::kTypeAck, 399, sender, msg, 1, 1);
        fb.set.append_range(7980, 7980);
        per_child.push_back({fb});
      }
      // Interleave the children's sequences (each child's own order kept).
      std::vector<proto::Feedback> merged;
      std::vector<size_t> pos(per_child.size(), 0);
      for (;;) {
        std::vector<size_t> live;
        for (size_t i = 0; i < per_child.size(); i++)
          if (pos[i] < per_child[i].size()) live.push_back(i);
        if (live.empty()) break;
        size_t i = live[uni(0, (uint32_t)live.size() - 1)];
        merged.push_back(per_child[i][pos[i]++]);
      }
      // This message's events go out in order, some now, the rest after later messages.
      size_t now_n = uni(0, (uint32_t)merged.size());
      for (size_t i = 0; i < now_n; i++) timeline.push_back(Item{false, hw::ArmWord(), merged[i]});
      for (size_t i = now_n; i < merged.size(); i++) pending.push_back(merged[i]);
      if (chance(0.3)) flush(uni(0, 10));
      if (chance(0.05)) { // unknown message
        proto::Feedback fb = feedback(chance(0.5) ? proto::kTypeAck : proto::kTypeNack, 310, 3, 99999 + m, 1, 1);
        fb.set.append_range(6200, 6201);
        timeline.push_back(Item{false, hw::ArmWord(), fb});
      }
    }
    for (const proto::Feedback &fb : pending) timeline.push_back(Item{false, hw::ArmWord(), fb});

    size_t narms = 0;
    for (const Item &it : timeline) {
      if (it.is_arm) {
        r.arms.push_back(it.arm);
        if (timing_free) r.arm_after_frames.push_back(r.frames.size());
        narms++;
      } else {
        r.frames.push_back(make_fb_frame(it.fb, enc()));
        r.frames.back().arm_before = narms;
      }
    }
  }
};

uint64_t count_type(const std::vector<proto::AggOutput> &v, uint8_t type, uint8_t flags) {
  uint64_t n = 0;
  for (const auto &o : v) n += o.fb.type == type && (o.fb.flags & flags) == flags;
  return n;
}

// ---- Tests -----------------------------------------------------------------------------------
TEST(AckAgg, GoldenRandomScenarios) {
  for (uint32_t seed = 1; seed <= 4; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    KernelRun r;
    r.cfg = make_config(600 + 150 * seed, 150);
    r.seed = seed;
    r.tail = kTableSlots + 2000; // long enough for every silent child to be reported
    Scenario(seed).build(r, 250);
    r.go();
    r.check();
    const proto::AggregatorStats &s = r.ref->stats();
    std::printf("[ack_agg] golden seed %u: %zu arm words, %zu feedback frames -> %zu outputs (%llu ACK, %llu NACK, "
                "%llu silent), %u unroutable; merged %u, duplicate %u, passed %u, NACK fwd %u / suppressed %u, "
                "%llu cycles\n",
                seed, r.arms.size(), r.frames.size(), r.ref_out.size(),
                (unsigned long long)count_type(r.ref_out, proto::kTypeAck, 0),
                (unsigned long long)count_type(r.ref_out, proto::kTypeNack, 0),
                (unsigned long long)count_type(r.ref_out, proto::kTypeNack, proto::kFlagSilent), r.k->unroutable(),
                s.acks_merged, s.acks_duplicate, s.acks_passed, s.nacks_forwarded, s.nacks_suppressed,
                (unsigned long long)r.cycles);
    // The scenario exercises every rule.
    EXPECT_GT(s.acks_emitted, 0u);
    EXPECT_GT(s.acks_duplicate, 0u);
    EXPECT_GT(s.acks_passed, 0u);
    EXPECT_GT(s.nacks_forwarded, 0u);
    EXPECT_GT(s.nacks_suppressed, 0u);
    EXPECT_GT(s.silent_reported, 0u);
    EXPECT_GT(r.k->unroutable(), 0u);
  }
}

TEST(AckAgg, GoldenRandomScenariosWithGoneChildren) {
  for (uint32_t seed = 21; seed <= 23; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    KernelRun r;
    r.cfg = make_config(600 + 150 * seed, 150);
    r.seed = seed;
    r.tail = kTableSlots + 2000;
    if (seed == 23) r.p_out = 0.3, r.p_fb = 0.8; // backpressure: reports + ACK wait for queue room
    Scenario(seed, false, true).build(r, 250);
    r.go();
    r.check();
    const proto::AggregatorStats &s = r.ref->stats();
    uint64_t gone = count_type(r.ref_out, proto::kTypeNack, proto::kFlagGone);
    std::printf("[ack_agg] golden seed %u with gone children: %zu arm words, %zu feedback frames -> %zu outputs "
                "(%llu GONE, %llu SILENT)\n",
                seed, r.arms.size(), r.frames.size(), r.ref_out.size(), (unsigned long long)gone,
                (unsigned long long)count_type(r.ref_out, proto::kTypeNack, proto::kFlagSilent));
    EXPECT_GT(s.gone_reported, 0u);
    EXPECT_EQ(gone, s.gone_reported);
    EXPECT_GT(s.silent_reported, 0u);
    uint32_t c[hw::kAggCntCount];
    r.k->read_counters(c);
    EXPECT_EQ(c[hw::kAggCntGoneReported], s.gone_reported);
    EXPECT_EQ(c[hw::kAggCntSilentReported], s.silent_reported);
  }
}

TEST(AckAgg, GoneChildReportedBeforeTheAggregateInTheSameClock) {
  KernelRun r;
  r.cfg = make_config(1u << 30, 100); // no silence: only the gone child is reported
  // Message (sender 5, 1), 2 packets: children 301 and 302 armed; 303's peer is down.
  r.arms.push_back(arm_word(5, 1, 5, 301, 301, 301, 2, false));
  r.arms.push_back(arm_word(5, 1, 5, 302, 302, 302, 2, false));
  r.arms.push_back(gone_word(5, 1, 5, 303, 303, 310, 2, true));
  proto::Feedback a1 = feedback(proto::kTypeAck, 301, 5, 1, 2, 1);
  a1.set.append_range(301, 301);
  proto::Feedback a2 = feedback(proto::kTypeAck, 302, 5, 1, 2, 1);
  a2.set.append_range(302, 302);
  r.frames.push_back(make_fb_frame(a1, proto::kSetList));
  r.frames.push_back(make_fb_frame(a2, proto::kSetList));
  r.frames[0].arm_before = r.frames[1].arm_before = 3;
  r.go();
  r.check();
  ASSERT_EQ(r.ref_out.size(), 2u);
  ASSERT_EQ(r.got.size(), 2u);
  const proto::Feedback &g = r.ref_out[0].fb;
  EXPECT_EQ(g.type, proto::kTypeNack);
  EXPECT_EQ(g.flags, proto::kFlagGone);
  EXPECT_EQ(g.origin, kSelf);
  EXPECT_EQ(g.sequence, 0u);
  EXPECT_EQ(g.length, 0u);
  ASSERT_EQ(g.set.range_count(), 1u);
  EXPECT_EQ(g.set.range(0).first, 303);
  EXPECT_EQ(g.set.range(0).last, 310);
  EXPECT_EQ(r.ref_out[1].fb.type, proto::kTypeAck);
  EXPECT_EQ(r.ref_out[1].fb.sequence, 2u);
  EXPECT_EQ(r.ref_out[1].fb.length, 2u);
  EXPECT_EQ(r.ref_cycle[0], r.done_cycle[1]) << "GONE leaves with the aggregate, not after a table walk";
  EXPECT_EQ(r.ref_cycle[1], r.done_cycle[1]);
  EXPECT_LT(r.got_first_cycle[0], r.got_first_cycle[1]);
  uint32_t c[hw::kAggCntCount];
  r.k->read_counters(c);
  EXPECT_EQ(c[hw::kAggCntGoneReported], 1u);
  EXPECT_EQ(c[hw::kAggCntArmWords], 3u);
  EXPECT_EQ(c[hw::kAggCntArmed], 1u);
  EXPECT_EQ(c[hw::kAggCntEntriesCompleted], 1u);
  EXPECT_EQ(c[hw::kAggCntEntriesInUse], 0u);
}

TEST(AckAgg, GoneChildAloneIsReportedByTheWalk) {
  KernelRun r;
  r.cfg = make_config(1u << 30, 100);
  r.tail = 2 * kTableSlots;
  r.arms.push_back(gone_word(5, 2, 7, 320, 320, 327, 1, true));
  r.go();
  r.check();
  ASSERT_EQ(r.ref_out.size(), 1u);
  EXPECT_EQ(r.ref_out[0].fb.flags, proto::kFlagGone);
  EXPECT_EQ(r.ref_out[0].dest, 7);
  EXPECT_LE(r.ref_cycle[0], r.arm_cycle[0] + kTableSlots + 1) << "within one walk, no timeout";
  EXPECT_EQ(r.k->stats().entries_in_use, 0u);
}

TEST(AckAgg, SilentChildReportedWithinTimeoutPlusOneWalk) {
  const uint32_t kTimeout = 2000;
  KernelRun r;
  r.cfg = make_config(kTimeout, 100);
  r.tail = kTimeout + 2 * kTableSlots;
  // Message (sender 5, 1): children 301 (completes), 302 (acknowledges packet 0 of 2, then
  // silent), 303 (never answers). Total 2 packets.
  for (proto::NodeId c = 301; c <= 303; c++) r.arms.push_back(arm_word(5, 1, 5, c, c, c, 2, c == 303));
  proto::Feedback a1 = feedback(proto::kTypeAck, 301, 5, 1, 2, 1);
  a1.set.append_range(301, 301);
  proto::Feedback a2 = feedback(proto::kTypeAck, 302, 5, 1, 1, 1);
  a2.set.append_range(302, 302);
  r.frames.push_back(make_fb_frame(a1, proto::kSetList));
  r.frames.push_back(make_fb_frame(a2, proto::kSetRanges));
  r.frames[0].arm_before = r.frames[1].arm_before = 3;
  r.go();
  r.check();
  uint64_t last_fb = r.done_cycle.back();
  ASSERT_EQ(r.got.size(), 3u) << "two silent NACKs, then the aggregate ACK";
  std::vector<uint64_t> after;
  for (size_t i = 0; i < r.ref_out.size(); i++) {
    if (r.ref_out[i].fb.type == proto::kTypeNack) {
      EXPECT_EQ(r.ref_out[i].fb.flags, proto::kFlagSilent);
      after.push_back(r.got_first_cycle[i] - last_fb);
    }
  }
  ASSERT_EQ(after.size(), 2u);
  uint64_t worst = std::max(after[0], after[1]);
  uint64_t bound = kTimeout + kTableSlots + 2; // + output latency
  std::printf("[ack_agg] silent child: NACK+SILENT first beat out %llu and %llu clocks after the last feedback in "
              "(silent_timeout %u + table walk %u = bound %llu)\n",
              (unsigned long long)after[0], (unsigned long long)after[1], kTimeout, kTableSlots,
              (unsigned long long)bound);
  ::testing::Test::RecordProperty("silent_report_clocks", std::to_string(worst));
  EXPECT_LE(worst, bound);
  EXPECT_GT(after[0], kTimeout - 10); // not before the timeout (child 303: heard at arm time)
  EXPECT_EQ(r.k->stats().silent_reported, 2u);
  EXPECT_EQ(r.ref_out.back().fb.type, proto::kTypeAck);
  EXPECT_EQ(r.ref_out.back().fb.sequence, 2u); // child 301 only: the silent ones no longer count
  EXPECT_EQ(r.ref_out.back().fb.length, 1u);
}

TEST(AckAgg, TableOverflowPassesAcksThrough) {
  KernelRun r;
  r.cfg = make_config(1u << 30, 100);
  const uint32_t kMessages = 6000; // > 4,096 entries: many buckets fill all their ways
  for (uint32_t m = 0; m < kMessages; m++) {
    r.arms.push_back(arm_word(5, m, 5, 301, 301, 301, 1, false));
    r.arms.push_back(arm_word(5, m, 5, 302, 302, 302, 1, true));
  }
  for (uint32_t m = 0; m < kMessages; m++) {
    for (proto::NodeId c = 301; c <= 302; c++) {
      r.frames.push_back(make_fb_frame(feedback(proto::kTypeAck, c, 5, m, 1, 1), proto::kSetNone));
      r.frames.back().arm_before = r.arms.size(); // every message armed (or refused) first
    }
  }
  r.go();
  r.check();
  const proto::AggregatorStats &s = r.k->stats();
  uint32_t unarmed = s.arm_overflow / 2; // both arm words of an unarmed message are refused
  uint64_t passed = 0, aggregated = 0;
  for (const auto &o : r.ref_out) (o.fb.origin == kSelf ? aggregated : passed)++;
  std::printf("[ack_agg] overflow: %u messages armed, %u refused (arm_overflow %u): %llu ACKs passed through, %llu "
              "aggregated, %zu frames out\n",
              s.armed, unarmed, s.arm_overflow, (unsigned long long)passed, (unsigned long long)aggregated,
              r.got.size());
  EXPECT_GT(s.arm_overflow, 0u);
  EXPECT_EQ(s.armed + unarmed, kMessages);
  EXPECT_EQ(passed, 2u * unarmed);
  EXPECT_EQ(s.acks_passed, 2u * unarmed);
  EXPECT_EQ(aggregated, s.armed);
  EXPECT_EQ(r.got.size(), passed + aggregated) << "nothing dropped";
}

TEST(AckAgg, RandomBackpressureAndGapsLoseNothing) {
  // Timing-independent rules (no silence, every NACK repeat inside the window), so the frames
  // must be the same however the clocks fall.
  for (uint32_t seed = 11; seed <= 12; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    KernelRun fast, slow;
    fast.cfg = slow.cfg = make_config(1u << 30, 1u << 30);
    Scenario(seed, true).build(fast, 200);
    Scenario(seed, true).build(slow, 200);
    fast.go();
    fast.check();
    slow.p_arm = 0.7;
    slow.p_fb = 0.6;
    slow.p_out = 0.5;
    slow.seed = seed;
    slow.go();
    slow.check();
    ASSERT_EQ(fast.got.size(), slow.got.size());
    for (size_t i = 0; i < fast.got.size(); i++) {
      ASSERT_EQ(fast.got[i].size(), slow.got[i].size()) << "frame " << i;
      for (size_t b = 0; b < fast.got[i].size(); b++) ASSERT_TRUE(same_word(fast.got[i][b], slow.got[i][b]));
    }
    std::printf("[ack_agg] backpressure seed %u: %zu frames identical; %llu vs %llu cycles, queue peak %llu\n", seed,
                fast.got.size(), (unsigned long long)fast.cycles, (unsigned long long)slow.cycles,
                (unsigned long long)slow.max_queue);
  }
  // Heavy backpressure with the timing-dependent rules still matches the reference clock by clock.
  KernelRun r;
  r.cfg = make_config(700, 150);
  r.p_out = 0.2;
  r.p_fb = 0.8;
  r.seed = 99;
  r.tail = kTableSlots + 2000;
  Scenario(99).build(r, 150);
  r.go();
  r.check();
  std::printf("[ack_agg] heavy backpressure (out read with p = 0.2): %zu frames, queue peak %llu of %u, input held "
              "back %llu clocks\n",
              r.got.size(), (unsigned long long)r.max_queue, hw::kAggQueueDepth, (unsigned long long)r.fb_stalls);
  EXPECT_GT(r.fb_stalls, 0u) << "the kernel must have pushed back on its input";
  EXPECT_LE(r.max_queue, hw::kAggQueueDepth);
}

// Back-to-back ACKs for messages with 4 children; returns (input rate, min/max latency).
struct Throughput {
  double rate;
  uint64_t units, clocks, lat_min, lat_max;
};
Throughput run_throughput(bool with_range, uint32_t messages) {
  const uint32_t kLead = 64; // bounded lead: no bucket overflows
  KernelRun r;
  r.cfg = make_config(1u << 30, 100);
  for (uint32_t m = 0; m < messages; m++) {
    for (proto::NodeId c = 1; c <= 4; c++) {
      r.arms.push_back(
          arm_word(5, m, 5, (proto::NodeId)(300 + c), (proto::NodeId)(c * 8), (proto::NodeId)(c * 8 + 7), 1, c == 4));
      r.arm_after_frames.push_back(m < kLead ? 0 : 4 * (m - kLead)); // at most kLead messages ahead
    }
    for (proto::NodeId c = 1; c <= 4; c++) {
      proto::Feedback fb = feedback(proto::kTypeAck, (proto::NodeId)(300 + c), 5, m, 1, with_range ? 8 : 1);
      if (with_range) fb.set.append_range((proto::NodeId)(c * 8), (proto::NodeId)(c * 8 + 7));
      r.frames.push_back(make_fb_frame(fb, proto::kSetRanges));
      r.frames.back().arm_before = 4 * (m + 1);
    }
  }
  r.go();
  r.check();
  Throughput t;
  uint64_t beats = 0;
  for (const FbFrame &f : r.frames) beats += f.words.size();
  EXPECT_EQ(r.frames[0].words.size(), with_range ? 2u : 1u);
  t.clocks = r.done_cycle.back() - r.first_beat_cycle.front() + 1;
  t.units = with_range ? beats : r.frames.size();
  t.rate = (double)t.units / (double)t.clocks;
  EXPECT_EQ(r.got.size(), messages) << "one aggregated ACK per message";
  t.lat_min = UINT64_MAX;
  t.lat_max = 0;
  for (uint32_t m = 0; m < messages && m < r.got.size(); m++) {
    uint64_t lat = r.got_first_cycle[m] - r.done_cycle[4 * m + 3];
    t.lat_min = std::min(t.lat_min, lat);
    t.lat_max = std::max(t.lat_max, lat);
  }
  return t;
}

TEST(AckAgg, ThroughputContract) {
  Throughput one = run_throughput(false, 15000); // 60,000 1-beat ACKs
  Throughput two = run_throughput(true, 7500);   // 30,000 2-beat ACKs = 60,000 beats
  std::printf("[ack_agg] 1-beat ACKs (no set), 4 children/message: %llu ACKs in %llu clocks = %.4f ACKs/clock; "
              "latency last child's ACK tlast in -> aggregate first beat out %llu..%llu clocks\n",
              (unsigned long long)one.units, (unsigned long long)one.clocks, one.rate, (unsigned long long)one.lat_min,
              (unsigned long long)one.lat_max);
  std::printf("[ack_agg] 2-beat ACKs (one range), 4 children/message: %llu beats in %llu clocks = %.4f beats/clock; "
              "latency %llu..%llu clocks (C-simulation: aggregation and framing inside one step)\n",
              (unsigned long long)two.units, (unsigned long long)two.clocks, two.rate, (unsigned long long)two.lat_min,
              (unsigned long long)two.lat_max);
  ::testing::Test::RecordProperty("acks_per_clock_1beat", std::to_string(one.rate));
  ::testing::Test::RecordProperty("beats_per_clock_2beat", std::to_string(two.rate));
  ::testing::Test::RecordProperty("latency_clocks_1beat", std::to_string(one.lat_max));
  ::testing::Test::RecordProperty("latency_clocks_2beat", std::to_string(two.lat_max));
  EXPECT_GE(one.clocks, 50000u);
  EXPECT_GE(two.clocks, 50000u);
  EXPECT_GE(one.rate, 0.99);
  EXPECT_GE(two.rate, 0.99);
  EXPECT_LE(one.lat_max, 2u);
  EXPECT_LE(two.lat_max, 2u);
}

TEST(AckAgg, SignedFeedbackIsAggregatedAndForwardedVerbatim) {
  // Children's ACKs and NACKs signed (proto/auth.hpp). ACKs are merged as their unsigned twins
  // are, and the aggregate, this node's own, goes unsigned (the kernel does not sign). A NACK
  // forwarded unchanged goes verbatim, trailer kept: its origin's signature still verifies.
  KernelRun r;
  r.cfg = make_config(1u << 30, 100);
  const uint8_t key[16] = {1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 121, 98, 219};
  uint32_t counter = 0;
  auto bytes_of = [](const Words &w) { return fanout::test::frame_bytes(w); };
  std::vector<std::vector<uint8_t>> signed_nacks;
  auto sign = [&](FbFrame f) {
    std::vector<uint8_t> b = fanout::test::signed_frame(bytes_of(f.words), ++counter, key);
    uint32_t len = (uint32_t)b.size();
    f.meta.hdr.flags = (uint8_t)(f.meta.hdr.flags | proto::kFlagAuth);
    f.meta.frame_len = len;
    f.words = to_words(b.data(), len, 0, f.meta.ingress_port);
    if (f.fb.type == proto::kTypeNack) signed_nacks.push_back(b);
    return f;
  };
  const uint32_t kMessages = 20;
  for (uint32_t m = 0; m < kMessages; m++) {
    r.arms.push_back(arm_word(5, m, 5, 301, 301, 301, 1, false));
    r.arms.push_back(arm_word(5, m, 5, 302, 302, 302, 1, true));
  }
  for (uint32_t m = 0; m < kMessages; m++) {
    proto::Feedback nack = feedback(proto::kTypeNack, 302, 5, m, 0, 1);
    nack.set.append_range(302, 302);
    r.frames.push_back(sign(make_fb_frame(nack, proto::kSetRanges)));
    r.frames.back().arm_before = r.arms.size();
    for (proto::NodeId c : {301, 302}) {
      proto::Feedback ack = feedback(proto::kTypeAck, c, 5, m, 1, 1);
      ack.set.append_range(c, c);
      r.frames.push_back(sign(make_fb_frame(ack, proto::kSetList)));
    }
  }
  r.go();
  EXPECT_EQ(r.k->signed_forwarded(), kMessages);
  ASSERT_EQ(r.got.size(), 2 * kMessages) << "one NACK forwarded and one aggregate per message";
  size_t nacks = 0, acks = 0;
  for (const Words &w : r.got) {
    std::vector<uint8_t> b = bytes_of(w);
    proto::ParseConfig pc = proto::default_parse_config();
    pc.verify_udp_checksum = false;
    proto::ParsedPacket pp;
    proto::ReceiverSet scratch;
    ASSERT_EQ(proto::parse_frame(b.data(), (uint32_t)b.size(), pc, pp, &scratch), proto::kOk);
    if (pp.hdr.type == proto::kTypeNack) {
      ASSERT_TRUE(pp.auth) << "a forwarded NACK keeps its trailer";
      EXPECT_EQ(pp.hdr.origin, 302);
      proto::AuthResult res;
      EXPECT_EQ(proto::auth_verify_fanout(b.data() + proto::kFanoutOffset, (uint32_t)b.size() - proto::kFanoutOffset,
                                          true, pp.auth_offset - proto::kFanoutOffset, key, res),
                proto::kAuthOk);
      // The Fanout part is the child's, byte for byte (outer headers are this node's).
      const std::vector<uint8_t> &in = signed_nacks[nacks];
      ASSERT_EQ(b.size(), in.size());
      EXPECT_TRUE(std::equal(in.begin() + proto::kFanoutOffset, in.end(), b.begin() + proto::kFanoutOffset));
      nacks++;
    } else {
      EXPECT_FALSE(pp.auth) << "the aggregate is this node's, unsigned";
      EXPECT_EQ(pp.hdr.origin, kSelf);
      acks++;
    }
  }
  EXPECT_EQ(nacks, kMessages);
  EXPECT_EQ(acks, kMessages);
}

TEST(AckAgg, UndecodableSetPassesThroughVerbatim) {
  // An ACK whose bitmap set holds 600 single-id ranges (more than a FeedbackSet): counted,
  // sent upstream unchanged (Fanout header and body), and its child passes through from then on.
  KernelRun r;
  r.cfg = make_config(1u << 30, 100);
  r.arms.push_back(arm_word(5, 1, 5, 301, 0, 4000, 1, false));
  r.arms.push_back(arm_word(5, 1, 5, 302, 302, 302, 1, true));
  proto::ReceiverSet big;
  for (uint32_t i = 0; i < 600; i++) big.append((proto::NodeId)(2 * i));
  proto::NetHeaders net = proto::cluster_net_headers(301, kSelf, 5, 1);
  proto::FanoutHeader h = proto::make_header(proto::kTypeAck, 5, 301, 1, 1, 600);
  h.hops_left = 9;
  std::vector<uint8_t> in(hw::kAggFrameBytes);
  uint32_t len = 0;
  proto::BuildOptions opt = proto::default_build_options();
  opt.encoding = proto::kSetBitmap;
  ASSERT_EQ(proto::build_frame(net, h, big, (const uint8_t *)nullptr, 0, opt, in.data(), (uint32_t)in.size(), &len),
            proto::kOk);
  FbFrame f;
  f.fb = feedback(proto::kTypeAck, 301, 5, 1, 1, 600);
  f.meta.hdr = proto::read_fanout_header(in.data() + proto::kFanoutOffset);
  f.words = to_words(in.data(), len, 0, 0);
  f.arm_before = 2;
  // Drive the kernel alone (the reference cannot hold this set).
  auto k = std::make_unique<Kernel>(r.cfg);
  for (const auto &e : r.nb) k->set_neighbour(e.first, e.second);
  hls::stream<hw::ArmWord> in_arm; // default depth 2; `out` is drained every clock
  hls::stream<hw::ParsedMeta> in_meta;
  hls::stream<axis_word> in_fb, out;
  Words got;
  size_t b = 0;
  for (int c = 0; c < 200; c++) {
    if (c < 2) in_arm.write(r.arms[c]);
    if (c >= 3 && b < f.words.size() && !in_fb.full()) {
      if (b == 0) in_meta.write(f.meta);
      in_fb.write(f.words[b++]);
    }
    k->step(in_arm, in_meta, in_fb, out);
    while (!out.empty()) got.push_back(out.read());
  }
  EXPECT_EQ(k->undecodable(), 1u);
  EXPECT_EQ(k->stats().acks_passed, 1u);
  ASSERT_EQ(got.size(), f.words.size());
  // Expected: the input frame with the outer headers of a frame from this node to node 5.
  std::vector<uint8_t> exp(in.begin(), in.begin() + len);
  proto::NetHeaders o = proto::cluster_net_headers(kSelf, 5, 5, 1);
  std::vector<uint8_t> tmp(hw::kAggFrameBytes);
  uint32_t tlen = 0;
  proto::BasicReceiverSet<1> none;
  ASSERT_EQ(proto::build_frame(o, h, none, in.data() + proto::kSetOffset, len - proto::kSetOffset,
                               proto::default_build_options(), tmp.data(), (uint32_t)tmp.size(), &tlen),
            proto::kOk);
  std::memcpy(exp.data(), tmp.data(), proto::kFanoutOffset);
  Words w = to_words(exp.data(), len, 5 % 4, 0);
  for (size_t i = 0; i < w.size(); i++) EXPECT_TRUE(same_word(got[i], w[i])) << "beat " << i;
}

TEST(AckAggTop, ConfiguresAndRunsTheStaticInstance) {
  hls::stream<hw::ArmWord> in_arm; // default depth 2; `out` is drained every clock
  hls::stream<hw::ParsedMeta> in_meta;
  hls::stream<axis_word> in_fb, out;
  uint32_t counters[hw::kAggCntCount] = {};
  hw::NodeAddress self = hw::cluster_address(kSelf);
  uint16_t mac_hi = (uint16_t)(self.mac[0] << 8 | self.mac[1]);
  uint32_t mac_lo =
      (uint32_t)self.mac[2] << 24 | (uint32_t)self.mac[3] << 16 | (uint32_t)self.mac[4] << 8 | self.mac[5];
  hw::TableWrite tw = hw::neighbour_write(1, 5, hw::cluster_neighbour(5, 2));
  proto::Feedback fb = feedback(proto::kTypeAck, 301, 5, 42, 1, 1);
  fb.set.append_range(301, 301);
  FbFrame f = make_fb_frame(fb, proto::kSetList);
  Words got;
  for (size_t c = 0; c < 20; c++) {
    if (c == 2) in_arm.write(arm_word(5, 42, 5, 301, 301, 301, 1, true));
    if (c >= 4 && c - 4 < f.words.size()) {
      if (c == 4) in_meta.write(f.meta);
      in_fb.write(f.words[c - 4]);
    }
    fanout_ack_agg(in_arm, in_meta, in_fb, out, kSelf, mac_hi, mac_lo, self.ipv4, 0, 0, 0, tw.seq, tw.kind, tw.index,
                   tw.mac_hi, tw.mac_lo, tw.ipv4, tw.port, tw.valid, counters);
    while (!out.empty()) got.push_back(out.read());
  }
  proto::AggOutput o;
  o.dest = 5;
  o.fb = fb;
  o.fb.origin = kSelf;
  hw::AckAggConfig cfg = make_config(hw::kAggDefaultSilentTimeout, hw::kAggDefaultNackWindow);
  Words w = expected_words(o, cfg, {{5, hw::cluster_neighbour(5, 2)}});
  ASSERT_EQ(got.size(), w.size());
  for (size_t i = 0; i < w.size(); i++) EXPECT_TRUE(same_word(got[i], w[i]));
  EXPECT_EQ(counters[hw::kAggCntArmed], 1u);
  EXPECT_EQ(counters[hw::kAggCntAcksIn], 1u);
  EXPECT_EQ(counters[hw::kAggCntAcksEmitted], 1u);
  EXPECT_EQ(counters[hw::kAggCntEntriesCompleted], 1u);
  EXPECT_EQ(counters[hw::kAggCntArmWords], 1u);
  EXPECT_EQ(counters[hw::kAggCntFramesIn], 1u);
  EXPECT_EQ(counters[hw::kAggCntFramesOut], 1u);
  EXPECT_EQ(counters[hw::kAggCntUnroutable], 0u);
}

} // namespace
