// axis.hpp: the 512-bit beat type, its byte lanes, and the proto::Beat conversions.
#include "fanout/hls/axis.hpp"

#include "fanout/proto/beats.hpp"
#include "fanout/proto/wire.hpp"

#include <gtest/gtest.h>

#include <random>
#include <type_traits>
#include <vector>

namespace {

using fanout::hw::axis_data;
using fanout::hw::axis_word;
namespace proto = fanout::proto;
namespace hw = fanout::hw;

template <class T> constexpr int width_of() {
  return T::width;
}

TEST(ApAxiu, FieldWidths) {
  axis_word w;
  static_assert(width_of<decltype(w.data)>() == 512, "tdata");
  static_assert(width_of<decltype(w.keep)>() == 64, "tkeep: one bit per byte");
  static_assert(width_of<decltype(w.strb)>() == 64, "tstrb: one bit per byte");
  static_assert(width_of<decltype(w.user)>() == 16, "tuser");
  static_assert(width_of<decltype(w.last)>() == 1, "tlast");
  static_assert(width_of<decltype(w.dest)>() == 8, "tdest");
#ifdef FANOUT_HLS_SHIM
  static_assert(std::is_empty<decltype(w.id)>::value, "tid has width 0: no signal");
  ap_axiu<32, 0, 0, 0> narrow;
  static_assert(width_of<decltype(narrow.keep)>() == 4, "tkeep of 32-bit data");
  static_assert(std::is_empty<decltype(narrow.user)>::value && std::is_empty<decltype(narrow.dest)>::value,
                "zero-width sideband");
  ap_axiu<12, 3, 2, 1> odd;
  static_assert(width_of<decltype(odd.keep)>() == 2, "tkeep rounds up to whole bytes");
  static_assert(width_of<decltype(odd.id)>() == 2 && width_of<decltype(odd.user)>() == 3, "tid/tuser");
  (void)narrow;
  (void)odd;
#endif
  // The widths are also what the values hold: all-ones reads back with the right bit count.
  w.user = ~ap_uint<16>(0);
  w.dest = 0x1FF; // 9 bits into 8
  EXPECT_EQ(w.user, 0xFFFF);
  EXPECT_EQ(w.dest, 0xFF);
}

TEST(Axis, ByteLanes) {
  axis_data d = 0;
  for (unsigned i = 0; i < 64; i++) hw::set_byte(d, i, (uint8_t)(i * 3 + 1));
  for (unsigned i = 0; i < 64; i++) {
    EXPECT_EQ(hw::byte(d, i), (uint8_t)(i * 3 + 1)) << i;
    // Byte i is tdata bits [8i+7 : 8i].
    for (int b = 0; b < 8; b++) EXPECT_EQ((bool)d[8 * i + b], (((i * 3 + 1) >> b) & 1) != 0) << i << ":" << b;
  }
  hw::set_byte(d, 5, 0);
  EXPECT_EQ(hw::byte(d, 5), 0);
  EXPECT_EQ(hw::byte(d, 4), 13); // neighbours untouched
  EXPECT_EQ(hw::byte(d, 6), 19);
}

TEST(Axis, KeepFor) {
  EXPECT_EQ(hw::keep_for(0), 0);
  EXPECT_EQ(hw::keep_for(1), 1);
  EXPECT_EQ(hw::keep_for(8), 0xFF);
  EXPECT_EQ(hw::keep_for(63).to_uint64(), 0x7FFFFFFFFFFFFFFFull);
  EXPECT_EQ(hw::keep_for(64).to_uint64(), ~0ull);
  EXPECT_EQ(hw::keep_for(65).to_uint64(), ~0ull);
  for (unsigned n = 0; n <= 64; n++) EXPECT_EQ(hw::keep_for(n).to_uint64(), proto::keep_mask(n)) << n;
}

// Big-endian fields at proto/'s offsets read the same as proto::load_be16/32 on the bytes.
TEST(Axis, BigEndianFieldsUseProtoOffsets) {
  std::vector<uint8_t> frame(64);
  for (unsigned i = 0; i < 64; i++) frame[i] = (uint8_t)(0xA0 + i);
  proto::Beat b;
  ASSERT_EQ(proto::frame_to_beats(frame.data(), 64, &b, 1), 1u);
  axis_word w = hw::from_beat(b);
  EXPECT_EQ(hw::get_be16(w.data, proto::kEthTypeOff), proto::load_be16(&frame[proto::kEthTypeOff]));
  EXPECT_EQ(hw::get_be32(w.data, proto::kIpSrcOff), proto::load_be32(&frame[proto::kIpSrcOff]));
  const uint32_t seq_off = proto::kFanoutOffset + proto::kFoSequenceOff;
  EXPECT_EQ(hw::get_be32(w.data, seq_off), proto::load_be32(&frame[seq_off]));
  hw::set_be32(w.data, seq_off, 0x01020304u);
  hw::set_be16(w.data, proto::kUdpDstPortOff, proto::kDefaultUdpPort);
  proto::Beat back = hw::to_beat(w);
  EXPECT_EQ(proto::load_be32(&back.data[seq_off]), 0x01020304u);
  EXPECT_EQ(proto::load_be16(&back.data[proto::kUdpDstPortOff]), proto::kDefaultUdpPort);
  EXPECT_EQ(back.data[seq_off - 1], frame[seq_off - 1]);
  EXPECT_EQ(back.data[seq_off + 4], frame[seq_off + 4]);
}

TEST(Axis, FrameRoundTripThroughAxisWords) {
  std::mt19937 rng(300);
  for (uint32_t len = 1; len <= 300; len++) {
    std::vector<uint8_t> frame(len);
    for (auto &v : frame) v = (uint8_t)rng();
    const uint32_t cap = proto::beats_for(len);
    std::vector<proto::Beat> beats(cap), back(cap);
    ASSERT_EQ(proto::frame_to_beats(frame.data(), len, beats.data(), cap), cap);
    std::vector<axis_word> words;
    for (uint32_t i = 0; i < cap; i++) words.push_back(hw::from_beat(beats[i], (uint8_t)(i + 1), len));
    for (uint32_t i = 0; i < cap; i++) {
      const axis_word &w = words[i];
      ASSERT_EQ(w.last == 1, i + 1 == cap) << len;
      ASSERT_EQ(w.keep, w.strb);
      ASSERT_EQ(w.keep.to_uint64(), proto::keep_mask(i + 1 == cap ? len - 64 * i : 64)) << len << " beat " << i;
      ASSERT_EQ(w.dest, i + 1);
      ASSERT_EQ(w.user, len);
      ASSERT_EQ(hw::byte(w.data, 0), frame[64 * i]);
      back[i] = hw::to_beat(w);
    }
    std::vector<uint8_t> out(len + 64, 0xEE);
    ASSERT_EQ(proto::beats_to_frame(back.data(), cap, out.data(), (uint32_t)out.size()), len);
    ASSERT_TRUE(std::equal(frame.begin(), frame.end(), out.begin())) << "length " << len;
  }
}

} // namespace
