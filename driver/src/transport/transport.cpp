// The software transport (transport.hpp; docs/driver.md "Transport").
#include "transport.hpp"

#include <algorithm>
#include <cstring>

namespace fanout::driver::transport {

namespace {

using proto::Chunk;
using proto::IdRange;
using proto::kFanoutHeaderBytes;

constexpr uint32_t kBurstPackets = 64;     // new packets per pump() call: receive in between
constexpr uint32_t kRetxBurstPackets = 64; // retransmitted packets per pump() call
constexpr uint32_t kMaxNackRuns = 32;      // NACKs per receiver timer firing
constexpr uint32_t kAggScanSlots = 8;      // aggregator slots per expire() call
constexpr uint32_t kMinAggScanUs = 1000;

bool bit(const std::vector<uint64_t> &b, uint32_t i) {
  return (b[i >> 6] >> (i & 63)) & 1u;
}

} // namespace

Transport::Transport(const Config &cfg, Backend &io, CompletionSink &sink, Counters &stats, uint32_t first_message_id)
    : cfg_(cfg), io_(io), sink_(sink), stats_(stats), next_message_id_(first_message_id), planner_(cfg) {
  proto::AggregatorConfig ac;
  ac.self = cfg_.self;
  ac.silent_timeout = cfg_.opt.silent_timeout_us;
  // Repeats of one NACK from one child are nack_retry_us apart: a shorter window lets them through.
  ac.nack_window = std::max<uint32_t>(1, cfg_.opt.nack_retry_us / 2);
  agg_ = std::make_unique<Aggregator>(ac);
  agg_out_.resize(kAggScanSlots * Aggregator::kMaxOutputsPerEntry);
  rx_set_ = std::make_unique<proto::ReceiverSet>();
  set_a_ = std::make_unique<proto::ReceiverSet>();
  set_b_ = std::make_unique<proto::ReceiverSet>();
  set_c_ = std::make_unique<proto::ReceiverSet>();
  fb_ = std::make_unique<proto::Feedback>();
  out_ = std::make_unique<proto::AggOutput>();
  head_.resize(kFanoutHeaderBytes + proto::kMaxSetBytes);
  policy_.max_receivers = cfg_.opt.max_receivers;
  policy_.first_id = cfg_.first_id;
  policy_.last_id = cfg_.last_id;
  if (cfg_.opt.rate_mbps > 0) {
    proto::RateConfig rc;
    rc.bytes_per_tick = cfg_.opt.rate_mbps / 8; // bytes per microsecond
    uint64_t burst = cfg_.opt.rate_burst_bytes != 0 ? cfg_.opt.rate_burst_bytes
                                                    : std::max<uint64_t>(64 * 1024, (uint64_t)rc.bytes_per_tick * 1000);
    rc.burst_bytes = (uint32_t)std::min<uint64_t>(burst, 0xFFFFFFFFu);
    rate_ = std::make_unique<proto::RateLimiter<>>(); // 576 KiB, only with a rate
    rate_->configure(rc);
  }
  if (cfg_.opt.auth != TransportOptions::kAuthOff) {
    replay_ = std::make_unique<proto::ReplayWindow<>>(); // 768 KiB, only with auth
    signed_.resize(proto::kMaxPacketBytes + proto::kAuthTrailerBytes);
  }
}

// Every datagram this node builds goes out here: signed with this node's next counter when auth is
// on (the node is the packet's origin: docs/protocol.md section 12). The gather pieces are copied
// into one buffer with the trailer (the Backend sends two segments at most).
bool Transport::send_out(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload,
                         uint32_t payload_len) {
  if (!replay_) return io_.send(to, head, head_len, payload, payload_len);
  uint32_t len = head_len + payload_len, out = 0;
  if (len > proto::kMaxPacketBytes) return false;
  std::memcpy(signed_.data(), head, head_len);
  signed_[proto::kFoFlagsOff] = (uint8_t)(signed_[proto::kFoFlagsOff] & ~proto::kFlagAuth);
  if (payload_len) std::memcpy(signed_.data() + head_len, payload, payload_len);
  if (!proto::auth_sign_packet(signed_.data(), len, (uint32_t)signed_.size(), cfg_.opt.auth_key, ++auth_counter_, &out))
    return false;
  return io_.send(to, signed_.data(), out, nullptr, 0);
}

// A received packet's trailer (auth on): counted by code; false: dropped.
bool Transport::authentic(const uint8_t *pkt, uint32_t len, const proto::PacketView &v) {
  if (!replay_) return true;
  proto::AuthResult ar;
  int code = proto::auth_check_packet(pkt, len, v, cfg_.opt.auth_key, *replay_, ar);
  switch (code) {
  case proto::kAuthOk: stats_.auth_ok.add(); break;
  case proto::kAuthUnsigned: stats_.auth_unsigned.add(); break;
  case proto::kAuthBadTag: stats_.auth_bad_tag.add(); break;
  case proto::kAuthReplayed: stats_.auth_replayed.add(); break;
  case proto::kAuthStale: stats_.auth_stale.add(); break;
  default: stats_.auth_unknown_origin.add(); break;
  }
  return proto::auth_accepted(code, cfg_.opt.auth == TransportOptions::kAuthRequire);
}

// Hostile-input policy for a received DATA packet (proto/policy.hpp): before delivery or relaying.
// A node behind a replicating NIC leaves it to the NIC's data path (the dpdk engine checks it).
bool Transport::admit_data(const proto::PacketView &v) {
  if (cfg_.caps.nic_replicates) return true;
  int code = proto::check_set_policy(policy_, *rx_set_, v.hdr.sender, v.hdr.origin); // open: passes
  if (code == proto::kPolicyOk && rate_ && !rate_->allow(v.hdr.sender, v.payload_len, now32()))
    code = proto::kPolicyRateLimited;
  switch (code) {
  case proto::kPolicyOk: return true;
  case proto::kPolicyTooManyReceivers: stats_.policy_too_many_receivers.add(); break;
  case proto::kPolicyUnknownId: stats_.policy_unknown_id.add(); break;
  case proto::kPolicyLoop: stats_.policy_loop.add(); break;
  default: stats_.policy_rate_limited.add(); break;
  }
  return false;
}

// active_ and recv_ own their messages (raw pointers while in use, pooled once finished).
Transport::~Transport() {
  for (SendMsg *m : active_) delete m;
  for (auto &kv : recv_) delete kv.second;
}

// ---- Planner ----------------------------------------------------------------------------------------

Planner::Planner(const Config &cfg)
    : cfg_(cfg), one_(std::make_unique<proto::ReceiverSet>()), all_(std::make_unique<proto::LargeReceiverSet>()),
      chunk_(std::make_unique<proto::LargeReceiverSet>()) {}

uint32_t Planner::set_cap() const {
  return std::min<uint32_t>(proto::kMaxSetBytes, (cfg_.max_packet - kFanoutHeaderBytes) / 2);
}

void Planner::add_copy(NodeId to, const proto::ReceiverSet &set, Plan &out) {
  proto::SetEncoding enc = proto::choose_encoding(set);
  uint32_t bytes = proto::set_cost(set).bytes(enc);
  Copy c;
  c.to = to;
  c.encoding = (uint8_t)enc;
  c.set_len = (uint16_t)bytes;
  c.body_offset = (uint32_t)out.bodies.size();
  out.bodies.resize(out.bodies.size() + bytes);
  uint32_t written = 0;
  proto::encode_set(set, enc, out.bodies.data() + c.body_offset, bytes, &written);
  out.copies.push_back(c);
}

bool Planner::build(const std::vector<NodeId> &ids, uint32_t budget, bool direct, Plan &out) {
  out.clear();
  if (ids.empty()) return true;
  const bool to_nic = cfg_.caps.nic_replicates;
  if (direct && !to_nic) {
    for (NodeId id : ids) {
      one_->clear();
      one_->append(id);
      add_copy(id, *one_, out);
    }
    return true;
  }
  all_->clear();
  for (NodeId id : ids) all_->append(id);
  Chunk chunks[proto::kMaxTreeFanout];
  uint32_t n = 1;
  if (to_nic) {
    chunks[0] = Chunk{0, (uint32_t)ids.size(), ids[0]};
  } else {
    n = proto::tree_split(*all_, cfg_.opt.fanout, chunks);
  }
  for (uint32_t c = 0; c < n; c++) {
    chunk_->clear();
    for (uint32_t i = chunks[c].begin; i < chunks[c].end; i++) chunk_->append(ids[i]);
    NodeId to = to_nic ? cfg_.self : chunks[c].head;
    if (proto::set_cost(*chunk_).best_bytes() <= budget) {
      if (!one_->assign(*chunk_)) return false;
      add_copy(to, *one_, out);
      continue;
    }
    uint32_t np = proto::partition_for_packets(*chunk_, budget, nullptr, 0);
    pieces_.resize(np);
    proto::partition_for_packets(*chunk_, budget, pieces_.data(), np);
    for (uint32_t p = 0; p < np; p++) {
      if (!proto::intersect_range(*chunk_, pieces_[p].first, pieces_[p].last, *one_)) return false;
      add_copy(to_nic ? cfg_.self : one_->first_id(), *one_, out);
    }
  }
  return true;
}

uint32_t Planner::budget(const Plan &plan, uint32_t receivers, bool direct) {
  uint32_t b = (receivers >= 2 && !direct) ? 4 : 2;
  for (const Copy &c : plan.copies) b = std::max<uint32_t>(b, c.set_len);
  return b;
}

uint32_t Planner::payload_for(const std::vector<NodeId> &ids, bool direct) {
  if (ids.empty() || !build(ids, set_cap(), direct, scratch_)) return 0;
  return cfg_.max_packet - kFanoutHeaderBytes - budget(scratch_, (uint32_t)ids.size(), direct);
}

// ---- Sender --------------------------------------------------------------------------------------

void Transport::post_send(const SendRequest &r, uint64_t now_us) {
  now_ = now_us;
  std::unique_ptr<SendMsg> owned;
  if (!send_pool_.empty()) {
    owned = std::move(send_pool_.back());
    send_pool_.pop_back();
  } else {
    owned = std::make_unique<SendMsg>();
  }
  SendMsg &m = *owned;
  m.wr_id = r.wr_id;
  m.data = r.data;
  m.length = r.length;
  m.flags = r.flags;
  m.rcv.assign(r.receivers, r.receivers + r.count);
  m.direct = (r.flags & kSendDirect) != 0;
  planner_.build(m.rcv, planner_.set_cap(), m.direct, m.plan);
  m.set_budget = Planner::budget(m.plan, r.count, m.direct);
  m.payload = cfg_.max_packet - kFanoutHeaderBytes - m.set_budget;
  m.npackets = m.length == 0 ? 1 : (uint32_t)(((uint64_t)m.length + m.payload - 1) / m.payload);
  m.acked.assign(r.count, 0);
  m.heard.assign(r.count, now_);
  m.rep_from.assign(r.count, UINT32_MAX);
  m.rep_at.assign(r.count, 0);
  m.probed_at.assign(r.count, 0);
  m.state.assign(r.count, kPending);
  m.pending = r.count;
  m.failed = 0;
  m.next_seq = 0;
  m.min_acked = 0;
  m.rto = cfg_.opt.rto_us;
  m.probe_at = now_ + m.rto;
  m.check_at = now_ + check_interval();
  m.probes = 0;
  m.finished = false;
  do {
    m.message_id = next_message_id_++;
  } while (by_id_.count(m.message_id));
  by_id_[m.message_id] = &m;
  active_.push_back(owned.release());
  stats_.messages_posted.add();
  arm_timer(std::min(m.probe_at, m.check_at));
}

uint32_t Transport::check_interval() const {
  return std::max<uint32_t>(1000, std::min<uint32_t>(cfg_.opt.rto_us, cfg_.opt.failure_timeout_us / 8));
}

Transport::SendMsg *Transport::find_send(uint32_t message_id) {
  auto it = by_id_.find(message_id);
  return it == by_id_.end() ? nullptr : it->second;
}

// One packet of m as every copy of plan. Returns the copies handed to the backend.
uint32_t Transport::send_packet(SendMsg &m, uint32_t seq, const Plan &plan, uint8_t extra_flags) {
  uint64_t offset = (uint64_t)seq * m.payload;
  uint32_t plen = seq + 1 == m.npackets ? (uint32_t)(m.length - offset) : m.payload;
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, cfg_.self, cfg_.self, m.message_id, seq, m.length);
  h.flags = (uint8_t)(extra_flags | (seq + 1 == m.npackets ? proto::kFlagLast : 0));
  uint32_t sent = 0;
  for (const Copy &c : plan.copies) {
    h.set_encoding = c.encoding;
    h.set_len = c.set_len;
    proto::write_fanout_header(h, head_.data());
    std::memcpy(head_.data() + kFanoutHeaderBytes, plan.bodies.data() + c.body_offset, c.set_len);
    if (send_out(c.to, head_.data(), kFanoutHeaderBytes + c.set_len, plen ? m.data + offset : nullptr, plen)) sent++;
  }
  return sent;
}

