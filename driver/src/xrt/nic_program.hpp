// Programming a Fanout NIC on a card: this node's addresses, the replication mode and fan-out, the
// neighbour tables, the hostile-input policy and authentication, written into the shell's and the
// kernels' registers (fanout/regs.hpp) through CardRegisters. The xrt backend runs it at open.
//
// It is the register-level twin of the simulator's NIC setup (sim/src/cluster.cpp, tree mode):
// every other node is reached through MAC port 0 at its own MAC and IPv4 address.
#pragma once

#include "fanout/driver/card.hpp"
#include "fanout/driver/cluster.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace fanout::driver::xrt {

// The kernels' clock (hls/vitis/boards.tcl): converts the transport's microseconds and Mbit/s.
constexpr uint32_t kKernelMhz = 300;

struct NicNeighbour {
  NodeId id = 0;
  uint8_t mac[6] = {};
  uint32_t ipv4 = 0;
  uint8_t port = 0; // MAC port towards it
};

struct NicProgram {
  NodeId node = 0;
  uint8_t mac[6] = {};
  uint32_t ipv4 = 0;
  uint16_t udp_port = 0;
  uint32_t fanout = 4;
  std::vector<NicNeighbour> neighbours; // every other node
  uint32_t heartbeat_clocks = 1000;     // link monitor interval
  uint32_t silent_timeout_clocks = 0;   // ACK aggregator (0: the kernel's default)
  // Hostile-input policy (proto/policy.hpp) and per-sender rate (payload bytes per 64 clocks).
  uint32_t max_receivers = 0;
  NodeId first_id = 0, last_id = 0xFFFF;
  uint32_t rate_bytes_per_tick = 0, rate_burst_bytes = 0;
  // Authentication: 0 off, 1 accept, 2 require (hw::ParserAuthMode); the group key.
  uint8_t auth_mode = 0;
  uint8_t auth_key[16] = {};
};

// The NIC of node `self` as the cluster file describes the cluster. False and *error (naming the
// node and field) when an address does not parse or the nodes disagree on the UDP port.
bool nic_program_from_cluster(const ClusterConfig &cluster, NodeId self, NicProgram *out, std::string *error);

// Write it. False and *error at the first register that cannot be written (the kernel and offset
// named). Table writes follow hls/common/include/fanout/hls/table_write.hpp: the tbl_* registers,
// then a new tbl_seq.
bool program_nic(CardRegisters &regs, const NicProgram &p, std::string *error);

} // namespace fanout::driver::xrt
