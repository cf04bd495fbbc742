#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "fanout/sim/cluster.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "ack_agg.hpp"
#include "auth_signer.hpp"
#include "parser.hpp"
#include "replicator.hpp"

#include "fanout/proto/packet.hpp"
#include "fanout/proto/split.hpp"
#include "fanout/sim/fanout_switch.hpp"
#include "fanout/sim/host.hpp"
#include "fanout/sim/link.hpp"
#include "fanout/sim/nic.hpp"
#include "fanout/sim/pcap.hpp"
#include "fanout/sim/plain_nic.hpp"
#include "fanout/sim/switch.hpp"
#include "fanout/sim/workload.hpp"

namespace fanout {
namespace sim {

using sc_core::SC_NS;
using sc_core::SC_PS;
using sc_core::sc_time;

namespace {

constexpr proto::NodeId kLeafBase = 0xF000;  // star switch and leaves
constexpr proto::NodeId kSpineBase = 0xF100; // spines

// Independent, deterministic seeds per link (splitmix64 of the scenario seed and the link index).
uint64_t link_seed(uint64_t seed, uint64_t index) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + (index + 1) * 0xD1B54A32D192ED03ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// FNV-1a, 64 bits, over 64-bit words.
void fnv_mix(uint64_t &h, uint64_t word) {
  for (int i = 0; i < 8; i++) {
    h ^= (word >> (8 * i)) & 0xFF;
    h *= 0x100000001B3ull;
  }
}

uint64_t ids_digest(const std::vector<MessageOutcome> &ms, bool delivered) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (const MessageOutcome &m : ms) {
    fnv_mix(h, m.id);
    fnv_mix(h, m.sender);
    const std::vector<uint16_t> &ids = delivered ? m.delivered : m.receivers;
    fnv_mix(h, ids.size());
    for (uint16_t id : ids) fnv_mix(h, id);
  }
  return h;
}

// Makespan, per-step completion and the delivery digests, from r.messages.
void summarize_times(RunResult &r) {
  uint64_t first_post = UINT64_MAX, last_done = 0;
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> steps; // step -> (first post, last completion)
  for (const MessageOutcome &m : r.messages) {
    if (!m.posted) continue;
    first_post = std::min(first_post, m.posted_ns);
    auto &st = steps.emplace(m.step, std::make_pair(UINT64_MAX, (uint64_t)0)).first->second;
    st.first = std::min(st.first, m.posted_ns);
    if (!m.completed) continue;
    last_done = std::max(last_done, m.completed_ns);
    st.second = std::max(st.second, m.completed_ns);
  }
  if (last_done) r.makespan_ns = last_done - first_post;
  if (r.workload == "moe")
    for (const auto &st : steps)
      if (st.second.second) r.step_completion_ns.push_back({st.first, st.second.second - st.second.first});
  r.delivery_digest = ids_digest(r.messages, true);
  r.intended_digest = ids_digest(r.messages, false);
}

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  p.count = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) { // nearest rank
    size_t i = (size_t)std::ceil(q * (double)v.size());
    return v[std::min(v.size(), std::max<size_t>(i, 1)) - 1];
  };
  p.p50 = rank(0.50);
  p.p90 = rank(0.90);
  p.p99 = rank(0.99);
  p.max = v.back();
  return p;
}

uint64_t to_ns(const sc_time &t) {
  return (uint64_t)std::llround(t.to_seconds() * 1e9);
}

// One link of the fabric, its name ("node3", "leaf0-spine1"), the names of its two ends.
struct FabricLink {
  std::string name, end0, end1;
  std::unique_ptr<Link> link;
  std::unique_ptr<PcapWriter> pcap[2];
};

// Switch::connect and FanoutSwitch::connect spawn their port processes in the caller's scope
// with fixed names (egress_<p>, heartbeat_<p>), so the ports of two switches connected from one
// scope collide (SystemC warns on stdout and renames). Each switch's ports are connected from a
// scope of their own instead: <switch>_ports.egress_<p>.
class ConnectScope : public sc_core::sc_module {
 public:
  ConnectScope(sc_core::sc_module_name n, const std::vector<std::function<void()>> &connects) : sc_module(n) {
    for (const auto &c : connects) c();
  }
};

} // namespace

struct Cluster::Impl {
  Impl(const Scenario &s, const ClusterOptions &o, Cluster::Hosts hosts);
  RunResult run();
  RunResult collect(double wall_seconds);
  void finish();

  Link &make_link(const std::string &name, const std::string &end0, const std::string &end1);
  void build_nodes();
  void build_star_tree();
  void build_leaf_spine_tree();
  void build_star_port();
  void build_leaf_spine_port();
  template <class Sw> void defer_connect(Sw &sw, uint32_t port, Link &link, int side) {
    std::string scope = std::string(sw.basename()) + "_ports";
    auto it = std::find_if(connects_.begin(), connects_.end(), [&](const auto &c) { return c.first == scope; });
    if (it == connects_.end()) it = connects_.insert(connects_.end(), {scope, {}});
    it->second.push_back([&sw, port, &link, side] { sw.connect(port, link, side); });
  }
  void schedule_faults();
  void open_captures();

  uint32_t leaf_of(uint32_t n) const { return n / per_leaf_; }
  bool baseline() const { return s_.mode == Mode::kUnicast || s_.mode == Mode::kBier; }
  // Baselines: plain NICs have no link monitor, so the switches send no heartbeats.
  sc_time heartbeat_interval() const {
    return baseline() ? sc_core::SC_ZERO_TIME : kernel_period_ * (double)s_.heartbeat_clocks;
  }
  HostPort &node_port(uint32_t n) {
    return baseline() ? static_cast<HostPort &>(*plain_nics_.at(n)) : static_cast<HostPort &>(*nics_.at(n));
  }
  // Node n's NIC on side 0 of its access link; tree mode: it knows every other node on port 0.
  void connect_node(uint32_t n, Link &l);

