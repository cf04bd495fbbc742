// Bad input gets its specific status and message, and nothing is lost or corrupted: invalid URIs,
// bad cluster file fields, unknown node ids, messages too large, full queues, buffers too small,
// foreign regions; the completion queue's wait and file descriptor.
#include "driver_test_util.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>

namespace fanout::driver::test {
namespace {

using namespace std::chrono_literals;

::testing::AssertionResult contains(const std::string &text, const std::string &part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// ---- URIs ----------------------------------------------------------------------------------------

TEST(DeviceOpen, UrisAreCheckedWithSpecificStatuses) {
  TestCluster c = TestCluster::make(2, "");
  struct Case {
    std::string uri;
    Status status;
    std::string message;
  } cases[] = {
      {"", Status::kBadUri, "<backend>:<argument>"},
      {"cluster.yaml", Status::kBadUri, "<backend>:<argument>"},
      {"tcp:cluster.yaml", Status::kBadUri, "unknown backend 'tcp'"},
      {"udp:", Status::kBadUri, "needs a file name"},
      {"udp:" + c.path + "?nod=1", Status::kBadUri, "unknown parameter 'nod'"},
      {"udp:" + c.path + "?node=x1", Status::kBadUri, "node must be a node id"},
      {"udp:" + c.path + "?node=70000", Status::kBadUri, "node must be a node id"},
      {"udp:" + c.path + "?node=0&rate_mbps=3", Status::kBadUri, "rate_mbps: must be 0 (no limit) or at least 8"},
      {"udp:" + c.path + "?node=0&auth_key=00", Status::kBadUri, "auth_key: must be 32 hex digits"},
      {"udp:" + c.path + "?node=0&auth=maybe", Status::kBadUri, "auth: must be require, accept or off"},
      {"udp:" + c.path + "?node=0&auth=accept", Status::kBadUri, "auth: require and accept need auth_key"},
      {"sim:star8.yaml", Status::kBadUri, "needs ?node=<id>"},
      {"sim:?node=0", Status::kBadUri, "needs the directory"},
      {"sim:/tmp/x?node=0&wait=1", Status::kBadUri, "unknown parameter 'wait' (known: node, wait_s)"},
#ifdef FANOUT_TEST_DPDK
      {"dpdk:?node=0", Status::kBadUri, "dpdk:<cluster file> needs a file name"},
      {"dpdk:x.yaml?node=0&wait_s=1", Status::kBadUri, "unknown parameter 'wait_s' (known: node, port, max_receivers"},
      {"dpdk:x.yaml?node=0&port=70000", Status::kBadUri, "port must be a DPDK port id"},
      {"dpdk:/nonexistent/cluster.yaml?node=0", Status::kBadConfig, "cannot open the cluster file"},
#else
      {"dpdk:0000:03:00.0", Status::kNotAvailable, "dpdk backend is not built"},
#endif
      {"xrt:/nonexistent/cluster.yaml?node=0", Status::kBadConfig, "cannot open the cluster file"},
      {"xrt:x.yaml?node=0&wait_s=1", Status::kBadUri, "unknown parameter 'wait_s' (known: node, device, xclbin"},
      {"xrt:x.yaml?node=0&program=yes", Status::kBadUri, "program must be 1"},
      {"udp:/nonexistent/cluster.yaml?node=0", Status::kBadConfig, "cannot open the cluster file"},
      {"udp:" + c.path, Status::kBadConfig, "self: missing"},
      {"udp:" + c.path + "?node=5", Status::kBadConfig, "node 5 (this node, from ?node=) is not listed"},
  };
  for (const Case &k : cases) {
    OpenResult r = Device::open(k.uri);
    EXPECT_EQ(r.status, k.status) << k.uri << ": " << status_name(r.status) << " " << r.message;
    EXPECT_TRUE(contains(r.message, k.message)) << k.uri;
    EXPECT_FALSE(r.device);
  }
  OpenResult ok = Device::open("udp://" + c.path + "?node=1"); // udp:// is accepted too
  ASSERT_TRUE(ok) << ok.message;
  EXPECT_EQ(ok.device->node_id(), 1);
  EXPECT_STREQ(ok.device->backend_name(), "udp");
  // The same port twice: the second device cannot listen.
  OpenResult again = Device::open(c.uri(1));
  EXPECT_EQ(again.status, Status::kIoError);
  EXPECT_TRUE(contains(again.message, "cannot listen on 127.0.0.1:"));
}

// ---- Cluster file ----------------------------------------------------------------------------------

TEST(ClusterFile, EveryFieldIsValidatedWithItsLocation) {
  struct Case {
    std::string text;
    std::string error; // file:line:col: field: problem (a part of it)
  } cases[] = {
      {"[1, 2]", "f.yaml:1:1: the cluster file must be a map"},
      {"nodes: [", "f.yaml:1:1: not valid YAML/JSON"},
      {"self: 0\n", "f.yaml:1:1: nodes: missing"},
      {"nodes: []\n", "f.yaml:1:8: nodes: must list at least one node"},
      {"nodes: {id: 1}\n", "nodes: must be a list"},
      {"colour: red\nnodes: [{id: 0, address: 127.0.0.1:1}]\n", "f.yaml:1:1: colour: unknown field (known: self"},
      {"nodes:\n  - {id: 70000, address: 127.0.0.1:1}\n", "f.yaml:2:10: nodes[0].id: must be between 0 and 65535"},
      {"nodes:\n  - {id: 0, address: 127.0.0.1:1}\n  - {id: 1, address: 127.0.0.1}\n",
       "f.yaml:3:22: nodes[1].address: must be <IPv4 address>:<port 1..65535> (got '127.0.0.1')"},
      {"nodes:\n  - {id: 0, address: 127.0.0.1:99999}\n", "nodes[0].address: must be <IPv4 address>:<port"},
      {"nodes:\n  - {id: 0, address: \"10.0.0.1\\0junk:5000\"}\n", "nodes[0].address: must be <IPv4 address>:<port"},
      {"nodes: [{id: 1, address: 127.0.0.1:5}]\nnodes: [{id: 1, address: 127.0.0.1:6}]\n",
       "f.yaml:2:1: nodes: given twice"},
      {"nodes:\n  - {id: 0, id: 1, address: 127.0.0.1:5}\n", "nodes[0].id: given twice"},
      {"{[1]: 2, nodes: [{id: 0, address: 127.0.0.1:5}]}\n", "<key>: a key must be a plain name"},
      {"nodes:\n  - {id: 0, address: host.example:80}\n", "nodes[0].address: must be <IPv4 address>"},
      {"nodes:\n  - {id: 1}\n", "f.yaml:2:5: nodes[0].address: missing"},
      {"nodes:\n  - {address: 127.0.0.1:5}\n", "nodes[0].id: missing"},
      {"nodes:\n  - {id: 0, address: 127.0.0.1:5, port: 6}\n",
       "nodes[0].port: unknown field (known: id, address, bind, mac)"},
      {"nodes:\n  - {id: 0, address: 127.0.0.1:5, mac: 01:00:5e:00:00:01}\n",
       "f.yaml:2:40: nodes[0].mac: must be a unicast MAC address like 02:00:00:00:00:07 (got '01:00:5e:00:00:01')"},
      {"nodes:\n  - {id: 0, address: 127.0.0.1:5, mac: 02:00:00:00:07}\n", "nodes[0].mac: must be a unicast MAC"},
      {"nodes:\n  - {id: 0, address: 127.0.0.1:5, mac: 02-00-00-00-00-07}\n", "nodes[0].mac: must be a unicast MAC"},
      {"nodes:\n  - {id: 0, address: 127.0.0.1:5}\n  - {id: 0, address: 127.0.0.1:6}\n",
       "nodes[1].id: node 0 is listed twice"},
      {"nodes:\n  - {id: 0, address: 127.0.0.1:5}\n  - {id: 1, address: 127.0.0.1:5}\n",
       "nodes[1]: listens on 127.0.0.1:5, as an earlier node does"},
      {"self: 3\nnodes: [{id: 0, address: 127.0.0.1:5}]\n", "self: node 3 is not in nodes"},
      {"self: -1\nnodes: [{id: 0, address: 127.0.0.1:5}]\n", "f.yaml:1:7: self: must be a whole number"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {fanout: 1}\n",
       "f.yaml:2:21: transport.fanout: must be between 2 and 16 (got 1)"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {mtu: 100}\n",
       "transport.mtu: must be between 576 and 9000"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {auth: require}\n",
       "transport.auth: require and accept need auth_key"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {auth_key: 0011}\n",
       "f.yaml:2:23: transport.auth_key: must be 32 hex digits"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {windw: 4}\n",
       "transport.windw: unknown field (known: fanout, mtu, window"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {window: [1, 2]}\n",
       "transport.window: must be a single value"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {window: }\n", "transport.window: has no value"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {rto_us: 5000, rto_max_us: 1000}\n",
       "transport.rto_max_us: must be at least transport.rto_us = 5000"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {failure_timeout_us: 10000, silent_timeout_us: 20000}\n",
       "transport.silent_timeout_us: must be below transport.failure_timeout_us"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {max_message_bytes: 4294967296}\n",
       "transport.max_message_bytes: must be between 1 and 4294967295"},
      {"nodes: [{id: 0, address: 127.0.0.1:5}]\ntransport: {window: 8, ack_interval: 9}\n",
       "transport.ack_interval: must not exceed transport.window = 8"},
  };
  for (const Case &k : cases) {
    ClusterConfig cfg;
    std::string error;
    EXPECT_FALSE(parse_cluster(k.text, "f.yaml", &cfg, &error)) << k.text;
    EXPECT_TRUE(contains(error, k.error)) << k.text;
  }
}

TEST(ClusterFile, JsonAndDefaults) {
  ClusterConfig cfg;
  std::string error;
  ASSERT_TRUE(parse_cluster(R"({"self": 2, "nodes": [{"id": 2, "address": "10.0.0.2:47100"},
                                {"id": 1, "address": "10.0.0.1:47100", "bind": "0.0.0.0:47100"},
                                {"id": 3, "address": "10.0.0.3:47100", "mac": "0a:1B:2c:3d:4e:5f"}],
                                "transport": {"window": 64, "failure_timeout_us": 800000}})",
                            "c.json", &cfg, &error))
      << error;
  EXPECT_TRUE(cfg.has_self);
  EXPECT_EQ(cfg.self, 2);
  ASSERT_EQ(cfg.nodes.size(), 3u);
  EXPECT_EQ(cfg.nodes[0].id, 1); // ascending
  ASSERT_NE(cfg.find(3), nullptr);
  EXPECT_EQ(cfg.find(3)->mac, "0a:1B:2c:3d:4e:5f");
  EXPECT_EQ(cfg.nodes[0].bind, "0.0.0.0:47100");
  EXPECT_EQ(cfg.nodes[0].mac, "");
  ASSERT_NE(cfg.find(2), nullptr);
  EXPECT_EQ(cfg.find(4), nullptr);
  EXPECT_EQ(cfg.transport.fanout, 4u);
  EXPECT_EQ(cfg.transport.mtu, 1500u);
  EXPECT_EQ(cfg.transport.ack_interval, 16u);          // window / 4
  EXPECT_EQ(cfg.transport.silent_timeout_us, 200000u); // failure / 4
  EXPECT_EQ(cfg.transport.linger_us, 1600000u);        // 2 x failure
}

