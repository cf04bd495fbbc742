// The dpdk backend (driver/src/dpdk): applications on DPDK ports through the same queues API, in
// one process, no NIC, no hugepages. Each node is a Device on its own net_ring port (a pair of
// rte_rings made into an ethdev with rte_eth_from_rings); a switch thread moves frames between
// the nodes' rings by destination MAC, as an L2 switch does. The Fanout data path (the engine in
// each node's backend) replicates along the tree and aggregates the ACKs; every receiver gets every
// message exactly once, byte-identical, and the sender one completion per message.
#include "driver_test_util.hpp"
#include "fanout/proto/packet.hpp"

#include <gtest/gtest.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <deque>
#include <thread>

namespace fanout::driver::test {
namespace {

using namespace std::chrono_literals;

class Eal : public ::testing::Environment {
 public:
  void SetUp() override {
    std::vector<std::string> words = {"test_driver_dpdk", "--no-huge", "-m", "1536",        "--no-pci",
                                      "--no-shconf",      "-l",        "0",  "--log-level", "lib.eal:error"};
    std::vector<char *> argv;
    for (std::string &w : words) argv.push_back(w.data());
    ASSERT_GE(rte_eal_init((int)argv.size(), argv.data()), 0) << "EAL init";
  }
};
::testing::Environment *const kEal = ::testing::AddGlobalTestEnvironment(new Eal);

// N ring ports and the switch thread between them. Node i's MAC is the cluster plan's.
class RingFabric {
 public:
  explicit RingFabric(int n) {
    static int fabric = 0;
    int f = fabric++;
    for (int i = 0; i < n; i++) {
      std::string tag = std::to_string(f) + "_" + std::to_string(i);
      rte_ring *to = rte_ring_create(("to" + tag).c_str(), 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      rte_ring *from = rte_ring_create(("fr" + tag).c_str(), 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!to || !from) throw std::runtime_error("rte_ring_create");
      int port = rte_eth_from_rings(("ring" + tag).c_str(), &to, 1, &from, 1, SOCKET_ID_ANY);
      if (port < 0) throw std::runtime_error("rte_eth_from_rings");
      rte_ether_addr mac;
      proto::cluster_mac((proto::NodeId)i, mac.addr_bytes);
      rte_eth_dev_default_mac_addr_set((uint16_t)port, &mac);
      to_.push_back(to);
      from_.push_back(from);
      ports_.push_back((uint16_t)port);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~RingFabric() {
    stop_ = true;
    thread_.join();
    for (rte_ring *r : to_) drain(r);
    for (rte_ring *r : from_) drain(r);
  }
  uint16_t port(int node) const { return ports_[(size_t)node]; }
  uint64_t forwarded() const { return forwarded_.load(); }

 private:
  static void drain(rte_ring *r) {
    void *m;
    while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf *>(m));
  }
  // Ownership: a frame dequeued from a node's TX ring is the switch's until it is enqueued on the
  // destination's RX ring (then the destination port's) or freed (unknown or broadcast MAC).
  void run() {
    void *burst[32];
    while (!stop_.load(std::memory_order_relaxed)) {
      bool any = false;
      for (size_t i = 0; i < from_.size(); i++) {
        unsigned n = rte_ring_dequeue_burst(from_[i], burst, 32, nullptr);
        any = any || n > 0;
        for (unsigned k = 0; k < n; k++) {
          auto *m = static_cast<rte_mbuf *>(burst[k]);
          const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
          size_t to = ((size_t)d[4] << 8) | d[5];
          bool plan = d[0] == 0x02 && d[1] == 0 && d[2] == 0 && d[3] == 0;
          if (!plan || to >= to_.size() || rte_ring_enqueue(to_[to], m) != 0) {
            rte_pktmbuf_free(m);
            continue;
          }
          forwarded_++;
        }
      }
      if (!any) std::this_thread::yield();
    }
  }
  std::vector<rte_ring *> to_, from_;
  std::vector<uint16_t> ports_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> forwarded_{0};
};

class DpdkBackend : public ::testing::Test {
 protected:
  void start(int n, const std::string &transport, uint64_t buffer_bytes, size_t buffers = 8) {
    fabric_ = std::make_unique<RingFabric>(n);
    dir_ = make_temp_dir();
    std::string text = "nodes:\n";
    for (int i = 0; i < n; i++)
      text += "  - {id: " + std::to_string(i) + ", address: 10.0.0." + std::to_string(i) + ":47100}\n";
    text += "transport: {" + (transport.find("mtu") == std::string::npos ? std::string("mtu: 9000, ") : std::string()) +
            "failure_timeout_us: 2000000" + (transport.empty() ? "" : ", " + transport) + "}\n";
    write_file(dir_ + "/cluster.yaml", text);
    for (int i = 0; i < n; i++) {
      std::string uri =
          "dpdk:" + dir_ + "/cluster.yaml?node=" + std::to_string(i) + "&port=" + std::to_string(fabric_->port(i));
      OpenResult r = Device::open(uri);
      ASSERT_EQ(r.status, Status::kOk) << r.message;
      nodes_.push_back(std::make_unique<Node>(std::move(r.device), buffers, buffer_bytes));
    }
  }
  void TearDown() override {
    nodes_.clear(); // devices close first: the fabric outlives their ports' traffic
    fabric_.reset();
  }
  std::unique_ptr<RingFabric> fabric_;
  std::string dir_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(DpdkBackend, OneMessageToOneReceiver) {
  start(2, "", 4096);
  std::vector<uint8_t> m = message(100, 0, 1);
  ASSERT_EQ(nodes_[0]->dev().post_send({1}, m.data(), m.size(), 1), Status::kOk);
  ASSERT_TRUE(nodes_[0]->wait_sends(1, 10s));
  EXPECT_EQ(nodes_[0]->sends()[0].status, Status::kOk);
  ASSERT_TRUE(nodes_[1]->wait_received(1, 10s));
  std::vector<Received> got = nodes_[1]->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].length, 100u);
  EXPECT_EQ(got[0].sum, checksum(m.data(), m.size()));
  EXPECT_EQ(nodes_[0]->dev().stats().acks_received, 1u);
}

// k = 7 of 8 nodes, F = 2: the sender's data path sends 2 copies, the chunk heads' data paths
// relay and aggregate; multi-packet messages from registered memory go without payload copies.
TEST_F(DpdkBackend, TreeOfDataPathsDeliversEveryMessageOnce) {
  const uint64_t kBytes = 200 * 1000;
  start(8, "fanout: 2", kBytes, 16);
  std::vector<uint8_t> region(kBytes * 4);
  MemoryRegion mr;
  ASSERT_EQ(nodes_[0]->dev().register_memory(region.data(), region.size(), &mr), Status::kOk);
  std::vector<NodeId> all{1, 2, 3, 4, 5, 6, 7};
  for (uint32_t i = 0; i < 4; i++) {
    fill_message(region.data() + i * kBytes, kBytes, 0, i + 1);
    ASSERT_EQ(nodes_[0]->dev().post_send(all, region.data() + i * kBytes, kBytes, i + 1), Status::kOk);
  }
  ASSERT_TRUE(nodes_[0]->wait_sends(4, 20s)) << nodes_[0]->sends().size();
  for (const Completion &c : nodes_[0]->sends()) EXPECT_EQ(c.status, Status::kOk) << status_name(c.status);
  for (int n = 1; n < 8; n++) {
    ASSERT_TRUE(nodes_[(size_t)n]->wait_received(4, 20s)) << "node " << n;
    std::vector<Received> got = nodes_[(size_t)n]->received();
    ASSERT_EQ(got.size(), 4u) << "node " << n;
    std::set<uint64_t> sums;
    for (const Received &r : got) sums.insert(r.sum);
    for (uint32_t i = 0; i < 4; i++)
      EXPECT_TRUE(sums.count(checksum(region.data() + i * kBytes, kBytes))) << "node " << n << " message " << i;
  }
  DeviceStats st = nodes_[0]->dev().stats();
  EXPECT_EQ(st.messages_succeeded, 4u);
  EXPECT_EQ(st.malformed, 0u);
  // One aggregated ACK per packet round at most per chunk head is the engine's business; the
  // sender's transport sees acknowledgements, and nothing was retransmitted on a lossless fabric.
  EXPECT_EQ(st.retx_packets_sent, 0u);
  EXPECT_GE(st.zero_copy_frames, st.data_packets_sent) << "payloads from registered memory are not copied";
  EXPECT_GT(st.data_packets_sent, 4u);
  mr = MemoryRegion(); // deregisters: waits for frames still referencing the region
  // No mbuf leaks: once the devices are closed and the fabric drained, every pool is full.
  std::vector<uint16_t> ports;
  for (int n = 0; n < 8; n++) ports.push_back(fabric_->port(n));
  nodes_.clear();
  fabric_.reset();
  for (int n = 0; n < 8; n++) {
    for (const char *what : {"rx", "fr", "hd"}) {
      std::string name = std::string("fo_") + what + std::to_string(ports[(size_t)n]) + "_" + std::to_string(n);
      rte_mempool *p = rte_mempool_lookup(name.c_str());
      ASSERT_NE(p, nullptr) << name;
      EXPECT_EQ(rte_mempool_avail_count(p), p->size) << name << " leaks";
    }
  }
}

// A message far longer than the transport's window (2,905 packets of MTU 1500 against 256)
// through relays: the window moves only on aggregated ACKs, and the sender's targeted
// retransmissions (to a lagging receiver, straight from the sender's data path) must not arm the
// aggregators with children that answer elsewhere (docs/protocol.md: retransmissions arm nothing).
TEST_F(DpdkBackend, MessageLongerThanTheWindowThroughRelaysCompletes) {
  const uint64_t kBytes = 4 << 20;
  start(5, "fanout: 2, mtu: 1500", kBytes, 2);
  std::vector<uint8_t> m = message(kBytes, 0, 1);
  ASSERT_EQ(nodes_[0]->dev().post_send({1, 2, 3, 4}, m.data(), m.size(), 1), Status::kOk);
  ASSERT_TRUE(nodes_[0]->wait_sends(1, 20s)) << stats_line(nodes_[0]->dev().stats());
  EXPECT_EQ(nodes_[0]->sends()[0].status, Status::kOk);
  for (int n = 1; n < 5; n++) {
    ASSERT_TRUE(nodes_[(size_t)n]->wait_received(1, 10s)) << "node " << n;
    EXPECT_EQ(nodes_[(size_t)n]->received()[0].sum, checksum(m.data(), m.size())) << "node " << n;
  }
  EXPECT_EQ(nodes_[0]->dev().stats().data_packets_sent, 2901u);
}

// auth: require: the data paths sign every frame they emit (copies, aggregated ACKs, PROBEs) and
// check every frame from the fabric; the transports above them do neither.
TEST_F(DpdkBackend, AuthRequireThroughRelaysDeliversWithOnlyAuthenticFrames) {
  const uint64_t kBytes = 300 * 1000;
  start(4, "fanout: 2, mtu: 1500, auth: require, auth_key: 000102030405060708090a0b0c0d0e0f", kBytes, 2);
  std::vector<uint8_t> m = message(kBytes, 0, 1);
  ASSERT_EQ(nodes_[0]->dev().post_send({1, 2, 3}, m.data(), m.size(), 1), Status::kOk); // 2 relays to 3
  ASSERT_TRUE(nodes_[0]->wait_sends(1, 20s)) << stats_line(nodes_[0]->dev().stats());
  EXPECT_EQ(nodes_[0]->sends()[0].status, Status::kOk);
  for (int n = 1; n < 4; n++) {
    ASSERT_TRUE(nodes_[(size_t)n]->wait_received(1, 10s)) << "node " << n;
    EXPECT_EQ(nodes_[(size_t)n]->received()[0].sum, checksum(m.data(), m.size())) << "node " << n;
  }
  for (int n = 0; n < 4; n++) {
    DeviceStats st = nodes_[(size_t)n]->dev().stats();
    EXPECT_GT(st.auth_ok, 0u) << "node " << n << ": " << stats_line(st);
    EXPECT_EQ(st.auth_unsigned + st.auth_bad_tag + st.auth_replayed + st.auth_stale + st.auth_unknown_origin, 0u)
        << "node " << n << ": " << stats_line(st);
    EXPECT_EQ(st.malformed, 0u) << "node " << n;
  }
}

TEST_F(DpdkBackend, MissingPortIsNamed) {
  OpenResult r = Device::open("dpdk:/nonexistent.yaml?node=0&port=77");
  EXPECT_NE(r.status, Status::kOk);
  r = Device::open("dpdk:x.yaml?node=0&port=abc");
  EXPECT_EQ(r.status, Status::kBadUri);
  EXPECT_NE(r.message.find("port must be a DPDK port id"), std::string::npos) << r.message;
}

} // namespace
} // namespace fanout::driver::test
