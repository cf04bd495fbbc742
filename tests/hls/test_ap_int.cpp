// ap_uint / ap_int against reference models: unsigned __int128 for widths up to 128, a
// little-endian byte array for 512. Random operands from fixed seeds, so failures reproduce.
#include "ap_int.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>

namespace {

__extension__ typedef unsigned __int128 u128;

u128 mask128(int n) {
  return n >= 128 ? ~(u128)0 : (((u128)1 << n) - 1);
}
u128 shl128(u128 v, int s) {
  return s >= 128 ? 0 : v << s;
}
u128 shr128(u128 v, int s) {
  return s >= 128 ? 0 : v >> s;
}

u128 rand128(std::mt19937_64 &rng, int n) {
  u128 v = ((u128)rng() << 64) | rng();
  // Bias towards edge values: all ones, zero, single bits, as well as uniform ones.
  switch (rng() % 8) {
  case 0: v = ~(u128)0; break;
  case 1: v = 0; break;
  case 2: v = (u128)1 << (rng() % 128); break;
  default: break;
  }
  return v & mask128(n);
}

// Built and read bit by bit, the most basic operation (checked on its own in BitAccess).
template <int N> ap_uint<N> from128(u128 v) {
  ap_uint<N> x = 0;
  for (int i = 0; i < N && i < 128; i++) x[i] = (int)((v >> i) & 1);
  return x;
}
template <int N> u128 to128(const ap_uint<N> &x) {
  u128 v = 0;
  for (int i = 0; i < N && i < 128; i++)
    if (x[i]) v |= (u128)1 << i;
  return v;
}
std::string hex128(u128 v) {
  char buf[40];
  snprintf(buf, sizeof buf, "0x%016llx%016llx", (unsigned long long)(v >> 64), (unsigned long long)v);
  return buf;
}

template <int N> void check_width(uint64_t seed) {
  SCOPED_TRACE("N=" + std::to_string(N));
  std::mt19937_64 rng(seed);
  const u128 m = mask128(N);
  for (int iter = 0; iter < 1500; iter++) {
    u128 va = rand128(rng, N), vb = rand128(rng, N);
    ap_uint<N> a = from128<N>(va), b = from128<N>(vb);
    SCOPED_TRACE("a=" + hex128(va) + " b=" + hex128(vb));
    ASSERT_EQ(to128<N>(a), va);

    ap_uint<N> r;
    r = a + b;
    ASSERT_EQ(to128<N>(r), (va + vb) & m) << "+";
    r = a - b;
    ASSERT_EQ(to128<N>(r), (va - vb) & m) << "-";
    r = a * b;
    ASSERT_EQ(to128<N>(r), (va * vb) & m) << "*";
    r = a & b;
    ASSERT_EQ(to128<N>(r), va & vb) << "&";
    r = a | b;
    ASSERT_EQ(to128<N>(r), va | vb) << "|";
    r = a ^ b;
    ASSERT_EQ(to128<N>(r), va ^ vb) << "^";
    r = ~a;
    ASSERT_EQ(to128<N>(r), ~va & m) << "~";
    r = a;
    r += b;
    ASSERT_EQ(to128<N>(r), (va + vb) & m) << "+=";
    r = a;
    r -= b;
    ASSERT_EQ(to128<N>(r), (va - vb) & m) << "-=";
    r = a;
    r *= b;
    ASSERT_EQ(to128<N>(r), (va * vb) & m) << "*=";

    int s = (int)(rng() % (N + 3));
    r = a << s;
    ASSERT_EQ(to128<N>(r), shl128(va, s) & m) << "<< " << s;
    r = a >> s;
    ASSERT_EQ(to128<N>(r), shr128(va, s)) << ">> " << s;
    r = a;
    r <<= ap_uint<8>(s);
    ASSERT_EQ(to128<N>(r), shl128(va, s) & m) << "<<= " << s;

    ASSERT_EQ(a == b, va == vb);
    ASSERT_EQ(a != b, va != vb);
    ASSERT_EQ(a < b, va < vb);
    ASSERT_EQ(a <= b, va <= vb);
    ASSERT_EQ(a > b, va > vb);
    ASSERT_EQ(a >= b, va >= vb);
    ASSERT_TRUE(a == a);

    int hi = (int)(rng() % N), lo = (int)(rng() % (hi + 1));
    u128 field = shr128(va, lo) & mask128(hi - lo + 1);
    ap_uint<N> got = a.range(hi, lo);
    ASSERT_EQ(to128<N>(got), field) << "range(" << hi << "," << lo << ")";
    got = a(hi, lo);
    ASSERT_EQ(to128<N>(got), field) << "(" << hi << "," << lo << ")";
    ap_uint<N> w = a;
    w.range(hi, lo) = b;
    u128 fm = shl128(mask128(hi - lo + 1), lo);
    ASSERT_EQ(to128<N>(w), (va & ~fm) | (shl128(vb, lo) & fm)) << "range(" << hi << "," << lo << ") = b";

    int bit = (int)(rng() % N);
    ap_uint<N> f = a;
    f[bit] = !f[bit];
    ASSERT_EQ(to128<N>(f), va ^ ((u128)1 << bit)) << "bit " << bit;

    if (N + 7 <= 128) {
      u128 vc = rand128(rng, 7);
      ap_uint<7> c = from128<7>(vc);
      ap_uint<N + 7> cat = (a, c);
      ASSERT_EQ(to128<N + 7>(cat), (va << 7) | vc) << "(a, c)";
    }
  }
}

TEST(ApUint, BitAccessRoundTrips) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200; i++) {
    u128 v = rand128(rng, 100);
    ap_uint<100> x = from128<100>(v);
    EXPECT_EQ(to128<100>(x), v);
    EXPECT_EQ(x.to_uint64(), (uint64_t)v);
    EXPECT_EQ(x.range(99, 64).to_uint64(), (uint64_t)(v >> 64));
  }
  ap_uint<8> b = 0;
  b[3] = 1;
  EXPECT_EQ(b, 8);
  EXPECT_TRUE(b[3]);
  EXPECT_FALSE(b[2]);
  b[3] = b[2]; // bit to bit: writes the value, not the reference
  EXPECT_EQ(b, 0);
}

