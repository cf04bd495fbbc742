# Detection of Fanout's optional parts. Each part that is missing is reported at configure time
# with the Debian 12 package that provides it; everything that does not need it still builds.
# scripts/install-deps.sh installs all of them.

set(FANOUT_SUMMARY_LINES "" CACHE INTERNAL "")

# Switches to leave a part out without looking for it (cross builds: the `arm64` preset, whose
# sysroot has none of them). OFF reports the part as disabled; everything that needs it is
# skipped exactly as when it is not installed.
option(FANOUT_ENABLE_VERILATOR "Look for Verilator (rtl/ tests, sim/'s NIC model)" ON)
option(FANOUT_ENABLE_SYSTEMC "Look for SystemC (sim/)" ON)
option(FANOUT_ENABLE_DPDK "Look for DPDK (host/fanout-dp, dpdk backend)" ON)
option(FANOUT_ENABLE_XRT "Look for XRT (xrt backend, fanout card)" ON)

function(fanout_report_part name found_var packages)
  if(ARGC GREATER 3 AND NOT ${ARGV3})
    set(line "  [ ] ${name}: disabled (${ARGV3}=OFF)")
  elseif(${found_var})
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
  set(FANOUT_HAVE_VERILATOR OFF)
  if(FANOUT_ENABLE_VERILATOR)
    find_package(verilator QUIET HINTS /usr/share/verilator)
    set(FANOUT_HAVE_VERILATOR ${verilator_FOUND})
  endif()
  fanout_report_part("Verilator (rtl/, sim/)" FANOUT_HAVE_VERILATOR "verilator" FANOUT_ENABLE_VERILATOR)
  set(FANOUT_HAVE_SYSTEMC OFF)
  if(PkgConfig_FOUND AND FANOUT_ENABLE_SYSTEMC)
    pkg_check_modules(SYSTEMC QUIET IMPORTED_TARGET systemc)
    if(SYSTEMC_FOUND)
      set(FANOUT_HAVE_SYSTEMC ON)
    endif()
  endif()
  fanout_report_part("SystemC (sim/)" FANOUT_HAVE_SYSTEMC "libsystemc-dev" FANOUT_ENABLE_SYSTEMC)

  # Software data path: DPDK 22.11.
  set(FANOUT_HAVE_DPDK OFF)
  if(PkgConfig_FOUND AND FANOUT_ENABLE_DPDK)
    pkg_check_modules(DPDK QUIET IMPORTED_TARGET libdpdk)
    if(DPDK_FOUND)
      set(FANOUT_HAVE_DPDK ON)
    endif()
  endif()
  fanout_report_part("DPDK (host/fanout-dp, dpdk backend)" FANOUT_HAVE_DPDK "dpdk-dev libdpdk-dev" FANOUT_ENABLE_DPDK)

  # Alveo host runtime: XRT 2.13 (Debian's xrt.pc is wrong; see cmake/FindXRT.cmake).
  set(FANOUT_HAVE_XRT OFF)
  if(FANOUT_ENABLE_XRT)
    find_package(XRT QUIET)
    set(FANOUT_HAVE_XRT ${XRT_FOUND})
  endif()
  fanout_report_part("XRT (xrt backend, fanout card)" FANOUT_HAVE_XRT "libxrt-dev uuid-dev" FANOUT_ENABLE_XRT)

  # libFuzzer ships with clang's runtime.
  find_program(FANOUT_CLANGXX NAMES clang++ clang++-14)
  set(FANOUT_HAVE_LIBFUZZER OFF)
  # The fuzzers are host (x86_64) programs built by clang++ directly: never in a cross build.
  if(FANOUT_CLANGXX AND FANOUT_FUZZ AND NOT CMAKE_CROSSCOMPILING)
    file(GLOB _fuzzer_libs /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a)
    if(_fuzzer_libs)
      set(FANOUT_HAVE_LIBFUZZER ON)
    endif()
  endif()
  fanout_report_part("libFuzzer (fuzz targets)" FANOUT_HAVE_LIBFUZZER "clang libclang-rt-14-dev" FANOUT_FUZZ)

  # Benchmarks.
  set(FANOUT_HAVE_BENCHMARK OFF)
  if(DEFINED FANOUT_BUILD_BENCH AND NOT FANOUT_BUILD_BENCH)
    fanout_report_part("Google Benchmark (bench/)" FANOUT_HAVE_BENCHMARK "libbenchmark-dev" FANOUT_BUILD_BENCH)
  else()
    find_package(benchmark QUIET)
    set(FANOUT_HAVE_BENCHMARK ${benchmark_FOUND})
    fanout_report_part("Google Benchmark (bench/)" FANOUT_HAVE_BENCHMARK "libbenchmark-dev")
  endif()
endmacro()

function(fanout_print_summary)
  message(STATUS "Fanout ${PROJECT_VERSION} optional parts:")
  foreach(line IN LISTS FANOUT_SUMMARY_LINES)
    if(line)
      message(STATUS "${line}")
    endif()
  endforeach()
endfunction()
