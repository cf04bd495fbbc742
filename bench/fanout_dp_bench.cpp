// fanout-dp-bench: replicated copies per second on ONE lcore through fanout::dp::Engine
// (docs/performance.md, "Software data path (DPDK)").
//
// Set-up (no NIC, no hugepages): one EAL, lcore 0 only. Port 0 is a ring port
// (rte_eth_from_rings) whose RX ring is the input; ports 1..P are net_null vdevs (TX frees every
// frame, chains included). This node (id 10) is a relay in tree mode with F = k (F = 2 for k = 1):
// a DATA frame from its parent (1) whose receiver set is k ids {20, .., 20+k-1} becomes k direct
// copies, one per destination, the destinations spread round-robin over the P output ports.
//
// Feeding is not timed: frames are made in batches (rte_pktmbuf_alloc + memcpy of pre-built
// proto::build_frame bytes, one message, sequences 0..63) and put on the RX ring; then the timed
// part polls the Engine until the ring is empty (rte_eth_rx_burst on the ring port, parse, plan,
// header mbufs, aggregator arm, rte_eth_tx_burst to net_null which frees the copies) and calls
// Engine::timers once per batch. Copies/s = Engine::Stats::copies / timed seconds.
// --auth: the engine signs every copy it makes (per-packet authentication, proto/auth.hpp; the
// input stays unsigned and is accepted): what signing costs a relay.
//
// Also writes the pcap inputs for scripts/bench-dpdk-multicast.sh (--write-pcap): the same
// Fanout frames, optionally readdressed to an IPv4 multicast group for examples/ipv4_multicast.
#include "fanout/dp/engine.hpp"

#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

namespace proto = fanout::proto;
namespace dp = fanout::dp;
using Bytes = std::vector<uint8_t>;

constexpr proto::NodeId kSelf = 10;
constexpr proto::NodeId kParent = 1;
constexpr proto::NodeId kFirstReceiver = 20;
constexpr uint32_t kSender = 1;
constexpr uint32_t kMessage = 7;
constexpr uint32_t kFramesPerMessage = 64; // distinct frames (sequences) cycled through
constexpr uint32_t kBatch = 512;           // frames per untimed feed / timed drain round
constexpr uint32_t kRingSize = 1024;

// One DATA frame from the parent to this node, message (kSender, kMessage), sequence seq.
Bytes data_frame(uint32_t k, uint32_t payload, uint32_t seq) {
  proto::NetHeaders net = proto::cluster_net_headers(kParent, kSelf, kSender, kMessage);
  proto::FanoutHeader h =
      proto::make_header(proto::kTypeData, kSender, kParent, kMessage, seq, payload * kFramesPerMessage);
  if (seq + 1 == kFramesPerMessage) h.flags = proto::kFlagLast;
  proto::ReceiverSet set;
  for (uint32_t i = 0; i < k; i++) set.append((proto::NodeId)(kFirstReceiver + i));
  Bytes pl(payload);
  for (uint32_t i = 0; i < payload; i++) pl[i] = (uint8_t)(i * 7 + seq);
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  proto::BuildOptions o = proto::default_build_options(); // UDP checksum 0, as a relay's input
  if (proto::build_frame(net, h, set, pl.data(), payload, o, out.data(), (uint32_t)out.size(), &len) != proto::kOk) {
    std::fprintf(stderr, "fanout-dp-bench: build_frame failed (k=%u payload=%u)\n", k, payload);
    std::exit(1);
  }
  out.resize(len);
  return out;
}

uint16_t ip_checksum(const uint8_t *p, uint32_t n) {
  uint32_t s = 0;
  for (uint32_t i = 0; i + 1 < n; i += 2) s += (uint32_t)((p[i] << 8) | p[i + 1]);
  while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
  return (uint16_t)~s;
}

// Readdress a frame to IPv4 multicast group `group` (host order): MAC 01:00:5e:xx, IP dst, IP
// header checksum. The rest (length, UDP, Fanout header, set, payload) is unchanged.
void to_multicast(Bytes &f, uint32_t group) {
  uint8_t mac[6] = {0x01, 0x00, 0x5e, (uint8_t)((group >> 16) & 0x7F), (uint8_t)(group >> 8), (uint8_t)group};
  std::memcpy(f.data(), mac, 6);
  uint8_t *ip = f.data() + 14;
  ip[16] = (uint8_t)(group >> 24);
  ip[17] = (uint8_t)(group >> 16);
  ip[18] = (uint8_t)(group >> 8);
  ip[19] = (uint8_t)group;
  ip[10] = ip[11] = 0;
  uint16_t c = ip_checksum(ip, 20);
  ip[10] = (uint8_t)(c >> 8);
  ip[11] = (uint8_t)c;
}