TEST(ApUint, RandomAgainstInt128) {
  check_width<1>(11);
  check_width<7>(12);
  check_width<8>(13);
  check_width<33>(14);
  check_width<63>(15);
  check_width<64>(16);
  check_width<65>(17);
  check_width<100>(18);
  check_width<127>(19);
  check_width<128>(20);
}

TEST(ApUint, WrapsModuloTwoToTheN) {
  ap_uint<7> a = 127;
  a++;
  EXPECT_EQ(a, 0);
  a--;
  EXPECT_EQ(a, 127);
  a = 200; // 200 mod 128
  EXPECT_EQ(a, 72);
  ap_uint<33> b = 0x1FFFFFFFFull;
  b += 1;
  EXPECT_EQ(b, 0);
  b = 0;
  b -= 1;
  EXPECT_EQ(b.to_uint64(), 0x1FFFFFFFFull);
  ap_uint<65> c = ~ap_uint<65>(0);
  EXPECT_EQ(c[64], true);
  c += 1;
  EXPECT_TRUE(c.iszero());
  ap_uint<511> d = 0;
  d -= 1;
  EXPECT_TRUE(d.and_reduce());
  EXPECT_EQ(d.countLeadingZeros(), 0);
  d += 2;
  EXPECT_EQ(d, 1);
}

