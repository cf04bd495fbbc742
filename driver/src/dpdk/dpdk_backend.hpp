// The dpdk backend: this node's host on a DPDK port, with the Fanout data path (fanout::dp::Engine,
// docs/fanout-dp.md) in the same process doing what a Fanout NIC does: it replicates DATA to the
// next hops and aggregates the ACKs (BackendCaps::nic_replicates), so the transport posts every
// packet once with its whole receiver set and gets one ACK per message. The same engine runs
// in the fanout-dp daemon, so a node with this backend mixes with hardware nodes, fanout-dp relays
// and udp-backend hosts in one cluster.
//
// URI: dpdk:<cluster file>?node=<id>[&port=<DPDK port id>]. EAL arguments come from the
// environment variable FANOUT_DPDK_EAL (split on spaces; e.g. "--no-huge -m 256 --no-pci
// --no-shconf --vdev net_af_packet0,iface=veth0"); EAL is initialised once per process, by the
// first dpdk device (or before, by the application: then FANOUT_DPDK_EAL is not read). The port
// is configured and started by the device that opens it (one RX and one TX queue) unless it is
// already started. Every node of the cluster file needs the same UDP port; Ethernet addresses are
// the nodes' `mac` fields (default: the cluster address plan's), this node's included: the port
// is set to it when it can be and is promiscuous; frames for other MACs are dropped (MAC filter).
//
// Threading: the device's progress thread is the only caller (Backend contract); it drives the
// engine (poll, timers) from receive() and flush(). rx_fd() is -1: the progress thread polls.
//
// Zero copy: a payload inside registered memory (register_memory) is attached to the frame as an
// external buffer (rte_pktmbuf_attach_extbuf), and the engine's copies share it by reference;
// other payloads are copied into the frame. register_memory gives the region's pages to DPDK
// (rte_extmem_register) and DMA-maps them for the port's device (rte_dev_dma_map; virtual
// devices need none); with IOVA as PA, or when DPDK refuses the memory, that region is copied. The application keeps a
// posted buffer untouched until its completion (the API's rule), and deregister_memory waits until no frame references
// the region any more.
#pragma once

#include "../backend.hpp"
#include "../counters.hpp"
#include "fanout/dp/engine.hpp"
#include "fanout/proto/packet.hpp"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fanout::driver {

class DpdkBackend final : public Backend {
 public:
  struct Options {
    uint16_t port = 0;
  };
  // Initialises EAL if needed, configures and starts the port, builds the engine. kNotAvailable
  // (EAL failed, no such port), kBadConfig (the cluster cannot be expressed: mixed UDP ports, bad
  // MAC), kIoError (port setup failed), with a message.
  static Status open(const ClusterConfig &cluster, NodeId self, const Options &o, std::unique_ptr<DpdkBackend> *out,
                     std::string *message);
  ~DpdkBackend() override;

  const char *name() const override { return "dpdk"; }
  BackendCaps caps() const override {
    BackendCaps c;
    c.nic_replicates = true;
    return c;
  }
  uint32_t max_packet_bytes() const override { return max_packet_; }
  bool send(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload, uint32_t payload_len) override;
  void flush() override;
  uint32_t receive(RxPacket *out, uint32_t max) override;
  int rx_fd() const override { return -1; }
  Status register_memory(void *addr, uint64_t length, uint64_t *handle) override;
  void deregister_memory(uint64_t handle) override;
  void add_stats(DeviceStats &s) const override;

  const dp::Engine &engine() const { return *engine_; }

  static constexpr uint32_t kBatch = 64;

 private:
  DpdkBackend() = default;
  uint64_t now_us() const;
  void drive(); // one engine poll and its timers
  // A region of registered memory, shared by the frames that reference it.
  struct Region {
    uint64_t handle;
    uint8_t *base;
    uint64_t length;
    std::atomic<uint64_t> attached{0}; // frames whose payload segment references it
    bool zero_copy = false;            // payloads go by reference (DMA-able for the port)
    void *ext_base = nullptr;          // the page-aligned span given to DPDK
    uint64_t ext_len = 0;
    bool ext_registered = false, dma_mapped = false;
  };
  Region *find_region(const uint8_t *p, uint32_t len);

  uint16_t port_ = 0;
  NodeId self_ = 0;
  uint32_t max_packet_ = 0;
  uint16_t udp_port_ = proto::kDefaultUdpPort;
  uint8_t mac_[6] = {};
  uint32_t ipv4_ = 0;
  rte_mempool *rx_pool_ = nullptr, *frame_pool_ = nullptr, *header_pool_ = nullptr;
  std::unique_ptr<dp::Engine> engine_;

  std::mutex regions_mu_; // register/deregister (any thread) against lookups (progress thread)
  std::vector<std::unique_ptr<Region>> regions_;
  uint64_t next_handle_ = 1;

  rte_mbuf *held_[kBatch] = {}; // frames handed out by the last receive(), freed by the next
  uint32_t held_n_ = 0;
  std::vector<uint8_t> linear_; // chained frames copied flat for the transport, kBatch slots
  proto::ParseConfig parse_cfg_;

  Counter frames_sent_, frames_received_, send_errors_, zero_copy_sends_, not_fanout_;
  Counter malformed_[kMalformedReasons];
  Counter policy_[proto::kPolicyCodeCount]; // the engine's Stats::policy_drops, by proto::PolicyCode
  Counter auth_[proto::kAuthCodeCount];     // the engine's Stats::auth, by proto::AuthCode
};

} // namespace fanout::driver
