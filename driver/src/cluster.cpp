// Cluster file parsing and validation (cluster.hpp). Errors name origin:line:col and the field,
// the way sim/scenario does; exceptions stay inside this file (the API reports a message).
#include "fanout/driver/cluster.hpp"

#include "fanout/sim/config_values.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>

namespace fanout::driver {

bool parse_ipv4_port(const std::string &text, uint32_t *ip, uint16_t *port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return false;
  std::string host = text.substr(0, colon), p = text.substr(colon + 1);
  // A dotted quad only: inet_pton reads a C string and would stop at an embedded NUL.
  if (host.find_first_not_of("0123456789.") != std::string::npos) return false;
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  unsigned long n = std::strtoul(p.c_str(), nullptr, 10);
  if (n == 0 || n > 65535) return false;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return false;
  *ip = ntohl(a.s_addr);
  *port = (uint16_t)n;
  return true;
}

bool parse_mac(const std::string &text, uint8_t mac[6]) {
  if (text.size() != 17) return false;
  for (int i = 0; i < 6; i++) {
    const char *p = text.c_str() + 3 * i;
    if (i < 5 && p[2] != ':') return false;
    if (!std::isxdigit((unsigned char)p[0]) || !std::isxdigit((unsigned char)p[1])) return false;
    mac[i] = (uint8_t)std::strtoul(std::string(p, 2).c_str(), nullptr, 16);
  }
  return (mac[0] & 1) == 0;
}

const NodeAddress *ClusterConfig::find(NodeId id) const {
  auto it = std::lower_bound(nodes.begin(), nodes.end(), id, [](const NodeAddress &n, NodeId v) { return n.id < v; });
  return it != nodes.end() && it->id == id ? &*it : nullptr;
}

namespace {

using Bad = config::ValueError;
struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using config::parse_uint;

std::string where(const std::string &origin, const YAML::Node &n) {
  return config::yaml_where(origin, n);
}

[[noreturn]] void fail(const std::string &at, const std::string &field, const std::string &problem) {
  throw Fail(at + ": " + field + ": " + problem);
}

std::string scalar(const YAML::Node &v, const std::string &origin, const std::string &field) {
  if (v.IsNull()) fail(where(origin, v), field, "has no value");
  if (!v.IsScalar()) fail(where(origin, v), field, "must be a single value");
  return v.Scalar();
}

constexpr uint64_t kMaxUs = 3'600'000'000ull; // an hour

struct TransportField {
  const char *name;
  const char *help;
  std::function<void(TransportOptions &, const std::string &)> set;
};

const std::vector<TransportField> &transport_fields() {
  static const std::vector<TransportField> f = {
      {"fanout", "tree fan-out F (2..16)",
       [](TransportOptions &t, const std::string &v) { t.fanout = (uint32_t)parse_uint(v, 2, 16); }},
      {"mtu", "IPv4 MTU (576..9000)",
       [](TransportOptions &t, const std::string &v) { t.mtu = (uint32_t)parse_uint(v, 576, 9000); }},
      {"window", "packets in flight (1..65536)",
       [](TransportOptions &t, const std::string &v) { t.window = (uint32_t)parse_uint(v, 1, 65536); }},
      {"ack_interval", "packets between cumulative ACKs (0: window / 4)",
       [](TransportOptions &t, const std::string &v) { t.ack_interval = (uint32_t)parse_uint(v, 0, 65536); }},
      {"reorder_us", "gap age before a NACK",
       [](TransportOptions &t, const std::string &v) { t.reorder_us = (uint32_t)parse_uint(v, 1, 10'000'000); }},
      {"nack_retry_us", "NACK repeat interval",
       [](TransportOptions &t, const std::string &v) { t.nack_retry_us = (uint32_t)parse_uint(v, 1, 60'000'000); }},
      {"rto_us", "sender probe timeout",
       [](TransportOptions &t, const std::string &v) { t.rto_us = (uint32_t)parse_uint(v, 100, 60'000'000); }},
      {"rto_max_us", "largest backoff",
       [](TransportOptions &t, const std::string &v) { t.rto_max_us = (uint32_t)parse_uint(v, 100, 600'000'000); }},
      {"failure_timeout_us", "receiver failure timeout",
       [](TransportOptions &t, const std::string &v) { t.failure_timeout_us = (uint32_t)parse_uint(v, 1000, kMaxUs); }},
      {"silent_timeout_us", "relay silent-child timeout (0: failure_timeout_us / 4)",
       [](TransportOptions &t, const std::string &v) { t.silent_timeout_us = (uint32_t)parse_uint(v, 0, kMaxUs); }},
      {"linger_us", "completed-message memory (0: 2 x failure_timeout_us)",
       [](TransportOptions &t, const std::string &v) { t.linger_us = (uint32_t)parse_uint(v, 0, kMaxUs); }},
      {"max_message_bytes", "largest message (1..4294967295)",
       [](TransportOptions &t, const std::string &v) { t.max_message_bytes = parse_uint(v, 1, 0xFFFFFFFFull); }},
      {"socket_buffer_bytes", "socket buffers asked for (65536..1073741824)",
       [](TransportOptions &t, const std::string &v) {
         t.socket_buffer_bytes = (uint32_t)parse_uint(v, 65536, 1u << 30);
       }},
      {"max_receivers", "receiver ids per received DATA packet (0: no limit)",
       [](TransportOptions &t, const std::string &v) { t.max_receivers = (uint32_t)parse_uint(v, 0, 65536); }},
      {"rate_mbps", "per-sender received payload rate in Mbit/s, 8 Mbit/s steps (0: no limit)",
       [](TransportOptions &t, const std::string &v) {
         uint64_t r = parse_uint(v, 0, 8'000'000);
         if (r != 0 && r < 8) throw Bad("must be 0 (no limit) or at least 8 (1 byte per microsecond)");
         t.rate_mbps = (uint32_t)r;
       }},
      {"rate_burst_bytes", "per-sender bucket in bytes (0: max(64 KiB, 1 ms at rate_mbps))",
       [](TransportOptions &t, const std::string &v) { t.rate_burst_bytes = (uint32_t)parse_uint(v, 0, 1u << 30); }},
      {"auth_key", "group key for per-packet authentication: 32 hex digits (16 bytes)",
       [](TransportOptions &t, const std::string &v) {
         if (v.size() != 32 || v.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
           throw Bad("must be 32 hex digits (a 16-byte key)");
         for (int i = 0; i < 16; i++) t.auth_key[i] = (uint8_t)std::strtoul(v.substr(2 * i, 2).c_str(), nullptr, 16);
         t.has_auth_key = true;
       }},
      {"auth", "authentication: require, accept (sign; accept unsigned too) or off",
       [](TransportOptions &t, const std::string &v) {
         if (v == "require")
           t.auth = TransportOptions::kAuthRequire;
         else if (v == "accept")
           t.auth = TransportOptions::kAuthAccept;
         else if (v == "off")
           t.auth = TransportOptions::kAuthOff;
         else
           throw Bad("must be require, accept or off (got '" + v + "')");
         t.auth_explicit = true;
       }},
  };
  return f;
}

} // namespace

bool set_transport_option(TransportOptions &t, const std::string &name, const std::string &value, bool *known_name,
                          std::string *error) {
  *known_name = false;
  for (const TransportField &f : transport_fields()) {
    if (name != f.name) continue;
    *known_name = true;
    try {
      f.set(t, value);
    } catch (const Bad &e) {
      *error = name + ": " + e.what();
      return false;
    }
    return true;
  }
  std::string known;
  for (const TransportField &f : transport_fields()) known += (known.empty() ? "" : ", ") + std::string(f.name);
  *error = name + ": unknown option (known: " + known + ")";
  return false;
}

bool finish_auth_options(TransportOptions &t, std::string *error) {
  if (t.has_auth_key && !t.auth_explicit) t.auth = TransportOptions::kAuthRequire;
  if (t.auth != TransportOptions::kAuthOff && !t.has_auth_key) {
    *error = "auth: require and accept need auth_key (32 hex digits)";
    return false;
  }
  return true;
}

namespace {

// A map key: a plain name, once per map (YAML allows repeated and non-scalar keys; a cluster file
// has neither: a second `nodes:` would otherwise add its nodes past the first one's checks).
std::string key_of(const YAML::Node &k, const std::string &origin, const std::string &in, std::set<std::string> &seen) {
  std::string where_in = in.empty() ? "" : in + ".";
  if (!k.IsScalar()) fail(where(origin, k), in.empty() ? "<key>" : in, "a key must be a plain name");
  if (!seen.insert(k.Scalar()).second) fail(where(origin, k), where_in + k.Scalar(), "given twice");
  return k.Scalar();
}

void read_transport(ClusterConfig &c, const YAML::Node &map, const std::string &origin) {
  if (!map.IsMap()) fail(where(origin, map), "transport", "must be a map of options");
  std::set<std::string> seen;
  for (const auto &kv : map) {
    std::string key = key_of(kv.first, origin, "transport", seen);
    std::string field = "transport." + key;
    const TransportField *tf = nullptr;
    for (const TransportField &f : transport_fields())
      if (key == f.name) tf = &f;
    if (!tf) {
      std::string known;
      for (const TransportField &f : transport_fields()) known += (known.empty() ? "" : ", ") + std::string(f.name);
      fail(where(origin, kv.first), field, "unknown field (known: " + known + ")");
    }
    std::string v = scalar(kv.second, origin, field);
    try {
      tf->set(c.transport, v);
    } catch (const Bad &e) {
      fail(where(origin, kv.second), field, e.what());
    }
  }
}

void read_nodes(ClusterConfig &c, const YAML::Node &list, const std::string &origin) {
  if (!list.IsSequence()) fail(where(origin, list), "nodes", "must be a list of {id, address[, bind, mac]}");
  std::set<NodeId> ids;
  std::set<std::string> listens;
  for (size_t i = 0; i < list.size(); i++) {
    const YAML::Node &n = list[i];
    std::string path = "nodes[" + std::to_string(i) + "]";
    if (!n.IsMap()) fail(where(origin, n), path, "must be a map {id, address[, bind, mac]}");
    NodeAddress a;
    bool have_id = false, have_address = false;
    std::set<std::string> seen;
    for (const auto &kv : n) {
      std::string key = key_of(kv.first, origin, path, seen);
      std::string field = path + "." + key;
      std::string v = scalar(kv.second, origin, field);
      uint32_t ip = 0;
      uint16_t port = 0;
      if (key == "id") {
        try {
          a.id = (NodeId)parse_uint(v, 0, 65535);
        } catch (const Bad &e) {
          fail(where(origin, kv.second), field, e.what());
        }
        have_id = true;
      } else if (key == "address" || key == "bind") {
        if (!parse_ipv4_port(v, &ip, &port))
          fail(where(origin, kv.second), field, "must be <IPv4 address>:<port 1..65535> (got '" + v + "')");
        (key == "address" ? a.address : a.bind) = v;
        have_address = have_address || key == "address";
      } else if (key == "mac") {
        uint8_t mac[6];
        if (!parse_mac(v, mac))
          fail(where(origin, kv.second), field,
               "must be a unicast MAC address like 02:00:00:00:00:07 (got '" + v + "')");
        a.mac = v;
      } else {
        fail(where(origin, kv.first), field, "unknown field (known: id, address, bind, mac)");
      }
    }
    if (!have_id) fail(where(origin, n), path + ".id", "missing");
    if (!have_address) fail(where(origin, n), path + ".address", "missing");
    if (!ids.insert(a.id).second)
      fail(where(origin, n), path + ".id", "node " + std::to_string(a.id) + " is listed twice");
    std::string listen = a.bind.empty() ? a.address : a.bind;
    if (!listens.insert(listen).second)
      fail(where(origin, n), path, "listens on " + listen + ", as an earlier node does");
    c.nodes.push_back(a);
  }
  if (c.nodes.empty()) fail(where(origin, list), "nodes", "must list at least one node");
  std::sort(c.nodes.begin(), c.nodes.end(), [](const NodeAddress &x, const NodeAddress &y) { return x.id < y.id; });
}

// Fields that depend on each other, and the derived defaults.
void finish(ClusterConfig &c) {
  TransportOptions &t = c.transport;
  const std::string &o = c.origin;
  if (t.rto_max_us < t.rto_us)
    fail(o, "transport.rto_max_us", "must be at least transport.rto_us = " + std::to_string(t.rto_us));
  if (t.ack_interval > t.window)
    fail(o, "transport.ack_interval", "must not exceed transport.window = " + std::to_string(t.window));
  if (t.silent_timeout_us >= t.failure_timeout_us)
    fail(o, "transport.silent_timeout_us",
         "must be below transport.failure_timeout_us = " + std::to_string(t.failure_timeout_us) +
             " (a relay reports a silent child before the sender gives up on it)");
  if ((uint64_t)t.nack_retry_us * 2 >= t.failure_timeout_us)
    fail(o, "transport.nack_retry_us",
         "must be below half of transport.failure_timeout_us (waiting receivers NACK to stay alive)");
  if (t.ack_interval == 0) t.ack_interval = std::max<uint32_t>(1, t.window / 4);
  if (t.silent_timeout_us == 0) t.silent_timeout_us = std::max<uint32_t>(1, t.failure_timeout_us / 4);
  if (t.linger_us == 0) t.linger_us = (uint32_t)std::min<uint64_t>(2ull * t.failure_timeout_us, kMaxUs);
  if (c.has_self && !c.find(c.self)) fail(o, "self", "node " + std::to_string(c.self) + " is not in nodes");
  std::string auth_error;
  if (!finish_auth_options(t, &auth_error)) fail(o, "transport." + auth_error.substr(0, 4), auth_error.substr(6));
}

} // namespace

bool parse_cluster(const std::string &text, const std::string &origin, ClusterConfig *out, std::string *error) {
  ClusterConfig c;
  c.origin = origin;
  try {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception &e) {
      throw Fail(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                 ": not valid YAML/JSON: " + e.msg);
    }
    if (!root.IsMap()) throw Fail(where(origin, root) + ": the cluster file must be a map (self, nodes, transport)");
    bool have_nodes = false;
    std::set<std::string> seen;
    for (const auto &kv : root) {
      std::string key = key_of(kv.first, origin, "", seen);
      if (key == "self") {
        std::string v = scalar(kv.second, origin, "self");
        try {
          c.self = (NodeId)parse_uint(v, 0, 65535);
        } catch (const Bad &e) {
          fail(where(origin, kv.second), "self", e.what());
        }
        c.has_self = true;
      } else if (key == "nodes") {
        read_nodes(c, kv.second, origin);
        have_nodes = true;
      } else if (key == "transport") {
        read_transport(c, kv.second, origin);
      } else {
        fail(where(origin, kv.first), key, "unknown field (known: self, nodes, transport)");
      }
    }
    if (!have_nodes) fail(where(origin, root), "nodes", "missing");
    finish(c);
  } catch (const Fail &e) {
    if (error) *error = e.what();
    return false;
  } catch (const YAML::Exception &e) { // e.g. a key that is not a scalar
    if (error) *error = where(origin, YAML::Node()) + ": not a valid cluster file: " + e.msg;
    return false;
  }
  *out = std::move(c);
  return true;
}

bool load_cluster_file(const std::string &path, ClusterConfig *out, std::string *error) {
  std::ifstream in(path);
  if (!in) {
    if (error) *error = path + ": cannot open the cluster file";
    return false;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_cluster(buf.str(), path, out, error);
}

} // namespace fanout::driver
