// What a Fanout kernel needs to compile unchanged under Vitis HLS and under the project's shim.
//
// * Includes: kernels write #include "ap_int.h", "hls_stream.h", "ap_axi_sdata.h". The build puts
//   Vitis's include directory on the path when it exists and hls/common/shim otherwise, so the
//   same text picks up the vendor headers or the model (FANOUT_HLS_SHIM is defined with the shim).
// * Language: C++14 at most (Vitis HLS accepts no newer), no heap, exceptions, RTTI, standard
//   containers or std::, no recursion (Vitis rejects it; no grep can), every loop bounded.
// * Synthesis vs simulation: Vitis defines __SYNTHESIS__ while it synthesizes, and not during C
//   simulation. Wrap simulation-only code (printf, asserts, counters for tests) in
//   #ifndef __SYNTHESIS__ ... #endif; the synthesizable-subset check skips such blocks.
// * Pragmas: FANOUT_HLS_PRAGMA(HLS PIPELINE II=1) emits _Pragma("HLS PIPELINE II=1"). Being
//   _Pragma based it works inside other macros, where a #pragma line cannot appear. It expands
//   to nothing unless __SYNTHESIS__ (or FANOUT_HLS_EMIT_PRAGMAS, for checking the spelling) is
//   defined: a host compiler would warn about every unknown "HLS" pragma, and only the
//   synthesis front end reads them.
//
// C++14, synthesizable subset.
#ifndef FANOUT_HLS_COMPAT_HPP
#define FANOUT_HLS_COMPAT_HPP

#define FANOUT_HLS_STRINGIFY_(x) #x

#if defined(__SYNTHESIS__) || defined(FANOUT_HLS_EMIT_PRAGMAS)
#define FANOUT_HLS_PRAGMA(x) _Pragma(FANOUT_HLS_STRINGIFY_(x))
#else
#define FANOUT_HLS_PRAGMA(x)
#endif

#endif
