// fanout-dp's telemetry commands (telemetry.hpp).
#include "telemetry.hpp"

#include <rte_telemetry.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace fanout_dp {

namespace {

std::atomic<const TelemetrySource *> g_src{nullptr};

int cmd_stats(const char *, const char *, rte_tel_data *d) {
  const TelemetrySource *src = g_src.load(std::memory_order_acquire);
  if (!src) return -1;
  Stats s;
  uint64_t freed = 0;
  snapshot_sum(*src, &s, &freed);
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "node", src->node);
  rte_tel_data_add_dict_u64(d, "engines", src->engines.size());
  for (const Counter &c : counters(s)) rte_tel_data_add_dict_u64(d, c.name, c.value);
  uint64_t rx = 0, tx = 0;
  for (size_t i = 0; i < src->ports.size(); i++) {
    rx += s.port[i].rx_packets;
    tx += s.port[i].tx_packets;
  }
  rte_tel_data_add_dict_u64(d, "rx_packets", rx);
  rte_tel_data_add_dict_u64(d, "tx_packets", tx);
  rte_tel_data_add_dict_u64(d, "host_frames_freed", freed);
  return 0;
}

int cmd_parse_errors(const char *, const char *, rte_tel_data *d) {
  const TelemetrySource *src = g_src.load(std::memory_order_acquire);
  if (!src) return -1;
  Stats s;
  uint64_t freed = 0;
  snapshot_sum(*src, &s, &freed);
  rte_tel_data_start_dict(d);
  for (const Counter &c : parse_error_counters(s)) rte_tel_data_add_dict_u64(d, c.name, c.value);
  return 0;
}

// No parameter: "port<id>_<counter>" for every port. Parameter: one DPDK port id.
int cmd_ports(const char *, const char *params, rte_tel_data *d) {
  const TelemetrySource *src = g_src.load(std::memory_order_acquire);
  if (!src) return -1;
  Stats s;
  uint64_t freed = 0;
  snapshot_sum(*src, &s, &freed);
  bool one = params && *params;
  long want = one ? std::strtol(params, nullptr, 10) : -1;
  bool found = !one;
  rte_tel_data_start_dict(d);
  for (size_t i = 0; i < src->ports.size(); i++) {
    if (one && want != (long)src->ports[i]) continue;
    found = true;
    for (const Counter &c : port_counters(s.port[i])) {
      std::string key = one ? std::string(c.name) : "port" + std::to_string(src->ports[i]) + "_" + c.name;
      rte_tel_data_add_dict_u64(d, key.c_str(), c.value);
    }
  }
  return found ? 0 : -1;
}

} // namespace

void snapshot_sum(const TelemetrySource &src, Stats *sum, uint64_t *host_frames_freed) {
  *sum = Stats();
  *host_frames_freed = 0;
  for (const StatsSnapshot *e : src.engines) {
    Stats x;
    uint64_t f = 0;
    e->read(&x, &f);
    add(sum, x);
    *host_frames_freed += f;
  }
}

int register_telemetry(const TelemetrySource *src) {
  g_src.store(src, std::memory_order_release);
  int rc = rte_telemetry_register_cmd("/fanout/stats", cmd_stats,
                                      "Every fanout-dp counter summed over engines. Takes no parameters");
  if (rc == 0)
    rc = rte_telemetry_register_cmd("/fanout/parse_errors", cmd_parse_errors,
                                    "Malformed frames dropped, by parse error name. Takes no parameters");
  if (rc == 0)
    rc = rte_telemetry_register_cmd("/fanout/ports", cmd_ports,
                                    "Per-port counters as port<id>_<counter>. Parameter: a DPDK port id (optional)");
  return rc;
}

} // namespace fanout_dp
