// Frames the dpdk tests expect, built with proto/ independently of the engine: shared by the
// engine's tests (test_engine.cpp) and the daemon's (test_fanout_dp.cpp).
#pragma once

#include "fanout/proto/packet.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace fanout::dp::test {

using Bytes = std::vector<uint8_t>;

inline proto::ReceiverSet set_of(const std::vector<uint16_t> &ids) {
  proto::ReceiverSet s;
  for (uint16_t id : ids) s.append(id);
  return s;
}

// The copy of `in` that node `self` sends to `dest` carrying `piece` (the replicator's
// contract): outer headers to dest's cluster addresses, the input's TOS and UDP source port,
// hops left one less, origin self, the input's payload.
inline Bytes copy_frame(const Bytes &in, uint16_t self, uint16_t dest, const proto::ReceiverSet &piece) {
  proto::ParsedPacket pp;
  proto::ReceiverSet s;
  EXPECT_EQ(proto::parse_frame(in.data(), (uint32_t)in.size(), proto::default_parse_config(), pp, &s), proto::kOk);
  proto::NetHeaders net;
  proto::cluster_mac(dest, net.eth_dst);
  proto::cluster_mac(self, net.eth_src);
  net.ip_src = proto::cluster_ipv4(self);
  net.ip_dst = proto::cluster_ipv4(dest);
  net.ip_tos = pp.ip_tos;
  net.ip_ttl = proto::kDefaultIpTtl;
  net.ip_id = 0;
  net.udp_src_port = pp.udp_src_port;
  net.udp_dst_port = proto::kDefaultUdpPort;
  proto::FanoutHeader h = pp.hdr;
  h.hops_left = (uint8_t)(h.hops_left - 1);
  h.origin = self;
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_EQ(proto::build_frame(net, h, piece, in.data() + pp.payload_offset, pp.payload_len,
                               proto::default_build_options(), out.data(), (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return out;
}

} // namespace fanout::dp::test