  Scenario s_; // a copy: the caller's may not outlive the cluster
  ClusterOptions opt_;
  Cluster::Hosts host_kind_;
  uint32_t per_leaf_ = 1;
  std::unique_ptr<Ledger> ledger_;
  std::vector<std::unique_ptr<Nic>> nics_;            // tree and port mode
  std::vector<std::unique_ptr<PlainNic>> plain_nics_; // unicast and bier (baselines)
  sc_time kernel_period_{};
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<Switch>> switches_;        // tree mode: star switch or leaves then spines
  std::vector<std::unique_ptr<FanoutSwitch>> fswitches_; // port mode: same order
  std::vector<FabricLink> links_;
  std::vector<std::pair<std::string, std::vector<std::function<void()>>>> connects_; // by scope, in order
  std::vector<std::unique_ptr<ConnectScope>> scopes_;
  sc_core::sc_event all_settled_;
  bool settled_ = false;
  bool finished_ = false;
  sc_time min_end_{}; // faults need the run to reach past their start
};

Cluster::Impl::Impl(const Scenario &s, const ClusterOptions &o, Cluster::Hosts hosts)
    : s_(s), opt_(o), host_kind_(hosts) {
  validate(s_, "scenario");
  if (hosts == Cluster::Hosts::kNone && baseline())
    throw std::invalid_argument(std::string("serve mode runs Fanout NICs: nic.mode must be tree or port (got ") +
                                name(s_.mode) + ")");
  if (s_.topology == Topology::kLeafSpine) per_leaf_ = s_.nodes / s_.leaves;
  // Without workload hosts the ledger is empty: nothing is generated, nothing to settle.
  ledger_ = std::make_unique<Ledger>(
      hosts == Cluster::Hosts::kWorkload ? generate_workload(s_) : std::vector<Message>(), opt_.payload_bytes);
  build_nodes();
  if (s_.mode != Mode::kPort) {
    if (s_.topology == Topology::kStar)
      build_star_tree();
    else
      build_leaf_spine_tree();
  } else {
    if (s_.topology == Topology::kStar)
      build_star_port();
    else
      build_leaf_spine_port();
  }
  for (const auto &c : connects_) scopes_.push_back(std::make_unique<ConnectScope>(c.first.c_str(), c.second));
  schedule_faults();
  open_captures();
  ledger_->on_all_settled([this] {
    settled_ = true;
    all_settled_.notify(sc_core::SC_ZERO_TIME);
  });
}

Link &Cluster::Impl::make_link(const std::string &name, const std::string &end0, const std::string &end1) {
  LinkConfig c;
  c.gbps = s_.link.gbps;
  c.delay = sc_time((double)s_.link.delay_ns, SC_NS);
  c.loss = s_.link.loss;
  c.corrupt = s_.link.corrupt;
  c.seed = link_seed(s_.seed, links_.size());
  for (const FaultSpec &f : s_.faults) {
    if (f.kind != FaultKind::kLinkDown || f.link != name) continue;
    c.schedule.emplace_back(sc_time((double)f.at_ns, SC_NS), false);
    if (f.duration_ns) c.schedule.emplace_back(sc_time((double)(f.at_ns + f.duration_ns), SC_NS), true);
  }
  std::stable_sort(c.schedule.begin(), c.schedule.end(),
                   [](const auto &a, const auto &b) { return a.first < b.first; });
  FabricLink fl;
  fl.name = name;
  fl.end0 = end0;
  fl.end1 = end1;
  std::string module = "link_" + name;
  std::replace(module.begin(), module.end(), '-', '_');
  fl.link = std::make_unique<Link>(module.c_str(), c);
  links_.push_back(std::move(fl));
  return *links_.back().link;
}

void Cluster::Impl::build_nodes() {
  for (uint32_t n = 0; baseline() && n < s_.nodes; n++) {
    // The Fanout kernels' clock, so that latencies in cycles compare across modes.
    sc_time period = sc_time(std::round(1e6 / s_.kernel_mhz), SC_PS);
    std::string name = "nic" + std::to_string(n);
    plain_nics_.push_back(std::make_unique<PlainNic>(name.c_str(), (proto::NodeId)n, period));
  }
  for (uint32_t n = 0; !baseline() && n < s_.nodes; n++) {
    NicConfig c;
    c.node = (proto::NodeId)n;
    c.port_mode = s_.mode == Mode::kPort;
    c.fanout = s_.fanout;
    c.heartbeat_clocks = s_.heartbeat_clocks;
    c.kernel_mhz = s_.kernel_mhz;
    c.mac_mhz = s_.mac_mhz;
    c.silent_timeout_clocks = opt_.silent_timeout_clocks ? opt_.silent_timeout_clocks : s_.silent_timeout_clocks;
    c.peer_interval_clocks = s_.peer_interval_clocks;
    c.policy = proto::open_set_policy();
    c.policy.max_receivers = s_.max_receivers;
    c.policy.first_id = 0;
    c.policy.last_id = (proto::NodeId)(s_.nodes - 1);
    c.rate = rate_config(s_);
    c.auth_mode = s_.auth;
    std::memcpy(c.auth_key, s_.auth_key, sizeof c.auth_key);
    if (std::find(opt_.foreign_key_nodes.begin(), opt_.foreign_key_nodes.end(), n) != opt_.foreign_key_nodes.end())
      c.auth_key[0] ^= 0x5A; // fault injection: a node configured with another group key
    if (std::find(s_.fst_nodes.begin(), s_.fst_nodes.end(), n) != s_.fst_nodes.end()) {
      std::filesystem::create_directories(s_.output_dir);
      c.fst_path = s_.output_dir + "/nic" + std::to_string(n) + ".fst";
    }
    std::string name = "nic" + std::to_string(n);
    nics_.push_back(std::make_unique<Nic>(name.c_str(), c));
  }
  kernel_period_ = baseline() ? plain_nics_[0]->kernel_period() : nics_[0]->kernel_period();
  if (host_kind_ != Cluster::Hosts::kWorkload) return;
  HostConfig hc;
  hc.window = opt_.window;
  hc.retransmit = s_.retransmit;
  hc.transport = s_.mode == Mode::kUnicast ? Transport::kUnicast
                 : s_.mode == Mode::kBier  ? Transport::kBier
                                           : Transport::kFanout;
  if (opt_.message_timeout_ns) {
    hc.message_timeout = sc_time((double)opt_.message_timeout_ns, SC_NS);
  } else if (s_.message_timeout_us) {
    hc.message_timeout = sc_time((double)s_.message_timeout_us, sc_core::SC_US);
  } else if (baseline()) {
    hc.message_timeout = sc_core::SC_ZERO_TIME; // no aggregator NACKs to wait for: wait to the end
  } else {
    uint32_t silent = opt_.silent_timeout_clocks ? opt_.silent_timeout_clocks
                      : s_.silent_timeout_clocks ? s_.silent_timeout_clocks
                                                 : hw::kAggDefaultSilentTimeout;
    hc.message_timeout = kernel_period_ * (2.0 * silent) + sc_time(100, sc_core::SC_US);
  }
  for (uint32_t n = 0; n < s_.nodes; n++) {
    std::string name = "host" + std::to_string(n);
    hosts_.push_back(std::make_unique<Host>(name.c_str(), node_port(n), *ledger_, hc));
  }
}

