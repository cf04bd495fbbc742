// fanout::dp::Engine: the NIC's replicator, ACK aggregator and link monitor in software.
// Behaviour references: hls/replicator/replicator.hpp (plan_frame, add_pieces, start_copy),
// hls/ack_agg/ack_agg.hpp (output frames), rtl/link_monitor.sv (PROBEs, port down).
// Design and ownership rules: docs/fanout-dp.md.
#include "fanout/dp/engine.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include <rte_ethdev.h>
#include <rte_ring.h>

#include "fanout/proto/aggregator.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/policy.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/split.hpp"

namespace fanout {
namespace dp {

namespace {

// Per-frame copy limit, as the replicator's kReplMaxCopies.
constexpr uint32_t kMaxCopies = 1024;
// Ingress "port" of frames from host_send (the NIC's kHostPort).
constexpr uint8_t kFromHost = proto::kPortLocal;
constexpr uint8_t kSrcTree = 0xFF;
constexpr uint32_t kMissedHeartbeats = 3;
constexpr uint32_t kBuildBytes = proto::kFixedHeadersBytes + proto::kMaxSetBytes;

// Aggregator shape: 1,024 messages in flight, up to 64 children + local delivery (tree F <= 64,
// or 4 ports), 4 ranges per child. The rules are proto's; only the table is larger than the NIC's.
using Aggregator = proto::AckAggregator<256, 4, proto::kMaxArmChildren, 4>;
using RemainingSet = proto::BasicReceiverSet<proto::kMaxSetRanges + 1>;

[[noreturn]] void bad(const std::string &field, const std::string &problem) {
  throw std::invalid_argument("EngineConfig." + field + ": " + problem);
}

bool has_port(const EngineConfig &c, uint16_t port) {
  return std::find(c.ports.begin(), c.ports.end(), port) != c.ports.end();
}

} // namespace

uint16_t header_pool_data_room() {
  return (uint16_t)(RTE_PKTMBUF_HEADROOM + kBuildBytes + proto::kAuthTrailerBytes); // + a signed frame's trailer
}

void validate(const EngineConfig &c) {
  if (c.engine_count == 0 || c.engine_index >= c.engine_count)
    bad("engine_index", "must be below engine_count = " + std::to_string(c.engine_count) + " (got " +
                            std::to_string(c.engine_index) + ")");
  if (c.engine_count > 1 && c.inboxes == nullptr)
    bad("inboxes", "one rte_ring per Engine is needed when engine_count > 1");
  if (c.engine_count > 1)
    for (uint32_t i = 0; i < c.engine_count; i++)
      if (c.inboxes[i] == nullptr) bad("inboxes", "inbox " + std::to_string(i) + " is null");
  if (c.mode == EngineConfig::kTree && !proto::valid_fanout(c.fanout))
    bad("fanout",
        "tree fan-out must be 2.." + std::to_string(proto::kMaxTreeFanout) + " (got " + std::to_string(c.fanout) + ")");
  if (c.ports.empty() || c.ports.size() > kMaxPorts)
    bad("ports", "1.." + std::to_string(kMaxPorts) + " DPDK ports (got " + std::to_string(c.ports.size()) + ")");
  for (size_t i = 0; i < c.ports.size(); i++) {
    if (!rte_eth_dev_is_valid_port(c.ports[i]))
      bad("ports", "port " + std::to_string(c.ports[i]) + " is not a DPDK port");
    for (size_t j = 0; j < i; j++)
      if (c.ports[i] == c.ports[j]) bad("ports", "port " + std::to_string(c.ports[i]) + " listed twice");
  }
  for (const auto &n : c.neighbours)
    if (!has_port(c, n.second.port))
      bad("neighbours",
          "node " + std::to_string(n.first) + " on port " + std::to_string(n.second.port) + ", which is not in ports");
  for (const auto &r : c.port_routes)
    if (r.second != EngineConfig::kRouteLocal && !has_port(c, r.second))
      bad("port_routes", "node " + std::to_string(r.first) + " routed to port " + std::to_string(r.second) +
                             ", which is not in ports");
  for (const auto &p : c.port_peers)
    if (!has_port(c, p.first)) bad("port_peers", "port " + std::to_string(p.first) + " is not in ports");
  if (c.udp_port == 0) bad("udp_port", "must not be 0");
  if (c.silent_timeout_us == 0) bad("silent_timeout_us", "must be > 0");
  if (c.heartbeat_us > 0 && c.heartbeat_us < 10) bad("heartbeat_us", "must be 0 (off) or >= 10");
  if (c.header_pool == nullptr) bad("header_pool", "required (small mbufs for per-copy headers)");
  uint32_t room = rte_pktmbuf_data_room_size(c.header_pool);
  if (room < RTE_PKTMBUF_HEADROOM + proto::kFixedHeadersBytes + 64)
    bad("header_pool", "data room " + std::to_string(room) +
                           " < headroom + 128 bytes (recommended: " + std::to_string(header_pool_data_room()) + ")");
  if (c.burst == 0 || c.burst > 256) bad("burst", "must be 1..256 (got " + std::to_string(c.burst) + ")");
  if (c.host_queue == 0) bad("host_queue", "must be >= 1");
  if (c.auth && c.engine_count > 1 && c.auth_counter == nullptr)
    bad("auth_counter", "one counter shared by the node's Engines is needed when auth is on and engine_count > 1");
  if (c.first_id > c.last_id)
    bad("first_id",
        "must not exceed last_id = " + std::to_string(c.last_id) + " (got " + std::to_string(c.first_id) + ")");
}

uint64_t Stats::parse_error(const std::string &name) const {
  for (int e = 0; e < proto::kErrorCount; e++)
    if (name == proto::error_name(e)) return parse_errors[e];
  return 0;
}

uint64_t Stats::policy_refused() const {
  uint64_t n = 0;
  for (int c = proto::kPolicyOk + 1; c < proto::kPolicyCodeCount; c++) n += policy_drops[c];
  return n;
}

uint64_t Stats::malformed() const {
  uint64_t n = 0;
  for (int e = proto::kTruncated; e < proto::kErrorCount; e++) n += parse_errors[e];
  return n;
}

struct Engine::Impl {
  struct Nbr {
    bool valid = false;
    uint8_t pidx = 0; // port index
    uint8_t mac[6] = {};
    uint32_t ipv4 = 0;
  };
  struct CopyPlan {
    uint8_t src; // kSrcTree or the port index whose subset it is
    uint8_t port;
    proto::NodeId dest, first, last;
  };
  struct Port {
    uint16_t id = 0;
    rte_mbuf *txb[256] = {};
    uint32_t ntx = 0;
    bool phy_up = true;
    bool alive = true;
    uint64_t last_rx = 0, last_tx = 0;
    uint32_t hb_seq = 0;
  };

