// fanout-dp's option parser (options.hpp).
#include "options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace fanout_dp {

namespace {

std::string fail(const std::string &flag, const std::string &problem, const std::string &got) {
  return "fanout-dp: " + flag + ": " + problem + " (got '" + got + "')";
}

bool to_u64(const std::string &s, uint64_t max, uint64_t *v) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  errno = 0;
  unsigned long long x = std::strtoull(s.c_str(), nullptr, 10);
  if (errno != 0 || x > max) return false;
  *v = x;
  return true;
}

bool to_seconds(const std::string &s, double *v) {
  if (s.empty()) return false;
  char *end = nullptr;
  errno = 0;
  double x = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(x) || x <= 0 || x > 1e7) return false;
  *v = x;
  return true;
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

} // namespace

const char *usage() {
  return "usage: fanout-dp [EAL args] -- --node N --cluster FILE [--mode tree|port] [--fanout F] [--ports 0,1]\n"
         "                 [--route ID[-ID]=PORT,...] [--peer PORT=ID,...] [--heartbeat-us N]\n"
         "                 [--silent-timeout-us N] [--max-receivers N] [--rate-mbps R] [--rate-burst-bytes B]\n"
         "                 [--auth-key HEX32] [--auth require|accept] [--stats-interval-s S] [--duration-s S]\n"
         "       tree mode: --route ID=PORT: next hop ID through PORT (others: the first port)\n"
         "       port mode: --route (required): every node id behind each port; --peer: the Fanout node\n"
         "                  at the other end of a port (default: the port's only routed id)\n";
}