// window_full: this packet fills the window; ACK_REQ makes its receivers report at once instead of
// at their next ack_interval (the window cannot open before they do).
void Transport::send_new(SendMsg &m, bool window_full) {
  uint32_t seq = m.next_seq++;
  uint32_t copies = send_packet(m, seq, m.plan, window_full ? proto::kFlagAckReq : 0);
  m.probe_at = now_ + m.rto; // probes wait for a quiet rto after the last new packet
  uint64_t offset = (uint64_t)seq * m.payload;
  uint32_t plen = seq + 1 == m.npackets ? (uint32_t)(m.length - offset) : m.payload;
  stats_.data_packets_sent.add();
  stats_.data_copies_sent.add(copies);
  stats_.payload_bytes_sent.add((uint64_t)copies * plen);
}

// Through the tree rule over the targets while all looks well; one copy per target once a probe
// went unanswered or a receiver failed: a relay whose parent died would pass the ACKs to it.
void Transport::retransmit(SendMsg &m, uint32_t from, uint32_t to, const std::vector<NodeId> &targets) {
  bool direct = m.direct || m.probes > 0 || m.failed > 0;
  if (!planner_.build(targets, m.set_budget, direct, scratch_plan_)) return;
  for (uint32_t seq = from; seq < to; seq++) {
    stats_.retx_copies_sent.add(send_packet(m, seq, scratch_plan_, proto::kFlagRetx));
    stats_.retx_packets_sent.add();
  }
}

