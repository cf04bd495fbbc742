// Fixture for tests/hls: every line marked "V" is one violation (14 in all); the checker must
// report exactly these. Not compiled.
#ifndef BAD_KERNEL_HPP
#define BAD_KERNEL_HPP
#include <vector>      // V header outside the allowed list
#include "hls_math.h"  // V quoted header that is neither allowed nor a project header
#include "ap_int.h"

inline void bad_kernel(int n) {
  int *p = new int[4];        // V
  delete p;                   // V
  void *q = malloc(8);        // V
  free(q);                    // V
  if (n < 0) throw n;         // V
  try {                       // V
    n++;
  } catch (...) {             // V
  }
  Base *b = dynamic_cast<Base *>(p); // V
  (void)typeid(b);            // V
  std::vector<int> v;         // V
  if constexpr (true) {       // V
  }
}
inline constexpr int kDepth = 3; // V
#endif
