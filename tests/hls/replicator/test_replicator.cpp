// The replicator kernel (hls/replicator) against golden vectors from the software path: the
// expected copies of every frame are computed here with proto::parse_frame, tree_split /
// port_split, partition_for_packets and build_frame, and compared byte for byte (and tkeep,
// tlast, tdest, tuser) with what fanout::hw::Replicator<P> sends, one step() per clock.
#include "replicator.hpp"

#include "parser.hpp"

#include "fanout/hls/arm.hpp"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/neighbour.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/hls/table_write.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/policy.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/split.hpp"
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

extern "C" void
fanout_replicator(hls::stream<fanout::hw::ParsedMeta> &in_meta, hls::stream<fanout::hw::axis_word> &in_frame,
                  hls::stream<fanout::hw::axis_word> out_port[2], hls::stream<fanout::hw::axis_word> &out_host,
                  hls::stream<fanout::hw::ArmWord> &out_arm, hls::stream<fanout::hw::ParsedMeta> &out_fb_meta,
                  hls::stream<fanout::hw::axis_word> &out_fb, hls::stream<fanout::hw::PeerState> &peer_state,
                  uint16_t self_id, uint16_t self_mac_hi, uint32_t self_mac_lo, uint32_t self_ipv4, uint8_t mode,
                  uint8_t tree_fanout, uint16_t udp_port, hls::stream<ap_uint<8>> &port_down, uint32_t tbl_seq,
                  uint8_t tbl_kind, uint16_t tbl_index, uint16_t tbl_mac_hi, uint32_t tbl_mac_lo, uint32_t tbl_ipv4,
                  uint8_t tbl_port, uint8_t tbl_valid, uint32_t counters[fanout::hw::kReplCounterCount],
                  uint32_t policy_max_receivers, uint16_t policy_first_id, uint16_t policy_last_id,
                  uint32_t rate_bytes_per_tick, uint32_t rate_burst_bytes);

namespace {

namespace proto = fanout::proto;
namespace hw = fanout::hw;
using hw::ArmWord;
using hw::axis_word;
using hw::ParsedMeta;
using Bytes = std::vector<uint8_t>;
using Words = std::vector<axis_word>;

const uint16_t kSelf = 100;
const uint16_t kCopyPort = 47200; // UDP destination port of the copies (not the input's)

// ---- Frames ---------------------------------------------------------------------------------------
uint32_t g_msg = 1; // every frame its own message id

struct FrameSpec {
  std::vector<std::pair<uint16_t, uint16_t>> ranges; // the set, as ascending ranges
  proto::SetEncoding enc = proto::kSetNone;          // kSetNone: the shortest
  uint32_t payload = 0;
  uint8_t hops = proto::kDefaultHops;
  uint8_t type = proto::kTypeData;
  bool last_packet = true; // last-and-only packet; otherwise packet 2 of a 10-packet message
  bool retx = false;       // DATA: a retransmission (kFlagRetx)
  uint16_t sender = 3;     // the Fanout header's sender
  uint16_t origin = 7;     // and origin (the node that sent this copy)
};

Bytes build(const FrameSpec &s) {
  uint32_t msg = g_msg++;
  proto::NetHeaders net = proto::cluster_net_headers(s.origin, kSelf, s.sender, msg);
  net.ip_tos = (uint8_t)(0x28 + (msg & 3)); // the copies keep it
  net.ip_ttl = 17;                          // the copies do not
  net.ip_id = (uint16_t)msg;
  uint32_t length = s.last_packet ? s.payload : 10 * s.payload;
  uint32_t seq = s.last_packet ? 0 : 2;
  if (s.type != proto::kTypeData) length = s.type == proto::kTypeProbe ? 0 : 5, seq = 4;
  proto::FanoutHeader h = proto::make_header(s.type, s.sender, s.origin, msg, seq, length);
  h.flags = s.type == proto::kTypeData && s.last_packet ? proto::kFlagLast : 0;
  if (s.type == proto::kTypeData && s.retx) h.flags |= proto::kFlagRetx;
  h.hops_left = s.hops;
  auto set = std::make_unique<proto::ReceiverSet>();
  for (auto &r : s.ranges) EXPECT_TRUE(set->append_range(r.first, r.second));
  proto::BuildOptions opt = proto::default_build_options();
  opt.encoding = s.enc;
  Bytes payload(s.payload);
  for (uint32_t i = 0; i < s.payload; i++) payload[i] = (uint8_t)(i * 13 + msg);
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  int e = proto::build_frame(net, h, *set, payload.data(), s.payload, opt, out.data(), (uint32_t)out.size(), &len);
  EXPECT_EQ(e, proto::kOk);
  out.resize(len);
  return out;
}

FrameSpec ids_spec(const std::vector<uint16_t> &ids, uint32_t payload, proto::SetEncoding enc = proto::kSetNone) {
  FrameSpec s;
  for (uint16_t id : ids) {
    if (!s.ranges.empty() && s.ranges.back().second + 1 == id) {
      s.ranges.back().second = id;
    } else {
      s.ranges.push_back({id, id});
    }
  }
  s.payload = payload;
  s.enc = enc;
  return s;
}

uint32_t spec_set_bytes(const FrameSpec &s) {
  auto set = std::make_unique<proto::ReceiverSet>();
  for (auto &r : s.ranges) EXPECT_TRUE(set->append_range(r.first, r.second));
  proto::SetCost cost = proto::set_cost(*set);
  return s.enc == proto::kSetNone ? cost.best_bytes() : cost.bytes(s.enc);
}

Words to_words(const Bytes &f, uint8_t dest, uint16_t user) {
  std::vector<proto::Beat> beats(proto::beats_for((uint32_t)f.size()));
  uint32_t n = proto::frame_to_beats(f.data(), (uint32_t)f.size(), beats.data(), (uint32_t)beats.size());
  EXPECT_EQ(n, beats.size());
  Words w;
  for (const proto::Beat &b : beats) {
    w.push_back(hw::from_beat(b, dest, user));
  }
  return w;
}

bool same_word(const axis_word &a, const axis_word &b) {
  return a.data == b.data && a.keep == b.keep && a.strb == b.strb && a.last == b.last && a.user == b.user &&
         a.dest == b.dest;
}

// The first difference between two frames of words, or "".
std::string diff(const Words &got, const Words &want) {
  if (got.size() != want.size())
    return "beats: got " + std::to_string(got.size()) + ", want " + std::to_string(want.size());
  for (size_t i = 0; i < got.size(); i++) {
    if (!same_word(got[i], want[i])) {
      std::string s = "beat " + std::to_string(i) + " differs:";
      if (got[i].data != want[i].data) {
        proto::Beat g = hw::to_beat(got[i]), w = hw::to_beat(want[i]);
        for (unsigned j = 0; j < 64; j++)
          if (g.data[j] != w.data[j]) {
            s += " data byte " + std::to_string(j) + " got " + std::to_string(g.data[j]) + " want " +
                 std::to_string(w.data[j]);
            break;
          }
      }
      if (got[i].keep != want[i].keep) s += " keep";
      if (got[i].last != want[i].last) s += " last";
      if (got[i].dest != want[i].dest) s += " dest " + std::to_string(got[i].dest.to_uint());
      if (got[i].user != want[i].user) s += " user";
      return s;
    }
  }
  return "";
}

bool same_arm(const ArmWord &a, const ArmWord &b) {
  return a.key.sender == b.key.sender && a.key.message_id == b.key.message_id && a.parent == b.parent &&
         a.child.id == b.child.id && a.child.hull_first == b.child.hull_first &&
         a.child.hull_last == b.child.hull_last && a.total_packets == b.total_packets && a.last == b.last &&
         a.gone == b.gone;
}
std::string arm_str(const ArmWord &a) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "{key %u/%u parent %u child %u [%u,%u] total %u last %d gone %d}", a.key.sender,
                a.key.message_id, a.parent, a.child.id, a.child.hull_first, a.child.hull_last, a.total_packets,
                (int)a.last, (int)a.gone);
  return buf;
}

// ---- Configuration shared by the kernel and the golden model --------------------------------------
struct Config {
  uint8_t mode = hw::kReplModeTree;
  uint32_t fanout = 4;
  hw::NodeAddress self = hw::cluster_address(kSelf);
  std::map<uint16_t, hw::NeighbourEntry> neighbours;
  std::unique_ptr<proto::PortTable> ports = std::make_unique<proto::PortTable>();
  uint32_t nports = 2;
  uint64_t port_down = 0;                             // ports the link monitor marks down
  std::map<uint8_t, uint16_t> peers;                  // port mode: the Fanout node behind a port
  std::set<uint16_t> down;                            // tree mode: peers the peer monitor declared down
  std::map<uint8_t, uint8_t> backups;                 // port mode: port -> backup port
  proto::SetPolicy policy = proto::open_set_policy(); // hostile-input rules 1-3 (open: none)
  proto::RateConfig rate = {0, 0};                    // per-sender token buckets (0: no limit)
};

// Every id in [lo, hi] a neighbour on port id % nports (through the register write path for a
// few, setters for the rest).
void all_neighbours(Config &c, uint32_t lo, uint32_t hi) {
  for (uint32_t id = lo; id <= hi; id++)
    c.neighbours[(uint16_t)id] = hw::cluster_neighbour((uint16_t)id, (uint8_t)(id % c.nports));
}

