// ap_int.h: Fanout's minimal stand-in for Vitis HLS's header of the same name.
//
// Used ONLY when Vitis's own headers are absent (hls/CMakeLists.txt decides); kernels include it
// as "ap_int.h" and must compile unchanged against either. It models what the kernels use, with
// Vitis's semantics (see README.md in this folder for the list and the known differences):
//
//  * ap_uint<N> / ap_int<N>, 1 <= N <= 32768, stored in ceil(N/64) uint64_t words. The value is
//    kept canonical: bits above N in the top word are 0 (ap_uint) or copies of the sign bit
//    (ap_int), so word-level operations need no masking on input.
//  * Expression widths follow Vitis, not C: a + b is max(Wa, Wb) + 1 bits wide, a - b is signed,
//    a * b is Wa + Wb bits, & | ^ are max-width, shifts keep the left operand's width. A builtin
//    operand counts as the ap type of its size (int = ap_int<32>). Storing into a variable
//    truncates modulo 2^N, as in hardware.
//  * x[i], x.range(hi, lo), x(hi, lo) and concatenation (a, b) return proxies that read and assign.
//  * N <= 64 converts implicitly to (unsigned) long long, as Vitis does, so values index arrays
//    and mix with builtin arithmetic.
//
// This file is the vendor-library model, so it may use the standard library; kernel code may not.
#ifndef FANOUT_HLS_SHIM_AP_INT_H
#define FANOUT_HLS_SHIM_AP_INT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <ostream>
#include <string>
#include <type_traits>

template <int W, bool S> struct ap_int_base;
template <int W> struct ap_uint;
template <int W> struct ap_int;
template <int W, bool S> struct ap_range_ref;
template <int W, bool S> struct ap_bit_ref;
template <int W1, class T1, int W2, class T2> struct ap_concat_ref;

