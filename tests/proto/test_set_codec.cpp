// Receiver-set encodings (set_codec.hpp): sizes, choice, encode, and the validating decode.
#include "fanout/proto/set_codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace fanout::proto;

using Bytes = std::vector<uint8_t>;

const SetEncoding kRealEncodings[] = {kSetList, kSetRanges, kSetBitmap};

template <uint32_t M> std::vector<uint16_t> ids_of(const BasicReceiverSet<M> &s) {
  std::vector<uint16_t> out;
  for (uint32_t r = 0; r < s.range_count(); r++)
    for (uint32_t id = s.range(r).first; id <= s.range(r).last; id++) out.push_back((uint16_t)id);
  return out;
}

void fill(ReceiverSet &s, const std::vector<uint16_t> &ascending_ids) {
  s.clear();
  for (uint16_t id : ascending_ids) ASSERT_TRUE(s.append(id)) << id;
}

// Encodes into a buffer of exactly the predicted size (a larger buffer would hide overruns).
template <uint32_t M> Bytes encode(const BasicReceiverSet<M> &s, SetEncoding e) {
  Bytes out(set_cost(s).bytes(e));
  uint32_t written = 12345;
  int rc = encode_set(s, e, out.data(), (uint32_t)out.size(), &written);
  EXPECT_EQ(rc, kOk) << encoding_name(e);
  EXPECT_EQ(written, out.size()) << encoding_name(e);
  return out;
}

// Bodies live in exact-size heap vectors, so a read past len is an out-of-bounds read.
template <uint32_t M> int decode(SetEncoding e, const Bytes &body, BasicReceiverSet<M> &out) {
  return decode_set(e, body.data(), (uint32_t)body.size(), out);
}

int decode_status(SetEncoding e, const Bytes &body) {
  ReceiverSet out;
  return decode(e, body, out);
}

// ---- Random sets -----------------------------------------------------------------------------
enum class Shape { kSparse, kClustered, kDense };

const char *shape_name(Shape s) {
  return s == Shape::kSparse ? "sparse" : s == Shape::kClustered ? "clustered" : "dense";
}

// k distinct ids from [base, base + window), ascending (Floyd's sampling).
std::vector<uint16_t> sample_ids(std::mt19937 &rng, uint32_t k, uint32_t base, uint32_t window) {
  std::set<uint32_t> chosen;
  for (uint32_t j = window - k; j < window; j++) {
    uint32_t t = std::uniform_int_distribution<uint32_t>(0, j)(rng);
    chosen.insert(chosen.count(t) ? j : t);
  }
  std::vector<uint16_t> out;
  for (uint32_t v : chosen) out.push_back((uint16_t)(base + v));
  return out;
}

// About k ids (exactly k for sparse and dense, up to k for clustered) in [0, space).
std::vector<uint16_t> random_ids(std::mt19937 &rng, Shape shape, uint32_t k, uint32_t space) {
  if (shape == Shape::kSparse) return sample_ids(rng, k, 0, space);
  if (shape == Shape::kDense) {
    // k ids among a window about 1.2k wide: mostly long runs with small holes.
    uint32_t window = std::min(space, k + k / 5 + 1);
    uint32_t base = std::uniform_int_distribution<uint32_t>(0, space - window)(rng);
    return sample_ids(rng, k, base, window);
  }
  // Clustered: runs of 1..32 ids separated by gaps sized to spread them over the space.
  std::vector<uint16_t> out;
  uint32_t expected_runs = k / 16 + 1;
  uint32_t max_gap = std::max<uint32_t>(2, (space - std::min(space, k)) / expected_runs);
  uint32_t pos = std::uniform_int_distribution<uint32_t>(0, max_gap)(rng);
  while (out.size() < k && pos < space) {
    uint32_t run = std::uniform_int_distribution<uint32_t>(1, 32)(rng);
    for (uint32_t i = 0; i < run && out.size() < k && pos < space; i++) out.push_back((uint16_t)pos++);
    pos += std::uniform_int_distribution<uint32_t>(2, max_gap)(rng);
  }
  if (out.empty()) out.push_back(0);
  return out;
}