void put32(std::FILE *f, uint32_t v) {
  std::fwrite(&v, 4, 1, f);
}
void put16(std::FILE *f, uint16_t v) {
  std::fwrite(&v, 2, 1, f);
}

int write_pcap(const std::string &path, uint32_t k, uint32_t payload, uint32_t frames, const std::string &group) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(path.c_str());
    return 1;
  }
  put32(f, 0xa1b2c3d4); // classic pcap, microseconds, native byte order
  put16(f, 2);
  put16(f, 4);
  put32(f, 0);
  put32(f, 0);
  put32(f, 65535);
  put32(f, 1); // Ethernet
  uint32_t g = 0;
  if (!group.empty()) {
    unsigned a, b, c, d;
    if (std::sscanf(group.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) != 4) {
      std::fprintf(stderr, "fanout-dp-bench: --multicast: not an IPv4 address (got '%s')\n", group.c_str());
      std::fclose(f);
      return 2;
    }
    g = (a << 24) | (b << 16) | (c << 8) | d;
  }
  for (uint32_t i = 0; i < frames; i++) {
    Bytes fr = data_frame(k, payload, i % kFramesPerMessage);
    if (g) to_multicast(fr, g);
    put32(f, 0);
    put32(f, i);
    put32(f, (uint32_t)fr.size());
    put32(f, (uint32_t)fr.size());
    std::fwrite(fr.data(), 1, fr.size(), f);
  }
  std::fclose(f);
  return 0;
}

struct Point {
  uint32_t k, payload, frame_bytes;
  uint64_t frames, copies, drops;
  double seconds;
};

struct Bench {
  rte_mempool *rx_pool = nullptr;
  rte_mempool *hdr_pool = nullptr;
  rte_ring *rx = nullptr;
  rte_ring *tx = nullptr;
  uint16_t in_port = 0;
  std::vector<uint16_t> out_ports;
};

// --auth: the engine signs every copy (a fixed group key) and accepts the bench's unsigned input
// (auth: accept): the signing side of per-packet authentication.
bool g_auth = false;

