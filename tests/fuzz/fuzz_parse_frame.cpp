// libFuzzer target: parse_frame on arbitrary bytes, then round trips through the encoders.
//
// parse_frame is the first code that sees bytes from the wire (NIC pipeline, DPDK path), so it
// must reject anything malformed with a defined code and never read outside the frame; and what
// it accepts must be something build_frame can reproduce, or a relay that re-emits a parsed
// packet would send something its peers reject.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fanout/proto/auth.hpp"
#include "fanout/proto/packet.hpp"
#include "fuzz_check.hpp"

using namespace fanout::proto;

namespace {

// Sets are 16 KiB each: static so that one input does not cost a large stack frame per call.
ReceiverSet g_set, g_set_noset, g_reencoded, g_reparsed;
uint8_t g_body[kMaxSetBytes];
uint8_t g_rebuilt[kMaxFrameBytes];

void check_frame(const uint8_t *data, uint32_t len, const ParseConfig &cfg) {
  ParsedPacket p;
  std::memset(&p, 0, sizeof p);
  int rc = parse_frame(data, len, cfg, p, &g_set);
  FUZZ_CHECK(rc >= 0 && rc < kErrorCount);

  // Callers that do not want the set get it validated into a scratch set: the verdict must not
  // depend on whether the caller asked for it.
  ParsedPacket q;
  int rc_noset = parse_frame<kMaxSetRanges>(data, len, cfg, q, nullptr);
  FUZZ_CHECK(rc_noset == rc);
  if (rc != kOk) return;

  const FanoutHeader &h = p.hdr;
  FUZZ_CHECK(p.set_offset == kSetOffset);
  FUZZ_CHECK((uint64_t)p.payload_offset + p.payload_len <= len);
  FUZZ_CHECK(p.payload_offset == kSetOffset + h.set_len);
  FUZZ_CHECK(p.udp_dst_port == cfg.udp_port);
  FUZZ_CHECK(h.version == kProtocolVersion);
  FUZZ_CHECK(h.type >= kTypeData && h.type <= kTypeProbe);
  FUZZ_CHECK(h.set_encoding <= kSetBitmap && h.set_len <= kMaxSetBytes);
  FUZZ_CHECK(fanout_fuzz::set_well_formed(g_set));
  if (h.type == kTypeData || h.type == kTypeNack) FUZZ_CHECK(!g_set.empty());
  if (h.type == kTypeProbe) FUZZ_CHECK(g_set.empty() && h.set_encoding == kSetNone);
  if (h.type != kTypeData) FUZZ_CHECK(p.payload_len == 0);

  // Re-encode with the packet's own encoding: a relay forwarding the whole set does exactly this.
  SetEncoding enc = (SetEncoding)h.set_encoding;
  uint32_t written = 0;
  int e = encode_set(g_set, enc, g_body, kMaxSetBytes, &written);
  FUZZ_CHECK(e == kOk);
  FUZZ_CHECK(written <= kMaxSetBytes);
  // The list encoding has exactly one form for a set, so it must come back byte for byte.
  if (enc == kSetList) FUZZ_CHECK(written == h.set_len && std::memcmp(g_body, data + kSetOffset, written) == 0);
  // Bitmap bodies are canonical (greedy runs), so the re-encoding is exactly as long.
  if (enc == kSetBitmap) FUZZ_CHECK(written == h.set_len);
  e = decode_set(enc, g_body, written, g_reencoded);
  FUZZ_CHECK(e == kOk);
  FUZZ_CHECK(g_reencoded == g_set);

  // Rebuild the frame from the parsed fields; it must parse back to the same packet.
  NetHeaders net;
  std::memcpy(net.eth_dst, p.eth_dst, 6);
  std::memcpy(net.eth_src, p.eth_src, 6);
  net.ip_src = p.ip_src;
  net.ip_dst = p.ip_dst;
  net.ip_tos = p.ip_tos;
  net.ip_ttl = data[kIpTtlOff];
  net.ip_id = load_be16(data + kIpIdOff);
  net.udp_src_port = p.udp_src_port;
  net.udp_dst_port = p.udp_dst_port;
  BuildOptions opt;
  opt.encoding = enc;
  // Exercise both checksum paths; the reparse below verifies the computed one.
  opt.udp_checksum = cfg.verify_udp_checksum;
  uint32_t frame_len = 0;
  // An AUTH frame is rebuilt without the flag, then signed (proto/auth.hpp): the trailer is not
  // payload, and the reparse must see the same header again.
  FanoutHeader hb = h;
  hb.flags = (uint8_t)(hb.flags & ~kFlagAuth);
  e = build_frame(net, hb, g_set, data + p.payload_offset, p.payload_len, opt, g_rebuilt, kMaxFrameBytes, &frame_len);
  FUZZ_CHECK(e == kOk);
  FUZZ_CHECK(frame_len >= kMinFrameBytes && frame_len <= kMaxFrameBytes);
  if (h.flags & kFlagAuth) {
    static const uint8_t key[kAuthKeyBytes] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint32_t signed_len = 0;
    // The rebuilt frame can be up to 12 bytes too long for the trailer only if the original's
    // set was not canonical; then there is nothing more to compare.
    if (!auth_append(g_rebuilt, frame_len, kMaxFrameBytes, key, 1, &signed_len)) return;
    frame_len = signed_len;
  }

  ParsedPacket r;
  std::memset(&r, 0, sizeof r);
  e = parse_frame(g_rebuilt, frame_len, cfg, r, &g_reparsed);
  FUZZ_CHECK(e == kOk);
  FUZZ_CHECK(r.hdr.version == h.version && r.hdr.type == h.type && r.hdr.flags == h.flags);
  FUZZ_CHECK(r.hdr.set_encoding == h.set_encoding && r.hdr.hops_left == h.hops_left);
  // set_len is the re-encoded size: equal to the original unless the sender's body was not in
  // the encoder's canonical form (touching ranges, a different bitmap run split).
  FUZZ_CHECK(r.hdr.set_len == written);
  FUZZ_CHECK(r.hdr.sender == h.sender && r.hdr.origin == h.origin && r.hdr.message_id == h.message_id);
  FUZZ_CHECK(r.hdr.sequence == h.sequence && r.hdr.length == h.length);
  FUZZ_CHECK(std::memcmp(r.eth_dst, p.eth_dst, 6) == 0 && std::memcmp(r.eth_src, p.eth_src, 6) == 0);
  FUZZ_CHECK(r.ip_src == p.ip_src && r.ip_dst == p.ip_dst && r.ip_tos == p.ip_tos);
  FUZZ_CHECK(r.udp_src_port == p.udp_src_port && r.udp_dst_port == p.udp_dst_port);
  FUZZ_CHECK(r.payload_len == p.payload_len);
  FUZZ_CHECK(std::memcmp(g_rebuilt + r.payload_offset, data + p.payload_offset, p.payload_len) == 0);
  FUZZ_CHECK(g_reparsed == g_set);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // parse_frame takes a 32-bit length; anything past kMaxFrameBytes is rejected on length alone.
  if (size > 2 * kMaxFrameBytes) return 0;
  ParseConfig cfg = default_parse_config();
  cfg.verify_udp_checksum = true;
  check_frame(data, (uint32_t)size, cfg);
  // Relays do not verify: frames with a wrong UDP checksum then reach the Fanout checks.
  cfg.verify_udp_checksum = false;
  check_frame(data, (uint32_t)size, cfg);

  // A mutated length or address almost always breaks the IPv4 header checksum, which would stop
  // the mutant at kIpv4BadChecksum. Parse a copy with the checksum repaired as well, so those
  // mutants reach the length and Fanout checks behind it.
  if (size >= kUdpOffset) {
    std::vector<uint8_t> fixed(data, data + size); // exact size: ASan still sees over-reads
    uint8_t *ip = fixed.data() + kIpv4Offset;
    store_be16(ip + 10, 0);
    store_be16(ip + 10, ipv4_checksum(ip));
    if (std::memcmp(fixed.data(), data, size) != 0) check_frame(fixed.data(), (uint32_t)size, cfg);
  }
  return 0;
}
