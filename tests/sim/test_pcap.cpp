// pcap: records read back with their timestamps and bytes; the Lua dissector checked with tshark.
#include "sim_test.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "fanout/proto/packet.hpp"
#include "fanout/sim/link.hpp"
#include "fanout/sim/pcap.hpp"

namespace fanout {
namespace sim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

struct Record {
  uint64_t ns;
  uint32_t orig_len;
  std::vector<uint8_t> bytes;
};

// A minimal reader for what PcapWriter writes (host byte order, nanosecond magic).
std::vector<Record> read_pcap(const std::string &path, uint32_t *linktype) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t off) {
    uint32_t v;
    std::memcpy(&v, data.data() + off, 4);
    return v;
  };
  std::vector<Record> out;
  EXPECT_GE(data.size(), 24u);
  if (data.size() < 24) return out;
  EXPECT_EQ(u32(0), 0xa1b23c4du);
  uint16_t major, minor;
  std::memcpy(&major, data.data() + 4, 2);
  std::memcpy(&minor, data.data() + 6, 2);
  EXPECT_EQ(major, 2);
  EXPECT_EQ(minor, 4);
  *linktype = u32(20);
  size_t pos = 24;
  while (pos + 16 <= data.size()) {
    Record r;
    r.ns = (uint64_t)u32(pos) * 1000000000u + u32(pos + 4);
    uint32_t incl = u32(pos + 8);
    r.orig_len = u32(pos + 12);
    pos += 16;
    EXPECT_LE(pos + incl, data.size());
    if (pos + incl > data.size()) break;
    r.bytes.assign(data.begin() + (long)pos, data.begin() + (long)(pos + incl));
    pos += incl;
    out.push_back(std::move(r));
  }
  EXPECT_EQ(pos, data.size());
  return out;
}

std::string temp_path(const std::string &name) {
  const char *dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/fanout_sim_" + std::to_string(getpid()) + "_" + name;
}

struct Built {
  std::vector<uint8_t> bytes;
  std::string type, sender, message_id, receivers; // what tshark should print
};

// A Fanout frame from node `from` with the given set and encoding.
Built fanout_frame(uint8_t type, proto::NodeId from, uint32_t message_id,
                   const std::vector<std::pair<int, int>> &ranges, proto::SetEncoding enc, uint32_t payload) {
  proto::ReceiverSet set;
  std::string ids;
  for (auto r : ranges) {
    set.append_range((proto::NodeId)r.first, (proto::NodeId)r.second);
    for (int id = r.first; id <= r.second; id++) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  }
  uint32_t length = type == proto::kTypeData ? payload : (type == proto::kTypeProbe ? 0 : 5);
  proto::FanoutHeader h = proto::make_header(type, from, from, message_id, 0, length);
  if (type == proto::kTypeData) h.flags = proto::kFlagLast;
  proto::BuildOptions opt = proto::default_build_options();
  opt.encoding = enc;
  opt.udp_checksum = true;
  std::vector<uint8_t> body(payload, 0x5a);
  std::vector<uint8_t> out(proto::kMaxFrameBytes);
  uint32_t len = 0;
  proto::NodeId to = ranges.empty() ? from : (proto::NodeId)ranges.front().first;
  EXPECT_EQ(proto::build_frame(proto::cluster_net_headers(from, to, from, message_id), h, set, body.data(), payload,
                               opt, out.data(), (uint32_t)out.size(), &len),
            proto::kOk);
  out.resize(len);
  proto::ParsedPacket pkt;
  EXPECT_EQ(proto::parse_frame(out.data(), len, proto::default_parse_config(), pkt, (proto::ReceiverSet *)nullptr),
            proto::kOk);
  return Built{out, std::to_string(type), std::to_string(from), std::to_string(message_id), ids};
}

std::vector<Built> sample_frames() {
  return {
      fanout_frame(proto::kTypeData, 7, 100, {{3, 3}, {17, 17}, {200, 200}}, proto::kSetList, 256),
      fanout_frame(proto::kTypeData, 8, 101, {{10, 20}, {30, 31}}, proto::kSetRanges, 1000),
      fanout_frame(proto::kTypeNack, 9, 102, {{100, 101}, {103, 103}, {110, 110}, {900, 905}}, proto::kSetBitmap, 0),
      fanout_frame(proto::kTypeAck, 10, 103, {{1, 4}}, proto::kSetRanges, 0),
      fanout_frame(proto::kTypeProbe, 11, 104, {}, proto::kSetNone, 0),
  };
}

