// The transport alone, on an in-memory backend with simulated time: deterministic losses at
// chosen packets, and exact checks of what went where and when. This is also the shape a
// simulator backend takes (the Backend interface, time passed in by the caller).
#include "backend.hpp"
#include "driver_test_util.hpp"
#include "fanout/proto/proto.hpp"
#include "transport/transport.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <functional>

namespace fanout::driver::test {
namespace {

namespace p = fanout::proto;
using transport::CompletionSink;
using transport::Transport;

struct Pkt {
  NodeId from, to;
  std::vector<uint8_t> bytes;
};

struct Parsed {
  p::PacketView v;
  std::vector<NodeId> set;
};

Parsed parse(const Pkt &k) {
  Parsed out;
  auto set = std::make_unique<p::ReceiverSet>();
  EXPECT_EQ(p::parse_packet(k.bytes.data(), (uint32_t)k.bytes.size(), out.v, set.get()), p::kOk);
  for (uint32_t r = 0; r < set->range_count(); r++)
    for (uint32_t id = set->range(r).first; id <= set->range(r).last; id++) out.set.push_back((NodeId)id);
  return out;
}

class MemNet;

class MemBackend final : public Backend {
 public:
  MemBackend(MemNet &net, NodeId self, bool nic) : net_(net), self_(self), nic_(nic) {}
  const char *name() const override { return "mem"; }
  BackendCaps caps() const override {
    BackendCaps c;
    c.nic_replicates = nic_;
    return c;
  }
  uint32_t max_packet_bytes() const override { return 1500 - 28; }
  bool send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload, uint32_t payload_len) override;
  void flush() override {}
  uint32_t receive(RxPacket *, uint32_t) override { return 0; }
  int rx_fd() const override { return -1; }
  void add_stats(DeviceStats &) const override {}

 private:
  MemNet &net_;
  NodeId self_;
  bool nic_;
};

struct Sink final : CompletionSink {
  std::vector<Completion> done;
  void complete(const Completion &c) override { done.push_back(c); }
  void keep_failed_list(uint32_t, const std::vector<NodeId> &) override {}
};

struct SimNode {
  Counters stats;
  Sink sink;
  std::unique_ptr<MemBackend> backend;
  std::unique_ptr<Transport> t;
  std::vector<std::vector<uint8_t>> bufs;
};

// Nodes 0..n-1; packets are delivered in order, without delay; time moves only when nothing is
// in flight, to the next timer.
class MemNet {
 public:
  // last_id: the highest id the nodes accept in a set (hostile-input policy); 0: n - 1.
  MemNet(int n, TransportOptions opt, bool sender_nic = false, NodeId last_id = 0) {
    ClusterConfig c;
    std::string yaml = "nodes: [{id: 0, address: 127.0.0.1:1}]";
    std::string error;
    parse_cluster(yaml, "mem", &c, &error); // fills the derived defaults
    if (opt.ack_interval == 0) opt.ack_interval = std::max<uint32_t>(1, opt.window / 4);
    if (opt.silent_timeout_us == 0) opt.silent_timeout_us = opt.failure_timeout_us / 4;
    if (opt.linger_us == 0) opt.linger_us = 2 * opt.failure_timeout_us;
    for (int i = 0; i < n; i++) {
      auto node = std::make_unique<SimNode>();
      node->backend = std::make_unique<MemBackend>(*this, (NodeId)i, sender_nic && i == 0);
      transport::Config cfg;
      cfg.self = (NodeId)i;
      cfg.opt = opt;
      cfg.max_packet = node->backend->max_packet_bytes();
      cfg.caps = node->backend->caps();
      cfg.first_id = 0; // the cluster's ids: 0..n-1 (hostile-input policy)
      cfg.last_id = last_id ? last_id : (NodeId)(n - 1);
      node->t = std::make_unique<Transport>(cfg, *node->backend, node->sink, node->stats, 1000 * (uint32_t)i);
      for (int b = 0; b < 4; b++) {
        node->bufs.emplace_back(1 << 20);
        node->t->post_recv(transport::RecvRequest{(uint64_t)b, node->bufs.back().data(), 1 << 20});
      }
      nodes.push_back(std::move(node));
    }
  }