template <uint32_t P> void configure(hw::Replicator<P> &k, const Config &c) {
  k.set_self(c.self);
  k.set_mode(c.mode);
  k.set_fanout(c.fanout);
  k.set_udp_port(kCopyPort);
  k.set_port_down(c.port_down);
  uint32_t seq = 1;
  for (auto &n : c.neighbours) {
    if (seq < 50) {
      k.apply_table_write(hw::neighbour_write(seq++, n.first, n.second)); // the register path
    } else {
      k.set_neighbour(n.first, n.second);
    }
  }
  for (uint32_t id = 0; id < proto::kNodeIdSpace; id++) {
    uint8_t p = c.ports->get((uint16_t)id);
    if (p != proto::kPortNone) k.apply_table_write(hw::port_write(seq++, (uint16_t)id, p));
  }
  for (auto &pp : c.peers) k.apply_table_write(hw::port_peer_write(seq++, pp.first, pp.second));
  for (auto &b : c.backups) {
    hw::TableWrite w = hw::TableWrite();
    w.seq = seq++;
    w.kind = hw::kTablePortBackup;
    w.index = b.second;
    w.port = b.first;
    w.valid = 1;
    k.apply_table_write(w);
  }
  for (uint16_t id : c.down) k.apply_peer_state(hw::PeerState{id, true});
  k.set_policy(c.policy);
  k.set_rate(c.rate);
}

// ---- Golden model ---------------------------------------------------------------------------------
struct Expected {
  std::vector<std::vector<Words>> port; // per port, its frames in order
  std::vector<Words> host;
  std::vector<Words> fb;
  std::vector<ArmWord> arms;
  uint32_t counters[hw::kReplCounterCount] = {};
  explicit Expected(uint32_t nports) : port(nports) {}
};

class Golden {
 public:
  // The rate limiter is fed time 0 for every frame (the golden does not know the kernel's clock at
  // planning): exact when the refill over the whole run is less than one frame's payload.
  explicit Golden(const Config &c)
      : c_(c), large_(new proto::LargeReceiverSet[proto::kMaxPorts + 2]), rate_(new proto::RateLimiter<>) {
    rate_->configure(c.rate);
  }

  void frame(const Bytes &f, uint8_t ingress, Expected &e) {
    proto::ParseConfig pc = proto::default_parse_config();
    pc.verify_udp_checksum = false;
    proto::ParsedPacket pp;
    auto set = std::make_unique<proto::ReceiverSet>();
    ASSERT_EQ(proto::parse_frame(f.data(), (uint32_t)f.size(), pc, pp, set.get()), proto::kOk);
    const proto::FanoutHeader &h = pp.hdr;
    if (h.type == proto::kTypeAck || h.type == proto::kTypeNack) {
      e.counters[h.type == proto::kTypeAck ? hw::kCntAckIn : hw::kCntNackIn]++;
      e.counters[hw::kCntFeedbackForwarded]++;
      e.fb.push_back(to_words(f, 0, ingress));
      return;
    }
    if (proto::is_peer_probe(h.type, h.hops_left)) {
      e.counters[hw::kCntProbeIn]++;
      e.counters[hw::kCntPeerProbesIn]++; // the peer monitor's: consumed
      return;
    }
    if (h.type == proto::kTypeProbe) {
      e.counters[hw::kCntProbeIn]++;
      e.counters[hw::kCntProbesToHost]++;
      e.host.push_back(to_words(f, hw::kHostPort, ingress));
      return;
    }
    e.counters[hw::kCntDataIn]++;
    // Hostile-input policy: a frame from this node's host has this node as sender and origin and
    // may name it (local delivery); a refused frame is dropped whole.
    bool from_host = ingress == hw::kHostPort;
    int refused = proto::check_set_policy(c_.policy, *set, from_host ? c_.self.id : h.sender,
                                          from_host ? c_.self.id : h.origin); // open: passes
    if (from_host && refused == proto::kPolicyLoop) refused = proto::kPolicyOk;
    if (refused == proto::kPolicyOk && !rate_->allow(h.sender, pp.payload_len, 0)) refused = proto::kPolicyRateLimited;
    if (refused != proto::kPolicyOk) {
      static const int kCounter[proto::kPolicyCodeCount] = {0, hw::kCntPolicyTooManyReceivers, hw::kCntPolicyUnknownId,
                                                            hw::kCntPolicyLoop, hw::kCntPolicyRateLimited};
      e.counters[kCounter[refused]]++;
      refused_++;
      return;
    }
    ArmWord base;
    base.key.sender = h.sender;
    base.key.message_id = h.message_id;
    base.parent = ingress == hw::kHostPort ? c_.self.id : h.origin;
    base.total_packets = proto::packets_in_message(h, pp.payload_len);
    base.last = false;
    base.gone = false;
    size_t arm0 = e.arms.size();
    // A retransmission is replicated and delivered like any DATA but arms nothing.
    const bool arms = (h.flags & proto::kFlagRetx) == 0;

    // Subsets to send, with their port (tree: kPortNone = from the neighbour entry).
    std::vector<std::pair<const proto::LargeReceiverSet *, uint8_t>> subsets;
    bool local = false;
    if (c_.mode == hw::kReplModePort) {
      proto::LargeReceiverSet *outs = &large_[0];
      proto::PortSplitResult r = proto::port_split(*set, *c_.ports, c_.nports, ingress, outs);
      local = r.deliver_local;
      if (h.hops_left > 0) {
        e.counters[hw::kCntLoopedIds] += r.looped;
        e.counters[hw::kCntUnroutableIds] += r.unroutable;
        for (uint32_t p = 0; p < c_.nports; p++)
          if (!outs[p].empty()) subsets.push_back({&outs[p], (uint8_t)p});
      }
    } else {
      local = set->contains(c_.self.id);
      if (h.hops_left > 0) {
        proto::LargeReceiverSet &rem = large_[proto::kMaxPorts];
        ASSERT_TRUE(set->without(c_.self.id, rem));
        proto::Chunk chunks[proto::kMaxTreeFanout];
        uint32_t n = proto::tree_split(rem, c_.fanout, chunks);
        for (uint32_t i = 0; i < n; i++) {
          chunk_sets_.emplace_back(new proto::LargeReceiverSet);
          ASSERT_TRUE(rem.slice(chunks[i].begin, chunks[i].end, *chunk_sets_.back()));
          ASSERT_EQ(chunk_sets_.back()->first_id(), chunks[i].head);
          // Local repair: down heads are skipped (at most kReplMaxGoneHeads), armed gone.
          proto::LargeReceiverSet &cs = *chunk_sets_.back();
          uint32_t skipped = 0;
          while (!cs.empty() && c_.down.count(cs.first_id()) && skipped < hw::kReplMaxGoneHeads) {
            uint16_t head = cs.first_id();
            e.counters[hw::kCntGoneHeads]++;
            if (arms) {
              ArmWord g = base;
              g.child.id = g.child.hull_first = g.child.hull_last = head;
              g.gone = true;
              gone_arms.push_back(g);
            }
            proto::LargeReceiverSet rest;
            ASSERT_TRUE(cs.without(head, rest));
            cs = rest;
            skipped++;
          }
          if (cs.empty()) continue;
          if (c_.down.count(cs.first_id())) {
            e.counters[hw::kCntRepairLimit]++;
            continue;
          }
          subsets.push_back({chunk_sets_.back().get(), proto::kPortNone});
        }
      }
    }
    if (h.hops_left == 0) e.counters[hw::kCntHopsExhausted]++;
    for (const ArmWord &g : gone_arms) e.arms.push_back(g);
    gone_arms.clear();
    if (local) {
      e.host.push_back(to_words(f, hw::kHostPort, ingress));
      e.counters[hw::kCntLocalDeliveries]++;
      ArmWord a = base;
      a.child.id = a.child.hull_first = a.child.hull_last = c_.self.id;
      if (arms) e.arms.push_back(a);
    }
    uint32_t maxb = std::min(proto::kMaxSetBytes, proto::kMaxFrameBytes - proto::kFixedHeadersBytes - pp.payload_len);
    const uint8_t *payload = f.data() + pp.payload_offset;
    for (auto &sp : subsets) {
      const proto::LargeReceiverSet &sub = *sp.first;
      std::vector<proto::IdRange> pieces;
      if (proto::set_cost(sub).best_bytes() <= maxb) {
        pieces.push_back({sub.first_id(), sub.last_id()});
      } else {
        uint32_t n = proto::partition_for_packets(sub, maxb, (proto::IdRange *)nullptr, 0);
        pieces.resize(n);
        ASSERT_EQ(proto::partition_for_packets(sub, maxb, pieces.data(), n), n);
      }
      for (const proto::IdRange &pc_range : pieces) {
        auto piece = std::make_unique<proto::ReceiverSet>();
        ASSERT_TRUE(proto::intersect_range(sub, pc_range.first, pc_range.last, *piece));
        uint16_t dest = piece->first_id();
        if (sp.second != proto::kPortNone && c_.peers.count(sp.second)) dest = c_.peers.at(sp.second);
        auto it = c_.neighbours.find(dest);
        uint8_t port = sp.second == proto::kPortNone && it != c_.neighbours.end() ? it->second.port : sp.second;
        if (it == c_.neighbours.end() || !it->second.valid || port >= c_.nports) {
          e.counters[hw::kCntUnroutableCopies]++;
          continue;
        }
        if ((c_.port_down >> port) & 1u) {
          auto b = sp.second != proto::kPortNone ? c_.backups.find(port) : c_.backups.end();
          if (b == c_.backups.end() || ((c_.port_down >> b->second) & 1u)) {
            e.counters[hw::kCntPortDownCopies]++;
            continue;
          }
          port = b->second;
          if (c_.peers.count(port)) dest = c_.peers.at(port);
          it = c_.neighbours.find(dest);
          if (it == c_.neighbours.end() || !it->second.valid) {
            e.counters[hw::kCntPortDownCopies]++;
            continue;
          }
          e.counters[hw::kCntBackupCopies]++;
        }
        proto::NetHeaders net;
        std::memcpy(net.eth_dst, it->second.mac, 6);
        std::memcpy(net.eth_src, c_.self.mac, 6);
        net.ip_src = c_.self.ipv4;
        net.ip_dst = it->second.ipv4;
        net.ip_tos = f[proto::kIpTosOff];
        net.ip_ttl = proto::kDefaultIpTtl;
        net.ip_id = 0;
        net.udp_src_port = pp.udp_src_port;
        net.udp_dst_port = kCopyPort;
        proto::FanoutHeader ch = h;
        ch.hops_left = (uint8_t)(h.hops_left - 1);
        ch.origin = c_.self.id;
        ch.flags = (uint8_t)(h.flags & ~proto::kFlagAuth); // copies go unsigned (no trailer)
        Bytes out(proto::kMaxFrameBytes);
        uint32_t len = 0;
        ASSERT_EQ(proto::build_frame(net, ch, *piece, payload, pp.payload_len, proto::default_build_options(),
                                     out.data(), (uint32_t)out.size(), &len),
                  proto::kOk);
        out.resize(len);
        e.port[port].push_back(to_words(out, port, 0));
        e.counters[hw::kCntCopiesSent]++;
        set_deltas.push_back((int)h.set_len - (int)(len - proto::kFixedHeadersBytes - pp.payload_len));
        ArmWord a = base;
        a.child.id = dest;
        a.child.hull_first = piece->first_id();
        a.child.hull_last = piece->last_id();
        if (arms) e.arms.push_back(a);
      }
    }
    if (e.arms.size() > arm0) e.arms.back().last = true;
    e.counters[hw::kCntArmWords] = (uint32_t)e.arms.size();
    chunk_sets_.clear();
  }

