// The sim backend (sim_backend.hpp).
#include "sim_backend.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace fanout::driver {

namespace sv = sim::serve;

namespace {

constexpr uint32_t kOuterHeaders = proto::kFanoutOffset; // Ethernet (14) + IPv4 (20) + UDP (8)

std::string errno_text(int e) {
  return std::string(std::strerror(e));
}

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : (int)ms;
}

} // namespace

SimBackend::SimBackend() : set_(new proto::ReceiverSet()) {
  parse_cfg_ = proto::default_parse_config();
  rx_buf_.resize(sv::kMaxRecordBytes);
  pkt_.resize(proto::kMaxPacketBytes);
}

SimBackend::~SimBackend() {
  if (fd_ >= 0) ::close(fd_);
}

Status SimBackend::open(const std::string &dir, NodeId node, unsigned wait_s, std::unique_ptr<SimBackend> *out,
                        std::string *message) {
  std::unique_ptr<SimBackend> b(new SimBackend());
  b->self_ = node;
  b->path_ = sv::socket_path(dir, node);
  const std::string &path = b->path_;
  if (path.size() > sv::kMaxSocketPathBytes) {
    *message = "the socket path " + path + " is longer than a Unix socket address holds (" +
               std::to_string(sv::kMaxSocketPathBytes) + " bytes): use a shorter directory";
    return Status::kBadUri;
  }
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size());

  // Connect, retrying while fanout-sim has not made the socket yet (or is not listening yet).
  auto deadline = Clock::now() + std::chrono::seconds(wait_s);
  int last_errno = 0;
  for (;;) {
    int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *message = "socket(AF_UNIX, SOCK_SEQPACKET): " + errno_text(errno);
      return Status::kIoError;
    }
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&a), sizeof a) == 0) {
      b->fd_ = fd;
      break;
    }
    last_errno = errno;
    ::close(fd);
    if (last_errno != ENOENT && last_errno != ECONNREFUSED && last_errno != EAGAIN && last_errno != EINTR) {
      *message = "cannot connect to " + path + ": " + errno_text(last_errno);
      return Status::kIoError;
    }
    if (Clock::now() >= deadline) {
      *message = "no fanout-sim serves node " + std::to_string(node) + ": " + path + ": " + errno_text(last_errno) +
                 " (waited " + std::to_string(wait_s) + " s; start `fanout-sim --serve " + dir +
                 "`, or wait longer with &wait_s=N)";
      return Status::kNotAvailable;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // HELLO: sent once every served node's client has connected.
  deadline = Clock::now() + std::chrono::seconds(wait_s);
  for (;;) {
    pollfd p{b->fd_, POLLIN, 0};
    int r = ::poll(&p, 1, ms_left(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      *message = "connected to " + path + " but no HELLO came within " + std::to_string(wait_s) +
                 " s (the server waits for every served node's client first)";
      return Status::kIoError;
    }
    ssize_t n = ::recv(b->fd_, b->rx_buf_.data(), b->rx_buf_.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *message = path + ": the server closed the connection before HELLO" +
                 (n < 0 ? ": " + errno_text(errno) : std::string(" (another client already holds this node?)"));
      return Status::kIoError;
    }
    sv::Record rec;
    int e = sv::decode(b->rx_buf_.data(), (size_t)n, rec);
    if (e != sv::kOk || rec.type != sv::kHello) {
      *message = path + ": expected HELLO, got " +
                 (e != sv::kOk ? std::string("a malformed record (") + sv::decode_error_name(e) + ")"
                               : std::string(sv::type_name(rec.type)));
      return Status::kIoError;
    }
    b->hello_ = rec.hello;
    break;
  }
  const sv::Hello &h = b->hello_;
  if (h.node != node || h.nodes == 0 || h.node >= h.nodes || h.nodes > proto::kNodeIdSpace ||
      h.max_frame_bytes < proto::kFixedHeadersBytes + 64 || h.max_frame_bytes > sv::kMaxFrameBytes ||
      h.quantum_ps == 0) {
    *message = path + ": a HELLO this client cannot use (node " + std::to_string(h.node) + " of " +
               std::to_string(h.nodes) + ", max frame " + std::to_string(h.max_frame_bytes) + " bytes, quantum " +
               std::to_string(h.quantum_ps) + " ps)";
    return Status::kIoError;
  }
  b->max_packet_ = h.max_frame_bytes - kOuterHeaders;
  b->parse_cfg_.udp_port = h.udp_port;
  b->now_ps_ = h.now_ps;
  *out = std::move(b);
  return Status::kOk;
}

// ---- Send ---------------------------------------------------------------------------------------

bool SimBackend::send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload, uint32_t payload_len) {
  (void)to; // every frame goes to this node's NIC: it replicates DATA and aggregates feedback
  if (down_ != Status::kOk) {
    send_errors_.add();
    return false;
  }
  if ((uint64_t)head_len + payload_len > max_packet_) {
    send_errors_.add();
    return false;
  }
  std::memcpy(pkt_.data(), head, head_len);
  if (payload_len) std::memcpy(pkt_.data() + head_len, payload, payload_len);
  uint32_t len = head_len + payload_len;
  proto::PacketView v;
  int rc = proto::parse_packet(pkt_.data(), len, v, set_.get());
  if (rc != proto::kOk) { // the transport never builds one; count rather than send garbage
    send_errors_.add();
    return false;
  }
  proto::NetHeaders net = proto::cluster_net_headers(self_, self_, v.hdr.sender, v.hdr.message_id);
  net.udp_dst_port = hello_.udp_port;
  proto::BuildOptions opt = proto::default_build_options();
  opt.encoding = (proto::SetEncoding)v.hdr.set_encoding; // as the transport chose it
  size_t at = tx_records_.size();
  tx_records_.resize(at + sv::kMaxRecordBytes);
  uint8_t *rec = tx_records_.data() + at;
  uint32_t frame_len = 0;
  rc = proto::build_frame(net, v.hdr, *set_, pkt_.data() + v.payload_offset, v.payload_len, opt,
                          rec + sv::kFrameHeaderBytes, sv::kMaxFrameBytes, &frame_len);
  if (rc != proto::kOk || frame_len > hello_.max_frame_bytes) {
    tx_records_.resize(at);
    send_errors_.add();
    return false;
  }
  sv::put_header(rec, sv::kFrame);
  sv::put64(rec + 8, 0);
  tx_records_.resize(at + sv::kFrameHeaderBytes + frame_len);
  tx_sizes_.push_back(sv::kFrameHeaderBytes + frame_len);
  return true;
}

