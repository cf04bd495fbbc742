// Helpers for the sim/ tests: one SystemC world per process, test sinks and senders.
#ifndef FANOUT_TESTS_SIM_TEST_HPP
#define FANOUT_TESTS_SIM_TEST_HPP

#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <systemc>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <functional>
#include <string>
#include <vector>

#include "fanout/sim/frame.hpp"

namespace fanout {
namespace sim {
namespace test {

// SystemC elaborates once per process: modules cannot be created after the first sc_start.
// The first test that asks runs here; any later test in the same process runs again alone in
// a child process (same binary, --gtest_filter=<this test>) and its result is checked here.
// Returns true if the caller should run the test body now.
inline bool own_world() {
  static bool used = false;
  if (!used) {
    used = true;
    return true;
  }
  const ::testing::TestInfo *info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string filter = std::string("--gtest_filter=") + info->test_suite_name() + "." + info->name();
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    ADD_FAILURE() << "readlink(/proc/self/exe) failed";
    return false;
  }
  exe[n] = 0;
  pid_t pid = fork();
  if (pid == 0) {
    execl(exe, exe, filter.c_str(), (char *)nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child run of " << filter << " failed";
  return false;
}
#define FANOUT_SIM_OWN_WORLD()                                                                                         \
  if (!::fanout::sim::test::own_world()) return

// Records every frame it receives with its arrival time.
class RecordingSink : public FrameSink {
 public:
  struct Arrival {
    Frame frame;
    sc_core::sc_time at;
  };
  void receive(Frame f) override { got.push_back(Arrival{std::move(f), sc_core::sc_time_stamp()}); }
  std::vector<Arrival> got;
};

// Spawn a thread process (during elaboration or from a process).
inline void spawn_thread(const char *name, std::function<void()> body) {
  sc_core::sc_spawn(std::move(body), sc_core::sc_gen_unique_name(name));
}

} // namespace test
} // namespace sim
} // namespace fanout

#endif
