// hello_multicast: the smallest libfanout program. The cluster's first node sends
// "hello from <id> #<i>" to every other node, --count times; every other node receives the
// messages and prints them with their sender. The sender gets one completion per message, when
// every receiver has it. Only the Device API is used, so the same source runs on every backend.
//
//   hello_multicast <device uri> [--count N] [--timeout SECONDS]
//   e.g. hello_multicast 'udp:cluster.yaml?node=1'     (README.md: running a cluster on one machine)
#include "fanout/driver.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace fanout::driver;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kBufferBytes = 256; // a hello line is far shorter

struct Options {
  std::string uri;
  unsigned count = 3;
  unsigned timeout_s = 30;
};

[[noreturn]] void usage(const char *error) {
  if (error) std::fprintf(stderr, "hello_multicast: %s\n", error);
  std::fprintf(stderr, "usage: hello_multicast <device uri> [--count N] [--timeout SECONDS]\n");
  std::exit(2);
}

unsigned parse_unsigned(const char *option, const char *text) {
  char *end = nullptr;
  unsigned long v = std::strtoul(text, &end, 10);
  if (!*text || *end || v > 1000000) {
    std::string e = std::string("option ") + option + ": '" + text + "' is not a number (0..1000000)";
    usage(e.c_str());
  }
  return (unsigned)v;
}

Options parse(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') usage("the device URI comes first");
  Options o;
  o.uri = argv[1];
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("option " + a + " needs a value").c_str());
    if (a == "--count")
      o.count = parse_unsigned("--count", argv[++i]);
    else if (a == "--timeout")
      o.timeout_s = parse_unsigned("--timeout", argv[++i]);
    else
      usage(("unknown option '" + a + "'").c_str());
  }
  return o;
}

std::string id_list(const std::vector<NodeId> &ids) {
  std::string s;
  for (NodeId id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

// Closes the device when the function that owns its posted buffers returns, before they are
// freed: outstanding work requests then complete as cancelled instead of touching freed memory.
struct CloseAtExit {
  Device &dev;
  ~CloseAtExit() { dev.close(); }
};

// Keep the device open a little after our last message: if our final ACK was lost, the sender
// probes again within rto_max, and only an open device can answer (and relay for others).
void linger(Device &dev) {
  auto end = Clock::now() + std::chrono::microseconds(dev.cluster().transport.rto_max_us);
  Completion c[8];
  while (Clock::now() < end) {
    dev.wait(10);
    dev.poll(c, 8);
  }
}

int run_sender(Device &dev, const Options &o) {
  std::vector<NodeId> to;
  for (const NodeAddress &n : dev.cluster().nodes)
    if (n.id != dev.node_id()) to.push_back(n.id);
  // Messages stay in memory until their completion: the device reads them while it sends.
  std::vector<std::string> text(o.count);
  CloseAtExit closer{dev};
  unsigned posted = 0, completed = 0, ok = 0;
  const unsigned depth = DeviceOptions{}.send_queue_depth;
  auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  while (completed < o.count) {
    while (posted < o.count && posted - completed < depth) {
      text[posted] = "hello from " + std::to_string(dev.node_id()) + " #" + std::to_string(posted + 1);
      Status s = dev.post_send(to, text[posted].data(), text[posted].size(), posted);
      if (s != Status::kOk) {
        std::fprintf(stderr, "node %u: post_send: %s: %s\n", dev.node_id(), status_name(s), dev.last_send_error());
        return 1;
      }
      posted++;
    }
    Completion c[16];
    int n = dev.poll(c, 16);
    for (int i = 0; i < n; i++) {
      completed++;
      if (c[i].status == Status::kOk) {
        ok++;
        std::printf("node %u: '%s' reached all %u receivers (%s)\n", dev.node_id(), text[c[i].wr_id].c_str(),
                    c[i].receivers, id_list(to).c_str());
        continue;
      }
      std::vector<NodeId> failed;
      if (c[i].status == Status::kPartialFailure) dev.failed_receivers(c[i].message_id, &failed);
      std::printf("node %u: '%s': %s%s%s\n", dev.node_id(), text[c[i].wr_id].c_str(), status_name(c[i].status),
                  failed.empty() ? "" : ", no acknowledgement from nodes ", id_list(failed).c_str());
    }
    if (n == 0) {
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "node %u: timed out with %u of %u completions\n", dev.node_id(), completed, o.count);
        return 1;
      }
      dev.wait(100);
    }
  }
  std::printf("node %u: %u of %u messages reached every receiver\n", dev.node_id(), ok, o.count);
  return ok == o.count ? 0 : 1;
}

int run_receiver(Device &dev, const Options &o) {
  const unsigned buffers = o.count < 64 ? o.count : 64;
  std::vector<std::vector<char>> buf(buffers, std::vector<char>(kBufferBytes));
  CloseAtExit closer{dev};
  for (unsigned b = 0; b < buffers; b++) dev.post_recv(buf[b].data(), kBufferBytes, b);
  unsigned got = 0, posted = buffers;
  auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  while (got < o.count) {
    Completion c[16];
    int n = dev.poll(c, 16);
    for (int i = 0; i < n; i++) {
      if (c[i].status != Status::kOk) {
        std::fprintf(stderr, "node %u: receive: %s\n", dev.node_id(), status_name(c[i].status));
        return 1;
      }
      got++;
      const std::vector<char> &b = buf[c[i].wr_id];
      std::printf("node %u: got '%.*s' from node %u\n", dev.node_id(), (int)c[i].length, b.data(), c[i].peer);
      if (posted < o.count) { // the buffer is ours again: give it back for the next message
        dev.post_recv(buf[c[i].wr_id].data(), kBufferBytes, c[i].wr_id);
        posted++;
      }
    }
    if (n == 0) {
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "node %u: timed out with %u of %u messages\n", dev.node_id(), got, o.count);
        return 1;
      }
      dev.wait(100);
    }
  }
  linger(dev);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0); // lines appear as they happen, also in a log file
  Options o = parse(argc, argv);
  OpenResult opened = Device::open(o.uri);
  if (!opened) {
    std::fprintf(stderr, "hello_multicast: %s\n", opened.message.c_str());
    return 1;
  }
  Device &dev = *opened.device;
  if (dev.cluster().nodes.size() < 2) {
    std::fprintf(stderr, "hello_multicast: the cluster has one node: nobody to say hello to\n");
    return 1;
  }
  // The first node of the cluster file says hello; every other node listens.
  if (dev.node_id() == dev.cluster().nodes.front().id) return run_sender(dev, o);
  return run_receiver(dev, o);
}
