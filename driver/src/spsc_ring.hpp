// A bounded single-producer single-consumer ring: the send, receive and completion queues between
// the application's threads and the progress thread. Slots are reused in place (a slot's vectors
// keep their capacity), so steady-state posting and polling allocate nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace fanout::driver {

template <class T> class SpscRing {
 public:
  explicit SpscRing(uint32_t capacity) {
    uint32_t n = 1;
    while (n < capacity) n <<= 1;
    slots_.resize(n);
    mask_ = n - 1;
  }

  // Producer: the free slot to fill, or nullptr when full; then commit().
  T *producer_slot() {
    uint64_t h = head_.load(std::memory_order_relaxed);
    if (h - tail_.load(std::memory_order_acquire) > mask_) return nullptr;
    return &slots_[h & mask_];
  }
  void commit() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  // Consumer: the oldest filled slot, or nullptr when empty; then release().
  T *consumer_slot() {
    uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t == head_.load(std::memory_order_acquire)) return nullptr;
    return &slots_[t & mask_];
  }
  void release() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  bool empty() const { return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire); }

 private:
  std::vector<T> slots_;
  uint64_t mask_ = 0;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

} // namespace fanout::driver
