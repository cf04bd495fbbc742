// fanout::dp::Engine on net_ring ports (rte_eth_from_rings), in process, no NIC, no hugepages.
// Frames are injected into a port's RX ring and collected from its TX ring; expected frames are
// built independently with proto/ (tree_split / port_split / build_frame) and, for the
// replicator-equivalence test, produced by the HLS replicator's C model (hls/replicator).
// After every test both mempools are full again (no mbuf leak).
// rte_eth_dev_conf_get (checks the TX offloads configure_port set) is experimental in 22.11.
#define ALLOW_EXPERIMENTAL_API 1
#include "fanout/dp/engine.hpp"

#include "replicator.hpp"

#include "dpdk_frames.hpp"
#include "fanout/hls/neighbour.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/proto/aggregator.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/split.hpp"

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

namespace proto = fanout::proto;
namespace dp = fanout::dp;
namespace hw = fanout::hw;
using Bytes = std::vector<uint8_t>;
using fanout::dp::test::copy_frame;
using fanout::dp::test::set_of;

constexpr uint32_t kPorts = 4;
constexpr uint16_t kSelf = 10;
constexpr uint16_t kParent = 1;

struct Env {
  rte_mempool *rx_pool = nullptr;
  rte_mempool *hdr_pool = nullptr;
  uint16_t port[kPorts] = {};
  rte_ring *rx[kPorts] = {};
  rte_ring *tx[kPorts] = {};
};