  bool send_packet(NodeId from, NodeId to, std::vector<uint8_t> bytes) {
    if (to >= nodes.size()) return false;
    Pkt k{from, to, std::move(bytes)};
    log.push_back(k);
    if (drop && drop(k)) {
      dropped++;
      return true;
    }
    queue.push_back(std::move(k));
    return true;
  }

  // Deliver, pump and run timers until pred() holds or `limit_us` of simulated time passed.
  bool run(const std::function<bool()> &pred, uint64_t limit_us) {
    uint64_t end = now + limit_us;
    while (now <= end) {
      if (pred()) return true;
      bool moved = false;
      while (!queue.empty()) {
        Pkt k = std::move(queue.front());
        queue.pop_front();
        nodes[k.to]->t->on_packet(k.bytes.data(), (uint32_t)k.bytes.size(), now);
        moved = true;
      }
      for (auto &n : nodes)
        while (n->t->pump(now)) moved = true;
      for (auto &n : nodes) n->t->on_timers(now);
      if (moved || !queue.empty() || pred()) continue;
      uint64_t next = UINT64_MAX;
      for (auto &n : nodes) next = std::min(next, n->t->next_deadline());
      if (next == UINT64_MAX) return pred();
      now = std::max(now + 1, next);
    }
    return pred();
  }

  // Packets in the log matching f, parsed.
  std::vector<std::pair<Pkt, Parsed>> sent(const std::function<bool(const Pkt &, const Parsed &)> &f) const {
    std::vector<std::pair<Pkt, Parsed>> out;
    for (const Pkt &k : log) {
      Parsed x = parse(k);
      if (f(k, x)) out.push_back({k, x});
    }
    return out;
  }

  std::vector<std::unique_ptr<SimNode>> nodes;
  std::deque<Pkt> queue;
  std::vector<Pkt> log;
  std::function<bool(const Pkt &)> drop;
  uint64_t dropped = 0;
  uint64_t now = 1'000'000;
};

bool MemBackend::send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload, uint32_t payload_len) {
  std::vector<uint8_t> b(head, head + head_len);
  if (payload_len) b.insert(b.end(), payload, payload + payload_len);
  return net_.send_packet(self_, to, std::move(b));
}

TransportOptions options(uint32_t fanout) {
  TransportOptions o;
  o.fanout = fanout;
  return o;
}

bool type_is(const Parsed &x, int type) {
  return x.v.hdr.type == type;
}

struct Message {
  std::vector<uint8_t> bytes;
  std::vector<NodeId> to;
};

// Posts a message from node 0 to `to`.
Message post(MemNet &net, std::vector<NodeId> to, uint32_t length, uint64_t wr_id = 1) {
  Message m{message(length, 0, (uint32_t)wr_id), to};
  transport::SendRequest r;
  r.wr_id = wr_id;
  r.data = m.bytes.data();
  r.length = length;
  r.receivers = m.to.data();
  r.count = (uint32_t)m.to.size();
  net.nodes[0]->t->post_send(r, net.now);
  return m;
}

bool delivered_everywhere(MemNet &net, const Message &m) {
  for (NodeId id : m.to) {
    auto &n = *net.nodes[id];
    if (n.sink.done.size() != 1 || n.sink.done[0].status != Status::kOk) return false;
    if (checksum(n.bufs[n.sink.done[0].wr_id].data(), n.sink.done[0].length) !=
        checksum(m.bytes.data(), m.bytes.size()))
      return false;
  }
  return true;
}

