#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "fanout/sim/host.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "fanout/proto/bier.hpp"
#include "fanout/proto/packet.hpp"

namespace fanout {
namespace sim {

using sc_core::sc_time;

namespace {

uint64_t splitmix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t content_seed(proto::NodeId sender, uint32_t message_id) {
  return splitmix64(((uint64_t)sender << 32 | message_id) + 0x9E3779B97F4A7C15ull);
}

// Bytes [offset, offset + len) of a message, one splitmix64 draw per 8-byte word.
void fill_message_bytes(proto::NodeId sender, uint32_t message_id, uint64_t offset, uint32_t len, uint8_t *out) {
  uint64_t seed = content_seed(sender, message_id);
  uint64_t word = offset / 8, z = splitmix64(seed + word * 0x9E3779B97F4A7C15ull);
  for (uint32_t i = 0; i < len; i++) {
    uint64_t at = offset + i;
    if (at / 8 != word) {
      word = at / 8;
      z = splitmix64(seed + word * 0x9E3779B97F4A7C15ull);
    }
    out[i] = (uint8_t)(z >> (8 * (at % 8)));
  }
}

uint64_t key_of(proto::NodeId sender, uint32_t wire_id) {
  return (uint64_t)sender << 32 | wire_id;
}

// Receiver sets of one packet; large (16 KiB), so one per process on the heap.
proto::ReceiverSet &scratch_set() {
  static std::unique_ptr<proto::ReceiverSet> s(new proto::ReceiverSet);
  return *s;
}

} // namespace

uint8_t message_byte(proto::NodeId sender, uint32_t message_id, uint64_t offset) {
  uint8_t b = 0;
  fill_message_bytes(sender, message_id, offset, 1, &b);
  return b;
}

// ---- Ledger ------------------------------------------------------------------------------------

Ledger::Ledger(std::vector<Message> messages, uint32_t payload_bytes) : messages_(std::move(messages)) {
  if (payload_bytes < proto::kBeatBytes || payload_bytes % proto::kBeatBytes != 0 ||
      payload_bytes > proto::kMaxFrameBytes - proto::kFixedHeadersBytes) {
    throw std::invalid_argument("Ledger: payload_bytes must be a multiple of 64 in [64, 8896] (got " +
                                std::to_string(payload_bytes) + ")");
  }
  records_.resize(messages_.size());
  proto::ReceiverSet &set = scratch_set();
  for (size_t i = 0; i < messages_.size(); i++) {
    const Message &m = messages_[i];
    MessageRecord &r = records_[i];
    r.message = &m;
    r.wire_id = (uint32_t)m.id;
    set.clear();
    for (uint16_t n : m.receivers) {
      ReceiverOutcome o;
      o.node = n;
      r.receivers.push_back(o);
      set.append(n);
    }
    uint32_t set_bytes = std::min(proto::set_cost(set).best_bytes(), proto::kMaxSetBytes);
    uint32_t room = proto::kMaxFrameBytes - proto::kFixedHeadersBytes - set_bytes;
    r.payload_size = std::min(payload_bytes, room / proto::kBeatBytes * proto::kBeatBytes);
    r.packets = m.bytes == 0 ? 1 : (uint32_t)(((uint64_t)m.bytes + r.payload_size - 1) / r.payload_size);
    if (!index_.emplace(key_of((proto::NodeId)m.sender, r.wire_id), i).second) {
      throw std::invalid_argument("Ledger: message id " + std::to_string(m.id) + " of sender " +
                                  std::to_string(m.sender) + " appears twice (32-bit wire ids)");
    }
  }
}

long Ledger::find(proto::NodeId sender, uint32_t wire_id) const {
  auto it = index_.find(key_of(sender, wire_id));
  return it == index_.end() ? -1 : (long)it->second;
}

long Ledger::receiver_index(const MessageRecord &r, proto::NodeId node) {
  const std::vector<uint16_t> &v = r.message->receivers; // ascending
  auto it = std::lower_bound(v.begin(), v.end(), node);
  return it != v.end() && *it == node ? (long)(it - v.begin()) : -1;
}

void Ledger::mark_settled(size_t i) {
  MessageRecord &r = records_[i];
  if (r.settled) return;
  r.settled = true;
  r.settled_at = sc_core::sc_time_stamp();
  if (++settled_ == records_.size() && all_settled_) all_settled_();
}

// ---- Host --------------------------------------------------------------------------------------

struct Host::Reassembly {
  std::vector<uint16_t> copies; // per packet
  uint32_t held = 0;            // packets held at least once
  uint32_t full_copies = 0;     // min over packets of copies
  bool bad = false;             // some packet's bytes or fields were wrong
  bool acked = false;
  uint32_t nacked_upto = 0; // retransmit: gaps below this sequence were NACKed
};

Host::Host(sc_core::sc_module_name name, HostPort &port, Ledger &ledger, const HostConfig &config)
    : sc_core::sc_module(name), port_(port), ledger_(ledger), cfg_(config), node_(port.node_id()) {
  if (cfg_.window == 0) throw std::invalid_argument("HostConfig.window: must be > 0");
  for (size_t i = 0; i < ledger_.size(); i++) {
    const MessageRecord &r = ledger_.record(i);
    if (r.message->sender != node_) continue;
    mine_.push_back(i);
    unsettled_per_step_[r.message->step]++;
  }
  port_.set_host_sink(this);
  sc_core::sc_spawn([this] { post_loop(); }, "post");
  sc_core::sc_spawn([this] { tx_loop(); }, "tx");
  if (cfg_.message_timeout != sc_core::SC_ZERO_TIME) sc_core::sc_spawn([this] { timeout_loop(); }, "timeout");
}

Host::~Host() = default;

void Host::post_loop() {
  for (size_t idx : mine_) {
    MessageRecord &r = ledger_.record(idx);
    const Message &m = *r.message;
    sc_time release(m.release_ns, sc_core::SC_NS);
    if (sc_core::sc_time_stamp() < release) wait(release - sc_core::sc_time_stamp());
    for (;;) {
      bool earlier_steps_done = true;
      for (const auto &st : unsettled_per_step_)
        if (st.first < m.step && st.second != 0) earlier_steps_done = false;
      if (outstanding_ < cfg_.window && earlier_steps_done) break;
      wait(settled_event_);
    }
    r.posted = true;
    r.posted_at = sc_core::sc_time_stamp();
    outstanding_++;
    sending_.push_back(Sending{idx, 0, 0});
    tx_work_.notify();
    timeouts_.push_back(idx);
    posted_event_.notify();
  }
}

void Host::timeout_loop() {
  for (;;) {
    while (!timeouts_.empty() && ledger_.record(timeouts_.front()).settled) timeouts_.pop_front();
    if (timeouts_.empty()) {
      wait(posted_event_);
      continue;
    }
    size_t idx = timeouts_.front();
    MessageRecord &r = ledger_.record(idx);
    sc_time deadline = r.posted_at + cfg_.message_timeout, now = sc_core::sc_time_stamp();
    if (now < deadline) {
      wait(deadline - now);
      continue;
    }
    for (ReceiverOutcome &o : r.receivers)
      if (!o.acked && !o.gone && (cfg_.retransmit ? !o.given_up : !o.nacked)) o.timed_out = true;
    timeouts_.pop_front();
    settle_if_done(idx);
  }
}

uint32_t Host::copies(size_t index) const {
  const std::vector<uint16_t> &rx = ledger_.record(index).message->receivers; // ascending
  switch (cfg_.transport) {
  case Transport::kUnicast: return (uint32_t)rx.size();
  case Transport::kBier: {
    uint32_t sets = 0, last = 0xFFFFFFFFu;
    for (uint16_t n : rx) {
      if (n / cfg_.bier_bsl != last) sets++;
      last = n / cfg_.bier_bsl;
    }
    return sets;
  }
  case Transport::kFanout: break;
  }
  return 1;
}

bool Host::build_data(size_t index, uint32_t seq, uint32_t copy, Frame &out, uint32_t &payload_len) {
  if (cfg_.transport == Transport::kBier) return build_bier_data(index, seq, copy, out, payload_len);
  const MessageRecord &r = ledger_.record(index);
  const Message &m = *r.message;
  proto::ReceiverSet &set = scratch_set();
  set.clear();
  // kFanout: one frame to the NIC, which replicates; kUnicast: one frame per receiver.
  proto::NodeId to = node_;
  if (cfg_.transport == Transport::kUnicast) {
    to = m.receivers[copy];
    set.append(to);
  } else {
    for (uint16_t n : m.receivers) set.append(n);
  }
  // Every packet but the last carries S bytes (the reassembly rule of proto::data_offset).
  uint32_t s = r.payload_size;
  uint64_t offset = (uint64_t)seq * s;
  uint32_t len = (uint32_t)std::min<uint64_t>(s, m.bytes - offset);
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, node_, node_, r.wire_id, seq, m.bytes);
  if (seq + 1 == r.packets) h.flags = proto::kFlagLast;
  std::vector<uint8_t> payload(len);
  fill_message_bytes(node_, r.wire_id, offset, len, payload.data());
  proto::BuildOptions opt = proto::default_build_options();
  opt.udp_checksum = true; // an endpoint may; relays rewrite and send 0
  std::vector<uint8_t> bytes(proto::kMaxFrameBytes);
  uint32_t flen = 0;
  int err = proto::build_frame(proto::cluster_net_headers(node_, to, node_, r.wire_id), h, set, payload.data(), len,
                               opt, bytes.data(), (uint32_t)bytes.size(), &flen);
  if (err != proto::kOk) return false;
  bytes.resize(flen);
  out = make_frame(std::move(bytes));
  payload_len = len;
  return true;
}

bool Host::build_retx(const Retx &rt, Frame &out, uint32_t &payload_len) {
  const MessageRecord &r = ledger_.record(rt.index);
  const Message &m = *r.message;
  proto::ReceiverSet &set = scratch_set();
  set.clear();
  for (uint16_t n : rt.ids) set.append(n);
  uint32_t s = r.payload_size, seq = rt.next;
  uint64_t offset = (uint64_t)seq * s;
  uint32_t len = (uint32_t)std::min<uint64_t>(s, m.bytes - offset);
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, node_, node_, r.wire_id, seq, m.bytes);
  h.flags = proto::kFlagRetx;
  if (seq + 1 == r.packets) h.flags |= proto::kFlagLast;
  if (rt.probe) h.flags |= proto::kFlagAckReq;
  std::vector<uint8_t> payload(len);
  fill_message_bytes(node_, r.wire_id, offset, len, payload.data());
  proto::BuildOptions opt = proto::default_build_options();
  opt.udp_checksum = true;
  std::vector<uint8_t> bytes(proto::kMaxFrameBytes);
  uint32_t flen = 0;
  int err = proto::build_frame(proto::cluster_net_headers(node_, node_, node_, r.wire_id), h, set, payload.data(), len,
                               opt, bytes.data(), (uint32_t)bytes.size(), &flen);
  if (err != proto::kOk) return false;
  bytes.resize(flen);
  out = make_frame(std::move(bytes));
  payload_len = len;
  return true;
}

