// The host <-> card buffer beats (proto/host_dma.hpp) as the data movers (hls/h2c, hls/c2h) see
// them: one 512-bit m_axi word per beat, byte i of the beat in bits [8i+7 : 8i] (the stream's
// byte lanes, axis.hpp). Fields are little-endian, so a field of n bytes at byte `off` is simply
// bits [8 off + 8n - 1 : 8 off]. Every offset and rule comes from proto/host_dma.hpp.
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_DMA_BEAT_HPP
#define FANOUT_HLS_DMA_BEAT_HPP

#include <stdint.h>

#include "ap_int.h"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/compat.hpp"
#include "fanout/proto/host_dma.hpp"

namespace fanout {
namespace hw {

// The m_axi word of the data movers: one beat of a host buffer.
typedef ap_uint<8 * proto::kDmaBeatBytes> dma_word;
static_assert(8 * proto::kDmaBeatBytes == (uint32_t)kAxisDataBits, "a buffer beat is one stream beat's tdata");

// A descriptor's fields in a beat.
inline uint32_t dma_desc_length(const dma_word &w) {
  return w.range(8 * proto::kDmaDescLengthOff + 15, 8 * proto::kDmaDescLengthOff).to_uint();
}
inline uint8_t dma_desc_flags(const dma_word &w) {
  return (uint8_t)w.range(8 * proto::kDmaDescFlagsOff + 7, 8 * proto::kDmaDescFlagsOff).to_uint();
}
inline uint8_t dma_desc_port(const dma_word &w) {
  return (uint8_t)w.range(8 * proto::kDmaDescPortOff + 7, 8 * proto::kDmaDescPortOff).to_uint();
}
// Bytes kDmaDescUsedBytes..63 are all 0.
inline bool dma_desc_reserved_zero(const dma_word &w) {
  return w.range(8 * proto::kDmaBeatBytes - 1, 8 * proto::kDmaDescUsedBytes) == 0;
}

inline dma_word dma_desc_word(uint32_t length, uint8_t flags, uint8_t port) {
  dma_word w = 0;
  w.range(8 * proto::kDmaDescLengthOff + 15, 8 * proto::kDmaDescLengthOff) = (uint16_t)length;
  w.range(8 * proto::kDmaDescFlagsOff + 7, 8 * proto::kDmaDescFlagsOff) = flags;
  w.range(8 * proto::kDmaDescPortOff + 7, 8 * proto::kDmaDescPortOff) = port;
  return w;
}

inline dma_word c2h_header_word(uint32_t frames, uint32_t beats_used, uint32_t dropped, uint32_t sequence,
                                uint8_t end_reason) {
  dma_word w = 0;
  w.range(8 * proto::kC2hHdrMagicOff + 31, 8 * proto::kC2hHdrMagicOff) = proto::kC2hMagic;
  w.range(8 * proto::kC2hHdrFramesOff + 31, 8 * proto::kC2hHdrFramesOff) = frames;
  w.range(8 * proto::kC2hHdrBeatsUsedOff + 31, 8 * proto::kC2hHdrBeatsUsedOff) = beats_used;
  w.range(8 * proto::kC2hHdrDroppedOff + 31, 8 * proto::kC2hHdrDroppedOff) = dropped;
  w.range(8 * proto::kC2hHdrSequenceOff + 31, 8 * proto::kC2hHdrSequenceOff) = sequence;
  w.range(8 * proto::kC2hHdrEndReasonOff + 7, 8 * proto::kC2hHdrEndReasonOff) = end_reason;
  w.range(8 * proto::kC2hHdrVersionOff + 7, 8 * proto::kC2hHdrVersionOff) = proto::kC2hVersion;
  return w;
}

// w with bytes nbytes..63 cleared (nbytes >= 64 keeps all): the last beat of a frame, so that no
// byte past the frame's end leaves the kernel. 64 byte compares and an AND in hardware.
inline dma_word dma_keep_bytes(const dma_word &w, uint32_t nbytes) {
  dma_word m = 0;
  for (uint32_t i = 0; i < proto::kDmaBeatBytes; i++) {
    FANOUT_HLS_PRAGMA(HLS UNROLL)
    if (i < nbytes) m.range(8 * i + 7, 8 * i) = 0xFF;
  }
  return w & m;
}

// Valid bytes of a frame's last beat (1..64) for a frame of len >= 1 bytes.
inline uint32_t dma_last_beat_bytes(uint32_t len) {
  return len - (proto::dma_frame_beats(len) - 1) * proto::kDmaBeatBytes;
}

} // namespace hw
} // namespace fanout

#endif
