// rte_dev_dma_map / rte_dev_dma_unmap are experimental APIs in DPDK 22.11.
#define ALLOW_EXPERIMENTAL_API 1
// The dpdk backend (dpdk_backend.hpp).
#include "dpdk_backend.hpp"

#include "../own_nic_frame.hpp"

#include "fanout/driver/cluster.hpp"

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

namespace fanout::driver {

namespace {

constexpr uint32_t kRxDesc = 512, kTxDesc = 1024;
// Pool sizes: RX descriptors plus frames held for relaying and by the application; frames copied
// from unregistered memory; per-copy headers and zero-copy attachments (many per frame).
constexpr uint32_t kRxPoolMbufs = 2047, kFramePoolMbufs = 1023, kHeaderPoolMbufs = 8191;
// Jumbo frames whole in one segment: proto::kMaxFrameBytes (9,014) and headroom.
constexpr uint16_t kFrameDataRoom = RTE_PKTMBUF_HEADROOM + 9216;
// Per-copy headers (outer headers + Fanout header + set) and external-buffer frames.
constexpr uint16_t kHeaderDataRoom = RTE_PKTMBUF_HEADROOM + 1152;

std::once_flag eal_once;
int eal_status = 0; // 0 ok; else -rte_errno of rte_eal_init
std::string eal_message;

// EAL once per process. An application that initialised EAL itself keeps its arguments.
void init_eal() {
  std::call_once(eal_once, [] {
    if (rte_eal_process_type() != RTE_PROC_INVALID && rte_lcore_count() > 0) return; // already up
    std::vector<std::string> words = {"fanout"};
    if (const char *env = std::getenv("FANOUT_DPDK_EAL")) {
      std::istringstream in(env);
      for (std::string w; in >> w;) words.push_back(w);
    }
    std::vector<char *> argv;
    for (std::string &w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    if (rte_eal_init((int)words.size(), argv.data()) < 0) {
      if (rte_errno == EALREADY) return;
      eal_status = -rte_errno;
      eal_message = std::string("rte_eal_init failed: ") + rte_strerror(rte_errno) +
                    " (EAL arguments from FANOUT_DPDK_EAL: '" +
                    (std::getenv("FANOUT_DPDK_EAL") ? std::getenv("FANOUT_DPDK_EAL") : "") + "')";
    }
  });
}

// Free callback of registered-memory external buffers: the application owns the memory; the
// region only counts the frames that still reference it.
void region_free_cb(void *addr, void *opaque) {
  (void)addr;
  auto *attached = static_cast<std::atomic<uint64_t> *>(opaque);
  attached->fetch_sub(1, std::memory_order_acq_rel);
}

// A device's pools, by port and node; a later device on the same port and node (a reopened
// device) takes them over: DPDK cannot free a pool whose mbufs a PMD or a peer may still hold.
rte_mempool *get_pool(const char *what, uint16_t port, NodeId self, uint32_t n, uint16_t priv, uint16_t room,
                      int socket) {
  std::string name = std::string("fo_") + what + std::to_string(port) + "_" + std::to_string(self);
  if (rte_mempool *p = rte_mempool_lookup(name.c_str())) return p;
  return rte_pktmbuf_pool_create(name.c_str(), n, 256, priv, room, socket);
}

} // namespace

Status DpdkBackend::open(const ClusterConfig &cluster, NodeId self, const Options &o, std::unique_ptr<DpdkBackend> *out,
                         std::string *message) {
  init_eal();
  if (eal_status != 0) {
    *message = eal_message;
    return Status::kNotAvailable;
  }
  if (!rte_eth_dev_is_valid_port(o.port)) {
    *message = "DPDK port " + std::to_string(o.port) + " does not exist (" + std::to_string(rte_eth_dev_count_avail()) +
               " ports; add one with --vdev in FANOUT_DPDK_EAL)";
    return Status::kNotAvailable;
  }
  std::unique_ptr<DpdkBackend> b(new DpdkBackend());
  b->port_ = o.port;
  b->self_ = self;
  // Addresses: every node on one UDP port (the engine's), MACs from the file or the address plan.
  dp::EngineConfig ec;
  ec.node = self;
  ec.mode = dp::EngineConfig::kTree;
  ec.fanout = cluster.transport.fanout;
  ec.ports = {o.port};
  bool first = true;
  for (const NodeAddress &n : cluster.nodes) {
    uint32_t ip = 0;
    uint16_t udp = 0;
    if (!parse_ipv4_port(n.address, &ip, &udp)) {
      *message = cluster.origin + ": node " + std::to_string(n.id) + ": address '" + n.address + "' does not parse";
      return Status::kBadConfig;
    }
    if (first) b->udp_port_ = udp;
    first = false;
    if (udp != b->udp_port_) {
      *message = cluster.origin + ": node " + std::to_string(n.id) + ": UDP port " + std::to_string(udp) +
                 " differs from the others' " + std::to_string(b->udp_port_) +
                 " (the dpdk backend's data path uses one Fanout UDP port)";
      return Status::kBadConfig;
    }
    dp::Neighbour nb{};
    nb.port = o.port;
    nb.ipv4 = ip;
    if (n.mac.empty())
      proto::cluster_mac(n.id, nb.mac);
    else if (!parse_mac(n.mac, nb.mac)) {
      *message = cluster.origin + ": node " + std::to_string(n.id) + ": mac '" + n.mac + "' does not parse";
      return Status::kBadConfig;
    }
    if (n.id == self) {
      b->ipv4_ = ip;
      std::memcpy(b->mac_, nb.mac, 6);
    } else {
      ec.neighbours[n.id] = nb;
    }
  }
  ec.udp_port = b->udp_port_;
  ec.silent_timeout_us = cluster.transport.silent_timeout_us;
  // Hostile-input policy: the engine checks DATA from the port (the transport above leaves it).
  ec.max_receivers = cluster.transport.max_receivers;
  if (cluster.transport.max_receivers != 0 || cluster.transport.rate_mbps != 0) { // else the open policy
    ec.first_id = cluster.nodes.front().id;                                       // ascending: the cluster's id range
    ec.last_id = cluster.nodes.back().id;
  }
  ec.rate_bytes_per_us = cluster.transport.rate_mbps / 8;
  ec.rate_burst_bytes = cluster.transport.rate_burst_bytes;
  // Authentication: the engine signs what it emits and checks what the port delivers (the transport
  // above it does not: device.cpp turns its auth off for this backend).
  ec.auth = cluster.transport.auth != TransportOptions::kAuthOff;
  ec.auth_require = cluster.transport.auth == TransportOptions::kAuthRequire;
  std::memcpy(ec.auth_key, cluster.transport.auth_key, sizeof ec.auth_key);
  b->max_packet_ = cluster.transport.mtu - proto::kIpv4HeaderBytes - proto::kUdpHeaderBytes;

  int socket = rte_eth_dev_socket_id(o.port);
  if (socket < 0) socket = (int)rte_socket_id();
  b->rx_pool_ = get_pool("rx", o.port, self, kRxPoolMbufs, 0, kFrameDataRoom, socket);
  b->frame_pool_ = get_pool("fr", o.port, self, kFramePoolMbufs, 0, kFrameDataRoom, socket);
  // Header mbufs carry, in their private area, the shared info of an external buffer they may be
  // attached to (registered memory: one per attachment, so each frame's release is counted).
  uint16_t priv = (uint16_t)RTE_ALIGN(sizeof(rte_mbuf_ext_shared_info), RTE_MBUF_PRIV_ALIGN);
  b->header_pool_ = get_pool("hd", o.port, self, kHeaderPoolMbufs, priv, kHeaderDataRoom, socket);
  if (!b->rx_pool_ || !b->frame_pool_ || !b->header_pool_) {
    *message = std::string("mbuf pools: ") + rte_strerror(rte_errno);
    return Status::kIoError;
  }
  // The port: started here unless the application already did (then its queue 0 is ours).
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(o.port, &info) != 0) {
    *message = "DPDK port " + std::to_string(o.port) + ": no device info";
    return Status::kIoError;
  }
  rte_eth_link link{};
  bool started = rte_eth_link_get_nowait(o.port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
  rte_eth_conf conf{};
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  if (!started) {
    int rc = rte_eth_dev_configure(o.port, 1, 1, &conf);
    if (rc == 0) rc = rte_eth_rx_queue_setup(o.port, 0, kRxDesc, (unsigned)socket, nullptr, b->rx_pool_);
    if (rc == 0) {
      rte_eth_txconf txc = info.default_txconf;
      txc.offloads = conf.txmode.offloads;
      rc = rte_eth_tx_queue_setup(o.port, 0, kTxDesc, (unsigned)socket, &txc);
    }
    if (rc == 0) rc = rte_eth_dev_start(o.port);
    if (rc != 0) {
      *message = "DPDK port " + std::to_string(o.port) + ": setup failed: " + rte_strerror(-rc);
      return Status::kIoError;
    }
    rte_eth_promiscuous_enable(o.port); // af_packet and rings see frames for every MAC
  }
  // This node's MAC is the one the others address it by (the cluster file's rule); the port
  // takes it when it can, and is promiscuous in any case.
  rte_ether_addr mac{};
  std::memcpy(mac.addr_bytes, b->mac_, 6);
  rte_ether_addr have{};
  rte_eth_macaddr_get(o.port, &have);
  if (std::memcmp(have.addr_bytes, b->mac_, 6) != 0) (void)rte_eth_dev_default_mac_addr_set(o.port, &mac);
  std::memcpy(ec.mac, b->mac_, 6);
  ec.ipv4 = b->ipv4_;
  ec.header_pool = b->header_pool_;
  ec.mac_filter = true; // the port is promiscuous (af_packet on a bridge sees others' frames)
  try {
    dp::validate(ec);
    b->engine_ = std::make_unique<dp::Engine>(ec);
  } catch (const std::exception &e) {
    *message = cluster.origin + ": " + e.what();
    return Status::kBadConfig;
  }
  b->parse_cfg_ = proto::default_parse_config();
  b->parse_cfg_.udp_port = b->udp_port_;
  b->linear_.resize((size_t)kBatch * proto::kMaxFrameBytes);
  *out = std::move(b);
  return Status::kOk;
}

DpdkBackend::~DpdkBackend() {
  for (uint32_t i = 0; i < held_n_; i++) rte_pktmbuf_free(held_[i]);
  held_n_ = 0;
  engine_.reset(); // frees every mbuf it holds
  // Pools stay: DPDK cannot free a pool whose mbufs a PMD may still hold in its rings, and a
  // process opens a port's device once.
}

uint64_t DpdkBackend::now_us() const {
  return (uint64_t)std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void DpdkBackend::drive() {
  uint64_t now = now_us();
  engine_->poll(port_, 0, now);
  engine_->timers(now);
}

DpdkBackend::Region *DpdkBackend::find_region(const uint8_t *p, uint32_t len) {
  std::lock_guard<std::mutex> lock(regions_mu_);
  for (auto &r : regions_)
    if (p >= r->base && p + len <= r->base + r->length) return r.get();
  return nullptr;
}

bool DpdkBackend::send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload,
                       uint32_t payload_len) {
  (void)to; // every frame goes to this node's data path: it replicates DATA and aggregates feedback
  if ((uint64_t)head_len + payload_len > max_packet_ || head_len < proto::kFanoutHeaderBytes) {
    send_errors_.add();
    return false;
  }
  proto::NetHeaders net = own_nic_headers(self_, mac_, ipv4_, udp_port_, head);
  Region *region = payload_len ? find_region(payload, payload_len) : nullptr;
  if (region && !region->zero_copy) region = nullptr; // DPDK cannot DMA from it: copied
  // Ownership: `m` (and the payload segment chained to it) is ours until engine_->host_send
  // returns true; then the engine owns it. On every other path we free it.
  rte_mbuf *m = rte_pktmbuf_alloc(region ? header_pool_ : frame_pool_);
  if (!m) {
    send_errors_.add();
    return false;
  }
  uint32_t first_len = proto::kFanoutOffset + head_len + (region ? 0 : payload_len);
  uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)first_len);
  if (!p) {
    rte_pktmbuf_free(m);
    send_errors_.add();
    return false;
  }
  proto::write_net_headers(net, head_len + payload_len, p);
  std::memcpy(p + proto::kFanoutOffset, head, head_len);
  if (!region) {
    if (payload_len) std::memcpy(p + proto::kFanoutOffset + head_len, payload, payload_len);
  } else {
    // Zero copy: the payload stays in the application's registered memory; the segment carries
    // a reference counted by the region (region_free_cb runs when the last copy is freed).
    rte_mbuf *seg = rte_pktmbuf_alloc(header_pool_);
    if (!seg) {
      rte_pktmbuf_free(m);
      send_errors_.add();
      return false;
    }
    // The attachment's shared info lives in seg's private area: DPDK drops its reference when
    // the last copy sharing seg is freed and then calls region_free_cb, which uncounts it.
    auto *shinfo = static_cast<rte_mbuf_ext_shared_info *>(rte_mbuf_to_priv(seg));
    shinfo->free_cb = region_free_cb;
    shinfo->fcb_opaque = &region->attached;
    rte_mbuf_ext_refcnt_set(shinfo, 1);
    region->attached.fetch_add(1, std::memory_order_acq_rel);
    rte_pktmbuf_attach_extbuf(seg, const_cast<uint8_t *>(payload), (rte_iova_t)(uintptr_t)payload,
                              (uint16_t)payload_len, shinfo);
    seg->data_off = 0;
    seg->data_len = (uint16_t)payload_len;
    seg->pkt_len = payload_len;
    if (rte_pktmbuf_chain(m, seg) != 0) {
      rte_pktmbuf_free(seg);
      rte_pktmbuf_free(m);
      send_errors_.add();
      return false;
    }
    zero_copy_sends_.add();
  }
  if (!engine_->host_send(m, now_us())) { // not taken: still ours
    rte_pktmbuf_free(m);
    send_errors_.add();
    return false;
  }
  frames_sent_.add();
  return true;
}

