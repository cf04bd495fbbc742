# C-synthesis and .xo export of one Fanout kernel for one board, with Vitis HLS:
#
#   vitis_hls -f hls/vitis/run_hls.tcl -tclargs <repo root> <kernel> <board> <output dir>
#
# <kernel> is a folder under hls/ holding hls_config.tcl (top function, sources, directives);
# <board> is a key of boards.tcl. Writes <output dir>/<kernel>_<board>/ (the Vitis HLS project,
# reports under solution/syn/report) and <output dir>/<kernel>_<board>.xo, the kernel object
# `v++ --link` takes. The CMake targets hls_<kernel>_<board> call this (hls/CMakeLists.txt).
if {[llength $argv] != 4} {
  puts stderr "usage: vitis_hls -f run_hls.tcl -tclargs <repo root> <kernel> <board> <output dir>"
  exit 2
}
lassign $argv repo kernel board out_dir
set here [file dirname [file normalize [info script]]]
source [file join $here boards.tcl]
if {![info exists fanout_board_part($board)]} {
  puts stderr "run_hls.tcl: unknown board '$board' (known: [lsort [array names fanout_board_part]])"
  exit 2
}
set kernel_dir [file join $repo hls $kernel]
if {![file exists [file join $kernel_dir hls_config.tcl]]} {
  puts stderr "run_hls.tcl: no hls/$kernel/hls_config.tcl"
  exit 2
}
# Sets kernel_top, kernel_sources (paths relative to the repo) and proc kernel_directives.
source [file join $kernel_dir hls_config.tcl]

# The same include paths and language level as the CMake build (hls/CMakeLists.txt), without the
# shim: Vitis supplies ap_int.h, hls_stream.h and ap_axi_sdata.h itself.
set cflags "-std=c++14 -I[file join $repo proto include] -I[file join $repo hls common include] -I$kernel_dir"
# A kernel's own defines (hls_config.tcl may set kernel_cflags).
if {[info exists kernel_cflags] && $kernel_cflags ne ""} {
  append cflags " $kernel_cflags"
}

file mkdir $out_dir
open_project -reset [file join $out_dir ${kernel}_${board}]
set_top $kernel_top
foreach src $kernel_sources {
  add_files [file join $repo $src] -cflags $cflags
}
open_solution -reset solution -flow_target vitis
set_part $fanout_board_part($board)
create_clock -period [format %.3f [expr {1000.0 / $fanout_kernel_clock_mhz}]] -name default
kernel_directives
csynth_design
export_design -format xo -output [file join $out_dir ${kernel}_${board}.xo]
exit
