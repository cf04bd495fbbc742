// Receiver-set encodings: sizes, the encoder's choice, encode and validating decode.
//
//   list    ascending u16 ids                                    2 bytes per id
//   ranges  ascending disjoint [first, last] u16 pairs           4 bytes per range
//   bitmap  runs of (u16 first id, u16 byte count n, n bytes)    bit 7 of byte 0 = first id
//
// The encoder picks the shortest (ties: list, then ranges, then bitmap). Bitmap runs are cut by
// one greedy, incremental rule (bitmap_should_split) so that a relay in hardware can size and
// write a subset in one pass; that rule is normative: a bitmap body cut any other way is rejected
// (kSetNotCanonical), so every accepted set re-encodes in at most the bytes it arrived in. SetCost accumulates all
// three sizes while ranges are appended in order, which is also how a sender cuts an oversized set into packets
// (split.hpp).
//
// C++14, synthesizable subset.
#ifndef FANOUT_PROTO_SET_CODEC_HPP
#define FANOUT_PROTO_SET_CODEC_HPP

#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/wire.hpp"

namespace fanout {
namespace proto {

inline uint32_t bitmap_bytes_for_span(uint32_t first, uint32_t last) {
  return (last - first + 1 + 7) / 8;
}

// Greedy run rule: extend the open run [run_first, run_last] to cover [first, last] when that
// costs no more bytes than opening a new run for it.
inline bool bitmap_should_split(uint32_t run_first, uint32_t run_last, uint32_t first, uint32_t last) {
  uint32_t extend = bitmap_bytes_for_span(run_first, last) - bitmap_bytes_for_span(run_first, run_last);
  uint32_t fresh = kBitmapRunHeaderBytes + bitmap_bytes_for_span(first, last);
  return extend > fresh;
}

// Sizes of all three encodings of a set whose ranges are appended in ascending order.
class SetCost {
 public:
  SetCost() : ids_(0), ranges_(0), closed_bitmap_(0), run_open_(false), run_first_(0), run_last_(0) {}

  void add_range(uint32_t first, uint32_t last) {
    ids_ += last - first + 1;
    ranges_++;
    if (run_open_ && !bitmap_should_split(run_first_, run_last_, first, last)) {
      run_last_ = last;
      return;
    }
    if (run_open_) closed_bitmap_ += kBitmapRunHeaderBytes + bitmap_bytes_for_span(run_first_, run_last_);
    run_open_ = true;
    run_first_ = first;
    run_last_ = last;
  }

  uint32_t ids() const { return ids_; }
  uint32_t list_bytes() const { return 2 * ids_; }
  uint32_t ranges_bytes() const { return 4 * ranges_; }
  uint32_t bitmap_bytes() const {
    return closed_bitmap_ + (run_open_ ? kBitmapRunHeaderBytes + bitmap_bytes_for_span(run_first_, run_last_) : 0);
  }
  uint32_t bytes(SetEncoding e) const {
    return e == kSetList ? list_bytes() : e == kSetRanges ? ranges_bytes() : e == kSetBitmap ? bitmap_bytes() : 0;
  }
  SetEncoding best_encoding() const {
    if (ids_ == 0) return kSetNone;
    SetEncoding e = kSetList;
    if (ranges_bytes() < bytes(e)) e = kSetRanges;
    if (bitmap_bytes() < bytes(e)) e = kSetBitmap;
    return e;
  }
  uint32_t best_bytes() const { return bytes(best_encoding()); }

