// rtl/generated/fanout_regs.sv (P = 2), Verilated, driven over AXI-Lite with the offsets of
// driver/include/fanout/regs.hpp: both are generated from rtl/regs/fanout_regs.yaml, and this
// test proves they agree. Software discovers every block by walking `next` from offset 0; rw
// registers reset to their defined values and keep what is written (byte strobes honoured);
// ro registers show the design's inputs; per-port entries past P read 0; unmapped offsets and
// writes to read-only registers answer SLVERR and change nothing.
#include "Vfanout_regs.h"
#include "rtl_axis.hpp"

#include "fanout/regs.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

namespace {

namespace regs = fanout::regs;
constexpr uint32_t kOkay = 0, kSlvErr = 2;

struct Bus : rtltest::Dut<Vfanout_regs> {
  Bus() { reset(); }
  // One AXI-Lite read; returns {resp, data}.
  std::pair<uint32_t, uint32_t> read(uint32_t addr) {
    m->s_axil_araddr = addr;
    m->s_axil_arvalid = 1;
    m->s_axil_rready = 1;
    for (int i = 0; i < 10; i++) {
      m->eval();
      bool taken = m->s_axil_arready;
      tick();
      if (taken) m->s_axil_arvalid = 0;
      m->eval();
      if (m->s_axil_rvalid) {
        std::pair<uint32_t, uint32_t> r{m->s_axil_rresp, m->s_axil_rdata};
        tick(); // rready high: the response is consumed
        return r;
      }
    }
    ADD_FAILURE() << "read 0x" << std::hex << addr << " never answered";
    return {99, 0};
  }
  uint32_t write(uint32_t addr, uint32_t data, uint32_t strb = 0xF) {
    m->s_axil_awaddr = addr;
    m->s_axil_wdata = data;
    m->s_axil_wstrb = strb;
    m->s_axil_awvalid = 1;
    m->s_axil_wvalid = 1;
    m->s_axil_bready = 1;
    for (int i = 0; i < 10; i++) {
      m->eval();
      bool taken = m->s_axil_awready && m->s_axil_wready;
      tick();
      if (taken) m->s_axil_awvalid = m->s_axil_wvalid = 0;
      m->eval();
      if (m->s_axil_bvalid) {
        uint32_t resp = m->s_axil_bresp;
        tick();
        return resp;
      }
    }
    ADD_FAILURE() << "write 0x" << std::hex << addr << " never answered";
    return 99;
  }
};

TEST(FanoutRegs, SoftwareDiscoversEveryBlockByWalkingTheChain) {
  Bus bus;
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> found; // type -> {base, version}
  uint32_t base = 0;
  for (int guard = 0; guard < 16; guard++) {
    auto type = bus.read(base + regs::kBlockType);
    auto version = bus.read(base + regs::kBlockVersion);
    auto next = bus.read(base + regs::kBlockNext);
    ASSERT_EQ(type.first, kOkay);
    found[type.second] = {base, version.second};
    if (next.second == 0) break;
    ASSERT_GT(next.second, base) << "the chain moves forward";
    base = next.second;
  }
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found.at(regs::nic::kType), std::make_pair(regs::nic::kBase, regs::nic::kVersion));
  EXPECT_EQ(found.at(regs::link::kType), std::make_pair(regs::link::kBase, regs::link::kVersion));
}

TEST(FanoutRegs, ReadWriteRegistersResetToTheirValuesAndKeepWrites) {
  Bus bus;
  EXPECT_EQ(bus.read(regs::nic::kUdpPort).second, 47100u);
  EXPECT_EQ(bus.read(regs::link::kInterval).second, 1000u);
  EXPECT_EQ(bus.read(regs::nic::kScratch).second, 0u);
  EXPECT_EQ(bus.write(regs::nic::kScratch, 0xDEADBEEF), kOkay);
  EXPECT_EQ(bus.read(regs::nic::kScratch).second, 0xDEADBEEFu);
  EXPECT_EQ(bus.write(regs::nic::kScratch, 0x00AB0000, 0x4), kOkay) << "byte 2 only";
  EXPECT_EQ(bus.read(regs::nic::kScratch).second, 0xDEABBEEFu);
  EXPECT_EQ(bus.write(regs::nic::kNodeId, 0x12345), kOkay);
  EXPECT_EQ(bus.read(regs::nic::kNodeId).second, 0x2345u) << "16-bit register keeps 16 bits";
  bus.m->eval();
  EXPECT_EQ(bus.m->nic_node_id, 0x2345u) << "the register drives the design";
  EXPECT_EQ(bus.write(regs::link::kInterval, 250), kOkay);
  bus.m->eval();
  EXPECT_EQ(bus.m->link_interval, 250u);
  EXPECT_EQ(bus.write(regs::nic::kIpv4, 0x0A000107), kOkay);
  EXPECT_EQ(bus.write(regs::nic::kMacHi, 0x0200), kOkay);
  EXPECT_EQ(bus.write(regs::nic::kMacLo, 0x00000107), kOkay);
  bus.m->eval();
  EXPECT_EQ(bus.m->nic_ipv4, 0x0A000107u);
  EXPECT_EQ(bus.m->nic_mac_hi, 0x0200u);
}

TEST(FanoutRegs, ReadOnlyRegistersShowTheDesign) {
  Bus bus;
  bus.m->nic_ports = 2;
  bus.m->link_link_up = 3;
  bus.m->link_port_down = 2;
  bus.m->link_down_events = (7ull << 32) | 5;
  bus.m->link_probes_sent = (900ull << 32) | 1000;
  EXPECT_EQ(bus.read(regs::nic::kPorts).second, 2u);
  EXPECT_EQ(bus.read(regs::link::kLinkUp).second, 3u);
  EXPECT_EQ(bus.read(regs::link::kPortDown).second, 2u);
  EXPECT_EQ(bus.read(regs::link::down_events(0)).second, 5u);
  EXPECT_EQ(bus.read(regs::link::down_events(1)).second, 7u);
  EXPECT_EQ(bus.read(regs::link::probes_sent(0)).second, 1000u);
  EXPECT_EQ(bus.read(regs::link::probes_sent(1)).second, 900u);
  for (uint32_t p = 2; p < regs::link::kDownEventsCount; p++) {
    auto r = bus.read(regs::link::down_events(p));
    EXPECT_EQ(r.first, kOkay);
    EXPECT_EQ(r.second, 0u) << "port " << p << " does not exist (P = 2)";
  }
}

TEST(FanoutRegs, EveryDefinedRegisterAnswersAndOthersAreErrors) {
  Bus bus;
  std::map<uint32_t, std::string> mapped;
  for (const auto &r : regs::kRegisters) {
    for (uint32_t k = 0; k < r.count; k++) {
      uint32_t a = r.offset + 4 * k;
      EXPECT_EQ(bus.read(a).first, kOkay) << r.block << "." << r.name;
      mapped[a] = std::string(r.block) + "." + r.name;
    }
  }
  for (uint32_t a = 0; a < (1u << regs::kAddressWidth); a += 4) {
    if (mapped.count(a)) continue;
    EXPECT_EQ(bus.read(a).first, kSlvErr) << "unmapped 0x" << std::hex << a;
  }
  uint32_t before = bus.read(regs::nic::kType).second;
  EXPECT_EQ(bus.write(regs::nic::kType, 0), kSlvErr) << "read-only";
  EXPECT_EQ(bus.read(regs::nic::kType).second, before);
  EXPECT_EQ(bus.write(0xFFC, 1), kSlvErr) << "unmapped";
}

} // namespace
