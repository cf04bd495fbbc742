// The serve protocol: how applications' hosts attach to the NICs of a running `fanout-sim --serve
// DIR` (docs/simulator.md, "Serving hosts to applications"). The simulator writes this side in
// sim/src/serve.cpp; libfanout's sim: backend is a client. Plain C++17, no SystemC: clients
// include this header alone (CMake target fanout::sim_serve_protocol).
//
// Transport: one Unix-domain SOCK_SEQPACKET socket per served node, `<DIR>/node<N>.sock`
// (socket_path()), created by fanout-sim (DIR made if missing, a stale file replaced) and removed
// when it exits. One client per node; a second connection, or a reconnection after a client left,
// is accepted and closed at once. Clients start before or after the server: retry connect() on
// ENOENT / ECONNREFUSED until the socket is there.
//
// Records: one message per seqpacket record, little-endian, an 8-byte header then a body whose
// size the type fixes (FRAME: 16 bytes + the frame). Read with a buffer of kMaxRecordBytes (a
// shorter buffer truncates the record: MSG_TRUNC). Byte offsets from the record's start:
//
//   header (all records)   0 u32 magic = kMagic (bytes "FSIM")   4 u16 version = kVersion   6 u16 type
//   HELLO  server->client  8 u32 node            this client's node id (0..nodes-1)
//          (kHelloBytes)  12 u32 nodes           node ids of the cluster are 0..nodes-1
//                         16 u16 mode            kModeTree / kModePort (nic.mode)
//                         18 u16 udp_port        Fanout UDP destination port the NICs use
//                         20 u32 fanout          tree fan-out F (tree mode)
//                         24 u64 kernel_period_ps  one kernel clock
//                         32 u64 quantum_ps      simulated time between two TICKs
//                         40 u64 now_ps          simulated time now (0)
//                         48 u64 end_ps          the run ends at this simulated time (duration)
//                         56 u32 max_frame_bytes largest frame either side sends (9014)
//                         60 u32 reserved        0
//   FRAME  both ways       8 u64 at_ps           server->client: when the NIC's host RX delivered
//          (16 + n)                               the frame's last beat; client->server: 0 (ignored)
//                         16 u8[n] frame         a whole Ethernet frame without FCS (what
//                                                 proto::build_frame writes, proto::parse_frame reads),
//                                                 kMinFrameBytes <= n <= kMaxFrameBytes
//   TICK   server->client  8 u64 now_ps          simulated time reached now_ps
//   DONE   client->server  8 u64 now_ps          the now_ps of the TICK it answers
//   BYE    server->client  8 u64 now_ps          simulated time at the end
//          (kByeBytes)    16 u32 reason          kByeDuration / kByeStopped
//                         20 u32 reserved        0
//
// Session (conservative lock-step; q = quantum):
//   server: HELLO, TICK(0)                  client: FRAMEs to send at t = 0, DONE(0)
//   server: runs the cluster up to q; the FRAMEs its host RX delivered meanwhile, TICK(q)
//   client: handles them, sends FRAMEs (DATA/ACK/NACK it wants on the wire), DONE(q)
//   ... until the duration is reached or every client has left (closed its socket; the others
//   go on without it, the run ends when the last one leaves).
// A FRAME before TICK(T) has T - q < at_ps <= T (0 <= at_ps <= q before TICK(q)). The frames a
// client sends after DONE(T - q) and up to its DONE(T) enter its NIC's host TX at simulated time
// T, in the order sent (queued while the NIC's DMA queue is full). A client that sends frames
// after its DONE(T) without waiting for the next TICK has them entered at T + q. The server waits
// for every connected client's DONE before simulating on, so a run is deterministic for a given
// sequence of client records per round. A client that does not answer a TICK within the
// server's --serve-wait-s is dropped (its socket closed, one line on the server's stderr).
// When every client has left, the frames the last ones sent in their last round are not
// simulated. Frames host RX delivers for a node whose client has left are dropped and counted
// (drops.host_gone).
// At the duration: the FRAMEs of the last (possibly shorter) quantum, then BYE(end); the server
// then shuts its side down (reads return end of file after BYE), discards whatever the client
// still sends, and closes when the client closes (or after 5 s). A read that fails with
// ECONNRESET also means the end: the server closed with records of the client unread.
//
// Frames the server sends a client: local DATA deliveries, aggregated ACKs and NACKs for the
// node's messages, PROBE heartbeats and non-Fanout frames (ignore what you do not need). A client
// builds frames as sim::Host does (sim/host.hpp): DATA with addresses
// proto::cluster_net_headers(self, self, self, message id), origin = sender = self; an ACK to its
// own NIC with cluster_net_headers(self, self, sender, message id), type ACK, origin = self,
// sequence = packets held, length 1, set {self} encoded as ranges. The NIC replicates DATA and
// aggregates ACKs; the client's transport only posts and polls.
//
// Errors: the server counts a malformed client record (decode() != kOk, a type a client may not
// send, a DONE for another time), logs one line naming the node, and drops it; it never closes
// the connection for it.
#ifndef FANOUT_SIM_SERVE_HPP
#define FANOUT_SIM_SERVE_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fanout {
namespace sim {
namespace serve {

constexpr uint32_t kMagic = 0x4D495346; // bytes 'F' 'S' 'I' 'M' in little-endian order
constexpr uint16_t kVersion = 1;

enum Type : uint16_t {
  kHello = 1, // server -> client
  kFrame = 2, // both ways
  kTick = 3,  // server -> client
  kDone = 4,  // client -> server
  kBye = 5,   // server -> client
};

enum Mode : uint16_t { kModeTree = 0, kModePort = 1 };
enum ByeReason : uint32_t {
  kByeDuration = 0, // the scenario's duration was reached
  kByeStopped = 1,  // the server stopped for another reason (an error)
};

constexpr uint32_t kHeaderBytes = 8;
constexpr uint32_t kHelloBytes = 64;
constexpr uint32_t kFrameHeaderBytes = 16; // header + at_ps; the frame follows
constexpr uint32_t kTickBytes = 16;
constexpr uint32_t kDoneBytes = 16;
constexpr uint32_t kByeBytes = 24;
constexpr uint32_t kMinFrameBytes = 14;   // an Ethernet header
constexpr uint32_t kMaxFrameBytes = 9014; // proto::kMaxFrameBytes: 9,000-byte MTU + Ethernet header
constexpr uint32_t kMaxRecordBytes = kFrameHeaderBytes + kMaxFrameBytes; // 9030: the read buffer

// `<dir>/node<N>.sock`. sockaddr_un holds at most 107 path bytes.
inline std::string socket_path(const std::string &dir, uint32_t node) {
  return dir + "/node" + std::to_string(node) + ".sock";
}
constexpr size_t kMaxSocketPathBytes = 107;

struct Hello {
  uint32_t node = 0;
  uint32_t nodes = 0;
  uint16_t mode = kModeTree;
  uint16_t udp_port = 47100;
  uint32_t fanout = 0;
  uint64_t kernel_period_ps = 0;
  uint64_t quantum_ps = 0;
  uint64_t now_ps = 0;
  uint64_t end_ps = 0;
  uint32_t max_frame_bytes = kMaxFrameBytes;
};

// A decoded record. `frame` points into the decoded buffer (valid while it is).
struct Record {
  uint16_t type = 0;
  Hello hello;          // kHello
  uint64_t time_ps = 0; // kFrame: at_ps; kTick, kDone, kBye: now_ps
  uint32_t reason = 0;  // kBye
  const uint8_t *frame = nullptr;
  uint32_t frame_len = 0;
};

enum DecodeError {
  kOk = 0,
  kShort,         // shorter than the 8-byte header
  kBadMagic,      // magic != kMagic
  kBadVersion,    // version != kVersion
  kUnknownType,   // type not in Type
  kBadLength,     // record size wrong for its type (HELLO, TICK, DONE, BYE)
  kFrameTooShort, // FRAME with fewer than kMinFrameBytes frame bytes
  kFrameTooLong,  // FRAME with more than kMaxFrameBytes frame bytes
};

inline const char *decode_error_name(int e) {
  switch (e) {
  case kOk: return "ok";
  case kShort: return "short_record";
  case kBadMagic: return "bad_magic";
  case kBadVersion: return "bad_version";
  case kUnknownType: return "unknown_type";
  case kBadLength: return "bad_length";
  case kFrameTooShort: return "frame_too_short";
  case kFrameTooLong: return "frame_too_long";
  default: return "unknown_error";
  }
}

inline const char *type_name(int t) {
  switch (t) {
  case kHello: return "HELLO";
  case kFrame: return "FRAME";
  case kTick: return "TICK";
  case kDone: return "DONE";
  case kBye: return "BYE";
  default: return "?";
  }
}

// Which side may send a type.
inline bool client_may_send(uint16_t type) {
  return type == kFrame || type == kDone;
}
inline bool server_may_send(uint16_t type) {
  return type != kDone && type >= kHello && type <= kBye;
}

// ---- Little-endian fields -----------------------------------------------------------------------
inline void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
inline void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
inline void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
inline uint16_t get16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}
inline uint32_t get32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
inline uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

// ---- Encode: into out[0..cap), returning the record's size (0 when cap is too small or the frame
// size is out of range); or as a new vector. -----------------------------------------------------
inline void put_header(uint8_t *p, uint16_t type) {
  put32(p, kMagic);
  put16(p + 4, kVersion);
  put16(p + 6, type);
}

inline size_t encode_hello(const Hello &h, uint8_t *out, size_t cap) {
  if (cap < kHelloBytes) return 0;
  put_header(out, kHello);
  put32(out + 8, h.node);
  put32(out + 12, h.nodes);
  put16(out + 16, h.mode);
  put16(out + 18, h.udp_port);
  put32(out + 20, h.fanout);
  put64(out + 24, h.kernel_period_ps);
  put64(out + 32, h.quantum_ps);
  put64(out + 40, h.now_ps);
  put64(out + 48, h.end_ps);
  put32(out + 56, h.max_frame_bytes);
  put32(out + 60, 0);
  return kHelloBytes;
}

inline size_t encode_frame(uint64_t at_ps, const uint8_t *frame, size_t len, uint8_t *out, size_t cap) {
  if (len < kMinFrameBytes || len > kMaxFrameBytes || cap < kFrameHeaderBytes + len) return 0;
  put_header(out, kFrame);
  put64(out + 8, at_ps);
  for (size_t i = 0; i < len; i++) out[kFrameHeaderBytes + i] = frame[i];
  return kFrameHeaderBytes + len;
}

// TICK and DONE share their layout.
inline size_t encode_time(uint16_t type, uint64_t now_ps, uint8_t *out, size_t cap) {
  if (cap < kTickBytes) return 0;
  put_header(out, type);
  put64(out + 8, now_ps);
  return kTickBytes;
}
inline size_t encode_tick(uint64_t now_ps, uint8_t *out, size_t cap) {
  return encode_time(kTick, now_ps, out, cap);
}
inline size_t encode_done(uint64_t now_ps, uint8_t *out, size_t cap) {
  return encode_time(kDone, now_ps, out, cap);
}

inline size_t encode_bye(uint64_t now_ps, uint32_t reason, uint8_t *out, size_t cap) {
  if (cap < kByeBytes) return 0;
  put_header(out, kBye);
  put64(out + 8, now_ps);
  put32(out + 16, reason);
  put32(out + 20, 0);
  return kByeBytes;
}

inline std::vector<uint8_t> hello_record(const Hello &h) {
  std::vector<uint8_t> v(kHelloBytes);
  encode_hello(h, v.data(), v.size());
  return v;
}
// Empty when the frame size is out of range.
inline std::vector<uint8_t> frame_record(uint64_t at_ps, const uint8_t *frame, size_t len) {
  std::vector<uint8_t> v(kFrameHeaderBytes + len);
  v.resize(encode_frame(at_ps, frame, len, v.data(), v.size()));
  return v;
}
inline std::vector<uint8_t> tick_record(uint64_t now_ps) {
  std::vector<uint8_t> v(kTickBytes);
  encode_tick(now_ps, v.data(), v.size());
  return v;
}
inline std::vector<uint8_t> done_record(uint64_t now_ps) {
  std::vector<uint8_t> v(kDoneBytes);
  encode_done(now_ps, v.data(), v.size());
  return v;
}
inline std::vector<uint8_t> bye_record(uint64_t now_ps, uint32_t reason) {
  std::vector<uint8_t> v(kByeBytes);
  encode_bye(now_ps, reason, v.data(), v.size());
  return v;
}

// ---- Decode: one whole record (what one recv() returned). Never reads outside p[0..n). ----------
inline DecodeError decode(const uint8_t *p, size_t n, Record &out) {
  out = Record();
  if (n < kHeaderBytes) return kShort;
  if (get32(p) != kMagic) return kBadMagic;
  if (get16(p + 4) != kVersion) return kBadVersion;
  out.type = get16(p + 6);
  switch (out.type) {
  case kHello:
    if (n != kHelloBytes) return kBadLength;
    out.hello.node = get32(p + 8);
    out.hello.nodes = get32(p + 12);
    out.hello.mode = get16(p + 16);
    out.hello.udp_port = get16(p + 18);
    out.hello.fanout = get32(p + 20);
    out.hello.kernel_period_ps = get64(p + 24);
    out.hello.quantum_ps = get64(p + 32);
    out.hello.now_ps = get64(p + 40);
    out.hello.end_ps = get64(p + 48);
    out.hello.max_frame_bytes = get32(p + 56);
    out.time_ps = out.hello.now_ps;
    return kOk;
  case kFrame:
    if (n < kFrameHeaderBytes + kMinFrameBytes) return n < kFrameHeaderBytes ? kBadLength : kFrameTooShort;
    if (n > kFrameHeaderBytes + kMaxFrameBytes) return kFrameTooLong;
    out.time_ps = get64(p + 8);
    out.frame = p + kFrameHeaderBytes;
    out.frame_len = (uint32_t)(n - kFrameHeaderBytes);
    return kOk;
  case kTick:
  case kDone:
    if (n != kTickBytes) return kBadLength;
    out.time_ps = get64(p + 8);
    return kOk;
  case kBye:
    if (n != kByeBytes) return kBadLength;
    out.time_ps = get64(p + 8);
    out.reason = get32(p + 16);
    return kOk;
  default: return kUnknownType;
  }
}

} // namespace serve
} // namespace sim
} // namespace fanout

#endif
