// An impairment relay: real UDP sockets between Fanout nodes that drop, duplicate, reorder and
// corrupt datagrams with given probabilities (seeded). A cluster file points a node's `address`
// at a relay port and its `bind` at the node's own socket; the relay forwards what arrives on the
// port to the node. The kernel has no netem here (../shared/TOOLCHAIN.md), and nftables only drops.
//
// Corruption flips one random bit of the datagram. On a real path the UDP checksum (and the
// Ethernet FCS) would discard such a datagram; a user-space relay re-sends it with a fresh, valid
// checksum, so corruption here tests robustness (malformed packets dropped and counted, never a
// crash, never more packets out than in), not integrity: Fanout v1 carries no end-to-end checksum
// of its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace fanout::driver::tools {

struct ImpairOptions {
  double drop = 0;           // probability a datagram is lost
  double duplicate = 0;      // probability it is sent twice
  double reorder = 0;        // probability it is held back for reorder_delay_us (later ones overtake it)
  double corrupt = 0;        // probability one random bit is flipped ...
  uint32_t corrupt_span = 0; // ... within the datagram's first corrupt_span bytes (0: anywhere)
  uint32_t reorder_delay_us = 2000;
};

struct ImpairRoute {
  std::string listen; // ip:port the relay binds
  std::string target; // ip:port it forwards to
  ImpairOptions options;
};

struct ImpairCounters {
  uint64_t received = 0;
  uint64_t forwarded = 0; // datagrams sent on (duplicates included)
  uint64_t dropped = 0;
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  uint64_t corrupted = 0;
};

class ImpairRelay {
 public:
  // Binds every route and starts the relay thread. nullptr and *error on failure.
  static std::unique_ptr<ImpairRelay> start(const std::vector<ImpairRoute> &routes, uint64_t seed, std::string *error);
  ~ImpairRelay(); // stop()
  void stop();
  ImpairCounters counters(size_t route) const;
  size_t routes() const;

  struct Impl;

 private:
  explicit ImpairRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace fanout::driver::tools
