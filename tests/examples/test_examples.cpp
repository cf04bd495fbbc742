// The libfanout programs as users run them: every host/examples program as N processes on
// 127.0.0.1 (one per node, each with its own ?node=i), `fanout send` / `recv` round trips,
// `fanout bench --local` and bad command lines. The binaries' paths come from CMake.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string read_text(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_bytes(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

size_t count_of(const std::string &text, const std::string &part) {
  size_t n = 0;
  for (size_t p = text.find(part); p != std::string::npos; p = text.find(part, p + 1)) n++;
  return n;
}

// Deterministic file contents of any length.
std::string pseudo_random_bytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = (char)(x >> 32);
  }
  return s;
}

struct Result {
  int code = -1; // exit status; -1: killed (timeout) or signalled
  std::string out, err;
  std::string shown; // the command line and both streams, for failure messages
};

// A child process with stdout and stderr in files of the test's folder.
class Process {
 public:
  Process(const std::vector<std::string> &argv, const std::string &log_base) : argv_(argv) {
    out_path_ = log_base + ".out";
    err_path_ = log_base + ".err";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char *> args;
    for (const std::string &a : argv_) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Process() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Waits until the deadline, then kills the process (code -1).
  Result finish(Clock::time_point deadline) {
    Result r;
    int status = 0;
    if (pid_ > 0) {
      pid_t w;
      while ((w = ::waitpid(pid_, &status, WNOHANG)) == 0 && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
      if (w == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        r.err = "[killed: still running at the deadline]\n";
      } else if (WIFEXITED(status)) {
        r.code = WEXITSTATUS(status);
      }
      done_ = true;
    }
    r.out = read_text(out_path_);
    r.err += read_text(err_path_);
    for (const std::string &a : argv_) r.shown += a + " ";
    r.shown += "\nexit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
    return r;
  }

 private:
  std::vector<std::string> argv_;
  std::string out_path_, err_path_;
  pid_t pid_ = -1;
  bool done_ = false;
};

// Ports the kernel hands out on 127.0.0.1, all distinct (held open until every one is chosen).
std::vector<uint16_t> free_udp_ports(int n) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (int i = 0; i < n; i++) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0)
      throw std::runtime_error("no free UDP port");
    fds.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

class Programs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fanout-examples-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!HasFailure())
      std::filesystem::remove_all(dir_); // kept for a look when something failed
    else
      std::printf("files kept in %s\n", dir_.c_str());
  }

  // A cluster file of n nodes on 127.0.0.1 (optional transport section).
  void make_cluster(int n, const std::string &transport = "") {
    cluster_ = dir_ + "/cluster.yaml";
    std::string y = "nodes:\n";
    std::vector<uint16_t> ports = free_udp_ports(n);
    for (int i = 0; i < n; i++)
      y += "  - {id: " + std::to_string(i) + ", address: 127.0.0.1:" + std::to_string(ports[(size_t)i]) + "}\n";
    if (!transport.empty()) y += "transport: " + transport + "\n";
    write_bytes(cluster_, y);
  }
  std::string uri(int node) const { return "udp:" + cluster_ + "?node=" + std::to_string(node); }
  std::string path(const std::string &name) const { return dir_ + "/" + name; }

  std::unique_ptr<Process> start(std::vector<std::string> argv, const std::string &name) {
    return std::make_unique<Process>(argv, path(name));
  }
  Result run(std::vector<std::string> argv, const std::string &name, std::chrono::milliseconds timeout = 10s) {
    return Process(argv, path(name)).finish(Clock::now() + timeout);
  }

  // The same program on nodes 0..n-1 with the same arguments after the URI; node `last` starts
  // after the others (first == -1: all at once).
  std::vector<Result> run_cluster(const std::string &program, int n, const std::vector<std::string> &args,
                                  int started_last = -1, std::chrono::milliseconds timeout = 10s) {
    std::vector<std::unique_ptr<Process>> procs(n);
    auto launch = [&](int i) {
      std::vector<std::string> argv{program, uri(i)};
      argv.insert(argv.end(), args.begin(), args.end());
      procs[(size_t)i] = start(argv, "node" + std::to_string(i));
    };
    for (int i = 0; i < n; i++)
      if (i != started_last) launch(i);
    if (started_last >= 0) {
      std::this_thread::sleep_for(100ms);
      launch(started_last);
    }
    auto deadline = Clock::now() + timeout;
    std::vector<Result> results;
    for (auto &p : procs) results.push_back(p->finish(deadline));
    return results;
  }

  std::string dir_;
  std::string cluster_;
};

// ---- host/examples ----------------------------------------------------------------------------

