// The udp backend (udp_backend.hpp).
#include "udp_backend.hpp"

#include "fanout/driver/cluster.hpp"
#include "fanout/proto/packet.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fanout::driver {

namespace {

constexpr uint32_t kIpUdpHeaders = 28; // IPv4 (20, no options) + UDP (8)
constexpr uint32_t kMaxHead = proto::kFanoutHeaderBytes + proto::kMaxSetBytes;

std::string errno_text(int e) {
  return std::string(std::strerror(e));
}

} // namespace

Status UdpBackend::open(const ClusterConfig &cluster, NodeId self, std::unique_ptr<UdpBackend> *out,
                        std::string *message) {
  std::unique_ptr<UdpBackend> b(new UdpBackend());
  b->max_packet_ = std::min<uint32_t>(cluster.transport.mtu - kIpUdpHeaders, proto::kMaxPacketBytes);
  b->addr_.assign(proto::kNodeIdSpace, sockaddr_in{});
  b->known_.assign(proto::kNodeIdSpace, 0);
  for (const NodeAddress &n : cluster.nodes) {
    uint32_t ip = 0;
    uint16_t port = 0;
    if (!parse_ipv4_port(n.address, &ip, &port)) continue; // validated by the cluster parser
    sockaddr_in &a = b->addr_[n.id];
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    a.sin_port = htons(port);
    b->known_[n.id] = 1;
  }
  const NodeAddress *me = cluster.find(self);
  uint32_t ip = 0;
  uint16_t port = 0;
  const std::string &listen = me->bind.empty() ? me->address : me->bind;
  parse_ipv4_port(listen, &ip, &port);

  b->fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (b->fd_ < 0) {
    *message = "udp: socket(): " + errno_text(errno);
    return Status::kIoError;
  }
  int size = (int)cluster.transport.socket_buffer_bytes;
  // Best effort: the kernel caps these at net.core.{r,w}mem_max.
  ::setsockopt(b->fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(b->fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  int on = 1; // the kernel reports its drop counter with each datagram (socket_drops)
  ::setsockopt(b->fd_, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(ip);
  a.sin_port = htons(port);
  if (::bind(b->fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
    *message = "udp: node " + std::to_string(self) + " cannot listen on " + listen + ": " + errno_text(errno);
    return Status::kIoError;
  }

  b->tx_heads_.resize((size_t)kBatch * kMaxHead);
  for (uint32_t i = 0; i < kBatch; i++) {
    b->tx_msgs_[i].msg_hdr.msg_iov = b->tx_iov_[i];
    b->tx_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    b->tx_iov_[i][0].iov_base = b->tx_heads_.data() + (size_t)i * kMaxHead;
  }
  // Any datagram up to the protocol's packet limit is received whole (a peer may run a larger MTU
  // than ours); one byte more tells an oversize datagram from a full one.
  b->rx_slot_ = proto::kMaxPacketBytes + 1;
  b->rx_buf_.resize((size_t)kBatch * b->rx_slot_);
  b->rx_ctrl_.resize((size_t)kBatch * kCtrlBytes);
  for (uint32_t i = 0; i < kBatch; i++) {
    b->rx_iov_[i].iov_base = b->rx_buf_.data() + (size_t)i * b->rx_slot_;
    b->rx_iov_[i].iov_len = b->rx_slot_;
    b->rx_msgs_[i].msg_hdr.msg_iov = &b->rx_iov_[i];
    b->rx_msgs_[i].msg_hdr.msg_iovlen = 1;
  }
  *out = std::move(b);
  return Status::kOk;
}

UdpBackend::~UdpBackend() {
  if (fd_ >= 0) ::close(fd_);
}

bool UdpBackend::send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload, uint32_t payload_len) {
  if (!known_[to]) {
    unroutable_.add();
    return false;
  }
  if (head_len > kMaxHead) { // feedback passed on unparsed can be a whole packet: send it alone
    iovec iov{const_cast<uint8_t *>(head), head_len};
    msghdr h{};
    h.msg_name = &addr_[to];
    h.msg_namelen = sizeof(sockaddr_in);
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    ssize_t r;
    do {
      r = ::sendmsg(fd_, &h, 0);
    } while (r < 0 && errno == EINTR);
    (r < 0 ? send_errors_ : datagrams_sent_).add();
    return r >= 0;
  }
  if (tx_n_ == kBatch) flush();
  uint32_t i = tx_n_++;
  std::memcpy(tx_iov_[i][0].iov_base, head, head_len);
  tx_iov_[i][0].iov_len = head_len;
  tx_iov_[i][1].iov_base = const_cast<uint8_t *>(payload);
  tx_iov_[i][1].iov_len = payload_len;
  msghdr &h = tx_msgs_[i].msg_hdr;
  h.msg_name = &addr_[to];
  h.msg_iovlen = payload_len ? 2 : 1;
  return true;
}

void UdpBackend::flush() {
  uint32_t done = 0;
  while (done < tx_n_) {
    int r = ::sendmmsg(fd_, tx_msgs_ + done, tx_n_ - done, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      // The first datagram failed (e.g. EMSGSIZE, unreachable): count it, go on with the rest.
      send_errors_.add();
      done++;
      continue;
    }
    datagrams_sent_.add((uint64_t)r);
    done += (uint32_t)r;
  }
  tx_n_ = 0;
}

uint32_t UdpBackend::receive(RxPacket *out, uint32_t max) {
  uint32_t want = std::min(max, kBatch);
  if (want == 0) return 0;
  for (uint32_t i = 0; i < want; i++) { // the kernel shrinks msg_controllen to what it wrote
    rx_msgs_[i].msg_hdr.msg_control = rx_ctrl_.data() + (size_t)i * kCtrlBytes;
    rx_msgs_[i].msg_hdr.msg_controllen = kCtrlBytes;
  }
  int r;
  do {
    r = ::recvmmsg(fd_, rx_msgs_, want, MSG_DONTWAIT, nullptr);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return 0;
  uint32_t n = 0;
  for (int i = 0; i < r; i++) {
    uint32_t len = rx_msgs_[i].msg_len;
    datagrams_received_.add();
    msghdr &h = rx_msgs_[i].msg_hdr;
    for (cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
      uint32_t drops;
      std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
      if (drops != kernel_drops_) socket_drops_.add(drops - kernel_drops_); // wraps with the kernel's
      kernel_drops_ = drops;
    }
    if (len > proto::kMaxPacketBytes || (rx_msgs_[i].msg_hdr.msg_flags & MSG_TRUNC)) {
      oversize_.add();
      continue;
    }
    out[n].data = static_cast<const uint8_t *>(rx_iov_[i].iov_base);
    out[n].len = len;
    n++;
  }
  return n;
}

void UdpBackend::add_stats(DeviceStats &s) const {
  s.datagrams_sent += datagrams_sent_.get();
  s.datagrams_received += datagrams_received_.get();
  s.send_errors += send_errors_.get();
  s.socket_drops += socket_drops_.get();
  s.unroutable += unroutable_.get();
  s.malformed += oversize_.get();
  s.malformed_by_reason[proto::kFrameTooLong] += oversize_.get();
}

} // namespace fanout::driver
