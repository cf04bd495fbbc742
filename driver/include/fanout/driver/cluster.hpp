// The cluster file: node ids and their addresses, this node's id, and the transport's options.
// YAML or JSON (JSON is YAML); every field is validated and an error names file:line:col and the
// field. docs/driver.md has the table of fields with their defaults and limits.
//
//   self: 0                      # optional here; udp:<file>?node=<id> overrides it
//   nodes:
//     - {id: 0, address: 127.0.0.1:47100}
//     - {id: 1, address: 127.0.0.1:47101, bind: 127.0.0.1:47201}   # bind: where it listens
//     - {id: 2, address: 10.0.0.2:47100, mac: 02:00:00:00:00:02}     # mac: for Ethernet backends
//   transport: {fanout: 4, mtu: 1500, window: 256, failure_timeout_us: 2000000}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fanout::driver {

using NodeId = uint16_t;

// Transport options (cluster file section `transport`). Times in microseconds. Fields left 0
// where the comment says so are derived from the others when the file is loaded.
struct TransportOptions {
  uint32_t fanout = 4;            // tree fan-out F: the sender and every relay copy to at most F chunk heads (2..16)
  uint32_t mtu = 1500;            // IPv4 MTU of the path: a packet is at most mtu - 28 bytes of UDP payload (576..9000)
  uint32_t window = 256;          // packets of new data in flight (sent, not acknowledged by every receiver) per device
  uint32_t ack_interval = 0;      // receivers ACK cumulatively every this many packets (0: window / 4)
  uint32_t reorder_us = 1000;     // a gap older than this is NACKed
  uint32_t nack_retry_us = 10000; // a gap still open this long after its NACK is NACKed again (backoff x2)
  uint32_t rto_us = 20000;        // sender: no progress for this long -> probe lagging receivers (backoff x2)
  uint32_t rto_max_us = 200000;   // upper bound of the rto and NACK backoffs
  uint32_t failure_timeout_us = 2000000; // sender: a receiver silent this long is reported failed
  uint32_t silent_timeout_us = 0;        // relay: a child silent this long is reported (0: failure_timeout / 4)
  uint32_t linger_us = 0; // receiver: completed messages remembered for duplicates (0: 2 x failure_timeout)
  uint64_t max_message_bytes = 0xFFFFFFFFull; // 1..2^32 - 1 (the protocol's length field)
  uint32_t socket_buffer_bytes = 4u << 20;    // udp: SO_SNDBUF / SO_RCVBUF asked for (the kernel may cap it)
  // Hostile-input policy for received DATA (proto/policy.hpp; the udp transport, the dpdk engine).
  uint32_t max_receivers = 0;    // receiver ids per DATA packet (0: no limit)
  uint32_t rate_mbps = 0;        // per-sender payload rate, Mbit/s, 8 Mbit/s steps (0: no limit)
  uint32_t rate_burst_bytes = 0; // the per-sender bucket (0: max(64 KiB, 1 ms at rate_mbps))
  // Per-packet authentication (proto/auth.hpp): a group key (auth_key: 32 hex digits) and the mode.
  enum AuthMode : uint8_t { kAuthOff = 0, kAuthAccept = 1, kAuthRequire = 2 };
  bool has_auth_key = false;
  uint8_t auth_key[16] = {};
  AuthMode auth = kAuthOff;   // require: sign, drop unsigned; accept: sign, accept unsigned; off: neither
  bool auth_explicit = false; // `auth` given (otherwise a key alone means require)
};

// Set one transport option by name from its text ("fanout", "max_receivers", "auth_key", ...): the
// cluster file's transport fields, also accepted as device URI parameters. False and *error set if
// the name is unknown (*known_name false) or the value is bad.
bool set_transport_option(TransportOptions &t, const std::string &name, const std::string &value, bool *known_name,
                          std::string *error);
// Checks between auth and auth_key (auth require/accept need a key; a key alone means require).
bool finish_auth_options(TransportOptions &t, std::string *error);

struct NodeAddress {
  NodeId id = 0;
  std::string address; // ip:port others send to (IPv4 dotted quad)
  std::string bind;    // ip:port this node listens on (empty: address) -- e.g. behind an impairment relay
  // Ethernet address of the node's interface, aa:bb:cc:dd:ee:ff (backends that build Ethernet
  // frames: dpdk). Empty: the cluster address plan's 02:00:00:00:<id high>:<id low>.
  std::string mac;
};

struct ClusterConfig {
  std::string origin;    // the file it came from (error messages)
  bool has_self = false; // `self` given in the file
  NodeId self = 0;
  std::vector<NodeAddress> nodes; // ascending ids
  TransportOptions transport;

  const NodeAddress *find(NodeId id) const;
};

// Parse and validate; on error returns false and sets *error to "origin:line:col: field: problem".
bool parse_cluster(const std::string &text, const std::string &origin, ClusterConfig *out, std::string *error);
bool load_cluster_file(const std::string &path, ClusterConfig *out, std::string *error);

// The file's address syntax, for programs that turn its nodes into their own tables (IPv4 only:
// the protocol's UDP encapsulation is IPv4 today).
// "10.0.0.1:47100" -> ip (host byte order) and port 1..65535; the host is a dotted quad. False if
// it does not parse.
bool parse_ipv4_port(const std::string &text, uint32_t *ip, uint16_t *port);
// "02:00:00:00:00:07" -> six bytes. A group (multicast) address is refused: frames to a node go
// to its unicast MAC. False if it does not parse.
bool parse_mac(const std::string &text, uint8_t mac[6]);

} // namespace fanout::driver