void DpdkBackend::flush() {
  drive();
}

uint32_t DpdkBackend::receive(RxPacket *out, uint32_t max) {
  // The frames of the previous call are released now (Backend contract: valid until the next
  // receive()). Ownership: host_receive moved them to us; we free them here.
  for (uint32_t i = 0; i < held_n_; i++) rte_pktmbuf_free(held_[i]);
  held_n_ = 0;
  drive();
  if (max > kBatch) max = kBatch;
  rte_mbuf *frames[kBatch];
  const dp::Stats &es = engine_->stats(); // the progress thread's: mirrored for Device::stats
  for (int c = 0; c < proto::kPolicyCodeCount; c++) policy_[c].set(es.policy_drops[(size_t)c]);
  for (int c = 0; c < proto::kAuthCodeCount; c++) auth_[c].set(es.auth[(size_t)c]);
  uint32_t got = engine_->host_receive(frames, max), n = 0;
  for (uint32_t i = 0; i < got; i++) {
    rte_mbuf *m = frames[i];
    frames_received_.add();
    const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *);
    uint32_t len = rte_pktmbuf_pkt_len(m);
    if (m->nb_segs > 1 || len > m->data_len) { // a chained frame: flat copy for the transport
      if (len > proto::kMaxFrameBytes) {
        malformed_[proto::kFrameTooLong].add();
        rte_pktmbuf_free(m);
        continue;
      }
      uint8_t *flat = linear_.data() + (size_t)n * proto::kMaxFrameBytes;
      data = (const uint8_t *)rte_pktmbuf_read(m, 0, len, flat);
    }
    proto::ParsedPacket pk;
    int rc = proto::parse_frame(data, len, parse_cfg_, pk, static_cast<proto::ReceiverSet *>(nullptr));
    if (rc != proto::kOk || pk.hdr.type == proto::kTypeProbe) {
      if (rc == proto::kNotFanout || rc == proto::kOk)
        not_fanout_.add(); // other traffic and the links' heartbeats: nothing for the transport
      else
        malformed_[rc < kMalformedReasons ? rc : 0].add();
      rte_pktmbuf_free(m);
      continue;
    }
    out[n].data = data + proto::kFanoutOffset;
    // The Fanout part as received: a signed frame's trailer included (its header says AUTH).
    out[n].len = (pk.auth ? pk.auth_offset + proto::kAuthTrailerBytes : pk.payload_offset + pk.payload_len) -
                 proto::kFanoutOffset;
    out[n].at_us = 0;
    held_[held_n_++] = m;
    n++;
  }
  return n;
}

