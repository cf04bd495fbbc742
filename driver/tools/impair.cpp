// The impairment relay (impair.hpp).
#include "impair.hpp"

#include "fanout/driver/cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>

namespace fanout::driver::tools {

namespace {

uint64_t now_us() {
  return (uint64_t)std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Counter {
  std::atomic<uint64_t> v{0};
  void add() { v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

} // namespace

struct ImpairRelay::Impl {
  struct Route {
    ImpairRoute spec;
    int fd = -1;
    sockaddr_in target{};
    std::mt19937_64 rng;
    Counter received, forwarded, dropped, duplicated, reordered, corrupted;
  };
  struct Held {
    uint64_t release;
    size_t route;
    std::vector<uint8_t> bytes;
  };

  std::vector<std::unique_ptr<Route>> routes;
  std::deque<Held> held; // release times ascending (one delay for all)
  std::thread thread;
  int wake = -1;
  std::atomic<bool> stop{false};

  ~Impl() {
    for (auto &r : routes)
      if (r->fd >= 0) ::close(r->fd);
    if (wake >= 0) ::close(wake);
  }

  void send(Route &r, const uint8_t *p, size_t len) {
    ssize_t n = ::sendto(r.fd, p, len, 0, reinterpret_cast<const sockaddr *>(&r.target), sizeof r.target);
    if (n >= 0) r.forwarded.add();
  }

  void on_datagram(size_t index, uint8_t *p, size_t len) {
    Route &r = *routes[index];
    r.received.add();
    std::uniform_real_distribution<double> u(0, 1);
    const ImpairOptions &o = r.spec.options;
    if (u(r.rng) < o.drop) {
      r.dropped.add();
      return;
    }
    if (len > 0 && u(r.rng) < o.corrupt) {
      size_t span = o.corrupt_span && o.corrupt_span < len ? o.corrupt_span : len;
      size_t bit = std::uniform_int_distribution<size_t>(0, span * 8 - 1)(r.rng);
      p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      r.corrupted.add();
    }
    int copies = u(r.rng) < o.duplicate ? 2 : 1;
    if (copies == 2) r.duplicated.add();
    if (u(r.rng) < o.reorder) {
      r.reordered.add();
      for (int c = 0; c < copies; c++)
        held.push_back(Held{now_us() + o.reorder_delay_us, index, std::vector<uint8_t>(p, p + len)});
      return;
    }
    for (int c = 0; c < copies; c++) send(r, p, len);
  }

  void run() {
    std::vector<pollfd> fds;
    for (auto &r : routes) fds.push_back(pollfd{r->fd, POLLIN, 0});
    fds.push_back(pollfd{wake, POLLIN, 0});
    std::vector<uint8_t> buf(65536);
    while (!stop.load()) {
      uint64_t now = now_us();
      while (!held.empty() && held.front().release <= now) {
        Held &h = held.front();
        send(*routes[h.route], h.bytes.data(), h.bytes.size());
        held.pop_front();
      }
      int timeout = held.empty() ? 100 : (int)((held.front().release - now + 999) / 1000);
      int n = ::poll(fds.data(), fds.size(), timeout);
      if (n <= 0) continue;
      for (size_t i = 0; i < routes.size(); i++) {
        if (!(fds[i].revents & POLLIN)) continue;
        for (int burst = 0; burst < 64; burst++) {
          ssize_t len = ::recv(routes[i]->fd, buf.data(), buf.size(), MSG_DONTWAIT);
          if (len < 0) break;
          on_datagram(i, buf.data(), (size_t)len);
        }
      }
    }
  }
};

ImpairRelay::ImpairRelay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ImpairRelay::~ImpairRelay() {
  stop();
}

std::unique_ptr<ImpairRelay> ImpairRelay::start(const std::vector<ImpairRoute> &routes, uint64_t seed,
                                                std::string *error) {
  auto impl = std::make_unique<Impl>();
  for (size_t i = 0; i < routes.size(); i++) {
    auto r = std::make_unique<Impl::Route>();
    r->spec = routes[i];
    r->rng.seed(seed * 0x9E3779B97F4A7C15ull + i);
    uint32_t ip = 0;
    uint16_t port = 0;
    if (!parse_ipv4_port(routes[i].target, &ip, &port)) {
      *error = "route " + std::to_string(i) + ": target '" + routes[i].target + "' is not <IPv4>:<port>";
      return nullptr;
    }
    r->target.sin_family = AF_INET;
    r->target.sin_addr.s_addr = htonl(ip);
    r->target.sin_port = htons(port);
    if (!parse_ipv4_port(routes[i].listen, &ip, &port)) {
      *error = "route " + std::to_string(i) + ": listen '" + routes[i].listen + "' is not <IPv4>:<port>";
      return nullptr;
    }
    r->fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int size = 4 << 20;
    ::setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(r->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    a.sin_port = htons(port);
    if (r->fd < 0 || ::bind(r->fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
      *error = "route " + std::to_string(i) + ": cannot listen on " + routes[i].listen + ": " + std::strerror(errno);
      return nullptr;
    }
    impl->routes.push_back(std::move(r));
  }
  impl->wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  Impl *raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<ImpairRelay>(new ImpairRelay(std::move(impl)));
}

void ImpairRelay::stop() {
  if (!impl_ || impl_->stop.exchange(true)) return;
  uint64_t one = 1;
  ssize_t r = ::write(impl_->wake, &one, sizeof one);
  (void)r;
  impl_->thread.join();
}

ImpairCounters ImpairRelay::counters(size_t route) const {
  const Impl::Route &r = *impl_->routes[route];
  ImpairCounters c;
  c.received = r.received.get();
  c.forwarded = r.forwarded.get();
  c.dropped = r.dropped.get();
  c.duplicated = r.duplicated.get();
  c.reordered = r.reordered.get();
  c.corrupted = r.corrupted.get();
  return c;
}

size_t ImpairRelay::routes() const {
  return impl_->routes.size();
}

} // namespace fanout::driver::tools