void SimBackend::flush() {
  size_t at = 0;
  for (uint32_t size : tx_sizes_) {
    if (down_ != Status::kOk) {
      send_errors_.add();
    } else if (send_record(tx_records_.data() + at, size)) {
      frames_sent_.add();
    } else {
      send_errors_.add();
    }
    at += size;
  }
  tx_records_.clear();
  tx_sizes_.clear();
}

// Never blocks for good: while the socket is full, reads what the server sends meanwhile (both
// sides writing into full buffers would wait on each other forever).
bool SimBackend::send_record(const uint8_t *rec, size_t len) {
  for (;;) {
    ssize_t r = ::send(fd_, rec, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r == (ssize_t)len) return true;
    if (r >= 0) { // a seqpacket record goes whole or not at all
      go_down(Status::kIoError, path_ + ": short send of a record");
      return false;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      go_down(Status::kIoError, path_ + ": the simulator went away (send: " + errno_text(errno) + ")");
      return false;
    }
    pollfd p{fd_, POLLIN | POLLOUT, 0};
    int pr = ::poll(&p, 1, 1000);
    if (pr > 0 && (p.revents & POLLIN)) read_available();
    if (down_ != Status::kOk || eof_) {
      if (down_ == Status::kOk) go_down(Status::kIoError, path_ + ": the simulator closed the connection");
      return false;
    }
  }
}

bool SimBackend::end_round() {
  if (!tick_pending_ || down_ != Status::kOk) return false;
  tick_pending_ = false;
  uint8_t rec[sv::kDoneBytes];
  sv::encode_done(now_ps_, rec, sizeof rec);
  send_record(rec, sizeof rec);
  return true;
}

// ---- Receive ------------------------------------------------------------------------------------