 private:
  uint32_t ids_;
  uint32_t ranges_;
  uint32_t closed_bitmap_;
  bool run_open_;
  uint32_t run_first_;
  uint32_t run_last_;
};

template <uint32_t M> SetCost set_cost(const BasicReceiverSet<M> &s) {
  SetCost c;
  for (uint32_t r = 0; r < M; r++) {
    if (r >= s.range_count()) break;
    c.add_range(s.range(r).first, s.range(r).last);
  }
  return c;
}

template <uint32_t M> SetEncoding choose_encoding(const BasicReceiverSet<M> &s) {
  return set_cost(s).best_encoding();
}

// Encode s with encoding e into out[0..cap). On success *written = body bytes and kOk is
// returned; kSetTooLarge if the body would exceed cap; kBadSetEncoding for an unknown e or
// kSetNone with a non-empty set; kSetEmpty for an empty set with a real encoding.
template <uint32_t M>
int encode_set(const BasicReceiverSet<M> &s, SetEncoding e, uint8_t *out, uint32_t cap, uint32_t *written) {
  *written = 0;
  if (e == kSetNone) return s.empty() ? (int)kOk : (int)kBadSetEncoding;
  if (e != kSetList && e != kSetRanges && e != kSetBitmap) return kBadSetEncoding;
  if (s.empty()) return kSetEmpty;
  SetCost cost = set_cost(s);
  uint32_t need = cost.bytes(e);
  if (need > cap) return kSetTooLarge;
  uint32_t n = 0;
  if (e == kSetList) {
    for (uint32_t r = 0; r < M; r++) {
      if (r >= s.range_count()) break;
      for (uint32_t id = s.range(r).first; id <= s.range(r).last; id++) {
        store_be16(out + n, (uint16_t)id);
        n += 2;
      }
    }
  } else if (e == kSetRanges) {
    for (uint32_t r = 0; r < M; r++) {
      if (r >= s.range_count()) break;
      store_be16(out + n, s.range(r).first);
      store_be16(out + n + 2, s.range(r).last);
      n += 4;
    }
  } else {
    // Bitmap: replay SetCost's run rule; write each run when it closes.
    uint32_t run_start_range = 0, run_first = 0, run_last = 0;
    bool open = false;
    for (uint32_t r = 0; r <= M; r++) {
      bool at_end = r >= s.range_count();
      uint32_t first = at_end ? 0 : s.range(r).first;
      uint32_t last = at_end ? 0 : s.range(r).last;
      if (!at_end && open && !bitmap_should_split(run_first, run_last, first, last)) {
        run_last = last;
        continue;
      }
      if (open) {
        uint32_t nbytes = bitmap_bytes_for_span(run_first, run_last);
        store_be16(out + n, (uint16_t)run_first);
        store_be16(out + n + 2, (uint16_t)nbytes);
        uint8_t *bits = out + n + kBitmapRunHeaderBytes;
        for (uint32_t i = 0; i < nbytes; i++) bits[i] = 0;
        for (uint32_t q = run_start_range; q < r; q++) {
          for (uint32_t id = s.range(q).first; id <= s.range(q).last; id++) {
            uint32_t bit = id - run_first;
            bits[bit / 8] = (uint8_t)(bits[bit / 8] | (0x80u >> (bit % 8)));
          }
        }
        n += kBitmapRunHeaderBytes + nbytes;
      }
      if (at_end) break;
      open = true;
      run_start_range = r;
      run_first = first;
      run_last = last;
    }
  }
  *written = n;
  return kOk;
}

// Decode and validate a set body. Reads only body[0..len). kSetTooLarge if len > kMaxSetBytes
// or out lacks capacity. An empty body decodes to an empty set only for kSetNone.
template <uint32_t M> int decode_set(SetEncoding e, const uint8_t *body, uint32_t len, BasicReceiverSet<M> &out) {
  out.clear();
  if (e == kSetNone) return len == 0 ? (int)kOk : (int)kBadSetEncoding;
  if (e != kSetList && e != kSetRanges && e != kSetBitmap) return kBadSetEncoding;
  if (len > kMaxSetBytes) return kSetTooLarge;
  if (len == 0) return kSetEmpty;
  if (e == kSetList) {
    if (len % 2 != 0) return kSetBadLength;
    for (uint32_t i = 0; i < kMaxSetBytes / 2; i++) {
      if (2 * i >= len) break;
      NodeId id = load_be16(body + 2 * i);
      if (!out.empty() && id <= out.last_id()) return id == out.last_id() ? kSetDuplicate : kSetUnsorted;
      if (!out.append(id)) return kSetTooLarge;
    }
    return kOk;
  }
  if (e == kSetRanges) {
    if (len % 4 != 0) return kSetBadLength;
    for (uint32_t i = 0; i < kMaxSetBytes / 4; i++) {
      if (4 * i >= len) break;
      NodeId first = load_be16(body + 4 * i), last = load_be16(body + 4 * i + 2);
      if (first > last) return kSetUnsorted;
      if (!out.empty() && first <= out.last_id()) {
        // Starting inside the previous range is an overlap; starting before it, disorder.
        return first >= out.range(out.range_count() - 1).first ? kSetDuplicate : kSetUnsorted;
      }
      if (!out.append_range(first, last)) return kSetTooLarge;
    }
    return kOk;
  }
  // Bitmap runs.
  uint32_t pos = 0;
  uint32_t prev_end = 0; // one past the previous run's last bit (its extent, not its last member)
  bool any_run = false;
  for (uint32_t guard = 0; guard < kMaxSetBytes / (kBitmapRunHeaderBytes + 1) + 1; guard++) {
    if (pos >= len) break;
    if (len - pos < kBitmapRunHeaderBytes) return kSetBadLength;
    uint32_t first = load_be16(body + pos);
    uint32_t nbytes = load_be16(body + pos + 2);
    pos += kBitmapRunHeaderBytes;
    if (nbytes == 0 || nbytes > len - pos) return kSetBadLength;
    if (any_run && first < prev_end) return kSetUnsorted;
    bool any_bit = false;
    for (uint32_t i = 0; i < kMaxSetBytes; i++) {
      if (i >= nbytes) break;
      uint8_t b = body[pos + i];
      for (uint32_t k = 0; k < 8; k++) {
        if (!(b & (0x80u >> k))) continue;
        uint32_t id = first + 8 * i + k;
        if (id >= kNodeIdSpace) return kBitmapOutOfRange;
        any_bit = true;
        if (!out.append((NodeId)id)) return kSetTooLarge;
      }
    }
    if (!any_bit) return kSetEmpty;
    prev_end = first + 8 * nbytes;
    any_run = true;
    pos += nbytes;
  }
  // Canonical form: the runs are exactly those of the greedy rule, so the body is as long as our
  // own encoding of the set. The greedy rule is not optimal; without this check another encoder's
  // shorter body could decode to a set that no longer fits one packet when a relay re-encodes it.
  if (set_cost(out).bitmap_bytes() != len) return kSetNotCanonical;
  return kOk;
}

} // namespace proto
} // namespace fanout

#endif
