// The metadata-only xclbins (scripts/gen_alveo.py --xclbin, one per board) as XRT 2.13 sees them,
// under its noop shim (cmake/XrtNoop.cmake sets XILINX_XRT and XCL_EMULATION_MODE=noop):
//  * xrt::xclbin parses each: platform VBNV, every kernel and CU, every argument at the offset
//    and size of the register maps (driver/include/fanout/regs.hpp, generated from
//    rtl/regs/fanout_regs.yaml: the RTL shell's blocks and the HLS kernels' registers and
//    streams), CU base addresses and control protocols, the data movers' memory banks;
//  * xrt::device(0) loads it; xrt::kernel opens the ap_ctrl_hs data movers, xrt::bo allocates in
//    their argument's bank (kernel.group_id), maps and syncs; xrt::run starts and waits;
//  * xrt::ip opens the free-running CUs; what their register reads and writes do under noop is
//    asserted below and written down in docs/alveo.md ("Verified here / needs a card"), which is
//    how the driver's xrt backend must expect them to behave without a card.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <ostream>
#include <string>
#include <system_error>
#include <vector>

#include <experimental/xrt_ip.h>
#include <experimental/xrt_xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include "fanout/alveo_expect.hpp"
#include "fanout/regs.hpp"

namespace fanout::alveo_expect {
// gtest prints a board by its name.
inline void PrintTo(const Board &b, std::ostream *os) {
  *os << b.name;
}
} // namespace fanout::alveo_expect

