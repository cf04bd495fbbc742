// rtl/axis_rr_arbiter.sv with N = 4, PRIO_TOP = 1: test_axis_rr_arbiter.cpp's checks for four
// inputs, and the priority input's.
#define FANOUT_ARB_INPUTS 4
#define FANOUT_ARB_PRIO_TOP 1
#include "test_axis_rr_arbiter.cpp"