// ---- Posts -----------------------------------------------------------------------------------------

class Posts : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = TestCluster::make(4, "{max_message_bytes: 100000, failure_timeout_us: 300000}");
    DeviceOptions small;
    small.send_queue_depth = 2;
    small.recv_queue_depth = 2;
    sender_ = open_or_die(cluster_.uri(0), small);
    receiver_ = std::make_unique<Node>(open_or_die(cluster_.uri(1)), 4, 100000);
    // Node 3 has no device: sends to it stay outstanding until the failure timeout.
  }
  Completion wait_one(Device &d, std::chrono::milliseconds timeout = 5s) {
    Completion c;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (d.poll(&c, 1) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "no completion";
        return c;
      }
      d.wait(10);
    }
    return c;
  }
  // A valid message still goes through, intact.
  void expect_later_message_works(uint32_t index) {
    size_t before = receiver_->received().size();
    std::vector<uint8_t> m = message(20000, 0, index);
    ASSERT_EQ(sender_->post_send({1}, m.data(), m.size(), index), Status::kOk) << sender_->last_send_error();
    Completion c = wait_one(*sender_);
    EXPECT_EQ(c.status, Status::kOk) << status_name(c.status);
    EXPECT_EQ(c.wr_id, index);
    ASSERT_TRUE(receiver_->wait_received(before + 1, 5s));
    EXPECT_EQ(receiver_->received().back().sum, checksum(m.data(), m.size()));
  }

  TestCluster cluster_;
  std::unique_ptr<Device> sender_;
  std::unique_ptr<Node> receiver_;
};

