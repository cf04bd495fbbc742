// libfanout: reliable multicast through queues, the way ibverbs and libfabric users expect.
//
//   auto opened = fanout::driver::Device::open("udp:cluster.yaml?node=0");
//   if (!opened) { std::cerr << opened.message << "\n"; return 1; }
//   Device &dev = *opened.device;
//   dev.post_send({1, 2, 3}, buf, len, /*wr_id=*/7);          // one message to nodes 1, 2 and 3
//   Completion c;
//   while (dev.poll(&c, 1) == 0) dev.wait(-1);               // one completion when all three have it
//
// A post queues a work request and returns at once; the device's progress thread moves the data;
// every work request completes exactly once, in the completion queue (poll, wait, or epoll on
// completion_fd()). A send completes when every receiver acknowledged the whole message (kOk) or
// when the failure timeout named the receivers that did not (kPartialFailure). A receive completes
// when a whole message has been placed in its buffer; messages take posted buffers in the order
// their first packets arrive.
//
// Thread-safety:
//  - open(), close(), the destructor, register_memory(), MemoryRegion's destructor, stats(),
//    failed_receivers() and the accessors may be called from any thread (close/destroy: after the
//    queue threads below stopped using the device).
//  - post_send() from one thread at a time (the send queue's producer), post_recv() from one
//    thread at a time, poll() / wait() from one thread at a time (the completion queue's consumer).
//    The three may be different threads. last_send_error() / last_recv_error() belong to the
//    thread that posts sends / receives.
// Memory: a buffer passed to post_send / post_recv must stay valid and unchanged (send) or
// untouched (receive) until its work request completes.
// Hot path: posts and polls allocate nothing in steady state (receiver lists reuse their slots'
// capacity), take no lock, throw nothing; a post makes at most one system call (an eventfd write
// waking the progress thread when it sleeps).
#pragma once

#include "fanout/driver/cluster.hpp"
#include "fanout/driver/stats.hpp"
#include "fanout/driver/status.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace fanout::driver {

// A receiver set as the application names it: node ids in any order, each at most once. A view:
// the ids must live until the post returns (a braced list in the call does).
class Receivers {
 public:
  Receivers(std::initializer_list<NodeId> ids) : list_(ids), ids_(nullptr), n_(ids.size()) {}
  Receivers(const std::vector<NodeId> &ids) : ids_(ids.data()), n_(ids.size()) {}
  Receivers(const NodeId *ids, size_t n) : ids_(ids), n_(n) {}
  const NodeId *data() const { return ids_ ? ids_ : list_.begin(); }
  size_t size() const { return n_; }
  const NodeId *begin() const { return data(); }
  const NodeId *end() const { return data() + n_; }

 private:
  std::initializer_list<NodeId> list_; // kept whole: the call's braced list outlives the post
  const NodeId *ids_;
  size_t n_;
};

// post_send flags.
inline constexpr uint32_t kSendDirect = 1u; // one copy per receiver from the sender: no tree relaying
inline constexpr uint32_t kSendFlagsMask = kSendDirect;

enum class Opcode : uint8_t { kSend = 1, kRecv = 2 };

// Receivers named inline in a partial-failure completion; failed_receivers() gives all of them.
inline constexpr uint32_t kInlineFailed = 8;

// Plain data (48 bytes): nothing to free, safe to copy.
struct Completion {
  uint64_t wr_id = 0;
  Status status = Status::kOk;
  Opcode opcode = Opcode::kSend;
  NodeId peer = 0;                   // receive: the message's sender; send: this node
  uint32_t message_id = 0;           // the transport's id of the message (unique per sender)
  uint64_t length = 0;               // bytes sent / received; receive kBufferTooSmall: the message's length
  uint32_t receivers = 0;            // send: receivers in its set
  uint32_t failed_count = 0;         // send kPartialFailure: receivers that did not acknowledge
  NodeId failed[kInlineFailed] = {}; // the first min(failed_count, kInlineFailed) of them, ascending
};

