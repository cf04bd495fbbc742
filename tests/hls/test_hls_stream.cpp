// hls::stream as the shim models it: a bounded FIFO whose blocking misuse aborts.
#include "hls_stream.h"

#include "ap_int.h"

#include <gtest/gtest.h>

namespace {

#ifdef FANOUT_HLS_SHIM

TEST(HlsStream, FullAtDepthAndFifoOrder) {
  hls::stream<int, 4> s("s4");
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.full());
  EXPECT_EQ(s.capacity(), 4u);
  for (int i = 0; i < 4; i++) {
    EXPECT_FALSE(s.full()) << i;
    s.write(i);
    EXPECT_EQ(s.size(), (unsigned)i + 1);
  }
  EXPECT_TRUE(s.full());
  EXPECT_FALSE(s.write_nb(99)); // refused, and nothing changes
  EXPECT_EQ(s.size(), 4u);
  for (int i = 0; i < 4; i++) EXPECT_EQ(s.read(), i);
  EXPECT_TRUE(s.empty());
  int v = -1;
  EXPECT_FALSE(s.read_nb(v));
  EXPECT_EQ(v, -1);
}

TEST(HlsStream, DefaultDepthIsTwo) {
  hls::stream<ap_uint<512>> s;
  EXPECT_TRUE(s.write_nb(ap_uint<512>(1)));
  EXPECT_TRUE(s.write_nb(ap_uint<512>(2)));
  EXPECT_FALSE(s.write_nb(ap_uint<512>(3)));
  EXPECT_TRUE(s.full());
}

TEST(HlsStream, RingWrapsAround) {
  hls::stream<int, 3> s;
  int next_in = 0, next_out = 0;
  // Interleave writes and reads so head and tail pass the end of the ring many times, at
  // every fill level.
  for (int round = 0; round < 50; round++) {
    int w = 1 + round % 3, r = 1 + (round * 7) % 3;
    for (int i = 0; i < w && s.write_nb(next_in); i++) next_in++;
    for (int i = 0; i < r; i++) {
      int v;
      if (!s.read_nb(v)) break;
      ASSERT_EQ(v, next_out++);
    }
    ASSERT_EQ(s.size(), (unsigned)(next_in - next_out));
  }
  EXPECT_GT(next_out, 30);
}

TEST(HlsStream, OperatorsAndReadRef) {
  hls::stream<ap_uint<16>, 2> s;
  s << ap_uint<16>(7);
  s.write(8);
  ap_uint<16> a, b;
  s >> a;
  s.read(b);
  EXPECT_EQ(a, 7);
  EXPECT_EQ(b, 8);
}

TEST(HlsStreamDeathTest, WriteOnFullAborts) {
  hls::stream<int, 1> s("egress_q");
  s.write(1);
  EXPECT_DEATH(s.write(2), "hls::stream 'egress_q' \\(depth 1\\): write\\(\\) on a full stream");
}

TEST(HlsStreamDeathTest, ReadOnEmptyAborts) {
  hls::stream<int, 2> s("meta_in");
  EXPECT_DEATH(s.read(), "hls::stream 'meta_in' \\(depth 2\\): read\\(\\) on an empty stream");
  s.write(1);
  s.read();
  int v = 0;
  EXPECT_DEATH(s >> v, "read\\(\\) on an empty stream"); // empty again after a write and a read
}

#else
TEST(HlsStream, ShimOnly) {
  GTEST_SKIP() << "Vitis's hls::stream is unbounded in C simulation";
}
#endif

} // namespace
