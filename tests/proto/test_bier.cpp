// BIER comparison (bier.hpp): the cost model itself, and the claim Fanout is built on: for the
// same receiver set, Fanout's addressing bytes never exceed BIER's header bytes, BIER at its best
// BitString length.
#include "fanout/proto/proto.hpp"

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

template <uint32_t M> void fill_set(const std::vector<NodeId> &ascending, BasicReceiverSet<M> &out) {
  out.clear();
  for (NodeId id : ascending) ASSERT_TRUE(out.append(id)) << "id " << id;
}

// ---- Cost model, by hand -----------------------------------------------------------------------

TEST(BierCost, HandCheckedExamples) {
  ReceiverSet set;
  ASSERT_TRUE(set.append(0));
  ASSERT_TRUE(set.append(63));
  ASSERT_TRUE(set.append(64));

  BierCost bsl64 = bier_cost(set, 64); // ids 0, 63 in SI 0; 64 in SI 1
  EXPECT_EQ(bsl64.bsl, 64u);
  EXPECT_EQ(bsl64.copies, 2u);
  EXPECT_EQ(bsl64.bytes_per_copy, 20u); // 12 + 64 / 8
  EXPECT_EQ(bsl64.total_bytes, 40u);

  BierCost bsl128 = bier_cost(set, 128);
  EXPECT_EQ(bsl128.copies, 1u);
  EXPECT_EQ(bsl128.bytes_per_copy, 28u);
  EXPECT_EQ(bsl128.total_bytes, 28u);

  EXPECT_EQ(bier_cost(set, 256).total_bytes, 44u);
  EXPECT_EQ(bier_cost(set, 4096).total_bytes, 524u);

  BierCost best = bier_best(set);
  EXPECT_EQ(best.bsl, 128u);
  EXPECT_EQ(best.total_bytes, 28u);
}

TEST(BierCost, RangesSpanningAndSharingSubsets) {
  ReceiverSet spans;
  ASSERT_TRUE(spans.append_range(60, 200)); // SIs 0..3 at BSL 64
  EXPECT_EQ(bier_cost(spans, 64).copies, 4u);
  EXPECT_EQ(bier_cost(spans, 128).copies, 2u);
  EXPECT_EQ(bier_cost(spans, 256).copies, 1u);

  ReceiverSet shared;
  ASSERT_TRUE(shared.append(10));
  ASSERT_TRUE(shared.append_range(20, 30));
  ASSERT_TRUE(shared.append(63)); // three ranges, all in SI 0
  ASSERT_TRUE(shared.append(64 * 5 + 1));
  EXPECT_EQ(bier_cost(shared, 64).copies, 2u);

  ReceiverSet whole;
  ASSERT_TRUE(whole.append_range(0, 4095));
  EXPECT_EQ(bier_cost(whole, 64).total_bytes, 64u * 20);
  BierCost best = bier_best(whole);
  EXPECT_EQ(best.bsl, 4096u);
  EXPECT_EQ(best.copies, 1u);
  EXPECT_EQ(best.total_bytes, 524u);

  ReceiverSet everything;
  ASSERT_TRUE(everything.append_range(0, 65535));
  EXPECT_EQ(bier_best(everything).total_bytes, 16u * 524);

  ReceiverSet empty;
  EXPECT_EQ(bier_cost(empty, 64).copies, 0u);
  EXPECT_EQ(bier_cost(empty, 64).total_bytes, 0u);
}

TEST(BierCost, MatchesBruteForceAndBestIsTheMinimum) {
  std::mt19937 rng(8279);
  auto set = std::make_unique<LargeReceiverSet>();
  for (uint32_t trial = 0; trial < 200; trial++) {
    const uint32_t id_space = 1u << std::uniform_int_distribution<uint32_t>(6, 16)(rng);
    const uint32_t k = std::uniform_int_distribution<uint32_t>(1, std::min(id_space, 2000u))(rng);
    std::set<NodeId> chosen;
    std::uniform_int_distribution<uint32_t> any(0, id_space - 1);
    while (chosen.size() < k) chosen.insert((NodeId)any(rng));
    fill_set(std::vector<NodeId>(chosen.begin(), chosen.end()), *set);

    uint32_t min_total = UINT32_MAX;
    for (uint32_t bsl = kBierMinBsl; bsl <= kBierMaxBsl; bsl *= 2) {
      std::set<uint32_t> subsets;
      for (NodeId id : chosen) subsets.insert(id / bsl);
      BierCost c = bier_cost(*set, bsl);
      ASSERT_EQ(c.copies, subsets.size()) << "trial " << trial << " bsl " << bsl;
      ASSERT_EQ(c.total_bytes, c.copies * (kBierHeaderBytes + bsl / 8));
      min_total = std::min(min_total, c.total_bytes);
    }
    ASSERT_EQ(bier_best(*set).total_bytes, min_total) << "trial " << trial;
  }
}

