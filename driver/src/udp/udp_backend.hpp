// The udp backend: Fanout packets as UDP datagrams (the datagram's payload is the packet, from the
// Fanout header on), one socket per node, sends and receives batched with sendmmsg / recvmmsg.
// Node id -> ip:port comes from the cluster file. Works on loopback and between hosts.
#pragma once

#include "../backend.hpp"
#include "../counters.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

namespace fanout::driver {

class UdpBackend final : public Backend {
 public:
  // Binds this node's socket (its `bind`, else its `address`). kIoError with a message on failure.
  static Status open(const ClusterConfig &cluster, NodeId self, std::unique_ptr<UdpBackend> *out, std::string *message);
  ~UdpBackend() override;

  const char *name() const override { return "udp"; }
  BackendCaps caps() const override { return BackendCaps{}; }
  uint32_t max_packet_bytes() const override { return max_packet_; }
  bool send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload, uint32_t payload_len) override;
  void flush() override;
  uint32_t receive(RxPacket *out, uint32_t max) override;
  int rx_fd() const override { return fd_; }
  void add_stats(DeviceStats &s) const override;

  static constexpr uint32_t kBatch = 64; // datagrams per sendmmsg / recvmmsg

 private:
  UdpBackend() = default;

  int fd_ = -1;
  uint32_t max_packet_ = 0;
  std::vector<sockaddr_in> addr_; // by node id
  std::vector<uint8_t> known_;    // by node id: has an address

  // Sends waiting for flush(): headers copied, payloads by reference.
  mmsghdr tx_msgs_[kBatch] = {};
  iovec tx_iov_[kBatch][2] = {};
  std::vector<uint8_t> tx_heads_;
  uint32_t tx_n_ = 0;

  mmsghdr rx_msgs_[kBatch] = {};
  iovec rx_iov_[kBatch] = {};
  std::vector<uint8_t> rx_buf_;
  uint32_t rx_slot_ = 0; // bytes per receive slot
  static constexpr uint32_t kCtrlBytes = 64;
  std::vector<uint8_t> rx_ctrl_; // SO_RXQ_OVFL control messages, one slot per datagram
  uint32_t kernel_drops_ = 0;    // the socket's drop counter, as last reported

  Counter datagrams_sent_, datagrams_received_, send_errors_, unroutable_, oversize_, socket_drops_;
};

} // namespace fanout::driver
