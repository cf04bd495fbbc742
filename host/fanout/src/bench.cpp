// `fanout bench`: message rate, delivered throughput and completion latency of Fanout against
// naive unicast fan-out, over the same device and sockets in the same run. For each k, the
// sender keeps W messages in flight to the first k receivers, first as one post per message to
// all k (Fanout), then as k one-receiver posts per message, a message counted complete when all
// k of its posts completed (unicast). `--local N` makes a one-command run on 127.0.0.1: a
// temporary cluster file and N-1 forked receiver processes.
#include "fanout/cli/cli.hpp"
#include "xfer_util.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <ostream>
#include <thread>

namespace fanout {
namespace cli {

using namespace xfer;
using driver::Completion;
using driver::Device;
using driver::DeviceOptions;
using driver::Opcode;
using driver::Status;

namespace {

constexpr const char *kBenchUsage =
    "usage: fanout bench (--local N | --uri URI) [--bytes B] [--k LIST] [--seconds S] [--messages M]\n"
    "                    [--inflight W] [--sender ID] [--fanout F] [--mtu M]\n"
    "  The sender posts B-byte messages (default 64K; suffixes K, M) to k receivers, k swept over LIST\n"
    "  (default 1..N-1, e.g. 1,3,7), W in flight (default 16), for S seconds (default 1) or M messages\n"
    "  per run, and prints per k the message rate, the payload throughput delivered to all k receivers\n"
    "  and the completion latency (p50/p90/p99) of Fanout (one post to k receivers) beside unicast\n"
    "  fan-out (k one-receiver posts per message, complete when all k complete).\n"
    "  --local N: N processes on 127.0.0.1: a temporary cluster file (with --fanout F, --mtu M), this\n"
    "  process the sender (node 0), N-1 forked receivers.\n"
    "  --uri URI: run the same command on every node of the cluster file; the sender (--sender ID,\n"
    "  default the file's first node) measures, the others receive until it is done.\n";

constexpr char kDataMagic[8] = {'F', 'O', 'B', 'E', 'N', 'C', 'H', 'D'};
constexpr char kEndMagic[8] = {'F', 'O', 'B', 'E', 'N', 'C', 'H', 'E'}; // the sender is done: receivers leave
constexpr uint64_t kReceiverMemory = 64ull << 20;                       // receive buffers per receiver
constexpr int kMaxLocalNodes = 64;

// Receive buffers per receiver: enough for the sender's window, within kReceiverMemory.
uint64_t receive_buffers(uint64_t bytes) {
  return std::clamp<uint64_t>(kReceiverMemory / std::max<uint64_t>(bytes, 1), 4, DeviceOptions{}.recv_queue_depth);
}

// A receiver: keeps buffers posted, counts messages, leaves on the sender's END message.
int bench_receive(Device &dev, uint64_t bytes, const std::string &prefix, std::ostream *out, std::ostream &err) {
  InterruptGuard interrupt;
  const uint64_t nbuf = receive_buffers(bytes);
  const uint64_t cap = std::max<uint64_t>(bytes, sizeof kEndMagic);
  std::vector<uint8_t> mem(nbuf * cap);
  CloseAtExit closer{dev};
  for (uint64_t b = 0; b < nbuf; b++) dev.post_recv(mem.data() + b * cap, cap, b);
  uint64_t messages = 0, total = 0;
  while (!InterruptGuard::interrupted()) {
    Completion c[64];
    int n = dev.poll(c, 64);
    for (int i = 0; i < n; i++) {
      uint8_t *p = mem.data() + c[i].wr_id * cap;
      if (c[i].status == Status::kBufferTooSmall) {
        err << prefix << "node " << dev.node_id() << ": a " << c[i].length
            << "-byte message does not fit: give every node the sender's --bytes\n";
        return kExitCheckFailed;
      }
      if (c[i].status != Status::kOk) {
        err << prefix << "node " << dev.node_id() << ": receive: " << driver::status_name(c[i].status) << "\n";
        return kExitCheckFailed;
      }
      if (c[i].length == sizeof kEndMagic && std::memcmp(p, kEndMagic, sizeof kEndMagic) == 0) {
        if (out) *out << "node " << dev.node_id() << ": received " << messages << " messages, " << total << " bytes\n";
        linger(dev);
        return kExitOk;
      }
      messages++;
      total += c[i].length;
      dev.post_recv(p, cap, c[i].wr_id);
    }
    if (n == 0) dev.wait(100);
  }
  return kExitOk;
}

struct Phase {
  uint64_t messages = 0;
  uint64_t failed = 0;
  double seconds = 0;
  std::vector<double> latency_us; // sorted (a sample of at most LatencySample::kCap)
  uint64_t datagrams = 0;         // sent by the sender during the run
  uint64_t retransmitted = 0;
};

struct RunLimits {
  double seconds;
  uint64_t messages; // 0: no limit
  uint64_t inflight;
};

// One run: W logical messages in flight to rcv, as one post each (Fanout) or one post per
// receiver (unicast, all k posts of a message carry its slot as wr_id).
Phase run_phase(Device &dev, const std::vector<NodeId> &rcv, bool unicast, const std::vector<uint8_t> &msg,
                const RunLimits &lim, std::string *error) {
  Phase ph;
  const driver::DeviceStats before = dev.stats();
  std::vector<Clock::time_point> posted_at(lim.inflight);
  std::vector<uint32_t> remaining(lim.inflight, 0);
  std::vector<uint64_t> free_slots;
  for (uint64_t s = lim.inflight; s-- > 0;) free_slots.push_back(s);
  LatencySample latency;
  uint64_t posted = 0;
  bool stop = false;
  const auto start = Clock::now();
  auto last = start;
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(lim.seconds));
  while (true) {
    const auto now = Clock::now();
    if (now >= until || (lim.messages && posted >= lim.messages)) stop = true;
    while (!stop && !free_slots.empty()) {
      uint64_t slot = free_slots.back();
      free_slots.pop_back();
      posted_at[slot] = Clock::now();
      remaining[slot] = unicast ? (uint32_t)rcv.size() : 1;
      for (size_t j = 0; j < (unicast ? rcv.size() : 1); j++) {
        Status s = unicast ? dev.post_send({rcv[j]}, msg.data(), msg.size(), slot)
                           : dev.post_send(rcv, msg.data(), msg.size(), slot);
        if (s != Status::kOk) {
          *error = std::string("post_send: ") + driver::status_name(s) + ": " + dev.last_send_error();
          return ph;
        }
      }
      if (lim.messages && ++posted >= lim.messages) stop = true;
    }
    if (stop && free_slots.size() == lim.inflight) break;
    Completion c[64];
    int n = dev.poll(c, 64);
    for (int i = 0; i < n; i++) {
      uint64_t slot = c[i].wr_id;
      if (c[i].status != Status::kOk) ph.failed++;
      if (--remaining[slot] > 0) continue;
      last = Clock::now();
      latency.add(std::chrono::duration<double, std::micro>(last - posted_at[slot]).count());
      ph.messages++;
      free_slots.push_back(slot);
    }
    if (n == 0) dev.wait(100);
  }
  ph.seconds = std::chrono::duration<double>(last - start).count();
  ph.latency_us = latency.sorted();
  const driver::DeviceStats after = dev.stats();
  ph.datagrams = after.datagrams_sent - before.datagrams_sent;
  ph.retransmitted = after.retx_copies_sent - before.retx_copies_sent;
  return ph;
}

// Every receiver answers before the sweep starts (receivers may still be starting up): a small
// message to each, repeated for those that did not acknowledge, for up to `patience` seconds.
bool wait_for_receivers(Device &dev, const std::vector<NodeId> &all, double patience, std::string *error) {
  static const char ready[8] = {'F', 'O', 'B', 'E', 'N', 'C', 'H', 'R'};
  std::vector<NodeId> left = all;
  auto start = Clock::now();
  while (!left.empty()) {
    if (dev.post_send(left, ready, sizeof ready, 0) != Status::kOk) {
      *error = std::string("post_send: ") + dev.last_send_error();
      return false;
    }
    Completion c;
    while (dev.poll(&c, 1) == 0) dev.wait(100);
    if (c.status == Status::kOk) return true;
    std::vector<NodeId> failed;
    dev.failed_receivers(c.message_id, &failed);
    if (c.status != Status::kPartialFailure || failed.empty() || elapsed_s(start) > patience) {
      *error = "receivers " + id_list(failed.empty() ? left : failed) + " did not answer (" +
               driver::status_name(c.status) + ")";
      return false;
    }
    left = failed;
  }
  return true;
}

void print_phase(std::ostream &out, const Phase &p, uint64_t bytes, size_t k) {
  char line[128];
  double rate = p.seconds > 0 ? (double)p.messages / p.seconds : 0;
  std::snprintf(line, sizeof line, " %9.0f %7.3f %8.0f %8.0f %8.0f %8.1f |", rate,
                rate * (double)bytes * (double)k * 8 / 1e9, percentile(p.latency_us, 50), percentile(p.latency_us, 90),
                percentile(p.latency_us, 99), p.messages ? (double)p.datagrams / (double)p.messages : 0.0);
  out << line;
}

struct SweepOptions {
  uint64_t bytes;
  std::vector<uint64_t> ks;
  RunLimits lim;
  std::string where; // "8 nodes on 127.0.0.1"
};

int bench_send(Device &dev, const std::vector<NodeId> &receivers, const SweepOptions &o, const std::string &prefix,
               std::ostream &out, std::ostream &err) {
  std::string error;
  if (!wait_for_receivers(dev, receivers, 10, &error)) {
    err << prefix << error << "\n";
    return kExitCheckFailed;
  }
  std::vector<uint8_t> msg(o.bytes);
  fill_pattern(msg.data(), msg.size(), 7);
  if (msg.size() >= sizeof kDataMagic) std::memcpy(msg.data(), kDataMagic, sizeof kDataMagic);
  CloseAtExit closer{dev};
  const driver::TransportOptions &t = dev.cluster().transport;
  std::vector<NodeId> one{receivers[0]};
  char line[256];
  out << "fanout bench: " << dev.backend_name() << " backend, " << o.where << ", sender node " << dev.node_id() << ", "
      << o.bytes << "-byte messages, " << o.lim.inflight << " in flight, ";
  if (o.lim.messages)
    out << o.lim.messages << " messages";
  else
    out << o.lim.seconds << " s";
  out << " per run\n  mtu " << t.mtu << " (" << dev.packet_payload(one) << " payload bytes per packet), tree fan-out "
      << t.fanout << ", window " << t.window << " packets\n"
      << "  Gb/s: payload delivered to all k receivers; p50/p90/p99: microseconds from post to completion\n"
      << "  (all k have the message); tx/msg: datagrams the sender sent per message; x: Fanout msg/s over "
         "unicast's\n\n";
  const std::string cols = "     msg/s    Gb/s   p50 us   p90 us   p99 us   tx/msg |";
  auto centred = [&](const std::string &title) {
    size_t w = cols.size() - 1, pad = w > title.size() ? w - title.size() : 0;
    return std::string(pad / 2, ' ') + title + std::string(pad - pad / 2, ' ') + "|";
  };
  out << "     |" << centred("Fanout: one post to k receivers") << centred("unicast fan-out: k one-receiver posts")
      << "\n   k |" << cols << cols << "      x\n"
      << std::flush;
  bool all_ok = true;
  uint64_t retransmitted = 0;
  for (uint64_t k : o.ks) {
    std::vector<NodeId> rcv(receivers.begin(), receivers.begin() + (long)k);
    Phase result[2];
    for (int mode = 0; mode < 2; mode++) {
      RunLimits warm{o.lim.seconds, o.lim.inflight, o.lim.inflight}; // not measured: fills queues and caches
      run_phase(dev, rcv, mode == 1, msg, warm, &error);
      if (error.empty()) result[mode] = run_phase(dev, rcv, mode == 1, msg, o.lim, &error);
      if (!error.empty()) {
        err << prefix << error << "\n";
        return kExitCheckFailed;
      }
      if (result[mode].failed) all_ok = false;
      retransmitted += result[mode].retransmitted;
    }
    std::snprintf(line, sizeof line, "%4llu |", (unsigned long long)k);
    out << line;
    print_phase(out, result[0], o.bytes, k);
    print_phase(out, result[1], o.bytes, k);
    double r0 = result[0].seconds > 0 ? (double)result[0].messages / result[0].seconds : 0;
    double r1 = result[1].seconds > 0 ? (double)result[1].messages / result[1].seconds : 0;
    std::snprintf(line, sizeof line, " %5.2fx", r1 > 0 ? r0 / r1 : 0.0);
    out << line;
    if (result[0].failed || result[1].failed)
      out << "  (" << result[0].failed + result[1].failed << " sends not acknowledged by every receiver)";
    out << "\n" << std::flush;
  }
  out << "\n  retransmitted datagrams over all runs: " << retransmitted << "\n";
  // Receivers leave on END; a receiver that does not acknowledge it is already gone.
  if (dev.post_send(receivers, kEndMagic, sizeof kEndMagic, 0) == Status::kOk) {
    Completion c;
    while (dev.poll(&c, 1) == 0) dev.wait(100);
  }
  if (!all_ok) err << prefix << "some sends were not acknowledged by every receiver\n";
  return all_ok ? kExitOk : kExitCheckFailed;
}

// Ports the kernel hands out on 127.0.0.1, all distinct (each held until all are chosen).
bool free_udp_ports(int n, std::vector<uint16_t> *ports) {
  std::vector<int> fds;
  bool ok = true;
  for (int i = 0; i < n && ok; i++) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 &&
         ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0;
    if (fd >= 0) fds.push_back(fd);
    if (ok) ports->push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ok;
}

// The temporary cluster of --local: its folder goes away with it.
struct LocalCluster {
  std::string dir, path;
  ~LocalCluster() {
    if (!path.empty()) ::unlink(path.c_str());
    if (!dir.empty()) ::rmdir(dir.c_str());
  }
  std::string uri(int node) const { return "udp:" + path + "?node=" + std::to_string(node); }
};

bool write_local_cluster(int n, uint64_t fanout, uint64_t mtu, LocalCluster *c, std::string *error) {
  char tmpl[] = "/tmp/fanout-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    *error = std::string("mkdtemp: ") + std::strerror(errno);
    return false;
  }
  c->dir = tmpl;
  std::vector<uint16_t> ports;
  if (!free_udp_ports(n, &ports)) {
    *error = std::string("no free UDP ports on 127.0.0.1: ") + std::strerror(errno);
    return false;
  }
  c->path = c->dir + "/cluster.yaml";
  std::ofstream f(c->path);
  f << "# fanout bench --local " << n << "\nnodes:\n";
  for (int i = 0; i < n; i++) f << "  - {id: " << i << ", address: 127.0.0.1:" << ports[(size_t)i] << "}\n";
  std::string transport;
  if (fanout) transport += "fanout: " + std::to_string(fanout);
  if (mtu) transport += (transport.empty() ? "" : ", ") + std::string("mtu: ") + std::to_string(mtu);
  if (!transport.empty()) f << "transport: {" << transport << "}\n";
  f.close();
  if (!f) {
    *error = "writing " + c->path + " failed";
    return false;
  }
  return true;
}

// Waits for the forked receivers; those still running after a grace period are killed.
bool reap_children(const std::vector<pid_t> &pids, double grace_s) {
  bool ok = true;
  auto start = Clock::now();
  for (pid_t pid : pids) {
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid, &status, WNOHANG)) == 0 && elapsed_s(start) < grace_s)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (r == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ok = false;
    } else if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ok = false;
    }
  }
  return ok;
}

} // namespace