// The last packet sent, with ACK_REQ: a receiver that holds everything re-ACKs, one that misses
// packets NACKs them, one that never heard of the message starts it. After one unanswered probe,
// probes go one copy per receiver, so a failed relay cannot hide the receivers behind it.
void Transport::probe(SendMsg &m, const std::vector<NodeId> &targets, bool direct) {
  if (m.next_seq == 0 || targets.empty()) return;
  if (!planner_.build(targets, m.set_budget, direct || m.direct, scratch_plan_)) return;
  stats_.probes_sent.add(send_packet(m, m.next_seq - 1, scratch_plan_, proto::kFlagRetx | proto::kFlagAckReq));
}

void Transport::update_min(SendMsg &m) {
  uint32_t mn = m.next_seq;
  for (size_t i = 0; i < m.rcv.size(); i++)
    if (m.state[i] == kPending && m.acked[i] < mn) mn = m.acked[i];
  m.min_acked = mn;
}

void Transport::sender_ack(SendMsg &m, const proto::PacketView &v, const proto::ReceiverSet &set) {
  uint32_t seq = std::min(v.hdr.sequence, m.next_seq); // nobody holds packets not sent yet
  bool progress = false;
  for (uint32_t r = 0; r < set.range_count(); r++) {
    const IdRange &x = set.range(r);
    auto it = std::lower_bound(m.rcv.begin(), m.rcv.end(), x.first);
    for (; it != m.rcv.end() && *it <= x.last; ++it) {
      size_t i = (size_t)(it - m.rcv.begin());
      m.heard[i] = now_;
      failed_at_.erase(*it); // alive after all
      if (m.state[i] != kPending || seq <= m.acked[i]) continue;
      m.acked[i] = seq;
      progress = true;
      if (seq >= m.npackets) {
        m.state[i] = kDone;
        m.pending--;
      }
    }
  }
  if (!progress) return;
  m.probes = 0;
  m.rto = cfg_.opt.rto_us;
  m.probe_at = now_ + m.rto;
  arm_timer(m.probe_at);
  update_min(m);
  maybe_complete(m);
}

void Transport::sender_nack(SendMsg &m, const proto::PacketView &v, const proto::ReceiverSet &set) {
  const proto::FanoutHeader &h = v.hdr;
  const bool silent = (h.flags & proto::kFlagSilent) != 0;
  if (h.flags & proto::kFlagGone) {
    // A relay's peer monitor found these receivers down (protocol.md 7.5): they fail now, named
    // in the completion, never retried -- no failure timeout to wait for.
    uint32_t failed_before = m.failed;
    for (uint32_t r = 0; r < set.range_count(); r++) {
      const IdRange &x = set.range(r);
      auto it = std::lower_bound(m.rcv.begin(), m.rcv.end(), x.first);
      for (; it != m.rcv.end() && *it <= x.last; ++it) {
        size_t i = (size_t)(it - m.rcv.begin());
        if (m.state[i] != kPending) continue;
        m.state[i] = kFailed;
        m.pending--;
        m.failed++;
        failed_at_[*it] = now_;
      }
    }
    stats_.gone_reports_received.add();
    if (m.failed != failed_before) receivers_failed(m);
    return;
  }
  targets_.clear(); // receivers to probe
  for (uint32_t r = 0; r < set.range_count(); r++) {
    const IdRange &x = set.range(r);
    auto it = std::lower_bound(m.rcv.begin(), m.rcv.end(), x.first);
    for (; it != m.rcv.end() && *it <= x.last; ++it) {
      size_t i = (size_t)(it - m.rcv.begin());
      if (m.state[i] != kPending) continue;
      if (!silent) {
        m.heard[i] = now_;
        failed_at_.erase(*it);
      }
      uint32_t from = std::max(h.sequence, m.acked[i]);
      if (silent || h.length == 0) {
        // A relay stopped hearing from this receiver (SILENT), or the receiver misses "all from
        // here" (count 0): which of the packets sent are still on their way is unknown, so ask it
        // with a probe (the last packet sent, ACK_REQ) that arrives behind them; it then NACKs
        // exactly the gaps. At most once per reorder interval (per rto for silent reports).
        uint32_t gap = silent ? cfg_.opt.rto_us : cfg_.opt.reorder_us;
        if (from < m.next_seq && now_ - m.probed_at[i] >= gap) {
          m.probed_at[i] = now_;
          targets_.push_back(*it);
        }
        continue;
      }
      uint32_t to = (uint32_t)std::min<uint64_t>((uint64_t)h.sequence + h.length, m.next_seq);
      if (from >= to) continue;
      // The same request again within half a NACK retry interval is a copy of one already served.
      if (m.rep_from[i] == from && now_ - m.rep_at[i] < cfg_.opt.nack_retry_us / 2) continue;
      m.rep_from[i] = from;
      m.rep_at[i] = now_;
      repairs_.push_back(Repair{m.message_id, from, to, *it, false});
    }
  }
  if (silent) stats_.silent_reports_received.add();
  probe(m, targets_, true);
}

