// fanout-sim --serve: the cluster with applications' hosts attached over Unix sockets, in
// conservative lock-step (sim/serve.hpp is the protocol, docs/simulator.md the guide).
//
// One thread: the serve loop runs around repeated sc_start(quantum) calls and multiplexes the
// sockets with poll(). Every socket is non-blocking and every record to a client goes through
// its output queue, so a client busy writing to us never deadlocks against us writing to it.
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "fanout/sim/serve.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanout/proto/wire.hpp"
#include "fanout/sim/cluster.hpp"
#include "fanout/sim/external_host.hpp"
#include "fanout/sim/host_port.hpp"

namespace fanout {
namespace sim {

static_assert(serve::kMaxFrameBytes == proto::kMaxFrameBytes, "serve frames are the NIC's frames");

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kLoggedPerNode = 20;    // malformed records logged per node; the rest only counted
constexpr double kFinalFlushSeconds = 5.0; // BYE and the last FRAMEs: how long to try to deliver them

uint64_t to_ps(const sc_core::sc_time &t) {
  return (uint64_t)std::llround(t.to_seconds() * 1e12); // exact below 2^53 ps
}

uint64_t now_ps() {
  return to_ps(sc_core::sc_time_stamp());
}

std::string node_list(const std::vector<uint32_t> &ids) { // ascending: "0-3,7"
  std::string s;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) j++;
    if (!s.empty()) s += ",";
    s += std::to_string(ids[i]);
    if (j > i) s += "-" + std::to_string(ids[j]);
    i = j + 1;
  }
  return s;
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

void log_line(const std::string &line) {
  std::cerr << "fanout-sim: serve: " << line << std::endl;
}

struct Client {
  uint32_t node = 0;
  std::string path;
  int listen_fd = -1;
  bool bound = false; // our socket file is at `path` (removed at the end)
  int fd = -1;
  bool awaiting = false; // a TICK was sent and its DONE has not come
  bool shut = false;     // the run ended and our side is shut down
  uint64_t tick_ps = 0;
  Clock::time_point tick_sent{};
  std::deque<std::vector<uint8_t>> out;    // records not yet written
  std::vector<std::vector<uint8_t>> batch; // frames since its last DONE
  std::vector<std::vector<uint8_t>> ready; // frames to enter host TX at the next round's start
  uint32_t logged = 0;
  ExternalHost *host = nullptr;
  ServeClient st;

  bool active() const { return fd >= 0; }
};

class Server {
 public:
  Server(const Scenario &s, const ServeOptions &o);
  ~Server();
  RunResult run();

 private:
  void open_sockets();
  void wait_for_clients();
  void send(Client &c, std::vector<uint8_t> record);
  void flush(Client &c);
  void read_from(Client &c);
  void handle(Client &c, const uint8_t *p, size_t n);
  void malformed(Client &c, const std::string &reason, const std::string &detail);
  void leave(Client &c, const std::string &why);
  void refuse(Client &c);
  void pump_until_done();
  void final_flush();
  void deliver_rx();
  size_t active_clients() const;
  int wait_ms(Clock::time_point deadline) const;