bool Host::build_bier_data(size_t index, uint32_t seq, uint32_t copy, Frame &out, uint32_t &payload_len) {
  const MessageRecord &r = ledger_.record(index);
  const Message &m = *r.message;
  const uint32_t bsl = cfg_.bier_bsl;
  // The copy-th SI the receivers touch, and its BitString.
  std::vector<uint8_t> bits(bsl / 8, 0);
  uint32_t sets = 0, last = 0xFFFFFFFFu, si = 0;
  bool found = false;
  proto::NodeId first = 0; // the copy's lowest receiver
  for (uint16_t n : m.receivers) {
    if (n / bsl != last) {
      sets++;
      last = n / bsl;
    }
    if (sets != copy + 1) continue;
    if (!found) first = n;
    found = true;
    si = last;
    proto::bier_set_bit(bits.data(), bsl, n % bsl);
  }
  if (!found) return false;
  uint32_t s = r.payload_size;
  uint64_t offset = (uint64_t)seq * s;
  uint32_t len = (uint32_t)std::min<uint64_t>(s, m.bytes - offset);
  // After the BitString: the Fanout header without a set (the BitString is the set), the data.
  std::vector<uint8_t> inner(proto::kFanoutHeaderBytes + len);
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, node_, node_, r.wire_id, seq, m.bytes);
  if (seq + 1 == r.packets) h.flags = proto::kFlagLast;
  proto::write_fanout_header(h, inner.data());
  fill_message_bytes(node_, r.wire_id, offset, len, inner.data() + proto::kFanoutHeaderBytes);
  uint8_t dst[6], src[6];
  proto::cluster_mac(first, dst); // BIER switches forward by EtherType; a BFER sees its own MAC
  proto::cluster_mac(node_, src);
  proto::BierHeader bh = proto::make_bier_header(si, bsl, node_, proto::entropy_port(node_, r.wire_id));
  std::vector<uint8_t> bytes(proto::kMaxFrameBytes);
  uint32_t flen = 0;
  if (!proto::build_bier_frame(dst, src, bh, bits.data(), inner.data(), (uint32_t)inner.size(), bytes.data(),
                               (uint32_t)bytes.size(), &flen))
    return false;
  bytes.resize(flen);
  out = make_frame(std::move(bytes));
  payload_len = len;
  return true;
}