namespace {

// Tree mode: a NIC reaches every other node through port 0 at that node's own addresses.
void tree_neighbours(Nic &nic, uint32_t nodes) {
  for (uint32_t m = 0; m < nodes; m++) {
    if (m == nic.node_id()) continue;
    nic.set_neighbour((proto::NodeId)m, 0, cluster_mac48((proto::NodeId)m), proto::cluster_ipv4((proto::NodeId)m));
  }
}

// Port mode: a NIC sends every copy to its top-of-rack Fanout node (port 0's peer), delivers
// its own id locally, and knows the addresses of everything behind port 0.
void port_neighbours(Nic &nic, uint32_t nodes, proto::NodeId tor, const Mac48 &tor_mac, uint32_t tor_ipv4) {
  for (uint32_t m = 0; m < nodes; m++) {
    proto::NodeId id = (proto::NodeId)m;
    if (id == nic.node_id()) {
      nic.set_port_route(id, proto::kPortLocal);
      continue;
    }
    nic.set_port_route(id, 0);
    nic.set_neighbour(id, 0, cluster_mac48(id), proto::cluster_ipv4(id));
  }
  nic.set_port_peer(0, tor);
  nic.set_neighbour(tor, 0, tor_mac, tor_ipv4);
}

} // namespace

void Cluster::Impl::connect_node(uint32_t n, Link &l) {
  if (baseline()) {
    plain_nics_[n]->connect(l, 0);
    return;
  }
  nics_[n]->connect(0, l, 0);
  tree_neighbours(*nics_[n], s_.nodes);
}

void Cluster::Impl::build_star_tree() {
  SwitchConfig c;
  c.ports = s_.nodes;
  c.buffer_bytes = s_.switch_buffer_bytes;
  c.heartbeat_interval = heartbeat_interval();
  c.node_id = kLeafBase;
  c.bier = s_.mode == Mode::kBier;
  switches_.push_back(std::make_unique<Switch>("switch", c));
  Switch &sw = *switches_.back();
  for (uint32_t n = 0; n < s_.nodes; n++) {
    Link &l = make_link("node" + std::to_string(n), "nic", "switch");
    connect_node(n, l);
    defer_connect(sw, n, l, 1);
    sw.set_route((proto::NodeId)n, n);
  }
}

void Cluster::Impl::build_leaf_spine_tree() {
  for (uint32_t L = 0; L < s_.leaves; L++) {
    SwitchConfig c;
    c.ports = per_leaf_ + s_.spines;
    c.buffer_bytes = s_.switch_buffer_bytes;
    c.heartbeat_interval = heartbeat_interval();
    c.node_id = (proto::NodeId)(kLeafBase + L);
    c.bier = s_.mode == Mode::kBier;
    std::string name = "leaf" + std::to_string(L);
    switches_.push_back(std::make_unique<Switch>(name.c_str(), c));
  }
  for (uint32_t S = 0; S < s_.spines; S++) {
    SwitchConfig c;
    c.ports = s_.leaves;
    c.buffer_bytes = s_.switch_buffer_bytes;
    c.heartbeat_interval = heartbeat_interval();
    c.node_id = (proto::NodeId)(kSpineBase + S);
    c.bier = s_.mode == Mode::kBier;
    std::string name = "spine" + std::to_string(S);
    switches_.push_back(std::make_unique<Switch>(name.c_str(), c));
  }
  for (uint32_t n = 0; n < s_.nodes; n++) {
    Link &l = make_link("node" + std::to_string(n), "nic", "leaf");
    connect_node(n, l);
    defer_connect(*switches_[leaf_of(n)], n % per_leaf_, l, 1);
  }
  for (uint32_t L = 0; L < s_.leaves; L++) {
    for (uint32_t S = 0; S < s_.spines; S++) {
      Link &l = make_link("leaf" + std::to_string(L) + "-spine" + std::to_string(S), "leaf", "spine");
      defer_connect(*switches_[L], per_leaf_ + S, l, 0);
      defer_connect(*switches_[s_.leaves + S], L, l, 1);
    }
  }
  for (uint32_t m = 0; m < s_.nodes; m++) {
    for (uint32_t L = 0; L < s_.leaves; L++) {
      uint32_t port = leaf_of(m) == L ? m % per_leaf_ : per_leaf_ + leaf_of(m) % s_.spines;
      switches_[L]->set_route((proto::NodeId)m, port);
    }
    for (uint32_t S = 0; S < s_.spines; S++) switches_[s_.leaves + S]->set_route((proto::NodeId)m, leaf_of(m));
  }
}