int run_bench(const std::vector<std::string> &args, std::ostream &out, std::ostream &err) {
  const std::string prefix = "fanout bench: ";
  Options o;
  std::string e = o.parse(args, {{"--uri", true},
                                 {"--local", true},
                                 {"--bytes", true},
                                 {"--k", true},
                                 {"--seconds", true},
                                 {"--messages", true},
                                 {"--inflight", true},
                                 {"--sender", true},
                                 {"--fanout", true},
                                 {"--mtu", true}});
  if (o.help()) {
    out << kBenchUsage;
    return kExitOk;
  }
  uint64_t local = 0, bytes = 0, messages = 0, inflight = 0, sender = 0, fanout = 0, mtu = 0;
  double seconds = 0;
  if (e.empty() && o.has("--uri") == o.has("--local"))
    e = o.has("--uri") ? "option --local: give either --uri or --local"
                       : "option --uri or --local is required (e.g. --local 8)";
  if (e.empty()) e = o.number("--local", 2, kMaxLocalNodes, 0, &local);
  if (e.empty()) e = o.number("--bytes", 0, 64ull << 20, 64 << 10, &bytes, true);
  if (e.empty()) e = o.seconds("--seconds", 3600, 1, &seconds);
  if (e.empty()) e = o.number("--messages", 1, 1ull << 40, 0, &messages);
  if (e.empty()) e = o.number("--inflight", 1, 1024, 16, &inflight);
  if (e.empty()) e = o.number("--sender", 0, 65535, 0, &sender);
  if (e.empty()) e = o.number("--fanout", 2, 16, 0, &fanout);
  if (e.empty()) e = o.number("--mtu", 576, 9000, 0, &mtu);
  if (e.empty() && local && o.has("--sender")) e = "option --sender: only with --uri (--local's sender is node 0)";
  if (e.empty() && !local && (o.has("--fanout") || o.has("--mtu")))
    e = std::string("option ") + (o.has("--fanout") ? "--fanout" : "--mtu") +
        ": only with --local (with --uri the cluster file's transport section sets it)";
  std::vector<uint64_t> ks;
  if (e.empty() && local && o.has("--k")) e = parse_number_list("--k", o.text("--k"), 1, local - 1, &ks);
  if (!e.empty()) {
    err << prefix << e << "\n";
    return kExitUsage;
  }
  // Receivers hold a bounded number of buffers: more in flight would only be dropped and repeated.
  inflight = std::min(inflight, receive_buffers(bytes));
  SweepOptions sweep{bytes, ks, RunLimits{seconds, messages, inflight}, ""};

  if (!local) {
    std::unique_ptr<Device> dev;
    // Unicast posts k sends per message: room for W messages to up to 1023 receivers.
    DeviceOptions dopt;
    dopt.send_queue_depth = (uint32_t)std::min<uint64_t>(inflight * 1024 + 16, 1u << 20);
    int code = open_device(o.text("--uri"), dopt, prefix, err, &dev);
    if (code >= 0) return code;
    const driver::ClusterConfig &cluster = dev->cluster();
    NodeId sender_id = o.has("--sender") ? (NodeId)sender : cluster.nodes.front().id;
    if (!cluster.find(sender_id)) {
      err << prefix << "option --sender: node " << sender << " is not in " << cluster.origin << "\n";
      return kExitUsage;
    }
    if (dev->node_id() != sender_id) return bench_receive(*dev, bytes, prefix, &out, err);
    std::vector<NodeId> receivers;
    for (const driver::NodeAddress &n : cluster.nodes)
      if (n.id != sender_id) receivers.push_back(n.id);
    if (receivers.empty()) {
      err << prefix << "option --uri: " << cluster.origin << " lists only this node\n";
      return kExitUsage;
    }
    if (o.has("--k")) e = parse_number_list("--k", o.text("--k"), 1, receivers.size(), &sweep.ks);
    if (!e.empty()) {
      err << prefix << e << "\n";
      return kExitUsage;
    }
    if (sweep.ks.empty())
      for (uint64_t k = 1; k <= receivers.size(); k++) sweep.ks.push_back(k);
    if ((uint64_t)dopt.send_queue_depth < inflight * sweep.ks.back() + 8) {
      err << prefix << "option --inflight: " << inflight << " messages x k = " << sweep.ks.back()
          << " unicast sends exceed the send queue (" << dopt.send_queue_depth << ")\n";
      return kExitUsage;
    }
    sweep.where = std::to_string(cluster.nodes.size()) + " nodes";
    return bench_send(*dev, receivers, sweep, prefix, out, err);
  }

  // --local: the cluster file, then the receivers (forked before this process starts any thread).
  LocalCluster cluster;
  if (!write_local_cluster((int)local, fanout, mtu, &cluster, &e)) {
    err << prefix << "option --local: " << e << "\n";
    return kExitCheckFailed;
  }
  if (sweep.ks.empty())
    for (uint64_t k = 1; k < local; k++) sweep.ks.push_back(k);
  out << std::flush;
  err << std::flush;
  std::cout.flush();
  std::cerr.flush();
  const pid_t parent = ::getpid();
  std::vector<pid_t> children;
  for (int i = 1; i < (int)local; i++) {
    pid_t pid = ::fork();
    if (pid < 0) {
      err << prefix << "fork: " << std::strerror(errno) << "\n";
      for (pid_t c : children) ::kill(c, SIGTERM);
      reap_children(children, 5);
      return kExitCheckFailed;
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM); // a receiver never outlives its bench
      if (::getppid() != parent) ::_exit(1);
      int code;
      {
        std::unique_ptr<Device> dev;
        code = open_device(cluster.uri(i), {}, prefix, std::cerr, &dev);
        if (code < 0) code = bench_receive(*dev, bytes, prefix, nullptr, std::cerr);
      }
      std::cerr.flush();
      ::_exit(code);
    }
    children.push_back(pid);
  }
  int code;
  {
    std::unique_ptr<Device> dev;
    DeviceOptions dopt;
    dopt.send_queue_depth = (uint32_t)(inflight * (local - 1) + 16);
    code = open_device(cluster.uri(0), dopt, prefix, err, &dev);
    if (code < 0) {
      std::vector<NodeId> receivers;
      for (NodeId i = 1; i < local; i++) receivers.push_back(i);
      sweep.where = std::to_string(local) + " processes on 127.0.0.1";
      code = bench_send(*dev, receivers, sweep, prefix, out, err);
    }
  }
  if (code != kExitOk)
    for (pid_t c : children) ::kill(c, SIGTERM);
  if (!reap_children(children, 5) && code == kExitOk) {
    err << prefix << "a receiver process failed\n";
    code = kExitCheckFailed;
  }
  return code;
}

} // namespace cli
} // namespace fanout
