// Counters written by the progress thread and read by Device::stats() from any thread: relaxed
// atomics with single-writer increments (a load and a store, no locked instruction).
#pragma once

#include "fanout/driver/stats.hpp"

#include <atomic>
#include <cstdint>

namespace fanout::driver {

struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void set(uint64_t n) { v.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

// Every DeviceStats field as a Counter; add_to() sums them into a snapshot.
struct Counters {
#define FANOUT_DRIVER_COUNTER_FIELD(name, doc) Counter name;
  FANOUT_DRIVER_STATS(FANOUT_DRIVER_COUNTER_FIELD)
#undef FANOUT_DRIVER_COUNTER_FIELD
  Counter malformed_by_reason[kMalformedReasons];

  void add_to(DeviceStats &s) const {
#define FANOUT_DRIVER_COUNTER_ADD(name, doc) s.name += name.get();
    FANOUT_DRIVER_STATS(FANOUT_DRIVER_COUNTER_ADD)
#undef FANOUT_DRIVER_COUNTER_ADD
    for (int i = 0; i < kMalformedReasons; i++) s.malformed_by_reason[i] += malformed_by_reason[i].get();
  }
};

} // namespace fanout::driver