// Shim internals. Kernels never name anything in this namespace.
namespace ap_shim {
typedef uint64_t word;

constexpr int max_i(int a, int b) {
  return a > b ? a : b;
}
constexpr int min_i(int a, int b) {
  return a < b ? a : b;
}

// Out-of-range bit/part selects are kernel bugs; Vitis's C simulation asserts on them too.
[[noreturn]] inline void fail(const char *what, int a, int b, int w) {
  fprintf(stderr, "ap_int: %s (%d, %d) out of range for width %d\n", what, a, b, w);
  abort();
}

template <int W, bool S> struct factory { typedef ap_uint<W> type; };
template <int W> struct factory<W, true> { typedef ap_int<W> type; };

// A builtin integer (or unscoped enum) that Vitis treats as the ap type of its size.
template <class T,
          bool I = std::is_integral<T>::value || (std::is_enum<T>::value && std::is_convertible<T, long long>::value)>
struct is_builtin {
  static const bool value = false;
};
template <class T> struct is_builtin<T, true> {
  static const bool value = sizeof(T) <= 8; // not __int128
};
template <class T, bool E = std::is_enum<T>::value> struct builtin_sign {
  static const bool value = std::is_signed<T>::value;
};
template <class T> struct builtin_sign<T, true> {
  static const bool value = std::is_signed<typename std::underlying_type<T>::type>::value;
};

// operand<T>: anything that may stand on either side of an ap operator. ap: an ap type or proxy
// (not a builtin); proxy: a bit/range/concat reference. get() yields an ap_int_base value.
template <class T, class Enable = void> struct operand { static const bool ok = false, ap = false, proxy = false; };
template <class T> struct operand<T, typename std::enable_if<is_builtin<T>::value>::type> {
  static const bool ok = true, ap = false, proxy = false;
  static const int width = std::is_same<T, bool>::value ? 1 : (int)(8 * sizeof(T));
  static const bool sign = builtin_sign<T>::value;
  typedef ap_int_base<width, sign> base;
  static base get(T v) { return base(v); }
};
template <int W, bool S> struct operand<ap_int_base<W, S>> {
  static const bool ok = true, ap = true, proxy = false;
  static const int width = W;
  static const bool sign = S;
  typedef ap_int_base<W, S> base;
  static const base &get(const base &v) { return v; }
};
template <int W> struct operand<ap_uint<W>> : operand<ap_int_base<W, false>> {};
template <int W> struct operand<ap_int<W>> : operand<ap_int_base<W, true>> {};
template <class P, int W> struct proxy_operand {
  static const bool ok = true, ap = true, proxy = true;
  static const int width = W;
  static const bool sign = false;
  typedef ap_int_base<W, false> base;
  static base get(const P &p) { return p.get(); }
};
template <int W, bool S> struct operand<ap_range_ref<W, S>> : proxy_operand<ap_range_ref<W, S>, W> {};
template <int W, bool S> struct operand<ap_bit_ref<W, S>> : proxy_operand<ap_bit_ref<W, S>, 1> {};
template <int W1, class T1, int W2, class T2>
struct operand<ap_concat_ref<W1, T1, W2, T2>> : proxy_operand<ap_concat_ref<W1, T1, W2, T2>, W1 + W2> {};

// Result types of a binary operator, as Vitis's ap_int_base::RType computes them. Defined only
// when both sides are operands and at least one is an ap type, so the operator templates below
// drop out of overload resolution for everything else.
template <class A, class B, bool OK = operand<A>::ok &&operand<B>::ok && (operand<A>::ap || operand<B>::ap)>
struct binop {};
template <class A, class B> struct binop<A, B, true> {
  static const int wa = operand<A>::width, wb = operand<B>::width;
  static const bool sa = operand<A>::sign, sb = operand<B>::sign;
  // Width that holds both operands' values (one extra bit when mixing unsigned into signed).
  static const int logic_w = max_i(wa + (sb && !sa), wb + (sa && !sb));
  static const bool logic_s = sa || sb;
  typedef ap_int_base<logic_w + 1, logic_s> plus_base;
  typedef ap_int_base<logic_w + 1, true> minus_base;
  typedef ap_int_base<wa + wb, logic_s> mult_base;
  typedef ap_int_base<logic_w, logic_s> logic_base;
  typedef typename factory<logic_w + 1, logic_s>::type plus;
  typedef typename factory<logic_w + 1, true>::type minus;
  typedef typename factory<wa + wb, logic_s>::type mult;
  typedef typename factory<logic_w, logic_s>::type logic;
  typedef typename factory<wa + sb, logic_s>::type div;
  typedef typename factory<min_i(wa, wb + (!sb && sa)), sa>::type mod;
  typedef bool compare;
};
// Shifts keep the left operand's type; the left side must be an ap type.
template <class A, class B, bool OK = operand<A>::ap &&operand<B>::ok> struct shiftop {};
template <class A, class B> struct shiftop<A, B, true> {
  typedef typename factory<operand<A>::width, operand<A>::sign>::type type;
};
// Concatenation: both sides must be ap types (a builtin keeps C's comma operator).
template <class A, class B, bool OK = operand<A>::ap &&operand<B>::ap> struct concatop {};
template <class A, class B> struct concatop<A, B, true> {
  typedef ap_concat_ref<operand<A>::width, A, operand<B>::width, B> type;
};

// The implicit conversion to a builtin exists for N <= 64 only (as in Vitis); wider values get
// a conversion to this unusable type instead, which never takes part in overload resolution.
template <int W> struct no_builtin_conversion {};
template <int W, bool S> struct ret_type {
  typedef typename std::conditional<(W > 64), no_builtin_conversion<W>,
                                    typename std::conditional<S, long long, unsigned long long>::type>::type type;
};

// 64 x 64 -> 128-bit product from 32-bit halves (no __int128: the shim stays -pedantic clean).
inline void mul64(word a, word b, word &lo, word &hi) {
  word a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
  word p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  word mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
  lo = (p00 & 0xFFFFFFFFu) | (mid << 32);
  hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}
} // namespace ap_shim

