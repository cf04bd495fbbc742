// main for the sim/ tests: SystemC's entry (sc_elab_and_sim -> sc_main) runs the gtest suite.
#include <cstdlib>

#include <gtest/gtest.h>
#include <systemc>

int sc_main(int argc, char *argv[]) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

int main(int argc, char *argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0); // no banner in test output
  return sc_core::sc_elab_and_sim(argc, argv);
}
