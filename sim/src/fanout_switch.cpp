#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "fanout/sim/fanout_switch.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>

#include "auth_signer.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/sim/kernel_core.hpp"

namespace fanout {
namespace sim {

using sc_core::sc_time;

namespace {

using Core = KernelCore<FanoutSwitch::kMaxPorts, FanoutSwitch::kAggChildren>;

// A frame being collected from a kernel stream, beat by beat.
struct Assembly {
  bool active = false; // its first beat was taken: it holds a TX queue slot
  std::vector<uint8_t> bytes;
};

sc_time period_of(double mhz) {
  return sc_time((double)std::llround(1e6 / mhz), sc_core::SC_PS);
}

} // namespace

void validate(const FanoutSwitchConfig &c) {
  if (c.ports < 2 || c.ports > FanoutSwitch::kMaxPorts) {
    throw std::invalid_argument("FanoutSwitchConfig.ports: must be 2.." + std::to_string(FanoutSwitch::kMaxPorts));
  }
  if (!std::isfinite(c.kernel_mhz) || c.kernel_mhz <= 0 || std::llround(1e6 / c.kernel_mhz) < 1) {
    throw std::invalid_argument("FanoutSwitchConfig.kernel_mhz: must be > 0 with a period of at least 1 ps");
  }
  if (c.udp_port == 0) throw std::invalid_argument("FanoutSwitchConfig.udp_port: must be > 0");
  if (c.rx_queue_frames == 0) throw std::invalid_argument("FanoutSwitchConfig.rx_queue_frames: must be > 0");
  if (c.rx_queue_bytes < proto::kMaxFrameBytes)
    throw std::invalid_argument("FanoutSwitchConfig.rx_queue_bytes: must hold a maximum frame (" +
                                std::to_string(proto::kMaxFrameBytes) + " bytes)");
  if (c.tx_queue_frames == 0) throw std::invalid_argument("FanoutSwitchConfig.tx_queue_frames: must be > 0");
  if (c.mac && ((*c.mac)[0] & 1)) {
    throw std::invalid_argument("FanoutSwitchConfig.mac: must be a unicast address (group bit clear)");
  }
}

class FanoutSwitch::Ingress : public FrameSink {
 public:
  Ingress(FanoutSwitch *sw, uint32_t p) : sw_(sw), p_(p) {}
  void receive(Frame f) override { sw_->on_receive(p_, std::move(f)); }

 private:
  FanoutSwitch *sw_;
  uint32_t p_;
};

struct FanoutSwitch::Impl {
  struct TxFrame {
    Frame frame;
    bool feedback; // from the aggregator (else a replicator copy)
  };
  struct Port {
    std::unique_ptr<Ingress> ingress;
    Link *link = nullptr;
    int side = 0;
    std::deque<Frame> rx;
    uint64_t rx_bytes = 0; // bytes of the frames in rx
    std::deque<TxFrame> tx;
    Assembly copy, fb;
    // Egress signer (auth on): whole frames wait here, enter it a beat per clock, and come out
    // signed (or unchanged) into `signed_frame`, in order; `signing` holds each one's feedback flag.
    std::deque<std::vector<hw::axis_word>> to_sign;
    size_t to_sign_beat = 0;
    std::deque<bool> signing;
    Assembly signed_frame;
    sc_time idle_since{}; // egress idle from this time on (if nothing is queued or assembling)
    sc_core::sc_event heartbeat;
    uint32_t heartbeat_seq = 0;
    FanoutSwitchPortStats stats;
  };

  std::unique_ptr<Core> core = std::make_unique<Core>(); // tens of MB of tables: on the heap
  std::vector<std::unique_ptr<Port>> ports;
  std::unique_ptr<hw::AuthSigner<kMaxPorts, hw::kParserAuthFifoBeats>> signer; // auth on
  hls::stream<hw::axis_word> sign_in[kMaxPorts], sign_out[kMaxPorts];          // depth 2

  // Ingress: the frame being fed to core.in.
  bool in_active = false;
  Frame in_frame;
  uint32_t in_port = 0, in_beat = 0, in_beats = 0;
  uint32_t rr_next = 0; // round-robin: the port served first at the next frame boundary

