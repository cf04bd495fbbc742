// Seed corpus generator: writes valid inputs for every fuzz target, built with proto/'s own
// encoders, into <out>/<target>/. Run at build time, so no binary file lives in the tree and the
// seeds follow the wire format when it changes.
//
// Usage: fanout_fuzz_make_seeds <out-dir>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"

using namespace fanout::proto;
namespace fs = std::filesystem;

namespace {

typedef std::vector<uint8_t> Bytes;

class SeedDir {
 public:
  SeedDir(const fs::path &root, const char *target) : dir_(root / target), n_(0) {
    // Start clean: a seed the generator no longer writes must not linger in the corpus.
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void write(const std::string &name, const Bytes &b) {
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%02u-", n_++);
    std::ofstream f(dir_ / (prefix + name), std::ios::binary);
    f.write(reinterpret_cast<const char *>(b.data()), (std::streamsize)b.size());
    if (!f) {
      std::fprintf(stderr, "make_seeds: cannot write %s\n", (dir_ / name).c_str());
      std::exit(1);
    }
  }

 private:
  fs::path dir_;
  unsigned n_;
};

ReceiverSet ids(std::initializer_list<IdRange> ranges) {
  ReceiverSet s;
  for (const IdRange &r : ranges) s.append_range(r.first, r.last);
  return s;
}

// `count` ids from `from`, `stride` apart: a sparse set where the bitmap encoding wins.
ReceiverSet strided(NodeId from, uint32_t count, uint32_t stride) {
  ReceiverSet s;
  for (uint32_t i = 0; i < count; i++) s.append((NodeId)(from + i * stride));
  return s;
}

NetHeaders net_headers() {
  NetHeaders n;
  const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
  for (int i = 0; i < 6; i++) {
    n.eth_dst[i] = dst[i];
    n.eth_src[i] = src[i];
  }
  n.ip_src = 0x0A000001;
  n.ip_dst = 0x0A000002;
  n.ip_tos = 0;
  n.ip_ttl = kDefaultIpTtl;
  n.ip_id = 7;
  n.udp_src_port = 40000;
  n.udp_dst_port = kDefaultUdpPort;
  return n;
}

struct FrameSpec {
  const char *name;
  FanoutHeader h;
  ReceiverSet set;
  uint32_t payload_len;
  SetEncoding enc;
  bool udp_checksum;
};

Bytes build(const FrameSpec &s) {
  Bytes payload(s.payload_len);
  for (uint32_t i = 0; i < s.payload_len; i++) payload[i] = (uint8_t)(i * 7 + 1);
  BuildOptions opt;
  opt.encoding = s.enc;
  opt.udp_checksum = s.udp_checksum;
  Bytes out(kMaxFrameBytes);
  uint32_t len = 0;
  int e = build_frame(net_headers(), s.h, s.set, payload.data(), s.payload_len, opt, out.data(), kMaxFrameBytes, &len);
  if (e != kOk) {
    std::fprintf(stderr, "make_seeds: build_frame(%s) failed: %s\n", s.name, error_name(e));
    std::exit(1);
  }
  out.resize(len);
  return out;
}

FanoutHeader header(uint8_t type, uint8_t flags, uint32_t sequence, uint32_t length) {
  FanoutHeader h = make_header(type, 3, 3, 42, sequence, length);
  h.flags = flags;
  return h;
}

std::vector<FrameSpec> frames() {
  std::vector<FrameSpec> v;
  // DATA with each encoding, single- and multi-packet messages, with and without UDP checksum.
  v.push_back(
      {"data-list", header(kTypeData, kFlagLast, 0, 100), ids({{5, 5}, {9, 9}, {12, 12}}), 100, kSetList, false});
  v.push_back({"data-ranges", header(kTypeData, 0, 0, 3000), ids({{0, 99}, {200, 299}}), 1000, kSetRanges, true});
  v.push_back({"data-bitmap", header(kTypeData, kFlagLast | kFlagRetx, 2, 2500), strided(1000, 200, 3), 500, kSetBitmap,
               false});
  v.push_back(
      {"data-chosen", header(kTypeData, kFlagAckReq, 1, 9000), ids({{0, 0}, {65535, 65535}}), 1400, kSetNone, true});
  v.push_back({"data-jumbo", header(kTypeData, kFlagLast, 0, 8900), ids({{0, 65535}}), 8900, kSetRanges, false});
  // Feedback and probes.
  v.push_back({"ack-ranges", header(kTypeAck, 0, 5, 300), ids({{0, 99}, {200, 399}}), 0, kSetRanges, false});
  v.push_back({"ack-bitmap", header(kTypeAck, 0, 9, 100), strided(64, 100, 2), 0, kSetBitmap, true});
  v.push_back({"ack-noset", header(kTypeAck, 0, 1, 0), ReceiverSet(), 0, kSetNone, false});
  v.push_back({"nack-list", header(kTypeNack, 0, 3, 2), ids({{17, 17}, {300, 301}}), 0, kSetList, false});
  v.push_back({"nack-silent", header(kTypeNack, kFlagSilent, 0, 0), ids({{4096, 8191}}), 0, kSetBitmap, true});
  v.push_back({"probe", header(kTypeProbe, 0, 77, 0), ReceiverSet(), 0, kSetNone, false});
  v.push_back({"probe-reply", header(kTypeProbe, kFlagReply, 77, 0), ReceiverSet(), 0, kSetNone, true});
  return v;
}

void parse_frame_seeds(const fs::path &root) {
  SeedDir d(root, "fuzz_parse_frame");
  for (const FrameSpec &s : frames()) d.write(s.name, build(s));
}

void decode_set_seeds(const fs::path &root) {
  SeedDir d(root, "fuzz_decode_set");
  d.write("none-empty", Bytes{(uint8_t)kSetNone});
  static const SetEncoding kEncodings[3] = {kSetList, kSetRanges, kSetBitmap};
  for (const FrameSpec &s : frames()) {
    if (s.set.empty()) continue;
    for (SetEncoding e : kEncodings) {
      Bytes b(1 + 2 * kMaxSetBytes);
      b[0] = (uint8_t)e;
      uint32_t written = 0;
      // Encodings over kMaxSetBytes are refused here: they are not valid bodies.
      if (encode_set(s.set, e, b.data() + 1, kMaxSetBytes, &written) != kOk) continue;
      b.resize(1 + written);
      d.write(std::string(s.name) + "-" + encoding_name(e), b);
    }
  }
}

// Beat sequences in fuzz_beats' layout: byte 0 = capacity selector (0: kMaxFrameBytes), then
// per beat a control byte (tlast << 7 | valid bytes) and 64 data bytes.
void beats_seeds(const fs::path &root) {
  SeedDir d(root, "fuzz_beats");
  std::vector<Beat> beats(kMaxFrameBytes / kBeatBytes + 1);
  for (const FrameSpec &s : frames()) {
    Bytes f = build(s);
    uint32_t n = frame_to_beats(f.data(), (uint32_t)f.size(), beats.data(), (uint32_t)beats.size());
    Bytes b(1, 0);
    for (uint32_t i = 0; i < n; i++) {
      b.push_back((uint8_t)((beats[i].last ? 0x80 : 0) | __builtin_popcountll(beats[i].keep)));
      b.insert(b.end(), beats[i].data, beats[i].data + kBeatBytes);
    }
    d.write(s.name, b);
  }
}

// Operation scripts in fuzz_aggregator's layout (see that file): config bytes, start time, then
// operations. Keys are bytes k (sender k % 4, message k / 4 % 8); child c is node 100 + c % 6.
void aggregator_seeds(const fs::path &root) {
  SeedDir d(root, "fuzz_aggregator");
  const Bytes config = {20, 30, 0, 0, 0x10, 0};               // silent timeout 20, NACK window 30, t = 4096
  const Bytes arm_two = {0, 0, 1, 2, 0, 0, 10, 1, 20, 10, 3}; // key 0, parent 1, children 0 and 1, 3 packets
  const Bytes ack0 = {1, 0, 0, 0, 3, 11, 1, 0, 0, 10};        // child 0: seq 3, covered 11, [0, 10]
  const Bytes ack1 = {1, 0, 1, 0, 3, 11, 1, 20, 0, 10};       // child 1: seq 3, covered 11, [20, 30]
  const Bytes expire = {4, 0, 16, 10};                        // all 16 slots, room for 10 outputs
  const Bytes late = {4, 200, 16, 10};                        // 200 ticks later: silent children
  const Bytes nack = {3, 0, 0, 0, 2, 1, 1, 5, 0, 0};          // child 0 misses seq 2 for [5, 5]
  auto cat = [](std::initializer_list<Bytes> parts) {
    Bytes b;
    for (const Bytes &p : parts) b.insert(b.end(), p.begin(), p.end());
    return b;
  };
  d.write("arm-ack-ack", cat({config, arm_two, ack0, ack1, expire}));
  d.write("arm-silent", cat({config, arm_two, ack0, late}));
  d.write("nack-suppress", cat({config, arm_two, nack, nack, expire}));
  Bytes fill = config;
  for (uint8_t k = 0; k < 20; k++) fill.insert(fill.end(), {0, k, 1, 1, 2, 0, 4, 3});
  d.write("table-full", cat({fill, expire}));
}

// Frame sequences in fuzz_hls_parser's layout: byte 0 = frames - 1 | 4 (repair IPv4 checksums)
// | 8 (padded frames) | 0x10-0x30 (authentication mode; 0x30 signs) | 0x40 (forge), byte 1 = backpressure levels (2
// bits each: input, out_fanout, out_meta, out_host; 0 = every cycle .. 3 = one cycle in 16), then per frame an ingress
// port byte, a 16-bit big-endian length, for padded frames a 16-bit count of stored bytes (the rest is zeros), and the
// stored bytes.
void hls_parser_seeds(const fs::path &root) {
  SeedDir d(root, "fuzz_hls_parser");
  std::vector<FrameSpec> specs = frames();
  auto frame = [&](const char *name) {
    for (const FrameSpec &s : specs)
      if (std::string(s.name) == name) return build(s);
    std::fprintf(stderr, "make_seeds: no frame %s\n", name);
    std::exit(1);
  };
  auto seq = [](uint8_t flags, uint8_t backpressure, const std::vector<Bytes> &fs, uint32_t declared = 0) {
    Bytes b{(uint8_t)((fs.size() - 1) | flags), backpressure};
    for (size_t i = 0; i < fs.size(); i++) {
      uint32_t len = declared ? declared : (uint32_t)fs[i].size(), stored = (uint32_t)fs[i].size();
      b.insert(b.end(), {(uint8_t)i, (uint8_t)(len >> 8), (uint8_t)len});
      if (flags & 8) b.insert(b.end(), {(uint8_t)(stored >> 8), (uint8_t)stored});
      b.insert(b.end(), fs[i].begin(), fs[i].end());
    }
    return b;
  };
  Bytes ipv6(60, 0x5A); // a host frame: IPv6 EtherType
  store_be16(&ipv6[kEthTypeOff], kEtherTypeIpv6);
  Bytes truncated = frame("data-list");
  truncated.resize(30);
  Bytes bad_ip_checksum = frame("nack-list");
  bad_ip_checksum[kIpChecksumOff] ^= 0x10;
  Bytes other_port = frame("ack-bitmap");
  store_be16(&other_port[kUdpDstPortOff], 53);
  d.write("four-fanout", seq(0, 0x00, {frame("data-list"), frame("ack-ranges"), frame("probe"), frame("nack-list")}));
  d.write("mixed-backpressure",
          seq(0, 0x9D, {frame("data-ranges"), ipv6, truncated, frame("data-bitmap")})); // levels 1, 3, 1, 2
  d.write("host-and-errors", seq(0, 0x5A, {other_port, bad_ip_checksum, frame("probe-reply"), ipv6}));
  d.write("checksum-repaired", seq(4, 0x00, {bad_ip_checksum}));
  d.write("jumbo", seq(0, 0xFC, {frame("data-jumbo")})); // outputs read one cycle in 16
  // Four host frames zero-padded to 8,960 bytes against outputs read one cycle in 16: 560 beats
  // for a 512-beat FIFO, so the last frame overflows.
  d.write("overflow", seq(8, 0xFC, {ipv6, ipv6, ipv6, ipv6}, 8960));
  // Authentication (bits 4-6): every valid frame signed in require mode (ingress bytes 0-3 give
  // counters 1-4), once more with one bit of each flipped, and accept mode with unsigned frames.
  d.write("auth-signed", seq(0x30, 0x00, {frame("data-list"), frame("ack-ranges"), frame("nack-list"), ipv6}));
  d.write("auth-forged", seq(0x70, 0x00, {frame("data-list"), frame("data-bitmap")}));
  d.write("auth-signed-jumbo", seq(0x30, 0x9D, {frame("data-jumbo"), frame("data-list")}));
  d.write("auth-accept-unsigned", seq(0x10, 0x00, {frame("data-ranges"), frame("probe")}));
}

void text_seeds(const fs::path &root, const char *target,
                const std::vector<std::pair<const char *, std::string>> &seeds) {
  SeedDir d(root, target);
  for (const auto &s : seeds) d.write(s.first, Bytes(s.second.begin(), s.second.end()));
}

// fuzz_scenario: a scenario document, optionally followed by a NUL and flag lines "<flag> <value>".
void scenario_seeds(const fs::path &root) {
  text_seeds(
      root, "fuzz_scenario",
      {{"empty", ""},
       {"full.yaml", "name: sparse-test\nseed: 42\nduration_us: 2000\n"
                     "topology: {kind: leaf_spine, nodes: 32, leaves: 4, spines: 2, switch_buffer_kib: 512}\n"
                     "link: {gbps: 400, delay_ns: 250, loss: 0.001, corrupt: 0.0001}\n"
                     "nic: {mode: port, fanout: 8, ports: 2, heartbeat_clocks: 500, kernel_mhz: 250, mac_mhz: 322}\n"
                     "workload:\n  kind: sparse\n  senders: [0, 5, 31]\n  k: 12\n  messages: 100\n"
                     "  message_bytes: 4096\n  interval_ns: 1000\n"
                     "  moe: {experts: 64, top_k: 4, shared_expert: false, node_limit: 2, tokens_per_step: 16, "
                     "steps: 3, token_bytes: 1024}\n"
                     "  allreduce: {root: 7, messages: 5, message_bytes: 2097152}\n"
                     "  checkpoint: {replicas: 2, shards: 6, shard_bytes: 524288}\n"
                     "faults:\n  - {kind: link_down, link: node3, at_us: 100, duration_us: 50}\n"
                     "  - {kind: loss, link: leaf1-spine0, at_us: 0, probability: 0.01}\n"
                     "output: {json: true, fst: [0, 1], pcap: [node0, leaf0-spine1], dir: out}\n"},
       {"broadcast.json", R"({"topology": {"nodes": 8}, "workload": {"kind": "broadcast", "message_bytes": 1048576}})"},
       {"allreduce.yaml", "topology: {nodes: 8}\nworkload:\n  kind: allreduce\n  interval_ns: 2000\n"
                          "  allreduce: {root: 7, messages: 3, message_bytes: 65536}\n"},
       {"checkpoint.json", R"({"workload": {"kind": "checkpoint", "senders": [2, 3], "checkpoint": )"
                           R"({"replicas": 15, "shards": 4, "shard_bytes": 4096}}})"},
       {"moe-flags", std::string("workload: {kind: moe}\n") + '\0' +
                         "nodes 32\ntopology leaf_spine\nleaves 4\nfault loss:node1:10:5:0.5\nk 3\n"},
       {"bad-field", "topology: {nodes: 16}\nworkload: {kind: sparse, k: 40}\n"}});
}

// fuzz_cluster_file: a cluster file (YAML or JSON).
void cluster_seeds(const fs::path &root) {
  text_seeds(root, "fuzz_cluster_file",
             {{"minimal.yaml", "nodes:\n  - {id: 0, address: 127.0.0.1:47100}\n"},
              {"full.yaml", "self: 1\nnodes:\n  - {id: 0, address: 127.0.0.1:47100}\n"
                            "  - {id: 1, address: 127.0.0.1:47101, bind: 127.0.0.1:47201}\n"
                            "  - {id: 2, address: 10.0.0.2:47100, mac: 02:00:00:00:00:02}\n"
                            "transport: {fanout: 4, mtu: 1500, window: 256, failure_timeout_us: 2000000}\n"},
              {"all-transport.yaml",
               "self: 7\nnodes:\n  - id: 7\n    address: 192.168.1.7:9000\n  - id: 3\n    address: 192.168.1.3:9000\n"
               "transport:\n  fanout: 16\n  mtu: 9000\n  window: 1024\n  ack_interval: 64\n  reorder_us: 500\n"
               "  nack_retry_us: 5000\n  rto_us: 10000\n  rto_max_us: 100000\n  failure_timeout_us: 1000000\n"
               "  silent_timeout_us: 200000\n  linger_us: 3000000\n  max_message_bytes: 1048576\n"
               "  socket_buffer_bytes: 8388608\n"},
              {"cluster.json", R"({"self": 0, "nodes": [{"id": 0, "address": "10.1.0.1:47100"}, )"
                               R"({"id": 65535, "address": "10.1.0.2:47100", "mac": "0a:bc:de:f0:12:34"}]})"},
              {"bad-self.yaml", "self: 5\nnodes:\n  - {id: 0, address: 127.0.0.1:47100}\n"}});
}

// ---- fuzz_dp_rx and fuzz_udp_rx (the receive paths) --------------------------------------------
// Node 10 is the Engine / transport under test; neighbours are cluster-addressed (proto/).
constexpr NodeId kRxSelf = 10;

Bytes rx_frame(uint8_t type, uint8_t flags, NodeId from, NodeId sender, uint32_t msg, uint32_t seq, uint32_t length,
               const ReceiverSet &set, uint32_t payload_len, bool udp_checksum) {
  NetHeaders net = cluster_net_headers(from, kRxSelf, sender, msg);
  FanoutHeader h = make_header(type, sender, from, msg, seq, length);
  h.flags = flags;
  Bytes payload(payload_len);
  for (uint32_t i = 0; i < payload_len; i++) payload[i] = (uint8_t)(i * 13 + msg);
  BuildOptions opt = default_build_options();
  opt.udp_checksum = udp_checksum;
  Bytes out(kMaxFrameBytes);
  uint32_t len = 0;
  if (build_frame(net, h, set, payload.data(), payload_len, opt, out.data(), kMaxFrameBytes, &len) != kOk) {
    std::fprintf(stderr, "make_seeds: rx_frame failed\n");
    std::exit(1);
  }
  out.resize(len);
  return out;
}

// fuzz_dp_rx's record: [flags][len, 2 bytes big-endian][frame].
void rx_record(Bytes &b, uint8_t flags, const Bytes &frame) {
  b.push_back(flags);
  b.push_back((uint8_t)(frame.size() >> 8));
  b.push_back((uint8_t)frame.size());
  b.insert(b.end(), frame.begin(), frame.end());
}

void dp_rx_seeds(const fs::path &root) {
  SeedDir d(root, "fuzz_dp_rx");
  const ReceiverSet small = ids({{10, 10}, {20, 40}});
  const ReceiverSet wide = ids({{0, 299}});
  const ReceiverSet kids = ids({{20, 27}});
  Bytes b;
  // Tree mode F = 2: a DATA frame naming this node and 21 others.
  b = {0, 0};
  rx_record(b, 0, rx_frame(kTypeData, kFlagLast, 1, 1, 100, 0, 100, small, 100, true));
  d.write("tree-f2-data", b);
  // Tree mode F = 8, every neighbour, as a two-segment chain split in the middle.
  b = {6, 0};
  rx_record(b, 1 | (16 << 3), rx_frame(kTypeData, kFlagLast, 1, 1, 101, 0, 1000, wide, 1000, false));
  d.write("tree-f8-data-chained", b);
  // Tree mode F = 4: DATA to 20..27, then an ACK and a NACK from chunk heads.
  b = {2, 0};
  rx_record(b, 0, rx_frame(kTypeData, kFlagLast, 1, 1, 102, 0, 200, kids, 200, true));
  rx_record(b, 2, rx_frame(kTypeAck, 0, 20, 1, 102, 1, 1, ids({{20, 21}}), 0, false));
  rx_record(b, 2, rx_frame(kTypeNack, 0, 22, 1, 102, 0, 1, ids({{22, 22}}), 0, false));
  d.write("tree-f4-data-ack-nack", b);
  // Port mode, 4 ports: ids 0..99 are routed, this node is local.
  b = {2, 1 | (3 << 1)};
  rx_record(b, 0, rx_frame(kTypeData, kFlagLast, 1, 1, 103, 0, 300, ids({{0, 120}}), 300, true));
  rx_record(b, 4, rx_frame(kTypeAck, 0, 201, 1, 103, 1, 1, ids({{1, 1}, {5, 5}}), 0, false));
  d.write("port-data-ack", b);
  // A jumbo DATA frame, a PROBE, a non-Fanout frame and a truncated (malformed) frame.
  b = {1, 0};
  rx_record(b, 0, rx_frame(kTypeData, kFlagLast, 1, 1, 104, 0, 8900, ids({{10, 10}, {50, 60}}), 8900, false));
  d.write("tree-jumbo", b);
  b = {2, 0};
  rx_record(b, 0, rx_frame(kTypeProbe, 0, 1, 1, 0, 7, 0, ReceiverSet(), 0, false));
  Bytes arp(60, 0);
  for (int i = 0; i < 6; i++) arp[i] = 0xff;
  arp[12] = 0x08;
  arp[13] = 0x06;
  rx_record(b, 0, arp);
  Bytes cut = rx_frame(kTypeData, kFlagLast, 1, 1, 105, 0, 100, small, 100, true);
  cut.resize(cut.size() - 30);
  rx_record(b, 0, cut);
  d.write("probe-other-truncated", b);
}

// A Fanout packet from its header on: what the udp backend's datagrams carry.
Bytes rx_packet(uint8_t type, uint8_t flags, NodeId origin, NodeId sender, uint32_t msg, uint32_t seq, uint32_t length,
                const ReceiverSet &set, uint32_t payload_len) {
  FanoutHeader h = make_header(type, sender, origin, msg, seq, length);
  h.flags = flags;
  Bytes out(kFanoutHeaderBytes + kMaxSetBytes + payload_len);
  uint32_t hl = 0;
  if (build_packet_header(h, set, payload_len, default_build_options(), out.data(), (uint32_t)out.size(), &hl) != kOk) {
    std::fprintf(stderr, "make_seeds: rx_packet failed\n");
    std::exit(1);
  }
  out.resize(hl + payload_len);
  for (uint32_t i = 0; i < payload_len; i++) out[hl + i] = (uint8_t)(i * 11 + msg);
  return out;
}

// fuzz_udp_rx's record: [dt][len, 2 bytes big-endian][packet].
void udp_record(Bytes &b, uint8_t dt, const Bytes &pkt) {
  b.push_back(dt);
  b.push_back((uint8_t)(pkt.size() >> 8));
  b.push_back((uint8_t)pkt.size());
  b.insert(b.end(), pkt.begin(), pkt.end());
}

void udp_rx_seeds(const fs::path &root) {
  SeedDir d(root, "fuzz_udp_rx");
  const ReceiverSet small = ids({{10, 10}, {20, 40}});
  // Header: F - 2, this node, buffers | capacity index << 2 | (ack_interval - 1) << 5.
  auto head = [](uint8_t f, uint8_t bufs, uint8_t cap, uint8_t ack) {
    return Bytes{(uint8_t)(f - 2), (uint8_t)kRxSelf, (uint8_t)(bufs | cap << 2 | (ack - 1) << 5)};
  };
  Bytes b = head(4, 1, 2, 1); // one 100-byte buffer
  udp_record(b, 0, rx_packet(kTypeData, kFlagLast, 1, 1, 100, 0, 100, small, 100));
  udp_record(b, 5, rx_packet(kTypeData, kFlagLast | kFlagRetx, 1, 1, 100, 0, 100, small, 100));
  d.write("data-deliver-relay", b);
  // A 2-packet message of 3,000 bytes into a 3,000-byte buffer, the second packet first.
  b = head(2, 2, 4, 1);
  udp_record(b, 0, rx_packet(kTypeData, kFlagLast, 1, 1, 101, 1, 3000, ids({{10, 10}}), 1600));
  udp_record(b, 1, rx_packet(kTypeData, 0, 1, 1, 101, 0, 3000, ids({{10, 10}}), 1400));
  d.write("data-two-packets", b);
  // Relay only (this node not named), then children's ACK and NACK, a silent timeout.
  b = head(4, 0, 0, 1);
  udp_record(b, 0, rx_packet(kTypeData, kFlagLast | kFlagAckReq, 1, 1, 102, 0, 50, ids({{20, 27}}), 50));
  udp_record(b, 1, rx_packet(kTypeAck, 0, 20, 1, 102, 1, 1, ids({{20, 21}}), 0));
  udp_record(b, 1, rx_packet(kTypeNack, 0, 22, 1, 102, 0, 1, ids({{22, 22}}), 0));
  udp_record(b, 1, rx_packet(kTypeAck, 0, 24, 1, 102, 1, 1, ids({{24, 25}}), 0));
  d.write("relay-ack-nack", b);
  // PROBE and PROBE reply, feedback for a message of this node's (unknown), a bitmap DATA.
  b = head(8, 3, 5, 4);
  udp_record(b, 0, rx_packet(kTypeProbe, 0, 1, 1, 0, 7, 0, ReceiverSet(), 0));
  udp_record(b, 0, rx_packet(kTypeProbe, kFlagReply, 1, 1, 0, 7, 0, ReceiverSet(), 0));
  udp_record(b, 0, rx_packet(kTypeAck, 0, 20, kRxSelf, 5, 1, 1, ids({{20, 20}}), 0));
  udp_record(b, 0, rx_packet(kTypeData, kFlagLast, 1, 2, 9, 0, 500, strided(10, 200, 3), 500));
  d.write("probe-feedback-bitmap", b);
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <out-dir>\n", argv[0]);
    return 2;
  }
  fs::path root(argv[1]);
  parse_frame_seeds(root);
  decode_set_seeds(root);
  beats_seeds(root);
  aggregator_seeds(root);
  hls_parser_seeds(root);
  scenario_seeds(root);
  cluster_seeds(root);
  dp_rx_seeds(root);
  udp_rx_seeds(root);
  return 0;
}
