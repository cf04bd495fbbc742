// fanout_parser: the synthesis top of the header-parser kernel (parser.hpp), over one static
// fanout::hw::Parser. Free-running (ap_ctrl_none): one call is one clock.
//
// Ports:
//  * in, out_fanout, out_meta, out_host, out_seen: AXI-Stream with register slices (axis register
//    both). out_seen is the peer monitor's tap (parser.hpp): the meta of each valid Fanout frame
//    as soon as it is classified; seen_dropped counts words it could not take.
//    AXI-Stream ports have no depth; the kernel's buffering is its internal FIFO (parser.hpp).
//  * s_axilite (bundle ctrl): udp_port, the Fanout destination port (0, the register's reset
//    value, means proto::kDefaultUdpPort); error_counts[kErrorCount], frames per ParseError code;
//    overflow_count (frames dropped with the FIFO full); bad_frame_count (frames the MAC flagged);
//    auth_mode (ParserAuthMode: 0 off, 1 accept, 2 require); auth_key[4], the group key, key byte
//    4i + j in bits 8j+7..8j of word i (little-endian words: key bytes in proto::SipHash24's
//    order); auth_counts[kAuthCodeCount], frames per proto::AuthCode.
//
// C++14, synthesizable subset.
#include <stdint.h>

#include "ap_int.h"
#include "hls_stream.h"

#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/proto/wire.hpp"
#include "parser.hpp"

// The store-and-forward FIFO's depth in beats (parser.hpp): kParserFifoBeats by default;
// kParserAuthFifoBeats (4096) checks signed jumbo frames at line rate.
#ifndef FANOUT_PARSER_FIFO_BEATS
#define FANOUT_PARSER_FIFO_BEATS fanout::hw::kParserFifoBeats
#endif

extern "C" void fanout_parser(hls::stream<fanout::hw::axis_word> &in, hls::stream<fanout::hw::axis_word> &out_fanout,
                              hls::stream<fanout::hw::ParsedMeta> &out_meta,
                              hls::stream<fanout::hw::axis_word> &out_host,
                              hls::stream<fanout::hw::ParsedMeta> &out_seen, uint16_t udp_port,
                              uint32_t error_counts[fanout::proto::kErrorCount], uint32_t *overflow_count,
                              uint32_t *bad_frame_count, uint32_t *seen_dropped, uint8_t auth_mode,
                              const uint32_t auth_key[4], uint32_t auth_counts[fanout::proto::kAuthCodeCount]) {
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_ctrl_none port = return )
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_fanout)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_meta)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_host)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out_seen)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = seen_dropped bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = udp_port bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = error_counts bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = overflow_count bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = bad_frame_count bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = auth_mode bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = auth_key bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = auth_counts bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS PIPELINE II = 1)

  static fanout::hw::BasicParser<FANOUT_PARSER_FIFO_BEATS> parser;
  parser.set_udp_port(udp_port == 0 ? fanout::proto::kDefaultUdpPort : udp_port);
  uint8_t key[16];
  fanout::hw::auth_key_from_registers(auth_key, key);
  parser.set_auth(auth_mode, key);
  parser.step(in, out_fanout, out_meta, out_host, out_seen);
  parser.read_counters(error_counts, overflow_count, bad_frame_count);
  *seen_dropped = parser.seen_dropped();
  parser.read_auth_counters(auth_counts);
}
