// Helpers shared by the HLS kernels' tests (tests/hls/<kernel>/): frames signed as their origin
// signs them, and the bytes a kernel's output words carry.
#ifndef FANOUT_TESTS_HLS_TEST_UTIL_HPP
#define FANOUT_TESTS_HLS_TEST_UTIL_HPP

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "fanout/hls/axis.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/beats.hpp"

namespace fanout {
namespace test {

// f signed with `key` and `counter` (proto::auth_append: AUTH set, trailer appended, lengths and
// checksums fixed).
inline std::vector<uint8_t> signed_frame(std::vector<uint8_t> f, uint32_t counter, const uint8_t key[16]) {
  size_t n = f.size();
  f.resize(n + proto::kAuthTrailerBytes);
  uint32_t len = 0;
  EXPECT_TRUE(proto::auth_append(f.data(), (uint32_t)n, (uint32_t)f.size(), key, counter, &len));
  f.resize(len);
  return f;
}

// The frame bytes that words carry (the valid bytes of each beat, in order).
inline std::vector<uint8_t> frame_bytes(const std::vector<hw::axis_word> &words) {
  std::vector<uint8_t> f;
  for (const hw::axis_word &w : words) {
    proto::Beat b = hw::to_beat(w);
    for (uint32_t i = 0; i < proto::kBeatBytes; i++)
      if ((b.keep >> i) & 1) f.push_back(b.data[i]);
  }
  return f;
}

} // namespace test
} // namespace fanout

#endif
