// Hostile input on the udp backend: the hostile-input policy (proto/policy.hpp) and per-packet
// authentication (proto/auth.hpp) in the software transport. Crafted datagrams are injected into a
// node's socket; refused ones are counted by code and never disturb the traffic around them.
#include "driver_test_util.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/proto.hpp"

#include <gtest/gtest.h>

namespace fanout::driver::test {
namespace {

using namespace std::chrono_literals;
namespace p = fanout::proto;

// A one-packet DATA message from `sender` (also the origin) to `ids`.
std::vector<uint8_t> data_packet(NodeId sender, uint32_t message_id, const std::vector<NodeId> &ids,
                                 uint32_t payload_len = 100) {
  return crafted_data(sender, sender, message_id, ids, payload_len, 0xAB);
}

std::vector<uint8_t> signed_packet(std::vector<uint8_t> pkt, const uint8_t key[16], uint32_t counter) {
  uint32_t len = (uint32_t)pkt.size(), out = 0;
  pkt.resize(len + p::kAuthTrailerBytes);
  EXPECT_TRUE(p::auth_sign_packet(pkt.data(), len, (uint32_t)pkt.size(), key, counter, &out));
  pkt.resize(out);
  return pkt;
}

void wait_received(Device &d, uint64_t n) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (d.stats().datagrams_received < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  ASSERT_GE(d.stats().datagrams_received, n);
}

TEST(Hostile, PolicyFromUriRefusesEachCodeAndCountsIt) {
  TestCluster c = TestCluster::make(4, ""); // ids 0..3
  Node dut(open_or_die(c.uri(0) + "&max_receivers=2"), 4, 1 << 16);
  Injector inj(c.listen_port[0]);
  inj.send(data_packet(1, 10, {0, 2, 3})); // 3 receivers > 2
  inj.send(data_packet(1, 11, {0, 9}));    // id 9 is not in the cluster
  inj.send(data_packet(1, 12, {0, 1}));    // names its own sender: a loop
  inj.send(data_packet(1, 13, {0}));       // fine
  ASSERT_TRUE(dut.wait_received(1, 5s));
  wait_received(dut.dev(), inj.sent());
  DeviceStats s = dut.dev().stats();
  EXPECT_EQ(s.policy_too_many_receivers, 1u) << stats_line(s);
  EXPECT_EQ(s.policy_unknown_id, 1u);
  EXPECT_EQ(s.policy_loop, 1u);
  EXPECT_EQ(s.policy_rate_limited, 0u);
  EXPECT_EQ(s.data_packets_received, 1u); // refused packets never reach delivery
  ASSERT_EQ(dut.received().size(), 1u);
  EXPECT_EQ(dut.received()[0].message_id, 13u);
  // Bad values are refused at open.
  OpenResult r = Device::open(c.uri(1) + "&max_receivers=x");
  EXPECT_EQ(r.status, Status::kBadUri) << r.message;
  r = Device::open(c.uri(1) + "&auth=require");
  EXPECT_EQ(r.status, Status::kBadUri) << r.message; // require without a key
}

const uint8_t kKey[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
const char *kKeyHex = "000102030405060708090a0b0c0d0e0f";

void expect_only_ok(const DeviceStats &s, const char *who) {
  EXPECT_GT(s.auth_ok, 0u) << who << ": " << stats_line(s);
  EXPECT_EQ(s.auth_unsigned + s.auth_bad_tag + s.auth_replayed + s.auth_stale + s.auth_unknown_origin, 0u)
      << who << ": " << stats_line(s);
}

// Nodes 0..3 run (node 4 is listed but silent: the injected packets claim to come from it).
TEST(Hostile, AuthRequireDeliversAndDropsForgedReplayedUnsigned) {
  TestCluster c = TestCluster::make(5, std::string("{fanout: 2, auth: require, auth_key: ") + kKeyHex + "}");
  std::vector<std::unique_ptr<Node>> n;
  for (int i = 0; i < 4; i++) n.push_back(std::make_unique<Node>(open_or_die(c.uri(i)), 8, 1 << 20));
  // Relayed (F = 2: node 0 -> {1}, {2 -> 3}) and multi-packet: every hop re-signs.
  std::vector<uint8_t> msg = message(200000, 0, 1);
  NodeId to[] = {1, 2, 3};
  ASSERT_EQ(n[0]->dev().post_send(Receivers(to, 3), msg.data(), msg.size(), 1), Status::kOk);
  ASSERT_TRUE(n[0]->wait_sends(1, 10s));
  EXPECT_EQ(n[0]->sends()[0].status, Status::kOk);
  for (int i = 1; i < 4; i++) {
    ASSERT_TRUE(n[(size_t)i]->wait_received(1, 5s)) << i;
    EXPECT_EQ(n[(size_t)i]->received()[0].sum, checksum(msg.data(), msg.size()));
  }
  for (int i = 0; i < 4; i++) expect_only_ok(n[(size_t)i]->dev().stats(), ("node " + std::to_string(i)).c_str());
  uint64_t relayed = 0;
  for (int i = 1; i < 4; i++) relayed += n[(size_t)i]->dev().stats().copies_forwarded;
  EXPECT_GT(relayed, 0u); // a receiver relayed (and re-signed) copies

  // Into node 1, as node 4.
  Device &d1 = n[1]->dev();
  DeviceStats before = d1.stats();
  Injector inj(c.listen_port[1]);
  std::vector<uint8_t> good = signed_packet(data_packet(4, 500, {1}), kKey, 10);
  inj.send(good); // accepted, delivered
  inj.send(good); // replayed
  std::vector<uint8_t> flipped = signed_packet(data_packet(4, 501, {1}), kKey, 11);
  flipped[40] ^= 0x04; // a payload bit
  inj.send(flipped);
  uint8_t other[16] = {1};
  inj.send(signed_packet(data_packet(4, 502, {1}), other, 12)); // another key
  inj.send(data_packet(4, 503, {1}));                           // unsigned
  inj.send(signed_packet(data_packet(4, 504, {1}), kKey, 0));   // counter 0: stale
  wait_received(d1, before.datagrams_received + inj.sent());
  ASSERT_TRUE(n[1]->wait_received(2, 5s));
  DeviceStats s = d1.stats();
  EXPECT_EQ(s.auth_replayed - before.auth_replayed, 1u) << stats_line(s);
  EXPECT_EQ(s.auth_bad_tag - before.auth_bad_tag, 2u);
  EXPECT_EQ(s.auth_unsigned - before.auth_unsigned, 1u);
  EXPECT_EQ(s.auth_stale - before.auth_stale, 1u);
  std::vector<Received> got = n[1]->received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].peer, 4u);
  EXPECT_EQ(got[1].message_id, 500u);

