#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "fanout/sim/plain_nic.hpp"

#include <algorithm>
#include <stdexcept>

namespace fanout {
namespace sim {

PlainNic::PlainNic(sc_core::sc_module_name name, proto::NodeId node, sc_core::sc_time kernel_period)
    : sc_core::sc_module(name), node_(node), kernel_period_(kernel_period) {
  sc_core::sc_spawn([this] { tx_loop(); }, "tx");
}

void PlainNic::connect(Link &link, int side) {
  if (link_) throw std::logic_error(std::string(name()) + ": already connected");
  link_ = &link;
  side_ = side;
  link.attach(side, this);
}

bool PlainNic::host_send(Frame f) {
  if (tx_queue_.size() >= kHostTxQueueFrames) return false;
  tx_queue_.push_back(std::move(f));
  stats_.tx_queue_peak = std::max<uint64_t>(stats_.tx_queue_peak, tx_queue_.size());
  tx_work_.notify(sc_core::SC_ZERO_TIME);
  return true;
}

void PlainNic::tx_loop() {
  for (;;) {
    if (tx_queue_.empty() || !link_) {
      wait(tx_work_);
      continue;
    }
    if (link_->busy(side_)) {
      wait(link_->ready_event(side_));
      continue;
    }
    Frame f = std::move(tx_queue_.front());
    tx_queue_.pop_front();
    stats_.tx_frames++;
    stats_.tx_bytes += f.bytes.size();
    link_->send(side_, std::move(f));
    host_tx_ready_.notify(sc_core::SC_ZERO_TIME);
  }
}

void PlainNic::receive(Frame f) {
  if (f.fcs_bad) {
    stats_.rx_fcs_bad++;
    return;
  }
  stats_.rx_frames++;
  stats_.rx_bytes += f.bytes.size();
  if (host_sink_) host_sink_->receive(std::move(f));
}

} // namespace sim
} // namespace fanout