template <int W, bool S> struct ap_int_base {
  static_assert(W >= 1 && W <= 32768, "ap_[u]int width must be 1..32768");
  static const int width = W;
  enum { shim_nw = (W + 63) / 64 };
  typedef typename ap_shim::ret_type<W, S>::type RetType;

  // Shim storage (Vitis calls its member V). Kernels must not touch it.
  ap_shim::word shim_w[shim_nw];

  // Vitis leaves a default-constructed value unspecified; zero makes simulations repeatable.
  ap_int_base() { shim_fill_all(0); }
  template <int W2, bool S2> ap_int_base(const ap_int_base<W2, S2> &o) {
    for (int i = 0; i < shim_nw; i++) shim_w[i] = i < (int)o.shim_nw ? o.shim_w[i] : o.shim_fill();
    shim_norm();
  }
  template <class T> ap_int_base(T v, typename std::enable_if<ap_shim::is_builtin<T>::value, int>::type = 0) {
    bool neg = ap_shim::builtin_sign<T>::value && static_cast<long long>(v) < 0;
    shim_fill_all(neg ? ~(ap_shim::word)0 : 0);
    shim_w[0] = static_cast<ap_shim::word>(static_cast<unsigned long long>(v));
    shim_norm();
  }
  template <class T> ap_int_base(const T &p, typename std::enable_if<ap_shim::operand<T>::proxy, int>::type = 0) {
    *this = ap_int_base(p.get());
  }
  // "0x1F", "0b101", "0o17", "-42"; radix 0 guesses from the prefix, otherwise decimal.
  ap_int_base(const char *s, int radix = 0) { shim_parse(s, radix); }

  // ---- conversions ---------------------------------------------------------------------------
  operator RetType() const { return (RetType)shim_w[0]; }
  bool to_bool() const { return !iszero(); }
  char to_char() const { return (char)shim_w[0]; }
  signed char to_schar() const { return (signed char)shim_w[0]; }
  unsigned char to_uchar() const { return (unsigned char)shim_w[0]; }
  short to_short() const { return (short)shim_w[0]; }
  unsigned short to_ushort() const { return (unsigned short)shim_w[0]; }
  int to_int() const { return (int)shim_w[0]; }
  unsigned to_uint() const { return (unsigned)shim_w[0]; }
  long to_long() const { return (long)shim_w[0]; }
  unsigned long to_ulong() const { return (unsigned long)shim_w[0]; }
  long long to_int64() const { return (long long)shim_w[0]; }
  unsigned long long to_uint64() const { return (unsigned long long)shim_w[0]; }
  double to_double() const {
    double r = 0;
    bool neg = sign();
    ap_int_base<W + 1, true> m(*this);
    if (neg) m.shim_neg();
    for (int i = m.shim_nw - 1; i >= 0; i--) r = r * 18446744073709551616.0 + (double)m.shim_w[i];
    return neg ? -r : r;
  }

  // ---- queries -------------------------------------------------------------------------------
  int length() const { return W; }
  bool iszero() const {
    for (int i = 0; i < shim_nw; i++)
      if (shim_w[i]) return false;
    return true;
  }
  bool is_zero() const { return iszero(); }
  bool sign() const { return S && (shim_w[shim_nw - 1] >> 63) != 0; }
  bool test(int i) const { return get_bit(i); }
  bool get_bit(int i) const {
    shim_check_bit(i);
    return (shim_w[i / 64] >> (i % 64)) & 1;
  }
  void set_bit(int i, bool v) {
    shim_check_bit(i);
    ap_shim::word m = (ap_shim::word)1 << (i % 64);
    shim_w[i / 64] = v ? (shim_w[i / 64] | m) : (shim_w[i / 64] & ~m);
    shim_norm();
  }
  void set(int i) { set_bit(i, true); }
  void set(int i, bool v) { set_bit(i, v); }
  void clear(int i) { set_bit(i, false); }
  void invert(int i) { set_bit(i, !get_bit(i)); }
  void b_not() { *this = ~*this; }
  bool and_reduce() const { return ap_int_base<W, false>(*this) == ~ap_int_base<W, false>(0); }
  bool or_reduce() const { return !iszero(); }
  bool xor_reduce() const {
    ap_int_base<W, false> u(*this);
    ap_shim::word x = 0;
    for (int i = 0; i < u.shim_nw; i++) x ^= u.shim_w[i];
    for (int s = 32; s > 0; s >>= 1) x ^= x >> s;
    return x & 1;
  }
  bool nand_reduce() const { return !and_reduce(); }
  bool nor_reduce() const { return !or_reduce(); }
  bool xnor_reduce() const { return !xor_reduce(); }
  int countLeadingZeros() const {
    for (int i = W - 1; i >= 0; i--)
      if (get_bit(i)) return W - 1 - i;
    return W;
  }
  ap_int_base &reverse() {
    ap_int_base r(0);
    for (int i = 0; i < W; i++) r.set_bit(W - 1 - i, get_bit(i));
    return *this = r;
  }

  // ---- bit and part select -------------------------------------------------------------------
  ap_bit_ref<W, S> operator[](int i) { return ap_bit_ref<W, S>(this, i); }
  bool operator[](int i) const { return get_bit(i); }
  ap_bit_ref<W, S> bit(int i) { return ap_bit_ref<W, S>(this, i); }
  bool bit(int i) const { return get_bit(i); }
  // As in Vitis, a const object still yields an assignable proxy (Vitis const_casts too).
  ap_range_ref<W, S> range(int hi, int lo) const { return ap_range_ref<W, S>(const_cast<ap_int_base *>(this), hi, lo); }
  ap_range_ref<W, S> range() const { return range(W - 1, 0); }
  ap_range_ref<W, S> operator()(int hi, int lo) const { return range(hi, lo); }
  template <int W2, bool S2> typename ap_shim::factory<W + W2, false>::type concat(const ap_int_base<W2, S2> &o) const {
    ap_int_base<W + W2, false> r(ap_int_base<W, false>(*this));
    r.shim_shl(W2);
    r.shim_or(ap_int_base<W + W2, false>(ap_int_base<W2, false>(o)));
    return r;
  }

  // ---- unary and compound operators ----------------------------------------------------------
  typename ap_shim::factory<W, S>::type operator+() const { return *this; }
  typename ap_shim::factory<W + 1, true>::type operator-() const {
    ap_int_base<W + 1, true> r(*this);
    r.shim_neg();
    return r;
  }
  typename ap_shim::factory<W, S>::type operator~() const {
    ap_int_base r(*this);
    for (int i = 0; i < shim_nw; i++) r.shim_w[i] = ~r.shim_w[i];
    r.shim_norm();
    return r;
  }
  bool operator!() const { return iszero(); }
  ap_int_base &operator++() {
    shim_add(ap_int_base(1));
    return *this;
  }
  ap_int_base &operator--() {
    shim_sub(ap_int_base(1));
    return *this;
  }
  const typename ap_shim::factory<W, S>::type operator++(int) {
    ap_int_base t(*this);
    ++*this;
    return t;
  }
  const typename ap_shim::factory<W, S>::type operator--(int) {
    ap_int_base t(*this);
    --*this;
    return t;
  }
#define FANOUT_AP_COMPOUND(op, binop_)                                                                                 \
  template <class T> typename std::enable_if<ap_shim::operand<T>::ok, ap_int_base &>::type operator op(const T &v) {   \
    return *this = ap_int_base(*this binop_ v);                                                                        \
  }
  FANOUT_AP_COMPOUND(+=, +)
  FANOUT_AP_COMPOUND(-=, -)
  FANOUT_AP_COMPOUND(*=, *)
  FANOUT_AP_COMPOUND(/=, /)
  FANOUT_AP_COMPOUND(%=, %)
  FANOUT_AP_COMPOUND(&=, &)
  FANOUT_AP_COMPOUND(|=, |)
  FANOUT_AP_COMPOUND(^=, ^)
  FANOUT_AP_COMPOUND(<<=, <<)
  FANOUT_AP_COMPOUND(>>=, >>)
#undef FANOUT_AP_COMPOUND

  // ---- text ----------------------------------------------------------------------------------
  // Radix 2 ("0b..."), 8 ("0o..."), 16 ("0x...") show the two's-complement bits; radix 10 the
  // value (signed when S and sign_ is true).
  std::string to_string(int radix = 2, bool sign_ = S) const {
    std::string out;
    if (radix == 10) {
      bool neg = sign_ && sign();
      ap_int_base<W + 1, true> m(*this);
      if (!sign_) m = ap_int_base<W + 1, true>(ap_int_base<W, false>(*this));
      if (neg) m.shim_neg();
      do out.insert(out.begin(), (char)('0' + m.shim_divmod_small(10)));
      while (!m.iszero());
      if (neg) out.insert(out.begin(), '-');
      return out;
    }
    int bits = radix == 16 ? 4 : radix == 8 ? 3 : 1;
    ap_int_base<W, false> u(*this);
    int digits = (W + bits - 1) / bits;
    bool started = false;
    for (int d = digits - 1; d >= 0; d--) {
      unsigned v = 0;
      for (int b = bits - 1; b >= 0; b--) {
        int i = d * bits + b;
        v = (v << 1) | (unsigned)(i < W && u.get_bit(i));
      }
      if (v || started || d == 0) {
        out += "0123456789abcdef"[v];
        started = true;
      }
    }
    return (radix == 16 ? "0x" : radix == 8 ? "0o" : "0b") + out;
  }

  // ---- shim internals (word-level, in place, modulo 2^W) -------------------------------------
  ap_shim::word shim_fill() const {
    return sign() ? ~(ap_shim::word)0 : 0;
  }
  void shim_fill_all(ap_shim::word v) {
    for (int i = 0; i < shim_nw; i++) shim_w[i] = v;
  }
  // Restore the canonical form: bits above W copy the sign (ap_int) or are zero (ap_uint).
  void shim_norm() {
    const int r = W % 64;
    if (r) {
      ap_shim::word m = ((ap_shim::word)1 << r) - 1;
      ap_shim::word &t = shim_w[shim_nw - 1];
      t = (S && ((t >> (r - 1)) & 1)) ? (t | ~m) : (t & m);
    }
  }
  void shim_check_bit(int i) const {
    if (i < 0 || i >= W) ap_shim::fail("bit index", i, i, W);
  }
  void shim_add(const ap_int_base &o) {
    ap_shim::word c = 0;
    for (int i = 0; i < shim_nw; i++) {
      ap_shim::word s = shim_w[i] + o.shim_w[i];
      ap_shim::word c1 = s < shim_w[i];
      shim_w[i] = s + c;
      c = c1 | (shim_w[i] < s);
    }
    shim_norm();
  }
  void shim_sub(const ap_int_base &o) {
    ap_shim::word b = 0;
    for (int i = 0; i < shim_nw; i++) {
      ap_shim::word a = shim_w[i], d = a - o.shim_w[i];
      ap_shim::word b1 = a < o.shim_w[i];
      shim_w[i] = d - b;
      b = b1 | (d < b);
    }
    shim_norm();
  }
  void shim_neg() {
    ap_int_base z(0);
    z.shim_sub(*this);
    *this = z;
  }
  void shim_mul(const ap_int_base &o) {
    ap_shim::word r[shim_nw];
    for (int i = 0; i < shim_nw; i++) r[i] = 0;
    for (int i = 0; i < shim_nw; i++) {
      ap_shim::word carry = 0;
      for (int j = 0; i + j < shim_nw; j++) {
        ap_shim::word lo, hi;
        ap_shim::mul64(shim_w[i], o.shim_w[j], lo, hi);
        ap_shim::word s = r[i + j] + lo;
        ap_shim::word c1 = s < lo;
        r[i + j] = s + carry;
        ap_shim::word c2 = r[i + j] < carry;
        carry = hi + c1 + c2; // cannot overflow: r + a*b + carry < 2^128
      }
    }
    for (int i = 0; i < shim_nw; i++) shim_w[i] = r[i];
    shim_norm();
  }
  void shim_and(const ap_int_base &o) {
    for (int i = 0; i < shim_nw; i++) shim_w[i] &= o.shim_w[i];
  }
  void shim_or(const ap_int_base &o) {
    for (int i = 0; i < shim_nw; i++) shim_w[i] |= o.shim_w[i];
  }
  void shim_xor(const ap_int_base &o) {
    for (int i = 0; i < shim_nw; i++) shim_w[i] ^= o.shim_w[i];
  }
  void shim_shl(unsigned long long n) {
    if (n >= (unsigned long long)W) return shim_fill_all(0);
    int ws = (int)(n / 64), bs = (int)(n % 64);
    for (int i = shim_nw - 1; i >= 0; i--) {
      ap_shim::word v = i - ws >= 0 ? shim_w[i - ws] << bs : 0;
      if (bs && i - ws - 1 >= 0) v |= shim_w[i - ws - 1] >> (64 - bs);
      shim_w[i] = v;
    }
    shim_norm();
  }
  // Arithmetic for ap_int (sign fill), logical for ap_uint.
  void shim_shr(unsigned long long n) {
    ap_shim::word f = shim_fill();
    if (n >= (unsigned long long)W) return shim_fill_all(f);
    int ws = (int)(n / 64), bs = (int)(n % 64);
    for (int i = 0; i < shim_nw; i++) {
      ap_shim::word lo = i + ws < shim_nw ? shim_w[i + ws] : f;
      ap_shim::word hi = i + ws + 1 < shim_nw ? shim_w[i + ws + 1] : f;
      shim_w[i] = bs ? (lo >> bs) | (hi << (64 - bs)) : lo;
    }
    shim_norm();
  }
  // -1, 0, 1 comparing values of the same type (sign first for ap_int, then magnitude words).
  int shim_cmp(const ap_int_base &o) const {
    if (sign() != o.sign()) return sign() ? -1 : 1;
    for (int i = shim_nw - 1; i >= 0; i--)
      if (shim_w[i] != o.shim_w[i]) return shim_w[i] < o.shim_w[i] ? -1 : 1;
    return 0;
  }
  // Unsigned in-place division by a small divisor; returns the remainder (for to_string).
  unsigned shim_divmod_small(unsigned d) {
    ap_shim::word rem = 0;
    for (int i = shim_nw - 1; i >= 0; i--) {
      ap_shim::word hi = (rem << 32) | (shim_w[i] >> 32);
      ap_shim::word qh = hi / d;
      rem = hi % d;
      ap_shim::word lo = (rem << 32) | (shim_w[i] & 0xFFFFFFFFu);
      ap_shim::word ql = lo / d;
      rem = lo % d;
      shim_w[i] = (qh << 32) | ql;
    }
    return (unsigned)rem;
  }
  ap_int_base<W, false> shim_get_range(int hi, int lo) const {
    shim_check_range(hi, lo);
    if (hi < lo) { // Vitis: a reversed range reads the bits in reverse order
      ap_int_base<W, false> f = shim_get_range(lo, hi), r(0);
      for (int i = 0; i <= lo - hi; i++) r.set_bit(lo - hi - i, f.get_bit(i));
      return r;
    }
    if (lo / 64 == hi / 64) { // within one word (every byte lane): no whole-width shifts
      ap_int_base<W, false> r(0);
      r.shim_w[0] = (shim_w[lo / 64] >> (lo % 64)) & ap_shim_word_ones(hi - lo + 1);
      return r;
    }
    ap_int_base<W, false> u(*this);
    u.shim_shr((unsigned)lo);
    u.shim_and(shim_ones(hi - lo + 1));
    return u;
  }
  static ap_shim::word ap_shim_word_ones(int n) {
    return n >= 64 ? ~(ap_shim::word)0 : (((ap_shim::word)1 << n) - 1);
  }
  void shim_set_range(int hi, int lo, const ap_int_base<W, false> &v) {
    shim_check_range(hi, lo);
    if (hi < lo) {
      ap_int_base<W, false> r(0);
      for (int i = 0; i <= lo - hi; i++) r.set_bit(lo - hi - i, v.get_bit(i));
      return shim_set_range(lo, hi, r);
    }
    if (lo / 64 == hi / 64) { // within one word (every byte lane): no whole-width shifts
      ap_shim::word m = ap_shim_word_ones(hi - lo + 1) << (lo % 64);
      ap_shim::word &w = shim_w[lo / 64];
      w = (w & ~m) | ((v.shim_w[0] << (lo % 64)) & m);
      shim_norm();
      return;
    }
    ap_int_base<W, false> mask = shim_ones(hi - lo + 1), val(v);
    val.shim_and(mask);
    val.shim_shl((unsigned)lo);
    mask.shim_shl((unsigned)lo);
    for (int i = 0; i < shim_nw; i++) shim_w[i] = (shim_w[i] & ~mask.shim_w[i]) | val.shim_w[i];
    shim_norm();
  }
  static ap_int_base<W, false> shim_ones(int n) {
    ap_int_base<W, false> m(0);
    for (int i = 0; i < m.shim_nw; i++) {
      int b = n - 64 * i;
      m.shim_w[i] = b >= 64 ? ~(ap_shim::word)0 : b > 0 ? (((ap_shim::word)1 << b) - 1) : 0;
    }
    return m;
  }
  void shim_check_range(int hi, int lo) const {
    if (hi < 0 || lo < 0 || hi >= W || lo >= W) ap_shim::fail("range", hi, lo, W);
  }
  void shim_parse(const char *s, int radix) {
    shim_fill_all(0);
    bool neg = *s == '-';
    if (neg || *s == '+') s++;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'b' || s[1] == 'B' || s[1] == 'o' || s[1] == 'O')) {
      char p = (char)(s[1] | 0x20);
      int guessed = p == 'x' ? 16 : p == 'b' ? 2 : 8;
      if (radix == 0 || radix == guessed) {
        radix = guessed;
        s += 2;
      }
    }
    if (radix == 0) radix = 10;
    for (; *s; s++) {
      char c = (char)(*s | 0x20);
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : -1;
      if (*s == '_' || *s == '\'') continue;
      if (d < 0 || d >= radix) {
        fprintf(stderr, "ap_int: bad digit '%c' in string for radix %d\n", *s, radix);
        abort();
      }
      shim_mul(ap_int_base(radix));
      shim_add(ap_int_base(d));
    }
    if (neg) shim_neg();
  }
};