void Host::tx_loop() {
  std::optional<Frame> next;
  bool next_is_ack = false;
  uint32_t next_payload = 0;
  for (;;) {
    if (!next) {
      if (!acks_.empty()) {
        next = std::move(acks_.front());
        acks_.pop_front();
        next_is_ack = true;
      } else if (!retx_.empty()) {
        Retx &rt = retx_.front();
        Frame f;
        if (build_retx(rt, f, next_payload)) {
          next = std::move(f);
          next_is_ack = false;
          MessageRecord &r = ledger_.record(rt.index);
          r.retx_frames++;
          r.retx_payload_bytes += next_payload;
        } else {
          stats_.build_errors++;
        }
        if (++rt.next >= rt.end) retx_.pop_front();
        continue;
      } else if (!sending_.empty()) {
        // Packet by packet; each packet's copies (one per receiver or BIER set) back to back.
        Sending &sd = sending_.front();
        Frame f;
        if (build_data(sd.index, sd.next_packet, sd.next_copy, f, next_payload)) {
          next = std::move(f);
          next_is_ack = false;
        } else {
          stats_.build_errors++;
        }
        if (++sd.next_copy >= copies(sd.index)) {
          sd.next_copy = 0;
          if (++sd.next_packet >= ledger_.record(sd.index).packets) sending_.pop_front();
        }
        continue;
      } else {
        wait(tx_work_);
        continue;
      }
    }
    Frame copy = *next; // host_send takes the frame only when it returns true
    copy.born = sc_core::sc_time_stamp();
    size_t n = copy.bytes.size();
    if (port_.host_send(std::move(copy))) {
      if (next_is_ack) {
        stats_.acks_sent++;
        stats_.ack_bytes_sent += n;
      } else {
        stats_.data_frames_sent++;
        stats_.data_bytes_sent += n;
        stats_.data_payload_bytes_sent += next_payload;
      }
      next.reset();
    } else {
      wait(port_.host_tx_ready());
    }
  }
}