TEST(Transport, TreeDeliveryWithOneAckPerChunkHead) {
  MemNet net(8, options(2));
  Message m = post(net, {1, 2, 3, 4, 5, 6, 7}, 10 * 1000);
  ASSERT_TRUE(net.run([&] { return !net.nodes[0]->sink.done.empty(); }, 100000));
  EXPECT_EQ(net.nodes[0]->sink.done[0].status, Status::kOk);
  EXPECT_TRUE(delivered_everywhere(net, m));
  // Every DATA copy from the sender goes to a chunk head: 1 ({1..4}) or 5 ({5..7}).
  auto from_sender = net.sent([](const Pkt &k, const Parsed &x) { return k.from == 0 && type_is(x, p::kTypeData); });
  uint32_t packets = (uint32_t)from_sender.size() / 2;
  EXPECT_EQ(from_sender.size(), 2u * packets);
  for (auto &s : from_sender) EXPECT_TRUE(s.first.to == 1 || s.first.to == 5);
  // ACKs reaching the sender: exactly one per chunk head, covering its whole chunk.
  auto acks = net.sent([](const Pkt &k, const Parsed &x) { return k.to == 0 && type_is(x, p::kTypeAck); });
  ASSERT_EQ(acks.size(), 2u);
  for (auto &a : acks) {
    EXPECT_EQ(a.second.v.hdr.sequence, packets);
    EXPECT_EQ(a.second.set, a.first.from == 1 ? std::vector<NodeId>({1, 2, 3, 4}) : std::vector<NodeId>({5, 6, 7}));
  }
  EXPECT_EQ(net.nodes[0]->stats.retx_packets_sent.get(), 0u);
}

// Packet 3 to node 4 is lost once: node 4 NACKs it after the reorder timeout, and the sender
// retransmits packet 3 to node 4 alone, once.
TEST(Transport, GapIsRepairedForTheReceiverThatMissedItOnly) {
  MemNet net(8, options(8));
  bool dropped = false;
  net.drop = [&](const Pkt &k) {
    Parsed x = parse(k);
    if (dropped || k.to != 4 || !type_is(x, p::kTypeData) || x.v.hdr.sequence != 3) return false;
    return dropped = true;
  };
  Message m = post(net, {1, 2, 3, 4, 5, 6, 7}, 20 * 1000);
  uint64_t t0 = net.now;
  ASSERT_TRUE(net.run([&] { return !net.nodes[0]->sink.done.empty(); }, 100000));
  EXPECT_EQ(net.nodes[0]->sink.done[0].status, Status::kOk);
  EXPECT_TRUE(delivered_everywhere(net, m));
  auto retx =
      net.sent([](const Pkt &, const Parsed &x) { return type_is(x, p::kTypeData) && (x.v.hdr.flags & p::kFlagRetx); });
  ASSERT_EQ(retx.size(), 1u);
  EXPECT_EQ(retx[0].first.to, 4);
  EXPECT_EQ(retx[0].second.set, std::vector<NodeId>{4});
  EXPECT_EQ(retx[0].second.v.hdr.sequence, 3u);
  auto nacks = net.sent([](const Pkt &, const Parsed &x) { return type_is(x, p::kTypeNack); });
  ASSERT_EQ(nacks.size(), 1u);
  EXPECT_EQ(nacks[0].second.v.hdr.sequence, 3u);
  EXPECT_EQ(nacks[0].second.v.hdr.length, 1u);
  // Repaired one reorder timeout after the gap appeared (no delay in this network).
  EXPECT_LE(net.now - t0, (uint64_t)TransportOptions().reorder_us + 10);
}

