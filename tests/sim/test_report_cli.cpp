// fanout-sim report (sim/tools/report.hpp), run as a child process (popen):
//  * flag handling: bad report flags exit 2 with one line naming the flag, before any simulation;
//  * end to end, on a tiny cluster: every workload in every mode (unicast, BIER, Fanout tree,
//    Fanout port) on identical traffic delivers identical data to identical sets; Fanout's
//    sender-side bytes and ACKs at the sender are strictly below unicast's for k >= 2; Fanout's
//    receiver set is never larger than BIER's; the renderer writes the report's files.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace {

struct CliRun {
  int status = -1;
  std::string out; // stdout and stderr
};

CliRun run_report(const std::string &args) {
  std::string cmd = std::string(FANOUT_SIM_EXE) + " report " + args + " 2>&1";
  CliRun r;
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

TEST(FanoutSimReportCli, JobsZeroIsBadInput) {
  CliRun r = run_report("--jobs 0");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "fanout-sim report: --jobs: must be a whole number of simulations between 1 and 256 (got '0')\n");
}

TEST(FanoutSimReportCli, UnknownModeNamesItAndTheAllowedList) {
  CliRun r = run_report("--modes tree,foo");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out.rfind("fanout-sim report: --modes: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("'foo'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unicast, bier, tree, port"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: " << r.out;
}

TEST(FanoutSimReportCli, UnknownWorkloadAndBadSweepAreBadInput) {
  CliRun r = run_report("--workloads moe,bogus");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--workloads: unknown workload 'bogus'"), std::string::npos) << r.out;
  r = run_report("--sweep-k 1,x");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out.rfind("fanout-sim report: --sweep-k: ", 0), 0u) << r.out;
  r = run_report("--jobs");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "fanout-sim report: --jobs: needs a value\n");
}

TEST(FanoutSimReportCli, HelpExitsZero) {
  CliRun r = run_report("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("usage: fanout-sim report", 0), 0u) << r.out;
}

// ---- End to end ------------------------------------------------------------------------------

class FanoutSimReportTiny : public ::testing::Test {
 protected:
  // One tiny report for the whole suite: 8 nodes, every workload and mode, k = 1, 2, 4, 7.
  static void SetUpTestSuite() {
    // ctest runs each test in its own process, maybe side by side: one directory per process.
    dir_ = new std::string(::testing::TempDir() + "fanout-report-tiny-" + std::to_string(getpid()));
    std::filesystem::remove_all(*dir_);
    run_ = new CliRun(run_report("--out " + *dir_ +
                                 " --nodes 8 --tokens-per-step 4 --steps 2 --allreduce-bytes 65536 --shard-bytes 65536"
                                 " --sweep-k 1,2,4,7 --sweep-messages 2 --sweep-bytes 16384"));
    std::filesystem::path json = *dir_ + "/report.json";
    if (std::filesystem::exists(json)) report_ = new YAML::Node(YAML::LoadFile(json.string()));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete report_;
    delete run_;
    delete dir_;
  }
  static const YAML::Node &report() { return *report_; }
  static std::string *dir_;
  static CliRun *run_;
  static YAML::Node *report_;
};
std::string *FanoutSimReportTiny::dir_ = nullptr;
CliRun *FanoutSimReportTiny::run_ = nullptr;
YAML::Node *FanoutSimReportTiny::report_ = nullptr;

TEST_F(FanoutSimReportTiny, EveryRunChecksOutAndTheReportIsWritten) {
  ASSERT_EQ(run_->status, 0) << run_->out;
  ASSERT_NE(report_, nullptr);
  for (const char *f :
       {"index.html", "README.md", "plots/completion_vs_k.svg", "plots/completion_vs_k.png",
        "plots/header_bytes_vs_k.svg", "plots/acks_per_message_vs_k.svg", "plots/link_bytes_by_workload.svg"}) {
    std::filesystem::path p = *dir_ + "/" + f;
    EXPECT_TRUE(std::filesystem::exists(p) && std::filesystem::file_size(p) > 0) << p;
  }
  EXPECT_NE(run_->out.find("report: " + *dir_ + "/index.html"), std::string::npos) << run_->out;
}

TEST_F(FanoutSimReportTiny, AllModesDeliverIdenticalDataToIdenticalSets) {
  ASSERT_NE(report_, nullptr);
  ASSERT_EQ(report()["workloads"].size(), 3u);
  for (const YAML::Node &w : report()["workloads"]) {
    std::string name = w["name"].as<std::string>();
    EXPECT_TRUE(w["identical_delivery"].as<bool>()) << name;
    std::string digest;
    for (const char *mode : {"unicast", "bier", "tree", "port"}) {
      const YAML::Node &r = w["runs"][mode];
      ASSERT_TRUE(r.IsMap()) << name << " " << mode;
      EXPECT_TRUE(r["ok"].as<bool>()) << name << " " << mode;
      EXPECT_EQ(r["deliveries"].as<uint64_t>(), w["deliveries"].as<uint64_t>()) << name << " " << mode;
      if (digest.empty()) digest = r["delivery_digest"].as<std::string>();
      EXPECT_EQ(r["delivery_digest"].as<std::string>(), digest) << name << " " << mode;
    }
  }
}

TEST_F(FanoutSimReportTiny, FanoutSendsLessAndHearsFewerAcksThanUnicastForKAtLeastTwo) {
  ASSERT_NE(report_, nullptr);
  const YAML::Node &points = report()["k_sweep"]["points"];
  ASSERT_EQ(points.size(), 4u);
  for (const YAML::Node &p : points) {
    uint32_t k = p["k"].as<uint32_t>();
    const YAML::Node &uni = p["runs"]["unicast"];
    for (const char *mode : {"tree", "port"}) {
      const YAML::Node &fo = p["runs"][mode];
      auto host = fo["host_interface_bytes"].as<uint64_t>(), uhost = uni["host_interface_bytes"].as<uint64_t>();
      auto acks = fo["acks_at_senders"].as<uint64_t>(), uacks = uni["acks_at_senders"].as<uint64_t>();
      if (k >= 2) {
        EXPECT_LT(host, uhost) << mode << " k=" << k;
        EXPECT_LT(acks, uacks) << mode << " k=" << k;
      } else {
        EXPECT_EQ(acks, uacks) << mode << " k=1: one ACK either way";
      }
    }
    // On the wire: port mode sends one copy; tree mode sends at most F = 4 (fewer than k past F).
    if (k >= 2) {
      EXPECT_LT(p["runs"]["port"]["sender_egress_bytes"].as<uint64_t>(), uni["sender_egress_bytes"].as<uint64_t>())
          << k;
    }
    if (k > 4) {
      EXPECT_LT(p["runs"]["tree"]["sender_egress_bytes"].as<uint64_t>(), uni["sender_egress_bytes"].as<uint64_t>())
          << k;
    }
  }
}

TEST_F(FanoutSimReportTiny, FanoutReceiverSetsNeverExceedBiers) {
  ASSERT_NE(report_, nullptr);
  const YAML::Node &h = report()["header_bytes"];
  EXPECT_EQ(h["fanout_exceeds_bier256"].as<uint64_t>(), 0u);
  for (const char *sweep : {"vs_k", "vs_nodes"}) {
    for (const YAML::Node &p : h[sweep]["points"]) {
      EXPECT_LE(p["fanout_set_max"].as<double>(), p["bier256_max"].as<double>()) << sweep;
      EXPECT_LE(p["fanout_set_mean"].as<double>(), p["bier_best_mean"].as<double>()) << sweep;
    }
  }
}

} // namespace
