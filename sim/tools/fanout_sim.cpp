// fanout-sim: simulate a Fanout cluster clock by clock (sim/cluster.hpp) and report the run.
//
//   fanout-sim [SCENARIO_FILE] [--flag value]... [--json] [--help]
//   fanout-sim [SCENARIO_FILE] --serve DIR [--serve-nodes LIST] [--quantum-ns N] [--serve-wait-s S] ...
//
// --serve: no workload; applications attach to the nodes' hosts over <DIR>/node<N>.sock
// (sim/serve.hpp) and the cluster runs in lock-step with them until they all leave or the
// duration is reached; exit 0 unless serving failed (1) or the input was bad (2).
//
// The scenario file (YAML or JSON) is read first, then the flags in order (--flag value or
// --flag=value; docs/simulator.md lists them). Bad input: one line "fanout-sim: <problem>" on
// stderr, exit 2. Otherwise a readable summary (or, with --json, one JSON object with stable
// snake_case keys) on stdout; exit 0 when every message was delivered exactly once to exactly
// its receivers with one aggregated ACK per message, 1 otherwise.
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <systemc>

#include "fanout/sim/cluster.hpp"
#include "fanout/sim/scenario.hpp"
#include "fanout/sim/serve.hpp"
#include "json_quote.hpp"
#include "report.hpp"

