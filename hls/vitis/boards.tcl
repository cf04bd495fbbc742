# Alveo boards Fanout's kernels are synthesized for: board name -> FPGA part, and the kernel
# clock. One place; run_hls.tcl and the CMake targets (hls/CMakeLists.txt) read it.
#
#   u55c  Alveo U55C  (HBM2)   xcu55c-fsvh2892-2L-e
#   u250  Alveo U250  (DDR4)   xcu250-figd2104-2L-e
#   u280  Alveo U280  (HBM2)   xcu280-fsvh2892-2L-e
#
# 300 MHz: the kernel clock of the design (the MACs run at 322 MHz in their own domain; the RTL
# shell crosses between them). At 300 MHz a 512-bit stream moves 153.6 Gb/s, above one 100G port.
array set fanout_board_part {
  u55c xcu55c-fsvh2892-2L-e
  u250 xcu250-figd2104-2L-e
  u280 xcu280-fsvh2892-2L-e
}
set fanout_kernel_clock_mhz 300