  // agg_out adapter: a one-beat register holds a frame's first beat until its port has room
  // (its tdest is only known once read).
  bool agg_held = false;
  hw::axis_word agg_beat;
  bool agg_mid = false;     // a frame is being taken (its first beat accepted)
  bool agg_discard = false; // ... and it has no port
  uint32_t agg_port = 0;

  bool parser_host_mid = false, repl_host_mid = false;

  uint64_t parser_in_beats = 0, egress_beats = 0;
  uint64_t host_frames = 0, host_probes = 0, agg_no_port = 0;

  Port &port(uint32_t p, const char *who) {
    if (p >= ports.size()) {
      throw std::out_of_range(std::string(who) + ": port " + std::to_string(p) + " out of range (" +
                              std::to_string(ports.size()) + " ports)");
    }
    return *ports[p];
  }
};

FanoutSwitch::FanoutSwitch(sc_core::sc_module_name name, const FanoutSwitchConfig &config)
    : sc_core::sc_module(name), cfg_(config) {
  validate(cfg_);
  mac_ = cfg_.mac ? *cfg_.mac : cluster_mac48(cfg_.node_id);
  ipv4_ = cfg_.ipv4 ? *cfg_.ipv4 : proto::cluster_ipv4(cfg_.node_id);
  period_ = period_of(cfg_.kernel_mhz);
  impl_ = std::make_unique<Impl>();
  for (uint32_t p = 0; p < cfg_.ports; p++) {
    impl_->ports.push_back(std::make_unique<Impl::Port>());
    impl_->ports.back()->ingress = std::make_unique<Ingress>(this, p);
  }

  Core &c = *impl_->core;
  hw::NodeAddress self;
  self.id = cfg_.node_id;
  std::copy(mac_.begin(), mac_.end(), self.mac);
  self.ipv4 = ipv4_;
  c.set_self(self, cfg_.udp_port);
  c.replicator().set_mode(hw::kReplModePort);
  c.replicator().set_policy(cfg_.policy);
  if (cfg_.auth_mode != hw::kParserAuthOff) {
    c.parser().set_auth(cfg_.auth_mode, cfg_.auth_key);
    c.parser().set_fifo_limit(hw::kParserAuthFifoBeats); // signed jumbo frames at line rate
    impl_->signer = std::make_unique<hw::AuthSigner<kMaxPorts, hw::kParserAuthFifoBeats>>();
    impl_->signer->configure(true, cfg_.node_id, cfg_.auth_key, cfg_.udp_port);
  }
  c.replicator().set_rate(cfg_.rate);
  hw::AckAggConfig ac = c.ack_agg().config();
  if (cfg_.silent_timeout_clocks) ac.silent_timeout = cfg_.silent_timeout_clocks;
  if (cfg_.nack_window_clocks) ac.nack_window = cfg_.nack_window_clocks;
  c.ack_agg().configure(ac);
  c.peer_monitor().set_interval(0); // port mode: its peers sit behind its own links

  // The kernel clock: first edge at t = 0, then every period.
  sc_core::sc_spawn_options opt;
  opt.spawn_method();
  sc_core::sc_spawn([this] { tick(); }, "clock", &opt);
}

FanoutSwitch::~FanoutSwitch() = default;

void FanoutSwitch::connect(uint32_t p, Link &link, int side) {
  Impl::Port &pt = impl_->port(p, name());
  connect_switch_port(
      *this, p, link, side, pt.ingress.get(), &pt.link, pt.heartbeat, [this, p] { pump(p); },
      [this, p] { on_heartbeat(p); });
  pt.side = side;
}

void FanoutSwitch::set_neighbour(proto::NodeId id, uint8_t port, const Mac48 &mac, uint32_t ipv4) {
  impl_->port(port, name()); // range check
  if (mac[0] & 1) throw std::invalid_argument(std::string(name()) + ": set_neighbour: group (multicast) MAC");
  hw::NeighbourEntry e;
  std::copy(mac.begin(), mac.end(), e.mac);
  e.ipv4 = ipv4;
  e.port = port;
  e.valid = true;
  impl_->core->set_neighbour(id, e);
}

void FanoutSwitch::set_port_route(proto::NodeId id, uint8_t port) {
  // There is no host: kPortLocal would hand DATA to nobody.
  if (port != proto::kPortNone) impl_->port(port, name());
  impl_->core->replicator().set_port(id, port);
}

void FanoutSwitch::set_port_backup(uint8_t port, uint8_t backup) {
  impl_->core->replicator().set_port_backup(port, backup);
}

void FanoutSwitch::set_port_peer(uint8_t port, proto::NodeId peer) {
  impl_->port(port, name());
  impl_->core->replicator().set_port_peer(port, peer);
}

const FanoutSwitchPortStats &FanoutSwitch::stats(uint32_t p) const {
  return impl_->port(p, name()).stats;
}

double FanoutSwitch::egress_utilization(uint32_t p) const {
  const Impl::Port &pt = impl_->port(p, name());
  return pt.link ? pt.link->utilization(pt.side) : 0.0;
}

FanoutSwitch::KernelStats FanoutSwitch::kernel_stats() const {
  const Impl &m = *impl_;
  const Core &c = *m.core;
  KernelStats s;
  s.kernel_cycles = c.cycles();
  s.parser_in_beats = m.parser_in_beats;
  s.egress_beats = m.egress_beats;
  s.parse_codes.resize(proto::kErrorCount);
  for (int i = 0; i < proto::kErrorCount; i++) s.parse_codes[i] = c.parser().error_count(i);
  s.parser_overflow = c.parser().overflow_count();
  s.parser_bad_frames = c.parser().bad_frame_count();
  s.replicator.resize(hw::kReplCounterCount);
  c.replicator().read_counters(s.replicator.data());
  s.ack_agg.resize(hw::kAggCntCount);
  c.ack_agg().read_counters(s.ack_agg.data());
  s.host_frames = m.host_frames;
  s.host_probes = m.host_probes;
  s.agg_no_port = m.agg_no_port;
  s.parser_auth.resize(proto::kAuthCodeCount);
  for (int i = 0; i < proto::kAuthCodeCount; i++) s.parser_auth[i] = c.parser().auth_count(i);
  if (m.signer) {
    s.signer.resize(hw::kSignCntCount);
    m.signer->read_counters(s.signer.data());
  }
  return s;
}

bool FanoutSwitch::idle() const {
  const Impl &m = *impl_;
  const Core &c = *m.core;
  if (m.in_active || m.agg_held || m.agg_mid || m.parser_host_mid || m.repl_host_mid) return false;
  if (!c.idle() || !c.in.empty() || !c.parser_host.empty() || !c.repl_host.empty() || !c.agg_out.empty() ||
      !c.peer_out.empty())
    return false;
  for (uint32_t p = 0; p < kMaxPorts; p++) {
    if (!c.repl_port[p].empty()) return false;
  }
  for (const auto &pt : m.ports) {
    if (!pt->rx.empty() || !pt->tx.empty() || pt->copy.active || pt->fb.active || !pt->signing.empty()) return false;
  }
  return true;
}

void FanoutSwitch::start_of_simulation() {
  if (cfg_.heartbeat_interval == sc_core::SC_ZERO_TIME) return;
  for (auto &pt : impl_->ports) {
    if (pt->link) pt->heartbeat.notify(cfg_.heartbeat_interval);
  }
}

void FanoutSwitch::on_receive(uint32_t p, Frame f) {
  Impl::Port &pt = *impl_->ports[p];
  FanoutSwitchPortStats &s = pt.stats;
  s.frames_in++;
  s.bytes_in += f.bytes.size();
  if (f.bytes.empty()) { // nothing to carry in a beat; a MAC drops runts anyway
    s.drops_runt++;
    return;
  }
  if (pt.rx.size() >= cfg_.rx_queue_frames || pt.rx_bytes + f.bytes.size() > cfg_.rx_queue_bytes) {
    s.drops_rx_queue++;
    return;
  }
  if (f.fcs_bad) s.drops_fcs++; // still fed to the parser, which drops it (tuser[8])
  pt.rx_bytes += f.bytes.size();
  pt.rx.push_back(std::move(f));
  if (pt.rx.size() > s.rx_queue_peak) s.rx_queue_peak = pt.rx.size();
}

void FanoutSwitch::tick() {
  // PHY status of every used port into the replicator's port_down mask (a link monitor's PHY
  // input; silent peers are not detected here).
  Impl &m = *impl_;
  uint64_t down = 0;
  for (uint32_t p = 0; p < cfg_.ports; p++)
    if (m.ports[p]->link && !m.ports[p]->link->up()) down |= 1ull << p;
  if (down != port_down_) {
    for (uint32_t p = 0; p < cfg_.ports; p++)
      if (((down ^ port_down_) >> p) & 1u)
        port_events_.push_back(PortEvent{sc_core::sc_time_stamp(), p, ((down >> p) & 1u) != 0});
    if (down & ~port_down_) awaiting_repair_ = true;
    port_down_ = down;
    m.core->replicator().set_port_down(down);
  }
  ingress();
  impl_->core->step();
  uint32_t backups = m.core->replicator().counter(hw::kCntBackupCopies);
  if (backups != backup_copies_) {
    backup_copies_ = backups;
    if (awaiting_repair_) repairs_.push_back(sc_core::sc_time_stamp());
    awaiting_repair_ = false;
  }
  egress();
  sign_step();
  drain_host();
  sc_core::next_trigger(period_);
}

void FanoutSwitch::ingress() {
  Impl &m = *impl_;
  Core &c = *m.core;
  if (!m.in_active) {
    // Next frame: round-robin over the ports, from the one after the last served.
    for (uint32_t k = 0; k < cfg_.ports; k++) {
      uint32_t p = (m.rr_next + k) % cfg_.ports;
      std::deque<Frame> &rx = m.ports[p]->rx;
      if (rx.empty()) continue;
      // Credit check: the whole frame must fit the parser's FIFO (it never stores more than
      // kMaxFrameBeats of one frame), so the parser never overflows and frames wait here.
      uint32_t beats = proto::beats_for((uint32_t)std::min<size_t>(rx.front().bytes.size(), UINT32_MAX));
      uint32_t need = std::min(beats, hw::kMaxFrameBeats);
      if (c.parser().fifo_level() + c.in.size() + need > c.parser().fifo_limit()) break;
      m.ports[p]->rx_bytes -= rx.front().bytes.size();
      m.in_frame = std::move(rx.front());
      rx.pop_front();
      m.in_active = true;
      m.in_port = p;
      m.in_beat = 0;
      m.in_beats = beats;
      m.rr_next = (p + 1) % cfg_.ports;
      break;
    }
  }
  if (!m.in_active || c.in.full()) return;
  const std::vector<uint8_t> &bytes = m.in_frame.bytes;
  proto::Beat b;
  uint32_t base = m.in_beat * proto::kBeatBytes;
  uint32_t valid = std::min<uint32_t>((uint32_t)bytes.size() - base, proto::kBeatBytes);
  std::memset(b.data, 0, sizeof b.data);
  std::memcpy(b.data, bytes.data() + base, valid);
  b.keep = proto::keep_mask(valid);
  b.last = m.in_beat + 1 == m.in_beats;
  uint32_t user = m.in_port | (m.in_frame.fcs_bad ? 1u << hw::kUserBadFrameBit : 0u);
  c.in.write(hw::from_beat(b, 0, user));
  m.parser_in_beats++;
  if (++m.in_beat == m.in_beats) {
    m.in_active = false;
    m.in_frame = Frame();
  }
}

void FanoutSwitch::egress() {
  Impl &m = *impl_;
  Core &c = *m.core;
  // A stream may start a new frame only while queued + assembling frames stay under the bound.
  auto room = [this](const Impl::Port &pt) {
    return pt.tx.size() + pt.signing.size() + (pt.copy.active ? 1u : 0u) + (pt.fb.active ? 1u : 0u) <
           cfg_.tx_queue_frames;
  };
  auto append = [](Assembly &a, const hw::axis_word &w) {
    proto::Beat b = hw::to_beat(w);
    uint32_t n = (uint32_t)__builtin_popcountll(b.keep); // the kernels send contiguous low masks
    a.active = true;
    a.bytes.insert(a.bytes.end(), b.data, b.data + n);
  };
  auto finish = [this, &m](uint32_t p, Assembly &a, bool feedback) {
    Impl::Port &pt = *m.ports[p];
    Frame f = make_frame(std::move(a.bytes));
    a.bytes = std::vector<uint8_t>();
    a.active = false;
    FanoutSwitchPortStats &s = pt.stats;
    if (!pt.link) {
      s.drops_no_link++;
      return;
    }
    if (m.signer) {
      // Through the signer first (sign_step); queued for the link when it comes out.
      std::vector<proto::Beat> beats(proto::beats_for((uint32_t)f.bytes.size()));
      proto::frame_to_beats(f.bytes.data(), (uint32_t)f.bytes.size(), beats.data(), (uint32_t)beats.size());
      std::vector<hw::axis_word> words;
      for (const proto::Beat &b : beats) words.push_back(hw::from_beat(b, (hw::axis_port)p, 0));
      pt.to_sign.push_back(std::move(words));
      pt.signing.push_back(feedback);
      s.tx_queue_frames++;
      s.tx_queue_peak_frames = std::max(s.tx_queue_peak_frames, s.tx_queue_frames);
      return;
    }
    s.tx_queue_frames++;
    s.tx_queue_bytes += f.bytes.size();
    s.tx_queue_peak_frames = std::max(s.tx_queue_peak_frames, s.tx_queue_frames);
    s.tx_queue_peak_bytes = std::max(s.tx_queue_peak_bytes, s.tx_queue_bytes);
    pt.tx.push_back(Impl::TxFrame{std::move(f), feedback});
    pump(p);
  };

  for (uint32_t p = 0; p < cfg_.ports; p++) {
    Impl::Port &pt = *m.ports[p];
    hls::stream<hw::axis_word> &s = c.repl_port[p];
    if (s.empty()) continue;
    if (!pt.copy.active && !room(pt)) {
      pt.stats.tx_hold_clocks++;
      continue;
    }
    hw::axis_word w = s.read();
    m.egress_beats++;
    append(pt.copy, w);
    if (w.last == 1) finish(p, pt.copy, false);
  }

  // The switch's peer monitor is off (port mode: its peers sit behind its own links); it would
  // only answer a peer probe, which no port-mode NIC sends. Anything it emits is discarded.
  if (!c.peer_out.empty()) c.peer_out.read();

  if (!m.agg_held && !c.agg_out.empty()) {
    m.agg_beat = c.agg_out.read();
    m.agg_held = true;
    m.egress_beats++;
  }
  if (m.agg_held) {
    const hw::axis_word &w = m.agg_beat;
    bool take = true;
    if (!m.agg_mid) {
      uint32_t dest = w.dest.to_uint();
      if (dest >= cfg_.ports) { // kPortLocal (this node's own host) or a port not used here
        m.agg_discard = true;
        m.agg_no_port++;
      } else if (!room(*m.ports[dest])) {
        take = false;
        m.ports[dest]->stats.tx_hold_clocks++;
      } else {
        m.agg_discard = false;
        m.agg_port = dest;
        m.ports[dest]->fb.active = true; // holds its TX queue slot from now on
      }
      m.agg_mid = take;
    }
    if (take) {
      m.agg_held = false;
      if (!m.agg_discard) append(m.ports[m.agg_port]->fb, w);
      if (w.last == 1) {
        if (!m.agg_discard) finish(m.agg_port, m.ports[m.agg_port]->fb, true);
        m.agg_mid = false;
      }
    }
  }
}

void FanoutSwitch::sign_step() {
  Impl &m = *impl_;
  if (!m.signer) return;
  for (uint32_t p = 0; p < cfg_.ports; p++) {
    Impl::Port &pt = *m.ports[p];
    if (!pt.to_sign.empty() && !m.sign_in[p].full()) {
      m.sign_in[p].write(pt.to_sign.front()[pt.to_sign_beat++]);
      if (pt.to_sign_beat == pt.to_sign.front().size()) {
        pt.to_sign.pop_front();
        pt.to_sign_beat = 0;
      }
    }
  }
  m.signer->step(m.sign_in, m.sign_out);
  for (uint32_t p = 0; p < cfg_.ports; p++) {
    Impl::Port &pt = *m.ports[p];
    if (m.sign_out[p].empty()) continue;
    proto::Beat b = hw::to_beat(m.sign_out[p].read());
    uint32_t n = (uint32_t)__builtin_popcountll(b.keep); // contiguous low masks
    pt.signed_frame.bytes.insert(pt.signed_frame.bytes.end(), b.data, b.data + n);
    if (!b.last) continue;
    Frame f = make_frame(std::move(pt.signed_frame.bytes));
    pt.signed_frame.bytes = std::vector<uint8_t>();
    bool feedback = pt.signing.front();
    pt.signing.pop_front();
    FanoutSwitchPortStats &s = pt.stats;
    s.tx_queue_bytes += f.bytes.size();
    s.tx_queue_peak_bytes = std::max(s.tx_queue_peak_bytes, s.tx_queue_bytes);
    pt.tx.push_back(Impl::TxFrame{std::move(f), feedback});
    pump(p);
  }
}

void FanoutSwitch::drain_host() {
  Impl &m = *impl_;
  Core &c = *m.core;
  auto drain = [this, &m](hls::stream<hw::axis_word> &s, bool &mid, bool fanout) {
    while (!s.empty()) {
      hw::axis_word w = s.read();
      if (!mid) {
        // tuser[7:0] still holds the ingress port (the kernels pass these beats unchanged).
        uint32_t in = w.user.range(hw::kUserIngressHi, hw::kUserIngressLo).to_uint();
        uint32_t type = hw::byte(w.data, proto::kFanoutOffset + proto::kFoVerTypeOff).to_uint() & 0x0F;
        bool probe = fanout && type == proto::kTypeProbe;
        m.host_frames++;
        if (probe) m.host_probes++;
        if (in < cfg_.ports) {
          FanoutSwitchPortStats &st = m.ports[in]->stats;
          (probe ? st.link_local_in : st.host_bound_in)++;
        }
      }
      mid = w.last != 1;
    }
  };
  drain(c.parser_host, m.parser_host_mid, false);
  drain(c.repl_host, m.repl_host_mid, true);
}

void FanoutSwitch::pump(uint32_t p) {
  Impl::Port &pt = *impl_->ports[p];
  if (!pt.link || pt.tx.empty() || pt.link->busy(pt.side)) return;
  Impl::TxFrame t = std::move(pt.tx.front());
  pt.tx.pop_front();
  uint64_t n = t.frame.bytes.size();
  FanoutSwitchPortStats &s = pt.stats;
  s.tx_queue_frames--;
  s.tx_queue_bytes -= n;
  sc_time ser = pt.link->serialization((uint32_t)n);
  pt.link->send(pt.side, std::move(t.frame));
  s.frames_out++;
  s.bytes_out += n;
  (t.feedback ? s.feedback_out : s.copies_out)++;
  s.egress_busy += ser;
  pt.idle_since = sc_core::sc_time_stamp() + ser;
}

Frame FanoutSwitch::make_probe(uint32_t p) {
  Impl::Port &pt = *impl_->ports[p];
  return make_switch_probe(cfg_.node_id, mac_, ipv4_, cfg_.udp_port, p, pt.heartbeat_seq++);
}

void FanoutSwitch::on_heartbeat(uint32_t p) {
  Impl::Port &pt = *impl_->ports[p];
  switch_heartbeat(*pt.link, pt.side, pt.tx.empty() && !pt.copy.active && !pt.fb.active, cfg_.heartbeat_interval,
                   pt.idle_since, pt.stats, pt.heartbeat, [this, p] { return make_probe(p); });
}

} // namespace sim
} // namespace fanout
