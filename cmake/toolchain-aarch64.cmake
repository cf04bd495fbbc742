# Cross toolchain for aarch64 Linux (BlueField DPU Arm cores): Debian's aarch64-linux-gnu-g++
# (crossbuild-essential-arm64) against a sysroot of Debian arm64 packages built by
# scripts/arm64-sysroot.sh, with qemu-aarch64 (qemu-user) as the emulator that ctest and
# gtest_discover_tests run the test programs under. Used by the `arm64` preset; see
# docs/building.md, "arm64 (BlueField Arm cores)".
#
# Sysroot: -DFANOUT_ARM64_SYSROOT=<dir>, else $ENV{FANOUT_ARM64_SYSROOT}, else
# <source>/build/arm64-sysroot.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

# This file is read again inside every try_compile project, where the main project's cache is
# not visible: pass the sysroot through CMAKE_TRY_COMPILE_PLATFORM_VARIABLES and the environment.
if(NOT FANOUT_ARM64_SYSROOT)
  if(DEFINED ENV{FANOUT_ARM64_SYSROOT} AND NOT "$ENV{FANOUT_ARM64_SYSROOT}" STREQUAL "")
    set(FANOUT_ARM64_SYSROOT "$ENV{FANOUT_ARM64_SYSROOT}")
  else()
    get_filename_component(FANOUT_ARM64_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../build/arm64-sysroot" ABSOLUTE)
  endif()
endif()
get_filename_component(FANOUT_ARM64_SYSROOT "${FANOUT_ARM64_SYSROOT}" ABSOLUTE)
set(FANOUT_ARM64_SYSROOT "${FANOUT_ARM64_SYSROOT}" CACHE PATH "arm64 sysroot (scripts/arm64-sysroot.sh)")
set(ENV{FANOUT_ARM64_SYSROOT} "${FANOUT_ARM64_SYSROOT}")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FANOUT_ARM64_SYSROOT)
if(NOT EXISTS "${FANOUT_ARM64_SYSROOT}/usr/include/aarch64-linux-gnu")
  message(FATAL_ERROR "arm64 sysroot missing or incomplete: ${FANOUT_ARM64_SYSROOT}\n"
                      "Build it with scripts/arm64-sysroot.sh (or set FANOUT_ARM64_SYSROOT).")
endif()

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_SYSROOT "${FANOUT_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${FANOUT_ARM64_SYSROOT}")
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Programs (tclsh, python3, ...) from the build machine; libraries, headers and CMake package
# configs only from the sysroot, never the machine's own amd64 ones.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (DPDK's libdpdk.pc, ...) reads only the sysroot's .pc files and prefixes the
# -I/-L paths it prints with the sysroot.
set(ENV{PKG_CONFIG_LIBDIR}
    "${FANOUT_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${FANOUT_ARM64_SYSROOT}/usr/lib/pkgconfig:${FANOUT_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${FANOUT_ARM64_SYSROOT}")
set(ENV{PKG_CONFIG_PATH} "")

# ctest, gtest_discover_tests and custom commands that run a built program prefix it with this.
# -L: the dynamic loader and shared libraries come from the sysroot.
find_program(FANOUT_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static
             DOC "qemu user-mode emulator for aarch64 (Debian package qemu-user)")
if(FANOUT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${FANOUT_QEMU_AARCH64};-L;${FANOUT_ARM64_SYSROOT}")
else()
  message(WARNING "qemu-aarch64 not found (Debian package qemu-user): arm64 programs can be built but "
                  "not run here, so the tests (and gtest_discover_tests) fail")
endif()
