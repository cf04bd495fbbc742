// Fixture of ctest kernel_regs_check_rejects (read as text by scripts/check_kernel_regs.py, never
// compiled): a top that disagrees with bad.yaml once per kind of finding.
#include "fanout/hls/compat.hpp"
#include "fanout/hls/generated/kernel_regs.hpp"

extern "C" void fanout_bad(hls::stream<fanout::hw::axis_word> &in, hls::stream<fanout::hw::ParsedMeta> &meta,
                           hls::stream<fanout::hw::axis_word> &out2, uint32_t a, uint32_t b, uint16_t w16,
                           uint32_t out_by_value, uint32_t four[4], uint32_t named[fanout::proto::kErrorCount],
                           uint32_t extra, uint8_t wire_in, uint32_t bare) {
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_ctrl_hs port = return)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = in)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = meta)
  FANOUT_HLS_PRAGMA(HLS INTERFACE axis register both port = out2)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = a offset = FANOUT_REG_BAD_B bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = b offset = FANOUT_REG_BAD_B bundle = ctrl)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = w16 offset = FANOUT_REG_BAD_W16 bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = out_by_value offset = FANOUT_REG_BAD_OUT_BY_VALUE bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = four offset = FANOUT_REG_BAD_FOUR bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = named offset = FANOUT_REG_BAD_NAMED bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE s_axilite port = extra offset = FANOUT_REG_BAD_EXTRA bundle = control)
  FANOUT_HLS_PRAGMA(HLS INTERFACE ap_none port = wire_in)
}
