# The RTL shell packaged as the Vitis RTL kernel fanout_shell (.xo), Vivado in batch mode:
#
#   vivado -mode batch -source rtl/alveo/package_xo.tcl -tclargs <repo root> <out.xo> <work dir> [<board>]
#
# <board> (a key of hls/vitis/boards.tcl, default u55c) only picks the part of the packaging
# project: the IP is packaged for every family (supported_families empty), so one .xo serves
# u55c, u250 and u280. The CMake target shell_xo runs this (rtl/alveo/CMakeLists.txt); the
# xclbin_<board> targets link its output unless FANOUT_SHELL_XO names another .xo.
#
# What it does, following UG1393 ("Packaging RTL Kernels", "Kernel Interface Requirements",
# package_xo), Xilinx/Vitis_Accel_Examples rtl_kernels/rtl_vadd/scripts/package_kernel.tcl and
# gen_xo.tcl (package_project, clock FREQ_HZ, s_axi_control memory map, sdx_kernel properties,
# check_integrity -kernel) and Xilinx/xup_vitis_network_example Ethernet/package_kernel.tcl and
# gen_xo.tcl (an ap_ctrl_none stream kernel, package_xo -kernel_xml):
#  1. a project with fanout_shell_kernel.sv and the rtl/ sources under it, top fanout_shell_kernel;
#  2. ipx::package_project (Vivado infers the AXI4-Stream interfaces from the <name>_t* ports,
#     s_axi_control from s_axi_control_*, the clocks and active-low resets from ap_clk*/ap_rst_n*);
#     the IP's VLNV is kernel.xml's `vlnv` (kernel fanout_shell, top module fanout_shell_kernel);
#  3. every interface kernel.xml names must have been inferred (checked, else stop);
#  4. clocks: ap_clk carries s_axi_control and every stream but the MACs', ap_clk_2 the MACs'
#     (s_axis_mac_rx_<p>, m_axis_mac_tx_<p>: the top's mac_clk side); ASSOCIATED_RESET ap_rst_n /
#     ap_rst_n_2; FREQ_HZ from boards.tcl (fanout_kernel_clock_mhz), resolvable by v++ (user);
#  5. the s_axi_control register map: one register per kernel.xml arg with addressQualifier 0
#     (the blocks of rtl/regs/fanout_regs.yaml), range from kernel.xml's s_axi_control port;
#  6. package_xo -kernel_name fanout_shell -kernel_xml rtl/alveo/kernel.xml.
# Not run here (no Vivado in CI): docs/alveo.md lists what is verified without it.
if {[llength $argv] < 3 || [llength $argv] > 4} {
  puts stderr "usage: vivado -mode batch -source package_xo.tcl -tclargs <repo root> <out.xo> <work dir> \[<board>\]"
  exit 2
}
lassign $argv repo xo_path work board
if {$board eq ""} {
  set board u55c
}
set repo [file normalize $repo]
set xo_path [file normalize $xo_path]
set work [file normalize $work]
source [file join $repo hls vitis boards.tcl]
if {![info exists fanout_board_part($board)]} {
  puts stderr "package_xo.tcl: unknown board '$board' (known: [lsort [array names fanout_board_part]])"
  exit 2
}
set part $fanout_board_part($board)
set freq_hz [expr {$fanout_kernel_clock_mhz * 1000000}]

# ---- kernel.xml: name, VLNV, interfaces, register args -----------------------------------------
set kernel_xml [file join $repo rtl alveo kernel.xml]
set fh [open $kernel_xml]
set xml [read $fh]
close $fh
# The value of attribute `name` in one element's text ("" when absent).
proc xml_attr {elem name} {
  if {[regexp "\[ \t\n\]${name}=\"(\[^\"\]*)\"" $elem -> v]} {
    return $v
  }
  return ""
}
if {![regexp {<kernel [^>]*>} $xml kernel_elem]} {
  puts stderr "package_xo.tcl: no <kernel> in $kernel_xml"
  exit 2
}
set kernel_name [xml_attr $kernel_elem name]
lassign [split [xml_attr $kernel_elem vlnv] :] ip_vendor ip_library ip_name ip_version
set axilite ""
set axilite_range 0
set streams {}
foreach elem [regexp -all -inline {<port [^>]*/>} $xml] {
  if {[xml_attr $elem mode] eq "slave"} {
    set axilite [xml_attr $elem name]
    set axilite_range [expr {[xml_attr $elem range]}]
  } else {
    lappend streams [xml_attr $elem name]
  }
}
set registers {}
foreach elem [regexp -all -inline {<arg [^>]*/>} $xml] {
  if {[xml_attr $elem addressQualifier] eq "0"} {
    lappend registers [list [xml_attr $elem name] [expr {[xml_attr $elem offset]}] [expr {[xml_attr $elem size]}]]
  }
}
if {$kernel_name eq "" || $ip_name eq "" || $axilite eq "" || [llength $streams] == 0 || [llength $registers] == 0} {
  puts stderr "package_xo.tcl: $kernel_xml lacks the kernel name, vlnv, the slave port, streams or register args"
  exit 2
}

