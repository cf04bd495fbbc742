// Fixture for tests/hls: a local project header (included by good_kernel.hpp).
#ifndef HELPER_HPP
#define HELPER_HPP
static const int kHelper = 1;
#endif
