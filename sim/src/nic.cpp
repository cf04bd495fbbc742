// The NIC model: Verilated rtl/fanout_nic_top.sv + the HLS kernels (see nic.hpp).
//
// One edge of either clock is three steps, as a synchronous testbench does it:
//  1. with both clocks low, every agent of the clock(s) about to rise drives its signals
//     (a source presents its held beat, a sink its tready) and the model settles (eval);
//  2. handshakes are sampled (tvalid && tready), both clocks are raised together (eval);
//  3. fired beats move: sources drop them, sinks store them; on a kernel edge the kernels then
//     step once, after which their outputs feed the next edge's step 1.
// Adapters between the kernels' hls::streams and the shell hold one beat (the AXI-Stream
// register slice a Vitis kernel port has), so a stream is read only into an empty holder.
// Verilator's headers first: seeing SystemC's, verilated.h would take its time from
// sc_time_stamp() (a SystemC-mode model); this model is C++ mode and keeps its own time.
#include "Vfanout_nic_top.h"
#include "verilated.h"
#include "verilated_fst_c.h"

#include "fanout/sim/nic.hpp"

#include <cmath>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>

#include "auth_signer.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/regs.hpp"
#include "fanout/sim/kernel_core.hpp"

namespace fanout {
namespace sim {

using sc_core::sc_time;

namespace {

constexpr uint32_t kWords = 16; // 32-bit words of a 512-bit beat (Verilator's VlWide layout)

// One beat as the shell sees it: tdata as Verilator stores it (word w = bytes 4w..4w+3, byte 4w
// in the low bits: AXI-Stream byte i is tdata[8i+7:8i]).
struct Beat {
  uint32_t w[kWords] = {};
  uint64_t keep = 0;
  bool last = false;
  uint16_t user = 0;
  uint8_t dest = 0;
};

hw::axis_word to_axis(const Beat &b) {
  hw::axis_word a;
#ifdef FANOUT_HLS_SHIM
  // The shim keeps ap_uint<512> in eight little-endian 64-bit words: copy them whole.
  for (uint32_t i = 0; i < kWords / 2; i++) a.data.shim_w[i] = (uint64_t)b.w[2 * i] | ((uint64_t)b.w[2 * i + 1] << 32);
#else
  for (uint32_t i = 0; i < kWords; i++) a.data.range(32 * i + 31, 32 * i) = b.w[i];
#endif
  a.keep = b.keep;
  a.strb = b.keep;
  a.last = b.last ? 1 : 0;
  a.user = b.user;
  a.dest = b.dest;
  return a;
}

Beat from_axis(const hw::axis_word &a) {
  Beat b;
#ifdef FANOUT_HLS_SHIM
  for (uint32_t i = 0; i < kWords / 2; i++) {
    b.w[2 * i] = (uint32_t)a.data.shim_w[i];
    b.w[2 * i + 1] = (uint32_t)(a.data.shim_w[i] >> 32);
  }
#else
  for (uint32_t i = 0; i < kWords; i++) b.w[i] = (uint32_t)a.data.range(32 * i + 31, 32 * i).to_uint64();
#endif
  b.keep = a.keep.to_uint64();
  b.last = a.last == 1;
  b.user = (uint16_t)a.user.to_uint64();
  b.dest = (uint8_t)a.dest.to_uint64();
  return b;
}

// Frame bytes -> beats (tkeep exact on the last beat).
std::vector<Beat> to_beats(const std::vector<uint8_t> &bytes, uint16_t user) {
  std::vector<Beat> out;
  uint32_t n = (uint32_t)bytes.size();
  for (uint32_t off = 0; off < n || out.empty(); off += proto::kBeatBytes) {
    Beat b;
    uint32_t len = std::min<uint32_t>(proto::kBeatBytes, n - std::min(off, n));
    if (len) std::memcpy(b.w, bytes.data() + off, len); // little-endian host: byte 4w+j in bits 8j
    b.keep = proto::keep_mask(len);
    b.last = off + proto::kBeatBytes >= n;
    b.user = user;
    out.push_back(b);
  }
  return out;
}

void append_bytes(std::vector<uint8_t> &to, const Beat &b) {
  uint32_t n = 0;
  while (n < 64 && ((b.keep >> n) & 1)) n++;
  const uint8_t *p = reinterpret_cast<const uint8_t *>(b.w);
  to.insert(to.end(), p, p + n);
}

// Packed per-port buses: port p's field of width w bits at [p*w +: w].
template <std::size_t N> void put_wide(VlWide<N> &s, uint32_t p, const uint32_t (&w)[kWords]) {
  for (uint32_t i = 0; i < kWords; i++) s[p * kWords + i] = w[i];
}
template <std::size_t N> void get_wide(const VlWide<N> &s, uint32_t p, uint32_t (&w)[kWords]) {
  for (uint32_t i = 0; i < kWords; i++) w[i] = s[p * kWords + i];
}
template <std::size_t N> void set_field(VlWide<N> &s, uint32_t lo, uint32_t width, uint64_t v) {
  for (uint32_t i = 0; i < width; i++) {
    uint32_t bit = lo + i, m = 1u << (bit % 32);
    s[bit / 32] = ((v >> i) & 1) ? (s[bit / 32] | m) : (s[bit / 32] & ~m);
  }
}
template <std::size_t N> uint64_t get_field(const VlWide<N> &s, uint32_t lo, uint32_t width) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < width; i++) v |= (uint64_t)((s[(lo + i) / 32] >> ((lo + i) % 32)) & 1) << i;
  return v;
}
template <class T, std::enable_if_t<std::is_integral<T>::value, int> = 0>
void set_field(T &s, uint32_t lo, uint32_t width, uint64_t v) {
  uint64_t mask = (width >= 64 ? ~0ull : ((1ull << width) - 1)) << lo;
  s = (T)(((uint64_t)s & ~mask) | ((v << lo) & mask));
}
template <class T, std::enable_if_t<std::is_integral<T>::value, int> = 0>
uint64_t get_field(T s, uint32_t lo, uint32_t width) {
  return ((uint64_t)s >> lo) & (width >= 64 ? ~0ull : ((1ull << width) - 1));
}

uint64_t period_ps(double mhz) {
  return (uint64_t)std::llround(1e6 / mhz);
}

} // namespace

