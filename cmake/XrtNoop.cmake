# XrtNoop: run tests against XRT's noop shim (no card, no driver).
#
# XRT picks its device shim from XCL_EMULATION_MODE (noop here) and loads it from
# $XILINX_XRT/lib/libxrt_<shim>.so.2. Debian's libxrt packages put the libraries in
# /usr/lib/x86_64-linux-gnu, not under an XRT prefix, so this makes one in the build tree:
# <build>/xrt-noop/lib holds symbolic links to every libxrt_*.so* next to the libxrt_coreutil that
# FindXRT found (/work/shared/TOOLCHAIN.md, "XRT 2.13").
#
#   include(XrtNoop)
#   fanout_xrt_noop_environment(env)          # env = "XILINX_XRT=<build>/xrt-noop;XCL_EMULATION_MODE=noop"
#   fanout_xrt_noop_tests(test_a test_b ...)  # sets that ENVIRONMENT on tests made with add_test()
#
# Only with FANOUT_HAVE_XRT (cmake/FanoutOptional.cmake). What works under noop and what does not
# is measured by tests/xrt/test_xclbin_metadata.cpp and written down in docs/alveo.md.

function(fanout_xrt_noop_environment out_var)
  if(NOT XRT_COREUTIL_LIBRARY)
    message(FATAL_ERROR "fanout_xrt_noop_environment: XRT not found (FANOUT_HAVE_XRT is OFF)")
  endif()
  set(prefix ${CMAKE_BINARY_DIR}/xrt-noop)
  get_filename_component(libdir "${XRT_COREUTIL_LIBRARY}" DIRECTORY)
  file(GLOB libs "${libdir}/libxrt_*.so*")
  if(NOT libs)
    message(FATAL_ERROR "fanout_xrt_noop_environment: no libxrt_*.so* in ${libdir}")
  endif()
  file(MAKE_DIRECTORY ${prefix}/lib)
  foreach(lib IN LISTS libs)
    get_filename_component(name "${lib}" NAME)
    file(CREATE_LINK "${lib}" "${prefix}/lib/${name}" SYMBOLIC)
  endforeach()
  if(NOT EXISTS "${prefix}/lib/libxrt_noop.so.2")
    message(WARNING "fanout_xrt_noop_environment: ${libdir} has no libxrt_noop.so.2; the noop tests will fail")
  endif()
  set(${out_var} "XILINX_XRT=${prefix};XCL_EMULATION_MODE=noop" PARENT_SCOPE)
endfunction()

function(fanout_xrt_noop_tests)
  fanout_xrt_noop_environment(env)
  set_tests_properties(${ARGN} PROPERTIES ENVIRONMENT "${env}")
endfunction()
