// Fixture for tests/hls: allowed constructs only; the checker must accept this file.
// Prose may say new, delete, throw, try, catch, std::vector or malloc( freely.
/* Block comments too: new int[3]; std::map
   across lines: throw; */
#ifndef GOOD_KERNEL_HPP
#define GOOD_KERNEL_HPP
#include <stdint.h>
#include "ap_axi_sdata.h"
#include "ap_int.h"
#include "hls_stream.h"
#include "fanout/proto/wire.hpp"
#include "helper.hpp"
#ifndef __SYNTHESIS__
#include <stdio.h>
#include <vector>
#endif

static const char *kName = "throw new std::thing"; // strings are blanked
static const char kQuote = '"';

inline int renew(int newline, int std_dev, int try_count) { return newline + std_dev + try_count + kHelper; }

inline void good_kernel(hls::stream<ap_uint<8>, 4> &in) {
  if (!in.empty()) {
    ap_uint<8> v = in.read();
#ifndef __SYNTHESIS__
    std::vector<int> trace; // simulation only
    printf("%d %s %c\n", v.to_int(), kName, kQuote);
#endif
#ifdef __SYNTHESIS__
    (void)v;
#else
    std::printf("csim\n");
#endif
#if !defined(__SYNTHESIS__)
    int *leak = new int(1);
    delete leak;
#endif
  }
}
#endif