namespace {

namespace expect = fanout::alveo_expect;
namespace regs = fanout::regs;

std::string xclbin_path(const expect::Board &b) {
  return std::string(FANOUT_ALVEO_XCLBIN_DIR) + "/fanout_" + b.name + ".metadata.xclbin";
}

const expect::Cu &cu_of(const char *kernel) {
  for (const auto &cu : expect::kCus)
    if (std::strcmp(cu.kernel, kernel) == 0) return cu;
  throw std::runtime_error(std::string("no CU of kernel ") + kernel);
}

std::string cu_name(const expect::Cu &cu) {
  return std::string(cu.kernel) + ":" + cu.instance;
}

uint32_t arg_id(const expect::Cu &cu, const char *name) {
  for (uint32_t i = 0; i < cu.nargs; i++)
    if (std::strcmp(cu.args[i].name, name) == 0) return cu.args[i].id;
  throw std::runtime_error(std::string("no argument ") + name + " in " + cu.kernel);
}

const xrt::xclbin::arg *find_arg(const std::vector<xrt::xclbin::arg> &args, const std::string &name) {
  for (const auto &a : args)
    if (a.get_name() == name) return &a;
  return nullptr;
}

// What an exception says: the message, and whether it is a std::system_error (XRT's errors carry
// an errno there).
struct Caught {
  bool thrown = false;
  bool system_error = false;
  int code = 0;
  std::string what;
};
template <typename F> Caught catch_of(F &&f) {
  Caught c;
  try {
    f();
  } catch (const std::system_error &e) {
    c.thrown = true;
    c.system_error = true;
    c.code = e.code().value();
    c.what = e.what();
  } catch (const std::exception &e) {
    c.thrown = true;
    c.what = e.what();
  }
  return c;
}

class EveryBoard : public ::testing::TestWithParam<expect::Board> {};

// ---- parsing (no device) ------------------------------------------------------------------------

TEST_P(EveryBoard, XclbinHoldsEveryCuAtItsAddressWithItsControl) {
  const auto &board = GetParam();
  xrt::xclbin x(xclbin_path(board));
  EXPECT_EQ(x.get_xsa_name(), board.platform);
  EXPECT_EQ(x.get_kernels().size(), std::size(expect::kCus));
  for (const auto &cu : expect::kCus) {
    SCOPED_TRACE(cu_name(cu));
    auto k = x.get_kernel(cu.kernel);
    ASSERT_TRUE(bool(k));
    auto cus = k.get_cus();
    ASSERT_EQ(cus.size(), 1u);
    EXPECT_EQ(cus[0].get_name(), cu_name(cu));
    EXPECT_EQ(cus[0].get_control_type(),
              cu.hs ? xrt::xclbin::ip::control_type::hs : xrt::xclbin::ip::control_type::none);
    if (cu.has_base) {
      EXPECT_EQ(cus[0].get_base_address(), cu.base);
      EXPECT_EQ(cu.base % 0x10000, 0u); // 64 KiB apart
    }
    // Argument ids are what xrt::run::set_arg takes: the kernel function's order.
    auto args = k.get_args();
    ASSERT_EQ(args.size(), cu.nargs);
    for (uint32_t i = 0; i < cu.nargs; i++) {
      const auto &e = cu.args[i];
      SCOPED_TRACE(e.name);
      const auto *a = find_arg(args, e.name);
      ASSERT_NE(a, nullptr);
      EXPECT_EQ(a->get_index(), e.id);
      if (!e.stream) {
        EXPECT_EQ(a->get_offset(), e.offset);
        EXPECT_EQ(a->get_size(), e.size);
      }
    }
  }
}

TEST_P(EveryBoard, HlsKernelArgumentsAreTheRegisterMap) {
  xrt::xclbin x(xclbin_path(GetParam()));
  for (const auto &ki : regs::kKernels) {
    SCOPED_TRACE(ki.top);
    auto k = x.get_kernel(ki.top);
    ASSERT_TRUE(bool(k));
    EXPECT_EQ(k.get_cus().at(0).get_control_type(), ki.control == regs::Control::kApCtrlHs
                                                        ? xrt::xclbin::ip::control_type::hs
                                                        : xrt::xclbin::ip::control_type::none);
    auto args = k.get_args();
    size_t n = 0;
    for (const auto &r : regs::kKernelRegisters) {
      if (std::strcmp(r.kernel, ki.name) != 0) continue;
      SCOPED_TRACE(r.name);
      n++;
      const auto *a = find_arg(args, r.name);
      ASSERT_NE(a, nullptr);
      EXPECT_EQ(a->get_offset(), r.offset);
      uint64_t size =
          r.count > 1 ? 4ull * r.count : (r.kind == regs::KernelRegKind::kMaxiAddress || r.bits > 32 ? 8 : 4);
      EXPECT_EQ(a->get_size(), size);
    }
    for (const auto &s : regs::kKernelStreams) {
      if (std::strcmp(s.kernel, ki.name) != 0) continue;
      SCOPED_TRACE(s.name);
      n++;
      const auto *a = find_arg(args, s.name);
      ASSERT_NE(a, nullptr);
      EXPECT_EQ(a->get_size(), 0u); // a stream has no register
    }
    EXPECT_EQ(args.size(), n) << "arguments besides the register map's";
  }
}

TEST_P(EveryBoard, ShellArgumentsAreTheRegisterBlocks) {
  xrt::xclbin x(xclbin_path(GetParam()));
  auto k = x.get_kernel("fanout_shell");
  ASSERT_TRUE(bool(k));
  auto args = k.get_args();
  for (const auto &r : regs::kRegisters) {
    std::string name = std::string(r.block) + "_" + r.name;
    SCOPED_TRACE(name);
    const auto *a = find_arg(args, name);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->get_offset(), r.offset);
    EXPECT_EQ(a->get_size(), 4ull * r.count);
  }
  // Spot checks against the named constants software uses.
  EXPECT_EQ(find_arg(args, "nic_node_id")->get_offset(), regs::nic::kNodeId);
  EXPECT_EQ(find_arg(args, "link_port_down")->get_offset(), regs::link::kPortDown);
  EXPECT_EQ(find_arg(args, "link_probes_sent")->get_offset(), regs::link::probes_sent(0));
}

TEST_P(EveryBoard, DataMoversUseTheirBanks) {
  const auto &board = GetParam();
  xrt::xclbin x(xclbin_path(board));
  struct Mover {
    const char *kernel, *arg, *bank;
  } movers[] = {{"fanout_h2c", "src", board.h2c_bank}, {"fanout_c2h", "dst", board.c2h_bank}};
  for (const auto &m : movers) {
    SCOPED_TRACE(m.kernel);
    auto args = x.get_kernel(m.kernel).get_args();
    const auto *a = find_arg(args, m.arg);
    ASSERT_NE(a, nullptr);
    auto mems = a->get_mems();
    ASSERT_EQ(mems.size(), 1u);
    EXPECT_EQ(mems[0].get_tag(), m.bank);
    EXPECT_TRUE(mems[0].get_used());
  }
}

