#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "fanout/sim/link.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "fanout/sim/pcap.hpp"

namespace fanout {
namespace sim {

using sc_core::sc_time;

namespace {
[[noreturn]] void bad(const std::string &field, const std::string &why) {
  throw std::invalid_argument("LinkConfig." + field + ": " + why);
}
std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
} // namespace

void validate(const LinkConfig &c) {
  if (!(c.gbps > 0) || !std::isfinite(c.gbps)) bad("gbps", "must be a finite number > 0 (got " + num(c.gbps) + ")");
  if (!(c.loss >= 0 && c.loss <= 1)) bad("loss", "must be a probability in [0, 1] (got " + num(c.loss) + ")");
  if (!(c.corrupt >= 0 && c.corrupt <= 1))
    bad("corrupt", "must be a probability in [0, 1] (got " + num(c.corrupt) + ")");
  for (size_t i = 1; i < c.schedule.size(); i++) {
    if (c.schedule[i].first < c.schedule[i - 1].first) {
      bad("schedule", "must be sorted by time: entry " + std::to_string(i) + " (" + c.schedule[i].first.to_string() +
                          ") is before entry " + std::to_string(i - 1) + " (" + c.schedule[i - 1].first.to_string() +
                          ")");
    }
  }
}

Link::Link(sc_core::sc_module_name name, const LinkConfig &config) : sc_core::sc_module(name), cfg_(config) {
  validate(cfg_);
  // Down periods from the schedule: the link starts up; repeated states are no-ops.
  bool is_up = true;
  sc_time down_since;
  for (const auto &change : cfg_.schedule) {
    if (is_up && !change.second) {
      down_since = change.first;
    } else if (!is_up && change.second && change.first > down_since) {
      down_.emplace_back(down_since, change.first);
    }
    is_up = change.second;
  }
  if (!is_up) down_.emplace_back(down_since, sc_core::sc_max_time());
  for (int s = 0; s < 2; s++) {
    // Independent, deterministic streams per direction (splitmix-style distinct seeds).
    dir_[s].rng.seed(cfg_.seed * 0x9E3779B97F4A7C15ull + (uint64_t)s * 0xBF58476D1CE4E5B9ull + 1);
    sc_core::sc_spawn_options opt;
    opt.spawn_method();
    opt.dont_initialize();
    opt.set_sensitivity(&dir_[s].arrive);
    sc_core::sc_spawn([this, s] { deliver(s); }, sc_core::sc_gen_unique_name(s == 0 ? "deliver_0to1" : "deliver_1to0"),
                      &opt);
  }
}

int Link::check(int side) {
  if (side != 0 && side != 1) throw std::out_of_range("Link: side must be 0 or 1 (got " + std::to_string(side) + ")");
  return side;
}

void Link::attach(int side, FrameSink *sink) {
  // Frames sent from side s go to the sink attached to the other side.
  dir_[1 - check(side)].sink = sink;
}

bool Link::busy(int side) const {
  return sc_core::sc_time_stamp() < dir_[check(side)].busy_until;
}

sc_time Link::serialization(uint32_t bytes) const {
  double ps = ((double)bytes + cfg_.overhead_bytes) * 8.0 * 1000.0 / cfg_.gbps;
  return sc_time(ps, sc_core::SC_PS); // rounded to the time resolution
}

bool Link::up() const {
  sc_time now = sc_core::sc_time_stamp();
  for (const auto &d : down_) {
    if (now >= d.first && now < d.second) return false;
  }
  return true;
}

double Link::utilization(int side) const {
  double elapsed = sc_core::sc_time_stamp().to_seconds();
  if (elapsed <= 0) return 0;
  // A transmission still in progress counts only up to now.
  const Direction &d = dir_[check(side)];
  double busy = d.stats.busy.to_seconds();
  if (d.busy_until > sc_core::sc_time_stamp()) busy -= (d.busy_until - sc_core::sc_time_stamp()).to_seconds();
  return busy / elapsed;
}

void Link::set_loss(double p) {
  if (!(p >= 0 && p <= 1)) bad("loss", "must be a probability in [0, 1] (got " + num(p) + ")");
  cfg_.loss = p;
}

void Link::set_corrupt(double p) {
  if (!(p >= 0 && p <= 1)) bad("corrupt", "must be a probability in [0, 1] (got " + num(p) + ")");
  cfg_.corrupt = p;
}

double Link::uniform(std::mt19937_64 &rng) {
  return (double)(rng() >> 11) * (1.0 / 9007199254740992.0); // [0, 1), 53 bits
}

bool Link::down_during(sc_time from, sc_time to) const {
  for (const auto &d : down_) {
    if (d.first < to && d.second > from) return true;
  }
  return false;
}

bool Link::send(int side, Frame f) {
  Direction &d = dir_[check(side)];
  sc_time now = sc_core::sc_time_stamp();
  if (now < d.busy_until) return false;
  sc_time ser = serialization((uint32_t)f.bytes.size());
  d.busy_until = now + ser;
  d.ready.notify(ser);
  d.stats.frames++;
  d.stats.bytes += f.bytes.size();
  d.stats.busy += ser;
  if (d.pcap) d.pcap->write(f, now);

  // Fixed draws per frame: loss, corruption, bit position.
  double u_loss = uniform(d.rng), u_corrupt = uniform(d.rng);
  uint64_t bit_draw = d.rng();
  sc_time arrival = d.busy_until + cfg_.delay;
  if (down_during(now, arrival)) {
    d.stats.dropped_down++;
    return true;
  }
  if (u_loss < cfg_.loss) {
    d.stats.lost++;
    return true;
  }
  if (u_corrupt < cfg_.corrupt && !f.bytes.empty()) {
    uint64_t bit = bit_draw % (f.bytes.size() * 8);
    f.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    f.fcs_bad = true; // the FCS (not carried in Frame) no longer matches
    d.stats.corrupted++;
  }
  bool was_empty = d.in_flight.empty();
  d.in_flight.push_back(InFlight{arrival, std::move(f)});
  if (was_empty) d.arrive.notify(arrival - now);
  return true;
}

void Link::deliver(int from_side) {
  Direction &d = dir_[from_side];
  sc_time now = sc_core::sc_time_stamp();
  while (!d.in_flight.empty() && d.in_flight.front().arrival <= now) {
    Frame f = std::move(d.in_flight.front().frame);
    d.in_flight.pop_front();
    d.stats.delivered++;
    if (d.sink) d.sink->receive(std::move(f));
  }
  if (!d.in_flight.empty()) d.arrive.notify(d.in_flight.front().arrival - now);
}

void connect_switch_port(const sc_core::sc_module &owner, uint32_t p, Link &link, int side, FrameSink *ingress,
                         Link **port_link, const sc_core::sc_event &heartbeat_event, std::function<void()> pump,
                         std::function<void()> heartbeat) {
  std::string who = owner.name();
  if (*port_link) throw std::logic_error(who + ": port " + std::to_string(p) + " is already connected");
  if (sc_core::sc_get_status() != sc_core::SC_ELABORATION &&
      sc_core::sc_get_status() != sc_core::SC_BEFORE_END_OF_ELABORATION) {
    throw std::logic_error(who + ": connect() must be called before sc_start");
  }
  if (side != 0 && side != 1) throw std::out_of_range(who + ": connect: side must be 0 or 1");
  *port_link = &link;
  link.attach(side, ingress);
  sc_core::sc_spawn_options egress;
  egress.spawn_method();
  egress.dont_initialize();
  egress.set_sensitivity(&link.ready_event(side));
  std::string n = std::string(owner.basename()) + "_egress_" + std::to_string(p);
  sc_core::sc_spawn(std::move(pump), n.c_str(), &egress);
  sc_core::sc_spawn_options hb;
  hb.spawn_method();
  hb.dont_initialize();
  hb.set_sensitivity(&heartbeat_event);
  n = std::string(owner.basename()) + "_heartbeat_" + std::to_string(p);
  sc_core::sc_spawn(std::move(heartbeat), n.c_str(), &hb);
}

} // namespace sim
} // namespace fanout