  Scenario s_;
  ServeOptions o_;
  std::unique_ptr<Cluster> cluster_;
  std::vector<std::unique_ptr<ExternalHost>> hosts_;
  std::vector<Client> clients_; // served nodes, ascending
  ServeReport rep_;
  std::vector<uint8_t> rbuf_;
  bool ending_ = false; // final_flush: what clients send is discarded, a close is not a departure
};

Server::Server(const Scenario &s, const ServeOptions &o) : s_(s), o_(o), rbuf_(65536) {
  if (o_.dir.empty()) throw std::invalid_argument("serve: no directory for the sockets");
  if (o_.quantum_ns == 0) throw std::invalid_argument("serve: quantum_ns must be > 0");
  if (!(o_.wait_s >= 0) || !std::isfinite(o_.wait_s)) throw std::invalid_argument("serve: wait_s must be >= 0");
  validate(s_, "scenario");
  std::vector<uint32_t> nodes = o_.nodes;
  if (nodes.empty())
    for (uint32_t n = 0; n < s_.nodes; n++) nodes.push_back(n);
  std::sort(nodes.begin(), nodes.end());
  if (std::adjacent_find(nodes.begin(), nodes.end()) != nodes.end())
    throw std::invalid_argument("serve: a node is listed twice");
  for (uint32_t n : nodes) {
    if (n >= s_.nodes)
      throw std::invalid_argument("serve: node " + std::to_string(n) + " does not exist (nodes 0.." +
                                  std::to_string(s_.nodes - 1) + ")");
    std::string path = serve::socket_path(o_.dir, n);
    if (path.size() > serve::kMaxSocketPathBytes)
      throw std::invalid_argument("serve: socket path '" + path + "' is longer than " +
                                  std::to_string(serve::kMaxSocketPathBytes) + " bytes (a Unix socket's limit)");
    Client c;
    c.node = n;
    c.path = path;
    c.st.node = n;
    clients_.push_back(std::move(c));
  }
  cluster_ = std::make_unique<Cluster>(s_, o_.cluster, Cluster::Hosts::kNone);
  for (Client &c : clients_) {
    std::string name = "host" + std::to_string(c.node);
    hosts_.push_back(std::make_unique<ExternalHost>(name.c_str(), cluster_->host_port(c.node)));
    c.host = hosts_.back().get();
  }
  rep_.enabled = true;
  rep_.dir = o_.dir;
  rep_.quantum_ns = o_.quantum_ns;
}

Server::~Server() {
  for (Client &c : clients_) {
    if (c.fd >= 0) close(c.fd);
    if (c.listen_fd >= 0) close(c.listen_fd);
    if (c.bound) unlink(c.path.c_str());
  }
}

void Server::open_sockets() {
  std::error_code ec;
  std::filesystem::create_directories(o_.dir, ec);
  if (ec) throw std::runtime_error("serve: cannot create '" + o_.dir + "': " + ec.message());
  for (Client &c : clients_) {
    struct stat st;
    if (lstat(c.path.c_str(), &st) == 0) {
      // A socket file left by an earlier run is replaced; anything else is not ours to delete.
      if (!S_ISSOCK(st.st_mode)) throw std::runtime_error("serve: '" + c.path + "' exists and is not a socket");
      unlink(c.path.c_str());
    }
    c.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.listen_fd < 0) throw std::runtime_error(std::string("serve: socket: ") + std::strerror(errno));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, c.path.c_str(), c.path.size() + 1);
    if (bind(c.listen_fd, (const sockaddr *)&a, sizeof a) != 0)
      throw std::runtime_error("serve: cannot bind '" + c.path + "': " + std::strerror(errno));
    c.bound = true;
    if (listen(c.listen_fd, 4) != 0)
      throw std::runtime_error("serve: cannot listen on '" + c.path + "': " + std::strerror(errno));
  }
}

int Server::wait_ms(Clock::time_point deadline) const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count() + 1;
  return (int)std::max<long long>(0, std::min<long long>(left, std::numeric_limits<int>::max()));
}