  explicit Impl(const EngineConfig &c)
      : cfg(c), agg(proto::AggregatorConfig{c.node, c.silent_timeout_us, c.nack_window_us}), nbrs(proto::kNodeIdSpace),
        host_q(c.host_queue), pieces(kMaxCopies), copies(kMaxCopies), agg_out(Aggregator::kMaxOutputsPerEntry + 1) {
    nports = (uint32_t)c.ports.size();
    for (uint32_t p = 0; p < nports; p++) ports[p].id = c.ports[p];
    for (const auto &n : c.neighbours) {
      Nbr &e = nbrs[n.first];
      e.valid = true;
      e.pidx = pidx_of(n.second.port);
      std::memcpy(e.mac, n.second.mac, 6);
      e.ipv4 = n.second.ipv4;
    }
    for (const auto &r : c.port_routes)
      table.set(r.first, r.second == EngineConfig::kRouteLocal ? proto::kPortLocal : pidx_of(r.second));
    for (const auto &p : c.port_peers) {
      peer[pidx_of(p.first)] = p.second;
      peer_valid[pidx_of(p.first)] = true;
    }
    pcfg.udp_port = c.udp_port;
    pcfg.verify_udp_checksum = true;
    policy.max_receivers = c.max_receivers;
    policy.first_id = c.first_id;
    policy.last_id = c.last_id;
    if (c.auth) replay = std::make_unique<proto::ReplayWindow<>>(); // 768 KiB: only with auth
    if (c.rate_bytes_per_us > 0) {
      proto::RateConfig rc;
      rc.bytes_per_tick = c.rate_bytes_per_us;
      uint64_t burst = c.rate_burst_bytes != 0 ? c.rate_burst_bytes
                                               : std::max<uint64_t>(64 * 1024, (uint64_t)c.rate_bytes_per_us * 1000);
      rc.burst_bytes = (uint32_t)std::min<uint64_t>(burst, 0xFFFFFFFFu);
      rate = std::make_unique<proto::RateLimiter<>>(); // 576 KiB: only when a rate is set
      rate->configure(rc);
    }
  }

