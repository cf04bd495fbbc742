# AlveoLink.cmake: the v++ --link step of target xclbin_<board> (constraints/CMakeLists.txt).
# Run as a script (cmake -P) so that every missing input is named before v++ starts (a link takes
# hours; a missing .xo should cost seconds).
#
# -DVPP -DBOARD -DPLATFORM -DSRC (repository) -DOUT (xclbin) -DWORK (temp/log dir)
# -DHLS_XOS (list) -DSHELL_XO -DXUP_DIR -DCMAC_XO_DIR
set(missing "")
if(NOT CMAC_XO_DIR AND XUP_DIR)
  set(CMAC_XO_DIR ${XUP_DIR}/Ethernet/_x.${PLATFORM})
endif()
set(xos ${HLS_XOS})
if(SHELL_XO)
  list(APPEND xos ${SHELL_XO})
else()
  list(APPEND missing "the RTL shell's .xo: target shell_xo (Vivado) or -DFANOUT_SHELL_XO=<fanout_shell.xo>")
endif()
if(CMAC_XO_DIR)
  list(APPEND xos ${CMAC_XO_DIR}/cmac_0.xo ${CMAC_XO_DIR}/cmac_1.xo)
else()
  list(APPEND missing "the CMAC kernels: -DFANOUT_XUP_DIR=<xup_vitis_network_example checkout> or -DFANOUT_CMAC_XO_DIR=<folder with cmac_0.xo, cmac_1.xo>")
endif()
foreach(xo IN LISTS xos)
  if(NOT EXISTS ${xo})
    list(APPEND missing "${xo} (build it first: hls_<kernel>_${BOARD} for the HLS kernels, shell_xo for fanout_shell.xo)")
  endif()
endforeach()
# The xup example's hook that connects the CMACs' GT pins and reference clocks after system link
# (its README: "post_sys_link.tcl is automatically called from v++ after system link").
set(post_link "")
if(XUP_DIR)
  foreach(p ${XUP_DIR}/Ethernet/post_sys_link.tcl ${XUP_DIR}/post_sys_link.tcl)
    if(EXISTS ${p} AND NOT post_link)
      set(post_link ${p})
    endif()
  endforeach()
endif()
if(NOT post_link)
  list(APPEND missing "xup_vitis_network_example's post_sys_link.tcl (-DFANOUT_XUP_DIR=<checkout>): it wires the CMACs' GT pins")
endif()
if(missing)
  list(JOIN missing "\n  " text)
  message(FATAL_ERROR "xclbin_${BOARD}: missing\n  ${text}\nSee docs/alveo.md.")
endif()

set(cfg ${SRC}/constraints/${BOARD}/link.cfg)
set(xdc ${SRC}/constraints/${BOARD}/fanout.xdc)
file(MAKE_DIRECTORY ${WORK})
set(cmd ${VPP} --link -t hw --platform ${PLATFORM} --config ${cfg}
    --vivado.prop run.impl_1.STEPS.OPT_DESIGN.TCL.PRE=${xdc}
    --advanced.param compiler.userPostSysLinkOverlayTcl=${post_link}
    --temp_dir ${WORK}/tmp --log_dir ${WORK}/log --report_dir ${WORK}/report
    -o ${OUT} ${xos})
if(XUP_DIR)
  list(APPEND cmd --user_ip_repo_paths ${XUP_DIR}/Ethernet/cmac)
endif()
list(JOIN cmd " " shown)
message(STATUS "${shown}")
execute_process(COMMAND ${cmd} WORKING_DIRECTORY ${WORK} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "xclbin_${BOARD}: v++ failed (${rc}); logs in ${WORK}/log")
endif()
