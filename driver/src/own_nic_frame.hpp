// The outer headers of a frame a host hands its own NIC (dpdk: the in-process data path; xrt: the
// card): from this node to this node, at its own MAC and IPv4 address and the cluster's Fanout
// UDP port, the UDP source port the message's ECMP entropy (proto::entropy_port).
#pragma once

#include "fanout/proto/packet.hpp"

#include <cstring>

namespace fanout::driver {

inline proto::NetHeaders own_nic_headers(NodeId self, const uint8_t mac[6], uint32_t ipv4, uint16_t udp_port,
                                         const uint8_t *fanout_head) {
  proto::FanoutHeader h = proto::read_fanout_header(fanout_head);
  proto::NetHeaders net = proto::cluster_net_headers(self, self, h.sender, h.message_id);
  std::memcpy(net.eth_dst, mac, 6);
  std::memcpy(net.eth_src, mac, 6);
  net.ip_src = net.ip_dst = ipv4;
  net.udp_dst_port = udp_port;
  return net;
}

} // namespace fanout::driver
