// ParsedMeta: what the header parser tells the replicator about each valid Fanout frame.
//
// One ParsedMeta is written to the parser's out_meta stream in the same clock as the frame's
// first beat goes to out_fanout, so the replicator pairs them in order. The frame itself travels
// unchanged on out_fanout (the replicator needs the receiver set and the payload); this struct
// carries what was decoded from it. Every field comes from proto/ (packet.hpp): nothing here
// defines a header field.
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_PARSED_META_HPP
#define FANOUT_HLS_PARSED_META_HPP

#include <stdint.h>

#include "fanout/proto/packet.hpp"

namespace fanout {
namespace hw {

struct ParsedMeta {
  proto::FanoutHeader hdr; // the 22-byte Fanout header, decoded (proto::read_fanout_header)
  uint32_t payload_len;    // payload bytes after the set (from the UDP length, padding excluded)
  uint32_t frame_len;      // bytes in the frame (what the beats carry)
  uint8_t ingress_port;    // tuser[7:0] of the frame's first beat (fanout/hls/axis.hpp)
  uint32_t ip_src;         // flow: IPv4 source and destination, UDP source port (ECMP entropy)
  uint32_t ip_dst;
  uint16_t udp_src_port;
};

} // namespace hw
} // namespace fanout

#endif