void Host::receive(Frame f) {
  const uint8_t *p = f.bytes.data();
  uint32_t len = (uint32_t)f.bytes.size();
  proto::ParsedPacket pk;
  int err = proto::parse_frame(p, len, proto::default_parse_config(), pk, (proto::ReceiverSet *)nullptr);
  if (err == proto::kNotFanout) {
    if (cfg_.transport == Transport::kBier && len >= proto::kEthHeaderBytes &&
        proto::load_be16(p + proto::kEthTypeOff) == proto::kEtherTypeBier) {
      on_bier(p, len);
      return;
    }
    stats_.non_fanout++;
    return;
  }
  if (err != proto::kOk) {
    stats_.parse_errors++;
    return;
  }
  switch (pk.hdr.type) {
  case proto::kTypeData:
    stats_.data_frames++;
    on_data(pk.hdr, p + pk.payload_offset, pk.payload_len);
    break;
  case proto::kTypeAck: on_feedback(p, len, true); break;
  case proto::kTypeNack: on_feedback(p, len, false); break;
  default: stats_.probes++; break;
  }
}

void Host::on_bier(const uint8_t *frame, uint32_t len) {
  proto::BierView v;
  if (proto::parse_bier_frame(frame, len, v) != proto::kBierOk || v.hdr.proto != proto::kBierProtoFanout ||
      v.payload_len < proto::kFanoutHeaderBytes) {
    stats_.parse_errors++;
    return;
  }
  proto::FanoutHeader h = proto::read_fanout_header(frame + v.payload_offset);
  if (h.version != proto::kProtocolVersion || h.type != proto::kTypeData || h.set_encoding != proto::kSetNone ||
      h.set_len != 0) {
    stats_.parse_errors++;
    return;
  }
  stats_.data_frames++;
  // A BFER takes a copy only when its own bit is set (RFC 8279).
  if (v.si != node_ / v.hdr.bsl || !proto::bier_test_bit(frame + v.bitstring_offset, v.hdr.bsl, node_ % v.hdr.bsl)) {
    stats_.bier_not_addressed++;
    return;
  }
  on_data(h, frame + v.payload_offset + proto::kFanoutHeaderBytes, v.payload_len - proto::kFanoutHeaderBytes);
}

