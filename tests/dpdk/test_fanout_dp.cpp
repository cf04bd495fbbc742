// The fanout-dp daemon as a process (host/fanout-dp): no NIC, no hugepages, no root needed.
//  - net_pcap golden: DATA frames with various receiver sets (+ malformed and non-Fanout frames)
//    written to in.pcap, the real binary run with --vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap,
//    out.pcap compared frame by frame with the HLS replicator C model's output for the same input
//    (bytes identical to the hardware's) and with copies built independently with proto/.
//  - telemetry: /fanout/stats, /fanout/parse_errors, /fanout/ports through the telemetry socket.
//  - bad options: exit 2, one line naming the flag.
#include "replicator.hpp"

#include "dpdk_frames.hpp"
#include "fanout/hls/neighbour.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"
#include "fanout/proto/split.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef FANOUT_DP_BIN
#error FANOUT_DP_BIN: path of the fanout-dp binary
#endif

namespace {

namespace proto = fanout::proto;
namespace hw = fanout::hw;
using Bytes = std::vector<uint8_t>;
using fanout::dp::test::copy_frame;
using fanout::dp::test::set_of;

constexpr uint16_t kSelf = 10;
constexpr uint16_t kParent = 1;
constexpr uint16_t kNodes = 100; // cluster: nodes 0..99, cluster address plan

// ---- Processes ---------------------------------------------------------------------------------

struct Dir {
  std::string path;
  Dir() {
    char t[] = "/tmp/fanout_dp_test_XXXXXX";
    path = mkdtemp(t);
  }
  ~Dir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string operator/(const std::string &f) const { return path + "/" + f; }
};

std::string slurp(const std::string &f) {
  std::ifstream in(f);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Starts the daemon with stdout/stderr to files; env: extra NAME=VALUE.
pid_t spawn(const std::vector<std::string> &args, const std::string &out, const std::string &err,
            const std::vector<std::string> &env = {}) {
  pid_t pid = fork();
  if (pid == 0) {
    for (const std::string &e : env) putenv(strdup(e.c_str()));
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<char *> argv;
    std::string bin = FANOUT_DP_BIN;
    argv.push_back(const_cast<char *>(bin.c_str()));
    for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// Exit code, or -1 on timeout (killed) / signal.
int wait_for(pid_t pid, double timeout_s) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int st = 0;
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct Result {
  int code;
  std::string out, err;
};

// Runs to the end; as root, removes the EAL runtime dir /var/run/dpdk/<--file-prefix> afterwards
// (otherwise it lies under $XDG_RUNTIME_DIR = the test's temporary dir).
Result run(const Dir &d, const std::vector<std::string> &args, double timeout_s = 60) {
  pid_t pid = spawn(args, d / "stdout", d / "stderr", {"XDG_RUNTIME_DIR=" + d.path});
  Result r;
  r.code = wait_for(pid, timeout_s);
  for (size_t i = 0; i + 1 < args.size(); i++)
    if (args[i] == "--file-prefix" && getuid() == 0)
      std::system(("rm -rf '/var/run/dpdk/" + args[i + 1] + "'").c_str());
  r.out = slurp(d / "stdout");
  r.err = slurp(d / "stderr");
  return r;
}

std::vector<std::string> eal(const std::string &prefix, bool telemetry = false) {
  std::vector<std::string> a = {"--no-huge", "-m",          "256",   "--no-pci",      "--no-shconf", "-l",
                                "0",         "--log-level", "error", "--file-prefix", prefix};
  if (!telemetry) a.push_back("--no-telemetry");
  return a;
}

std::string write_cluster(const Dir &d) {
  std::ofstream f(d / "cluster.yaml");
  f << "nodes:\n";
  for (uint16_t n = 0; n < kNodes; n++) {
    f << "  - {id: " << n << ", address: 10.0.0." << n << ":" << proto::kDefaultUdpPort;
    if (n == kSelf) f << ", mac: 02:00:00:00:00:0a"; // this node's MAC: the cluster plan's
    f << "}\n";
  }
  return d / "cluster.yaml";
}

// "name=value" in the daemon's final stats output; -1 if absent.
long long stat_of(const std::string &out, const std::string &name) {
  size_t p = out.find(" " + name + "=");
  if (p == std::string::npos) return -1;
  return std::atoll(out.c_str() + p + name.size() + 2);
}

// ---- pcap files --------------------------------------------------------------------------------

void write_pcap(const std::string &path, const std::vector<Bytes> &frames) {
  std::ofstream f(path, std::ios::binary);
  uint32_t gh[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1}; // v2.4, Ethernet
  f.write(reinterpret_cast<const char *>(gh), 24);
  uint32_t ts = 1;
  for (const Bytes &b : frames) {
    uint32_t rh[4] = {ts++, 0, (uint32_t)b.size(), (uint32_t)b.size()};
    f.write(reinterpret_cast<const char *>(rh), 16);
    f.write(reinterpret_cast<const char *>(b.data()), (std::streamsize)b.size());
  }
}

std::vector<Bytes> read_pcap(const std::string &path) {
  std::string s = slurp(path);
  std::vector<Bytes> out;
  EXPECT_GE(s.size(), 24u) << path;
  size_t off = 24;
  while (off + 16 <= s.size()) {
    uint32_t rh[4];
    std::memcpy(rh, s.data() + off, 16);
    off += 16;
    if (off + rh[2] > s.size()) break;
    out.emplace_back(s.begin() + (long)off, s.begin() + (long)(off + rh[2]));
    off += rh[2];
  }
  return out;
}

// ---- Frames (proto/) ---------------------------------------------------------------------------

Bytes data_frame(uint32_t msg, const std::vector<uint16_t> &ids, uint32_t payload, bool udp_checksum = true) {
  proto::NetHeaders net = proto::cluster_net_headers(kParent, kSelf, kParent, msg);
  net.ip_tos = 0x28;
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, kParent, kParent, msg, 0, payload);
  h.flags = proto::kFlagLast;
  Bytes pl(payload);
  for (uint32_t i = 0; i < payload; i++) pl[i] = (uint8_t)(i * 7 + msg);
  Bytes out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  proto::BuildOptions o = proto::default_build_options();
  o.udp_checksum = udp_checksum;
  EXPECT_EQ(proto::build_frame(net, h, set_of(ids), pl.data(), payload, o, out.data(), (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  return out;
}

// Tree rule from proto/: the copies of one input, in chunk order.
std::vector<Bytes> tree_expected(const Bytes &in, uint32_t fanout) {
  std::vector<Bytes> out;
  proto::ParsedPacket pp;
  proto::ReceiverSet s, rest, chunk;
  EXPECT_EQ(proto::parse_frame(in.data(), (uint32_t)in.size(), proto::default_parse_config(), pp, &s), proto::kOk);
  s.without(kSelf, rest);
  proto::Chunk chunks[proto::kMaxTreeFanout];
  uint32_t n = proto::tree_split(rest, fanout, chunks);
  for (uint32_t c = 0; c < n; c++) {
    rest.slice(chunks[c].begin, chunks[c].end, chunk);
    out.push_back(copy_frame(in, kSelf, chunks[c].head, chunk));
  }
  return out;
}

// The HLS replicator C model (hls/replicator), tree mode, every neighbour on MAC port 0: the
// frames it emits on port 0 for `inputs` (DATA frames only), in order.
std::vector<Bytes> hls_copies(uint32_t fanout, const std::vector<Bytes> &inputs) {
  auto k = std::make_unique<hw::Replicator<2>>();
  hw::NodeAddress self;
  self.id = kSelf;
  proto::cluster_mac(kSelf, self.mac);
  self.ipv4 = proto::cluster_ipv4(kSelf);
  k->set_self(self);
  k->set_mode(hw::kReplModeTree);
  k->set_fanout(fanout);
  k->set_udp_port(proto::kDefaultUdpPort);
  for (uint16_t n = 0; n < kNodes; n++) {
    if (n == kSelf) continue;
    hw::NeighbourEntry e;
    proto::cluster_mac(n, e.mac);
    e.ipv4 = proto::cluster_ipv4(n);
    e.port = 0;
    e.valid = true;
    k->set_neighbour(n, e);
  }
  hls::stream<hw::ParsedMeta> in_meta, fb_meta;
  hls::stream<hw::axis_word> in_frame, out_host, out_fb;
  hls::stream<hw::axis_word> out_port[2];
  hls::stream<hw::ArmWord> out_arm;
  std::vector<Bytes> out;
  std::vector<proto::Beat> cur;
  for (const Bytes &f : inputs) {
    std::vector<proto::Beat> beats(proto::beats_for((uint32_t)f.size()));
    proto::frame_to_beats(f.data(), (uint32_t)f.size(), beats.data(), (uint32_t)beats.size());
    hw::ParsedMeta m = hw::ParsedMeta();
    proto::ReceiverSet scratch;
    proto::ParsedPacket pp;
    EXPECT_EQ(proto::parse_frame(f.data(), (uint32_t)f.size(), proto::default_parse_config(), pp, &scratch),
              proto::kOk);
    m.hdr = pp.hdr;
    m.payload_len = pp.payload_len;
    m.frame_len = (uint32_t)f.size();
    m.ingress_port = 0;
    m.ip_src = pp.ip_src;
    m.ip_dst = pp.ip_dst;
    m.udp_src_port = pp.udp_src_port;
    size_t b = 0;
    for (uint32_t clk = 0; clk < 100000; clk++) {
      if (b < beats.size() && !in_frame.full() && (b > 0 || !in_meta.full())) {
        if (b == 0) in_meta.write(m);
        in_frame.write(hw::from_beat(beats[b], 0, 0));
        b++;
      }
      k->step(in_meta, in_frame, out_port, out_host, out_arm, fb_meta, out_fb);
      while (!out_port[0].empty()) {
        cur.push_back(hw::to_beat(out_port[0].read()));
        if (cur.back().last) {
          Bytes bytes(proto::kMaxFrameBytes);
          uint32_t n = proto::beats_to_frame(cur.data(), (uint32_t)cur.size(), bytes.data(), (uint32_t)bytes.size());
          bytes.resize(n);
          out.push_back(bytes);
          cur.clear();
        }
      }
      while (!out_port[1].empty()) out_port[1].read();
      while (!out_host.empty()) out_host.read();
      while (!out_arm.empty()) out_arm.read();
      if (b == beats.size() && k->idle() && out_port[0].empty()) break;
    }
  }
  return out;
}

// ---- net_pcap golden ---------------------------------------------------------------------------

TEST(FanoutDpDaemon, PcapCopiesEqualTheHlsReplicatorModelAndMalformedAreCounted) {
  Dir d;
  std::string cluster = write_cluster(d);
  const uint32_t fanout = 4;
  std::mt19937 rng(11);
  std::vector<Bytes> data; // valid DATA frames (the model's input)
  uint32_t local = 0;
  for (uint32_t i = 0; i < 16; i++) {
    std::vector<uint16_t> ids;
    uint32_t k = 1 + rng() % 50;
    uint16_t id = (uint16_t)(rng() % 20);
    for (uint32_t j = 0; j < k && id < kNodes; j++) {
      ids.push_back(id);
      id = (uint16_t)(id + 1 + (rng() % 3 == 0 ? rng() % 5 : 0));
    }
    for (uint16_t x : ids) local += x == kSelf;
    data.push_back(data_frame(2000 + i, ids, 1 + rng() % 1400, i % 2 == 0));
  }
  data.push_back(data_frame(3000, {kSelf}, 100)); // leaf: local delivery only, no copy
  local++;
  // Jumbo payload (needs the daemon's jumbo RX mbufs).
  data.push_back(data_frame(3001, {20, 30, 40, 50, 60, 70}, 8000));
  const Bytes good = data_frame(3002, {kSelf, 20, 21}, 40);
  Bytes trunc(good.begin(), good.begin() + 30);
  Bytes bad_ip = good;
  bad_ip[proto::kIpTosOff] ^= 0x04; // IPv4 checksum no longer verifies
  Bytes bad_udp = good;
  bad_udp[bad_udp.size() - 1] ^= 0xFF; // payload under a UDP checksum
  Bytes arp(60, 0);                    // an ARP request: broadcast, so the MAC filter passes it to the host side
  for (int i = 0; i < 6; i++) arp[(size_t)i] = 0xff;
  arp[12] = 0x08;
  arp[13] = 0x06;
  std::vector<Bytes> in;
  for (size_t i = 0; i < data.size(); i++) {
    in.push_back(data[i]);
    if (i == 3) in.push_back(trunc);
    if (i == 7) in.push_back(bad_ip);
    if (i == 9) in.push_back(arp);
    if (i == 12) in.push_back(bad_udp);
  }
  write_pcap(d / "in.pcap", in);

  std::vector<std::string> args = eal("fdp_pcap_" + std::to_string(getpid()));
  args.push_back("--vdev");
  args.push_back("net_pcap0,rx_pcap=" + (d / "in.pcap") + ",tx_pcap=" + (d / "out.pcap"));
  for (const char *a : {"--", "--node", "10", "--cluster"}) args.push_back(a);
  args.push_back(cluster);
  // Nobody ACKs here: a silent timeout past the run keeps silent-child NACKs out of out.pcap.
  for (const char *a : {"--fanout", "4", "--duration-s", "1.5", "--silent-timeout-us", "60000000"}) args.push_back(a);
  Result r = run(d, args);
  ASSERT_EQ(r.code, 0) << r.out << r.err;

  std::vector<Bytes> got = read_pcap(d / "out.pcap");
  std::vector<Bytes> model = hls_copies(fanout, data);
  std::vector<Bytes> indep;
  for (const Bytes &f : data)
    for (Bytes &c : tree_expected(f, fanout)) indep.push_back(std::move(c));
  EXPECT_EQ(model.size(), indep.size());
  for (size_t i = 0; i < model.size() && i < indep.size(); i++) EXPECT_EQ(model[i], indep[i]) << "copy " << i;
  ASSERT_EQ(got.size(), model.size()) << r.out;
  for (size_t i = 0; i < got.size(); i++) EXPECT_EQ(got[i], model[i]) << "copy " << i;

  EXPECT_EQ(stat_of(r.out, "data_in"), (long long)data.size()) << r.out;
  EXPECT_EQ(stat_of(r.out, "copies"), (long long)model.size());
  EXPECT_EQ(stat_of(r.out, "local_deliveries"), (long long)local);
  EXPECT_EQ(stat_of(r.out, "malformed"), 3);
  EXPECT_EQ(stat_of(r.out, "truncated"), 1);
  EXPECT_EQ(stat_of(r.out, "ipv4_bad_checksum"), 1);
  EXPECT_EQ(stat_of(r.out, "udp_bad_checksum"), 1);
  EXPECT_EQ(stat_of(r.out, "not_fanout"), 1);
  EXPECT_EQ(stat_of(r.out, "rx_packets"), (long long)in.size());
  EXPECT_EQ(stat_of(r.out, "tx_packets"), (long long)model.size());
  EXPECT_EQ(stat_of(r.out, "host_frames_freed"), (long long)local + 1); // + the non-Fanout frame
  EXPECT_EQ(stat_of(r.out, "mbuf_exhausted"), 0);
  EXPECT_EQ(stat_of(r.out, "payload_copies"), 0);
}

// ---- net_pcap golden, port mode ----------------------------------------------------------------
//
// Four net_pcap ports: DATA frames come in on port 0 (rx_pcap), each port writes its own tx_pcap.
// Port table (the shape of a software top-of-rack): 0-9 behind port 0 (the ingress: looped),
// 11-39 behind port 1 (a Fanout switch, node 90, is its peer), 40-59 behind port 2 (peer 91),
// 60 alone behind port 3 (its default peer), this node's own id 10 local, 61-99 unroutable.

constexpr uint32_t kPortCount = 4;
const uint16_t kPortPeer[kPortCount] = {0, 90, 91, 60}; // port 0: no peer (several ids, no --peer)

uint8_t route_of(uint16_t id) {
  if (id == kSelf) return proto::kPortLocal;
  if (id < 10) return 0;
  if (id < 40) return 1;
  if (id < 60) return 2;
  if (id == 60) return 3;
  return proto::kPortNone;
}

std::unique_ptr<proto::PortTable> port_table() {
  auto t = std::make_unique<proto::PortTable>();
  for (uint32_t id = 0; id < kNodes; id++)
    if (route_of((uint16_t)id) != proto::kPortNone) t->set((uint16_t)id, route_of((uint16_t)id));
  return t;
}

// The HLS replicator C model in port mode with the same table and peers: its frames per port.
std::vector<std::vector<Bytes>> hls_port_copies(const std::vector<Bytes> &inputs, uint64_t *unroutable_ids,
                                                uint64_t *looped_ids) {
  auto k = std::make_unique<hw::Replicator<kPortCount>>();
  hw::NodeAddress self;
  self.id = kSelf;
  proto::cluster_mac(kSelf, self.mac);
  self.ipv4 = proto::cluster_ipv4(kSelf);
  k->set_self(self);
  k->set_mode(hw::kReplModePort);
  k->set_udp_port(proto::kDefaultUdpPort);
  for (uint16_t n = 0; n < kNodes; n++) {
    uint8_t p = route_of(n);
    for (uint32_t q = 1; q < kPortCount; q++)
      if (kPortPeer[q] == n) p = (uint8_t)q;
    if (route_of(n) != proto::kPortNone) k->set_port(n, route_of(n));
    if (n == kSelf || p >= kPortCount) continue;
    hw::NeighbourEntry e;
    proto::cluster_mac(n, e.mac);
    e.ipv4 = proto::cluster_ipv4(n);
    e.port = p;
    e.valid = true;
    k->set_neighbour(n, e);
  }
  for (uint32_t q = 1; q < kPortCount; q++) k->set_port_peer((uint8_t)q, kPortPeer[q]);
  hls::stream<hw::ParsedMeta> in_meta, fb_meta;
  hls::stream<hw::axis_word> in_frame, out_host, out_fb;
  hls::stream<hw::axis_word> out_port[kPortCount];
  hls::stream<hw::ArmWord> out_arm;
  std::vector<std::vector<Bytes>> out(kPortCount);
  std::vector<std::vector<proto::Beat>> cur(kPortCount);
  for (const Bytes &f : inputs) {
    std::vector<proto::Beat> beats(proto::beats_for((uint32_t)f.size()));
    proto::frame_to_beats(f.data(), (uint32_t)f.size(), beats.data(), (uint32_t)beats.size());
    hw::ParsedMeta m = hw::ParsedMeta();
    proto::ReceiverSet scratch;
    proto::ParsedPacket pp;
    EXPECT_EQ(proto::parse_frame(f.data(), (uint32_t)f.size(), proto::default_parse_config(), pp, &scratch),
              proto::kOk);
    m.hdr = pp.hdr;
    m.payload_len = pp.payload_len;
    m.frame_len = (uint32_t)f.size();
    m.ingress_port = 0;
    m.ip_src = pp.ip_src;
    m.ip_dst = pp.ip_dst;
    m.udp_src_port = pp.udp_src_port;
    size_t b = 0;
    for (uint32_t clk = 0; clk < 100000; clk++) {
      if (b < beats.size() && !in_frame.full() && (b > 0 || !in_meta.full())) {
        if (b == 0) in_meta.write(m);
        in_frame.write(hw::from_beat(beats[b], 0, 0));
        b++;
      }
      k->step(in_meta, in_frame, out_port, out_host, out_arm, fb_meta, out_fb);
      bool empty = true;
      for (uint32_t p = 0; p < kPortCount; p++) {
        while (!out_port[p].empty()) {
          cur[p].push_back(hw::to_beat(out_port[p].read()));
          if (cur[p].back().last) {
            Bytes bytes(proto::kMaxFrameBytes);
            uint32_t n =
                proto::beats_to_frame(cur[p].data(), (uint32_t)cur[p].size(), bytes.data(), (uint32_t)bytes.size());
            bytes.resize(n);
            out[p].push_back(bytes);
            cur[p].clear();
          }
        }
        empty = empty && out_port[p].empty();
      }
      while (!out_host.empty()) out_host.read();
      while (!out_arm.empty()) out_arm.read();
      if (b == beats.size() && k->idle() && empty) break;
    }
  }
  *unroutable_ids = k->counter(hw::kCntUnroutableIds);
  *looped_ids = k->counter(hw::kCntLoopedIds);
  return out;
}

TEST(FanoutDpDaemon, PortModeSplitsPerPortToThePeersAsTheHlsReplicatorModel) {
  Dir d;
  std::string cluster = write_cluster(d);
  std::mt19937 rng(23);
  std::vector<std::vector<uint16_t>> sets = {
      {kSelf},                                   // local delivery only
      {70, 80, 99},                              // unroutable only: no copy
      {2, 3, 4},                                 // looped only (behind the ingress port)
      {11, 45, 60},                              // one id per port
      {0, 5, kSelf, 12, 13, 14, 41, 42, 60, 75}, // every kind
  };
  for (uint32_t i = 0; i < 14; i++) {
    std::vector<uint16_t> ids;
    uint16_t id = (uint16_t)(rng() % 12);
    for (uint32_t j = 0; j < 1 + rng() % 60 && id < kNodes; j++) {
      ids.push_back(id);
      id = (uint16_t)(id + 1 + (rng() % 3 == 0 ? rng() % 4 : 0));
    }
    sets.push_back(ids);
  }
  std::vector<Bytes> in;
  for (size_t i = 0; i < sets.size(); i++)
    in.push_back(data_frame(4000 + (uint32_t)i, sets[i], i == 7 ? 8000 : 1 + rng() % 1400, i % 2 == 0));
  write_pcap(d / "in.pcap", in);

  std::vector<std::string> args = eal("fdp_port_" + std::to_string(getpid()));
  for (uint32_t p = 0; p < kPortCount; p++) {
    std::string rx = p == 0 ? d / "in.pcap" : d / ("empty" + std::to_string(p) + ".pcap");
    if (p != 0) write_pcap(rx, {});
    args.push_back("--vdev");
    args.push_back("net_pcap" + std::to_string(p) + ",rx_pcap=" + rx +
                   ",tx_pcap=" + (d / ("out" + std::to_string(p) + ".pcap")));
  }
  for (const char *a : {"--", "--node", "10", "--mode", "port", "--ports", "0,1,2,3", "--route",
                        "0-9=0,10-39=1,40-59=2,60=3", "--peer", "1=90", "--peer", "2=91", "--cluster"})
    args.push_back(a);
  args.push_back(cluster);
  for (const char *a : {"--duration-s", "1.5", "--silent-timeout-us", "60000000"}) args.push_back(a);
  Result r = run(d, args);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("port mode"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peers 1=90,2=91,3=60"), std::string::npos) << r.out;

  // Independently with proto/: port_split (ingress 0), pieces, each addressed to the port's peer.
  auto table = port_table();
  std::vector<std::vector<Bytes>> indep(kPortCount);
  std::vector<std::vector<proto::ReceiverSet>> subsets(kPortCount); // per port, per copy
  uint64_t unroutable = 0, looped = 0, local = 0;
  for (const Bytes &f : in) {
    proto::ParsedPacket pp;
    proto::ReceiverSet set;
    ASSERT_EQ(proto::parse_frame(f.data(), (uint32_t)f.size(), proto::default_parse_config(), pp, &set), proto::kOk);
    std::unique_ptr<proto::LargeReceiverSet[]> per_port(new proto::LargeReceiverSet[proto::kMaxPorts]); // large: heap
    proto::PortSplitResult sr = proto::port_split(set, *table, kPortCount, 0, per_port.get());
    unroutable += sr.unroutable;
    looped += sr.looped;
    local += sr.deliver_local;
    uint32_t max_set =
        std::min(proto::kMaxSetBytes, proto::kMaxFrameBytes - proto::kFixedHeadersBytes - pp.payload_len);
    for (uint32_t p = 1; p < kPortCount; p++) {
      if (per_port[p].empty()) continue;
      proto::IdRange pieces[64];
      uint32_t n = proto::partition_for_packets(per_port[p], max_set, pieces, 64);
      ASSERT_LE(n, 64u);
      for (uint32_t i = 0; i < n; i++) {
        proto::ReceiverSet piece;
        ASSERT_TRUE(proto::intersect_range(per_port[p], pieces[i].first, pieces[i].last, piece));
        indep[p].push_back(copy_frame(f, kSelf, kPortPeer[p], piece));
        subsets[p].push_back(piece);
      }
    }
  }
  uint64_t model_unroutable = 0, model_looped = 0;
  std::vector<std::vector<Bytes>> model = hls_port_copies(in, &model_unroutable, &model_looped);
  EXPECT_EQ(model_unroutable, unroutable);
  EXPECT_EQ(model_looped, looped);
  size_t copies = 0;
  for (uint32_t p = 0; p < kPortCount; p++) {
    SCOPED_TRACE("port " + std::to_string(p));
    std::vector<Bytes> got = read_pcap(d / ("out" + std::to_string(p) + ".pcap"));
    ASSERT_EQ(model[p].size(), indep[p].size());
    for (size_t i = 0; i < model[p].size(); i++) EXPECT_EQ(model[p][i], indep[p][i]) << "copy " << i;
    ASSERT_EQ(got.size(), model[p].size()) << r.out;
    for (size_t i = 0; i < got.size(); i++) {
      EXPECT_EQ(got[i], model[p][i]) << "copy " << i;
      // Addressed to the port's peer, carrying exactly (a piece of) that port's subset.
      proto::ParsedPacket pp;
      proto::ReceiverSet s;
      ASSERT_EQ(proto::parse_frame(got[i].data(), (uint32_t)got[i].size(), proto::default_parse_config(), pp, &s),
                proto::kOk);
      EXPECT_EQ(pp.ip_dst, proto::cluster_ipv4(kPortPeer[p])) << "copy " << i;
      EXPECT_TRUE(s == subsets[p][i]) << "copy " << i;
    }
    copies += got.size();
  }
  EXPECT_TRUE(model[0].empty()); // nothing goes back out of the ingress port
  for (uint32_t p = 1; p < kPortCount; p++) EXPECT_FALSE(model[p].empty()) << "port " << p;
  EXPECT_EQ(stat_of(r.out, "data_in"), (long long)in.size()) << r.out;
  EXPECT_EQ(stat_of(r.out, "copies"), (long long)copies);
  EXPECT_EQ(stat_of(r.out, "unroutable_ids"), (long long)unroutable);
  EXPECT_EQ(stat_of(r.out, "looped_ids"), (long long)looped);
  EXPECT_GE(unroutable, 3u);
  EXPECT_GE(looped, 3u);
  EXPECT_EQ(stat_of(r.out, "unroutable_copies"), 0);
  EXPECT_EQ(stat_of(r.out, "local_deliveries"), (long long)local);
  EXPECT_EQ(stat_of(r.out, "host_frames_freed"), (long long)local);
  EXPECT_EQ(stat_of(r.out, "malformed"), 0);
  EXPECT_EQ(stat_of(r.out, "mbuf_exhausted"), 0);
  EXPECT_EQ(stat_of(r.out, "payload_copies"), 0);
}

// ---- Telemetry ---------------------------------------------------------------------------------

std::string query(int fd, const std::string &cmd) {
  if (send(fd, cmd.data(), cmd.size(), 0) < 0) return "";
  std::string buf(16384, '\0');
  ssize_t n = recv(fd, &buf[0], buf.size(), 0);
  return n > 0 ? buf.substr(0, (size_t)n) : "";
}

TEST(FanoutDpDaemon, TelemetryServesFanoutCounters) {
  Dir d;
  std::string cluster = write_cluster(d);
  std::string prefix = "fdp_tel_" + std::to_string(getpid());
  // The runtime dir: /var/run/dpdk/<prefix> as root, else $XDG_RUNTIME_DIR/dpdk/<prefix>.
  std::string runtime = getuid() == 0 ? "/var/run/dpdk/" + prefix : d / ("dpdk/" + prefix);
  std::vector<std::string> args = eal(prefix, true);
  for (const char *a : {"--vdev", "net_ring0", "--", "--node", "10", "--cluster"}) args.push_back(a);
  args.push_back(cluster);
  for (const char *a : {"--duration-s", "30", "--max-receivers", "64", "--rate-mbps", "800", "--auth-key",
                        "000102030405060708090a0b0c0d0e0f"})
    args.push_back(a);
  pid_t pid = spawn(args, d / "stdout", d / "stderr", {"XDG_RUNTIME_DIR=" + d.path});
  std::string sock = runtime + "/dpdk_telemetry.v2";
  int fd = -1;
  for (int i = 0; i < 250 && fd < 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) FAIL() << "daemon exited early: " << slurp(d / "stderr");
    int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", sock.c_str());
    if (connect(s, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0)
      fd = s;
    else
      close(s);
  }
  if (fd < 0) {
    kill(pid, SIGKILL);
    wait_for(pid, 10);
    std::system(("rm -rf '" + runtime + "'").c_str());
    GTEST_SKIP() << "no telemetry socket at " << sock << " in this environment";
  }
  std::string greeting(4096, '\0');
  ssize_t n = recv(fd, &greeting[0], greeting.size(), 0);
  ASSERT_GT(n, 0);
  EXPECT_NE(greeting.find("\"version\""), std::string::npos) << greeting;
  // The socket exists from rte_eal_init on; the commands answer once the engines run (null before).
  std::string stats;
  for (int i = 0; i < 250; i++) {
    stats = query(fd, "/fanout/stats");
    if (stats.find("null") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }
  EXPECT_NE(stats.find("{\"/fanout/stats\":{"), std::string::npos) << stats;
  for (const char *k :
       {"\"node\":10", "\"engines\":1", "\"copies\":0", "\"malformed\":0", "\"agg_armed\":0", "\"host_frames_freed\":0",
        "\"policy_too_many_receivers\":0", "\"policy_unknown_id\":0", "\"policy_loop\":0", "\"policy_rate_limited\":0",
        "\"auth_ok\":0", "\"auth_bad_tag\":0", "\"auth_signed\":0"})
    EXPECT_NE(stats.find(k), std::string::npos) << k << " in " << stats;
  std::string pe = query(fd, "/fanout/parse_errors");
  EXPECT_NE(pe.find("\"set_unsorted\":0"), std::string::npos) << pe;
  std::string ports = query(fd, "/fanout/ports");
  EXPECT_NE(ports.find("\"port0_rx_packets\":0"), std::string::npos) << ports;
  std::string p0 = query(fd, "/fanout/ports,0");
  EXPECT_NE(p0.find("\"up\":1"), std::string::npos) << p0;
  close(fd);
  // SIGTERM: clean stop, final stats, exit 0.
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_for(pid, 20), 0) << slurp(d / "stderr");
  std::string out = slurp(d / "stdout");
  EXPECT_NE(out.find("fanout-dp: stats input:"), std::string::npos) << out;
  EXPECT_NE(out.find("fanout-dp: stats port 0:"), std::string::npos) << out;
  EXPECT_NE(out.find("fanout-dp: stats policy: policy_too_many_receivers=0"), std::string::npos) << out;
  std::system(("rm -rf '" + runtime + "'").c_str());
}

// ---- Bad options -------------------------------------------------------------------------------

TEST(FanoutDpDaemon, BadOptionsExit2NamingTheFlag) {
  Dir d;
  std::string cluster = write_cluster(d);
  struct Case {
    std::vector<std::string> opts;
    std::string flag;
    int ports = 1; // net_null vdevs
  };
  const std::vector<std::string> pm = {"--node", "10", "--cluster", cluster, "--mode", "port"};
  auto port_mode = [&](std::vector<std::string> more) {
    std::vector<std::string> o = pm;
    o.insert(o.end(), more.begin(), more.end());
    return o;
  };
  std::vector<Case> cases = {
      {{"--cluster", cluster}, "--node"},
      {{"--node", "10"}, "--cluster"},
      {{"--node", "x", "--cluster", cluster}, "--node"},
      {{"--node", "70000", "--cluster", cluster}, "--node"},
      {{"--node", "500", "--cluster", cluster}, "--node"}, // not in the cluster file
      {{"--node", "10", "--cluster", cluster, "--mode", "star"}, "--mode"},
      {{"--node", "10", "--cluster", cluster, "--mode", "port"}, "--route"}, // port mode needs the table
      {{"--node", "10", "--cluster", cluster, "--fanout", "1"}, "--fanout"},
      {{"--node", "10", "--cluster", cluster, "--fanout", "65"}, "--fanout"},
      {{"--node", "10", "--cluster", cluster, "--ports", "0,a"}, "--ports"},
      {{"--node", "10", "--cluster", cluster, "--ports", "0,0"}, "--ports"},
      {{"--node", "10", "--cluster", cluster, "--ports", "3"}, "--ports"}, // no such DPDK port
      {{"--node", "10", "--cluster", cluster, "--route", "20:0"}, "--route"},
      {{"--node", "10", "--cluster", cluster, "--route", "20=1"}, "--route"}, // port 1 not in --ports
      {{"--node", "10", "--cluster", cluster, "--route", "777=0"}, "--route"},
      {{"--node", "10", "--cluster", cluster, "--heartbeat-us", "abc"}, "--heartbeat-us"},
      {{"--node", "10", "--cluster", cluster, "--silent-timeout-us", "0"}, "--silent-timeout-us"},
      {{"--node", "10", "--cluster", cluster, "--stats-interval-s", "0"}, "--stats-interval-s"},
      {{"--node", "10", "--cluster", cluster, "--duration-s", "-1"}, "--duration-s"},
      {{"--node", "10", "--cluster", cluster, "--duration-s"}, "--duration-s"},
      {{"--node", "10", "--cluster", cluster, "--bogus", "1"}, "--bogus"},
      {{"--node", "10", "--cluster", cluster, "--max-receivers", "x"}, "--max-receivers"},
      {{"--node", "10", "--cluster", cluster, "--rate-mbps", "4"}, "--rate-mbps"}, // below 1 byte / us
      {{"--node", "10", "--cluster", cluster, "--rate-burst-bytes", "-1"}, "--rate-burst-bytes"},
      {{"--node", "10", "--cluster", cluster, "--auth-key", "00112233"}, "--auth-key"},
      {{"--node", "10", "--cluster", cluster, "--auth", "maybe"}, "--auth"},
      {{"--node", "10", "--cluster", cluster, "--route", "5-15=0"}, "--route"}, // tree: a range over self
      {{"--node", "10", "--cluster", cluster, "--peer", "0=20"}, "--peer"},     // port mode only
      // Port mode.
      {port_mode({"--route", "20-29"}), "--route"},
      {port_mode({"--route", "29-20=0"}), "--route"},                    // backwards
      {port_mode({"--route", "20-29=0,25-35=0"}), "--route"},            // overlapping ranges
      {port_mode({"--route", "20-29=0", "--route", "29=0"}), "--route"}, // overlap across flags
      {port_mode({"--route", "20-29=1"}), "--route"},                    // port 1 not in --ports
      {port_mode({"--route", "90-120=0"}), "--route"},                   // 100.. not in the cluster file
      {port_mode({"--route", "20-29=0", "--fanout", "4"}), "--fanout"},
      {port_mode({"--route", "20-29=0", "--peer", "0"}), "--peer"},
      {port_mode({"--route", "20-29=0", "--peer", "0=30,0=31"}), "--peer"},       // two peers for port 0
      {port_mode({"--route", "20-29=0", "--peer", "0=777"}), "--peer"},           // not in the cluster file
      {port_mode({"--route", "20-29=0", "--peer", "0=10"}), "--peer"},            // this node
      {port_mode({"--route", "20-29=0", "--peer", "1=30"}), "--peer"},            // port 1 not in --ports
      {port_mode({"--route", "20-29=0,30-39=1", "--peer", "1=25"}), "--peer", 2}, // 25 is behind port 0
  };
  int i = 0;
  for (const Case &c : cases) {
    std::vector<std::string> args = eal("fdp_bad_" + std::to_string(getpid()) + "_" + std::to_string(i++));
    for (int p = 0; p < c.ports; p++) {
      args.push_back("--vdev");
      args.push_back("net_null" + std::to_string(p));
    }
    args.push_back("--");
    for (const std::string &o : c.opts) args.push_back(o);
    Result r = run(d, args);
    std::string all;
    for (const std::string &o : c.opts) all += o + " ";
    EXPECT_EQ(r.code, 2) << all << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("fanout-dp: " + c.flag + ": ", 0), 0u) << all << "\n" << r.err;
    EXPECT_NE(r.err.find("(got '"), std::string::npos) << all << "\n" << r.err;
  }
  // A cluster file error, worded by the loader (file:line:col: field: problem).
  {
    std::ofstream f(d / "bad.yaml");
    f << "nodes:\n  - {id: 1, address: nowhere}\n";
  }
  std::vector<std::string> args = eal("fdp_bad_" + std::to_string(getpid()));
  for (const char *a : {"--", "--node", "1", "--cluster"}) args.push_back(a);
  args.push_back(d / "bad.yaml");
  Result r = run(d, args);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("fanout-dp: " + (d / "bad.yaml") + ":", 0), 0u) << r.err;
}

} // namespace