void validate(const NicConfig &c) {
  auto bad = [](const std::string &field, const std::string &problem) {
    throw std::invalid_argument("NicConfig." + field + ": " + problem);
  };
  if (c.node >= 0xFFF0)
    bad("node", "ids 0xFFF0 and above are reserved for switches (got " + std::to_string(c.node) + ")");
  if (!c.port_mode && !proto::valid_fanout(c.fanout))
    bad("fanout",
        "tree fan-out must be 2.." + std::to_string(proto::kMaxTreeFanout) + " (got " + std::to_string(c.fanout) + ")");
  if (!(c.kernel_mhz >= 50 && c.kernel_mhz <= 1000)) bad("kernel_mhz", "must be 50..1000");
  if (!(c.mac_mhz >= 50 && c.mac_mhz <= 1000)) bad("mac_mhz", "must be 50..1000");
  if (c.heartbeat_clocks > 0 && c.heartbeat_clocks < 16) bad("heartbeat_clocks", "must be 0 (off) or >= 16");
}

struct Nic::Impl {
  using Core = KernelCore<Nic::kPorts>;

  // A kernel output stream presented to a shell input port.
  struct StreamSource {
    Core::Beats *stream = nullptr;
    bool holding = false;
    Beat beat;
    bool fire = false;
  };
  struct MacPort {
    Link *link = nullptr;
    int side = 0;
    std::deque<std::vector<Beat>> rx; // frames arrived, not yet fully presented
    size_t rx_next = 0;               // next beat of rx.front()
    bool rx_fire = false, rx_drop = false;
    bool tx_ready = false, tx_fire = false;
    Beat tx_beat;
    std::vector<uint8_t> tx_bytes; // frame being assembled from mac_tx
    std::deque<Frame> tx_pending;  // whole frames waiting for the link (at most kMacTxFrames)
  };
  class MacRxSink : public FrameSink {
   public:
    MacRxSink(Impl *impl, uint32_t p) : impl_(impl), p_(p) {}
    void receive(Frame f) override { impl_->mac_receive(p_, std::move(f)); }

   private:
    Impl *impl_;
    uint32_t p_;
  };

  explicit Impl(Nic *owner) : nic(owner) {
    ctx = std::make_unique<VerilatedContext>();
    ctx->traceEverOn(!nic->cfg_.fst_path.empty());
    m = std::make_unique<Vfanout_nic_top>(ctx.get(), "nic_top");
    core = std::make_unique<Core>();
    src_parser_host.stream = &core->parser_host;
    src_repl_host.stream = &core->repl_host;
    src_agg.stream = &core->agg_out;
    src_peer.stream = &core->peer_out;
    for (uint32_t p = 0; p < Nic::kPorts; p++) {
      src_repl_port[p].stream = &core->repl_port[p];
      rx_sinks[p] = std::make_unique<MacRxSink>(this, p);
    }
  }
  ~Impl() {
    if (tfp) tfp->close();
    m->final();
  }

  void mac_receive(uint32_t p, Frame f) {
    stats.mac_rx_frames++;
    // tuser[8]: the MAC's FCS check failed; the parser drops the frame and counts it.
    mac[p].rx.push_back(to_beats(f.bytes, f.fcs_bad ? (uint16_t)(1u << hw::kUserBadFrameBit) : 0));
  }

