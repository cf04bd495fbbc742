// moe_dispatch: the dispatch step of a Mixture-of-Experts layer. E experts are spread over the
// cluster's nodes in contiguous blocks; every node routes its T tokens (7,168 bytes each, the
// hidden size of DeepSeek-V3 in FP8) to their top-k experts. A token goes once to the set of nodes
// hosting its experts (deduplicated per node, this node left out): one post_send per token, one
// completion when every node of the set has it -- where unicast dispatch needs one send per node.
//
// Token contents and routing are pseudo-random but deterministic in (seed, sender, token), so
// every node knows what it must receive and checks every byte. Exit status 0 only if every send
// was acknowledged and every expected token arrived exactly once, intact. Every node runs the
// same command (README.md):
//
//   moe_dispatch <device uri> [--experts E] [--tokens T] [--topk K] [--seed S] [--timeout SECONDS]
#include "fanout/driver.hpp"

#include <algorithm>
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

constexpr uint32_t kHidden = 7168; // token bytes
constexpr uint32_t kMaxTopK = 16;
constexpr uint32_t kTokenMagic = 0x454f4d46; // "FMOE"
constexpr uint32_t kDoneMagic = 0x454e4f44;  // "DONE": this node's dispatch finished

// Every message starts with this header (the routing metadata a dispatch carries with a token).
struct Header {
  uint32_t magic;
  uint32_t token;
  uint16_t sender;
  uint16_t topk;
  uint16_t experts[kMaxTopK];
  uint32_t reserved;
};
static_assert(sizeof(Header) == 48, "fixed wire layout");
constexpr uint32_t kMessageBytes = sizeof(Header) + kHidden;

struct Options {
  std::string uri;
  uint32_t experts = 16;
  uint32_t tokens = 128;
  uint32_t topk = 4;
  uint64_t seed = 1;
  uint32_t timeout_s = 30;
};

[[noreturn]] void usage(const std::string &error) {
  if (!error.empty()) std::fprintf(stderr, "moe_dispatch: %s\n", error.c_str());
  std::fprintf(stderr, "usage: moe_dispatch <device uri> [--experts E] [--tokens T] [--topk K] [--seed S] "
                       "[--timeout SECONDS]\n");
  std::exit(2);
}

