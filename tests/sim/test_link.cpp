// Link: exact timing, serialization, independent directions; random loss and single-bit
// corruption (deterministic per seed); scheduled down periods; configuration checks.
#include "sim_test.hpp"

#include <stdexcept>

#include "fanout/sim/link.hpp"

namespace fanout {
namespace sim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;
using test::RecordingSink;

std::vector<uint8_t> pattern(size_t n, uint64_t tag) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(tag * 131 + i * 7);
  return b;
}

// Send frames from `side` back to back: wait for the transmitter when it is busy.
void send_all(Link &link, int side, std::vector<Frame> frames) {
  for (auto &f : frames) {
    while (link.busy(side)) sc_core::wait(link.ready_event(side));
    ASSERT_TRUE(link.send(side, std::move(f)));
  }
}

TEST(SimLink, TimingIsExact) {
  FANOUT_SIM_OWN_WORLD();
  Link link("link"); // 100 Gb/s, 500 ns, overhead 24
  RecordingSink at0, at1;
  link.attach(0, &at0);
  link.attach(1, &at1);
  const sc_time ser = sc_time(1524.0 * 8 / 100, SC_NS); // 121.92 ns
  EXPECT_EQ(link.serialization(1500), ser);
  bool refused_while_busy = false;
  test::spawn_thread("tx0", [&] {
    Frame f = make_frame(pattern(1500, 1));
    EXPECT_TRUE(link.send(0, f));
    EXPECT_TRUE(link.busy(0));
    EXPECT_FALSE(link.busy(1));
    refused_while_busy = !link.send(0, make_frame(pattern(1500, 9)));
    sc_core::wait(link.ready_event(0));
    EXPECT_EQ(sc_core::sc_time_stamp(), ser);
    EXPECT_FALSE(link.busy(0));
    sc_core::wait(2, SC_US); // the first frame is delivered alone
    std::vector<Frame> burst;
    for (int i = 0; i < 3; i++) burst.push_back(make_frame(pattern(1500, 10 + i)));
    send_all(link, 0, std::move(burst));
  });
  // The other direction, at the same times, on its own transmitter.
  test::spawn_thread("tx1", [&] {
    EXPECT_TRUE(link.send(1, make_frame(pattern(1500, 2))));
    sc_core::wait(link.ready_event(1));
    sc_core::wait(2, SC_US);
    std::vector<Frame> burst;
    for (int i = 0; i < 3; i++) burst.push_back(make_frame(pattern(1500, 20 + i)));
    send_all(link, 1, std::move(burst));
  });
  sc_core::sc_start(10, SC_US);

  EXPECT_TRUE(refused_while_busy);
  const sc_time delay(500, SC_NS);
  ASSERT_EQ(at1.got.size(), 4u);
  ASSERT_EQ(at0.got.size(), 4u);
  EXPECT_EQ(at1.got[0].at, ser + delay); // 621.92 ns
  EXPECT_EQ(at1.got[0].frame.bytes, pattern(1500, 1));
  const sc_time burst_start = ser + sc_time(2, SC_US);
  for (int i = 0; i < 3; i++) {
    // Serialized one after the other: frame i ends (i + 1) serializations after the burst start.
    EXPECT_EQ(at1.got[1 + i].at, burst_start + (i + 1) * ser + delay) << i;
    EXPECT_EQ(at1.got[1 + i].frame.bytes, pattern(1500, 10 + i));
    EXPECT_EQ(at0.got[1 + i].at, at1.got[1 + i].at) << "directions are independent";
    EXPECT_EQ(at0.got[1 + i].frame.bytes, pattern(1500, 20 + i));
  }
  EXPECT_EQ(at0.got[0].at, ser + delay);
  const LinkStats &s = link.stats(0);
  EXPECT_EQ(s.frames, 4u);
  EXPECT_EQ(s.bytes, 4u * 1500);
  EXPECT_EQ(s.delivered, 4u);
  EXPECT_EQ(s.busy, 4 * ser);
  EXPECT_NEAR(link.utilization(0), (4 * ser).to_seconds() / 10e-6, 1e-12);
  std::printf("link timing: 1500 B at 100 Gb/s + 500 ns: arrival %s; serialization %s\n",
              at1.got[0].at.to_string().c_str(), ser.to_string().c_str());
}

