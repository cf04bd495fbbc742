// Scenario parsing and validation (include/fanout/sim/scenario.hpp). One table of fields serves
// the file (dotted paths) and the flags; each setter checks its own value, validate() checks
// what needs several fields.
#include "fanout/sim/scenario.hpp"
#include "fanout/sim/config_values.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

namespace fanout::sim {
namespace {

using config::parse_bool;
using config::parse_double;
using config::parse_uint;
using Bad = config::ValueError;

template <class E> E parse_enum(const std::string &v, std::initializer_list<std::pair<const char *, E>> options) {
  std::string known;
  for (const auto &o : options) {
    if (v == o.first) return o.second;
    known += known.empty() ? "" : ", ";
    known += o.first;
  }
  throw Bad("must be one of " + known + " (got '" + v + "')");
}

std::vector<std::string> split(const std::string &v, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(v);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!v.empty() && v.back() == sep) out.push_back("");
  return out;
}

std::vector<uint32_t> parse_id_list(const std::vector<std::string> &items) {
  std::vector<uint32_t> ids;
  for (const auto &it : items) ids.push_back((uint32_t)parse_uint(it, 0, 65535));
  return ids;
}

constexpr uint64_t kMaxNs = 3'600'000'000'000ull; // an hour of simulated time

FaultSpec parse_fault_flag(const std::string &v) {
  // kind:link:at_us[:duration_us[:probability]]
  std::vector<std::string> p = split(v, ':');
  if (p.size() < 3 || p.size() > 5) throw Bad("must be kind:link:at_us[:duration_us[:probability]] (got '" + v + "')");
  FaultSpec f;
  f.kind = parse_enum<FaultKind>(
      p[0], {{"link_down", FaultKind::kLinkDown}, {"loss", FaultKind::kLoss}, {"corrupt", FaultKind::kCorrupt}});
  f.link = p[1];
  f.at_ns = parse_uint(p[2], 0, kMaxNs / 1000) * 1000;
  if (p.size() > 3) f.duration_ns = parse_uint(p[3], 0, kMaxNs / 1000) * 1000;
  if (p.size() > 4) f.probability = parse_double(p[4], 0, 1);
  return f;
}

struct Field {
  const char *path; // in the file
  const char *flag; // on the command line ("" = file only)
  const char *help;
  std::function<void(Scenario &, const std::string &)> set;
  bool list = false; // a sequence in the file, comma-separated on the command line
};

const std::vector<Field> &fields() {
  static const std::
      vector<Field>
          f =
              {
                  {"name", "name", "scenario name (reports)", [](Scenario &s, const std::string &v) { s.name = v; }},
                  {"seed", "seed", "random seed (traffic, loss, corruption)",
                   [](Scenario &s, const std::string &v) { s.seed = parse_uint(v, 0, UINT64_MAX); }},
                  {"duration_us", "duration-us", "stop after this much simulated time",
                   [](Scenario &s, const std::string &v) { s.duration_ns = parse_uint(v, 1, kMaxNs / 1000) * 1000; }},
                  {"topology.kind", "topology", "star or leaf_spine",
                   [](Scenario &s, const std::string &v) {
                     s.topology =
                         parse_enum<Topology>(v, {{"star", Topology::kStar}, {"leaf_spine", Topology::kLeafSpine}});
                   }},
                  {"topology.nodes", "nodes", "hosts with a Fanout NIC (2..1024)",
                   [](Scenario &s, const std::string &v) { s.nodes = (uint32_t)parse_uint(v, 2, 1024); }},
                  {"topology.leaves", "leaves", "leaf switches (leaf_spine)",
                   [](Scenario &s, const std::string &v) { s.leaves = (uint32_t)parse_uint(v, 1, 64); }},
                  {"topology.spines", "spines", "spine switches (leaf_spine)",
                   [](Scenario &s, const std::string &v) { s.spines = (uint32_t)parse_uint(v, 1, 64); }},
                  {"topology.switch_buffer_kib", "switch-buffer-kib", "buffer per switch output port, KiB",
                   [](Scenario &s, const std::string &v) {
                     s.switch_buffer_bytes = (uint32_t)parse_uint(v, 16, 1u << 20) * 1024;
                   }},
                  {"link.gbps", "link-gbps", "link rate, Gb/s",
                   [](Scenario &s, const std::string &v) { s.link.gbps = parse_double(v, 1, 1600); }},
                  {"link.delay_ns", "link-delay-ns", "propagation delay per link, ns",
                   [](Scenario &s, const std::string &v) { s.link.delay_ns = parse_uint(v, 0, 1'000'000); }},
                  {"link.loss", "link-loss", "probability a frame is lost, every link",
                   [](Scenario &s, const std::string &v) { s.link.loss = parse_double(v, 0, 1); }},
                  {"link.corrupt", "link-corrupt", "probability a frame gets a bit flipped, every link",
                   [](Scenario &s, const std::string &v) { s.link.corrupt = parse_double(v, 0, 1); }},
                  {"nic.mode", "mode",
                   "tree (NIC relays), port (replicating node at the top of rack), or the baselines unicast "
                   "(one copy per receiver) and bier (one copy per 256-id set, switches replicate)",
                   [](Scenario &s, const std::string &v) {
                     s.mode = parse_enum<Mode>(v, {{"tree", Mode::kTree},
                                                   {"port", Mode::kPort},
                                                   {"unicast", Mode::kUnicast},
                                                   {"bier", Mode::kBier}});
                   }},
                  {"nic.fanout", "fanout", "tree fan-out F (2..64)",
                   [](Scenario &s, const std::string &v) { s.fanout = (uint32_t)parse_uint(v, 2, 64); }},
                  {"nic.ports", "ports", "MAC ports per NIC (2: the simulated shell is built with P = 2)",
                   [](Scenario &s, const std::string &v) {
                     uint32_t p = (uint32_t)parse_uint(v, 2, 8); // what the RTL shell accepts
                     if (p != 2) throw Bad("must be 2: fanout-sim's NIC shell is Verilated with P = 2 (got " + v + ")");
                     s.nic_ports = p;
                   }},
                  {"nic.heartbeat_clocks", "heartbeat-clocks", "link monitor interval, kernel clocks (0: off)",
                   [](Scenario &s, const std::string &v) {
                     s.heartbeat_clocks = (uint32_t)parse_uint(v, 0, 1u << 30);
                   }},
                  {"nic.peer_interval_clocks", "peer-interval-clocks",
                   "peer monitor heartbeat interval, kernel clocks (0: off; down after 3 silent intervals)",
                   [](Scenario &s, const std::string &v) {
                     s.peer_interval_clocks = (uint32_t)parse_uint(v, 0, 1u << 30);
                   }},
                  {"nic.silent_timeout_clocks", "silent-timeout-clocks",
                   "ACK aggregators' silent-child timeout, kernel clocks (0: the kernel's default, 1 ms)",
                   [](Scenario &s, const std::string &v) {
                     s.silent_timeout_clocks = (uint32_t)parse_uint(v, 0, 1u << 30);
                   }},
                  {"nic.max_receivers", "max-receivers",
                   "replicators refuse DATA packets with more receivers than this (0: no limit)",
                   [](Scenario &s, const std::string &v) { s.max_receivers = (uint32_t)parse_uint(v, 0, 65536); }},
                  {"nic.rate_mbps", "rate-mbps",
                   "per-sender DATA payload rate each replicator lets through, Mb/s (0: off; burst 2 x 9,014 B)",
                   [](Scenario &s, const std::string &v) { s.rate_mbps = parse_double(v, 0, 1e7); }},
                  {"nic.auth_key", "auth-key",
                   "group key for per-packet authentication, 32 hex digits: NICs and Fanout switches sign what "
                   "they send and check what they receive (alone: nic.auth require)",
                   [](Scenario &s, const std::string &v) {
                     if (v.size() != 32 || v.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
                       throw Bad("must be 32 hex digits (a 16-byte key)");
                     for (int i = 0; i < 16; i++)
                       s.auth_key[i] = (uint8_t)std::stoul(v.substr(2 * (size_t)i, 2), nullptr, 16);
                     s.has_auth_key = true;
                     if (!s.auth_explicit) s.auth = 2;
                   }},
                  {"nic.auth", "auth",
                   "authentication: off, accept (sign; keep unsigned frames too) or require (needs nic.auth_key)",
                   [](Scenario &s, const std::string &v) {
                     s.auth =
                         parse_enum<uint8_t>(v, {{"off", (uint8_t)0}, {"accept", (uint8_t)1}, {"require", (uint8_t)2}});
                     s.auth_explicit = true;
                   }},
                  {"hosts.message_timeout_us", "message-timeout-us",
                   "a message not settled this long after posting fails (0: twice the silent timeout + 100 us)",
                   [](Scenario &s, const std::string &v) { s.message_timeout_us = parse_uint(v, 0, 1000000000); }},
                  {"hosts.retransmit", "retransmit",
                   "hosts retransmit on NACKs as the driver's transport does (true/false)",
                   [](Scenario &s, const std::string &v) { s.retransmit = parse_bool(v); }},
                  {"nic.kernel_mhz", "kernel-mhz", "kernel clock, MHz",
                   [](Scenario &s, const std::string &v) { s.kernel_mhz = parse_double(v, 50, 1000); }},
                  {"nic.mac_mhz", "mac-mhz", "MAC clock, MHz",
                   [](Scenario &s, const std::string &v) { s.mac_mhz = parse_double(v, 50, 1000); }},
                  {"workload.kind", "workload", "broadcast, sparse, moe, allreduce or checkpoint",
                   [](Scenario &s, const std::string &v) {
                     s.workload = parse_enum<Workload>(v, {{"broadcast", Workload::kBroadcast},
                                                           {"sparse", Workload::kSparse},
                                                           {"moe", Workload::kMoe},
                                                           {"allreduce", Workload::kAllReduce},
                                                           {"checkpoint", Workload::kCheckpoint}});
                   }},
                  {"workload.senders", "senders", "sending nodes (all, or a list of ids)",
                   [](Scenario &s, const std::string &v) {
                     if (v == "all") {
                       s.senders.clear();
                       return;
                     }
                     s.senders = parse_id_list(split(v, ','));
                   },
                   true},
                  {"workload.k", "k", "sparse: receivers per message",
                   [](Scenario &s, const std::string &v) { s.k = (uint32_t)parse_uint(v, 1, 65535); }},
                  {"workload.messages", "messages", "broadcast / sparse: messages per sender",
                   [](Scenario &s, const std::string &v) { s.messages = (uint32_t)parse_uint(v, 1, 1'000'000); }},
                  {"workload.message_bytes", "message-bytes", "broadcast / sparse: bytes per message",
                   [](Scenario &s, const std::string &v) { s.message_bytes = (uint32_t)parse_uint(v, 1, 1u << 30); }},
                  {"workload.interval_ns", "interval-ns", "gap between one sender's messages, ns",
                   [](Scenario &s, const std::string &v) { s.interval_ns = parse_uint(v, 0, kMaxNs); }},
                  {"workload.moe.experts", "experts", "moe: routed experts",
                   [](Scenario &s, const std::string &v) { s.moe.experts = (uint32_t)parse_uint(v, 1, 65536); }},
                  {"workload.moe.top_k", "top-k", "moe: routed experts per token",
                   [](Scenario &s, const std::string &v) { s.moe.top_k = (uint32_t)parse_uint(v, 1, 256); }},
                  {"workload.moe.shared_expert", "shared-expert", "moe: one shared expert per token (true/false)",
                   [](Scenario &s, const std::string &v) { s.moe.shared_expert = parse_bool(v); }},
                  {"workload.moe.node_limit", "node-limit", "moe: at most this many nodes per token (0: off)",
                   [](Scenario &s, const std::string &v) { s.moe.node_limit = (uint32_t)parse_uint(v, 0, 1024); }},
                  {"workload.moe.tokens_per_step", "tokens-per-step", "moe: tokens each sender dispatches per step",
                   [](Scenario &s, const std::string &v) {
                     s.moe.tokens_per_step = (uint32_t)parse_uint(v, 1, 1'000'000);
                   }},
                  {"workload.moe.steps", "steps", "moe: steps",
                   [](Scenario &s, const std::string &v) { s.moe.steps = (uint32_t)parse_uint(v, 1, 100'000); }},
                  {"workload.moe.token_bytes", "token-bytes", "moe: bytes per token",
                   [](Scenario &s, const std::string &v) { s.moe.token_bytes = (uint32_t)parse_uint(v, 1, 1u << 24); }},
                  {"workload.allreduce.root", "root", "allreduce: the node that sends (the only sender)",
                   [](Scenario &s, const std::string &v) { s.allreduce.root = (uint32_t)parse_uint(v, 0, 65535); }},
                  {"workload.allreduce.messages", "allreduce-messages", "allreduce: messages the root sends",
                   [](Scenario &s, const std::string &v) {
                     s.allreduce.messages = (uint32_t)parse_uint(v, 1, 1'000'000);
                   }},
                  {"workload.allreduce.message_bytes", "allreduce-bytes", "allreduce: bytes per message",
                   [](Scenario &s, const std::string &v) {
                     s.allreduce.message_bytes = (uint32_t)parse_uint(v, 1, 1u << 26);
                   }},
                  {"workload.checkpoint.replicas", "replicas", "checkpoint: nodes each shard is written to",
                   [](Scenario &s, const std::string &v) {
                     s.checkpoint.replicas = (uint32_t)parse_uint(v, 1, 65535);
                   }},
                  {"workload.checkpoint.shards", "shards", "checkpoint: shards each sender writes",
                   [](Scenario &s, const std::string &v) {
                     s.checkpoint.shards = (uint32_t)parse_uint(v, 1, 1'000'000);
                   }},
                  {"workload.checkpoint.shard_bytes", "shard-bytes", "checkpoint: bytes per shard",
                   [](Scenario &s, const std::string &v) {
                     s.checkpoint.shard_bytes = (uint32_t)parse_uint(v, 1, 1u << 26);
                   }},
                  {"output.json", "json", "print the summary as JSON (true/false)",
                   [](Scenario &s, const std::string &v) { s.json = parse_bool(v); }},
                  {"output.fst", "fst", "NICs whose waveforms are written (ids)",
                   [](Scenario &s, const std::string &v) { s.fst_nodes = parse_id_list(split(v, ',')); }, true},
                  {"output.pcap", "pcap", "links captured to pcap (node<N>, leaf<L>-spine<S>)",
                   [](Scenario &s, const std::string &v) { s.pcap_links = split(v, ','); }, true},
                  {"output.dir", "output-dir", "folder for waveforms and captures",
                   [](Scenario &s, const std::string &v) {
                     if (v.empty()) throw Bad("must not be empty");
                     s.output_dir = v;
                   }},
                  {"faults", "fault",
                   "a fault: kind:link:at_us[:duration_us[:probability]] (kinds link_down, loss, corrupt)",
                   [](Scenario &s, const std::string &v) { s.faults.push_back(parse_fault_flag(v)); }},
              };
  return f;
}

const Field *find_path(const std::string &path) {
  for (const Field &f : fields())
    if (path == f.path) return &f;
  return nullptr;
}

std::string where(const std::string &origin, const YAML::Node &n) {
  return config::yaml_where(origin, n);
}

[[noreturn]] void fail(const std::string &at, const std::string &path, const std::string &problem) {
  throw ScenarioError(at + ": " + path + ": " + problem);
}

// A map key: a plain name (YAML allows lists and maps as keys; a scenario has none).
std::string key_of(const YAML::Node &k, const std::string &origin, const std::string &in) {
  if (!k.IsScalar()) fail(where(origin, k), in.empty() ? "<key>" : in, "a key must be a plain name");
  return k.Scalar();
}

void read_faults(Scenario &s, const YAML::Node &list, const std::string &origin) {
  if (!list.IsSequence()) fail(where(origin, list), "faults", "must be a list of faults");
  for (std::size_t i = 0; i < list.size(); i++) {
    const YAML::Node &n = list[i];
    std::string path = "faults[" + std::to_string(i) + "]";
    if (!n.IsMap()) fail(where(origin, n), path, "must be a map (kind, link, at_us, duration_us, probability)");
    FaultSpec f;
    bool have_kind = false, have_link = false;
    std::set<std::string> seen;
    for (const auto &kv : n) {
      std::string key = key_of(kv.first, origin, path);
      if (!seen.insert(key).second) fail(where(origin, kv.first), path + "." + key, "given twice");
      const YAML::Node &v = kv.second;
      if (!v.IsScalar()) fail(where(origin, v), path + "." + key, "must be a single value");
      std::string val = v.Scalar();
      try {
        if (key == "kind") {
          f.kind = parse_enum<FaultKind>(
              val, {{"link_down", FaultKind::kLinkDown}, {"loss", FaultKind::kLoss}, {"corrupt", FaultKind::kCorrupt}});
          have_kind = true;
        } else if (key == "link") {
          f.link = val;
          have_link = true;
        } else if (key == "at_us") {
          f.at_ns = parse_uint(val, 0, kMaxNs / 1000) * 1000;
        } else if (key == "duration_us") {
          f.duration_ns = parse_uint(val, 0, kMaxNs / 1000) * 1000;
        } else if (key == "probability") {
          f.probability = parse_double(val, 0, 1);
        } else {
          fail(where(origin, kv.first), path + "." + key,
               "unknown field (known: kind, link, at_us, duration_us, probability)");
        }
      } catch (const Bad &e) {
        fail(where(origin, v), path + "." + key, e.what());
      }
    }
    if (!have_kind) fail(where(origin, n), path + ".kind", "missing");
    if (!have_link) fail(where(origin, n), path + ".link", "missing");
    s.faults.push_back(f);
  }
}

void read_map(Scenario &s, const YAML::Node &map, const std::string &prefix, const std::string &origin) {
  std::set<std::string> seen;
  for (const auto &kv : map) {
    std::string key = key_of(kv.first, origin, prefix);
    if (!seen.insert(key).second)
      fail(where(origin, kv.first), prefix.empty() ? key : prefix + "." + key, "given twice");
    std::string path = prefix.empty() ? key : prefix + "." + key;
    const YAML::Node &v = kv.second;
    if (path == "faults") {
      read_faults(s, v, origin);
      continue;
    }
    const Field *f = find_path(path);
    if (v.IsMap() && !f) {
      bool is_section = false;
      for (const Field &x : fields())
        if (std::string(x.path).rfind(path + ".", 0) == 0) is_section = true;
      if (!is_section) fail(where(origin, kv.first), path, "unknown field");
      read_map(s, v, path, origin);
      continue;
    }
    if (!f) {
      std::string known;
      for (const Field &x : fields()) {
        std::string p = x.path;
        std::string parent = prefix.empty() ? "" : prefix + ".";
        if (p.rfind(parent, 0) == 0 && p.find('.', parent.size()) == std::string::npos) {
          known += known.empty() ? "" : ", ";
          known += p.substr(parent.size());
        }
      }
      fail(where(origin, kv.first), path, "unknown field (known here: " + known + ")");
    }
    std::string value;
    if (v.IsSequence()) {
      if (!f->list) fail(where(origin, v), path, "must be a single value, not a list");
      for (std::size_t i = 0; i < v.size(); i++) {
        if (!v[i].IsScalar()) fail(where(origin, v[i]), path, "list items must be single values");
        value += (i ? "," : "") + v[i].Scalar();
      }
    } else if (v.IsScalar()) {
      value = v.Scalar();
    } else if (v.IsNull()) {
      fail(where(origin, kv.first), path, "has no value");
    } else {
      fail(where(origin, v), path, "must be a single value");
    }
    try {
      f->set(s, value);
    } catch (const Bad &e) {
      fail(where(origin, v), path, e.what());
    }
  }
}

bool link_exists(const Scenario &s, const std::string &link) {
  auto number = [](const std::string &t, std::size_t from, std::size_t to, uint32_t &out) {
    if (to <= from || to - from > 6) return false;
    std::string d = t.substr(from, to - from);
    if (d.find_first_not_of("0123456789") != std::string::npos) return false;
    out = (uint32_t)std::stoul(d);
    return true;
  };
  uint32_t a = 0, b = 0;
  if (link.rfind("node", 0) == 0) return number(link, 4, link.size(), a) && a < s.nodes;
  if (s.topology == Topology::kLeafSpine && link.rfind("leaf", 0) == 0) {
    std::size_t dash = link.find("-spine");
    return dash != std::string::npos && number(link, 4, dash, a) && number(link, dash + 6, link.size(), b) &&
           a < s.leaves && b < s.spines;
  }
  return false;
}

} // namespace

const char *name(Topology t) {
  return t == Topology::kStar ? "star" : "leaf_spine";
}
const char *name(Mode m) {
  switch (m) {
  case Mode::kTree: return "tree";
  case Mode::kPort: return "port";
  case Mode::kUnicast: return "unicast";
  case Mode::kBier: return "bier";
  }
  return "?";
}
const char *name(Workload w) {
  switch (w) {
  case Workload::kBroadcast: return "broadcast";
  case Workload::kSparse: return "sparse";
  case Workload::kMoe: return "moe";
  case Workload::kAllReduce: return "allreduce";
  case Workload::kCheckpoint: return "checkpoint";
  }
  return "?";
}
const char *name(FaultKind f) {
  return f == FaultKind::kLinkDown ? "link_down" : f == FaultKind::kLoss ? "loss" : "corrupt";
}

void validate(const Scenario &s, const std::string &origin) {
  auto bad = [&](const std::string &path, const std::string &problem) { fail(origin, path, problem); };
  if (s.topology == Topology::kLeafSpine) {
    if (s.nodes % s.leaves != 0)
      bad("topology.leaves",
          "must divide topology.nodes = " + std::to_string(s.nodes) + " (got " + std::to_string(s.leaves) + ")");
  }
  for (uint32_t id : s.senders)
    if (id >= s.nodes)
      bad("workload.senders",
          "node " + std::to_string(id) + " does not exist (nodes 0.." + std::to_string(s.nodes - 1) + ")");
  std::set<uint32_t> uniq(s.senders.begin(), s.senders.end());
  if (uniq.size() != s.senders.size()) bad("workload.senders", "lists a node twice");
  if (s.workload == Workload::kSparse && s.k > s.nodes - 1)
    bad("workload.k",
        "must be between 1 and nodes - 1 = " + std::to_string(s.nodes - 1) + " (got " + std::to_string(s.k) + ")");
  if (s.workload == Workload::kAllReduce && s.allreduce.root >= s.nodes)
    bad("workload.allreduce.root", "must be between 0 and nodes - 1 = " + std::to_string(s.nodes - 1) + " (got " +
                                       std::to_string(s.allreduce.root) + ")");
  if (s.auth != 0 && !s.has_auth_key) bad("nic.auth", "accept and require need nic.auth_key (32 hex digits)");
  if (s.workload == Workload::kCheckpoint && s.checkpoint.replicas > s.nodes - 1)
    bad("workload.checkpoint.replicas", "must be between 1 and nodes - 1 = " + std::to_string(s.nodes - 1) + " (got " +
                                            std::to_string(s.checkpoint.replicas) + ")");
  if (s.workload == Workload::kMoe) {
    if (s.moe.experts < s.nodes || s.moe.experts % s.nodes != 0)
      bad("workload.moe.experts", "must be a multiple of nodes = " + std::to_string(s.nodes) +
                                      " (experts are spread evenly; got " + std::to_string(s.moe.experts) + ")");
    if (s.moe.top_k > s.moe.experts)
      bad("workload.moe.top_k", "must not exceed experts = " + std::to_string(s.moe.experts));
    uint32_t per_node = s.moe.experts / s.nodes;
    if (s.moe.node_limit != 0 && (uint64_t)s.moe.node_limit * per_node < s.moe.top_k)
      bad("workload.moe.node_limit", "node_limit x experts per node (" + std::to_string(per_node) +
                                         ") must hold top_k = " + std::to_string(s.moe.top_k));
  }
  for (uint32_t id : s.fst_nodes)
    if (id >= s.nodes) bad("output.fst", "node " + std::to_string(id) + " does not exist");
  for (const std::string &l : s.pcap_links)
    if (!link_exists(s, l)) bad("output.pcap", "no link '" + l + "' (node<N> or leaf<L>-spine<S>)");
  for (std::size_t i = 0; i < s.faults.size(); i++) {
    const FaultSpec &f = s.faults[i];
    std::string p = "faults[" + std::to_string(i) + "]";
    if (!link_exists(s, f.link)) bad(p + ".link", "no link '" + f.link + "' (node<N> or leaf<L>-spine<S>)");
    if (f.kind != FaultKind::kLinkDown && f.probability <= 0)
      bad(p + ".probability", "a " + std::string(name(f.kind)) + " fault needs a probability in (0, 1]");
    if (f.at_ns >= s.duration_ns) bad(p + ".at_us", "starts after the run ends (duration_us)");
  }
}

Scenario parse_scenario(const std::string &text, const std::string &origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception &e) {
    throw ScenarioError(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                        ": not valid YAML/JSON: " + e.msg);
  }
  Scenario s;
  if (root.IsNull()) {
    validate(s, origin);
    return s;
  }
  if (!root.IsMap()) throw ScenarioError(where(origin, root) + ": the scenario must be a map of fields");
  read_map(s, root, "", origin);
  validate(s, origin);
  return s;
}

Scenario load_scenario_file(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw ScenarioError(path + ": cannot open the scenario file");
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_scenario(buf.str(), path);
}

bool apply_flag(Scenario &s, const std::string &flag, const std::string &value) {
  for (const Field &f : fields()) {
    if (flag != f.flag) continue;
    try {
      f.set(s, value);
    } catch (const Bad &e) {
      throw ScenarioError(std::string("--") + flag + ": " + e.what());
    }
    return true;
  }
  return false;
}

std::string flag_help() {
  std::ostringstream o;
  for (const Field &f : fields()) {
    std::string flag = std::string("--") + f.flag + " VALUE";
    o << "  " << flag << std::string(flag.size() < 26 ? 26 - flag.size() : 1, ' ') << f.help << "  [" << f.path
      << "]\n";
  }
  return o.str();
}

} // namespace fanout::sim