TEST_F(Posts, InvalidSendsAreRefusedWithTheirStatus) {
  uint8_t buf[16] = {};
  Device &d = *sender_;
  EXPECT_EQ(d.post_send({1, 99}, buf, sizeof buf, 1), Status::kUnknownNode);
  EXPECT_TRUE(contains(d.last_send_error(), "receiver 99 is not in the cluster file"));
  EXPECT_EQ(d.post_send({1, 0}, buf, sizeof buf, 1), Status::kInvalidArgument);
  EXPECT_TRUE(contains(d.last_send_error(), "receiver 0 is this node"));
  EXPECT_EQ(d.post_send({2, 1, 2}, buf, sizeof buf, 1), Status::kInvalidArgument);
  EXPECT_TRUE(contains(d.last_send_error(), "receiver 2 is named twice"));
  EXPECT_EQ(d.post_send(std::vector<NodeId>{}, buf, sizeof buf, 1), Status::kInvalidArgument);
  EXPECT_TRUE(contains(d.last_send_error(), "empty receiver set"));
  EXPECT_EQ(d.post_send({1}, nullptr, 5, 1), Status::kInvalidArgument);
  EXPECT_TRUE(contains(d.last_send_error(), "null buffer"));
  EXPECT_EQ(d.post_send({1}, buf, sizeof buf, 1, 0x80), Status::kInvalidArgument);
  EXPECT_TRUE(contains(d.last_send_error(), "unknown flags 0x80"));
  EXPECT_EQ(d.post_send({1}, buf, 100001, 1), Status::kMessageTooLarge);
  EXPECT_TRUE(contains(d.last_send_error(), "longer than transport.max_message_bytes = 100000"));
  EXPECT_EQ(d.post_send({1}, buf, 5ull << 30, 1), Status::kMessageTooLarge); // never read
  EXPECT_EQ(d.packet_payload({1, 99}), 0u);
  EXPECT_EQ(d.packet_payload({1}), 1500u - 28 - 22 - 2);
  expect_later_message_works(7);
  EXPECT_EQ(d.stats().messages_posted, 1u); // the refused posts never reached the transport
}