template <int W> struct ap_uint : ap_int_base<W, false> {
  typedef ap_int_base<W, false> Base;
  ap_uint() {}
  template <int W2, bool S2> ap_uint(const ap_int_base<W2, S2> &o) : Base(o) {}
  template <class T> ap_uint(T v, typename std::enable_if<ap_shim::is_builtin<T>::value, int>::type = 0) : Base(v) {}
  template <class T>
  ap_uint(const T &p, typename std::enable_if<ap_shim::operand<T>::proxy, int>::type = 0) : Base(p.get()) {}
  ap_uint(const char *s, int radix = 0) : Base(s, radix) {}
};

template <int W> struct ap_int : ap_int_base<W, true> {
  typedef ap_int_base<W, true> Base;
  ap_int() {}
  template <int W2, bool S2> ap_int(const ap_int_base<W2, S2> &o) : Base(o) {}
  template <class T> ap_int(T v, typename std::enable_if<ap_shim::is_builtin<T>::value, int>::type = 0) : Base(v) {}
  template <class T>
  ap_int(const T &p, typename std::enable_if<ap_shim::operand<T>::proxy, int>::type = 0) : Base(p.get()) {}
  ap_int(const char *s, int radix = 0) : Base(s, radix) {}
};

// ---- proxies -------------------------------------------------------------------------------
// x[i]: reads as bool, assigns "value != 0" (as Vitis does).
template <int W, bool S> struct ap_bit_ref {
  ap_int_base<W, S> *d;
  int index;
  ap_bit_ref(ap_int_base<W, S> *p, int i) : d(p), index(i) { p->shim_check_bit(i); }
  ap_bit_ref(const ap_bit_ref &) = default; // copies the reference; assignment writes the bit
  operator bool() const { return d->get_bit(index); }
  bool to_bool() const { return d->get_bit(index); }
  int length() const { return 1; }
  ap_int_base<1, false> get() const { return ap_int_base<1, false>(d->get_bit(index)); }
  template <class T> typename std::enable_if<ap_shim::operand<T>::ok, ap_bit_ref &>::type operator=(const T &v) {
    d->set_bit(index, !ap_shim::operand<T>::get(v).iszero());
    return *this;
  }
  ap_bit_ref &operator=(const ap_bit_ref &o) { return *this = o.get(); }
  bool operator~() const { return !d->get_bit(index); }
  void flip() { d->invert(index); }
};

