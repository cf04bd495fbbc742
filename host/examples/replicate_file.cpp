// replicate_file: checkpoint-style replication. The cluster's first node reads a file and sends
// it to 3 other nodes (--to picks them) in chunks of --chunk bytes (one message per chunk, so a
// small file is one message); each receiver writes the chunks at their offsets into its output
// file. Every copy of a chunk leaves the sender once, in one post_send to the whole replica set.
//
// Everyone checks an FNV-1a 64 checksum: the sender announces the file's in its END message, each
// receiver re-reads what it wrote, compares and reports its own back to the sender. A receiver
// exits 0 only if its copy matches; the sender exits 0 only if every replica reported a match.
// Every node runs the same command (README.md):
//
//   replicate_file <device uri> --file PATH [--out PATH] [--to IDS] [--chunk BYTES] [--timeout SECONDS]
//     --out: where receivers write; {node} becomes the node id (default replica-{node}.bin)
//     --chunk: bytes per message (default 4M; K and M suffixes); the same on every node
#include "fanout/driver.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace fanout::driver;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kMagic = 0x4c504552; // "REPL"
enum Kind : uint32_t { kChunk = 1, kEnd = 2, kReport = 3 };
constexpr uint32_t kSlots = 4; // chunks in flight (sender) and receive buffers (receivers)

// Every message starts with this header; a chunk's bytes follow it.
struct Header {
  uint32_t magic;
  uint32_t kind;
  uint64_t a; // chunk: file offset    end: file size      report: bytes written
  uint64_t b; // chunk: length         end: chunk count    report: 0
  uint64_t c; // chunk: index          end: checksum       report: checksum
};
static_assert(sizeof(Header) == 32, "fixed wire layout");

struct Options {
  std::string uri, file, out = "replica-{node}.bin", to;
  uint64_t chunk = 4u << 20;
  unsigned timeout_s = 60;
};

[[noreturn]] void usage(const std::string &error) {
  if (!error.empty()) std::fprintf(stderr, "replicate_file: %s\n", error.c_str());
  std::fprintf(stderr, "usage: replicate_file <device uri> --file PATH [--out PATH] [--to IDS] [--chunk BYTES] "
                       "[--timeout SECONDS]\n");
  std::exit(2);
}

uint64_t parse_number(const std::string &option, const std::string &text, uint64_t lo, uint64_t hi) {
  char *end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end || text[0] == '-' || v < lo || v > hi)
    usage("option " + option + ": '" + text + "' is not a number in " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

// A byte count with an optional K or M suffix (powers of 1024): 4M, 512K.
uint64_t parse_size(const std::string &option, const std::string &text, uint64_t lo, uint64_t hi) {
  std::string digits = text;
  uint64_t scale = 1;
  if (!digits.empty() && (digits.back() == 'K' || digits.back() == 'M')) {
    scale = digits.back() == 'K' ? 1u << 10 : 1u << 20;
    digits.pop_back();
  }
  char *end = nullptr;
  unsigned long long v = std::strtoull(digits.c_str(), &end, 10);
  if (digits.empty() || *end || digits[0] == '-' || v > hi / scale || v * scale < lo)
    usage("option " + option + ": '" + text + "' is not a size in " + std::to_string(lo) + ".." + std::to_string(hi) +
          " bytes (K and M suffixes)");
  return v * scale;
}

Options parse(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') usage("the device URI comes first");
  Options o;
  o.uri = argv[1];
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage("option " + a + " needs a value");
    std::string v = argv[++i];
    if (a == "--file")
      o.file = v;
    else if (a == "--out")
      o.out = v;
    else if (a == "--to")
      o.to = v;
    else if (a == "--chunk")
      o.chunk = parse_size(a, v, 1, 1ull << 30);
    else if (a == "--timeout")
      o.timeout_s = (unsigned)parse_number(a, v, 1, 86400);
    else
      usage("unknown option '" + a + "'");
  }
  if (o.file.empty()) usage("option --file is required (every node runs the same command)");
  return o;
}

// FNV-1a, 64-bit: h = (h ^ byte) * prime, over the bytes in file order.
struct Fnv1a64 {
  uint64_t h = 0xcbf29ce484222325ull;
  void add(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  }
};