void Host::on_data(const proto::FanoutHeader &h, const uint8_t *payload, uint32_t payload_len) {
  long idx = ledger_.find(h.sender, h.message_id);
  if (idx < 0) {
    stats_.unknown_message++;
    return;
  }
  MessageRecord &r = ledger_.record((size_t)idx);
  long ri = Ledger::receiver_index(r, node_);
  if (ri < 0) {
    r.wrong_receiver_packets++;
    if (std::find(r.wrong_receivers.begin(), r.wrong_receivers.end(), node_) == r.wrong_receivers.end())
      r.wrong_receivers.push_back(node_);
    return;
  }
  ReceiverOutcome &out = r.receivers[(size_t)ri];
  std::unique_ptr<Reassembly> &ra = rx_[(size_t)idx];
  if (!ra) {
    ra = std::make_unique<Reassembly>();
    ra->copies.assign(r.packets, 0);
  }
  // Fields against the message as posted, then every byte.
  uint32_t offset = proto::data_offset(h, payload_len);
  bool ok = h.length == r.message->bytes && proto::packets_in_message(h, payload_len) == r.packets &&
            h.sequence < r.packets && (uint64_t)offset + payload_len <= r.message->bytes;
  if (ok) {
    std::vector<uint8_t> want(payload_len);
    fill_message_bytes(h.sender, h.message_id, offset, payload_len, want.data());
    ok = std::memcmp(want.data(), payload, payload_len) == 0;
  }
  if (!ok) {
    r.data_errors++;
    ra->bad = true;
    return;
  }
  // retransmit: a gap (a packet after missing ones; packets of a message arrive in order on
  // this fabric) is NACKed at once, each gap once, so only the receivers that miss data get a
  // retransmission -- the silent timeouts higher up would resend the whole hull.
  // A probe (ACK_REQ) asks for everything missing, from the first gap to the end.
  if (cfg_.retransmit && (h.flags & proto::kFlagAckReq) && ra->held < r.packets) {
    uint32_t first = 0;
    while (first < r.packets && ra->copies[first] > 0) first++;
    if (first < r.packets && first != h.sequence) {
      send_feedback((size_t)idx, proto::kTypeNack, first, r.packets - first);
    }
    ra->nacked_upto = std::max(ra->nacked_upto, h.sequence);
  }
  if (cfg_.retransmit && cfg_.transport == Transport::kFanout && h.sequence > ra->nacked_upto) {
    uint32_t first = ra->nacked_upto;
    while (first < h.sequence && ra->copies[first] > 0) first++;
    if (first < h.sequence) {
      send_feedback((size_t)idx, proto::kTypeNack, first, h.sequence - first);
    }
    ra->nacked_upto = h.sequence;
  }
  uint16_t &c = ra->copies[h.sequence];
  // A retransmission of the last packet to a receiver that holds the whole message: its ACK was
  // lost (e.g. with a relay that died); acknowledge again.
  if (c > 0 && ra->acked && (h.flags & proto::kFlagRetx) && (h.flags & proto::kFlagLast)) send_ack((size_t)idx);
  if (c++ == 0) {
    ra->held++;
  } else {
    out.duplicate_packets++;
    uint32_t m = *std::min_element(ra->copies.begin(), ra->copies.end());
    if (m > ra->full_copies) {
      r.duplicate_messages += m - ra->full_copies;
      ra->full_copies = m;
    }
  }
  if (ra->held == r.packets && ra->full_copies == 0) {
    ra->full_copies = 1;
    if (!ra->bad) {
      out.delivered = true;
      out.delivered_at = sc_core::sc_time_stamp();
    }
    // A receiver whose data was wrong does not acknowledge: the sender sees it as missing.
    if (!ra->bad && !ra->acked) {
      ra->acked = true;
      send_ack((size_t)idx);
    }
  }
}

