// fanout-dp's counters: the Engine's Stats listed by name (final output, periodic line,
// telemetry), summed over engines, and published from each lcore to other threads through a
// seqlock of relaxed atomic words (no locks on the fast path).
#pragma once

#include "fanout/dp/engine.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace fanout_dp {

using fanout::dp::Stats;

struct Counter {
  const char *group; // input, replication, feedback, resources, aggregator
  const char *name;  // unique over every group (aggregator fields carry the prefix agg_)
  uint64_t value;
};

// Every counter of Stats except per-port counters and parse errors, grouped, in a fixed order.
std::vector<Counter> counters(const Stats &s);
// parse_errors by proto::error_name (malformed classes only: not kOk / kNotFanout).
std::vector<Counter> parse_error_counters(const Stats &s);
// One port's counters (group "port"): rx_packets ... down_events, up (0/1).
std::vector<Counter> port_counters(const fanout::dp::PortStats &p);
// sum += x (port counters by port index; `up` = every engine sees the port up).
void add(Stats *sum, const Stats &x);

// One writer (the engine's lcore), any number of readers (telemetry thread, main lcore).
class StatsSnapshot {
 public:
  StatsSnapshot();
  void publish(const Stats &s, uint64_t host_frames_freed);
  // Consistent copy (retries while a publish is under way).
  void read(Stats *s, uint64_t *host_frames_freed) const;

 private:
  static_assert(std::is_trivially_copyable<Stats>::value, "Stats is copied word by word");
  static const size_t kWords = (sizeof(Stats) + 7) / 8 + 1; // + host_frames_freed
  std::atomic<uint32_t> seq_{0};
  std::array<std::atomic<uint64_t>, kWords> words_;
};

// Final stats: one line per counter group, "fanout-dp: stats <group>: name=value ...".
std::string format_final(const Stats &s, const std::vector<uint16_t> &ports, uint64_t host_frames_freed);
// The periodic line.
std::string format_line(double t_s, const Stats &s, uint64_t host_frames_freed);

} // namespace fanout_dp
