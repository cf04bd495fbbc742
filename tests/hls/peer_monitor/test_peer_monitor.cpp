// The peer monitor kernel (hls/peer_monitor) against golden behaviour, one step() per clock:
// probe and reply frames compared byte for byte with proto::build_frame of the expected header
// (and run through proto::parse_frame), probe and detection timing against the rules and the
// bound of peer_monitor.hpp, simulated peers that answer every probe (no false detection),
// recovery, idle release, slot overflow, down slots kept until forget(), interval 0, back-pressure
// on out_probe, unroutable peers, and the synthesis top's registers.
#include "peer_monitor.hpp"

#include "fanout/hls/axis.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

extern "C" void fanout_peer_monitor(hls::stream<fanout::hw::ParsedMeta> &in_seen,
                                    hls::stream<fanout::hw::ArmWord> &in_watch,
                                    hls::stream<fanout::hw::axis_word> &out_probe,
                                    hls::stream<fanout::hw::PeerState> &out_state, uint16_t self_id,
                                    uint16_t self_mac_hi, uint32_t self_mac_lo, uint32_t self_ipv4, uint16_t udp_port,
                                    uint32_t interval, uint32_t misses, uint32_t idle, uint8_t disable,
                                    uint32_t forget_seq, uint16_t forget_id, uint32_t tbl_seq, uint8_t tbl_kind,
                                    uint16_t tbl_index, uint16_t tbl_mac_hi, uint32_t tbl_mac_lo, uint32_t tbl_ipv4,
                                    uint8_t tbl_port, uint8_t tbl_valid, uint32_t counters[fanout::hw::kPeerCntCount]);

namespace {

namespace proto = fanout::proto;
namespace hw = fanout::hw;
using hw::axis_word;

const proto::NodeId kSelf = 100;
const uint32_t kI = hw::kPeerDefaultInterval;
const uint32_t kM = hw::kPeerDefaultMisses;

uint8_t port_of(proto::NodeId n) {
  return (uint8_t)(n % 4);
}

// ---- Inputs ----------------------------------------------------------------------------------
hw::ParsedMeta meta(uint8_t type, proto::NodeId sender, proto::NodeId origin, uint32_t seq, uint8_t flags, uint8_t hops,
                    uint8_t ingress) {
  hw::ParsedMeta m;
  std::memset(&m, 0, sizeof(m));
  m.hdr = proto::make_header(type, sender, origin, 0, seq, 0);
  m.hdr.flags = flags;
  m.hdr.hops_left = hops;
  m.payload_len = 0;
  m.frame_len = proto::kFixedHeadersBytes;
  m.ingress_port = ingress;
  m.ip_src = proto::cluster_ipv4(origin);
  m.ip_dst = proto::cluster_ipv4(kSelf);
  m.udp_src_port = proto::kDefaultUdpPort;
  return m;
}
// A peer probe from `from` (hops 1), its reply to one of ours, any DATA copy it sent us.
hw::ParsedMeta peer_probe(proto::NodeId from, uint32_t seq) {
  return meta(proto::kTypeProbe, from, from, seq, 0, 1, port_of(from));
}
hw::ParsedMeta peer_reply(proto::NodeId from, uint32_t seq) {
  return meta(proto::kTypeProbe, from, from, seq, proto::kFlagReply, 1, port_of(from));
}
// Packet 0 of a 10-packet message (a stream: its origin is watched as a parent).
hw::ParsedMeta data_from(proto::NodeId from, uint32_t packets = 10) {
  hw::ParsedMeta m = meta(proto::kTypeData, 1, from, 0, packets == 1 ? proto::kFlagLast : 0, 5, port_of(from));
  m.payload_len = 1000;
  m.hdr.length = packets * 1000;
  return m;
}

hw::ArmWord arm(proto::NodeId child, bool gone = false, uint32_t packets = 10) {
  hw::ArmWord a;
  std::memset(&a, 0, sizeof(a));
  a.key.sender = 1;
  a.key.message_id = 7;
  a.parent = 1;
  a.child.id = child;
  a.child.hull_first = child;
  a.child.hull_last = child;
  a.total_packets = packets;
  a.last = true;
  a.gone = gone;
  return a;
}

// ---- Expected frames -------------------------------------------------------------------------
// The PROBE (reply = false) or REPLY this node must send to `to` with sequence `seq`.
axis_word expected_frame(proto::NodeId to, uint32_t seq, bool reply, uint16_t udp_port = proto::kDefaultUdpPort) {
  hw::NodeAddress self = hw::cluster_address(kSelf);
  hw::NeighbourEntry n = hw::cluster_neighbour(to, port_of(to));
  proto::NetHeaders net;
  std::memcpy(net.eth_dst, n.mac, 6);
  std::memcpy(net.eth_src, self.mac, 6);
  net.ip_src = self.ipv4;
  net.ip_dst = n.ipv4;
  net.ip_tos = hw::kPeerProbeTos;
  net.ip_ttl = proto::kDefaultIpTtl;
  net.ip_id = 0;
  net.udp_src_port = udp_port;
  net.udp_dst_port = udp_port;
  proto::FanoutHeader h = proto::make_header(proto::kTypeProbe, kSelf, kSelf, 0, seq, 0);
  h.hops_left = 1;
  h.flags = reply ? proto::kFlagReply : 0;
  uint8_t buf[proto::kBeatBytes];
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(net, h, proto::BasicReceiverSet<1>(), (const uint8_t *)nullptr, 0,
                               proto::default_build_options(), buf, sizeof(buf), &len),
            proto::kOk);
  EXPECT_EQ(len, proto::kBeatBytes);
  std::vector<proto::Beat> beats(1);
  EXPECT_EQ(proto::frame_to_beats(buf, len, beats.data(), 1), 1u);
  return hw::from_beat(beats[0], n.port, 0);
}

