// fanout-dp: a Fanout node in software on DPDK (docs/fanout-dp.md, "fanout-dp daemon").
//
//   fanout-dp [EAL args] -- --node N --cluster FILE [--mode tree|port] [--fanout F] [--ports 0,1] ...
//
// One fanout::dp::Engine per lcore (main lcore included): engine i polls RX queue i of every port
// and transmits on TX queue i. The main lcore also does the housekeeping (link status, duration,
// periodic stats line). Local deliveries have no application here: drained, counted, freed.
#include "options.hpp"
#include "stats.hpp"
#include "telemetry.hpp"

#include "fanout/dp/engine.hpp"
#include "fanout/driver/cluster.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/split.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace dp = fanout::dp;
namespace proto = fanout::proto;
using fanout_dp::Options;
using fanout_dp::StatsSnapshot;

constexpr uint16_t kDesc = 1024;         // RX and TX descriptors per queue
constexpr uint64_t kTimersUs = 250;      // Engine::timers period
constexpr uint64_t kLinkPollUs = 100000; // rte_eth_link_get_nowait period (main lcore)
constexpr uint64_t kPublishUs = 5000;    // stats snapshot period (each lcore)
constexpr uint32_t kHeaderMbufsPerEngine = 8191;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_link_up[dp::kMaxPorts];

extern "C" void on_signal(int) {
  g_stop.store(true, std::memory_order_relaxed);
}

uint64_t now_us() {
  return (uint64_t)std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int fail(int code, const std::string &line) {
  std::fprintf(stderr, "%s\n", line.c_str());
  return code;
}

std::string bad(const std::string &flag, const std::string &problem, const std::string &got) {
  return "fanout-dp: " + flag + ": " + problem + " (got '" + got + "')";
}

struct Worker {
  unsigned lcore = 0;
  uint16_t queue = 0;
  std::vector<uint16_t> ports;
  std::unique_ptr<dp::Engine> engine;
  StatsSnapshot *snap = nullptr; // lives as long as the process (telemetry thread reads it)
  uint64_t host_frames_freed = 0;
  bool main = false;
  // Main lcore only.
  const Options *opt = nullptr;
  const fanout_dp::TelemetrySource *src = nullptr;
};

// The main lcore's extra duties: link status for every port, --duration-s, --stats-interval-s.
struct Housekeeping {
  uint64_t start = 0, next_link = 0, next_line = 0;
  void run(const Worker &w, uint64_t now) {
    if (now >= next_link) {
      next_link = now + kLinkPollUs;
      for (size_t i = 0; i < w.ports.size(); i++) {
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(w.ports[i], &link) == 0)
          g_link_up[i].store(link.link_status == RTE_ETH_LINK_UP, std::memory_order_relaxed);
      }
    }
    if (w.opt->duration_s > 0 && (double)(now - start) >= w.opt->duration_s * 1e6)
      g_stop.store(true, std::memory_order_relaxed);
    if (w.opt->stats_interval_s > 0 && now >= next_line) {
      if (next_line != 0) {
        fanout_dp::Stats s;
        uint64_t freed = 0;
        fanout_dp::snapshot_sum(*w.src, &s, &freed);
        std::fputs(fanout_dp::format_line((double)(now - start) / 1e6, s, freed).c_str(), stdout);
        std::fflush(stdout);
      }
      next_line = now + (uint64_t)(w.opt->stats_interval_s * 1e6);
    }
  }
};

