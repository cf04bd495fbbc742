// Host <-> card frame buffers of the Alveo data movers (hls/h2c, hls/c2h): the layout the host
// driver writes and reads in card memory (xrt::bo) and the kernels read and write over m_axi.
//
// A buffer is a sequence of 64-byte beats (one 512-bit m_axi word each; beat b occupies bytes
// 64b..64b+63 of the buffer). Multi-byte fields in descriptor and header beats are LITTLE-endian
// (the host's and the AXI bus's order), unlike the frames themselves (network order, wire.hpp).
//
// Frame slot (both directions): one descriptor beat, then dma_frame_beats(length) data beats
// holding the frame's bytes in order: frame byte 64k + i is byte i of data beat k, the byte that
// sits in tdata bits [8i+7 : 8i] on AXI-Stream (proto/beats.hpp, hls/common/.../axis.hpp), so a
// data beat is exactly one stream beat's tdata. Bytes past the frame's end in its last data beat
// are 0 (the kernels write them 0 and ignore them on read).
//
//   descriptor beat   byte 0-1  length   uint16, frame bytes without FCS
//                     byte 2    flags    h2c: 0 (reserved); c2h: kDmaFlagBadFrame (tuser bit 8)
//                     byte 3    port     h2c: 0 (reserved); c2h: ingress port (tuser bits 7:0)
//                     byte 4-63 0        (reserved)
//
// Host to card (fanout_h2c): slots back to back from beat 0, the run told how many beats to read.
// A descriptor is valid when h2c_desc_check() says kDmaDescOk: length 14..kMaxFrameBytes (an
// Ethernet header at least; the kernel does not pad to 60), flags, port and bytes 4-63 all 0, and
// the slot ends within the beats given. The kernel stops at the first invalid one (nothing of
// that frame or after it goes out).
//
// Card to host (fanout_c2h): beat 0 is the header, written last, then slots back to back:
//
//   header beat       byte 0-3   magic       kC2hMagic: the bytes 'F' 'O' 'C' '2'
//                     byte 4-7   frames      frames written after the header
//                     byte 8-11  beats_used  beats written, the header included
//                                            (1 + the sum of the slots' dma_slot_beats)
//                     byte 12-15 dropped     frames consumed and not written: longer than
//                                            kMaxFrameBytes, or empty (a lone tlast with no byte)
//                     byte 16-19 sequence    the kernel's run number since the bitstream was
//                                            loaded, 1 first (a stale buffer has an old one)
//                     byte 20    end_reason  C2hEndReason: why the run returned
//                     byte 21    version     kC2hVersion
//                     byte 22-63 0           (reserved)
//
// A run never splits a frame and never starts one it could not finish in the space left: it
// starts a frame only while capacity - beats_used >= kDmaMaxSlotBeats (descriptor + the longest
// frame), so a frame that does not fit stays in the stream for the next run.
//
// Helpers work on plain uint8_t arrays so the host driver and the kernels' tests use the same
// code; the kernels use the offsets and the field checks (h2c_desc_check) on their 512-bit words.
//
// C++14, synthesizable subset (fixed-width types, bounded loops, no allocation).
#ifndef FANOUT_PROTO_HOST_DMA_HPP
#define FANOUT_PROTO_HOST_DMA_HPP

#include <stdint.h>

#include "fanout/proto/wire.hpp"

