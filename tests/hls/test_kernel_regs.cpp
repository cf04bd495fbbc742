// The HLS kernels' register maps (rtl/regs/fanout_regs.yaml, `kernels:`) against the code: the
// half of ctest kernel_regs_consistent that needs a compiler. scripts/check_kernel_regs.py reads
// the kernel tops' text (pragmas, argument names and types, literal extents) and requires the
// static_asserts below for what only the compiler knows: array extents that are named constants
// of other headers, and the TDATA width of streams of structs. The tests then check the generated
// map itself (driver/include/fanout/regs.hpp) against the Vitis HLS s_axilite layout rules, and
// the pragmas' macros (fanout/hls/generated/kernel_regs.hpp) against it.
#include "fanout/regs.hpp"

#include "ack_agg.hpp"
#include "auth_signer.hpp"
#include "peer_monitor.hpp"
#include "replicator.hpp"

#include "fanout/hls/arm.hpp"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/generated/kernel_regs.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/hls/peer_state.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/wire.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

// ---- Array extents: the register's count equals the top argument's extent ----
static_assert(fanout::regs::parser::kErrorCountsCount == fanout::proto::kErrorCount, "parser error_counts");
static_assert(fanout::regs::parser::kAuthCountsCount == fanout::proto::kAuthCodeCount, "parser auth_counts");
static_assert(fanout::regs::replicator::kCountersCount == fanout::hw::kReplCounterCount, "replicator counters");
static_assert(fanout::regs::ack_agg::kCountersCount == fanout::hw::kAggCntCount, "ack_agg counters");
static_assert(fanout::regs::peer_monitor::kCountersCount == fanout::hw::kPeerCntCount, "peer_monitor counters");
static_assert(fanout::regs::auth_signer::kCountersCount == fanout::hw::kSignCntCount, "auth_signer counters");

// ---- Streams of structs: Vitis aggregates a struct on AXI4-Stream with its members at their C
// alignment (4-byte aligned in the Vitis kernel flow), so TDATA is 8 * sizeof ----
static_assert(fanout::regs::parser::kStreamOutMetaBits == 8 * sizeof(fanout::hw::ParsedMeta), "parser out_meta");
static_assert(fanout::regs::parser::kStreamOutSeenBits == 8 * sizeof(fanout::hw::ParsedMeta), "parser out_seen");
static_assert(fanout::regs::replicator::kStreamInMetaBits == 8 * sizeof(fanout::hw::ParsedMeta), "replicator in_meta");
static_assert(fanout::regs::replicator::kStreamOutArmBits == 8 * sizeof(fanout::hw::ArmWord), "replicator out_arm");
static_assert(fanout::regs::replicator::kStreamOutFbMetaBits == 8 * sizeof(fanout::hw::ParsedMeta),
              "replicator out_fb_meta");
static_assert(fanout::regs::replicator::kStreamPeerStateBits == 8 * sizeof(fanout::hw::PeerState),
              "replicator peer_state");
static_assert(fanout::regs::ack_agg::kStreamInArmBits == 8 * sizeof(fanout::hw::ArmWord), "ack_agg in_arm");
static_assert(fanout::regs::ack_agg::kStreamInMetaBits == 8 * sizeof(fanout::hw::ParsedMeta), "ack_agg in_meta");
static_assert(fanout::regs::peer_monitor::kStreamInSeenBits == 8 * sizeof(fanout::hw::ParsedMeta),
              "peer_monitor in_seen");
static_assert(fanout::regs::peer_monitor::kStreamInWatchBits == 8 * sizeof(fanout::hw::ArmWord),
              "peer_monitor in_watch");
static_assert(fanout::regs::peer_monitor::kStreamOutStateBits == 8 * sizeof(fanout::hw::PeerState),
              "peer_monitor out_state");
static_assert(fanout::regs::arm_tap::kStreamInBits == 8 * sizeof(fanout::hw::ArmWord), "arm_tap in");
static_assert(fanout::regs::arm_tap::kStreamOutAggBits == 8 * sizeof(fanout::hw::ArmWord), "arm_tap out_agg");
static_assert(fanout::regs::arm_tap::kStreamOutWatchBits == 8 * sizeof(fanout::hw::ArmWord), "arm_tap out_watch");
// Every struct is a whole number of 32-bit words (the kernel flow's alignment), so 8 * sizeof is
// not a host-compiler artefact.
static_assert(sizeof(fanout::hw::ParsedMeta) % 4 == 0 && sizeof(fanout::hw::ArmWord) % 4 == 0 &&
                  sizeof(fanout::hw::PeerState) % 4 == 0,
              "stream structs are whole 32-bit words");