void Host::send_ack(size_t index) {
  send_feedback(index, proto::kTypeAck, ledger_.record(index).packets, 1);
}

void Host::send_feedback(size_t index, uint8_t type, uint32_t sequence, uint32_t length) {
  const MessageRecord &r = ledger_.record(index);
  proto::NodeId sender = (proto::NodeId)r.message->sender;
  proto::FanoutHeader h = proto::make_header(type, sender, node_, r.wire_id, sequence, length);
  proto::BasicReceiverSet<1> self;
  self.append(node_);
  proto::BuildOptions opt = proto::default_build_options();
  opt.encoding = proto::kSetRanges; // feedback carries the covered ids as ranges
  opt.udp_checksum = true;
  std::vector<uint8_t> bytes(proto::kFixedHeadersBytes + 16);
  uint32_t flen = 0;
  // On a Fanout NIC the ACK goes to the NIC's aggregator; the baselines' receivers ACK the
  // sender directly.
  proto::NodeId to = cfg_.transport == Transport::kFanout ? node_ : sender;
  int err = proto::build_frame(proto::cluster_net_headers(node_, to, sender, r.wire_id), h, self, nullptr, 0, opt,
                               bytes.data(), (uint32_t)bytes.size(), &flen);
  if (err != proto::kOk) {
    stats_.build_errors++;
    return;
  }
  bytes.resize(flen);
  acks_.push_back(make_frame(std::move(bytes)));
  tx_work_.notify();
}