void Transport::maybe_complete(SendMsg &m) {
  if (m.pending != 0 || m.finished) return;
  Completion c;
  c.wr_id = m.wr_id;
  c.opcode = Opcode::kSend;
  c.peer = cfg_.self;
  c.message_id = m.message_id;
  c.length = m.length;
  c.receivers = (uint32_t)m.rcv.size();
  c.failed_count = m.failed;
  if (m.failed == 0) {
    c.status = Status::kOk;
    stats_.messages_succeeded.add();
  } else {
    c.status = Status::kPartialFailure;
    stats_.messages_partial.add();
    stats_.receivers_failed.add(m.failed);
    targets_.clear();
    for (size_t i = 0; i < m.rcv.size(); i++)
      if (m.state[i] == kFailed) targets_.push_back(m.rcv[i]);
    for (uint32_t i = 0; i < kInlineFailed && i < targets_.size(); i++) c.failed[i] = targets_[i];
    sink_.keep_failed_list(m.message_id, targets_);
  }
  sink_.complete(c);
  m.finished = true;
  by_id_.erase(m.message_id);
}

// Remove finished sends from the active list (not while it is being walked).
void Transport::reap() {
  for (size_t i = 0; i < active_.size();) {
    if (!active_[i]->finished) {
      i++;
      continue;
    }
    send_pool_.emplace_back(active_[i]);
    active_.erase(active_.begin() + (long)i);
  }
}

// Some receivers of m just failed (timeout or a GONE report).
void Transport::receivers_failed(SendMsg &m) {
  update_min(m);
  // New packets stop going through failed relays: the tree is rebuilt over the live receivers.
  if (m.pending > 0 && !m.direct && !cfg_.caps.nic_replicates && m.next_seq < m.npackets) {
    targets_.clear();
    for (size_t i = 0; i < m.rcv.size(); i++)
      if (m.state[i] == kPending) targets_.push_back(m.rcv[i]);
    if (planner_.build(targets_, m.set_budget, false, scratch_plan_)) {
      std::swap(m.plan, scratch_plan_);
      stats_.replans.add();
    }
  }
  maybe_complete(m);
}

void Transport::sender_timers(SendMsg &m) {
  if (now_ >= m.check_at) {
    m.check_at = now_ + check_interval();
    uint32_t failed_before = m.failed;

    for (size_t i = 0; i < m.rcv.size(); i++) {
      if (m.state[i] != kPending) continue;
      if (m.acked[i] >= m.next_seq) {
        m.heard[i] = now_; // owes nothing yet: its clock starts when it lags
        continue;
      }
      // A receiver that failed in another message and has not been heard from since (an ACK or a
      // NACK naming it takes it off failed_at_) fails here after one rto without progress, not
      // after a failure timeout of its own.
      bool failed_elsewhere = failed_at_.count(m.rcv[i]) != 0 && now_ - m.heard[i] > cfg_.opt.rto_us;
      if (failed_elsewhere || now_ - m.heard[i] > cfg_.opt.failure_timeout_us) {
        m.state[i] = kFailed;
        m.pending--;
        m.failed++;
        if (failed_elsewhere) {
          stats_.receivers_failed_elsewhere.add();
        } else {
          failed_at_[m.rcv[i]] = now_;
        }
      }
    }
    if (m.failed != failed_before) receivers_failed(m);
  }
  if (m.finished) return;
  if (now_ >= m.probe_at) {
    targets_.clear();
    for (size_t i = 0; i < m.rcv.size(); i++)
      if (m.state[i] == kPending && m.acked[i] < m.next_seq) targets_.push_back(m.rcv[i]);
    probe(m, targets_, m.probes >= 1);
    if (!targets_.empty()) m.probes++;
    m.rto = std::min(m.rto * 2, cfg_.opt.rto_max_us);
    m.probe_at = now_ + m.rto;
  }
}

bool Transport::pump(uint64_t now_us) {
  now_ = now_us;
  reap();
  uint64_t inflight = 0;
  for (SendMsg *m : active_) inflight += m->next_seq - m->min_acked;
  uint32_t sent = 0;
  for (SendMsg *m : active_) {
    while (inflight < cfg_.opt.window && m->next_seq < m->npackets && sent < kBurstPackets) {
      inflight++;
      send_new(*m, inflight >= cfg_.opt.window);
      sent++;
    }
  }
  // Retransmissions: requests for the same packets of the same message go out as one packet whose
  // set is every receiver that asked.
  uint32_t retx = 0;
  while (!repairs_.empty() && retx < kRetxBurstPackets) {
    Repair r = repairs_.front();
    repairs_.pop_front();
    if (r.taken) continue;
    SendMsg *m = find_send(r.message_id);
    if (!m) continue;
    targets_.clear();
    targets_.push_back(r.target);
    size_t scan = std::min<size_t>(repairs_.size(), 256);
    for (size_t i = 0; i < scan; i++) {
      Repair &o = repairs_[i];
      if (!o.taken && o.message_id == r.message_id && o.from == r.from && o.to == r.to) {
        targets_.push_back(o.target);
        o.taken = true;
      }
    }
    std::sort(targets_.begin(), targets_.end());
    targets_.erase(std::unique(targets_.begin(), targets_.end()), targets_.end());
    uint32_t to = std::min(r.to, r.from + (kRetxBurstPackets - retx));
    if (to < r.to) { // the rest waits for the next call, per receiver
      for (NodeId t : targets_) repairs_.push_back(Repair{r.message_id, to, r.to, t, false});
    }
    retransmit(*m, r.from, to, targets_);
    retx += to - r.from;
  }
  bool more = !repairs_.empty();
  for (SendMsg *m : active_)
    if (m->next_seq < m->npackets && inflight < cfg_.opt.window) more = true;
  return more;
}

// ---- Receiver and relay ----------------------------------------------------------------------------

void Transport::post_recv(const RecvRequest &r) {
  posted_.push_back(r);
}

