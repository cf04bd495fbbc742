# Vitis HLS configuration of the card-to-host data mover (read by hls/vitis/run_hls.tcl).
set kernel_top fanout_c2h
set kernel_sources {hls/c2h/c2h_top.cpp}
# No directives here: every directive is a pragma in the source (INTERFACE ap_ctrl_hs / m_axi
# gmem / s_axilite control at fixed offsets / axis register both, PIPELINE II=1 on the per-frame
# burst loop, DEPENDENCE of the ring), so C-simulation and synthesis read one text.
proc kernel_directives {} {}