namespace {

using fanout::sim::RunResult;

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2;

std::string usage() {
  return "usage: fanout-sim [SCENARIO_FILE] [--flag value]... [--json] [--help]\n"
         "Simulates a cluster of Fanout NICs clock by clock and checks that every message reaches exactly its\n"
         "receivers, once, with one aggregated ACK per message at its sender. A scenario file (YAML/JSON) is read\n"
         "first, then the flags in order (--flag value or --flag=value). --json prints a JSON object instead of\n"
         "the summary. Exit status: 0 OK, 1 the check failed, 2 bad input.\n\n"
         "serve mode (applications as the hosts, docs/simulator.md \"Serving hosts to applications\"):\n"
         "  --serve DIR            serve each node's host on DIR/node<N>.sock (SOCK_SEQPACKET, sim/serve.hpp);\n"
         "                         no workload; exit 0 unless serving failed (1) or bad input (2)\n"
         "  --serve-nodes LIST     nodes to serve, ids and ranges (0,2-5) or all (default); the others idle\n"
         "  --quantum-ns N         simulated time per lock-step round (default 1000)\n"
         "  --serve-wait-s S       wait this long for the clients to connect and for each DONE; 0: no limit\n"
         "                         (default 60)\n\nflags:\n";
}

// ---- Serve flags (not scenario fields: they say how to run, not what) --------------------------
struct ServeFlags {
  bool serve = false;
  std::string dir;
  bool nodes_given = false, all_nodes = true;
  std::vector<uint32_t> nodes;
  uint64_t quantum_ns = 1000;
  double wait_s = 60;
  std::string first_serve_only_flag; // a serve flag given without --serve
};

// A whole number in [lo, hi], or false.
bool parse_u64(const std::string &v, uint64_t lo, uint64_t hi, uint64_t &out) {
  if (v.empty() || v.size() > 20) return false;
  for (char c : v)
    if (c < '0' || c > '9') return false;
  errno = 0;
  unsigned long long x = std::strtoull(v.c_str(), nullptr, 10);
  if (errno || x < lo || x > hi) return false;
  out = x;
  return true;
}

// Returns "" when the flag was taken, else the problem; `known` false when it is no serve flag.
std::string apply_serve_flag(ServeFlags &f, const std::string &flag, const std::string &value, bool &known) {
  known = true;
  if (flag == "serve") {
    if (value.empty()) return "--serve: needs a directory";
    f.serve = true;
    f.dir = value;
    while (f.dir.size() > 1 && f.dir.back() == '/') f.dir.pop_back();
    return "";
  }
  if (flag != "serve-nodes" && flag != "quantum-ns" && flag != "serve-wait-s") {
    known = false;
    return "";
  }
  if (f.first_serve_only_flag.empty()) f.first_serve_only_flag = flag;
  if (flag == "serve-nodes") {
    f.nodes_given = true;
    f.nodes.clear();
    f.all_nodes = value == "all";
    if (f.all_nodes) return "";
    size_t at = 0;
    for (;;) {
      size_t comma = value.find(',', at);
      std::string item = value.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      size_t dash = item.find('-');
      uint64_t a = 0, b = 0;
      bool ok = dash == std::string::npos ? parse_u64(item, 0, 65535, a) && (b = a, true)
                                          : parse_u64(item.substr(0, dash), 0, 65535, a) &&
                                                parse_u64(item.substr(dash + 1), 0, 65535, b) && a <= b;
      if (!ok) return "--serve-nodes: must be all or a list of node ids and ranges like 0,2-5 (got '" + value + "')";
      for (uint64_t n = a; n <= b; n++) f.nodes.push_back((uint32_t)n);
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
    return "";
  }
  if (flag == "quantum-ns") {
    if (!parse_u64(value, 1, 1'000'000'000, f.quantum_ns))
      return "--quantum-ns: must be a whole number of ns between 1 and 1000000000 (got '" + value + "')";
    return "";
  }
  char *end = nullptr;
  errno = 0;
  double w = std::strtod(value.c_str(), &end);
  if (value.empty() || *end || errno || !std::isfinite(w) || w < 0 || w > 1e6)
    return "--serve-wait-s: must be a number of seconds between 0 (no limit) and 1000000 (got '" + value + "')";
  f.wait_s = w;
  return "";
}

// Checks that need the scenario (after every flag).
std::string check_serve_flags(const ServeFlags &f, uint32_t nodes) {
  if (!f.serve) {
    if (!f.first_serve_only_flag.empty()) return "--" + f.first_serve_only_flag + ": only with --serve DIR";
    return "";
  }
  std::vector<uint32_t> seen;
  for (uint32_t n : f.nodes) {
    if (n >= nodes)
      return "--serve-nodes: node " + std::to_string(n) + " does not exist (nodes 0.." + std::to_string(nodes - 1) +
             ")";
    if (std::find(seen.begin(), seen.end(), n) != seen.end())
      return "--serve-nodes: lists node " + std::to_string(n) + " twice";
    seen.push_back(n);
  }
  if (f.nodes_given && !f.all_nodes && f.nodes.empty()) return "--serve-nodes: lists no node";
  uint32_t widest = 0;
  for (uint32_t n = 0; n < nodes; n++)
    if (f.all_nodes || std::find(f.nodes.begin(), f.nodes.end(), n) != f.nodes.end()) widest = n;
  std::string path = fanout::sim::serve::socket_path(f.dir, widest);
  if (path.size() > fanout::sim::serve::kMaxSocketPathBytes)
    return "--serve: socket path '" + path + "' is longer than " +
           std::to_string(fanout::sim::serve::kMaxSocketPathBytes) + " bytes (a Unix socket's limit)";
  return "";
}

// ---- A small JSON writer (sim/ depends on nothing in host/) ------------------------------------
class Json {
 public:
  void begin_object(const char *key = nullptr) { open(key, '{'); }
  void end_object() { close('}'); }
  void begin_array(const char *key = nullptr) { open(key, '['); }
  void end_array() { close(']'); }
  void field(const char *key, uint64_t v) { raw(key, std::to_string(v)); }
  void field(const char *key, uint32_t v) { raw(key, std::to_string(v)); }
  void field(const char *key, bool v) { raw(key, v ? "true" : "false"); }
  void field(const char *key, double v) {
    char buf[40];
    if (!std::isfinite(v)) v = 0;
    std::snprintf(buf, sizeof buf, "%.10g", v);
    raw(key, buf);
  }
  void field(const char *key, const std::string &v) { raw(key, quote(v)); }
  void field(const char *key, const char *v) { raw(key, quote(v)); }
  const std::string &text() const { return out_; }

 private:
  static std::string quote(const std::string &s) { return fanout::sim::json_quote(s); }
  void prefix(const char *key) {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ",";
      first_.back() = false;
      out_ += "\n" + std::string(2 * first_.size(), ' ');
    }
    if (key) out_ += quote(key) + ": ";
  }
  void raw(const char *key, const std::string &v) {
    prefix(key);
    out_ += v;
  }
  void open(const char *key, char c) {
    prefix(key);
    out_ += c;
    first_.push_back(true);
  }
  void close(char c) {
    bool empty = first_.back();
    first_.pop_back();
    if (!empty) out_ += "\n" + std::string(2 * first_.size(), ' ');
    out_ += c;
  }
  std::string out_;
  std::vector<bool> first_;
};

void json_percentiles(Json &j, const char *key, const fanout::sim::Percentiles &p) {
  j.begin_object(key);
  j.field("count", p.count);
  j.field("p50", p.p50);
  j.field("p90", p.p90);
  j.field("p99", p.p99);
  j.field("max", p.max);
  j.end_object();
}

void json_ids(Json &j, const char *key, const std::vector<uint16_t> &ids) {
  j.begin_array(key);
  for (uint16_t id : ids) j.field(nullptr, (uint32_t)id);
  j.end_array();
}

std::string hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string to_json(const RunResult &r, const std::vector<std::string> &broken) {
  Json j;
  j.begin_object();
  j.field("ok", broken.empty());
  j.begin_array("failures");
  for (const std::string &b : broken) j.field(nullptr, b);
  j.end_array();
  j.field("name", r.name);
  j.field("nodes", r.nodes);
  j.field("topology", r.topology);
  j.field("mode", r.mode);
  j.field("workload", r.workload);
  j.field("fanout", r.fanout);
  j.field("k", r.k);
  j.field("mean_receivers", r.mean_receivers);
  j.field("window", r.window);
  j.field("kernel_period_ns", r.kernel_period_ns);
  j.field("messages_total", r.messages_total);
  j.field("messages_sent", r.messages_sent);
  j.field("messages_completed", r.messages_completed);
  j.field("messages_failed", r.messages_failed);
  j.field("messages_timed_out", r.messages_timed_out);
  j.field("deliveries_expected", r.deliveries_expected);
  j.field("deliveries", r.deliveries);
  j.field("duplicates", r.duplicates);
  j.field("duplicate_messages", r.duplicate_messages);
  j.field("wrong_receiver", r.wrong_receiver);
  j.field("data_errors", r.data_errors);
  j.field("acks_at_senders", r.acks_at_senders);
  j.field("acks_expected", r.acks_expected);
  j.field("messages_single_ack", r.messages_single_ack);
  j.field("nacks_at_senders", r.nacks_at_senders);
  j.field("silent_receivers", r.silent_receivers);
  j.field("timed_out_receivers", r.timed_out_receivers);
  j.field("gone_receivers", r.gone_receivers);
  j.field("given_up_receivers", r.given_up_receivers);
  j.field("retransmit", r.retransmit);
  j.field("retx_frames", r.retx_frames);
  j.field("retx_payload_bytes", r.retx_payload_bytes);
  j.field("host_probes", r.host_probes);
  j.field("host_non_fanout", r.host_non_fanout);
  j.field("host_unexpected", r.host_unexpected);
  j.field("sim_time_ns", r.sim_time_ns);
  j.field("mac_rx_stall_clocks", r.mac_rx_stall_clocks);
  j.field("all_settled", r.all_settled);
  j.field("wall_seconds", r.wall_seconds);
  json_percentiles(j, "delivery_latency_ns", r.delivery_latency_ns);
  json_percentiles(j, "delivery_latency_cycles", r.delivery_latency_cycles);
  json_percentiles(j, "completion_latency_ns", r.completion_latency_ns);
  json_percentiles(j, "completion_latency_cycles", r.completion_latency_cycles);
  j.field("makespan_ns", r.makespan_ns);
  j.begin_array("steps");
  for (const auto &st : r.step_completion_ns) {
    j.begin_object();
    j.field("step", st.first);
    j.field("completion_ns", st.second);
    j.end_object();
  }
  j.end_array();
  j.field("delivery_digest", hex64(r.delivery_digest));
  j.field("intended_digest", hex64(r.intended_digest));
  j.field("payload_bytes", r.payload_bytes);
  j.field("sender_host_bytes", r.sender_host_bytes);
  j.field("sender_data_frames", r.sender_data_frames);
  j.field("sender_payload_bytes", r.sender_payload_bytes);
  j.field("header_bytes_per_packet", r.header_bytes_per_packet);
  j.field("sender_egress_bytes", r.sender_egress_bytes);
  j.field("ack_host_bytes", r.ack_host_bytes);
  j.field("link_bytes", r.link_bytes);
  j.field("link_frames", r.link_frames);
  j.field("busiest_link", r.busiest_link);
  j.field("busiest_link_utilization", r.busiest_link_utilization);
  j.field("replicator_copies", r.replicator_copies);
  j.field("switch_replicator_copies", r.switch_replicator_copies);
  j.field("acks_aggregated", r.acks_aggregated);
  j.field("auth_signed", r.auth_signed);
  j.field("auth_verified", r.auth_verified);
  j.field("parser_in_beats_per_cycle_mean", r.parser_in_beats_per_cycle_mean);
  j.field("parser_in_beats_per_cycle_max", r.parser_in_beats_per_cycle_max);
  j.field("egress_beats_per_cycle_mean", r.egress_beats_per_cycle_mean);
  j.field("egress_beats_per_cycle_max", r.egress_beats_per_cycle_max);
  const fanout::sim::Drops &d = r.drops;
  j.begin_object("drops");
  j.field("total", d.total());
  j.field("link_loss", d.link_loss);
  j.field("link_down", d.link_down);
  j.field("fcs", d.fcs);
  j.field("switch_buffer", d.switch_buffer);
  j.field("switch_unknown_mac", d.switch_unknown_mac);
  j.field("switch_rx_queue", d.switch_rx_queue);
  j.field("switch_no_port", d.switch_no_port);
  j.field("parser_overflow", d.parser_overflow);
  j.field("mac_rx_dropped", d.mac_rx_dropped);
  j.field("repl_unroutable", d.repl_unroutable);
  j.field("repl_unroutable_ids", d.repl_unroutable_ids);
  j.field("repl_looped_ids", d.repl_looped_ids);
  j.field("repl_port_down", d.repl_port_down);
  j.field("repl_plan_overflow", d.repl_plan_overflow);
  j.field("policy_too_many_receivers", d.policy_too_many_receivers);
  j.field("policy_unknown_id", d.policy_unknown_id);
  j.field("policy_loop", d.policy_loop);
  j.field("policy_rate_limited", d.policy_rate_limited);
  j.field("agg_unroutable", d.agg_unroutable);
  j.field("agg_dropped", d.agg_dropped);
  j.field("host_gone", d.host_gone);
  j.field("bier", d.bier);
  j.begin_object("parse_errors");
  for (const auto &p : d.parse_errors) j.field(p.first.c_str(), p.second);
  j.end_object();
  j.end_object();
  j.begin_array("link_events");
  for (const auto &e : r.link_events) {
    j.begin_object();
    j.field("node", e.node);
    j.field("port", e.port);
    j.field("down", e.down);
    j.field("at_ns", e.at_ns);
    j.end_object();
  }
  j.end_array();
  j.begin_array("faults");
  for (const auto &f : r.faults) {
    j.begin_object();
    j.field("kind", f.kind);
    j.field("link", f.link);
    j.field("at_ns", f.at_ns);
    j.field("duration_ns", f.duration_ns);
    j.field("probability", f.probability);
    j.field("monitored", f.monitored);
    j.field("detected", f.detected);
    j.field("detection_ns", f.detection_ns);
    j.field("detection_cycles", f.detection_cycles);
    j.field("peer_detected", f.peer_detected);
    j.field("peer_detected_by", f.peer_detected_by);
    j.field("peer_detection_ns", f.peer_detection_ns);
    j.field("peer_detection_cycles", f.peer_detection_cycles);
    j.field("repaired", f.repaired);
    j.field("repair_ns", f.repair_ns);
    j.field("in_flight", f.in_flight);
    j.field("in_flight_settled_ns", f.in_flight_settled_ns);
    j.end_object();
  }
  j.end_array();
  j.begin_array("peer_events");
  for (const auto &e : r.peer_events) {
    j.begin_object();
    j.field("node", e.node);
    j.field("peer", e.peer);
    j.field("down", e.down);
    j.field("at_ns", e.at_ns);
    j.end_object();
  }
  j.end_array();
  j.begin_array("messages");
  for (const auto &m : r.messages) {
    j.begin_object();
    j.field("id", m.id);
    j.field("sender", m.sender);
    j.field("step", m.step);
    json_ids(j, "receivers", m.receivers);
    json_ids(j, "delivered", m.delivered);
    json_ids(j, "wrong", m.wrong);
    json_ids(j, "nacked", m.nacked);
    json_ids(j, "timed_out", m.timed_out);
    json_ids(j, "gone", m.gone);
    json_ids(j, "given_up", m.given_up);
    j.field("duplicate_packets", m.duplicate_packets);
    j.field("data_errors", m.data_errors);
    j.field("ack_frames", m.ack_frames);
    j.field("nack_frames", m.nack_frames);
    j.field("posted", m.posted);
    j.field("completed", m.completed);
    j.field("posted_ns", m.posted_ns);
    j.field("completed_ns", m.completed_ns);
    j.end_object();
  }
  j.end_array();
  if (r.serve.enabled) {
    const fanout::sim::ServeReport &sv = r.serve;
    j.begin_object("serve");
    j.field("dir", sv.dir);
    j.field("quantum_ns", sv.quantum_ns);
    j.field("rounds", sv.rounds);
    j.field("duration_reached", sv.duration_reached);
    j.field("frames_from_clients", sv.frames_from_clients);
    j.field("bytes_from_clients", sv.bytes_from_clients);
    j.field("frames_to_clients", sv.frames_to_clients);
    j.field("bytes_to_clients", sv.bytes_to_clients);
    j.field("malformed_records", sv.malformed_records);
    j.begin_object("malformed");
    for (const auto &m : sv.malformed) j.field(m.first.c_str(), m.second);
    j.end_object();
    j.begin_array("clients");
    for (const auto &c : sv.clients) {
      j.begin_object();
      j.field("node", c.node);
      j.field("connected", c.connected);
      j.field("left", c.left);
      j.field("left_at_ns", c.left_at_ns);
      j.field("frames_in", c.frames_in);
      j.field("bytes_in", c.bytes_in);
      j.field("frames_out", c.frames_out);
      j.field("bytes_out", c.bytes_out);
      j.field("malformed", c.malformed);
      j.field("host_gone", c.host_gone);
      j.field("tx_backlog_max", c.tx_backlog_max);
      j.end_object();
    }
    j.end_array();
    j.end_object();
  }
  j.end_object();
  return j.text() + "\n";
}

// ---- Summary ----------------------------------------------------------------------------------
std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

std::string latency_line(const char *what, const fanout::sim::Percentiles &ns, const fanout::sim::Percentiles &cyc) {
  if (ns.count == 0) return fmt("  %-11s none\n", what);
  return fmt(
      "  %-11s p50 %.3f / p90 %.3f / p99 %.3f / max %.3f us  (%.0f / %.0f / %.0f / %.0f cycles, %" PRIu64 " samples)\n",
      what, ns.p50 / 1e3, ns.p90 / 1e3, ns.p99 / 1e3, ns.max / 1e3, cyc.p50, cyc.p90, cyc.p99, cyc.max, ns.count);
}

std::string served_nodes(const fanout::sim::ServeReport &sv) {
  std::string o;
  for (size_t i = 0; i < sv.clients.size();) {
    size_t j = i;
    while (j + 1 < sv.clients.size() && sv.clients[j + 1].node == sv.clients[j].node + 1) j++;
    o += (o.empty() ? "" : ",") + std::to_string(sv.clients[i].node);
    if (j > i) o += "-" + std::to_string(sv.clients[j].node);
    i = j + 1;
  }
  return o;
}

// Serve mode: the cluster, the clients, what the NICs did; no workload verdict.
std::string serve_summary(const RunResult &r, const fanout::sim::Scenario &s) {
  const fanout::sim::ServeReport &sv = r.serve;
  std::string o;
  o += fmt("scenario '%s': %u nodes, %s", r.name.c_str(), r.nodes, r.topology.c_str());
  if (r.topology == "leaf_spine") o += fmt(" (%u leaves, %u spines)", s.leaves, s.spines);
  o += fmt(", %s mode", r.mode.c_str());
  if (r.mode == "tree") o += fmt(" (F = %u)", r.fanout);
  if (r.mode == "unicast") o += " (baseline: one copy per receiver, plain NICs)";
  if (r.mode == "bier") o += " (baseline: one copy per 256-id BIER set, BIER switches, plain NICs)";
  o += fmt(", served: hosts of nodes %s on %s/node<N>.sock\n", served_nodes(sv).c_str(), sv.dir.c_str());
  uint64_t connected = 0, left = 0;
  for (const auto &c : sv.clients) {
    connected += c.connected;
    left += c.left;
  }
  o += fmt("clients: %" PRIu64 " of %zu connected, %" PRIu64 " left, %" PRIu64 " there at the end; %" PRIu64
           " rounds of %.3f us\n",
           connected, sv.clients.size(), left, connected - left, sv.rounds, (double)sv.quantum_ns / 1e3);
  o += fmt("  frames      %" PRIu64 " client->NIC (%" PRIu64 " bytes; %" PRIu64 " in DATA, %" PRIu64
           " in ACK frames), %" PRIu64 " NIC->client (%" PRIu64 " bytes)\n",
           sv.frames_from_clients, sv.bytes_from_clients, r.sender_host_bytes, r.ack_host_bytes, sv.frames_to_clients,
           sv.bytes_to_clients);
  o += fmt("  at hosts    %" PRIu64 " PROBEs, %" PRIu64 " non-Fanout frames, %" PRIu64 " Fanout frames not parsed\n",
           r.host_probes, r.host_non_fanout, r.host_unexpected);
  if (sv.malformed_records) {
    o += fmt("  malformed   %" PRIu64 " records dropped:", sv.malformed_records);
    for (const auto &m : sv.malformed) o += fmt(" %s %" PRIu64 ";", m.first.c_str(), m.second);
    o.back() = '\n';
  } else {
    o += "  malformed   none\n";
  }
  o += fmt("  copies      %" PRIu64 " by NIC replicators, %" PRIu64 " by Fanout switches; %" PRIu64
           " ACKs merged by aggregators\n",
           r.replicator_copies, r.switch_replicator_copies, r.acks_aggregated);
  return o;
}

// The workload: what was posted, delivered, acknowledged, and how long it took.
std::string workload_summary(const RunResult &r, const fanout::sim::Scenario &s) {
  std::string o;
  std::string sets;
  if (r.workload == "sparse")
    sets = fmt("k = %u", r.k);
  else if (r.workload == "broadcast")
    sets = fmt("broadcast, k = %u", r.k);
  else if (r.workload == "allreduce")
    sets = fmt("AllReduce broadcast from root %u", s.allreduce.root);
  else if (r.workload == "checkpoint")
    sets = fmt("checkpoint shards to %u replicas", s.checkpoint.replicas);
  else
    sets = "moe";
  o += fmt("scenario '%s': %u nodes, %s", r.name.c_str(), r.nodes, r.topology.c_str());
  if (r.topology == "leaf_spine") o += fmt(" (%u leaves, %u spines)", s.leaves, s.spines);
  o += fmt(", %s mode", r.mode.c_str());
  if (r.mode == "tree") o += fmt(" (F = %u)", r.fanout);
  if (r.mode == "unicast") o += " (baseline: one copy per receiver, plain NICs)";
  if (r.mode == "bier") o += " (baseline: one copy per 256-id BIER set, BIER switches, plain NICs)";
  o += fmt(", workload %s (%s, %.2f receivers per message), seed %" PRIu64 "\n", r.workload.c_str(), sets.c_str(),
           r.mean_receivers, s.seed);
  o += "traffic:\n";
  o += fmt("  messages    %" PRIu64 " posted of %" PRIu64 ", %" PRIu64 " completed, %" PRIu64 " failed (%" PRIu64
           " timed out); window %u per sender\n",
           r.messages_sent, r.messages_total, r.messages_completed, r.messages_failed, r.messages_timed_out, r.window);
  o += fmt("  bytes       %" PRIu64 " payload, %" PRIu64 " host->NIC in %" PRIu64
           " DATA frames (%.1f header bytes each), %" PRIu64 " in ACK frames; %" PRIu64 " on senders' access links\n",
           r.payload_bytes, r.sender_host_bytes, r.sender_data_frames, r.header_bytes_per_packet, r.ack_host_bytes,
           r.sender_egress_bytes);
  o += fmt("  deliveries  %" PRIu64 " of %" PRIu64 " expected; duplicates %" PRIu64 " packets (%" PRIu64
           " messages); wrong receiver %" PRIu64 "; data errors %" PRIu64 "\n",
           r.deliveries, r.deliveries_expected, r.duplicates, r.duplicate_messages, r.wrong_receiver, r.data_errors);
  double per = r.messages_completed ? (double)r.acks_at_senders / (double)r.messages_completed : 0;
  o +=
      fmt("  ACKs        %" PRIu64 " at senders (%.2f per completed message, %" PRIu64
          " messages with exactly one); NACKs %" PRIu64 " (%" PRIu64 " silent receivers); %" PRIu64
          " receivers timed out\n",
          r.acks_at_senders, per, r.messages_single_ack, r.nacks_at_senders, r.silent_receivers, r.timed_out_receivers);
  o += fmt("  copies      %" PRIu64 " by NIC replicators, %" PRIu64 " by Fanout switches; %" PRIu64
           " ACKs merged by aggregators\n",
           r.replicator_copies, r.switch_replicator_copies, r.acks_aggregated);
  if (r.auth_signed)
    o += fmt("  auth        %" PRIu64 " frames signed by the NICs and Fanout switches, %" PRIu64
             " signed frames verified\n",
             r.auth_signed, r.auth_verified);
  o += fmt("  at hosts    %" PRIu64 " PROBEs, %" PRIu64 " non-Fanout frames, %" PRIu64 " unattributable frames\n",
           r.host_probes, r.host_non_fanout, r.host_unexpected);
  o += "latency (from posting):\n";
  o += latency_line("delivery", r.delivery_latency_ns, r.delivery_latency_cycles);
  o += latency_line("completion", r.completion_latency_ns, r.completion_latency_cycles);
  o += fmt("  makespan   %.3f us from the first post to the last completion\n", (double)r.makespan_ns / 1e3);
  for (const auto &st : r.step_completion_ns)
    o += fmt("  step %-5u %.3f us from its first post to its last completion\n", st.first, (double)st.second / 1e3);
  return o;
}

std::string summary(const RunResult &r, const fanout::sim::Scenario &s, const std::vector<std::string> &broken) {
  std::string o = r.serve.enabled ? serve_summary(r, s) : workload_summary(r, s);
  o += fmt("kernels: NIC beats/cycle: parser in %.4f mean, %.4f max; egress %.4f mean, %.4f max\n",
           r.parser_in_beats_per_cycle_mean, r.parser_in_beats_per_cycle_max, r.egress_beats_per_cycle_mean,
           r.egress_beats_per_cycle_max);
  o += fmt("links: %" PRIu64 " bytes in %" PRIu64 " frames on all links; busiest %s at %.2f %%\n", r.link_bytes,
           r.link_frames, r.busiest_link.c_str(), 100 * r.busiest_link_utilization);
  auto drops = r.drops.nonzero();
  if (drops.empty()) {
    o += "drops: none\n";
  } else {
    o += "drops:";
    for (const auto &d : drops) o += fmt(" %s %" PRIu64 ";", d.first.c_str(), d.second);
    o.back() = '\n';
  }
  if (!r.link_events.empty()) {
    o += "link monitor:";
    for (const auto &e : r.link_events)
      o += fmt(" node%u port %u %s at %.3f us;", e.node, e.port, e.down ? "down" : "up", (double)e.at_ns / 1e3);
    o.back() = '\n';
  }
  for (const auto &f : r.faults) {
    o += fmt("fault: %s on %s at %.3f us", f.kind.c_str(), f.link.c_str(), (double)f.at_ns / 1e3);
    if (f.duration_ns) o += fmt(" for %.3f us", (double)f.duration_ns / 1e3);
    if (f.kind != "link_down") o += fmt(", probability %g", f.probability);
    if (f.kind == "link_down") {
      if (!f.monitored)
        o += ": not detectable (plain L2 switches at both ends: no link monitor)";
      else if (f.detected)
        o += fmt(": detected after %.3f us (%.0f cycles)", (double)f.detection_ns / 1e3, f.detection_cycles);
      else
        o += ": NOT detected";
      if (f.peer_detected)
        o += fmt("; node%u's peer monitor declared it down after %.3f us (%.0f cycles)", f.peer_detected_by,
                 (double)f.peer_detection_ns / 1e3, f.peer_detection_cycles);
      if (f.repaired) o += fmt("; first copy around it %.3f us after the fault", (double)f.repair_ns / 1e3);
      if (f.in_flight)
        o += fmt("; %" PRIu64 " messages in flight settled within %.3f us", f.in_flight,
                 (double)f.in_flight_settled_ns / 1e3);
    }
    o += "\n";
  }
  if (r.gone_receivers || r.retx_frames || r.given_up_receivers)
    o += fmt("repair: %" PRIu64 " receivers named gone, %" PRIu64 " given up; %" PRIu64
             " retransmitted frames (%" PRIu64 " payload bytes)\n",
             r.gone_receivers, r.given_up_receivers, r.retx_frames, r.retx_payload_bytes);
  const char *end = r.all_settled ? "every message settled" : "duration reached";
  if (r.serve.enabled && !r.serve.duration_reached) end = "every client left";
  o += fmt("time: %.3f us simulated (%s), %.2f s wall\n", (double)r.sim_time_ns / 1e3, end, r.wall_seconds);
  if (r.serve.enabled) {
    o += "served: no workload to check\n";
  } else if (broken.empty() && r.retransmit) {
    o += fmt("OK: every message delivered whole to every live receiver; completions name %" PRIu64
             " gone receivers, all on nodes whose link went down\n",
             r.gone_receivers);
  } else if (broken.empty()) {
    o += r.mode == "tree" || r.mode == "port"
             ? "OK: every message delivered exactly once to exactly its receivers, one aggregated ACK per message\n"
             : "OK: every message delivered exactly once to exactly its receivers, one ACK per receiver\n";
  } else {
    o += "FAILED:";
    for (size_t i = 0; i < broken.size(); i++) o += (i ? "; " : " ") + broken[i];
    o += "\n";
  }
  return o;
}

bool is_bool_word(const std::string &v) {
  return v == "true" || v == "false" || v == "yes" || v == "no" || v == "on" || v == "off" || v == "1" || v == "0";
}

// SystemC's reports (warnings, errors) go to stderr: stdout carries the summary or the JSON only.
void report_to_stderr(const sc_core::sc_report &rep, const sc_core::sc_actions &actions) {
  if (actions & sc_core::SC_DISPLAY) std::cerr << sc_core::sc_report_compose_message(rep) << "\n";
  sc_core::sc_report_handler::default_handler(rep, actions & ~sc_core::SC_DISPLAY);
}

int bad_input(const std::string &problem) {
  std::cerr << "fanout-sim: " << problem << "\n";
  return kExitUsage;
}

} // namespace

int sc_main(int argc, char *argv[]) {
  using namespace fanout::sim;
  sc_core::sc_report_handler::set_handler(report_to_stderr);
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string &a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << usage() << flag_help();
      return kExitOk;
    }
  }
  Scenario s;
  ServeFlags serve;
  try {
    // The file first, wherever it stands, so that flags override it.
    std::string file;
    for (size_t i = 0; i < args.size(); i++) {
      const std::string &a = args[i];
      if (a.rfind("--", 0) == 0) {
        if (a.find('=') == std::string::npos && a != "--json" && i + 1 < args.size()) i++; // its value
        if (a == "--json" && i + 1 < args.size() && is_bool_word(args[i + 1])) i++;
        continue;
      }
      if (!file.empty()) return bad_input("one scenario file only (got '" + file + "' and '" + a + "')");
      file = a;
    }
    if (!file.empty()) s = load_scenario_file(file);
    for (size_t i = 0; i < args.size(); i++) {
      const std::string &a = args[i];
      if (a.rfind("--", 0) != 0) continue;
      std::string flag = a.substr(2), value;
      size_t eq = flag.find('=');
      if (eq != std::string::npos) {
        value = flag.substr(eq + 1);
        flag = flag.substr(0, eq);
      } else if (flag == "json") {
        value = i + 1 < args.size() && is_bool_word(args[i + 1]) ? args[++i] : "true";
      } else {
        if (i + 1 >= args.size()) return bad_input("--" + flag + " needs a value (see --help)");
        value = args[++i];
      }
      bool serve_flag = false;
      std::string problem = apply_serve_flag(serve, flag, value, serve_flag);
      if (!problem.empty()) return bad_input(problem);
      if (serve_flag) continue;
      if (!apply_flag(s, flag, value)) return bad_input("unknown flag --" + flag + " (see --help)");
    }
    validate(s, "<flags>");
    std::string problem = check_serve_flags(serve, s.nodes);
    if (!problem.empty()) return bad_input(problem);
  } catch (const ScenarioError &e) {
    return bad_input(e.what());
  }