// ---- Golden bytes ------------------------------------------------------------------------------
TEST(SetCodec, ListIsAscendingBigEndianIds) {
  ReceiverSet s;
  fill(s, {0x0102, 0x0304, 0xFFFF});
  EXPECT_EQ(encode(s, kSetList), (Bytes{0x01, 0x02, 0x03, 0x04, 0xFF, 0xFF}));
}

TEST(SetCodec, RangesArePairsOfBigEndianIds) {
  ReceiverSet s;
  ASSERT_TRUE(s.append_range(1, 2));
  ASSERT_TRUE(s.append_range(0x1000, 0xFFFF));
  EXPECT_EQ(encode(s, kSetRanges), (Bytes{0x00, 0x01, 0x00, 0x02, 0x10, 0x00, 0xFF, 0xFF}));
}

TEST(SetCodec, BitmapRunIsMsbFirst) {
  ReceiverSet s;
  fill(s, {0x0100, 0x0107, 0x0108});
  EXPECT_EQ(encode(s, kSetBitmap), (Bytes{0x01, 0x00, 0x00, 0x02, 0x81, 0x80}));
}

TEST(SetCodec, BitmapOpensANewRunWhenCheaperThanExtending) {
  ReceiverSet s;
  // Extending a run from id 0 to id 100 costs 12 more bytes; a new run costs 5.
  fill(s, {0, 100});
  EXPECT_EQ(encode(s, kSetBitmap), (Bytes{0, 0, 0, 1, 0x80, 0, 100, 0, 1, 0x80}));
  // Extending to id 30 costs 3 more bytes: one run.
  fill(s, {0, 30});
  EXPECT_EQ(encode(s, kSetBitmap), (Bytes{0, 0, 0, 4, 0x80, 0, 0, 0x02}));
}

// ---- Round trips on random sets ---------------------------------------------------------------
TEST(SetCodec, RoundTripsRandomSetsInEveryEncoding) {
  const uint32_t sizes[] = {1, 2, 3, 7, 16, 33, 100, 255, 256, 511, 512, 513, 700, 1024};
  const uint32_t spaces[] = {1024, 8160, 65536};
  const Shape shapes[] = {Shape::kSparse, Shape::kClustered, Shape::kDense};
  uint32_t round_trips = 0, too_large = 0;
  ReceiverSet s, decoded;
  for (uint32_t seed = 1; seed <= 3; seed++) {
    std::mt19937 rng(seed);
    for (Shape shape : shapes) {
      for (uint32_t space : spaces) {
        for (uint32_t k : sizes) {
          if (k > space) continue;
          const std::vector<uint16_t> ids = random_ids(rng, shape, k, space);
          fill(s, ids);
          const SetCost cost = set_cost(s);
          ASSERT_EQ(cost.ids(), ids.size());
          for (SetEncoding e : kRealEncodings) {
            SCOPED_TRACE(std::string(shape_name(shape)) + " k=" + std::to_string(k) +
                         " space=" + std::to_string(space) + " seed=" + std::to_string(seed) + " " + encoding_name(e));
            const Bytes body = encode(s, e);
            ASSERT_EQ(body.size(), cost.bytes(e));
            if (body.size() > kMaxSetBytes) {
              EXPECT_EQ(decode(e, body, decoded), kSetTooLarge);
              too_large++;
              continue;
            }
            ASSERT_EQ(decode(e, body, decoded), kOk);
            ASSERT_EQ(ids_of(decoded), ids);
            ASSERT_TRUE(decoded == s);
            round_trips++;
          }
        }
      }
    }
  }
  // The shapes must exercise both outcomes, or the loop above proves little.
  EXPECT_GT(round_trips, 300u);
  EXPECT_GT(too_large, 10u);
}

TEST(SetCodec, FullIdSpaceRoundTripsAsOneRange) {
  auto all = std::make_unique<LargeReceiverSet>();
  ASSERT_TRUE(all->append_range(0, 65535));
  const SetCost cost = set_cost(*all);
  EXPECT_EQ(cost.ranges_bytes(), 4u);
  EXPECT_EQ(cost.list_bytes(), 2u * 65536);
  EXPECT_EQ(cost.bitmap_bytes(), 4u + 8192);
  EXPECT_EQ(choose_encoding(*all), kSetRanges);
  const Bytes body = encode(*all, kSetRanges);
  EXPECT_EQ(body, (Bytes{0, 0, 0xFF, 0xFF}));
  ReceiverSet decoded;
  ASSERT_EQ(decode(kSetRanges, body, decoded), kOk);
  EXPECT_EQ(decoded.size(), 65536u);
  EXPECT_TRUE(decoded == *all);
  // The other encodings exceed one packet's set limit.
  EXPECT_EQ(decode(kSetBitmap, encode(*all, kSetBitmap), decoded), kSetTooLarge);
  EXPECT_EQ(decode(kSetList, encode(*all, kSetList), decoded), kSetTooLarge);
}

