# ctest helper: run one libFuzzer target for RUNS inputs on a fresh copy of its seed corpus.
#   cmake -DFUZZER=<exe> -DSEEDS=<seed dir> -DWORK=<scratch dir> -DRUNS=<n> -P run_fuzz_smoke.cmake
# libFuzzer adds new inputs to the first corpus directory it is given; copying keeps the
# generated seeds pristine and every smoke run starting from the same corpus.
foreach(var FUZZER SEEDS WORK RUNS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzz_smoke.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT IS_DIRECTORY "${SEEDS}")
  message(FATAL_ERROR "seed corpus ${SEEDS} is missing: build target fanout_fuzz_seeds")
endif()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
file(GLOB _seeds "${SEEDS}/*")
file(COPY ${_seeds} DESTINATION "${WORK}/corpus")

# Crash reproducers go to WORK/artifacts/ (printed below on failure).
execute_process(COMMAND "${FUZZER}" -runs=${RUNS} -seed=1 -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/
                        "${WORK}/corpus" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB _artifacts "${WORK}/artifacts/*")
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}); reproducers: ${_artifacts}")
endif()
