# Vitis HLS configuration of the peer monitor kernel (read by hls/vitis/run_hls.tcl).
set kernel_top fanout_peer_monitor
set kernel_sources {hls/peer_monitor/peer_monitor_top.cpp}
# No directives here: every directive is a pragma in the source (PIPELINE II=1, ARRAY_PARTITION of
# the slots, INTERFACE ap_ctrl_none / axis register both / s_axilite), so C-simulation and
# synthesis read one text.
proc kernel_directives {} {}