TEST(SetCodec, LargestBodiesAtTheLimitRoundTrip) {
  ReceiverSet s, decoded;
  // 512 listed ids are exactly kMaxSetBytes.
  s.clear();
  for (uint32_t id = 0; id < 512; id++) ASSERT_TRUE(s.append((NodeId)(id * 3)));
  Bytes body = encode(s, kSetList);
  ASSERT_EQ(body.size(), kMaxSetBytes);
  ASSERT_EQ(decode(kSetList, body, decoded), kOk);
  EXPECT_TRUE(decoded == s);

  // A bitmap of ids 0..8159 alternating is exactly kMaxSetBytes and kMaxSetRanges ranges.
  s.clear();
  for (uint32_t id = 0; id < 8160; id += 2) ASSERT_TRUE(s.append((NodeId)id));
  body = encode(s, kSetBitmap);
  ASSERT_EQ(body.size(), kMaxSetBytes);
  ASSERT_EQ(decode(kSetBitmap, body, decoded), kOk);
  EXPECT_EQ(decoded.range_count(), kMaxSetRanges);
  EXPECT_TRUE(decoded == s);

  // One more id needs one more bitmap byte (and one more range than ReceiverSet holds): over the limit.
  auto larger = std::make_unique<LargeReceiverSet>();
  ASSERT_TRUE(larger->assign(s));
  ASSERT_TRUE(larger->append(8160));
  EXPECT_EQ(decode(kSetBitmap, encode(*larger, kSetBitmap), decoded), kSetTooLarge);
}

// ---- Sizes and the encoder's choice ----------------------------------------------------------
TEST(SetCodec, ListBytesAreTwicePerId) {
  ReceiverSet s;
  for (uint32_t k = 1; k <= 600; k++) {
    ASSERT_TRUE(s.append((NodeId)(k * 7)));
    ASSERT_EQ(set_cost(s).list_bytes(), 2 * k);
  }
}

TEST(SetCodec, ChooseEncodingPicksTheSmallest) {
  ReceiverSet s;
  const Shape shapes[] = {Shape::kSparse, Shape::kClustered, Shape::kDense};
  uint32_t chosen[4] = {0, 0, 0, 0};
  for (uint32_t seed = 100; seed < 160; seed++) {
    std::mt19937 rng(seed);
    for (Shape shape : shapes) {
      const uint32_t k = std::uniform_int_distribution<uint32_t>(1, 1024)(rng);
      fill(s, random_ids(rng, shape, k, 65536));
      const SetCost cost = set_cost(s);
      const uint32_t best = std::min({cost.list_bytes(), cost.ranges_bytes(), cost.bitmap_bytes()});
      // Ties resolve list < ranges < bitmap: the first encoding of that size.
      SetEncoding expected = cost.list_bytes() == best     ? kSetList
                             : cost.ranges_bytes() == best ? kSetRanges
                                                           : kSetBitmap;
      ASSERT_EQ(choose_encoding(s), expected) << shape_name(shape) << " seed " << seed;
      ASSERT_EQ(cost.best_bytes(), best);
      chosen[expected]++;
    }
  }
  // The random shapes reach every encoding.
  EXPECT_GT(chosen[kSetList], 0u);
  EXPECT_GT(chosen[kSetRanges], 0u);
  EXPECT_GT(chosen[kSetBitmap], 0u);
}