// x.range(hi, lo) / x(hi, lo): reads as ap_uint<W> (value in the low bits), assigns the low
// (|hi - lo| + 1) bits of any ap or builtin value. Its width for expressions is W, as in Vitis.
template <int W, bool S> struct ap_range_ref {
  ap_int_base<W, S> *d;
  int hi, lo;
  ap_range_ref(ap_int_base<W, S> *p, int h, int l) : d(p), hi(h), lo(l) { p->shim_check_range(h, l); }
  ap_range_ref(const ap_range_ref &) = default; // copies the reference; assignment writes the bits
  int length() const { return (hi >= lo ? hi - lo : lo - hi) + 1; }
  ap_int_base<W, false> get() const { return d->shim_get_range(hi, lo); }
  operator unsigned long long() const { return get().to_uint64(); }
  unsigned to_uint() const { return get().to_uint(); }
  int to_int() const { return get().to_int(); }
  unsigned long long to_uint64() const { return get().to_uint64(); }
  long long to_int64() const { return get().to_int64(); }
  bool and_reduce() const { return get() == ap_int_base<W, false>::shim_ones(length()); }
  bool or_reduce() const { return !get().iszero(); }
  bool xor_reduce() const { return get().xor_reduce(); }
  std::string to_string(int radix = 2) const { return get().to_string(radix, false); }
  template <class T> typename std::enable_if<ap_shim::operand<T>::ok, ap_range_ref &>::type operator=(const T &v) {
    d->shim_set_range(hi, lo, ap_int_base<W, false>(ap_shim::operand<T>::get(v)));
    return *this;
  }
  ap_range_ref &operator=(const ap_range_ref &o) { return *this = o.get(); }
  ap_range_ref &operator=(const char *s) { return *this = ap_int_base<W, false>(s); }
};

