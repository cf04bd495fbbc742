// fanout-sim --serve (sim/serve.hpp): real clients, written here from the protocol header alone,
// drive a served cluster. fanout-sim runs as a child process; each client is a thread with its
// own socket, answering TICKs with DONE. Clients leave at a simulated time they agree on
// beforehand, so every run is the same run (the server is deterministic per round).
//
// Checked: a DATA frame posted once is replicated by the NICs (tree and port mode) to exactly its
// receivers, their ACKs come back as one aggregated ACK, and nothing is dropped; the run is
// repeatable to the picosecond; a client leaving early leaves the others running; malformed
// records are counted and dropped; bad flags exit 2 naming the flag.
#include "sim_test.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fanout/proto/packet.hpp"
#include "fanout/sim/serve.hpp"

namespace fanout {
namespace sim {
namespace {

namespace sv = fanout::sim::serve;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kUs = 1'000'000; // ps

// ---- fanout-sim as a child process --------------------------------------------------------------

struct Child {
  pid_t pid = -1;
  std::string out_path, err_path;
};

Child start_sim(const std::string &dir, const std::vector<std::string> &args) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + ".log");
  Child c;
  c.out_path = dir + ".log/stdout";
  c.err_path = dir + ".log/stderr";
  std::vector<std::string> argv = {FANOUT_SIM_EXE};
  argv.insert(argv.end(), args.begin(), args.end());
  c.pid = fork();
  if (c.pid == 0) {
    int out = open(c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char *> av;
    for (std::string &a : argv) av.push_back(a.data());
    av.push_back(nullptr);
    execv(av[0], av.data());
    _exit(127);
  }
  return c;
}

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Exit status of the child, or -1 (killed) when it has not ended within `seconds`.
int wait_sim(const Child &c, double seconds) {
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    int st = 0;
    pid_t r = waitpid(c.pid, &st, WNOHANG);
    if (r == c.pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (Clock::now() > deadline) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, &st, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The number after "key": in fanout-sim's JSON (first occurrence at or after `from`).
long long json_number(const std::string &json, const std::string &key, size_t from = 0) {
  size_t at = json.find("\"" + key + "\": ", from);
  if (at == std::string::npos) return -1;
  return std::stoll(json.substr(at + key.size() + 4));
}

// ---- A client of the serve protocol ---------------------------------------------------------------

struct Received {
  uint64_t at_ps;
  std::vector<uint8_t> bytes;
};

class TestClient {
 public:
  ~TestClient() {
    if (fd_ >= 0) close(fd_);
  }
  // Retries while fanout-sim has not made the socket yet.
  bool connect_to(const std::string &path, double seconds = 10) {
    auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < deadline) {
      fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
      if (connect(fd_, (const sockaddr *)&a, sizeof a) == 0) return true;
      close(fd_);
      fd_ = -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  void send_raw(const std::vector<uint8_t> &rec) {
    ASSERT_EQ(::send(fd_, rec.data(), rec.size(), MSG_NOSIGNAL), (ssize_t)rec.size()) << std::strerror(errno);
  }
  void send_frame(const std::vector<uint8_t> &frame) { send_raw(sv::frame_record(0, frame.data(), frame.size())); }
  void done(uint64_t now_ps) { send_raw(sv::done_record(now_ps)); }
  void leave() {
    close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }

  // The next record (kFrame, kTick, kBye, kHello), or 0 at end of file / error. A FRAME is kept.
  uint16_t next(uint64_t &time_ps) {
    std::vector<uint8_t> buf(sv::kMaxRecordBytes);
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 20000) <= 0) return 0; // the server always answers within the test's time
    ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) return 0;
    sv::Record r;
    EXPECT_EQ(sv::decode(buf.data(), (size_t)n, r), sv::kOk);
    time_ps = r.time_ps;
    if (r.type == sv::kHello) hello = r.hello;
    if (r.type == sv::kFrame)
      frames.push_back(Received{r.time_ps, std::vector<uint8_t>(r.frame, r.frame + r.frame_len)});
    if (r.type == sv::kTick || r.type == sv::kBye) {
      // The frames of a round arrived within it: T - q < at_ps <= T (the first round from 0).
      for (size_t i = round_start_; i < frames.size(); i++) {
        EXPECT_LE(frames[i].at_ps, r.time_ps);
        if (r.time_ps > hello.quantum_ps) {
          EXPECT_GT(frames[i].at_ps, last_tick_) << "tick " << r.time_ps;
        }
      }
      round_start_ = frames.size();
      last_tick_ = r.time_ps;
    }
    return r.type;
  }

  sv::Hello hello;
  std::vector<Received> frames; // every FRAME, PROBEs included

 private:
  int fd_ = -1;
  size_t round_start_ = 0; // frames before it arrived in earlier rounds
  uint64_t last_tick_ = 0;
};

// Frames as sim::Host builds them (sim/src/host.cpp).
std::vector<uint8_t> payload_of(uint32_t len) {
  std::vector<uint8_t> p(len);
  for (uint32_t i = 0; i < len; i++) p[i] = (uint8_t)(i * 7 + 3);
  return p;
}

std::vector<uint8_t> data_frame(proto::NodeId self, uint32_t msg, const std::vector<proto::NodeId> &to,
                                const std::vector<uint8_t> &payload) {
  proto::BasicReceiverSet<16> set;
  for (proto::NodeId n : to) set.append(n);
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, self, self, msg, 0, (uint32_t)payload.size());
  h.flags = proto::kFlagLast;
  proto::BuildOptions opt = proto::default_build_options();
  opt.udp_checksum = true;
  std::vector<uint8_t> out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(proto::cluster_net_headers(self, self, self, msg), h, set, payload.data(),
                               (uint32_t)payload.size(), opt, out.data(), (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return out;
}

std::vector<uint8_t> ack_frame(proto::NodeId self, proto::NodeId sender, uint32_t msg) {
  proto::BasicReceiverSet<1> set;
  set.append(self);
  proto::FanoutHeader h = proto::make_header(proto::kTypeAck, sender, self, msg, 1, 1);
  proto::BuildOptions opt = proto::default_build_options();
  opt.encoding = proto::kSetRanges;
  opt.udp_checksum = true;
  std::vector<uint8_t> out(proto::kFixedHeadersBytes + 16);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(proto::cluster_net_headers(self, self, sender, msg), h, set, nullptr, 0, opt, out.data(),
                               (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return out;
}

struct Parsed {
  bool ok = false;
  proto::ParsedPacket pk{};
  proto::BasicReceiverSet<64> set;
};

Parsed parse(const std::vector<uint8_t> &f) {
  Parsed p;
  p.ok = proto::parse_frame(f.data(), (uint32_t)f.size(), proto::default_parse_config(), p.pk, &p.set) == proto::kOk;
  return p;
}

// Frames of one Fanout type among what a client received (PROBEs and others left out).
std::vector<Received> of_type(const std::vector<Received> &frames, uint8_t type) {
  std::vector<Received> out;
  for (const Received &r : frames) {
    Parsed p = parse(r.bytes);
    if (p.ok && p.pk.hdr.type == type) out.push_back(r);
  }
  return out;
}

// One client's life: connect, HELLO, then per TICK: `on_tick(client, now)` (sends frames), DONE;
// leaves (closes) at the first TICK at or after leave_ps. Returns false on a protocol surprise.
struct Script {
  uint32_t node = 0;
  uint64_t leave_ps = 0;
  std::function<void(TestClient &, uint64_t)> on_tick;
};

void run_client(const std::string &dir, const Script &sc, TestClient &c, std::string &error) {
  if (!c.connect_to(sv::socket_path(dir, sc.node))) {
    error = "cannot connect";
    return;
  }
  uint64_t t = 0;
  if (c.next(t) != sv::kHello || c.hello.node != sc.node) {
    error = "no HELLO first";
    return;
  }
  for (;;) {
    uint16_t type = c.next(t);
    if (type == sv::kFrame) continue;
    if (type != sv::kTick) {
      error = "unexpected end (record type " + std::to_string(type) + ")";
      return;
    }
    if (t >= sc.leave_ps) {
      c.leave();
      return;
    }
    if (sc.on_tick) sc.on_tick(c, t);
    c.done(t);
  }
}

struct Session {
  std::vector<std::unique_ptr<TestClient>> clients;
  std::vector<std::string> errors;
  int status = -1;
  std::string out, err;
};

Session run_session(const std::string &dir, const std::vector<std::string> &args, const std::vector<Script> &scripts) {
  Session s;
  Child child = start_sim(dir, args);
  s.errors.resize(scripts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < scripts.size(); i++) s.clients.push_back(std::make_unique<TestClient>());
  for (size_t i = 0; i < scripts.size(); i++)
    threads.emplace_back([&, i] { run_client(dir, scripts[i], *s.clients[i], s.errors[i]); });
  for (std::thread &t : threads) t.join();
  s.status = wait_sim(child, 20);
  s.out = slurp(child.out_path);
  s.err = slurp(child.err_path);
  std::filesystem::remove_all(dir + ".log");
  std::filesystem::remove_all(dir);
  return s;
}

std::string test_dir(const char *name) {
  return ::testing::TempDir() + "fanout_serve_" + std::to_string(getpid()) + "_" + name;
}

// ---- 1, 2: one message through the NICs, one aggregated ACK back ----------------------------------

// Node 0 posts message 1 (1000 bytes) to {1, 2, 3} at t = 0; each receiver ACKs the DATA in the
// round it arrives; everyone leaves at 40 us.
Session one_message(const char *name, const std::string &mode) {
  std::string dir = test_dir(name);
  std::vector<uint8_t> payload = payload_of(1000);
  std::vector<Script> scripts;
  for (uint32_t n = 0; n < 4; n++) {
    Script sc;
    sc.node = n;
    sc.leave_ps = 40 * kUs;
    if (n == 0) {
      sc.on_tick = [payload](TestClient &c, uint64_t now) {
        if (now == 0) c.send_frame(data_frame(0, 1, {1, 2, 3}, payload));
      };
    } else {
      auto acked = std::make_shared<size_t>(0);
      sc.on_tick = [n, acked](TestClient &c, uint64_t) {
        std::vector<Received> data = of_type(c.frames, proto::kTypeData);
        for (; *acked < data.size(); (*acked)++) c.send_frame(ack_frame((proto::NodeId)n, 0, 1));
      };
    }
    scripts.push_back(sc);
  }
  return run_session(dir, {"--nodes", "4", "--mode", mode, "--serve", dir, "--serve-wait-s", "15", "--json"}, scripts);
}

void expect_one_message(const Session &s, const std::string &mode) {
  for (size_t i = 0; i < s.errors.size(); i++) EXPECT_EQ(s.errors[i], "") << "client " << i;
  ASSERT_EQ(s.status, 0) << s.err << s.out;
  std::vector<uint8_t> payload = payload_of(1000);
  for (uint32_t n = 0; n < 4; n++) {
    const TestClient &c = *s.clients[n];
    SCOPED_TRACE("node " + std::to_string(n));
    EXPECT_EQ(c.hello.nodes, 4u);
    EXPECT_EQ(c.hello.mode, mode == "port" ? sv::kModePort : sv::kModeTree);
    EXPECT_EQ(c.hello.quantum_ps, 1 * kUs);
    EXPECT_EQ(c.hello.kernel_period_ps, 3333u);
    EXPECT_EQ(c.hello.max_frame_bytes, 9014u);
    std::vector<Received> data = of_type(c.frames, proto::kTypeData);
    std::vector<Received> acks = of_type(c.frames, proto::kTypeAck);
    EXPECT_TRUE(of_type(c.frames, proto::kTypeNack).empty());
    if (n == 0) {
      EXPECT_TRUE(data.empty());
      ASSERT_EQ(acks.size(), 1u);
      Parsed p = parse(acks[0].bytes);
      EXPECT_EQ(p.pk.hdr.sender, 0);
      EXPECT_EQ(p.pk.hdr.message_id, 1u);
      EXPECT_EQ(p.pk.hdr.sequence, 1u);
      EXPECT_EQ(p.set.size(), 3u);
      for (proto::NodeId id : {1, 2, 3}) EXPECT_TRUE(p.set.contains(id)) << id;
      EXPECT_GT(acks[0].at_ps, 0u);
      EXPECT_LT(acks[0].at_ps, 40 * kUs);
    } else {
      EXPECT_TRUE(acks.empty());
      ASSERT_EQ(data.size(), 1u);
      Parsed p = parse(data[0].bytes);
      EXPECT_EQ(p.pk.hdr.sender, 0);
      EXPECT_EQ(p.pk.hdr.message_id, 1u);
      EXPECT_TRUE(p.pk.hdr.flags & proto::kFlagLast);
      EXPECT_TRUE(p.set.contains((proto::NodeId)n));
      ASSERT_EQ(p.pk.payload_len, 1000u);
      EXPECT_TRUE(std::equal(payload.begin(), payload.end(), data[0].bytes.begin() + p.pk.payload_offset));
    }
  }
  EXPECT_EQ(json_number(s.out, "total", s.out.find("\"drops\"")), 0) << s.out;
  EXPECT_EQ(json_number(s.out, "malformed_records"), 0);
  EXPECT_EQ(json_number(s.out, "frames_from_clients"), 4);
  EXPECT_NE(s.out.find("\"duration_reached\": false"), std::string::npos);
  EXPECT_EQ(json_number(s.out, "sim_time_ns"), 40000);
  // Every aggregator an ACK passes counts it: each receiver's NIC takes its host's ACK, then
  // tree: node 0's NIC merges the three; port: the top-of-rack node merges three, node 0's NIC one.
  if (mode == "tree") {
    EXPECT_EQ(json_number(s.out, "replicator_copies"), 3); // node 0's NIC: one copy per receiver (3 <= F)
    EXPECT_EQ(json_number(s.out, "acks_aggregated"), 3 + 3);
  } else {
    EXPECT_EQ(json_number(s.out, "replicator_copies"), 1); // to the top-of-rack node, which makes 3
    EXPECT_EQ(json_number(s.out, "switch_replicator_copies"), 3);
    EXPECT_EQ(json_number(s.out, "acks_aggregated"), 3 + 3 + 1);
  }
}

TEST(Serve, TreeModeOneMessageOneAggregatedAck) {
  FANOUT_SIM_OWN_WORLD();
  auto t0 = Clock::now();
  Session a = one_message("tree_a", "tree");
  expect_one_message(a, "tree");
  // Same client records, same rounds: the same frames at the same picoseconds.
  Session b = one_message("tree_b", "tree");
  for (uint32_t n = 0; n < 4; n++) {
    ASSERT_EQ(a.clients[n]->frames.size(), b.clients[n]->frames.size()) << "node " << n;
    for (size_t i = 0; i < a.clients[n]->frames.size(); i++) {
      EXPECT_EQ(a.clients[n]->frames[i].at_ps, b.clients[n]->frames[i].at_ps);
      EXPECT_EQ(a.clients[n]->frames[i].bytes, b.clients[n]->frames[i].bytes);
    }
  }
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 20);
}

TEST(Serve, PortModeOneMessageOneAggregatedAck) {
  FANOUT_SIM_OWN_WORLD();
  expect_one_message(one_message("port", "port"), "port");
}

// ---- 3: a client leaves early ---------------------------------------------------------------------

// Node 3 leaves at 5 us. Node 0 then posts to {1, 2} at 10 us and is ACKed; nodes 1 and 2 leave
// at 30 us, node 0 (the last) at 50 us: the run ends there.
TEST(Serve, ClientLeavingEarlyLeavesTheOthersRunning) {
  FANOUT_SIM_OWN_WORLD();
  std::string dir = test_dir("leave");
  std::vector<uint8_t> payload = payload_of(300);
  std::vector<Script> scripts(4);
  for (uint32_t n = 0; n < 4; n++) scripts[n].node = n;
  scripts[0].leave_ps = 50 * kUs;
  scripts[0].on_tick = [payload](TestClient &c, uint64_t now) {
    if (now == 10 * kUs) c.send_frame(data_frame(0, 7, {1, 2}, payload));
  };
  for (uint32_t n : {1u, 2u}) {
    scripts[n].leave_ps = 30 * kUs;
    auto acked = std::make_shared<size_t>(0);
    scripts[n].on_tick = [n, acked](TestClient &c, uint64_t) {
      std::vector<Received> data = of_type(c.frames, proto::kTypeData);
      for (; *acked < data.size(); (*acked)++) c.send_frame(ack_frame((proto::NodeId)n, 0, 7));
    };
  }
  scripts[3].leave_ps = 5 * kUs;
  Session s = run_session(dir, {"--nodes", "4", "--serve", dir, "--serve-wait-s", "15", "--json"}, scripts);
  for (size_t i = 0; i < s.errors.size(); i++) EXPECT_EQ(s.errors[i], "") << "client " << i;
  ASSERT_EQ(s.status, 0) << s.err;
  std::vector<Received> acks = of_type(s.clients[0]->frames, proto::kTypeAck);
  ASSERT_EQ(acks.size(), 1u);
  Parsed p = parse(acks[0].bytes);
  EXPECT_EQ(p.set.size(), 2u);
  EXPECT_GT(acks[0].at_ps, 10 * kUs);
  for (uint32_t n : {1u, 2u}) EXPECT_EQ(of_type(s.clients[n]->frames, proto::kTypeData).size(), 1u);
  EXPECT_EQ(json_number(s.out, "sim_time_ns"), 50000) << "the run ends when the last client leaves";
  EXPECT_NE(s.out.find("\"duration_reached\": false"), std::string::npos);
  // Node 3's client is reported gone from 5 us on; only frames for its host may be dropped
  // (heartbeats that reach it after it left).
  size_t node3 = s.out.find("\"node\": 3,", s.out.find("\"clients\""));
  ASSERT_NE(node3, std::string::npos);
  EXPECT_NE(s.out.find("\"left\": true", node3), std::string::npos);
  EXPECT_EQ(json_number(s.out, "left_at_ns", node3), 5000);
  long long total = json_number(s.out, "total", s.out.find("\"drops\""));
  EXPECT_EQ(total, json_number(s.out, "host_gone", s.out.find("\"drops\"")));
  EXPECT_EQ(s.err.find("dropped"), std::string::npos) << "leaving is not an error: " << s.err;
}

// ---- 4: malformed records ------------------------------------------------------------------------

// Node 0 sends six malformed records at t = 0 (each counted, logged, dropped), then posts a
// message at 2 us that node 1 receives: the run goes on.
TEST(Serve, MalformedRecordsAreCountedAndDropped) {
  FANOUT_SIM_OWN_WORLD();
  std::string dir = test_dir("malformed");
  std::vector<uint8_t> payload = payload_of(64);
  std::vector<Script> scripts(2);
  scripts[0].node = 0;
  scripts[0].leave_ps = 20 * kUs;
  scripts[0].on_tick = [payload](TestClient &c, uint64_t now) {
    if (now == 0) {
      std::vector<uint8_t> bad_magic = sv::done_record(0);
      bad_magic[0] ^= 0xFF;
      c.send_raw(bad_magic);
      c.send_raw({0x46, 0x53, 0x49, 0x4D}); // 4 bytes: shorter than a header
      std::vector<uint8_t> unknown = sv::done_record(0);
      sv::put16(unknown.data() + 6, 9);
      c.send_raw(unknown);
      c.send_raw(sv::tick_record(0));   // the server's record
      c.send_raw(sv::done_record(123)); // DONE for a time no TICK had
      std::vector<uint8_t> tiny(sv::kFrameHeaderBytes + 5, 0);
      sv::put_header(tiny.data(), sv::kFrame);
      c.send_raw(tiny); // a 5-byte frame
    }
    if (now == 2 * kUs) c.send_frame(data_frame(0, 3, {1}, payload));
  };
  scripts[1].node = 1;
  scripts[1].leave_ps = 20 * kUs;
  Session s = run_session(dir, {"--nodes", "2", "--serve", dir, "--serve-wait-s", "15", "--json"}, scripts);
  for (size_t i = 0; i < s.errors.size(); i++) EXPECT_EQ(s.errors[i], "") << "client " << i;
  ASSERT_EQ(s.status, 0) << s.err;
  std::vector<Received> data = of_type(s.clients[1]->frames, proto::kTypeData);
  ASSERT_EQ(data.size(), 1u);
  EXPECT_GE(data[0].at_ps, 2 * kUs);
  EXPECT_EQ(json_number(s.out, "malformed_records"), 6) << s.out;
  for (const char *reason :
       {"bad_magic", "short_record", "unknown_type", "wrong_direction", "unexpected_done", "frame_too_short"}) {
    EXPECT_EQ(json_number(s.out, reason, s.out.find("\"malformed\": {")), 1) << reason;
    EXPECT_NE(s.err.find(std::string("node 0: malformed record dropped: ") + reason), std::string::npos)
        << reason << "\n"
        << s.err;
  }
  EXPECT_EQ(json_number(s.out, "frames_from_clients"), 1);
}

// ---- The duration, an absent client, a silent one ------------------------------------------------

// Nodes 0, 1, 2 served with a 0.5 s wait: node 1 never connects (its host is absent), node 2
// connects but never answers (dropped after 0.5 s), node 0 answers every TICK until the 5 us
// duration: then BYE, and end of file after it (not a reset).
TEST(Serve, DurationEndsWithByeAbsentAndSilentClients) {
  FANOUT_SIM_OWN_WORLD();
  std::string dir = test_dir("bye");
  Child child = start_sim(dir, {"--nodes", "4", "--serve", dir, "--serve-nodes", "0-2", "--serve-wait-s", "0.5",
                                "--duration-us", "5", "--quantum-ns", "2000", "--json"});
  TestClient c0, c2;
  ASSERT_TRUE(c0.connect_to(sv::socket_path(dir, 0)));
  ASSERT_TRUE(c2.connect_to(sv::socket_path(dir, 2)));
  uint64_t t = 0;
  std::vector<uint64_t> ticks;
  uint16_t type;
  while ((type = c0.next(t)) != 0 && type != sv::kBye) {
    if (type == sv::kHello) {
      EXPECT_EQ(c0.hello.end_ps, 5 * kUs);
      EXPECT_EQ(c0.hello.quantum_ps, 2 * kUs);
    }
    if (type != sv::kTick) continue;
    ticks.push_back(t);
    c0.done(t);
  }
  EXPECT_EQ(type, sv::kBye);
  EXPECT_EQ(t, 5 * kUs);
  EXPECT_EQ(ticks, (std::vector<uint64_t>{0, 2 * kUs, 4 * kUs})); // the last quantum is cut to the duration
  char buf[64];
  EXPECT_EQ(recv(c0.fd(), buf, sizeof buf, 0), 0) << std::strerror(errno);
  c0.leave();
  EXPECT_EQ(wait_sim(child, 20), 0);
  std::string out = slurp(child.out_path), err = slurp(child.err_path);
  std::filesystem::remove_all(dir + ".log");
  EXPECT_NE(out.find("\"duration_reached\": true"), std::string::npos) << out;
  EXPECT_EQ(json_number(out, "sim_time_ns"), 5000);
  EXPECT_NE(err.find("node 1: no client connected within 0.5 s"), std::string::npos) << err;
  EXPECT_NE(err.find("node 2: no DONE for TICK(0 ps) within 0.5 s"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(sv::socket_path(dir, 0))) << "sockets are removed at the end";
  std::filesystem::remove_all(dir);
}

// ---- 5: bad flags ---------------------------------------------------------------------------------

struct CliRun {
  int status = -1;
  std::string err;
};

CliRun run_cli(const std::string &dir, const std::vector<std::string> &args) {
  Child c = start_sim(dir, args);
  CliRun r;
  r.status = wait_sim(c, 10);
  r.err = slurp(c.err_path);
  std::filesystem::remove_all(dir + ".log");
  std::filesystem::remove_all(dir);
  return r;
}

TEST(Serve, BadFlagsExitTwoNamingTheFlag) {
  FANOUT_SIM_OWN_WORLD();
  std::string dir = test_dir("flags");
  struct Case {
    std::vector<std::string> args;
    const char *names;
  };
  std::vector<Case> cases = {
      {{"--nodes", "4", "--serve", dir, "--quantum-ns", "0"}, "--quantum-ns"},
      {{"--nodes", "4", "--serve", dir, "--serve-nodes", "99"}, "--serve-nodes"},
      {{"--nodes", "4", "--serve", dir, "--serve-nodes", "1,x"}, "--serve-nodes"},
      {{"--nodes", "4", "--serve", dir, "--serve-wait-s", "-1"}, "--serve-wait-s"},
      {{"--nodes", "4", "--quantum-ns", "100"}, "--quantum-ns: only with --serve"},
      {{"--nodes", "4", "--serve", dir + "/" + std::string(120, 'd')}, "--serve"},
  };
  for (const Case &c : cases) {
    CliRun r = run_cli(dir, c.args);
    EXPECT_EQ(r.status, 2) << c.names << ": " << r.err;
    EXPECT_EQ(r.err.rfind("fanout-sim: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.names), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

} // namespace
} // namespace sim
} // namespace fanout
