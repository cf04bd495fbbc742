// ap_axi_sdata.h: Fanout's minimal stand-in for Vitis HLS's header of the same name.
//
// Used ONLY when Vitis's own headers are absent (hls/CMakeLists.txt decides). ap_axiu<D, U, TI, TD>
// is one AXI-Stream beat with Vitis's member names and widths: tdata D bits, tkeep and tstrb one
// bit per byte, tuser U, tlast 1, tid TI, tdest TD. ap_axis is the same with signed data.
//
// U, TI or TD may be 0 (the signal does not exist on the interface). That member is then an
// empty struct: it exists, so aggregate copies work, but it cannot be read or written, so a
// kernel cannot come to depend on a signal the hardware does not have.
#ifndef FANOUT_HLS_SHIM_AP_AXI_SDATA_H
#define FANOUT_HLS_SHIM_AP_AXI_SDATA_H

#include "ap_int.h"

namespace ap_shim {
struct absent_signal {};
template <int W> struct axis_field { typedef ap_uint<W> type; };
template <> struct axis_field<0> { typedef absent_signal type; };
} // namespace ap_shim

template <int D, int U, int TI, int TD> struct ap_axiu {
  static_assert(D >= 1 && U >= 0 && TI >= 0 && TD >= 0, "ap_axiu: bad widths");
  ap_uint<D> data;
  ap_uint<(D + 7) / 8> keep;
  ap_uint<(D + 7) / 8> strb;
  typename ap_shim::axis_field<U>::type user;
  ap_uint<1> last;
  typename ap_shim::axis_field<TI>::type id;
  typename ap_shim::axis_field<TD>::type dest;
};

template <int D, int U, int TI, int TD> struct ap_axis {
  static_assert(D >= 1 && U >= 0 && TI >= 0 && TD >= 0, "ap_axis: bad widths");
  ap_int<D> data;
  ap_uint<(D + 7) / 8> keep;
  ap_uint<(D + 7) / 8> strb;
  typename ap_shim::axis_field<U>::type user;
  ap_uint<1> last;
  typename ap_shim::axis_field<TI>::type id;
  typename ap_shim::axis_field<TD>::type dest;
};

#endif