TEST_F(Programs, HelloMulticastFourNodes) {
  make_cluster(4);
  std::vector<Result> r = run_cluster(HELLO_MULTICAST, 4, {"--count", "3"}, /*sender last*/ 0);
  for (int i = 0; i < 4; i++) ASSERT_EQ(r[(size_t)i].code, 0) << r[(size_t)i].shown;
  EXPECT_EQ(count_of(r[0].out, "reached all 3 receivers (1,2,3)\n"), 3u) << r[0].shown;
  EXPECT_TRUE(contains(r[0].out, "node 0: 3 of 3 messages reached every receiver\n")) << r[0].shown;
  for (int i = 1; i < 4; i++) {
    for (int m = 1; m <= 3; m++)
      EXPECT_EQ(count_of(r[(size_t)i].out,
                         "node " + std::to_string(i) + ": got 'hello from 0 #" + std::to_string(m) + "' from node 0\n"),
                1u)
          << r[(size_t)i].shown;
    EXPECT_EQ(r[(size_t)i].err, "");
  }
}

// Receivers that start after the sender are reached by its retransmissions.
TEST_F(Programs, HelloMulticastReceiverStartsLate) {
  make_cluster(3);
  std::vector<Result> r = run_cluster(HELLO_MULTICAST, 3, {"--count", "2"}, /*a receiver last*/ 2);
  for (int i = 0; i < 3; i++) ASSERT_EQ(r[(size_t)i].code, 0) << r[(size_t)i].shown;
  EXPECT_TRUE(contains(r[2].out, "node 2: got 'hello from 0 #2' from node 0\n")) << r[2].shown;
}

// Sums over the nodes: every node copy a sender posted was received and checked somewhere.
void check_moe(const std::vector<Result> &r) {
  std::regex sent(R"((\d+) posts for (\d+) node copies)"),
      got(R"(received (\d+) of (\d+) expected tokens: (\d+) intact)");
  uint64_t copies = 0, received = 0;
  for (size_t i = 0; i < r.size(); i++) {
    ASSERT_EQ(r[i].code, 0) << r[i].shown;
    EXPECT_TRUE(contains(r[i].out, "node " + std::to_string(i) + ": OK\n")) << r[i].shown;
    EXPECT_TRUE(contains(r[i].out, "0 corrupt, 0 duplicate, 0 unexpected, 0 missing")) << r[i].shown;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r[i].out, m, sent)) << r[i].shown;
    copies += std::stoull(m[2]);
    ASSERT_TRUE(std::regex_search(r[i].out, m, got)) << r[i].shown;
    EXPECT_EQ(m[1], m[2]);
    EXPECT_EQ(m[1], m[3]);
    received += std::stoull(m[1]);
  }
  EXPECT_GT(copies, 0u);
  EXPECT_EQ(copies, received);
}

TEST_F(Programs, MoeDispatchSixNodes) {
  make_cluster(6);
  check_moe(run_cluster(MOE_DISPATCH, 6, {"--experts", "24", "--tokens", "96", "--topk", "4", "--seed", "7"}));
}

// Tree fan-out 2 with top-8 routing: most tokens go to 3+ nodes, so receivers relay copies.
TEST_F(Programs, MoeDispatchWithRelaying) {
  make_cluster(8, "{fanout: 2}");
  check_moe(run_cluster(MOE_DISPATCH, 8, {"--experts", "64", "--tokens", "64", "--topk", "8"}));
}

TEST_F(Programs, ReplicateFileInChunks) {
  make_cluster(5);
  const std::string data = pseudo_random_bytes((3 << 20) + 12345, 1);
  write_bytes(path("in.bin"), data);
  std::vector<Result> r =
      run_cluster(REPLICATE_FILE, 5, {"--file", path("in.bin"), "--out", path("copy-{node}.bin"), "--chunk", "1M"});
  for (int i = 0; i < 5; i++) ASSERT_EQ(r[(size_t)i].code, 0) << r[(size_t)i].shown;
  EXPECT_TRUE(contains(r[0].out, "4 chunks of at most 1048576 bytes) to nodes 1,2,3")) << r[0].shown;
  EXPECT_TRUE(contains(r[0].out, "3 of 3 replicas match")) << r[0].shown;
  EXPECT_EQ(count_of(r[0].out, ": match\n"), 3u) << r[0].shown;
  for (int i = 1; i <= 3; i++) {
    EXPECT_TRUE(contains(r[(size_t)i].out, "in 4 chunks")) << r[(size_t)i].shown;
    EXPECT_TRUE(read_text(path("copy-" + std::to_string(i) + ".bin")) == data) << "node " << i << "'s copy differs";
  }
  EXPECT_TRUE(contains(r[4].out, "node 4: not a replica")) << r[4].shown;
  EXPECT_FALSE(std::filesystem::exists(path("copy-4.bin")));
}

