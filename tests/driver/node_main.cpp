// fanout_driver_node: one Fanout node in its own process, for the multi-process tests. It opens
// the device, prints "ready", waits for "go" on stdin, sends its messages and receives the
// expected ones, prints one line per completion, "done", then waits for "quit" (so its ACKs are
// not lost by leaving early) and exits.
//
//   fanout_driver_node --uri udp:c.yaml?node=1 --send-to 0,2 --messages 5 --size-max 200000
//                      --expect-recv 10 [--size N] [--die-after-packets N] [--timeout-s 20]
// Message j of node i has size_of(i, j) bytes (--size: all of them N) filled by fill_message(i, j).
//
// Output lines:
//   send <wr_id> <status> <message_id> <failed ids, comma-separated or ->
//   recv <peer> <message_id> <length> <checksum>
#include "driver_test_util.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>

using namespace fanout::driver;
using namespace fanout::driver::test;

namespace {

// Message j of node i: its size (1..size_max, spread) and bytes (fill_message).
uint64_t size_of(uint32_t node, uint32_t j, uint64_t size_max, uint64_t fixed) {
  return fixed ? fixed : (j * 7919ull * 13 + node * 131ull) % size_max + 1;
}

std::vector<NodeId> parse_ids(const std::string &text) {
  std::vector<NodeId> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) ids.push_back((NodeId)std::stoul(item));
  return ids;
}

} // namespace

int main(int argc, char **argv) {
  std::string uri;
  std::vector<NodeId> send_to;
  uint32_t messages = 0;
  uint64_t size_max = 1000, expect_recv = 0, die_after = 0, fixed = 0;
  int timeout_s = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--uri")
      uri = v;
    else if (a == "--send-to")
      send_to = parse_ids(v);
    else if (a == "--messages")
      messages = (uint32_t)std::stoul(v);
    else if (a == "--size-max")
      size_max = std::stoull(v);
    else if (a == "--expect-recv")
      expect_recv = std::stoull(v);
    else if (a == "--size")
      fixed = std::stoull(v);
    else if (a == "--die-after-packets")
      die_after = std::stoull(v);
    else if (a == "--timeout-s")
      timeout_s = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (fixed > size_max) size_max = fixed; // receive buffers hold any message
  OpenResult opened = Device::open(uri);
  if (!opened) {
    std::printf("error %s %s\n", status_name(opened.status), opened.message.c_str());
    return 1;
  }
  Device &dev = *opened.device;
  NodeId self = dev.node_id();
  const uint32_t kBuffers = 16;
  std::vector<std::unique_ptr<uint8_t[]>> bufs;
  for (uint32_t i = 0; i < kBuffers; i++) {
    bufs.emplace_back(new uint8_t[size_max]);
    dev.post_recv(bufs.back().get(), size_max, i);
  }
  std::vector<std::vector<uint8_t>> payloads;
  for (uint32_t j = 0; j < messages; j++) payloads.push_back(message(size_of(self, j, size_max, fixed), self, j));
  std::printf("ready\n");
  std::fflush(stdout);
  std::string line;
  if (!std::getline(std::cin, line) || line != "go") return 3;

  for (uint32_t j = 0; j < messages; j++) {
    Status s = dev.post_send(send_to, payloads[j].data(), payloads[j].size(), j);
    if (s != Status::kOk) {
      std::printf("error post_send %s %s\n", status_name(s), dev.last_send_error());
      return 1;
    }
  }
  uint64_t sends = 0, recvs = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  Completion c[16];
  while (sends < messages || recvs < expect_recv) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::printf("timeout sends %llu recvs %llu\n", (unsigned long long)sends, (unsigned long long)recvs);
      std::fflush(stdout);
      return 4;
    }
    if (die_after && dev.stats().data_packets_received >= die_after) {
      std::fflush(stdout);
      ::raise(SIGKILL); // die as a crashed process does: no close, no goodbye
    }
    dev.wait(5);
    int n = dev.poll(c, 16);
    for (int i = 0; i < n; i++) {
      if (c[i].opcode == Opcode::kSend) {
        std::string failed;
        std::vector<NodeId> all;
        if (c[i].status == Status::kPartialFailure && dev.failed_receivers(c[i].message_id, &all) == Status::kOk)
          for (NodeId id : all) failed += (failed.empty() ? "" : ",") + std::to_string(id);
        std::printf("send %llu %s %u %s\n", (unsigned long long)c[i].wr_id, status_name(c[i].status), c[i].message_id,
                    failed.empty() ? "-" : failed.c_str());
        sends++;
      } else {
        if (c[i].status == Status::kOk) {
          std::printf("recv %u %u %llu %llu\n", c[i].peer, c[i].message_id, (unsigned long long)c[i].length,
                      (unsigned long long)checksum(bufs[c[i].wr_id].get(), c[i].length));
          recvs++;
        } else {
          std::printf("recv_error %s\n", status_name(c[i].status));
        }
        dev.post_recv(bufs[c[i].wr_id].get(), size_max, c[i].wr_id);
      }
    }
  }
  DeviceStats st = dev.stats();
  std::printf("stats %s\n", stats_line(st).c_str());
  std::printf("done\n");
  std::fflush(stdout);
  std::getline(std::cin, line); // "quit": every node is done, nobody needs our ACKs any more
  return 0;
}