bool parse_options(const std::vector<std::string> &args, Options *o, std::string *error) {
  *o = Options();
  std::string peer_value, fanout_value; // as given, for the mode checks at the end
  for (size_t i = 0; i < args.size(); i++) {
    std::string flag = args[i], value;
    bool inline_value = false;
    size_t eq = flag.find('=');
    if (flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    static const char *known[] = {"--node",          "--cluster",      "--mode",
                                  "--fanout",        "--ports",        "--route",
                                  "--peer",          "--heartbeat-us", "--silent-timeout-us",
                                  "--max-receivers", "--rate-mbps",    "--rate-burst-bytes",
                                  "--auth-key",      "--auth",         "--stats-interval-s",
                                  "--duration-s"};
    bool ok = false;
    for (const char *k : known) ok = ok || flag == k;
    if (!ok) {
      *error = fail(flag, "unknown option (see usage: fanout-dp [EAL args] -- --node N --cluster FILE ...)", args[i]);
      return false;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        *error = fail(flag, "needs a value", "");
        return false;
      }
      value = args[++i];
    }
    uint64_t v = 0;
    if (flag == "--node") {
      if (!to_u64(value, 65535, &v)) {
        *error = fail(flag, "a node id 0..65535", value);
        return false;
      }
      o->has_node = true;
      o->node = (uint16_t)v;
    } else if (flag == "--cluster") {
      if (value.empty()) {
        *error = fail(flag, "a cluster file path", value);
        return false;
      }
      o->cluster = value;
    } else if (flag == "--mode") {
      if (value == "tree") {
        o->port_mode = false;
      } else if (value == "port") {
        o->port_mode = true;
      } else {
        *error = fail(flag, "tree or port", value);
        return false;
      }
    } else if (flag == "--fanout") {
      if (!to_u64(value, 64, &v) || v < 2) {
        *error = fail(flag, "a fan-out 2..64", value);
        return false;
      }
      o->fanout = (uint32_t)v;
      fanout_value = value;
    } else if (flag == "--ports") {
      o->ports.clear();
      for (const std::string &p : split(value, ',')) {
        if (!to_u64(p, 65535, &v)) {
          *error = fail(flag, "a comma-separated list of DPDK port ids", value);
          return false;
        }
        for (uint16_t q : o->ports)
          if (q == v) {
            *error = fail(flag, "port " + p + " listed twice", value);
            return false;
          }
        o->ports.push_back((uint16_t)v);
      }
      if (o->ports.empty() || o->ports.size() > 4) {
        *error = fail(flag, "1 to 4 DPDK port ids", value);
        return false;
      }
    } else if (flag == "--route") {
      for (const std::string &r : split(value, ',')) {
        size_t e = r.find('=');
        uint64_t lo = 0, hi = 0, port = 0;
        std::string ids = e == std::string::npos ? r : r.substr(0, e);
        size_t dash = ids.find('-');
        bool ok_ids = dash == std::string::npos
                          ? to_u64(ids, 65535, &lo) && to_u64(ids, 65535, &hi)
                          : to_u64(ids.substr(0, dash), 65535, &lo) && to_u64(ids.substr(dash + 1), 65535, &hi);
        if (e == std::string::npos || !ok_ids || !to_u64(r.substr(e + 1), 65535, &port)) {
          *error = fail(flag, "a comma-separated list of ID=PORT or FIRST-LAST=PORT (node ids = DPDK port id)", value);
          return false;
        }
        if (lo > hi) {
          *error = fail(flag, "range '" + ids + "' runs backwards (FIRST-LAST with FIRST <= LAST)", value);
          return false;
        }
        for (const RouteRange &q : o->routes)
          if (lo <= q.hi && q.lo <= hi) {
            *error = fail(flag, "'" + r + "' overlaps '" + q.text + "' (each node id is routed once)", value);
            return false;
          }
        RouteRange rr;
        rr.lo = (uint16_t)lo;
        rr.hi = (uint16_t)hi;
        rr.port = (uint16_t)port;
        rr.text = r;
        o->routes.push_back(rr);
        for (uint64_t id = lo; id <= hi; id++) o->route[(uint16_t)id] = (uint16_t)port;
      }
    } else if (flag == "--peer") {
      peer_value = value;
      for (const std::string &r : split(value, ',')) {
        size_t e = r.find('=');
        uint64_t port = 0, id = 0;
        if (e == std::string::npos || !to_u64(r.substr(0, e), 65535, &port) || !to_u64(r.substr(e + 1), 65535, &id)) {
          *error = fail(flag, "a comma-separated list of PORT=ID (DPDK port id = node id)", value);
          return false;
        }
        if (o->peers.count((uint16_t)port)) {
          *error = fail(flag, "port " + std::to_string(port) + " given two peers", value);
          return false;
        }
        o->peers[(uint16_t)port] = (uint16_t)id;
      }
    } else if (flag == "--heartbeat-us") {
      if (!to_u64(value, 100000000, &v)) {
        *error = fail(flag, "microseconds 0..100000000 (0: no heartbeats)", value);
        return false;
      }
      o->heartbeat_us = (uint32_t)v;
    } else if (flag == "--silent-timeout-us") {
      if (!to_u64(value, 100000000, &v) || v == 0) {
        *error = fail(flag, "microseconds 1..100000000", value);
        return false;
      }
      o->has_silent_timeout = true;
      o->silent_timeout_us = (uint32_t)v;
    } else if (flag == "--max-receivers") {
      if (!to_u64(value, 65536, &v)) {
        *error = fail(flag, "receiver ids per DATA packet 0..65536 (0: no limit)", value);
        return false;
      }
      o->has_max_receivers = true;
      o->max_receivers = (uint32_t)v;
    } else if (flag == "--rate-mbps") {
      if (!to_u64(value, 8000000, &v) || (v != 0 && v < 8)) {
        *error = fail(flag, "Mbit/s per sender, 0 (no limit) or 8..8000000 (in steps of 8)", value);
        return false;
      }
      o->has_rate = true;
      o->rate_mbps = (uint32_t)v;
    } else if (flag == "--rate-burst-bytes") {
      if (!to_u64(value, 1u << 30, &v)) {
        *error = fail(flag, "bytes 0..1073741824 (0: max(64 KiB, 1 ms at the rate))", value);
        return false;
      }
      o->has_rate_burst = true;
      o->rate_burst_bytes = (uint32_t)v;
    } else if (flag == "--auth-key") {
      if (value.size() != 32 || value.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        *error = fail(flag, "a group key of 32 hex digits (16 bytes)", value);
        return false;
      }
      for (int k = 0; k < 16; k++)
        o->auth_key[k] = (uint8_t)std::strtoul(value.substr(2 * (size_t)k, 2).c_str(), nullptr, 16);
      o->has_auth_key = true;
    } else if (flag == "--auth") {
      if (value != "require" && value != "accept") {
        *error = fail(flag, "require or accept", value);
        return false;
      }
      o->has_auth = true;
      o->auth_require = value == "require";
    } else if (flag == "--stats-interval-s") {
      if (!to_seconds(value, &o->stats_interval_s)) {
        *error = fail(flag, "seconds > 0", value);
        return false;
      }
    } else if (flag == "--duration-s") {
      if (!to_seconds(value, &o->duration_s)) {
        *error = fail(flag, "seconds > 0", value);
        return false;
      }
    }
  }
  if (!o->has_node) {
    *error = fail("--node", "required: this node's id in the cluster file", "");
    return false;
  }
  if (o->cluster.empty()) {
    *error = fail("--cluster", "required: the cluster file", "");
    return false;
  }
  if (o->port_mode && o->routes.empty()) {
    *error = fail("--route", "required in port mode: every node id behind each port (ID[-ID]=PORT,...)", "");
    return false;
  }
  if (!o->port_mode && !o->peers.empty()) {
    *error = fail("--peer", "port mode only (add --mode port)", peer_value);
    return false;
  }
  if (o->port_mode && o->fanout != 0) {
    *error = fail("--fanout", "tree mode only (port mode splits by --route)", fanout_value);
    return false;
  }
  return true;
}

} // namespace fanout_dp
