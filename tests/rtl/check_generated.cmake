# Fails when a checked-in generated file differs from what its generator prints now.
#   cmake -DGEN=<generator> -DCHECKED_IN=<file> -P check_generated.cmake
execute_process(COMMAND ${GEN} OUTPUT_VARIABLE fresh RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${GEN} failed (${rc})")
endif()
file(READ ${CHECKED_IN} old)
if(NOT fresh STREQUAL old)
  message(FATAL_ERROR "${CHECKED_IN} is out of date with proto/: regenerate it with\n  ${GEN} > ${CHECKED_IN}")
endif()
message(STATUS "${CHECKED_IN} is up to date")