TEST_F(Posts, QueuesRefuseBeyondTheirDepthUntilPolled) {
  uint8_t buf[64] = {};
  Device &d = *sender_;
  ASSERT_EQ(d.post_send({3}, buf, sizeof buf, 1), Status::kOk); // node 3 never answers
  ASSERT_EQ(d.post_send({3}, buf, sizeof buf, 2), Status::kOk);
  EXPECT_EQ(d.post_send({1}, buf, sizeof buf, 3), Status::kQueueFull);
  EXPECT_TRUE(contains(d.last_send_error(), "holds 2 outstanding sends"));
  Completion a = wait_one(d), b = wait_one(d);
  EXPECT_EQ(a.status, Status::kPartialFailure);
  EXPECT_EQ(b.status, Status::kPartialFailure);
  EXPECT_EQ(a.failed[0], 3);
  // Polled: room again.
  expect_later_message_works(4);

  uint8_t r[3][64];
  ASSERT_EQ(d.post_recv(r[0], 64, 10), Status::kOk);
  ASSERT_EQ(d.post_recv(r[1], 64, 11), Status::kOk);
  EXPECT_EQ(d.post_recv(r[2], 64, 12), Status::kQueueFull);
  EXPECT_TRUE(contains(d.last_recv_error(), "holds 2 outstanding buffers"));
  EXPECT_EQ(d.post_recv(nullptr, 64, 13), Status::kInvalidArgument);
}

