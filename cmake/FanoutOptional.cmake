# Detection of Fanout's optional parts. Each part that is missing is reported at configure time
# with the Debian 12 package that provides it; everything that does not need it still builds.
# scripts/install-deps.sh installs all of them.

set(FANOUT_SUMMARY_LINES "" CACHE INTERNAL "")

function(fanout_report_part name found_var packages)
  if(${found_var})
    set(line "  [x] ${name}")
  else()
    set(line "  [ ] ${name}: not found -> apt-get install ${packages}")
    message(STATUS "Fanout: ${name} not found; install Debian package(s): ${packages}")
  endif()
  set(FANOUT_SUMMARY_LINES "${FANOUT_SUMMARY_LINES};${line}" CACHE INTERNAL "")
endfunction()

macro(fanout_detect_optional_parts)
  find_package(PkgConfig QUIET)

  # Cycle-level simulator: Verilator + SystemC (sim/, rtl/ tests).
  find_package(verilator QUIET HINTS /usr/share/verilator)
  set(FANOUT_HAVE_VERILATOR ${verilator_FOUND})
  fanout_report_part("Verilator (rtl/, sim/)" FANOUT_HAVE_VERILATOR "verilator")
  set(FANOUT_HAVE_SYSTEMC OFF)
  if(PkgConfig_FOUND)
    pkg_check_modules(SYSTEMC QUIET IMPORTED_TARGET systemc)
    if(SYSTEMC_FOUND)
      set(FANOUT_HAVE_SYSTEMC ON)
    endif()
  endif()
  fanout_report_part("SystemC (sim/)" FANOUT_HAVE_SYSTEMC "libsystemc-dev")

  # Software data path: DPDK 22.11.
  set(FANOUT_HAVE_DPDK OFF)
  if(PkgConfig_FOUND)
    pkg_check_modules(DPDK QUIET IMPORTED_TARGET libdpdk)
    if(DPDK_FOUND)
      set(FANOUT_HAVE_DPDK ON)
    endif()
  endif()
  fanout_report_part("DPDK (host/fanout-dp, dpdk backend)" FANOUT_HAVE_DPDK "dpdk-dev libdpdk-dev")

  # Alveo host runtime: XRT 2.13 (Debian's xrt.pc is wrong; see cmake/FindXRT.cmake).
  find_package(XRT QUIET)
  set(FANOUT_HAVE_XRT ${XRT_FOUND})
  fanout_report_part("XRT (xrt backend, fanout card)" FANOUT_HAVE_XRT "libxrt-dev uuid-dev")

  # libFuzzer ships with clang's runtime.
  find_program(FANOUT_CLANGXX NAMES clang++ clang++-14)
  set(FANOUT_HAVE_LIBFUZZER OFF)
  if(FANOUT_CLANGXX AND FANOUT_FUZZ)
    file(GLOB _fuzzer_libs /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a)
    if(_fuzzer_libs)
      set(FANOUT_HAVE_LIBFUZZER ON)
    endif()
  endif()
  fanout_report_part("libFuzzer (fuzz targets)" FANOUT_HAVE_LIBFUZZER "clang libclang-rt-14-dev")

  # Benchmarks.
  find_package(benchmark QUIET)
  set(FANOUT_HAVE_BENCHMARK ${benchmark_FOUND})
  fanout_report_part("Google Benchmark (bench/)" FANOUT_HAVE_BENCHMARK "libbenchmark-dev")
endmacro()

function(fanout_print_summary)
  message(STATUS "Fanout ${PROJECT_VERSION} optional parts:")
  foreach(line IN LISTS FANOUT_SUMMARY_LINES)
    if(line)
      message(STATUS "${line}")
    endif()
  endforeach()
endfunction()
