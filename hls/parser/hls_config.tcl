# Vitis HLS configuration of the header-parser kernel (read by hls/vitis/run_hls.tcl).
set kernel_top fanout_parser
set kernel_sources {hls/parser/parser_top.cpp}
# No directives here: every directive is a pragma in the source (PIPELINE II=1, INTERFACE
# ap_ctrl_none / axis register both / s_axilite), so C-simulation and synthesis read one text.
proc kernel_directives {} {}