  // ---- One edge of either clock, at absolute time now_ps --------------------------------------
  void edge(bool me, bool ke) {
    Vfanout_nic_top &t = *m;
    // 1. Drive, clocks low.
    t.clk = 0;
    t.mac_clk = 0;
    if (me) drive_mac();
    if (ke) drive_kernel();
    t.eval();
    dump();
    // 2. Sample handshakes, raise the clocks.
    if (me) sample_mac();
    if (ke) sample_kernel();
    t.clk = ke ? 1 : 0;
    t.mac_clk = me ? 1 : 0;
    t.eval();
    now_ps_dump = now_ps + 1;
    dump();
    // 3. Move fired beats; step the kernels.
    if (me) {
      stats.mac_cycles++;
      after_mac();
    }
    if (ke) {
      stats.kernel_cycles++;
      after_kernel();
    }
  }

  void drive_mac() {
    Vfanout_nic_top &t = *m;
    for (uint32_t p = 0; p < Nic::kPorts; p++) {
      MacPort &mp = mac[p];
      bool valid = !mp.rx.empty();
      if (valid) {
        const Beat &b = mp.rx.front()[mp.rx_next];
        put_wide(t.mac_rx_tdata, p, b.w);
        set_field(t.mac_rx_tkeep, 64 * p, 64, b.keep);
        set_field(t.mac_rx_tlast, p, 1, b.last);
        set_field(t.mac_rx_tuser, 16 * p, 16, b.user);
        set_field(t.mac_rx_tdest, 8 * p, 8, 0);
      }
      set_field(t.mac_rx_tvalid, p, 1, valid);
      // The MAC takes a beat whenever its transmit buffer has room (kMacTxFrames whole frames,
      // store and forward): the next frame is collected while the link sends the ones before.
      // With the signer, the shell's beats go to its input instead (it holds them while it hashes).
      mp.tx_ready = mp.link != nullptr && (signer ? !sign_in[p].full() : mp.tx_pending.size() < kMacTxFrames);
      set_field(t.mac_tx_tready, p, 1, mp.tx_ready);
      set_field(t.mac_link_up, p, 1, mp.link != nullptr && mp.link->up());
    }
  }

  void sample_mac() {
    Vfanout_nic_top &t = *m;
    for (uint32_t p = 0; p < Nic::kPorts; p++) {
      MacPort &mp = mac[p];
      mp.rx_fire = get_field(t.mac_rx_tvalid, p, 1) && get_field(t.mac_rx_tready, p, 1);
      // A MAC cannot wait: a frame whose first beat finds the RX FIFO full is dropped whole. A
      // refusal inside a frame (the FIFO sized so it does not happen) is held and counted.
      mp.rx_drop = false;
      if (!mp.rx.empty() && !mp.rx_fire) {
        if (mp.rx_next == 0) {
          mp.rx_drop = true;
          stats.mac_rx_dropped++;
        } else {
          stats.mac_rx_stall_clocks++;
        }
      }
      mp.tx_fire = mp.tx_ready && get_field(t.mac_tx_tvalid, p, 1);
      if (mp.tx_fire) {
        get_wide(t.mac_tx_tdata, p, mp.tx_beat.w);
        mp.tx_beat.keep = get_field(t.mac_tx_tkeep, 64 * p, 64);
        mp.tx_beat.last = get_field(t.mac_tx_tlast, p, 1);
      }
    }
  }

  void after_mac() {
    if (signer) signer->step(sign_in, sign_out); // one MAC clock of the signer (MAC clock domain)
    for (uint32_t p = 0; p < Nic::kPorts; p++) {
      MacPort &mp = mac[p];
      if (mp.rx_drop || (mp.rx_fire && ++mp.rx_next == mp.rx.front().size())) {
        mp.rx.pop_front();
        mp.rx_next = 0;
      }
      if (mp.tx_fire && signer) sign_in[p].write(to_axis(mp.tx_beat));
      Beat out;
      bool have = false;
      if (signer) {
        // One beat from the signer per MAC clock, while the MAC's buffer has room.
        if (!sign_out[p].empty() && mp.tx_pending.size() < kMacTxFrames) {
          out = from_axis(sign_out[p].read());
          have = true;
        }
      } else if (mp.tx_fire) {
        out = mp.tx_beat;
        have = true;
      }
      if (have) {
        append_bytes(mp.tx_bytes, out);
        if (out.last) {
          mp.tx_pending.push_back(make_frame(std::move(mp.tx_bytes)));
          mp.tx_bytes.clear();
          stats.mac_tx_frames++;
        }
      }
      // The link serializes one frame at a time; the MAC holds the next until it is free.
      if (!mp.tx_pending.empty() && !mp.link->busy(mp.side)) {
        mp.link->send(mp.side, std::move(mp.tx_pending.front()));
        mp.tx_pending.pop_front();
      }
    }
  }