// Expression widths follow Vitis (ap_int_base::RType), not C's promotions.
TEST(ApUint, ExpressionWidthsFollowVitis) {
  ap_uint<8> a = 255, b = 1, z = 0;
  static_assert(std::is_same<decltype(a + b), ap_uint<9>>::value, "plus widens by one");
  static_assert(std::is_same<decltype(a - b), ap_int<9>>::value, "minus is signed");
  static_assert(std::is_same<decltype(a * b), ap_uint<16>>::value, "mult adds widths");
  static_assert(std::is_same<decltype(a & ap_uint<12>(0)), ap_uint<12>>::value, "logic is max width");
  static_assert(std::is_same<decltype(a << 3), ap_uint<8>>::value, "shift keeps width");
  static_assert(std::is_same<decltype(a + 1), ap_int<33>>::value, "int is ap_int<32>");
  EXPECT_EQ(a + b, 256);
  EXPECT_TRUE(z - b < 0);
  EXPECT_EQ(a * a, 65025);
  EXPECT_EQ(a << 1, 254); // the top bit is lost, as on Vitis
  ap_uint<16> wide = a << 4;
  EXPECT_EQ(wide, 0xF0);
  wide = ap_uint<16>(a) << 4;
  EXPECT_EQ(wide, 0xFF0);
  unsigned long long n = a; // N <= 64 converts implicitly
  EXPECT_EQ(n, 255u);
  int arr[4] = {10, 11, 12, 13};
  EXPECT_EQ(arr[ap_uint<2>(3)], 13);
  EXPECT_EQ(a / 16, 15);
  EXPECT_EQ(a % 16, 15);
}

TEST(ApInt, SignBehaviour) {
  ap_int<4> x = 7;
  x++;
  EXPECT_EQ(x, -8);
  EXPECT_EQ(x.to_int(), -8);
  EXPECT_TRUE(x.sign());
  x = 8; // 8 does not fit: wraps to -8
  EXPECT_EQ(x, -8);
  EXPECT_EQ(x >> 1, -4); // arithmetic shift
  EXPECT_EQ(ap_uint<4>(8) >> 1, 4);
  ap_int<5> y = -3;
  EXPECT_EQ(y.to_int64(), -3);
  EXPECT_EQ(y.range(4, 0), 29); // the bits of -3 in 5 bits, unsigned
  EXPECT_EQ(y * ap_int<5>(5), -15);
  EXPECT_EQ(-y, 3);
  EXPECT_EQ(-ap_int<4>(-8), 8);               // unary minus widens: -(-8) fits in ap_int<5>
  EXPECT_TRUE(ap_int<4>(-1) < ap_uint<4>(0)); // compared as values, not bit patterns
  EXPECT_TRUE(ap_int<4>(-1) < 0);
  EXPECT_TRUE(ap_uint<4>(15) > ap_int<4>(-1));
  EXPECT_EQ(ap_int<8>(-1).to_uint64(), ~0ull); // sign-extended, as Vitis
  ap_int<3> z = -4;
  z--;
  EXPECT_EQ(z, 3);
  ap_int<100> big = -1;
  EXPECT_EQ(big.to_int64(), -1);
  big >>= 99;
  EXPECT_EQ(big, -1);
  big = ap_int<100>(1) << 99; // the most negative value
  EXPECT_TRUE(big < 0);
  EXPECT_EQ(big.to_string(10), "-633825300114114700748351602688");
}