# ---- 1. the project ------------------------------------------------------------------------------
set sources {
  rtl/generated/fanout_proto_pkg.sv
  rtl/axis_async_fifo.sv
  rtl/axis_rr_arbiter.sv
  rtl/link_monitor.sv
  rtl/generated/fanout_regs.sv
  rtl/fanout_nic_top.sv
  rtl/alveo/fanout_shell_kernel.sv
}
file delete -force [file join $work project] [file join $work ip]
file mkdir $work
create_project -force fanout_shell_pack [file join $work project] -part $part
foreach f $sources {
  add_files -norecurse [file join $repo $f]
}
set_property file_type SystemVerilog [get_files -of_objects [get_filesets sources_1]]
set_property top fanout_shell_kernel [current_fileset]
update_compile_order -fileset sources_1

# ---- 2. package ------------------------------------------------------------------------------------
set ip_dir [file join $work ip]
ipx::package_project -root_dir $ip_dir -vendor $ip_vendor -library $ip_library -taxonomy /KernelIP \
  -import_files -set_current false
ipx::unload_core [file join $ip_dir component.xml]
ipx::edit_ip_in_project -upgrade true -name fanout_shell_edit -directory $ip_dir [file join $ip_dir component.xml]
set core [ipx::current_core]
set_property name $ip_name $core
set_property version $ip_version $core
set_property display_name "Fanout NIC shell ($kernel_name)" $core
set_property description "rtl/fanout_nic_top.sv (P = 2) as the Vitis RTL kernel $kernel_name" $core
set_property core_revision 1 $core
foreach up [ipx::get_user_parameters -of_objects $core] {
  ipx::remove_user_parameter [get_property NAME $up] $core
}

# ---- 3. the interfaces kernel.xml names, and the clocks and resets -------------------------------
proc bus_if {core name} {
  return [ipx::get_bus_interfaces $name -of_objects $core]
}
# A clock or reset Vivado did not infer is added as xup's package_kernel.tcl adds ap_clk.
proc ensure_signal_if {core name kind port_map} {
  if {[llength [bus_if $core $name]] == 1} {
    return
  }
  puts "package_xo.tcl: adding the $kind interface $name by hand"
  set b [ipx::add_bus_interface $name $core]
  set_property abstraction_type_vlnv xilinx.com:signal:${kind}_rtl:1.0 $b
  set_property bus_type_vlnv xilinx.com:signal:${kind}:1.0 $b
  ipx::add_port_map $port_map $b
  set_property physical_name $name [ipx::get_port_maps $port_map -of_objects $b]
}
foreach clk {ap_clk ap_clk_2} rst {ap_rst_n ap_rst_n_2} {
  ensure_signal_if $core $clk clock CLK
  ensure_signal_if $core $rst reset RST
}
set missing {}
foreach name [concat [list $axilite] $streams] {
  if {[llength [bus_if $core $name]] != 1} {
    lappend missing $name
  }
}
if {[llength $missing] > 0} {
  puts stderr "package_xo.tcl: Vivado inferred no interface for: $missing (port names of rtl/alveo/fanout_shell_kernel.sv?)"
  exit 1
}

# ---- 4. clock associations, resets, frequencies -------------------------------------------------
proc set_bus_param {core bif param value} {
  set b [bus_if $core $bif]
  set p [ipx::get_bus_parameters $param -of_objects $b]
  if {[llength $p] == 0} {
    set p [ipx::add_bus_parameter $param $b]
  }
  set_property value $value $p
  return $p
}
set on_clk [list $axilite]
set on_clk2 {}
foreach s $streams {
  if {[string match {*_axis_mac_*} $s]} {
    lappend on_clk2 $s
  } else {
    lappend on_clk $s
  }
}
set_bus_param $core ap_clk ASSOCIATED_BUSIF [join $on_clk :]
set_bus_param $core ap_clk_2 ASSOCIATED_BUSIF [join $on_clk2 :]
set_bus_param $core ap_clk ASSOCIATED_RESET ap_rst_n
set_bus_param $core ap_clk_2 ASSOCIATED_RESET ap_rst_n_2
foreach clk {ap_clk ap_clk_2} {
  set p [set_bus_param $core $clk FREQ_HZ $freq_hz]
  set_property value_resolve_type user $p
}
foreach rst {ap_rst_n ap_rst_n_2} {
  set_bus_param $core $rst POLARITY ACTIVE_LOW
}

# ---- 5. the s_axi_control register map -----------------------------------------------------------
set mem_map [ipx::add_memory_map -quiet $axilite $core]
set block [ipx::add_address_block -quiet reg0 $mem_map]
set_property range $axilite_range $block
set_property width 32 $block
foreach r $registers {
  lassign $r name offset size
  set reg [ipx::add_register -quiet $name $block]
  set_property address_offset [format 0x%03X $offset] $reg
  set_property size [expr {8 * $size}] $reg
}
set_property slave_memory_map_ref $axilite [bus_if $core $axilite]

set_property xpm_libraries {XPM_CDC XPM_MEMORY XPM_FIFO} $core
set_property sdx_kernel true $core
set_property sdx_kernel_type rtl $core
set_property supported_families { } $core
set_property auto_family_support_level level_2 $core
ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::check_integrity -kernel $core
ipx::save_core $core
close_project -delete

# ---- 6. the .xo -------------------------------------------------------------------------------------
file delete -force $xo_path
package_xo -force -xo_path $xo_path -kernel_name $kernel_name -ip_directory $ip_dir -kernel_xml $kernel_xml
if {![file exists $xo_path]} {
  puts stderr "package_xo.tcl: package_xo wrote no $xo_path"
  exit 1
}
puts "package_xo.tcl: $xo_path ($kernel_name, [llength $streams] streams, [llength $registers] registers)"
exit 0