TEST_F(Posts, RegionsMustBelongToTheDeviceAndHoldTheBytes) {
  std::vector<uint8_t> bytes = message(50000, 0, 9);
  MemoryRegion mine, foreign;
  ASSERT_EQ(sender_->register_memory(bytes.data(), bytes.size(), &mine), Status::kOk);
  ASSERT_EQ(receiver_->dev().register_memory(bytes.data(), bytes.size(), &foreign), Status::kOk);
  EXPECT_EQ(sender_->post_send({1}, foreign, 0, 100, 1), Status::kBadRegion);
  EXPECT_TRUE(contains(sender_->last_send_error(), "not registered with this device"));
  EXPECT_EQ(sender_->post_send({1}, mine, 49990, 11, 1), Status::kBadRegion);
  EXPECT_TRUE(contains(sender_->last_send_error(), "outside the region of 50000 bytes"));
  MemoryRegion moved = std::move(mine);
  EXPECT_FALSE(mine.valid());
  EXPECT_EQ(sender_->post_send({1}, mine, 0, 10, 1), Status::kBadRegion);
  ASSERT_EQ(sender_->post_send({1}, moved, 0, bytes.size(), 8), Status::kOk);
  Completion c = wait_one(*sender_);
  EXPECT_EQ(c.status, Status::kOk);
  ASSERT_TRUE(receiver_->wait_received(1, 5s));
  EXPECT_EQ(receiver_->received()[0].sum, checksum(bytes.data(), bytes.size()));
}

// A message longer than the buffer at the head of the receive queue completes that buffer with
// kBufferTooSmall (once) and its length; it then lands intact in the next buffer that fits.
TEST(BufferTooSmall, TheMessageWaitsForABufferThatFits) {
  TestCluster c = TestCluster::make(2, "");
  std::unique_ptr<Device> tx = open_or_die(c.uri(0)), rx = open_or_die(c.uri(1));
  std::vector<uint8_t> small(1000), big(100000);
  ASSERT_EQ(rx->post_recv(small.data(), small.size(), 1), Status::kOk);
  std::vector<uint8_t> m = message(50000, 0, 1);
  ASSERT_EQ(tx->post_send({1}, m.data(), m.size(), 5), Status::kOk);
  Completion got;
  ASSERT_EQ(rx->wait(5000), Status::kOk);
  ASSERT_EQ(rx->poll(&got, 1), 1);
  EXPECT_EQ(got.status, Status::kBufferTooSmall);
  EXPECT_EQ(got.wr_id, 1u);
  EXPECT_EQ(got.length, 50000u);
  EXPECT_EQ(got.peer, 0);
  std::this_thread::sleep_for(30ms); // packets meanwhile are dropped, not delivered
  ASSERT_EQ(rx->post_recv(big.data(), big.size(), 2), Status::kOk);
  ASSERT_EQ(rx->wait(5000), Status::kOk);
  ASSERT_EQ(rx->poll(&got, 1), 1);
  EXPECT_EQ(got.status, Status::kOk);
  EXPECT_EQ(got.wr_id, 2u);
  EXPECT_EQ(got.length, 50000u);
  EXPECT_EQ(checksum(big.data(), 50000), checksum(m.data(), m.size()));
  Completion sent;
  ASSERT_EQ(tx->wait(5000), Status::kOk);
  ASSERT_EQ(tx->poll(&sent, 1), 1);
  EXPECT_EQ(sent.status, Status::kOk);
  EXPECT_EQ(rx->stats().buffer_too_small, 1u);
}

