# Vitis HLS configuration of the egress signer kernel (read by hls/vitis/run_hls.tcl).
set kernel_top fanout_auth_signer
set kernel_sources {hls/auth_signer/auth_signer_top.cpp}
# No directives here: every directive is a pragma in the source.
proc kernel_directives {} {}