  ~Impl() {
    // Ownership: frames other Engines moved here and not handled yet are this Engine's: freed.
    if (cfg.engine_count > 1 && cfg.inboxes && cfg.inboxes[cfg.engine_index]) {
      void *m;
      while (rte_ring_sc_dequeue(cfg.inboxes[cfg.engine_index], &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf *>(m));
    }
    // Ownership: header mbufs allocated ahead and not used yet are the Engine's: freed.
    for (uint32_t i = stash_at; i < stash_n; i++) rte_pktmbuf_free(stash[i]);
    // Ownership: the Engine still owns queued TX frames and undelivered host frames: free them.
    for (uint32_t p = 0; p < nports; p++)
      for (uint32_t i = 0; i < ports[p].ntx; i++) rte_pktmbuf_free(ports[p].txb[i]);
    while (host_n > 0) {
      rte_pktmbuf_free(host_q[host_head]);
      host_head = (host_head + 1) % (uint32_t)host_q.size();
      host_n--;
    }
  }

  uint8_t pidx_of(uint16_t port) const {
    for (uint32_t p = 0; p < cfg.ports.size(); p++)
      if (cfg.ports[p] == port) return (uint8_t)p;
    return 0xFF;
  }
  bool port_down(uint32_t p) const { return !ports[p].phy_up || !ports[p].alive; }
  void update_up(uint32_t p) {
    bool up = !port_down(p);
    if (stats.port[p].up && !up) stats.port[p].down_events++;
    stats.port[p].up = up;
  }

  void start(uint64_t t) {
    if (started) return;
    started = true;
    for (uint32_t p = 0; p < nports; p++) ports[p].last_rx = ports[p].last_tx = t;
  }

  // ---- Hand-offs ------------------------------------------------------------------------------
  // Ownership: m moves from the Engine to the host queue; host_receive moves it to the caller.
  // Queue full: the Engine frees it.
  void to_host(rte_mbuf *m) {
    if (host_n == host_q.size()) {
      stats.host_queue_full++;
      rte_pktmbuf_free(m);
      return;
    }
    host_q[(host_head + host_n) % (uint32_t)host_q.size()] = m;
    host_n++;
  }

  // Ownership: m (and every segment reference of its chain) moves to port p's TX batch; flush
  // hands it to the driver, or frees it when tx_burst does not take it.
  void to_port(uint32_t p, rte_mbuf *m) {
    Port &pt = ports[p];
    pt.txb[pt.ntx++] = m;
    if (pt.ntx >= cfg.burst) flush(p);
  }

  void flush(uint32_t p) {
    Port &pt = ports[p];
    if (pt.ntx == 0) return;
    // Bytes before tx_burst: the driver may free what it took at once.
    uint64_t bytes[256];
    for (uint32_t i = 0; i < pt.ntx; i++) bytes[i] = rte_pktmbuf_pkt_len(pt.txb[i]);
    uint16_t sent = rte_eth_tx_burst(pt.id, cfg.tx_queue, pt.txb, (uint16_t)pt.ntx);
    // Ownership: txb[0..sent) now belong to the driver (it frees them after transmission).
    for (uint32_t i = 0; i < sent; i++) stats.port[p].tx_bytes += bytes[i];
    stats.port[p].tx_packets += sent;
    if (sent > 0) pt.last_tx = now;
    // Backpressure policy: no pending queue. What the driver refused is freed and counted,
    // as a NIC drops at a full queue; the senders' transport retransmits.
    for (uint32_t i = sent; i < pt.ntx; i++) {
      rte_pktmbuf_free(pt.txb[i]); // Ownership: still the Engine's: freed here.
      stats.port[p].tx_full++;
    }
    pt.ntx = 0;
  }
  void flush_all() {
    for (uint32_t p = 0; p < nports; p++) flush(p);
  }

  // ---- Input ----------------------------------------------------------------------------------
  // Parse m (any segmentation). Frames of one segment are read in place; chained frames are
  // gathered into scratch.
  // The destination MAC is this node's, or a group address (broadcast PROBEs, multicast).
  bool for_us(const rte_mbuf *m) const {
    if (rte_pktmbuf_data_len(m) < proto::kEthHeaderBytes) return true; // parse() counts it
    const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
    return (d[0] & 1) != 0 || std::memcmp(d, cfg.mac, 6) == 0;
  }

  int parse(rte_mbuf *m, const uint8_t **bytes) {
    uint32_t len = rte_pktmbuf_pkt_len(m);
    uint32_t readlen = std::min<uint32_t>(len, proto::kMaxFrameBytes);
    const uint8_t *f = readlen >= proto::kEthHeaderBytes
                           ? static_cast<const uint8_t *>(rte_pktmbuf_read(m, 0, readlen, scratch))
                           : scratch;
    if (f == nullptr) f = scratch; // unreachable: readlen <= pkt_len
    *bytes = f;
    return proto::parse_frame(f, len, pcfg, pp, &set);
  }

  // A frame from port index p (or kFromHost) that parsed with `code`.
  // Ownership: the Engine owns m on entry; every path frees it or hands it on.
  // Several Engines: a DATA, ACK or NACK frame of a message another Engine owns goes to that
  // Engine's inbox. Ownership: on true the mbuf is the owner's (the ring holds it).
  bool moved_away(rte_mbuf *m, uint8_t ingress) {
    if (cfg.engine_count <= 1 || ingress == kFromHost || redispatching) return false;
    if (pp.hdr.type != proto::kTypeData && pp.hdr.type != proto::kTypeAck && pp.hdr.type != proto::kTypeNack)
      return false;
    uint32_t owner = ((uint32_t)pp.hdr.sender * 2654435761u ^ pp.hdr.message_id) % cfg.engine_count;
    if (owner == cfg.engine_index) return false;
    m->port = cfg.ports[ingress]; // the ingress port travels with the frame
    if (rte_ring_mp_enqueue(cfg.inboxes[owner], m) != 0) {
      stats.move_full++;
      return false;
    }
    stats.moved_out++;
    return true;
  }

  // Frames other Engines moved here: parsed again and handled as if received on their port.
  void drain_inbox() {
    if (cfg.engine_count <= 1) return;
    void *in[64];
    unsigned n = rte_ring_sc_dequeue_burst(cfg.inboxes[cfg.engine_index], in, 64, nullptr);
    redispatching = true;
    for (unsigned i = 0; i < n; i++) {
      rte_mbuf *m = static_cast<rte_mbuf *>(in[i]); // Ownership: ours from the dequeue on.
      stats.moved_in++;
      const uint8_t *f = nullptr;
      int code = parse(m, &f);
      uint8_t p = pidx_of(m->port);
      dispatch(m, f, code, p < nports ? p : 0);
    }
    redispatching = false;
    if (n) flush_all();
  }
  bool redispatching = false;

  void dispatch(rte_mbuf *m, const uint8_t *f, int code, uint8_t ingress) {
    if (code == proto::kNotFanout) { // RX only: host_send returns such frames to its caller
      stats.not_fanout++;
      to_host(m); // Ownership: to the host queue, unchanged (the NIC passes it to the host).
      return;
    }
    if (code != proto::kOk) {
      stats.parse_errors[code]++;
      rte_pktmbuf_free(m); // Ownership: malformed: freed here, nothing emitted.
      return;
    }
    if (moved_away(m, ingress)) return;
    if (replay && ingress != kFromHost && !authentic(f, rte_pktmbuf_pkt_len(m))) {
      rte_pktmbuf_free(m); // Ownership: refused by authentication: freed, nothing emitted.
      return;
    }
    switch (pp.hdr.type) {
    case proto::kTypeData:
      stats.data_in++;
      if (ingress != kFromHost && !admit()) {
        rte_pktmbuf_free(m); // Ownership: refused by the policy: freed, nothing emitted.
        return;
      }
      handle_data(m, f, ingress);
      return;
    case proto::kTypeAck:
    case proto::kTypeNack:
      if (pp.hdr.type == proto::kTypeAck)
        stats.ack_in++;
      else
        stats.nack_in++;
      handle_feedback(f);
      rte_pktmbuf_free(m); // Ownership: consumed by the aggregator (outputs are new frames): freed.
      return;
    default: // kTypeProbe (parse_frame admits no other type)
      stats.probe_in++;
      if (cfg.probes_to_host)
        to_host(m); // Ownership: to the host queue, unchanged.
      else
        rte_pktmbuf_free(m);
      return;
    }
  }

  // The trailer of a frame from a port (auth on): counted by code; false: dropped.
  bool authentic(const uint8_t *f, uint32_t len) {
    proto::AuthResult ar;
    int code = proto::auth_check(f, len, pp, cfg.auth_key, *replay, ar);
    stats.auth[(size_t)code]++;
    return proto::auth_accepted(code, cfg.auth_require);
  }

  // A signed copy (auth on): h (its headers, kFlagAuth set, lengths with the trailer) + a clone of
  // the payload (indirect mbufs: zero-copy, but a chain of its own, which the shared payload's is
  // not) + a trailer mbuf. false: allocation failed (h untouched, still the caller's).
  bool chain_signed(rte_mbuf *h, rte_mbuf *payload, uint32_t payload_len, const uint8_t *trailer_in) {
    rte_mbuf *t = rte_pktmbuf_alloc(cfg.header_pool);
    if (t == nullptr) return false;
    rte_mbuf *pc = nullptr;
    if (payload != nullptr) {
      pc = rte_pktmbuf_clone(payload, cfg.header_pool);
      if (pc == nullptr) {
        rte_pktmbuf_free(t);
        return false;
      }
    }
    uint8_t *tr = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(t, proto::kAuthTrailerBytes));
    if (trailer_in != nullptr) {
      std::memcpy(tr, trailer_in, proto::kAuthTrailerBytes); // a received trailer, verbatim
    } else {
      proto::SipHash24 sh;
      sh.init(cfg.auth_key);
      sh.update(rte_pktmbuf_mtod(h, const uint8_t *) + proto::kFanoutOffset, h->data_len - proto::kFanoutOffset);
      uint32_t left = payload_len;
      for (rte_mbuf *seg = payload; seg != nullptr && left > 0; seg = seg->next) {
        uint32_t n = std::min<uint32_t>(left, seg->data_len);
        sh.update(rte_pktmbuf_mtod(seg, const uint8_t *), n);
        left -= n;
      }
      proto::store_be32(tr + proto::kAuthCounterOff, next_counter());
      sh.update(tr + proto::kAuthCounterOff, 4);
      proto::store_be64(tr + proto::kAuthTagOff, sh.finish());
      stats.auth_signed++;
    }
    if (pc != nullptr) rte_pktmbuf_chain(h, pc); // Ownership: the clone and the trailer join h's chain.
    rte_pktmbuf_chain(h, t);
    return true;
  }