  template <class Bus> void drive_source(StreamSource &s, Bus put) {
    if (!s.holding && !s.stream->empty()) {
      s.beat = from_axis(s.stream->read());
      s.holding = true;
    }
    put(s.holding, s.beat);
  }

  void drive_kernel() {
    Vfanout_nic_top &t = *m;
    // Kernel outputs -> shell inputs.
    // The single (unpacked) kernel-to-shell ports share one shape.
#define FANOUT_NIC_DRIVE(src, PFX)                                                                                     \
  drive_source(src, [&](bool v, const Beat &b) {                                                                       \
    if (v) {                                                                                                           \
      for (uint32_t i = 0; i < kWords; i++) t.PFX##_tdata[i] = b.w[i];                                                 \
      t.PFX##_tkeep = b.keep;                                                                                          \
      t.PFX##_tlast = b.last;                                                                                          \
      t.PFX##_tuser = b.user;                                                                                          \
      t.PFX##_tdest = b.dest;                                                                                          \
    }                                                                                                                  \
    t.PFX##_tvalid = v;                                                                                                \
  })
    FANOUT_NIC_DRIVE(src_parser_host, parser_host);
    FANOUT_NIC_DRIVE(src_repl_host, repl_host);
    FANOUT_NIC_DRIVE(src_agg, agg_out);
    FANOUT_NIC_DRIVE(src_peer, peer_tx);
#undef FANOUT_NIC_DRIVE
    for (uint32_t p = 0; p < Nic::kPorts; p++) {
      drive_source(src_repl_port[p], [&](bool v, const Beat &b) {
        if (v) {
          put_wide(t.repl_port_tdata, p, b.w);
          set_field(t.repl_port_tkeep, 64 * p, 64, b.keep);
          set_field(t.repl_port_tlast, p, 1, b.last);
          set_field(t.repl_port_tuser, 16 * p, 16, b.user);
          set_field(t.repl_port_tdest, 8 * p, 8, b.dest);
        }
        set_field(t.repl_port_tvalid, p, 1, v);
      });
    }
    // Host TX: the DMA engine starts a frame only when the parser's FIFO can take all of it,
    // the replicator has drained (received frames never wait behind more than one host frame's
    // copies), and the port's rate limiter allows it (the host's copies at most at line rate).
    if (!host_tx_holding && !host_tx.empty()) {
      const HostFrame &hf = host_tx.front();
      if (host_tx_next == 0 && host_tx_credit(hf.beats.size()) && now_ps >= host_pace_ps &&
          core->replicator().ring_level() <= kHostAdmitRingBeats) {
        host_pace_ps = std::max(host_pace_ps, now_ps) + hf.uplink_ps;
        host_tx_beat = hf.beats[0];
        host_tx_holding = true;
      } else if (host_tx_next > 0) {
        host_tx_beat = hf.beats[host_tx_next];
        host_tx_holding = true;
      }
    }
    if (host_tx_holding) {
      for (uint32_t i = 0; i < kWords; i++) t.host_tx_tdata[i] = host_tx_beat.w[i];
      t.host_tx_tkeep = host_tx_beat.keep;
      t.host_tx_tlast = host_tx_beat.last;
      t.host_tx_tuser = 0; // the shell sets the ingress (host) itself
      t.host_tx_tdest = 0;
    }
    t.host_tx_tvalid = host_tx_holding;
    // Shell outputs -> kernel input and host.
    t.parser_in_tready = !core->in.full();
    t.host_rx_tready = 1;
  }

  // Line time of the copies the replicator will make of a host frame: one per tree chunk (tree
  // mode) or per port used (port mode), each the frame's size, at the fastest connected port's
  // rate (+ 24 B preamble, FCS, gap).
  uint64_t uplink_ps(const Frame &f) {
    proto::ParseConfig pc = proto::default_parse_config();
    pc.verify_udp_checksum = false;
    pc.udp_port = (uint16_t)nic->cfg_.udp_port;
    proto::ParsedPacket pp;
    uint32_t copies = 1;
    if (proto::parse_frame(f.bytes.data(), (uint32_t)f.bytes.size(), pc, pp, &pace_set) == proto::kOk &&
        pp.hdr.type == proto::kTypeData) {
      if (nic->cfg_.port_mode) {
        proto::port_split(pace_set, core->replicator().port_table(), Nic::kPorts, proto::kPortNone, pace_ports.get());
        copies = 0;
        for (uint32_t p = 0; p < Nic::kPorts; p++) copies += pace_ports[p].empty() ? 0 : 1;
      } else {
        proto::Chunk chunks[proto::kMaxTreeFanout];
        if (pace_set.without(nic->cfg_.node, pace_rest))
          copies = proto::tree_split(pace_rest, nic->cfg_.fanout, chunks);
      }
    }
    double gbps = 0;
    for (const MacPort &mp : mac)
      if (mp.link) gbps = std::max(gbps, mp.link->config().gbps);
    if (gbps <= 0) gbps = 100;
    return (uint64_t)std::llround(copies * (f.bytes.size() + 24) * 8 * 1000.0 / gbps);
  }

