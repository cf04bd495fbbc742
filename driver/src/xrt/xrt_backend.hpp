// The xrt backend: this node's host attached to a Fanout NIC on an Alveo card (docs/alveo.md,
// docs/driver.md "xrt"). At open it loads the xclbin (or takes the one on the card), checks its
// register map, programs the NIC from the cluster file (xrt/nic_program.hpp) and sets up the data
// movers' buffers (fanout/driver/card.hpp, CardDma).
//
// The NIC replicates and aggregates (BackendCaps::nic_replicates), as in the sim backend: every
// frame this host sends goes to its own NIC with the whole receiver set, addressed from this node
// to this node; the NIC delivers DATA copies for this node and one aggregated ACK or NACK per
// message to its sender.
//
// Frames go to the card in batches: send() appends a slot (proto/host_dma.hpp) to the current
// host-to-card buffer, flush() starts an h2c run over it and switches to the other buffer (waiting
// for that one's previous run first). One c2h run is always armed; receive() takes the frames of a
// finished run while the other buffer fills, and re-arms a buffer only in the receive() call after
// its last frame was handed out, so frames stay valid until the next receive(). Polled: rx_fd()
// is -1.
#pragma once

#include "../backend.hpp"
#include "../counters.hpp"
#include "fanout/driver/card.hpp"
#include "fanout/proto/host_dma.hpp"
#include "fanout/proto/packet.hpp"

#include <memory>
#include <string>
#include <vector>

namespace fanout::driver {

class XrtBackend final : public Backend {
 public:
  struct Options {
    std::string device = "0";         // index or PCIe BDF
    std::string xclbin;               // empty: the xclbin already on the card (fanout card load)
    bool program = true;              // write the NIC's configuration (false: programmed already)
    uint32_t buffer_bytes = 1u << 20; // per data mover buffer (two each way)
    uint32_t idle_clocks = 3000;      // a c2h run returns after this many idle kernel clocks (10 us)
  };

  // kNotAvailable (no XRT, no card, no xclbin), kBadConfig (the cluster file's addresses), kIoError
  // (a register or data mover refused), with a message naming what.
  static Status open(const ClusterConfig &cluster, NodeId self, const Options &o, std::unique_ptr<XrtBackend> *out,
                     std::string *message);
  ~XrtBackend() override;

  const char *name() const override { return "xrt"; }
  BackendCaps caps() const override {
    BackendCaps c;
    c.nic_replicates = true;
    return c;
  }
  uint32_t max_packet_bytes() const override { return max_packet_; }
  bool send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload, uint32_t payload_len) override;
  void flush() override;
  uint32_t receive(RxPacket *out, uint32_t max) override;
  int rx_fd() const override { return -1; }
  void add_stats(DeviceStats &s) const override;
  Status link_status(std::string *why) const override;

 private:
  XrtBackend() = default;
  void go_down(const std::string &why);
  bool arm(int i); // start a c2h run into buffer i

  std::unique_ptr<Card> card_;
  std::unique_ptr<CardDma> dma_;
  NodeId self_ = 0;
  uint8_t mac_[6] = {};
  uint32_t ipv4_ = 0;
  uint16_t udp_port_ = 0;
  uint32_t max_packet_ = 0;
  uint32_t idle_clocks_ = 0;
  proto::ParseConfig parse_cfg_;

  int tx_ = 0;            // the buffer send() fills
  uint32_t tx_beats_ = 0; // beats in it
  int rx_ = 0;            // the buffer the next (or armed) c2h run writes
  bool rx_armed_ = false;
  int cons_ = -1;          // the buffer receive() hands out, -1 none
  uint32_t cons_at_ = 0;   // its next slot (beat index)
  uint32_t cons_left_ = 0; // frames of it not handed out yet
  proto::C2hHeader cons_hdr_{};

  Status down_ = Status::kOk;
  std::string why_;

  Counter frames_sent_, frames_received_, send_errors_, not_fanout_, bad_buffers_;
  Counter malformed_[kMalformedReasons];
};

} // namespace fanout::driver