bool same_word(const axis_word &a, const axis_word &b) {
  return a.data == b.data && a.keep == b.keep && a.strb == b.strb && a.last == b.last && a.dest == b.dest &&
         a.user == b.user;
}

// Parse a frame the kernel sent: must be a valid Fanout PROBE with hops 1, from self.
struct Sent {
  uint64_t clock;
  axis_word w;
  proto::NodeId to;
  uint32_t seq;
  bool reply;
};
Sent decode(uint64_t clock, const axis_word &w, uint16_t udp_port = proto::kDefaultUdpPort) {
  proto::Beat b = hw::to_beat(w);
  EXPECT_TRUE(b.last);
  proto::ParseConfig pc = proto::default_parse_config();
  pc.udp_port = udp_port;
  proto::ParsedPacket pp;
  std::memset(&pp, 0, sizeof(pp));
  proto::ReceiverSet set;
  EXPECT_EQ(proto::parse_frame(b.data, proto::kBeatBytes, pc, pp, &set), proto::kOk);
  EXPECT_EQ(pp.hdr.type, proto::kTypeProbe);
  EXPECT_EQ(pp.hdr.hops_left, 1);
  EXPECT_EQ(pp.hdr.sender, kSelf);
  EXPECT_EQ(pp.hdr.origin, kSelf);
  EXPECT_EQ(pp.hdr.message_id, 0u);
  EXPECT_EQ(pp.hdr.length, 0u);
  EXPECT_EQ(pp.udp_src_port, udp_port);
  EXPECT_TRUE(set.empty());
  Sent s;
  s.clock = clock;
  s.w = w;
  s.to = (proto::NodeId)(pp.ip_dst & 0xFFFF); // the cluster address plan
  s.seq = pp.hdr.sequence;
  s.reply = (pp.hdr.flags & proto::kFlagReply) != 0;
  return s;
}

struct Event {
  uint64_t clock;
  proto::NodeId id;
  bool down;
};

// ---- Harness ---------------------------------------------------------------------------------
// One kernel, its four streams and the simulated world: scheduled in_seen metas (at most one is
// offered per clock, in clock order), watch words, and optionally peers that answer probes.
template <uint32_t Slots = 64> struct Harness {
  hw::PeerMonitor<Slots> k;
  hls::stream<hw::ParsedMeta> seen;
  hls::stream<hw::ArmWord> watch;
  hls::stream<axis_word> probe;
  hls::stream<hw::PeerState> state;

  std::multimap<uint64_t, hw::ParsedMeta> seen_at; // earliest clock -> meta
  std::multimap<uint64_t, hw::ArmWord> watch_at;
  bool hold_probe = false;
  bool hold_state = false;

  // Simulated peers: alive ones answer every probe after a delay in [reply_min, reply_max].
  std::set<proto::NodeId> alive;
  uint32_t reply_min = 100, reply_max = 500;
  std::mt19937 rng{1};

  std::vector<Sent> sent;
  std::vector<Event> events;
  std::map<proto::NodeId, uint64_t> last_heard; // clock the kernel read the last meta from origin
  std::vector<uint64_t> seen_read_clock;

  Harness() {
    k.set_new_peer_grace(1); // exact timing below is written for the plain grace (NewPeerGrace tests 2)
    k.set_idle(16 * kI);     // and for peers watched long after their last copy
    k.set_self(hw::cluster_address(kSelf));
    k.set_udp_port(proto::kDefaultUdpPort);
    for (proto::NodeId n = 1; n < 100; n++) k.set_neighbour(n, hw::cluster_neighbour(n, port_of(n)));
  }

  void clock() {
    uint64_t c = k.now();
    if (seen.empty() && !seen_at.empty() && seen_at.begin()->first <= c) {
      seen.write(seen_at.begin()->second);
      seen_at.erase(seen_at.begin());
    }
    if (watch.empty() && !watch_at.empty() && watch_at.begin()->first <= c) {
      watch.write(watch_at.begin()->second);
      watch_at.erase(watch_at.begin());
    }
    k.step(seen, watch, probe, state);
    // in_seen is a tap: the kernel reads every word in the clock it is offered.
    EXPECT_TRUE(seen.empty()) << "in_seen not read at clock " << c;
    EXPECT_TRUE(watch.empty()) << "in_watch not read at clock " << c;
    if (!hold_probe) {
      while (!probe.empty()) {
        Sent s = decode(c, probe.read(), k.udp_port());
        if (!s.reply && alive.count(s.to)) {
          uint32_t d = reply_min + (uint32_t)(rng() % (reply_max - reply_min + 1));
          seen_at.emplace(c + d, peer_reply(s.to, s.seq));
        }
        sent.push_back(s);
      }
    }
    while (!hold_state && !state.empty()) {
      hw::PeerState p = state.read();
      events.push_back(Event{c, p.id, p.down});
    }
  }
  // seen_at's next meta is offered this clock (recorded for last_heard).
  void run(uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
      uint64_t c = k.now();
      if (seen.empty() && !seen_at.empty() && seen_at.begin()->first <= c) {
        const hw::ParsedMeta &m = seen_at.begin()->second;
        if (m.ingress_port != hw::kHostPort) last_heard[m.hdr.origin] = c;
        seen_read_clock.push_back(c);
      }
      clock();
    }
  }
  void run_until(uint64_t t) {
    if (k.now() < t) run(t - k.now());
  }
  std::vector<Sent> probes_to(proto::NodeId n) const {
    std::vector<Sent> v;
    for (const Sent &s : sent)
      if (s.to == n && !s.reply) v.push_back(s);
    return v;
  }
};

