// libfanout's xrt backend through XRT 2.13 and its noop shim (no card): Device::open loads the
// xclbin and checks its register map; programming the NIC is refused by the shim (registers), and
// says so; with program=0 the same application code runs over the data movers (h2c runs carry
// the frames; the shim runs no kernel, so nothing comes back and the receivers are reported failed).
#include "fanout/driver/device.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

namespace fanout::driver {
namespace {

const std::string kXclbin = std::string(FANOUT_ALVEO_XCLBIN_DIR) + "/fanout_u55c.metadata.xclbin";

// A three-node cluster file with short timeouts (the noop shim delivers nothing).
std::string cluster_file() {
  std::string path = ::testing::TempDir() + "xrt_cluster.yaml";
  std::ofstream f(path);
  f << "nodes:\n"
       "  - {id: 0, address: 10.0.0.1:47100, mac: 02:00:00:00:00:01}\n"
       "  - {id: 1, address: 10.0.0.2:47100}\n"
       "  - {id: 2, address: 10.0.0.3:47100}\n"
       "transport: {fanout: 2, rto_us: 1000, rto_max_us: 4000, failure_timeout_us: 50000}\n";
  return path;
}

TEST(XrtBackend, ProgrammingTheNicIsRefusedByTheNoopShimAndSaysSo) {
  OpenResult r = Device::open("xrt:" + cluster_file() + "?node=0&xclbin=" + kXclbin);
  EXPECT_EQ(r.status, Status::kIoError) << r.message;
  EXPECT_NE(r.message.find("programming the NIC"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("Operation not permitted"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("XCL_EMULATION_MODE=noop"), std::string::npos) << r.message;
}

TEST(XrtBackend, BadParametersAreNamed) {
  std::string f = cluster_file();
  OpenResult r = Device::open("xrt:" + f + "?node=0&program=2&xclbin=" + kXclbin);
  EXPECT_EQ(r.status, Status::kBadUri);
  EXPECT_NE(r.message.find("program must be 1"), std::string::npos) << r.message;
  r = Device::open("xrt:" + f + "?node=0&xclbin=");
  EXPECT_EQ(r.status, Status::kBadUri);
  EXPECT_NE(r.message.find("xclbin needs a value"), std::string::npos) << r.message;
  r = Device::open("xrt:" + f + "?node=0&port=1");
  EXPECT_EQ(r.status, Status::kBadUri);
  EXPECT_NE(r.message.find("known: node, device, xclbin, program"), std::string::npos) << r.message;
  r = Device::open("xrt:" + f + "?node=0&device=0000:99:00.1&xclbin=" + kXclbin); // no such PCIe device
  EXPECT_EQ(r.status, Status::kNotAvailable) << r.message;
  r = Device::open("xrt:" + f + "?node=9&xclbin=" + kXclbin);
  EXPECT_EQ(r.status, Status::kBadConfig) << r.message;
  r = Device::open("xrt:" + f + "?node=0&program=0&xclbin=/nonexistent.xclbin");
  EXPECT_EQ(r.status, Status::kNotAvailable);
  EXPECT_NE(r.message.find("/nonexistent.xclbin"), std::string::npos) << r.message;
}

TEST(XrtBackend, ApplicationCodeRunsOverTheDataMovers) {
  OpenResult r = Device::open("xrt:" + cluster_file() + "?node=0&program=0&xclbin=" + kXclbin);
  ASSERT_TRUE(r) << r.message;
  Device &d = *r.device;
  EXPECT_STREQ(d.backend_name(), "xrt");
  std::vector<uint8_t> msg(5000, 0x5A), in(8192);
  ASSERT_EQ(d.post_recv(in.data(), in.size(), 7), Status::kOk);
  NodeId to[] = {1, 2};
  ASSERT_EQ(d.post_send(Receivers(to, 2), msg.data(), msg.size(), 1), Status::kOk) << d.last_send_error();
  // The shim runs no kernel: no ACK comes back, and after failure_timeout_us the send completes
  // naming both receivers failed.
  Completion c{};
  int n = 0;
  for (int i = 0; i < 500 && n == 0; i++) {
    d.wait(10);
    n = d.poll(&c, 1);
  }
  ASSERT_EQ(n, 1);
  EXPECT_EQ(c.wr_id, 1u);
  EXPECT_EQ(c.status, Status::kPartialFailure) << status_name(c.status);
  EXPECT_EQ(c.failed_count, 2u);
  DeviceStats s = d.stats();
  EXPECT_GE(s.datagrams_sent, 4u); // 5000 bytes: 4 packets at the 1500-byte MTU, and probes
  EXPECT_EQ(s.datagrams_received, 0u);
  EXPECT_EQ(s.malformed, 0u);
}

} // namespace
} // namespace fanout::driver