void Server::wait_for_clients() {
  std::vector<uint32_t> ids;
  for (const Client &c : clients_) ids.push_back(c.node);
  std::string limit = o_.wait_s > 0 ? "up to " + seconds(o_.wait_s) : "without a time limit";
  log_line("nodes " + node_list(ids) + " on " + o_.dir + "/node<N>.sock; waiting " + limit + " for their clients");
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.wait_s));
  for (;;) {
    std::vector<pollfd> pf;
    std::vector<Client *> who;
    for (Client &c : clients_) {
      if (c.fd >= 0) continue;
      pf.push_back(pollfd{c.listen_fd, POLLIN, 0});
      who.push_back(&c);
    }
    if (pf.empty() || (o_.wait_s > 0 && Clock::now() >= deadline)) break;
    int n = poll(pf.data(), pf.size(), o_.wait_s > 0 ? wait_ms(deadline) : -1);
    if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("serve: poll: ") + std::strerror(errno));
    for (size_t i = 0; n > 0 && i < pf.size(); i++) {
      if (!pf[i].revents) continue;
      int fd = accept4(who[i]->listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) continue; // the client gave up in between: wait for the next
      who[i]->fd = fd;
      who[i]->st.connected = true;
    }
  }
  size_t connected = 0;
  for (Client &c : clients_) {
    if (c.fd >= 0) {
      connected++;
      continue;
    }
    log_line("node " + std::to_string(c.node) + ": no client connected within " + seconds(o_.wait_s) +
             "; its host is absent");
  }
  if (connected == 0) throw std::runtime_error("serve: no client connected within " + seconds(o_.wait_s));
}

size_t Server::active_clients() const {
  size_t n = 0;
  for (const Client &c : clients_) n += c.active() ? 1 : 0;
  return n;
}

void Server::send(Client &c, std::vector<uint8_t> record) {
  if (!c.active()) return;
  c.out.push_back(std::move(record));
  flush(c);
}

void Server::flush(Client &c) {
  while (c.active() && !c.out.empty()) {
    const std::vector<uint8_t> &r = c.out.front();
    ssize_t n = ::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // EPIPE / ECONNRESET: the client closed its end, the ordinary way to leave.
      leave(c, errno == EPIPE || errno == ECONNRESET ? "" : std::string("send: ") + std::strerror(errno));
      return;
    }
    c.out.pop_front();
  }
}

void Server::leave(Client &c, const std::string &why) {
  if (!c.active()) return;
  if (ending_) {
    close(c.fd);
    c.fd = -1;
    return;
  }
  if (!why.empty()) log_line("node " + std::to_string(c.node) + ": " + why + "; its client is dropped");
  close(c.fd);
  c.fd = -1;
  c.awaiting = false;
  c.out.clear();
  c.st.left = true;
  c.st.left_at_ns = now_ps() / 1000;
  // Frames it sent before leaving still enter its NIC, at the next round.
  for (auto &f : c.batch) c.ready.push_back(std::move(f));
  c.batch.clear();
}

void Server::refuse(Client &c) {
  int fd = accept4(c.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  close(fd);
  log_line("node " + std::to_string(c.node) + ": another client refused (one client per node, for the whole run)");
}

void Server::malformed(Client &c, const std::string &reason, const std::string &detail) {
  if (ending_) return;
  c.st.malformed++;
  rep_.malformed_records++;
  rep_.malformed[reason]++;
  if (c.logged < kLoggedPerNode) {
    log_line("node " + std::to_string(c.node) + ": malformed record dropped: " + reason + " (" + detail + ")");
  } else if (c.logged == kLoggedPerNode) {
    log_line("node " + std::to_string(c.node) + ": further malformed records are counted, not logged");
  }
  c.logged++;
}

void Server::read_from(Client &c) {
  while (c.active()) {
    iovec iov{rbuf_.data(), rbuf_.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = recvmsg(c.fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      leave(c, errno == ECONNRESET ? "" : std::string("recv: ") + std::strerror(errno));
      return;
    }
    if (n == 0) {
      // A seqpacket record may be empty: end of file only when the peer has shut down.
      pollfd p{c.fd, POLLRDHUP, 0};
      if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP))) {
        leave(c, "");
        return;
      }
      malformed(c, "empty_record", "0 bytes");
      continue;
    }
    if (msg.msg_flags & MSG_TRUNC) {
      malformed(c, "record_too_long", "more than " + std::to_string(rbuf_.size()) + " bytes");
      continue;
    }
    handle(c, rbuf_.data(), (size_t)n);
  }
}

