// Multi-process on loopback: N processes of fanout_driver_node, each opening udp:<file>?node=i.
// Exactly once is checked from the checksums each process reports on its stdout; a process killed
// mid-message (SIGKILL, as a crash) is named in the sender's partial failure.
#include "driver_test_util.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <sstream>

namespace fanout::driver::test {
namespace {

using namespace std::chrono_literals;

// A child process with a pipe to its stdin and one from its stdout.
class Child {
 public:
  explicit Child(const std::vector<std::string> &args) {
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::close(in[1]);
      ::close(out[0]);
      std::vector<char *> argv;
      for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
  }
  ~Child() {
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void say(const std::string &line) {
    std::string l = line + "\n";
    ssize_t r = ::write(to_, l.data(), l.size());
    (void)r;
  }
  // Next line of output, or "" on end of file / timeout.
  std::string line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        lines_.push_back(l);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{from_, POLLIN, 0};
      if (::poll(&p, 1, (int)left.count()) <= 0) continue;
      char chunk[4096];
      ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n <= 0) return "";
      buf_.append(chunk, (size_t)n);
    }
  }
  // Lines until one equal to `last` (included); false on timeout or end of output.
  bool read_until(const std::string &last, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      std::string l = line(left);
      if (l == last) return true;
      if (l.empty() && eof()) return false;
    }
  }
  bool eof() {
    pollfd p{from_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char c;
    return ::recv(from_, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0 || (p.revents & POLLHUP);
  }
  int wait_exit() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }
  const std::vector<std::string> &lines() const { return lines_; }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  bool reaped_ = false;
  std::string buf_;
  std::vector<std::string> lines_;
};

struct RecvLine {
  uint32_t peer, message_id;
  uint64_t length, sum;
};

struct Report {
  std::map<uint64_t, std::pair<std::string, uint32_t>> sends; // wr_id -> (status, message id)
  std::map<uint64_t, std::string> failed;                     // wr_id -> failed ids
  std::vector<RecvLine> recvs;
};

Report parse(const std::vector<std::string> &lines) {
  Report r;
  for (const std::string &l : lines) {
    std::istringstream in(l);
    std::string kind;
    in >> kind;
    if (kind == "send") {
      uint64_t wr;
      std::string status, failed;
      uint32_t id;
      in >> wr >> status >> id >> failed;
      r.sends[wr] = {status, id};
      r.failed[wr] = failed;
    } else if (kind == "recv") {
      RecvLine x{};
      in >> x.peer >> x.message_id >> x.length >> x.sum;
      r.recvs.push_back(x);
    }
  }
  return r;
}