namespace {

FanoutSwitchConfig fanout_switch_config(const Scenario &s, const ClusterOptions &o, proto::NodeId id, uint32_t ports,
                                        sc_time heartbeat) {
  if (ports > FanoutSwitch::kMaxPorts) {
    throw std::invalid_argument("port mode: a Fanout switch has at most " + std::to_string(FanoutSwitch::kMaxPorts) +
                                " ports (this topology needs " + std::to_string(ports) +
                                "): use topology leaf_spine with more leaves");
  }
  FanoutSwitchConfig c;
  c.node_id = id;
  c.ports = ports;
  c.rx_queue_bytes = s.switch_buffer_bytes; // the same per-port buffer as the L2 switches
  c.kernel_mhz = s.kernel_mhz;
  c.heartbeat_interval = heartbeat;
  c.silent_timeout_clocks = o.silent_timeout_clocks ? o.silent_timeout_clocks : s.silent_timeout_clocks;
  c.policy = proto::open_set_policy();
  c.policy.max_receivers = s.max_receivers;
  c.policy.first_id = 0;
  c.policy.last_id = (proto::NodeId)(s.nodes - 1);
  c.rate = rate_config(s);
  c.auth_mode = s.auth;
  std::memcpy(c.auth_key, s.auth_key, sizeof c.auth_key);
  return c;
}

} // namespace

void Cluster::Impl::build_star_port() {
  fswitches_.push_back(std::make_unique<FanoutSwitch>(
      "switch", fanout_switch_config(s_, opt_, kLeafBase, s_.nodes, heartbeat_interval())));
  FanoutSwitch &sw = *fswitches_.back();
  for (uint32_t n = 0; n < s_.nodes; n++) {
    proto::NodeId id = (proto::NodeId)n;
    Link &l = make_link("node" + std::to_string(n), "nic", "switch");
    nics_[n]->connect(0, l, 0);
    defer_connect(sw, n, l, 1);
    sw.set_neighbour(id, (uint8_t)n, cluster_mac48(id), proto::cluster_ipv4(id));
    sw.set_port_route(id, (uint8_t)n);
    sw.set_port_peer((uint8_t)n, id);
    port_neighbours(*nics_[n], s_.nodes, kLeafBase, sw.mac(), sw.ipv4());
  }
}

void Cluster::Impl::build_leaf_spine_port() {
  for (uint32_t L = 0; L < s_.leaves; L++) {
    std::string name = "leaf" + std::to_string(L);
    fswitches_.push_back(std::make_unique<FanoutSwitch>(
        name.c_str(),
        fanout_switch_config(s_, opt_, (proto::NodeId)(kLeafBase + L), per_leaf_ + s_.spines, heartbeat_interval())));
  }
  for (uint32_t S = 0; S < s_.spines; S++) {
    std::string name = "spine" + std::to_string(S);
    fswitches_.push_back(
        std::make_unique<FanoutSwitch>(name.c_str(), fanout_switch_config(s_, opt_, (proto::NodeId)(kSpineBase + S),
                                                                          s_.leaves, heartbeat_interval())));
  }
  auto leaf = [&](uint32_t L) -> FanoutSwitch & { return *fswitches_[L]; };
  auto spine = [&](uint32_t S) -> FanoutSwitch & { return *fswitches_[s_.leaves + S]; };
  for (uint32_t n = 0; n < s_.nodes; n++) {
    Link &l = make_link("node" + std::to_string(n), "nic", "leaf");
    FanoutSwitch &lf = leaf(leaf_of(n));
    nics_[n]->connect(0, l, 0);
    defer_connect(lf, n % per_leaf_, l, 1);
    port_neighbours(*nics_[n], s_.nodes, lf.config().node_id, lf.mac(), lf.ipv4());
  }
  for (uint32_t L = 0; L < s_.leaves; L++) {
    for (uint32_t S = 0; S < s_.spines; S++) {
      Link &l = make_link("leaf" + std::to_string(L) + "-spine" + std::to_string(S), "leaf", "spine");
      defer_connect(leaf(L), per_leaf_ + S, l, 0);
      defer_connect(spine(S), L, l, 1);
      // Each end is the other's port peer (the child its aggregator expects).
      uint8_t up = (uint8_t)(per_leaf_ + S);
      leaf(L).set_port_peer(up, spine(S).config().node_id);
      // Local repair: an uplink's backup is the next spine's (precomputed, docs/reliability.md).
      if (s_.spines > 1) leaf(L).set_port_backup(up, (uint8_t)(per_leaf_ + (S + 1) % s_.spines));
      leaf(L).set_neighbour(spine(S).config().node_id, up, spine(S).mac(), spine(S).ipv4());
      spine(S).set_port_peer((uint8_t)L, leaf(L).config().node_id);
      spine(S).set_neighbour(leaf(L).config().node_id, (uint8_t)L, leaf(L).mac(), leaf(L).ipv4());
    }
  }
  for (uint32_t m = 0; m < s_.nodes; m++) {
    proto::NodeId id = (proto::NodeId)m;
    Mac48 mac = cluster_mac48(id);
    uint32_t ip = proto::cluster_ipv4(id);
    for (uint32_t L = 0; L < s_.leaves; L++) {
      uint8_t port = (uint8_t)(leaf_of(m) == L ? m % per_leaf_ : per_leaf_ + leaf_of(m) % s_.spines);
      leaf(L).set_port_route(id, port);
      leaf(L).set_neighbour(id, port, mac, ip);
      if (leaf_of(m) == L) leaf(L).set_port_peer(port, id);
    }
    for (uint32_t S = 0; S < s_.spines; S++) {
      spine(S).set_port_route(id, (uint8_t)leaf_of(m));
      spine(S).set_neighbour(id, (uint8_t)leaf_of(m), mac, ip);
    }
  }
}

void Cluster::Impl::schedule_faults() {
  for (const FaultSpec &f : s_.faults) {
    sc_time at((double)f.at_ns, SC_NS);
    if (f.kind == FaultKind::kLinkDown) {
      // Run long enough to see the fault detected: 3 heartbeat intervals and some slack.
      sc_time until = at + heartbeat_interval() * 4.0 + sc_time(1, sc_core::SC_US);
      if (until > min_end_) min_end_ = until;
      continue; // the link's own down schedule (make_link)
    }
    if (at > min_end_) min_end_ = at;
    Link *link = nullptr;
    for (FabricLink &fl : links_)
      if (fl.name == f.link) link = fl.link.get();
    if (!link) throw std::invalid_argument("fault on unknown link '" + f.link + "'");
    bool loss = f.kind == FaultKind::kLoss;
    double base = loss ? s_.link.loss : s_.link.corrupt;
    FaultSpec fault = f;
    sc_core::sc_spawn(
        [link, loss, base, fault] {
          sc_core::wait(sc_time((double)fault.at_ns, SC_NS));
          loss ? link->set_loss(fault.probability) : link->set_corrupt(fault.probability);
          if (fault.duration_ns == 0) return;
          sc_core::wait(sc_time((double)fault.duration_ns, SC_NS));
          loss ? link->set_loss(base) : link->set_corrupt(base);
        },
        sc_core::sc_gen_unique_name("fault"));
  }
}