void Transport::on_packet(const uint8_t *pkt, uint32_t len, uint64_t now_us) {
  now_ = now_us;
  proto::PacketView v;
  int rc = proto::parse_packet(pkt, len, v, rx_set_.get());
  if (rc != proto::kOk) {
    stats_.malformed.add();
    stats_.malformed_by_reason[rc < kMalformedReasons ? rc : 0].add();
    return;
  }
  if (!authentic(pkt, len, v)) return;
  switch (v.hdr.type) {
  case proto::kTypeData:
    if (admit_data(v)) on_data(v, pkt);
    break;
  case proto::kTypeAck:
  case proto::kTypeNack: on_feedback(v, pkt, len); break;
  default: // PROBE: answered, one reply per probe (never more)
    if (v.hdr.flags & proto::kFlagReply) {
      stats_.not_for_us.add();
    } else {
      proto::FanoutHeader h = proto::make_header(proto::kTypeProbe, cfg_.self, cfg_.self, 0, v.hdr.sequence, 0);
      h.flags = proto::kFlagReply;
      proto::write_fanout_header(h, head_.data());
      send_out(v.hdr.origin, head_.data(), kFanoutHeaderBytes, nullptr, 0);
    }
    break;
  }
  sync_agg_stats();
}

void Transport::on_data(const proto::PacketView &v, const uint8_t *pkt) {
  bool local = rx_set_->contains(cfg_.self);
  uint64_t copies_before = stats_.copies_forwarded.get();
  bool relayed = !cfg_.caps.nic_replicates && relay(v, pkt, local);
  // One packet in causes at most F + 1 out (docs/reliability.md, hostile input): what the copies
  // left of that is the most feedback its delivery may send now (at least one packet).
  uint64_t copies = stats_.copies_forwarded.get() - copies_before;
  uint32_t bound = cfg_.opt.fanout + 1;
  uint32_t feedback_budget = copies < bound ? (uint32_t)(bound - copies) : 1;
  if (local && v.hdr.sender != cfg_.self) deliver(v, pkt, relayed, feedback_budget);
}

// Forward a copy to each chunk head of the ids after this node's (tree rule), and arm the
// aggregator with those heads and, when this node is a receiver, its own host. Returns true if
// copies were made (this node aggregates the message's feedback).
bool Transport::relay(const proto::PacketView &v, const uint8_t *pkt, bool local) {
  proto::ReceiverSet &remaining = *set_a_;
  if (local) {
    if (!rx_set_->without(cfg_.self, remaining)) return false;
  } else {
    remaining.assign(*rx_set_);
  }
  if (remaining.empty()) return false;
  if (v.hdr.hops_left == 0) {
    stats_.hops_exhausted.add();
    return false;
  }
  // A copy's set may use the packet's whole room on the medium: a chunk can encode longer than
  // the set that came in (this node removed from inside a range, a bitmap cut), and a budget of
  // the input's set bytes cut such a chunk into pieces, more than F + 1 sends for one packet
  // (found by fuzz_udp_rx). Pieces remain only for a chunk that does not fit the medium at all.
  // The copies may be as long as the packet that came in: a peer on a larger MTU sent it (found
  // by fuzz_udp_rx: a 2,176-byte payload left no room at our 1,500 and went out in 15 pieces).
  uint32_t medium = std::max<uint32_t>(cfg_.max_packet, v.payload_offset + v.payload_len);
  uint32_t room =
      medium > proto::kFanoutHeaderBytes + v.payload_len ? medium - proto::kFanoutHeaderBytes - v.payload_len : 0;
  uint32_t budget = std::max<uint32_t>(std::min<uint32_t>(proto::kMaxSetBytes, room), 4);
  Chunk chunks[proto::kMaxTreeFanout];
  uint32_t n = proto::tree_split(remaining, cfg_.opt.fanout, chunks);
  // Such pieces are sends too: one packet in causes at most F + 1 out. While the chunks and their
  // pieces exceed F, split into fewer chunks (at the MTU's edge only; found by fuzz_udp_rx), down
  // to one chunk in pieces.
  for (uint32_t f = n; f > 1 && sends_for(remaining, chunks, n, budget) > cfg_.opt.fanout; f--) {
    if (f - 1 >= proto::kMinTreeFanout) {
      n = proto::tree_split(remaining, f - 1, chunks);
    } else {
      chunks[0] = Chunk{0, remaining.size(), (NodeId)remaining.at(0)};
      n = 1;
    }
  }
  proto::ChildSpec children[proto::kMaxTreeFanout + 1];
  uint32_t nchildren = 0;
  for (uint32_t c = 0; c < n; c++)
    children[nchildren++] =
        proto::ChildSpec{chunks[c].head, remaining.at(chunks[c].begin), remaining.at(chunks[c].end - 1)};
  if (local) children[nchildren++] = proto::ChildSpec{cfg_.self, cfg_.self, cfg_.self};
  proto::MessageKey key{v.hdr.sender, v.hdr.message_id};
  // Arm before any copy leaves, so no child's ACK can reach an unarmed aggregator.
  agg_->arm(key, v.hdr.origin, children, nchildren, proto::packets_in_message(v.hdr, v.payload_len), now32());
  if (agg_scan_at_ == 0 || agg_scan_at_ > now_ + agg_scan_interval()) agg_scan_at_ = now_ + agg_scan_interval();
  arm_timer(agg_scan_at_);

  proto::FanoutHeader h = v.hdr;
  h.hops_left = (uint8_t)(h.hops_left - 1);
  h.origin = cfg_.self;
  h.flags = (uint8_t)(h.flags & ~proto::kFlagAuth); // a copy is a new Fanout part: signed (or not) by this node
  const uint8_t *payload = v.payload_len ? pkt + v.payload_offset : nullptr;
  proto::BuildOptions opt = proto::default_build_options();
  for (uint32_t c = 0; c < n; c++) {
    remaining.slice(chunks[c].begin, chunks[c].end, *set_b_);
    uint32_t hl = 0;
    if (proto::set_cost(*set_b_).best_bytes() <= budget) {
      if (proto::build_packet_header(h, *set_b_, v.payload_len, opt, head_.data(), (uint32_t)head_.size(), &hl) ==
          proto::kOk) {
        send_out(chunks[c].head, head_.data(), hl, payload, v.payload_len);
        stats_.copies_forwarded.add();
      }
      continue;
    }
    uint32_t np = proto::partition_for_packets(*set_b_, budget, nullptr, 0);
    pieces_.resize(np);
    proto::partition_for_packets(*set_b_, budget, pieces_.data(), np);
    for (uint32_t p = 0; p < np; p++) {
      proto::ReceiverSet &piece = *set_c_;
      if (!proto::intersect_range(*set_b_, pieces_[p].first, pieces_[p].last, piece)) continue;
      if (proto::build_packet_header(h, piece, v.payload_len, opt, head_.data(), (uint32_t)head_.size(), &hl) ==
          proto::kOk) {
        send_out(chunks[c].head, head_.data(), hl, payload, v.payload_len);
        stats_.copies_forwarded.add();
      }
    }
  }
  return true;
}