TEST(SetCodec, ChooseEncodingBreaksTiesListThenRangesThenBitmap) {
  ReceiverSet s;
  fill(s, {1, 2}); // list 4, ranges 4, bitmap 5
  EXPECT_EQ(set_cost(s).list_bytes(), set_cost(s).ranges_bytes());
  EXPECT_EQ(choose_encoding(s), kSetList);

  fill(s, {0, 5, 10}); // list 6, ranges 12, bitmap 6
  EXPECT_EQ(set_cost(s).list_bytes(), set_cost(s).bitmap_bytes());
  EXPECT_EQ(choose_encoding(s), kSetList);

  fill(s, {0, 1, 2, 30, 31}); // list 10, ranges 8, bitmap 8
  EXPECT_EQ(set_cost(s).ranges_bytes(), 8u);
  EXPECT_EQ(set_cost(s).bitmap_bytes(), 8u);
  EXPECT_EQ(choose_encoding(s), kSetRanges);

  fill(s, {0, 2, 4, 6}); // list 8, ranges 16, bitmap 5
  EXPECT_EQ(choose_encoding(s), kSetBitmap);

  s.clear();
  EXPECT_EQ(choose_encoding(s), kSetNone);
}

// ---- encode_set errors -----------------------------------------------------------------------
TEST(SetCodec, EncodeReportsTooLargeWhenCapIsTooSmall) {
  ReceiverSet s;
  fill(s, {3, 9, 10, 11, 400});
  for (SetEncoding e : kRealEncodings) {
    const uint32_t need = set_cost(s).bytes(e);
    Bytes out(need);
    uint32_t written = 99;
    EXPECT_EQ(encode_set(s, e, out.data(), need - 1, &written), kSetTooLarge) << encoding_name(e);
    EXPECT_EQ(written, 0u);
    EXPECT_EQ(encode_set(s, e, out.data(), need, &written), kOk) << encoding_name(e);
    EXPECT_EQ(written, need);
  }
}

TEST(SetCodec, EncodeRejectsMismatchedEncodingAndEmptySets) {
  ReceiverSet s, empty;
  fill(s, {1});
  uint8_t out[16];
  uint32_t written = 99;
  EXPECT_EQ(encode_set(s, kSetNone, out, sizeof out, &written), kBadSetEncoding);
  EXPECT_EQ(encode_set(s, (SetEncoding)4, out, sizeof out, &written), kBadSetEncoding);
  EXPECT_EQ(encode_set(empty, kSetNone, out, sizeof out, &written), kOk);
  EXPECT_EQ(written, 0u);
  for (SetEncoding e : kRealEncodings) EXPECT_EQ(encode_set(empty, e, out, sizeof out, &written), kSetEmpty);
}

// ---- decode_set validation ---------------------------------------------------------------------
TEST(SetCodecDecode, ListErrors) {
  EXPECT_EQ(decode_status(kSetList, {0, 1, 0}), kSetBadLength);
  EXPECT_EQ(decode_status(kSetList, {0, 5, 0, 3}), kSetUnsorted);
  EXPECT_EQ(decode_status(kSetList, {0, 5, 0, 5}), kSetDuplicate);
  EXPECT_EQ(decode_status(kSetList, {0, 1, 0, 5, 0, 5}), kSetDuplicate);
  EXPECT_EQ(decode_status(kSetList, {0, 1, 0, 5, 0, 4}), kSetUnsorted);
  EXPECT_EQ(decode_status(kSetList, {0, 1, 0, 2, 0, 4}), kOk);
}

TEST(SetCodecDecode, RangesErrors) {
  EXPECT_EQ(decode_status(kSetRanges, {0, 5, 0, 3}), kSetUnsorted);               // first > last
  EXPECT_EQ(decode_status(kSetRanges, {0, 1, 0, 5, 0, 5, 0, 8}), kSetDuplicate);  // shares id 5
  EXPECT_EQ(decode_status(kSetRanges, {0, 1, 0, 9, 0, 3, 0, 4}), kSetDuplicate);  // inside previous
  EXPECT_EQ(decode_status(kSetRanges, {0, 10, 0, 12, 0, 1, 0, 2}), kSetUnsorted); // out of order
  EXPECT_EQ(decode_status(kSetRanges, {0, 1, 0, 2, 0}), kSetBadLength);
  EXPECT_EQ(decode_status(kSetRanges, {0, 1, 0, 2, 0, 4}), kSetBadLength);
}