  std::vector<int> set_deltas; // set_in - set_out of every copy
  std::vector<ArmWord> gone_arms;
  uint32_t refused() const { return refused_; }

 private:
  const Config &c_;
  std::unique_ptr<proto::LargeReceiverSet[]> large_;
  std::unique_ptr<proto::RateLimiter<>> rate_;
  uint32_t refused_ = 0;
  std::vector<std::unique_ptr<proto::LargeReceiverSet>> chunk_sets_;
};

// ---- Kernel harness -------------------------------------------------------------------------------
struct Input {
  Bytes frame;
  uint8_t ingress;
};

template <uint32_t P> struct KernelRun {
  std::vector<Input> inputs;
  double p_in = 1.0, p_out = 1.0; // per clock: offer an input beat / read each output
  uint32_t seed = 1;
  uint64_t max_cycles = 5'000'000;
  bool via_parser = false; // feed through fanout::hw::Parser (chain test)

  std::unique_ptr<hw::Replicator<P>> k = std::make_unique<hw::Replicator<P>>();
  std::unique_ptr<hw::Parser> parser = std::make_unique<hw::Parser>();

  std::vector<std::vector<Words>> port = std::vector<std::vector<Words>>(P);
  std::vector<Words> host, fb;
  std::vector<ParsedMeta> fb_meta;
  std::vector<ArmWord> arms;
  uint64_t cycles = 0, first_in = UINT64_MAX, first_out = UINT64_MAX;
  uint64_t p0_first = UINT64_MAX, p0_last = 0, p0_beats = 0;

  void go() {
    hls::stream<ParsedMeta> in_meta, fb_meta_s, p_meta; // depth 2 (default)
    hls::stream<axis_word> in_frame, out_host, out_fb, p_in_s, p_host;
    hls::stream<axis_word> out_port[P];
    hls::stream<ArmWord> out_arm;
    std::vector<Words> words;
    std::vector<ParsedMeta> metas;
    for (const Input &in : inputs) {
      words.push_back(to_words(in.frame, 0, in.ingress));
      ParsedMeta m = ParsedMeta();
      proto::ReceiverSet scratch;
      int code = hw::classify_frame(in.frame.data(), (uint32_t)in.frame.size(), proto::kDefaultUdpPort, scratch, m);
      m.ingress_port = in.ingress;
      if (!via_parser) {
        EXPECT_EQ(code, proto::kOk);
      }
      metas.push_back(m);
    }
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    size_t fi = 0, bi = 0;
    std::vector<Words> cur(P + 2);
    uint64_t quiet = 0;
    for (cycles = 0; cycles < max_cycles; cycles++) {
      bool offered = fi < words.size() && u(rng) < p_in;
      if (via_parser) {
        if (offered) {
          if (first_in == UINT64_MAX) first_in = cycles;
          p_in_s.write(words[fi][bi]);
          if (++bi == words[fi].size()) fi++, bi = 0;
        }
        parser->step(p_in_s, in_frame, in_meta, p_host);
        EXPECT_TRUE(p_host.empty());
      } else if (offered && !in_frame.full() && (bi > 0 || !in_meta.full())) {
        if (first_in == UINT64_MAX) first_in = cycles;
        if (bi == 0) in_meta.write(metas[fi]);
        in_frame.write(words[fi][bi]);
        if (++bi == words[fi].size()) fi++, bi = 0;
      }
      k->step(in_meta, in_frame, out_port, out_host, out_arm, fb_meta_s, out_fb);
      bool any = false;
      auto take = [&](hls::stream<axis_word> &s, Words &c, std::vector<Words> &done, bool is_p0) {
        if (s.empty() || !(p_out >= 1.0 || u(rng) < p_out)) return;
        any = true;
        if (first_out == UINT64_MAX) first_out = cycles;
        if (is_p0) {
          if (p0_first == UINT64_MAX) p0_first = cycles;
          p0_last = cycles;
          p0_beats++;
        }
        c.push_back(s.read());
        if (c.back().last == 1) done.push_back(std::move(c)), c.clear();
      };
      for (uint32_t p = 0; p < P; p++) take(out_port[p], cur[p], port[p], p == 0);
      take(out_host, cur[P], host, false);
      take(out_fb, cur[P + 1], fb, false);
      if (!out_arm.empty() && (p_out >= 1.0 || u(rng) < p_out)) arms.push_back(out_arm.read());
      if (!fb_meta_s.empty() && (p_out >= 1.0 || u(rng) < p_out)) fb_meta.push_back(fb_meta_s.read());
      bool done = fi == words.size() && k->idle() && in_frame.empty() && (!via_parser || parser->fifo_level() == 0);
      for (uint32_t p = 0; p < P; p++) done = done && out_port[p].empty();
      done = done && out_host.empty() && out_fb.empty() && out_arm.empty() && fb_meta_s.empty();
      quiet = done && !any ? quiet + 1 : 0;
      if (quiet > 4) break;
    }
    EXPECT_LT(cycles, max_cycles) << "the run did not drain";
    for (auto &c : cur) EXPECT_TRUE(c.empty()) << "partial frame at an output";
  }
};

template <uint32_t P> void expect_outputs(const KernelRun<P> &r, const Expected &e, bool check_counters = true) {
  for (uint32_t p = 0; p < P; p++) {
    ASSERT_EQ(r.port[p].size(), e.port[p].size()) << "frames on port " << p;
    for (size_t i = 0; i < e.port[p].size(); i++) {
      std::string d = diff(r.port[p][i], e.port[p][i]);
      ASSERT_EQ(d, "") << "port " << p << " frame " << i;
    }
  }
  ASSERT_EQ(r.host.size(), e.host.size()) << "frames on out_host";
  for (size_t i = 0; i < e.host.size(); i++) ASSERT_EQ(diff(r.host[i], e.host[i]), "") << "host frame " << i;
  ASSERT_EQ(r.fb.size(), e.fb.size()) << "frames on out_fb";
  for (size_t i = 0; i < e.fb.size(); i++) ASSERT_EQ(diff(r.fb[i], e.fb[i]), "") << "fb frame " << i;
  ASSERT_EQ(r.fb_meta.size(), e.fb.size()) << "one meta per feedback frame";
  ASSERT_EQ(r.arms.size(), e.arms.size()) << "arm words";
  for (size_t i = 0; i < e.arms.size(); i++)
    ASSERT_TRUE(same_arm(r.arms[i], e.arms[i]))
        << "arm " << i << ": got " << arm_str(r.arms[i]) << " want " << arm_str(e.arms[i]);
  if (check_counters) {
    for (int c = 0; c < hw::kReplCounterCount; c++) EXPECT_EQ(r.k->counter(c), e.counters[c]) << "counter " << c;
  }
}

template <uint32_t P> Expected golden(const Config &c, const std::vector<Input> &inputs, Golden *g = nullptr) {
  Expected e(P);
  std::unique_ptr<Golden> own;
  if (!g) own = std::make_unique<Golden>(c), g = own.get();
  for (const Input &in : inputs) g->frame(in.frame, in.ingress, e);
  return e;
}

