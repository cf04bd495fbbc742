// protocol_examples: the worked examples of docs/protocol.md, generated from proto/'s real code.
//
// Every example is a fenced ```text block in docs/protocol.md preceded by a line
// `<!-- example: NAME -->`. This program regenerates each block with the encoders, splitters,
// aggregator and BIER cost model of proto/ and compares it with the document:
//
//   protocol_examples                         print every example
//   protocol_examples --print NAME            print one example
//   protocol_examples --list                  list the example names
//   protocol_examples --check FILE            exit 1 and print a diff for each mismatching or
//                                             missing block (and for unknown/duplicate blocks)
//   protocol_examples --update FILE           rewrite the blocks in place (a marker line without a
//                                             fence below it gets a new block)
//   protocol_examples --check-codes FILE      exit 1 unless FILE's error-code table has a row
//                                             `| code | `name` | ...` for every code 1..kErrorCount-1
//                                             and its auth-code table one for every AuthCode
//
// All inputs (MACs, IPs, ports, message ids, payloads, random seeds) are fixed, so the output is
// deterministic. Every frame printed is parsed back with parse_frame and must validate.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fanout/proto/auth.hpp"
#include "fanout/proto/policy.hpp"
#include "fanout/proto/proto.hpp"

using namespace fanout::proto;

namespace {

typedef std::vector<std::string> Lines;
typedef std::vector<uint8_t> Bytes;

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "protocol_examples: internal error: %s\n", what.c_str());
  std::exit(2);
}