std::vector<uint8_t> SimBackend::take_buffer() {
  if (spare_.empty()) return std::vector<uint8_t>();
  std::vector<uint8_t> b = std::move(spare_.back());
  spare_.pop_back();
  return b;
}

void SimBackend::read_available() {
  while (!eof_) {
    ssize_t n = ::recv(fd_, rx_buf_.data(), rx_buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      eof_ = true; // ECONNRESET: the server closed with records of ours unread
      if (down_ == Status::kOk) go_down(Status::kIoError, path_ + ": the connection failed: " + errno_text(errno));
      return;
    }
    if (n == 0) {
      eof_ = true;
      return;
    }
    std::vector<uint8_t> b = take_buffer();
    b.assign(rx_buf_.begin(), rx_buf_.begin() + n);
    inbox_.push_back(std::move(b));
  }
}

uint32_t SimBackend::receive(RxPacket *out, uint32_t max) {
  for (std::vector<uint8_t> &b : held_) spare_.push_back(std::move(b));
  held_.clear();
  if (fd_ < 0) return 0;
  if (!tick_pending_) read_available();
  uint32_t n = 0;
  // Up to the next TICK: the server sends nothing after it until this client's DONE.
  while (n < max && !inbox_.empty() && !tick_pending_ && down_ == Status::kOk) {
    std::vector<uint8_t> b = std::move(inbox_.front());
    inbox_.pop_front();
    sv::Record rec;
    int e = sv::decode(b.data(), b.size(), rec);
    if (e != sv::kOk || !sv::server_may_send(rec.type) || rec.type == sv::kHello) {
      bad_records_.add();
      spare_.push_back(std::move(b));
      continue;
    }
    if (rec.type == sv::kTick) {
      if (rec.time_ps > now_ps_) now_ps_ = rec.time_ps;
      tick_pending_ = true;
      spare_.push_back(std::move(b));
      break;
    }
    if (rec.type == sv::kBye) {
      if (rec.time_ps > now_ps_) now_ps_ = rec.time_ps;
      go_down(Status::kClosed, "the simulation ended (BYE at " + std::to_string(rec.time_ps / 1000000) + " us: " +
                                   (rec.reason == sv::kByeDuration ? "duration reached" : "server stopped") + ")");
      spare_.push_back(std::move(b));
      break;
    }
    // FRAME: strip the outer headers.
    frames_received_.add();
    proto::ParsedPacket p;
    int rc = proto::parse_frame(rec.frame, rec.frame_len, parse_cfg_, p, static_cast<proto::ReceiverSet *>(nullptr));
    if (rc == proto::kNotFanout) {
      not_fanout_.add();
    } else if (rc != proto::kOk) {
      malformed_[rc < kMalformedReasons ? rc : 0].add();
    } else if (p.hdr.type == proto::kTypeProbe) {
      probes_.add(); // the NICs' heartbeats: nothing for the host to answer
    } else {
      uint64_t at_ps = rec.time_ps > now_ps_ ? rec.time_ps : now_ps_;
      out[n].data = rec.frame + proto::kFanoutOffset;
      out[n].len = p.payload_offset + p.payload_len - proto::kFanoutOffset;
      out[n].at_us = kEpochUs + at_ps / 1000000;
      n++;
      held_.push_back(std::move(b));
      continue;
    }
    spare_.push_back(std::move(b));
  }
  if (inbox_.empty() && eof_ && down_ == Status::kOk)
    go_down(Status::kIoError, path_ + ": the simulator closed the connection without BYE");
  return n;
}

void SimBackend::go_down(Status s, const std::string &why) {
  if (down_ != Status::kOk) return;
  down_ = s;
  why_ = why;
}

Status SimBackend::link_status(std::string *why) const {
  if (why) *why = why_;
  return down_;
}

void SimBackend::add_stats(DeviceStats &s) const {
  s.datagrams_sent += frames_sent_.get();
  s.datagrams_received += frames_received_.get();
  s.send_errors += send_errors_.get();
  s.not_for_us += not_fanout_.get() + probes_.get();
  s.malformed += bad_records_.get();
  for (int i = 0; i < kMalformedReasons; i++) {
    s.malformed += malformed_[i].get();
    s.malformed_by_reason[i] += malformed_[i].get();
  }
}

} // namespace fanout::driver