// Sets of many shapes.
std::vector<FrameSpec> shapes(uint32_t payload) {
  std::vector<FrameSpec> v;
  auto add = [&](FrameSpec s) {
    s.payload = payload;
    v.push_back(s);
  };
  add(ids_spec({5}, 0));                                                // one id, not self
  add(ids_spec({kSelf, 101, 102, 300}, 0));                             // self + contiguous + far
  add(ids_spec({1, 4, 9, 16, 25, 36, 49, 64, 81, kSelf, 121, 144}, 0)); // list, with self
  add(ids_spec({2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 0, proto::kSetList));  // list though ranges is shorter
  {
    FrameSpec s; // ranges with self inside one range
    s.ranges = {{10, 40}, {90, 120}, {500, 700}, {1000, 1000}};
    add(s);
  }
  {
    FrameSpec s; // bitmap: every third id
    for (uint16_t id = 0; id < 600; id += 3) s.ranges.push_back({id, id});
    add(s);
  }
  {
    FrameSpec s; // bitmap forced on a sparse set (not the shortest)
    s.ranges = {{20, 20}, {23, 23}, {40, 41}, {kSelf, kSelf}};
    s.enc = proto::kSetBitmap;
    add(s);
  }
  {
    FrameSpec s; // the largest list: 512 ids
    for (uint16_t i = 0; i < 512; i++) s.ranges.push_back({(uint16_t)(i * 3 + 1), (uint16_t)(i * 3 + 1)});
    s.enc = proto::kSetList;
    add(s);
  }
  {
    FrameSpec s; // a broadcast range 0..2999 (self inside)
    s.ranges = {{0, 2999}};
    add(s);
  }
  return v;
}

const uint32_t kPayloads[] = {0, 1, 63, 64, 100, 1000, 4000, 8000, 8900};

std::vector<Input> golden_inputs(std::mt19937 &rng, uint32_t nports) {
  std::vector<Input> in;
  for (uint32_t pl : kPayloads) {
    for (FrameSpec s : shapes(pl)) {
      if (proto::kFixedHeadersBytes + spec_set_bytes(s) + pl > proto::kMaxFrameBytes) continue; // too long
      s.last_packet = rng() % 3 != 0 || pl == 0;
      uint8_t ingress = rng() % 4 == 0 ? hw::kHostPort : (uint8_t)(rng() % nports);
      in.push_back({build(s), ingress});
    }
  }
  return in;
}

// ---- 1. Golden vectors ----------------------------------------------------------------------------
template <uint32_t P> void tree_golden(uint32_t fanout, uint32_t seed) {
  SCOPED_TRACE("tree F=" + std::to_string(fanout) + " P=" + std::to_string(P));
  Config c;
  c.nports = P;
  c.fanout = fanout;
  all_neighbours(c, 0, 2999);
  std::mt19937 rng(seed);
  KernelRun<P> r;
  configure(*r.k, c);
  r.inputs = golden_inputs(rng, P);
  r.go();
  Expected e = golden<P>(c, r.inputs);
  expect_outputs(r, e);
  uint64_t copies = 0;
  for (auto &p : r.port) copies += p.size();
  EXPECT_GT(copies, r.inputs.size());
}

TEST(Replicator, GoldenTreeF2) {
  tree_golden<2>(2, 1);
}
TEST(Replicator, GoldenTreeF4) {
  tree_golden<2>(4, 2);
}
TEST(Replicator, GoldenTreeF16FourPorts) {
  tree_golden<4>(16, 3);
}

template <uint32_t P> void port_golden(uint32_t seed, std::map<uint8_t, uint16_t> peers = {}) {
  SCOPED_TRACE("port mode P=" + std::to_string(P));
  Config c;
  c.peers = peers;
  c.nports = P;
  c.mode = hw::kReplModePort;
  all_neighbours(c, 0, 29999);
  // Port table: id % (P + 1) == P -> local (includes other ids than self), a hole of unroutable
  // ids, ids past P (unroutable), the rest alternate over the ports (scatters ranges: large sets
  // need partitioning).
  for (uint32_t id = 0; id < 30000; id++)
    c.ports->set((uint16_t)id, (uint8_t)(id % (P + 1) == P ? proto::kPortLocal : id % (P + 1)));
  for (uint32_t id = 700; id < 720; id++) c.ports->set((uint16_t)id, proto::kPortNone);
  c.ports->set(721, (uint8_t)(P + 3));
  std::mt19937 rng(seed);
  KernelRun<P> r;
  configure(*r.k, c);
  r.inputs = golden_inputs(rng, P);
  // Large sets whose port subsets do not fit one packet: ranges covering 20,000 ids.
  for (uint32_t pl : {0u, 3000u, 8900u}) {
    FrameSpec s;
    s.ranges = {{0, 9999}, {12000, 21999}};
    s.payload = pl;
    r.inputs.push_back({build(s), (uint8_t)(pl % P)});
  }
  r.go();
  Expected e = golden<P>(c, r.inputs);
  expect_outputs(r, e);
  EXPECT_GT(r.k->counter(hw::kCntLoopedIds), 0u);
  EXPECT_GT(r.k->counter(hw::kCntUnroutableIds), 0u);
  uint64_t copies = 0;
  for (auto &p : r.port) copies += p.size();
  EXPECT_GT(copies, r.inputs.size());
}

TEST(Replicator, GoldenPortModeTwoPorts) {
  port_golden<2>(4);
}
TEST(Replicator, GoldenPortModeFourPorts) {
  port_golden<4>(5);
}
// Fanout peers behind ports 1 and 3 (switches): their copies go to the peer, which is the child
// armed; ports 0 and 2 still send to the subset's first id.
TEST(Replicator, GoldenPortModePeers) {
  port_golden<4>(6, {{1, 29990}, {3, 29991}});
}

// ---- 2. Random backpressure -----------------------------------------------------------------------
template <uint32_t P> void backpressure(uint8_t mode, uint32_t seed) {
  Config c;
  c.nports = P;
  c.mode = mode;
  c.fanout = 3;
  all_neighbours(c, 0, 29999);
  for (uint32_t id = 0; id < 30000; id++)
    c.ports->set((uint16_t)id, (uint8_t)(id == kSelf ? proto::kPortLocal : id % P));
  std::mt19937 rng(seed);
  std::vector<Input> inputs = golden_inputs(rng, P);
  // Feedback and probes in between.
  for (int i = 0; i < 6; i++) {
    FrameSpec s = ids_spec({(uint16_t)(i + 1), 50}, 0);
    s.type = i % 3 == 0 ? proto::kTypeProbe : i % 3 == 1 ? proto::kTypeAck : proto::kTypeNack;
    if (s.type == proto::kTypeProbe) s.ranges.clear();
    if (s.type == proto::kTypeProbe) s.hops = i == 0 ? 0 : 1; // a link monitor's, then a peer probe
    inputs.insert(inputs.begin() + (long)(rng() % inputs.size()), Input{build(s), (uint8_t)(i % P)});
  }
  KernelRun<P> smooth;
  configure(*smooth.k, c);
  smooth.inputs = inputs;
  smooth.go();
  for (uint32_t s = 0; s < 3; s++) {
    SCOPED_TRACE("seed " + std::to_string(seed + s));
    KernelRun<P> r;
    configure(*r.k, c);
    r.inputs = inputs;
    r.p_in = 0.6;
    r.p_out = 0.5;
    r.seed = seed + s;
    r.go();
    Expected e = golden<P>(c, inputs);
    expect_outputs(r, e);
    // Identical to the run without backpressure.
    for (uint32_t p = 0; p < P; p++) {
      ASSERT_EQ(r.port[p].size(), smooth.port[p].size());
      for (size_t i = 0; i < r.port[p].size(); i++) ASSERT_EQ(diff(r.port[p][i], smooth.port[p][i]), "");
    }
    EXPECT_GT(r.cycles, smooth.cycles);
  }
}

TEST(Replicator, RandomBackpressureTreeMode) {
  backpressure<2>(hw::kReplModeTree, 10);
}
TEST(Replicator, RandomBackpressurePortMode) {
  backpressure<4>(hw::kReplModePort, 20);
}

// ---- 3. Special cases and counters ----------------------------------------------------------------
TEST(Replicator, UnroutableHopsSelfOnlyFeedbackProbe) {
  Config c;
  c.fanout = 4;
  all_neighbours(c, 0, 199);
  c.neighbours[13].valid = false; // an erased entry
  c.neighbours[14].port = 9;      // a port >= P
  c.neighbours.erase(15);         // never written
  std::vector<Input> in;
  in.push_back({build(ids_spec({13, 14, 15, 16}, 10)), 0}); // F=4: 4 copies, 3 unroutable
  FrameSpec h0 = ids_spec({20, 21, 22, kSelf}, 30);
  h0.hops = 0;
  in.push_back({build(h0), 1}); // hops 0: host only, no copies
  FrameSpec h0b = ids_spec({20, 21}, 30);
  h0b.hops = 0;
  in.push_back({build(h0b), 1});                                // hops 0, not local: nothing at all
  in.push_back({build(ids_spec({kSelf}, 500)), hw::kHostPort}); // self only: host only
  FrameSpec h1 = ids_spec({30, 31, kSelf}, 70);
  h1.hops = 1;
  in.push_back({build(h1), 0}); // hops 1: copies carry hops 0
  FrameSpec ack = ids_spec({1, 2, 3}, 0);
  ack.type = proto::kTypeAck;
  in.push_back({build(ack), 1});
  FrameSpec nack = ids_spec({4, 9}, 0);
  nack.type = proto::kTypeNack;
  in.push_back({build(nack), 0});
  FrameSpec probe;
  probe.type = proto::kTypeProbe;
  probe.hops = 0; // a link monitor's heartbeat: to the host
  in.push_back({build(probe), 1});
  FrameSpec peer_probe = probe;
  peer_probe.hops = 1; // the peer monitor's: consumed
  in.push_back({build(peer_probe), 0});
  KernelRun<2> r;
  configure(*r.k, c);
  r.k->erase_neighbour(15);
  r.inputs = in;
  r.go();
  Expected e = golden<2>(c, in);
  expect_outputs(r, e);
  EXPECT_EQ(r.k->counter(hw::kCntDataIn), 5u);
  EXPECT_EQ(r.k->counter(hw::kCntAckIn), 1u);
  EXPECT_EQ(r.k->counter(hw::kCntNackIn), 1u);
  EXPECT_EQ(r.k->counter(hw::kCntProbeIn), 2u);
  EXPECT_EQ(r.k->counter(hw::kCntPeerProbesIn), 1u);
  EXPECT_EQ(r.k->counter(hw::kCntProbesToHost), 1u);
  EXPECT_EQ(r.k->counter(hw::kCntUnroutableCopies), 3u);
  EXPECT_EQ(r.k->counter(hw::kCntCopiesSent), 3u); // 16, 30, 31
  EXPECT_EQ(r.k->counter(hw::kCntLocalDeliveries), 3u);
  EXPECT_EQ(r.k->counter(hw::kCntHopsExhausted), 2u);
  EXPECT_EQ(r.k->counter(hw::kCntFeedbackForwarded), 2u);
  EXPECT_EQ(r.k->counter(hw::kCntProbesToHost), 1u);
  EXPECT_EQ(r.k->counter(hw::kCntArmWords), 6u);
  EXPECT_EQ(r.k->counter(hw::kCntBadSet), 0u);
  EXPECT_EQ(r.k->counter(hw::kCntPlanOverflow), 0u);
  // Feedback metadata is the parser's, unchanged.
  ASSERT_EQ(r.fb_meta.size(), 2u);
  EXPECT_EQ(r.fb_meta[0].hdr.type, proto::kTypeAck);
  EXPECT_EQ(r.fb_meta[0].ingress_port, 1);
  EXPECT_EQ(r.fb_meta[1].hdr.type, proto::kTypeNack);
  EXPECT_EQ(r.fb_meta[1].frame_len, in[6].frame.size());
  // The self-only frame from the host: parent is self.
  bool found = false;
  for (const ArmWord &a : r.arms)
    if (a.parent == kSelf && a.child.id == kSelf) found = true;
  EXPECT_TRUE(found);
}

TEST(Replicator, CopiesForADownPortAreDroppedCountedAndNotArmed) {
  // Neighbours on ports id % 2; port 1 is down: the copies towards odd heads are dropped and
  // counted, the others leave as usual, and only the sent copies (and self) are armed.
  Config c;
  c.fanout = 4;
  c.port_down = 2;
  all_neighbours(c, 0, 199);
  std::vector<Input> in;
  in.push_back({build(ids_spec({10, 11, 12, 13}, 300)), 0});
  in.push_back({build(ids_spec({20, 21, 22, 23, 24, 25, 26, 27, kSelf}, 40)), 1});
  KernelRun<2> r;
  configure(*r.k, c);
  r.inputs = in;
  r.go();
  Expected e = golden<2>(c, in);
  expect_outputs(r, e);
  // Frame 1: heads 10, 11, 12, 13 (ports 0, 1, 0, 1): 11 and 13 dropped. Frame 2: chunks 20-21,
  // 22-23, 24-25, 26-27 have even heads: all four sent (and the local delivery).
  EXPECT_EQ(r.k->counter(hw::kCntPortDownCopies), 2u);
  EXPECT_EQ(r.k->counter(hw::kCntCopiesSent), 6u);
  for (const ArmWord &a : r.arms) EXPECT_NE(a.child.id % 2, 1) << "no arm word for a copy that was not sent";
}

TEST(Replicator, DownChunkHeadsAreSkippedAndArmedGone) {
  // Local repair, tree mode: node 11 (a chunk head) and 20, 21 (two heads in a row) are down.
  // Their chunks go to their first live id; every skipped head is armed gone with hull [id, id]
  // before the other words; the chunks of live heads are unchanged.
  Config c;
  c.fanout = 4;
  c.down = {11, 20, 21};
  all_neighbours(c, 0, 199);
  std::vector<Input> in;
  in.push_back({build(ids_spec({11, 12, 13, 14, 15, 16, 17, 18}, 300)), 0});
  in.push_back({build(ids_spec({20, 21, 22, 30, 31, 32, kSelf}, 40)), 1});
  in.push_back({build(ids_spec({11}, 40)), 1}); // only a dead node: nothing sent, one gone word (last)
  KernelRun<2> r;
  configure(*r.k, c);
  r.inputs = in;
  r.go();
  Expected e = golden<2>(c, in);
  expect_outputs(r, e);
  EXPECT_EQ(r.k->counter(hw::kCntGoneHeads), 4u);
  std::vector<uint16_t> gone, heads;
  for (const ArmWord &a : r.arms) (a.gone ? gone : heads).push_back(a.child.id);
  EXPECT_EQ(gone, (std::vector<uint16_t>{11, 20, 21, 11}));
  // Frame 1: chunks {11,12} {13,14} {15,16} {17,18}: 11 is down, {12} goes to 12. Frame 2: self
  // delivered; chunks {20,21} {22,30} {31} {32}: both of the first are down, nothing left of it.
  EXPECT_EQ(heads, (std::vector<uint16_t>{12, 13, 15, 17, kSelf, 22, 31, 32}));
  ASSERT_FALSE(r.arms.empty());
  EXPECT_TRUE(r.arms.back().gone && r.arms.back().last) << "a frame with only gone words ends with last";
}

TEST(Replicator, RandomSetsWithDownPeersMatchTheGoldenRepair) {
  std::mt19937 rng(7);
  for (uint32_t f : {2u, 4u, 16u}) {
    Config c;
    c.fanout = f;
    all_neighbours(c, 0, 1199);
    std::uniform_int_distribution<int> id(0, 1199);
    for (int i = 0; i < 150; i++) c.down.insert((uint16_t)id(rng));
    for (uint16_t d = 300; d <= 340; d++) c.down.insert(d); // a run longer than kReplMaxGoneHeads
    std::vector<Input> in = golden_inputs(rng, 2);
    std::vector<uint16_t> run;
    for (uint16_t d = 300; d < 500; d++) run.push_back(d);
    in.push_back({build(ids_spec(run, 100)), 0});
    FrameSpec retx = ids_spec(run, 100);
    retx.retx = true;
    in.push_back({build(retx), 0});
    KernelRun<2> r;
    configure(*r.k, c);
    r.inputs = in;
    r.go();
    Expected e = golden<2>(c, in);
    expect_outputs(r, e);
    EXPECT_GT(r.k->counter(hw::kCntGoneHeads), 0u);
    EXPECT_GT(r.k->counter(hw::kCntRepairLimit), 0u);
  }
}

TEST(Replicator, PortModeUsesTheBackupPortOfADownPort) {
  // Port mode, 4 ports: ids 100-199 on port 2, 200-299 on port 3; port 2's backup is port 3
  // (e.g. two uplinks to two spines). Port 2 down: its copies leave on port 3 to port 3's peer.
  Config c;
  c.mode = hw::kReplModePort;
  c.nports = 4;
  all_neighbours(c, 0, 299);
  for (uint16_t id = 100; id < 200; id++) c.ports->set(id, 2);
  for (uint16_t id = 200; id < 300; id++) c.ports->set(id, 3);
  c.peers = {{2, 250}, {3, 260}};
  c.backups = {{2, 3}, {0, 1}};
  c.port_down = (1u << 2) | (1u << 0) | (1u << 1); // 0 and its backup 1 both down: dropped
  for (uint16_t id = 0; id < 100; id++) c.ports->set(id, (uint8_t)(id % 2));
  std::vector<Input> in;
  in.push_back({build(ids_spec({4, 5, 120, 130, 210}, 300)), 3});
  in.push_back({build(ids_spec({4, 120, 210}, 60)), hw::kHostPort});
  KernelRun<4> r;
  configure(*r.k, c);
  r.inputs = in;
  r.go();
  Expected e = golden<4>(c, in);
  expect_outputs(r, e);
  EXPECT_EQ(r.k->counter(hw::kCntBackupCopies), 2u);
  EXPECT_EQ(r.k->counter(hw::kCntPortDownCopies), 3u); // 4 and 5 (port 0, backup 1 down), 4 again
  for (const ArmWord &a : r.arms) EXPECT_NE(a.child.id, 250) << "nothing armed behind the down port";
}

TEST(Replicator, RetransmissionsAreReplicatedAndDeliveredButArmNothing) {
  // A retransmission (kFlagRetx) goes where the first transmission went, and to this node's host,
  // but writes no arm word: the aggregators armed by the first transmission carry its
  // acknowledgements, and a retransmission sent straight to a lagging receiver must not add a
  // child that answers elsewhere (the sender's window would wait on it forever).
  Config c;
  c.fanout = 2;
  all_neighbours(c, 0, 199);
  std::vector<Input> in;
  FrameSpec first = ids_spec({10, 11, 12, 13, kSelf}, 300);
  FrameSpec again = first;
  again.retx = true;
  in.push_back({build(first), 0});
  in.push_back({build(again), 0});
  KernelRun<2> r;
  configure(*r.k, c);
  r.inputs = in;
  r.go();
  Expected e = golden<2>(c, in);
  expect_outputs(r, e);
  EXPECT_EQ(r.k->counter(hw::kCntCopiesSent), 4u);      // 2 chunk heads, twice
  EXPECT_EQ(r.k->counter(hw::kCntLocalDeliveries), 2u); // both delivered here
  EXPECT_EQ(r.k->counter(hw::kCntArmWords), 3u);        // the first frame's: 2 heads + self
  for (const ArmWord &a : r.arms) EXPECT_EQ(a.key.message_id, r.arms[0].key.message_id) << "the retransmission armed";
}

using fanout::test::frame_bytes;

TEST(Replicator, SignedFramesAreCopiedUnsignedWithTheirPayloadAndDeliveredWhole) {
  // A signed DATA frame (proto/auth.hpp): each copy carries the payload without the trailer and
  // without AUTH (a copy is this node's Fanout part, which the kernel does not sign); the local
  // delivery is the frame unchanged, trailer included, for the host to check.
  Config c;
  c.fanout = 2;
  all_neighbours(c, 0, 199);
  const uint8_t key[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
  std::vector<Input> in;
  for (uint32_t payload : {0u, 11u, 12u, 700u}) {
    in.push_back({fanout::test::signed_frame(build(ids_spec({10, 11, 12, 13, kSelf}, payload)), payload + 1, key), 0});
  }
  KernelRun<2> r;
  configure(*r.k, c);
  r.inputs = in;
  r.go();
  Expected e = golden<2>(c, in);
  expect_outputs(r, e);
  ASSERT_EQ(r.host.size(), in.size());
  size_t copies = 0;
  for (size_t p = 0; p < 2; p++)
    for (const Words &w : r.port[p]) {
      Bytes f = frame_bytes(w);
      proto::ParsedPacket pp;
      proto::ParseConfig cfg = proto::default_parse_config();
      cfg.verify_udp_checksum = false;
      cfg.udp_port = kCopyPort;
      ASSERT_EQ(proto::parse_frame(f.data(), (uint32_t)f.size(), cfg, pp, (proto::ReceiverSet *)nullptr), proto::kOk);
      EXPECT_FALSE(pp.auth) << "a copy goes unsigned";
      EXPECT_EQ(pp.payload_len, pp.hdr.length) << "the whole payload, no trailer";
      copies++;
    }
  EXPECT_EQ(copies, 2 * in.size());
  for (size_t i = 0; i < in.size(); i++) EXPECT_EQ(frame_bytes(r.host[i]), in[i].frame) << "delivered whole";
}

TEST(Replicator, SetThatFailsToDecodeIsDroppedWhole) {
  Config c;
  all_neighbours(c, 0, 199);
  KernelRun<2> r;
  configure(*r.k, c);
  Bytes bad = build(ids_spec({5, 9}, 20, proto::kSetList));
  bad[proto::kSetOffset + 3] = 1; // 5, 1: unsorted (a parser would have dropped it)
  Bytes good = build(ids_spec({6, 7}, 20));
  // Fed with hand-made metas (the parser would drop the bad frame).
  hls::stream<ParsedMeta> im, fm;
  hls::stream<axis_word> inf, oh, of;
  hls::stream<axis_word> op[2];
  hls::stream<ArmWord> oa;
  std::vector<Words> got;
  Words cur;
  for (const Bytes *f : {&bad, &good}) {
    ParsedMeta m = ParsedMeta();
    proto::ReceiverSet scratch;
    hw::classify_frame(good.data(), (uint32_t)f->size(), proto::kDefaultUdpPort, scratch, m);
    m.hdr.message_id = proto::load_be32(&(*f)[proto::kFanoutOffset + proto::kFoMessageIdOff]);
    Words w = to_words(*f, 0, 0);
    for (size_t i = 0; i < w.size(); i++) {
      if (i == 0) im.write(m);
      inf.write(w[i]);
      r.k->step(im, inf, op, oh, oa, fm, of);
      for (auto &s : op)
        while (!s.empty()) cur.push_back(s.read());
    }
  }
  for (int i = 0; i < 20; i++) {
    r.k->step(im, inf, op, oh, oa, fm, of);
    for (auto &s : op)
      while (!s.empty()) cur.push_back(s.read());
    while (!oa.empty()) oa.read();
  }
  EXPECT_EQ(r.k->counter(hw::kCntBadSet), 1u);
  EXPECT_EQ(r.k->counter(hw::kCntCopiesSent), 2u);
  EXPECT_TRUE(r.k->idle());
  EXPECT_EQ(cur.size(), 2 * proto::beats_for((uint32_t)(64 + 2 + 20)));
}

// ---- Hostile input: policy and rate limit (proto/policy.hpp) -------------------------------------
// Totals over the outputs of a run: frames on every port and the host and feedback streams, arm words.
template <uint32_t P> size_t outputs(const KernelRun<P> &r) {
  size_t n = r.host.size() + r.fb.size() + r.arms.size();
  for (auto &p : r.port) n += p.size();
  return n;
}

TEST(Replicator, PolicyRefusesEachCodeWholeAndCountsIt) {
  Config c;
  all_neighbours(c, 0, 199);
  c.policy.max_receivers = 6;
  c.policy.first_id = 0;
  c.policy.last_id = 199;
  std::vector<Input> in;
  auto add = [&](FrameSpec s, uint8_t ingress) { in.push_back({build(s), ingress}); };
  add(ids_spec({10, 11, 12, 13, 14, 15, 16}, 100), 0);                // 7 ids > 6: too many
  add(ids_spec({20, 21, 22, 23, 24, 25, kSelf}, 100), hw::kHostPort); // too many, from the host
  add(ids_spec({10, 250}, 100), 1);                                   // 250 outside [0, 199]
  add(ids_spec({30, 200}, 0), hw::kHostPort);                         // 200: unknown, from the host
  add(ids_spec({3, 20}, 100), 0);                                     // names the sender (3)
  add(ids_spec({7, 21, kSelf}, 100), 1);                              // names the origin (7)
  FrameSpec retx = ids_spec({3, 22}, 8000);                           // a retransmission: checked too
  retx.retx = true;
  add(retx, 0);
  FrameSpec order = ids_spec({3, 10, 11, 12, 13, 14, 15, 300}, 10); // every rule fails: the first decides
  add(order, 0);
  KernelRun<2> r;
  configure(*r.k, c);
  r.inputs = in;
  r.go();
  EXPECT_EQ(outputs(r), 0u) << "a refused frame sends, delivers and arms nothing";
  EXPECT_TRUE(r.k->idle());
  EXPECT_EQ(r.k->counter(hw::kCntDataIn), 8u);
  EXPECT_EQ(r.k->counter(hw::kCntPolicyTooManyReceivers), 3u);
  EXPECT_EQ(r.k->counter(hw::kCntPolicyUnknownId), 2u);
  EXPECT_EQ(r.k->counter(hw::kCntPolicyLoop), 3u);
  EXPECT_EQ(r.k->counter(hw::kCntPolicyRateLimited), 0u);
  EXPECT_EQ(r.k->counter(hw::kCntBadSet), 0u);
  EXPECT_EQ(r.k->ring_level(), 0u);
  Expected e = golden<2>(c, in);
  expect_outputs(r, e);
}

TEST(Replicator, PolicyLetsTheRestThroughUnchanged) {
  // Legal frames next to refused ones: the legal ones leave exactly as without a policy.
  Config c;
  c.fanout = 3;
  all_neighbours(c, 0, 199);
  c.policy.max_receivers = 6;
  c.policy.first_id = 0;
  c.policy.last_id = 199;
  std::vector<Input> in;
  auto add = [&](FrameSpec s, uint8_t ingress) { in.push_back({build(s), ingress}); };
  add(ids_spec({0, 50, 51, 52, kSelf, 199}, 300), 0); // 6 ids, both bounds: legal
  add(ids_spec({10, 250}, 100), 1);                   // refused
  add(ids_spec({3, 40, kSelf}, 64), hw::kHostPort);   // from the host: names this node (legal)
  add(ids_spec({7, 21}, 100), 1);                     // refused (origin)
  add(ids_spec({8, 9, 10}, 4000), 0);                 // legal
  FrameSpec self_only = ids_spec({kSelf}, 1);         // the host's own loopback
  add(self_only, hw::kHostPort);
  KernelRun<2> r;
  configure(*r.k, c);
  r.inputs = in;
  r.go();
  Expected e = golden<2>(c, in);
  expect_outputs(r, e);
  EXPECT_EQ(r.k->counter(hw::kCntPolicyUnknownId), 1u);
  EXPECT_EQ(r.k->counter(hw::kCntPolicyLoop), 1u);
  EXPECT_EQ(r.k->counter(hw::kCntLocalDeliveries), 3u);

  // The same legal frames without a policy: identical outputs.
  Config open;
  open.fanout = 3;
  all_neighbours(open, 0, 199);
  std::vector<Input> legal = {in[0], in[2], in[4], in[5]};
  KernelRun<2> r2;
  configure(*r2.k, open);
  r2.inputs = legal;
  r2.go();
  for (uint32_t p = 0; p < 2; p++) {
    ASSERT_EQ(r.port[p].size(), r2.port[p].size());
    for (size_t i = 0; i < r.port[p].size(); i++) EXPECT_EQ(diff(r.port[p][i], r2.port[p][i]), "");
  }
  ASSERT_EQ(r.host.size(), r2.host.size());
  ASSERT_EQ(r.arms.size(), r2.arms.size());
  for (size_t i = 0; i < r.arms.size(); i++) EXPECT_TRUE(same_arm(r.arms[i], r2.arms[i]));
}

TEST(Replicator, GoldenTreeAndPortModeUnderAPolicy) {
  // Every golden shape and payload, from the network and the host, under a closed policy: the
  // kernel refuses exactly the golden's frames (by code) and sends the rest byte for byte.
  for (uint8_t mode : {hw::kReplModeTree, hw::kReplModePort}) {
    SCOPED_TRACE(mode == hw::kReplModeTree ? "tree" : "port");
    Config c;
    c.mode = mode;
    all_neighbours(c, 0, 2999);
    if (mode == hw::kReplModePort)
      for (uint32_t id = 0; id < 3000; id++)
        c.ports->set((uint16_t)id, (uint8_t)(id == kSelf ? proto::kPortLocal : id % 2));
    c.policy.max_receivers = 300;
    c.policy.first_id = 0;
    c.policy.last_id = 900;
    std::mt19937 rng(11);
    KernelRun<2> r;
    configure(*r.k, c);
    r.inputs = golden_inputs(rng, 2);
    r.go();
    Golden g(c);
    Expected e = golden<2>(c, r.inputs, &g);
    expect_outputs(r, e);
    EXPECT_GT(g.refused(), 0u);
    EXPECT_LT(g.refused(), r.inputs.size());
    EXPECT_GT(r.k->counter(hw::kCntPolicyTooManyReceivers), 0u);
    EXPECT_GT(r.k->counter(hw::kCntPolicyUnknownId), 0u);
    EXPECT_GT(r.k->counter(hw::kCntPolicyLoop), 0u);
  }
}

TEST(Replicator, RateLimitDropsExactlyTheFramesBeyondTheBucket) {
  // Sender 3 floods 10 frames of 4,000 bytes, sender 5 sends 3, both with a bucket of 3 frames
  // and a refill of 1 byte per tick (64 clocks): the whole run (about 1,000 clocks) refills less
  // than one frame, so sender 3 loses exactly its last 7 frames and sender 5 loses none.
  const uint32_t kPayload = 4000;
  Config c;
  c.fanout = 2;
  all_neighbours(c, 0, 199);
  c.rate.bytes_per_tick = 1;
  c.rate.burst_bytes = 3 * kPayload + 100;
  std::vector<Input> in;
  for (int i = 0; i < 13; i++) {
    FrameSpec s = ids_spec({10, 11, 12}, kPayload);
    bool other = i % 4 == 1 && i < 12; // frames 1, 5, 9: sender 5
    s.sender = other ? 5 : 3;
    s.origin = s.sender;
    in.push_back({build(s), 0});
  }
  KernelRun<2> r;
  configure(*r.k, c);
  r.inputs = in;
  r.go();
  ASSERT_LT(r.cycles, (uint64_t)kPayload) << "the refill during the run must stay below one frame";
  EXPECT_EQ(r.k->counter(hw::kCntPolicyRateLimited), 7u);
  EXPECT_EQ(r.k->counter(hw::kCntCopiesSent), 6u * 2u); // 3 + 3 frames, 2 chunk heads each
  std::map<uint16_t, int> per_sender;
  for (const ArmWord &a : r.arms)
    if (a.last) per_sender[a.key.sender]++;
  EXPECT_EQ(per_sender[3], 3);
  EXPECT_EQ(per_sender[5], 3);
  Expected e = golden<2>(c, in);
  expect_outputs(r, e);

  // The bucket refills with time: after 2 * kPayload idle ticks sender 3 sends 2 frames more.
  hls::stream<ParsedMeta> im, fm;
  hls::stream<axis_word> inf, oh, of;
  hls::stream<axis_word> op[2];
  hls::stream<ArmWord> oa;
  for (uint32_t i = 0; i < (2 * kPayload + 200) * hw::kReplRateTickClocks; i++) r.k->step(im, inf, op, oh, oa, fm, of);
  KernelRun<2> more;
  more.k = std::move(r.k); // same kernel, buckets and clock
  for (int i = 0; i < 3; i++) {
    FrameSpec s = ids_spec({10, 11, 12}, kPayload);
    more.inputs.push_back({build(s), 0});
  }
  more.go();
  EXPECT_EQ(more.k->counter(hw::kCntPolicyRateLimited), 8u);
  EXPECT_EQ(more.k->counter(hw::kCntCopiesSent), 8u * 2u);
}

TEST(Replicator, PolicyKeepsTheAmplificationBound) {
  // With max_receivers M, one legal packet makes at most min(F, M) copies plus one local
  // delivery at a node, and a packet with more ids makes nothing.
  const uint32_t kM = 16, kF = 4;
  Config c;
  c.fanout = kF;
  all_neighbours(c, 0, 999);
  c.policy.max_receivers = kM;
  c.policy.first_id = 0;
  c.policy.last_id = 999;
  std::mt19937 rng(5);
  std::vector<Input> in;
  std::vector<bool> legal;
  for (int i = 0; i < 40; i++) {
    std::set<uint16_t> ids;
    uint32_t n = 1 + rng() % (2 * kM);
    while (ids.size() < n) {
      uint16_t id = (uint16_t)(8 + rng() % 990);
      if (id != kSelf || rng() % 2) ids.insert(id);
    }
    in.push_back({build(ids_spec(std::vector<uint16_t>(ids.begin(), ids.end()), 200)), (uint8_t)(rng() % 2)});
    legal.push_back(n <= kM);
  }
  KernelRun<2> r;
  configure(*r.k, c);
  r.inputs = in;
  r.go();
  Expected e = golden<2>(c, in);
  expect_outputs(r, e);
  // Arm words per message: one per output (copies and local delivery), none when refused.
  std::map<uint32_t, uint32_t> per_msg;
  for (const ArmWord &a : r.arms) per_msg[a.key.message_id]++;
  uint32_t refused = 0;
  for (size_t i = 0; i < in.size(); i++) {
    uint32_t msg = proto::load_be32(&in[i].frame[proto::kFanoutOffset + proto::kFoMessageIdOff]);
    if (!legal[i]) {
      EXPECT_EQ(per_msg.count(msg), 0u) << "frame " << i;
      refused++;
    } else {
      EXPECT_LE(per_msg[msg], kF + 1) << "frame " << i;
    }
  }
  EXPECT_EQ(r.k->counter(hw::kCntPolicyTooManyReceivers), refused);
  EXPECT_GT(refused, 0u);
}

// ---- 4. Chain: parser -> replicator -----------------------------------------------------------------
TEST(Replicator, ChainWithParserDropsMalformedAndMatchesGolden) {
  Config c;
  c.fanout = 4;
  all_neighbours(c, 0, 2999);
  std::mt19937 rng(77);
  std::vector<Input> valid = golden_inputs(rng, 2);
  FrameSpec ack = ids_spec({1, 2}, 0);
  ack.type = proto::kTypeAck;
  valid.push_back({build(ack), 1});
  std::vector<Input> all;
  for (size_t i = 0; i < valid.size(); i++) {
    all.push_back(valid[i]);
    if (i % 5 == 2) { // a malformed frame: bad IPv4 checksum, bad set, truncated
      Bytes b = build(ids_spec({3, 4}, 40));
      if (i % 3 == 0) b[proto::kIpChecksumOff] ^= 0xFF;
      if (i % 3 == 1) b[proto::kSetOffset + 1] = b[proto::kSetOffset + 3]; // duplicate id
      if (i % 3 == 2) b.resize(b.size() - 5);                              // lengths no longer match
      all.push_back({b, 0});
    }
  }
  KernelRun<2> r;
  configure(*r.k, c);
  r.inputs = all;
  r.via_parser = true;
  // The parser's input is a MAC (never held): offered at a rate the replicator's copies keep up
  // with (a fan-out of 4 multiplies the bytes), so the parser's FIFO never overflows.
  r.p_in = 0.1;
  r.p_out = 0.7;
  r.go();
  Expected e = golden<2>(c, valid);
  expect_outputs(r, e);
  uint32_t dropped = 0;
  for (int code = proto::kTruncated; code < proto::kErrorCount; code++) dropped += r.parser->error_count(code);
  EXPECT_EQ(dropped, all.size() - valid.size());
  EXPECT_EQ(r.parser->overflow_count(), 0u);
}

// ---- Top ------------------------------------------------------------------------------------------------
// The synthesis top (one static kernel for the whole program), its streams and this node's
// registers; clock() is one call, the policy registers given per call.
struct TopRig {
  hls::stream<ParsedMeta> im, fm;
  hls::stream<axis_word> inf, oh, of;
  hls::stream<axis_word> op[2];
  hls::stream<ArmWord> oa;
  hls::stream<hw::PeerState> ps;
  hls::stream<ap_uint<8>> pd; // port_down: the link monitor's word, kept by the kernel until the next
  uint32_t counters[hw::kReplCounterCount] = {};
  hw::NodeAddress self = hw::cluster_address(kSelf);
  uint16_t mac_hi = (uint16_t)(self.mac[0] << 8 | self.mac[1]);
  uint32_t mac_lo =
      (uint32_t)self.mac[2] << 24 | (uint32_t)self.mac[3] << 16 | (uint32_t)self.mac[4] << 8 | self.mac[5];
  uint32_t seq = 0;

  void clock(const hw::TableWrite &w, uint32_t max = 0, uint16_t first = 0, uint16_t last = 0) {
    fanout_replicator(im, inf, op, oh, oa, fm, of, ps, kSelf, mac_hi, mac_lo, self.ipv4, hw::kReplModeTree, 2,
                      kCopyPort, pd, w.seq, w.kind, w.index, w.mac_hi, w.mac_lo, w.ipv4, w.port, w.valid, counters, max,
                      first, last, 0, 0);
  }
  // A clock with the table registers unchanged (tbl_seq as last written).
  void clock_idle(uint32_t max = 0, uint16_t first = 0, uint16_t last = 0) {
    hw::TableWrite w = hw::TableWrite();
    w.seq = seq;
    clock(w, max, first, last);
  }
  // Neighbours 40 (port 0) and 41 (port 1), one register write per clock.
  void write_neighbours() {
    for (uint16_t id : {40, 41}) clock(hw::neighbour_write(++seq, id, hw::cluster_neighbour(id, (uint8_t)(id - 40))));
  }
  // The frame to {40, 41, kSelf} from port 1, clocked through; returns what left (ports 0, 1, host).
  std::vector<Words> send_frame(const Bytes &f, uint32_t max = 0, uint16_t first = 0, uint16_t last = 0) {
    ParsedMeta m = ParsedMeta();
    proto::ReceiverSet scratch;
    EXPECT_EQ(hw::classify_frame(f.data(), (uint32_t)f.size(), proto::kDefaultUdpPort, scratch, m), proto::kOk);
    m.ingress_port = 1;
    Words w = to_words(f, 0, 1);
    std::vector<Words> got(3);
    for (size_t cyc = 0; cyc < w.size() + 20; cyc++) {
      if (cyc < w.size()) {
        if (cyc == 0) im.write(m);
        inf.write(w[cyc]);
      }
      clock_idle(max, first, last);
      for (int p = 0; p < 2; p++)
        while (!op[p].empty()) got[p].push_back(op[p].read());
      while (!oh.empty()) got[2].push_back(oh.read());
      while (!oa.empty()) oa.read();
    }
    return got;
  }
};

TEST(ReplicatorTop, ConfiguresThroughRegistersAndReplicates) {
  TopRig t;
  t.write_neighbours();
  Bytes f = build(ids_spec({40, 41, kSelf}, 200));
  std::vector<Words> got = t.send_frame(f);
  Config c;
  c.fanout = 2;
  c.neighbours[40] = hw::cluster_neighbour(40, 0);
  c.neighbours[41] = hw::cluster_neighbour(41, 1);
  Expected e = golden<2>(c, {{f, 1}});
  ASSERT_EQ(e.port[0].size(), 1u);
  ASSERT_EQ(e.port[1].size(), 1u);
  EXPECT_EQ(diff(got[0], e.port[0][0]), "");
  EXPECT_EQ(diff(got[1], e.port[1][0]), "");
  EXPECT_EQ(diff(got[2], e.host[0]), "");
  EXPECT_EQ(t.counters[hw::kCntCopiesSent], 2u);
  EXPECT_EQ(t.counters[hw::kCntLocalDeliveries], 1u);
  EXPECT_EQ(t.counters[hw::kCntArmWords], 3u);
}

// port_down arrives on an AXI4-Stream (v++ connects kernels only by streams): each word read
// holds until the next, every port is up before the first, and the kernel reads it without
// blocking (no word: no stall).
TEST(ReplicatorTop, PortDownArrivesOnAStreamAndHolds) {
  TopRig t;
  t.seq = 200; // the static kernel keeps the previous top tests' tables; write them again
  t.write_neighbours();
  Bytes f = build(ids_spec({40, 41, kSelf}, 200));
  uint32_t dropped = t.counters[hw::kCntPortDownCopies];
  std::vector<Words> got = t.send_frame(f); // nothing on the stream yet: every port up
  EXPECT_FALSE(got[0].empty());
  EXPECT_FALSE(got[1].empty());
  EXPECT_EQ(t.counters[hw::kCntPortDownCopies], dropped);

  t.pd.write(1); // port 0 down
  got = t.send_frame(f);
  EXPECT_TRUE(t.pd.empty()) << "read in the first clock";
  EXPECT_TRUE(got[0].empty()) << "port 0 down: its copy dropped";
  EXPECT_FALSE(got[1].empty());
  EXPECT_FALSE(got[2].empty()) << "local delivery unchanged";
  EXPECT_EQ(t.counters[hw::kCntPortDownCopies], dropped + 1);

  got = t.send_frame(f); // the stream stays empty: the last word holds
  EXPECT_TRUE(got[0].empty());
  EXPECT_FALSE(got[1].empty());
  EXPECT_EQ(t.counters[hw::kCntPortDownCopies], dropped + 2);

  t.pd.write(2); // port 1 down, port 0 up again
  got = t.send_frame(f);
  EXPECT_FALSE(got[0].empty());
  EXPECT_TRUE(got[1].empty());
  EXPECT_EQ(t.counters[hw::kCntPortDownCopies], dropped + 3);

  t.pd.write(0); // every port up: leave the static kernel as the other top tests expect
  got = t.send_frame(f);
  EXPECT_FALSE(got[0].empty());
  EXPECT_FALSE(got[1].empty());
  EXPECT_EQ(t.counters[hw::kCntPortDownCopies], dropped + 3);
}

TEST(ReplicatorTop, PolicyRegistersRefuseAndResetValuesAreOpen) {
  TopRig t;
  t.seq = 100; // the static kernel keeps the previous top test's tables; write them again
  t.write_neighbours();
  // One frame per policy: registers (max, first, last), expected copies and refusal counter.
  struct Case {
    uint32_t max;
    uint16_t first, last;
    uint32_t copies;
    int counter;
  };
  const Case cases[] = {
      {0, 0, 0, 2, -1},                             // reset values: open
      {2, 0, 0, 0, hw::kCntPolicyTooManyReceivers}, // 3 ids > 2
      {0, 0, 100, 2, -1},                           // [0, 100]: every id known
      {0, 0, 40, 0, hw::kCntPolicyUnknownId},       // 41 outside [0, 40]
      {0, 41, 0, 0, hw::kCntPolicyUnknownId},       // last 0 = 0xFFFF; 40 below 41
  };
  uint32_t base_copies = t.counters[hw::kCntCopiesSent];
  for (const Case &cs : cases) {
    uint32_t before_copies = t.counters[hw::kCntCopiesSent];
    uint32_t before = cs.counter >= 0 ? t.counters[cs.counter] : 0;
    t.send_frame(build(ids_spec({40, 41, kSelf}, 200)), cs.max, cs.first, cs.last);
    EXPECT_EQ(t.counters[hw::kCntCopiesSent] - before_copies, cs.copies)
        << "max " << cs.max << " [" << cs.first << ", " << cs.last << "]";
    if (cs.counter >= 0) {
      EXPECT_EQ(t.counters[cs.counter], before + 1);
    }
  }
  EXPECT_EQ(t.counters[hw::kCntCopiesSent] - base_copies, 4u);
}

// ---- 5. Throughput and latency ------------------------------------------------------------------------
struct Throughput {
  double util;
  uint64_t beats, span, frames, misaligned, copies;
};

// Tree mode F = 4, every neighbour on port 0, frames back to back; port 0 busy fraction from its
// first beat to its last.
Throughput throughput_run(bool all_misaligned, uint32_t seed) {
  Config c;
  c.fanout = 4;
  c.nports = 2;
  for (uint32_t id = 1000; id < 6000; id++) c.neighbours[(uint16_t)id] = hw::cluster_neighbour((uint16_t)id, 0);
  std::mt19937 rng(seed);
  KernelRun<2> r;
  configure(*r.k, c);
  uint64_t out_beats = 0;
  while (out_beats < 52000) {
    FrameSpec s;
    if (all_misaligned) {
      // 8..24 spread ids as a list: chunks of 2..6 ids, list bodies 4..12 bytes shorter than the
      // input's by 4..44 bytes (never a multiple of 64).
      uint32_t n = 8 + rng() % 17;
      std::vector<uint16_t> ids;
      uint16_t base = (uint16_t)(1000 + rng() % 1000); // never self: every beat goes to port 0
      for (uint32_t i = 0; i < n; i++) ids.push_back((uint16_t)(base + 3 * i));
      s = ids_spec(ids, 0, proto::kSetList);
    } else {
      // Mixed shapes: spread lists, ranges, dense bitmaps.
      uint32_t kind = rng() % 4;
      uint16_t base = (uint16_t)(1000 + rng() % 1000);
      if (kind == 3) {
        // Aligned: four blocks of 240 alternating ids, each a 64-byte bitmap run; the input's
        // set is 256 bytes, each copy's (one block) 64: payload moves by exactly 3 beats.
        for (uint32_t b = 0; b < 4; b++)
          for (uint32_t i = 0; i < 240; i++) {
            uint16_t id = (uint16_t)(base + 1000 * b + 2 * i);
            s.ranges.push_back({id, id});
          }
      } else if (kind == 0) {
        uint32_t n = 4 + rng() % 30;
        for (uint32_t i = 0; i < n; i++) s.ranges.push_back({(uint16_t)(base + 2 * i), (uint16_t)(base + 2 * i)});
      } else if (kind == 1) {
        uint32_t n = 4 + rng() % 10;
        for (uint32_t i = 0; i < n; i++) s.ranges.push_back({(uint16_t)(base + 20 * i), (uint16_t)(base + 20 * i + 5)});
      } else {
        uint32_t n = 40 + rng() % 200;
        for (uint32_t i = 0; i < n; i++)
          if (rng() % 2) s.ranges.push_back({(uint16_t)(base + 2 * i), (uint16_t)(base + 2 * i)});
        while (s.ranges.size() < 4) {
          uint16_t id = (uint16_t)(s.ranges.empty() ? base + 1000 : s.ranges.back().second + 2);
          s.ranges.push_back({id, id});
        }
      }
    }
    s.payload = rng() % 3 == 0 ? rng() % 64 : rng() % 1500;
    Bytes f = build(s);
    out_beats += 4 * proto::beats_for(64 + 2 + s.payload); // four copies (at least 4 ids, F = 4)
    r.inputs.push_back({f, 1});
  }
  r.go();
  Golden g(c);
  Expected e = golden<2>(c, r.inputs, &g);
  expect_outputs(r, e);
  Throughput t;
  t.beats = r.p0_beats;
  t.span = r.p0_last - r.p0_first + 1;
  t.util = (double)t.beats / (double)t.span;
  t.frames = r.inputs.size();
  t.copies = g.set_deltas.size();
  t.misaligned = 0;
  for (int d : g.set_deltas) t.misaligned += ((d % 64) + 64) % 64 != 0;
  for (auto &p : e.port[0]) EXPECT_GE(p.size(), 2u) << "copies of at least 2 beats";
  return t;
}

uint64_t latency_of(uint32_t payload) {
  Config c;
  c.fanout = 4;
  c.neighbours[5] = hw::cluster_neighbour(5, 0);
  KernelRun<2> r;
  configure(*r.k, c);
  r.inputs = {{build(ids_spec({5}, payload)), 1}};
  r.go();
  Expected e = golden<2>(c, r.inputs);
  expect_outputs(r, e);
  return r.first_out - r.first_in;
}

TEST(Replicator, ThroughputAndLatency) {
  Throughput mixed = throughput_run(false, 31);
  Throughput mis = throughput_run(true, 32);
  EXPECT_GE(mixed.beats, 50000u);
  EXPECT_GE(mis.beats, 50000u);
  EXPECT_EQ(mis.misaligned, mis.copies) << "every copy realigned by a non-multiple of 64 bytes";
  EXPECT_GE(mixed.util, 0.99);
  EXPECT_GE(mis.util, 0.99);
  uint64_t lat_min = latency_of(0);
  uint64_t lat_max = latency_of(proto::kMaxFrameBytes - 66);
  std::printf("[replicator] tree F=4, all copies on port 0, frames back to back: mixed sets: %llu beats in %llu "
              "cycles, port 0 busy %.4f (%llu frames, %llu copies, %llu realigned by a non-multiple of 64 B)\n",
              (unsigned long long)mixed.beats, (unsigned long long)mixed.span, mixed.util,
              (unsigned long long)mixed.frames, (unsigned long long)mixed.copies, (unsigned long long)mixed.misaligned);
  std::printf("[replicator] every copy realigned: %llu beats in %llu cycles, port 0 busy %.4f (%llu copies)\n",
              (unsigned long long)mis.beats, (unsigned long long)mis.span, mis.util, (unsigned long long)mis.copies);
  std::printf("[replicator] latency first input beat -> first output beat: %llu cycles for a 66-byte (2-beat) "
              "frame, %llu cycles for a 9014-byte (141-beat) frame (planning not included: one call in C "
              "simulation, multi-cycle in hardware)\n",
              (unsigned long long)lat_min, (unsigned long long)lat_max);
  ::testing::Test::RecordProperty("port0_utilization_mixed", std::to_string(mixed.util));
  ::testing::Test::RecordProperty("port0_utilization_realigned", std::to_string(mis.util));
  ::testing::Test::RecordProperty("latency_cycles_2_beats", std::to_string(lat_min));
  ::testing::Test::RecordProperty("latency_cycles_9014_bytes", std::to_string(lat_max));
  EXPECT_LE(lat_min, 3u);
  EXPECT_LE(lat_max, 143u);
}

} // namespace
