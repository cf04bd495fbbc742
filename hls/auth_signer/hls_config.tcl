# Vitis HLS configuration of the egress signer kernel (read by hls/vitis/run_hls.tcl).
set kernel_top fanout_auth_signer
set kernel_sources {hls/auth_signer/auth_signer_top.cpp}
# FANOUT_AUTH_FIFO_BEATS=4096 in the environment builds the deep FIFO per port (auth_signer.hpp:
# jumbo frames signed at line rate; 256 KiB a port). Default: 512 beats.
set kernel_cflags ""
if {[info exists ::env(FANOUT_AUTH_FIFO_BEATS)]} {
  set kernel_cflags "-DFANOUT_SIGNER_FIFO_BEATS=$::env(FANOUT_AUTH_FIFO_BEATS)"
}
# No directives here: every directive is a pragma in the source.
proc kernel_directives {} {}