TEST(SimPcap, RecordsReadBackWithTimestampsAndBytes) {
  FANOUT_SIM_OWN_WORLD();
  const std::string path = temp_path("link.pcap");
  PcapWriter pcap(path);
  Link link("link");
  link.set_pcap(0, &pcap);
  std::vector<Built> frames = sample_frames();
  // Send times: 0, then spaced so that timestamps cross a second boundary and carry ns digits.
  const std::vector<sc_time> at = {sc_core::SC_ZERO_TIME, sc_time(1234.5, SC_NS), sc_time(999999999, SC_NS),
                                   sc_time(1000000123, SC_NS), sc_time(2000000000.75, SC_NS)};
  test::spawn_thread("tx", [&] {
    for (size_t i = 0; i < frames.size(); i++) {
      sc_core::wait(at[i] - sc_core::sc_time_stamp());
      EXPECT_TRUE(link.send(0, make_frame(frames[i].bytes)));
    }
  });
  sc_core::sc_start(sc_time(2.001, sc_core::SC_SEC));
  EXPECT_EQ(pcap.records(), frames.size());
  pcap.close();
  uint32_t linktype = 0;
  std::vector<Record> recs = read_pcap(path, &linktype);
  EXPECT_EQ(linktype, 1u);
  ASSERT_EQ(recs.size(), frames.size());
  const uint64_t expect_ns[] = {0, 1234, 999999999, 1000000123, 2000000000};
  for (size_t i = 0; i < recs.size(); i++) {
    EXPECT_EQ(recs[i].ns, expect_ns[i]) << i;
    EXPECT_EQ(recs[i].orig_len, frames[i].bytes.size());
    EXPECT_EQ(recs[i].bytes, frames[i].bytes) << i;
  }
  std::remove(path.c_str());
}

TEST(SimPcap, OpenFailureNamesThePath) {
  PcapWriter w;
  try {
    w.open("/nonexistent-dir/x.pcap");
    FAIL() << "opened";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.pcap"), std::string::npos) << e.what();
  }
}

std::string find_on_path(const std::string &prog) {
  const char *path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string p = (dir.empty() ? "." : dir) + "/" + prog;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// Runs cmd through the shell; returns stdout, sets *rc.
std::string run(const std::string &cmd, int *rc) {
  std::string out;
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) {
    *rc = -1;
    return out;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST(SimPcap, TsharkDecodesWithTheLuaDissector) {
  const std::string tshark = find_on_path("tshark");
  if (tshark.empty()) GTEST_SKIP() << "tshark not on PATH (Debian package tshark)";
  const std::string lua = std::string(FANOUT_SOURCE_DIR) + "/sim/wireshark/fanout.lua";
  const std::string path = temp_path("tshark.pcap");
  std::vector<Built> frames = sample_frames();
  {
    PcapWriter pcap(path);
    for (size_t i = 0; i < frames.size(); i++) {
      Frame f;
      f.bytes = frames[i].bytes;
      pcap.write(f, sc_time((double)i, SC_US));
    }
  }
  // A private HOME keeps the user's Wireshark profile out; stderr (the warning tshark prints
  // when run as root) goes to a file shown on failure.
  const std::string home = temp_path("home");
  const std::string err = temp_path("tshark.err");
  std::string cmd = "mkdir -p '" + home + "' && HOME='" + home + "' '" + tshark + "' -n -X lua_script:'" + lua +
                    "' -r '" + path +
                    "' -T fields -E separator=';' -E occurrence=a -E aggregator=, -e fanout.type -e fanout.sender "
                    "-e fanout.message_id -e fanout.receiver 2>'" +
                    err + "'";
  int rc = 0;
  std::string out = run(cmd, &rc);
  std::ifstream errf(err);
  std::string err_text((std::istreambuf_iterator<char>(errf)), std::istreambuf_iterator<char>());
  ASSERT_EQ(rc, 0) << cmd << "\n" << err_text;
  EXPECT_EQ(err_text.find("Lua"), std::string::npos) << err_text;
  std::stringstream lines(out);
  std::string line;
  size_t i = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(i, frames.size()) << out;
    const Built &b = frames[i];
    EXPECT_EQ(line, b.type + ";" + b.sender + ";" + b.message_id + ";" + b.receivers) << "frame " << i;
    i++;
  }
  EXPECT_EQ(i, frames.size()) << out << err_text;
  std::printf("tshark output:\n%s", out.c_str());

  // The port preference moves the dissector: on another port nothing is decoded as Fanout.
  cmd = "HOME='" + home + "' '" + tshark + "' -n -X lua_script:'" + lua + "' -o fanout.udp_port:47101 -r '" + path +
        "' -T fields -e fanout.type 2>>'" + err + "'";
  out = run(cmd, &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out.find_first_not_of("\n"), std::string::npos) << out;
  std::remove(path.c_str());
  std::remove(err.c_str());
  if (std::system(("rm -rf '" + home + "'").c_str()) != 0) ADD_FAILURE() << "rm -rf " << home;
}

} // namespace
} // namespace sim
} // namespace fanout