// ---- under the noop shim -----------------------------------------------------------------------

TEST_P(EveryBoard, NoopLoadsAndRunsTheDataMovers) {
  const auto &board = GetParam();
  xrt::device dev(0);
  auto uuid = dev.load_xclbin(xclbin_path(board));
  EXPECT_EQ(uuid, xrt::xclbin(xclbin_path(board)).get_uuid());

  const uint32_t beats = 4;
  struct Mover {
    const char *kernel, *buffer_arg, *count_arg;
  } movers[] = {{"fanout_h2c", "src", "beats"}, {"fanout_c2h", "dst", "capacity_beats"}};
  for (const auto &m : movers) {
    SCOPED_TRACE(m.kernel);
    const auto &cu = cu_of(m.kernel);
    xrt::kernel k(dev, uuid, m.kernel);
    int buf = static_cast<int>(arg_id(cu, m.buffer_arg));
    xrt::bo bo(dev, beats * 64, k.group_id(buf));
    auto *p = bo.map<uint8_t *>();
    ASSERT_NE(p, nullptr);
    for (uint32_t i = 0; i < beats * 64; i++) p[i] = static_cast<uint8_t>(i);
    bo.sync(XCL_BO_SYNC_BO_TO_DEVICE);
    xrt::run run(k);
    run.set_arg(buf, bo);
    run.set_arg(static_cast<int>(arg_id(cu, m.count_arg)), beats);
    run.start();
    auto state = run.wait(std::chrono::milliseconds(5000));
    EXPECT_EQ(state, ERT_CMD_STATE_COMPLETED);
    bo.sync(XCL_BO_SYNC_BO_FROM_DEVICE);
    EXPECT_EQ(p[5], 5); // noop moves nothing: host memory is left as it was
  }
}

// The free-running CUs (ap_ctrl_none) are reachable only through xrt::ip. Under noop it opens,
// and every register access throws. This is what the xrt backend must expect without a card.
TEST_P(EveryBoard, NoopIpOpensAndRegisterAccessThrows) {
  const auto &board = GetParam();
  xrt::device dev(0);
  auto uuid = dev.load_xclbin(xclbin_path(board));
  for (const char *kernel : {"fanout_shell", "fanout_parser"}) {
    const auto &cu = cu_of(kernel);
    std::string name = std::string(cu.kernel) + ":{" + cu.instance + "}";
    SCOPED_TRACE(name);
    xrt::ip ip(dev, uuid, name);
    auto rd = catch_of([&] { (void)ip.read_register(static_cast<uint32_t>(regs::nic::kNodeId)); });
    auto wr = catch_of([&] { ip.write_register(static_cast<uint32_t>(regs::nic::kScratch), 0x12345678u); });
    for (const auto *c : {&rd, &wr}) {
      EXPECT_TRUE(c->thrown);
      EXPECT_TRUE(c->system_error);
      EXPECT_NE(c->what.find("Operation not permitted"), std::string::npos) << c->what;
    }
    std::printf("[noop] %s read_register: %s (errno %d): %s\n", name.c_str(),
                rd.system_error ? "std::system_error" : "std::exception", rd.code, rd.what.c_str());
    std::printf("[noop] %s write_register: %s (errno %d): %s\n", name.c_str(),
                wr.system_error ? "std::system_error" : "std::exception", wr.code, wr.what.c_str());
  }
  // The free-running kernels cannot be opened as xrt::kernel (no start/done handshake), card or not.
  auto k = catch_of([&] { xrt::kernel(dev, uuid, "fanout_parser"); });
  EXPECT_TRUE(k.thrown);
  EXPECT_NE(k.what.find("AP_CTRL_NONE is only supported by XRT native API xrt::ip"), std::string::npos) << k.what;
  std::printf("[noop] xrt::kernel(fanout_parser): %s (errno %d): %s\n",
              k.system_error ? "std::system_error" : "std::exception", k.code, k.what.c_str());
}

INSTANTIATE_TEST_SUITE_P(Alveo, EveryBoard, ::testing::ValuesIn(expect::kBoards),
                         [](const ::testing::TestParamInfo<expect::Board> &i) { return std::string(i.param.name); });

} // namespace