void Cluster::Impl::open_captures() {
  for (const std::string &name : s_.pcap_links) {
    for (FabricLink &fl : links_) {
      if (fl.name != name || fl.pcap[0]) continue;
      std::filesystem::create_directories(s_.output_dir);
      for (int side = 0; side < 2; side++) {
        std::string from = side == 0 ? fl.end0 : fl.end1, to = side == 0 ? fl.end1 : fl.end0;
        fl.pcap[side] =
            std::make_unique<PcapWriter>(s_.output_dir + "/" + fl.name + "." + from + "-to-" + to + ".pcap");
        fl.link->set_pcap(side, fl.pcap[side].get());
      }
    }
  }
}

RunResult Cluster::Impl::run() {
  sc_time duration((double)s_.duration_ns, SC_NS);
  if (min_end_ > duration) min_end_ = duration;
  bool empty = ledger_->size() == 0;
  sc_core::sc_spawn(
      [this, empty] {
        if (!empty) sc_core::wait(all_settled_);
        settled_ = true;
        if (sc_core::sc_time_stamp() < min_end_) sc_core::wait(min_end_ - sc_core::sc_time_stamp());
        sc_core::sc_stop();
      },
      "stop_when_settled");
  auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start(duration);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RunResult r = collect(wall);
  finish();
  return r;
}

void Cluster::Impl::finish() {
  if (finished_) return;
  finished_ = true;
  // Reached the duration: stop properly, so the NICs flush their waveforms (end_of_simulation).
  if (sc_core::sc_get_status() != sc_core::SC_STOPPED) sc_core::sc_stop();
  for (FabricLink &fl : links_)
    for (auto &p : fl.pcap)
      if (p) p->flush();
}

