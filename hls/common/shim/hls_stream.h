// hls_stream.h: Fanout's minimal stand-in for Vitis HLS's header of the same name.
//
// Used ONLY when Vitis's own headers are absent (hls/CMakeLists.txt decides). hls::stream<T, DEPTH>
// is a BOUNDED FIFO here, unlike Vitis's C simulation (which grows without limit): a kernel whose
// stream would overflow the FIFO the hardware actually builds stalls or deadlocks on the NIC, and
// an unbounded C model hides that. So full() is true at DEPTH elements, write_nb() fails when
// full and read_nb() when empty. A blocking read() on an empty stream or write() on a full one
// would wait forever in hardware (nothing else runs in a C simulation to unblock it), so it is a
// kernel bug: it prints the stream's name and aborts.
//
// The storage is a fixed ring of DEPTH elements (no heap), so T must be default-constructible
// and copyable, as in Vitis.
#ifndef FANOUT_HLS_SHIM_HLS_STREAM_H
#define FANOUT_HLS_SHIM_HLS_STREAM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace hls {

// DEPTH defaults to 2 because that is the FIFO Vitis builds for a stream without a depth of its
// own. Give kernel streams their depth in the type (hls::stream<T, 16>), which Vitis honours too:
// a depth set only by "#pragma HLS STREAM depth=" is invisible to this model.
template <typename T, int DEPTH = 2> class stream {
  static_assert(DEPTH >= 1, "hls::stream depth must be at least 1");

 public:
  stream() { set_name("hls::stream"); }
  explicit stream(const char *name) { set_name(name); }

  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == DEPTH; }
  unsigned size() const { return count_; }
  unsigned capacity() const { return DEPTH; }
  const char *name() const { return name_; }

  T read() {
    if (empty()) die("read() on an empty stream (in hardware this blocks forever)");
    T v = buf_[head_];
    head_ = (head_ + 1) % DEPTH;
    count_--;
    return v;
  }
  void read(T &v) { v = read(); }
  bool read_nb(T &v) {
    if (empty()) return false;
    v = read();
    return true;
  }
  void write(const T &v) {
    if (full()) die("write() on a full stream (in hardware this blocks forever)");
    buf_[(head_ + count_) % DEPTH] = v;
    count_++;
  }
  bool write_nb(const T &v) {
    if (full()) return false;
    write(v);
    return true;
  }
  void operator>>(T &v) { read(v); }
  void operator<<(const T &v) { write(v); }

 private:
  // A stream is a hardware FIFO: it cannot be copied (Vitis forbids it too).
  stream(const stream &);
  stream &operator=(const stream &);

  void set_name(const char *name) {
    strncpy(name_, name ? name : "", sizeof(name_) - 1);
    name_[sizeof(name_) - 1] = '\0';
  }
  [[noreturn]] void die(const char *what) const {
    fprintf(stderr, "hls::stream '%s' (depth %d): %s\n", name_, DEPTH, what);
    abort();
  }

  T buf_[DEPTH];
  unsigned head_ = 0;
  unsigned count_ = 0;
  char name_[64];
};

} // namespace hls

#endif
