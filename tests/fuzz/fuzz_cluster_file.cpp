// libFuzzer target: libfanout's cluster file reader (driver: parse_cluster) on arbitrary text.
//
// The cluster file is user input read by every process of a job: whatever it holds, parse_cluster
// must return false with a message that starts with the file's name, or true with a configuration
// the transport can use as is (ascending unique node ids, addresses that parse, options within
// the limits docs/driver.md documents, derived defaults filled in). It must never throw.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <set>
#include <string>

#include "fanout/driver/cluster.hpp"
#include "fuzz_check.hpp"

using fanout::driver::ClusterConfig;
using fanout::driver::NodeAddress;
using fanout::driver::TransportOptions;

namespace {

const std::string kOrigin = "cluster.yaml";

bool all_digits(const std::string &s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// ip:port, written independently of the driver's parser: a dotted quad of decimal octets 0..255
// without leading zeros (what inet_pton accepts), a colon, a decimal port 1..65535.
bool valid_ipv4_port(const std::string &text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string port = text.substr(colon + 1);
  if (!all_digits(port) || port.size() > 5 || std::stoul(port) == 0 || std::stoul(port) > 65535) return false;
  std::string host = text.substr(0, colon);
  size_t pos = 0;
  for (int part = 0; part < 4; part++) {
    size_t dot = host.find('.', pos);
    if ((part < 3) != (dot != std::string::npos)) return false;
    std::string octet = host.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (!all_digits(octet) || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0') || std::stoul(octet) > 255)
      return false;
    pos = dot + 1;
  }
  return true;
}

bool hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// aa:bb:cc:dd:ee:ff, unicast (bit 0 of the first octet clear).
bool valid_mac(const std::string &m) {
  if (m.size() != 17) return false;
  for (size_t i = 0; i < 17; i++)
    if (i % 3 == 2 ? m[i] != ':' : !hex(m[i])) return false;
  return (std::stoul(m.substr(0, 2), nullptr, 16) & 1) == 0;
}

bool in(uint64_t v, uint64_t lo, uint64_t hi) {
  return v >= lo && v <= hi;
}

void check_config(const ClusterConfig &c) {
  FUZZ_CHECK(c.origin == kOrigin);
  FUZZ_CHECK(!c.nodes.empty());
  std::set<std::string> listens;
  for (size_t i = 0; i < c.nodes.size(); i++) {
    const NodeAddress &n = c.nodes[i];
    if (i > 0) FUZZ_CHECK(c.nodes[i - 1].id < n.id); // ascending, unique
    FUZZ_CHECK(c.find(n.id) == &n);
    FUZZ_CHECK(valid_ipv4_port(n.address));
    FUZZ_CHECK(n.bind.empty() || valid_ipv4_port(n.bind));
    FUZZ_CHECK(n.mac.empty() || valid_mac(n.mac));
    FUZZ_CHECK(listens.insert(n.bind.empty() ? n.address : n.bind).second); // one node per listen address
  }
  if (c.has_self) FUZZ_CHECK(c.find(c.self) != nullptr && c.find(c.self)->id == c.self);

  // Limits of driver/src/cluster.cpp (docs/driver.md), after the derived defaults are filled in.
  const TransportOptions &t = c.transport;
  const uint64_t kHourUs = 3'600'000'000ull;
  FUZZ_CHECK(in(t.fanout, 2, 16));
  FUZZ_CHECK(in(t.mtu, 576, 9000));
  FUZZ_CHECK(in(t.window, 1, 65536));
  FUZZ_CHECK(in(t.ack_interval, 1, t.window)); // 0 became window / 4 (at least 1)
  FUZZ_CHECK(in(t.reorder_us, 1, 10'000'000));
  FUZZ_CHECK(in(t.nack_retry_us, 1, 60'000'000));
  FUZZ_CHECK(in(t.rto_us, 100, 60'000'000));
  FUZZ_CHECK(in(t.rto_max_us, t.rto_us, 600'000'000));
  FUZZ_CHECK(in(t.failure_timeout_us, 1000, kHourUs));
  FUZZ_CHECK(in(t.silent_timeout_us, 1, (uint64_t)t.failure_timeout_us - 1)); // 0 became failure / 4
  FUZZ_CHECK(in(t.linger_us, 1, kHourUs));                                    // 0 became 2 x failure
  FUZZ_CHECK((uint64_t)t.nack_retry_us * 2 < t.failure_timeout_us);
  FUZZ_CHECK(in(t.max_message_bytes, 1, 0xFFFFFFFFull));
  FUZZ_CHECK(in(t.socket_buffer_bytes, 65536, 1u << 30));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  ClusterConfig cfg;
  std::string err;
  bool ok = false;
  try {
    ok = fanout::driver::parse_cluster(text, kOrigin, &cfg, &err);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "parse_cluster threw: %s\n", e.what());
    FUZZ_CHECK(!"parse_cluster never throws");
  } catch (...) {
    FUZZ_CHECK(!"parse_cluster never throws");
  }
  if (!ok) {
    if (err.compare(0, kOrigin.size() + 1, kOrigin + ":") != 0) std::fprintf(stderr, "error: %s\n", err.c_str());
    FUZZ_CHECK(err.compare(0, kOrigin.size() + 1, kOrigin + ":") == 0 && err.size() > kOrigin.size() + 2);
    return 0;
  }
  check_config(cfg);
  // The same text parses to the same nodes again (no hidden state between calls).
  ClusterConfig again;
  std::string err2;
  FUZZ_CHECK(fanout::driver::parse_cluster(text, kOrigin, &again, &err2));
  FUZZ_CHECK(again.nodes.size() == cfg.nodes.size() && again.self == cfg.self && again.has_self == cfg.has_self);
  return 0;
}