  // Hostile-input policy for a DATA frame from a port (pp, set): checks 1-3 (unless the policy is
  // open), then the sender's token bucket charged the payload bytes (clock: microseconds). false: refused, counted.
  bool admit() {
    int c = proto::check_set_policy(policy, set, pp.hdr.sender, pp.hdr.origin); // open: passes
    if (c == proto::kPolicyOk && rate && !rate->allow(pp.hdr.sender, pp.payload_len, (uint32_t)now))
      c = proto::kPolicyRateLimited;
    if (c == proto::kPolicyOk) return true;
    stats.policy_drops[c]++;
    return false;
  }

  // ---- DATA: plan (replicator.hpp plan_frame / add_pieces) ---------------------------------------
  template <uint32_t M> void add_pieces(const proto::BasicReceiverSet<M> &s, uint8_t src, uint32_t max_set_bytes) {
    uint32_t cap = kMaxCopies - ncopies;
    uint32_t n = proto::partition_for_packets(s, max_set_bytes, pieces.data(), cap);
    if (n > cap) {
      stats.plan_overflow += n - cap;
      n = cap;
    }
    for (uint32_t i = 0; i < n; i++) {
      proto::NodeId dest = pieces[i].first;
      if (src != kSrcTree && src < nports && peer_valid[src]) dest = peer[src];
      const Nbr &e = nbrs[dest];
      uint8_t port = src == kSrcTree ? e.pidx : src;
      if (!e.valid || port >= nports) {
        stats.unroutable_copies++;
        continue;
      }
      if (port_down(port)) {
        stats.port_down_copies++;
        continue;
      }
      copies[ncopies++] = CopyPlan{src, port, dest, pieces[i].first, pieces[i].last};
    }
  }

  void handle_data(rte_mbuf *m, const uint8_t *f, uint8_t ingress) {
    const proto::FanoutHeader hdr = pp.hdr;
    const uint32_t payload_len = pp.payload_len;
    const uint32_t hdr_len = pp.payload_offset; // 64 + set length
    const bool hops = hdr.hops_left > 0;
    if (!hops) stats.hops_exhausted++;
    // A signed input's trailer (verbatim in the local delivery of a relayed frame).
    uint8_t trailer[proto::kAuthTrailerBytes];
    const bool signed_in = pp.auth;
    if (signed_in) std::memcpy(trailer, f + pp.auth_offset, proto::kAuthTrailerBytes);
    uint32_t room = proto::kMaxFrameBytes - proto::kFixedHeadersBytes - payload_len;
    uint32_t max_set_bytes = std::min(room, proto::kMaxSetBytes);
    ncopies = 0;
    bool local = false;
    if (cfg.mode == EngineConfig::kPort) {
      proto::PortSplitResult r =
          proto::port_split(set, table, nports, ingress == kFromHost ? proto::kPortNone : ingress, port_sets);
      local = r.deliver_local;
      if (hops) {
        stats.looped_ids += r.looped;
        stats.unroutable_ids += r.unroutable;
        for (uint32_t p = 0; p < nports; p++)
          if (!port_sets[p].empty()) add_pieces(port_sets[p], (uint8_t)p, max_set_bytes);
      }
    } else {
      local = set.contains(cfg.node);
      if (hops) {
        set.without(cfg.node, remaining); // capacity kMaxSetRanges + 1: never fails
        proto::Chunk chunks[proto::kMaxTreeFanout];
        uint32_t n = proto::tree_split(remaining, cfg.fanout, chunks);
        for (uint32_t c = 0; c < n; c++) {
          remaining.slice(chunks[c].begin, chunks[c].end, chunk_set);
          add_pieces(chunk_set, kSrcTree, max_set_bytes);
        }
      }
    }

    proto::MessageKey key{hdr.sender, hdr.message_id};
    proto::NodeId parent = ingress == kFromHost ? cfg.node : hdr.origin;
    uint32_t total = proto::packets_in_message(hdr, payload_len);
    uint32_t tnow = (uint32_t)now;
    // A retransmission is replicated but arms nothing (docs/protocol.md): the tree its first
    // transmission armed carries the acknowledgements, and a node without an entry passes them on.
    const bool arms = (hdr.flags & proto::kFlagRetx) == 0;

    if (ncopies == 0) {
      // Leaf (or nothing routable): no payload sharing needed.
      if (local) {
        if (arms) arm(key, parent, cfg.node, cfg.node, cfg.node, total, tnow);
        stats.local_deliveries++;
        to_host(m); // Ownership: the received frame itself goes to the host queue, unchanged.
      } else {
        rte_pktmbuf_free(m); // Ownership: nothing to send: freed.
      }
      return;
    }

    // Local delivery of a frame that is also replicated: a header mbuf with the original 64 +
    // set bytes, chained to the shared payload (built below, once the payload is split off).
    rte_mbuf *host_hdr = nullptr;
    if (local) {
      host_hdr = rte_pktmbuf_alloc(cfg.header_pool);
      if (host_hdr == nullptr) {
        stats.mbuf_exhausted++;
      } else if (rte_pktmbuf_tailroom(host_hdr) < hdr_len) {
        stats.header_room++;
        rte_pktmbuf_free(host_hdr);
        host_hdr = nullptr;
      } else {
        std::memcpy(rte_pktmbuf_append(host_hdr, (uint16_t)hdr_len), f, hdr_len);
      }
    }

    rte_mbuf *payload = nullptr;
    if (!split_payload(m, hdr_len, payload_len, &payload)) {
      // Ownership: split_payload freed m; nothing can be sent.
      if (host_hdr) rte_pktmbuf_free(host_hdr);
      return;
    }
    // Ownership from here: the Engine holds ONE reference to every segment of `payload` (null
    // for an empty payload). Every frame chained to it below takes one more reference per
    // segment (chain()); the Engine's own reference is dropped at the end.

    if (host_hdr && signed_in && !chain_signed(host_hdr, payload, payload_len, trailer)) {
      stats.mbuf_exhausted++; // the frame as received (its trailer too) could not be rebuilt
      rte_pktmbuf_free(host_hdr);
      host_hdr = nullptr;
    } else if (host_hdr && !signed_in) {
      chain(host_hdr, payload, payload_len);
    }
    if (host_hdr) {
      if (arms) arm(key, parent, cfg.node, cfg.node, cfg.node, total, tnow);
      stats.local_deliveries++;
      to_host(host_hdr); // Ownership: header mbuf + the payload (reference or clone) to the host queue.
    }

    for (uint32_t i = 0; i < ncopies; i++) {
      const CopyPlan &c = copies[i];
      rte_mbuf *h = build_copy(hdr, c, payload_len);
      if (h == nullptr) continue; // counted by build_copy; nothing armed (as the NIC)
      if (!cfg.auth) {
        chain(h, payload, payload_len);
      } else if (!chain_signed(h, payload, payload_len, nullptr)) {
        stats.mbuf_exhausted++;
        rte_pktmbuf_free(h); // Ownership: the header mbuf alone: freed, nothing armed.
        continue;
      }
      if (arms) arm(key, parent, c.dest, c.first, c.last, total, tnow);
      stats.copies++;
      to_port(c.port, h); // Ownership: header mbuf + the payload (reference or clone) to the TX batch.
    }
    if (payload) rte_pktmbuf_free(payload); // Ownership: the Engine's own reference, dropped.
  }