namespace ap_shim {
// How a concatenation holds an operand: ap values by pointer (so assignment writes through),
// proxies by value (they are temporaries pointing at the real variable).
template <class T, bool P = operand<T>::proxy> struct concat_part {
  typedef typename operand<T>::base B;
  B *p;
  explicit concat_part(const T &v) : p(const_cast<B *>(static_cast<const B *>(&v))) {}
  ap_int_base<B::width, false> get() const { return ap_int_base<B::width, false>(*p); }
  int length() const { return B::width; }
  template <int W2> void set(const ap_int_base<W2, false> &v) { *p = B(v); }
};
template <class T> struct concat_part<T, true> {
  T r;
  explicit concat_part(const T &v) : r(v) {}
  typename operand<T>::base get() const { return r.get(); }
  int length() const { return r.length(); }
  template <int W2> void set(const ap_int_base<W2, false> &v) { r = v; }
};
} // namespace ap_shim

// (a, b): a in the high bits, b in the low bits. Reads as ap_uint<W1 + W2> and assigns through
// to both operands. The static width counts a range by its variable's width (as Vitis does);
// the value uses the range's actual length.
template <int W1, class T1, int W2, class T2> struct ap_concat_ref {
  static const int width = W1 + W2;
  ap_shim::concat_part<T1> a;
  ap_shim::concat_part<T2> b;
  ap_concat_ref(const T1 &x, const T2 &y) : a(x), b(y) {}
  ap_concat_ref(const ap_concat_ref &) = default; // copies the references; assignment writes through
  int length() const { return a.length() + b.length(); }
  ap_int_base<W1 + W2, false> get() const {
    ap_int_base<W1 + W2, false> r(a.get()), low(b.get());
    r.shim_shl((unsigned)b.length());
    r.shim_or(low);
    return r;
  }
  operator unsigned long long() const { return get().to_uint64(); }
  unsigned long long to_uint64() const { return get().to_uint64(); }
  template <class T> typename std::enable_if<ap_shim::operand<T>::ok, ap_concat_ref &>::type operator=(const T &v) {
    ap_int_base<W1 + W2, false> val(ap_shim::operand<T>::get(v));
    b.set(val);
    val.shim_shr((unsigned)b.length());
    a.set(val);
    return *this;
  }
  ap_concat_ref &operator=(const ap_concat_ref &o) { return *this = o.get(); }
};