struct DeviceOptions {
  uint32_t send_queue_depth = 256; // outstanding sends (posted, completion not yet polled)
  uint32_t recv_queue_depth = 256; // outstanding receive buffers
  // The completion queue holds one entry per outstanding work request, so it never overflows:
  // its depth is send_queue_depth + recv_queue_depth.
};

class Device;

// A registered buffer (RAII: deregistered when destroyed; move-only). Backends that can avoid
// copies use the registration (pinning, DMA mapping); the udp backend copies either way, so
// registered and plain buffers behave identically there. Safe to destroy after its device.
class MemoryRegion {
 public:
  MemoryRegion() = default;
  MemoryRegion(MemoryRegion &&other) noexcept;
  MemoryRegion &operator=(MemoryRegion &&other) noexcept;
  MemoryRegion(const MemoryRegion &) = delete;
  MemoryRegion &operator=(const MemoryRegion &) = delete;
  ~MemoryRegion();

  bool valid() const { return state_ != nullptr; }
  uint8_t *addr() const { return addr_; }
  uint64_t length() const { return length_; }

 private:
  friend class Device;
  std::shared_ptr<void> state_; // the device's registry (outlives the device if this region does)
  uint8_t *addr_ = nullptr;
  uint64_t length_ = 0;
  uint64_t handle_ = 0;
};

struct OpenResult {
  Status status = Status::kOk;
  std::string message; // empty on success
  std::unique_ptr<Device> device;
  explicit operator bool() const { return status == Status::kOk; }
};

class Device {
 public:
  // URIs: udp:<cluster file>[?node=<id>] (also udp://<file>). Reserved, reported kNotAvailable
  // until their backends are built: sim:..., dpdk:..., xrt:....
  static OpenResult open(const std::string &uri, const DeviceOptions &options = {});

  ~Device(); // close()
  Device(const Device &) = delete;
  Device &operator=(const Device &) = delete;

  // Stop the progress thread. Work requests still outstanding complete with kCancelled (poll them
  // afterwards); later posts return kClosed. Idempotent.
  void close();

  // ---- Queues ----------------------------------------------------------------------------------
  // One message of `length` bytes from buf to every receiver. kOk: queued, one completion follows.
  Status post_send(Receivers receivers, const void *buf, uint64_t length, uint64_t wr_id, uint32_t flags = 0);
  Status post_send(Receivers receivers, const MemoryRegion &region, uint64_t offset, uint64_t length, uint64_t wr_id,
                   uint32_t flags = 0);
  // A buffer for one incoming message of at most `capacity` bytes.
  Status post_recv(void *buf, uint64_t capacity, uint64_t wr_id);
  Status post_recv(const MemoryRegion &region, uint64_t offset, uint64_t capacity, uint64_t wr_id);

  // Up to max completions into out; returns how many (0: none pending). Never blocks.
  int poll(Completion *out, int max);
  // Block until a completion is pending (kOk) or timeout_ms passed (kTimeout); -1: no timeout.
  Status wait(int timeout_ms);
  // Readable while completions are pending (an eventfd; level-triggered use: poll() clears it
  // when it empties the queue). For epoll/poll in the completion queue's thread.
  int completion_fd() const;

  // Why the last post_send / post_recv that did not return kOk failed (one line).
  const char *last_send_error() const;
  const char *last_recv_error() const;

  // ---- Memory ------------------------------------------------------------------------------------
  Status register_memory(void *addr, uint64_t length, MemoryRegion *out);

  // ---- Information -------------------------------------------------------------------------------
  NodeId node_id() const;
  const ClusterConfig &cluster() const;
  const char *backend_name() const;
  // Payload bytes per packet for a message to these receivers (the last packet carries the rest):
  // mtu - 28 - 22 - the set bytes the message's copies may carry. 0 if the set is not valid here.
  uint32_t packet_payload(Receivers receivers) const;
  DeviceStats stats() const;
  // All receivers of a partial failure, by the completion's message_id (the completion names the
  // first kInlineFailed). The device keeps its last 64 lists; kInvalidArgument for another id.
  Status failed_receivers(uint32_t message_id, std::vector<NodeId> *out) const;

  struct Impl;

 private:
  explicit Device(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace fanout::driver