RunResult Cluster::Impl::collect(double wall_seconds) {
  RunResult r;
  r.name = s_.name;
  r.retransmit = s_.retransmit;
  for (const FaultSpec &f : s_.faults) {
    if (f.kind != FaultKind::kLinkDown || f.link.rfind("node", 0) != 0) continue;
    uint16_t n = (uint16_t)std::stoul(f.link.substr(4));
    if (std::find(r.dead_nodes.begin(), r.dead_nodes.end(), n) == r.dead_nodes.end()) r.dead_nodes.push_back(n);
  }
  std::sort(r.dead_nodes.begin(), r.dead_nodes.end());
  r.topology = name(s_.topology);
  r.mode = name(s_.mode);
  r.workload = name(s_.workload);
  r.nodes = s_.nodes;
  r.fanout = s_.fanout;
  r.k = s_.workload == Workload::kSparse ? s_.k : s_.workload == Workload::kBroadcast ? s_.nodes - 1 : 0;
  r.window = opt_.window;
  WorkloadSummary ws = summarize(ledger_->messages());
  r.mean_receivers = ws.mean_receivers;
  double period_ns = kernel_period_.to_seconds() * 1e9;
  r.kernel_period_ns = period_ns;
  r.sim_time_ns = to_ns(sc_core::sc_time_stamp());
  r.all_settled = settled_;
  r.wall_seconds = wall_seconds;

  // Messages
  std::vector<double> delivery, completion;
  r.messages_total = ledger_->size();
  for (size_t i = 0; i < ledger_->size(); i++) {
    const MessageRecord &m = ledger_->record(i);
    MessageOutcome o;
    o.id = m.message->id;
    o.sender = m.message->sender;
    o.step = m.message->step;
    o.receivers = m.message->receivers;
    o.wrong = m.wrong_receivers;
    o.data_errors = m.data_errors;
    o.ack_frames = m.ack_frames;
    o.nack_frames = m.nack_frames;
    o.posted = m.posted;
    o.completed = m.completed;
    o.posted_ns = to_ns(m.posted_at);
    o.completed_ns = m.completed ? to_ns(m.completed_at) : 0;
    for (const ReceiverOutcome &ro : m.receivers) {
      o.duplicate_packets += ro.duplicate_packets;
      if (ro.delivered) {
        o.delivered.push_back(ro.node);
        delivery.push_back((ro.delivered_at - m.posted_at).to_seconds() * 1e9);
      }
      if (ro.nacked) o.nacked.push_back(ro.node);
      if (ro.silent) r.silent_receivers++;
      if (ro.timed_out) o.timed_out.push_back(ro.node);
      if (ro.gone) o.gone.push_back(ro.node);
      if (ro.given_up) o.given_up.push_back(ro.node);
      if (ro.retransmits) o.retransmitted.push_back(ro.node);
    }
    r.gone_receivers += o.gone.size();
    r.given_up_receivers += o.given_up.size();
    r.retx_frames += m.retx_frames;
    r.retx_payload_bytes += m.retx_payload_bytes;
    if (m.posted) {
      r.messages_sent++;
      r.deliveries_expected += m.receivers.size();
      r.payload_bytes += m.message->bytes;
    }
    if (m.completed) {
      r.messages_completed++;
      r.acks_expected += baseline() ? m.receivers.size() : 1;
      completion.push_back((m.completed_at - m.posted_at).to_seconds() * 1e9);
      if (m.ack_frames == 1) r.messages_single_ack++;
    } else if (m.settled) {
      r.messages_failed++;
      if (!o.timed_out.empty()) r.messages_timed_out++;
    }
    r.timed_out_receivers += o.timed_out.size();
    r.deliveries += o.delivered.size();
    r.duplicates += o.duplicate_packets;
    r.duplicate_messages += m.duplicate_messages;
    r.wrong_receiver += m.wrong_receivers.size();
    r.data_errors += m.data_errors;
    r.acks_at_senders += m.ack_frames;
    r.nacks_at_senders += m.nack_frames;
    r.messages.push_back(std::move(o));
  }
  summarize_times(r);
  r.delivery_latency_ns = percentiles(delivery);
  r.completion_latency_ns = percentiles(completion);
  for (double &d : delivery) d /= period_ns;
  for (double &d : completion) d /= period_ns;
  r.delivery_latency_cycles = percentiles(delivery);
  r.completion_latency_cycles = percentiles(completion);

  // Hosts
  for (const auto &h : hosts_) {
    const HostStats &hs = h->stats();
    r.sender_host_bytes += hs.data_bytes_sent;
    r.sender_data_frames += hs.data_frames_sent;
    r.sender_payload_bytes += hs.data_payload_bytes_sent;
    r.ack_host_bytes += hs.ack_bytes_sent;
    r.host_probes += hs.probes;
    r.host_non_fanout += hs.non_fanout;
    r.host_unexpected +=
        hs.parse_errors + hs.unknown_message + hs.feedback_not_mine + hs.build_errors + hs.bier_not_addressed;
    // ACK/NACK frames a host could not attribute are not in the ledger's per-message counts.
  }
  if (r.sender_data_frames)
    r.header_bytes_per_packet = (double)(r.sender_host_bytes - r.sender_payload_bytes) / (double)r.sender_data_frames;

  // Links. A node's access link is "node<N>", side 0 its NIC.
  std::vector<bool> sends(s_.nodes, false);
  for (const Message &m : ledger_->messages()) sends[m.sender] = true;
  for (const FabricLink &fl : links_) {
    if (fl.name.rfind("node", 0) == 0 && sends.at(std::stoul(fl.name.substr(4))))
      r.sender_egress_bytes += fl.link->stats(0).bytes;
    for (int side = 0; side < 2; side++) {
      const LinkStats &ls = fl.link->stats(side);
      r.link_bytes += ls.bytes;
      r.link_frames += ls.frames;
      r.drops.link_loss += ls.lost;
      r.drops.link_down += ls.dropped_down;
      double u = fl.link->utilization(side);
      if (u > r.busiest_link_utilization || r.busiest_link.empty()) {
        r.busiest_link_utilization = u;
        r.busiest_link = fl.name + "." + (side == 0 ? fl.end0 : fl.end1) + "-to-" + (side == 0 ? fl.end1 : fl.end0);
      }
    }
  }

  // Kernels
  auto add_parse_codes = [&](const std::vector<uint32_t> &codes) {
    for (size_t c = 0; c < codes.size(); c++) {
      if (c == proto::kOk || c == proto::kNotFanout || codes[c] == 0) continue;
      r.drops.parse_errors[proto::error_name((int)c)] += codes[c];
    }
  };
  auto add_replicator = [&](const std::vector<uint32_t> &c) {
    r.drops.repl_unroutable += c[hw::kCntUnroutableCopies];
    r.drops.repl_unroutable_ids += c[hw::kCntUnroutableIds];
    r.drops.repl_looped_ids += c[hw::kCntLoopedIds];
    r.drops.repl_port_down += c[hw::kCntPortDownCopies];
    r.drops.repl_plan_overflow += c[hw::kCntPlanOverflow];
    r.drops.policy_too_many_receivers += c[hw::kCntPolicyTooManyReceivers];
    r.drops.policy_unknown_id += c[hw::kCntPolicyUnknownId];
    r.drops.policy_loop += c[hw::kCntPolicyLoop];
    r.drops.policy_rate_limited += c[hw::kCntPolicyRateLimited];
  };
  // nic.auth: what a node's signer signed, its parser verified and refused.
  auto add_auth = [&](const std::vector<uint32_t> &parser_auth, const std::vector<uint32_t> &signer) {
    if (signer.empty()) return;
    r.auth_signed += signer[hw::kSignCntSigned];
    r.auth_verified += parser_auth[proto::kAuthOk];
    r.drops.auth_bad_tag += parser_auth[proto::kAuthBadTag];
    r.drops.auth_replayed += parser_auth[proto::kAuthReplayed];
    r.drops.auth_stale += parser_auth[proto::kAuthStale];
    r.drops.auth_unknown_origin += parser_auth[proto::kAuthUnknownOrigin];
    // Unsigned frames are dropped only where signing is required (nic.auth require).
    if (s_.auth == hw::kParserAuthRequire) r.drops.auth_unsigned += parser_auth[proto::kAuthUnsigned];
  };
  double parser_sum = 0, egress_sum = 0;
  for (const auto &nic : nics_) {
    NicStats ns = nic->stats();
    double cycles = ns.kernel_cycles ? (double)ns.kernel_cycles : 1.0;
    double pin = (double)ns.parser_in_beats / cycles, eg = (double)ns.egress_beats / cycles;
    parser_sum += pin;
    egress_sum += eg;
    r.parser_in_beats_per_cycle_max = std::max(r.parser_in_beats_per_cycle_max, pin);
    r.egress_beats_per_cycle_max = std::max(r.egress_beats_per_cycle_max, eg);
    r.replicator_copies += ns.replicator[hw::kCntCopiesSent];
    r.acks_aggregated += ns.ack_agg[hw::kAggCntAcksMerged];
    add_auth(ns.parser_auth, ns.signer);
    r.drops.fcs += ns.parser_bad_frames;
    r.drops.parser_overflow += ns.parser_overflow;
    r.drops.mac_rx_dropped += ns.mac_rx_dropped;
    r.mac_rx_stall_clocks += ns.mac_rx_stall_clocks;
    r.drops.agg_unroutable += ns.ack_agg[hw::kAggCntUnroutable];
    r.drops.agg_dropped += ns.agg_dropped;
    add_parse_codes(ns.parse_codes);
    add_replicator(ns.replicator);
    for (const Nic::PortEvent &e : nic->port_events()) {
      if (e.port != 0) continue; // port 1 has no link: it reads down from the start
      r.link_events.push_back(LinkEvent{nic->node_id(), e.port, e.down, to_ns(e.at)});
    }
    for (const Nic::PeerEvent &e : nic->peer_events())
      r.peer_events.push_back(PeerEventOut{nic->node_id(), e.node, e.down, to_ns(e.at)});
  }
  std::sort(r.peer_events.begin(), r.peer_events.end(), [](const PeerEventOut &a, const PeerEventOut &b) {
    return a.at_ns < b.at_ns || (a.at_ns == b.at_ns && a.node < b.node);
  });
  if (!nics_.empty()) {
    r.parser_in_beats_per_cycle_mean = parser_sum / (double)nics_.size();
    r.egress_beats_per_cycle_mean = egress_sum / (double)nics_.size();
  }
  for (const auto &nic : plain_nics_) r.drops.fcs += nic->stats().rx_fcs_bad;
  for (const auto &sw : switches_) {
    for (uint32_t p = 0; p < sw->ports(); p++) {
      const SwitchPortStats &ps = sw->stats(p);
      r.drops.fcs += ps.drops_fcs;
      r.drops.switch_buffer += ps.drops_buffer;
      r.drops.switch_unknown_mac += ps.drops_unknown;
      r.drops.bier += ps.drops_bier;
    }
  }
  for (const auto &sw : fswitches_) {
    FanoutSwitch::KernelStats ks = sw->kernel_stats();
    r.switch_replicator_copies += ks.replicator[hw::kCntCopiesSent];
    r.acks_aggregated += ks.ack_agg[hw::kAggCntAcksMerged];
    r.drops.fcs += ks.parser_bad_frames; // the ports' drops_fcs count the same frames
    r.drops.parser_overflow += ks.parser_overflow;
    r.drops.agg_unroutable += ks.ack_agg[hw::kAggCntUnroutable];
    add_auth(ks.parser_auth, ks.signer);
    r.drops.switch_no_port += ks.agg_no_port;
    add_parse_codes(ks.parse_codes);
    add_replicator(ks.replicator);
    for (uint32_t p = 0; p < sw->ports(); p++) {
      const FanoutSwitchPortStats &ps = sw->stats(p);
      r.drops.switch_rx_queue += ps.drops_rx_queue;
      r.drops.switch_no_port += ps.drops_no_link + ps.drops_runt;
    }
  }
  std::sort(r.link_events.begin(), r.link_events.end(), [](const LinkEvent &a, const LinkEvent &b) {
    return a.at_ns < b.at_ns || (a.at_ns == b.at_ns && a.node < b.node);
  });

  // Faults
  for (const FaultSpec &f : s_.faults) {
    FaultOutcome fo;
    fo.kind = name(f.kind);
    fo.link = f.link;
    fo.at_ns = f.at_ns;
    fo.duration_ns = f.duration_ns;
    fo.probability = f.probability;
    // A node's access link has a NIC (and its link monitor) at one end; uplinks join switches,
    // whose link status only Fanout switches (port mode) watch.
    bool uplink = f.link.rfind("leaf", 0) == 0;
    fo.monitored = (f.link.rfind("node", 0) == 0 && !baseline()) || (uplink && s_.mode == Mode::kPort);
    if (f.kind == FaultKind::kLinkDown && uplink && fo.monitored) {
      // leaf<L>-spine<S>: leaf L's port per_leaf_ + S; its first down event, and its first copy
      // sent out of the backup uplink afterwards.
      uint32_t L = (uint32_t)std::stoul(f.link.substr(4));
      uint32_t S = (uint32_t)std::stoul(f.link.substr(f.link.find("spine") + 5));
      const FanoutSwitch &lf = *fswitches_[L];
      for (const FanoutSwitch::PortEvent &e : lf.port_events()) {
        if (e.port != per_leaf_ + S || !e.down || to_ns(e.at) < f.at_ns) continue;
        fo.detected = true;
        fo.detection_ns = to_ns(e.at) - f.at_ns;
        fo.detection_cycles = (double)fo.detection_ns / period_ns;
        break;
      }
      for (const sc_time &t : lf.repairs()) {
        if (to_ns(t) < f.at_ns) continue;
        fo.repaired = true;
        fo.repair_ns = to_ns(t) - f.at_ns;
        break;
      }
    }
    if (f.kind == FaultKind::kLinkDown && fo.monitored) {
      uint32_t node = (uint32_t)std::stoul(f.link.substr(4));
      for (const LinkEvent &e : r.link_events) {
        if (e.node != node || !e.down || e.at_ns < f.at_ns) continue;
        fo.detected = true;
        fo.detection_ns = e.at_ns - f.at_ns;
        fo.detection_cycles = (double)fo.detection_ns / period_ns;
        break;
      }
      for (const PeerEventOut &e : r.peer_events) {
        if (e.peer != node || !e.down || e.at_ns < f.at_ns) continue;
        fo.peer_detected = true;
        fo.peer_detected_by = e.node;
        fo.peer_detection_ns = e.at_ns - f.at_ns;
        fo.peer_detection_cycles = (double)fo.peer_detection_ns / period_ns;
        break;
      }
      if (fo.peer_detected) {
        uint64_t first = UINT64_MAX;
        for (const auto &nic : nics_)
          for (const sc_time &t : nic->repairs())
            if (to_ns(t) >= f.at_ns + fo.peer_detection_ns) first = std::min(first, to_ns(t));
        if (first != UINT64_MAX) {
          fo.repaired = true;
          fo.repair_ns = first - f.at_ns;
        }
      }
      for (size_t i = 0; i < ledger_->size(); i++) {
        const MessageRecord &m = ledger_->record(i);
        if (!m.posted || to_ns(m.posted_at) >= f.at_ns) continue;
        if (m.settled && to_ns(m.settled_at) <= f.at_ns) continue;
        fo.in_flight++;
        if (m.settled) fo.in_flight_settled_ns = std::max(fo.in_flight_settled_ns, to_ns(m.settled_at) - f.at_ns);
      }
    }
    r.faults.push_back(fo);
  }
  return r;
}