Status DpdkBackend::register_memory(void *addr, uint64_t length, uint64_t *handle) {
  auto r = std::make_unique<Region>();
  r->base = static_cast<uint8_t *>(addr);
  r->length = length;
  // A NIC reads the payload by DMA: DPDK must know the memory (rte_extmem_register, whole pages)
  // and the port's device must map it (rte_dev_dma_map; virtual devices need no mapping and say
  // ENOTSUP). The payload is addressed by its virtual address, so zero copy needs IOVA-as-VA; in
  // physical-address mode, or if DPDK refuses the memory, the region's payloads are copied.
  if (rte_eal_iova_mode() == RTE_IOVA_VA) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)addr & ~(page - 1), hi = ((uintptr_t)addr + length + page - 1) & ~(page - 1);
    int rc = rte_extmem_register((void *)lo, hi - lo, nullptr, 0, page);
    if (rc == 0 || rte_errno == EEXIST) {
      r->ext_base = (void *)lo;
      r->ext_len = hi - lo;
      r->ext_registered = rc == 0;
      rte_eth_dev_info info{};
      if (rte_eth_dev_info_get(port_, &info) == 0 && info.device) {
        rc = rte_dev_dma_map(info.device, r->ext_base, (uint64_t)lo, r->ext_len);
        r->dma_mapped = rc == 0;
        r->zero_copy = rc == 0 || rte_errno == ENOTSUP; // mapped, or a virtual device
      } else {
        r->zero_copy = true;
      }
      if (!r->zero_copy && r->ext_registered) {
        rte_extmem_unregister(r->ext_base, r->ext_len);
        r->ext_registered = false;
      }
    }
  }
  std::lock_guard<std::mutex> lock(regions_mu_);
  r->handle = next_handle_++;
  *handle = r->handle;
  regions_.push_back(std::move(r));
  return Status::kOk;
}