// ---- binary operators ----------------------------------------------------------------------
// Each converts both sides to the result type (wide enough to hold either exactly), then
// operates modulo 2^result-width.
#define FANOUT_AP_ARITH(op, kind, fn)                                                                                  \
  template <class A, class B> inline typename ap_shim::binop<A, B>::kind operator op(const A &a, const B &b) {         \
    typedef typename ap_shim::binop<A, B>::kind##_base R;                                                              \
    R r(ap_shim::operand<A>::get(a));                                                                                  \
    r.fn(R(ap_shim::operand<B>::get(b)));                                                                              \
    return r;                                                                                                          \
  }
FANOUT_AP_ARITH(+, plus, shim_add)
FANOUT_AP_ARITH(-, minus, shim_sub)
FANOUT_AP_ARITH(*, mult, shim_mul)
FANOUT_AP_ARITH(&, logic, shim_and)
FANOUT_AP_ARITH(|, logic, shim_or)
FANOUT_AP_ARITH(^, logic, shim_xor)
#undef FANOUT_AP_ARITH

#define FANOUT_AP_COMPARE(op)                                                                                          \
  template <class A, class B> inline typename ap_shim::binop<A, B>::compare operator op(const A &a, const B &b) {      \
    typedef typename ap_shim::binop<A, B>::logic_base R;                                                               \
    return R(ap_shim::operand<A>::get(a)).shim_cmp(R(ap_shim::operand<B>::get(b))) op 0;                               \
  }