// ---- 512 bits against a byte-array model -------------------------------------------------------
struct M512 {
  uint8_t b[64];
};
M512 madd(const M512 &x, const M512 &y) {
  M512 r;
  unsigned c = 0;
  for (int i = 0; i < 64; i++) {
    c += x.b[i] + y.b[i];
    r.b[i] = (uint8_t)c;
    c >>= 8;
  }
  return r;
}
M512 mnot(const M512 &x) {
  M512 r;
  for (int i = 0; i < 64; i++) r.b[i] = (uint8_t)~x.b[i];
  return r;
}
M512 msub(const M512 &x, const M512 &y) { // x + ~y + 1
  M512 one{};
  one.b[0] = 1;
  return madd(madd(x, mnot(y)), one);
}
M512 mmul(const M512 &x, const M512 &y) {
  M512 r;
  uint64_t carry = 0;
  for (int k = 0; k < 64; k++) {
    uint64_t sum = carry;
    for (int i = 0; i <= k; i++) sum += (uint64_t)x.b[i] * y.b[k - i];
    r.b[k] = (uint8_t)sum;
    carry = sum >> 8;
  }
  return r;
}
bool mbit(const M512 &x, int i) {
  return i >= 0 && i < 512 && ((x.b[i / 8] >> (i % 8)) & 1);
}
M512 mshl(const M512 &x, int s) {
  M512 r{};
  for (int i = 0; i < 512; i++)
    if (mbit(x, i - s)) r.b[i / 8] |= (uint8_t)(1u << (i % 8));
  return r;
}
M512 mshr(const M512 &x, int s) {
  return mshl(x, -s);
}
int mcmp(const M512 &x, const M512 &y) {
  for (int i = 63; i >= 0; i--)
    if (x.b[i] != y.b[i]) return x.b[i] < y.b[i] ? -1 : 1;
  return 0;
}
M512 mrand(std::mt19937_64 &rng) {
  M512 r;
  for (auto &v : r.b) v = (uint8_t)rng();
  switch (rng() % 6) {
  case 0: memset(r.b, 0xFF, 64); break;
  case 1: memset(r.b, 0, 64); break;
  case 2: memset(r.b + rng() % 17, 0, 48); break; // a long run of zero bytes (carry chains)
  default: break;
  }
  return r;
}
ap_uint<512> to_ap(const M512 &x) {
  ap_uint<512> r = 0;
  for (int i = 0; i < 64; i++) r.range(8 * i + 7, 8 * i) = x.b[i];
  return r;
}
void expect_same(const ap_uint<512> &a, const M512 &x, const char *what) {
  for (int i = 0; i < 64; i++)
    ASSERT_EQ(a.range(8 * i + 7, 8 * i).to_uint(), x.b[i]) << what << " byte " << i << " of " << a;
}

TEST(ApUint512, ByteRangeMatchesBits) {
  std::mt19937_64 rng(512);
  for (int n = 0; n < 50; n++) {
    M512 x = mrand(rng);
    ap_uint<512> a = to_ap(x);
    for (int i = 0; i < 512; i++) ASSERT_EQ((bool)a[i], mbit(x, i)) << "bit " << i;
  }
}

TEST(ApUint512, RandomAgainstByteModel) {
  std::mt19937_64 rng(2024);
  for (int n = 0; n < 300; n++) {
    M512 x = mrand(rng), y = mrand(rng);
    if (n % 3 == 2) { // near-equal values: comparisons decided by one low bit
      y = x;
      y.b[rng() % 64] ^= 1;
    }
    ap_uint<512> a = to_ap(x), b = to_ap(y), r;
    r = a + b;
    expect_same(r, madd(x, y), "+");
    r = a - b;
    expect_same(r, msub(x, y), "-");
    r = a * b;
    expect_same(r, mmul(x, y), "*");
    r = a & b;
    M512 e;
    for (int i = 0; i < 64; i++) e.b[i] = x.b[i] & y.b[i];
    expect_same(r, e, "&");
    r = a | b;
    for (int i = 0; i < 64; i++) e.b[i] = x.b[i] | y.b[i];
    expect_same(r, e, "|");
    r = a ^ b;
    for (int i = 0; i < 64; i++) e.b[i] = x.b[i] ^ y.b[i];
    expect_same(r, e, "^");
    r = ~a;
    expect_same(r, mnot(x), "~");
    int s = (int)(rng() % 530);
    r = a << s;
    expect_same(r, mshl(x, s), "<<");
    r = a >> s;
    expect_same(r, mshr(x, s), ">>");
    int c = mcmp(x, y);
    ASSERT_EQ(a < b, c < 0);
    ASSERT_EQ(a == b, c == 0);
    ASSERT_EQ(a > b, c > 0);

    int hi = (int)(rng() % 512), lo = (int)(rng() % (hi + 1));
    ap_uint<512> f = a.range(hi, lo);
    for (int i = 0; i < 512; i++) ASSERT_EQ((bool)f[i], i <= hi - lo && mbit(x, lo + i)) << "range bit " << i;
    ap_uint<512> g = a;
    g.range(hi, lo) = b;
    for (int i = 0; i < 512; i++) {
      bool want = (i >= lo && i <= hi) ? mbit(y, i - lo) : mbit(x, i);
      ASSERT_EQ((bool)g[i], want) << "range(" << hi << "," << lo << ") = b, bit " << i;
    }
  }
}

