#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "fanout/sim/external_host.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "fanout/proto/packet.hpp"

namespace fanout {
namespace sim {

ExternalHost::ExternalHost(sc_core::sc_module_name name, HostPort &port) : sc_core::sc_module(name), port_(port) {
  port_.set_host_sink(this);
  sc_core::sc_spawn([this] { tx_loop(); }, "tx");
}

void ExternalHost::queue(std::vector<uint8_t> bytes) {
  pending_.push_back(make_frame(std::move(bytes)));
  stats_.tx_backlog_max = std::max<uint64_t>(stats_.tx_backlog_max, pending_.size());
  // Called between sc_start() calls: a delta notification wakes tx_loop at the current time
  // when the simulation resumes.
  work_.notify(sc_core::SC_ZERO_TIME);
}

std::vector<ExternalHost::Arrival> ExternalHost::take_rx() {
  std::vector<Arrival> out;
  out.swap(rx_);
  return out;
}

void ExternalHost::tx_loop() {
  for (;;) {
    if (pending_.empty()) {
      wait(work_);
      continue;
    }
    Frame f = pending_.front(); // host_send takes the frame only when it returns true
    f.born = sc_core::sc_time_stamp();
    size_t n = f.bytes.size();
    proto::ParsedPacket pk;
    int err = proto::parse_frame(f.bytes.data(), (uint32_t)n, proto::default_parse_config(), pk,
                                 (proto::ReceiverSet *)nullptr);
    if (!port_.host_send(std::move(f))) {
      wait(port_.host_tx_ready());
      continue;
    }
    pending_.pop_front();
    stats_.tx_frames++;
    stats_.tx_bytes += n;
    if (err == proto::kOk && pk.hdr.type == proto::kTypeData) stats_.tx_data_bytes += n;
    if (err == proto::kOk && pk.hdr.type == proto::kTypeAck) stats_.tx_ack_bytes += n;
  }
}

void ExternalHost::receive(Frame f) {
  stats_.rx_frames++;
  stats_.rx_bytes += f.bytes.size();
  proto::ParsedPacket pk;
  int err = proto::parse_frame(f.bytes.data(), (uint32_t)f.bytes.size(), proto::default_parse_config(), pk,
                               (proto::ReceiverSet *)nullptr);
  if (err == proto::kNotFanout)
    stats_.rx_non_fanout++;
  else if (err != proto::kOk)
    stats_.rx_parse_errors++;
  else if (pk.hdr.type == proto::kTypeProbe)
    stats_.rx_probes++;
  // Exact in a double up to 2^53 ps (about 2.5 simulated hours).
  uint64_t at_ps = (uint64_t)std::llround(sc_core::sc_time_stamp().to_seconds() * 1e12);
  rx_.push_back(Arrival{at_ps, std::move(f.bytes)});
}

} // namespace sim
} // namespace fanout