FANOUT_AP_COMPARE(==)
FANOUT_AP_COMPARE(!=)
FANOUT_AP_COMPARE(<)
FANOUT_AP_COMPARE(<=)
FANOUT_AP_COMPARE(>)
FANOUT_AP_COMPARE(>=)
#undef FANOUT_AP_COMPARE

// Division and remainder: operands up to 64 bits only (the kernels shift instead of dividing).
namespace ap_shim {
template <class R, class A, class B> inline R divmod(const A &a, const B &b, bool want_mod) {
  typedef operand<A> OA;
  typedef operand<B> OB;
  static_assert(OA::width <= 64 && OB::width <= 64, "ap_int shim: / and % support operands up to 64 bits");
  if (OB::get(b).iszero()) {
    fprintf(stderr, "ap_int: division by zero\n");
    abort();
  }
  if (!OA::sign && !OB::sign) {
    unsigned long long x = OA::get(a).to_uint64(), y = OB::get(b).to_uint64();
    return R(want_mod ? x % y : x / y);
  }
  static_assert(OA::sign || OA::width < 64, "ap_int shim: signed / or % with a 64-bit unsigned operand");
  static_assert(OB::sign || OB::width < 64, "ap_int shim: signed / or % with a 64-bit unsigned operand");
  long long x = OA::get(a).to_int64(), y = OB::get(b).to_int64();
  return R(want_mod ? x % y : x / y);
}
} // namespace ap_shim
template <class A, class B> inline typename ap_shim::binop<A, B>::div operator/(const A &a, const B &b) {
  return ap_shim::divmod<typename ap_shim::binop<A, B>::div>(a, b, false);
}
template <class A, class B> inline typename ap_shim::binop<A, B>::mod operator%(const A &a, const B &b) {
  return ap_shim::divmod<typename ap_shim::binop<A, B>::mod>(a, b, true);
}

namespace ap_shim {
// A non-negative shift amount as an unsigned long long; anything past 64 bits saturates (the
// shift then clears or sign-fills every bit anyway).
template <int W, bool S> inline unsigned long long shift_amount(const ap_int_base<W, S> &n) {
  for (int i = 1; i < (int)n.shim_nw; i++)
    if (n.shim_w[i]) return ~0ull;
  return n.shim_w[0];
}
} // namespace ap_shim

// Shifts keep the left operand's width (bits shifted out are lost, as in Vitis). A negative
// signed amount shifts the other way.
template <class A, class B> inline typename ap_shim::shiftop<A, B>::type operator<<(const A &a, const B &b) {
  typedef typename ap_shim::operand<A>::base R;
  R r(ap_shim::operand<A>::get(a));
  typename ap_shim::operand<B>::base n(ap_shim::operand<B>::get(b));
  if (n.sign())
    r.shim_shr(ap_shim::shift_amount(-n));
  else
    r.shim_shl(ap_shim::shift_amount(n));
  return r;
}
template <class A, class B> inline typename ap_shim::shiftop<A, B>::type operator>>(const A &a, const B &b) {
  typedef typename ap_shim::operand<A>::base R;
  R r(ap_shim::operand<A>::get(a));
  typename ap_shim::operand<B>::base n(ap_shim::operand<B>::get(b));
  if (n.sign())
    r.shim_shl(ap_shim::shift_amount(-n));
  else
    r.shim_shr(ap_shim::shift_amount(n));
  return r;
}

template <class A, class B> inline typename ap_shim::concatop<A, B>::type operator,(const A &a, const B &b) {
  return typename ap_shim::concatop<A, B>::type(a, b);
}

// Streams: values up to 64 bits as the builtin (so std::hex etc. apply), wider ones in hex.
template <int W, bool S> inline std::ostream &operator<<(std::ostream &os, const ap_int_base<W, S> &v) {
  if (W <= 64) {
    if (S) return os << v.to_int64();
    return os << v.to_uint64();
  }
  return os << v.to_string(16);
}

#endif