  void arm(const proto::MessageKey &key, proto::NodeId parent, proto::NodeId child, proto::NodeId first,
           proto::NodeId last, uint32_t total, uint32_t tnow) {
    proto::ChildSpec cs{child, first, last};
    agg.arm(key, parent, &cs, 1, total, tnow);
  }

  // Split m into its payload: *payload = a chain holding exactly payload_len bytes, of which the
  // Engine holds one reference (null when payload_len == 0). Zero-copy when m's first segment is
  // exclusively ours (refcnt 1) and holds all the headers: rte_pktmbuf_adj past them (or, when
  // the first segment holds exactly the headers, as a chained copy from another node does, that
  // segment is unlinked and freed). Otherwise (shared first segment, headers across segments,
  // trailing bytes behind a chain) the payload is copied once (payload_copies).
  // Ownership: consumes m in every case. false: allocation failed, m freed, counted.
  bool split_payload(rte_mbuf *m, uint32_t hdr_len, uint32_t payload_len, rte_mbuf **payload) {
    *payload = nullptr;
    if (payload_len == 0) {
      rte_pktmbuf_free(m);
      return true;
    }
    uint32_t frame_len = hdr_len + payload_len;
    if (rte_mbuf_refcnt_read(m) == 1 && m->nb_segs == 1 && m->pkt_len >= frame_len) {
      if (m->pkt_len > frame_len) rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - frame_len)); // Ethernet padding
      rte_pktmbuf_adj(m, (uint16_t)hdr_len);
      *payload = m;
      return true;
    }
    if (rte_mbuf_refcnt_read(m) == 1 && m->pkt_len == frame_len && m->data_len >= hdr_len) {
      if (m->data_len > hdr_len) {
        rte_pktmbuf_adj(m, (uint16_t)hdr_len);
        *payload = m;
        return true;
      }
      // First segment = the headers exactly: the rest of the chain is the payload. Our
      // references to the rest move to *payload; the header segment alone is freed.
      rte_mbuf *rest = m->next;
      m->next = nullptr;
      m->nb_segs = 1;
      m->pkt_len = m->data_len;
      rte_pktmbuf_free(m);
      *payload = rest;
      return true;
    }
    stats.payload_copies++;
    rte_mbuf *c = rte_pktmbuf_copy(m, m->pool, hdr_len, payload_len);
    rte_pktmbuf_free(m);
    if (c == nullptr) {
      stats.mbuf_exhausted++;
      return false;
    }
    *payload = c;
    return true;
  }

  // h (one segment, the copy's headers) -> h + payload. Takes one reference on every payload
  // segment: rte_pktmbuf_free of the chain drops one reference per segment.
  static void chain(rte_mbuf *h, rte_mbuf *payload, uint32_t payload_len) {
    uint32_t segs = 1;
    for (rte_mbuf *s = payload; s != nullptr; s = s->next) {
      rte_mbuf_refcnt_update(s, 1);
      segs++;
    }
    h->next = payload;
    h->nb_segs = (uint16_t)segs;
    h->pkt_len = h->data_len + payload_len;
  }