TEST(SimLink, LossIsDeterministicAndNearItsProbability) {
  FANOUT_SIM_OWN_WORLD();
  LinkConfig cfg;
  cfg.loss = 0.1;
  cfg.seed = 42;
  Link a("a", cfg), b("b", cfg); // same seed: same losses
  cfg.seed = 43;
  Link c("c", cfg);
  RecordingSink sa, sb, sc;
  a.attach(1, &sa);
  b.attach(1, &sb);
  c.attach(1, &sc);
  const int kFrames = 20000;
  for (Link *l : {&a, &b, &c}) {
    test::spawn_thread("tx", [l] {
      for (int i = 0; i < kFrames; i++) {
        while (l->busy(0)) sc_core::wait(l->ready_event(0));
        Frame f = make_frame(std::vector<uint8_t>(64, (uint8_t)i));
        f.id = (uint64_t)i; // the test's own numbering, to compare the runs
        l->send(0, std::move(f));
      }
    });
  }
  sc_core::sc_start(1000, SC_US);
  const LinkStats &s = a.stats(0);
  EXPECT_EQ(s.frames, (uint64_t)kFrames);
  EXPECT_GE(s.lost, 1800u);
  EXPECT_LE(s.lost, 2200u);
  EXPECT_EQ(s.delivered + s.lost, (uint64_t)kFrames);
  EXPECT_EQ(sa.got.size(), s.delivered);
  ASSERT_EQ(sa.got.size(), sb.got.size());
  for (size_t i = 0; i < sa.got.size(); i++) ASSERT_EQ(sa.got[i].frame.id, sb.got[i].frame.id) << i;
  EXPECT_NE(c.stats(0).lost, s.lost) << "another seed, another loss pattern";
  EXPECT_GE(c.stats(0).lost, 1800u);
  EXPECT_LE(c.stats(0).lost, 2200u);
  EXPECT_EQ(s.dropped_down, 0u);
  EXPECT_EQ(s.corrupted, 0u);
  std::printf("link loss 0.1 over %d frames: lost %llu (seed 42), %llu (seed 43)\n", kFrames,
              (unsigned long long)s.lost, (unsigned long long)c.stats(0).lost);
}

int bit_difference(const std::vector<uint8_t> &x, const std::vector<uint8_t> &y) {
  int d = 0;
  for (size_t i = 0; i < x.size(); i++) d += __builtin_popcount((unsigned)(x[i] ^ y[i]));
  return d;
}

TEST(SimLink, CorruptionFlipsExactlyOneBit) {
  FANOUT_SIM_OWN_WORLD();
  LinkConfig cfg;
  cfg.corrupt = 0.05;
  cfg.seed = 7;
  Link link("link", cfg);
  RecordingSink sink;
  link.attach(1, &sink);
  const int kFrames = 4000;
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < kFrames; i++) sent.push_back(pattern(100 + i % 200, i));
  test::spawn_thread("tx", [&] {
    for (int i = 0; i < kFrames; i++) {
      while (link.busy(0)) sc_core::wait(link.ready_event(0));
      Frame f = make_frame(sent[i]);
      f.id = (uint64_t)i;
      link.send(0, std::move(f));
    }
  });
  sc_core::sc_start(1000, SC_US);
  ASSERT_EQ(sink.got.size(), (size_t)kFrames);
  uint64_t differing = 0;
  for (const auto &a : sink.got) {
    const auto &orig = sent[a.frame.id];
    ASSERT_EQ(a.frame.bytes.size(), orig.size());
    int d = bit_difference(a.frame.bytes, orig);
    ASSERT_LE(d, 1) << "frame " << a.frame.id;
    EXPECT_EQ(a.frame.fcs_bad, d == 1) << "frame " << a.frame.id; // the receiving MAC's FCS check
    differing += (uint64_t)d;
  }
  EXPECT_EQ(differing, link.stats(0).corrupted);
  EXPECT_GE(differing, 120u); // 5 % of 4000 = 200
  EXPECT_LE(differing, 280u);
  std::printf("link corrupt 0.05 over %d frames: %llu frames with one bit flipped\n", kFrames,
              (unsigned long long)differing);
}