TEST_F(Programs, ReplicateSmallFileAsOneMessageToChosenNodes) {
  make_cluster(5);
  const std::string data = pseudo_random_bytes(5000, 2);
  write_bytes(path("small.bin"), data);
  std::vector<Result> r =
      run_cluster(REPLICATE_FILE, 5, {"--file", path("small.bin"), "--out", path("s-{node}.bin"), "--to", "2,4"});
  for (int i = 0; i < 5; i++) ASSERT_EQ(r[(size_t)i].code, 0) << r[(size_t)i].shown;
  EXPECT_TRUE(contains(r[0].out, "(5000 bytes, 1 chunks of at most")) << r[0].shown;
  EXPECT_TRUE(contains(r[0].out, "2 of 2 replicas match")) << r[0].shown;
  EXPECT_TRUE(read_text(path("s-2.bin")) == data);
  EXPECT_TRUE(read_text(path("s-4.bin")) == data);
}

TEST_F(Programs, ExamplesRejectBadArguments) {
  make_cluster(2);
  struct Case {
    std::string program;
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {HELLO_MULTICAST, {uri(0), "--count", "many"}, "hello_multicast: option --count: 'many' is not a number"},
      {HELLO_MULTICAST, {"--count", "3"}, "hello_multicast: the device URI comes first"},
      {MOE_DISPATCH, {uri(0), "--topk", "40"}, "moe_dispatch: option --topk: '40' is not a number in 1..16"},
      {MOE_DISPATCH, {uri(0), "--colour", "red"}, "moe_dispatch: unknown option '--colour'"},
      {REPLICATE_FILE, {uri(0)}, "replicate_file: option --file is required"},
      {REPLICATE_FILE, {uri(0), "--file", "x", "--to", "7"}, "replicate_file: option --to: node 7 is not in"},
  };
  for (size_t i = 0; i < cases.size(); i++) {
    std::vector<std::string> argv{cases[i].program};
    argv.insert(argv.end(), cases[i].args.begin(), cases[i].args.end());
    Result r = run(argv, "bad" + std::to_string(i));
    EXPECT_EQ(r.code, 2) << r.shown;
    EXPECT_EQ(r.err.rfind(cases[i].error, 0), 0u) << r.shown;
  }
  // A device that cannot open (no fanout-sim serves this directory): the open error, exit 1.
  Result r = run({HELLO_MULTICAST, "sim:no-such-sim-dir?node=0&wait_s=0"}, "sim");
  EXPECT_EQ(r.code, 1) << r.shown;
  EXPECT_TRUE(contains(r.err, "hello_multicast: 'sim:no-such-sim-dir?node=0&wait_s=0'")) << r.shown;
}

// ---- fanout send / recv / bench ----------------------------------------------------------------

TEST_F(Programs, SendReceiveFileRoundTrip) {
  make_cluster(4);
  const std::string data = pseudo_random_bytes((2 << 20) + 77, 3);
  write_bytes(path("file.bin"), data);
  std::vector<std::unique_ptr<Process>> rx;
  for (int i = 1; i <= 3; i++)
    rx.push_back(start(
        {FANOUT_TOOL, "recv", "--uri", uri(i), "--out", path("got-" + std::to_string(i) + ".bin"), "--timeout", "8"},
        "recv" + std::to_string(i)));
  Result s = run({FANOUT_TOOL, "send", "--uri", uri(0), "--to", "1-3", "--file", path("file.bin")}, "send");
  ASSERT_EQ(s.code, 0) << s.shown;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      s.out, m,
      std::regex("sent 1 message of " + std::to_string(data.size()) +
                 R"( bytes \(fnv1a64 ([0-9a-f]{16})\) to nodes 1,2,3: 1 acknowledged by every receiver, 0 failed)")))
      << s.shown;
  const std::string sum = m[1];
  for (int i = 1; i <= 3; i++) {
    Result r = rx[(size_t)i - 1]->finish(Clock::now() + 10s);
    ASSERT_EQ(r.code, 0) << r.shown;
    EXPECT_TRUE(
        contains(r.out, "message 1: " + std::to_string(data.size()) + " bytes from node 0 (fnv1a64 " + sum + ")\n"))
        << r.shown;
    EXPECT_TRUE(read_text(path("got-" + std::to_string(i) + ".bin")) == data) << "node " << i << "'s file differs";
  }
}

