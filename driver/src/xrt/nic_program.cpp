#include "nic_program.hpp"

#include "fanout/proto/auth.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/regs.hpp"

#include <cstring>

namespace fanout::driver::xrt {
namespace {

// hls/common/include/fanout/hls/table_write.hpp: the neighbour table's kind.
constexpr uint32_t kTableNeighbour = 0;

uint32_t mac_hi(const uint8_t m[6]) {
  return (uint32_t)m[0] << 8 | m[1];
}
uint32_t mac_lo(const uint8_t m[6]) {
  return (uint32_t)m[2] << 24 | (uint32_t)m[3] << 16 | (uint32_t)m[4] << 8 | m[5];
}

struct Writer {
  CardRegisters &regs;
  std::string *error;
  bool ok = true;
  void operator()(const char *kernel, uint32_t offset, uint32_t value) {
    if (ok) ok = regs.write(kernel, offset, value, error);
  }
};

// A kernel's tbl_* registers (table_write.hpp: the same names in every kernel that holds tables).
struct TableRegs {
  const char *kernel;
  uint32_t seq, kind, index, mac_hi, mac_lo, ipv4, port, valid;
};
#define FANOUT_TABLE_REGS(ns)                                                                                          \
  TableRegs {                                                                                                          \
    ns::kKernelName, ns::kTblSeq, ns::kTblKind, ns::kTblIndex, ns::kTblMacHi, ns::kTblMacLo, ns::kTblIpv4,             \
        ns::kTblPort, ns::kTblValid                                                                                    \
  }

// One neighbour entry into a kernel's table: the tbl_* fields, then a tbl_seq it has not seen.
void table_write(Writer &w, const TableRegs &t, uint32_t kind, const NicNeighbour &n) {
  if (!w.ok) return;
  uint32_t seq = 0;
  if (!w.regs.read(t.kernel, t.seq, &seq, w.error)) {
    w.ok = false;
    return;
  }
  w(t.kernel, t.kind, kind);
  w(t.kernel, t.index, n.id);
  w(t.kernel, t.mac_hi, mac_hi(n.mac));
  w(t.kernel, t.mac_lo, mac_lo(n.mac));
  w(t.kernel, t.ipv4, n.ipv4);
  w(t.kernel, t.port, n.port);
  w(t.kernel, t.valid, 1);
  w(t.kernel, t.seq, seq + 1);
}

} // namespace

bool nic_program_from_cluster(const ClusterConfig &cluster, NodeId self, NicProgram *out, std::string *error) {
  NicProgram p;
  p.node = self;
  bool first = true, found = false;
  for (const NodeAddress &n : cluster.nodes) {
    uint32_t ip = 0;
    uint16_t udp = 0;
    if (!parse_ipv4_port(n.address, &ip, &udp)) {
      *error = cluster.origin + ": node " + std::to_string(n.id) + ": address '" + n.address + "' does not parse";
      return false;
    }
    if (first) p.udp_port = udp;
    if (udp != p.udp_port) {
      *error = cluster.origin + ": node " + std::to_string(n.id) + ": UDP port " + std::to_string(udp) +
               " differs from the others' " + std::to_string(p.udp_port) + " (a Fanout NIC uses one UDP port)";
      return false;
    }
    NicNeighbour nb;
    nb.id = n.id;
    nb.ipv4 = ip;
    if (n.mac.empty()) {
      proto::cluster_mac(n.id, nb.mac);
    } else if (!parse_mac(n.mac, nb.mac)) {
      *error = cluster.origin + ": node " + std::to_string(n.id) + ": mac '" + n.mac + "' does not parse";
      return false;
    }
    if (first) p.first_id = n.id;
    p.last_id = n.id;
    first = false;
    if (n.id == self) {
      std::memcpy(p.mac, nb.mac, 6);
      p.ipv4 = ip;
      found = true;
    } else {
      p.neighbours.push_back(nb);
    }
  }
  if (!found) {
    *error = cluster.origin + ": node " + std::to_string(self) + " (this node) is not listed";
    return false;
  }
  const TransportOptions &t = cluster.transport;
  p.fanout = t.fanout;
  p.silent_timeout_clocks = (uint32_t)std::min<uint64_t>(0xFFFFFFFFull, (uint64_t)t.silent_timeout_us * kKernelMhz);
  p.max_receivers = t.max_receivers;
  if (t.rate_mbps) {
    // Mbit/s -> payload bytes per 64 kernel clocks: mbps * 1e6 / 8 bytes/s * 64 / (MHz * 1e6).
    p.rate_bytes_per_tick = std::max<uint32_t>(1, (uint32_t)((uint64_t)t.rate_mbps * 8 / kKernelMhz));
    p.rate_burst_bytes = t.rate_burst_bytes ? t.rate_burst_bytes : std::max<uint32_t>(65536, t.rate_mbps * 125);
  }
  p.auth_mode = (uint8_t)t.auth;
  std::memcpy(p.auth_key, t.auth_key, 16);
  *out = p;
  return true;
}

bool program_nic(CardRegisters &regs, const NicProgram &p, std::string *error) {
  Writer w{regs, error};
  // The shell: this node's addresses (source of every frame it builds), the link monitor.
  w(kShellKernel, regs::nic::kNodeId, p.node);
  w(kShellKernel, regs::nic::kMacHi, mac_hi(p.mac));
  w(kShellKernel, regs::nic::kMacLo, mac_lo(p.mac));
  w(kShellKernel, regs::nic::kIpv4, p.ipv4);
  w(kShellKernel, regs::nic::kUdpPort, p.udp_port);
  w(kShellKernel, regs::link::kInterval, p.heartbeat_clocks);
  // Parser: the Fanout port, authentication.
  namespace pr = regs::parser;
  w(pr::kKernelName, pr::kUdpPort, p.udp_port);
  uint32_t key[4];
  proto::auth_key_words(p.auth_key, key);
  for (uint32_t i = 0; i < pr::kAuthKeyCount; i++) w(pr::kKernelName, pr::auth_key(i), key[i]);
  w(pr::kKernelName, pr::kAuthMode, p.auth_mode);
  // Replicator: tree mode with fan-out F, the policy, the neighbours.
  namespace rp = regs::replicator;
  w(rp::kKernelName, rp::kSelfId, p.node);
  w(rp::kKernelName, rp::kSelfMacHi, mac_hi(p.mac));
  w(rp::kKernelName, rp::kSelfMacLo, mac_lo(p.mac));
  w(rp::kKernelName, rp::kSelfIpv4, p.ipv4);
  w(rp::kKernelName, rp::kMode, 0);
  w(rp::kKernelName, rp::kTreeFanout, p.fanout);
  w(rp::kKernelName, rp::kUdpPort, p.udp_port);
  w(rp::kKernelName, rp::kPolicyMaxReceivers, p.max_receivers);
  w(rp::kKernelName, rp::kPolicyFirstId, p.first_id);
  w(rp::kKernelName, rp::kPolicyLastId, p.last_id);
  w(rp::kKernelName, rp::kRateBytesPerTick, p.rate_bytes_per_tick);
  w(rp::kKernelName, rp::kRateBurstBytes, p.rate_burst_bytes);
  // ACK aggregator and peer monitor: this node's addresses, the timers.
  namespace ag = regs::ack_agg;
  w(ag::kKernelName, ag::kSelfId, p.node);
  w(ag::kKernelName, ag::kSelfMacHi, mac_hi(p.mac));
  w(ag::kKernelName, ag::kSelfMacLo, mac_lo(p.mac));
  w(ag::kKernelName, ag::kSelfIpv4, p.ipv4);
  w(ag::kKernelName, ag::kUdpPort, p.udp_port);
  w(ag::kKernelName, ag::kSilentTimeout, p.silent_timeout_clocks);
  namespace pm = regs::peer_monitor;
  w(pm::kKernelName, pm::kSelfId, p.node);
  w(pm::kKernelName, pm::kSelfMacHi, mac_hi(p.mac));
  w(pm::kKernelName, pm::kSelfMacLo, mac_lo(p.mac));
  w(pm::kKernelName, pm::kSelfIpv4, p.ipv4);
  w(pm::kKernelName, pm::kUdpPort, p.udp_port);
  w(pm::kKernelName, pm::kDisable, 0);
  const TableRegs tables[] = {FANOUT_TABLE_REGS(rp), FANOUT_TABLE_REGS(ag), FANOUT_TABLE_REGS(pm)};
  for (const NicNeighbour &n : p.neighbours)
    for (const TableRegs &t : tables) table_write(w, t, kTableNeighbour, n);
  // Egress signer: signs what this node originates when authentication is on.
  namespace as = regs::auth_signer;
  w(as::kKernelName, as::kSelfId, p.node);
  w(as::kKernelName, as::kUdpPort, p.udp_port);
  for (uint32_t i = 0; i < as::kKeyCount; i++) w(as::kKernelName, as::key(i), key[i]);
  w(as::kKernelName, as::kEnable, p.auth_mode != 0);
  return w.ok;
}

} // namespace fanout::driver::xrt