void Server::handle(Client &c, const uint8_t *p, size_t n) {
  if (ending_) return;
  serve::Record rec;
  serve::DecodeError e = serve::decode(p, n, rec);
  if (e != serve::kOk) {
    malformed(c, serve::decode_error_name(e), std::to_string(n) + " bytes");
    return;
  }
  if (!serve::client_may_send(rec.type)) {
    malformed(c, "wrong_direction", std::string(serve::type_name(rec.type)) + " is sent by the server only");
    return;
  }
  if (rec.type == serve::kFrame) {
    c.batch.emplace_back(rec.frame, rec.frame + rec.frame_len);
    c.st.frames_in++;
    c.st.bytes_in += rec.frame_len;
    return;
  }
  // DONE
  if (!c.awaiting || rec.time_ps != c.tick_ps) {
    malformed(c, "unexpected_done",
              "DONE(" + std::to_string(rec.time_ps) + " ps) " +
                  (c.awaiting ? "while TICK(" + std::to_string(c.tick_ps) + " ps) is open" : "with no TICK open"));
    return;
  }
  c.awaiting = false;
  for (auto &f : c.batch) c.ready.push_back(std::move(f));
  c.batch.clear();
}

// Until every connected client has answered its TICK (or left, or overrun the wait).
void Server::pump_until_done() {
  auto limit = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.wait_s));
  for (;;) {
    std::vector<pollfd> pf;
    std::vector<Client *> who;
    bool waiting = false;
    Clock::time_point deadline = Clock::time_point::max();
    for (Client &c : clients_) {
      if (c.active()) {
        pf.push_back(pollfd{c.fd, (short)(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
        who.push_back(&c);
        if (c.awaiting) {
          waiting = true;
          deadline = std::min(deadline, c.tick_sent + limit);
        }
      }
    }
    if (!waiting) return;
    for (Client &c : clients_) { // second connections are refused as they come
      pf.push_back(pollfd{c.listen_fd, POLLIN, 0});
      who.push_back(&c);
    }
    int n = poll(pf.data(), pf.size(), o_.wait_s > 0 ? wait_ms(deadline) : -1);
    if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("serve: poll: ") + std::strerror(errno));
    for (size_t i = 0; n > 0 && i < pf.size(); i++) {
      Client &c = *who[i];
      if (!pf[i].revents) continue;
      if (pf[i].fd == c.listen_fd) {
        refuse(c);
        continue;
      }
      if (pf[i].revents & POLLOUT) flush(c);
      if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) read_from(c);
    }
    if (o_.wait_s > 0) {
      Clock::time_point now = Clock::now();
      for (Client &c : clients_) {
        if (c.active() && c.awaiting && now >= c.tick_sent + limit)
          leave(c, "no DONE for TICK(" + std::to_string(c.tick_ps) + " ps) within " + seconds(o_.wait_s));
      }
    }
  }
}

// Frames host RX delivered during the last quantum: to their clients, or dropped (host gone).
void Server::deliver_rx() {
  for (Client &c : clients_) {
    for (ExternalHost::Arrival &a : c.host->take_rx()) {
      if (!c.active()) {
        c.st.host_gone++;
        continue;
      }
      std::vector<uint8_t> rec = serve::frame_record(a.at_ps, a.bytes.data(), a.bytes.size());
      if (rec.empty()) { // a frame the protocol cannot carry (shorter than an Ethernet header)
        c.st.host_gone++;
        continue;
      }
      c.st.frames_out++;
      c.st.bytes_out += a.bytes.size();
      send(c, std::move(rec));
    }
  }
}