  // Delivery is unaffected afterwards.
  ASSERT_EQ(n[0]->dev().post_send(Receivers(to, 3), msg.data(), msg.size(), 2), Status::kOk);
  ASSERT_TRUE(n[0]->wait_sends(2, 10s));
  EXPECT_EQ(n[0]->sends()[1].status, Status::kOk);
  for (int i = 2; i < 4; i++) EXPECT_TRUE(n[(size_t)i]->wait_received(2, 5s)) << i;
  EXPECT_TRUE(n[1]->wait_received(3, 5s));
  for (int i = 0; i < 4; i++) {
    DeviceStats x = n[(size_t)i]->dev().stats();
    if (i == 1) continue;
    expect_only_ok(x, ("node " + std::to_string(i)).c_str());
  }
}

TEST(Hostile, AuthAcceptTakesUnsignedPackets) {
  TestCluster c = TestCluster::make(2, std::string("{auth: accept, auth_key: ") + kKeyHex + "}");
  Node dut(open_or_die(c.uri(0)), 4, 1 << 16);
  Injector inj(c.listen_port[0]);
  inj.send(data_packet(1, 20, {0}));
  inj.send(signed_packet(data_packet(1, 21, {0}), kKey, 1));
  ASSERT_TRUE(dut.wait_received(2, 5s));
  DeviceStats s = dut.dev().stats();
  EXPECT_EQ(s.auth_unsigned, 1u) << stats_line(s);
  EXPECT_EQ(s.auth_ok, 1u);
}

} // namespace
} // namespace fanout::driver::test
