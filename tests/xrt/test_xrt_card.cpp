// fanout::driver::Card and `fanout card` through XRT 2.13 and its noop shim (no card): devices,
// xclbins and the data movers work; registers do not (the shim implements no register access),
// and every command says so. docs/alveo.md, "Verified here".
#include "fanout/cli/cli.hpp"
#include "fanout/driver/card.hpp"
#include "fanout/proto/host_dma.hpp"
#include "fanout/regs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <sstream>

namespace fanout::driver {
namespace {

const std::string kXclbin = std::string(FANOUT_ALVEO_XCLBIN_DIR) + "/fanout_u55c.metadata.xclbin";
// The same design built from a register map whose parser has auth_mode at 0x38, not 0x30.
const std::string kForeign = FANOUT_XRT_FOREIGN_XCLBIN;

std::unique_ptr<Card> open_card() {
  std::string error;
  std::unique_ptr<Card> c = Card::open("0", &error);
  EXPECT_TRUE(c) << error;
  return c;
}

struct Cli {
  int rc = 0;
  std::string out, err;
};
Cli card(std::vector<std::string> args) {
  args.insert(args.begin(), "card");
  std::ostringstream out, err;
  Cli r;
  r.rc = cli::run(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(XrtCard, ChecksAnXclbinAndListsItsComputeUnits) {
  auto c = open_card();
  ASSERT_TRUE(c);
  std::vector<CardCu> cus;
  std::string error;
  ASSERT_TRUE(c->check(kXclbin, &cus, &error)) << error;
  auto has = [&](const std::string &kernel, bool free_running) {
    return std::any_of(cus.begin(), cus.end(),
                       [&](const CardCu &cu) { return cu.kernel == kernel && cu.free_running == free_running; });
  };
  EXPECT_TRUE(has("fanout_shell", true));
  for (const regs::KernelInfo &k : regs::kKernels)
    EXPECT_TRUE(has(k.top, k.control == regs::Control::kApCtrlNone)) << k.top;
}

TEST(XrtCard, RefusesAnXclbinBuiltFromAnotherRegisterMap) {
  auto c = open_card();
  ASSERT_TRUE(c);
  std::vector<CardCu> cus;
  std::string error;
  EXPECT_FALSE(c->check(kForeign, &cus, &error));
  EXPECT_NE(error.find("fanout_parser"), std::string::npos) << error;
  EXPECT_NE(error.find("auth_mode at 0x38"), std::string::npos) << error;
  EXPECT_FALSE(c->load(kForeign, &error)); // never loaded
  EXPECT_EQ(c->xclbin_uuid(), "");
  EXPECT_FALSE(c->check("/nonexistent.xclbin", &cus, &error));
  EXPECT_NE(error.find("/nonexistent.xclbin"), std::string::npos) << error;
}

TEST(XrtCard, LoadsAndRunsTheDataMoversButRegistersAreRefusedByTheNoopShim) {
  auto c = open_card();
  ASSERT_TRUE(c);
  std::string error;
  ASSERT_TRUE(c->load(kXclbin, &error)) << error;
  EXPECT_FALSE(c->xclbin_uuid().empty());
  // Data movers: buffers in their banks, runs started and finished.
  std::unique_ptr<CardDma> dma = c->open_dma(1u << 16, &error);
  ASSERT_TRUE(dma) << error;
  EXPECT_TRUE(dma->tx_start(0, 2, &error)) << error;
  EXPECT_TRUE(dma->tx_wait(0, &error)) << error;
  EXPECT_TRUE(dma->rx_start(1, 3000, &error)) << error;
  EXPECT_EQ(dma->rx_poll(1, &error), 1) << error;
  EXPECT_EQ(dma->runs(), 2u);
  // The shim runs no kernel: the c2h buffer keeps the header the host cleared.
  proto::C2hHeader h;
  EXPECT_FALSE(proto::c2h_decode_header(dma->rx_buffer(1), &h));
  EXPECT_FALSE(c->open_dma(1000, &error)); // not a multiple of 64, below a maximal frame
  EXPECT_NE(error.find("multiple of 64"), std::string::npos) << error;
  // Registers: refused, naming the shim.
  uint32_t v = 0;
  EXPECT_FALSE(c->read("fanout_shell", regs::nic::kBase + regs::kBlockType, &v, &error));
  EXPECT_NE(error.find("Operation not permitted"), std::string::npos) << error;
  EXPECT_NE(error.find("noop"), std::string::npos) << error;
  EXPECT_FALSE(c->write(regs::parser::kKernelName, regs::parser::kUdpPort, 47100, &error));
  EXPECT_FALSE(c->read("fanout_nope", 0, &v, &error));
  EXPECT_NE(error.find("no compute unit of kernel fanout_nope"), std::string::npos) << error;
}

TEST(XrtCardCli, InfoChecksTheXclbin) {
  Cli r = card({"info", "--xclbin", kXclbin});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("a Fanout design, every register where this build expects it"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fanout_parser:fanout_parser_1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("started by the host (ap_ctrl_hs)"), std::string::npos) << r.out;
  r = card({"info", "--xclbin", kForeign});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("auth_mode at 0x38"), std::string::npos) << r.err;
}

TEST(XrtCardCli, LoadCountersAndLinkNameTheShimWhenRegistersFail) {
  Cli r = card({"load", kXclbin});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("loaded " + kXclbin), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("the shell's registers do not answer"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("XCL_EMULATION_MODE=noop"), std::string::npos) << r.err;
  for (const char *sub : {"counters", "link"}) {
    r = card({sub, "--xclbin", kXclbin});
    EXPECT_EQ(r.rc, 1) << sub;
    EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << sub << ": " << r.err;
  }
}

TEST(XrtCardCli, BadCommandLinesAreUsageErrors) {
  EXPECT_EQ(card({}).rc, 2);
  Cli r = card({"flash"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown subcommand 'flash'"), std::string::npos) << r.err;
  r = card({"load"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("which xclbin?"), std::string::npos) << r.err;
  r = card({"info", "--device"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--device needs a value"), std::string::npos) << r.err;
  r = card({"info", "--device", "0000:99:00.1"}); // no such PCIe device (the shim takes any index)
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("device 0000:99:00.1"), std::string::npos) << r.err;
  EXPECT_EQ(card({"--help"}).rc, 0);
}

} // namespace
} // namespace fanout::driver