proto::RateConfig rate_config(const Scenario &s) {
  proto::RateConfig c = {0, 0};
  if (s.rate_mbps <= 0) return c;
  // Bytes per replicator rate tick (hw::kReplRateTickClocks kernel clocks).
  double per_tick = s.rate_mbps / (8.0 * s.kernel_mhz) * hw::kReplRateTickClocks;
  c.bytes_per_tick = (uint32_t)std::max(1.0, std::round(per_tick));
  c.burst_bytes = 2 * proto::kMaxFrameBytes;
  return c;
}

uint64_t Drops::total() const {
  uint64_t t = 0;
  for (const auto &d : nonzero()) t += d.second;
  return t;
}

std::vector<std::pair<std::string, uint64_t>> Drops::nonzero() const {
  std::vector<std::pair<std::string, uint64_t>> all = {
      {"link_loss", link_loss},
      {"link_down", link_down},
      {"fcs", fcs},
      {"switch_buffer", switch_buffer},
      {"switch_unknown_mac", switch_unknown_mac},
      {"switch_rx_queue", switch_rx_queue},
      {"switch_no_port", switch_no_port},
      {"parser_overflow", parser_overflow},
      {"mac_rx_dropped", mac_rx_dropped},
      {"repl_unroutable", repl_unroutable},
      {"repl_unroutable_ids", repl_unroutable_ids},
      {"repl_looped_ids", repl_looped_ids},
      {"repl_port_down", repl_port_down},
      {"repl_plan_overflow", repl_plan_overflow},
      {"policy_too_many_receivers", policy_too_many_receivers},
      {"policy_unknown_id", policy_unknown_id},
      {"policy_loop", policy_loop},
      {"policy_rate_limited", policy_rate_limited},
      {"auth_bad_tag", auth_bad_tag},
      {"auth_replayed", auth_replayed},
      {"auth_stale", auth_stale},
      {"auth_unknown_origin", auth_unknown_origin},
      {"auth_unsigned", auth_unsigned},
      {"agg_unroutable", agg_unroutable},
      {"agg_dropped", agg_dropped},
      {"host_gone", host_gone},
      {"bier", bier},
  };
  for (const auto &p : parse_errors) all.push_back({"parse_" + p.first, p.second});
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto &d : all)
    if (d.second) out.push_back(d);
  return out;
}