Point run_point(Bench &b, uint32_t k, uint32_t payload, double seconds) {
  dp::EngineConfig c;
  if (g_auth) {
    c.auth = true;
    c.auth_require = false;
    for (uint32_t i = 0; i < 16; i++) c.auth_key[i] = (uint8_t)(0xA0 + i);
  }
  c.node = kSelf;
  proto::cluster_mac(kSelf, c.mac);
  c.ipv4 = proto::cluster_ipv4(kSelf);
  c.mode = dp::EngineConfig::kTree;
  c.fanout = k < 2 ? 2 : k;
  c.ports.push_back(b.in_port);
  for (uint16_t p : b.out_ports) c.ports.push_back(p);
  c.header_pool = b.hdr_pool;
  c.silent_timeout_us = 1000000000u; // no silent-child NACKs during the run (never acknowledged)
  dp::Neighbour parent{};
  parent.port = b.in_port;
  proto::cluster_mac(kParent, parent.mac);
  parent.ipv4 = proto::cluster_ipv4(kParent);
  c.neighbours[kParent] = parent;
  for (uint32_t i = 0; i < 64; i++) {
    dp::Neighbour n{};
    n.port = b.out_ports[i % b.out_ports.size()];
    proto::cluster_mac((proto::NodeId)(kFirstReceiver + i), n.mac);
    n.ipv4 = proto::cluster_ipv4((proto::NodeId)(kFirstReceiver + i));
    c.neighbours[(proto::NodeId)(kFirstReceiver + i)] = n;
  }
  dp::Engine eng(c);

  std::vector<Bytes> frames;
  for (uint32_t s = 0; s < kFramesPerMessage; s++) frames.push_back(data_frame(k, payload, s));

  using clk = std::chrono::steady_clock;
  double timed = 0;
  uint64_t fed = 0, seq = 0;
  rte_mbuf *batch[kBatch];
  const uint64_t hz = rte_get_tsc_hz();
  uint64_t cycles = 0;
  auto wall0 = clk::now();
  while (timed < seconds) {
    // Untimed: make kBatch input frames on the RX ring.
    if (rte_pktmbuf_alloc_bulk(b.rx_pool, batch, kBatch) != 0) {
      std::fprintf(stderr, "fanout-dp-bench: rx pool empty\n");
      std::exit(1);
    }
    for (uint32_t i = 0; i < kBatch; i++) {
      const Bytes &f = frames[seq++ % kFramesPerMessage];
      std::memcpy(rte_pktmbuf_append(batch[i], (uint16_t)f.size()), f.data(), f.size());
    }
    if (rte_ring_enqueue_bulk(b.rx, (void **)batch, kBatch, nullptr) != kBatch) {
      std::fprintf(stderr, "fanout-dp-bench: rx ring full\n");
      std::exit(1);
    }
    fed += kBatch;
    // Timed: the engine's work until the ring is empty.
    uint64_t t0 = rte_rdtsc();
    uint64_t now_us = (uint64_t)std::chrono::duration_cast<std::chrono::microseconds>(clk::now() - wall0).count();
    while (eng.poll(b.in_port, 0, now_us) != 0) {
    }
    eng.timers(now_us);
    cycles += rte_rdtsc() - t0;
    timed = (double)cycles / (double)hz;
    // Untimed: anything the engine sent back to the parent (none expected) is dropped.
    void *o = nullptr;
    while (rte_ring_dequeue(b.tx, &o) == 0) rte_pktmbuf_free(static_cast<rte_mbuf *>(o));
  }
  const dp::Stats &st = eng.stats();
  Point p{};
  p.k = k;
  p.payload = payload;
  p.frame_bytes = (uint32_t)frames[0].size();
  p.frames = fed;
  p.copies = st.copies;
  p.drops = st.mbuf_exhausted + st.header_room + st.unroutable_copies + st.port_down_copies + st.malformed();
  for (uint32_t i = 0; i < dp::kMaxPorts; i++) p.drops += st.port[i].tx_full;
  p.seconds = timed;
  for (uint32_t e = 0; e < proto::kErrorCount; e++)
    if (st.parse_errors[e] != 0 && e != proto::kOk)
      std::fprintf(stderr, "fanout-dp-bench: parse error %s: %llu\n", proto::error_name((int)e),
                   (unsigned long long)st.parse_errors[e]);
  if (st.data_in != fed || st.copies != fed * k || st.payload_copies != 0)
    std::fprintf(stderr,
                 "fanout-dp-bench: k=%u payload=%u: data_in %llu of %llu, copies %llu (expected %llu), "
                 "payload copies %llu\n",
                 k, payload, (unsigned long long)st.data_in, (unsigned long long)fed, (unsigned long long)st.copies,
                 (unsigned long long)(fed * k), (unsigned long long)st.payload_copies);
  return p;
}

std::vector<uint32_t> parse_list(const char *s) {
  std::vector<uint32_t> v;
  std::string cur;
  for (const char *p = s;; p++) {
    if (*p == ',' || *p == '\0') {
      if (!cur.empty()) v.push_back((uint32_t)std::strtoul(cur.c_str(), nullptr, 10));
      cur.clear();
      if (*p == '\0') break;
    } else {
      cur += *p;
    }
  }
  return v;
}

