// Helpers for the driver tests: free loopback ports, generated cluster files, deterministic
// message contents, and a Node that runs one Device's completion loop on its own thread.
#pragma once

#include "fanout/driver.hpp"
#include "fanout/proto/proto.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fanout::driver::test {

// Crafted datagrams into a device's UDP socket on the loopback (hostile and malformed input).
class Injector {
 public:
  explicit Injector(uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    to_.sin_family = AF_INET;
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to_.sin_port = htons(port);
  }
  ~Injector() { ::close(fd_); }
  void send(const std::vector<uint8_t> &d) {
    ::sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr *>(&to_), sizeof to_);
    sent_++;
  }
  uint64_t sent() const { return sent_; }

 private:
  int fd_;
  sockaddr_in to_{};
  uint64_t sent_ = 0;
};

// Ports the kernel hands out for 127.0.0.1, all distinct (held open until every one is chosen).
inline std::vector<uint16_t> free_udp_ports(size_t n) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < n; i++) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) throw std::runtime_error("bind");
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    fds.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

inline std::string make_temp_dir() {
  char tmpl[] = "/tmp/fanout-driver-test-XXXXXX";
  char *d = ::mkdtemp(tmpl);
  if (!d) throw std::runtime_error("mkdtemp");
  return d;
}

inline void write_file(const std::string &path, const std::string &text) {
  std::ofstream out(path);
  out << text;
}

// A cluster of n nodes on 127.0.0.1: node i listens on listen_port[i]; others send to
// address_port[i] (the same port, or an impairment relay's in front of it).
struct TestCluster {
  std::string dir;
  std::string path;
  std::vector<uint16_t> listen_port;
  std::vector<uint16_t> address_port;

  TestCluster() = default;
  TestCluster(TestCluster &&o) noexcept { *this = std::move(o); }
  TestCluster &operator=(TestCluster &&o) noexcept {
    remove();
    dir = std::move(o.dir);
    path = std::move(o.path);
    listen_port = std::move(o.listen_port);
    address_port = std::move(o.address_port);
    o.dir.clear();
    o.path.clear();
    return *this;
  }
  ~TestCluster() { remove(); }
  void remove() { // the file and its folder (devices read the file once, at open)
    if (!path.empty()) std::remove(path.c_str());
    if (!dir.empty()) ::rmdir(dir.c_str());
  }

  std::string uri(int node) const { return "udp:" + path + "?node=" + std::to_string(node); }

  // relayed[i]: node i is reached through a relay port (address_port[i] != listen_port[i]).
  static TestCluster make(int n, const std::string &transport_yaml, const std::vector<bool> &relayed = {}) {
    TestCluster c;
    c.dir = make_temp_dir();
    c.path = c.dir + "/cluster.yaml";
    std::vector<uint16_t> ports = free_udp_ports((size_t)n * 2);
    std::string y = "nodes:\n";
    for (int i = 0; i < n; i++) {
      c.listen_port.push_back(ports[(size_t)i]);
      bool via_relay = i < (int)relayed.size() && relayed[(size_t)i];
      c.address_port.push_back(via_relay ? ports[(size_t)(n + i)] : ports[(size_t)i]);
      y += "  - {id: " + std::to_string(i) + ", address: 127.0.0.1:" + std::to_string(c.address_port.back());
      if (via_relay) y += ", bind: 127.0.0.1:" + std::to_string(c.listen_port.back());
      y += "}\n";
    }
    if (!transport_yaml.empty()) y += "transport: " + transport_yaml + "\n";
    write_file(c.path, y);
    return c;
  }
};

// Message contents: splitmix64 stream of (sender, index); the first 8 bytes name them.
inline void fill_message(uint8_t *p, uint64_t len, uint32_t sender, uint32_t index) {
  uint64_t state = 0x9E3779B97F4A7C15ull * (((uint64_t)sender << 32 | index) + 1);
  for (uint64_t i = 0; i < len; i += 8) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    uint64_t n = len - i < 8 ? len - i : 8;
    std::memcpy(p + i, &z, n);
  }
  if (len >= 8) {
    uint64_t tag = (uint64_t)sender << 32 | index;
    std::memcpy(p, &tag, 8);
  }
}

