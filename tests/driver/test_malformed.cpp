// Malformed datagrams reaching a device's socket are dropped and counted by reason (proto's parse
// error codes), never crash it, are never answered, and later traffic is unaffected.
#include "driver_test_util.hpp"
#include "fanout/proto/proto.hpp"

#include <gtest/gtest.h>

#include <random>

namespace fanout::driver::test {
namespace {

using namespace std::chrono_literals;
namespace p = fanout::proto;

// A valid one-packet DATA message from node 1 to node 0 (the device under test).
std::vector<uint8_t> valid_data(uint32_t message_id) {
  p::ReceiverSet set;
  set.append(0);
  std::vector<uint8_t> payload(100, 0xAB);
  p::FanoutHeader h = p::make_header(p::kTypeData, 1, 1, message_id, 0, (uint32_t)payload.size());
  h.flags = p::kFlagLast;
  std::vector<uint8_t> pkt(p::kMaxPacketBytes);
  uint32_t len = 0;
  p::build_packet(h, set, payload.data(), (uint32_t)payload.size(), p::default_build_options(), pkt.data(),
                  (uint32_t)pkt.size(), &len);
  pkt.resize(len);
  return pkt;
}

TEST(Malformed, DroppedCountedByReasonNeverAnswered) {
  TestCluster c = TestCluster::make(2, "");
  std::unique_ptr<Device> dut = open_or_die(c.uri(0));
  Injector inj(c.listen_port[0]);
  uint64_t expected[kMalformedReasons] = {};
  uint64_t valid = 0;
  auto inject = [&](const std::vector<uint8_t> &d) {
    p::PacketView v;
    int rc = d.size() > p::kMaxPacketBytes
                 ? (int)p::kFrameTooLong
                 : p::parse_packet<p::kMaxSetRanges>(d.data(), (uint32_t)d.size(), v, nullptr);
    if (rc == p::kOk) {
      valid++;
    } else {
      expected[rc]++;
    }
    inj.send(d);
  };

  std::vector<uint8_t> base = valid_data(77);
  p::PacketView view;
  ASSERT_EQ(p::parse_packet<p::kMaxSetRanges>(base.data(), (uint32_t)base.size(), view, nullptr), p::kOk);
  // One of each class, by hand.
  std::vector<uint8_t> d;
  inject({});                                                       // empty datagram
  inject(std::vector<uint8_t>(base.begin(), base.begin() + 10));    // truncated header
  d = base, d[0] = 0x21, inject(d);                                 // version 2
  d = base, d[0] = 0x10, inject(d);                                 // type 0
  d = base, d[0] = 0x17, inject(d);                                 // type 7
  d = base, d[2] = 0x05, inject(d);                                 // set encoding 5
  d = base, p::store_be16(&d[4], 1000), inject(d);                  // set runs past the datagram
  d = base, p::store_be16(&d[4], 1025), inject(d);                  // set longer than any packet's
  d = base, p::store_be32(&d[18], 101), inject(d);                  // DATA length != payload of a one-packet message
  d = base, d.push_back(0), inject(d);                              // one payload byte too many
  d = base, d[2] = p::kSetList, p::store_be16(&d[4], 3), inject(d); // odd list length
  std::vector<uint8_t> oversize(p::kMaxPacketBytes + 100, 0x11);
  inject(oversize);
  // Random bytes, and random single-bit flips of a valid packet.
  std::mt19937 rng(11);
  for (int i = 0; i < 1500; i++) {
    std::vector<uint8_t> g(rng() % 200);
    for (uint8_t &b : g) b = (uint8_t)rng();
    if (!g.empty() && i % 2) g[0] = 0x10 | (uint8_t)(rng() % 5); // version 1: reach the deeper checks
    inject(g);
    d = base;
    size_t bit = rng() % (d.size() * 8);
    d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    inject(d);
    if (i % 100 == 0) std::this_thread::sleep_for(1ms); // stay within the socket's buffer
  }

  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (dut->stats().datagrams_received < inj.sent() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  DeviceStats s = dut->stats();
  ASSERT_EQ(s.datagrams_received, inj.sent());
  uint64_t malformed = 0;
  for (int r = 1; r < kMalformedReasons; r++) {
    EXPECT_EQ(s.malformed_by_reason[r], expected[r]) << p::error_name(r);
    malformed += expected[r];
  }
  EXPECT_EQ(s.malformed, malformed);
  EXPECT_GT(s.malformed_by_reason[p::kBadVersion], 0u);
  EXPECT_GT(s.malformed_by_reason[p::kLengthMismatch], 0u);
  EXPECT_GT(s.malformed_by_reason[p::kFrameTooLong], 0u);
  // Malformed input is never answered; a valid packet gets at most one packet back (an ACK).
  EXPECT_LE(s.datagrams_sent, valid);
  std::printf("injected %llu datagrams: %llu malformed, %llu valid; the device sent %llu\n",
              (unsigned long long)inj.sent(), (unsigned long long)malformed, (unsigned long long)valid,
              (unsigned long long)s.datagrams_sent);

  // The device still works.
  Node rx(std::move(dut), 2, 4096);
  std::unique_ptr<Device> tx = open_or_die(c.uri(1));
  std::vector<uint8_t> m = message(3000, 1, 1);
  ASSERT_EQ(tx->post_send({0}, m.data(), m.size(), 1), Status::kOk);
  ASSERT_TRUE(rx.wait_for(
      [&](Node &n) {
        for (const Received &r : n.received())
          if (r.sum == checksum(m.data(), m.size())) return true;
        return false;
      },
      5s));
  Completion done;
  ASSERT_EQ(tx->wait(5000), Status::kOk); // m must outlive its send
  ASSERT_EQ(tx->poll(&done, 1), 1);
  EXPECT_EQ(done.status, Status::kOk);
}

} // namespace
} // namespace fanout::driver::test
