// Shared by fuzz_dp_rx and fuzz_udp_rx: set inclusion and a small input reader.
#ifndef FANOUT_TESTS_FUZZ_RX_COMMON_HPP
#define FANOUT_TESTS_FUZZ_RX_COMMON_HPP

#include <cstddef>
#include <cstdint>

#include "fanout/proto/receiver_set.hpp"

namespace fanout_fuzz {

// Every id of `sub` is in `super` (both well formed: ascending, disjoint ranges).
template <uint32_t A, uint32_t B>
bool subset_of(const fanout::proto::BasicReceiverSet<A> &sub, const fanout::proto::BasicReceiverSet<B> &super) {
  uint32_t j = 0;
  for (uint32_t i = 0; i < sub.range_count(); i++) {
    const fanout::proto::IdRange &r = sub.range(i);
    while (j < super.range_count() && super.range(j).last < r.first) j++;
    if (j == super.range_count()) return false;
    const fanout::proto::IdRange &s = super.range(j);
    if (s.first > r.first || s.last < r.last) return false;
  }
  return true;
}

// Reads the harness's input bytes front to back; past the end every read gives 0.
class Reader {
 public:
  Reader(const uint8_t *data, size_t size) : p_(data), end_(data + size) {}
  size_t left() const { return (size_t)(end_ - p_); }
  uint8_t u8() { return p_ < end_ ? *p_++ : 0; }
  uint16_t be16() {
    uint16_t hi = u8();
    return (uint16_t)(hi << 8 | u8());
  }
  // Up to n bytes (fewer at the end of the input).
  const uint8_t *take(size_t n, size_t *got) {
    *got = n < left() ? n : left();
    const uint8_t *b = p_;
    p_ += *got;
    return b;
  }

 private:
  const uint8_t *p_;
  const uint8_t *end_;
};

} // namespace fanout_fuzz

#endif