inline uint64_t checksum(const uint8_t *p, uint64_t len) {
  uint64_t h = 1469598103934665603ull ^ len;
  uint64_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 1099511628211ull;
    h ^= h >> 29;
  }
  for (; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

inline std::vector<uint8_t> message(uint64_t len, uint32_t sender, uint32_t index) {
  std::vector<uint8_t> v(len);
  fill_message(v.data(), len, sender, index);
  return v;
}

struct Received {
  NodeId peer;
  uint32_t message_id;
  uint64_t length;
  uint64_t tag; // first 8 bytes (0 if shorter)
  uint64_t sum;
};

// One device and a thread that keeps receive buffers posted and collects every completion.
class Node {
 public:
  Node(std::unique_ptr<Device> dev, size_t buffers, uint64_t buffer_bytes)
      : dev_(std::move(dev)), bytes_(buffer_bytes) {
    for (size_t i = 0; i < buffers; i++) {
      bufs_.emplace_back(new uint8_t[buffer_bytes ? buffer_bytes : 1]);
      Status s = dev_->post_recv(bufs_.back().get(), buffer_bytes, i);
      if (s != Status::kOk) throw std::runtime_error(std::string("post_recv: ") + status_name(s));
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~Node() { stop(); }

  Device &dev() { return *dev_; }

  void stop() {
    if (stop_.exchange(true)) return;
    thread_.join();
  }
  // Close the device (as a crashed receiver would vanish) and stop the thread.
  void close_device() {
    stop();
    dev_->close();
  }

  std::vector<Received> received() {
    std::lock_guard<std::mutex> l(mu_);
    return received_;
  }
  std::vector<Completion> sends() {
    std::lock_guard<std::mutex> l(mu_);
    return sends_;
  }
  std::vector<Completion> recv_errors() {
    std::lock_guard<std::mutex> l(mu_);
    return recv_errors_;
  }
  // Wait until pred(sends, received) holds or timeout; true if it held.
  bool wait_for(const std::function<bool(Node &)> &pred, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] {
      l.unlock();
      bool ok = pred(*this);
      l.lock();
      return ok;
    });
  }
  bool wait_sends(size_t n, std::chrono::milliseconds timeout) {
    return wait_for([n](Node &x) { return x.sends().size() >= n; }, timeout);
  }
  bool wait_received(size_t n, std::chrono::milliseconds timeout) {
    return wait_for([n](Node &x) { return x.received().size() >= n; }, timeout);
  }

 private:
  void loop() {
    Completion c[16];
    while (!stop_.load()) {
      dev_->wait(5);
      int n = dev_->poll(c, 16);
      for (int i = 0; i < n; i++) {
        std::lock_guard<std::mutex> l(mu_);
        if (c[i].opcode == Opcode::kSend) {
          sends_.push_back(c[i]);
          continue;
        }
        if (c[i].status != Status::kOk) {
          recv_errors_.push_back(c[i]);
        } else {
          const uint8_t *p = bufs_[c[i].wr_id].get();
          uint64_t tag = 0;
          if (c[i].length >= 8) std::memcpy(&tag, p, 8);
          received_.push_back(Received{c[i].peer, c[i].message_id, c[i].length, tag, checksum(p, c[i].length)});
        }
        if (c[i].status != Status::kCancelled) dev_->post_recv(bufs_[c[i].wr_id].get(), bytes_, c[i].wr_id);
      }
      if (n > 0) cv_.notify_all();
    }
  }

  std::unique_ptr<Device> dev_;
  uint64_t bytes_;
  std::vector<std::unique_ptr<uint8_t[]>> bufs_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> received_;
  std::vector<Completion> sends_;
  std::vector<Completion> recv_errors_;
};

// Non-zero counters of a device, one line (for failure messages).
inline std::string stats_line(const DeviceStats &s) {
  std::string out;
#define FANOUT_TEST_STAT(name, doc)                                                                                    \
  if (s.name) out += std::string(#name) + "=" + std::to_string(s.name) + " ";
  FANOUT_DRIVER_STATS(FANOUT_TEST_STAT)
#undef FANOUT_TEST_STAT
  for (int i = 0; i < kMalformedReasons; i++)
    if (s.malformed_by_reason[i])
      out += "reason" + std::to_string(i) + "=" + std::to_string(s.malformed_by_reason[i]) + " ";
  return out;
}

inline std::unique_ptr<Device> open_or_die(const std::string &uri, const DeviceOptions &o = {}) {
  OpenResult r = Device::open(uri, o);
  if (!r) throw std::runtime_error("open " + uri + ": " + r.message);
  return std::move(r.device);
}

// A one-packet (last and only) DATA Fanout part from `sender` with origin `origin` to `ids`, the
// payload `payload_len` bytes of `fill`: what a hostile or well-behaved peer puts on the wire.
inline std::vector<uint8_t> crafted_data(NodeId sender, NodeId origin, uint32_t message_id,
                                         const std::vector<NodeId> &ids, uint32_t payload_len = 100,
                                         uint8_t fill = 0x5A) {
  proto::ReceiverSet set;
  for (NodeId id : ids) set.append(id);
  std::vector<uint8_t> payload(payload_len, fill);
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, sender, origin, message_id, 0, payload_len);
  h.flags = proto::kFlagLast;
  std::vector<uint8_t> pkt(proto::kMaxPacketBytes);
  uint32_t len = 0;
  int e = proto::build_packet(h, set, payload.data(), payload_len, proto::default_build_options(), pkt.data(),
                              (uint32_t)pkt.size(), &len);
  if (e != proto::kOk) throw std::runtime_error(std::string("crafted_data: build_packet: ") + proto::error_name(e));
  pkt.resize(len);
  return pkt;
}

} // namespace fanout::driver::test