// Several generated messages; the receiver's buffers are smaller than the default, and a message
// larger than the only buffer of a one-message receive still arrives (a larger buffer replaces it).
TEST_F(Programs, SendReceiveCountsAndBufferGrowth) {
  make_cluster(3, "{rto_us: 5000}");
  auto rx1 = start({FANOUT_TOOL, "recv", "--uri", uri(1), "--count", "4", "--out", path("m"), "--max-bytes", "200K",
                    "--quiet", "--timeout", "8"},
                   "recv1");
  auto rx2 =
      start({FANOUT_TOOL, "recv", "--uri", uri(2), "--count", "4", "--max-bytes", "200K", "--timeout", "8"}, "recv2");
  Result s = run({FANOUT_TOOL, "send", "--uri", uri(0), "--to", "2,1", "--bytes", "100K", "--count", "4"}, "send");
  ASSERT_EQ(s.code, 0) << s.shown;
  EXPECT_TRUE(contains(s.out, "sent 4 messages of 102400 bytes")) << s.shown;
  Result r1 = rx1->finish(Clock::now() + 10s), r2 = rx2->finish(Clock::now() + 10s);
  ASSERT_EQ(r1.code, 0) << r1.shown;
  ASSERT_EQ(r2.code, 0) << r2.shown;
  EXPECT_EQ(r1.out, "received 4 messages, 409600 bytes from nodes 0\n") << r1.shown;
  EXPECT_EQ(count_of(r2.out, "bytes from node 0 (fnv1a64 "), 4u) << r2.shown;
  for (int i = 1; i <= 4; i++) EXPECT_EQ(read_text(path("m." + std::to_string(i))).size(), 102400u);

  auto big = start({FANOUT_TOOL, "recv", "--uri", uri(1), "--max-bytes", "1K", "--timeout", "8"}, "recv-big");
  Result s2 = run({FANOUT_TOOL, "send", "--uri", uri(0), "--to", "1", "--bytes", "300000"}, "send-big");
  ASSERT_EQ(s2.code, 0) << s2.shown;
  Result rb = big->finish(Clock::now() + 10s);
  ASSERT_EQ(rb.code, 0) << rb.shown;
  EXPECT_TRUE(contains(rb.out, "message 1: 300000 bytes from node 0")) << rb.shown;
}

// A receiver that never runs: the send completes with partial failure naming it, exit 1.
TEST_F(Programs, SendReportsReceiversThatDoNotAcknowledge) {
  make_cluster(3, "{failure_timeout_us: 300000}");
  auto rx = start({FANOUT_TOOL, "recv", "--uri", uri(1), "--timeout", "8"}, "recv1");
  Result s = run({FANOUT_TOOL, "send", "--uri", uri(0), "--to", "1,2", "--bytes", "5000"}, "send");
  EXPECT_EQ(s.code, 1) << s.shown;
  EXPECT_TRUE(contains(s.err, "fanout send: message 1: partial_failure: no acknowledgement from nodes 2\n")) << s.shown;
  EXPECT_TRUE(contains(s.out, "0 acknowledged by every receiver, 1 failed")) << s.shown;
  EXPECT_EQ(rx->finish(Clock::now() + 10s).code, 0);
  Result t = run({FANOUT_TOOL, "recv", "--uri", uri(2), "--timeout", "0.2"}, "recv-timeout");
  EXPECT_EQ(t.code, 1) << t.shown;
  EXPECT_TRUE(contains(t.err, "fanout recv: timed out (--timeout) with 0 of 1 messages\n")) << t.shown;
}

TEST_F(Programs, BenchLocalSmoke) {
  Result r = run({FANOUT_TOOL, "bench", "--local", "4", "--bytes", "2048", "--seconds", "0.1"}, "bench", 20s);
  ASSERT_EQ(r.code, 0) << r.shown;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(contains(r.out, "Fanout: one post to k receivers")) << r.out;
  EXPECT_TRUE(contains(r.out, "unicast fan-out: k one-receiver posts")) << r.out;
  EXPECT_TRUE(contains(r.out, "   k |     msg/s    Gb/s   p50 us   p90 us   p99 us   tx/msg |     msg/s")) << r.out;
  // One row per k = 1..3, each with both halves: 12 numbers, two separators and the ratio.
  const std::string num = R"( +[0-9.]+)";
  std::string half;
  for (int i = 0; i < 6; i++) half += num;
  for (int k = 1; k <= 3; k++) {
    std::regex row("\n +" + std::to_string(k) + " \\|" + half + " \\|" + half + " \\| +[0-9.]+x\n");
    EXPECT_TRUE(std::regex_search(r.out, row)) << "no row for k = " << k << "\n" << r.out;
  }
  EXPECT_FALSE(contains(r.out, "\n   4 |")) << r.out;
}