TEST(SetCodecDecode, TouchingRangesAreAcceptedAndMerged) {
  ReceiverSet out;
  ASSERT_EQ(decode(kSetRanges, {0, 1, 0, 5, 0, 6, 0, 8, 0, 20, 0, 20}, out), kOk);
  ASSERT_EQ(out.range_count(), 2u);
  EXPECT_EQ(out.range(0).first, 1);
  EXPECT_EQ(out.range(0).last, 8);
  EXPECT_EQ(out.range(1).first, 20);
  EXPECT_EQ(out.size(), 9u);
}

TEST(SetCodecDecode, BitmapErrors) {
  EXPECT_EQ(decode_status(kSetBitmap, {0, 0, 0, 0}), kSetBadLength);       // run of 0 bytes
  EXPECT_EQ(decode_status(kSetBitmap, {0, 0, 0, 2, 0x80}), kSetBadLength); // runs past the body
  EXPECT_EQ(decode_status(kSetBitmap, {0, 0, 0}), kSetBadLength);          // short run header
  EXPECT_EQ(decode_status(kSetBitmap, {0, 0, 0, 1, 0x80, 0, 16, 0}), kSetBadLength);
  EXPECT_EQ(decode_status(kSetBitmap, {0, 0, 0, 1, 0x00}), kSetEmpty); // all-zero run
  EXPECT_EQ(decode_status(kSetBitmap, {0, 0, 0, 1, 0x80, 0, 16, 0, 2, 0, 0}), kSetEmpty);
  EXPECT_EQ(decode_status(kSetBitmap, {0xFF, 0xFF, 0, 1, 0x40}), kBitmapOutOfRange); // id 65536
  EXPECT_EQ(decode_status(kSetBitmap, {0xFF, 0xF8, 0, 2, 0, 0x01}), kBitmapOutOfRange);
  // Overlapping extents: the first run covers ids 0..15, the second starts at 8.
  EXPECT_EQ(decode_status(kSetBitmap, {0, 0, 0, 2, 0x80, 0, 0, 8, 0, 1, 0x80}), kSetUnsorted);
  EXPECT_EQ(decode_status(kSetBitmap, {0, 100, 0, 1, 0x80, 0, 0, 0, 1, 0x80}), kSetUnsorted); // out of order
}

TEST(SetCodecDecode, BitmapRunMayEndAtTheLastId) {
  ReceiverSet out;
  ASSERT_EQ(decode(kSetBitmap, {0xFF, 0xFF, 0, 1, 0x80}, out), kOk);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.first_id(), 65535);
}

TEST(SetCodecDecode, BitmapRunsNotCutByTheGreedyRuleAreNotCanonical) {
  ReceiverSet out;
  // {7, 8} as two runs: well formed, but the greedy rule makes one 5-byte run of it.
  EXPECT_EQ(decode(kSetBitmap, {0, 0, 0, 1, 0x01, 0, 8, 0, 1, 0x80}, out), kSetNotCanonical);
  EXPECT_EQ(decode(kSetBitmap, {0, 7, 0, 1, 0xC0}, out), kOk);
  // A trailing all-zero byte makes a run longer than the rule's.
  EXPECT_EQ(decode(kSetBitmap, {0, 7, 0, 2, 0xC0, 0x00}, out), kSetNotCanonical);
  // One run over {3, 100}: the rule cuts it in two (a 12-byte gap costs more than a run header).
  Bytes one_run = {0, 3, 0, 13};
  for (int i = 0; i < 13; i++) one_run.push_back(0);
  one_run[4] = 0x80;                      // id 3
  one_run[4 + 97 / 8] = 0x80 >> (97 % 8); // id 100 = 3 + 97
  EXPECT_EQ(decode(kSetBitmap, one_run, out), kSetNotCanonical);
}

