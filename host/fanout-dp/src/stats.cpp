// fanout-dp's counters (stats.hpp).
#include "stats.hpp"

#include <cstring>
#include <sstream>

namespace fanout_dp {

namespace proto = fanout::proto;

// Stats fields: group, field.
#define FANOUT_DP_COUNTERS(X)                                                                                          \
  X(input, data_in)                                                                                                    \
  X(input, ack_in)                                                                                                     \
  X(input, nack_in)                                                                                                    \
  X(input, probe_in)                                                                                                   \
  X(input, not_fanout)                                                                                                 \
  X(input, mac_filtered)                                                                                               \
  X(input, moved_out)                                                                                                  \
  X(input, moved_in)                                                                                                   \
  X(input, move_full)                                                                                                  \
  X(replication, copies)                                                                                               \
  X(replication, local_deliveries)                                                                                     \
  X(replication, unroutable_copies)                                                                                    \
  X(replication, looped_ids)                                                                                           \
  X(replication, unroutable_ids)                                                                                       \
  X(replication, hops_exhausted)                                                                                       \
  X(replication, port_down_copies)                                                                                     \
  X(replication, plan_overflow)                                                                                        \
  X(feedback, acks_merged)                                                                                             \
  X(feedback, acks_forwarded)                                                                                          \
  X(feedback, nacks_forwarded)                                                                                         \
  X(feedback, silent_reports)                                                                                          \
  X(feedback, feedback_to_host)                                                                                        \
  X(feedback, feedback_unroutable)                                                                                     \
  X(feedback, feedback_undecodable)                                                                                    \
  X(resources, host_queue_full)                                                                                        \
  X(resources, mbuf_exhausted)                                                                                         \
  X(resources, header_room)                                                                                            \
  X(resources, payload_copies)                                                                                         \
  X(resources, host_tx_rejected)

#define FANOUT_DP_AGG_COUNTERS(X)                                                                                      \
  X(armed)                                                                                                             \
  X(arm_overflow)                                                                                                      \
  X(children_overflow)                                                                                                 \
  X(acks_in)                                                                                                           \
  X(acks_merged)                                                                                                       \
  X(acks_duplicate)                                                                                                    \
  X(acks_emitted)                                                                                                      \
  X(acks_passed)                                                                                                       \
  X(nacks_in)                                                                                                          \
  X(nacks_forwarded)                                                                                                   \
  X(nacks_suppressed)                                                                                                  \
  X(silent_reported)                                                                                                   \
  X(gone_reported)                                                                                                     \
  X(entries_completed)                                                                                                 \
  X(entries_in_use)

#define FANOUT_DP_PORT_COUNTERS(X)                                                                                     \
  X(rx_packets)                                                                                                        \
  X(rx_bytes)                                                                                                          \
  X(tx_packets)                                                                                                        \
  X(tx_bytes)                                                                                                          \
  X(tx_full)                                                                                                           \
  X(probes_sent)                                                                                                       \
  X(down_events)

std::vector<Counter> counters(const Stats &s) {
  std::vector<Counter> out;
#define X(g, f) out.push_back(Counter{#g, #f, (uint64_t)s.f});
  FANOUT_DP_COUNTERS(X)
#undef X
  out.insert(out.begin() + 5, Counter{"input", "malformed", s.malformed()}); // after not_fanout
  // Hostile-input policy refusals, by proto::PolicyCode (policy_ + proto::policy_code_name).
  static const char *const kPolicyNames[proto::kPolicyCodeCount] = {
      "policy_ok", "policy_too_many_receivers", "policy_unknown_id", "policy_loop", "policy_rate_limited"};
  for (int c = proto::kPolicyOk + 1; c < proto::kPolicyCodeCount; c++)
    out.push_back(Counter{"policy", kPolicyNames[c], s.policy_drops[(size_t)c]});
  // Authentication: received frames by proto::AuthCode (proto::auth_code_name), frames signed.
  for (int c = proto::kAuthOk; c < proto::kAuthCodeCount; c++)
    out.push_back(Counter{"auth", proto::auth_code_name(c), s.auth[(size_t)c]});
  out.push_back(Counter{"auth", "auth_signed", s.auth_signed});
#define X(f) out.push_back(Counter{"aggregator", "agg_" #f, (uint64_t)s.aggregator.f});
  FANOUT_DP_AGG_COUNTERS(X)
#undef X
  return out;
}

std::vector<Counter> parse_error_counters(const Stats &s) {
  std::vector<Counter> out;
  for (int e = proto::kNotFanout + 1; e < proto::kErrorCount; e++)
    out.push_back(Counter{"parse_errors", proto::error_name(e), s.parse_errors[(size_t)e]});
  return out;
}

std::vector<Counter> port_counters(const fanout::dp::PortStats &p) {
  std::vector<Counter> out;
#define X(f) out.push_back(Counter{"port", #f, p.f});
  FANOUT_DP_PORT_COUNTERS(X)
#undef X
  out.push_back(Counter{"port", "up", p.up ? 1u : 0u});
  return out;
}

void add(Stats *sum, const Stats &x) {
#define X(g, f) sum->f += x.f;
  FANOUT_DP_COUNTERS(X)
#undef X
#define X(f) sum->aggregator.f += x.aggregator.f;
  FANOUT_DP_AGG_COUNTERS(X)
#undef X
  for (size_t i = 0; i < sum->parse_errors.size(); i++) sum->parse_errors[i] += x.parse_errors[i];
  for (size_t i = 0; i < sum->policy_drops.size(); i++) sum->policy_drops[i] += x.policy_drops[i];
  for (size_t i = 0; i < sum->auth.size(); i++) sum->auth[i] += x.auth[i];
  sum->auth_signed += x.auth_signed;
  for (size_t i = 0; i < sum->port.size(); i++) {
#define X(f) sum->port[i].f += x.port[i].f;
    FANOUT_DP_PORT_COUNTERS(X)
#undef X
    sum->port[i].up = sum->port[i].up && x.port[i].up;
  }
}

StatsSnapshot::StatsSnapshot() {
  for (auto &w : words_) w.store(0, std::memory_order_relaxed);
  Stats zero;
  publish(zero, 0);
}

void StatsSnapshot::publish(const Stats &s, uint64_t host_frames_freed) {
  uint64_t buf[kWords] = {};
  std::memcpy(buf, &s, sizeof(Stats));
  buf[kWords - 1] = host_frames_freed;
  uint32_t q = seq_.load(std::memory_order_relaxed);
  seq_.store(q + 1, std::memory_order_relaxed); // odd: writing
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i < kWords; i++) words_[i].store(buf[i], std::memory_order_relaxed);
  seq_.store(q + 2, std::memory_order_release);
}

