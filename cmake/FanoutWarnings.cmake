# Warning flags shared by every Fanout target: fanout_warnings(<target>).
function(fanout_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic)
  if(FANOUT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# The same flags on some source files only: for targets that also compile third-party sources
# (Verilator's runtime, which verilate() adds to the target).
function(fanout_source_warnings)
  set(flags -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic)
  if(FANOUT_WERROR)
    list(APPEND flags -Werror)
  endif()
  set_property(SOURCE ${ARGN} APPEND PROPERTY COMPILE_OPTIONS ${flags})
endfunction()