// Packets the copies of these chunks take: one per chunk whose set fits `budget` bytes, else one
// per piece.
uint32_t Transport::sends_for(const proto::ReceiverSet &remaining, const Chunk *chunks, uint32_t n, uint32_t budget) {
  uint32_t sends = 0;
  for (uint32_t c = 0; c < n; c++) {
    remaining.slice(chunks[c].begin, chunks[c].end, *set_b_);
    sends +=
        proto::set_cost(*set_b_).best_bytes() <= budget ? 1 : proto::partition_for_packets(*set_b_, budget, nullptr, 0);
  }
  return sends;
}

uint32_t Transport::agg_scan_interval() const {
  return std::max<uint32_t>(kMinAggScanUs, cfg_.opt.silent_timeout_us / 4);
}

void Transport::deliver(const proto::PacketView &v, const uint8_t *pkt, bool via_agg, uint32_t feedback_budget) {
  const proto::FanoutHeader &h = v.hdr;
  uint64_t key = key_of(h.sender, h.message_id);
  uint32_t npk = proto::packets_in_message(h, v.payload_len);
  stats_.data_packets_received.add();
  if (h.flags & proto::kFlagRetx) stats_.retx_packets_received.add();
  if ((h.flags & (proto::kFlagRetx | proto::kFlagAckReq)) == (proto::kFlagRetx | proto::kFlagAckReq))
    stats_.probes_received.add();
  last_from_[h.sender] = now_;
  auto it = recv_.find(key);
  RecvMsg *r = nullptr;
  if (it != recv_.end()) {
    r = it->second;
  } else {
    auto d = done_.find(key);
    if (d != done_.end()) {
      stats_.duplicates_of_completed.add();
      if (npk == d->second.npackets) ack_done(h, d->second, via_agg);
      return;
    }
    // A new message takes the buffer at the head of the queue. One that does not fit completes
    // that buffer with kBufferTooSmall (once per message) and waits, its packets dropped and
    // repeated by the sender, until the buffer at the head fits.
    if (!posted_.empty() && posted_.front().capacity < h.length && !rejected_.count(key)) {
      RecvRequest rq = posted_.front();
      posted_.pop_front();
      Completion c;
      c.wr_id = rq.wr_id;
      c.status = Status::kBufferTooSmall;
      c.opcode = Opcode::kRecv;
      c.peer = h.sender;
      c.message_id = h.message_id;
      c.length = h.length;
      sink_.complete(c);
      stats_.buffer_too_small.add();
      rejected_[key] = now_ + cfg_.opt.linger_us;
      arm_timer(now_ + cfg_.opt.linger_us);
    }
    if (posted_.empty() || posted_.front().capacity < h.length) {
      stats_.rnr_drops.add(); // the sender repeats the packets once a buffer is posted
      return;
    }
    RecvRequest rq = posted_.front();
    posted_.pop_front();
    rejected_.erase(key);
    std::unique_ptr<RecvMsg> owned;
    if (!recv_pool_.empty()) {
      owned = std::move(recv_pool_.back());
      recv_pool_.pop_back();
    } else {
      owned = std::make_unique<RecvMsg>();
    }
    r = owned.release();
    r->key = key;
    r->sender = h.sender;
    r->message_id = h.message_id;
    r->wr_id = rq.wr_id;
    r->buf = rq.buf;
    r->capacity = rq.capacity;
    r->length = h.length;
    r->npackets = npk;
    r->bits.assign((npk + 63) / 64, 0);
    r->received = 0;
    r->cum = 0;
    r->highest = 0;
    r->acked_cum = 0;
    r->nacked_upto = 0;
    r->renack_at = 0;
    r->gap_mark = 0;
    r->gap_due = 0;
    r->backoff = cfg_.opt.nack_retry_us;
    r->last_rx = now_;
    r->abandoned = false;
    r->nack_at = now_ + cfg_.opt.nack_retry_us;
    arm_timer(r->nack_at);
    recv_[key] = r;
  }
  if (npk != r->npackets || h.length != r->length) {
    stats_.inconsistent_packets.add();
    return;
  }
  r->parent = h.origin;
  r->via_agg = via_agg;
  uint32_t seq = h.sequence;
  if (bit(r->bits, seq)) {
    stats_.duplicate_packets.add();
    if ((h.flags & (proto::kFlagRetx | proto::kFlagAckReq)) == proto::kFlagRetx) stats_.retx_duplicates.add();
  } else {
    uint64_t offset = proto::data_offset(h, v.payload_len);
    if (v.payload_len) std::memcpy(r->buf + offset, pkt + v.payload_offset, v.payload_len);
    r->bits[seq >> 6] |= 1ull << (seq & 63);
    r->received++;
    r->last_rx = now_;
    r->backoff = cfg_.opt.nack_retry_us;
    if (seq > r->highest && r->gap_due == 0) {
      // Packets [highest, seq) are missing: NACKed if still missing after the reorder timeout.
      r->gap_due = now_ + cfg_.opt.reorder_us;
      r->gap_mark = seq;
      if (r->gap_due < r->nack_at) {
        r->nack_at = r->gap_due;
        arm_timer(r->nack_at);
      }
    }
    if (seq >= r->highest) r->highest = seq + 1;
    while (r->cum < r->npackets && bit(r->bits, r->cum)) r->cum++;
  }
  if (r->received == r->npackets) {
    host_feedback(*r, proto::kTypeAck, r->npackets, 1);
    finish_recv(*r);
    return;
  }
  if (h.flags & proto::kFlagAckReq) {
    // Asked to report: the cumulative ACK; for a probe also the gaps and the missing tail (the
    // sender waited an rto on us), as many NACKs as the feedback budget leaves now, the rest at
    // the next timer (found by fuzz_udp_rx: a relay's probe answer of several NACK runs made one
    // packet cause more than F + 1).
    host_feedback(*r, proto::kTypeAck, r->cum, 1);
    r->acked_cum = r->cum;
    if (h.flags & proto::kFlagRetx) nack_everything(*r, feedback_budget - 1);
  } else if (r->cum - r->acked_cum >= cfg_.opt.ack_interval) {
    host_feedback(*r, proto::kTypeAck, r->cum, 1);
    r->acked_cum = r->cum;
  }
}