void DpdkBackend::deregister_memory(uint64_t handle) {
  std::unique_ptr<Region> gone;
  {
    std::lock_guard<std::mutex> lock(regions_mu_);
    for (auto it = regions_.begin(); it != regions_.end(); ++it) {
      if ((*it)->handle != handle) continue;
      gone = std::move(*it);
      regions_.erase(it);
      break;
    }
  }
  if (!gone) return;
  // Frames still referencing the memory (in TX queues, or held for relaying) finish first.
  while (gone->attached.load(std::memory_order_acquire) != 0)
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  rte_eth_dev_info info{};
  if (gone->dma_mapped && rte_eth_dev_info_get(port_, &info) == 0 && info.device)
    rte_dev_dma_unmap(info.device, gone->ext_base, (uint64_t)(uintptr_t)gone->ext_base, gone->ext_len);
  if (gone->ext_registered) rte_extmem_unregister(gone->ext_base, gone->ext_len);
}

void DpdkBackend::add_stats(DeviceStats &s) const {
  s.datagrams_sent += frames_sent_.get();
  s.datagrams_received += frames_received_.get();
  s.send_errors += send_errors_.get();
  s.zero_copy_frames += zero_copy_sends_.get();
  s.not_for_us += not_fanout_.get();
  s.policy_too_many_receivers += policy_[proto::kPolicyTooManyReceivers].get();
  s.policy_unknown_id += policy_[proto::kPolicyUnknownId].get();
  s.policy_loop += policy_[proto::kPolicyLoop].get();
  s.policy_rate_limited += policy_[proto::kPolicyRateLimited].get();
  s.auth_ok += auth_[proto::kAuthOk].get();
  s.auth_unsigned += auth_[proto::kAuthUnsigned].get();
  s.auth_bad_tag += auth_[proto::kAuthBadTag].get();
  s.auth_replayed += auth_[proto::kAuthReplayed].get();
  s.auth_stale += auth_[proto::kAuthStale].get();
  s.auth_unknown_origin += auth_[proto::kAuthUnknownOrigin].get();
  for (int i = 0; i < kMalformedReasons; i++) {
    s.malformed += malformed_[i].get();
    s.malformed_by_reason[i] += malformed_[i].get();
  }
}

} // namespace fanout::driver