TEST(SetCodecDecode, EveryAcceptedBitmapReencodesNoLonger) {
  // Found by fuzz_decode_set: a 1020-byte body cut into runs other than the greedy rule's decoded
  // to a set whose own encoding needed 1050 bytes, more than one packet holds. Canonical form
  // rules that out: an accepted bitmap body re-encodes to exactly its own length.
  std::mt19937 rng(4242);
  int accepted = 0, rejected = 0;
  for (int trial = 0; trial < 2000; trial++) {
    Bytes body;
    uint32_t id = rng() % 64;
    while (body.size() < 200 && id < 65000) {
      uint32_t nbytes = 1 + rng() % 6;
      body.push_back((uint8_t)(id >> 8));
      body.push_back((uint8_t)id);
      body.push_back(0);
      body.push_back((uint8_t)nbytes);
      // Half the trials aim at canonical runs: start and end on a member, far apart; the rest
      // are arbitrary cuts, almost never the rule's.
      const bool aim_canonical = trial % 2 == 0;
      for (uint32_t i = 0; i < nbytes; i++) {
        uint8_t b = (uint8_t)rng();
        if (i == 0) b |= 0x80;
        if (aim_canonical && i + 1 == nbytes) b |= 0x01;
        body.push_back(b);
      }
      id += 8 * nbytes + (aim_canonical ? 64 : 0) + rng() % 80;
    }
    ReceiverSet out;
    int rc = decode(kSetBitmap, body, out);
    if (rc == kSetNotCanonical) rejected++;
    if (rc != kOk) continue;
    accepted++;
    EXPECT_EQ(set_cost(out).bitmap_bytes(), body.size());
    EXPECT_LE(set_cost(out).best_bytes(), body.size());
  }
  std::printf("random bitmap bodies: %d canonical, %d not canonical\n", accepted, rejected);
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
}

TEST(SetCodecDecode, BodyOverTheLimitIsTooLarge) {
  // The smallest set over the limit in each encoding: 513 ids, 257 ranges, a 1021-byte run.
  ReceiverSet list_set, ranges_set, bitmap_set;
  ASSERT_TRUE(list_set.append_range(0, 512));
  for (uint32_t id = 0; id < 514; id += 2) ASSERT_TRUE(ranges_set.append((NodeId)id));
  ASSERT_TRUE(bitmap_set.append_range(0, 8160));
  const Bytes list_body = encode(list_set, kSetList);
  const Bytes ranges_body = encode(ranges_set, kSetRanges);
  const Bytes bitmap_body = encode(bitmap_set, kSetBitmap);
  EXPECT_EQ(list_body.size(), kMaxSetBytes + 2);
  EXPECT_EQ(ranges_body.size(), kMaxSetBytes + 4);
  EXPECT_EQ(bitmap_body.size(), kMaxSetBytes + 1);
  EXPECT_EQ(decode_status(kSetList, list_body), kSetTooLarge);
  EXPECT_EQ(decode_status(kSetRanges, ranges_body), kSetTooLarge);
  EXPECT_EQ(decode_status(kSetBitmap, bitmap_body), kSetTooLarge);
  Bytes just_over(kMaxSetBytes + 1, 0xFF);
  EXPECT_EQ(decode_status(kSetBitmap, just_over), kSetTooLarge);
}

TEST(SetCodecDecode, EmptyBodiesAndEncodings) {
  for (SetEncoding e : kRealEncodings) EXPECT_EQ(decode_status(e, {}), kSetEmpty) << encoding_name(e);
  ReceiverSet out;
  ASSERT_TRUE(out.append(4));
  EXPECT_EQ(decode(kSetNone, {}, out), kOk);
  EXPECT_TRUE(out.empty()); // the output is cleared
  EXPECT_EQ(decode_status(kSetNone, {0, 1}), kBadSetEncoding);
  EXPECT_EQ(decode_status((SetEncoding)4, {0, 1}), kBadSetEncoding);
  EXPECT_EQ(decode_status((SetEncoding)15, {0, 1}), kBadSetEncoding);
}

TEST(SetCodecDecode, DestinationTooSmallIsTooLarge) {
  BasicReceiverSet<2> small;
  EXPECT_EQ(decode(kSetList, {0, 1, 0, 3, 0, 5}, small), kSetTooLarge);
  EXPECT_EQ(decode(kSetRanges, {0, 1, 0, 1, 0, 3, 0, 3, 0, 5, 0, 5}, small), kSetTooLarge);
  EXPECT_EQ(decode(kSetBitmap, {0, 0, 0, 1, 0xA8}, small), kSetTooLarge);
  // Touching ids merge, so the same count of ids can fit.
  EXPECT_EQ(decode(kSetList, {0, 1, 0, 2, 0, 5}, small), kOk);
  EXPECT_EQ(small.size(), 3u);
}

} // namespace
