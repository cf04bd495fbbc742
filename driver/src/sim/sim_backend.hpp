// The sim backend: this node's host attached to a simulated Fanout NIC inside `fanout-sim --serve
// DIR` (docs/simulator.md "Serving hosts to applications"; the protocol is sim/serve.hpp, a
// SystemC-free header). One Unix SOCK_SEQPACKET connection to `<DIR>/node<N>.sock`; the cluster
// (nodes 0..nodes-1, fan-out, UDP port, largest frame) comes from the server's HELLO.
//
// The NIC replicates and aggregates (BackendCaps::nic_replicates): every frame this host sends
// goes to its own NIC, addressed as sim::Host addresses them (proto::cluster_net_headers(self,
// self, sender, message id)); the NIC delivers DATA copies for this node and one aggregated ACK
// (or NACK) per message to its sender.
//
// Clocked (Backend::provides_clock): the transport runs on simulated time. receive() hands over
// the FRAMEs delivered before the next TICK(T) (each at its at_ps) and then stops at the TICK;
// end_round() answers it with DONE(T) after the progress loop flushed what the transport sent in
// response. Frames flushed before that DONE enter the NIC at T; later ones at T + q.
#pragma once

#include "../backend.hpp"
#include "../counters.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/sim/serve.hpp"

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace fanout::driver {

class SimBackend final : public Backend {
 public:
  // Simulated time 0 is this many microseconds on the transport's clock, so no timer of the
  // transport ever reads a time of 0 (which some of its fields use for "not set").
  static constexpr uint64_t kEpochUs = 1000000;

  // Connects to socket_path(dir, node), retrying while the socket is missing or refuses for up to
  // wait_s seconds, then waits (as long again) for the HELLO. On failure: kNotAvailable (no
  // server), kIoError (the connection failed or was closed before HELLO), kBadUri (path too
  // long), with a message naming the socket path.
  static Status open(const std::string &dir, NodeId node, unsigned wait_s, std::unique_ptr<SimBackend> *out,
                     std::string *message);
  ~SimBackend() override;

  const sim::serve::Hello &hello() const { return hello_; }
  const std::string &socket_path() const { return path_; }

  const char *name() const override { return "sim"; }
  BackendCaps caps() const override {
    BackendCaps c;
    c.nic_replicates = true;
    return c;
  }
  uint32_t max_packet_bytes() const override { return max_packet_; }
  bool send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload, uint32_t payload_len) override;
  void flush() override;
  uint32_t receive(RxPacket *out, uint32_t max) override;
  int rx_fd() const override { return fd_; }
  void add_stats(DeviceStats &s) const override;

  bool provides_clock() const override { return true; }
  uint64_t now_us() const override { return kEpochUs + now_ps_ / 1000000; }
  bool end_round() override;
  Status link_status(std::string *why) const override;

  static constexpr uint32_t kBatch = 64;

 private:
  SimBackend();
  void read_available(); // every record the socket holds now, into inbox_
  bool send_record(const uint8_t *rec, size_t len);
  void go_down(Status s, const std::string &why);
  std::vector<uint8_t> take_buffer();

  int fd_ = -1;
  NodeId self_ = 0;
  std::string path_;
  sim::serve::Hello hello_;
  uint32_t max_packet_ = 0;
  proto::ParseConfig parse_cfg_;

  uint64_t now_ps_ = 0;       // the last TICK's time
  bool tick_pending_ = false; // a TICK was handed over and not answered yet
  bool eof_ = false;          // the server closed its side
  Status down_ = Status::kOk; // kClosed after BYE, kIoError when the connection broke
  std::string why_;

  // Records read from the socket and not handed over yet; records handed over by the last
  // receive() (their frames stay valid until the next one); spare buffers.
  std::deque<std::vector<uint8_t>> inbox_;
  std::vector<std::vector<uint8_t>> held_;
  std::vector<std::vector<uint8_t>> spare_;
  std::vector<uint8_t> rx_buf_;

  // Sends waiting for flush(): whole FRAME records back to back, their sizes.
  std::vector<uint8_t> tx_records_;
  std::vector<uint32_t> tx_sizes_;
  std::vector<uint8_t> pkt_; // scratch: one Fanout packet (head + payload)
  std::unique_ptr<proto::ReceiverSet> set_;

  Counter frames_sent_, frames_received_, send_errors_, not_fanout_, probes_, bad_records_;
  Counter malformed_[kMalformedReasons];
};

} // namespace fanout::driver