int run_worker(void *arg) {
  Worker &w = *static_cast<Worker *>(arg);
  dp::Engine &e = *w.engine;
  std::vector<bool> up(w.ports.size(), true);
  uint64_t t = now_us();
  uint64_t next_timers = t, next_publish = t, next_house = t;
  Housekeeping house;
  house.start = t;
  rte_mbuf *host[64];
  while (!g_stop.load(std::memory_order_relaxed)) {
    uint64_t now = now_us();
    for (uint16_t p : w.ports) e.poll(p, w.queue, now);
    // No local application: local deliveries, own feedback and non-Fanout frames are counted
    // (Engine stats + host_frames_freed) and freed.
    uint32_t n;
    while ((n = e.host_receive(host, 64)) > 0) {
      for (uint32_t i = 0; i < n; i++) rte_pktmbuf_free(host[i]);
      w.host_frames_freed += n;
    }
    if (now >= next_timers) {
      next_timers = now + kTimersUs;
      e.timers(now);
      for (size_t i = 0; i < w.ports.size(); i++) {
        bool u = g_link_up[i].load(std::memory_order_relaxed);
        if (u != up[i]) {
          up[i] = u;
          e.port_link(w.ports[i], u);
        }
      }
    }
    if (now >= next_publish) {
      next_publish = now + kPublishUs;
      w.snap->publish(e.stats(), w.host_frames_freed);
    }
    if (w.main && now >= next_house) {
      next_house = now + 1000;
      house.run(w, now);
    }
  }
  w.snap->publish(e.stats(), w.host_frames_freed);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  // EAL arguments come first; ours follow `--`. Ours are checked before EAL starts.
  int split = argc;
  for (int i = 1; i < argc; i++)
    if (std::strcmp(argv[i], "--") == 0) {
      split = i;
      break;
    }
  std::vector<std::string> words;
  for (int i = split + 1; i < argc; i++) words.push_back(argv[i]);
  Options opt;
  std::string error;
  if (!fanout_dp::parse_options(words, &opt, &error)) {
    std::fprintf(stderr, "%s\n%s", error.c_str(), fanout_dp::usage());
    return 2;
  }
  fanout::driver::ClusterConfig cluster;
  if (!fanout::driver::load_cluster_file(opt.cluster, &cluster, &error)) return fail(2, "fanout-dp: " + error);
  const fanout::driver::NodeAddress *self = cluster.find(opt.node);
  if (!self) return fail(2, bad("--node", "not in the cluster file " + opt.cluster, std::to_string(opt.node)));
  for (const fanout_dp::RouteRange &r : opt.routes) {
    // Port mode: this node's own id inside a route is delivered locally (kRouteLocal), as a NIC's.
    if (!opt.port_mode && r.lo <= opt.node && opt.node <= r.hi)
      return fail(2, bad("--route", "node " + std::to_string(opt.node) + " is this node", r.text));
    for (uint32_t id = r.lo; id <= r.hi; id++)
      if (!cluster.find((uint16_t)id))
        return fail(
            2, bad("--route", "node " + std::to_string(id) + " is not in the cluster file " + opt.cluster, r.text));
  }
  for (const auto &p : opt.peers) {
    std::string text = std::to_string(p.first) + "=" + std::to_string(p.second);
    if (p.second == opt.node) return fail(2, bad("--peer", "node " + std::to_string(p.second) + " is this node", text));
    if (!cluster.find(p.second))
      return fail(
          2, bad("--peer", "node " + std::to_string(p.second) + " is not in the cluster file " + opt.cluster, text));
    auto r = opt.route.find(p.second);
    if (r != opt.route.end() && r->second != p.first)
      return fail(2, bad("--peer",
                         "node " + std::to_string(p.second) + " is routed through port " + std::to_string(r->second) +
                             " (--route), not port " + std::to_string(p.first),
                         text));
  }

  // Signals first: a SIGTERM during start-up stops the daemon cleanly as soon as it runs.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  int eal_argc = split;
  int rc = rte_eal_init(eal_argc, argv);
  if (rc < 0) return fail(1, std::string("fanout-dp: rte_eal_init failed: ") + rte_strerror(rte_errno));

  // Ports: --ports or every port DPDK has (at most kMaxPorts).
  std::vector<uint16_t> ports = opt.ports;
  if (ports.empty()) {
    uint16_t p;
    RTE_ETH_FOREACH_DEV(p) {
      if (ports.size() < dp::kMaxPorts) ports.push_back(p);
    }
    if (ports.empty()) {
      rte_eal_cleanup();
      return fail(2, bad("--ports", "no DPDK port (add one with --vdev, e.g. --vdev net_ring0)", ""));
    }
  }
  for (uint16_t p : ports)
    if (!rte_eth_dev_is_valid_port(p)) {
      rte_eal_cleanup();
      return fail(2, bad("--ports",
                         "no DPDK port " + std::to_string(p) + " (" + std::to_string(rte_eth_dev_count_avail()) +
                             " ports; add one with --vdev)",
                         std::to_string(p)));
    }
  auto port_listed = [&](uint16_t p) {
    for (uint16_t q : ports)
      if (q == p) return true;
    return false;
  };
  for (const fanout_dp::RouteRange &r : opt.routes)
    if (!port_listed(r.port)) {
      rte_eal_cleanup();
      return fail(2, bad("--route", "port " + std::to_string(r.port) + " is not one of --ports", r.text));
    }
  for (const auto &p : opt.peers)
    if (!port_listed(p.first)) {
      rte_eal_cleanup();
      return fail(2, bad("--peer", "port " + std::to_string(p.first) + " is not one of --ports",
                         std::to_string(p.first) + "=" + std::to_string(p.second)));
    }

  // The engine configuration, by the dpdk backend's rules: every node on one UDP port, MACs from
  // the file or the cluster address plan; this node's MAC from the file, else port 0's.
  dp::EngineConfig ec;
  ec.node = opt.node;
  ec.mode = opt.port_mode ? dp::EngineConfig::kPort : dp::EngineConfig::kTree;
  ec.fanout = opt.fanout ? opt.fanout : cluster.transport.fanout;
  if (opt.port_mode) {
    // The port table: every routed id through its port, this node's own id local. Ids without a
    // route are unroutable (counted). Peers: --peer, else a port's only routed id.
    std::map<uint16_t, std::vector<uint16_t>> behind; // port -> routed ids (not this node)
    for (const auto &r : opt.route) {
      if (r.first == opt.node) continue;
      ec.port_routes[r.first] = r.second;
      behind[r.second].push_back(r.first);
    }
    ec.port_routes[opt.node] = dp::EngineConfig::kRouteLocal;
    ec.port_peers = opt.peers;
    for (const auto &b : behind)
      if (b.second.size() == 1 && !ec.port_peers.count(b.first)) ec.port_peers[b.first] = b.second[0];
  }
  ec.ports = ports;
  ec.heartbeat_us = opt.heartbeat_us;
  ec.silent_timeout_us = opt.has_silent_timeout ? opt.silent_timeout_us : cluster.transport.silent_timeout_us;
  ec.probes_to_host = false; // no local application to show them to
  // Hostile-input policy for DATA from the ports: the flags, else the cluster file's transport fields.
  // With neither a receiver limit nor a rate: the open policy (nothing checked, as the NIC's reset
  // values); with either: every rule, the cluster file's ids as the id range.
  ec.max_receivers = opt.has_max_receivers ? opt.max_receivers : cluster.transport.max_receivers;
  uint32_t rate_mbps = opt.has_rate ? opt.rate_mbps : cluster.transport.rate_mbps;
  if (ec.max_receivers != 0 || rate_mbps != 0) {
    ec.first_id = cluster.nodes.front().id; // ascending
    ec.last_id = cluster.nodes.back().id;
  }
  ec.rate_bytes_per_us = rate_mbps / 8;
  // Authentication: --auth-key / --auth, else the cluster file's transport.auth_key / auth. One
  // signing counter for the node, shared by its engines.
  using fanout::driver::TransportOptions;
  if (opt.has_auth_key) {
    ec.auth = true;
    ec.auth_require = opt.has_auth ? opt.auth_require : true;
    std::memcpy(ec.auth_key, opt.auth_key, sizeof ec.auth_key);
  } else if (opt.has_auth) {
    rte_eal_cleanup();
    return fail(2, "fanout-dp: --auth: needs --auth-key (a group key of 32 hex digits)");
  } else if (cluster.transport.auth != TransportOptions::kAuthOff) {
    ec.auth = true;
    ec.auth_require = cluster.transport.auth == TransportOptions::kAuthRequire;
    std::memcpy(ec.auth_key, cluster.transport.auth_key, sizeof ec.auth_key);
  }
  static std::atomic<uint32_t> auth_counter{0};
  ec.auth_counter = &auth_counter;
  ec.rate_burst_bytes = opt.has_rate_burst ? opt.rate_burst_bytes : cluster.transport.rate_burst_bytes;
  bool first = true;
  for (const fanout::driver::NodeAddress &n : cluster.nodes) {
    uint32_t ip = 0;
    uint16_t udp = 0;
    if (!fanout::driver::parse_ipv4_port(n.address, &ip, &udp)) {
      rte_eal_cleanup();
      return fail(2, "fanout-dp: " + cluster.origin + ": node " + std::to_string(n.id) + ": address '" + n.address +
                         "' does not parse");
    }
    if (first) ec.udp_port = udp;
    if (udp != ec.udp_port) {
      rte_eal_cleanup();
      return fail(2, "fanout-dp: " + cluster.origin + ": node " + std::to_string(n.id) + ": UDP port " +
                         std::to_string(udp) + " differs from the others' " + std::to_string(ec.udp_port) +
                         " (the data path uses one Fanout UDP port)");
    }
    first = false;
    dp::Neighbour nb{};
    auto r = opt.route.find(n.id);
    nb.port = r != opt.route.end() ? r->second : ports[0];
    bool neighbour = true;
    if (opt.port_mode) {
      // Port mode: addresses for every routed id (copies to a port without a peer go to the
      // subset's first id) and every peer (copies, and feedback upstream when it is the parent).
      neighbour = r != opt.route.end();
      for (const auto &p : ec.port_peers)
        if (p.second == n.id) {
          nb.port = p.first;
          neighbour = true;
        }
    }
    nb.ipv4 = ip;
    if (n.mac.empty())
      proto::cluster_mac(n.id, nb.mac);
    else if (!fanout::driver::parse_mac(n.mac, nb.mac)) {
      rte_eal_cleanup();
      return fail(2, "fanout-dp: " + cluster.origin + ": node " + std::to_string(n.id) + ": mac '" + n.mac +
                         "' does not parse");
    }
    if (n.id == opt.node) {
      ec.ipv4 = ip;
      std::memcpy(ec.mac, nb.mac, 6); // the MAC the others address this node by
    } else if (neighbour) {
      ec.neighbours[n.id] = nb;
    }
  }
  // The ports take this node's MAC when they can; frames for other MACs are dropped by the
  // engines either way (a promiscuous port, or af_packet on a bridge, sees other hosts' frames).
  ec.mac_filter = true;
  for (uint16_t p : ports) {
    rte_ether_addr have{}, want{};
    std::memcpy(want.addr_bytes, ec.mac, 6);
    rte_eth_macaddr_get(p, &have);
    if (std::memcmp(have.addr_bytes, want.addr_bytes, 6) != 0) (void)rte_eth_dev_default_mac_addr_set(p, &want);
  }

  // Lcores: the main one first, then the workers. One engine, RX queue and TX queue each.
  std::vector<unsigned> lcores = {rte_get_main_lcore()};
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) {
    lcores.push_back(lc);
  }
  uint16_t nq = (uint16_t)lcores.size();

  // Pools. RX: jumbo frames in one segment (proto::kMaxFrameBytes + headroom); enough for every
  // descriptor, the frames each engine holds (host queue, a burst in flight) and the caches.
  uint32_t rx_mbufs = (uint32_t)ports.size() * nq * (kDesc + 2 * 256) + nq * (1024 + 512);
  rx_mbufs = rx_mbufs < 4095 ? 4095 : rx_mbufs;
  rte_mempool *rx_pool =
      rte_pktmbuf_pool_create("fanout_dp_rx", rx_mbufs, 256, 0, RTE_PKTMBUF_HEADROOM + 9216, (int)rte_socket_id());
  rte_mempool *hdr_pool = rte_pktmbuf_pool_create("fanout_dp_hdr", kHeaderMbufsPerEngine * nq, 256, 0,
                                                  dp::header_pool_data_room(), (int)rte_socket_id());
  if (!rx_pool || !hdr_pool) {
    std::string what = rte_strerror(rte_errno);
    rte_eal_cleanup();
    return fail(1, "fanout-dp: mbuf pools: " + what + " (" + std::to_string(rx_mbufs) +
                       " jumbo mbufs; give EAL more memory with -m)");
  }
  ec.header_pool = hdr_pool;

  std::vector<uint16_t> started;
  auto cleanup = [&]() {
    for (uint16_t p : started) {
      rte_eth_dev_stop(p);
      rte_eth_dev_close(p); // net_pcap: flushes and closes tx_pcap
    }
    rte_mempool_free(rx_pool);
    rte_mempool_free(hdr_pool);
    rte_eal_cleanup();
  };
  for (size_t i = 0; i < ports.size(); i++) {
    uint16_t p = ports[i];
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(p, &info) == 0 && (info.max_rx_queues < nq || info.max_tx_queues < nq)) {
      cleanup();
      return fail(1, "fanout-dp: DPDK port " + std::to_string(p) + " offers " + std::to_string(info.max_rx_queues) +
                         " RX / " + std::to_string(info.max_tx_queues) + " TX queues; " + std::to_string(nq) +
                         " lcores need one each (use fewer lcores, -l)");
    }
    rc = dp::configure_port(p, nq, nq, kDesc, rx_pool);
    if (rc != 0) {
      cleanup();
      return fail(1, "fanout-dp: DPDK port " + std::to_string(p) + ": setup failed: " + rte_strerror(-rc));
    }
    started.push_back(p);
    rte_eth_promiscuous_enable(p); // frames for every MAC (rings, af_packet, pcap)
    rte_eth_link link{};
    g_link_up[i].store(rte_eth_link_get_nowait(p, &link) != 0 || link.link_status == RTE_ETH_LINK_UP);
  }

  std::vector<std::unique_ptr<Worker>> workers;
  auto *src = new fanout_dp::TelemetrySource(); // read by the telemetry thread until exit
  src->node = opt.node;
  src->ports = ports;
  // Several engines: each message has an owner engine; frames RSS put on another engine's queue
  // move to the owner's inbox (EngineConfig::inboxes), so its feedback meets its aggregator entry.
  static std::vector<rte_ring *> inboxes; // for the process's life: engines hold pointers to them
  for (uint16_t q = 0; nq > 1 && q < nq; q++) {
    std::string name = "fanout_dp_in" + std::to_string(q);
    rte_ring *r = rte_ring_create(name.c_str(), 4096, (int)rte_socket_id(), RING_F_SC_DEQ);
    if (r == nullptr) {
      cleanup();
      return fail(1, "fanout-dp: " + name + ": " + rte_strerror(rte_errno));
    }
    inboxes.push_back(r);
  }
  try {
    for (uint16_t q = 0; q < nq; q++) {
      dp::EngineConfig c = ec;
      c.tx_queue = q;
      c.engine_index = q;
      c.engine_count = nq;
      c.inboxes = nq > 1 ? inboxes.data() : nullptr;
      dp::validate(c);
      auto w = std::make_unique<Worker>();
      w->lcore = lcores[q];
      w->queue = q;
      w->ports = ports;
      w->engine = std::make_unique<dp::Engine>(c);
      w->snap = new StatsSnapshot();
      w->main = q == 0;
      w->opt = &opt;
      w->src = src;
      src->engines.push_back(w->snap);
      workers.push_back(std::move(w));
    }
  } catch (const std::exception &e) {
    workers.clear();
    cleanup();
    return fail(2, "fanout-dp: " + cluster.origin + ": " + e.what());
  }
  if (fanout_dp::register_telemetry(src) != 0)
    std::fprintf(stderr, "fanout-dp: telemetry commands not registered (telemetry off?)\n");

  std::string plist;
  for (uint16_t p : ports) plist += (plist.empty() ? "" : ",") + std::to_string(p);
  std::string mode = "tree mode F=" + std::to_string(ec.fanout);
  if (opt.port_mode) {
    std::string peers;
    for (const auto &p : ec.port_peers)
      peers += (peers.empty() ? "" : ",") + std::to_string(p.first) + "=" + std::to_string(p.second);
    mode = "port mode (" + std::to_string(ec.port_routes.size()) + " ids in the port table, peers " +
           (peers.empty() ? std::string("none") : peers) + ")";
  }
  std::printf("fanout-dp: node %u, %s, ports %s, %u lcore(s), %zu neighbours, UDP port %u\n", (unsigned)opt.node,
              mode.c_str(), plist.c_str(), (unsigned)nq, ec.neighbours.size(), (unsigned)ec.udp_port);
  std::fflush(stdout);

  for (size_t i = 1; i < workers.size(); i++) rte_eal_remote_launch(run_worker, workers[i].get(), workers[i]->lcore);
  run_worker(workers[0].get());
  rte_eal_mp_wait_lcore();

  // Final stats (engines stopped: read them directly), then free everything.
  fanout_dp::Stats sum;
  uint64_t freed = 0;
  for (const auto &w : workers) {
    fanout_dp::add(&sum, w->engine->stats());
    freed += w->host_frames_freed;
  }
  std::fputs(fanout_dp::format_final(sum, ports, freed).c_str(), stdout);
  std::fflush(stdout);
  for (auto &w : workers) w->engine.reset(); // frees every mbuf it holds
  workers.clear();
  cleanup();
  return 0;
}