// A packet of a message this node already completed: the sender has not seen the ACK (lost, or
// a probe). ACK it again, at most once per reorder interval.
void Transport::ack_done(const proto::FanoutHeader &h, DoneMsg &d, bool via_agg) {
  if (d.last_ack != 0 && now_ - d.last_ack < cfg_.opt.reorder_us && !(h.flags & proto::kFlagAckReq)) return;
  d.last_ack = now_;
  proto::Feedback &fb = *fb_;
  fb.type = proto::kTypeAck;
  fb.flags = 0;
  fb.origin = cfg_.self;
  fb.key = proto::MessageKey{h.sender, h.message_id};
  fb.sequence = d.npackets;
  fb.length = 1;
  fb.set.clear();
  fb.set.append(cfg_.self);
  route_host_feedback(h.origin, via_agg);
}

// Feedback from this node's host about r: ACK (sequence = cumulative) or NACK (first missing,
// count; 0 = all from there), set = {this node}.
void Transport::host_feedback(RecvMsg &r, uint8_t type, uint32_t sequence, uint32_t count) {
  proto::Feedback &fb = *fb_;
  fb.type = type;
  fb.flags = 0;
  fb.origin = cfg_.self;
  fb.key = proto::MessageKey{r.sender, r.message_id};
  fb.sequence = sequence;
  fb.length = count;
  fb.set.clear();
  fb.set.append(cfg_.self);
  route_host_feedback(r.parent, r.via_agg);
}

// To the parent, or into this node's aggregator when it relayed the packet (it is its own child).
void Transport::route_host_feedback(NodeId parent, bool via_agg) {
  if (!via_agg) {
    send_feedback(parent, *fb_);
    return;
  }
  bool out = fb_->type == proto::kTypeAck ? agg_->on_ack(*fb_, now32(), *out_) : agg_->on_nack(*fb_, now32(), *out_);
  if (out) send_agg_output(*out_);
}

// NACK the runs of missing packets in [lo, hi) while runs < limit. Returns where it stopped: hi
// when every run was NACKed, else the first missing packet not NACKed.
uint32_t Transport::nack_gaps(RecvMsg &r, uint32_t lo, uint32_t hi, uint32_t &runs, uint32_t limit) {
  uint32_t seq = std::max(lo, r.cum);
  while (seq < hi) {
    if (bit(r.bits, seq)) {
      seq++;
      continue;
    }
    if (runs >= limit) return seq;
    uint32_t end = seq;
    while (end < hi && !bit(r.bits, end)) end++;
    host_feedback(r, proto::kTypeNack, seq, end - seq);
    runs++;
    seq = end;
  }
  return hi;
}

// Every gap and the tail, at most `limit` NACKs now: all of them are old (the message went quiet,
// or the sender probed).
void Transport::nack_everything(RecvMsg &r, uint32_t limit) {
  uint32_t runs = 0;
  uint32_t stop = nack_gaps(r, r.cum, r.highest, runs, limit);
  if (stop == r.highest && r.highest < r.npackets && runs < limit) host_feedback(r, proto::kTypeNack, r.highest, 0);
  r.gap_due = 0;
  if (stop < r.highest && limit < kMaxNackRuns) {
    // A probe's answer cut short by the feedback budget: the other gaps are due at the next timer.
    r.nacked_upto = std::max(r.nacked_upto, stop);
    r.gap_due = now_;
    r.gap_mark = r.highest;
    r.nack_at = now_;
    arm_timer(now_);
  } else {
    r.nacked_upto = std::max(r.nacked_upto, r.highest);
  }
  r.renack_at = now_ + r.backoff;
}

// Three clocks: new gaps are NACKed once older than the reorder timeout; gaps already NACKed
// again after the backoff; a message quiet for the backoff NACKs everything it misses, tail
// included (the backoff doubles while nothing new arrives, up to half the relay's silent timeout,
// so a waiting receiver stays alive for its relay and its sender).
void Transport::receiver_timers(RecvMsg &r) {
  if (now_ < r.nack_at) return;
  const uint32_t cap = std::min(cfg_.opt.rto_max_us, std::max<uint32_t>(1, cfg_.opt.silent_timeout_us / 2));
  uint32_t runs = 0;
  // Quiet: nothing from the sender at all, not just for this message. Packets of other messages
  // from it still arriving mean this message's tail may be queued behind them (FIFO per sender).
  uint64_t heard = std::max(r.last_rx, last_from_[r.sender]);
  if (now_ - heard >= r.backoff) {
    nack_everything(r, kMaxNackRuns);
    r.backoff = std::min(r.backoff * 2, cap);
  } else {
    if (r.renack_at != 0 && now_ >= r.renack_at) {
      nack_gaps(r, r.cum, r.nacked_upto, runs, kMaxNackRuns);
      r.backoff = std::min(r.backoff * 2, cap);
      r.renack_at = 0;
    }
    if (r.gap_due != 0 && now_ >= r.gap_due) {
      nack_gaps(r, r.nacked_upto, r.gap_mark, runs, kMaxNackRuns);
      r.nacked_upto = std::max(r.nacked_upto, r.gap_mark);
      r.gap_due = 0;
      // Gaps that appeared after the mark get their own reorder timeout.
      uint32_t seq = std::max(r.cum, r.nacked_upto);
      while (seq < r.highest && bit(r.bits, seq)) seq++;
      if (seq < r.highest) {
        r.gap_due = now_ + cfg_.opt.reorder_us;
        r.gap_mark = r.highest;
      }
    }
    if (r.renack_at == 0 && r.cum < r.nacked_upto) r.renack_at = now_ + r.backoff;
  }
  uint64_t next = std::max(r.last_rx, last_from_[r.sender]) + r.backoff;
  if (next <= now_) next = now_ + r.backoff;
  if (r.renack_at != 0) next = std::min(next, r.renack_at);
  if (r.gap_due != 0) next = std::min(next, r.gap_due);
  r.nack_at = next;
  // A message whose sender went away: its buffer goes back to the queue after the linger time.
  if (now_ - r.last_rx > cfg_.opt.linger_us) r.abandoned = true;
}

void Transport::finish_recv(RecvMsg &r) {
  Completion c;
  c.wr_id = r.wr_id;
  c.status = Status::kOk;
  c.opcode = Opcode::kRecv;
  c.peer = r.sender;
  c.message_id = r.message_id;
  c.length = r.length;
  sink_.complete(c);
  stats_.messages_received.add();
  uint64_t expires = now_ + cfg_.opt.linger_us;
  done_[r.key] = DoneMsg{r.npackets, expires, now_};
  done_order_.emplace_back(expires, r.key);
  arm_timer(expires);
  recv_.erase(r.key);
  recv_pool_.emplace_back(&r);
}