// The last packet to node 2 is lost: no gap to see. Node 2 NACKs its missing tail once quiet
// (nack_retry_us), or the sender probes it (rto_us): whichever comes first repairs it.
TEST(Transport, LostTailIsRecovered) {
  MemNet net(4, options(4));
  bool dropped = false;
  net.drop = [&](const Pkt &k) {
    Parsed x = parse(k);
    if (dropped || k.to != 2 || !type_is(x, p::kTypeData) || !(x.v.hdr.flags & p::kFlagLast)) return false;
    return dropped = true;
  };
  Message m = post(net, {1, 2, 3}, 5 * 1000);
  uint64_t t0 = net.now;
  ASSERT_TRUE(net.run([&] { return !net.nodes[0]->sink.done.empty(); }, 1000000));
  EXPECT_EQ(net.nodes[0]->sink.done[0].status, Status::kOk);
  EXPECT_TRUE(delivered_everywhere(net, m));
  TransportOptions o;
  EXPECT_LE(net.now - t0, (uint64_t)std::min(o.nack_retry_us, o.rto_us) + 10);
  auto retx =
      net.sent([](const Pkt &, const Parsed &x) { return type_is(x, p::kTypeData) && (x.v.hdr.flags & p::kFlagRetx); });
  for (auto &r : retx) EXPECT_EQ(r.first.to, 2);
}

// Node 3's ACK is lost: the sender probes node 3 after rto_us, node 3 ACKs again.
TEST(Transport, LostFinalAckIsRecoveredByAProbe) {
  MemNet net(4, options(4));
  bool dropped = false;
  net.drop = [&](const Pkt &k) {
    if (dropped || k.from != 3 || !type_is(parse(k), p::kTypeAck)) return false;
    return dropped = true;
  };
  Message m = post(net, {1, 2, 3}, 3000);
  uint64_t t0 = net.now;
  ASSERT_TRUE(net.run([&] { return !net.nodes[0]->sink.done.empty(); }, 1000000));
  EXPECT_EQ(net.nodes[0]->sink.done[0].status, Status::kOk);
  EXPECT_TRUE(delivered_everywhere(net, m));
  EXPECT_EQ(net.nodes[0]->stats.probes_sent.get(), 1u);
  EXPECT_EQ(net.nodes[3]->stats.duplicates_of_completed.get(), 1u);
  EXPECT_EQ(net.nodes[3]->sink.done.size(), 1u); // delivered once
  EXPECT_GE(net.now - t0, (uint64_t)TransportOptions().rto_us);
}

// A one-packet message from node 1 to node 0 (a receiver's small report to the sender) whose
// ACKs are lost: node 1 probes after rto_us (then backs off x2), node 0 re-ACKs each probe from
// its completed-message table, and the send completes kOk once an ACK gets through.
TEST(Transport, LostAcksOfAOnePacketMessageAreRecoveredByProbes) {
  for (uint32_t lost : {1u, 2u, 3u, 5u}) {
    SCOPED_TRACE(lost);
    MemNet net(4, options(4));
    uint32_t dropped = 0;
    net.drop = [&](const Pkt &k) {
      if (dropped >= lost || k.from != 0 || k.to != 1 || !type_is(parse(k), p::kTypeAck)) return false;
      dropped++;
      return true;
    };
    std::vector<uint8_t> report = message(40, 1, 7);
    NodeId to0 = 0;
    transport::SendRequest r;
    r.wr_id = 9;
    r.data = report.data();
    r.length = (uint32_t)report.size();
    r.receivers = &to0;
    r.count = 1;
    uint64_t t0 = net.now;
    net.nodes[1]->t->post_send(r, net.now);
    ASSERT_TRUE(net.run([&] { return !net.nodes[1]->sink.done.empty(); }, 10'000'000));
    EXPECT_EQ(net.nodes[1]->sink.done[0].status, Status::kOk) << status_name(net.nodes[1]->sink.done[0].status);
    EXPECT_EQ(dropped, lost);
    ASSERT_EQ(net.nodes[0]->sink.done.size(), 1u); // delivered once
    EXPECT_EQ(net.nodes[0]->sink.done[0].status, Status::kOk);
    EXPECT_EQ(net.nodes[1]->stats.probes_sent.get(), (uint64_t)lost);
    EXPECT_EQ(net.nodes[0]->stats.duplicates_of_completed.get(), (uint64_t)lost);
    // Probes at rto, 3 rto, 7 rto, ... (backoff x2 up to rto_max_us): done by the lost-th probe.
    TransportOptions o;
    uint64_t bound = 0, rto = o.rto_us;
    for (uint32_t i = 0; i < lost; i++, rto = std::min<uint64_t>(rto * 2, o.rto_max_us)) bound += rto;
    EXPECT_LE(net.now - t0, bound + 10);
    std::printf("lost %u: done after %llu us\n", lost, (unsigned long long)(net.now - t0));
  }
}