TEST_F(Programs, BenchChosenReceiverCounts) {
  Result r =
      run({FANOUT_TOOL, "bench", "--local", "5", "--k", "1,4", "--bytes", "100", "--messages", "200"}, "bench", 20s);
  ASSERT_EQ(r.code, 0) << r.shown;
  EXPECT_TRUE(contains(r.out, "\n   1 |")) << r.out;
  EXPECT_TRUE(contains(r.out, "\n   4 |")) << r.out;
  EXPECT_FALSE(contains(r.out, "\n   2 |")) << r.out;
  EXPECT_TRUE(contains(r.out, "200 messages per run")) << r.out;
}

TEST_F(Programs, FanoutBadOptionsExitTwoNamingTheOption) {
  make_cluster(3);
  struct Case {
    std::vector<std::string> args;
    std::string error; // the whole stderr is "fanout <command>: <error...>\n", one line
  };
  const std::vector<Case> cases = {
      {{"send", "--to", "1"}, "fanout send: option --uri is required"},
      {{"send", "--uri", uri(0)}, "fanout send: option --to is required"},
      {{"send", "--uri", uri(0), "--to", "1", "--bytes", "lots"},
       "fanout send: option --bytes: 'lots' is not a number"},
      {{"send", "--uri", uri(0), "--to", "1", "--count", "0"}, "fanout send: option --count: 0 is out of range"},
      {{"send", "--uri", uri(0), "--to", "1", "--file", path("none")}, "fanout send: option --file: "},
      {{"send", "--uri", uri(0), "--to", "1", "--file", "f", "--bytes", "3"},
       "fanout send: option --bytes: give either"},
      {{"send", "--uri", uri(0), "--to", "9"}, "fanout send: option --to: node 9 is not in "},
      {{"send", "--uri", uri(0), "--to", "0,1"}, "fanout send: option --to: node 0 is this node"},
      {{"send", "--uri", uri(0), "--to", "1", "--colour", "red"}, "fanout send: unknown option '--colour'"},
      {{"send", "--uri", "bogus", "--to", "1"}, "fanout send: option --uri: 'bogus'"},
      {{"send", "--uri", "udp:" + path("missing.yaml") + "?node=0", "--to", "1"}, "fanout send: option --uri: "},
      {{"recv", "--uri", uri(1), "--timeout", "soon"}, "fanout recv: option --timeout: 'soon' is not a number"},
      {{"recv", "--uri", uri(1), "--max-bytes", "0"}, "fanout recv: option --max-bytes: 0 is out of range"},
      {{"recv", "--uri", uri(1), "--count"}, "fanout recv: option --count needs a value"},
      {{"recv", "--uri", uri(1), "--quiet=yes"}, "fanout recv: option --quiet takes no value"},
      {{"bench"}, "fanout bench: option --uri or --local is required"},
      {{"bench", "--local", "1"}, "fanout bench: option --local: 1 is out of range 2..64"},
      {{"bench", "--local", "4", "--k", "1,5"}, "fanout bench: option --k: 5 is out of range 1..3"},
      {{"bench", "--local", "4", "--k", "2,2"}, "fanout bench: option --k: 2 given twice"},
      {{"bench", "--local", "4", "--seconds", "-1"}, "fanout bench: option --seconds: '-1' is not a number"},
      {{"bench", "--local", "4", "--fanout", "1"}, "fanout bench: option --fanout: 1 is out of range 2..16"},
      {{"bench", "--local", "4", "--sender", "2"}, "fanout bench: option --sender: only with --uri"},
      {{"bench", "--uri", uri(0), "--mtu", "9000"}, "fanout bench: option --mtu: only with --local"},
      {{"bench", "--uri", uri(0), "--local", "3"}, "fanout bench: option --local: give either --uri or --local"},
      {{"bench", "--uri", uri(0), "--k", "3"}, "fanout bench: option --k: 3 is out of range 1..2"},
  };
  for (size_t i = 0; i < cases.size(); i++) {
    std::vector<std::string> argv{FANOUT_TOOL};
    argv.insert(argv.end(), cases[i].args.begin(), cases[i].args.end());
    Result r = run(argv, "bad" + std::to_string(i));
    EXPECT_EQ(r.code, 2) << r.shown;
    EXPECT_EQ(r.err.rfind(cases[i].error, 0), 0u) << r.shown;
    EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.shown;
    EXPECT_EQ(r.out, "") << r.shown;
  }
}

} // namespace
