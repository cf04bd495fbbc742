#include "xrt_backend.hpp"

#include "../own_nic_frame.hpp"
#include "fanout/proto/host_dma.hpp"
#include "nic_program.hpp"

#include <cstring>

namespace fanout::driver {

namespace p = fanout::proto;

Status XrtBackend::open(const ClusterConfig &cluster, NodeId self, const Options &o, std::unique_ptr<XrtBackend> *out,
                        std::string *message) {
  xrt::NicProgram prog;
  if (!xrt::nic_program_from_cluster(cluster, self, &prog, message)) return Status::kBadConfig;
  std::unique_ptr<XrtBackend> b(new XrtBackend());
  b->self_ = self;
  std::memcpy(b->mac_, prog.mac, 6);
  b->ipv4_ = prog.ipv4;
  b->udp_port_ = prog.udp_port;
  b->idle_clocks_ = o.idle_clocks;
  uint32_t mtu_packet = cluster.transport.mtu - p::kIpv4HeaderBytes - p::kUdpHeaderBytes;
  b->max_packet_ = std::min<uint32_t>(mtu_packet, p::kMaxFrameBytes - p::kFanoutOffset);
  b->parse_cfg_.udp_port = prog.udp_port;

  std::string error;
  b->card_ = Card::open(o.device, &error);
  if (!b->card_) {
    *message = error;
    return Status::kNotAvailable;
  }
  if (!o.xclbin.empty() ? !b->card_->load(o.xclbin, &error) : !b->card_->attach(&error)) {
    *message = "device " + o.device + ": " + error;
    return Status::kNotAvailable;
  }
  if (o.program && !xrt::program_nic(*b->card_, prog, &error)) {
    *message = "device " + o.device + ": programming the NIC: " + error;
    return Status::kIoError;
  }
  b->dma_ = b->card_->open_dma(o.buffer_bytes, &error);
  if (!b->dma_) {
    *message = "device " + o.device + ": " + error;
    return Status::kIoError;
  }
  *out = std::move(b);
  return Status::kOk;
}

XrtBackend::~XrtBackend() {
  if (!dma_) return;
  std::string ignored;
  for (int i = 0; i < 2; i++) dma_->tx_wait(i, &ignored);
}

void XrtBackend::go_down(const std::string &why) {
  if (down_ != Status::kOk) return;
  down_ = Status::kIoError;
  why_ = why;
}

Status XrtBackend::link_status(std::string *why) const {
  if (down_ != Status::kOk && why) *why = why_;
  return down_;
}

bool XrtBackend::send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload, uint32_t payload_len) {
  (void)to; // every frame goes to this node's NIC: it replicates DATA and aggregates feedback
  if (down_ != Status::kOk || (uint64_t)head_len + payload_len > max_packet_ || head_len < p::kFanoutHeaderBytes) {
    send_errors_.add();
    return false;
  }
  uint32_t len = p::kFanoutOffset + head_len + payload_len;
  uint32_t slot = p::dma_slot_beats(len);
  if (tx_beats_ + slot > dma_->buffer_bytes() / p::kDmaBeatBytes) flush();
  if (down_ != Status::kOk) {
    send_errors_.add();
    return false;
  }
  uint8_t *d = dma_->tx_buffer(tx_) + (uint64_t)tx_beats_ * p::kDmaBeatBytes;
  p::DmaDesc desc{(uint16_t)len, 0, 0};
  p::dma_encode_desc(desc, d);
  uint8_t *f = d + p::kDmaBeatBytes;
  p::write_net_headers(own_nic_headers(self_, mac_, ipv4_, udp_port_, head), head_len + payload_len, f);
  std::memcpy(f + p::kFanoutOffset, head, head_len);
  if (payload_len) std::memcpy(f + p::kFanoutOffset + head_len, payload, payload_len);
  // The last data beat's bytes past the frame are 0 (host_dma.hpp).
  uint32_t padded = p::dma_frame_beats(len) * p::kDmaBeatBytes;
  std::memset(f + len, 0, padded - len);
  tx_beats_ += slot;
  frames_sent_.add();
  return true;
}