std::vector<std::string> node_args(const TestCluster &c, int i, const std::string &send_to, uint32_t messages,
                                   uint64_t size_max, uint64_t expect, const std::vector<std::string> &extra = {}) {
  std::vector<std::string> a{FANOUT_DRIVER_NODE_EXE,
                             "--uri",
                             c.uri(i),
                             "--send-to",
                             send_to,
                             "--messages",
                             std::to_string(messages),
                             "--size-max",
                             std::to_string(size_max),
                             "--expect-recv",
                             std::to_string(expect)};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

uint64_t size_of(uint32_t node, uint32_t j, uint64_t size_max) {
  return (j * 7919ull * 13 + node * 131ull) % size_max + 1; // as node_main.cpp
}

TEST(MultiProcess, ExactlyOnceAcrossProcesses) {
  const int n = 5;
  const uint32_t messages = 6;
  const uint64_t size_max = 300000;
  TestCluster c = TestCluster::make(n, "{fanout: 2}");
  std::vector<std::unique_ptr<Child>> kids;
  for (int i = 0; i < n; i++) {
    std::string to;
    for (int j = 0; j < n; j++)
      if (j != i) to += (to.empty() ? "" : ",") + std::to_string(j);
    kids.push_back(std::make_unique<Child>(node_args(c, i, to, messages, size_max, (n - 1) * messages)));
  }
  for (auto &k : kids) ASSERT_EQ(k->line(10s), "ready");
  for (auto &k : kids) k->say("go");
  for (int i = 0; i < n; i++) ASSERT_TRUE(kids[(size_t)i]->read_until("done", 30s)) << "node " << i;
  for (auto &k : kids) k->say("quit");
  std::vector<Report> reports;
  for (int i = 0; i < n; i++) {
    int status = kids[(size_t)i]->wait_exit();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "node " << i;
    reports.push_back(parse(kids[(size_t)i]->lines()));
  }
  for (int s = 0; s < n; s++) {
    ASSERT_EQ(reports[(size_t)s].sends.size(), messages) << "node " << s;
    for (uint32_t j = 0; j < messages; j++) {
      const auto &sent = reports[(size_t)s].sends[j];
      EXPECT_EQ(sent.first, "ok") << "node " << s << " message " << j;
      uint64_t len = size_of((uint32_t)s, j, size_max);
      std::vector<uint8_t> m = message(len, (uint32_t)s, j);
      uint64_t sum = checksum(m.data(), len);
      for (int r = 0; r < n; r++) {
        if (r == s) continue;
        int copies = 0;
        for (const RecvLine &x : reports[(size_t)r].recvs) {
          if (x.peer != (uint32_t)s || x.message_id != sent.second) continue;
          copies++;
          EXPECT_EQ(x.length, len);
          EXPECT_EQ(x.sum, sum) << "node " << r << " got message " << j << " of " << s << " altered";
        }
        EXPECT_EQ(copies, 1) << "node " << r << ", message " << j << " of node " << s;
      }
    }
  }
  for (int r = 0; r < n; r++) EXPECT_EQ(reports[(size_t)r].recvs.size(), (size_t)(n - 1) * messages);
}

TEST(MultiProcess, KilledReceiverIsNamedInThePartialFailure) {
  const uint64_t len = 16 << 20;
  TestCluster c = TestCluster::make(4, "{fanout: 4, failure_timeout_us: 300000, rto_us: 10000, rto_max_us: 50000}");
  std::vector<std::unique_ptr<Child>> kids;
  const std::vector<std::string> fixed{"--size", std::to_string(len)};
  kids.push_back(std::make_unique<Child>(node_args(c, 0, "1,2,3", 1, len, 0, fixed)));
  for (int i = 1; i <= 3; i++) {
    std::vector<std::string> extra;
    if (i == 2) extra = {"--die-after-packets", "3000"};
    kids.push_back(std::make_unique<Child>(node_args(c, i, "", 0, len, 1, extra)));
  }
  for (auto &k : kids) ASSERT_EQ(k->line(10s), "ready");
  for (auto &k : kids) k->say("go");
  int victim = kids[2]->wait_exit();
  EXPECT_TRUE(WIFSIGNALED(victim) && WTERMSIG(victim) == SIGKILL);
  for (int i : {0, 1, 3}) ASSERT_TRUE(kids[(size_t)i]->read_until("done", 20s)) << "node " << i;
  for (int i : {0, 1, 3}) kids[(size_t)i]->say("quit");
  Report sender = parse(kids[0]->lines());
  ASSERT_EQ(sender.sends.size(), 1u);
  EXPECT_EQ(sender.sends[0].first, "partial_failure");
  EXPECT_EQ(sender.failed[0], "2");
  std::vector<uint8_t> m = message(len, 0, 0);
  uint64_t sum = checksum(m.data(), len);
  for (int i : {1, 3}) {
    Report r = parse(kids[(size_t)i]->lines());
    ASSERT_EQ(r.recvs.size(), 1u) << "node " << i;
    EXPECT_EQ(r.recvs[0].message_id, sender.sends[0].second);
    EXPECT_EQ(r.recvs[0].sum, sum) << "node " << i;
  }
  for (int i : {0, 1, 3}) kids[(size_t)i]->wait_exit();
}

} // namespace
} // namespace fanout::driver::test