TEST(ApUint, Concatenation) {
  ap_uint<8> a = 0x12, c = 0x78;
  ap_uint<16> b = 0x3456;
  ap_uint<32> v = (a, b, c);
  EXPECT_EQ(v, 0x12345678u);
  ap_uint<24> two = (a, b);
  EXPECT_EQ(two, 0x123456u);
  (a, b, c) = 0xA1B2C3D4u; // assigns through to every operand
  EXPECT_EQ(a, 0xA1);
  EXPECT_EQ(b, 0xB2C3);
  EXPECT_EQ(c, 0xD4);
  ap_uint<512> w = 0;
  w.range(15, 8) = 0xAB;
  w.range(7, 0) = 0xCD;
  ap_uint<16> r = (w.range(7, 0), w.range(15, 8)); // ranges use their real length
  EXPECT_EQ(r, 0xCDAB);
  (w.range(511, 504), w.range(3, 0)) = 0xFE7;
  EXPECT_EQ(w.range(511, 504), 0xFE);
  EXPECT_EQ(w.range(3, 0), 0x7);
  EXPECT_EQ(w.range(7, 4), 0xC); // untouched
  ap_uint<2> bits = (w[511], w[0]);
  EXPECT_EQ(bits, 3);
  ap_uint<256> h = ~ap_uint<256>(0), l = 5;
  ap_uint<512> hl = (h, l);
  EXPECT_EQ(hl.range(511, 256), h);
  EXPECT_EQ(hl.range(255, 0), 5);
  EXPECT_EQ(a.concat(c), 0xA1D4);
}

TEST(ApUint, PrintsAndParses) {
  ap_uint<512> x = 1;
  x <<= 300;
  x += 0xabc;
  std::ostringstream os;
  os << x;
  EXPECT_EQ(os.str(), "0x1" + std::string(72, '0') + "abc");
  EXPECT_EQ(ap_uint<512>(os.str().c_str()), x);
  std::ostringstream small;
  small << ap_uint<8>(200) << ' ' << ap_int<8>(-5) << ' ' << std::hex << ap_uint<16>(0xbeef);
  EXPECT_EQ(small.str(), "200 -5 beef");
  EXPECT_TRUE(ap_uint<70>("1180591620717411303424").iszero()); // 2^70 wraps to 0
  EXPECT_EQ(ap_uint<71>("1180591620717411303424").to_string(16), "0x4" + std::string(17, '0'));
  EXPECT_EQ(ap_uint<71>(("0x4" + std::string(17, '0')).c_str()).to_string(10), "1180591620717411303424");
  EXPECT_EQ(ap_uint<6>(37).to_string(2), "0b100101");
}

TEST(ApUintDeathTest, OutOfRangeSelectAborts) {
#ifdef FANOUT_HLS_SHIM
  ap_uint<16> x = 0;
  EXPECT_DEATH(x.range(16, 0) = 1, "range .* out of range for width 16");
  EXPECT_DEATH(x[-1] = 1, "bit index .* out of range");
#else
  GTEST_SKIP() << "shim behaviour";
#endif
}

} // namespace
