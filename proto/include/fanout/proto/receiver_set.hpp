// A receiver set: ascending node ids held as disjoint, non-touching ranges [first, last].
//
// Ranges keep a whole-cluster broadcast (65,536 ids) at one entry while a sparse MoE set of k
// ids is k entries. Capacity is a template parameter so an HLS kernel can size its buffer; the
// default ReceiverSet holds any set one packet can carry (kMaxSetRanges), LargeReceiverSet any
// set at all (what a sender holds before cutting it into packets).
//
// C++14, synthesizable subset: fixed arrays, bounded loops, no allocation.
#ifndef FANOUT_PROTO_RECEIVER_SET_HPP
#define FANOUT_PROTO_RECEIVER_SET_HPP

#include "fanout/proto/wire.hpp"

namespace fanout {
namespace proto {

struct IdRange {
  NodeId first;
  NodeId last; // inclusive
};

// A bitmap body of kMaxSetBytes with alternating bits yields at most this many ranges.
static const uint32_t kMaxSetRanges = (kMaxSetBytes - kBitmapRunHeaderBytes) * 8 / 2;
// Alternating ids over the whole id space: the most ranges any set can need.
static const uint32_t kMaxAnySetRanges = kNodeIdSpace / 2;

template <uint32_t MaxRanges> class BasicReceiverSet {
 public:
  static const uint32_t kCapacity = MaxRanges;

  BasicReceiverSet() : nranges_(0), count_(0) {}

  void clear() {
    nranges_ = 0;
    count_ = 0;
  }
  bool empty() const { return count_ == 0; }
  // Number of ids (0..65,536).
  uint32_t size() const { return count_; }
  uint32_t range_count() const { return nranges_; }
  const IdRange &range(uint32_t i) const { return ranges_[i]; }
  NodeId first_id() const { return ranges_[0].first; }
  NodeId last_id() const { return ranges_[nranges_ - 1].last; }

  // Append ids above every id already held. Touching ranges merge. Returns false (set
  // unchanged) if the ids are not strictly above last_id() or the capacity is exhausted.
  bool append_range(NodeId first, NodeId last) {
    if (first > last) return false;
    if (nranges_ > 0) {
      IdRange &tail = ranges_[nranges_ - 1];
      if (first <= tail.last) return false;
      if ((uint32_t)first == (uint32_t)tail.last + 1) {
        count_ += (uint32_t)last - first + 1;
        tail.last = last;
        return true;
      }
    }
    if (nranges_ >= MaxRanges) return false;
    ranges_[nranges_].first = first;
    ranges_[nranges_].last = last;
    nranges_++;
    count_ += (uint32_t)last - first + 1;
    return true;
  }
  bool append(NodeId id) { return append_range(id, id); }

  // Binary search over the ranges: log2(MaxRanges) + 1 steps at most.
  bool contains(NodeId id) const {
    uint32_t lo = 0, hi = nranges_;
    for (uint32_t step = 0; step < 32 && lo < hi; step++) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (id < ranges_[mid].first) {
        hi = mid;
      } else if (id > ranges_[mid].last) {
        lo = mid + 1;
      } else {
        return true;
      }
    }
    return false;
  }

  // The index-th smallest id (0-based). index must be < size().
  NodeId at(uint32_t index) const {
    uint32_t skipped = 0;
    for (uint32_t r = 0; r < MaxRanges; r++) {
      if (r >= nranges_) break;
      uint32_t n = (uint32_t)ranges_[r].last - ranges_[r].first + 1;
      if (index < skipped + n) return (NodeId)(ranges_[r].first + (index - skipped));
      skipped += n;
    }
    return 0;
  }

  // out = the ids at positions [begin, end) of this set. Returns false if out lacks capacity.
  template <uint32_t M> bool slice(uint32_t begin, uint32_t end, BasicReceiverSet<M> &out) const {
    out.clear();
    uint32_t pos = 0; // index of ranges_[r].first in the whole set
    for (uint32_t r = 0; r < MaxRanges; r++) {
      if (r >= nranges_ || pos >= end) break;
      uint32_t n = (uint32_t)ranges_[r].last - ranges_[r].first + 1;
      uint32_t lo = begin > pos ? begin : pos;
      uint32_t hi = end < pos + n ? end : pos + n;
      if (lo < hi) {
        if (!out.append_range((NodeId)(ranges_[r].first + (lo - pos)), (NodeId)(ranges_[r].first + (hi - 1 - pos))))
          return false;
      }
      pos += n;
    }
    return true;
  }

  // out = this set without id. Returns false if out lacks capacity (removing from the middle
  // of a range splits it).
  template <uint32_t M> bool without(NodeId id, BasicReceiverSet<M> &out) const {
    out.clear();
    for (uint32_t r = 0; r < MaxRanges; r++) {
      if (r >= nranges_) break;
      const IdRange &x = ranges_[r];
      if (id < x.first || id > x.last) {
        if (!out.append_range(x.first, x.last)) return false;
        continue;
      }
      if (id > x.first && !out.append_range(x.first, (NodeId)(id - 1))) return false;
      if (id < x.last && !out.append_range((NodeId)(id + 1), x.last)) return false;
    }
    return true;
  }

  template <uint32_t M> bool assign(const BasicReceiverSet<M> &other) {
    clear();
    for (uint32_t r = 0; r < M; r++) {
      if (r >= other.range_count()) break;
      if (!append_range(other.range(r).first, other.range(r).last)) return false;
    }
    return true;
  }

  template <uint32_t M> bool operator==(const BasicReceiverSet<M> &other) const {
    if (other.range_count() != nranges_ || other.size() != count_) return false;
    for (uint32_t r = 0; r < MaxRanges; r++) {
      if (r >= nranges_) break;
      if (ranges_[r].first != other.range(r).first || ranges_[r].last != other.range(r).last) return false;
    }
    return true;
  }
  template <uint32_t M> bool operator!=(const BasicReceiverSet<M> &other) const { return !(*this == other); }

 private:
  IdRange ranges_[MaxRanges];
  uint32_t nranges_;
  uint32_t count_;
};

typedef BasicReceiverSet<kMaxSetRanges> ReceiverSet;
typedef BasicReceiverSet<kMaxAnySetRanges> LargeReceiverSet;

} // namespace proto
} // namespace fanout

#endif
