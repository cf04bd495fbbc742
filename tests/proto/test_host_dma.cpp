// Host <-> card buffers of the Alveo data movers (host_dma.hpp): byte layout, checks, codecs.
#include "fanout/proto/host_dma.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace {

using namespace fanout::proto;
using Bytes = std::vector<uint8_t>;

static_assert(kDmaBeatBytes == 64, "one 512-bit word");
static_assert(kDmaMaxFrameBeats == 141 && kDmaMaxSlotBeats == 142 && kC2hMinCapacityBeats == 143, "sizes");
static_assert(dma_frame_beats(14) == 1 && dma_frame_beats(64) == 1 && dma_frame_beats(65) == 2, "beats");
static_assert(dma_slot_beats(kMaxFrameBytes) == kDmaMaxSlotBeats, "a maximal slot");

TEST(HostDma, DescriptorLayoutIsLittleEndian) {
  uint8_t beat[64];
  std::memset(beat, 0xAA, sizeof beat);
  dma_encode_desc(DmaDesc{0x1234, 0x01, 0xFE}, beat);
  EXPECT_EQ(beat[0], 0x34);
  EXPECT_EQ(beat[1], 0x12);
  EXPECT_EQ(beat[2], 0x01);
  EXPECT_EQ(beat[3], 0xFE);
  for (int i = 4; i < 64; i++) ASSERT_EQ(beat[i], 0) << i;
  DmaDesc d = dma_decode_desc(beat);
  EXPECT_EQ(d.length, 0x1234);
  EXPECT_EQ(d.flags, 0x01);
  EXPECT_EQ(d.port, 0xFE);
}

TEST(HostDma, H2cDescriptorChecks) {
  auto check = [](uint32_t len, uint8_t flags, uint8_t port, int reserved_byte, uint32_t after) {
    uint8_t beat[64];
    dma_encode_desc(DmaDesc{(uint16_t)len, flags, port}, beat);
    if (reserved_byte >= 0) beat[reserved_byte] = 1;
    return h2c_check_desc(beat, after);
  };
  EXPECT_EQ(check(0, 0, 0, -1, 200), kDmaDescZeroLength);
  EXPECT_EQ(check(13, 0, 0, -1, 200), kDmaDescTooShort);
  EXPECT_EQ(check(14, 0, 0, -1, 1), kDmaDescOk);
  EXPECT_EQ(check(kMaxFrameBytes, 0, 0, -1, 141), kDmaDescOk);
  EXPECT_EQ(check(kMaxFrameBytes + 1, 0, 0, -1, 200), kDmaDescTooLong);
  EXPECT_EQ(check(0xFFFF, 0, 0, -1, 2000), kDmaDescTooLong);
  EXPECT_EQ(check(100, 1, 0, -1, 200), kDmaDescReserved);
  EXPECT_EQ(check(100, 0, 0xFE, -1, 200), kDmaDescReserved);
  for (int b = 4; b < 64; b++) EXPECT_EQ(check(100, 0, 0, b, 200), kDmaDescReserved) << b;
  // The slot must end within the buffer: 129 bytes are 3 data beats.
  EXPECT_EQ(check(129, 0, 0, -1, 3), kDmaDescOk);
  EXPECT_EQ(check(129, 0, 0, -1, 2), kDmaDescPastEnd);
  EXPECT_EQ(check(14, 0, 0, -1, 0), kDmaDescPastEnd);
}

TEST(HostDma, C2hDescriptorChecks) {
  auto check = [](uint32_t len, uint8_t flags, uint8_t port, uint32_t after) {
    uint8_t beat[64];
    dma_encode_desc(DmaDesc{(uint16_t)len, flags, port}, beat);
    return c2h_check_desc(beat, after);
  };
  EXPECT_EQ(check(1, 0, 3, 1), kDmaDescOk); // c2h carries whatever length the stream had
  EXPECT_EQ(check(60, kDmaFlagBadFrame, 0xFE, 1), kDmaDescOk);
  EXPECT_EQ(check(60, 0x02, 0, 1), kDmaDescReserved);
  EXPECT_EQ(check(0, 0, 0, 1), kDmaDescZeroLength);
  EXPECT_EQ(check(kMaxFrameBytes + 1, 0, 0, 200), kDmaDescTooLong);
  EXPECT_EQ(check(65, 0, 0, 1), kDmaDescPastEnd);
}

