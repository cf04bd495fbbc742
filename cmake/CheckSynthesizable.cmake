# Fails when C++ sources leave the synthesizable subset that Vitis HLS accepts: no allocation, no
# exceptions, no RTTI, no std:: (containers and the rest of the standard library), nothing newer
# than C++14 (if constexpr, inline variables), and no header beyond an allowed list.
# Used by proto/ (tests/proto) and hls/ (tests/hls).
#
#   cmake -DCHECK_DIRS=<dir>[,<dir>...]       scanned recursively: *.hpp *.h *.hh *.cpp *.cc
#         [-DEXCLUDE_DIRS=<dir>[,<dir>...]]   skipped (hls/common/shim models the vendor library)
#         [-DALLOWED_INCLUDES=<name>[,...]]   headers allowed as <name> or "name" (default stdint.h)
#         [-DWHAT=<label>]                    names the tree in the report
#         -P CheckSynthesizable.cmake
#
# A quoted include outside the list is allowed when it is a project header: "fanout/..." or a
# file next to the including one. Comments are skipped (// lines, trailing // comments, /* */
# blocks) and string literals blanked, so prose may mention `new` or `std::`. Code that only C
# simulation compiles -- between #ifndef __SYNTHESIS__ (or #if !defined(__SYNTHESIS__)) and its
# #else/#endif, or after the #else of #ifdef __SYNTHESIS__ -- is skipped. Recursion is NOT
# checked: no pattern can see it, and Vitis rejects it at synthesis.
# Every violation is reported as file:line, then a count.
cmake_minimum_required(VERSION 3.20)

if(NOT DEFINED WHAT)
  set(WHAT "checked")
endif()
if(NOT DEFINED ALLOWED_INCLUDES)
  set(ALLOWED_INCLUDES "stdint.h")
endif()
string(REPLACE "," ";" _dirs "${CHECK_DIRS}")
string(REPLACE "," ";" _excludes "${EXCLUDE_DIRS}")
string(REPLACE "," ";" _allowed "${ALLOWED_INCLUDES}")

set(sources "")
foreach(dir IN LISTS _dirs)
  if(NOT IS_DIRECTORY "${dir}")
    message(FATAL_ERROR "CheckSynthesizable: not a directory: '${dir}' (pass -DCHECK_DIRS=<dir>[,<dir>...])")
  endif()
  file(GLOB_RECURSE found LIST_DIRECTORIES false
       "${dir}/*.hpp" "${dir}/*.h" "${dir}/*.hh" "${dir}/*.cpp" "${dir}/*.cc")
  list(APPEND sources ${found})
endforeach()
foreach(ex IN LISTS _excludes)
  list(FILTER sources EXCLUDE REGEX "^${ex}/")
endforeach()
list(SORT sources)
if(NOT sources)
  message(FATAL_ERROR "CheckSynthesizable: no sources in ${CHECK_DIRS}")
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
set(_not_synth "^[ \t]*#[ \t]*(ifndef[ \t]+__SYNTHESIS__|if[ \t]+![ \t]*defined[ \t]*[(]?[ \t]*__SYNTHESIS__)")
set(_synth "^[ \t]*#[ \t]*(ifdef[ \t]+__SYNTHESIS__|if[ \t]+defined[ \t]*[(]?[ \t]*__SYNTHESIS__[ \t]*[)]?[ \t]*$)")

set(violations "")
set(count 0)
foreach(src IN LISTS sources)
  file(RELATIVE_PATH name "${CMAKE_CURRENT_LIST_DIR}/.." "${src}")
  get_filename_component(src_dir "${src}" DIRECTORY)
  file(READ "${src}" text)
  # Split into lines without letting CMake's list syntax see ';', '[' or ']' in the code.
  string(REPLACE ";" "<SEMI>" text "${text}")
  string(REPLACE "[" "<LSQ>" text "${text}")
  string(REPLACE "]" "<RSQ>" text "${text}")
  string(REPLACE "\r" "" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")

  set(lineno 0)
  set(in_block_comment FALSE)
  set(depth 0)          # #if nesting
  set(skip_depth 0)     # > 0: inside simulation-only code opened at this depth
  set(synth_depth 0)    # > 0: inside "#ifdef __SYNTHESIS__" opened at this depth
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

    # Preprocessor nesting, to skip what only C simulation compiles.
    if(code MATCHES "^[ \t]*#[ \t]*if")
      math(EXPR depth "${depth} + 1")
      if(skip_depth EQUAL 0 AND code MATCHES "${_not_synth}")
        set(skip_depth ${depth})
      elseif(skip_depth EQUAL 0 AND synth_depth EQUAL 0 AND code MATCHES "${_synth}")
        set(synth_depth ${depth})
      endif()
      continue()
    elseif(code MATCHES "^[ \t]*#[ \t]*(else|elif)")
      if(skip_depth EQUAL depth)
        set(skip_depth 0)
      elseif(synth_depth EQUAL depth)
        set(synth_depth 0)
        set(skip_depth ${depth})
      endif()
      continue()
    elseif(code MATCHES "^[ \t]*#[ \t]*endif")
      if(skip_depth EQUAL depth)
        set(skip_depth 0)
      endif()
      if(synth_depth EQUAL depth)
        set(synth_depth 0)
      endif()
      math(EXPR depth "${depth} - 1")
      continue()
    endif()
    if(NOT skip_depth EQUAL 0)
      continue()
    endif()

    # Includes, before string literals are blanked (a quoted include is one).
    if(code MATCHES "^[ \t]*#[ \t]*include[ \t]*<([^>]*)>")
      if(NOT CMAKE_MATCH_1 IN_LIST _allowed)
        string(APPEND violations "\n  ${name}:${lineno}: header <${CMAKE_MATCH_1}> (allowed: ${ALLOWED_INCLUDES}): ${shown}")
        math(EXPR count "${count} + 1")
      endif()
      continue()
    endif()
    if(code MATCHES "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\"")
      set(inc "${CMAKE_MATCH_1}")
      if(NOT inc IN_LIST _allowed AND NOT inc MATCHES "^fanout/" AND NOT EXISTS "${src_dir}/${inc}")
        string(APPEND violations "\n  ${name}:${lineno}: header \"${inc}\" (not allowed, not a project header): ${shown}")
        math(EXPR count "${count} + 1")
      endif()
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

    foreach(rule IN LISTS _rules)
      string(FIND "${rule}" "|" bar)
      string(SUBSTRING "${rule}" 0 ${bar} what_rule)
      math(EXPR bar "${bar} + 1")
      string(SUBSTRING "${rule}" ${bar} -1 pattern)
      if(code MATCHES "${pattern}")
        string(APPEND violations "\n  ${name}:${lineno}: ${what_rule}: ${shown}")
        math(EXPR count "${count} + 1")
      endif()
    endforeach()
    if(code MATCHES "${_inline_variable}")
      string(APPEND violations "\n  ${name}:${lineno}: C++17 (inline variable): ${shown}")
      math(EXPR count "${count} + 1")
    endif()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "${WHAT} sources leave the synthesizable subset (${count} violations):${violations}")
endif()
list(LENGTH sources n)
message(STATUS "CheckSynthesizable: ${n} ${WHAT} sources are in the synthesizable subset")
