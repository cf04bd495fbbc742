// Frames as 512-bit AXI-Stream beats (beats.hpp).
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

using namespace fanout::proto;

using Bytes = std::vector<uint8_t>;

Bytes random_frame(uint32_t len, std::mt19937 &rng) {
  Bytes f(len);
  for (uint8_t &b : f) b = (uint8_t)rng();
  return f;
}

std::vector<Beat> to_beats(const Bytes &frame) {
  std::vector<Beat> beats(beats_for((uint32_t)frame.size()));
  const uint32_t n = frame_to_beats(frame.data(), (uint32_t)frame.size(), beats.data(), (uint32_t)beats.size());
  EXPECT_EQ(n, beats.size());
  return beats;
}

// Joins into an exact-size buffer; returns the frame bytes (empty when rejected).
Bytes join(const std::vector<Beat> &beats, uint32_t cap) {
  Bytes out(cap);
  const uint32_t len = beats_to_frame(beats.data(), (uint32_t)beats.size(), out.data(), cap);
  out.resize(len);
  return out;
}

void check_round_trip(uint32_t len, std::mt19937 &rng) {
  const Bytes frame = random_frame(len, rng);
  const std::vector<Beat> beats = to_beats(frame);
  ASSERT_EQ(beats.size(), (len + 63) / 64) << len;
  for (uint32_t b = 0; b < beats.size(); b++) {
    const bool final_beat = b + 1 == beats.size();
    const uint32_t valid = final_beat ? len - 64 * b : 64;
    ASSERT_EQ(beats[b].last, final_beat) << len;
    ASSERT_EQ(beats[b].keep, valid == 64 ? ~0ull : (1ull << valid) - 1) << len << " beat " << b;
    for (uint32_t i = 0; i < 64; i++) {
      // Byte i of beat b is frame byte 64b + i; lanes past the end are zero.
      const uint8_t expected = i < valid ? frame[64 * b + i] : 0;
      ASSERT_EQ(beats[b].data[i], expected) << len << " beat " << b << " byte " << i;
    }
  }
  ASSERT_EQ(join(beats, len), frame) << len;
}

TEST(Beats, RoundTripEveryShortLength) {
  std::mt19937 rng(7);
  for (uint32_t len = 1; len <= 300; len++) check_round_trip(len, rng);
}

TEST(Beats, RoundTripLongFrames) {
  std::mt19937 rng(8);
  for (uint32_t len : {511u, 512u, 513u, 1500u, 1514u, 4096u, 8999u, 9000u, 9013u, kMaxFrameBytes})
    check_round_trip(len, rng);
}

TEST(Beats, KeepMaskAndBeatCount) {
  EXPECT_EQ(keep_mask(0), 0u);
  EXPECT_EQ(keep_mask(1), 0x1u);
  EXPECT_EQ(keep_mask(8), 0xFFu);
  EXPECT_EQ(keep_mask(63), 0x7FFFFFFFFFFFFFFFull);
  EXPECT_EQ(keep_mask(64), ~0ull);
  EXPECT_EQ(beats_for(1), 1u);
  EXPECT_EQ(beats_for(64), 1u);
  EXPECT_EQ(beats_for(65), 2u);
  EXPECT_EQ(beats_for(kMaxFrameBytes), 141u);
}