// The run is over. Each client gets its last records (FRAMEs, BYE), then our side is shut down
// (its reads return end of file after the last record) and we wait for it to close, discarding
// what it still sends: closing with unread records would make its next read fail with
// ECONNRESET before it has read the BYE. At most kFinalFlushSeconds in all.
void Server::final_flush() {
  ending_ = true;
  auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kFinalFlushSeconds));
  for (;;) {
    std::vector<pollfd> pf;
    std::vector<Client *> who;
    for (Client &c : clients_) {
      if (!c.active()) continue;
      if (c.out.empty() && !c.shut) {
        shutdown(c.fd, SHUT_WR);
        c.shut = true;
      }
      pf.push_back(pollfd{c.fd, (short)(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
      who.push_back(&c);
    }
    if (pf.empty() || Clock::now() >= deadline) break;
    int n = poll(pf.data(), pf.size(), wait_ms(deadline));
    if (n < 0 && errno != EINTR) break;
    for (size_t i = 0; n > 0 && i < pf.size(); i++) {
      if (pf[i].revents & POLLOUT) flush(*who[i]);
      if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) read_from(*who[i]);
    }
  }
  for (Client &c : clients_) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }
}

RunResult Server::run() {
  open_sockets();
  wait_for_clients();
  const uint64_t quantum_ps = o_.quantum_ns * 1000;
  const uint64_t end_ps = s_.duration_ns * 1000;
  HostPort &any = cluster_->host_port(clients_.front().node);
  for (Client &c : clients_) {
    if (!c.active()) continue;
    serve::Hello h;
    h.node = c.node;
    h.nodes = s_.nodes;
    h.mode = s_.mode == Mode::kPort ? serve::kModePort : serve::kModeTree;
    h.udp_port = proto::kDefaultUdpPort; // the NICs' (NicConfig default, not a scenario field)
    h.fanout = s_.fanout;
    h.kernel_period_ps = to_ps(any.kernel_period());
    h.quantum_ps = quantum_ps;
    h.now_ps = 0;
    h.end_ps = end_ps;
    h.max_frame_bytes = serve::kMaxFrameBytes;
    send(c, serve::hello_record(h));
  }
  auto t0 = Clock::now();
  uint64_t t = 0;
  for (;;) {
    for (Client &c : clients_) {
      if (!c.active()) continue;
      send(c, serve::tick_record(t));
      c.awaiting = true;
      c.tick_ps = t;
      c.tick_sent = Clock::now();
    }
    rep_.rounds++;
    pump_until_done();
    if (active_clients() == 0) break; // every client left: the normal end
    for (Client &c : clients_) {      // in node order: the run is deterministic
      for (auto &f : c.ready) c.host->queue(std::move(f));
      c.ready.clear();
    }
    sc_core::sc_start(sc_core::sc_time((double)std::min(quantum_ps, end_ps - t), sc_core::SC_PS));
    t = now_ps();
    deliver_rx();
    if (t >= end_ps) {
      rep_.duration_reached = true;
      for (Client &c : clients_) send(c, serve::bye_record(t, serve::kByeDuration));
      break;
    }
  }
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  final_flush();

  RunResult r = cluster_->collect(wall);
  cluster_->finish();
  r.workload = "served";
  r.k = 0;
  r.window = 0;
  r.mean_receivers = 0;
  r.all_settled = false;
  r.sender_host_bytes = r.ack_host_bytes = r.host_probes = r.host_non_fanout = r.host_unexpected = 0;
  for (size_t i = 0; i < clients_.size(); i++) {
    Client &c = clients_[i];
    const ExternalHostStats &hs = c.host->stats();
    c.st.tx_backlog_max = hs.tx_backlog_max;
    r.sender_host_bytes += hs.tx_data_bytes;
    r.ack_host_bytes += hs.tx_ack_bytes;
    r.host_probes += hs.rx_probes;
    r.host_non_fanout += hs.rx_non_fanout;
    r.host_unexpected += hs.rx_parse_errors;
    r.drops.host_gone += c.st.host_gone;
    rep_.frames_from_clients += c.st.frames_in;
    rep_.bytes_from_clients += c.st.bytes_in;
    rep_.frames_to_clients += c.st.frames_out;
    rep_.bytes_to_clients += c.st.bytes_out;
    rep_.clients.push_back(c.st);
  }
  r.serve = rep_;
  return r;
}

} // namespace

RunResult serve_cluster(const Scenario &s, const ServeOptions &options) {
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  Server server(s, options);
  return server.run();
}

} // namespace sim
} // namespace fanout