std::string rstrip(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// ---- Fixed example inputs ------------------------------------------------------------------
// Node n: proto/'s cluster address plan (MAC 02:00:00:00:hi(n):lo(n), IPv4 10.0.hi(n).lo(n)).
// Node 254 is a replicating switch that runs the port rule. The UDP source port (ECMP entropy,
// the sender's choice) is 49152 + (message id mod 16384) in every example, simpler to read in
// a dump than entropy_port().
const NodeId kSwitch = 254;

NetHeaders net_for(NodeId from, NodeId to, uint32_t message_id) {
  NetHeaders n = cluster_net_headers(from, to, from, message_id);
  n.udp_src_port = (uint16_t)(49152 + message_id % 16384);
  return n;
}

Bytes text_payload(const char *s) {
  return Bytes(s, s + std::strlen(s));
}

// Deterministic ids: xorshift32 from a fixed seed.
struct Rng {
  uint32_t s;
  explicit Rng(uint32_t seed) : s(seed) {}
  uint32_t next() {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
  }
};

// ---- Formatting ----------------------------------------------------------------------------
template <uint32_t M> std::string set_str(const BasicReceiverSet<M> &s, uint32_t max_items = 12) {
  if (s.empty()) return "{}";
  std::string out = "{";
  uint32_t shown = 0;
  for (uint32_t r = 0; r < s.range_count(); r++) {
    if (shown == max_items) {
      out += fmt(", ... (%u ids in %u ranges)", s.size(), s.range_count());
      break;
    }
    if (r) out += ", ";
    const IdRange &x = s.range(r);
    out += x.first == x.last ? fmt("%u", x.first) : fmt("%u..%u", x.first, x.last);
    shown++;
  }
  return out + "}";
}

std::string hex(const uint8_t *p, uint32_t n) {
  std::string out;
  for (uint32_t i = 0; i < n; i++) out += fmt(i ? " %02x" : "%02x", p[i]);
  return out;
}

std::string flag_str(uint8_t flags) {
  static const struct {
    uint8_t bit;
    const char *name;
  } names[] = {{kFlagLast, "LAST"},   {kFlagRetx, "RETX"}, {kFlagAckReq, "ACK_REQ"}, {kFlagSilent, "SILENT"},
               {kFlagReply, "REPLY"}, {kFlagGone, "GONE"}, {kFlagAuth, "AUTH"}};
  std::string out;
  for (const auto &n : names) {
    if (!(flags & n.bit)) continue;
    if (!out.empty()) out += "|";
    out += n.name;
  }
  return out.empty() ? "none" : out;
}

std::string ip_str(uint32_t ip) {
  return fmt("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}
std::string mac_str(const uint8_t *m) {
  return fmt("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

// Hex dump: offset, 16 bytes a line, and the headers that start on that line.
void hexdump(const Bytes &f, const std::vector<std::pair<uint32_t, std::string>> &marks, Lines &out) {
  for (uint32_t off = 0; off < f.size(); off += 16) {
    std::string line = fmt("%04x ", off);
    for (uint32_t i = 0; i < 16; i++) line += off + i < f.size() ? fmt(" %02x", f[off + i]) : "   ";
    std::string note;
    for (const auto &m : marks) {
      if (m.first < off || m.first >= off + 16) continue;
      note += (note.empty() ? "" : ", ") + m.second + fmt(" @%u", m.first);
    }
    out.push_back(rstrip(note.empty() ? line : line + "   " + note));
  }
}

// Parse a built frame back (it must validate) and describe it field by field, then dump it.
void describe_frame(const Bytes &f, Lines &out) {
  std::unique_ptr<ReceiverSet> set(new ReceiverSet);
  ParsedPacket p;
  ParseConfig cfg = default_parse_config();
  int rc = parse_frame(f.data(), (uint32_t)f.size(), cfg, p, set.get());
  if (rc != kOk) die(std::string("example frame does not parse: ") + error_name(rc));
  const FanoutHeader &h = p.hdr;
  const uint8_t *ip = f.data() + kIpv4Offset;
  const uint8_t *udp = f.data() + kUdpOffset;
  uint32_t nb = beats_for((uint32_t)f.size());
  out.push_back(fmt("frame %u bytes, %u beat%s of 64", (unsigned)f.size(), nb, nb == 1 ? "" : "s"));
  out.push_back(fmt("  Ethernet  dst %s  src %s  type 0x%04x", mac_str(p.eth_dst).c_str(), mac_str(p.eth_src).c_str(),
                    load_be16(f.data() + kEthTypeOff)));
  out.push_back(fmt("  IPv4      %s -> %s  total length %u  id %u  DF  TTL %u  checksum 0x%04x",
                    ip_str(p.ip_src).c_str(), ip_str(p.ip_dst).c_str(), load_be16(ip + 2), load_be16(ip + 4), ip[8],
                    load_be16(ip + 10)));
  uint16_t usum = load_be16(udp + 6);
  out.push_back(fmt("  UDP       %u -> %u  length %u  checksum %s", p.udp_src_port, p.udp_dst_port, load_be16(udp + 4),
                    usum ? fmt("0x%04x", usum).c_str() : "0 (none)"));
  out.push_back(fmt("  Fanout    version %u  type %s  flags %s  set %s, %u bytes  hops-left %u", h.version,
                    type_name(h.type), flag_str(h.flags).c_str(), encoding_name(h.set_encoding), h.set_len,
                    h.hops_left));
  out.push_back(fmt("            sender %u  origin %u  message 0x%08x  sequence %u  length %u", h.sender, h.origin,
                    h.message_id, h.sequence, h.length));
  if (h.set_encoding != kSetNone) out.push_back("  set       " + set_str(*set));
  if (h.type == kTypeData) {
    uint32_t at = data_offset(h, p.payload_len);
    out.push_back(fmt("  payload   %u bytes = message bytes [%u, %u) of %u; packets in message: %u", p.payload_len, at,
                      at + p.payload_len, h.length, packets_in_message(h, p.payload_len)));
  }
  uint32_t end = p.payload_offset + p.payload_len;
  if (p.auth) {
    out.push_back(fmt("  auth      counter %u  tag 0x%016llx", load_be32(f.data() + p.auth_offset + kAuthCounterOff),
                      (unsigned long long)load_be64(f.data() + p.auth_offset + kAuthTagOff)));
    end = p.auth_offset + kAuthTrailerBytes;
  }
  std::vector<std::pair<uint32_t, std::string>> marks = {
      {kEthOffset, "Ethernet"}, {kIpv4Offset, "IPv4"}, {kUdpOffset, "UDP"}, {kFanoutOffset, "Fanout"}};
  if (h.set_len) marks.push_back({kSetOffset, "set"});
  if (p.payload_len) marks.push_back({p.payload_offset, "payload"});
  if (p.auth) marks.push_back({p.auth_offset, "trailer"});
  if (end < f.size()) marks.push_back({end, "padding"});
  out.push_back("");
  hexdump(f, marks, out);
}

template <uint32_t M>
Bytes build(const NetHeaders &net, const FanoutHeader &h, const BasicReceiverSet<M> &set, const Bytes &payload,
            bool udp_checksum) {
  Bytes f(kMaxFrameBytes);
  BuildOptions opt = default_build_options();
  opt.udp_checksum = udp_checksum;
  uint32_t len = 0;
  int rc = build_frame(net, h, set, payload.data(), (uint32_t)payload.size(), opt, f.data(), (uint32_t)f.size(), &len);
  if (rc != kOk) die(std::string("build_frame: ") + error_name(rc));
  f.resize(len);
  return f;
}

template <uint32_t M> std::string cost_str(const BasicReceiverSet<M> &s) {
  SetCost c = set_cost(s);
  return fmt("list %u B, ranges %u B, bitmap %u B -> %s (addressing bytes %u + %u = %u)", c.list_bytes(),
             c.ranges_bytes(), c.bitmap_bytes(), encoding_name(c.best_encoding()), kAddressingFixedBytes,
             c.best_bytes(), kAddressingFixedBytes + c.best_bytes());
}

// ---- Examples: reference tables ------------------------------------------------------------
Lines ex_frame_layout() {
  Lines o;
  o.push_back("frame offset  bytes  header");
  o.push_back(fmt("%12u  %5u  Ethernet II: destination MAC @%u, source MAC @%u, EtherType @%u (0x%04x)", kEthOffset,
                  kEthHeaderBytes, kEthDstOff, kEthSrcOff, kEthTypeOff, kEtherTypeIpv4));
  o.push_back(fmt("%12u  %5u  IPv4, IHL 5, no options, protocol %u (UDP)", kIpv4Offset, kIpv4HeaderBytes, kIpProtoUdp));
  o.push_back(fmt("%12u  %5u  UDP, destination port %u by default (configurable)", kUdpOffset, kUdpHeaderBytes,
                  kDefaultUdpPort));
  o.push_back(fmt("%12u  %5u  Fanout header", kFanoutOffset, kFanoutHeaderBytes));
  o.push_back(fmt("%12u  %5s  receiver set body (0..%u bytes)", kSetOffset, "L", kMaxSetBytes));
  o.push_back(fmt("%12s  %5s  payload (DATA only)", fmt("%u+L", kSetOffset).c_str(), "P"));
  o.push_back(fmt("%12s  %5u  auth trailer (AUTH flag only, section 12): counter 4, tag 8",
                  fmt("%u+L+P", kSetOffset).c_str(), kAuthTrailerBytes));
  o.push_back("");
  o.push_back(fmt("fixed headers: %u + %u + %u + %u = %u bytes = one %u-bit beat; the set starts on beat 1",
                  kEthHeaderBytes, kIpv4HeaderBytes, kUdpHeaderBytes, kFanoutHeaderBytes, kFixedHeadersBytes,
                  kBeatBytes * 8));
  o.push_back("");
  o.push_back("beat 0 (bytes 0..63)");
  o.push_back(" 0             14                            34        42                    63");
  o.push_back(" | Ethernet 14 |           IPv4 20            |  UDP 8  |   Fanout header 22  |");
  o.push_back("beat 1.. (bytes 64..)");
  o.push_back(" 64");
  o.push_back(" | receiver set (L bytes) | payload (P bytes) ...");
  return o;
}

Lines ex_fanout_header() {
  struct F {
    uint32_t off, size;
    const char *name;
  };
  const F fields[] = {
      {kFoVerTypeOff, 1, "version (bits 7..4) | type (bits 3..0)"},
      {kFoFlagsOff, 1, "flags"},
      {kFoSetEncOff, 1, "reserved (bits 7..4) | set encoding (bits 3..0)"},
      {kFoHopsOff, 1, "hops-left"},
      {kFoSetLenOff, 2, "set length L (bytes of set body after the header)"},
      {kFoSenderOff, 2, "sender (node id of the message's owner)"},
      {kFoOriginOff, 2, "origin (DATA: node that sent this copy; feedback: node that created it)"},
      {kFoMessageIdOff, 4, "message id (scoped by sender)"},
      {kFoSequenceOff, 4, "sequence"},
      {kFoLengthOff, 4, "length"},
  };
  Lines o;
  o.push_back("hdr  frame  bytes  field (big-endian)");
  uint32_t next = 0;
  for (const F &f : fields) {
    if (f.off != next) die("Fanout header fields are not contiguous");
    o.push_back(fmt("%3u  %5u  %5u  %s", f.off, kFanoutOffset + f.off, f.size, f.name));
    next = f.off + f.size;
  }
  if (next != kFanoutHeaderBytes) die("Fanout header size");
  o.push_back(fmt("total %u bytes; set-related fields (encoding, hops-left, set length): bytes %u..%u = %u bytes", next,
                  kFoSetEncOff, kFoSetLenOff + 1, kAddressingFixedBytes));
  o.push_back("");
  o.push_back(" 0                   1                   2                   3");
  o.push_back(" 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1");
  o.push_back("+-------+-------+---------------+-------+-------+---------------+");
  o.push_back("|version| type  |     flags     |  rsv  |  enc  |   hops-left   |");
  o.push_back("+-------+-------+---------------+-------+-------+---------------+");
  o.push_back("|          set length           |            sender             |");
  o.push_back("+-------------------------------+-------------------------------+");
  o.push_back("|            origin             |   message id (bytes 10..11)   |");
  o.push_back("+-------------------------------+-------------------------------+");
  o.push_back("|  message id (bytes 12..13)    |    sequence (bytes 14..15)    |");
  o.push_back("+-------------------------------+-------------------------------+");
  o.push_back("|    sequence (bytes 16..17)    |     length (bytes 18..19)     |");
  o.push_back("+-------------------------------+-------------------------------+");
  o.push_back("|     length (bytes 20..21)     |");
  o.push_back("+-------------------------------+");
  return o;
}

Lines ex_constants() {
  Lines o;
  o.push_back(fmt("protocol version        %u", kProtocolVersion));
  o.push_back(fmt("packet types            DATA %d, ACK %d, NACK %d, PROBE %d (0 and %d..15 invalid)", kTypeData,
                  kTypeAck, kTypeNack, kTypeProbe, kTypeProbe + 1));
  o.push_back(fmt("flags                   LAST 0x%02x, RETX 0x%02x, ACK_REQ 0x%02x, SILENT 0x%02x, REPLY 0x%02x, "
                  "GONE 0x%02x,",
                  kFlagLast, kFlagRetx, kFlagAckReq, kFlagSilent, kFlagReply, kFlagGone));
  o.push_back(fmt("                        AUTH 0x%02x", kFlagAuth));
  o.push_back(fmt("reserved flag bits      0x%02x (sent 0, ignored)",
                  (uint8_t) ~(kFlagLast | kFlagRetx | kFlagAckReq | kFlagSilent | kFlagReply | kFlagGone | kFlagAuth)));
  o.push_back(fmt("set encodings           none %d, list %d, ranges %d, bitmap %d (%d..15 invalid)", kSetNone, kSetList,
                  kSetRanges, kSetBitmap, kSetBitmap + 1));
  o.push_back(fmt("bitmap run header       %u bytes", kBitmapRunHeaderBytes));
  o.push_back(fmt("max set body            %u bytes (%u beats): %u listed ids, %u ranges, bitmap span %u ids",
                  kMaxSetBytes, kMaxSetBytes / kBeatBytes, kMaxSetBytes / 2, kMaxSetBytes / 4,
                  (kMaxSetBytes - kBitmapRunHeaderBytes) * 8));
  o.push_back(fmt("max ranges in a packet  %u (alternating bits in one %u-byte bitmap run)", kMaxSetRanges,
                  kMaxSetBytes - kBitmapRunHeaderBytes));
  o.push_back(fmt("node ids                0..%u (%u ids, all valid receivers)", kNodeIdSpace - 1, kNodeIdSpace));
  o.push_back(fmt("default hops-left       %u (tree depth over %u ids at F = %u: %u)", kDefaultHops, kNodeIdSpace,
                  kMinTreeFanout, tree_depth(kNodeIdSpace, kMinTreeFanout)));
  o.push_back(fmt("tree fan-out F          %u..%u", kMinTreeFanout, kMaxTreeFanout));
  o.push_back(fmt("switch ports            up to %u; port table entries: local 0x%02x, no route 0x%02x", kMaxPorts,
                  kPortLocal, kPortNone));
  o.push_back(fmt("UDP destination port    %u (default, configurable)", kDefaultUdpPort));
  o.push_back(fmt("IPv4 TTL (default)      %u; flags DF (0x%04x)", kDefaultIpTtl, kIpv4FlagDontFragment));
  o.push_back(fmt("EtherType               IPv4 0x%04x; IPv6 0x%04x reserved (not Fanout today)", kEtherTypeIpv4,
                  kEtherTypeIpv6));
  o.push_back(fmt("frame size              %u..%u bytes (no FCS); Fanout frames are >= %u", kMinFrameBytes,
                  kMaxFrameBytes, kFixedHeadersBytes));
  o.push_back(fmt("max payload per packet  %u - %u - L = %u - L bytes", kMaxFrameBytes, kFixedHeadersBytes,
                  kMaxFrameBytes - kFixedHeadersBytes));
  o.push_back(fmt("message length          0..%u bytes; sequence 0..%u", 0xFFFFFFFFu, 0xFFFFFFFFu));
  o.push_back(fmt("feedback set capacity   %u ranges (aggregator and ACK/NACK handling)", kMaxFeedbackRanges));
  o.push_back(fmt("aggregator (default)    %u entries, %u children per entry", AckAggregator<>::table_slots(),
                  AckAggregator<>::kMaxOutputsPerEntry - 1));
  o.push_back(
      fmt("BIER                    header %u bytes, BSL %u..%u bits", kBierHeaderBytes, kBierMinBsl, kBierMaxBsl));
  return o;
}

// ---- Examples: frames ----------------------------------------------------------------------
Lines ex_data_list() {
  Lines o;
  ReceiverSet s;
  s.append(3);
  s.append(17);
  s.append(200);
  FanoutHeader h = make_header(kTypeData, 1, 1, 0x101, 0, 16);
  h.flags = kFlagLast;
  o.push_back("DATA, sender 1 to {3, 17, 200}: a one-packet message of 16 bytes, sent to switch 254;");
  o.push_back("UDP checksum computed (endpoint).");
  o.push_back("set: " + cost_str(s));
  describe_frame(build(net_for(1, kSwitch, 0x101), h, s, text_payload("MoE token #00042"), true), o);
  return o;
}

// The frame of data_list, signed: the authentication test vector of section 12.
Lines ex_auth_data() {
  Lines o;
  ReceiverSet s;
  s.append(3);
  s.append(17);
  s.append(200);
  FanoutHeader h = make_header(kTypeData, 1, 1, 0x101, 0, 16);
  h.flags = kFlagLast;
  uint8_t key[kAuthKeyBytes];
  for (uint32_t i = 0; i < kAuthKeyBytes; i++) key[i] = (uint8_t)i;
  Bytes f = build(net_for(1, kSwitch, 0x101), h, s, text_payload("MoE token #00042"), true);
  uint32_t len = (uint32_t)f.size(), n = 0;
  f.resize(len + kAuthTrailerBytes);
  if (!auth_append(f.data(), len, (uint32_t)f.size(), key, 1, &n)) die("auth_append");
  o.push_back("The frame of example data_list signed by node 1 with counter 1 and the group key");
  o.push_back("00 01 02 .. 0f (auth_append: AUTH flag, trailer, IPv4 and UDP lengths, both checksums).");
  o.push_back(fmt("tag = SipHash-2-4(key, frame bytes [%u, %u)): the Fanout header, set, payload and counter",
                  kFanoutOffset, n - 8));
  describe_frame(f, o);
  return o;
}

Lines ex_data_broadcast() {
  Lines o;
  ReceiverSet s;
  s.append_range(0, (NodeId)(kNodeIdSpace - 1));
  FanoutHeader h = make_header(kTypeData, 1, 1, 0x102, 2, 40);
  h.flags = kFlagLast;
  o.push_back("DATA, sender 1 to all 65,536 ids: packet 2 (the last) of a 40-byte message cut into");
  o.push_back("16 + 16 + 8 bytes; UDP checksum 0.");
  o.push_back("set: " + cost_str(s));
  describe_frame(build(net_for(1, kSwitch, 0x102), h, s, text_payload("weights!"), false), o);
  return o;
}

ReceiverSet bitmap_example_set() {
  ReceiverSet s;
  for (NodeId id = 512; id <= 526; id += 2) s.append(id);
  s.append_range(530, 531);
  s.append_range(600, 607);
  return s;
}

Lines ex_data_bitmap() {
  Lines o;
  ReceiverSet s = bitmap_example_set();
  o.push_back("DATA, sender 1 to " + set_str(s) + " (18 ids),");
  o.push_back("flags LAST|ACK_REQ, UDP checksum 0.");
  o.push_back("set: " + cost_str(s));
  o.push_back("greedy bitmap runs (extend the open run if that costs <= a new run of 4 + span bytes):");
  bool open = false;
  uint32_t rf = 0, rl = 0;
  for (uint32_t r = 0; r < s.range_count(); r++) {
    uint32_t a = s.range(r).first, b = s.range(r).last;
    std::string what = a == b ? fmt("%u", a) : fmt("%u..%u", a, b);
    if (!open) {
      o.push_back(fmt("  %-9s open run at %u", what.c_str(), a));
      open = true;
      rf = a;
      rl = b;
      continue;
    }
    uint32_t extend = bitmap_bytes_for_span(rf, b) - bitmap_bytes_for_span(rf, rl);
    uint32_t fresh = kBitmapRunHeaderBytes + bitmap_bytes_for_span(a, b);
    bool split = bitmap_should_split(rf, rl, a, b);
    o.push_back(fmt("  %-9s extend +%u B vs new run %u B -> %s", what.c_str(), extend, fresh,
                    split ? fmt("close run %u (%u B), open run at %u", rf, bitmap_bytes_for_span(rf, rl), a).c_str()
                          : "extend"));
    if (split) {
      rf = a;
      rl = b;
    } else {
      rl = b;
    }
  }
  o.push_back(fmt("  end       close run %u (%u B)", rf, bitmap_bytes_for_span(rf, rl)));
  FanoutHeader h = make_header(kTypeData, 1, 1, 0x103, 0, 8);
  h.flags = kFlagLast | kFlagAckReq;
  describe_frame(build(net_for(1, kSwitch, 0x103), h, s, text_payload("ckpt-001"), false), o);
  return o;
}

// ---- Tree walk and aggregation on one small set --------------------------------------------
const uint32_t kTreeF = 3;
const uint32_t kTreeMessage = 0x200;
const uint32_t kTreePackets = 3;

ReceiverSet tree_example_set() {
  ReceiverSet s;
  const NodeId ids[] = {3, 5, 8, 17, 21, 40, 41, 42, 43, 200};
  for (NodeId id : ids) s.append(id);
  return s;
}

void tree_walk(NodeId node, NodeId from, bool is_sender, const ReceiverSet &set, uint32_t hops, uint32_t depth,
               Lines &o, uint32_t &max_depth, uint32_t &copies) {
  std::string ind(2 * depth, ' ');
  bool local = set.contains(node);
  std::unique_ptr<ReceiverSet> rest(new ReceiverSet);
  if (local) {
    if (!set.without(node, *rest)) die("without");
  } else {
    rest->assign(set);
  }
  Chunk chunks[kMaxTreeFanout];
  uint32_t n = tree_split(*rest, kTreeF, chunks);
  std::string who =
      is_sender ? fmt("node %u (sender's NIC, set from its host)", node) : fmt("node %u (from %u)", node, from);
  std::string sizes;
  for (uint32_t i = 0; i < n; i++) sizes += fmt(i ? ", %u" : "%u", chunks[i].end - chunks[i].begin);
  o.push_back(ind + who + fmt(", hops-left %u: ", hops) + (local ? "deliver locally; " : "not in set; ") +
              (n ? fmt("%u ids left -> %u chunks (%s)", rest->size(), n, sizes.c_str()) : std::string("no copies")));
  if (n == 0) return;
  if (depth + 1 > max_depth) max_depth = depth + 1;
  std::string arm = ind + fmt("  arm: parent %u; children", is_sender ? node : from);
  if (local) arm += fmt(" %u [%u..%u] (own host),", node, node, node);
  std::vector<std::unique_ptr<ReceiverSet>> subs;
  for (uint32_t i = 0; i < n; i++) {
    subs.emplace_back(new ReceiverSet);
    if (!rest->slice(chunks[i].begin, chunks[i].end, *subs.back())) die("slice");
    arm += fmt(" %u [%u..%u]%s", chunks[i].head, subs.back()->first_id(), subs.back()->last_id(), i + 1 < n ? "," : "");
  }
  o.push_back(arm);
  for (uint32_t i = 0; i < n; i++) {
    const ReceiverSet &sub = *subs[i];
    SetEncoding e = choose_encoding(sub);
    uint8_t body[kMaxSetBytes];
    uint32_t w = 0;
    if (encode_set(sub, e, body, sizeof body, &w) != kOk) die("encode_set");
    o.push_back(ind + fmt("  -> %-3u hops-left %u  %-22s %s %s", chunks[i].head, hops - 1, set_str(sub).c_str(),
                          encoding_name(e), hex(body, w).c_str()));
    copies++;
  }
  for (uint32_t i = 0; i < n; i++)
    tree_walk(chunks[i].head, node, false, *subs[i], hops - 1, depth + 1, o, max_depth, copies);
}

Lines ex_tree_walk() {
  Lines o;
  ReceiverSet s = tree_example_set();
  o.push_back(fmt("tree rule, F = %u: sender 1, message 0x%08x, set %s (%u ids)", kTreeF, kTreeMessage,
                  set_str(s).c_str(), s.size()));
  o.push_back(fmt("depth bound tree_depth(%u, %u) = %u hops", s.size(), kTreeF, tree_depth(s.size(), kTreeF)));
  o.push_back("");
  uint32_t max_depth = 0, copies = 0;
  tree_walk(1, 1, true, s, kDefaultHops, 0, o, max_depth, copies);
  o.push_back("");
  o.push_back(fmt("copies sent: %u (one per receiver); deepest receiver %u hops from the sender", copies, max_depth));
  if (max_depth > tree_depth(s.size(), kTreeF)) die("tree depth bound violated");
  return o;
}

typedef AckAggregator<> Aggregator;

Feedback make_fb(uint8_t type, uint8_t flags, NodeId origin, uint32_t seq, uint32_t length, const FeedbackSet &set) {
  Feedback f;
  f.type = type;
  f.flags = flags;
  f.origin = origin;
  f.key.sender = 1;
  f.key.message_id = kTreeMessage;
  f.sequence = seq;
  f.length = length;
  f.set.assign(set);
  return f;
}

FeedbackSet one_id(NodeId id) {
  FeedbackSet s;
  s.append(id);
  return s;
}

// A feedback packet as a frame from `from` to `to` (UDP checksum only from endpoints).
Bytes feedback_frame(NodeId from, NodeId to, const Feedback &fb, bool udp_checksum) {
  FanoutHeader h = make_header(fb.type, fb.key.sender, fb.origin, fb.key.message_id, fb.sequence, fb.length);
  h.flags = fb.flags;
  return build(net_for(from, to, fb.key.message_id), h, fb.set, Bytes(), udp_checksum);
}

struct AggScenario {
  Lines trace;
  Feedback first_ack, nack_in, silent_nack, final_ack;
};

std::string fb_str(const Feedback &f) {
  return fmt("%s%s%s origin %u seq %u %s %u %s", type_name(f.type), f.flags & kFlagSilent ? " SILENT" : "",
             f.flags & kFlagGone ? " GONE" : "", f.origin, f.sequence, f.type == kTypeAck ? "covered" : "count",
             f.length, set_str(f.set).c_str());
}

// Relay 3 of the tree walk: children 3 (own host), 5, 8, 17; parent 1.
const AggScenario &agg_scenario() {
  static std::unique_ptr<AggScenario> sc;
  if (sc) return *sc;
  sc.reset(new AggScenario);
  AggregatorConfig cfg;
  cfg.self = 3;
  cfg.silent_timeout = 100;
  cfg.nack_window = 50;
  std::unique_ptr<Aggregator> agg(new Aggregator(cfg));
  Lines &o = sc->trace;
  o.push_back(fmt("relay 3 (parent 1), message (sender 1, 0x%08x) of %u packets; silent timeout %u ticks,",
                  kTreeMessage, kTreePackets, cfg.silent_timeout));
  o.push_back(fmt("NACK suppression window %u ticks", cfg.nack_window));
  const ChildSpec children[] = {{3, 3, 3}, {5, 5, 5}, {8, 8, 8}, {17, 17, 17}};
  MessageKey key = {1, kTreeMessage};
  ArmResult ar = agg->arm(key, 1, children, 4, kTreePackets, 0);
  o.push_back(fmt("t=%-4u arm: children 3 [3..3] (own host), 5 [5..5], 8 [8..8], 17 [17..17] -> %s", 0,
                  ar == kArmNew ? "new entry" : "?"));
  std::unique_ptr<AggOutput> out(new AggOutput);
  int emitted = 0;
  auto step = [&](uint32_t t, const Feedback &in) {
    bool sent = in.type == kTypeAck ? agg->on_ack(in, t, *out) : agg->on_nack(in, t, *out);
    std::string line = fmt("t=%-4u in  %-38s -> ", t, fb_str(in).c_str());
    if (!sent) {
      o.push_back(line + (in.type == kTypeAck ? "nothing sent" : "suppressed"));
      return;
    }
    o.push_back(line + fmt("to %u: %s", out->dest, fb_str(out->fb).c_str()));
    if (in.type == kTypeNack) sc->nack_in = in;
    if (out->fb.type == kTypeAck && emitted++ == 0) sc->first_ack = out->fb;
  };
  step(10, make_fb(kTypeAck, 0, 3, 3, 1, one_id(3)));
  step(12, make_fb(kTypeAck, 0, 5, 3, 1, one_id(5)));
  step(13, make_fb(kTypeNack, 0, 8, 1, 1, one_id(8)));
  step(14, make_fb(kTypeNack, 0, 8, 1, 1, one_id(8)));
  step(15, make_fb(kTypeAck, 0, 17, 3, 1, one_id(17)));
  step(20, make_fb(kTypeAck, 0, 8, 1, 1, one_id(8)));
  step(21, make_fb(kTypeAck, 0, 5, 3, 1, one_id(5)));
  step(70, make_fb(kTypeNack, 0, 8, 1, 1, one_id(8)));
  std::vector<AggOutput> outs(Aggregator::kMaxOutputsPerEntry);
  uint32_t n = agg->expire(200, Aggregator::table_slots(), outs.data(), (uint32_t)outs.size());
  o.push_back(fmt("t=%-4u expire: %u output%s", 200, n, n == 1 ? "" : "s"));
  for (uint32_t i = 0; i < n; i++) {
    o.push_back(fmt("         -> to %u: %s", outs[i].dest, fb_str(outs[i].fb).c_str()));
    if (outs[i].fb.type == kTypeNack) sc->silent_nack = outs[i].fb;
    if (outs[i].fb.type == kTypeAck) sc->final_ack = outs[i].fb;
  }
  o.push_back(fmt("entry %s", agg->is_armed(key) ? "still armed" : "freed (every child complete or silent)"));
  const AggregatorStats &st = agg->stats();
  o.push_back(fmt("stats: acks in %u, merged %u, duplicate %u, emitted %u; nacks in %u, forwarded %u, suppressed %u;",
                  st.acks_in, st.acks_merged, st.acks_duplicate, st.acks_emitted, st.nacks_in, st.nacks_forwarded,
                  st.nacks_suppressed));
  o.push_back(fmt("       silent reported %u, gone reported %u, entries completed %u", st.silent_reported,
                  st.gone_reported, st.entries_completed));
  if (sc->silent_nack.type != kTypeNack || sc->final_ack.type != kTypeAck || sc->first_ack.type != kTypeAck)
    die("aggregation scenario did not produce the expected outputs");
  return *sc;
}

Lines ex_aggregation() {
  return agg_scenario().trace;
}

Lines ex_ack() {
  Lines o;
  const Feedback &a = agg_scenario().first_ack;
  o.push_back("The aggregated ACK relay 3 sends to its parent 1 at t=20 (aggregation example): every id");
  o.push_back("in the set holds packets 0..sequence-1; UDP checksum 0 (relay).");
  describe_frame(feedback_frame(3, 1, a, false), o);
  return o;
}

Lines ex_nack() {
  Lines o;
  const AggScenario &sc = agg_scenario();
  o.push_back("1) Receiver 8 misses packet 1 and NACKs its parent, relay 3 (UDP checksum computed):");
  describe_frame(feedback_frame(8, 3, sc.nack_in, true), o);
  o.push_back("");
  o.push_back("2) Relay 3 reports child 8 silent to its parent 1 (t=200 in the aggregation example):");
  describe_frame(feedback_frame(3, 1, sc.silent_nack, false), o);
  return o;
}

// Relay 3 of the tree walk again; the peer monitor says child 17 is down when the message's
// packets leave (no copy goes to it): it is marked gone, reported once with the aggregate.
Lines ex_gone() {
  AggregatorConfig cfg;
  cfg.self = 3;
  cfg.silent_timeout = 100;
  cfg.nack_window = 50;
  std::unique_ptr<Aggregator> agg(new Aggregator(cfg));
  Lines o;
  o.push_back(fmt("relay 3 (parent 1), message (sender 1, 0x%08x) of %u packets; child 17 down (peer monitor)",
                  kTreeMessage, kTreePackets));
  const ChildSpec children[] = {{3, 3, 3}, {5, 5, 5}, {8, 8, 8}};
  const ChildSpec down = {17, 17, 17};
  MessageKey key = {1, kTreeMessage};
  agg->arm(key, 1, children, 3, kTreePackets, 0);
  agg->mark_gone(key, 1, down, kTreePackets, 0);
  o.push_back("t=0    arm: children 3 [3..3] (own host), 5 [5..5], 8 [8..8]; mark_gone: 17 [17..17] -> no output");
  std::vector<AggOutput> outs(Aggregator::kMaxOutputsPerEntry);
  Feedback gone_nack = make_fb(kTypeAck, 0, 0, 0, 0, FeedbackSet());
  auto step = [&](uint32_t t, const Feedback &in) {
    uint32_t n = agg->on_ack(in, t, outs.data(), (uint32_t)outs.size());
    std::string line = fmt("t=%-4u in  %-38s -> ", t, fb_str(in).c_str());
    if (n == 0) o.push_back(line + "nothing sent");
    for (uint32_t i = 0; i < n; i++) {
      o.push_back((i == 0 ? line : std::string(line.size() - 3, ' ') + "-> ") +
                  fmt("to %u: %s", outs[i].dest, fb_str(outs[i].fb).c_str()));
      if (outs[i].fb.flags & kFlagGone) gone_nack = outs[i].fb;
    }
  };
  step(10, make_fb(kTypeAck, 0, 3, 3, 1, one_id(3)));
  step(12, make_fb(kTypeAck, 0, 5, 3, 1, one_id(5)));
  step(15, make_fb(kTypeAck, 0, 8, 3, 1, one_id(8)));
  o.push_back(
      fmt("entry %s", agg->is_armed(key) ? "still armed" : "freed (every child complete, or gone and reported)"));
  const AggregatorStats &st = agg->stats();
  o.push_back(fmt("stats: acks in %u, merged %u, emitted %u; silent reported %u, gone reported %u", st.acks_in,
                  st.acks_merged, st.acks_emitted, st.silent_reported, st.gone_reported));
  if (gone_nack.type != kTypeNack) die("gone scenario did not produce a GONE NACK");
  o.push_back("");
  o.push_back("The GONE NACK relay 3 sends to its parent 1 at t=15 (UDP checksum 0, relay):");
  describe_frame(feedback_frame(3, 1, gone_nack, false), o);
  return o;
}

Lines ex_probe() {
  Lines o;
  ReceiverSet none;
  FanoutHeader h = make_header(kTypeProbe, 3, 3, 0, 7, 0);
  o.push_back("1) Node 3 probes its neighbour 1 (heartbeat 7):");
  describe_frame(build(net_for(3, 1, 0), h, none, Bytes(), false), o);
  FanoutHeader r = make_header(kTypeProbe, 1, 1, 0, 7, 0);
  r.flags = kFlagReply;
  o.push_back("");
  o.push_back("2) Node 1 answers (REPLY, same sequence):");
  describe_frame(build(net_for(1, 3, 0), r, none, Bytes(), false), o);
  return o;
}

Lines ex_beats() {
  Lines o;
  ReceiverSet s;
  s.append(3);
  s.append(17);
  s.append(200);
  FanoutHeader h = make_header(kTypeData, 1, 1, 0x101, 0, 16);
  h.flags = kFlagLast;
  Bytes f = build(net_for(1, kSwitch, 0x101), h, s, text_payload("MoE token #00042"), true);
  Beat beats[4];
  uint32_t n = frame_to_beats(f.data(), (uint32_t)f.size(), beats, 4);
  o.push_back(fmt("the frame of example data_list (%u bytes) on a 512-bit AXI-Stream:", (unsigned)f.size()));
  for (uint32_t b = 0; b < n; b++) {
    uint32_t lo = b * kBeatBytes, hi = lo + kBeatBytes < f.size() ? lo + kBeatBytes : (uint32_t)f.size();
    std::string what =
        b == 0 ? "Ethernet, IPv4, UDP, Fanout header"
               : fmt("set @%u, payload @%u", kSetOffset, kSetOffset + load_be16(&f[kFanoutOffset + kFoSetLenOff]));
    if (b > 1) what = "payload";
    o.push_back(fmt("beat %u  bytes %u..%u  tkeep 0x%016llx  tlast %u  %s", b, lo, hi - 1,
                    (unsigned long long)beats[b].keep, beats[b].last ? 1 : 0, what.c_str()));
  }
  return o;
}

// ---- Port rule -----------------------------------------------------------------------------
Lines ex_port_split() {
  Lines o;
  std::unique_ptr<PortTable> table(new PortTable);
  table->set(1, 3);
  table->set(3, 0);
  table->set(17, 1);
  table->set(18, 1);
  table->set(200, 2);
  table->set(kSwitch, kPortLocal);
  const uint32_t nports = 4;
  ReceiverSet s;
  const NodeId ids[] = {1, 3, 17, 18, 200, 254, 999};
  for (NodeId id : ids) s.append(id);
  o.push_back(
      fmt("switch 254, %u ports; port table: 1 -> port 3, 3 -> port 0, 17 and 18 -> port 1, 200 -> port 2,", nports));
  o.push_back("254 -> local (0xfe), every other id -> no route (0xff)");
  o.push_back("DATA arrives on port 3 with set " + set_str(s));
  std::vector<ReceiverSet> outs(nports);
  PortSplitResult r = port_split(s, *table, nports, 3, outs.data());
  for (uint32_t p = 0; p < nports; p++) {
    if (outs[p].empty()) {
      o.push_back(fmt("  port %u: no copy", p));
      continue;
    }
    SetEncoding e = choose_encoding(outs[p]);
    uint8_t body[kMaxSetBytes];
    uint32_t w = 0;
    if (encode_set(outs[p], e, body, sizeof body, &w) != kOk) die("encode_set");
    o.push_back(fmt("  port %u: copy with set %-10s %s %s", p, set_str(outs[p]).c_str(), encoding_name(e),
                    hex(body, w).c_str()));
  }
  o.push_back(fmt("result: deliver locally %s, copies %u, looped %u (id 1: its port is the ingress port),",
                  r.deliver_local ? "yes" : "no", r.copies, r.looped));
  o.push_back(fmt("        unroutable %u (id 999), overflow %s", r.unroutable, r.overflow ? "yes" : "no"));
  return o;
}

// ---- Sets larger than one packet -----------------------------------------------------------
template <uint32_t M> uint32_t fanout_addressing(const BasicReceiverSet<M> &s, uint32_t *packets, std::string *enc) {
  std::vector<IdRange> pieces(s.range_count() + 1);
  uint32_t n = partition_for_packets(s, kMaxSetBytes, pieces.data(), (uint32_t)pieces.size());
  std::unique_ptr<LargeReceiverSet> piece(new LargeReceiverSet);
  uint32_t total = 0;
  std::set<std::string> encs;
  for (uint32_t i = 0; i < n; i++) {
    if (!intersect_range(s, pieces[i].first, pieces[i].last, *piece)) die("intersect_range");
    SetCost c = set_cost(*piece);
    if (c.best_bytes() > kMaxSetBytes) die("piece too large");
    total += kAddressingFixedBytes + c.best_bytes();
    encs.insert(encoding_name(c.best_encoding()));
  }
  *packets = n;
  enc->clear();
  for (const std::string &e : encs) *enc += (enc->empty() ? "" : "+") + e;
  return total;
}

Lines ex_partition() {
  Lines o;
  std::unique_ptr<LargeReceiverSet> s(new LargeReceiverSet);
  for (uint32_t id = 0; id < kNodeIdSpace; id += 2) s->append((NodeId)id);
  SetCost whole = set_cost(*s);
  o.push_back(fmt("every other id, 0, 2, ..., 65534 (%u ids): one set would need list %u B, ranges %u B,", s->size(),
                  whole.list_bytes(), whole.ranges_bytes()));
  o.push_back(fmt("bitmap %u B > %u: the sender cuts it with partition_for_packets into contiguous pieces:",
                  whole.bitmap_bytes(), kMaxSetBytes));
  std::vector<IdRange> pieces(64);
  uint32_t n = partition_for_packets(*s, kMaxSetBytes, pieces.data(), (uint32_t)pieces.size());
  std::unique_ptr<LargeReceiverSet> piece(new LargeReceiverSet);
  uint32_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    intersect_range(*s, pieces[i].first, pieces[i].last, *piece);
    SetCost c = set_cost(*piece);
    total += kAddressingFixedBytes + c.best_bytes();
    o.push_back(fmt("  packet %u: ids %5u..%-5u %4u ids  %s %4u B", i, pieces[i].first, pieces[i].last, piece->size(),
                    encoding_name(c.best_encoding()), c.best_bytes()));
  }
  o.push_back(fmt("%u packets for each packet index of the message; addressing bytes %u in total", n, total));
  ReceiverSet all;
  all.append_range(0, (NodeId)(kNodeIdSpace - 1));
  o.push_back(
      fmt("all %u ids: one range, body %u bytes (00 00 ff ff), one packet", kNodeIdSpace, set_cost(all).best_bytes()));
  return o;
}

Lines ex_bier_table() {
  struct Row {
    std::string name;
    std::unique_ptr<LargeReceiverSet> set;
  };
  std::vector<Row> rows;
  auto add = [&](const std::string &name) -> LargeReceiverSet & {
    rows.push_back(Row{name, std::unique_ptr<LargeReceiverSet>(new LargeReceiverSet)});
    return *rows.back().set;
  };
  add("1 receiver {1234}").append(1234);
  {
    // MoE: 8 of 256 routed experts on nodes 0..255 (fixed draw), shared expert on node 255.
    LargeReceiverSet &s = add("MoE: 8 of 256 experts + shared");
    const NodeId ids[] = {12, 37, 61, 90, 133, 170, 201, 244, 255};
    for (NodeId id : ids) s.append(id);
  }
  {
    LargeReceiverSet &s = add("64, one per 1024 ids");
    for (uint32_t i = 0; i < 64; i++) s.append((NodeId)(i * 1024 + 7));
  }
  add("64 contiguous, 4096..4159").append_range(4096, 4159);
  auto random_ids = [](LargeReceiverSet &s, uint32_t k, uint32_t space, uint32_t seed) {
    std::vector<bool> pick(space, false);
    Rng rng(seed);
    for (uint32_t got = 0; got < k;) {
      uint32_t id = rng.next() % space;
      if (!pick[id]) {
        pick[id] = true;
        got++;
      }
    }
    for (uint32_t id = 0; id < space; id++)
      if (pick[id]) s.append((NodeId)id);
  };
  random_ids(add("256 random of ids 0..1023"), 256, 1024, 0x2545F491u);
  random_ids(add("256 random of all ids"), 256, kNodeIdSpace, 0x9E3779B9u);
  {
    LargeReceiverSet &s = add("every other id");
    for (uint32_t id = 0; id < kNodeIdSpace; id += 2) s.append((NodeId)id);
  }
  add("all 65,536 ids").append_range(0, (NodeId)(kNodeIdSpace - 1));

  Lines o;
  o.push_back("addressing bytes: Fanout = per packet 4 + set body (summed over packets);");
  o.push_back("BIER = copies x (12 + BSL/8) at the BSL (64..4096) that minimises it");
  o.push_back("");
  o.push_back("set                                  k    2k+4  encoding  pkts  Fanout B  BIER BSL  copies  BIER B");
  for (const Row &r : rows) {
    uint32_t packets = 0;
    std::string enc;
    uint32_t fan = fanout_addressing(*r.set, &packets, &enc);
    BierCost b = bier_best(*r.set);
    if (fan > b.total_bytes) die("Fanout addressing exceeds BIER for " + r.name);
    o.push_back(fmt("%-32s %5u %7u  %-8s  %4u  %8u  %8u  %6u  %6u", r.name.c_str(), r.set->size(),
                    2 * r.set->size() + 4, enc.c_str(), packets, fan, b.bsl, b.copies, b.total_bytes));
  }
  return o;
}

// ---- Malformed input ------------------------------------------------------------------------
// A valid base: DATA, sender 1, set list {3, 17, 200}, one packet of 16 bytes, UDP checksum 0.
struct Raw {
  uint8_t type = kTypeData, flags = kFlagLast, enc = kSetList;
  Bytes set = {0x00, 0x03, 0x00, 0x11, 0x00, 0xc8};
  Bytes payload = Bytes(16, 0x5a);
  uint32_t seq = 0, length = 16;
  int set_len_delta = 0;
};

Bytes raw_frame(const Raw &r) {
  // Build with no set and body+payload as payload, then patch the Fanout header.
  Bytes body = r.set;
  body.insert(body.end(), r.payload.begin(), r.payload.end());
  FanoutHeader h = make_header(kTypeData, 1, 1, 0x101, 0, 0);
  ReceiverSet none;
  Bytes f(kMaxFrameBytes + 64);
  BuildOptions opt = default_build_options();
  uint32_t len = 0;
  if (build_frame(net_for(1, kSwitch, 0x101), h, none, body.data(), (uint32_t)body.size(), opt, f.data(),
                  (uint32_t)f.size(), &len) != kOk)
    die("raw_frame");
  f.resize(len);
  h.type = r.type;
  h.flags = r.flags;
  h.set_encoding = r.enc;
  h.set_len = (uint16_t)((int)r.set.size() + r.set_len_delta);
  h.sequence = r.seq;
  h.length = r.length;
  write_fanout_header(h, f.data() + kFanoutOffset);
  return f;
}

void fix_ip_checksum(Bytes &f) {
  store_be16(&f[kIpChecksumOff], 0);
  store_be16(&f[kIpChecksumOff], ipv4_checksum(&f[kIpv4Offset]));
}

Lines ex_error_cases() {
  struct Case {
    const char *what;
    std::function<Bytes()> make;
  };
  auto base = [] { return raw_frame(Raw()); };
  auto with = [](std::function<void(Raw &)> edit) {
    return [edit] {
      Raw r;
      edit(r);
      return raw_frame(r);
    };
  };
  auto patch = [base](std::function<void(Bytes &)> edit) {
    return [base, edit] {
      Bytes f = base();
      edit(f);
      return f;
    };
  };
  const std::vector<Case> cases = {
      {"valid base frame: DATA to {3, 17, 200}, 16-byte payload", base},
      {"EtherType 0x86dd (IPv6)", patch([](Bytes &f) { store_be16(&f[kEthTypeOff], kEtherTypeIpv6); })},
      {"IPv4 protocol 6 (TCP)", patch([](Bytes &f) { f[kIpProtoOff] = 6, fix_ip_checksum(f); })},
      {"IPv4 fragment offset 1", patch([](Bytes &f) { store_be16(&f[kIpFlagsFragOff], 1), fix_ip_checksum(f); })},
      {"UDP destination port 4791", patch([](Bytes &f) { store_be16(&f[kUdpDstPortOff], 4791); })},
      {"IHL 6, UDP port at the shifted offset not Fanout's",
       patch([](Bytes &f) { f[kIpVerIhlOff] = 0x46, store_be16(&f[kUdpOffset + 4 + 2], 4791); })},
      {"frame of 13 bytes", patch([](Bytes &f) { f.resize(13); })},
      {"IPv4 frame of 40 bytes (ends in the UDP header)", patch([](Bytes &f) { f.resize(40); })},
      {"frame of 9015 bytes", patch([](Bytes &f) { f.resize(kMaxFrameBytes + 1, 0); })},
      {"IPv4 version 6 in the IPv4 header", patch([](Bytes &f) { f[kIpVerIhlOff] = 0x65; })},
      {"IHL 6, Fanout's port at the shifted UDP offset",
       patch([](Bytes &f) { f[kIpVerIhlOff] = 0x46, store_be16(&f[kUdpOffset + 4 + 2], kDefaultUdpPort); })},
      {"IPv4 TTL changed, checksum not updated", patch([](Bytes &f) { f[kIpTtlOff]--; })},
      {"IPv4 total length 1 byte more than the frame holds", patch([](Bytes &f) {
         store_be16(&f[kIpTotalLenOff], (uint16_t)(f.size() - kIpv4Offset + 1)), fix_ip_checksum(f);
       })},
      {"IPv4 total length 27", patch([](Bytes &f) { store_be16(&f[kIpTotalLenOff], 27), fix_ip_checksum(f); })},
      {"IPv4 more-fragments flag", patch([](Bytes &f) {
         store_be16(&f[kIpFlagsFragOff], kIpv4FlagDontFragment | kIpv4FlagMoreFragments), fix_ip_checksum(f);
       })},
      {"UDP length 1 byte short",
       patch([](Bytes &f) { store_be16(&f[kUdpLenOff], (uint16_t)(load_be16(&f[kUdpLenOff]) - 1)); })},
      {"UDP checksum 0x1234 (wrong)", patch([](Bytes &f) { store_be16(&f[kUdpChecksumOff], 0x1234); })},
      {"UDP payload of 21 bytes (IPv4 and UDP lengths consistent)", patch([](Bytes &f) {
         f.resize(kFanoutOffset + kFanoutHeaderBytes - 1);
         store_be16(&f[kIpTotalLenOff], (uint16_t)(f.size() - kIpv4Offset));
         store_be16(&f[kUdpLenOff], (uint16_t)(f.size() - kUdpOffset));
         fix_ip_checksum(f);
       })},
      {"Fanout version 2", patch([](Bytes &f) { f[kFanoutOffset + kFoVerTypeOff] = 0x21; })},
      {"type 0", patch([](Bytes &f) { f[kFanoutOffset + kFoVerTypeOff] = 0x10; })},
      {"type 5", patch([](Bytes &f) { f[kFanoutOffset + kFoVerTypeOff] = 0x15; })},
      {"reserved flag bit 0x80 and encoding bits 0xf0 set", patch([](Bytes &f) {
         f[kFanoutOffset + kFoFlagsOff] |= 0x80;
         f[kFanoutOffset + kFoSetEncOff] |= 0xF0;
       })},
      {"set encoding 4", with([](Raw &r) { r.enc = 4; })},
      {"DATA with encoding none, set length 0", with([](Raw &r) { r.enc = kSetNone, r.set.clear(); })},
      {"PROBE with a list set", with([](Raw &r) { r.type = kTypeProbe, r.payload.clear(), r.length = 0; })},
      {"ACK with encoding none, set length 2", with([](Raw &r) {
         r.type = kTypeAck, r.enc = kSetNone, r.set = {0, 3}, r.payload.clear(), r.length = 1;
       })},
      {"set length 1000, 22 bytes follow the header", with([](Raw &r) { r.set_len_delta = 994; })},
      {"set length 1025", with([](Raw &r) {
         r.set = Bytes(1025, 0);
         r.set_len_delta = 0;
       })},
      {"list body of 5 bytes", with([](Raw &r) { r.set.pop_back(); })},
      {"ranges body of 6 bytes", with([](Raw &r) { r.enc = kSetRanges; })},
      {"bitmap run declaring 2 bytes, 1 present", with([](Raw &r) {
         r.enc = kSetBitmap, r.set = {0, 3, 0, 2, 0x80};
       })},
      {"bitmap run with 0 bytes", with([](Raw &r) {
         r.enc = kSetBitmap, r.set = {0, 3, 0, 0};
       })},
      {"DATA with list encoding, set length 0", with([](Raw &r) { r.set.clear(); })},
      {"bitmap run with no bit set", with([](Raw &r) {
         r.enc = kSetBitmap, r.set = {0, 3, 0, 1, 0x00};
       })},
      {"list {17, 3}", with([](Raw &r) {
         r.set = {0, 17, 0, 3};
       })},
      {"range [17, 3]", with([](Raw &r) {
         r.enc = kSetRanges, r.set = {0, 17, 0, 3};
       })},
      {"ranges [10, 20], [5, 6]", with([](Raw &r) { r.enc = kSetRanges, r.set = {0, 10, 0, 20, 0, 5, 0, 6}; })},
      {"bitmap runs at 16 (2 bytes) and 24",
       with([](Raw &r) { r.enc = kSetBitmap, r.set = {0, 16, 0, 2, 0x80, 0x00, 0, 24, 0, 1, 0x80}; })},
      {"list {3, 3}", with([](Raw &r) {
         r.set = {0, 3, 0, 3};
       })},
      {"ranges [10, 20], [20, 30]", with([](Raw &r) { r.enc = kSetRanges, r.set = {0, 10, 0, 20, 0, 20, 0, 30}; })},
      {"ranges [10, 20], [21, 30] (touching: merged)",
       with([](Raw &r) { r.enc = kSetRanges, r.set = {0, 10, 0, 20, 0, 21, 0, 30}; })},
      {"bitmap runs at 16 (1 byte) and 24 (adjacent extents)",
       with([](Raw &r) { r.enc = kSetBitmap, r.set = {0, 16, 0, 1, 0x80, 0, 24, 0, 1, 0x80}; })},
      {"bitmap run at 65528, 2 bytes, bit for id 65536",
       with([](Raw &r) { r.enc = kSetBitmap, r.set = {0xff, 0xf8, 0, 2, 0x80, 0x80}; })},
      {"bitmap run at 65528, 2 bytes, bits only below 65536",
       with([](Raw &r) { r.enc = kSetBitmap, r.set = {0xff, 0xf8, 0, 2, 0x80, 0x00}; })},
      {"bitmap {3, 100} as one 13-byte run (the rule cuts two runs)", with([](Raw &r) {
         r.enc = kSetBitmap;
         r.set = {0, 3, 0, 13, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40};
       })},
      {"DATA LAST, sequence 0, length 17, 16-byte payload", with([](Raw &r) { r.length = 17; })},
      {"DATA not LAST, sequence 0, length 16, 16-byte payload", with([](Raw &r) { r.flags = 0; })},
      {"DATA not LAST, empty payload", with([](Raw &r) { r.flags = 0, r.payload.clear(), r.length = 100; })},
      {"DATA LAST, sequence 2, length 40, 8-byte payload (S = 16)",
       with([](Raw &r) { r.seq = 2, r.length = 40, r.payload.resize(8); })},
      {"DATA LAST, sequence 2, length 41, 8-byte payload (33 % 2 != 0)",
       with([](Raw &r) { r.seq = 2, r.length = 41, r.payload.resize(8); })},
      {"DATA LAST, sequence 2, length 40, 24-byte payload (> S = 8)",
       with([](Raw &r) { r.seq = 2, r.length = 40, r.payload.resize(24); })},
      {"DATA LAST, sequence 0, length 0, empty payload", with([](Raw &r) { r.length = 0, r.payload.clear(); })},
      {"ACK with 1 byte of payload", with([](Raw &r) { r.type = kTypeAck, r.payload.resize(1), r.length = 3; })},
      {"PROBE with length 1",
       with([](Raw &r) { r.type = kTypeProbe, r.enc = kSetNone, r.set.clear(), r.payload.clear(), r.length = 1; })},
      {"length mismatch and an unsorted list: length is checked first", with([](Raw &r) {
         r.set = {0, 17, 0, 3}, r.length = 99;
       })},
      {"AUTH, 11 bytes after the set (DATA LAST, length 11)",
       with([](Raw &r) { r.flags |= kFlagAuth, r.payload.resize(11), r.length = 11; })},
      {"AUTH, ACK with encoding none and nothing after the header", with([](Raw &r) {
         r.type = kTypeAck, r.flags = kFlagAuth, r.enc = kSetNone, r.set.clear(), r.payload.clear(), r.length = 0;
       })},
      {"AUTH on the base frame: the last 12 of 16 bytes are the trailer, payload 4",
       with([](Raw &r) { r.flags |= kFlagAuth; })},
      {"AUTH, DATA LAST, length 4, 4-byte payload + 12 trailer bytes (tag not checked by parse)",
       with([](Raw &r) { r.flags |= kFlagAuth, r.length = 4; })},
  };
  Lines o;
  o.push_back("parse_frame on mutations of one valid frame (default config: port 47100, UDP checksum verified)");
  o.push_back("");
  std::vector<bool> seen(kErrorCount, false);
  for (const Case &c : cases) {
    Bytes f = c.make();
    ParsedPacket p;
    ParseConfig cfg = default_parse_config();
    std::unique_ptr<ReceiverSet> set(new ReceiverSet);
    int rc = parse_frame(f.data(), (uint32_t)f.size(), cfg, p, set.get());
    if (rc < 0 || rc >= kErrorCount) die("parse_frame returned an unknown code");
    seen[rc] = true;
    o.push_back(fmt("%-20s %s", error_name(rc), c.what));
  }
  for (int e = 0; e < kErrorCount; e++)
    if (!seen[e]) die(std::string("no error case produces ") + error_name(e));
  return o;
}

// ---- Registry ------------------------------------------------------------------------------
struct ExampleDef {
  const char *name;
  Lines (*make)();
};

const std::vector<ExampleDef> &examples() {
  static const std::vector<ExampleDef> all = {
      {"frame_layout", ex_frame_layout},
      {"fanout_header", ex_fanout_header},
      {"constants", ex_constants},
      {"data_list", ex_data_list},
      {"auth_data", ex_auth_data},
      {"data_broadcast", ex_data_broadcast},
      {"data_bitmap", ex_data_bitmap},
      {"beats", ex_beats},
      {"partition", ex_partition},
      {"bier_table", ex_bier_table},
      {"tree_walk", ex_tree_walk},
      {"port_split", ex_port_split},
      {"aggregation", ex_aggregation},
      {"ack", ex_ack},
      {"nack", ex_nack},
      {"gone", ex_gone},
      {"probe", ex_probe},
      {"error_cases", ex_error_cases},
  };
  return all;
}

Lines generate(const ExampleDef &d) {
  Lines l = d.make();
  for (std::string &s : l) s = rstrip(s);
  return l;
}

// ---- Document handling ---------------------------------------------------------------------
bool read_lines(const std::string &path, Lines &out) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return true;
}

const char *const kMarkerPrefix = "<!-- example: ";
const char *const kMarkerSuffix = " -->";
const char *const kFenceOpen = "```text";
const char *const kFenceClose = "```";

struct Block {
  std::string name;
  size_t marker;     // line index of the marker
  bool fenced;       // a ```text fence follows the marker
  size_t begin, end; // content lines [begin, end) when fenced; end is the closing fence
  bool closed;
};

bool marker_name(const std::string &line, std::string &name) {
  std::string l = rstrip(line);
  size_t p = std::strlen(kMarkerPrefix), s = std::strlen(kMarkerSuffix);
  if (l.size() <= p + s || l.compare(0, p, kMarkerPrefix) != 0 || l.compare(l.size() - s, s, kMarkerSuffix) != 0)
    return false;
  name = l.substr(p, l.size() - p - s);
  return !name.empty();
}

std::vector<Block> find_blocks(const Lines &doc) {
  std::vector<Block> blocks;
  for (size_t i = 0; i < doc.size(); i++) {
    Block b;
    if (!marker_name(doc[i], b.name)) continue;
    b.marker = i;
    b.fenced = i + 1 < doc.size() && rstrip(doc[i + 1]) == kFenceOpen;
    b.begin = b.end = i + 1;
    b.closed = false;
    if (b.fenced) {
      b.begin = i + 2;
      for (b.end = b.begin; b.end < doc.size(); b.end++) {
        if (rstrip(doc[b.end]) == kFenceClose) {
          b.closed = true;
          break;
        }
      }
      i = b.end;
    }
    blocks.push_back(b);
  }
  return blocks;
}

// Unified-style line diff (LCS), one hunk per block.
void print_diff(const std::string &path, const std::string &name, size_t first_line, const Lines &a, const Lines &b) {
  size_t n = a.size(), m = b.size();
  std::vector<std::vector<uint32_t>> L(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;) L[i][j] = a[i] == b[j] ? L[i + 1][j + 1] + 1 : std::max(L[i + 1][j], L[i][j + 1]);
  std::printf("--- %s (example %s)\n+++ generated by protocol_examples\n", path.c_str(), name.c_str());
  std::printf("@@ -%zu,%zu +%zu,%zu @@\n", first_line, n, first_line, m);
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      std::printf(" %s\n", a[i].c_str());
      i++, j++;
    } else if (i < n && (j == m || L[i + 1][j] >= L[i][j + 1])) {
      std::printf("-%s\n", a[i++].c_str());
    } else {
      std::printf("+%s\n", b[j++].c_str());
    }
  }
}

int check_or_update(const std::string &path, bool update) {
  Lines doc;
  if (!read_lines(path, doc)) {
    std::fprintf(stderr, "protocol_examples: cannot read %s\n", path.c_str());
    return 1;
  }
  std::vector<Block> blocks = find_blocks(doc);
  std::map<std::string, const ExampleDef *> defs;
  for (const ExampleDef &d : examples()) defs[d.name] = &d;
  int problems = 0;
  std::set<std::string> seen;
  Lines out;
  size_t copied = 0;
  for (const Block &b : blocks) {
    if (!seen.insert(b.name).second) {
      std::printf("%s:%zu: duplicate example block '%s'\n", path.c_str(), b.marker + 1, b.name.c_str());
      problems++;
      continue;
    }
    auto it = defs.find(b.name);
    if (it == defs.end()) {
      std::printf("%s:%zu: unknown example '%s' (the program has no such example)\n", path.c_str(), b.marker + 1,
                  b.name.c_str());
      problems++;
      continue;
    }
    if (b.fenced && !b.closed) {
      std::printf("%s:%zu: example '%s': ```text fence is never closed\n", path.c_str(), b.marker + 1, b.name.c_str());
      problems++;
      continue;
    }
    Lines want = generate(*it->second);
    Lines have;
    if (b.fenced) have.assign(doc.begin() + (long)b.begin, doc.begin() + (long)b.end);
    if (update) {
      out.insert(out.end(), doc.begin() + (long)copied, doc.begin() + (long)b.marker + 1);
      out.push_back(kFenceOpen);
      out.insert(out.end(), want.begin(), want.end());
      out.push_back(kFenceClose);
      copied = b.fenced ? b.end + 1 : b.marker + 1;
      if (!b.fenced || have != want) std::printf("updated example '%s'\n", b.name.c_str());
      continue;
    }
    if (!b.fenced) {
      std::printf("%s:%zu: example '%s' has no ```text block after its marker\n", path.c_str(), b.marker + 1,
                  b.name.c_str());
      print_diff(path, b.name, b.marker + 2, have, want);
      problems++;
    } else if (have != want) {
      print_diff(path, b.name, b.begin + 1, have, want);
      problems++;
    }
  }
  for (const ExampleDef &d : examples()) {
    if (seen.count(d.name)) continue;
    std::printf("%s: missing example block '%s' (add a line `%s%s%s` and run --update)\n", path.c_str(), d.name,
                kMarkerPrefix, d.name, kMarkerSuffix);
    if (!update) print_diff(path, d.name, 0, Lines(), generate(d));
    problems++;
  }
  if (update) {
    out.insert(out.end(), doc.begin() + (long)copied, doc.end());
    if (out != doc) {
      std::ofstream f(path, std::ios::trunc);
      for (const std::string &l : out) f << l << '\n';
      if (!f) {
        std::fprintf(stderr, "protocol_examples: cannot write %s\n", path.c_str());
        return 1;
      }
    }
    return problems ? 1 : 0;
  }
  if (problems) {
    std::printf("%d example problem%s in %s; run protocol_examples --update %s after checking the change\n", problems,
                problems == 1 ? "" : "s", path.c_str(), path.c_str());
    return 1;
  }
  std::printf("%s: %zu example blocks match the code\n", path.c_str(), blocks.size());
  return 0;
}

std::vector<std::string> table_cells(const std::string &line) {
  std::vector<std::string> cells;
  std::string l = rstrip(line);
  if (l.empty() || l[0] != '|') return cells;
  std::string cur;
  for (size_t i = 1; i < l.size(); i++) {
    if (l[i] == '|') {
      size_t a = cur.find_first_not_of(' '), z = cur.find_last_not_of(' ');
      cells.push_back(a == std::string::npos ? "" : cur.substr(a, z - a + 1));
      cur.clear();
    } else {
      cur += l[i];
    }
  }
  return cells;
}

// Every code 1..kErrorCount-1 needs a table row `| <code> | `<name>` | ...`; rows naming something
// error_name() does not return, or with the wrong code, are errors too.
int check_codes(const std::string &path) {
  Lines doc;
  if (!read_lines(path, doc)) {
    std::fprintf(stderr, "protocol_examples: cannot read %s\n", path.c_str());
    return 1;
  }
  std::map<std::string, int> code_of;
  for (int e = 0; e < kErrorCount; e++) code_of[error_name(e)] = e;
  std::vector<bool> found(kErrorCount, false);
  // Section 12's auth_check codes are checked the same way against auth_code_name().
  std::map<std::string, int> auth_code_of;
  for (int a = 0; a < kAuthCodeCount; a++) auth_code_of[auth_code_name(a)] = a;
  std::vector<bool> auth_found(kAuthCodeCount, false);
  // Section 8.1's policy codes, against policy_code_name().
  std::map<std::string, int> policy_code_of;
  for (int q = 1; q < kPolicyCodeCount; q++) policy_code_of[policy_code_name(q)] = q;
  std::vector<bool> policy_found(kPolicyCodeCount, false);
  int problems = 0;
  for (size_t i = 0; i < doc.size(); i++) {
    std::vector<std::string> c = table_cells(doc[i]);
    if (c.size() < 3 || c[0].empty() || c[0].find_first_not_of("0123456789") != std::string::npos) continue;
    if (c[1].size() < 3 || c[1].front() != '`' || c[1].back() != '`') continue;
    int code = std::atoi(c[0].c_str());
    std::string name = c[1].substr(1, c[1].size() - 2);
    auto it = code_of.find(name);
    auto at = auth_code_of.find(name);
    auto pt = policy_code_of.find(name);
    if (it == code_of.end() && at == auth_code_of.end() && pt != policy_code_of.end()) {
      if (pt->second != code) {
        std::printf("%s:%zu: '%s' is policy code %d, the table says %d\n", path.c_str(), i + 1, name.c_str(),
                    pt->second, code);
        problems++;
      } else {
        policy_found[code] = true;
      }
    } else if (it == code_of.end() && at != auth_code_of.end()) {
      if (at->second != code) {
        std::printf("%s:%zu: '%s' is auth code %d, the table says %d\n", path.c_str(), i + 1, name.c_str(), at->second,
                    code);
        problems++;
      } else {
        auth_found[code] = true;
      }
    } else if (it == code_of.end()) {
      std::printf("%s:%zu: error table names '%s', which error_name() never returns\n", path.c_str(), i + 1,
                  name.c_str());
      problems++;
    } else if (it->second != code) {
      std::printf("%s:%zu: '%s' is code %d, the table says %d\n", path.c_str(), i + 1, name.c_str(), it->second, code);
      problems++;
    } else {
      found[code] = true;
    }
  }
  for (int a = 0; a < kAuthCodeCount; a++) {
    if (auth_found[a]) continue;
    std::printf("%s: auth-code table has no row for %d `%s`\n", path.c_str(), a, auth_code_name(a));
    problems++;
  }
  for (int q = 1; q < kPolicyCodeCount; q++) {
    if (policy_found[q]) continue;
    std::printf("%s: policy-code table has no row for %d `%s`\n", path.c_str(), q, policy_code_name(q));
    problems++;
  }
  for (int e = 1; e < kErrorCount; e++) {
    if (found[e]) continue;
    std::printf("%s: error-code table has no row for %d `%s`\n", path.c_str(), e, error_name(e));
    problems++;
  }
  if (problems) return 1;
  std::printf("%s: error-code table lists all %d codes 1..%d\n", path.c_str(), kErrorCount - 1, kErrorCount - 1);
  std::printf("%s: auth-code table lists all %d codes 0..%d\n", path.c_str(), (int)kAuthCodeCount, kAuthCodeCount - 1);
  return 0;
}

int usage() {
  std::fprintf(stderr, "usage: protocol_examples [--list | --print NAME | --check FILE | --update FILE | "
                       "--check-codes FILE]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  if (argc == 1) {
    for (const ExampleDef &d : examples()) {
      std::printf("%s%s%s\n%s\n", kMarkerPrefix, d.name, kMarkerSuffix, kFenceOpen);
      for (const std::string &l : generate(d)) std::printf("%s\n", l.c_str());
      std::printf("%s\n\n", kFenceClose);
    }
    return 0;
  }
  std::string mode = argv[1];
  if (mode == "--list" && argc == 2) {
    for (const ExampleDef &d : examples()) std::printf("%s\n", d.name);
    return 0;
  }
  if (argc != 3) return usage();
  std::string arg = argv[2];
  if (mode == "--print") {
    for (const ExampleDef &d : examples()) {
      if (arg != d.name) continue;
      for (const std::string &l : generate(d)) std::printf("%s\n", l.c_str());
      return 0;
    }
    std::fprintf(stderr, "protocol_examples: no example '%s'\n", arg.c_str());
    return 2;
  }
  if (mode == "--check") return check_or_update(arg, false);
  if (mode == "--update") return check_or_update(arg, true);
  if (mode == "--check-codes") return check_codes(arg);
  return usage();
}