void StatsSnapshot::read(Stats *s, uint64_t *host_frames_freed) const {
  uint64_t buf[kWords];
  for (;;) {
    uint32_t q0 = seq_.load(std::memory_order_acquire);
    if (q0 & 1u) continue;
    for (size_t i = 0; i < kWords; i++) buf[i] = words_[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) == q0) break;
  }
  std::memcpy(static_cast<void *>(s), buf, sizeof(Stats));
  *host_frames_freed = buf[kWords - 1];
}

std::string format_final(const Stats &s, const std::vector<uint16_t> &ports, uint64_t host_frames_freed) {
  std::ostringstream o;
  const char *group = nullptr;
  for (const Counter &c : counters(s)) {
    if (!group || std::strcmp(group, c.group) != 0) {
      if (group) o << "\n";
      group = c.group;
      o << "fanout-dp: stats " << group << ":";
    }
    o << " " << c.name << "=" << c.value;
  }
  o << "\nfanout-dp: stats parse_errors:";
  for (const Counter &c : parse_error_counters(s)) o << " " << c.name << "=" << c.value;
  for (size_t i = 0; i < ports.size(); i++) {
    o << "\nfanout-dp: stats port " << ports[i] << ":";
    for (const Counter &c : port_counters(s.port[i])) o << " " << c.name << "=" << c.value;
  }
  o << "\nfanout-dp: stats daemon: host_frames_freed=" << host_frames_freed << "\n";
  return o.str();
}

std::string format_line(double t_s, const Stats &s, uint64_t host_frames_freed) {
  uint64_t rx = 0, tx = 0, full = 0;
  for (const auto &p : s.port) {
    rx += p.rx_packets;
    tx += p.tx_packets;
    full += p.tx_full;
  }
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << "fanout-dp: t=" << t_s << "s rx=" << rx << " tx=" << tx << " data_in=" << s.data_in << " copies=" << s.copies
    << " local=" << s.local_deliveries << " acks_fwd=" << s.acks_forwarded << " nacks_fwd=" << s.nacks_forwarded
    << " malformed=" << s.malformed() << " tx_full=" << full << " mbuf_exhausted=" << s.mbuf_exhausted
    << " host_freed=" << host_frames_freed << "\n";
  return o.str();
}

} // namespace fanout_dp