TEST(HostDma, WriteSlotAndWalk) {
  std::mt19937 rng(3);
  const uint32_t cap = 200; // 175 beats used below: no room for another maximal slot
  Bytes buf(cap * 64, 0xCC);
  std::vector<Bytes> frames;
  uint32_t at = 1;
  for (uint32_t len : {14u, 64u, 65u, 1500u, kMaxFrameBytes}) {
    Bytes f(len);
    for (uint8_t &b : f) b = (uint8_t)rng();
    uint32_t next = dma_write_slot(buf.data(), cap, at, f.data(), len, kDmaFlagBadFrame, (uint8_t)len);
    ASSERT_EQ(next, at + dma_slot_beats(len));
    // The data beats hold the frame in order, the rest of the last one 0.
    ASSERT_EQ(0, std::memcmp(&buf[(at + 1) * 64], f.data(), len));
    for (uint32_t i = len; i < dma_frame_beats(len) * 64; i++) ASSERT_EQ(buf[(at + 1) * 64 + i], 0);
    frames.push_back(f);
    at = next;
  }
  Bytes big(kMaxFrameBytes);
  EXPECT_EQ(dma_write_slot(buf.data(), cap, at, big.data(), kMaxFrameBytes), 0u) << "does not fit";
  EXPECT_EQ(dma_write_slot(buf.data(), cap, 1, big.data(), 0), 0u);
  EXPECT_EQ(dma_write_slot(buf.data(), cap, 1, big.data(), kMaxFrameBytes + 1), 0u);

  c2h_encode_header(C2hHeader{5, at, 2, 77, kC2hEndIdle}, buf.data());
  C2hHeader h{};
  ASSERT_TRUE(c2h_decode_header(buf.data(), &h));
  EXPECT_EQ(h.frames, 5u);
  EXPECT_EQ(h.beats_used, at);
  EXPECT_EQ(h.dropped, 2u);
  EXPECT_EQ(h.sequence, 77u);
  EXPECT_EQ(h.end_reason, kC2hEndIdle);
  uint32_t pos = 1;
  for (const Bytes &f : frames) {
    DmaDesc d{};
    uint32_t next = 0;
    ASSERT_EQ(c2h_read_slot(buf.data(), h.beats_used, pos, &d, &next), kDmaDescOk);
    ASSERT_EQ(d.length, f.size());
    EXPECT_EQ(d.flags, kDmaFlagBadFrame);
    EXPECT_EQ(d.port, (uint8_t)f.size());
    EXPECT_EQ(0, std::memcmp(&buf[(pos + 1) * 64], f.data(), f.size()));
    pos = next;
  }
  EXPECT_EQ(pos, h.beats_used);
  DmaDesc d{};
  uint32_t next = 0;
  EXPECT_EQ(c2h_read_slot(buf.data(), h.beats_used, pos, &d, &next), kDmaDescPastEnd);
}

TEST(HostDma, HeaderLayoutAndRejects) {
  uint8_t beat[64];
  c2h_encode_header(C2hHeader{0x01020304, 0x0A0B0C0D, 7, 9, kC2hEndCapacity}, beat);
  EXPECT_EQ(0, std::memcmp(beat, "FOC2", 4)) << "the magic reads FOC2 in a hex dump";
  EXPECT_EQ(beat[4], 0x04);
  EXPECT_EQ(beat[7], 0x01);
  EXPECT_EQ(beat[8], 0x0D);
  EXPECT_EQ(beat[12], 7);
  EXPECT_EQ(beat[16], 9);
  EXPECT_EQ(beat[20], kC2hEndCapacity);
  EXPECT_EQ(beat[21], kC2hVersion);
  for (int i = 22; i < 64; i++) ASSERT_EQ(beat[i], 0) << i;

  C2hHeader h{};
  auto decodes = [&](void (*mutate)(uint8_t *)) {
    uint8_t b[64];
    c2h_encode_header(C2hHeader{3, 100, 0, 1, kC2hEndIdle}, b);
    mutate(b);
    return c2h_decode_header(b, &h);
  };
  EXPECT_TRUE(decodes([](uint8_t *) {}));
  EXPECT_FALSE(decodes([](uint8_t *b) { b[0] ^= 1; }));               // magic
  EXPECT_FALSE(decodes([](uint8_t *b) { b[21] = 2; }));               // version
  EXPECT_FALSE(decodes([](uint8_t *b) { b[63] = 1; }));               // reserved
  EXPECT_FALSE(decodes([](uint8_t *b) { b[20] = 0; }));               // end reason
  EXPECT_FALSE(decodes([](uint8_t *b) { b[20] = 4; }));               // end reason
  EXPECT_FALSE(decodes([](uint8_t *b) { b[8] = 0; }));                // beats_used 0
  EXPECT_FALSE(decodes([](uint8_t *b) { dma_put_le32(b + 4, 50); })); // 50 frames in 99 beats
}

} // namespace