// ---- The grid: Fanout addressing bytes <= BIER header bytes ------------------------------------

enum Shape { kUniform, kClustered, kMoe, kEveryOther, kContiguous, kShapeCount };
const char *const kShapeNames[kShapeCount] = {"uniform", "clustered", "moe", "every-other", "contiguous"};

std::vector<NodeId> sorted_unique(std::vector<NodeId> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// k distinct ids of [0, n), uniformly.
std::vector<NodeId> uniform_ids(std::mt19937 &rng, uint32_t k, uint32_t n) {
  std::vector<NodeId> pool(n);
  for (uint32_t i = 0; i < n; i++) pool[i] = (NodeId)i;
  for (uint32_t i = 0; i < k; i++) std::swap(pool[i], pool[std::uniform_int_distribution<uint32_t>(i, n - 1)(rng)]);
  pool.resize(k);
  return sorted_unique(pool);
}

// Top up `ids` with uniform ids until it holds k distinct ids.
std::vector<NodeId> top_up(std::mt19937 &rng, std::vector<NodeId> ids, uint32_t k, uint32_t n) {
  ids = sorted_unique(ids);
  std::vector<bool> taken(n, false);
  for (NodeId id : ids) taken[id] = true;
  std::uniform_int_distribution<uint32_t> any(0, n - 1);
  while (ids.size() < k) {
    uint32_t id = any(rng);
    if (!taken[id]) taken[id] = true, ids.push_back((NodeId)id);
  }
  return sorted_unique(ids);
}

// 1..4 clumps, each a window filled at ~75% density, at random places.
std::vector<NodeId> clustered_ids(std::mt19937 &rng, uint32_t k, uint32_t n) {
  const uint32_t clumps = std::min(k, std::uniform_int_distribution<uint32_t>(1, 4)(rng));
  const uint32_t window = std::min(n, (k / clumps) * 4 / 3 + 1);
  std::vector<NodeId> pool;
  for (uint32_t c = 0; c < clumps; c++) {
    uint32_t start = std::uniform_int_distribution<uint32_t>(0, n - window)(rng);
    for (uint32_t i = 0; i < window; i++) pool.push_back((NodeId)(start + i));
  }
  pool = sorted_unique(pool);
  std::shuffle(pool.begin(), pool.end(), rng);
  if (pool.size() > k) pool.resize(k);
  return top_up(rng, pool, k, n);
}

// MoE dispatch: 256 experts placed on the nodes in equal blocks (expert e on nodes
// [e * n / 256, (e + 1) * n / 256); with fewer nodes than experts, expert e on node e mod n).
// A token goes to its top-8 experts plus the shared expert 0; a batch of tokens to the union
// of those, taking from each expert block the shards the message needs, until k nodes.
std::vector<NodeId> moe_ids(std::mt19937 &rng, uint32_t k, uint32_t n) {
  const uint32_t experts = 256, top = 8;
  const uint32_t block = std::max(1u, n / experts);
  const uint32_t per_expert = std::min(block, std::max(1u, (k + top) / (top + 1)));
  std::vector<bool> taken(n, false);
  std::vector<NodeId> ids;
  auto add_expert = [&](uint32_t e) {
    for (uint32_t s = 0; s < per_expert && ids.size() < k; s++) {
      uint32_t node = n >= experts ? e * block + s : e % n;
      if (!taken[node]) taken[node] = true, ids.push_back((NodeId)node);
    }
  };
  add_expert(0);
  std::uniform_int_distribution<uint32_t> routed(1, experts - 1);
  for (uint32_t guard = 0; ids.size() < k && guard < 100000; guard++) {
    std::set<uint32_t> token_experts;
    while (token_experts.size() < top) token_experts.insert(routed(rng));
    for (uint32_t e : token_experts) add_expert(e);
  }
  return top_up(rng, ids, k, n); // every expert block exhausted: fill the rest like a dense job
}

// Returns false if the shape does not exist for (k, n).
bool make_shape(std::mt19937 &rng, Shape shape, uint32_t k, uint32_t n, std::vector<NodeId> &ids) {
  switch (shape) {
  case kUniform: ids = uniform_ids(rng, k, n); return true;
  case kClustered: ids = clustered_ids(rng, k, n); return true;
  case kMoe: ids = moe_ids(rng, k, n); return true;
  case kEveryOther: {
    if (2 * k - 1 > n) return false;
    uint32_t start = 2 * std::uniform_int_distribution<uint32_t>(0, (n - (2 * k - 1)) / 2)(rng);
    ids.clear();
    for (uint32_t i = 0; i < k; i++) ids.push_back((NodeId)(start + 2 * i));
    return true;
  }
  case kContiguous: {
    uint32_t start = std::uniform_int_distribution<uint32_t>(0, n - k)(rng);
    ids.clear();
    for (uint32_t i = 0; i < k; i++) ids.push_back((NodeId)(start + i));
    return true;
  }
  default: return false;
  }
}

struct FanoutCost {
  uint32_t total_bytes = 0;
  uint32_t packets = 0;
};

// What the sender puts on the wire to address the set: one packet per partition piece, each with
// the fixed set fields and the piece's shortest encoding.
FanoutCost fanout_addressing(const LargeReceiverSet &set) {
  FanoutCost cost;
  const uint32_t needed = partition_for_packets(set, kMaxSetBytes, nullptr, 0);
  std::vector<IdRange> pieces(needed);
  EXPECT_EQ(partition_for_packets(set, kMaxSetBytes, pieces.data(), needed), needed);
  auto piece_set = std::make_unique<LargeReceiverSet>();
  for (const IdRange &piece : pieces) {
    EXPECT_TRUE(intersect_range(set, piece.first, piece.last, *piece_set));
    uint32_t body = set_cost(*piece_set).best_bytes();
    EXPECT_LE(body, kMaxSetBytes);
    cost.total_bytes += kAddressingFixedBytes + body;
  }
  cost.packets = needed;
  return cost;
}

TEST(BierGrid, FanoutAddressingNeverExceedsBier) {
  std::mt19937 rng(1000003);
  auto set = std::make_unique<LargeReceiverSet>();
  const uint32_t id_spaces[] = {64, 256, 1024, 4096, 16384, 65536};
  const uint32_t instances = 5; // random instances per shape; the table shows the tightest
  int32_t worst_margin = INT32_MAX;
  std::string worst_case;
  std::string table =
      "BIER grid: fanout/bier addressing bytes, tightest of " + std::to_string(instances) + " instances per shape\n";
  char line[256];
  std::snprintf(line, sizeof(line), "%6s %6s |", "k", "N");
  table += line;
  for (uint32_t s = 0; s < kShapeCount; s++) {
    std::snprintf(line, sizeof(line), " %17s", kShapeNames[s]);
    table += line;
  }
  table += "\n";

  for (uint32_t n : id_spaces) {
    std::vector<uint32_t> ks = {1, 2, 4, 8, 9, 16, 32, 64, 128, 256, 512, 1024, 4096, n / 2, n};
    ks.erase(std::remove_if(ks.begin(), ks.end(), [n](uint32_t k) { return k > n; }), ks.end());
    std::sort(ks.begin(), ks.end());
    ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
    for (uint32_t k : ks) {
      std::snprintf(line, sizeof(line), "%6u %6u |", k, n);
      table += line;
      for (uint32_t s = 0; s < kShapeCount; s++) {
        const Shape shape = (Shape)s;
        const bool random_shape = shape != kContiguous && shape != kEveryOther && k < n;
        FanoutCost tight_fanout;
        uint32_t tight_bier = 0;
        int32_t tight_margin = INT32_MAX;
        bool exists = false;
        for (uint32_t inst = 0; inst < (random_shape ? instances : 1); inst++) {
          std::vector<NodeId> ids;
          if (!make_shape(rng, shape, k, n, ids)) break;
          exists = true;
          ASSERT_EQ(ids.size(), k) << kShapeNames[s];
          fill_set(ids, *set);
          const FanoutCost fanout = fanout_addressing(*set);
          const uint32_t bier = bier_best(*set).total_bytes;
          EXPECT_LE(fanout.total_bytes, bier)
              << "k=" << k << " N=" << n << " shape=" << kShapeNames[s] << " instance " << inst
              << " ranges=" << set->range_count() << " packets=" << fanout.packets;
          if (fanout.packets == 1) {
            EXPECT_LE(fanout.total_bytes, 2 * k + kAddressingFixedBytes)
                << "k=" << k << " N=" << n << " shape=" << kShapeNames[s] << ": never worse than a list";
          }
          int32_t margin = (int32_t)bier - (int32_t)fanout.total_bytes;
          if (margin < tight_margin) tight_margin = margin, tight_fanout = fanout, tight_bier = bier;
          if (margin < worst_margin) {
            worst_margin = margin;
            worst_case = "k=" + std::to_string(k) + " N=" + std::to_string(n) + " " + kShapeNames[s] + ": fanout " +
                         std::to_string(fanout.total_bytes) + " B, BIER " + std::to_string(bier) + " B";
          }
        }
        if (exists) {
          std::snprintf(line, sizeof(line), " %8u/%-8u", tight_fanout.total_bytes, tight_bier);
        } else {
          std::snprintf(line, sizeof(line), " %17s", "-");
        }
        table += line;
      }
      table += "\n";
    }
  }
  table += "worst margin (BIER - fanout): " + std::to_string(worst_margin) + " B at " + worst_case + "\n";
  std::fputs(table.c_str(), stdout);
  std::fflush(stdout);
  EXPECT_GE(worst_margin, 0);
}

TEST(BierGrid, FanoutAddressingHandChecked) {
  auto set = std::make_unique<LargeReceiverSet>();
  ASSERT_TRUE(set->append(1234));
  EXPECT_EQ(fanout_addressing(*set).total_bytes, kAddressingFixedBytes + 2); // one listed id
  EXPECT_EQ(bier_best(*set).total_bytes, 20u);

  set->clear();
  ASSERT_TRUE(set->append_range(0, 65535));
  FanoutCost all = fanout_addressing(*set);
  EXPECT_EQ(all.packets, 1u);
  EXPECT_EQ(all.total_bytes, kAddressingFixedBytes + 4); // one range
}

} // namespace

