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
  return 0;
}