// First clock >= t at which the walk examines `slot` (it examines slot c % Slots at clock c).
uint64_t visit(uint64_t t, uint32_t slot, uint32_t slots = 64) {
  uint64_t c = t - t % slots + slot;
  return c >= t ? c : c + slots;
}

// ---- Tests -----------------------------------------------------------------------------------
TEST(PeerMonitor, Defaults) {
  hw::PeerMonitor<> k;
  EXPECT_EQ(k.interval(), 800u);
  EXPECT_EQ(k.misses(), 3u);
  EXPECT_EQ(k.idle_timeout(), 4u * 800u);
  EXPECT_EQ(k.down_after(), 2400u);
  // The documented bound at 300 MHz: misses * interval + Slots clocks <= 10 us.
  EXPECT_LE((k.down_after() + 64) / 300.0, 9.0); // a microsecond left for the receive path
  EXPECT_EQ(k.new_peer_grace(), 2u);
  EXPECT_EQ(k.watched(), 0u);
  EXPECT_TRUE(k.idle());
}

TEST(PeerMonitor, WatchFromArmWords) {
  Harness<> h;
  h.watch_at.emplace(0, arm(kSelf));       // self: ignored
  h.watch_at.emplace(1, arm(5, true));     // gone: ignored
  h.watch_at.emplace(2, arm(5));           // watched
  h.watch_at.emplace(3, arm(5));           // same slot
  h.watch_at.emplace(4, arm(6));           // a second slot
  h.watch_at.emplace(5, arm(kSelf, true)); // ignored
  h.run(10);
  EXPECT_EQ(h.k.watched(), 2u);
  EXPECT_TRUE(h.k.is_watched(5));
  EXPECT_TRUE(h.k.is_watched(6));
  EXPECT_FALSE(h.k.is_watched(kSelf));
  EXPECT_EQ(h.k.counter(hw::kPeerCntWatchWords), 6u);
  EXPECT_EQ(h.k.counter(hw::kPeerCntWatchIgnored), 3u);
  EXPECT_EQ(h.k.counter(hw::kPeerCntWatched), 2u);
  EXPECT_EQ(h.k.counter(hw::kPeerCntWatchOverflow), 0u);
  uint32_t c[hw::kPeerCntCount];
  h.k.read_counters(c);
  EXPECT_EQ(c[hw::kPeerCntWatched], 2u);
  EXPECT_EQ(c[hw::kPeerCntWatchWords], 6u);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_TRUE(h.events.empty());
}

// A silent peer in slot 0 (watched at clock 0): probes at the walk's visits of slot 0 once
// interval has passed since it was watched / last probed, down at the first visit >= misses *
// interval, and probed on (sequence 0, 1, 2, ...) while down. Every frame is build_frame's.
TEST(PeerMonitor, ProbeTimingAndExactBytes) {
  Harness<> h;
  const proto::NodeId p = 5;
  h.watch_at.emplace(0, arm(p));
  h.run(10000);
  // Expected, from the rules: visits of slot 0 at multiples of 64.
  std::vector<uint64_t> want;
  uint64_t last_probe = 0;
  for (uint64_t c = 0; c < 10000; c += 64)
    if (c >= kI && c - last_probe >= kI) {
      want.push_back(c);
      last_probe = c;
    }
  ASSERT_EQ(want.front(), 832u); // the first visit of slot 0 at or after 800
  std::vector<Sent> got = h.probes_to(p);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); i++) {
    EXPECT_EQ(got[i].clock, want[i]) << "probe " << i;
    EXPECT_EQ(got[i].seq, i);
    EXPECT_FALSE(got[i].reply);
    EXPECT_TRUE(same_word(got[i].w, expected_frame(p, (uint32_t)i, false))) << "probe " << i;
    EXPECT_EQ(got[i].w.dest, port_of(p));
  }
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.events[0].clock, visit(kM * kI, 0));
  EXPECT_EQ(h.events[0].clock, 2432u);
  EXPECT_EQ(h.events[0].id, p);
  EXPECT_TRUE(h.events[0].down);
  EXPECT_TRUE(h.k.is_down(p));
  EXPECT_EQ(h.k.counter(hw::kPeerCntProbesSent), want.size());
  EXPECT_EQ(h.k.counter(hw::kPeerCntPeersDown), 1u);
}