  RunResult r;
  try {
    if (serve.serve) {
      ServeOptions o;
      o.dir = serve.dir;
      if (!serve.all_nodes) o.nodes = serve.nodes;
      o.quantum_ns = serve.quantum_ns;
      o.wait_s = serve.wait_s;
      r = serve_cluster(s, o);
    } else {
      r = run_cluster(s);
    }
  } catch (const ScenarioError &e) {
    return bad_input(e.what());
  } catch (const std::invalid_argument &e) {
    return bad_input(e.what());
  } catch (const std::exception &e) {
    std::cerr << "fanout-sim: " << (serve.serve ? "" : "simulation error: ") << e.what() << "\n";
    return kExitFailed;
  }
  // Serve mode has no workload to check: the figures are the report.
  std::vector<std::string> broken = serve.serve ? std::vector<std::string>() : failures(r);
  if (serve.serve) {
    std::cout << (s.json ? to_json(r, broken) : summary(r, s, broken)) << std::flush;
    return kExitOk;
  }
  std::cout << (s.json ? to_json(r, broken) : summary(r, s, broken)) << std::flush;
  return broken.empty() ? kExitOk : kExitFailed;
}

int main(int argc, char *argv[]) {
  // `fanout-sim report ...` runs the comparison (tools/report.hpp): it never elaborates SystemC
  // itself, each of its runs is a child fanout-sim.
  if (argc > 1 && std::string(argv[1]) == "report") return fanout::sim::report_main(argc - 1, argv + 1);
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0); // stdout carries the report (or JSON) only
  return sc_core::sc_elab_and_sim(argc, argv);
}