  bool host_tx_credit(size_t beats) const {
    // Half the FIFO stays free for the MAC ports, which cannot be back-pressured; the beats in
    // the shell between host_tx and the parser (arbiter, register slices) are covered by it too.
    return core->parser().fifo_level() + beats_in_flight_to_parser() + beats <= hw::kParserFifoBeats / 2;
  }
  size_t beats_in_flight_to_parser() const {
    return host_beats_sent - parser_in_host_beats;
  }

  void sample_kernel() {
    Vfanout_nic_top &t = *m;
    src_parser_host.fire = src_parser_host.holding && t.parser_host_tready;
    src_repl_host.fire = src_repl_host.holding && t.repl_host_tready;
    src_agg.fire = src_agg.holding && t.agg_out_tready;
    src_peer.fire = src_peer.holding && t.peer_tx_tready;
    for (uint32_t p = 0; p < Nic::kPorts; p++)
      src_repl_port[p].fire = src_repl_port[p].holding && get_field(t.repl_port_tready, p, 1);
    host_tx_fire = host_tx_holding && t.host_tx_tready;
    parser_in_fire = t.parser_in_tvalid && t.parser_in_tready;
    if (parser_in_fire) {
      for (uint32_t i = 0; i < kWords; i++) parser_in_beat.w[i] = t.parser_in_tdata[i];
      parser_in_beat.keep = t.parser_in_tkeep;
      parser_in_beat.last = t.parser_in_tlast;
      parser_in_beat.user = t.parser_in_tuser;
      parser_in_beat.dest = t.parser_in_tdest;
    }
    host_rx_fire = t.host_rx_tvalid && t.host_rx_tready;
    if (host_rx_fire) {
      for (uint32_t i = 0; i < kWords; i++) host_rx_beat.w[i] = t.host_rx_tdata[i];
      host_rx_beat.keep = t.host_rx_tkeep;
      host_rx_beat.last = t.host_rx_tlast;
    }
  }

  void after_kernel() {
    Vfanout_nic_top &t = *m;
    for (StreamSource *s :
         {&src_parser_host, &src_repl_host, &src_agg, &src_peer, &src_repl_port[0], &src_repl_port[1]}) {
      if (s->fire) {
        s->holding = false;
        stats.egress_beats++;
      }
    }
    if (host_tx_fire) {
      host_tx_holding = false;
      host_beats_sent++;
      if (++host_tx_next == host_tx.front().beats.size()) {
        host_tx.pop_front();
        host_tx_next = 0;
        stats.host_tx_frames++;
        nic->host_tx_ready_.notify(sc_core::SC_ZERO_TIME);
      }
    }
    if (parser_in_fire) {
      core->in.write(to_axis(parser_in_beat));
      stats.parser_in_beats++;
      if ((parser_in_beat.user & 0xFF) == proto::kPortLocal) parser_in_host_beats++;
    }
    if (host_rx_fire) {
      append_bytes(host_rx_bytes, host_rx_beat);
      if (host_rx_beat.last) {
        stats.host_rx_frames++;
        Frame f = make_frame(std::move(host_rx_bytes));
        host_rx_bytes.clear();
        if (nic->host_sink_) nic->host_sink_->receive(std::move(f));
      }
    }
    // Registers and link monitor -> kernel configuration (the kernels' s_axilite inputs and the
    // port_down wire are sampled every clock).
    uint32_t down = t.port_down;
    if (down != port_down) {
      for (uint32_t p = 0; p < Nic::kPorts; p++)
        if (((down ^ port_down) >> p) & 1)
          nic->port_events_.push_back(PortEvent{sc_core::sc_time_stamp(), p, ((down >> p) & 1) != 0});
      port_down = down;
      core->replicator().set_port_down(down);
    }
    uint64_t mac48 = ((uint64_t)t.cfg_mac) & 0xFFFFFFFFFFFFull;
    if (t.cfg_node_id != cfg_node || mac48 != cfg_mac || t.cfg_ipv4 != cfg_ipv4 || t.cfg_udp_port != cfg_udp) {
      cfg_node = t.cfg_node_id;
      cfg_mac = mac48;
      cfg_ipv4 = t.cfg_ipv4;
      cfg_udp = t.cfg_udp_port;
      hw::NodeAddress a;
      a.id = (proto::NodeId)cfg_node;
      for (int i = 0; i < 6; i++) a.mac[i] = (uint8_t)(cfg_mac >> (8 * (5 - i)));
      a.ipv4 = cfg_ipv4;
      core->set_self(a, (uint16_t)cfg_udp);
    }
    core->step();
    // Peer monitor verdicts, and the first local repair after each down verdict (the first
    // chunk head the replicator skips).
    while (peer_events_seen < core->peer_events.size()) {
      const auto &e = core->peer_events[peer_events_seen++];
      nic->peer_events_.push_back(PeerEvent{sc_core::sc_time_stamp(), e.state.id, e.state.down});
      if (e.state.down) awaiting_repair = true;
    }
    uint32_t gone = core->replicator().counter(hw::kCntGoneHeads);
    if (gone != gone_heads) {
      gone_heads = gone;
      if (awaiting_repair) nic->repairs_.push_back(sc_core::sc_time_stamp());
      awaiting_repair = false;
    }
  }