// ---- BIER over Ethernet (the simulator's baseline encapsulation) -------------------------------

namespace bier_frames {

std::vector<uint8_t> frame_with(uint32_t si, uint32_t bsl, const std::vector<uint32_t> &positions,
                                uint32_t payload_len = 30) {
  uint8_t dst[6] = {2, 0, 0, 0, 0, 7}, src[6] = {2, 0, 0, 0, 0, 1};
  std::vector<uint8_t> bits(bsl / 8, 0), payload(payload_len);
  for (uint32_t p : positions) bier_set_bit(bits.data(), bsl, p);
  for (uint32_t i = 0; i < payload_len; i++) payload[i] = (uint8_t)(i * 7);
  BierHeader h = make_bier_header(si, bsl, 1, 0xABCDE);
  std::vector<uint8_t> out(kMaxFrameBytes);
  uint32_t len = 0;
  EXPECT_TRUE(
      build_bier_frame(dst, src, h, bits.data(), payload.data(), payload_len, out.data(), (uint32_t)out.size(), &len));
  out.resize(len);
  return out;
}

TEST(BierFrame, RoundTripsEveryField) {
  std::vector<uint8_t> f = frame_with(3, 256, {0, 17, 255});
  ASSERT_EQ(f.size(), 14u + 12u + 32u + 30u);
  EXPECT_EQ(load_be16(f.data() + 12), 0xAB37);
  BierView v;
  ASSERT_EQ(parse_bier_frame(f.data(), (uint32_t)f.size(), v), kBierOk);
  EXPECT_EQ(v.hdr.bsl, 256u);
  EXPECT_EQ(v.si, 3u);
  EXPECT_EQ(v.hdr.bift_id, 4u);
  EXPECT_EQ(v.hdr.ttl, kBierDefaultTtl);
  EXPECT_EQ(v.hdr.s, 1);
  EXPECT_EQ(v.hdr.entropy, 0xABCDEu);
  EXPECT_EQ(v.hdr.proto, kBierProtoFanout);
  EXPECT_EQ(v.hdr.bfir_id, 1);
  EXPECT_EQ(v.payload_offset, 58u);
  EXPECT_EQ(v.payload_len, 30u);
  EXPECT_EQ(f[v.payload_offset + 29], (uint8_t)(29 * 7));
  const uint8_t *bits = f.data() + v.bitstring_offset;
  for (uint32_t p = 0; p < 256; p++) EXPECT_EQ(bier_test_bit(bits, 256, p), p == 0 || p == 17 || p == 255) << p;
}

TEST(BierFrame, BitPositionOneIsTheLastBytesLeastSignificantBit) {
  // RFC 8279 section 3: BFR-id 1 (our id 0 of the SI) is the rightmost bit of the BitString.
  std::vector<uint8_t> f = frame_with(0, 64, {0, 9, 63});
  const uint8_t *bits = f.data() + 14 + 12;
  EXPECT_EQ(bits[7], 0x01);
  EXPECT_EQ(bits[6], 0x02);
  EXPECT_EQ(bits[0], 0x80);
}

TEST(BierFrame, BslCodesAreRfc8296s) {
  EXPECT_EQ(bier_bsl_code(64), 1);
  EXPECT_EQ(bier_bsl_code(256), 3);
  EXPECT_EQ(bier_bsl_code(4096), 7);
  EXPECT_EQ(bier_bsl_code(100), 0);
  EXPECT_EQ(bier_bsl_code(8192), 0);
  for (uint8_t c = 1; c <= 7; c++) EXPECT_EQ(bier_bsl_code(bier_bsl_bits(c)), c);
  EXPECT_EQ(bier_bsl_bits(0), 0u);
  EXPECT_EQ(bier_bsl_bits(8), 0u);
}

TEST(BierFrame, MalformedFramesAreNamed) {
  std::vector<uint8_t> good = frame_with(0, 256, {5}, 0);
  BierView v;
  EXPECT_EQ(parse_bier_frame(good.data(), 10, v), kBierTruncated);
  EXPECT_EQ(parse_bier_frame(good.data(), 20, v), kBierTruncated);           // inside the header
  EXPECT_EQ(parse_bier_frame(good.data(), 14 + 12 + 31, v), kBierTruncated); // BitString cut short
  std::vector<uint8_t> f = good;
  f[12] = 0x08;
  f[13] = 0x00;
  EXPECT_EQ(parse_bier_frame(f.data(), (uint32_t)f.size(), v), kBierNotBier);
  f = good;
  f[14 + 4] = 0x45; // nibble 4
  EXPECT_EQ(parse_bier_frame(f.data(), (uint32_t)f.size(), v), kBierBadNibble);
  f = good;
  f[14 + 4] = 0x51; // version 1
  EXPECT_EQ(parse_bier_frame(f.data(), (uint32_t)f.size(), v), kBierBadVersion);
  f = good;
  f[14 + 5] = (uint8_t)((f[14 + 5] & 0x0F) | 0x80); // BSL code 8
  EXPECT_EQ(parse_bier_frame(f.data(), (uint32_t)f.size(), v), kBierBadBsl);
  std::vector<uint8_t> empty = frame_with(0, 256, {}, 0);
  EXPECT_EQ(parse_bier_frame(empty.data(), (uint32_t)empty.size(), v), kBierEmptyBitString);
}

TEST(BierFrame, BuildRefusesWhatDoesNotFit) {
  uint8_t mac[6] = {0}, bits[512] = {1}, out[100];
  uint32_t len = 7;
  BierHeader h = make_bier_header(0, 256, 0, 0);
  EXPECT_FALSE(build_bier_frame(mac, mac, h, bits, bits, 60, out, sizeof out, &len)); // 58 + 60 > 100
  EXPECT_EQ(len, 0u);
  h.bsl = 100;
  EXPECT_FALSE(build_bier_frame(mac, mac, h, bits, bits, 0, out, sizeof out, &len));
  h.bsl = 256;
  EXPECT_TRUE(build_bier_frame(mac, mac, h, bits, bits, 42, out, sizeof out, &len));
  EXPECT_EQ(len, 100u);
}

} // namespace bier_frames
