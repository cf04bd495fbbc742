# Warning flags shared by every Fanout target: fanout_warnings(<target>).
function(fanout_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic)
  if(FANOUT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