  void dump() {
    // Edges of the two clocks can fall 1 ps apart; the FST takes one dump per time.
    if (tfp && (!dumped || now_ps_dump > last_dump)) {
      tfp->dump(now_ps_dump);
      last_dump = now_ps_dump;
      dumped = true;
    }
  }

  // ---- Before t = 0: reset and register writes, on the kernel clock only --------------------
  void pre_edge() {
    edge(true, true);
  }
  void axil_write(uint32_t addr, uint32_t data) {
    Vfanout_nic_top &t = *m;
    t.s_axil_awaddr = addr;
    t.s_axil_awvalid = 1;
    t.s_axil_wdata = data;
    t.s_axil_wstrb = 0xF;
    t.s_axil_wvalid = 1;
    t.s_axil_bready = 1;
    bool aw = false, w = false, b = false;
    for (int i = 0; i < 64 && !b; i++) {
      t.clk = 0;
      t.eval();
      bool aw_fire = t.s_axil_awvalid && t.s_axil_awready, w_fire = t.s_axil_wvalid && t.s_axil_wready;
      bool b_fire = t.s_axil_bvalid && t.s_axil_bready;
      edge(true, true);
      aw |= aw_fire;
      w |= w_fire;
      b |= b_fire;
      if (aw) t.s_axil_awvalid = 0;
      if (w) t.s_axil_wvalid = 0;
    }
    t.s_axil_bready = 0;
    if (!b)
      throw std::runtime_error(std::string(nic->name()) + ": AXI-Lite write to 0x" + std::to_string(addr) +
                               " got no response");
  }
  uint32_t axil_read(uint32_t addr) {
    Vfanout_nic_top &t = *m;
    t.s_axil_araddr = addr;
    t.s_axil_arvalid = 1;
    t.s_axil_rready = 1;
    for (int i = 0; i < 64; i++) {
      t.clk = 0;
      t.eval();
      bool ar_fire = t.s_axil_arvalid && t.s_axil_arready, r_fire = t.s_axil_rvalid && t.s_axil_rready;
      uint32_t data = t.s_axil_rdata;
      edge(true, true);
      if (ar_fire) t.s_axil_arvalid = 0;
      if (r_fire) {
        t.s_axil_rready = 0;
        return data;
      }
    }
    throw std::runtime_error(std::string(nic->name()) + ": AXI-Lite read of 0x" + std::to_string(addr) +
                             " got no response");
  }