TEST(PeerMonitor, ProbeUsesConfiguredUdpPort) {
  Harness<> h;
  h.k.set_udp_port(40000);
  h.watch_at.emplace(0, arm(9));
  h.run(1000);
  ASSERT_EQ(h.sent.size(), 1u);
  EXPECT_TRUE(same_word(h.sent[0].w, expected_frame(9, 0, false, 40000)));
}

TEST(PeerMonitor, RepliesToPeerProbesOnly) {
  Harness<> h;
  h.seen_at.emplace(10, peer_probe(9, 77));                                      // answered, in the clock it is read
  h.seen_at.emplace(20, meta(proto::kTypeProbe, 9, 9, 78, 0, 0, port_of(9)));    // link monitor (hops 0)
  h.seen_at.emplace(30, peer_reply(9, 79));                                      // a reply
  h.seen_at.emplace(40, meta(proto::kTypeProbe, 9, 9, 80, 0, 1, hw::kHostPort)); // from the host
  h.seen_at.emplace(50, meta(proto::kTypeProbe, kSelf, kSelf, 81, 0, 1, port_of(9))); // from self
  h.seen_at.emplace(60, data_from(9));
  h.seen_at.emplace(70, peer_probe(13, 0xDEADBEEF)); // another prober
  h.run(100);
  ASSERT_EQ(h.sent.size(), 2u);
  EXPECT_EQ(h.sent[0].clock, 10u);
  EXPECT_TRUE(h.sent[0].reply);
  EXPECT_TRUE(same_word(h.sent[0].w, expected_frame(9, 77, true)));
  EXPECT_EQ(h.sent[1].clock, 70u);
  EXPECT_TRUE(same_word(h.sent[1].w, expected_frame(13, 0xDEADBEEF, true)));
  EXPECT_EQ(h.k.counter(hw::kPeerCntRepliesSent), 2u);
  EXPECT_EQ(h.k.counter(hw::kPeerCntProbesIn), 2u);
  EXPECT_EQ(h.k.counter(hw::kPeerCntSeenFrames), 7u);
  EXPECT_EQ(h.k.counter(hw::kPeerCntSeenHost), 1u);
  EXPECT_EQ(h.k.counter(hw::kPeerCntProbesSent), 0u);
  EXPECT_TRUE(h.events.empty());
}

// Peers that answer every probe for a while, then die one by one at random clocks: each is
// declared down no earlier than misses * interval and no later than misses * interval + Slots
// clocks after the kernel read its last frame (the bound of peer_monitor.hpp).
TEST(PeerMonitor, DetectionWithinBound) {
  uint64_t worst = 0, best = ~0ull;
  size_t detected = 0;
  for (uint32_t seed = 1; seed <= 4; seed++) {
    Harness<> h;
    h.rng.seed(seed);
    std::mt19937 r(seed * 7919);
    const proto::NodeId n0 = 1, peers = 48;
    std::map<proto::NodeId, uint64_t> death;
    for (proto::NodeId n = n0; n < n0 + peers; n++) {
      h.alive.insert(n);
      h.watch_at.emplace(r() % 64, arm(n));
      death[n] = 5000 + r() % 30000;
    }
    for (uint64_t t = 0; t < 60000; t += 2000)
      for (proto::NodeId n = n0; n < n0 + peers; n++) h.watch_at.emplace(t + 100 + n, arm(n)); // keep watched
    for (uint64_t c = 0; c < 60000; c++) {
      for (proto::NodeId n = n0; n < n0 + peers; n++)
        if (death[n] == c) {
          h.alive.erase(n);
          // Its replies still in flight are lost with it.
          for (auto it = h.seen_at.begin(); it != h.seen_at.end();)
            it = it->second.hdr.origin == n ? h.seen_at.erase(it) : std::next(it);
        }
      h.run(1);
    }
    std::map<proto::NodeId, uint64_t> down_at;
    for (const Event &e : h.events) {
      ASSERT_TRUE(e.down) << "no peer comes back here";
      ASSERT_EQ(down_at.count(e.id), 0u) << "one down event per peer";
      down_at[e.id] = e.clock;
    }
    for (proto::NodeId n = n0; n < n0 + peers; n++) {
      ASSERT_EQ(down_at.count(n), 1u) << "peer " << n << " not detected";
      ASSERT_EQ(h.last_heard.count(n), 1u);
      EXPECT_GE(down_at[n], death[n]);
      uint64_t d = down_at[n] - h.last_heard[n];
      EXPECT_GE(d, (uint64_t)kM * kI) << "peer " << n;
      EXPECT_LE(d, (uint64_t)kM * kI + 64) << "peer " << n;
      worst = std::max(worst, d);
      best = std::min(best, d);
      detected++;
    }
    EXPECT_EQ(h.k.counter(hw::kPeerCntPeersDown), peers);
    EXPECT_EQ(h.k.counter(hw::kPeerCntUnroutable), 0u);
  }
  std::printf("[ detection ] %zu peers: last frame heard -> down event in %llu .. %llu clocks (bound %u + 64)\n",
              detected, (unsigned long long)best, (unsigned long long)worst, kM * kI);
  RecordProperty("detection_worst_clocks", (int)worst);
}

