// fanout-hls-bench: the HLS kernels in C-simulation, one step() per clock, with figures a
// hardware engineer reads: beats (or ACKs) per clock and latency in clocks, for a sweep of
// packet sizes, fan-outs and children counts. Clock counts are exact for the C model; what they
// leave out (multi-cycle set handling in hardware, synthesized II) is in docs/hls.md.
//
//   fanout-hls-bench            full sweep (a few seconds)
//   fanout-hls-bench --quick    fewer frames per point
//
// Rates at 300 MHz are the clock rate times the measured per-clock figure.
#include "ack_agg.hpp"
#include "parser.hpp"
#ifdef FANOUT_BENCH_REPLICATOR
#include "replicator.hpp"
#endif

#include "fanout/hls/arm.hpp"
#include "fanout/hls/axis.hpp"
#include "fanout/hls/neighbour.hpp"
#include "fanout/proto/beats.hpp"
#include "fanout/proto/packet.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace proto = fanout::proto;
namespace hw = fanout::hw;
using Words = std::vector<hw::axis_word>;
constexpr double kClockMhz = 300.0;

Words to_words(const std::vector<uint8_t> &f, uint8_t ingress) {
  std::vector<proto::Beat> beats(proto::beats_for((uint32_t)f.size()));
  proto::frame_to_beats(f.data(), (uint32_t)f.size(), beats.data(), (uint32_t)beats.size());
  Words w;
  for (const proto::Beat &b : beats) w.push_back(hw::from_beat(b, 0, ingress));
  return w;
}

std::vector<uint8_t> data_frame(proto::NodeId from, proto::NodeId to, const proto::ReceiverSet &set,
                                uint32_t payload_len, uint32_t msg) {
  proto::FanoutHeader h = proto::make_header(proto::kTypeData, from, from, msg, 0, payload_len);
  h.flags = proto::kFlagLast;
  std::vector<uint8_t> payload(payload_len);
  for (uint32_t i = 0; i < payload_len; i++) payload[i] = (uint8_t)(i * 13 + msg);
  std::vector<uint8_t> f(proto::kMaxFrameBytes);
  uint32_t len = 0;
  int rc = proto::build_frame(proto::cluster_net_headers(from, to, from, msg), h, set, payload.data(), payload_len,
                              proto::default_build_options(), f.data(), (uint32_t)f.size(), &len);
  if (rc != proto::kOk) {
    std::fprintf(stderr, "bench: build_frame: %s\n", proto::error_name(rc));
    std::exit(1);
  }
  f.resize(len);
  return f;
}

hw::ParsedMeta meta_of(const std::vector<uint8_t> &f, uint8_t ingress) {
  proto::ParseConfig pc = proto::default_parse_config();
  pc.verify_udp_checksum = false;
  proto::ParsedPacket pp;
  proto::ReceiverSet scratch;
  if (proto::parse_frame(f.data(), (uint32_t)f.size(), pc, pp, &scratch) != proto::kOk) {
    std::fprintf(stderr, "bench: a frame the bench built does not parse\n");
    std::exit(1);
  }
  hw::ParsedMeta m;
  m.hdr = pp.hdr;
  m.payload_len = pp.payload_len;
  m.frame_len = (uint32_t)f.size();
  m.ingress_port = ingress;
  m.ip_src = pp.ip_src;
  m.ip_dst = pp.ip_dst;
  m.udp_src_port = pp.udp_src_port;
  return m;
}

