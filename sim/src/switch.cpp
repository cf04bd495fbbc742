#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "fanout/sim/switch.hpp"

#include <stdexcept>
#include <string>

#include <map>

#include "fanout/proto/bier.hpp"
#include "fanout/proto/packet.hpp"

namespace fanout {
namespace sim {

using sc_core::sc_time;

namespace {
uint64_t mac_key(const uint8_t *m) {
  uint64_t k = 0;
  for (int i = 0; i < 6; i++) k = (k << 8) | m[i];
  return k;
}
} // namespace

Mac48 cluster_mac48(proto::NodeId n) {
  Mac48 m{};
  proto::cluster_mac(n, m.data());
  return m;
}

void validate(const SwitchConfig &c) {
  if (c.ports == 0) throw std::invalid_argument("SwitchConfig.ports: must be > 0");
  if (c.buffer_bytes == 0) throw std::invalid_argument("SwitchConfig.buffer_bytes: must be > 0");
  if (c.mac && ((*c.mac)[0] & 1)) {
    throw std::invalid_argument("SwitchConfig.mac: must be a unicast address (group bit clear)");
  }
}

Switch::Switch(sc_core::sc_module_name name, const SwitchConfig &config) : sc_core::sc_module(name), cfg_(config) {
  validate(cfg_);
  mac_ = cfg_.mac ? *cfg_.mac : cluster_mac48(cfg_.node_id);
  ipv4_ = cfg_.ipv4 ? *cfg_.ipv4 : proto::cluster_ipv4(cfg_.node_id);
  for (uint32_t p = 0; p < cfg_.ports; p++) {
    ports_.push_back(std::make_unique<Port>());
    ports_.back()->ingress = std::make_unique<Ingress>(this, p);
  }
  sc_core::sc_spawn_options opt;
  opt.spawn_method();
  opt.dont_initialize();
  opt.set_sensitivity(&pipeline_event_);
  sc_core::sc_spawn([this] { forward_pending(); }, "forward", &opt);
}

Switch::~Switch() = default;

Switch::Port &Switch::port(uint32_t p) {
  if (p >= ports_.size()) {
    throw std::out_of_range(std::string(name()) + ": port " + std::to_string(p) + " out of range (" +
                            std::to_string(ports_.size()) + " ports)");
  }
  return *ports_[p];
}
const Switch::Port &Switch::port(uint32_t p) const {
  return const_cast<Switch *>(this)->port(p);
}

FrameSink *Switch::ingress(uint32_t p) {
  return port(p).ingress.get();
}

void Switch::connect(uint32_t p, Link &link, int side) {
  Port &pt = port(p);
  connect_switch_port(
      *this, p, link, side, pt.ingress.get(), &pt.link, pt.heartbeat, [this, p] { pump(p); },
      [this, p] { on_heartbeat(p); });
  pt.side = side;
}

void Switch::set_route(const Mac48 &mac, uint32_t p) {
  port(p); // range check
  if (mac[0] & 1) throw std::invalid_argument(std::string(name()) + ": set_route: group (multicast) MAC");
  l2_[mac_key(mac.data())] = p;
}

void Switch::set_route(proto::NodeId cluster_node, uint32_t p) {
  set_route(cluster_mac48(cluster_node), p);
  node_port_[cluster_node] = p;
}

void Switch::start_of_simulation() {
  if (cfg_.heartbeat_interval == sc_core::SC_ZERO_TIME) return;
  for (auto &pt : ports_) {
    if (pt->link) pt->heartbeat.notify(cfg_.heartbeat_interval);
  }
}

void Switch::on_receive(uint32_t p, Frame f) {
  Port &in = port(p);
  in.stats.frames_in++;
  in.stats.bytes_in += f.bytes.size();
  if (f.fcs_bad) { // store and forward: the FCS is checked before anything is forwarded
    in.stats.drops_fcs++;
    return;
  }
  if (f.bytes.size() < proto::kEthHeaderBytes) {
    in.stats.drops_unknown++;
    return;
  }
  if (cfg_.bier && proto::load_be16(f.bytes.data() + proto::kEthTypeOff) == proto::kEtherTypeBier) {
    replicate_bier(p, std::move(f));
    return;
  }
  const uint8_t *dst = f.bytes.data() + proto::kEthDstOff;
  uint64_t key = mac_key(dst);
  if (key == 0xFFFFFFFFFFFFull) {
    in.stats.link_local_in++;
    return;
  }
  auto it = l2_.find(key);
  if (it == l2_.end()) {
    in.stats.drops_unknown++;
    return;
  }
  forward(it->second, std::move(f));
}

void Switch::forward(uint32_t out, Frame f) {
  if (cfg_.forward_latency == sc_core::SC_ZERO_TIME) {
    enqueue(out, std::move(f));
    return;
  }
  // Constant latency: arrivals are in time order, so the pipeline stays sorted.
  bool was_empty = pipeline_.empty();
  pipeline_.push_back(Pending{sc_core::sc_time_stamp() + cfg_.forward_latency, out, std::move(f)});
  if (was_empty) pipeline_event_.notify(cfg_.forward_latency);
}

void Switch::replicate_bier(uint32_t p, Frame f) {
  SwitchPortStats &in = port(p).stats;
  in.bier_in++;
  proto::BierView v;
  if (proto::parse_bier_frame(f.bytes.data(), (uint32_t)f.bytes.size(), v) != proto::kBierOk || v.hdr.ttl <= 1) {
    in.drops_bier++;
    return;
  }
  const uint32_t bsl = v.hdr.bsl, bytes = bsl / 8;
  const uint8_t *bits = f.bytes.data() + v.bitstring_offset;
  // Forwarding bit masks: the ids of this SI behind each port, and each copy's lowest id.
  std::map<uint32_t, std::pair<std::vector<uint8_t>, uint32_t>> per_port;
  for (uint32_t pos = 0; pos < bsl; pos++) {
    if (!proto::bier_test_bit(bits, bsl, pos)) continue;
    uint32_t id = v.si * bsl + pos;
    auto route = node_port_.find(id);
    if (route == node_port_.end()) {
      in.drops_bier++;
      continue;
    }
    auto ins = per_port.emplace(route->second, std::make_pair(std::vector<uint8_t>(bytes, 0), id));
    proto::bier_set_bit(ins.first->second.first.data(), bsl, pos);
  }
  for (auto &pp : per_port) {
    Frame copy = make_frame(f.bytes);
    copy.born = f.born;
    uint8_t *b = copy.bytes.data();
    std::copy(pp.second.first.begin(), pp.second.first.end(), b + v.bitstring_offset);
    b[proto::kEthHeaderBytes + 3] = (uint8_t)(v.hdr.ttl - 1); // TTL: the BIFT-id word's last byte
    proto::cluster_mac((proto::NodeId)pp.second.second, b + proto::kEthDstOff);
    std::copy(mac_.begin(), mac_.end(), b + proto::kEthSrcOff);
    in.bier_copies++;
    forward(pp.first, std::move(copy));
  }
}

void Switch::forward_pending() {
  sc_time now = sc_core::sc_time_stamp();
  while (!pipeline_.empty() && pipeline_.front().ready <= now) {
    Pending pd = std::move(pipeline_.front());
    pipeline_.pop_front();
    enqueue(pd.out, std::move(pd.frame));
  }
  if (!pipeline_.empty()) pipeline_event_.notify(pipeline_.front().ready - now);
}

void Switch::enqueue(uint32_t out, Frame f) {
  Port &pt = port(out);
  SwitchPortStats &s = pt.stats;
  if (!pt.link || s.queue_bytes + f.bytes.size() > cfg_.buffer_bytes) {
    s.drops_buffer++;
    return;
  }
  s.queue_bytes += f.bytes.size();
  if (s.queue_bytes > s.queue_peak_bytes) s.queue_peak_bytes = s.queue_bytes;
  if (is_network_control(f)) {
    s.control_frames++;
    pt.control.push_back(std::move(f));
  } else {
    pt.queue.push_back(std::move(f));
  }
  pump(out);
}

void Switch::pump(uint32_t p) {
  Port &pt = port(p);
  if (!pt.link || (pt.queue.empty() && pt.control.empty()) || pt.link->busy(pt.side)) return;
  // Strict priority: network control (DSCP CS6/CS7: peer-monitor probes) before the data queue.
  std::deque<Frame> &q = pt.control.empty() ? pt.queue : pt.control;
  Frame f = std::move(q.front());
  q.pop_front();
  uint64_t n = f.bytes.size();
  pt.stats.queue_bytes -= n;
  sc_time ser = pt.link->serialization((uint32_t)n);
  pt.link->send(pt.side, std::move(f));
  pt.stats.frames_out++;
  pt.stats.bytes_out += n;
  pt.stats.egress_busy += ser;
  pt.idle_since = sc_core::sc_time_stamp() + ser;
}

double Switch::egress_utilization(uint32_t p) const {
  const Port &pt = port(p);
  return pt.link ? pt.link->utilization(pt.side) : 0.0;
}

bool is_network_control(const Frame &f) {
  const std::vector<uint8_t> &b = f.bytes;
  return b.size() > proto::kIpTosOff && proto::load_be16(b.data() + proto::kEthTypeOff) == proto::kEtherTypeIpv4 &&
         (b[proto::kIpTosOff] & 0xE0) >= 0xC0;
}

Frame make_switch_probe(proto::NodeId node, const Mac48 &mac, uint32_t ipv4, uint16_t udp_port, uint32_t port,
                        uint32_t seq) {
  proto::NetHeaders net;
  for (int i = 0; i < 6; i++) {
    net.eth_dst[i] = 0xff;
    net.eth_src[i] = mac[i];
  }
  net.ip_src = ipv4;
  net.ip_dst = 0xFFFFFFFFu; // limited broadcast: link-local
  net.ip_tos = 0;
  net.ip_ttl = 1;
  net.ip_id = 0;
  net.udp_src_port = udp_port;
  net.udp_dst_port = udp_port;
  proto::FanoutHeader h = proto::make_header(proto::kTypeProbe, node, node, port, seq, 0);
  h.hops_left = 0;
  proto::BasicReceiverSet<1> none;
  std::vector<uint8_t> bytes(proto::kFixedHeadersBytes);
  uint32_t len = 0;
  int err = proto::build_frame(net, h, none, nullptr, 0, proto::default_build_options(), bytes.data(),
                               (uint32_t)bytes.size(), &len);
  if (err != proto::kOk) throw std::logic_error(std::string("PROBE build failed: ") + proto::error_name(err));
  bytes.resize(len);
  return make_frame(std::move(bytes));
}

Frame Switch::make_probe(uint32_t p) {
  Port &pt = port(p);
  return make_switch_probe(cfg_.node_id, mac_, ipv4_, proto::kDefaultUdpPort, p, pt.heartbeat_seq++);
}

void Switch::on_heartbeat(uint32_t p) {
  Port &pt = port(p);
  switch_heartbeat(*pt.link, pt.side, pt.queue.empty(), cfg_.heartbeat_interval, pt.idle_since, pt.stats, pt.heartbeat,
                   [this, p] { return make_probe(p); });
}

} // namespace sim
} // namespace fanout
