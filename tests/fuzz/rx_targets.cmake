# fuzz_dp_rx and fuzz_udp_rx: the receive paths of fanout-dp (driver/dp, DPDK) and of the udp
# backend (driver/src/transport). Included from CMakeLists.txt; docs/fuzzing.md describes them.
# Unlike proto/'s targets, the code under test lives in .cpp files: the libFuzzer build compiles
# them into the target with the sanitizers (engine.cpp, transport.cpp), while DPDK stays the
# system's uninstrumented shared libraries. The replay builds link the normal libraries.

set(_rx_src ${CMAKE_CURRENT_SOURCE_DIR})
set(_rx_dp OFF)
if(FANOUT_HAVE_DPDK AND TARGET fanout_dp_engine)
  set(_rx_dp ON)
endif()
set(_rx_udp OFF)
if(TARGET fanout_driver)
  set(_rx_udp ON)
endif()

# ---- Replay executables (main compiler) ------------------------------------------------------
if(_rx_dp)
  add_executable(fuzz_dp_rx_replay fuzz_dp_rx.cpp replay_main.cpp)
  target_link_libraries(fuzz_dp_rx_replay PRIVATE fanout::dp fanout::proto)
endif()
if(_rx_udp)
  add_executable(fuzz_udp_rx_replay fuzz_udp_rx.cpp replay_main.cpp)
  target_include_directories(fuzz_udp_rx_replay PRIVATE ${FANOUT_DRIVER_SRC_DIR})
  target_link_libraries(fuzz_udp_rx_replay PRIVATE fanout::driver fanout::proto)
endif()
set(_rx_targets)
if(_rx_dp)
  list(APPEND _rx_targets fuzz_dp_rx)
endif()
if(_rx_udp)
  list(APPEND _rx_targets fuzz_udp_rx)
endif()
foreach(target IN LISTS _rx_targets)
  target_compile_features(${target}_replay PRIVATE cxx_std_17)
  fanout_warnings(${target}_replay)
  add_dependencies(${target}_replay fanout_fuzz_seeds)
  add_test(NAME ${target}_replay_seeds COMMAND ${target}_replay ${FANOUT_FUZZ_SEED_DIR}/${target})
  set_tests_properties(${target}_replay_seeds PROPERTIES LABELS fuzz TIMEOUT 60)
  if(EXISTS ${_rx_src}/regressions/${target})
    add_test(NAME ${target}_replay_regressions COMMAND ${target}_replay ${_rx_src}/regressions/${target})
    set_tests_properties(${target}_replay_regressions PROPERTIES LABELS fuzz TIMEOUT 60)
  endif()
endforeach()
if(_rx_dp)
  # EAL's own lcore/memory setup: one at a time with other DPDK tests on the 2-core machine.
  set_tests_properties(fuzz_dp_rx_replay_seeds PROPERTIES RESOURCE_LOCK dpdk_eal)
endif()

# ---- libFuzzer executables (clang++) ---------------------------------------------------------
if(NOT FANOUT_HAVE_LIBFUZZER)
  return()
endif()
set(_rx_flags -std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
              -fno-sanitize-recover=all -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic)
if(FANOUT_WERROR)
  list(APPEND _rx_flags -Werror)
endif()
set(_rx_launcher "")
if(CMAKE_CXX_COMPILER_LAUNCHER)
  set(_rx_launcher ${CMAKE_CXX_COMPILER_LAUNCHER})
endif()
get_target_property(_rx_proto_include fanout_proto INTERFACE_INCLUDE_DIRECTORIES)

if(_rx_dp)
  set(_isys)
  foreach(d IN LISTS DPDK_INCLUDE_DIRS)
    list(APPEND _isys -isystem ${d})
  endforeach()
  set(_bin ${CMAKE_CURRENT_BINARY_DIR}/fuzz_dp_rx)
  set(_engine ${PROJECT_SOURCE_DIR}/driver/dp/src/engine.cpp)
  # -march=corei7 and rte_config.h come from libdpdk.pc (DPDK_CFLAGS_OTHER).
  add_custom_command(
    OUTPUT ${_bin}
    COMMAND ${_rx_launcher} ${FANOUT_CLANGXX} ${_rx_flags} ${DPDK_CFLAGS_OTHER} ${_isys} -I${_rx_proto_include}
            -I${PROJECT_SOURCE_DIR}/driver/dp/include -I${_rx_src} -MD -MF ${_bin}.d ${_rx_src}/fuzz_dp_rx.cpp
            ${_engine} -o ${_bin} ${DPDK_LDFLAGS} ${FANOUT_RTE_NET_RING}
    DEPENDS ${_rx_src}/fuzz_dp_rx.cpp ${_engine}
    DEPFILE ${_bin}.d
    COMMENT "Building libFuzzer target fuzz_dp_rx with ${FANOUT_CLANGXX}"
    VERBATIM)
  add_custom_target(fuzz_dp_rx_fuzzer ALL DEPENDS ${_bin} fanout_fuzz_seeds)
endif()

if(_rx_udp)
  set(_bin ${CMAKE_CURRENT_BINARY_DIR}/fuzz_udp_rx)
  set(_transport ${FANOUT_DRIVER_SRC_DIR}/transport/transport.cpp)
  add_custom_command(
    OUTPUT ${_bin}
    COMMAND ${_rx_launcher} ${FANOUT_CLANGXX} ${_rx_flags} -I${_rx_proto_include} -I${PROJECT_SOURCE_DIR}/driver/include
            -I${FANOUT_DRIVER_SRC_DIR} -I${_rx_src} -MD -MF ${_bin}.d ${_rx_src}/fuzz_udp_rx.cpp ${_transport}
            ${_rx_src}/large_block_cache.cpp -o ${_bin}
    DEPENDS ${_rx_src}/fuzz_udp_rx.cpp ${_transport} ${_rx_src}/large_block_cache.cpp
    DEPFILE ${_bin}.d
    COMMENT "Building libFuzzer target fuzz_udp_rx with ${FANOUT_CLANGXX}"
    VERBATIM)
  add_custom_target(fuzz_udp_rx_fuzzer ALL DEPENDS ${_bin} fanout_fuzz_seeds)
endif()

foreach(target IN LISTS _rx_targets)
  set(_runs ${FANOUT_FUZZ_SMOKE_RUNS})
  add_test(NAME ${target}_smoke
           COMMAND ${CMAKE_COMMAND} -DFUZZER=${CMAKE_CURRENT_BINARY_DIR}/${target}
                   -DSEEDS=${FANOUT_FUZZ_SEED_DIR}/${target} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/smoke/${target}
                   -DRUNS=${_runs} -P ${_rx_src}/run_fuzz_smoke.cmake)
  set_tests_properties(${target}_smoke PROPERTIES LABELS fuzz TIMEOUT 120)
endforeach()
if(_rx_dp)
  set_tests_properties(fuzz_dp_rx_smoke PROPERTIES RESOURCE_LOCK dpdk_eal)
endif()