int usage() {
  std::fprintf(stderr,
               "usage: fanout-dp-bench [--k 1,2,4,8,16,32,64] [--payload 64,256,1024,4096] [--seconds S]\n"
               "                       [--out-ports P (1..3)] [--repeat R] [--auth]\n"
               "       fanout-dp-bench --write-pcap FILE --k K --payload N [--frames N] [--multicast A.B.C.D]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<uint32_t> ks = {1, 2, 4, 8, 16, 32, 64};
  std::vector<uint32_t> payloads = {64, 256, 1024, 4096};
  double seconds = 1.0;
  uint32_t out_ports = 3, repeat = 1, frames = kFramesPerMessage;
  std::string pcap, group;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--auth") {
      g_auth = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const char *v = argv[++i];
    if (a == "--k")
      ks = parse_list(v);
    else if (a == "--payload")
      payloads = parse_list(v);
    else if (a == "--seconds")
      seconds = std::atof(v);
    else if (a == "--out-ports")
      out_ports = (uint32_t)std::atoi(v);
    else if (a == "--repeat")
      repeat = (uint32_t)std::atoi(v);
    else if (a == "--write-pcap")
      pcap = v;
    else if (a == "--frames")
      frames = (uint32_t)std::atoi(v);
    else if (a == "--multicast")
      group = v;
    else
      return usage();
  }
  for (uint32_t k : ks)
    if (k < 1 || k > 64) return usage();
  for (uint32_t p : payloads)
    if (p < 1 || p > 8192) return usage();
  if (out_ports < 1 || out_ports > dp::kMaxPorts - 1 || seconds <= 0 || repeat < 1 || ks.empty() || payloads.empty())
    return usage();
  if (!pcap.empty()) return write_pcap(pcap, ks[0], payloads[0], frames, group);

  std::vector<std::string> args = {"fanout-dp-bench", "--no-huge", "-m", "512",         "--no-pci", "--no-shconf",
                                   "--no-telemetry",  "-l",        "0",  "--log-level", "error"};
  for (uint32_t p = 0; p < out_ports; p++) {
    args.push_back("--vdev");
    args.push_back("net_null" + std::to_string(p));
  }
  std::vector<char *> eargv;
  for (std::string &s : args) eargv.push_back(&s[0]);
  if (rte_eal_init((int)eargv.size(), eargv.data()) < 0) {
    std::fprintf(stderr, "fanout-dp-bench: rte_eal_init failed\n");
    return 1;
  }
  Bench b;
  b.rx_pool = rte_pktmbuf_pool_create("bench_rx", 4095, 256, 0, RTE_PKTMBUF_HEADROOM + 9216, SOCKET_ID_ANY);
  b.hdr_pool = rte_pktmbuf_pool_create("bench_hdr", 8191, 256, 0, dp::header_pool_data_room(), SOCKET_ID_ANY);
  b.rx = rte_ring_create("bench_rx", kRingSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  b.tx = rte_ring_create("bench_tx", kRingSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (!b.rx_pool || !b.hdr_pool || !b.rx || !b.tx) {
    std::fprintf(stderr, "fanout-dp-bench: pools/rings: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  int id = rte_eth_from_rings("bench_in", &b.rx, 1, &b.tx, 1, SOCKET_ID_ANY);
  if (id < 0 || dp::configure_port((uint16_t)id, 1, 1, 1024, b.rx_pool) != 0) {
    std::fprintf(stderr, "fanout-dp-bench: input ring port set-up failed\n");
    return 1;
  }
  b.in_port = (uint16_t)id;
  uint16_t pid;
  RTE_ETH_FOREACH_DEV(pid) {
    if (pid == b.in_port) continue;
    if (dp::configure_port(pid, 1, 1, 1024, b.rx_pool) != 0) {
      std::fprintf(stderr, "fanout-dp-bench: net_null port %u set-up failed\n", (unsigned)pid);
      return 1;
    }
    b.out_ports.push_back(pid);
  }

  std::printf("fanout-dp-bench: 1 lcore, input ring port %u, %zu net_null output port(s), %.2f s timed per run, "
              "median of %u run(s)\n",
              (unsigned)b.in_port, b.out_ports.size(), seconds, repeat);
  std::printf("%4s %8s %8s %12s %12s %10s\n", "k", "payload", "frame", "Mcopies/s", "Mframes/s", "ns/copy");
  std::vector<std::string> lines;
  for (uint32_t payload : payloads) {
    for (uint32_t k : ks) {
      std::vector<Point> runs;
      for (uint32_t r = 0; r < repeat; r++) runs.push_back(run_point(b, k, payload, seconds));
      std::sort(runs.begin(), runs.end(),
                [](const Point &x, const Point &y) { return x.copies / x.seconds < y.copies / y.seconds; });
      const Point &p = runs[runs.size() / 2];
      double cps = (double)p.copies / p.seconds;
      std::printf("%4u %8u %8u %12.2f %12.2f %10.1f\n", k, payload, p.frame_bytes, cps / 1e6,
                  (double)p.frames / p.seconds / 1e6, 1e9 / cps);
      std::fflush(stdout);
      char line[256];
      std::snprintf(line, sizeof line,
                    "RESULT bench=fanout-dp k=%u payload=%u frame_bytes=%u copies_per_s=%.0f frames_per_s=%.0f "
                    "drops=%llu runs=%u",
                    k, payload, p.frame_bytes, cps, (double)p.frames / p.seconds, (unsigned long long)p.drops, repeat);
      lines.push_back(line);
    }
  }
  for (const std::string &l : lines) std::printf("%s\n", l.c_str());
  return 0;
}
