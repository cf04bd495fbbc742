// Receivers that vanish: a Device closed mid-message (its socket gone, as when its process dies).
// The sender's completion is a partial failure naming exactly the receivers that vanished; the
// others get the message intact, and later messages still work.
#include "driver_test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace fanout::driver::test {
namespace {

using namespace std::chrono_literals;

// Short timeouts keep these tests to a few seconds.
const char *kFastFailure = "{fanout: %d, failure_timeout_us: 300000, rto_us: 10000, rto_max_us: 50000}";

std::string transport(int fanout) {
  char buf[160];
  std::snprintf(buf, sizeof buf, kFastFailure, fanout);
  return buf;
}

class Failure : public ::testing::Test {
 protected:
  void start(int n, int fanout, uint64_t buffer_bytes) {
    cluster_ = TestCluster::make(n, transport(fanout));
    for (int i = 0; i < n; i++) nodes_.push_back(std::make_unique<Node>(open_or_die(cluster_.uri(i)), 4, buffer_bytes));
  }
  void TearDown() override {
    if (!HasFailure()) return;
    for (size_t i = 0; i < nodes_.size(); i++)
      std::printf("node %zu: %s\n", i, stats_line(nodes_[i]->dev().stats()).c_str());
  }
  // Close `victim` once it holds `packets` packets of the message in flight.
  void close_mid_message(int victim, uint64_t packets) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (nodes_[(size_t)victim]->dev().stats().data_packets_received < packets &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(200us);
    ASSERT_TRUE(nodes_[0]->sends().empty()) << "the message completed before the receiver was closed";
    nodes_[(size_t)victim]->close_device();
  }
  void expect_intact(int node, uint64_t length, uint32_t message_id) {
    ASSERT_TRUE(nodes_[(size_t)node]->wait_received(1, 5s)) << "node " << node;
    std::vector<Received> got = nodes_[(size_t)node]->received();
    ASSERT_EQ(got.size(), 1u);
    std::vector<uint8_t> m = message(length, 0, 1);
    EXPECT_EQ(got[0].message_id, message_id);
    EXPECT_EQ(got[0].sum, checksum(m.data(), m.size())) << "node " << node;
  }

  TestCluster cluster_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(Failure, ReceiverClosedMidMessageIsNamed) {
  const uint64_t len = 24 << 20;
  start(4, 4, len);
  std::vector<uint8_t> data = message(len, 0, 1);
  ASSERT_EQ(nodes_[0]->dev().post_send({1, 2, 3}, data.data(), len, 1), Status::kOk);
  close_mid_message(2, 2000);
  ASSERT_TRUE(nodes_[0]->wait_sends(1, 10s));
  Completion c = nodes_[0]->sends()[0];
  EXPECT_EQ(c.status, Status::kPartialFailure) << status_name(c.status);
  EXPECT_EQ(c.receivers, 3u);
  ASSERT_EQ(c.failed_count, 1u);
  EXPECT_EQ(c.failed[0], 2);
  std::vector<NodeId> all;
  ASSERT_EQ(nodes_[0]->dev().failed_receivers(c.message_id, &all), Status::kOk);
  EXPECT_EQ(all, std::vector<NodeId>{2});
  expect_intact(1, len, c.message_id);
  expect_intact(3, len, c.message_id);

  // Later messages to the survivors still work.
  std::vector<uint8_t> more = message(5000, 0, 2);
  ASSERT_EQ(nodes_[0]->dev().post_send({1, 3}, more.data(), more.size(), 2), Status::kOk);
  ASSERT_TRUE(nodes_[0]->wait_sends(2, 5s));
  EXPECT_EQ(nodes_[0]->sends()[1].status, Status::kOk);
}

// Tree fan-out 2 over 7 receivers: node 1 heads the chunk {1, 2, 3, 4} and relays to 2 and 4.
// Closing it cuts 2, 3 and 4 off the tree; the sender reaches them directly and names only 1.
TEST_F(Failure, RelayClosedMidMessageIsNamedAlone) {
  const uint64_t len = 12 << 20;
  start(8, 2, len);
  std::vector<uint8_t> data = message(len, 0, 1);
  ASSERT_EQ(nodes_[0]->dev().post_send({1, 2, 3, 4, 5, 6, 7}, data.data(), len, 1), Status::kOk);
  close_mid_message(1, 1500);
  ASSERT_TRUE(nodes_[0]->wait_sends(1, 10s));
  Completion c = nodes_[0]->sends()[0];
  EXPECT_EQ(c.status, Status::kPartialFailure) << status_name(c.status);
  ASSERT_EQ(c.failed_count, 1u);
  EXPECT_EQ(c.failed[0], 1);
  for (int i = 2; i < 8; i++) expect_intact(i, len, c.message_id);
  EXPECT_GE(nodes_[0]->dev().stats().replans, 1u);
}

// More failed receivers than a completion names inline: failed_receivers() has them all.
TEST_F(Failure, EveryFailedReceiverIsListed) {
  start(12, 4, 1 << 16);
  for (int i = 2; i <= 11; i++) nodes_[(size_t)i]->close_device();
  std::vector<uint8_t> data = message(3000, 0, 1);
  ASSERT_EQ(nodes_[0]->dev().post_send({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, data.data(), data.size(), 1), Status::kOk);
  ASSERT_TRUE(nodes_[0]->wait_sends(1, 5s));
  Completion c = nodes_[0]->sends()[0];
  EXPECT_EQ(c.status, Status::kPartialFailure);
  ASSERT_EQ(c.failed_count, 10u);
  for (uint32_t i = 0; i < kInlineFailed; i++) EXPECT_EQ(c.failed[i], (NodeId)(2 + i));
  std::vector<NodeId> all;
  ASSERT_EQ(nodes_[0]->dev().failed_receivers(c.message_id, &all), Status::kOk);
  EXPECT_EQ(all, (std::vector<NodeId>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  expect_intact(1, 3000, c.message_id);
  EXPECT_EQ(nodes_[0]->dev().failed_receivers(c.message_id + 1, &all), Status::kInvalidArgument);
}

} // namespace
} // namespace fanout::driver::test