  Nic *nic;
  std::unique_ptr<VerilatedContext> ctx;
  std::unique_ptr<Vfanout_nic_top> m;
  std::unique_ptr<VerilatedFstC> tfp;
  std::unique_ptr<Core> core;
  // Egress signer (auth on): the shell's mac_tx beats go in, the MACs take its output.
  // The deep FIFO: signed jumbo frames at line rate (auth_signer.hpp).
  std::unique_ptr<hw::AuthSigner<Nic::kPorts, hw::kParserAuthFifoBeats>> signer;
  hls::stream<hw::axis_word> sign_in[Nic::kPorts], sign_out[Nic::kPorts]; // depth 2: register slices
  size_t peer_events_seen = 0;
  uint32_t gone_heads = 0;
  bool awaiting_repair = false;
  StreamSource src_parser_host, src_repl_host, src_agg, src_peer, src_repl_port[Nic::kPorts];
  MacPort mac[Nic::kPorts];
  std::unique_ptr<MacRxSink> rx_sinks[Nic::kPorts];
  struct HostFrame {
    std::vector<Beat> beats;
    uint64_t uplink_ps; // line time of the copies this NIC makes of it (rate limiter)
  };
  // The replicator's ring level below which a host frame may start: one frame's worth.
  static constexpr uint32_t kHostAdmitRingBeats = hw::kMaxFrameBeats;
  std::deque<HostFrame> host_tx;
  uint64_t host_pace_ps = 0;
  proto::ReceiverSet pace_set, pace_rest;
  std::unique_ptr<proto::ReceiverSet[]> pace_ports{new proto::ReceiverSet[Nic::kPorts]};
  size_t host_tx_next = 0;
  bool host_tx_holding = false, host_tx_fire = false;
  Beat host_tx_beat;
  uint64_t host_beats_sent = 0, parser_in_host_beats = 0;
  bool parser_in_fire = false, host_rx_fire = false;
  Beat parser_in_beat, host_rx_beat;
  std::vector<uint8_t> host_rx_bytes;
  uint32_t port_down = 0;
  uint64_t cfg_node = ~0ull, cfg_mac = ~0ull, cfg_ipv4 = ~0ull, cfg_udp = ~0ull;
  NicStats stats;
  // Clocks (ps). The kernel clock starts half a period late: unrelated phases.
  uint64_t last_dump = 0;
  bool dumped = false;
  uint64_t now_ps = 0, now_ps_dump = 0, next_mac = 0, next_kernel = 0, mac_ps = 0, kernel_ps = 0;
};

Nic::Nic(sc_core::sc_module_name name, const NicConfig &config) : sc_module(name), cfg_(config) {
  validate(cfg_);
  kernel_period_ = sc_time((double)period_ps(cfg_.kernel_mhz), sc_core::SC_PS);
  mac_period_ = sc_time((double)period_ps(cfg_.mac_mhz), sc_core::SC_PS);
  impl_ = std::make_unique<Impl>(this);
  Impl &im = *impl_;
  im.kernel_ps = period_ps(cfg_.kernel_mhz);
  im.mac_ps = period_ps(cfg_.mac_mhz);
  Impl::Core &core = *im.core;
  core.replicator().set_mode(cfg_.port_mode ? hw::kReplModePort : hw::kReplModeTree);
  core.replicator().set_fanout(cfg_.fanout);
  core.replicator().set_policy(cfg_.policy);
  core.replicator().set_rate(cfg_.rate);
  hw::AckAggConfig ac = core.ack_agg().config();
  if (cfg_.silent_timeout_clocks) ac.silent_timeout = cfg_.silent_timeout_clocks;
  if (cfg_.nack_window_clocks) ac.nack_window = cfg_.nack_window_clocks;
  core.ack_agg().configure(ac);
  // Peer monitoring is tree mode's: in port mode the NIC's only next hop is its switch, whose
  // link the link monitor watches.
  core.peer_monitor().set_interval(cfg_.port_mode ? 0 : cfg_.peer_interval_clocks);
  if (cfg_.auth_mode != hw::kParserAuthOff) {
    core.parser().set_auth(cfg_.auth_mode, cfg_.auth_key);
    core.parser().set_fifo_limit(hw::kParserAuthFifoBeats); // signed jumbo frames at line rate
    im.signer = std::make_unique<hw::AuthSigner<kPorts, hw::kParserAuthFifoBeats>>();
    im.signer->configure(true, cfg_.node, cfg_.auth_key, cfg_.udp_port);
  }

  SC_HAS_PROCESS(Nic);
  SC_METHOD(tick); // first run at t = 0: the MAC clock's first edge
}

Nic::~Nic() = default;

void Nic::connect(uint32_t p, Link &link, int side) {
  if (p >= kPorts)
    throw std::invalid_argument(std::string(name()) + ": port " + std::to_string(p) + " >= " + std::to_string(kPorts));
  impl_->mac[p].link = &link;
  impl_->mac[p].side = side;
  link.attach(side, impl_->rx_sinks[p].get());
}

void Nic::set_neighbour(proto::NodeId id, uint8_t port, const Mac48 &mac, uint32_t ipv4) {
  hw::NeighbourEntry e;
  for (int i = 0; i < 6; i++) e.mac[i] = mac[i];
  e.ipv4 = ipv4;
  e.port = port;
  e.valid = true;
  impl_->core->set_neighbour(id, e);
}

void Nic::set_port_route(proto::NodeId id, uint8_t port) {
  impl_->core->replicator().set_port(id, port);
}

void Nic::set_port_peer(uint8_t port, proto::NodeId peer) {
  impl_->core->replicator().set_port_peer(port, peer);
}