// Node 5 receives nothing: the send completes after the failure timeout, naming node 5 alone.
TEST(Transport, SilentReceiverFailsAfterTheFailureTimeout) {
  TransportOptions o = options(2);
  o.failure_timeout_us = 200000;
  MemNet net(8, o);
  net.drop = [](const Pkt &k) { return k.to == 5; };
  Message m = post(net, {1, 2, 3, 4, 5, 6, 7}, 8000);
  uint64_t t0 = net.now;
  ASSERT_TRUE(net.run([&] { return !net.nodes[0]->sink.done.empty(); }, 10000000));
  const Completion &c = net.nodes[0]->sink.done[0];
  EXPECT_EQ(c.status, Status::kPartialFailure);
  ASSERT_EQ(c.failed_count, 1u);
  EXPECT_EQ(c.failed[0], 5);
  EXPECT_GE(net.now - t0, (uint64_t)o.failure_timeout_us);
  EXPECT_LE(net.now - t0, (uint64_t)o.failure_timeout_us + o.rto_us + 1000);
  m.to = {1, 2, 3, 4, 6, 7};
  EXPECT_TRUE(delivered_everywhere(net, m));
}

// A relay reports a receiver gone (its NIC's peer monitor found it down, NACK with GONE): the
// sender fails it at once, names it in the completion, and never waits for the failure timeout.
TEST(Transport, GoneReportFailsTheReceiverAtOnce) {
  TransportOptions o = options(2);
  o.failure_timeout_us = 2000000;
  MemNet net(8, o);
  net.drop = [](const Pkt &k) { return k.to == 5; };
  Message m = post(net, {1, 2, 3, 4, 5, 6, 7}, 8000);
  net.run([] { return false; }, 200); // under way
  ASSERT_TRUE(net.nodes[0]->sink.done.empty());
  // Relay 4 reports 5 gone (sequence 0, count 0, set {5}).
  p::ReceiverSet gone;
  gone.append(5);
  auto data = net.sent([](const Pkt &k, const Parsed &x) { return k.from == 0 && type_is(x, p::kTypeData); });
  ASSERT_FALSE(data.empty());
  p::FanoutHeader h = p::make_header(p::kTypeNack, 0, 4, data[0].second.v.hdr.message_id, 0, 0);
  h.flags = p::kFlagGone;
  std::vector<uint8_t> pkt(p::kMaxPacketBytes);
  uint32_t len = 0;
  ASSERT_EQ(p::build_packet(h, gone, nullptr, 0, p::default_build_options(), pkt.data(), (uint32_t)pkt.size(), &len),
            p::kOk);
  uint64_t t0 = net.now;
  net.nodes[0]->t->on_packet(pkt.data(), len, net.now);
  ASSERT_TRUE(net.run([&] { return !net.nodes[0]->sink.done.empty(); }, 10000000));
  const Completion &c = net.nodes[0]->sink.done[0];
  EXPECT_EQ(c.status, Status::kPartialFailure);
  ASSERT_EQ(c.failed_count, 1u);
  EXPECT_EQ(c.failed[0], 5);
  EXPECT_LT(net.now - t0, (uint64_t)o.failure_timeout_us / 10) << "no failure timeout waited for";
  EXPECT_EQ(net.nodes[0]->stats.gone_reports_received.get(), 1u);
  m.to = {1, 2, 3, 4, 6, 7};
  EXPECT_TRUE(delivered_everywhere(net, m));
}

