// fanout-driver-bench: the udp backend on loopback, in one process: message rate, goodput and
// completion latency (post -> send completion: every receiver has the message) versus k, with a
// fixed number of sends in flight. Every node is a Device with its own completion thread.
//
//   fanout-driver-bench [--nodes 8] [--messages 2000] [--inflight 16] [--sizes 64,65536] [--ks 1,3,7]
//                       [--fanout 4] [--mtu 1500]
#include "fanout/driver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace fanout::driver;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<uint64_t> parse_list(const std::string &v) {
  std::vector<uint64_t> out;
  std::stringstream in(v);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoull(item));
  return out;
}

std::vector<uint16_t> free_ports(size_t n) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < n; i++) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    fds.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

// A receiving node: keeps buffers posted, counts messages.
struct Receiver {
  std::unique_ptr<Device> dev;
  std::vector<std::vector<uint8_t>> bufs;
  std::atomic<uint64_t> received{0};
  std::atomic<bool> stop{false};
  std::thread thread;
  void run() {
    Completion c[32];
    while (!stop.load()) {
      dev->wait(2);
      int n = dev->poll(c, 32);
      for (int i = 0; i < n; i++) {
        if (c[i].opcode != Opcode::kRecv) continue;
        received.fetch_add(1);
        dev->post_recv(bufs[c[i].wr_id].data(), bufs[c[i].wr_id].size(), c[i].wr_id);
      }
    }
  }
};

} // namespace

int main(int argc, char **argv) {
  int nodes = 8;
  uint64_t messages = 2000, inflight = 16;
  std::vector<uint64_t> sizes{64, 65536}, ks{1, 3, 7};
  uint32_t fanout = 4, mtu = 1500;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--nodes")
      nodes = std::stoi(v);
    else if (a == "--messages")
      messages = std::stoull(v);
    else if (a == "--inflight")
      inflight = std::stoull(v);
    else if (a == "--sizes")
      sizes = parse_list(v);
    else if (a == "--ks")
      ks = parse_list(v);
    else if (a == "--fanout")
      fanout = (uint32_t)std::stoul(v);
    else if (a == "--mtu")
      mtu = (uint32_t)std::stoul(v);
    else {
      std::fprintf(stderr, "usage: fanout-driver-bench [--nodes N] [--messages M] [--inflight D] [--sizes a,b]"
                           " [--ks 1,3] [--fanout F] [--mtu B]\n");
      return 2;
    }
  }
  char dir[] = "/tmp/fanout-driver-bench-XXXXXX";
  if (!::mkdtemp(dir)) return 1;
  std::string path = std::string(dir) + "/cluster.yaml";
  std::vector<uint16_t> ports = free_ports((size_t)nodes);
  {
    std::ofstream f(path);
    f << "nodes:\n";
    for (int i = 0; i < nodes; i++) f << "  - {id: " << i << ", address: 127.0.0.1:" << ports[(size_t)i] << "}\n";
    f << "transport: {fanout: " << fanout << ", mtu: " << mtu << "}\n";
  }
  uint64_t max_size = *std::max_element(sizes.begin(), sizes.end());
  OpenResult s = Device::open("udp:" + path + "?node=0");
  if (!s) {
    std::fprintf(stderr, "%s\n", s.message.c_str());
    return 1;
  }
  std::vector<std::unique_ptr<Receiver>> rx;
  for (int i = 1; i < nodes; i++) {
    auto r = std::make_unique<Receiver>();
    OpenResult o = Device::open("udp:" + path + "?node=" + std::to_string(i));
    if (!o) {
      std::fprintf(stderr, "%s\n", o.message.c_str());
      return 1;
    }
    r->dev = std::move(o.device);
    for (uint64_t b = 0; b < 2 * inflight; b++) {
      r->bufs.emplace_back(max_size);
      r->dev->post_recv(r->bufs.back().data(), max_size, b);
    }
    Receiver *raw = r.get();
    r->thread = std::thread([raw] { raw->run(); });
    rx.push_back(std::move(r));
  }
  Device &dev = *s.device;
  std::vector<uint8_t> payload(max_size, 0x5A);
  std::printf("udp backend on loopback, %d nodes, F = %u, mtu %u, %llu sends in flight\n", nodes, fanout, mtu,
              (unsigned long long)inflight);
  std::printf("%6s %10s %10s %12s %10s %10s %10s\n", "k", "bytes", "msgs/s", "MB/s (x k)", "p50 us", "p99 us", "retx");
  for (uint64_t k : ks) {
    std::vector<NodeId> to;
    for (uint64_t i = 1; i <= k && i < (uint64_t)nodes; i++) to.push_back((NodeId)i);
    for (uint64_t size : sizes) {
      DeviceStats before = dev.stats();
      std::vector<Clock::time_point> posted(messages);
      std::vector<double> latency;
      latency.reserve(messages);
      uint64_t next = 0, done = 0;
      auto t0 = Clock::now();
      Completion c[32];
      while (done < messages) {
        while (next < messages && next - done < inflight) {
          posted[next] = Clock::now();
          if (dev.post_send(to, payload.data(), size, next) != Status::kOk) break;
          next++;
        }
        dev.wait(10);
        int n = dev.poll(c, 32);
        auto now = Clock::now();
        for (int i = 0; i < n; i++) {
          if (c[i].status != Status::kOk) std::fprintf(stderr, "send %s\n", status_name(c[i].status));
          latency.push_back(std::chrono::duration<double, std::micro>(now - posted[c[i].wr_id]).count());
          done++;
        }
      }
      double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::sort(latency.begin(), latency.end());
      DeviceStats after = dev.stats();
      std::printf("%6zu %10llu %10.0f %12.1f %10.0f %10.0f %10llu\n", to.size(), (unsigned long long)size,
                  messages / secs, messages * size * to.size() / secs / 1e6, latency[latency.size() / 2],
                  latency[latency.size() * 99 / 100],
                  (unsigned long long)(after.retx_packets_sent - before.retx_packets_sent));
    }
  }
  for (auto &r : rx) {
    r->stop = true;
    r->thread.join();
  }
  std::remove(path.c_str());
  ::rmdir(dir);
  return 0;
}