// ---- The pragmas' macros are the driver's offsets (both generated from the definition) ----
static_assert(FANOUT_REG_PARSER_UDP_PORT == fanout::regs::parser::kUdpPort, "parser udp_port");
static_assert(FANOUT_REG_PARSER_ERROR_COUNTS == fanout::regs::parser::error_counts(0), "parser error_counts");
static_assert(FANOUT_REG_REPLICATOR_COUNTERS == fanout::regs::replicator::counters(0), "replicator counters");
static_assert(FANOUT_REG_ACK_AGG_TBL_SEQ == fanout::regs::ack_agg::kTblSeq, "ack_agg tbl_seq");
static_assert(FANOUT_REG_PEER_MONITOR_DISABLE == fanout::regs::peer_monitor::kDisable, "peer_monitor disable");
static_assert(FANOUT_REG_AUTH_SIGNER_KEY == fanout::regs::auth_signer::key(0), "auth_signer key");
static_assert(FANOUT_REG_H2C_SRC == fanout::regs::h2c::kSrc, "h2c src");
static_assert(FANOUT_REG_C2H_IDLE_CLOCKS == fanout::regs::c2h::kIdleClocks, "c2h idle_clocks");

namespace {

namespace regs = fanout::regs;

uint32_t pow2_at_least(uint32_t n) {
  uint32_t p = 1;
  while (p < n) p *= 2;
  return p;
}

// The Vitis HLS rules, written again here (the generator has its own copy): user registers from
// 0x10; a scalar or an address takes its data words plus one control word at a 4-byte aligned
// offset; an array spans its packed data rounded up to a power of two, at a multiple of it.
TEST(KernelRegs, EveryKernelMapFollowsTheSaxiliteLayoutRules) {
  std::map<std::string, std::vector<const regs::KernelRegisterInfo *>> by_kernel;
  for (const auto &r : regs::kKernelRegisters) by_kernel[r.kernel].push_back(&r);
  for (const auto &k : regs::kKernels) {
    SCOPED_TRACE(k.name);
    const auto &list = by_kernel[k.name];
    // Only a free-running kernel may have none (streams only, no AXI-Lite slave: the arm tap); a
    // started one has the control block and its arguments.
    if (list.empty()) {
      EXPECT_EQ(k.control, regs::Control::kApCtrlNone) << "a started kernel without registers";
    }
    for (const auto *r : list) {
      SCOPED_TRACE(r->name);
      EXPECT_GE(r->offset, 0x10u) << "0x00-0x0C are the block-level control registers";
      EXPECT_EQ(r->offset % 4, 0u);
      EXPECT_GE(r->bits, 1u);
      EXPECT_LE(r->bits, 64u);
      uint32_t span;
      if (r->kind == regs::KernelRegKind::kArray) {
        uint32_t elem = r->bits <= 8 ? 8 : r->bits <= 16 ? 16 : 32;
        uint32_t bytes = r->bits <= 32 ? 4 * ((r->count * elem + 31) / 32) : 4 * r->count * ((r->bits + 31) / 32);
        span = pow2_at_least(bytes);
        EXPECT_EQ(r->offset % span, 0u) << "an array starts at a multiple of its power-of-two span";
      } else {
        EXPECT_EQ(r->count, 1u);
        span = 4 * ((r->bits + 31) / 32 + 1);
        if (r->kind == regs::KernelRegKind::kMaxiAddress) {
          EXPECT_EQ(r->bits, 64u);
          EXPECT_EQ(k.control, regs::Control::kApCtrlHs) << "an m_axi pointer needs a started kernel";
        }
      }
      EXPECT_EQ(r->span, span);
      for (const auto *o : list) {
        if (o == r) continue;
        EXPECT_TRUE(r->offset + r->span <= o->offset || o->offset + o->span <= r->offset)
            << r->name << " overlaps " << o->name;
      }
    }
  }
}

// Every kernel is listed once, with its registers and streams; every register and stream belongs
// to a listed kernel; names are unique within a kernel.
TEST(KernelRegs, TablesAreComplete) {
  std::set<std::string> kernels, tops;
  for (const auto &k : regs::kKernels) {
    EXPECT_TRUE(kernels.insert(k.name).second) << k.name;
    EXPECT_TRUE(tops.insert(k.top).second) << k.top;
  }
  for (const char *k : {"parser", "replicator", "ack_agg", "peer_monitor", "auth_signer", "h2c", "c2h", "arm_tap"})
    EXPECT_EQ(kernels.count(k), 1u) << k;
  std::set<std::string> names;
  for (const auto &r : regs::kKernelRegisters) {
    EXPECT_EQ(kernels.count(r.kernel), 1u) << r.kernel;
    EXPECT_TRUE(names.insert(std::string(r.kernel) + "." + r.name).second) << r.kernel << "." << r.name;
  }
  std::map<std::string, int> streams;
  for (const auto &s : regs::kKernelStreams) {
    EXPECT_EQ(kernels.count(s.kernel), 1u) << s.kernel;
    EXPECT_TRUE(names.insert(std::string(s.kernel) + "." + s.name).second) << s.kernel << "." << s.name;
    EXPECT_EQ(s.bits % 8, 0u) << "TDATA is whole bytes";
    streams[s.kernel]++;
  }
  for (const auto &k : regs::kKernels) EXPECT_GT(streams[k.name], 0) << k.name << " has no stream";
}

// The kernels' per-kernel constants agree with the tables, and the names the xclbin will carry.
TEST(KernelRegs, NamespacesMatchTheTables) {
  EXPECT_STREQ(regs::parser::kKernelName, "fanout_parser");
  EXPECT_STREQ(regs::replicator::kKernelName, "fanout_replicator");
  EXPECT_STREQ(regs::ack_agg::kKernelName, "fanout_ack_agg");
  EXPECT_STREQ(regs::peer_monitor::kKernelName, "fanout_peer_monitor");
  EXPECT_STREQ(regs::auth_signer::kKernelName, "fanout_auth_signer");
  EXPECT_STREQ(regs::h2c::kKernelName, "fanout_h2c");
  EXPECT_STREQ(regs::c2h::kKernelName, "fanout_c2h");
  EXPECT_STREQ(regs::arm_tap::kKernelName, "fanout_arm_tap");
  EXPECT_EQ(regs::arm_tap::kControl, regs::Control::kApCtrlNone);
  EXPECT_EQ(regs::parser::kControl, regs::Control::kApCtrlNone);
  EXPECT_EQ(regs::h2c::kControl, regs::Control::kApCtrlHs);
  EXPECT_EQ(regs::c2h::kControl, regs::Control::kApCtrlHs);
  // Arrays: element i at offset + 4 i, the last inside the array's span.
  EXPECT_EQ(regs::parser::error_counts(1) - regs::parser::error_counts(0), 4u);
  EXPECT_LT(regs::parser::error_counts(regs::parser::kErrorCountsCount - 1), regs::parser::error_counts(0) + 128);
  // The stream ports an array of streams becomes, and port_down now a stream (v++ connects
  // kernels only through AXI4-Stream).
  std::set<std::string> repl, signer;
  for (const auto &s : regs::kKernelStreams) {
    if (std::string(s.kernel) == "replicator") repl.insert(s.name);
    if (std::string(s.kernel) == "auth_signer") signer.insert(s.name);
  }
  EXPECT_EQ(repl.count("out_port_0") + repl.count("out_port_1") + repl.count("port_down"), 3u);
  EXPECT_EQ(signer, (std::set<std::string>{"in_0", "in_1", "out_0", "out_1"}));
  EXPECT_EQ(regs::replicator::kStreamPortDownBits, 8u);
  EXPECT_EQ(regs::parser::kStreamInBits, (uint32_t)fanout::hw::kAxisDataBits);
  for (const auto &r : regs::kKernelRegisters)
    EXPECT_FALSE(std::string(r.kernel) == "replicator" && std::string(r.name) == "port_down")
        << "port_down is a stream, not a register";
}

} // namespace