// Two messages wait on the same dead receiver, the second posted 150 ms after the first: the first
// fails it after the failure timeout (200 ms), the second right after (one rto), not 200 ms after
// its own start.
TEST(Transport, AReceiverThatFailedElsewhereFailsAtOnce) {
  TransportOptions o = options(2);
  o.failure_timeout_us = 200000;
  MemNet net(8, o);
  net.drop = [](const Pkt &k) { return k.to == 5; };
  Message a = post(net, {1, 2, 3, 4, 5, 6, 7}, 8000, 1);
  uint64_t t0 = net.now;
  // The second message starts 150 ms later: on its own clock it would fail 5 at 350 ms.
  net.run([&] { return net.now - t0 >= 150000; }, 10000000);
  Message b = post(net, {2, 5, 7}, 6000, 2);
  ASSERT_TRUE(net.run([&] { return net.nodes[0]->sink.done.size() == 2; }, 10000000));
  for (const Completion &c : net.nodes[0]->sink.done) {
    EXPECT_EQ(c.status, Status::kPartialFailure);
    ASSERT_EQ(c.failed_count, 1u);
    EXPECT_EQ(c.failed[0], 5);
  }
  EXPECT_LE(net.now - t0, (uint64_t)o.failure_timeout_us + 2 * o.rto_us + 20000) << "the second did not wait again";
  EXPECT_GE(net.nodes[0]->stats.receivers_failed_elsewhere.get(), 1u);
  // Every live receiver got its messages whole: 2 and 7 both, the others the first.
  for (NodeId id : {1, 2, 3, 4, 6, 7}) {
    auto &n = *net.nodes[id];
    size_t want = (id == 2 || id == 7) ? 2 : 1;
    ASSERT_EQ(n.sink.done.size(), want) << "node " << id;
    for (const Completion &c : n.sink.done) {
      EXPECT_EQ(c.status, Status::kOk);
      const Message &m = c.length == a.bytes.size() ? a : b;
      EXPECT_EQ(checksum(n.bufs[c.wr_id].data(), c.length), checksum(m.bytes.data(), m.bytes.size())) << "node " << id;
    }
  }
}

// With a NIC that replicates (sim, xrt), the sender hands each packet over once, to its own node
// id, with the whole receiver set; the NIC does the tree.
TEST(Transport, NicReplicationHandsEachPacketOverOnce) {
  MemNet net(6, options(2), /*sender_nic=*/true);
  net.drop = [](const Pkt &k) { return k.from == 0 && k.to == 0; }; // no NIC here: just look
  Message m = post(net, {1, 2, 3, 4, 5}, 4000);                     // the bytes stay alive while the packets go out
  net.run([] { return false; }, 1000);
  auto out = net.sent([](const Pkt &k, const Parsed &x) { return k.from == 0 && type_is(x, p::kTypeData); });
  ASSERT_EQ(out.size(), 3u); // 4000 bytes = 3 packets of 1446 payload bytes (list of 5 ids: 10 set bytes)
  for (auto &o : out) {
    EXPECT_EQ(o.first.to, 0);
    EXPECT_EQ(o.second.set, (std::vector<NodeId>{1, 2, 3, 4, 5}));
  }
}

// ---- Hostile-input policy ------------------------------------------------------------------------