void Host::on_feedback(const uint8_t *frame, uint32_t len, bool ack) {
  (ack ? stats_.ack_frames : stats_.nack_frames)++;
  proto::ParsedPacket pk;
  proto::ReceiverSet &set = scratch_set();
  proto::parse_frame(frame, len, proto::default_parse_config(), pk, &set);
  const proto::FanoutHeader &h = pk.hdr;
  long idx = ledger_.find(h.sender, h.message_id);
  if (idx < 0) {
    stats_.unknown_message++;
    return;
  }
  if (h.sender != node_) {
    stats_.feedback_not_mine++;
    return;
  }
  MessageRecord &r = ledger_.record((size_t)idx);
  (ack ? r.ack_frames : r.nack_frames)++;
  // A silent report or a missing tail (length 0) is answered with a probe first: the last packet
  // again, with ACK_REQ. A receiver that holds everything (its ACK was lost) acknowledges; one
  // that misses packets NACKs exactly those. Only a NACK with a count resends data.
  const bool probe = !ack && ((pk.hdr.flags & proto::kFlagSilent) || pk.hdr.length == 0);
  static std::unique_ptr<proto::ReceiverSet> retx_scratch(new proto::ReceiverSet);
  proto::ReceiverSet &retx_ids = *retx_scratch;
  retx_ids.clear();
  for (uint32_t i = 0; i < set.range_count(); i++) {
    for (uint32_t id = set.range(i).first; id <= set.range(i).last; id++) {
      long ri = Ledger::receiver_index(r, (proto::NodeId)id);
      if (ri < 0) {
        if (ack) r.ack_foreign_ids++;
        continue;
      }
      ReceiverOutcome &o = r.receivers[(size_t)ri];
      if (ack) {
        if (h.sequence >= r.packets) o.acked = true; // cumulative: every packet held
      } else if (h.flags & proto::kFlagGone) {
        if (!o.acked) o.gone = true; // down: named in the completion, never retransmitted to
      } else {
        o.nacked = true;
        if (h.flags & proto::kFlagSilent) o.silent = true;
        if (cfg_.retransmit && !o.acked && !o.gone && !o.given_up) {
          if (o.retransmits + o.probes >= cfg_.max_retransmits) {
            o.given_up = true;
          } else {
            (probe ? o.probes : o.retransmits)++;
            retx_ids.append((proto::NodeId)id);
          }
        }
      }
    }
  }
  if (!retx_ids.empty()) {
    uint32_t first = probe ? r.packets - 1 : std::min(h.sequence, r.packets - 1);
    uint32_t end = probe ? r.packets : (uint32_t)std::min<uint64_t>((uint64_t)h.sequence + h.length, r.packets);
    if (end <= first) end = first + 1;
    schedule_retx((size_t)idx, first, end, retx_ids, probe);
  }
  // Complete: every receiver ACKed or named gone (the completion names the gone ones).
  if (!r.completed &&
      std::all_of(r.receivers.begin(), r.receivers.end(), [](const ReceiverOutcome &o) { return o.acked || o.gone; })) {
    r.completed = true;
    r.completed_at = sc_core::sc_time_stamp();
  }
  settle_if_done((size_t)idx);
}

void Host::schedule_retx(size_t index, uint32_t first, uint32_t end, const proto::ReceiverSet &ids, bool probe) {
  Retx rt{index, first, end, {}, probe};
  for (uint32_t i = 0; i < ids.range_count(); i++)
    for (uint32_t id = ids.range(i).first; id <= ids.range(i).last; id++) rt.ids.push_back((uint16_t)id);
  retx_.push_back(std::move(rt));
  tx_work_.notify();
}

void Host::settle_if_done(size_t index) {
  MessageRecord &r = ledger_.record(index);
  if (r.settled || !r.posted) return;
  bool retx = cfg_.retransmit;
  if (!std::all_of(r.receivers.begin(), r.receivers.end(), [retx](const ReceiverOutcome &o) {
        return o.acked || o.gone || o.timed_out || (retx ? o.given_up : o.nacked);
      }))
    return;
  outstanding_--;
  unsettled_per_step_[r.message->step]--;
  settled_event_.notify();
  ledger_.mark_settled(index);
}

} // namespace sim
} // namespace fanout
