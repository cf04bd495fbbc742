// Shared by `fanout send`, `recv` and `bench` (internal to fanout_cli): option parsing with
// one-line errors that name the option, opening a device, message contents and checksums,
// latency percentiles, and a SIGINT/SIGTERM flag for long-running receivers.
#ifndef FANOUT_CLI_XFER_UTIL_HPP
#define FANOUT_CLI_XFER_UTIL_HPP

#include "fanout/driver.hpp"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fanout {
namespace cli {
namespace xfer {

using driver::NodeId;
using Clock = std::chrono::steady_clock;

struct OptionSpec {
  const char *name; // "--count"
  bool takes_value;
};

// --name VALUE, --name=VALUE and flags. Each parse/get call returns an error (without the
// "fanout <cmd>: " prefix) or "" on success.
class Options {
 public:
  std::string parse(const std::vector<std::string> &args, std::initializer_list<OptionSpec> specs);
  bool has(const std::string &name) const { return values_.count(name) != 0; }
  std::string text(const std::string &name, const std::string &fallback = "") const;
  // A decimal number in [lo, hi]; fallback when the option is absent. Accepts K/M/G suffixes
  // (powers of 1024) when `sizes` is set.
  std::string number(const std::string &name, uint64_t lo, uint64_t hi, uint64_t fallback, uint64_t *out,
                     bool sizes = false) const;
  // Seconds, decimal fractions allowed ("0.25"), in (0, hi].
  std::string seconds(const std::string &name, double hi, double fallback, double *out) const;
  bool help() const { return help_; }

 private:
  std::map<std::string, std::string> values_;
  bool help_ = false;
};

// Numbers and inclusive ranges ("1,3,5-7") within [lo, hi], ascending, each once.
std::string parse_number_list(const std::string &option, const std::string &text, uint64_t lo, uint64_t hi,
                              std::vector<uint64_t> *out);

// Device::open with the option named in the error: kBadUri/kBadConfig/kNotAvailable are usage
// errors (exit 2), anything else a run-time failure (exit 1). Returns the exit code or -1 (opened).
int open_device(const std::string &uri, const driver::DeviceOptions &options, const std::string &prefix,
                std::ostream &err, std::unique_ptr<driver::Device> *out);

// --to: node ids of the cluster, not this node.
std::string parse_receivers(const std::string &text, const driver::Device &dev, std::vector<NodeId> *out);

std::string id_list(const std::vector<NodeId> &ids);

// FNV-1a 64 over bytes in order (the checksum `send` and `recv` print, so users compare them).
uint64_t fnv1a64(const uint8_t *p, uint64_t n, uint64_t h = 0xcbf29ce484222325ull);
std::string hex64(uint64_t v);

// Deterministic message contents for --bytes (splitmix64 stream).
void fill_pattern(uint8_t *p, uint64_t n, uint64_t seed);

double elapsed_s(Clock::time_point since);

// p in [0, 100]: nearest-rank percentile of sorted values (0 if empty).
double percentile(const std::vector<double> &sorted, double p);

// Latencies for percentiles in bounded memory: every value up to kCap, then a uniform sample of
// kCap of them (reservoir sampling), so a long run cannot exhaust memory.
class LatencySample {
 public:
  static constexpr size_t kCap = 1 << 20;
  void add(double v);
  std::vector<double> sorted() const;
  uint64_t seen() const { return seen_; }

 private:
  std::vector<double> values_;
  uint64_t seen_ = 0;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;
};

// Keep the device open for a while after the last message, polling: a sender whose final ACK
// from us was lost probes again within rto_max, and only an open device answers (or relays).
void linger(driver::Device &dev);

// Closes the device when the scope owning its posted buffers ends, before they are freed:
// outstanding work requests then complete as cancelled instead of touching freed memory.
struct CloseAtExit {
  driver::Device &dev;
  ~CloseAtExit() { dev.close(); }
};

// SIGINT / SIGTERM set a flag instead of killing the process, while an instance lives.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard &) = delete;
  InterruptGuard &operator=(const InterruptGuard &) = delete;
  static bool interrupted();

 private:
  struct Saved;
  std::unique_ptr<Saved> saved_;
};

} // namespace xfer
} // namespace cli
} // namespace fanout

#endif
