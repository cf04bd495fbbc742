// fanout-dp's own options (after EAL's arguments and `--`), parsed without DPDK.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fanout_dp {

// One --route entry: ids lo..hi (lo == hi for a single id) through DPDK port `port`.
struct RouteRange {
  uint16_t lo = 0, hi = 0, port = 0;
  std::string text; // as written, for error messages
};

struct Options {
  bool has_node = false;
  uint16_t node = 0;
  std::string cluster;
  bool port_mode = false;
  uint32_t fanout = 0;                // 0: the cluster file's transport.fanout
  std::vector<uint16_t> ports;        // empty: every DPDK port (at most 4)
  std::vector<RouteRange> routes;     // --route entries as given (no two overlap)
  std::map<uint16_t, uint16_t> route; // the same expanded: node id -> DPDK port (tree: next hops;
                                      // port mode: the port table, every id behind each port)
  std::map<uint16_t, uint16_t> peers; // port mode --peer: DPDK port -> Fanout node at its other end
  uint32_t heartbeat_us = 0;
  bool has_silent_timeout = false;
  uint32_t silent_timeout_us = 0; // default: the cluster file's transport.silent_timeout_us
  // Hostile-input policy (0: no limit; not given: the cluster file's transport.max_receivers,
  // rate_mbps, rate_burst_bytes, which default to no limit).
  bool has_max_receivers = false, has_rate = false, has_rate_burst = false;
  uint32_t max_receivers = 0;
  uint32_t rate_mbps = 0;
  uint32_t rate_burst_bytes = 0;
  // Authentication (--auth-key HEX, --auth require|accept); not given: the cluster file's
  // transport.auth_key / transport.auth.
  bool has_auth_key = false, has_auth = false;
  uint8_t auth_key[16] = {};
  bool auth_require = true;
  double stats_interval_s = 0; // 0: no periodic line
  double duration_s = 0;       // 0: until SIGINT/SIGTERM
};

// argv: the words after `--` (not the program name). On error returns false and sets *error to
// one line "fanout-dp: --flag: problem (got 'x')".
bool parse_options(const std::vector<std::string> &args, Options *out, std::string *error);

const char *usage();

} // namespace fanout_dp