TEST(SimLink, DownPeriodLosesWhatIsOnTheWire) {
  FANOUT_SIM_OWN_WORLD();
  // 64-byte frames every 1 us from t = 0; each is on the wire 7.04 + 500 ns.
  // Down [20.6 us, 40.6 us): no frame is in flight at 20.6 us, so exactly the frames sent at
  // 21..40 us (20 frames) are lost, and every frame sent from 41 us on arrives.
  LinkConfig cfg;
  const sc_time t1(20.6, SC_US), t2(40.6, SC_US);
  cfg.schedule = {{t1, false}, {t2, true}};
  Link link("link", cfg);
  // A second link with the same schedule, where one frame is in flight when it goes down.
  Link link2("link2", cfg);
  RecordingSink sink, sink2;
  link.attach(1, &sink);
  link2.attach(1, &sink2);
  std::vector<bool> up_at;
  test::spawn_thread("tx", [&] {
    for (int i = 0; i < 60; i++) {
      up_at.push_back(link.up());
      Frame f = make_frame(std::vector<uint8_t>(64, 0));
      f.id = (uint64_t)i;
      EXPECT_TRUE(link.send(0, std::move(f)));
      sc_core::wait(1, SC_US);
    }
  });
  test::spawn_thread("tx2", [&] {
    sc_core::wait(t1 - sc_time(100, SC_NS)); // in flight at t1: lost
    link2.send(0, make_frame(std::vector<uint8_t>(64, 1)));
    sc_core::wait(t2 - sc_core::sc_time_stamp()); // first instant up again: delivered
    link2.send(0, make_frame(std::vector<uint8_t>(64, 2)));
  });
  sc_core::sc_start(100, SC_US);
  EXPECT_EQ(link.stats(0).dropped_down, 20u);
  EXPECT_EQ(link.stats(0).lost, 0u);
  ASSERT_EQ(sink.got.size(), 40u);
  for (const auto &a : sink.got) EXPECT_TRUE(a.frame.id <= 20 || a.frame.id >= 41) << a.frame.id;
  for (int i = 0; i < 60; i++) EXPECT_EQ(up_at[i], i <= 20 || i >= 41) << i;
  EXPECT_EQ(link2.stats(0).dropped_down, 1u);
  ASSERT_EQ(sink2.got.size(), 1u);
  EXPECT_EQ(sink2.got[0].frame.bytes[0], 2);
  EXPECT_TRUE(link.up());
}

TEST(SimLink, ConfigurationErrorsNameTheField) {
  auto message = [](const LinkConfig &c) {
    try {
      validate(c);
    } catch (const std::invalid_argument &e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  LinkConfig c;
  EXPECT_EQ(message(c), "accepted");
  c.gbps = 0;
  EXPECT_NE(message(c).find("LinkConfig.gbps"), std::string::npos) << message(c);
  c = LinkConfig();
  c.loss = 1.5;
  EXPECT_NE(message(c).find("LinkConfig.loss"), std::string::npos) << message(c);
  c = LinkConfig();
  c.corrupt = -0.1;
  EXPECT_NE(message(c).find("LinkConfig.corrupt"), std::string::npos) << message(c);
  c = LinkConfig();
  c.schedule = {{sc_time(2, SC_US), false}, {sc_time(1, SC_US), true}};
  EXPECT_NE(message(c).find("LinkConfig.schedule"), std::string::npos) << message(c);
}

} // namespace
} // namespace sim
} // namespace fanout
