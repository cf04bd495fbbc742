# Fails when a proto/ header leaves the synthesizable subset that Vitis HLS accepts: no C++
# standard-library headers (only <stdint.h>), no allocation, no exceptions, no RTTI, no std::,
# and nothing newer than C++14 (if constexpr, inline variables).
#
#   cmake -DPROTO_DIR=<dir with the .hpp files> -P check_synthesizable.cmake
#
# Comments are skipped (// lines, trailing // comments, /* */ blocks) and string literals blanked,
# so prose may mention `new` or `std::`. Every violation is reported as file:line.
cmake_minimum_required(VERSION 3.20)

if(NOT DEFINED PROTO_DIR OR NOT IS_DIRECTORY "${PROTO_DIR}")
  message(FATAL_ERROR "check_synthesizable: pass -DPROTO_DIR=<directory> (got '${PROTO_DIR}')")
endif()
file(GLOB headers LIST_DIRECTORIES false "${PROTO_DIR}/*.hpp")
list(SORT headers)
if(NOT headers)
  message(FATAL_ERROR "check_synthesizable: no .hpp files in ${PROTO_DIR}")
endif()

set(_w "[^A-Za-z0-9_]") # a character that cannot continue an identifier
# rule name | regex that marks a violation
set(_rules
  "allocation (new)|(^|${_w})new[ \t(]"
  "deallocation (delete)|(^|${_w})delete[ \t(]"
  "C allocation|(^|${_w})(malloc|calloc|realloc|free)[ \t]*[(]"
  "exceptions (throw)|(^|${_w})throw(${_w}|$)"
  "exceptions (try)|(^|${_w})try(${_w}|$)"
  "exceptions (catch)|(^|${_w})catch(${_w}|$)"
  "RTTI (dynamic_cast)|(^|${_w})dynamic_cast(${_w}|$)"
  "RTTI (typeid)|(^|${_w})typeid(${_w}|$)"
  "standard library (std::)|(^|${_w})std[ \t]*::"
  "C++17 (if constexpr)|(^|${_w})if[ \t]+constexpr(${_w}|$)")
# Kept out of the list above because it contains ';'. A variable reaches '=', ';' or '{' before
# any '(' (a function has its parameter list first).
set(_inline_variable "(^|${_w})(inline[ \t]+(static|constexpr)|(static|constexpr)[ \t]+inline)[ \t][^(=;{]*[=;{]")

set(violations "")
foreach(header IN LISTS headers)
  get_filename_component(name "${header}" NAME)
  file(READ "${header}" text)
  # Split into lines without letting CMake's list syntax see ';', '[' or ']' in the code.
  string(REPLACE ";" "<SEMI>" text "${text}")
  string(REPLACE "[" "<LSQ>" text "${text}")
  string(REPLACE "]" "<RSQ>" text "${text}")
  string(REPLACE "\r" "" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")

  set(lineno 0)
  set(in_block_comment FALSE)
  foreach(raw IN LISTS lines)
    math(EXPR lineno "${lineno} + 1")
    string(REPLACE "<SEMI>" ";" code "${raw}")
    string(REPLACE "<LSQ>" "[" code "${code}")
    string(REPLACE "<RSQ>" "]" code "${code}")
    set(shown "${code}")

    if(in_block_comment)
      string(FIND "${code}" "*/" close)
      if(close EQUAL -1)
        continue()
      endif()
      math(EXPR close "${close} + 2")
      string(SUBSTRING "${code}" ${close} -1 code)
      set(in_block_comment FALSE)
    endif()
    if(code MATCHES "^[ \t]*//")
      continue()
    endif()
    string(REGEX REPLACE "\"([^\"\\\\]|\\\\.)*\"" "\"\"" code "${code}")          # string literals
    string(REGEX REPLACE "'([^'\\\\]|\\\\.)*'" "''" code "${code}")                # character literals
    string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" " " code "${code}")           # /* ... */ on one line
    string(REGEX REPLACE "//.*$" "" code "${code}")                                 # trailing comment
    string(FIND "${code}" "/*" open)
    if(NOT open EQUAL -1)
      string(SUBSTRING "${code}" 0 ${open} code)
      set(in_block_comment TRUE)
    endif()

    if(code MATCHES "^[ \t]*#[ \t]*include[ \t]*<([^>]*)>")
      if(NOT CMAKE_MATCH_1 STREQUAL "stdint.h")
        string(APPEND violations "\n  ${name}:${lineno}: header <${CMAKE_MATCH_1}> (only <stdint.h> is allowed): ${shown}")
      endif()
      continue()
    endif()
    foreach(rule IN LISTS _rules)
      string(FIND "${rule}" "|" bar)
      string(SUBSTRING "${rule}" 0 ${bar} what)
      math(EXPR bar "${bar} + 1")
      string(SUBSTRING "${rule}" ${bar} -1 pattern)
      if(code MATCHES "${pattern}")
        string(APPEND violations "\n  ${name}:${lineno}: ${what}: ${shown}")
      endif()
    endforeach()
    if(code MATCHES "${_inline_variable}")
      string(APPEND violations "\n  ${name}:${lineno}: C++17 (inline variable): ${shown}")
    endif()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "proto/ headers leave the synthesizable subset:${violations}")
endif()
list(LENGTH headers count)
message(STATUS "check_synthesizable: ${count} headers in ${PROTO_DIR} are in the synthesizable subset")