// 40 peers that answer every probe a few hundred clocks later, over 100,000 clocks: never
// declared down; probes per silent peer at least interval apart; some peers also send data and
// are probed less.
TEST(PeerMonitor, NoFalseDetectionWhenPeersAnswer) {
  Harness<> h;
  const proto::NodeId n0 = 20, peers = 40;
  for (proto::NodeId n = n0; n < n0 + peers; n++) h.alive.insert(n);
  for (uint64_t t = 0; t < 100000; t += 3000)
    for (proto::NodeId n = n0; n < n0 + peers; n++) h.watch_at.emplace(t + n, arm(n));
  for (uint64_t t = 50; t < 100000; t += 400) h.seen_at.emplace(t, data_from(n0)); // n0 talks to us
  h.run(100000);
  EXPECT_TRUE(h.events.empty());
  EXPECT_EQ(h.k.counter(hw::kPeerCntPeersDown), 0u);
  for (proto::NodeId n = n0; n < n0 + peers; n++) EXPECT_FALSE(h.k.is_down(n));
  EXPECT_EQ(h.k.watched(), peers);
  EXPECT_TRUE(h.probes_to(n0).empty()) << "a peer heard every 400 clocks is never probed";
  size_t probes = 0;
  for (proto::NodeId n = n0 + 1; n < n0 + peers; n++) {
    std::vector<Sent> v = h.probes_to(n);
    EXPECT_GE(v.size(), 100000u / (kI + 500 + 64) - 2) << "peer " << n;
    for (size_t i = 0; i < v.size(); i++) {
      EXPECT_EQ(v[i].seq, i);
      if (i > 0) {
        EXPECT_GE(v[i].clock - v[i - 1].clock, kI);
      }
    }
    probes += v.size();
  }
  // n0 sends us DATA: it is a parent, and gets a keepalive (kFlagReply, unanswered) every interval.
  uint32_t keepalives = h.k.counter(hw::kPeerCntKeepalives);
  EXPECT_GE(keepalives, 100000u / (kI + 64) - 2);
  EXPECT_EQ(h.k.counter(hw::kPeerCntProbesSent), probes + keepalives);
  EXPECT_EQ(h.k.counter(hw::kPeerCntRepliesSent), 0u) << "replies are not answered";
  std::printf("[ no false ] %zu probes to 39 answering peers in 100,000 clocks, 0 down events\n", probes);
}

// Down, probed on while down, up at the first frame heard (in that clock), then healthy again.
TEST(PeerMonitor, RecoveryAtFirstFrameHeard) {
  Harness<> h;
  const proto::NodeId p = 7;
  h.watch_at.emplace(0, arm(p));
  h.run(10000);
  ASSERT_EQ(h.events.size(), 1u);
  ASSERT_TRUE(h.k.is_down(p));
  size_t probes_while_down = h.probes_to(p).size();
  EXPECT_GE(probes_while_down, 10000u / 960 - 1);
  h.seen_at.emplace(12345, data_from(p));
  h.run_until(12346);
  ASSERT_EQ(h.events.size(), 2u);
  EXPECT_EQ(h.events[1].clock, 12345u);
  EXPECT_EQ(h.events[1].id, p);
  EXPECT_FALSE(h.events[1].down);
  EXPECT_FALSE(h.k.is_down(p));
  EXPECT_EQ(h.k.counter(hw::kPeerCntPeersUp), 1u);
  h.alive.insert(p);
  // It answers from now on (and is watched again for idle after coming back): no new event.
  h.run_until(12345 + 5 * kI);
  EXPECT_EQ(h.events.size(), 2u);
  // A reply to a probe sent while down also brings it up.
  h.alive.clear();
  h.run_until(40000);
  ASSERT_EQ(h.events.size(), 3u);
  EXPECT_TRUE(h.events[2].down);
  h.alive.insert(p); // answers the next probe
  h.run_until(40000 + 2 * kI);
  ASSERT_EQ(h.events.size(), 4u);
  EXPECT_FALSE(h.events[3].down);
  auto first = std::upper_bound(h.seen_read_clock.begin(), h.seen_read_clock.end(), (uint64_t)40000);
  ASSERT_NE(first, h.seen_read_clock.end());
  EXPECT_EQ(h.events[3].clock, *first) << "up in the clock its first reply was read";
}

