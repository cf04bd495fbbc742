// The sim backend: applications on the Device API against `fanout-sim --serve DIR` (a child
// process), one device per node opened with sim:DIR?node=i.
//
// Checked: a multicast to {1,2,3} in tree and port mode reaches every receiver exactly once,
// byte-identical, with one kOk completion per message at the sender; the host/examples programs
// exit 0 on a udp cluster and on a simulated one (the same binaries); the end of the simulation
// (BYE) completes outstanding work with kClosed and fails later posts; bad URIs and a missing
// server give a specific status and a message naming the socket path.
#include "driver_test_util.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <iterator>
#include <sstream>

namespace fanout::driver::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A child process with stdout / stderr in files.
struct Child {
  pid_t pid = -1;
  std::string out_path, err_path, shown;

  Child(const std::vector<std::string> &argv, const std::string &log_base) {
    out_path = log_base + ".out";
    err_path = log_base + ".err";
    for (const std::string &a : argv) shown += a + " ";
    pid = ::fork();
    if (pid == 0) {
      int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char *> av;
      for (const std::string &a : argv) av.push_back(const_cast<char *>(a.c_str()));
      av.push_back(nullptr);
      ::execv(av[0], av.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int st;
      ::waitpid(pid, &st, 0);
    }
  }
  // Exit status, or -1 when killed after `seconds`.
  int wait(double seconds) {
    auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(pid, &st, WNOHANG);
      if (r == pid) {
        pid = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      if (Clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &st, 0);
        pid = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::string text() const { return shown + "\n--- stdout:\n" + slurp(out_path) + "\n--- stderr:\n" + slurp(err_path); }
};

#ifdef FANOUT_SIM_EXE
// fanout-sim --serve DIR with a generous duration: the run ends when every client has left.
std::unique_ptr<Child> start_sim(const std::string &dir, int nodes, const std::vector<std::string> &extra) {
  std::vector<std::string> argv = {FANOUT_SIM_EXE,   "--serve", dir + "/sock",   "--nodes", std::to_string(nodes),
                                   "--serve-wait-s", "60",      "--duration-us", "1000000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<Child>(argv, dir + "/fanout-sim");
}
#endif

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v[i] = (uint8_t)x;
  }
  return v;
}

// ---- Bad URIs and no server --------------------------------------------------------------------

TEST(SimBackend, BadUrisAndNoServer) {
  struct Case {
    std::string uri;
    Status status;
    std::string message;
  } cases[] = {
      {"sim:", Status::kBadUri, "needs the directory"},
      {"sim://?node=1", Status::kBadUri, "needs the directory"},
      {"sim:/tmp/fanout-sim-x", Status::kBadUri, "needs ?node=<id>"},
      {"sim:/tmp/fanout-sim-x?node=abc", Status::kBadUri, "node must be a node id"},
      {"sim:/tmp/fanout-sim-x?node=1&wait_s=-1", Status::kBadUri, "wait_s must be seconds"},
      {"sim:/tmp/fanout-sim-x?node=1&speed=9", Status::kBadUri, "unknown parameter 'speed' (known: node, wait_s)"},
      {"sim:/tmp/" + std::string(120, 'd') + "?node=1", Status::kBadUri, "longer than a Unix socket address holds"},
  };
  for (const Case &k : cases) {
    OpenResult r = Device::open(k.uri);
    EXPECT_EQ(r.status, k.status) << k.uri << ": " << status_name(r.status) << " " << r.message;
    EXPECT_NE(r.message.find(k.message), std::string::npos) << k.uri << ": " << r.message;
    EXPECT_FALSE(r.device);
  }
  // No server: after wait_s, kNotAvailable naming the socket path.
  std::string dir = make_temp_dir();
  auto t0 = Clock::now();
  OpenResult r = Device::open("sim://" + dir + "?node=2&wait_s=1");
  double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(r.status, Status::kNotAvailable) << r.message;
  EXPECT_NE(r.message.find(dir + "/node2.sock"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("no fanout-sim serves node 2"), std::string::npos) << r.message;
  EXPECT_GE(waited, 0.9);
  EXPECT_LT(waited, 10.0);
  std::filesystem::remove_all(dir);
}

#ifdef FANOUT_SIM_EXE

// ---- Multicast on simulated NICs ---------------------------------------------------------------

struct NodeResult {
  std::string error; // empty: fine
  std::vector<Completion> completions;
  std::vector<std::vector<uint8_t>> received; // by message index (receivers)
};

void run_multicast(const std::string &mode) {
  const int kNodes = 4;
  const std::array<size_t, 3> sizes = {0, 1000, 20000};
  std::string dir = make_temp_dir();
  std::unique_ptr<Child> sim = start_sim(dir, kNodes, {"--mode", mode});
  const std::string base = "sim:" + dir + "/sock?node=";

  std::atomic<int> receivers_ready{0};
  std::vector<NodeResult> res(kNodes);
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (int i = 0; i < kNodes; i++) {
    threads.emplace_back([&, i] {
      NodeResult &out = res[(size_t)i];
      OpenResult o = Device::open(base + std::to_string(i));
      if (!o) {
        out.error = o.message;
        receivers_ready++;
        return;
      }
      Device &dev = *o.device;
      if (dev.cluster().nodes.size() != (size_t)kNodes || dev.node_id() != i ||
          std::string(dev.backend_name()) != "sim") {
        out.error = "unexpected cluster from HELLO";
        receivers_ready++;
        return;
      }
      auto deadline = Clock::now() + std::chrono::seconds(240);
      if (i == 0) {
        while (receivers_ready.load() < kNodes - 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::vector<std::vector<uint8_t>> msgs;
        for (size_t m = 0; m < sizes.size(); m++) msgs.push_back(pattern(sizes[m], (uint32_t)m + 1));
        const std::vector<NodeId> to = {1, 2, 3};
        for (size_t m = 0; m < sizes.size(); m++) {
          Status s = dev.post_send(to, msgs[m].data(), msgs[m].size(), 100 + m);
          if (s != Status::kOk) {
            out.error = std::string("post_send: ") + status_name(s) + ": " + dev.last_send_error();
            return;
          }
        }
        while (out.completions.size() < sizes.size() && Clock::now() < deadline) {
          Completion c[8];
          int n = dev.poll(c, 8);
          for (int k = 0; k < n; k++) out.completions.push_back(c[k]);
          if (n == 0) dev.wait(50);
        }
        // Exactly one completion per message: nothing more comes.
        auto quiet = Clock::now() + std::chrono::milliseconds(200);
        while (Clock::now() < quiet) {
          Completion c[8];
          int n = dev.poll(c, 8);
          for (int k = 0; k < n; k++) out.completions.push_back(c[k]);
          dev.wait(10);
        }
        dev.close(); // before the messages are freed
        return;
      }
      // Receivers: one buffer more than there are messages (a duplicate would land in it).
      std::vector<std::vector<uint8_t>> bufs(sizes.size() + 1, std::vector<uint8_t>(32768));
      for (size_t b = 0; b < bufs.size(); b++) dev.post_recv(bufs[b].data(), bufs[b].size(), b);
      receivers_ready++;
      out.received.resize(sizes.size());
      size_t got = 0;
      auto collect = [&](const Completion &c) {
        out.completions.push_back(c);
        if (c.status != Status::kOk) return;
        got++;
        const std::vector<uint8_t> &b = bufs[c.wr_id];
        std::vector<uint8_t> data(b.begin(), b.begin() + (long)c.length);
        for (size_t m = 0; m < sizes.size(); m++)
          if (sizes[m] == c.length) out.received[m] = data;
      };
      while (got < sizes.size() && Clock::now() < deadline) {
        Completion c[8];
        int n = dev.poll(c, 8);
        for (int k = 0; k < n; k++) collect(c[k]);
        if (n == 0) dev.wait(50);
      }
      // Stay a while: the sender's completion needs this node's ACK; duplicates would show.
      auto quiet = Clock::now() + std::chrono::milliseconds(400);
      while (Clock::now() < quiet) {
        Completion c[8];
        int n = dev.poll(c, 8);
        for (int k = 0; k < n; k++) collect(c[k]);
        dev.wait(10);
      }
      dev.close(); // before the buffers are freed
    });
  }
  for (std::thread &t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  int code = sim->wait(60);
  EXPECT_EQ(code, 0) << sim->text();
  std::printf("[ sim %s ] 4 nodes, 3 messages: %.1f s wall\n", mode.c_str(), secs);

  for (int i = 0; i < kNodes; i++) ASSERT_EQ(res[(size_t)i].error, "") << "node " << i << "\n" << sim->text();
  const NodeResult &s = res[0];
  ASSERT_EQ(s.completions.size(), sizes.size()) << sim->text();
  std::set<uint64_t> wr;
  for (const Completion &c : s.completions) {
    EXPECT_EQ(c.status, Status::kOk) << status_name(c.status);
    EXPECT_EQ(c.opcode, Opcode::kSend);
    EXPECT_EQ(c.receivers, 3u);
    wr.insert(c.wr_id);
  }
  EXPECT_EQ(wr, (std::set<uint64_t>{100, 101, 102}));
  for (int i = 1; i < kNodes; i++) {
    const NodeResult &r = res[(size_t)i];
    ASSERT_EQ(r.completions.size(), sizes.size()) << "node " << i << ": exactly one delivery per message";
    for (const Completion &c : r.completions) {
      EXPECT_EQ(c.status, Status::kOk) << "node " << i << ": " << status_name(c.status);
      EXPECT_EQ(c.opcode, Opcode::kRecv);
      EXPECT_EQ(c.peer, 0);
    }
    for (size_t m = 0; m < sizes.size(); m++)
      EXPECT_TRUE(r.received[m] == pattern(sizes[m], (uint32_t)m + 1)) << "node " << i << " message " << m;
  }
  std::filesystem::remove_all(dir);
}

TEST(SimBackend, MulticastTreeMode) {
  run_multicast("tree");
}

TEST(SimBackend, MulticastPortMode) {
  run_multicast("port");
}

// ---- The end of the simulation -----------------------------------------------------------------

TEST(SimBackend, ByeCompletesOutstandingWorkAndFailsPosts) {
  std::string dir = make_temp_dir();
  std::vector<std::string> argv = {FANOUT_SIM_EXE,  "--serve", dir + "/sock",    "--nodes", "2",
                                   "--duration-us", "20",      "--serve-wait-s", "60"};
  Child sim(argv, dir + "/fanout-sim");
  std::vector<std::unique_ptr<Device>> devs(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> t;
  for (int i = 0; i < 2; i++)
    t.emplace_back([&, i] {
      OpenResult o = Device::open("sim:" + dir + "/sock?node=" + std::to_string(i));
      if (!o) errors[(size_t)i] = o.message;
      devs[(size_t)i] = std::move(o.device);
    });
  for (std::thread &th : t) th.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  std::vector<uint8_t> buf(64);
  ASSERT_EQ(devs[1]->post_recv(buf.data(), buf.size(), 7), Status::kOk);
  // Nobody sends: the receive completes when the simulation ends (BYE after 20 us).
  ASSERT_EQ(devs[1]->wait(60000), Status::kOk);
  Completion c;
  ASSERT_EQ(devs[1]->poll(&c, 1), 1);
  EXPECT_EQ(c.wr_id, 7u);
  EXPECT_EQ(c.status, Status::kClosed);
  EXPECT_EQ(devs[1]->post_recv(buf.data(), buf.size(), 8), Status::kClosed);
  EXPECT_NE(std::string(devs[1]->last_recv_error()).find("BYE"), std::string::npos) << devs[1]->last_recv_error();
  // Node 0 learns it too (posts fail with a clear message).
  auto deadline = Clock::now() + std::chrono::seconds(30);
  Status s = Status::kOk;
  const std::vector<NodeId> to = {1};
  while (Clock::now() < deadline) {
    s = devs[0]->post_send(to, buf.data(), 8, 1);
    if (s != Status::kOk) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(s, Status::kClosed) << devs[0]->last_send_error();
  devs.clear();
  EXPECT_EQ(sim.wait(30), 0) << sim.text();
  std::filesystem::remove_all(dir);
}

// The server dies (no BYE): outstanding work completes with kIoError, posts fail with it.
TEST(SimBackend, ServerGoneCompletesWithIoError) {
  std::string dir = make_temp_dir();
  std::unique_ptr<Child> sim = start_sim(dir, 2, {});
  std::vector<std::unique_ptr<Device>> devs(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> t;
  for (int i = 0; i < 2; i++)
    t.emplace_back([&, i] {
      OpenResult o = Device::open("sim:" + dir + "/sock?node=" + std::to_string(i));
      if (!o) errors[(size_t)i] = o.message;
      devs[(size_t)i] = std::move(o.device);
    });
  for (std::thread &th : t) th.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  std::vector<uint8_t> buf(64);
  ASSERT_EQ(devs[1]->post_recv(buf.data(), buf.size(), 9), Status::kOk);
  ::kill(sim->pid, SIGKILL);
  sim->wait(10);
  ASSERT_EQ(devs[1]->wait(30000), Status::kOk);
  Completion c;
  ASSERT_EQ(devs[1]->poll(&c, 1), 1);
  EXPECT_EQ(c.wr_id, 9u);
  EXPECT_EQ(c.status, Status::kIoError);
  EXPECT_EQ(devs[1]->post_recv(buf.data(), buf.size(), 10), Status::kIoError);
  EXPECT_NE(std::string(devs[1]->last_recv_error()).find("node1.sock"), std::string::npos)
      << devs[1]->last_recv_error();
  devs.clear();
  std::filesystem::remove_all(dir);
}

// ---- The same example binaries on both backends ------------------------------------------------

#if defined(HELLO_MULTICAST) && defined(MOE_DISPATCH)

// Every node's process with uri(i); all must exit 0.
void run_programs(const std::string &program, const std::vector<std::string> &args, int nodes,
                  const std::function<std::string(int)> &uri, const std::string &log_base, double seconds) {
  std::vector<std::unique_ptr<Child>> procs;
  for (int i = nodes - 1; i >= 0; i--) { // receivers first, the sender last
    std::vector<std::string> argv = {program, uri(i)};
    argv.insert(argv.end(), args.begin(), args.end());
    procs.push_back(std::make_unique<Child>(argv, log_base + std::to_string(i)));
  }
  for (size_t k = 0; k < procs.size(); k++) {
    Child &p = *procs[k];
    int node = nodes - 1 - (int)k;
    EXPECT_EQ(p.wait(seconds), 0) << p.text();
    std::string out = slurp(p.out_path);
    // What the programs print when every message arrived (host/examples/README.md).
    if (program == MOE_DISPATCH)
      EXPECT_NE(out.find("node " + std::to_string(node) + ": OK\n"), std::string::npos) << p.text();
    else if (node == 0)
      EXPECT_NE(out.find("node 0: 3 of 3 messages reached every receiver\n"), std::string::npos) << p.text();
    else
      EXPECT_NE(out.find("node " + std::to_string(node) + ": got 'hello from 0 #3' from node 0\n"), std::string::npos)
          << p.text();
  }
}

struct Program {
  std::string path;
  std::vector<std::string> args;
};

std::vector<Program> programs() {
  return {{HELLO_MULTICAST, {"--count", "3", "--timeout", "120"}},
          {MOE_DISPATCH, {"--experts", "8", "--tokens", "4", "--topk", "2", "--seed", "3", "--timeout", "120"}}};
}

TEST(SimBackend, ExamplesRunUnchangedOnUdpAndSim) {
  const int kNodes = 4;
  for (const Program &p : programs()) {
    std::string name = std::filesystem::path(p.path).filename().string();
    // udp: a loopback cluster.
    {
      std::string dir = make_temp_dir();
      std::vector<uint16_t> ports = free_udp_ports(kNodes);
      std::ostringstream y;
      y << "nodes:\n";
      for (int i = 0; i < kNodes; i++) y << "  - {id: " << i << ", address: 127.0.0.1:" << ports[(size_t)i] << "}\n";
      write_file(dir + "/cluster.yaml", y.str());
      auto t0 = Clock::now();
      run_programs(
          p.path, p.args, kNodes, [&](int i) { return "udp:" + dir + "/cluster.yaml?node=" + std::to_string(i); },
          dir + "/" + name + "-udp-", 120);
      std::printf("[ udp ] %s: %.1f s\n", name.c_str(), std::chrono::duration<double>(Clock::now() - t0).count());
      std::filesystem::remove_all(dir);
    }
    // sim: the same binary against fanout-sim --serve.
    {
      std::string dir = make_temp_dir();
      std::unique_ptr<Child> sim = start_sim(dir, kNodes, {});
      auto t0 = Clock::now();
      run_programs(
          p.path, p.args, kNodes, [&](int i) { return "sim:" + dir + "/sock?node=" + std::to_string(i); },
          dir + "/" + name + "-sim-", 240);
      EXPECT_EQ(sim->wait(60), 0) << sim->text();
      std::printf("[ sim ] %s: %.1f s\n", name.c_str(), std::chrono::duration<double>(Clock::now() - t0).count());
      if (!HasFailure()) std::filesystem::remove_all(dir);
    }
  }
}

#endif
#endif

} // namespace
} // namespace fanout::driver::test