// EAL once per process, then four ring-backed ports configured through dp::configure_port.
Env &env() {
  static Env *e = [] {
    const char *args[] = {"test_dpdk_engine", "--no-huge", "-m", "256",         "--no-pci", "--no-shconf",
                          "--no-telemetry",   "-l",        "0",  "--log-level", "error"};
    std::vector<char *> argv;
    for (const char *a : args) argv.push_back(const_cast<char *>(a));
    if (rte_eal_init((int)argv.size(), argv.data()) < 0) {
      std::fprintf(stderr, "rte_eal_init failed\n");
      std::abort();
    }
    Env *x = new Env;
    x->rx_pool = rte_pktmbuf_pool_create("dp_rx", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    x->hdr_pool = rte_pktmbuf_pool_create("dp_hdr", 2047, 0, 0, dp::header_pool_data_room(), SOCKET_ID_ANY);
    if (!x->rx_pool || !x->hdr_pool) std::abort();
    for (uint32_t p = 0; p < kPorts; p++) {
      char name[32];
      std::snprintf(name, sizeof name, "dp_rx%u", p);
      x->rx[p] = rte_ring_create(name, 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      std::snprintf(name, sizeof name, "dp_tx%u", p);
      x->tx[p] = rte_ring_create(name, 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      std::snprintf(name, sizeof name, "dp_ring%u", p);
      int id = rte_eth_from_rings(name, &x->rx[p], 1, &x->tx[p], 1, SOCKET_ID_ANY);
      if (id < 0) std::abort();
      x->port[p] = (uint16_t)id;
      if (dp::configure_port(x->port[p], 1, 1, 256, x->rx_pool) != 0) std::abort();
    }
    return x;
  }();
  return *e;
}

Bytes to_bytes(rte_mbuf *m) {
  Bytes b(rte_pktmbuf_pkt_len(m));
  const void *p = rte_pktmbuf_read(m, 0, (uint32_t)b.size(), b.data());
  if (p != b.data()) std::memcpy(b.data(), p, b.size());
  return b;
}

rte_mbuf *to_mbuf(const Bytes &b) {
  rte_mbuf *m = rte_pktmbuf_alloc(env().rx_pool);
  EXPECT_NE(m, nullptr);
  std::memcpy(rte_pktmbuf_append(m, (uint16_t)b.size()), b.data(), b.size());
  return m;
}

void inject(uint32_t p, const Bytes &b) {
  ASSERT_EQ(rte_ring_enqueue(env().rx[p], to_mbuf(b)), 0);
}

// Everything port p transmitted, oldest first (mbufs freed).
std::vector<Bytes> sent(uint32_t p) {
  std::vector<Bytes> out;
  void *o = nullptr;
  while (rte_ring_dequeue(env().tx[p], &o) == 0) {
    rte_mbuf *m = static_cast<rte_mbuf *>(o);
    out.push_back(to_bytes(m));
    rte_pktmbuf_free(m);
  }
  return out;
}

std::vector<uint16_t> range_ids(uint16_t first, uint16_t last) {
  std::vector<uint16_t> v;
  for (uint32_t i = first; i <= last; i++) v.push_back((uint16_t)i);
  return v;
}

Bytes payload_of(uint32_t n, uint32_t seed) {
  Bytes p(n);
  for (uint32_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 7 + seed);
  return p;
}

// A DATA frame from `from` to this node: message (sender, msg), one packet (LAST).
Bytes data_frame(uint16_t from, uint16_t sender, uint32_t msg, const std::vector<uint16_t> &ids, uint32_t payload,
                 uint8_t hops = proto::kDefaultHops, uint8_t extra_flags = 0) {
  proto::NetHeaders net = proto::cluster_net_headers(from, kSelf, sender, msg);
  net.ip_tos = 0x28;
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, sender, from, msg, 0, payload);
  h.flags = proto::kFlagLast | extra_flags;
  h.hops_left = hops;
  Bytes pl = payload_of(payload, msg);
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  proto::BuildOptions o = proto::default_build_options();
  o.udp_checksum = true; // an endpoint's frame: the Engine verifies it
  EXPECT_EQ(proto::build_frame(net, h, set_of(ids), pl.data(), payload, o, out.data(), (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return out;
}

// A feedback frame from `from` to `to`.
Bytes feedback_frame(uint8_t type, uint16_t from, uint16_t to, uint16_t sender, uint32_t msg, uint32_t seq,
                     uint32_t length, const proto::ReceiverSet &set, uint8_t flags = 0) {
  proto::NetHeaders net = proto::cluster_net_headers(from, to, sender, msg);
  net.ip_tos = 0;
  proto::FanoutHeader h = proto::make_header(type, sender, from, msg, seq, length);
  h.flags = flags;
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(net, h, set, static_cast<const uint8_t *>(nullptr), 0, proto::default_build_options(),
                               out.data(), (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return out;
}

// What an aggregating node (self) sends upstream: ack_agg.hpp's frame for an AggOutput.
Bytes agg_frame(uint8_t type, uint16_t self, uint16_t to, uint16_t sender, uint32_t msg, uint32_t seq, uint32_t length,
                const proto::ReceiverSet &set, uint8_t flags = 0) {
  proto::NetHeaders net = proto::cluster_net_headers(self, to, sender, msg);
  net.ip_tos = 0;
  proto::FanoutHeader h = proto::make_header(type, sender, self, msg, seq, length);
  h.flags = flags;
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(net, h, set, static_cast<const uint8_t *>(nullptr), 0, proto::default_build_options(),
                               out.data(), (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return out;
}

// Tree rule, independently from proto: per port index, the copies expected (in chunk order).
std::vector<std::vector<Bytes>> tree_expected(const Bytes &in, uint32_t fanout, uint32_t nports) {
  std::vector<std::vector<Bytes>> out(nports);
  proto::ParsedPacket pp;
  proto::ReceiverSet s, rest, chunk;
  EXPECT_EQ(proto::parse_frame(in.data(), (uint32_t)in.size(), proto::default_parse_config(), pp, &s), proto::kOk);
  s.without(kSelf, rest);
  proto::Chunk chunks[proto::kMaxTreeFanout];
  uint32_t n = proto::tree_split(rest, fanout, chunks);
  for (uint32_t c = 0; c < n; c++) {
    rest.slice(chunks[c].begin, chunks[c].end, chunk);
    out[chunks[c].head % nports].push_back(copy_frame(in, kSelf, chunks[c].head, chunk));
  }
  return out;
}

class Engine : public ::testing::Test {
 public:
  void SetUp() override {
    env();
    drain();
  }
  void TearDown() override {
    engine.reset(); // frees whatever it still holds
    drain();
    for (rte_mbuf *m : extra) rte_pktmbuf_free(m);
    extra.clear();
    EXPECT_EQ(rte_mempool_avail_count(env().rx_pool), env().rx_pool->size) << "RX pool leak";
    EXPECT_EQ(rte_mempool_avail_count(env().hdr_pool), env().hdr_pool->size) << "header pool leak";
  }
  static void drain() {
    for (uint32_t p = 0; p < kPorts; p++) {
      sent(p);
      void *o = nullptr;
      while (rte_ring_dequeue(env().rx[p], &o) == 0) rte_pktmbuf_free(static_cast<rte_mbuf *>(o));
    }
  }

  // Node kSelf; neighbours 0..999 with cluster addresses, node n on port index n % nports.
  dp::EngineConfig config(uint32_t nports, dp::EngineConfig::Mode mode = dp::EngineConfig::kTree, uint32_t fanout = 2) {
    dp::EngineConfig c;
    c.node = kSelf;
    proto::cluster_mac(kSelf, c.mac);
    c.ipv4 = proto::cluster_ipv4(kSelf);
    c.mode = mode;
    c.fanout = fanout;
    for (uint32_t p = 0; p < nports; p++) c.ports.push_back(env().port[p]);
    for (uint16_t n = 0; n < 1000; n++) {
      if (n == kSelf) continue;
      dp::Neighbour nb;
      nb.port = env().port[n % nports];
      proto::cluster_mac(n, nb.mac);
      nb.ipv4 = proto::cluster_ipv4(n);
      c.neighbours[n] = nb;
    }
    c.header_pool = env().hdr_pool;
    c.silent_timeout_us = 1000;
    return c;
  }
  void start(const dp::EngineConfig &c) { engine = std::make_unique<dp::Engine>(c); }
  uint32_t poll(uint32_t p, uint64_t now = 0) { return engine->poll(env().port[p], 0, now); }
  std::vector<Bytes> host() {
    std::vector<Bytes> out;
    rte_mbuf *m[64];
    uint32_t n;
    while ((n = engine->host_receive(m, 64)) > 0)
      for (uint32_t i = 0; i < n; i++) {
        out.push_back(to_bytes(m[i]));
        rte_pktmbuf_free(m[i]); // the caller owns host_receive's frames
      }
    return out;
  }
  void expect_nothing_sent() {
    for (uint32_t p = 0; p < kPorts; p++) EXPECT_TRUE(sent(p).empty()) << "port " << p;
  }

  std::unique_ptr<dp::Engine> engine;
  std::vector<rte_mbuf *> extra;
};

// ---- Replication ------------------------------------------------------------------------------

void tree_case(Engine *t, uint32_t fanout, const std::vector<uint16_t> &ids, uint32_t payload, uint32_t msg) {
  SCOPED_TRACE("F=" + std::to_string(fanout) + " k=" + std::to_string(ids.size()) +
               " payload=" + std::to_string(payload));
  Bytes in = data_frame(kParent, kParent, msg, ids, payload);
  inject(0, in);
  EXPECT_EQ(t->engine->poll(env().port[0], 0, 0), 1u);
  auto want = tree_expected(in, fanout, 2);
  for (uint32_t p = 0; p < 2; p++) {
    auto got = sent(p);
    ASSERT_EQ(got.size(), want[p].size()) << "port " << p;
    for (size_t i = 0; i < got.size(); i++) EXPECT_EQ(got[i], want[p][i]) << "port " << p << " copy " << i;
  }
}

TEST_F(Engine, TreeModeCopiesAreExactF2AndF4) {
  for (uint32_t fanout : {2u, 4u}) {
    start(config(2, dp::EngineConfig::kTree, fanout));
    uint32_t msg = 100;
    for (uint32_t k : {1u, 2u, 3u, 5u, 13u, 40u}) {
      tree_case(this, fanout, range_ids(20, (uint16_t)(20 + k - 1)), 100, msg++);
      // Scattered ids (list / bitmap encodings) and a large payload.
      std::vector<uint16_t> scattered;
      for (uint32_t i = 0; i < k; i++) scattered.push_back((uint16_t)(30 + 7 * i));
      tree_case(this, fanout, scattered, 1400, msg++);
    }
    uint64_t copies = engine->stats().copies;
    EXPECT_GT(copies, 0u);
    EXPECT_EQ(engine->stats().payload_copies, 0u); // zero-copy: every payload shared
    EXPECT_TRUE(host().empty());                   // kSelf is not in these sets
    engine.reset();
  }
}

TEST_F(Engine, RelayDeliversLocallyAndReSplitsItsChunk) {
  start(config(2, dp::EngineConfig::kTree, 2));
  // This node is the head of its chunk [10..20]: deliver, then re-split 11..20.
  Bytes in = data_frame(kParent, kParent, 7, range_ids(10, 20), 300);
  inject(0, in);
  poll(0);
  auto want = tree_expected(in, 2, 2);
  EXPECT_EQ(sent(0), want[0]);
  EXPECT_EQ(sent(1), want[1]);
  auto h = host();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0], in); // the frame unchanged
  EXPECT_EQ(engine->stats().local_deliveries, 1u);
  EXPECT_EQ(engine->stats().copies, 2u);
}

TEST_F(Engine, LeafDeliversTheFrameUnchanged) {
  start(config(2));
  Bytes in = data_frame(kParent, kParent, 8, {kSelf}, 64);
  inject(1, in);
  poll(1);
  auto h = host();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0], in);
  expect_nothing_sent();
  EXPECT_EQ(engine->stats().local_deliveries, 1u);
  EXPECT_EQ(engine->stats().port[1].rx_packets, 1u);
}

TEST_F(Engine, HopsExhaustedStillDeliversButDoesNotCopy) {
  start(config(2));
  inject(0, data_frame(kParent, kParent, 9, {kSelf, 20, 21}, 10, 0));
  poll(0);
  expect_nothing_sent();
  EXPECT_EQ(host().size(), 1u);
  EXPECT_EQ(engine->stats().hops_exhausted, 1u);
}

TEST_F(Engine, HostSendReplicatesWithThisNodeAsParent) {
  start(config(2, dp::EngineConfig::kTree, 4));
  Bytes in = data_frame(kSelf, kSelf, 11, range_ids(40, 47), 500);
  rte_mbuf *m = to_mbuf(in);
  EXPECT_TRUE(engine->host_send(m, 0)); // the Engine owns m now
  auto want = tree_expected(in, 4, 2);
  EXPECT_EQ(sent(0), want[0]);
  EXPECT_EQ(sent(1), want[1]);
  // Not a Fanout frame: not taken, the caller keeps it.
  Bytes arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  rte_mbuf *a = to_mbuf(arp);
  EXPECT_FALSE(engine->host_send(a, 0));
  rte_pktmbuf_free(a);
  EXPECT_EQ(engine->stats().host_tx_rejected, 1u);
}

TEST_F(Engine, ChainedInputIsRelayedWithoutCopyingItsPayload) {
  // A copy made by another Engine (header mbuf + shared payload) arrives here as a chain.
  start(config(2, dp::EngineConfig::kTree, 2));
  Bytes in = data_frame(kParent, kParent, 12, range_ids(20, 27), 700);
  uint32_t hdr_len = (uint32_t)in.size() - 700;
  rte_mbuf *h = rte_pktmbuf_alloc(env().hdr_pool);
  rte_mbuf *p = rte_pktmbuf_alloc(env().rx_pool);
  std::memcpy(rte_pktmbuf_append(h, (uint16_t)hdr_len), in.data(), hdr_len);
  std::memcpy(rte_pktmbuf_append(p, 700), in.data() + hdr_len, 700);
  ASSERT_EQ(rte_pktmbuf_chain(h, p), 0);
  ASSERT_EQ(rte_ring_enqueue(env().rx[0], h), 0);
  poll(0);
  auto want = tree_expected(in, 2, 2);
  EXPECT_EQ(sent(0), want[0]);
  EXPECT_EQ(sent(1), want[1]);
  EXPECT_EQ(engine->stats().payload_copies, 0u);
}

TEST_F(Engine, PortModeSplitsByPortTableAndUsesPeers) {
  dp::EngineConfig c = config(4, dp::EngineConfig::kPort);
  for (uint16_t id = 20; id < 60; id++) c.port_routes[id] = env().port[id % 4];
  c.port_routes[kSelf] = dp::EngineConfig::kRouteLocal;
  c.port_peers[env().port[2]] = 902; // a Fanout switch behind port 2 (902 % 4 == 2)
  start(c);
  std::vector<uint16_t> ids = range_ids(20, 59);
  ids.push_back(kSelf);
  std::sort(ids.begin(), ids.end());
  ids.push_back(61); // no route
  Bytes in = data_frame(kParent, kParent, 13, ids, 200);
  inject(0, in);
  poll(0);
  // Expected: port_split with ingress 0 (ids on port 0 loop), one copy per port.
  proto::PortTable table;
  for (uint16_t id = 20; id < 60; id++) table.set(id, (uint8_t)(id % 4));
  table.set(kSelf, proto::kPortLocal);
  proto::ReceiverSet per_port[4];
  proto::PortSplitResult r = proto::port_split(set_of(ids), table, 4, 0, per_port);
  EXPECT_TRUE(sent(0).empty());
  for (uint32_t p = 1; p < 4; p++) {
    uint16_t dest = p == 2 ? 902 : per_port[p].first_id();
    auto got = sent(p);
    ASSERT_EQ(got.size(), 1u) << "port " << p;
    EXPECT_EQ(got[0], copy_frame(in, kSelf, dest, per_port[p])) << "port " << p;
  }
  EXPECT_EQ(host().size(), 1u);
  EXPECT_EQ(engine->stats().looped_ids, r.looped);
  EXPECT_EQ(engine->stats().unroutable_ids, r.unroutable);
  EXPECT_EQ(r.looped, 10u);
  EXPECT_EQ(r.unroutable, 1u);
}

// ---- The HLS replicator's C model, same input, same copies ------------------------------------

std::vector<std::vector<Bytes>> hls_copies(const dp::EngineConfig &c, const std::vector<Bytes> &inputs,
                                           std::vector<hw::ArmWord> *arms) {
  auto k = std::make_unique<hw::Replicator<2>>();
  hw::NodeAddress self;
  self.id = c.node;
  std::memcpy(self.mac, c.mac, 6);
  self.ipv4 = c.ipv4;
  k->set_self(self);
  k->set_mode(c.mode == dp::EngineConfig::kPort ? hw::kReplModePort : hw::kReplModeTree);
  k->set_fanout(c.fanout);
  k->set_udp_port(c.udp_port);
  for (const auto &n : c.neighbours) {
    hw::NeighbourEntry e;
    std::memcpy(e.mac, n.second.mac, 6);
    e.ipv4 = n.second.ipv4;
    e.port = n.second.port == c.ports[0] ? 0 : 1;
    e.valid = true;
    k->set_neighbour(n.first, e);
  }
  hls::stream<hw::ParsedMeta> in_meta, fb_meta;
  hls::stream<hw::axis_word> in_frame, out_host, out_fb;
  hls::stream<hw::axis_word> out_port[2];
  hls::stream<hw::ArmWord> out_arm;
  std::vector<std::vector<Bytes>> out(2);
  std::vector<std::vector<proto::Beat>> cur(2);
  for (const Bytes &f : inputs) {
    std::vector<proto::Beat> beats(proto::beats_for((uint32_t)f.size()));
    proto::frame_to_beats(f.data(), (uint32_t)f.size(), beats.data(), (uint32_t)beats.size());
    hw::ParsedMeta m = hw::ParsedMeta();
    proto::ReceiverSet scratch;
    proto::ParseConfig pc = proto::default_parse_config();
    proto::ParsedPacket pp;
    EXPECT_EQ(proto::parse_frame(f.data(), (uint32_t)f.size(), pc, pp, &scratch), proto::kOk);
    m.hdr = pp.hdr;
    m.payload_len = pp.payload_len;
    m.frame_len = (uint32_t)f.size();
    m.ingress_port = 0;
    m.ip_src = pp.ip_src;
    m.ip_dst = pp.ip_dst;
    m.udp_src_port = pp.udp_src_port;
    size_t b = 0;
    for (uint32_t clk = 0; clk < 100000; clk++) {
      if (b < beats.size() && !in_frame.full() && (b > 0 || !in_meta.full())) {
        if (b == 0) in_meta.write(m);
        in_frame.write(hw::from_beat(beats[b], 0, 0));
        b++;
      }
      k->step(in_meta, in_frame, out_port, out_host, out_arm, fb_meta, out_fb);
      for (uint32_t p = 0; p < 2; p++) {
        while (!out_port[p].empty()) {
          cur[p].push_back(hw::to_beat(out_port[p].read()));
          if (cur[p].back().last) {
            Bytes bytes(proto::kMaxFrameBytes);
            uint32_t n =
                proto::beats_to_frame(cur[p].data(), (uint32_t)cur[p].size(), bytes.data(), (uint32_t)bytes.size());
            bytes.resize(n);
            out[p].push_back(bytes);
            cur[p].clear();
          }
        }
      }
      while (!out_host.empty()) out_host.read();
      while (!out_arm.empty()) arms->push_back(out_arm.read());
      if (b == beats.size() && k->idle() && out_port[0].empty() && out_port[1].empty()) break;
    }
  }
  return out;
}

TEST_F(Engine, CopiesEqualTheHlsReplicatorCModel) {
  std::mt19937 rng(7);
  for (uint32_t fanout : {2u, 3u, 4u, 16u}) {
    dp::EngineConfig c = config(2, dp::EngineConfig::kTree, fanout);
    start(c);
    std::vector<Bytes> inputs;
    for (uint32_t i = 0; i < 12; i++) {
      std::vector<uint16_t> ids;
      uint32_t k = 1 + rng() % 60;
      uint16_t id = (uint16_t)(rng() % 30);
      for (uint32_t j = 0; j < k && id < 999; j++) {
        ids.push_back(id);
        id = (uint16_t)(id + 1 + (rng() % 3 == 0 ? rng() % 9 : 0));
      }
      inputs.push_back(data_frame(kParent, kParent, 1000 + i, ids, 1 + rng() % 1800));
    }
    std::vector<hw::ArmWord> arms;
    auto want = hls_copies(c, inputs, &arms);
    EXPECT_GT(want[0].size(), 0u); // the model did replicate, on both ports
    EXPECT_GT(want[1].size(), 0u);
    EXPECT_GE(want[0].size() + want[1].size(), inputs.size());
    for (const Bytes &f : inputs) inject(0, f);
    poll(0);
    for (uint32_t p = 0; p < 2; p++) {
      auto got = sent(p);
      ASSERT_EQ(got.size(), want[p].size()) << "F=" << fanout << " port " << p;
      for (size_t i = 0; i < got.size(); i++) EXPECT_EQ(got[i], want[p][i]) << "F=" << fanout << " port " << p;
    }
    uint64_t local = engine->stats().local_deliveries;
    EXPECT_EQ(engine->stats().copies + local, arms.size()); // one arm per copy + one per local delivery
    EXPECT_EQ(engine->stats().aggregator.armed, inputs.size());
    host();
    engine.reset();
  }
}

// ---- Aggregation ------------------------------------------------------------------------------

TEST_F(Engine, ChildrensAcksBecomeOneAckUpstream) {
  start(config(2, dp::EngineConfig::kTree, 2));
  const uint32_t msg = 0x200;
  Bytes in = data_frame(kParent, kParent, msg, range_ids(10, 20), 50); // children: 10 (self), 11, 16
  inject(0, in);
  poll(0, 100);
  sent(0);
  sent(1);
  host();
  // Chunk heads 11 ([11..15]) and 16 ([16..20]) report, and the local application.
  inject(1, feedback_frame(proto::kTypeAck, 11, kSelf, kParent, msg, 1, 5, set_of(range_ids(11, 15))));
  poll(1, 150);
  expect_nothing_sent(); // not everyone has reported yet
  rte_mbuf *own = to_mbuf(feedback_frame(proto::kTypeAck, kSelf, kSelf, kParent, msg, 1, 1, set_of({kSelf})));
  EXPECT_TRUE(engine->host_send(own, 160));
  expect_nothing_sent();
  inject(0, feedback_frame(proto::kTypeAck, 16, kSelf, kParent, msg, 1, 5, set_of(range_ids(16, 20))));
  poll(0, 170);
  // One ACK to the parent (node 1, port 1 % 2): covered 11, every id 10..20.
  auto up = sent(1);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0], agg_frame(proto::kTypeAck, kSelf, kParent, kParent, msg, 1, 11, set_of(range_ids(10, 20))));
  EXPECT_TRUE(sent(0).empty());
  EXPECT_EQ(engine->stats().acks_merged, 3u);
  EXPECT_EQ(engine->stats().acks_forwarded, 1u);
  EXPECT_EQ(engine->stats().aggregator.entries_completed, 1u);
  engine->timers(100000); // nothing pending: no silent report
  expect_nothing_sent();
}

// Two Engines of one node (one per lcore): a message's DATA and its feedback may arrive on either
// Engine's queue; each frame goes to the message's owner Engine, which replicates and aggregates,
// so the children's ACKs still become one ACK upstream.
TEST_F(Engine, SeveralEnginesMoveEachMessageToItsOwner) {
  rte_ring *inbox[2] = {rte_ring_create("inbox_a", 512, SOCKET_ID_ANY, RING_F_SC_DEQ),
                        rte_ring_create("inbox_b", 512, SOCKET_ID_ANY, RING_F_SC_DEQ)};
  ASSERT_TRUE(inbox[0] && inbox[1]);
  dp::EngineConfig ca = config(2, dp::EngineConfig::kTree, 2), cb = ca;
  ca.engine_count = cb.engine_count = 2;
  ca.inboxes = cb.inboxes = inbox;
  cb.engine_index = 1;
  auto owner_of = [](uint32_t msg) { return ((uint32_t)kParent * 2654435761u ^ msg) % 2; };
  uint32_t msg = 0x400;
  while (owner_of(msg) != 1) msg++; // a message engine b owns
  {
    dp::Engine a(ca), b(cb);
    inject(0, data_frame(kParent, kParent, msg, range_ids(10, 20), 50)); // received by a
    a.poll(env().port[0], 0, 100);
    EXPECT_EQ(a.stats().moved_out, 1u);
    EXPECT_EQ(a.stats().copies, 0u);
    expect_nothing_sent();
    b.poll(env().port[1], 0, 110); // b's inbox: the DATA, replicated as received on port 0
    EXPECT_EQ(b.stats().moved_in, 1u);
    EXPECT_EQ(b.stats().copies, 2u);
    EXPECT_EQ(sent(0).size() + sent(1).size(), 2u);
    rte_mbuf *h[4];
    uint32_t nh = b.host_receive(h, 4);
    ASSERT_EQ(nh, 1u); // the local delivery, from the owner
    rte_pktmbuf_free(h[0]);
    // The children's ACKs arrive through a (port 0) and b (port 1); the local host's through b.
    inject(0, feedback_frame(proto::kTypeAck, 11, kSelf, kParent, msg, 1, 5, set_of(range_ids(11, 15))));
    a.poll(env().port[0], 0, 150);
    EXPECT_EQ(a.stats().moved_out, 2u);
    EXPECT_TRUE(
        b.host_send(to_mbuf(feedback_frame(proto::kTypeAck, kSelf, kSelf, kParent, msg, 1, 1, set_of({kSelf}))), 160));
    inject(1, feedback_frame(proto::kTypeAck, 16, kSelf, kParent, msg, 1, 5, set_of(range_ids(16, 20))));
    b.poll(env().port[1], 0, 170);
    auto up = sent(1);
    ASSERT_EQ(up.size(), 1u) << "one aggregated ACK upstream";
    EXPECT_EQ(up[0], agg_frame(proto::kTypeAck, kSelf, kParent, kParent, msg, 1, 11, set_of(range_ids(10, 20))));
    EXPECT_EQ(b.stats().acks_merged, 3u);
    EXPECT_EQ(a.stats().acks_merged, 0u);
    EXPECT_TRUE(sent(0).empty());
  }
  rte_ring_free(inbox[0]);
  rte_ring_free(inbox[1]);
}

TEST_F(Engine, SilentChildIsReportedByNackSilentAfterTheTimeout) {
  start(config(2, dp::EngineConfig::kTree, 2));
  const uint32_t msg = 0x300;
  inject(0, data_frame(kParent, kParent, msg, range_ids(11, 20), 50)); // children 11 ([11..15]), 16 ([16..20])
  poll(0, 1000);
  sent(0);
  sent(1);
  inject(1, feedback_frame(proto::kTypeAck, 11, kSelf, kParent, msg, 1, 5, set_of(range_ids(11, 15))));
  poll(1, 1100);
  engine->timers(1900); // within the 1000 us timeout of the arm at t=1000
  expect_nothing_sent();
  engine->timers(2001);
  auto up = sent(1);
  ASSERT_EQ(up.size(), 2u);
  EXPECT_EQ(up[0], agg_frame(proto::kTypeNack, kSelf, kParent, kParent, msg, 0, 0, set_of(range_ids(16, 20)),
                             proto::kFlagSilent));
  EXPECT_EQ(up[1], agg_frame(proto::kTypeAck, kSelf, kParent, kParent, msg, 1, 5, set_of(range_ids(11, 15))));
  EXPECT_EQ(engine->stats().silent_reports, 1u);
  EXPECT_EQ(engine->stats().nacks_forwarded, 1u);
}

TEST_F(Engine, NackIsForwardedOnceAndFeedbackForOwnMessagesGoesToHost) {
  start(config(2, dp::EngineConfig::kTree, 2));
  // A message this node sent (host_send): its aggregate goes to the host.
  rte_mbuf *m = to_mbuf(data_frame(kSelf, kSelf, 0x400, {30, 31}, 10));
  EXPECT_TRUE(engine->host_send(m, 0));
  sent(0);
  sent(1);
  Bytes nack = feedback_frame(proto::kTypeNack, 30, kSelf, kSelf, 0x400, 0, 0, set_of({30}));
  inject(0, nack);
  inject(0, nack); // a repeat within the window: suppressed
  poll(0, 10);
  expect_nothing_sent();
  auto h = host();
  ASSERT_EQ(h.size(), 1u);
  proto::ParsedPacket pp;
  proto::ReceiverSet s;
  ASSERT_EQ(proto::parse_frame(h[0].data(), (uint32_t)h[0].size(), proto::default_parse_config(), pp, &s), proto::kOk);
  EXPECT_EQ(pp.hdr.type, proto::kTypeNack);
  EXPECT_EQ(pp.hdr.origin, 30); // a child's NACK keeps its origin
  EXPECT_EQ(engine->stats().feedback_to_host, 1u);
  EXPECT_EQ(engine->stats().aggregator.nacks_suppressed, 1u);
}

// ---- Malformed input --------------------------------------------------------------------------

// A DATA frame whose Fanout header and set body are written raw (valid outer headers).
Bytes raw_frame(uint8_t ver_type, uint8_t enc, uint16_t set_len, const Bytes &body, uint32_t payload, uint32_t length) {
  proto::NetHeaders net = proto::cluster_net_headers(kParent, kSelf, kParent, 5);
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, kParent, kParent, 5, 0, length);
  h.flags = proto::kFlagLast;
  Bytes pl = body;
  Bytes p = payload_of(payload, 1);
  pl.insert(pl.end(), p.begin(), p.end());
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  proto::ReceiverSet none;
  EXPECT_EQ(proto::build_frame(net, h, none, pl.data(), (uint32_t)pl.size(), proto::default_build_options(), out.data(),
                               (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  h.set_encoding = enc;
  h.set_len = set_len;
  proto::write_fanout_header(h, out.data() + proto::kFanoutOffset);
  out[proto::kFanoutOffset] = ver_type;
  return out;
}

void fix_ip_checksum(Bytes &f) {
  proto::store_be16(f.data() + proto::kIpChecksumOff, 0);
  proto::store_be16(f.data() + proto::kIpChecksumOff, proto::ipv4_checksum(f.data() + proto::kIpv4Offset));
}

TEST_F(Engine, MalformedFramesAreDroppedAndCountedByReason) {
  start(config(2));
  const Bytes good = data_frame(kParent, kParent, 5, {kSelf, 20, 21, 22}, 40);
  std::vector<std::pair<std::string, Bytes>> corpus;
  corpus.push_back({"truncated", Bytes(good.begin(), good.begin() + 30)});
  {
    Bytes f = good;
    f[proto::kIpVerIhlOff] = 0x55;
    corpus.push_back({"ipv4_bad_header", f});
  }
  {
    Bytes f = good;
    f[proto::kIpTosOff] ^= 0x04;
    corpus.push_back({"ipv4_bad_checksum", f});
  }
  {
    Bytes f = good;
    proto::store_be16(f.data() + proto::kIpTotalLenOff, (uint16_t)(f.size() + 10));
    fix_ip_checksum(f);
    corpus.push_back({"ipv4_bad_length", f});
  }
  {
    Bytes f = good;
    proto::store_be16(f.data() + proto::kIpFlagsFragOff, proto::kIpv4FlagMoreFragments);
    fix_ip_checksum(f);
    corpus.push_back({"ipv4_fragment", f});
  }
  {
    Bytes f = good;
    proto::store_be16(f.data() + proto::kUdpLenOff, (uint16_t)(proto::load_be16(f.data() + proto::kUdpLenOff) - 1));
    corpus.push_back({"udp_bad_length", f});
  }
  {
    Bytes f = good;
    f[f.size() - 1] ^= 0xFF; // payload corrupted under a UDP checksum
    corpus.push_back({"udp_bad_checksum", f});
  }
  {
    Bytes f(good.begin(), good.begin() + proto::kFanoutOffset + 10);
    proto::store_be16(f.data() + proto::kIpTotalLenOff, (uint16_t)(f.size() - proto::kIpv4Offset));
    proto::store_be16(f.data() + proto::kUdpLenOff, (uint16_t)(f.size() - proto::kUdpOffset));
    proto::store_be16(f.data() + proto::kUdpChecksumOff, 0);
    fix_ip_checksum(f);
    corpus.push_back({"fanout_truncated", f});
  }
  Bytes list2 = {0, 20, 0, 21};
  corpus.push_back({"bad_version", raw_frame(0x21, proto::kSetList, 4, list2, 10, 10)});
  corpus.push_back({"bad_type", raw_frame(0x17, proto::kSetList, 4, list2, 10, 10)});
  corpus.push_back({"bad_set_encoding", raw_frame(0x11, 7, 4, list2, 10, 10)});
  corpus.push_back({"set_truncated", raw_frame(0x11, proto::kSetList, 200, list2, 10, 10)});
  corpus.push_back({"set_too_large", raw_frame(0x11, proto::kSetList, 2000, list2, 10, 10)});
  corpus.push_back({"set_bad_length", raw_frame(0x11, proto::kSetList, 3, {0, 20, 0}, 10, 10)});
  corpus.push_back({"set_empty", raw_frame(0x11, proto::kSetBitmap, 5, {0, 20, 0, 1, 0}, 10, 10)});
  corpus.push_back({"set_unsorted", raw_frame(0x11, proto::kSetList, 4, {0, 21, 0, 20}, 10, 10)});
  corpus.push_back({"set_duplicate", raw_frame(0x11, proto::kSetList, 4, {0, 20, 0, 20}, 10, 10)});
  corpus.push_back(
      {"bitmap_out_of_range", raw_frame(0x11, proto::kSetBitmap, 6, {0xFF, 0xFF, 0, 2, 0x80, 0x80}, 10, 10)});
  corpus.push_back({"length_mismatch", raw_frame(0x11, proto::kSetList, 4, list2, 10, 11)});

  for (const auto &c : corpus) {
    proto::ParsedPacket pp;
    proto::ReceiverSet s;
    ASSERT_STREQ(proto::error_name(proto::parse_frame(c.second.data(), (uint32_t)c.second.size(),
                                                      proto::default_parse_config(), pp, &s)),
                 c.first.c_str())
        << "corpus entry is not what it claims";
    inject(0, c.second);
    poll(0);
    EXPECT_EQ(engine->stats().parse_error(c.first), 1u) << c.first;
    expect_nothing_sent();
    EXPECT_TRUE(host().empty()) << c.first;
  }
  EXPECT_EQ(engine->stats().malformed(), corpus.size());
  EXPECT_EQ(engine->stats().copies, 0u);
  // Random garbage and random corruptions of a valid frame: never a crash, never amplified.
  std::mt19937 rng(3);
  uint64_t before = engine->stats().copies;
  for (int i = 0; i < 300; i++) {
    Bytes f = good;
    for (int j = 0; j < 3; j++) f[proto::kIpv4Offset + rng() % (f.size() - proto::kIpv4Offset)] = (uint8_t)rng();
    inject(0, f);
    poll(0);
    sent(0);
    sent(1);
    host();
  }
  EXPECT_LE(engine->stats().copies - before, 300u * 3u);
}

TEST_F(Engine, NonFanoutFramesGoToTheHostUnchanged) {
  start(config(2));
  Bytes arp(60, 0xAB);
  arp[12] = 0x08;
  arp[13] = 0x06;
  inject(0, arp);
  poll(0);
  auto h = host();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0], arp);
  EXPECT_EQ(engine->stats().not_fanout, 1u);
  expect_nothing_sent();
}

// ---- Backpressure, port state, heartbeats ---------------------------------------------------------

TEST_F(Engine, FullTxQueueDropsAndCountsWithoutLeaking) {
  start(config(2, dp::EngineConfig::kTree, 4));
  // Fill port 1's TX ring (255 usable slots) with placeholder mbufs.
  while (true) {
    rte_mbuf *m = rte_pktmbuf_alloc(env().hdr_pool);
    if (rte_ring_enqueue(env().tx[1], m) != 0) {
      rte_pktmbuf_free(m);
      break;
    }
  }
  Bytes in = data_frame(kParent, kParent, 20, range_ids(20, 27), 256);  // heads 20, 22, 24, 26 (port 0)
  Bytes in2 = data_frame(kParent, kParent, 21, range_ids(21, 28), 256); // heads 21, 23, 25, 27 (port 1)
  inject(0, in);
  inject(0, in2);
  poll(0);
  EXPECT_EQ(engine->stats().port[1].tx_full, 4u);
  EXPECT_EQ(engine->stats().port[1].tx_packets, 0u);
  EXPECT_EQ(engine->stats().port[0].tx_packets, 4u);
  EXPECT_EQ(sent(0).size(), 4u);
  // TearDown drains the placeholders and checks both pools are full.
}

TEST_F(Engine, CopiesForADownPortAreDroppedCountedAndNotArmed) {
  start(config(2, dp::EngineConfig::kTree, 2));
  engine->port_link(env().port[1], false);
  EXPECT_FALSE(engine->stats().port[1].up);
  inject(0, data_frame(kParent, kParent, 30, range_ids(20, 23), 64)); // heads 20 (port 0), 22 (port 0)
  inject(0, data_frame(kParent, kParent, 31, range_ids(21, 24), 64)); // heads 21 (port 1), 23 (port 1)
  poll(0);
  EXPECT_EQ(sent(0).size(), 2u);
  EXPECT_TRUE(sent(1).empty());
  EXPECT_EQ(engine->stats().port_down_copies, 2u);
  EXPECT_EQ(engine->stats().aggregator.armed, 1u); // message 31 had nothing to arm
  engine->port_link(env().port[1], true);
  inject(0, data_frame(kParent, kParent, 32, range_ids(21, 24), 64));
  poll(0);
  EXPECT_EQ(sent(1).size(), 2u);
}

TEST_F(Engine, RetransmissionsAreReplicatedAndDeliveredButArmNothing) {
  // As the HLS replicator: the aggregators the first transmission armed carry the feedback; a
  // retransmission sent straight to a lagging receiver must not add a child answering elsewhere.
  start(config(2, dp::EngineConfig::kTree, 2));
  inject(0, data_frame(kParent, kParent, 40, {kSelf, 20, 21, 22, 23}, 64, proto::kDefaultHops, proto::kFlagRetx));
  poll(0);
  EXPECT_EQ(engine->stats().copies, 2u);
  EXPECT_EQ(engine->stats().local_deliveries, 1u);
  EXPECT_EQ(host().size(), 1u);
  EXPECT_EQ(engine->stats().aggregator.armed, 0u);
  inject(0, data_frame(kParent, kParent, 41, {kSelf, 20, 21, 22, 23}, 64));
  poll(0);
  EXPECT_EQ(engine->stats().aggregator.armed, 1u); // a first transmission arms
}

TEST_F(Engine, HeartbeatsOnIdlePortsAndDownAfterThreeMissed) {
  dp::EngineConfig c = config(2);
  c.heartbeat_us = 100;
  start(c);
  engine->timers(0);
  expect_nothing_sent();
  engine->timers(100);
  for (uint32_t p = 0; p < 2; p++) {
    auto got = sent(p);
    ASSERT_EQ(got.size(), 1u) << "port " << p;
    // rtl/link_monitor.sv's PROBE: broadcast, message id = port number, heartbeat 0, hops 0.
    proto::NetHeaders net;
    std::memset(net.eth_dst, 0xFF, 6);
    proto::cluster_mac(kSelf, net.eth_src);
    net.ip_src = proto::cluster_ipv4(kSelf);
    net.ip_dst = 0xFFFFFFFFu;
    net.ip_tos = 0;
    net.ip_ttl = proto::kDefaultIpTtl;
    net.ip_id = 0;
    net.udp_src_port = net.udp_dst_port = proto::kDefaultUdpPort;
    proto::FanoutHeader h = proto::make_header(proto::kTypeProbe, kSelf, kSelf, p, 0, 0);
    h.hops_left = 0;
    Bytes want(64);
    uint32_t len = 0;
    proto::ReceiverSet none;
    ASSERT_EQ(proto::build_frame(net, h, none, static_cast<const uint8_t *>(nullptr), 0, proto::default_build_options(),
                                 want.data(), 64, &len),
              proto::kOk);
    EXPECT_EQ(got[0], want);
  }
  // Port 0 hears its peer's probe; port 1 stays silent.
  Bytes peer_probe;
  {
    proto::NetHeaders net = proto::cluster_net_headers(20, kSelf, 20, 0);
    proto::FanoutHeader h = proto::make_header(proto::kTypeProbe, 20, 20, 0, 5, 0);
    peer_probe.resize(64);
    uint32_t len = 0;
    proto::ReceiverSet none;
    ASSERT_EQ(proto::build_frame(net, h, none, static_cast<const uint8_t *>(nullptr), 0, proto::default_build_options(),
                                 peer_probe.data(), 64, &len),
              proto::kOk);
  }
  for (uint64_t t = 200; t <= 300; t += 100) {
    inject(0, peer_probe);
    engine->poll(env().port[0], 0, t);
    engine->timers(t);
  }
  EXPECT_TRUE(engine->stats().port[0].up);
  EXPECT_TRUE(engine->stats().port[1].up); // silent for 3 intervals exactly: not yet
  engine->timers(301);
  EXPECT_TRUE(engine->stats().port[0].up);
  EXPECT_FALSE(engine->stats().port[1].up);
  EXPECT_EQ(engine->stats().port[1].down_events, 1u);
  EXPECT_EQ(engine->stats().probe_in, 2u);
  EXPECT_EQ(host().size(), 2u);                                       // probes_to_host
  inject(0, data_frame(kParent, kParent, 40, range_ids(21, 24), 64)); // heads 21, 23: port 1
  engine->poll(env().port[0], 0, 302);
  EXPECT_EQ(engine->stats().port_down_copies, 2u);
  // A frame on port 1 brings it back.
  inject(1, peer_probe);
  engine->poll(env().port[1], 0, 303);
  EXPECT_TRUE(engine->stats().port[1].up);
  EXPECT_GE(engine->stats().port[0].probes_sent, 3u);
}

TEST_F(Engine, HeaderPoolExhaustionIsCountedNotLeaked) {
  rte_mempool *tiny = rte_pktmbuf_pool_create("dp_tiny", 3, 0, 0, dp::header_pool_data_room(), SOCKET_ID_ANY);
  ASSERT_NE(tiny, nullptr);
  {
    dp::EngineConfig c = config(2, dp::EngineConfig::kTree, 16);
    c.header_pool = tiny;
    start(c);
    inject(0, data_frame(kParent, kParent, 50, range_ids(20, 35), 64)); // 16 copies, 3 header mbufs
    poll(0);
    EXPECT_EQ(engine->stats().copies, 3u);
    EXPECT_EQ(engine->stats().mbuf_exhausted, 13u);
    sent(0);
    sent(1);
    engine.reset();
  }
  EXPECT_EQ(rte_mempool_avail_count(tiny), tiny->size);
  rte_mempool_free(tiny);
}

// ---- Hostile-input policy (proto/policy.hpp) -----------------------------------------------------

TEST_F(Engine, PolicyRefusesEachCodeCountsItAndPassesTheRestUnchanged) {
  dp::EngineConfig c = config(2, dp::EngineConfig::kTree, 2);
  c.max_receivers = 4;
  c.first_id = 0;
  c.last_id = 999;
  start(c);
  // 1. too many receivers (5 > 4)
  inject(0, data_frame(kParent, kParent, 1, {kSelf, 20, 21, 22, 23}, 100));
  // 2. an id outside the cluster's range
  inject(0, data_frame(kParent, kParent, 2, {kSelf, 20, 1000}, 100));
  // 3. loop: the set names the sender, or the origin (this copy's parent, 2; sender 5)
  inject(0, data_frame(kParent, kParent, 3, {kParent, kSelf, 20}, 100));
  inject(0, data_frame(2, 5, 4, {2, kSelf, 20}, 100));
  poll(0);
  expect_nothing_sent();
  EXPECT_TRUE(host().empty());
  const dp::Stats &st = engine->stats();
  EXPECT_EQ(st.policy_drops[proto::kPolicyTooManyReceivers], 1u);
  EXPECT_EQ(st.policy_drops[proto::kPolicyUnknownId], 1u);
  EXPECT_EQ(st.policy_drops[proto::kPolicyLoop], 2u);
  EXPECT_EQ(st.policy_drops[proto::kPolicyRateLimited], 0u);
  EXPECT_EQ(st.policy_refused(), 4u);
  EXPECT_EQ(st.data_in, 4u);
  EXPECT_EQ(st.aggregator.armed, 0u); // nothing armed for a refused frame
  // Within the limits (4 ids, the edges of the range): copies and delivery exactly as without a policy.
  Bytes ok = data_frame(kParent, kParent, 5, {kSelf, 20, 21, 999}, 300);
  inject(0, ok);
  poll(0);
  auto want = tree_expected(ok, 2, 2);
  EXPECT_EQ(sent(0), want[0]);
  EXPECT_EQ(sent(1), want[1]);
  auto h = host();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0], ok);
  EXPECT_EQ(engine->stats().policy_refused(), 4u);
  // Frames from the local host are this node's own: not policed.
  rte_mbuf *own = to_mbuf(data_frame(kSelf, kSelf, 6, {20, 21, 22, 23, 24, 25}, 100));
  EXPECT_TRUE(engine->host_send(own, 0));
  EXPECT_GT(sent(0).size() + sent(1).size(), 0u);
  EXPECT_EQ(engine->stats().policy_refused(), 4u);
}

TEST_F(Engine, PolicyRateLimitLosesExactlyTheExcess) {
  dp::EngineConfig c = config(2);
  c.rate_bytes_per_us = 2;   // 16 Mbit/s per sender
  c.rate_burst_bytes = 1000; // a full bucket at the first packet
  start(c);
  // Sender 3: ten 300-byte packets at t = 0: the bucket holds three (900 of 1000 bytes).
  for (uint32_t i = 0; i < 10; i++) inject(0, data_frame(3, 3, 100 + i, {kSelf}, 300));
  poll(0, 0);
  EXPECT_EQ(host().size(), 3u);
  EXPECT_EQ(engine->stats().policy_drops[proto::kPolicyRateLimited], 7u);
  // Another sender has its own bucket.
  inject(0, data_frame(4, 4, 200, {kSelf}, 300));
  poll(0, 0);
  EXPECT_EQ(host().size(), 1u);
  // 250 us later: 100 left + 500 refilled = 600 bytes: two more of sender 3's packets, not three.
  for (uint32_t i = 0; i < 3; i++) inject(0, data_frame(3, 3, 300 + i, {kSelf}, 300));
  poll(0, 250);
  EXPECT_EQ(host().size(), 2u);
  EXPECT_EQ(engine->stats().policy_drops[proto::kPolicyRateLimited], 8u);
  EXPECT_EQ(engine->stats().local_deliveries, 6u);
  expect_nothing_sent();
}

// ---- Authentication (proto/auth.hpp) ------------------------------------------------------------

const uint8_t kKey[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

Bytes signed_frame(Bytes f, const uint8_t key[16], uint32_t counter) {
  uint32_t len = (uint32_t)f.size(), out = 0;
  f.resize(len + proto::kAuthTrailerBytes);
  EXPECT_TRUE(proto::auth_append(f.data(), len, (uint32_t)f.size(), key, counter, &out));
  f.resize(out);
  return f;
}

// Parse and authenticate an output frame against `w`; returns the code (kOk parse required).
int verify(const Bytes &f, proto::ReplayWindow<> &w, proto::ParsedPacket *pp_out = nullptr,
           proto::AuthResult *ar_out = nullptr) {
  proto::ParsedPacket pp;
  proto::ReceiverSet s;
  EXPECT_EQ(proto::parse_frame(f.data(), (uint32_t)f.size(), proto::default_parse_config(), pp, &s), proto::kOk);
  proto::AuthResult ar;
  int code = proto::auth_check(f.data(), (uint32_t)f.size(), pp, kKey, w, ar);
  if (pp_out) *pp_out = pp;
  if (ar_out) *ar_out = ar;
  return code;
}

TEST_F(Engine, AuthCopiesAreSignedByThisNodeAndForgedInputIsDropped) {
  dp::EngineConfig c = config(2, dp::EngineConfig::kTree, 2);
  c.auth = true;
  std::memcpy(c.auth_key, kKey, 16);
  c.heartbeat_us = 100;
  start(c);
  auto w = std::make_unique<proto::ReplayWindow<>>();
  Bytes plain = data_frame(kParent, kParent, 7, range_ids(10, 20), 1300);
  Bytes in = signed_frame(plain, kKey, 5);
  inject(0, in);
  poll(0, 0);
  // Copies: the unsigned copies' bytes, AUTH set, lengths + 12, then a trailer that verifies as
  // this node's, counters 1, 2, ... (one per copy).
  auto want = tree_expected(plain, 2, 2);
  uint32_t ncopies = 0;
  for (uint32_t p = 0; p < 2; p++) {
    auto got = sent(p);
    ASSERT_EQ(got.size(), want[p].size());
    for (size_t i = 0; i < got.size(); i++) {
      proto::ParsedPacket pp;
      proto::AuthResult ar;
      EXPECT_EQ(verify(got[i], *w, &pp, &ar), proto::kAuthOk) << "port " << p << " copy " << i;
      EXPECT_EQ(ar.origin, kSelf);
      EXPECT_TRUE(pp.hdr.flags & proto::kFlagAuth);
      Bytes again = signed_frame(want[p][i], kKey, ar.counter); // the same copy signed by proto
      EXPECT_EQ(got[i], again) << "port " << p << " copy " << i;
      ncopies++;
    }
  }
  EXPECT_EQ(w->highest(kSelf), ncopies);
  EXPECT_EQ(engine->stats().auth_signed, ncopies);
  // The host gets the frame as received, trailer included.
  auto h = host();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0], in);
  EXPECT_EQ(engine->stats().auth[proto::kAuthOk], 1u);

  // Replayed, forged (a payload bit; another key), unsigned, stale: dropped, counted, nothing out.
  inject(0, in);
  Bytes flipped = signed_frame(data_frame(kParent, kParent, 8, range_ids(10, 20), 100), kKey, 6);
  flipped[proto::kUdpOffset + 6] = flipped[proto::kUdpOffset + 7] = 0; // no UDP checksum: the tag must catch it
  flipped[proto::kFanoutOffset + 40] ^= 1;
  inject(0, flipped);
  uint8_t other[16] = {9};
  inject(0, signed_frame(data_frame(kParent, kParent, 9, range_ids(10, 20), 100), other, 7));
  inject(0, data_frame(kParent, kParent, 10, range_ids(10, 20), 100));
  inject(0, signed_frame(data_frame(kParent, kParent, 11, range_ids(10, 20), 100), kKey, 0));
  poll(0, 10);
  expect_nothing_sent();
  EXPECT_TRUE(host().empty());
  const dp::Stats &st = engine->stats();
  EXPECT_EQ(st.auth[proto::kAuthReplayed], 1u);
  EXPECT_EQ(st.auth[proto::kAuthBadTag], 2u);
  EXPECT_EQ(st.auth[proto::kAuthUnsigned], 1u);
  EXPECT_EQ(st.auth[proto::kAuthStale], 1u);
  EXPECT_EQ(st.data_in, 1u); // only the authentic frame reached the replicator

  // A child's signed NACK goes upstream verbatim (its trailer, its origin); PROBEs are signed.
  Bytes nack = signed_frame(feedback_frame(proto::kTypeNack, 20, kSelf, kParent, 7, 0, 1300, set_of({20})), kKey, 3);
  inject(1, nack);
  poll(1, 20);
  std::vector<Bytes> up;
  for (uint32_t p = 0; p < 2; p++)
    for (Bytes &f : sent(p)) up.push_back(f);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(Bytes(up[0].begin() + proto::kFanoutOffset, up[0].end()),
            Bytes(nack.begin() + proto::kFanoutOffset, nack.end()));
  proto::AuthResult ar;
  EXPECT_EQ(verify(up[0], *w, nullptr, &ar), proto::kAuthOk);
  EXPECT_EQ(ar.origin, 20);
  engine->timers(1000);
  uint32_t probes = 0;
  for (uint32_t p = 0; p < 2; p++)
    for (const Bytes &f : sent(p)) {
      proto::ParsedPacket pp;
      if (verify(f, *w, &pp, &ar) == proto::kAuthOk && pp.hdr.type == proto::kTypeProbe) probes++;
    }
  EXPECT_EQ(probes, 2u);
}