std::string id_list(const std::vector<NodeId> &ids) {
  std::string s;
  for (NodeId id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

// --to: comma-separated node ids of the cluster; default: the 3 nodes after the sender.
std::vector<NodeId> replicas(const Options &o, const ClusterConfig &cluster, NodeId sender) {
  std::vector<NodeId> to;
  if (o.to.empty()) {
    for (const NodeAddress &n : cluster.nodes)
      if (n.id != sender && to.size() < 3) to.push_back(n.id);
    return to;
  }
  size_t pos = 0;
  while (pos <= o.to.size()) {
    size_t comma = o.to.find(',', pos);
    std::string item = o.to.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    NodeId id = (NodeId)parse_number("--to", item, 0, 65535);
    if (!cluster.find(id) || id == sender)
      usage("option --to: node " + item + (id == sender ? " is the sender" : " is not in the cluster file"));
    if (std::find(to.begin(), to.end(), id) == to.end()) to.push_back(id);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  std::sort(to.begin(), to.end());
  return to;
}

Header read_header(const uint8_t *p) {
  Header h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

// Closes the device when the function that owns its posted buffers returns, before they are
// freed: outstanding work requests then complete as cancelled instead of touching freed memory.
struct CloseAtExit {
  Device &dev;
  ~CloseAtExit() { dev.close(); }
};

// See hello_multicast.cpp: stay reachable for late probes after our last message.
void linger(Device &dev) {
  auto end = Clock::now() + std::chrono::microseconds(dev.cluster().transport.rto_max_us);
  Completion c[8];
  while (Clock::now() < end) {
    dev.wait(10);
    dev.poll(c, 8);
  }
}

int run_sender(Device &dev, const Options &o, const std::vector<NodeId> &to) {
  const NodeId self = dev.node_id();
  int fd = ::open(o.file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    std::fprintf(stderr, "node %u: %s: %s\n", self, o.file.c_str(), std::strerror(errno));
    return 1;
  }
  const uint64_t size = (uint64_t)st.st_size;
  const uint64_t chunks = (size + o.chunk - 1) / o.chunk;
  const uint64_t slot_bytes = sizeof(Header) + o.chunk;
  // Chunks are read into registered slots, so backends that can send without a copy do.
  std::vector<uint8_t> slots(kSlots * slot_bytes);
  MemoryRegion region;
  if (Status s = dev.register_memory(slots.data(), slots.size(), &region); s != Status::kOk) {
    std::fprintf(stderr, "node %u: register_memory: %s\n", self, status_name(s));
    return 1;
  }
  // The replicas' reports (one each), taken in arrival order.
  std::vector<uint8_t> reports(to.size() * sizeof(Header));
  for (size_t r = 0; r < to.size(); r++) dev.post_recv(reports.data() + r * sizeof(Header), sizeof(Header), r);

  std::printf("node %u: replicating %s (%llu bytes, %llu chunks of at most %llu bytes) to nodes %s\n", self,
              o.file.c_str(), (unsigned long long)size, (unsigned long long)chunks, (unsigned long long)o.chunk,
              id_list(to).c_str());
  Fnv1a64 sum;
  std::vector<uint32_t> free_slots;
  for (uint32_t s = 0; s < kSlots; s++) free_slots.push_back(s);
  uint64_t next = 0, chunks_done = 0;
  Header end{};
  CloseAtExit closer{dev};
  bool end_posted = false, end_done = false;
  size_t reports_in = 0, matches = 0;
  int status = 0;
  auto started = Clock::now();
  auto deadline = started + std::chrono::seconds(o.timeout_s);
  while (!(end_done && reports_in == to.size())) {
    while (next < chunks && !free_slots.empty()) { // chunks go out in file order: the checksum follows them
      uint32_t slot = free_slots.back();
      free_slots.pop_back();
      uint8_t *p = slots.data() + slot * slot_bytes;
      uint64_t len = std::min(o.chunk, size - next * o.chunk);
      uint64_t got = 0;
      while (got < len) {
        ssize_t r = ::pread(fd, p + sizeof(Header) + got, len - got, (off_t)(next * o.chunk + got));
        if (r <= 0) {
          std::fprintf(stderr, "node %u: reading %s: %s\n", self, o.file.c_str(),
                       r == 0 ? "file shrank" : std::strerror(errno));
          return 1;
        }
        got += (uint64_t)r;
      }
      sum.add(p + sizeof(Header), len);
      Header h{kMagic, kChunk, next * o.chunk, len, next};
      std::memcpy(p, &h, sizeof h);
      Status s = dev.post_send(to, region, slot * slot_bytes, sizeof h + len, slot);
      if (s != Status::kOk) {
        std::fprintf(stderr, "node %u: post_send: %s: %s\n", self, status_name(s), dev.last_send_error());
        return 1;
      }
      next++;
    }
    if (chunks_done == chunks && !end_posted) {
      end = Header{kMagic, kEnd, size, chunks, sum.h};
      if (Status s = dev.post_send(to, &end, sizeof end, UINT64_MAX); s != Status::kOk) {
        std::fprintf(stderr, "node %u: post_send: %s: %s\n", self, status_name(s), dev.last_send_error());
        return 1;
      }
      end_posted = true;
    }
    Completion c[16];
    int n = dev.poll(c, 16);
    for (int i = 0; i < n; i++) {
      if (c[i].opcode == Opcode::kSend) {
        if (c[i].status != Status::kOk) {
          std::vector<NodeId> failed;
          dev.failed_receivers(c[i].message_id, &failed);
          std::fprintf(stderr, "node %u: %s: %s, nodes %s did not acknowledge\n", self,
                       c[i].wr_id == UINT64_MAX ? "end message" : "chunk", status_name(c[i].status),
                       id_list(failed).c_str());
          return 1;
        }
        if (c[i].wr_id == UINT64_MAX) {
          end_done = true;
        } else {
          chunks_done++;
          free_slots.push_back((uint32_t)c[i].wr_id);
        }
        continue;
      }
      Header h = read_header(reports.data() + c[i].wr_id * sizeof(Header));
      if (c[i].status != Status::kOk || c[i].length != sizeof h || h.magic != kMagic || h.kind != kReport ||
          !std::binary_search(to.begin(), to.end(), c[i].peer)) {
        std::fprintf(stderr, "node %u: unexpected message from node %u (%s)\n", self, c[i].peer,
                     status_name(c[i].status));
        status = 1;
        continue;
      }
      reports_in++;
      bool match = h.c == sum.h && h.a == size;
      matches += match;
      std::printf("node %u: node %u wrote %llu bytes, fnv1a64 %016llx: %s\n", self, c[i].peer, (unsigned long long)h.a,
                  (unsigned long long)h.c, match ? "match" : "MISMATCH");
    }
    if (n == 0) {
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "node %u: timed out: %llu of %llu chunks acknowledged, %zu of %zu reports\n", self,
                     (unsigned long long)chunks_done, (unsigned long long)chunks, reports_in, to.size());
        return 1;
      }
      dev.wait(100);
    }
  }
  ::close(fd);
  double secs = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("node %u: %s fnv1a64 %016llx; %zu of %zu replicas match; %.3f s, %.1f MB/s per replica\n", self,
              o.file.c_str(), (unsigned long long)sum.h, matches, to.size(), secs, size / secs / 1e6);
  // Stay reachable a while: a receiver whose report's ACK was lost probes again (rto_us, then
  // backing off to rto_max_us) and needs this node to re-ACK it.
  linger(dev);
  return status == 0 && matches == to.size() ? 0 : 1;
}

std::string output_path(std::string pattern, NodeId self) {
  for (size_t p; (p = pattern.find("{node}")) != std::string::npos;) pattern.replace(p, 6, std::to_string(self));
  return pattern;
}

int run_receiver(Device &dev, const Options &o, NodeId sender) {
  const NodeId self = dev.node_id();
  const std::string path = output_path(o.out, self);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "node %u: %s: %s\n", self, path.c_str(), std::strerror(errno));
    return 1;
  }
  const uint64_t slot_bytes = sizeof(Header) + o.chunk;
  std::vector<uint8_t> bufs(kSlots * slot_bytes);
  MemoryRegion region;
  if (Status s = dev.register_memory(bufs.data(), bufs.size(), &region); s != Status::kOk) {
    std::fprintf(stderr, "node %u: register_memory: %s\n", self, status_name(s));
    return 1;
  }
  Header report{};
  CloseAtExit closer{dev};
  for (uint32_t s = 0; s < kSlots; s++) dev.post_recv(region, s * slot_bytes, slot_bytes, s);

  uint64_t chunks = 0, bytes = 0;
  bool have_end = false;
  Header end{};
  auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  while (!(have_end && chunks == end.b)) {
    Completion c[16];
    int n = dev.poll(c, 16);
    for (int i = 0; i < n; i++) {
      if (c[i].status == Status::kBufferTooSmall) {
        std::fprintf(stderr, "node %u: a %llu-byte message does not fit: use the sender's --chunk on every node\n",
                     self, (unsigned long long)c[i].length);
        return 1;
      }
      const uint8_t *p = bufs.data() + c[i].wr_id * slot_bytes;
      Header h = read_header(p);
      if (c[i].status != Status::kOk || c[i].peer != sender || c[i].length < sizeof h || h.magic != kMagic) {
        std::fprintf(stderr, "node %u: unexpected message from node %u (%s)\n", self, c[i].peer,
                     status_name(c[i].status));
        return 1;
      }
      if (h.kind == kChunk && c[i].length == sizeof h + h.b) {
        // Chunks may complete out of order: each one says where it goes.
        if (::pwrite(fd, p + sizeof h, h.b, (off_t)h.a) != (ssize_t)h.b) {
          std::fprintf(stderr, "node %u: writing %s: %s\n", self, path.c_str(), std::strerror(errno));
          return 1;
        }
        chunks++;
        bytes += h.b;
      } else if (h.kind == kEnd) {
        end = h;
        have_end = true;
      } else {
        std::fprintf(stderr, "node %u: malformed message from node %u\n", self, c[i].peer);
        return 1;
      }
      dev.post_recv(region, c[i].wr_id * slot_bytes, slot_bytes, c[i].wr_id);
    }
    if (n == 0) {
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "node %u: timed out with %llu chunks (%llu bytes)%s\n", self, (unsigned long long)chunks,
                     (unsigned long long)bytes, have_end ? "" : ", no end message");
        return 1;
      }
      dev.wait(100);
    }
  }
  // Check what is on disk, not what passed through memory.
  if (::ftruncate(fd, (off_t)end.a) != 0) {
    std::fprintf(stderr, "node %u: %s: %s\n", self, path.c_str(), std::strerror(errno));
    return 1;
  }
  Fnv1a64 sum;
  uint64_t on_disk = 0;
  std::vector<uint8_t> block(1 << 20);
  for (ssize_t r; (r = ::pread(fd, block.data(), block.size(), (off_t)on_disk)) > 0; on_disk += (uint64_t)r)
    sum.add(block.data(), (size_t)r);
  ::close(fd);
  bool match = sum.h == end.c && on_disk == end.a;
  std::printf("node %u: wrote %s: %llu bytes in %llu chunks, fnv1a64 %016llx, sender's %016llx: %s\n", self,
              path.c_str(), (unsigned long long)on_disk, (unsigned long long)chunks, (unsigned long long)sum.h,
              (unsigned long long)end.c, match ? "match" : "MISMATCH");
  report = Header{kMagic, kReport, on_disk, 0, sum.h};
  bool reported = false;
  if (dev.post_send({sender}, &report, sizeof report, 0) == Status::kOk) {
    Completion c;
    while (Clock::now() < deadline && !reported) {
      if (dev.poll(&c, 1) == 1) {
        if (c.opcode != Opcode::kSend) continue;
        reported = c.status == Status::kOk;
        break;
      }
      dev.wait(100);
    }
  }
  // The receiver's own verdict is `match` (it checked the disk against the sender's checksum).
  // Whether the sender has the report is the sender's to say: when the report's last
  // acknowledgement is lost, the sender may hold the report while this node cannot know it (the
  // two generals), so an unconfirmed report is a warning here and the sender's exit status tells.
  if (!reported) std::fprintf(stderr, "node %u: warning: the sender did not confirm the report\n", self);
  linger(dev);
  return match ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o = parse(argc, argv);
  OpenResult opened = Device::open(o.uri);
  if (!opened) {
    std::fprintf(stderr, "replicate_file: %s\n", opened.message.c_str());
    return 1;
  }
  Device &dev = *opened.device;
  const NodeId sender = dev.cluster().nodes.front().id; // the first node of the cluster file
  std::vector<NodeId> to = replicas(o, dev.cluster(), sender);
  if (to.empty()) {
    std::fprintf(stderr, "replicate_file: the cluster has one node: nowhere to replicate to\n");
    return 1;
  }
  if (dev.node_id() == sender) return run_sender(dev, o, to);
  if (!std::binary_search(to.begin(), to.end(), dev.node_id())) {
    std::printf("node %u: not a replica (replicas: %s): nothing to do\n", dev.node_id(), id_list(to).c_str());
    return 0;
  }
  return run_receiver(dev, o, sender);
}
