# Vitis HLS configuration of the arm tap kernel (read by hls/vitis/run_hls.tcl).
set kernel_top fanout_arm_tap
set kernel_sources {hls/arm_tap/arm_tap_top.cpp}
# No directives here: every directive is a pragma in the source (PIPELINE II=1, INTERFACE
# ap_ctrl_none / axis register both), so C-simulation and synthesis read one text.
proc kernel_directives {} {}