bool Nic::host_send(Frame f) {
  Impl &im = *impl_;
  if (im.host_tx.size() >= kHostTxQueueFrames) return false;
  if (f.bytes.size() > proto::kMaxFrameBytes)
    throw std::invalid_argument(std::string(name()) + ": host frame of " + std::to_string(f.bytes.size()) +
                                " bytes exceeds " + std::to_string(proto::kMaxFrameBytes));
  im.host_tx.push_back(Impl::HostFrame{to_beats(f.bytes, 0), im.uplink_ps(f)});
  return true;
}

void Nic::start_of_simulation() {
  Impl &im = *impl_;
  // Power-on, before t = 0 (not in the waveform): overlapping resets, then the driver's
  // register writes.
  Vfanout_nic_top &t = *im.m;
  t.rst = t.mac_rst = 1;
  for (int i = 0; i < 16; i++) im.pre_edge();
  t.rst = t.mac_rst = 0;
  for (int i = 0; i < 4; i++) im.pre_edge();
  hw::NodeAddress a = hw::cluster_address(cfg_.node);
  namespace r = fanout::regs;
  if (im.axil_read(r::nic::kBase + r::kBlockType) != r::nic::kType)
    throw std::runtime_error(std::string(name()) + ": register block 'nic' not found at its base");
  im.axil_write(r::nic::kNodeId, cfg_.node);
  im.axil_write(r::nic::kMacHi, ((uint32_t)a.mac[0] << 8) | a.mac[1]);
  im.axil_write(r::nic::kMacLo,
                ((uint32_t)a.mac[2] << 24) | ((uint32_t)a.mac[3] << 16) | ((uint32_t)a.mac[4] << 8) | a.mac[5]);
  im.axil_write(r::nic::kIpv4, a.ipv4);
  im.axil_write(r::nic::kUdpPort, cfg_.udp_port);
  im.axil_write(r::link::kInterval, cfg_.heartbeat_clocks);
  for (int i = 0; i < 4; i++) im.pre_edge(); // cfg_* reach the kernels
  if (im.core->replicator().self().id != cfg_.node)
    throw std::runtime_error(std::string(name()) + ": node id register did not reach the kernels");
  // Counters and link events from t = 0 on.
  im.stats = NicStats();
  port_events_.clear();
  im.port_down = im.m->port_down;
  im.core->replicator().set_port_down(im.port_down);

  if (!cfg_.fst_path.empty()) {
    im.tfp = std::make_unique<VerilatedFstC>();
    im.m->trace(im.tfp.get(), 99);
    im.tfp->open(cfg_.fst_path.c_str());
    if (!im.tfp->isOpen()) throw std::runtime_error(std::string(name()) + ": cannot write " + cfg_.fst_path);
  }

  im.now_ps = 0;
  im.next_mac = 0;
  im.next_kernel = im.kernel_ps / 2;
}

void Nic::end_of_simulation() {
  if (impl_->tfp) impl_->tfp->flush();
}

void Nic::tick() {
  Impl &im = *impl_;
  uint64_t t = std::min(im.next_mac, im.next_kernel);
  bool me = t == im.next_mac, ke = t == im.next_kernel;
  im.now_ps = t;
  im.now_ps_dump = t;
  im.edge(me, ke);
  if (me) im.next_mac += im.mac_ps;
  if (ke) im.next_kernel += im.kernel_ps;
  uint64_t next = std::min(im.next_mac, im.next_kernel);
  next_trigger(sc_time((double)(next - t), sc_core::SC_PS));
}

NicStats Nic::stats() const {
  const Impl &im = *impl_;
  NicStats s = im.stats;
  const auto &core = *im.core;
  s.parse_codes.resize(proto::kErrorCount);
  for (int c = 0; c < proto::kErrorCount; c++) s.parse_codes[c] = core.parser().error_count(c);
  s.parser_overflow = core.parser().overflow_count();
  s.parser_bad_frames = core.parser().bad_frame_count();
  s.replicator.resize(hw::kReplCounterCount);
  core.replicator().read_counters(s.replicator.data());
  s.ack_agg.resize(hw::kAggCntCount);
  core.ack_agg().read_counters(s.ack_agg.data());
  s.agg_dropped = im.m->agg_dropped;
  s.peer_dropped = im.m->peer_dropped;
  s.port_down = im.port_down;
  s.peer_monitor.resize(hw::kPeerCntCount);
  core.peer_monitor().read_counters(s.peer_monitor.data());
  s.parser_auth.resize(proto::kAuthCodeCount);
  for (int c = 0; c < proto::kAuthCodeCount; c++) s.parser_auth[c] = core.parser().auth_count(c);
  if (im.signer) {
    s.signer.resize(hw::kSignCntCount);
    im.signer->read_counters(s.signer.data());
  }
  return s;
}

} // namespace sim
} // namespace fanout