TEST(Transport, PolicyRefusesCraftedDataByCodeBeforeDeliveryOrRelaying) {
  TransportOptions o = options(2);
  o.max_receivers = 3;
  MemNet net(6, o); // ids 0..5
  auto in = [&](const std::vector<uint8_t> &b) { net.nodes[0]->t->on_packet(b.data(), (uint32_t)b.size(), net.now); };
  in(crafted_data(1, 1, 10, {0, 2, 3, 4}, 100)); // 4 > 3 receivers
  in(crafted_data(1, 1, 11, {0, 2, 7}, 100));    // 7: not in the cluster
  in(crafted_data(1, 1, 12, {0, 1, 2}, 100));    // its sender
  in(crafted_data(1, 5, 13, {0, 2, 5}, 100));    // its origin (the copy's parent)
  Counters &st = net.nodes[0]->stats;
  EXPECT_EQ(st.policy_too_many_receivers.get(), 1u);
  EXPECT_EQ(st.policy_unknown_id.get(), 1u);
  EXPECT_EQ(st.policy_loop.get(), 2u);
  EXPECT_EQ(st.data_packets_received.get(), 0u);
  EXPECT_EQ(st.copies_forwarded.get(), 0u);
  EXPECT_TRUE(net.queue.empty());             // nothing relayed, nothing answered
  in(crafted_data(1, 1, 14, {0, 2, 3}, 100)); // within the limits: delivered, relayed to 2 and 3 (F = 2)
  EXPECT_EQ(st.data_packets_received.get(), 1u);
  EXPECT_EQ(st.copies_forwarded.get(), 2u);
}

// A relay that is also a receiver answers a probe with its ACK and a NACK per gap. Found by
// fuzz_udp_rx: with F copies out already, those NACKs made one packet cause more than F + 1. The
// answer now sends what the copies leave of F + 1; the other gaps are NACKed at the next timer.
TEST(Transport, ProbeAnswerOfARelayStaysWithinFPlusOne) {
  MemNet net(8, options(2)); // node 1 relays {2, 3, 4} to 2 chunk heads (F = 2)
  auto data = [&](uint32_t seq, uint8_t flags) {
    p::ReceiverSet set;
    for (NodeId id = 1; id <= 4; id++) set.append(id);
    std::vector<uint8_t> payload(100, (uint8_t)seq);
    p::FanoutHeader h = p::make_header(p::kTypeData, 0, 0, 77, seq, 800); // 8 packets of 100 bytes
    h.flags = flags;
    std::vector<uint8_t> pkt(p::kMaxPacketBytes);
    uint32_t len = 0;
    EXPECT_EQ(p::build_packet(h, set, payload.data(), 100, p::default_build_options(), pkt.data(), (uint32_t)pkt.size(),
                              &len),
              p::kOk);
    pkt.resize(len);
    return pkt;
  };
  Transport &relay = *net.nodes[1]->t;
  for (uint32_t seq : {0u, 2u, 4u, 6u}) { // 1, 3 and 5 lost; no timer runs in between
    std::vector<uint8_t> b = data(seq, 0);
    relay.on_packet(b.data(), (uint32_t)b.size(), net.now);
  }
  size_t before = net.queue.size();
  std::vector<uint8_t> probe = data(7, p::kFlagLast | p::kFlagRetx | p::kFlagAckReq);
  relay.on_packet(probe.data(), (uint32_t)probe.size(), net.now);
  size_t caused = net.queue.size() - before;
  EXPECT_LE(caused, 3u); // F + 1
  auto nacks_to_sender = [&] {
    std::vector<uint32_t> seqs;
    for (const Pkt &k : net.queue) {
      Parsed x = parse(k);
      if (k.to == 0 && type_is(x, p::kTypeNack)) seqs.push_back(x.v.hdr.sequence);
    }
    return seqs;
  };
  std::vector<uint32_t> now_nacked = nacks_to_sender();
  relay.on_timers(net.now); // the gaps the answer left
  std::vector<uint32_t> all = nacks_to_sender();
  EXPECT_LT(now_nacked.size(), 3u);
  EXPECT_EQ(all, (std::vector<uint32_t>{1, 3, 5})); // every gap once, in order
}