// A live peer watched once is released at the first visit >= idle after its last watch word; a
// new word watches it again (heartbeat sequence from 0).
TEST(PeerMonitor, IdleRelease) {
  Harness<> h;
  const proto::NodeId p = 11;
  h.alive.insert(p);
  h.watch_at.emplace(0, arm(p));
  const uint64_t rel = visit(h.k.idle_timeout(), 0);
  h.run_until(rel);
  EXPECT_EQ(h.k.watched(), 1u);
  h.run(1);
  EXPECT_EQ(h.k.watched(), 0u);
  EXPECT_EQ(h.k.counter(hw::kPeerCntReleased), 1u);
  EXPECT_TRUE(h.events.empty());
  size_t before = h.probes_to(p).size();
  EXPECT_GT(before, 0u);
  h.run(5000);
  EXPECT_EQ(h.probes_to(p).size(), before) << "no probes once released";
  h.watch_at.emplace(h.k.now(), arm(p));
  h.run(2000);
  EXPECT_EQ(h.k.watched(), 1u);
  std::vector<Sent> v = h.probes_to(p);
  ASSERT_GT(v.size(), before);
  EXPECT_EQ(v[before].seq, 0u);
  // A peer that keeps getting copies is not released.
  Harness<> g;
  g.alive.insert(p);
  for (uint64_t t = 0; t < 60000; t += 10000) g.watch_at.emplace(t, arm(p));
  g.run(60000);
  EXPECT_EQ(g.k.watched(), 1u);
  EXPECT_EQ(g.k.counter(hw::kPeerCntReleased), 0u);
}

TEST(PeerMonitor, SlotOverflowCounted) {
  Harness<4> h;
  for (proto::NodeId n = 1; n <= 5; n++) h.watch_at.emplace(n, arm(n));
  h.watch_at.emplace(10, arm(5)); // still no slot
  h.watch_at.emplace(11, arm(2)); // has one
  h.run(20);
  EXPECT_EQ(h.k.watched(), 4u);
  EXPECT_FALSE(h.k.is_watched(5));
  EXPECT_EQ(h.k.counter(hw::kPeerCntWatchOverflow), 2u);
  // Slot of node 1 released (idle), then node 5 fits.
  for (proto::NodeId n = 1; n <= 4; n++) h.alive.insert(n);
  for (uint64_t t = 1000; t < 20000; t += 1000)
    for (proto::NodeId n = 2; n <= 4; n++) h.watch_at.emplace(t + n, arm(n));
  h.run_until(h.k.idle_timeout() + 10);
  EXPECT_EQ(h.k.watched(), 3u);
  EXPECT_FALSE(h.k.is_watched(1));
  h.watch_at.emplace(h.k.now(), arm(5));
  h.run(5);
  EXPECT_TRUE(h.k.is_watched(5));
  EXPECT_EQ(h.k.counter(hw::kPeerCntWatchOverflow), 2u);
}

// A down slot is never released (probed at the interval so it is seen coming back) until
// forget(): then it is freed within one walk and reported up.
TEST(PeerMonitor, DownSlotKeptUntilForget) {
  Harness<> h;
  const proto::NodeId p = 3;
  h.watch_at.emplace(0, arm(p));
  h.run(60000); // far beyond idle (14,400)
  EXPECT_TRUE(h.k.is_watched(p));
  EXPECT_TRUE(h.k.is_down(p));
  EXPECT_EQ(h.k.counter(hw::kPeerCntReleased), 0u);
  std::vector<Sent> v = h.probes_to(p);
  ASSERT_GT(v.size(), 50u);
  for (size_t i = 1; i < v.size(); i++) {
    EXPECT_GE(v[i].clock - v[i - 1].clock, kI);
    EXPECT_LE(v[i].clock - v[i - 1].clock, kI + 64);
  }
  EXPECT_FALSE(h.k.forget(99));
  EXPECT_TRUE(h.k.forget(p));
  h.run(64);
  EXPECT_FALSE(h.k.is_watched(p));
  EXPECT_EQ(h.k.counter(hw::kPeerCntForgotten), 1u);
  ASSERT_EQ(h.events.size(), 2u);
  EXPECT_FALSE(h.events[1].down);
  EXPECT_EQ(h.events[1].id, p);
  size_t n = h.probes_to(p).size();
  h.run(5000);
  EXPECT_EQ(h.probes_to(p).size(), n);
}

TEST(PeerMonitor, IntervalZeroDisables) {
  Harness<> h;
  h.k.set_interval(0);
  for (proto::NodeId n = 1; n <= 10; n++) h.watch_at.emplace(n, arm(n));
  h.seen_at.emplace(5000, peer_probe(40, 3)); // still answered
  h.run(30000);
  EXPECT_EQ(h.k.watched(), 10u);
  EXPECT_TRUE(h.events.empty());
  ASSERT_EQ(h.sent.size(), 1u);
  EXPECT_TRUE(h.sent[0].reply);
  EXPECT_EQ(h.k.counter(hw::kPeerCntProbesSent), 0u);
  // Re-enabled: every peer gets a full grace from now (timers were held).
  uint64_t on = h.k.now();
  h.k.set_interval(kI);
  h.run(kM * kI - 64);
  EXPECT_TRUE(h.events.empty());
  h.run(200);
  EXPECT_EQ(h.events.size(), 10u);
  for (const Event &e : h.events) EXPECT_GE(e.clock - on, (uint64_t)kM * kI - 64);
  // Disabled while down: reported up within one walk.
  h.k.set_interval(0);
  h.run(64);
  size_t ups = 0;
  for (const Event &e : h.events) ups += e.down ? 0 : 1;
  EXPECT_EQ(ups, 10u);
}

