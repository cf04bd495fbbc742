// libFuzzer target: the header-parser kernel (hls/parser, fanout::hw::Parser) in C simulation.
//
// The kernel must classify every frame exactly as proto::parse_frame does (UDP checksum not
// verified) whatever the bytes and whatever the output backpressure: forward kOk frames unchanged
// with one ParsedMeta, pass kNotFanout frames to the host unchanged, drop and count the rest, and
// account for every frame the FIFO could not take. docs/fuzzing.md describes the input layout.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "auth_model.hpp"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/parsed_meta.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/packet.hpp"
#include "fuzz_check.hpp"
#include "parser.hpp"

namespace proto = fanout::proto;
namespace hw = fanout::hw;
using hw::axis_word;
using hw::ParsedMeta;

namespace {

typedef std::vector<uint8_t> Bytes;

// A frame may be declared (and zero-padded) up to here: past kMaxFrameBytes, so kFrameTooLong and
// the saturating byte count are reachable, and four such frames overflow the 512-beat FIFO.
const uint32_t kMaxDeclared = proto::kMaxFrameBytes + 2 * proto::kBeatBytes;

// Deterministic per-input pseudo-random numbers (xorshift32) for backpressure.
struct Rng {
  uint32_t s;
  uint32_t next() {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
  }
  // True with probability num / 16.
  bool chance(uint32_t num) { return (next() & 15) < num; }
};

// Probability (in sixteenths) that a consumer reads, or the producer writes, in a cycle.
const uint32_t kLevels[4] = {16, 12, 6, 1};

struct Expected {
  Bytes frame;
  uint8_t ingress;
  int code;
  proto::ParsedPacket pp;
  bool overflowed; // the FIFO was full: the kernel dropped it before classification
};

proto::ReceiverSet g_set;
std::unique_ptr<hw::Parser> g_parser;                    // about 160 KiB: one instance, reset per input
std::unique_ptr<fanout::test::ParserAuthModel> g_window; // the model's replay windows

const uint8_t kKey[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

bool same_word(const axis_word &a, const axis_word &b) {
  return a.data == b.data && a.keep == b.keep && a.last == b.last && a.user == b.user;
}

void check_meta(const ParsedMeta &m, const Expected &e) {
  const proto::FanoutHeader &h = e.pp.hdr;
  FUZZ_CHECK(m.hdr.version == h.version && m.hdr.type == h.type && m.hdr.flags == h.flags);
  FUZZ_CHECK(m.hdr.set_encoding == h.set_encoding && m.hdr.hops_left == h.hops_left && m.hdr.set_len == h.set_len);
  FUZZ_CHECK(m.hdr.sender == h.sender && m.hdr.origin == h.origin && m.hdr.message_id == h.message_id);
  FUZZ_CHECK(m.hdr.sequence == h.sequence && m.hdr.length == h.length);
  FUZZ_CHECK(m.payload_len == e.pp.payload_len);
  FUZZ_CHECK(m.frame_len == e.frame.size());
  FUZZ_CHECK(m.ingress_port == e.ingress);
  FUZZ_CHECK(m.ip_src == e.pp.ip_src && m.ip_dst == e.pp.ip_dst && m.udp_src_port == e.pp.udp_src_port);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  // Byte 0: bits 0-1 frames - 1, bit 2 repair IPv4 header checksums, bit 3 padded frames.
  // Byte 1: backpressure levels (2 bits each: input, out_fanout, out_meta, out_host). Then per
  // frame: ingress byte, 16-bit big-endian length, and, for padded frames, a 16-bit count of
  // stored bytes; then the stored bytes (all the length if not padded), cut short by the end of
  // the input. A padded frame is its stored bytes zero-filled up to its length.
  // Byte 0 bits 4-5: authentication mode (0 off, 1 accept, 2 require, 3 require and sign): in
  // mode 3 every frame that parses as valid Fanout without kFlagAuth is signed with the test key
  // and counter (ingress byte mod 8) + 1 (so counters repeat: replays), and bit 6 then flips one
  // bit of the signed Fanout part (at ingress x 7 mod its length: a forgery).
  const uint32_t nframes = (data[0] & 3u) + 1;
  const bool fix_checksum = (data[0] & 4u) != 0;
  const bool pad = (data[0] & 8u) != 0;
  const uint32_t auth_bits = (data[0] >> 4) & 3u;
  const uint8_t auth_mode = auth_bits == 3 ? (uint8_t)hw::kParserAuthRequire : (uint8_t)auth_bits;
  const bool sign = auth_bits == 3, forge = sign && (data[0] & 0x40u) != 0;
  const uint32_t p_in = kLevels[data[1] & 3], p_fanout = kLevels[(data[1] >> 2) & 3];
  const uint32_t p_meta = kLevels[(data[1] >> 4) & 3], p_host = kLevels[(data[1] >> 6) & 3];
  Rng rng{0x9E3779B9u ^ ((uint32_t)data[0] << 8 | data[1]) ^ (uint32_t)size};

  std::vector<Expected> frames;
  size_t pos = 2;
  const size_t header = pad ? 5 : 3;
  for (uint32_t i = 0; i < nframes && pos + header <= size; i++) {
    Expected e;
    e.ingress = data[pos];
    uint32_t declared = ((uint32_t)data[pos + 1] << 8 | data[pos + 2]) % (kMaxDeclared + 1);
    uint32_t stored = pad ? std::min<uint32_t>(declared, (uint32_t)data[pos + 3] << 8 | data[pos + 4]) : declared;
    pos += header;
    uint32_t take = (uint32_t)std::min<size_t>(stored, size - pos);
    e.frame.assign(data + pos, data + pos + take);
    pos += take;
    if (pad) e.frame.resize(declared, 0);
    if (e.frame.empty()) continue; // no beats: not a frame
    if (fix_checksum && e.frame.size() >= proto::kUdpOffset) {
      uint8_t *ip = e.frame.data() + proto::kIpv4Offset;
      proto::store_be16(ip + 10, 0);
      proto::store_be16(ip + 10, proto::ipv4_checksum(ip));
    }
    proto::ParseConfig cfg = proto::default_parse_config();
    cfg.verify_udp_checksum = false;
    std::memset(&e.pp, 0, sizeof e.pp);
    e.code = proto::parse_frame(e.frame.data(), (uint32_t)e.frame.size(), cfg, e.pp, &g_set);
    FUZZ_CHECK(e.code >= 0 && e.code < proto::kErrorCount);
    if (sign && e.code == proto::kOk && !e.pp.auth) {
      Bytes f = e.frame;
      f.resize(f.size() + proto::kAuthTrailerBytes);
      uint32_t n = 0;
      if (proto::auth_append(f.data(), (uint32_t)e.frame.size(), (uint32_t)f.size(), kKey, (e.ingress & 7u) + 1u, &n)) {
        f.resize(n);
        if (forge) f[proto::kFanoutOffset + (e.ingress * 7u) % (n - proto::kFanoutOffset)] ^= 0x10;
        e.frame = f;
        std::memset(&e.pp, 0, sizeof e.pp);
        e.code = proto::parse_frame(e.frame.data(), (uint32_t)e.frame.size(), cfg, e.pp, &g_set);
        FUZZ_CHECK(e.code >= 0 && e.code < proto::kErrorCount);
      }
    }
    e.overflowed = false;
    frames.push_back(std::move(e));
  }
  if (frames.empty()) return 0;

  // The words fed, and for each frame the index of its last word.
  std::vector<axis_word> words;
  std::vector<size_t> last_word;
  for (const Expected &e : frames) {
    const uint32_t len = (uint32_t)e.frame.size();
    for (uint32_t off = 0; off < len; off += proto::kBeatBytes) {
      proto::Beat b;
      std::memset(&b, 0, sizeof b);
      uint32_t n = std::min<uint32_t>(proto::kBeatBytes, len - off);
      std::memcpy(b.data, e.frame.data() + off, n);
      b.keep = proto::keep_mask(n);
      b.last = off + n == len;
      words.push_back(hw::from_beat(b, 0, e.ingress));
    }
    last_word.push_back(words.size() - 1);
  }

  if (!g_parser) g_parser.reset(new hw::Parser());
  hw::Parser &p = *g_parser;
  p.reset();
  p.set_udp_port(proto::kDefaultUdpPort);
  p.set_auth(auth_mode, kKey);
  hls::stream<axis_word> in, out_fanout, out_host; // depth 2, as at the kernel's consumers
  hls::stream<ParsedMeta> out_meta;

  std::vector<std::vector<axis_word>> fanout_frames, host_frames;
  std::vector<axis_word> cur_f, cur_h;
  std::vector<ParsedMeta> metas;
  size_t next = 0, frame = 0;
  uint32_t idle = 0;
  // Every consumer reads with probability >= 1/16, so the FIFO (at most 512 beats) drains well
  // within this bound, verdicts included (at most about 2,400 clocks per signed frame); hitting
  // it means the kernel stopped making progress.
  const uint64_t max_cycles =
      128 * (uint64_t)words.size() + 128 * hw::kParserFifoBeats + 3000 * (uint64_t)frames.size() + 1000;
  uint64_t cycle = 0;
  for (; cycle < max_cycles; cycle++) {
    bool fed_last = false;
    uint32_t counts_before[proto::kErrorCount], overflow_before = 0, bad_before = 0;
    if (next < words.size() && rng.chance(p_in)) {
      fed_last = next == last_word[frame];
      if (fed_last) p.read_counters(counts_before, &overflow_before, &bad_before);
      in.write(words[next++]);
    }
    p.step(in, out_fanout, out_meta, out_host);
    FUZZ_CHECK(in.empty()); // the input is never stalled
    if (fed_last) {
      // The step that took a frame's tlast accounts for it exactly once: in error_count(code)
      // for the code parse_frame gives, or in overflow_count().
      uint32_t counts[proto::kErrorCount], overflow = 0, bad = 0;
      p.read_counters(counts, &overflow, &bad);
      FUZZ_CHECK(bad == bad_before);
      Expected &e = frames[frame];
      uint32_t changed = 0;
      for (int c = 0; c < proto::kErrorCount; c++) {
        FUZZ_CHECK(counts[c] == counts_before[c] || counts[c] == counts_before[c] + 1);
        changed += counts[c] - counts_before[c];
      }
      FUZZ_CHECK(overflow == overflow_before || overflow == overflow_before + 1);
      e.overflowed = overflow != overflow_before;
      FUZZ_CHECK(changed + (e.overflowed ? 1u : 0u) == 1);
      if (!e.overflowed) FUZZ_CHECK(counts[e.code] == counts_before[e.code] + 1);
      frame++;
    }
    if (!out_fanout.empty() && rng.chance(p_fanout)) {
      cur_f.push_back(out_fanout.read());
      if (cur_f.back().last == 1) fanout_frames.push_back(cur_f), cur_f.clear();
    }
    if (!out_meta.empty() && rng.chance(p_meta)) metas.push_back(out_meta.read());
    if (!out_host.empty() && rng.chance(p_host)) {
      cur_h.push_back(out_host.read());
      if (cur_h.back().last == 1) host_frames.push_back(cur_h), cur_h.clear();
    }
    // No amplification, even mid-run: never more output frames than input frames so far.
    FUZZ_CHECK(fanout_frames.size() + host_frames.size() <= frame);
    FUZZ_CHECK(metas.size() <= frame);
    bool quiet =
        next == words.size() && p.fifo_level() == 0 && out_fanout.empty() && out_meta.empty() && out_host.empty();
    idle = quiet ? idle + 1 : 0;
    if (idle > 4) break;
  }
  FUZZ_CHECK(cycle < max_cycles); // drained
  FUZZ_CHECK(frame == frames.size());
  FUZZ_CHECK(cur_f.empty() && cur_h.empty()); // no partial frame at an output

  // Totals: every frame counted once, nothing flagged bad.
  uint32_t counts[proto::kErrorCount], overflow = 0, bad = 0;
  p.read_counters(counts, &overflow, &bad);
  FUZZ_CHECK(bad == 0);
  uint32_t total = overflow;
  for (int c = 0; c < proto::kErrorCount; c++) total += counts[c];
  FUZZ_CHECK(total == frames.size());
  FUZZ_CHECK(counts[proto::kUdpBadChecksum] == 0);

  // Outputs: the kept frames in arrival order, unchanged beat for beat, each to its output.
  // Authentication: proto::auth_check against one replay window, in arrival order, as the
  // kernel's in-order verdicts; every frame the model drops is counted by its code.
  if (!g_window) g_window.reset(new fanout::test::ParserAuthModel());
  g_window->clear();
  uint32_t want_auth[proto::kAuthCodeCount] = {};
  size_t fi = 0, hi = 0;
  uint32_t overflowed = 0;
  for (size_t i = 0; i < frames.size(); i++) {
    const Expected &e = frames[i];
    if (e.overflowed) {
      overflowed++;
      continue;
    }
    if (auth_mode != hw::kParserAuthOff && e.code == proto::kOk &&
        !proto::is_peer_probe(e.pp.hdr.type, e.pp.hdr.hops_left)) {
      int c = proto::kAuthUnsigned;
      if (e.pp.auth) {
        c = g_window->check(e.frame.data(), (uint32_t)e.frame.size(), e.pp, kKey);
      }
      // Trusted unsigned (kept, not counted): from this node's host, or a link-local heartbeat.
      bool trusted = e.ingress == proto::kPortLocal || (e.pp.hdr.type == proto::kTypeProbe && e.pp.hdr.hops_left == 0);
      if (!(trusted && c == proto::kAuthUnsigned)) {
        want_auth[c]++;
        if (!proto::auth_accepted(c, auth_mode == hw::kParserAuthRequire)) continue; // dropped
      }
    }
    const size_t first = i == 0 ? 0 : last_word[i - 1] + 1;
    const size_t nwords = last_word[i] + 1 - first;
    const std::vector<axis_word> *got = nullptr;
    if (e.code == proto::kOk && proto::is_peer_probe(e.pp.hdr.type, e.pp.hdr.hops_left)) {
      continue; // a peer monitor's PROBE: valid, given to out_seen only (parser.hpp)
    } else if (e.code == proto::kOk) {
      FUZZ_CHECK(fi < fanout_frames.size() && fi < metas.size());
      check_meta(metas[fi], e);
      got = &fanout_frames[fi++];
    } else if (e.code == proto::kNotFanout) {
      FUZZ_CHECK(hi < host_frames.size());
      got = &host_frames[hi++];
    } else {
      continue; // dropped: counted above, nothing output
    }
    FUZZ_CHECK(got->size() == nwords);
    for (size_t w = 0; w < nwords; w++) FUZZ_CHECK(same_word((*got)[w], words[first + w]));
  }
  FUZZ_CHECK(overflowed == overflow);
  FUZZ_CHECK(fi == fanout_frames.size() && fi == metas.size() && hi == host_frames.size());
  for (int c = 0; c < proto::kAuthCodeCount; c++) FUZZ_CHECK(p.auth_count(c) == want_auth[c]);
  FUZZ_CHECK(p.auth_lanes_busy() == 0);
  return 0;
}