RunResult run_cluster(const Scenario &s, const ClusterOptions &options) {
  // "Simulation stopped by user" and other kernel notes are not part of a run's output.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  Cluster c(s, options, Cluster::Hosts::kWorkload);
  return c.run();
}

Cluster::Cluster(const Scenario &s, const ClusterOptions &options, Hosts hosts)
    : impl_(std::make_unique<Impl>(s, options, hosts)) {}
Cluster::~Cluster() = default;

uint32_t Cluster::nodes() const {
  return impl_->s_.nodes;
}

HostPort &Cluster::host_port(uint32_t n) {
  return impl_->node_port(n);
}

RunResult Cluster::run() {
  if (impl_->host_kind_ != Hosts::kWorkload) throw std::logic_error("Cluster::run needs Hosts::kWorkload");
  return impl_->run();
}

RunResult Cluster::collect(double wall_seconds) {
  return impl_->collect(wall_seconds);
}

void Cluster::finish() {
  impl_->finish();
}

std::vector<std::string> failures(const RunResult &r) {
  std::vector<std::string> f;
  auto n = [](uint64_t v) { return std::to_string(v); };
  if (r.messages_sent < r.messages_total)
    f.push_back(n(r.messages_total - r.messages_sent) + " of " + n(r.messages_total) + " messages never posted");
  if (r.messages_completed < r.messages_sent)
    f.push_back(n(r.messages_sent - r.messages_completed) + " of " + n(r.messages_sent) +
                " posted messages not completed (" + n(r.messages_failed - r.messages_timed_out) + " NACKed, " +
                n(r.messages_timed_out) + " timed out)");
  // Fault runs (hosts retransmit): every intended receiver is delivered, or named gone by a
  // relay and is a node whose link went down; duplicate packets and NACKs are the repair's.
  uint64_t gone_not_down = 0, missing = 0;
  for (const MessageOutcome &m : r.messages) {
    if (!m.posted) continue;
    for (uint16_t g : m.gone)
      if (!std::binary_search(r.dead_nodes.begin(), r.dead_nodes.end(), g)) gone_not_down++;
    for (uint16_t id : m.receivers)
      if (std::find(m.delivered.begin(), m.delivered.end(), id) == m.delivered.end() &&
          std::find(m.gone.begin(), m.gone.end(), id) == m.gone.end())
        missing++;
  }
  if (gone_not_down) f.push_back(n(gone_not_down) + " receivers named gone whose link never went down");
  if (r.retransmit) {
    if (missing) f.push_back(n(missing) + " receivers neither delivered nor named gone");
  } else if (r.deliveries != r.deliveries_expected) {
    f.push_back(n(r.deliveries) + " of " + n(r.deliveries_expected) + " deliveries");
  }
  if (r.duplicates && !r.retransmit)
    f.push_back(n(r.duplicates) + " duplicate packets (" + n(r.duplicate_messages) + " whole messages)");
  if (r.wrong_receiver) f.push_back(n(r.wrong_receiver) + " deliveries to nodes outside the receiver set");
  if (r.data_errors) f.push_back(n(r.data_errors) + " packets with wrong data");
  if (r.retransmit) {
    if (r.host_unexpected) f.push_back(n(r.host_unexpected) + " frames hosts could not attribute");
    return f;
  }
  bool aggregated = r.mode == "tree" || r.mode == "port"; // the baselines get one ACK per receiver
  if (aggregated && r.messages_single_ack != r.messages_completed)
    f.push_back(n(r.messages_completed - r.messages_single_ack) + " completed messages with more than one ACK");
  if (r.acks_at_senders != r.acks_expected)
    f.push_back(n(r.acks_at_senders) + " ACK frames at senders where " + n(r.acks_expected) + " were due for " +
                n(r.messages_completed) + " completed messages");
  if (r.nacks_at_senders) f.push_back(n(r.nacks_at_senders) + " NACKs at senders");
  if (r.host_unexpected) f.push_back(n(r.host_unexpected) + " frames hosts could not attribute");
  return f;
}

} // namespace sim
} // namespace fanout