// out_probe held full: nothing lost, order kept per peer, no probe invented, at most one probe
// queued per peer; replies that find their queue full are counted.
TEST(PeerMonitor, BackpressureOnOutProbe) {
  Harness<> h;
  const proto::NodeId n0 = 1, peers = 20;
  for (proto::NodeId n = n0; n < n0 + peers; n++) h.watch_at.emplace(n, arm(n)); // silent peers
  h.run(1000);
  h.hold_probe = true;
  const uint32_t sent_before_hold = h.k.counter(hw::kPeerCntProbesSent);
  for (uint32_t i = 0; i < 10; i++) h.seen_at.emplace(3000 + i * 10, peer_probe(50, 1000 + i));
  h.run(8000);
  uint32_t decided = h.k.counter(hw::kPeerCntProbesSent) + h.k.counter(hw::kPeerCntRepliesSent) - sent_before_hold;
  EXPECT_LE(decided, 2u) << "the stream (depth 2) holds what was written";
  h.hold_probe = false;
  size_t before = h.sent.size();
  h.run(20);
  // Right after the release: what was queued, at most one probe per peer (no stale burst).
  std::map<proto::NodeId, int> per_peer;
  for (size_t i = before; i < h.sent.size(); i++)
    if (!h.sent[i].reply) {
      EXPECT_EQ(++per_peer[h.sent[i].to], 1) << "peer " << h.sent[i].to;
    }
  h.run(20000);
  EXPECT_EQ(h.k.counter(hw::kPeerCntProbesSent) + h.k.counter(hw::kPeerCntRepliesSent), h.sent.size());
  // No probe invented: per peer, no more probes than the same run without back-pressure.
  Harness<> g;
  for (proto::NodeId n = n0; n < n0 + peers; n++) g.watch_at.emplace(n, arm(n));
  g.run(h.k.now());
  for (proto::NodeId n = n0; n < n0 + peers; n++) EXPECT_LE(h.probes_to(n).size(), g.probes_to(n).size());
  // Replies: in order, with the probes' sequences; the rest dropped and counted.
  std::vector<uint32_t> rseq;
  for (const Sent &s : h.sent)
    if (s.reply) rseq.push_back(s.seq);
  EXPECT_EQ(rseq.size() + h.k.counter(hw::kPeerCntRepliesDropped), 10u);
  EXPECT_GT(h.k.counter(hw::kPeerCntRepliesDropped), 0u);
  // The stream and the probe queue were full of probes: the first kPeerReplyQueueDepth wait.
  std::vector<uint32_t> want_rseq;
  for (uint32_t i = 0; i < hw::kPeerReplyQueueDepth; i++) want_rseq.push_back(1000 + i);
  EXPECT_EQ(rseq, want_rseq);
  // Probes: per peer, sequences 0, 1, 2, ... without gap or repeat.
  for (proto::NodeId n = n0; n < n0 + peers; n++) {
    std::vector<Sent> v = h.probes_to(n);
    ASSERT_FALSE(v.empty());
    for (size_t i = 0; i < v.size(); i++) EXPECT_EQ(v[i].seq, i) << "peer " << n;
  }
  // Detection went on while the output was held (the peers are silent).
  EXPECT_EQ(h.k.counter(hw::kPeerCntPeersDown), peers);
  EXPECT_EQ(h.k.counter(hw::kPeerCntUnroutable), 0u);
}

// out_state held full while peers go silent and are then heard again: the transitions that found
// room (the state queue, then the stream) arrive once, in order per peer, after the release; the
// others were never made (the peers were heard before their turn came again): none lost, none
// invented, counters equal to what arrived.
TEST(PeerMonitor, BackpressureOnOutState) {
  Harness<> h;
  const proto::NodeId n0 = 1, peers = 12;
  for (proto::NodeId n = n0; n < n0 + peers; n++) h.watch_at.emplace(n, arm(n));
  h.hold_state = true;
  h.run(6000); // all silent past misses * interval
  for (proto::NodeId n = n0; n < n0 + peers; n++) h.seen_at.emplace(6000 + n, data_from(n)); // heard again
  h.run(500);
  h.hold_state = false;
  h.run(2 * 64 + 20);
  std::map<proto::NodeId, std::vector<bool>> per;
  for (const Event &e : h.events) per[e.id].push_back(e.down);
  size_t cycled = 0;
  for (proto::NodeId n = n0; n < n0 + peers; n++) {
    if (!per[n].empty()) {
      EXPECT_EQ(per[n], (std::vector<bool>{true, false})) << "peer " << n;
      cycled++;
    }
    EXPECT_FALSE(h.k.is_down(n));
  }
  EXPECT_EQ(cycled, hw::kPeerStateQueueDepth + 2u) << "queue + stream (depth 2) while held";
  EXPECT_EQ(h.k.counter(hw::kPeerCntPeersDown), cycled);
  EXPECT_EQ(h.k.counter(hw::kPeerCntPeersUp), cycled);
  EXPECT_EQ(h.events.size(), 2 * cycled);
  EXPECT_TRUE(h.k.idle());
}

