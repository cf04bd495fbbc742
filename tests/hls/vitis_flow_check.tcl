# Dry run of the Vitis HLS flow (hls/vitis/run_hls.tcl) under plain tclsh, without Vitis:
#
#   tclsh tests/hls/vitis_flow_check.tcl <repo root> <kernel> <board>
#
# Every Vitis HLS command the flow uses is replaced by a procedure that records its arguments;
# then run_hls.tcl runs exactly as vitis_hls would run it, and the record is checked: the top
# function exists as extern "C" in the sources, every source and include directory exists, the
# part is the board's, the clock is 300 MHz, the solution targets the Vitis (kernel) flow, and
# C-synthesis runs before the .xo export. What this cannot check (synthesis itself: II, timing,
# resources) needs Vitis; docs/hls.md says so.
lassign $argv repo kernel board
set failures {}
proc fail {msg} { lappend ::failures $msg }
set calls {}
foreach cmd {open_project set_top add_files open_solution set_part create_clock csynth_design export_design
             config_compile config_interface config_rtl config_export set_directive_bind_storage} {
  proc $cmd {args} "lappend ::calls \[list $cmd {*}\$args\]"
}
rename exit real_exit
proc exit {{code 0}} {
  if {$code != 0} { puts stderr "run_hls.tcl exited with $code"; real_exit 1 }
  check
  if {[llength $::failures] > 0} {
    foreach f $::failures { puts stderr "vitis flow check ($::kernel, $::board): $f" }
    real_exit 1
  }
  puts "vitis flow ok: $::kernel for $::board ($::part, top $::top, [llength $::sources] source(s), period $::period ns)"
  real_exit 0
}
proc called {name} {
  set out {}
  foreach c $::calls { if {[lindex $c 0] eq $name} { lappend out $c } }
  return $out
}
proc check {} {
  source [file join $::repo hls vitis boards.tcl]
  set ::top [lindex [lindex [called set_top] 0] 1]
  set ::part [lindex [lindex [called set_part] 0] 1]
  set ::sources {}
  if {$::top eq ""} { fail "no set_top" }
  if {![info exists fanout_board_part($::board)] || $::part ne $fanout_board_part($::board)} {
    fail "set_part '$::part' is not the part of board $::board"
  }
  set found_top 0
  foreach c [called add_files] {
    set path [lindex $c 1]
    lappend ::sources $path
    if {![file exists $path]} { fail "add_files: $path does not exist"; continue }
    set text [read [set fh [open $path]]][close $fh]
    if {[regexp "extern \"C\" void $::top\\(" $text]} { set found_top 1 }
    set cflags [lindex $c [expr {[lsearch [lrange $c 1 end] -cflags] + 2}]]
    if {[string first "-std=c++14" $cflags] < 0} { fail "add_files $path: cflags lack -std=c++14" }
    foreach {_ dir} [regexp -all -inline -- {-I(\S+)} $cflags] {
      if {![file isdirectory $dir]} { fail "add_files $path: include directory $dir does not exist" }
    }
  }
  if {[llength $::sources] == 0} { fail "no add_files" }
  if {!$found_top} { fail "no source defines extern \"C\" void [set ::top](" }
  set sol [lindex [called open_solution] 0]
  if {[lsearch $sol -flow_target] < 0 || [lindex $sol [expr {[lsearch $sol -flow_target] + 1}]] ne "vitis"} {
    fail "open_solution does not use -flow_target vitis"
  }
  set clk [lindex [called create_clock] 0]
  set ::period [lindex $clk [expr {[lsearch $clk -period] + 1}]]
  if {abs($::period - 1000.0 / $fanout_kernel_clock_mhz) > 0.001} { fail "clock period $::period ns is not 300 MHz" }
  set order [lmap c $::calls {lindex $c 0}]
  set syn [lsearch $order csynth_design]
  set exp [lsearch $order export_design]
  if {$syn < 0 || $exp < 0 || $exp < $syn} { fail "csynth_design must run, then export_design" }
  set ex [lindex [called export_design] 0]
  if {[lindex $ex [expr {[lsearch $ex -format] + 1}]] ne "xo"} { fail "export_design is not -format xo" }
  if {![string match *.xo [lindex $ex [expr {[lsearch $ex -output] + 1}]]]} { fail "export_design -output is not an .xo" }
}
set out_dir [file join [pwd] vitis_flow_check_out]
set argv [list $repo $kernel $board $out_dir]
set argc 4
source [file join $repo hls vitis run_hls.tcl]