  // The header mbuf of one copy (replicator.hpp start_copy): proto::build_frame on a zero-length
  // payload, then lengths and IPv4 checksum for the real payload. null: dropped and counted.
  rte_mbuf *build_copy(const proto::FanoutHeader &in, const CopyPlan &c, uint32_t payload_len) {
    bool ok = c.src == kSrcTree ? proto::intersect_range(remaining, c.first, c.last, piece)
                                : proto::intersect_range(port_sets[c.src], c.first, c.last, piece);
    const Nbr &e = nbrs[c.dest];
    proto::NetHeaders net;
    std::memcpy(net.eth_dst, e.mac, 6);
    std::memcpy(net.eth_src, cfg.mac, 6);
    net.ip_src = cfg.ipv4;
    net.ip_dst = e.ipv4;
    net.ip_tos = pp.ip_tos;
    net.ip_ttl = proto::kDefaultIpTtl;
    net.ip_id = 0;
    net.udp_src_port = pp.udp_src_port;
    net.udp_dst_port = cfg.udp_port;
    proto::FanoutHeader h = in;
    h.hops_left = (uint8_t)(in.hops_left - 1);
    h.origin = cfg.node;
    // A copy is a new Fanout part: the received AUTH flag goes; this node signs it if auth is on.
    h.flags = (uint8_t)((in.flags & ~proto::kFlagAuth) | (cfg.auth ? proto::kFlagAuth : 0));
    const uint32_t tail = cfg.auth ? proto::kAuthTrailerBytes : 0;
    if (!ok) {
      stats.plan_overflow++; // unreachable with pieces from partition_for_packets
      return nullptr;
    }
    rte_mbuf *m = header_mbuf();
    if (m == nullptr) {
      stats.mbuf_exhausted++;
      return nullptr;
    }
    // Written in place: the Fanout header and the piece's set, then the outer headers with the
    // lengths of the whole copy (payload included) and their checksum, once.
    uint8_t *out = rte_pktmbuf_mtod(m, uint8_t *);
    uint32_t room = rte_pktmbuf_tailroom(m), hl = 0;
    int err = room < proto::kFanoutOffset
                  ? (int)proto::kFrameTooLong
                  : proto::build_packet_header(h, piece, payload_len, proto::default_build_options(),
                                               out + proto::kFanoutOffset, room - proto::kFanoutOffset, &hl);
    if (err != proto::kOk ||
        hl - proto::kFanoutHeaderBytes + payload_len + tail > proto::kMaxFrameBytes - proto::kFixedHeadersBytes) {
      if (err == proto::kFrameTooLong && room < proto::kFixedHeadersBytes + proto::kMaxSetBytes)
        stats.header_room++;
      else
        stats.plan_overflow++; // unreachable with pieces from partition_for_packets
      rte_pktmbuf_free(m);
      return nullptr;
    }
    proto::write_net_headers(net, hl + payload_len + tail, out);
    rte_pktmbuf_append(m, (uint16_t)(proto::kFanoutOffset + hl));
    return m; // Ownership: a new one-segment mbuf, the caller's.
  }

  // ---- ACK / NACK (ack_agg.hpp) ----------------------------------------------------------------
  void handle_feedback(const uint8_t *f) {
    const proto::FanoutHeader &h = pp.hdr;
    fb.type = h.type;
    fb.flags = (uint8_t)(h.flags & ~proto::kFlagAuth); // what the aggregator emits, this node signs
    fb.origin = h.origin;
    fb.key = proto::MessageKey{h.sender, h.message_id};
    fb.sequence = h.sequence;
    fb.length = h.length;
    uint32_t tnow = (uint32_t)now;
    if (!fb.set.assign(set)) {
      // More ranges than a FeedbackSet: forwarded unchanged (header and set verbatim) to the
      // message's upstream; an ACK also passes its child through from then on (as the NIC).
      stats.feedback_undecodable++;
      proto::NodeId dest = agg.upstream_of(fb.key);
      if (h.type == proto::kTypeAck) {
        fb.set.clear();
        for (uint32_t r = 0; r < set.range_count() && r < proto::kMaxFeedbackRanges; r++)
          fb.set.append_range(set.range(r).first, set.range(r).last);
        proto::AggOutput o;
        if (agg.on_ack(fb, tnow, o)) dest = o.dest;
      }
      emit_raw(dest, h, f + proto::kSetOffset, raw_body_len());
      return;
    }
    bool out = h.type == proto::kTypeAck ? agg.on_ack(fb, tnow, agg_out[0]) : agg.on_nack(fb, tnow, agg_out[0]);
    if (!out) return;
    if (pp.auth && agg_out[0].fb.origin != cfg.node) {
      // Forwarded (a NACK, a passed-through ACK) and signed: the child's Fanout part with its
      // trailer verbatim, so it stays signed by its origin (docs/protocol.md section 12).
      emit_raw(agg_out[0].dest, h, f + proto::kSetOffset, raw_body_len());
      return;
    }
    emit(agg_out[0]);
  }

  // Bytes after the Fanout header that a verbatim forward carries: the set, and for a signed
  // frame everything up to the end of its trailer (the tag covers it all).
  uint32_t raw_body_len() const {
    return pp.auth ? pp.auth_offset + proto::kAuthTrailerBytes - proto::kSetOffset : pp.hdr.set_len;
  }

  // Addresses of a feedback frame to dest; false: not addressable (counted).
  bool feedback_net(proto::NodeId dest, const proto::MessageKey &key, proto::NetHeaders &net, int *pidx) {
    if (dest == cfg.node) {
      std::memcpy(net.eth_dst, cfg.mac, 6);
      net.ip_dst = cfg.ipv4;
      *pidx = -1;
    } else {
      const Nbr &e = nbrs[dest];
      if (!e.valid || e.pidx >= nports) {
        stats.feedback_unroutable++;
        return false;
      }
      std::memcpy(net.eth_dst, e.mac, 6);
      net.ip_dst = e.ipv4;
      *pidx = e.pidx;
    }
    std::memcpy(net.eth_src, cfg.mac, 6);
    net.ip_src = cfg.ipv4;
    net.ip_tos = 0;
    net.ip_ttl = proto::kDefaultIpTtl;
    net.ip_id = 0;
    net.udp_src_port = proto::entropy_port(key.sender, key.message_id);
    net.udp_dst_port = cfg.udp_port;
    return true;
  }

  // Ownership: m, a new frame, goes to the host queue (pidx < 0) or to port pidx's TX batch.
  void send_feedback(rte_mbuf *m, int pidx, uint8_t type) {
    if (pidx < 0) {
      stats.feedback_to_host++;
      to_host(m);
      return;
    }
    if (type == proto::kTypeAck)
      stats.acks_forwarded++;
    else
      stats.nacks_forwarded++;
    to_port((uint32_t)pidx, m);
  }

  rte_mbuf *alloc_frame() {
    rte_mbuf *m = rte_pktmbuf_alloc(cfg.header_pool);
    if (m == nullptr) stats.mbuf_exhausted++;
    return m;
  }

