# Vitis HLS configuration of the host-to-card data mover (read by hls/vitis/run_hls.tcl).
set kernel_top fanout_h2c
set kernel_sources {hls/h2c/h2c_top.cpp}
# No directives here: every directive is a pragma in the source (INTERFACE ap_ctrl_hs / m_axi
# gmem / s_axilite control at fixed offsets / axis register both, PIPELINE II=1), so C-simulation
# and synthesis read one text.
proc kernel_directives {} {}
