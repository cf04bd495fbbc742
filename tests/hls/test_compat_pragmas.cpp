// FANOUT_HLS_PRAGMA with pragmas switched on, as synthesis sees them: this file only builds if
// the macro expands to well-formed _Pragma operators, including from inside another macro.
// (The host compiler ignores the unknown "HLS" pragmas; -Wno-unknown-pragmas on this file.)
#define FANOUT_HLS_EMIT_PRAGMAS 1
#include "fanout/hls/compat.hpp"

#include <gtest/gtest.h>

#define SUM_LOOP(n, acc)                                                                                               \
  for (int i_ = 0; i_ < (n); i_++) {                                                                                   \
    FANOUT_HLS_PRAGMA(HLS UNROLL factor = 2)                                                                           \
    acc += i_;                                                                                                         \
  }

namespace {
int pipelined_sum(int n) {
  FANOUT_HLS_PRAGMA(HLS INLINE off)
  int acc = 0;
  SUM_LOOP(n, acc)
  return acc;
}
} // namespace

TEST(Compat, PragmaMacroExpandsInsideMacros) {
  EXPECT_EQ(pipelined_sum(10), 45);
}