  void emit(const proto::AggOutput &o) {
    proto::NetHeaders net;
    int pidx = -1;
    if (!feedback_net(o.dest, o.fb.key, net, &pidx)) return;
    proto::FanoutHeader h =
        proto::make_header(o.fb.type, o.fb.key.sender, o.fb.origin, o.fb.key.message_id, o.fb.sequence, o.fb.length);
    h.flags = (uint8_t)(o.fb.flags & ~proto::kFlagAuth);
    uint32_t len = 0;
    if (proto::build_frame(net, h, o.fb.set, static_cast<const uint8_t *>(nullptr), 0, proto::default_build_options(),
                           build, kBuildBytes, &len) != proto::kOk)
      return;       // never expected (ack_agg counts it as build_errors)
    if (cfg.auth) { // this node emits it: signed with its counter
      if (!proto::auth_append(build, len, (uint32_t)sizeof build, cfg.auth_key, next_counter(), &len)) return;
      stats.auth_signed++;
    }
    rte_mbuf *m = alloc_frame();
    if (m == nullptr) return;
    if (rte_pktmbuf_tailroom(m) < len) {
      stats.header_room++;
      rte_pktmbuf_free(m);
      return;
    }
    std::memcpy(rte_pktmbuf_append(m, (uint16_t)len), build, len);
    send_feedback(m, pidx, o.fb.type);
  }

  // Feedback passed through verbatim: outer headers rebuilt, Fanout header and set body as received.
  void emit_raw(proto::NodeId dest, const proto::FanoutHeader &h, const uint8_t *body, uint32_t body_len) {
    proto::NetHeaders net;
    int pidx = -1;
    if (!feedback_net(dest, proto::MessageKey{h.sender, h.message_id}, net, &pidx)) return;
    proto::ReceiverSet none; // the body rides as build_frame's payload: lengths and checksum right
    uint32_t len = 0;
    if (proto::build_frame(net, h, none, body, body_len, proto::default_build_options(), build, (uint32_t)sizeof build,
                           &len) != proto::kOk)
      return;
    proto::write_fanout_header(h, build + proto::kFanoutOffset); // the original encoding and set length
    rte_mbuf *m = alloc_frame();
    if (m == nullptr) return;
    if (rte_pktmbuf_tailroom(m) < len) {
      stats.header_room++;
      rte_pktmbuf_free(m);
      return;
    }
    std::memcpy(rte_pktmbuf_append(m, (uint16_t)len), build, len);
    send_feedback(m, pidx, h.type);
  }

  // ---- Timers ----------------------------------------------------------------------------------
  void send_probe(uint32_t p) {
    proto::NetHeaders net;
    std::memset(net.eth_dst, 0xFF, 6);
    std::memcpy(net.eth_src, cfg.mac, 6);
    net.ip_src = cfg.ipv4;
    net.ip_dst = 0xFFFFFFFFu;
    net.ip_tos = 0;
    net.ip_ttl = proto::kDefaultIpTtl;
    net.ip_id = 0;
    net.udp_src_port = cfg.udp_port;
    net.udp_dst_port = cfg.udp_port;
    proto::FanoutHeader h = proto::make_header(proto::kTypeProbe, cfg.node, cfg.node, p, ports[p].hb_seq, 0);
    h.hops_left = 0; // never forwarded
    proto::ReceiverSet none;
    rte_mbuf *m = alloc_frame();
    if (m == nullptr) return;
    uint32_t len = 0;
    const uint32_t tail = cfg.auth ? proto::kAuthTrailerBytes : 0;
    uint8_t *out = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(m, (uint16_t)(proto::kFixedHeadersBytes + tail)));
    if (out == nullptr ||
        proto::build_frame(net, h, none, static_cast<const uint8_t *>(nullptr), 0, proto::default_build_options(), out,
                           proto::kFixedHeadersBytes, &len) != proto::kOk ||
        (cfg.auth &&
         !proto::auth_append(out, len, proto::kFixedHeadersBytes + tail, cfg.auth_key, next_counter(), &len))) {
      rte_pktmbuf_free(m);
      return;
    }
    if (cfg.auth) stats.auth_signed++;
    ports[p].hb_seq++;
    stats.port[p].probes_sent++;
    to_port(p, m); // Ownership: the new PROBE frame to the TX batch.
    flush(p);
    ports[p].last_tx = now; // sent or refused: the next heartbeat is one interval away
  }

  void timers() {
    for (uint32_t p = 0; p < nports; p++) {
      Port &pt = ports[p];
      if (cfg.heartbeat_us == 0) continue;
      if (pt.phy_up && now >= pt.last_tx + cfg.heartbeat_us) send_probe(p);
      if (pt.alive && now > pt.last_rx + (uint64_t)kMissedHeartbeats * cfg.heartbeat_us) {
        pt.alive = false;
        update_up(p);
      }
    }
    // The aggregator's background scan over the whole table, one slot per call so that an
    // entry's outputs always fit agg_out.
    uint32_t tnow = (uint32_t)now;
    for (uint32_t i = 0; i < Aggregator::table_slots(); i++) {
      uint32_t n = agg.expire(tnow, 1, agg_out.data(), (uint32_t)agg_out.size());
      for (uint32_t k = 0; k < n; k++) {
        if (agg_out[k].fb.type == proto::kTypeNack && (agg_out[k].fb.flags & proto::kFlagSilent))
          stats.silent_reports++;
        emit(agg_out[k]);
      }
    }
    flush_all();
  }

  EngineConfig cfg;
  uint32_t nports = 0;
  Port ports[kMaxPorts];
  proto::NodeId peer[kMaxPorts] = {};
  bool peer_valid[kMaxPorts] = {};
  Aggregator agg;
  std::vector<Nbr> nbrs;
  proto::PortTable table;
  proto::ParseConfig pcfg;
  proto::SetPolicy policy = proto::open_set_policy();
  std::unique_ptr<proto::RateLimiter<>> rate;    // null: no rate limit
  std::unique_ptr<proto::ReplayWindow<>> replay; // null: auth off
  uint32_t own_counter = 0;                      // the signing counter without a shared one
  uint32_t next_counter() {
    return cfg.auth_counter ? cfg.auth_counter->fetch_add(1, std::memory_order_relaxed) + 1 : ++own_counter;
  }
  Stats stats;
  uint64_t now = 0;
  bool started = false;

  std::vector<rte_mbuf *> host_q;
  uint32_t host_head = 0, host_n = 0;

  // Per-frame work areas (one frame at a time: single-threaded).
  proto::ParsedPacket pp;
  proto::ReceiverSet set;
  RemainingSet remaining, chunk_set;
  proto::LargeReceiverSet port_sets[kMaxPorts];
  proto::ReceiverSet piece;
  std::vector<proto::IdRange> pieces;
  std::vector<CopyPlan> copies;
  uint32_t ncopies = 0;
  proto::Feedback fb;
  std::vector<proto::AggOutput> agg_out;
  uint8_t build[kBuildBytes + proto::kAuthTrailerBytes + proto::kMaxFrameBytes];
  // Header mbufs for copies, allocated kStash at a time; the next one's data is prefetched, so
  // writing a copy's headers does not wait on a cold cache line (half the cost of a copy).
  static const uint32_t kStash = 32;
  rte_mbuf *stash[kStash];
  uint32_t stash_n = 0, stash_at = 0;
  rte_mbuf *header_mbuf() {
    if (stash_at == stash_n) {
      stash_at = stash_n = 0;
      if (rte_pktmbuf_alloc_bulk(cfg.header_pool, stash, kStash) == 0) {
        stash_n = kStash;
      } else {
        return rte_pktmbuf_alloc(cfg.header_pool); // nearly exhausted: one at a time
      }
    }
    rte_mbuf *m = stash[stash_at++];
    if (stash_at < stash_n) rte_prefetch0(rte_pktmbuf_mtod(stash[stash_at], void *));
    return m; // Ownership: a fresh mbuf, the caller's.
  }
  uint8_t scratch[proto::kMaxFrameBytes];
};