void Transport::on_feedback(const proto::PacketView &v, const uint8_t *pkt, uint32_t len) {
  const proto::FanoutHeader &h = v.hdr;
  if (h.sender == cfg_.self) {
    SendMsg *m = find_send(h.message_id);
    if (!m) {
      stats_.feedback_unknown_message.add();
      return;
    }
    if (h.type == proto::kTypeAck) {
      stats_.acks_received.add();
      sender_ack(*m, v, *rx_set_);
    } else {
      stats_.nacks_received.add();
      sender_nack(*m, v, *rx_set_);
    }
    return;
  }
  // A relay on the way back: merge or forward with the aggregator.
  proto::Feedback &fb = *fb_;
  fb.type = h.type;
  fb.flags = (uint8_t)(h.flags & ~proto::kFlagAuth); // what the aggregator emits, this node signs
  fb.origin = h.origin;
  fb.key = proto::MessageKey{h.sender, h.message_id};
  fb.sequence = h.sequence;
  fb.length = h.length;
  if (!fb.set.assign(*rx_set_)) {
    // More ranges than aggregation handles: pass it on unchanged.
    io_.send(agg_->upstream_of(fb.key), pkt, len, nullptr, 0);
    passed_raw_++;
    return;
  }
  bool out = h.type == proto::kTypeAck ? agg_->on_ack(fb, now32(), *out_) : agg_->on_nack(fb, now32(), *out_);
  if (!out) return;
  if (replay_ && out_->fb.origin != cfg_.self && out_->dest != cfg_.self) {
    // Forwarded (a NACK, a passed-through ACK): the child's Fanout part with its trailer verbatim,
    // so it stays signed by its origin (docs/protocol.md section 12).
    if (io_.send(out_->dest, pkt, len, nullptr, 0))
      (h.type == proto::kTypeAck ? stats_.acks_sent : stats_.nacks_sent).add();
    return;
  }
  send_agg_output(*out_);
}

void Transport::send_agg_output(const proto::AggOutput &out) {
  if (out.dest == cfg_.self) { // the aggregate is for this node's own host: only a sender expects one
    stats_.not_for_us.add();
    return;
  }
  send_feedback(out.dest, out.fb);
}

void Transport::send_feedback(NodeId to, const proto::Feedback &fb) {
  proto::FanoutHeader h =
      proto::make_header(fb.type, fb.key.sender, fb.origin, fb.key.message_id, fb.sequence, fb.length);
  h.flags = fb.flags;
  uint32_t hl = 0;
  if (proto::build_packet_header(h, fb.set, 0, proto::default_build_options(), head_.data(), (uint32_t)head_.size(),
                                 &hl) != proto::kOk)
    return;
  send_out(to, head_.data(), hl, nullptr, 0);
  (fb.type == proto::kTypeAck ? stats_.acks_sent : stats_.nacks_sent).add();
}

void Transport::expire_aggregator() {
  for (uint32_t done = 0; done < Aggregator::table_slots(); done += kAggScanSlots) {
    uint32_t n = agg_->expire(now32(), kAggScanSlots, agg_out_.data(), (uint32_t)agg_out_.size());
    for (uint32_t i = 0; i < n; i++) send_agg_output(agg_out_[i]);
  }
}

void Transport::sync_agg_stats() {
  const proto::AggregatorStats &s = agg_->stats();
  stats_.agg_acks_merged.set(s.acks_merged);
  stats_.agg_acks_emitted.set(s.acks_emitted);
  stats_.agg_acks_passed.set(s.acks_passed + passed_raw_);
  stats_.agg_nacks_forwarded.set(s.nacks_forwarded);
  stats_.agg_nacks_suppressed.set(s.nacks_suppressed);
  stats_.agg_silent_reported.set(s.silent_reported);
  stats_.agg_gone_reported.set(s.gone_reported);
  stats_.agg_arm_overflow.set(s.arm_overflow);
}

// ---- Timers ----------------------------------------------------------------------------------------

void Transport::on_timers(uint64_t now_us) {
  now_ = now_us;
  if (now_ < next_deadline_) return;
  next_deadline_ = UINT64_MAX;
  for (SendMsg *m : active_) {
    if (m->finished) continue;
    sender_timers(*m);
    if (!m->finished) arm_timer(std::min(m->probe_at, m->check_at));
  }
  for (auto it = recv_.begin(); it != recv_.end();) {
    RecvMsg &r = *it->second;
    receiver_timers(r);
    if (r.abandoned) { // its buffer goes back to the head of the queue
      posted_.push_front(RecvRequest{r.wr_id, r.buf, r.capacity});
      recv_pool_.emplace_back(it->second);
      it = recv_.erase(it);
      continue;
    }
    arm_timer(r.nack_at);
    ++it;
  }
  while (!done_order_.empty() && done_order_.front().first <= now_) {
    auto d = done_.find(done_order_.front().second);
    if (d != done_.end() && d->second.expires <= now_) done_.erase(d);
    done_order_.pop_front();
  }
  if (!done_order_.empty()) arm_timer(done_order_.front().first);
  for (auto it = rejected_.begin(); it != rejected_.end();) {
    if (it->second <= now_) {
      it = rejected_.erase(it);
    } else {
      arm_timer(it->second);
      ++it;
    }
  }
  if (agg_->stats().entries_in_use > 0) {
    if (now_ >= agg_scan_at_) {
      expire_aggregator();
      agg_scan_at_ = now_ + agg_scan_interval();
    }
    if (agg_->stats().entries_in_use > 0) arm_timer(agg_scan_at_);
  }
  sync_agg_stats();
  reap();
}

void Transport::cancel_all(Status status) {
  for (SendMsg *m : active_) {
    if (m->finished) continue;
    Completion c;
    c.wr_id = m->wr_id;
    c.status = status;
    c.opcode = Opcode::kSend;
    c.peer = cfg_.self;
    c.message_id = m->message_id;
    c.length = m->length;
    c.receivers = (uint32_t)m->rcv.size();
    sink_.complete(c);
    m->finished = true;
  }
  by_id_.clear();
  repairs_.clear();
  reap();
  for (auto &kv : recv_) {
    Completion c;
    c.wr_id = kv.second->wr_id;
    c.status = status;
    c.opcode = Opcode::kRecv;
    c.peer = kv.second->sender;
    c.message_id = kv.second->message_id;
    sink_.complete(c);
    recv_pool_.emplace_back(kv.second);
  }
  recv_.clear();
  for (const RecvRequest &r : posted_) {
    Completion c;
    c.wr_id = r.wr_id;
    c.status = status;
    c.opcode = Opcode::kRecv;
    sink_.complete(c);
  }
  posted_.clear();
}

} // namespace fanout::driver::transport
