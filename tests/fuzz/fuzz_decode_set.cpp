// libFuzzer target: decode_set on arbitrary bodies, then the encoders on what it accepts.
//
// Input: byte 0 selects the encoding (mod 4: none, list, ranges, bitmap), the rest is the body.
// decode_set validates every receiver set a node receives; encode_set, SetCost and
// choose_encoding size and write every set a node sends, including relays that re-encode a
// received set, so a set that decodes must encode back within one packet to the same set.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fanout/proto/set_codec.hpp"
#include "fuzz_check.hpp"

using namespace fanout::proto;

namespace {

ReceiverSet g_set, g_back;
// Any encoding of any set: a 4-byte ranges body can name all 65,536 ids, 128 KiB as a list.
uint8_t g_out[2 * kNodeIdSpace];

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4 * kMaxSetBytes) return 0;
  SetEncoding enc = (SetEncoding)(data[0] % 4);
  // The body ends where libFuzzer's buffer ends, so ASan reports any read past it.
  const uint8_t *body = data + 1;
  uint32_t len = (uint32_t)(size - 1);

  int rc = decode_set(enc, body, len, g_set);
  FUZZ_CHECK(rc >= 0 && rc < kErrorCount);
  FUZZ_CHECK(rc != kNotFanout);

  // A small set (what an HLS kernel sizes for a subtree) must refuse, not overflow, and must
  // otherwise agree with the full-size decode.
  BasicReceiverSet<8> small;
  int rc_small = decode_set(enc, body, len, small);
  FUZZ_CHECK(fanout_fuzz::set_well_formed(small));
  if (rc == kOk) {
    if (g_set.range_count() <= 8) {
      FUZZ_CHECK(rc_small == kOk && small == g_set);
    } else {
      FUZZ_CHECK(rc_small == kSetTooLarge);
    }
  } else {
    FUZZ_CHECK(rc_small == rc || rc_small == kSetTooLarge);
  }
  if (rc != kOk) return 0;

  FUZZ_CHECK(fanout_fuzz::set_well_formed(g_set));
  FUZZ_CHECK(g_set.empty() == (enc == kSetNone));

  // SetCost predicts every encoding's size exactly: build_frame and the packet splitter size
  // frames with it before writing a byte.
  SetCost cost = set_cost(g_set);
  FUZZ_CHECK(cost.ids() == g_set.size());
  static const SetEncoding kAll[3] = {kSetList, kSetRanges, kSetBitmap};
  for (SetEncoding e : kAll) {
    uint32_t written = 0;
    int er = encode_set(g_set, e, g_out, sizeof g_out, &written);
    if (g_set.empty()) {
      FUZZ_CHECK(er == kSetEmpty && written == 0);
      continue;
    }
    FUZZ_CHECK(er == kOk);
    FUZZ_CHECK(written == cost.bytes(e));
    // List has one form per set (the very same bytes come back); ranges can only merge touching
    // pairs, so never grow; an accepted bitmap is canonical, so its re-encoding has its length
    // (finding 1 in docs/fuzzing.md).
    if (e == enc && e == kSetList) FUZZ_CHECK(written == len && std::memcmp(g_out, body, len) == 0);
    if (e == enc && e == kSetRanges) FUZZ_CHECK(written <= len);
    if (e == enc && e == kSetBitmap) FUZZ_CHECK(written == len);
    if (written <= kMaxSetBytes) {
      FUZZ_CHECK(decode_set(e, g_out, written, g_back) == kOk);
      FUZZ_CHECK(g_back == g_set);
    }
    // One byte short of the need must be refused without writing past cap (ASan watches the
    // exact-size heap buffer). Every non-empty body is at least 2 bytes, so it is never empty.
    if (written <= kMaxSetBytes) {
      uint8_t *tight = new uint8_t[written - 1];
      uint32_t w2 = 1234;
      FUZZ_CHECK(encode_set(g_set, e, tight, written - 1, &w2) == kSetTooLarge && w2 == 0);
      delete[] tight;
    }
  }

  // The encoder's own choice: the shortest of the three, and it must fit one packet since the
  // input did (a relay re-encodes received sets this way).
  SetEncoding best = choose_encoding(g_set);
  FUZZ_CHECK(best == cost.best_encoding());
  if (g_set.empty()) {
    FUZZ_CHECK(best == kSetNone);
  } else {
    FUZZ_CHECK(cost.bytes(best) <= cost.list_bytes() && cost.bytes(best) <= cost.ranges_bytes() &&
               cost.bytes(best) <= cost.bitmap_bytes());
  }
  uint32_t written = 0;
  FUZZ_CHECK(encode_set(g_set, best, g_out, kMaxSetBytes, &written) == kOk);
  FUZZ_CHECK(written == cost.best_bytes());
  FUZZ_CHECK(decode_set(best, g_out, written, g_back) == kOk);
  FUZZ_CHECK(g_back == g_set);
  return 0;
}