// ---- Parser ----------------------------------------------------------------------------------
void bench_parser(bool quick) {
  std::printf("\n## Parser (hls/parser): back-to-back DATA frames, outputs always ready\n\n");
  std::printf("| frame bytes | beats | frames | in beats/clock | out beats/clock | Mpps @300 MHz | latency (clocks, "
              "first beat in -> first beat out) |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  proto::ReceiverSet set;
  set.append(4);
  for (uint32_t size : {66u, 128u, 256u, 512u, 1024u, 1518u, 4096u, 9014u}) {
    uint32_t beats = proto::beats_for(size);
    uint32_t frames = std::max(100u, (quick ? 20000u : 200000u) / beats);
    std::vector<uint8_t> f = data_frame(3, 7, set, size - 66, 1);
    Words w = to_words(f, 0);
    auto parser = std::make_unique<hw::Parser>();
    hls::stream<hw::axis_word> in, out_fanout, out_host;
    hls::stream<hw::ParsedMeta> out_meta;
    uint64_t sent = 0, total = (uint64_t)frames * w.size(), out_beats = 0, cycle = 0;
    uint64_t first_out = 0, last_out = 0, offered = 0, refused = 0;
    for (; out_beats < total && cycle < 20 * total + 1000; cycle++) {
      if (sent < total && in.empty()) in.write(w[sent++ % w.size()]), offered++;
      parser->step(in, out_fanout, out_meta, out_host);
      if (!in.empty()) refused++; // the beat offered this clock was not taken
      if (!out_meta.empty()) out_meta.read();
      if (!out_fanout.empty()) {
        out_fanout.read();
        if (out_beats++ == 0) first_out = cycle;
        last_out = cycle;
      }
    }
    double in_rate = (double)(offered - refused) / (double)offered;
    double out_rate = (double)out_beats / (double)(last_out - first_out + 1);
    std::printf("| %u | %u | %u | %.4f | %.4f | %.2f | %llu |\n", size, beats, frames, in_rate, out_rate,
                (double)frames / (double)(last_out + 1) * kClockMhz, (unsigned long long)first_out);
  }
}

#ifdef FANOUT_BENCH_REPLICATOR
// ---- Replicator --------------------------------------------------------------------------------
// One frame through the replicator alone: (first copy beat, last copy beat) clocks after its
// first input beat, and the copy count.
struct ReplRun {
  uint64_t out_beats = 0, first_out = UINT64_MAX, last_out = 0, copies = 0, clocks = 0;
};

ReplRun run_replicator(uint32_t fanout, const std::vector<uint8_t> &frame, uint32_t frames) {
  typedef hw::Replicator<2> Repl;
  auto r = std::make_unique<Repl>();
  r->set_self(hw::cluster_address(1));
  r->set_mode(hw::kReplModeTree);
  r->set_fanout(fanout);
  for (uint32_t n = 0; n < 1024; n++) r->set_neighbour((proto::NodeId)n, hw::cluster_neighbour((proto::NodeId)n, 0));
  Words w = to_words(frame, 1);
  hw::ParsedMeta meta = meta_of(frame, 1);
  hls::stream<hw::ParsedMeta> in_meta, out_fb_meta;
  hls::stream<hw::axis_word> in_frame, out_port[2], out_host, out_fb;
  hls::stream<hw::ArmWord> out_arm;
  uint64_t total = (uint64_t)frames * w.size(), sent = 0;
  ReplRun run;
  bool first_beat_of_copy = true;
  for (uint64_t cycle = 0; cycle < 100 * total + 10000; cycle++) {
    if (sent < total && !in_frame.full() && (sent % w.size() != 0 || !in_meta.full())) {
      if (sent % w.size() == 0) in_meta.write(meta);
      in_frame.write(w[sent % w.size()]);
      sent++;
    }
    r->step(in_meta, in_frame, out_port, out_host, out_arm, out_fb_meta, out_fb);
    while (!out_arm.empty()) out_arm.read();
    if (!out_port[0].empty()) {
      hw::axis_word b = out_port[0].read();
      if (run.first_out == UINT64_MAX) run.first_out = cycle;
      run.last_out = cycle;
      run.out_beats++;
      if (first_beat_of_copy) run.copies++;
      first_beat_of_copy = b.last == 1;
    }
    run.clocks = cycle + 1;
    if (sent == total && r->idle() && out_port[0].empty()) break;
  }
  return run;
}

void bench_replicator(bool quick) {
  std::printf("\n## Replicator (hls/replicator): tree mode, 64 receivers, fan-out F, every next hop on port 0 "
              "(one uplink), input always available\n\n");
  std::printf("| payload bytes | F | copies/frame | beats/copy (avg) | port 0 beats/clock | input frames/clock | "
              "latency first copy (clocks) | latency last copy (clocks) |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  proto::ReceiverSet set;
  set.append_range(10, 73);
  for (uint32_t payload : {0u, 64u, 256u, 1024u, 4096u, 8192u}) {
    for (uint32_t fanout : {2u, 4u, 8u, 16u}) {
      std::vector<uint8_t> f = data_frame(1000, 1, set, payload, 7);
      uint32_t frames = std::max(20u, (quick ? 4000u : 40000u) / proto::beats_for((uint32_t)f.size()) / fanout);
      ReplRun one = run_replicator(fanout, f, 1);
      ReplRun many = run_replicator(fanout, f, frames);
      double util = (double)many.out_beats / (double)(many.last_out - many.first_out + 1);
      std::printf("| %u | %u | %llu | %.1f | %.4f | %.4f | %llu | %llu |\n", payload, fanout,
                  (unsigned long long)one.copies, (double)one.out_beats / (double)one.copies, util,
                  (double)frames / (double)(many.last_out - many.first_out + 1), (unsigned long long)one.first_out,
                  (unsigned long long)one.last_out);
    }
  }
}
#endif

// ---- ACK aggregator ---------------------------------------------------------------------------
void bench_ack_agg(bool quick) {
  std::printf("\n## ACK aggregator (hls/ack_agg): k children per message, each answers with a 2-beat ACK "
              "(one range), output always ready\n\n");
  std::printf("| children k | messages | ACK beats in | clocks | in beats/clock | ACKs/clock | aggregated ACKs out | "
              "latency (clocks, last child's ACK in -> aggregate out) |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  const proto::NodeId kSelf = 1000, kSender = 5;
  for (uint32_t k : {2u, 4u, 8u, 16u}) {
    uint32_t messages = (quick ? 8000u : 40000u) / k;
    typedef hw::AckAgg<> Agg;
    hw::AckAggConfig cfg = hw::default_ack_agg_config();
    cfg.self = hw::cluster_address(kSelf);
    cfg.silent_timeout = 1u << 30;
    auto agg = std::make_unique<Agg>(cfg);
    agg->set_neighbour(kSender, hw::cluster_neighbour(kSender, 0));
    for (uint32_t c = 0; c < k; c++)
      agg->set_neighbour((proto::NodeId)(2000 + c), hw::cluster_neighbour((proto::NodeId)(2000 + c), 1));
    // Inputs: per message k arm words, then k ACK frames.
    std::vector<hw::ArmWord> arms;
    std::vector<std::pair<hw::ParsedMeta, Words>> acks;
    for (uint32_t m = 0; m < messages; m++) {
      for (uint32_t c = 0; c < k; c++) {
        hw::ArmWord a;
        a.key.sender = kSender;
        a.key.message_id = m;
        a.parent = kSender;
        a.child.id = (proto::NodeId)(2000 + c);
        a.child.hull_first = (proto::NodeId)(100 * c);
        a.child.hull_last = (proto::NodeId)(100 * c + 9);
        a.total_packets = 1;
        a.last = c + 1 == k;
        arms.push_back(a);
        proto::FanoutHeader h = proto::make_header(proto::kTypeAck, kSender, (proto::NodeId)(2000 + c), m, 1, 10);
        proto::ReceiverSet ids;
        ids.append_range((proto::NodeId)(100 * c), (proto::NodeId)(100 * c + 9));
        std::vector<uint8_t> f(256);
        uint32_t len = 0;
        proto::build_frame(proto::cluster_net_headers((proto::NodeId)(2000 + c), kSelf, kSender, m), h, ids,
                           (const uint8_t *)nullptr, 0, proto::default_build_options(), f.data(), (uint32_t)f.size(),
                           &len);
        f.resize(len);
        acks.push_back({meta_of(f, 1), to_words(f, 1)});
      }
    }
    hls::stream<hw::ArmWord> in_arm;
    hls::stream<hw::ParsedMeta> in_meta;
    hls::stream<hw::axis_word> in_fb, out;
    size_t arm_i = 0, ack_i = 0, beat_i = 0;
    uint64_t in_beats = 0, first_in = UINT64_MAX, last_in = 0, outs = 0, lat_max = 0, cycle = 0;
    uint64_t last_ack_done = 0;
    bool out_first = true;
    for (; cycle < 100ull * acks.size() + 1000 && outs < messages; cycle++) {
      // Arm words run a bounded distance ahead of the ACKs (the replicator arms as copies leave).
      if (arm_i < arms.size() && arm_i < ack_i + 64 * k && !in_arm.full()) in_arm.write(arms[arm_i++]);
      if (ack_i < acks.size() && arm_i >= (ack_i / k + 1) * k && !in_fb.full()) {
        if (beat_i == 0) in_meta.write(acks[ack_i].first);
        in_fb.write(acks[ack_i].second[beat_i++]);
        if (first_in == UINT64_MAX) first_in = cycle;
      }
      uint32_t before = (uint32_t)in_fb.size();
      agg->step(in_arm, in_meta, in_fb, out);
      if (in_fb.size() < before || (before > 0 && in_fb.empty())) {
        in_beats++;
        last_in = cycle;
      }
      if (beat_i == acks[std::min(ack_i, acks.size() - 1)].second.size()) {
        beat_i = 0;
        if (++ack_i % k == 0) last_ack_done = cycle;
      }
      if (!out.empty()) {
        hw::axis_word w = out.read();
        if (out_first) {
          outs++;
          lat_max = std::max(lat_max, cycle - last_ack_done);
        }
        out_first = w.last == 1;
      }
    }
    uint64_t clocks = last_in - first_in + 1;
    std::printf("| %u | %u | %llu | %llu | %.4f | %.4f | %llu | %llu |\n", k, messages, (unsigned long long)in_beats,
                (unsigned long long)clocks, (double)in_beats / (double)clocks, (double)acks.size() / (double)clocks,
                (unsigned long long)outs, (unsigned long long)lat_max);
  }
}

} // namespace

int main(int argc, char **argv) {
  bool quick = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "fanout-hls-bench: unknown option '%s' (known: --quick)\n", argv[i]);
      return 2;
    }
  }
  std::printf("# Fanout HLS kernels, C-simulation, one step() per clock%s\n", quick ? " (--quick)" : "");
  bench_parser(quick);
#ifdef FANOUT_BENCH_REPLICATOR
  bench_replicator(quick);
#endif
  bench_ack_agg(quick);
  return 0;
}