TEST(PeerMonitor, UnroutableCounted) {
  Harness<> h;
  const proto::NodeId p = 200; // no neighbour entry
  h.watch_at.emplace(0, arm(p));
  h.seen_at.emplace(10, peer_probe(300, 1)); // prober without an entry
  h.run(1000);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_EQ(h.k.counter(hw::kPeerCntUnroutable), 2u); // the reply and the probe at 960
  // The entry written through the table registers: the next probe leaves.
  h.k.apply_table_write(hw::neighbour_write(1, p, hw::cluster_neighbour(p, port_of(p))));
  h.run(1000);
  ASSERT_EQ(h.sent.size(), 1u);
  EXPECT_EQ(h.sent[0].to, p);
  EXPECT_EQ(h.sent[0].seq, 1u) << "the unroutable probe used sequence 0";
  EXPECT_TRUE(same_word(h.sent[0].w, expected_frame(p, 1, false)));
}

// The synthesis top: registers, table writes, counters, forget through forget_seq.
TEST(PeerMonitor, TopFunction) {
  hls::stream<hw::ParsedMeta> seen;
  hls::stream<hw::ArmWord> watch;
  hls::stream<axis_word> probe;
  hls::stream<hw::PeerState> state;
  uint32_t cnt[hw::kPeerCntCount];
  hw::NodeAddress self = hw::cluster_address(kSelf);
  uint16_t mac_hi = (uint16_t)(self.mac[0] << 8 | self.mac[1]);
  uint32_t mac_lo =
      (uint32_t)self.mac[2] << 24 | (uint32_t)self.mac[3] << 16 | (uint32_t)self.mac[4] << 8 | self.mac[5];
  hw::TableWrite w = hw::neighbour_write(1, 5, hw::cluster_neighbour(5, port_of(5)));
  uint32_t forget_seq = 0;
  std::vector<Sent> sent;
  std::vector<Event> events;
  for (uint64_t c = 0; c < 8000; c++) {
    if (c == 3) watch.write(arm(5));
    if (c == 7000) forget_seq = 1; // after the down verdict: 2 x 2,700 clocks (never heard)
    // idle 16 x interval: watched until its down verdict (the default, 4 x, would release it first)
    fanout_peer_monitor(seen, watch, probe, state, kSelf, mac_hi, mac_lo, self.ipv4, 0, 0, 0, 16 * kI, 0, forget_seq, 5,
                        w.seq, w.kind, w.index, w.mac_hi, w.mac_lo, w.ipv4, w.port, w.valid, cnt);
    while (!probe.empty()) sent.push_back(decode(c, probe.read()));
    while (!state.empty()) {
      hw::PeerState p = state.read();
      events.push_back(Event{c, p.id, p.down});
    }
  }
  ASSERT_GE(sent.size(), 3u);
  EXPECT_EQ(sent[0].clock, visit(3 + kI, 0)); // watched at clock 3 into slot 0
  EXPECT_TRUE(same_word(sent[0].w, expected_frame(5, 0, false)));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].down);
  EXPECT_FALSE(events[1].down);
  EXPECT_EQ(cnt[hw::kPeerCntProbesSent], sent.size());
  EXPECT_EQ(cnt[hw::kPeerCntPeersDown], 1u);
  EXPECT_EQ(cnt[hw::kPeerCntForgotten], 1u);
  EXPECT_EQ(cnt[hw::kPeerCntWatched], 0u);
  EXPECT_EQ(cnt[hw::kPeerCntWatchWords], 1u);
}

} // namespace

// A peer never heard since it was watched gets new_peer_grace times the silence before it is
// declared down (default 2); once heard, the plain misses x interval applies.
TEST(PeerMonitor, NewPeerGrace) {
  Harness<> h;
  h.k.set_new_peer_grace(hw::kPeerDefaultNewGrace);
  h.watch_at.emplace(0, arm(5)); // never answers
  h.watch_at.emplace(0, arm(6)); // heard once at clock 100, then silent
  h.seen_at.emplace(100, data_from(6));
  h.run(12000);
  ASSERT_EQ(h.events.size(), 2u);
  for (const Event &e : h.events) {
    EXPECT_TRUE(e.down);
    if (e.id == 5) {
      EXPECT_GE(e.clock, (uint64_t)hw::kPeerDefaultNewGrace * kM * kI);
      EXPECT_LE(e.clock, (uint64_t)hw::kPeerDefaultNewGrace * kM * kI + 64);
    } else {
      EXPECT_EQ(e.id, 6);
      EXPECT_GE(e.clock, 100u + kM * kI);
      EXPECT_LE(e.clock, 100u + kM * kI + 64);
    }
  }
}

// One-packet messages are not watched: their copies are gone with their packet (local repair is
// for streams), and an all-to-all of short messages would otherwise cost more heartbeats than
// data. Neither the child of such a copy nor the origin of such a DATA packet gets a slot.
TEST(PeerMonitor, OnePacketMessagesAreNotWatched) {
  Harness<> h;
  h.watch_at.emplace(0, arm(5, false, 1));
  h.seen_at.emplace(0, data_from(6, 1));
  h.watch_at.emplace(10, arm(7, false, 2));
  h.run(100);
  EXPECT_FALSE(h.k.is_watched(5));
  EXPECT_FALSE(h.k.is_watched(6));
  EXPECT_TRUE(h.k.is_watched(7));
  EXPECT_EQ(h.k.watched(), 1u);
}
