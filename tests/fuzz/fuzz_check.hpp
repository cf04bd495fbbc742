// Shared by the fuzz harnesses: property checks that stop the run where libFuzzer (and the
// replay driver) can see it.
#ifndef FANOUT_TESTS_FUZZ_CHECK_HPP
#define FANOUT_TESTS_FUZZ_CHECK_HPP

#include <cstdio>

#include "fanout/proto/receiver_set.hpp"

namespace fanout_fuzz {

// Name the property before trapping: a bare trap in a crash report says nothing about which
// invariant broke, and the replay build has no libFuzzer stack printer.
[[noreturn]] inline void fail(const char *what, const char *file, int line) {
  std::fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
  std::fflush(stderr);
  __builtin_trap();
}

// A decoded set must be well-formed whatever the bytes were: ranges ascending, disjoint and not
// touching (append_range merges touching ones), and size() the sum of the range widths.
template <uint32_t M> bool set_well_formed(const fanout::proto::BasicReceiverSet<M> &s) {
  if (s.range_count() > M) return false;
  uint32_t count = 0;
  for (uint32_t r = 0; r < s.range_count(); r++) {
    const fanout::proto::IdRange &x = s.range(r);
    if (x.first > x.last) return false;
    if (r > 0 && (uint32_t)x.first <= (uint32_t)s.range(r - 1).last + 1) return false;
    count += (uint32_t)x.last - x.first + 1;
  }
  return count == s.size() && (s.range_count() == 0) == s.empty();
}

} // namespace fanout_fuzz

#define FUZZ_CHECK(cond)                                                                                               \
  do {                                                                                                                 \
    if (!(cond)) ::fanout_fuzz::fail(#cond, __FILE__, __LINE__);                                                       \
  } while (0)

#endif
