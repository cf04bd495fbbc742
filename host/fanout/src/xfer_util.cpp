#include "xfer_util.hpp"

#include "fanout/cli/ids.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>

namespace fanout {
namespace cli {
namespace xfer {

std::string Options::parse(const std::vector<std::string> &args, std::initializer_list<OptionSpec> specs) {
  for (size_t i = 0; i < args.size(); i++) {
    const std::string &arg = args[i];
    if (arg == "-h" || arg == "--help") {
      help_ = true;
      continue;
    }
    if (arg.compare(0, 2, "--") != 0) return "unexpected argument '" + arg + "'";
    std::string name = arg, value;
    size_t eq = arg.find('=');
    bool inline_value = eq != std::string::npos;
    if (inline_value) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const OptionSpec *spec = nullptr;
    for (const OptionSpec &s : specs)
      if (name == s.name) spec = &s;
    if (!spec) return "unknown option '" + name + "'";
    if (!spec->takes_value) {
      if (inline_value) return "option " + name + " takes no value (got '" + arg + "')";
      values_[name] = "";
      continue;
    }
    if (!inline_value) {
      // "--count --out f" is a missing value, not the value "--out".
      if (i + 1 >= args.size() || args[i + 1].compare(0, 2, "--") == 0) return "option " + name + " needs a value";
      value = args[++i];
    }
    if (values_.count(name)) return "option " + name + " given twice";
    values_[name] = value;
  }
  return "";
}

std::string Options::text(const std::string &name, const std::string &fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Options::number(const std::string &name, uint64_t lo, uint64_t hi, uint64_t fallback, uint64_t *out,
                            bool sizes) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    *out = fallback;
    return "";
  }
  std::string digits = it->second;
  uint64_t scale = 1;
  if (sizes && !digits.empty()) {
    char unit = digits.back();
    scale = unit == 'K' || unit == 'k' ? 1ull << 10 : unit == 'M' ? 1ull << 20 : unit == 'G' ? 1ull << 30 : 1;
    if (scale != 1) digits.pop_back();
  }
  uint64_t v = 0;
  std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  if (!parse_number(digits, v))
    return "option " + name + ": '" + it->second + "' is not a number" + (sizes ? " (suffixes K, M, G)" : "");
  if (v > hi / scale || v * scale < lo || v * scale > hi)
    return "option " + name + ": " + it->second + " is out of range " + range;
  *out = v * scale;
  return "";
}

std::string Options::seconds(const std::string &name, double hi, double fallback, double *out) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    *out = fallback;
    return "";
  }
  const std::string &t = it->second;
  char *end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (t.empty() || *end || !std::isfinite(v) || t.find_first_not_of("0123456789.") != std::string::npos)
    return "option " + name + ": '" + t + "' is not a number of seconds";
  if (v <= 0 || v > hi) return "option " + name + ": " + t + " is out of range (0, " + std::to_string((int)hi) + "]";
  *out = v;
  return "";
}

std::string parse_number_list(const std::string &option, const std::string &text, uint64_t lo, uint64_t hi,
                              std::vector<uint64_t> *out) {
  std::vector<uint64_t> v;
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t dash = item.find('-');
    uint64_t a = 0, b = 0;
    bool ok = dash == std::string::npos
                  ? parse_number(item, a)
                  : parse_number(item.substr(0, dash), a) && parse_number(item.substr(dash + 1), b);
    if (dash == std::string::npos) b = a;
    if (!ok || a > b) return "option " + option + ": '" + item + "' is not a number or a range like 1-7";
    if (a < lo || b > hi)
      return "option " + option + ": " + item + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi);
    for (uint64_t x = a; x <= b; x++) v.push_back(x);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  std::sort(v.begin(), v.end());
  if (std::adjacent_find(v.begin(), v.end()) != v.end())
    return "option " + option + ": " + std::to_string(*std::adjacent_find(v.begin(), v.end())) + " given twice";
  *out = std::move(v);
  return "";
}

int open_device(const std::string &uri, const driver::DeviceOptions &options, const std::string &prefix,
                std::ostream &err, std::unique_ptr<driver::Device> *out) {
  driver::OpenResult r = driver::Device::open(uri, options);
  if (r) {
    *out = std::move(r.device);
    return -1;
  }
  bool usage = r.status == driver::Status::kBadUri || r.status == driver::Status::kBadConfig ||
               r.status == driver::Status::kNotAvailable;
  err << prefix << "option --uri: " << r.message << "\n";
  return usage ? 2 : 1;
}

std::string parse_receivers(const std::string &text, const driver::Device &dev, std::vector<NodeId> *out) {
  IdListResult ids = parse_id_list(text, 65536);
  if (!ids.ok) return "option --to: " + ids.error;
  std::vector<NodeId> to;
  for (const proto::IdRange &r : ids.ranges)
    for (uint32_t id = r.first; id <= r.last; id++) {
      if (id == dev.node_id()) return "option --to: node " + std::to_string(id) + " is this node";
      if (!dev.cluster().find((NodeId)id))
        return "option --to: node " + std::to_string(id) + " is not in " + dev.cluster().origin;
      to.push_back((NodeId)id);
    }
  *out = std::move(to);
  return "";
}

std::string id_list(const std::vector<NodeId> &ids) {
  std::string s;
  for (NodeId id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

uint64_t fnv1a64(const uint8_t *p, uint64_t n, uint64_t h) {
  for (uint64_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

std::string hex64(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
  return b;
}

void fill_pattern(uint8_t *p, uint64_t n, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (uint64_t i = 0; i < n; i += 8) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(p + i, &z, n - i < 8 ? n - i : 8);
  }
}

double elapsed_s(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double percentile(const std::vector<double> &sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = (size_t)std::ceil(p / 100.0 * (double)sorted.size());
  return sorted[rank == 0 ? 0 : rank - 1];
}

void LatencySample::add(double v) {
  seen_++;
  if (values_.size() < kCap) {
    values_.push_back(v);
    return;
  }
  rng_ ^= rng_ << 13; // xorshift64: the reservoir's random index
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  uint64_t i = rng_ % seen_;
  if (i < kCap) values_[i] = v;
}

std::vector<double> LatencySample::sorted() const {
  std::vector<double> v = values_;
  std::sort(v.begin(), v.end());
  return v;
}

void linger(driver::Device &dev) {
  auto end = Clock::now() + std::chrono::microseconds(dev.cluster().transport.rto_max_us);
  driver::Completion c[16];
  while (Clock::now() < end) {
    dev.wait(10);
    dev.poll(c, 16);
  }
}

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) {
  g_interrupted.store(true);
}
} // namespace

struct InterruptGuard::Saved {
  struct sigaction intr, term;
};

InterruptGuard::InterruptGuard() : saved_(new Saved) {
  g_interrupted.store(false);
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &saved_->intr);
  sigaction(SIGTERM, &sa, &saved_->term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &saved_->intr, nullptr);
  sigaction(SIGTERM, &saved_->term, nullptr);
}

bool InterruptGuard::interrupted() {
  return g_interrupted.load();
}

} // namespace xfer
} // namespace cli
} // namespace fanout
