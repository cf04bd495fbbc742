// The fanout command line, in-process: `fanout plan` (tree and ports mode, JSON, every bad
// input) and `fanout demo` (delivery checks, one ACK per message at the sender).
#include "fanout/cli/cli.hpp"
#include "fanout/cli/demo.hpp"
#include "fanout/cli/ids.hpp"
#include "fanout/proto/split.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#ifdef FANOUT_TEST_HAVE_NLOHMANN_JSON
#include <nlohmann/json.hpp>
#endif

namespace {

using fanout::cli::kExitOk;
using fanout::cli::kExitUsage;

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun run_cli(const std::vector<std::string> &args) {
  std::ostringstream out, err;
  int code = fanout::cli::run(args, out, err);
  return CliRun{code, out.str(), err.str()};
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

const std::vector<std::string> kExampleSet = {"plan", "--receivers", "3,17,200,4000,9001,12000,30000,45000,60001"};

std::vector<std::string> with(std::vector<std::string> base, const std::vector<std::string> &more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

// ---- plan: tree mode ----------------------------------------------------------------------------

TEST(FanoutPlan, TreeOfNineSparseReceivers) {
  CliRun r = run_cli(kExampleSet);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(contains(r.out, "9 receivers of N = 65536 node ids (min 3, max 60001), sender 0")) << r.out;
  EXPECT_TRUE(contains(r.out, "receiver set    list (shortest of list 18 B")) << r.out;
  EXPECT_TRUE(contains(r.out, "addressing      22 B")) << r.out;
  EXPECT_TRUE(contains(r.out, "header/packet   82 B")) << r.out;
  // F = 4 over 9 ids: chunks of 3,2,2,2 from the sender, then one copy per remaining id.
  EXPECT_TRUE(contains(r.out, "copies sent by the sender   4\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "total copies                9\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "max depth                   2 (bound ceil(log_4 9) + 1 = 3)")) << r.out;
  EXPECT_TRUE(contains(r.out, "\n  0 -> 3  ids=3,17,200  k=3  set=list 6B  frame=1094B\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\n    3 -> 17  ids=17  k=1  set=list 2B  frame=1090B\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "every receiver reached exactly once: yes\n")) << r.out;
}

TEST(FanoutPlan, BroadcastRangeIsOneFourByteRange) {
  CliRun r = run_cli({"plan", "--receivers", "1-63", "--nodes", "64"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(contains(r.out, "receiver set    ranges (shortest of list 126 B, ranges 4 B")) << r.out;
  EXPECT_TRUE(contains(r.out, "addressing      8 B (4 fixed + 4 set body)")) << r.out;
  EXPECT_TRUE(contains(r.out, "header/packet   68 B")) << r.out;
  EXPECT_TRUE(contains(r.out, "total copies                63\n")) << r.out;
  std::string depth = std::to_string(fanout::proto::tree_depth(63, 4));
  EXPECT_TRUE(contains(r.out, "max depth                   " + depth + " ")) << r.out;
  EXPECT_TRUE(contains(r.out, "every receiver reached exactly once: yes")) << r.out;
}

TEST(FanoutPlan, WholeIdSpaceTruncatesUnlessFull) {
  // Every id is a receiver: the default sender is id 0, which delivers to its own host.
  CliRun r = run_cli({"plan", "--receivers", "0-65535", "--fanout", "16"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(contains(r.out, "sender 0 (also a receiver")) << r.out;
  EXPECT_TRUE(contains(r.out, "total copies                65535\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "more copies below depth 1; --full lists every copy)")) << r.out;
  EXPECT_TRUE(contains(r.out, "every receiver reached exactly once: yes")) << r.out;

  CliRun full = run_cli({"plan", "--receivers", "0-255", "--full"});
  ASSERT_EQ(full.code, kExitOk);
  EXPECT_FALSE(contains(full.out, "more copies")) << full.out;
}

TEST(FanoutPlan, SetOverOnePacketIsCut) {
  // Every other id over 0..40000: no encoding fits 1,024 bytes, so the sender sends several packets.
  std::string list;
  for (uint32_t id = 0; id <= 40000; id += 2) list += (list.empty() ? "" : ",") + std::to_string(id);
  CliRun r = run_cli({"plan", "--receivers", list, "--sender", "1"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(contains(r.out, "cut by partition_for_packets")) << r.out;
  EXPECT_TRUE(contains(r.out, "  packet 1 of ")) << r.out;
  EXPECT_TRUE(contains(r.out, "every receiver reached exactly once: yes")) << r.out;
}

TEST(FanoutPlan, SenderInsideTheSet) {
  CliRun r = run_cli({"plan", "--receivers", "5-9", "--sender", "7", "--nodes", "16"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(contains(r.out, "sender 7 (also a receiver")) << r.out;
  EXPECT_TRUE(contains(r.out, "total copies                4\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "every receiver reached exactly once: yes")) << r.out;
}

// ---- plan: ports mode -------------------------------------------------------------------------------

TEST(FanoutPlan, PortsModeOneCopyPerPort) {
  CliRun r = run_cli(with(kExampleSet, {"--mode", "ports", "--sender", "65535"}));
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(contains(r.out, "replicating switch with 16 ports: node id i on port i*16/65536")) << r.out;
  EXPECT_TRUE(contains(r.out, "the sender's host is attached to the switch through a host port")) << r.out;
  EXPECT_TRUE(contains(r.out, "  65535 -> switch (host port)  ids=3,17,200,4000,9001,12000,30000,45000,...  k=9"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "    switch -> port 0 (ids 0-4095)  ids=3,17,200,4000  k=4  set=list 8B  frame=1096B"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "    switch -> port 2 (ids 8192-12287)  ids=9001,12000  k=2")) << r.out;
  EXPECT_TRUE(contains(r.out, "copies sent by the sender   1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "total copies                6\n")) << r.out; // 1 to the switch + 5 ports
  EXPECT_TRUE(contains(r.out, "dropped by the port rule    0 would loop")) << r.out;
  EXPECT_TRUE(contains(r.out, "every receiver reached exactly once: yes")) << r.out;
}

TEST(FanoutPlan, PortsModeReachesReceiversInTheSendersOwnBlock) {
  // Default sender 0 is in port 0's block with 3, 17, 200 and 4000; it enters the switch through
  // its host port, so port 0 still gets a copy for them.
  CliRun r = run_cli(with(kExampleSet, {"--mode", "ports"}));
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(contains(r.out, "    switch -> port 0 (ids 0-4095)  ids=3,17,200,4000  k=4")) << r.out;
  EXPECT_TRUE(contains(r.out, "dropped by the port rule    0 would loop (back out of the ingress port), 0 unroutable"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "receivers reached           9 of 9")) << r.out;
  EXPECT_TRUE(contains(r.out, "every receiver reached exactly once: yes")) << r.out;
}

// ---- plan: JSON -------------------------------------------------------------------------------------

#ifdef FANOUT_TEST_HAVE_NLOHMANN_JSON
TEST(FanoutPlan, JsonTree) {
  CliRun r = run_cli(with(kExampleSet, {"--json"}));
  ASSERT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mode"], "tree");
  EXPECT_EQ(j["receivers"]["count"], 9);
  EXPECT_EQ(j["receivers"]["min"], 3);
  EXPECT_EQ(j["receivers"]["max"], 60001);
  EXPECT_EQ(j["encoding"], "list");
  EXPECT_EQ(j["set_bytes"]["list"], 18);
  EXPECT_EQ(j["set_body_bytes"], 18);
  EXPECT_EQ(j["addressing_bytes"], 22);
  EXPECT_EQ(j["header_bytes"], 82);
  EXPECT_EQ(j["packets"], 1);
  EXPECT_EQ(j["bier_bsl_256"]["bsl"], 256);
  EXPECT_LE(j["bier_best"]["total_bytes"].get<int>(), j["bier_bsl_256"]["total_bytes"].get<int>());
  EXPECT_EQ(j["sender_copies"], 4);
  EXPECT_EQ(j["total_copies"], 9);
  EXPECT_EQ(j["max_depth"], 2);
  EXPECT_EQ(j["depth_bound"], 3);
  EXPECT_EQ(j["reached_exactly_once"], true);
  ASSERT_EQ(j["tree"].size(), 9u);
  const nlohmann::json &first = j["tree"][0];
  for (const char *key : {"from", "to", "depth", "ids_count", "encoding", "set_bytes", "frame_bytes"})
    EXPECT_TRUE(first.contains(key)) << key;
  EXPECT_EQ(first["from"], 0);
  EXPECT_EQ(first["to"], 3);
  EXPECT_EQ(first["depth"], 1);
  EXPECT_EQ(first["ids_count"], 3);
  EXPECT_EQ(first["frame_bytes"], 64 + 6 + 1024);
}

TEST(FanoutPlan, JsonPorts) {
  CliRun r = run_cli(with(kExampleSet, {"--json", "--mode", "ports", "--ports", "4", "--sender", "65535"}));
  ASSERT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mode"], "ports");
  EXPECT_EQ(j["ports"], 4);
  EXPECT_EQ(j["sender_copies"], 1);
  EXPECT_EQ(j["looped"], 0); // the sender enters through its host port: 60001 on port 3 is served
  EXPECT_EQ(j["port_copies"].size(), 4u);
  EXPECT_EQ(j["reached_exactly_once"], true);
}
#endif

// ---- plan: bad input ---------------------------------------------------------------------------------

struct BadInput {
  std::vector<std::string> args;
  std::vector<std::string> message_parts; // each must appear in the one-line message
};

TEST(FanoutPlan, BadInputExitsTwoWithOneLine) {
  const std::vector<BadInput> cases = {
      {{"--receivers", "3,70000"}, {"receiver id 70000", "N = 65536"}},
      {{"--receivers", "99,100", "--nodes", "100"}, {"receiver id 100", "N = 100"}},
      {{"--receivers", "10-200", "--nodes", "100"}, {"receiver id 100", "N = 100"}},
      {{"--receivers", "3,x7"}, {"malformed", "'x7'"}},
      {{"--receivers", "3,,4"}, {"malformed", "''"}},
      {{"--receivers", "9-3"}, {"malformed", "'9-3'", "backwards"}},
      {{"--receivers", "1-2-3"}, {"malformed", "'1-2-3'"}},
      {{"--receivers", "3,17,3"}, {"duplicate receiver id 3"}},
      {{"--receivers", "1-5,4"}, {"duplicate receiver id 4"}},
      {{"--receivers", ""}, {"empty receiver list"}},
      {{"--receivers", " "}, {"empty receiver list"}},
      {{"--nodes", "64"}, {"missing option --receivers"}},
      {{"--receivers", "3", "--fanout", "1"}, {"--fanout 1", "2..64"}},
      {{"--receivers", "3", "--fanout", "65"}, {"--fanout 65", "2..64"}},
      {{"--receivers", "3", "--nodes", "0"}, {"--nodes 0", "1..65536"}},
      {{"--receivers", "3", "--nodes", "65537"}, {"--nodes 65537", "1..65536"}},
      {{"--receivers", "3", "--ports", "1"}, {"--ports 1", "2..64"}},
      {{"--receivers", "3", "--ports", "65"}, {"--ports 65", "2..64"}},
      {{"--receivers", "3", "--mode", "star"}, {"unknown mode 'star'"}},
      {{"--receivers", "3", "--colour", "red"}, {"unknown option '--colour'"}},
      {{"--receivers", "3", "-x"}, {"unexpected argument '-x'"}},
      {{"--receivers", "3", "extra"}, {"unexpected argument 'extra'"}},
      {{"--receivers"}, {"option --receivers needs a value"}},
      {{"--receivers", "3", "--nodes"}, {"option --nodes needs a value"}},
      {{"--receivers", "3", "--nodes", "--json"}, {"option --nodes needs a value"}},
      {{"--receivers", "3", "--nodes", "abc"}, {"--nodes", "'abc' is not a number"}},
      {{"--receivers", "3", "--fanout", "4x"}, {"--fanout", "'4x' is not a number"}},
      {{"--receivers", "3", "--sender", "-1"}, {"--sender", "'-1' is not a number"}},
      {{"--receivers", "3", "--payload", "1e3"}, {"--payload", "'1e3' is not a number"}},
      {{"--receivers", "3", "--sender", "100", "--nodes", "100"}, {"--sender 100", "N = 100"}},
      {{"--receivers", "3", "--payload", "9000"}, {"--payload 9000", "at most"}},
      {{"--receivers", "3", "--json=yes"}, {"--json takes no value"}},
      {{"--receivers", "99999999999999999999999"}, {"receiver id", "N = 65536"}},
  };
  for (const BadInput &c : cases) {
    std::string shown;
    for (const std::string &a : c.args) shown += " '" + a + "'";
    CliRun r = run_cli(with({"plan"}, c.args));
    EXPECT_EQ(r.code, kExitUsage) << shown;
    EXPECT_EQ(r.out, "") << shown;
    EXPECT_EQ(r.err.rfind("fanout plan: ", 0), 0u) << shown << " -> " << r.err;
    ASSERT_FALSE(r.err.empty()) << shown;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << shown << ": not exactly one line: " << r.err;
    for (const std::string &part : c.message_parts) EXPECT_TRUE(contains(r.err, part)) << shown << " -> " << r.err;
  }
}

TEST(FanoutCli, CommandDispatch) {
  EXPECT_EQ(run_cli({}).code, kExitUsage);
  CliRun unknown = run_cli({"plot"});
  EXPECT_EQ(unknown.code, kExitUsage);
  EXPECT_TRUE(contains(unknown.err, "unknown command 'plot'"));
  EXPECT_EQ(run_cli({"--help"}).code, kExitOk);
  EXPECT_EQ(run_cli({"plan", "--help"}).code, kExitOk);
  CliRun bad_demo = run_cli({"demo", "--fast"});
  EXPECT_EQ(bad_demo.code, kExitUsage);
  EXPECT_EQ(bad_demo.err, "fanout demo: unknown option '--fast'\n");
}

TEST(FanoutIds, ListParsingMergesAndSorts) {
  fanout::cli::IdListResult r = fanout::cli::parse_id_list("100, 0-63,64", 65536);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.ranges.size(), 2u);
  EXPECT_EQ(r.ranges[0].first, 0);
  EXPECT_EQ(r.ranges[0].last, 64);
  EXPECT_EQ(r.ranges[1].first, 100);
  EXPECT_EQ(fanout::cli::depth_bound(1, 4), 1u);
  EXPECT_EQ(fanout::cli::depth_bound(4, 4), 2u);
  EXPECT_EQ(fanout::cli::depth_bound(5, 4), 3u);
}

// ---- demo --------------------------------------------------------------------------------------------

TEST(FanoutDemo, EveryWorkloadDeliversAndTheSenderHearsOneAckPerMessage) {
  std::vector<fanout::cli::WorkloadReport> reports = fanout::cli::run_demo_workloads();
  ASSERT_EQ(reports.size(), 3u);
  for (const fanout::cli::WorkloadReport &r : reports) {
    SCOPED_TRACE(r.name);
    EXPECT_TRUE(r.delivered());
    EXPECT_EQ(r.frame_errors, 0u);
    EXPECT_EQ(r.receivers_ok, r.deliveries);
    EXPECT_EQ(r.acks_at_sender_host, r.messages); // one aggregated ACK per message
    EXPECT_EQ(r.final_ack_ok, r.messages);
    EXPECT_EQ(r.unicast_acks, r.deliveries);
    EXPECT_LE(r.sender_packets, r.unicast_packets);
    // The host hands its NIC each packet once; unicast fan-out moves every copy across the host
    // interface. Fanout's frames carry k ids instead of 1, so the ratio is a little under k.
    EXPECT_GT((double)r.unicast_bytes, 0.95 * (double)r.receivers.min * (double)r.host_interface_bytes);
    EXPECT_LE(r.max_depth, r.depth_bound);
    // The tree puts exactly one copy of each packet on the link into each receiver, as unicast does.
    EXPECT_EQ(r.link_data_copies, r.unicast_packets);
  }
  EXPECT_EQ(reports[0].name, "moe_dispatch");
  EXPECT_EQ(reports[0].messages, 16u);
  EXPECT_GE(reports[0].receivers.min, 1u);
  EXPECT_LE(reports[0].receivers.max, 9u); // 8 routed experts + the shared one, per node
  EXPECT_EQ(reports[1].name, "allreduce_broadcast");
  EXPECT_EQ(reports[1].deliveries, 63u);
  EXPECT_EQ(reports[1].max_depth, fanout::proto::tree_depth(63, fanout::cli::kDemoFanout));
  EXPECT_EQ(reports[1].sender_packets, (uint64_t)fanout::cli::kDemoFanout * reports[1].packets.max);
  EXPECT_EQ(reports[2].name, "checkpoint_replication");
  EXPECT_EQ(reports[2].deliveries, 3u);
  EXPECT_EQ(reports[2].message_bytes, 1024u * 1024u);
}

TEST(FanoutDemo, CorruptedDeliveryFailsTheCheck) {
  fanout::cli::DemoOptions options;
  options.corrupt_one_delivery = true;
  std::vector<fanout::cli::WorkloadReport> reports = fanout::cli::run_demo_workloads(options);
  EXPECT_FALSE(reports[0].delivered());
  EXPECT_EQ(reports[0].receivers_ok + 1, reports[0].deliveries);
}

TEST(FanoutDemo, TextReport) {
  CliRun r = run_cli({"demo"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out.rfind("Fanout demo: a protocol-level walk", 0), 0u) << r.out;
  EXPECT_TRUE(contains(r.out, "comes with sim/")) << r.out;
  EXPECT_TRUE(contains(r.out, "all 63 receivers got identical data: yes")) << r.out;
  EXPECT_TRUE(contains(r.out, "all 3 receivers got identical data: yes")) << r.out;
  EXPECT_FALSE(contains(r.out, "identical data: no")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nTotal: ")) << r.out;
}

#ifdef FANOUT_TEST_HAVE_NLOHMANN_JSON
TEST(FanoutDemo, JsonReport) {
  CliRun r = run_cli({"demo", "--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["workloads"].size(), 3u);
  for (const nlohmann::json &w : j["workloads"]) {
    EXPECT_EQ(w["delivered"], true) << w["name"];
    EXPECT_EQ(w["acks_at_sender_host"], w["messages"]) << w["name"];
  }
  EXPECT_EQ(j["total"]["delivered"], true);
  EXPECT_EQ(j["total"]["acks_at_sender_host"], 18); // 16 tokens + 1 broadcast + 1 shard
}
#endif

} // namespace