// A packet that fills the medium leaves its copies no room to grow: removing this node from
// inside a range makes a chunk's set longer than the one that came in, and such a chunk goes out in
// pieces. Found by fuzz_udp_rx: F chunks plus pieces made one packet cause more than F + 1. The
// relay now splits into fewer chunks until the copies fit F.
TEST(Transport, RelayAtTheMediumsEdgeStaysWithinFPlusOne) {
  MemNet net(16, options(2), false, /*last_id=*/0xFFFF); // ids past 15 have no node: copies to them vanish
  p::ReceiverSet set;
  for (NodeId id = 0; id <= 12; id++) set.append(id); // node 10 inside the first range
  for (NodeId id = 20000; id <= 20030; id++) set.append(id);
  const uint32_t max_packet = 1500 - 28;
  uint32_t payload_len = max_packet - p::kFanoutHeaderBytes - 8; // 2 ranges: 8 set bytes, nothing to spare
  std::vector<uint8_t> payload(payload_len, 0x42);
  p::FanoutHeader h = p::make_header(p::kTypeData, 15, 15, 5, 0, payload_len); // from node 15, outside the set
  h.flags = p::kFlagLast;
  std::vector<uint8_t> pkt(p::kMaxPacketBytes);
  uint32_t len = 0;
  ASSERT_EQ(p::build_packet(h, set, payload.data(), payload_len, p::default_build_options(), pkt.data(),
                            (uint32_t)pkt.size(), &len),
            p::kOk);
  ASSERT_EQ(len, max_packet);
  Counters &st = net.nodes[10]->stats;
  net.nodes[10]->t->on_packet(pkt.data(), len, net.now);
  // Without this node the set is 3 ranges, 12 bytes: no copy can carry it whole. At most F copies
  // (pieces included), so this node's feedback keeps within F + 1.
  EXPECT_LE(st.copies_forwarded.get(), 2u);
  EXPECT_GE(st.copies_forwarded.get(), 2u);
  EXPECT_LE(st.copies_forwarded.get() + st.acks_sent.get(), 3u);
  std::vector<NodeId> reached; // one chunk, in pieces to its head, node 0: every receiver once
  for (const Pkt &k : net.queue) {
    Parsed x = parse(k);
    if (type_is(x, p::kTypeData) && k.to == 0) reached.insert(reached.end(), x.set.begin(), x.set.end());
  }
  std::sort(reached.begin(), reached.end());
  std::vector<NodeId> want;
  for (NodeId id = 0; id <= 12; id++)
    if (id != 10) want.push_back(id);
  for (NodeId id = 20000; id <= 20030; id++) want.push_back(id);
  EXPECT_EQ(reached, want);
}

TEST(Transport, RateLimitLosesExactlyTheExcess) {
  TransportOptions o = options(2);
  o.rate_mbps = 16;          // 2 bytes per microsecond per sender
  o.rate_burst_bytes = 1000; // a full bucket at the first packet
  MemNet net(4, o);
  Counters &st = net.nodes[0]->stats;
  auto in = [&](NodeId sender, uint32_t id) {
    std::vector<uint8_t> b = crafted_data(sender, sender, id, {0}, 300);
    net.nodes[0]->t->on_packet(b.data(), (uint32_t)b.size(), net.now);
  };
  for (uint32_t i = 0; i < 10; i++) in(1, 100 + i); // 3 x 300 bytes fit the 1000-byte bucket
  EXPECT_EQ(st.data_packets_received.get(), 3u);
  EXPECT_EQ(st.policy_rate_limited.get(), 7u);
  in(2, 200); // another sender: its own bucket
  EXPECT_EQ(st.data_packets_received.get(), 4u);
  net.now += 250; // 100 left + 500 refilled: two more, not three
  for (uint32_t i = 0; i < 3; i++) in(1, 300 + i);
  EXPECT_EQ(st.data_packets_received.get(), 6u);
  EXPECT_EQ(st.policy_rate_limited.get(), 8u);
}

} // namespace
} // namespace fanout::driver::test