TEST(Beats, FanoutHeaderFillsBeatZeroAndTheSetStartsBeatOne) {
  NetHeaders net{};
  net.ip_ttl = 64;
  net.udp_dst_port = kDefaultUdpPort;
  ReceiverSet set;
  ASSERT_TRUE(set.append(0xABCD));
  FanoutHeader h = make_header(kTypeData, 0x1234, 0x5678, 0xCAFEF00D, 0, 3);
  h.flags = kFlagLast;
  const uint8_t payload[3] = {0xE1, 0xE2, 0xE3};
  BuildOptions opt = default_build_options();
  opt.encoding = kSetList;
  Bytes frame(256);
  uint32_t len = 0;
  ASSERT_EQ(build_frame(net, h, set, payload, 3, opt, frame.data(), (uint32_t)frame.size(), &len), kOk);
  frame.resize(len);
  const std::vector<Beat> beats = to_beats(frame);
  ASSERT_EQ(beats.size(), 2u);

  EXPECT_EQ(beats[0].keep, ~0ull);
  EXPECT_FALSE(beats[0].last);
  // Fanout header at beat 0 bytes 42..63.
  EXPECT_EQ(beats[0].data[42], (kProtocolVersion << 4) | kTypeData);
  EXPECT_EQ(beats[0].data[43], kFlagLast);
  EXPECT_EQ(beats[0].data[44], kSetList);
  EXPECT_EQ(load_be16(&beats[0].data[46]), 2);
  EXPECT_EQ(load_be16(&beats[0].data[48]), 0x1234);
  EXPECT_EQ(load_be16(&beats[0].data[50]), 0x5678);
  EXPECT_EQ(load_be32(&beats[0].data[52]), 0xCAFEF00Du);
  EXPECT_EQ(load_be32(&beats[0].data[60]), 3u); // last field ends on the beat's last byte
  const FanoutHeader read = read_fanout_header(&beats[0].data[kFanoutOffset]);
  EXPECT_EQ(read.message_id, 0xCAFEF00Du);
  // Receiver set at beat 1 byte 0, payload right after it.
  EXPECT_EQ(beats[1].data[0], 0xAB);
  EXPECT_EQ(beats[1].data[1], 0xCD);
  EXPECT_EQ(beats[1].data[2], 0xE1);
  EXPECT_EQ(beats[1].data[4], 0xE3);
  EXPECT_EQ(beats[1].keep, 0x1Full);
  EXPECT_TRUE(beats[1].last);
}

TEST(Beats, FrameToBeatsNeedsRoomAndBytes) {
  std::mt19937 rng(9);
  const Bytes frame = random_frame(129, rng); // 3 beats
  std::vector<Beat> beats(3);
  EXPECT_EQ(frame_to_beats(frame.data(), 129, beats.data(), 2), 0u);
  EXPECT_EQ(frame_to_beats(frame.data(), 129, beats.data(), 3), 3u);
  EXPECT_EQ(frame_to_beats(frame.data(), 0, beats.data(), 3), 0u);
}

class BeatsReject : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(10);
    frame_ = random_frame(150, rng); // beats of 64, 64, 22 bytes
    beats_ = to_beats(frame_);
    ASSERT_EQ(join(beats_, 150), frame_); // the unmutated beats are accepted
  }
  Bytes frame_;
  std::vector<Beat> beats_;
};

TEST_F(BeatsReject, NoTlast) {
  beats_[2].last = false;
  EXPECT_TRUE(join(beats_, 150).empty());
}

TEST_F(BeatsReject, TlastEarly) {
  beats_[1].last = true;
  EXPECT_TRUE(join(beats_, 150).empty());
}

TEST_F(BeatsReject, NonContiguousKeep) {
  beats_[2].keep = 0x3FFFFD; // 22 bytes with a hole at byte 1
  EXPECT_TRUE(join(beats_, 150).empty());
  beats_[2].keep = 0x3FFFFE; // 21 bytes not starting at lane 0
  EXPECT_TRUE(join(beats_, 150).empty());
}

TEST_F(BeatsReject, KeepZero) {
  beats_[2].keep = 0;
  EXPECT_TRUE(join(beats_, 150).empty());
}

TEST_F(BeatsReject, ShortNonFinalBeat) {
  beats_[1].keep = keep_mask(63);
  EXPECT_TRUE(join(beats_, 150).empty());
}

TEST_F(BeatsReject, CapTooSmall) {
  EXPECT_TRUE(join(beats_, 149).empty());
  EXPECT_TRUE(join(beats_, 64).empty());
}

} // namespace