// ---- Configuration ----------------------------------------------------------------------------

TEST_F(Engine, ValidateNamesTheField) {
  auto expect_field = [&](dp::EngineConfig c, const std::string &field) {
    try {
      dp::validate(c);
      ADD_FAILURE() << "accepted; expected a complaint about " << field;
    } catch (const std::invalid_argument &e) {
      EXPECT_NE(std::string(e.what()).find("EngineConfig." + field), std::string::npos) << e.what();
    }
  };
  dp::EngineConfig good = config(2);
  EXPECT_NO_THROW(dp::validate(good));
  dp::EngineConfig c = good;
  c.fanout = 1;
  expect_field(c, "fanout");
  c = good;
  c.ports.clear();
  expect_field(c, "ports");
  c = good;
  c.ports = {env().port[0], env().port[0]};
  expect_field(c, "ports");
  c = good;
  c.ports = {9999};
  expect_field(c, "ports");
  c = good;
  c.ports = {env().port[0]};
  expect_field(c, "neighbours");
  c = good;
  c.header_pool = nullptr;
  expect_field(c, "header_pool");
  c = good;
  c.burst = 0;
  expect_field(c, "burst");
  c = good;
  c.port_peers[env().port[3]] = 5;
  expect_field(c, "port_peers");
  c = good;
  c.udp_port = 0;
  expect_field(c, "udp_port");
  c = good;
  c.first_id = 10;
  c.last_id = 9;
  expect_field(c, "first_id");
  c = good;
  c.udp_port = 0;
  EXPECT_THROW(dp::Engine{c}, std::invalid_argument);
}

} // namespace

namespace {
TEST_F(Engine, PortsAreConfiguredForMultiSegmentTx) {
  // dp::configure_port asks for chained TX where the device offers it (net_ring does).
  rte_eth_conf conf;
  ASSERT_EQ(rte_eth_dev_conf_get(env().port[0], &conf), 0);
  EXPECT_NE(conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS, 0u);
}
} // namespace
