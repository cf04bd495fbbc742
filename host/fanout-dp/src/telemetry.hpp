// fanout-dp's DPDK telemetry commands (docs/fanout-dp.md): /fanout/stats, /fanout/parse_errors,
// /fanout/ports. Callbacks run on DPDK's telemetry thread and read only the engines' published
// snapshots (stats.hpp), never an Engine.
#pragma once

#include "stats.hpp"

#include <cstdint>
#include <vector>

namespace fanout_dp {

struct TelemetrySource {
  uint16_t node = 0;
  std::vector<uint16_t> ports;                // DPDK port ids, by port index
  std::vector<const StatsSnapshot *> engines; // one per lcore
};

// Registers the commands; `src` must outlive the process (the telemetry thread may call at any
// time). Returns 0 or the first negative error of rte_telemetry_register_cmd.
int register_telemetry(const TelemetrySource *src);

// Sum of every engine's latest snapshot.
void snapshot_sum(const TelemetrySource &src, Stats *sum, uint64_t *host_frames_freed);

} // namespace fanout_dp
