// fanout-sim-bench: how fast the cluster simulator runs, in simulated NIC clock cycles per wall
// second (docs/performance.md). Never run by ctest.
//
//   fanout-sim-bench            both parts below, each in its own process
//   fanout-sim-bench nic        one NIC: its host sends 8 KiB one-receiver messages back to back
//                               for 200 us of simulated time (kernels busy every clock)
//   fanout-sim-bench cluster    the default scenario (16 nodes, MoE, star, tree) through
//                               run_cluster, as `fanout-sim` runs it
//
// SystemC elaborates once per process, so each part runs in a child process.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <systemc>

#include "fanout/proto/packet.hpp"
#include "fanout/sim/cluster.hpp"
#include "fanout/sim/nic.hpp"

namespace {

using fanout::sim::Frame;
using sc_core::SC_US;
namespace proto = fanout::proto;
namespace sim = fanout::sim;

double wall_seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class CountingSink : public sim::FrameSink {
 public:
  void receive(Frame) override { frames++; }
  uint64_t frames = 0;
};

int bench_nic() {
  const double sim_us = 200;
  sim::NicConfig c;
  c.node = 1;
  c.heartbeat_clocks = 0; // the far end is a sink that never answers: no silent-peer detection
  sim::Nic nic("nic", c);
  sim::Link link("link");
  CountingSink far, host;
  nic.connect(0, link, 0);
  link.attach(1, &far);
  nic.set_host_sink(&host);
  nic.set_neighbour(2, 0, sim::cluster_mac48(2), proto::cluster_ipv4(2));

  std::vector<uint8_t> payload(8192, 0x5A);
  uint64_t sent = 0;
  sc_core::sc_spawn([&] {
    proto::ReceiverSet set;
    set.append(2);
    std::vector<uint8_t> buf(proto::kMaxFrameBytes);
    for (uint32_t msg = 0;; msg++) {
      proto::FanoutHeader h = proto::make_header(proto::kTypeData, 1, 1, msg, 0, (uint32_t)payload.size());
      h.flags = proto::kFlagLast;
      uint32_t len = 0;
      proto::build_frame(proto::cluster_net_headers(1, 1, 1, msg), h, set, payload.data(), (uint32_t)payload.size(),
                         proto::default_build_options(), buf.data(), (uint32_t)buf.size(), &len);
      Frame f = sim::make_frame(std::vector<uint8_t>(buf.begin(), buf.begin() + len));
      while (!nic.host_send(f)) sc_core::wait(nic.host_tx_ready());
      sent++;
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start(sim_us, SC_US);
  double wall = wall_seconds_since(t0);
  sim::NicStats s = nic.stats();
  std::printf("one NIC (8 KiB messages back to back, %.0f us simulated)\n", sim_us);
  std::printf("  kernel cycles          %llu (%.1f M per wall second)\n", (unsigned long long)s.kernel_cycles,
              s.kernel_cycles / wall / 1e6);
  std::printf("  MAC cycles             %llu (%.1f M per wall second)\n", (unsigned long long)s.mac_cycles,
              s.mac_cycles / wall / 1e6);
  std::printf("  simulated time         %.1f us per wall second (wall %.2f s)\n", sim_us / wall, wall);
  std::printf("  frames on the link     %llu (%.1f Gb/s of payload)\n", (unsigned long long)far.frames,
              far.frames * 8192.0 * 8 / (sim_us * 1e3));
  std::printf("  parser beats per cycle %.3f\n", (double)s.parser_in_beats / (double)s.kernel_cycles);
  return 0;
}

int bench_cluster() {
  sim::Scenario s; // the defaults: the README's main job
  auto t0 = std::chrono::steady_clock::now();
  sim::RunResult r = sim::run_cluster(s);
  double wall = wall_seconds_since(t0);
  // Every NIC is clocked the whole run.
  double nic_cycles = (double)r.sim_time_ns / r.kernel_period_ns * r.nodes;
  std::printf("default cluster (%u nodes, %s, %s, %s): %.1f us simulated in %.2f s wall\n", s.nodes,
              sim::name(s.topology), sim::name(s.mode), sim::name(s.workload), r.sim_time_ns / 1e3, wall);
  std::printf("  NIC kernel cycles      %.0f (%.2f M per wall second, all NICs)\n", nic_cycles,
              nic_cycles / wall / 1e6);
  std::printf("  simulated time         %.1f us per wall second\n", r.sim_time_ns / 1e3 / wall);
  return sim::failures(r).empty() ? 0 : 1;
}

int run_child(const char *self, const char *part) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(self, self, part, (char *)nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

} // namespace

int sc_main(int argc, char *argv[]) {
  if (argc == 2 && std::strcmp(argv[1], "nic") == 0) return bench_nic();
  if (argc == 2 && std::strcmp(argv[1], "cluster") == 0) return bench_cluster();
  if (argc != 1) {
    std::fprintf(stderr, "usage: fanout-sim-bench [nic|cluster]\n");
    return 2;
  }
  int rc = run_child("/proc/self/exe", "nic");
  return run_child("/proc/self/exe", "cluster") | rc;
}

int main(int argc, char *argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
