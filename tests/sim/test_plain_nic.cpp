// PlainNic: host TX in order at line rate, the bounded host TX queue and host_tx_ready, link RX to
// the host with FCS-bad frames dropped, stats.
#include "sim_test.hpp"

#include <memory>
#include <stdexcept>

#include "fanout/sim/link.hpp"
#include "fanout/sim/plain_nic.hpp"

namespace fanout {
namespace sim {
namespace {

using sc_core::sc_time;
using sc_core::SC_US;
using test::RecordingSink;

// A frame of `n` bytes whose first byte is `tag` (to check order), the rest a pattern.
std::vector<uint8_t> frame_bytes(uint32_t n, uint8_t tag) {
  std::vector<uint8_t> b(n);
  for (uint32_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 13 + tag);
  b[0] = tag;
  return b;
}

// A NIC on side 0 of a link; the far end (side 1) records what the NIC sends, the host sink what
// the NIC delivers.
struct Bench {
  Bench() : nic("nic", 7, sc_time(3333, sc_core::SC_PS)), link("link") {
    nic.connect(link, 0);
    link.attach(1, &wire);
    nic.set_host_sink(&host);
  }
  PlainNic nic;
  Link link;
  RecordingSink wire, host;
};

TEST(SimPlainNic, HostFramesLeaveInOrderBackToBackAtLineRate) {
  FANOUT_SIM_OWN_WORLD();
  Bench b;
  EXPECT_EQ(b.nic.node_id(), 7);
  EXPECT_EQ(b.nic.kernel_period(), sc_time(3333, sc_core::SC_PS));
  // Different sizes, so that the spacing checks each frame's own serialization time.
  const std::vector<uint32_t> sizes = {64, 1500, 200, 9000, 64, 777, 1500, 60};
  uint64_t total = 0;
  for (uint32_t n : sizes) total += n;
  test::spawn_thread("host", [&] {
    for (size_t i = 0; i < sizes.size(); i++)
      EXPECT_TRUE(b.nic.host_send(make_frame(frame_bytes(sizes[i], (uint8_t)i))));
  });
  sc_core::sc_start(20, SC_US);

  ASSERT_EQ(b.wire.got.size(), sizes.size());
  const sc_time delay = b.link.config().delay;
  // The NIC adds no latency: the first frame starts at time 0.
  EXPECT_EQ(b.wire.got[0].at, b.link.serialization(sizes[0]) + delay);
  for (size_t i = 0; i < sizes.size(); i++) {
    SCOPED_TRACE(i);
    EXPECT_EQ(b.wire.got[i].frame.bytes, frame_bytes(sizes[i], (uint8_t)i)) << "in order, unchanged";
    // Back to back: frame i arrives exactly its own serialization after frame i - 1.
    if (i > 0) {
      EXPECT_EQ(b.wire.got[i].at - b.wire.got[i - 1].at, b.link.serialization(sizes[i]));
    }
  }
  const PlainNicStats &s = b.nic.stats();
  EXPECT_EQ(s.tx_frames, sizes.size());
  EXPECT_EQ(s.tx_bytes, total);
  EXPECT_EQ(s.tx_queue_peak, sizes.size()) << "all posted in one delta cycle";
  EXPECT_EQ(s.rx_frames, 0u);
  EXPECT_EQ(b.link.stats(0).frames, sizes.size());
  EXPECT_GT(b.link.utilization(0), 0.0);
}

// The host TX queue holds kHostTxQueueFrames: one more is refused until a frame leaves for the
// link, which host_tx_ready announces. Refused frames are not lost: the host retries them.
TEST(SimPlainNic, FullHostQueueRefusesUntilHostTxReady) {
  FANOUT_SIM_OWN_WORLD();
  Bench b;
  const uint32_t kN = PlainNic::kHostTxQueueFrames;
  const uint32_t kTotal = 3 * kN;
  const uint32_t kBytes = 1000;
  const sc_time ser = b.link.serialization(kBytes);
  std::vector<sc_time> ready_at; // when each wait on host_tx_ready ended
  uint32_t refused = 0;
  test::spawn_thread("host", [&] {
    for (uint32_t i = 0; i < kN; i++) EXPECT_TRUE(b.nic.host_send(make_frame(frame_bytes(kBytes, (uint8_t)i))));
    EXPECT_FALSE(b.nic.host_send(make_frame(frame_bytes(kBytes, (uint8_t)kN)))) << "queue full";
    for (uint32_t i = kN; i < kTotal;) {
      if (b.nic.host_send(make_frame(frame_bytes(kBytes, (uint8_t)i)))) {
        i++;
        continue;
      }
      refused++;
      sc_core::wait(b.nic.host_tx_ready());
      ready_at.push_back(sc_core::sc_time_stamp());
    }
  });
  sc_core::sc_start(100, SC_US);

  ASSERT_EQ(b.wire.got.size(), kTotal);
  for (uint32_t i = 0; i < kTotal; i++) EXPECT_EQ(b.wire.got[i].frame.bytes[0], (uint8_t)i) << i;
  for (uint32_t i = 1; i < kTotal; i++) EXPECT_EQ(b.wire.got[i].at - b.wire.got[i - 1].at, ser) << i;
  // Room frees when a frame starts on the link: the first one at time 0, then one per
  // serialization time, and the host gets exactly one slot each time.
  ASSERT_GE(ready_at.size(), 2u);
  EXPECT_EQ(ready_at[0], sc_core::SC_ZERO_TIME);
  for (size_t i = 1; i < ready_at.size(); i++) EXPECT_EQ(ready_at[i] - ready_at[i - 1], ser) << i;
  EXPECT_EQ(refused, ready_at.size());
  EXPECT_EQ(refused, kTotal - kN) << "a full queue: every further frame waited for one slot";
  const PlainNicStats &s = b.nic.stats();
  EXPECT_EQ(s.tx_queue_peak, kN);
  EXPECT_EQ(s.tx_frames, kTotal);
  EXPECT_EQ(s.tx_bytes, (uint64_t)kTotal * kBytes);
}

TEST(SimPlainNic, LinkFramesReachTheHostAndFcsBadAreDropped) {
  FANOUT_SIM_OWN_WORLD();
  Bench b;
  test::spawn_thread("far", [&] {
    for (uint32_t i = 0; i < 4; i++) {
      while (b.link.busy(1)) sc_core::wait(b.link.ready_event(1));
      Frame f = make_frame(frame_bytes(100 + 100 * i, (uint8_t)i));
      f.fcs_bad = i == 2; // a MAC checks the FCS before the host sees anything
      b.link.send(1, std::move(f));
    }
  });
  sc_core::sc_start(20, SC_US);

  ASSERT_EQ(b.host.got.size(), 3u);
  EXPECT_EQ(b.host.got[0].frame.bytes, frame_bytes(100, 0));
  EXPECT_EQ(b.host.got[1].frame.bytes, frame_bytes(200, 1));
  EXPECT_EQ(b.host.got[2].frame.bytes, frame_bytes(400, 3));
  // No latency of its own: the host sees a frame when its last bit arrives.
  EXPECT_EQ(b.host.got[0].at, b.link.serialization(100) + b.link.config().delay);
  const PlainNicStats &s = b.nic.stats();
  EXPECT_EQ(s.rx_frames, 3u);
  EXPECT_EQ(s.rx_bytes, 100u + 200u + 400u);
  EXPECT_EQ(s.rx_fcs_bad, 1u);
  EXPECT_EQ(s.tx_frames, 0u);
  EXPECT_EQ(s.tx_bytes, 0u);
  EXPECT_TRUE(b.wire.got.empty()) << "nothing is echoed back";
}

TEST(SimPlainNic, ConnectsOnce) {
  FANOUT_SIM_OWN_WORLD();
  Bench b;
  Link other("other");
  EXPECT_THROW(b.nic.connect(other, 0), std::logic_error);
}

} // namespace
} // namespace sim
} // namespace fanout