void XrtBackend::flush() {
  if (tx_beats_ == 0 || down_ != Status::kOk) return;
  std::string error;
  if (!dma_->tx_start(tx_, tx_beats_, &error)) {
    go_down(error);
    return;
  }
  tx_ = 1 - tx_;
  tx_beats_ = 0;
  if (!dma_->tx_wait(tx_, &error)) go_down(error); // its previous run: the buffer is ours again
}

bool XrtBackend::arm(int i) {
  std::string error;
  if (!dma_->rx_start(i, idle_clocks_, &error)) {
    go_down(error);
    return false;
  }
  return true;
}

uint32_t XrtBackend::receive(RxPacket *out, uint32_t max) {
  if (down_ != Status::kOk) return 0;
  // The buffer handed out completely by the previous call is free from this call on.
  if (cons_ >= 0 && cons_left_ == 0) cons_ = -1;
  if (cons_ < 0) {
    if (!rx_armed_) {
      if (!arm(rx_)) return 0;
      rx_armed_ = true;
    }
    std::string error;
    int st = dma_->rx_poll(rx_, &error);
    if (st < 0) go_down(error);
    if (st <= 0) return 0;
    // Buffer rx_ holds a finished run: consume it while the other one fills.
    cons_ = rx_;
    cons_at_ = 1;
    cons_left_ = 0;
    const uint8_t *buf = dma_->rx_buffer(cons_);
    if (p::c2h_decode_header(buf, &cons_hdr_))
      cons_left_ = cons_hdr_.frames;
    else if (!p::dma_zero_from(buf, 0)) // a run that wrote nothing (XRT's noop shim runs no kernel)
      bad_buffers_.add();               // leaves the cleared header: no frames, nothing wrong
    rx_ = 1 - rx_;
    rx_armed_ = arm(rx_);
  }
  const uint8_t *buf = dma_->rx_buffer(cons_);
  uint32_t n = 0;
  while (cons_left_ > 0 && n < max) {
    p::DmaDesc d;
    uint32_t next = 0;
    if (p::c2h_read_slot(buf, cons_hdr_.beats_used, cons_at_, &d, &next) != p::kDmaDescOk) {
      bad_buffers_.add(); // the rest of this buffer cannot be trusted
      cons_left_ = 0;
      break;
    }
    const uint8_t *frame = buf + (uint64_t)(cons_at_ + 1) * p::kDmaBeatBytes;
    cons_at_ = next;
    cons_left_--;
    frames_received_.add();
    p::ParsedPacket pk;
    int rc = p::parse_frame(frame, d.length, parse_cfg_, pk, static_cast<p::ReceiverSet *>(nullptr));
    if (rc != p::kOk || pk.hdr.type == p::kTypeProbe) {
      if (rc == p::kNotFanout || rc == p::kOk)
        not_fanout_.add(); // other traffic and the links' heartbeats: nothing for the transport
      else
        malformed_[rc < kMalformedReasons ? rc : 0].add();
      continue;
    }
    out[n].data = frame + p::kFanoutOffset;
    out[n].len =
        (pk.auth ? pk.auth_offset + p::kAuthTrailerBytes : pk.payload_offset + pk.payload_len) - p::kFanoutOffset;
    out[n].at_us = 0;
    n++;
  }
  return n;
}

void XrtBackend::add_stats(DeviceStats &s) const {
  s.datagrams_sent += frames_sent_.get();
  s.datagrams_received += frames_received_.get();
  s.send_errors += send_errors_.get();
  s.not_for_us += not_fanout_.get();
  s.malformed += bad_buffers_.get();
  for (int i = 0; i < kMalformedReasons; i++) {
    s.malformed += malformed_[i].get();
    s.malformed_by_reason[i] += malformed_[i].get();
  }
}

} // namespace fanout::driver