namespace fanout {
namespace proto {

// ---- Sizes ---------------------------------------------------------------------------------
static const uint32_t kDmaBeatBytes = kBeatBytes;          // 64: one 512-bit m_axi word
static const uint32_t kDmaMinFrameBytes = kEthHeaderBytes; // 14: what h2c accepts at least
static const uint32_t kDmaMaxFrameBytes = kMaxFrameBytes;  // 9,014
static const uint32_t kDmaMaxFrameBeats = (kDmaMaxFrameBytes + kDmaBeatBytes - 1) / kDmaBeatBytes; // 141
static const uint32_t kDmaMaxSlotBeats = 1 + kDmaMaxFrameBeats; // 142: descriptor + longest frame
// The smallest c2h buffer that can hold a frame: the header and one maximal slot (143 beats).
static const uint32_t kC2hMinCapacityBeats = 1 + kDmaMaxSlotBeats;

// Data beats of a frame of len bytes.
constexpr uint32_t dma_frame_beats(uint32_t len) {
  return (len + kDmaBeatBytes - 1) / kDmaBeatBytes;
}
// Beats of its slot: the descriptor and the data.
constexpr uint32_t dma_slot_beats(uint32_t len) {
  return 1 + dma_frame_beats(len);
}

// ---- Descriptor beat -----------------------------------------------------------------------
static const uint32_t kDmaDescLengthOff = 0; // uint16, little-endian
static const uint32_t kDmaDescFlagsOff = 2;  // uint8
static const uint32_t kDmaDescPortOff = 3;   // uint8
static const uint32_t kDmaDescUsedBytes = 4; // bytes 4..63 are reserved, 0
// c2h flags (h2c: every flag is reserved, 0).
static const uint8_t kDmaFlagBadFrame = 0x01; // the MAC flagged the frame bad (tuser bit 8)
static const uint8_t kC2hKnownFlags = kDmaFlagBadFrame;

struct DmaDesc {
  uint16_t length; // frame bytes
  uint8_t flags;
  uint8_t port; // c2h: ingress port (tuser bits 7:0, the numbering of tdest; kPortLocal = host)
};

enum DmaDescError {
  kDmaDescOk = 0,
  kDmaDescZeroLength, // length 0
  kDmaDescTooShort,   // h2c: length < kDmaMinFrameBytes
  kDmaDescTooLong,    // length > kDmaMaxFrameBytes
  kDmaDescReserved,   // a reserved flag, port (h2c) or byte 4..63 is not 0
  kDmaDescPastEnd,    // the slot's data runs past the beats of the buffer
  kDmaDescErrorCount
};

// A host-to-card descriptor's fields checked, in the order of DmaDescError. reserved_zero: bytes
// 4..63 are 0. beats_after: beats of the buffer after the descriptor. The h2c kernel calls this.
inline DmaDescError h2c_desc_check(uint32_t length, uint8_t flags, uint8_t port, bool reserved_zero,
                                   uint32_t beats_after) {
  if (length == 0) return kDmaDescZeroLength;
  if (length < kDmaMinFrameBytes) return kDmaDescTooShort;
  if (length > kDmaMaxFrameBytes) return kDmaDescTooLong;
  if (flags != 0 || port != 0 || !reserved_zero) return kDmaDescReserved;
  if (dma_frame_beats(length) > beats_after) return kDmaDescPastEnd;
  return kDmaDescOk;
}

// A card-to-host descriptor's fields checked (the host reading a c2h buffer): length 1..max, only
// known flags, bytes 4..63 zero, the slot within beats_after.
inline DmaDescError c2h_desc_check(uint32_t length, uint8_t flags, bool reserved_zero, uint32_t beats_after) {
  if (length == 0) return kDmaDescZeroLength;
  if (length > kDmaMaxFrameBytes) return kDmaDescTooLong;
  if ((flags & (uint8_t)~kC2hKnownFlags) != 0 || !reserved_zero) return kDmaDescReserved;
  if (dma_frame_beats(length) > beats_after) return kDmaDescPastEnd;
  return kDmaDescOk;
}

// ---- Little-endian fields ------------------------------------------------------------------
inline uint16_t dma_get_le16(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
inline uint32_t dma_get_le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
inline void dma_put_le16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
inline void dma_put_le32(uint8_t *p, uint32_t v) {
  for (uint32_t i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

// Bytes from..63 of a beat are all 0.
inline bool dma_zero_from(const uint8_t beat[kDmaBeatBytes], uint32_t from) {
  uint8_t any = 0;
  for (uint32_t i = 0; i < kDmaBeatBytes; i++)
    if (i >= from) any = (uint8_t)(any | beat[i]);
  return any == 0;
}

inline void dma_encode_desc(const DmaDesc &d, uint8_t beat[kDmaBeatBytes]) {
  for (uint32_t i = 0; i < kDmaBeatBytes; i++) beat[i] = 0;
  dma_put_le16(beat + kDmaDescLengthOff, d.length);
  beat[kDmaDescFlagsOff] = d.flags;
  beat[kDmaDescPortOff] = d.port;
}

// The fields as they are (validity: h2c_check_desc / c2h_check_desc).
inline DmaDesc dma_decode_desc(const uint8_t beat[kDmaBeatBytes]) {
  DmaDesc d;
  d.length = dma_get_le16(beat + kDmaDescLengthOff);
  d.flags = beat[kDmaDescFlagsOff];
  d.port = beat[kDmaDescPortOff];
  return d;
}

inline DmaDescError h2c_check_desc(const uint8_t beat[kDmaBeatBytes], uint32_t beats_after) {
  DmaDesc d = dma_decode_desc(beat);
  return h2c_desc_check(d.length, d.flags, d.port, dma_zero_from(beat, kDmaDescUsedBytes), beats_after);
}
inline DmaDescError c2h_check_desc(const uint8_t beat[kDmaBeatBytes], uint32_t beats_after) {
  DmaDesc d = dma_decode_desc(beat);
  return c2h_desc_check(d.length, d.flags, dma_zero_from(beat, kDmaDescUsedBytes), beats_after);
}

// Writes frame[0..len) as one slot at beat `at` of buf (cap_beats beats long): the descriptor
// {len, flags, port} and the data, padding 0. Returns the beat after the slot, or 0 when len is
// 0 or over kDmaMaxFrameBytes or the slot does not fit. (Host side: h2c buffers, and c2h buffers
// as the kernel writes them, for tests.)
inline uint32_t dma_write_slot(uint8_t *buf, uint32_t cap_beats, uint32_t at, const uint8_t *frame, uint32_t len,
                               uint8_t flags = 0, uint8_t port = 0) {
  if (len == 0 || len > kDmaMaxFrameBytes || at > cap_beats || dma_slot_beats(len) > cap_beats - at) return 0;
  DmaDesc d;
  d.length = (uint16_t)len;
  d.flags = flags;
  d.port = port;
  uint8_t *p = buf + (uint64_t)at * kDmaBeatBytes;
  dma_encode_desc(d, p);
  p += kDmaBeatBytes;
  uint32_t padded = dma_frame_beats(len) * kDmaBeatBytes;
  for (uint32_t i = 0; i < padded; i++) p[i] = i < len ? frame[i] : 0;
  return at + dma_slot_beats(len);
}

// ---- Card-to-host header beat --------------------------------------------------------------
static const uint32_t kC2hMagic = 0x32434F46u; // little-endian: the bytes 'F' 'O' 'C' '2'
static const uint8_t kC2hVersion = 1;
static const uint32_t kC2hHdrMagicOff = 0;      // uint32
static const uint32_t kC2hHdrFramesOff = 4;     // uint32
static const uint32_t kC2hHdrBeatsUsedOff = 8;  // uint32
static const uint32_t kC2hHdrDroppedOff = 12;   // uint32
static const uint32_t kC2hHdrSequenceOff = 16;  // uint32
static const uint32_t kC2hHdrEndReasonOff = 20; // uint8
static const uint32_t kC2hHdrVersionOff = 21;   // uint8
static const uint32_t kC2hHdrUsedBytes = 22;    // bytes 22..63 are reserved, 0

// Why a c2h run returned.
enum C2hEndReason {
  kC2hEndCapacity = 1, // space left < kDmaMaxSlotBeats (also: capacity below kC2hMinCapacityBeats)
  kC2hEndIdle = 2,     // idle_clocks clocks in a row between frames with no beat offered
  kC2hEndFrameCap = 3  // kC2hMaxFramesPerRun frames (written + dropped) in this run
};
// Frames (written + dropped) after which a run returns: bounds a run that sees only oversized
// frames, which take no space. Far above what a buffer holds (2^20 minimal slots are 128 MiB).
static const uint32_t kC2hMaxFramesPerRun = 1u << 20;

struct C2hHeader {
  uint32_t frames;
  uint32_t beats_used;
  uint32_t dropped;
  uint32_t sequence;
  uint8_t end_reason; // C2hEndReason
};

inline void c2h_encode_header(const C2hHeader &h, uint8_t beat[kDmaBeatBytes]) {
  for (uint32_t i = 0; i < kDmaBeatBytes; i++) beat[i] = 0;
  dma_put_le32(beat + kC2hHdrMagicOff, kC2hMagic);
  dma_put_le32(beat + kC2hHdrFramesOff, h.frames);
  dma_put_le32(beat + kC2hHdrBeatsUsedOff, h.beats_used);
  dma_put_le32(beat + kC2hHdrDroppedOff, h.dropped);
  dma_put_le32(beat + kC2hHdrSequenceOff, h.sequence);
  beat[kC2hHdrEndReasonOff] = h.end_reason;
  beat[kC2hHdrVersionOff] = kC2hVersion;
}

// False when the beat is not a header of this version (magic, version, reserved bytes) or its
// counts are impossible (beats_used 0, or fewer beats than frames need).
inline bool c2h_decode_header(const uint8_t beat[kDmaBeatBytes], C2hHeader *h) {
  if (dma_get_le32(beat + kC2hHdrMagicOff) != kC2hMagic || beat[kC2hHdrVersionOff] != kC2hVersion ||
      !dma_zero_from(beat, kC2hHdrUsedBytes))
    return false;
  h->frames = dma_get_le32(beat + kC2hHdrFramesOff);
  h->beats_used = dma_get_le32(beat + kC2hHdrBeatsUsedOff);
  h->dropped = dma_get_le32(beat + kC2hHdrDroppedOff);
  h->sequence = dma_get_le32(beat + kC2hHdrSequenceOff);
  h->end_reason = beat[kC2hHdrEndReasonOff];
  if (h->end_reason < kC2hEndCapacity || h->end_reason > kC2hEndFrameCap) return false;
  return h->beats_used >= 1 && (uint64_t)h->beats_used - 1 >= 2 * (uint64_t)h->frames;
}

// The slot at beat `at` of a card-to-host buffer whose header says beats_used: its descriptor in
// *d and the beat after it in *next. Returns the descriptor's check (kDmaDescOk: the data are
// beats at + 1 .. *next - 1).
inline DmaDescError c2h_read_slot(const uint8_t *buf, uint32_t beats_used, uint32_t at, DmaDesc *d, uint32_t *next) {
  if (at >= beats_used) return kDmaDescPastEnd;
  const uint8_t *p = buf + (uint64_t)at * kDmaBeatBytes;
  *d = dma_decode_desc(p);
  DmaDescError e = c2h_check_desc(p, beats_used - at - 1);
  *next = e == kDmaDescOk ? at + dma_slot_beats(d->length) : at;
  return e;
}

} // namespace proto
} // namespace fanout

#endif