Engine::Engine(const EngineConfig &cfg) {
  validate(cfg);
  impl_ = std::make_unique<Impl>(cfg);
}

Engine::~Engine() = default;

uint32_t Engine::poll(uint16_t port, uint16_t queue, uint64_t now_us) {
  Impl &im = *impl_;
  uint8_t p = im.pidx_of(port);
  if (p >= im.nports) return 0;
  im.start(now_us);
  im.now = now_us;
  rte_mbuf *rx[256];
  uint16_t n = rte_eth_rx_burst(port, queue, rx, (uint16_t)im.cfg.burst);
  // Ownership: rx[0..n) are the Engine's from here (dispatch frees or hands on each).
  for (uint16_t i = 0; i < n; i++) {
    rte_mbuf *m = rx[i];
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void *));
    im.stats.port[p].rx_packets++;
    im.stats.port[p].rx_bytes += rte_pktmbuf_pkt_len(m);
    Impl::Port &pt = im.ports[p];
    pt.last_rx = now_us; // any frame is a sign of life (link_monitor)
    if (!pt.alive && pt.phy_up) {
      pt.alive = true;
      im.update_up(p);
    }
    if (im.cfg.mac_filter && !im.for_us(m)) {
      im.stats.mac_filtered++;
      rte_pktmbuf_free(m); // ours since rx_burst: dropped
      continue;
    }
    const uint8_t *f = nullptr;
    int code = im.parse(m, &f);
    im.dispatch(m, f, code, p);
  }
  im.flush_all();
  im.drain_inbox();
  return n;
}

bool Engine::host_send(rte_mbuf *frame, uint64_t now_us) {
  Impl &im = *impl_;
  im.start(now_us);
  im.now = now_us;
  const uint8_t *f = nullptr;
  int code = im.parse(frame, &f);
  if (code == proto::kNotFanout) {
    im.stats.host_tx_rejected++;
    return false; // Ownership: not taken: still the caller's.
  }
  im.dispatch(frame, f, code, kFromHost); // Ownership: the Engine's from here.
  im.flush_all();
  return true;
}

uint32_t Engine::host_receive(rte_mbuf **out, uint32_t max) {
  Impl &im = *impl_;
  uint32_t n = 0;
  while (n < max && im.host_n > 0) {
    out[n++] = im.host_q[im.host_head]; // Ownership: to the caller.
    im.host_head = (im.host_head + 1) % (uint32_t)im.host_q.size();
    im.host_n--;
  }
  return n;
}

uint32_t Engine::host_pending() const {
  return impl_->host_n;
}

void Engine::timers(uint64_t now_us) {
  impl_->start(now_us);
  impl_->now = now_us;
  impl_->timers();
}

void Engine::port_link(uint16_t port, bool up) {
  Impl &im = *impl_;
  uint8_t p = im.pidx_of(port);
  if (p >= im.nports) return;
  bool was_up = im.ports[p].phy_up;
  im.ports[p].phy_up = up;
  // Back up at the first frame received (link_monitor); without heartbeats, PHY status only.
  if (up && !was_up) im.ports[p].alive = im.cfg.heartbeat_us == 0;
  im.update_up(p);
}

const Stats &Engine::stats() const {
  impl_->stats.aggregator = impl_->agg.stats();
  impl_->stats.acks_merged = impl_->agg.stats().acks_merged;
  return impl_->stats;
}

const EngineConfig &Engine::config() const {
  return impl_->cfg;
}

int configure_port(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq, uint16_t nb_desc, rte_mempool *rx_pool) {
  rte_eth_dev_info info;
  int rc = rte_eth_dev_info_get(port, &info);
  if (rc != 0) return rc;
  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof conf);
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  rc = rte_eth_dev_configure(port, nb_rxq, nb_txq, &conf);
  if (rc != 0) return rc;
  int socket = rte_eth_dev_socket_id(port);
  if (socket < 0) socket = (int)SOCKET_ID_ANY;
  for (uint16_t q = 0; q < nb_rxq; q++) {
    rc = rte_eth_rx_queue_setup(port, q, nb_desc, (unsigned)socket, nullptr, rx_pool);
    if (rc != 0) return rc;
  }
  rte_eth_txconf txc = info.default_txconf;
  txc.offloads = conf.txmode.offloads;
  for (uint16_t q = 0; q < nb_txq; q++) {
    rc = rte_eth_tx_queue_setup(port, q, nb_desc, (unsigned)socket, &txc);
    if (rc != 0) return rc;
  }
  return rte_eth_dev_start(port);
}

} // namespace dp
} // namespace fanout