// ---- Completion queue ------------------------------------------------------------------------------

TEST(CompletionQueue, WaitTimesOutAndTheFdFollowsTheQueue) {
  TestCluster c = TestCluster::make(2, "");
  std::unique_ptr<Device> tx = open_or_die(c.uri(0)), rx = open_or_die(c.uri(1));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(tx->wait(30), Status::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  pollfd p{tx->completion_fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);

  std::vector<uint8_t> buf(64);
  ASSERT_EQ(rx->post_recv(buf.data(), buf.size(), 1), Status::kOk);
  ASSERT_EQ(tx->post_send({1}, "hello", 5, 9), Status::kOk);
  EXPECT_EQ(::poll(&p, 1, 5000), 1); // readable once the completion is there
  Completion got[4];
  EXPECT_EQ(tx->poll(got, 4), 1);
  EXPECT_EQ(got[0].wr_id, 9u);
  EXPECT_EQ(got[0].status, Status::kOk);
  EXPECT_EQ(got[0].opcode, Opcode::kSend);
  EXPECT_EQ(got[0].length, 5u);
  EXPECT_EQ(::poll(&p, 1, 0), 0); // drained: no longer readable
  ASSERT_EQ(rx->wait(5000), Status::kOk);
  EXPECT_EQ(rx->poll(got, 4), 1);
  EXPECT_EQ(got[0].opcode, Opcode::kRecv);
  EXPECT_EQ(std::string((const char *)buf.data(), 5), "hello");
}

TEST(CompletionQueue, CloseCancelsOutstandingWork) {
  TestCluster c = TestCluster::make(3, "");
  std::unique_ptr<Device> d = open_or_die(c.uri(0));
  std::vector<uint8_t> buf(64);
  ASSERT_EQ(d->post_recv(buf.data(), buf.size(), 1), Status::kOk);
  ASSERT_EQ(d->post_send({2}, buf.data(), buf.size(), 2), Status::kOk); // node 2 is not running
  d->close();
  Completion got[4];
  ASSERT_EQ(d->poll(got, 4), 2);
  for (int i = 0; i < 2; i++) EXPECT_EQ(got[i].status, Status::kCancelled);
  EXPECT_EQ(d->post_send({1}, buf.data(), buf.size(), 3), Status::kClosed);
  EXPECT_EQ(d->post_recv(buf.data(), buf.size(), 4), Status::kClosed);
  EXPECT_EQ(d->stats().messages_succeeded, 0u); // counters stay readable after close
  MemoryRegion late;
  EXPECT_EQ(d->register_memory(buf.data(), buf.size(), &late), Status::kClosed);
}

TEST(CompletionQueue, StatusNamesAreDistinct) {
  std::set<std::string> names;
  for (int s = 0; s <= (int)Status::kNotAvailable; s++) names.insert(status_name((Status)s));
  EXPECT_EQ(names.size(), (size_t)Status::kNotAvailable + 1);
  EXPECT_STREQ(status_name(Status::kPartialFailure), "partial_failure");
}

} // namespace
} // namespace fanout::driver::test