uint64_t parse_number(const std::string &option, const char *text, uint64_t lo, uint64_t hi) {
  char *end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (!*text || *end || *text == '-' || v < lo || v > hi)
    usage("option " + option + ": '" + text + "' is not a number in " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

Options parse(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') usage("the device URI comes first");
  Options o;
  o.uri = argv[1];
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage("option " + a + " needs a value");
    const char *v = argv[++i];
    if (a == "--experts")
      o.experts = (uint32_t)parse_number(a, v, 1, 65536);
    else if (a == "--tokens")
      o.tokens = (uint32_t)parse_number(a, v, 0, 1u << 20);
    else if (a == "--topk")
      o.topk = (uint32_t)parse_number(a, v, 1, kMaxTopK);
    else if (a == "--seed")
      o.seed = parse_number(a, v, 0, UINT64_MAX);
    else if (a == "--timeout")
      o.timeout_s = (uint32_t)parse_number(a, v, 1, 86400);
    else
      usage("unknown option '" + a + "'");
  }
  if (o.topk > o.experts) usage("option --topk: " + std::to_string(o.topk) + " is more than --experts");
  return o;
}

uint64_t splitmix(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t stream_seed(uint64_t seed, uint32_t sender, uint32_t token, uint64_t purpose) {
  uint64_t s = seed ^ (purpose * 0xD1B54A32D192ED03ull);
  splitmix(s);
  s ^= ((uint64_t)sender << 32) | token;
  return s;
}

// The token's activations: a pure function of (seed, sender, token).
void fill_token(uint8_t *out, uint64_t seed, uint32_t sender, uint32_t token) {
  uint64_t s = stream_seed(seed, sender, token, 1);
  for (uint32_t i = 0; i < kHidden; i += 8) {
    uint64_t w = splitmix(s);
    std::memcpy(out + i, &w, 8);
  }
}

// Everything every node agrees on: where the experts live and where each token goes.
class Routing {
 public:
  Routing(const Options &o, const ClusterConfig &cluster) : o_(o) {
    for (const NodeAddress &n : cluster.nodes) nodes_.push_back(n.id);
  }
  size_t node_count() const { return nodes_.size(); }
  NodeId node_of_expert(uint32_t e) const { return nodes_[(uint64_t)e * nodes_.size() / o_.experts]; }

  // The token's top-k experts: the k highest gate scores (pseudo-random), best first.
  std::vector<uint16_t> experts(uint32_t sender, uint32_t token) const {
    uint64_t s = stream_seed(o_.seed, sender, token, 2);
    std::vector<std::pair<uint64_t, uint32_t>> score(o_.experts);
    for (uint32_t e = 0; e < o_.experts; e++) score[e] = {splitmix(s), e};
    std::partial_sort(score.begin(), score.begin() + o_.topk, score.end(),
                      [](const auto &a, const auto &b) { return a.first > b.first; });
    std::vector<uint16_t> top;
    for (uint32_t i = 0; i < o_.topk; i++) top.push_back((uint16_t)score[i].second);
    return top;
  }
  // The nodes that host those experts, each once, the sender left out (its experts run locally).
  std::vector<NodeId> destinations(uint32_t sender, uint32_t token) const {
    std::vector<NodeId> to;
    for (uint16_t e : experts(sender, token)) {
      NodeId n = node_of_expert(e);
      if (n != sender && std::find(to.begin(), to.end(), n) == to.end()) to.push_back(n);
    }
    std::sort(to.begin(), to.end());
    return to;
  }

 private:
  Options o_;
  std::vector<NodeId> nodes_;
};

// Closes the device when the scope that owns its posted buffers returns, before they are
// freed: outstanding work requests then complete as cancelled instead of touching freed memory.
struct CloseAtExit {
  Device &dev;
  ~CloseAtExit() { dev.close(); }
};

std::string expert_range(const Routing &r, uint32_t experts, NodeId node) {
  int64_t first = -1, last = -1;
  for (uint32_t e = 0; e < experts; e++)
    if (r.node_of_expert(e) == node) {
      if (first < 0) first = e;
      last = e;
    }
  if (first < 0) return "no experts";
  return first == last ? "expert " + std::to_string(first)
                       : "experts " + std::to_string(first) + "-" + std::to_string(last);
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o = parse(argc, argv);
  OpenResult opened = Device::open(o.uri);
  if (!opened) {
    std::fprintf(stderr, "moe_dispatch: %s\n", opened.message.c_str());
    return 1;
  }
  Device &dev = *opened.device;
  const NodeId self = dev.node_id();
  const Routing routing(o, dev.cluster());
  const DeviceOptions defaults; // the queue depths the device was opened with
  std::vector<NodeId> peers;
  std::vector<size_t> peer_index(65536, SIZE_MAX);
  for (const NodeAddress &n : dev.cluster().nodes)
    if (n.id != self) {
      peer_index[n.id] = peers.size();
      peers.push_back(n.id);
    }

  // What this node sends: one message per token with at least one remote destination.
  struct Outgoing {
    uint32_t token;
    std::vector<NodeId> to;
  };
  std::vector<Outgoing> out;
  uint32_t local_only = 0;
  uint64_t node_copies = 0; // the sends unicast dispatch would need
  for (uint32_t t = 0; t < o.tokens; t++) {
    std::vector<NodeId> to = routing.destinations(self, t);
    if (to.empty()) {
      local_only++;
      continue;
    }
    node_copies += to.size();
    out.push_back(Outgoing{t, std::move(to)});
  }
  // Message buffers stay untouched until their completion.
  std::vector<uint8_t> tx((size_t)out.size() * kMessageBytes);
  for (size_t i = 0; i < out.size(); i++) {
    uint8_t *m = tx.data() + i * kMessageBytes;
    Header h{};
    h.magic = kTokenMagic;
    h.token = out[i].token;
    h.sender = self;
    h.topk = (uint16_t)o.topk;
    std::vector<uint16_t> ex = routing.experts(self, out[i].token);
    std::copy(ex.begin(), ex.end(), h.experts);
    std::memcpy(m, &h, sizeof h);
    fill_token(m + sizeof h, o.seed, self, out[i].token);
  }

  // What this node must receive: (sender, token) for every token routed here from elsewhere.
  std::vector<std::vector<uint8_t>> expected(peers.size(), std::vector<uint8_t>(o.tokens, 0));
  std::vector<std::vector<uint8_t>> arrived(peers.size(), std::vector<uint8_t>(o.tokens, 0));
  uint64_t expected_count = 0;
  for (size_t p = 0; p < peers.size(); p++)
    for (uint32_t t = 0; t < o.tokens; t++) {
      std::vector<NodeId> to = routing.destinations(peers[p], t);
      if (std::binary_search(to.begin(), to.end(), self)) {
        expected[p][t] = 1;
        expected_count++;
      }
    }

  // Receive buffers, all posted up front and handed back after each message.
  const uint32_t nbuf = defaults.recv_queue_depth;
  std::vector<uint8_t> rx((size_t)nbuf * kMessageBytes);
  for (uint32_t b = 0; b < nbuf; b++) dev.post_recv(rx.data() + (size_t)b * kMessageBytes, kMessageBytes, b);

  const Header done{kDoneMagic, 0, self, 0, {}, 0};
  size_t next = 0, sends_done = 0, sends_failed = 0;
  uint64_t intact = 0, corrupt = 0, duplicate = 0, unexpected = 0;
  size_t dones_received = 0;
  bool done_posted = false, done_completed = false;
  std::vector<uint8_t> want(kHidden);
  auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  auto started = Clock::now();
  CloseAtExit closer{dev};
  double dispatch_ms = 0;
  int status = 0;

  // Finished when our tokens are acknowledged, the expected tokens are in, and every node has said
  // it is done (so no node leaves while another may still need it as a relay or receiver).
  while (!(done_completed && dones_received == peers.size())) {
    while (next < out.size() && next - sends_done < defaults.send_queue_depth) {
      Status s = dev.post_send(out[next].to, tx.data() + next * kMessageBytes, kMessageBytes, next);
      if (s != Status::kOk) {
        std::fprintf(stderr, "node %u: post_send token %u: %s: %s\n", self, out[next].token, status_name(s),
                     dev.last_send_error());
        return 1;
      }
      next++;
    }
    if (!done_posted && sends_done == out.size() && intact + corrupt >= expected_count) {
      dispatch_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
      if (peers.empty() || dev.post_send(peers, &done, sizeof done, UINT64_MAX) != Status::kOk) done_completed = true;
      done_posted = true;
    }
    Completion c[32];
    int n = dev.poll(c, 32);
    for (int i = 0; i < n; i++) {
      if (c[i].opcode == Opcode::kSend) {
        if (c[i].wr_id == UINT64_MAX) {
          done_completed = true;
          continue;
        }
        sends_done++;
        if (c[i].status != Status::kOk) {
          sends_failed++;
          std::fprintf(stderr, "node %u: token %u: %s (%u of %u receivers did not acknowledge)\n", self,
                       out[c[i].wr_id].token, status_name(c[i].status), c[i].failed_count, c[i].receivers);
        }
        continue;
      }
      uint8_t *m = rx.data() + c[i].wr_id * kMessageBytes;
      Header h{};
      if (c[i].status != Status::kOk || c[i].length < sizeof h) {
        std::fprintf(stderr, "node %u: receive from node %u: %s, %llu bytes\n", self, c[i].peer,
                     status_name(c[i].status), (unsigned long long)c[i].length);
        unexpected++;
      } else {
        std::memcpy(&h, m, sizeof h);
        size_t p = peer_index[c[i].peer];
        if (h.magic == kDoneMagic && h.sender == c[i].peer && p != SIZE_MAX) {
          dones_received++;
        } else if (h.magic != kTokenMagic || h.sender != c[i].peer || p == SIZE_MAX || h.token >= o.tokens ||
                   !expected[p][h.token]) {
          std::fprintf(stderr, "node %u: unexpected message from node %u (token %u)\n", self, c[i].peer, h.token);
          unexpected++;
        } else if (arrived[p][h.token]++) {
          std::fprintf(stderr, "node %u: token %u from node %u arrived twice\n", self, h.token, c[i].peer);
          duplicate++;
        } else {
          fill_token(want.data(), o.seed, c[i].peer, h.token);
          std::vector<uint16_t> ex = routing.experts(c[i].peer, h.token);
          bool ok = c[i].length == kMessageBytes && h.topk == o.topk && std::equal(ex.begin(), ex.end(), h.experts) &&
                    std::memcmp(m + sizeof h, want.data(), kHidden) == 0;
          if (!ok) std::fprintf(stderr, "node %u: token %u from node %u is corrupt\n", self, h.token, c[i].peer);
          (ok ? intact : corrupt)++;
        }
      }
      dev.post_recv(m, kMessageBytes, c[i].wr_id); // the buffer goes back for the next message
    }
    if (n == 0) {
      if (Clock::now() > deadline) {
        std::fprintf(stderr,
                     "node %u: timed out: %zu of %zu tokens acknowledged, %llu of %llu expected tokens in, "
                     "%zu of %zu nodes done\n",
                     self, sends_done, out.size(), (unsigned long long)(intact + corrupt),
                     (unsigned long long)expected_count, dones_received, peers.size());
        status = 1;
        break;
      }
      dev.wait(50);
    }
  }

  uint64_t missing = expected_count - std::min<uint64_t>(expected_count, intact + corrupt);
  DeviceStats st = dev.stats();
  std::printf("node %u: %s; %u tokens: %zu posts for %llu node copies (unicast dispatch: %llu sends), %u stayed "
              "local; %zu acknowledged by every node, %zu failed; dispatch %.1f ms\n",
              self, expert_range(routing, o.experts, self).c_str(), o.tokens, out.size(),
              (unsigned long long)node_copies, (unsigned long long)node_copies, local_only, sends_done - sends_failed,
              sends_failed, dispatch_ms);
  std::printf("node %u: received %llu of %llu expected tokens: %llu intact, %llu corrupt, %llu duplicate, "
              "%llu unexpected, %llu missing; %llu datagrams sent\n",
              self, (unsigned long long)(intact + corrupt), (unsigned long long)expected_count,
              (unsigned long long)intact, (unsigned long long)corrupt, (unsigned long long)duplicate,
              (unsigned long long)unexpected, (unsigned long long)missing, (unsigned long long)st.datagrams_sent);
  bool ok = status == 0 && sends_failed == 0 && sends_done == out.size() && intact == expected_count && corrupt == 0 &&
            duplicate == 0 && unexpected == 0;
  std::printf("node %u: %s\n", self, ok ? "OK" : "FAILED");
  // Answer late probes for our last ACKs before leaving (see hello_multicast.cpp).
  auto end = Clock::now() + std::chrono::microseconds(dev.cluster().transport.rto_max_us);
  while (Clock::now() < end) {
    Completion c[8];
    dev.wait(10);
    dev.poll(c, 8);
  }
  return ok ? 0 : 1;
}
