# Vitis HLS configuration of the header-parser kernel (read by hls/vitis/run_hls.tcl).
set kernel_top fanout_parser
set kernel_sources {hls/parser/parser_top.cpp}
# FANOUT_AUTH_FIFO_BEATS=4096 in the environment builds the deep store-and-forward FIFO
# (parser.hpp: signed jumbo frames checked at line rate; 256 KiB, 8 URAM). Default: 512 beats,
# as the simulator models without authentication.
set kernel_cflags ""
if {[info exists ::env(FANOUT_AUTH_FIFO_BEATS)]} {
  set kernel_cflags "-DFANOUT_PARSER_FIFO_BEATS=$::env(FANOUT_AUTH_FIFO_BEATS)"
}
# No directives here: every directive is a pragma in the source (PIPELINE II=1, INTERFACE
# ap_ctrl_none / axis register both / s_axilite), so C-simulation and synthesis read one text.
proc kernel_directives {} {}
