// Device: URI and cluster file, the queues between the application and the progress thread, the
// progress thread itself (backend + transport), memory registration (device.hpp).
#include "fanout/driver/device.hpp"

#include "backend.hpp"
#include "counters.hpp"
#include "sim/sim_backend.hpp"
#include "spsc_ring.hpp"
#include "transport/transport.hpp"
#include "udp/udp_backend.hpp"
#include "xrt/xrt_backend.hpp"
#ifdef FANOUT_DRIVER_DPDK
#include "dpdk/dpdk_backend.hpp"
#endif

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

namespace fanout::driver {

static_assert(sizeof(Completion) == 48, "Completion is plain data of a fixed size");

namespace {

uint64_t now_us() {
  return (uint64_t)std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void efd_signal(int fd) {
  uint64_t one = 1;
  ssize_t r;
  do {
    r = ::write(fd, &one, sizeof one);
  } while (r < 0 && errno == EINTR);
}

void efd_clear(int fd) {
  uint64_t v;
  ssize_t r;
  do {
    r = ::read(fd, &v, sizeof v);
  } while (r < 0 && errno == EINTR);
}

// The registry MemoryRegion handles point at; it outlives the device while regions exist.
struct Registry {
  std::mutex mu;
  Backend *backend = nullptr; // null once the device closed
};

struct SendWr {
  uint64_t wr_id = 0;
  const uint8_t *data = nullptr;
  uint32_t length = 0;
  uint32_t flags = 0;
  std::vector<NodeId> receivers; // ascending; keeps its capacity in the ring slot
};

struct RecvWr {
  uint64_t wr_id = 0;
  uint8_t *buf = nullptr;
  uint64_t capacity = 0;
};

constexpr uint32_t kRxBatch = UdpBackend::kBatch;
constexpr size_t kFailedListsKept = 64;

} // namespace

struct Device::Impl final : transport::CompletionSink {
  ClusterConfig cluster;
  NodeId self = 0;
  DeviceOptions options;
  std::unique_ptr<Backend> backend;
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  Counters counters;
  transport::Config tcfg;
  std::unique_ptr<transport::Transport> transport;
  std::vector<uint8_t> known; // by node id: listed in the cluster file

  SpscRing<SendWr> sq;
  SpscRing<RecvWr> rq;
  SpscRing<Completion> cq;
  std::atomic<uint32_t> sq_outstanding{0};
  std::atomic<uint32_t> rq_outstanding{0};
  int doorbell = -1; // posts -> progress thread
  int cq_fd = -1;    // progress thread -> application
  std::atomic<bool> sleeping{false};
  std::atomic<uint64_t> posts{0};
  std::atomic<bool> cq_signaled{false};
  std::atomic<bool> stop{false};
  std::atomic<bool> closed{false};
  // The backend's medium ended (sim: BYE, or the server went away): posts fail with this status
  // and link_why; outstanding work completed with it.
  std::atomic<int> link_down{0};
  char link_why[160] = "";
  std::mutex close_mu;
  std::thread progress;
  DeviceStats backend_stats; // the backend's counters once it is closed
  const char *backend_name = "";

  char send_error[192] = "";
  char recv_error[192] = "";
  std::vector<NodeId> sorted; // post_send's scratch (send thread only)

  mutable std::mutex failed_mu;
  std::deque<std::pair<uint32_t, std::vector<NodeId>>> failed_lists;

  Impl(const DeviceOptions &o)
      : options(o), sq(o.send_queue_depth), rq(o.recv_queue_depth), cq(o.send_queue_depth + o.recv_queue_depth) {}

  ~Impl() {
    if (doorbell >= 0) ::close(doorbell);
    if (cq_fd >= 0) ::close(cq_fd);
  }

  // ---- CompletionSink (progress thread) ----
  void complete(const Completion &c) override {
    Completion *slot = cq.producer_slot();
    // Never null: each outstanding work request owns a slot (depth = send + receive depths).
    if (!slot) return;
    *slot = c;
    cq.commit();
    if (!cq_signaled.exchange(true)) efd_signal(cq_fd);
  }
  void keep_failed_list(uint32_t message_id, const std::vector<NodeId> &ids) override {
    std::lock_guard<std::mutex> lock(failed_mu);
    if (failed_lists.size() >= kFailedListsKept) failed_lists.pop_front();
    failed_lists.emplace_back(message_id, ids);
  }

  // ---- Progress thread ----
  void run() {
    if (backend->provides_clock()) {
      run_clocked();
      return;
    }
    std::vector<RxPacket> rx(kRxBatch);
    while (!stop.load(std::memory_order_acquire)) {
      bool busy = drain_posts(now_us());
      uint32_t n = backend->receive(rx.data(), kRxBatch);
      uint64_t now = now_us();
      for (uint32_t i = 0; i < n; i++) transport->on_packet(rx[i].data, rx[i].len, now);
      busy = busy || n > 0;
      transport->on_timers(now);
      if (transport->pump(now)) busy = true;
      backend->flush(); // before the next receive(): relayed copies point into its buffers
      if (!busy) sleep_until(transport->next_deadline()); // no spinning: it costs more than it saves on 2 cores
    }
    // Closing: everything still queued or in flight completes with kCancelled.
    drain_posts(now_us());
    transport->cancel_all();
    backend->flush();
  }

  // A clocked backend (sim): the transport runs on the backend's time, in lock step (backend.hpp).
  // Per pass: posts, the packets of the round (each at its own time), timers at the round's end,
  // everything the transport has to send, then end_round() answers the round. Sleeps only on the
  // backend's descriptor and the doorbell: time moves when the simulator says so.
  void run_clocked() {
    std::vector<RxPacket> rx(kRxBatch);
    Status down = Status::kOk;
    while (!stop.load(std::memory_order_acquire)) {
      if (down != Status::kOk) { // the medium ended: fail what comes, wait for posts or close
        drain_posts(backend->now_us());
        transport->cancel_all(down);
        backend->flush();
        sleep_until(UINT64_MAX, false);
        continue;
      }
      bool busy = drain_posts(backend->now_us());
      uint32_t n = backend->receive(rx.data(), kRxBatch);
      for (uint32_t i = 0; i < n; i++) transport->on_packet(rx[i].data, rx[i].len, rx[i].at_us);
      uint64_t now = backend->now_us();
      transport->on_timers(now);
      while (transport->pump(now)) backend->flush();
      backend->flush();
      if (backend->end_round()) busy = true;
      busy = busy || n > 0;
      std::string why;
      Status s = backend->link_status(&why);
      if (s != Status::kOk) {
        std::snprintf(link_why, sizeof link_why, "%s", why.c_str());
        link_down.store((int)s, std::memory_order_release);
        down = s;
        continue;
      }
      if (!busy) sleep_until(UINT64_MAX);
    }
    drain_posts(backend->now_us());
    transport->cancel_all();
    backend->flush();
  }

  // Posts fail once the medium ended (set_error'd by the caller).
  Status link_failed(char *error) const {
    int s = link_down.load(std::memory_order_acquire);
    if (s == 0) return Status::kOk;
    std::snprintf(error, 192, "the %s backend's session ended: %s", backend_name, link_why);
    return (Status)s;
  }

  bool drain_posts(uint64_t now) {
    bool any = false;
    while (SendWr *w = sq.consumer_slot()) {
      transport::SendRequest r;
      r.wr_id = w->wr_id;
      r.data = w->data;
      r.length = w->length;
      r.flags = w->flags;
      r.receivers = w->receivers.data();
      r.count = (uint32_t)w->receivers.size();
      transport->post_send(r, now); // copies the receivers
      sq.release();
      any = true;
    }
    while (RecvWr *w = rq.consumer_slot()) {
      transport->post_recv(transport::RecvRequest{w->wr_id, w->buf, w->capacity});
      rq.release();
      any = true;
    }
    return any;
  }

  void sleep_until(uint64_t deadline, bool with_rx = true) {
    int rxfd = with_rx ? backend->rx_fd() : -1;
    if (with_rx && rxfd < 0) return; // a polled backend never sleeps
    // Dekker with the posting threads (ring_doorbell): either they see `sleeping` and ring, or
    // this load of `posts` sees their post and the rings hold it.
    sleeping.store(true);
    (void)posts.load();
    if (!sq.empty() || !rq.empty() || stop.load()) {
      sleeping.store(false);
      return;
    }
    pollfd fds[2] = {{doorbell, POLLIN, 0}, {rxfd, POLLIN, 0}}; // rxfd -1: ignored by ppoll
    uint64_t now = backend->provides_clock() ? 0 : now_us();
    timespec ts{};
    timespec *tp = nullptr;
    if (deadline != UINT64_MAX) {
      uint64_t wait = deadline > now ? deadline - now : 0;
      ts.tv_sec = (time_t)(wait / 1000000);
      ts.tv_nsec = (long)(wait % 1000000) * 1000;
      tp = &ts;
    }
    ::ppoll(fds, 2, tp, nullptr);
    sleeping.store(false);
    if (fds[0].revents & POLLIN) efd_clear(doorbell);
  }

  void ring_doorbell() {
    posts.fetch_add(1); // seq_cst: ordered before the load of `sleeping` (no fence: TSan-friendly)
    if (sleeping.load()) efd_signal(doorbell);
  }

  void close() {
    std::lock_guard<std::mutex> lock(close_mu);
    if (closed.exchange(true)) return;
    stop.store(true, std::memory_order_release);
    if (doorbell >= 0) efd_signal(doorbell);
    if (progress.joinable()) progress.join();
    {
      std::lock_guard<std::mutex> rl(registry->mu);
      registry->backend = nullptr;
      backend->add_stats(backend_stats); // its counters outlive it
    }
    backend.reset(); // closes the socket
  }
};

namespace {

void set_error(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void set_error(char *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, 192, fmt, ap);
  va_end(ap);
}

OpenResult fail(Status s, std::string message) {
  OpenResult r;
  r.status = s;
  r.message = std::move(message);
  return r;
}

} // namespace

// ---- open / close ----------------------------------------------------------------------------------

Device::Device(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Device::~Device() {
  close();
}

void Device::close() {
  impl_->close();
}

namespace {

// The transport's options on simulated time (sim backend): fanout-sim runs about 2 ms of wall time
// per simulated microsecond, so the udp defaults (milliseconds) would stall a run for minutes on
// one lost packet. A host behind a Fanout NIC hears from it within microseconds.
TransportOptions sim_transport_options(const sim::serve::Hello &h) {
  TransportOptions t;
  t.fanout = std::min<uint32_t>(16, std::max<uint32_t>(2, h.fanout));
  t.mtu = h.max_frame_bytes - proto::kEthHeaderBytes;
  t.reorder_us = 20;
  t.nack_retry_us = 200;
  t.rto_us = 200;
  t.rto_max_us = 2000;
  t.failure_timeout_us = 100000;
  t.ack_interval = std::max<uint32_t>(1, t.window / 4);
  t.silent_timeout_us = t.failure_timeout_us / 4;
  t.linger_us = 2 * t.failure_timeout_us;
  return t;
}

// Transport options a udp or dpdk URI may set over the cluster file's (no cross-field rules).
bool is_uri_transport_option(const std::string &k) {
  return k == "max_receivers" || k == "rate_mbps" || k == "rate_burst_bytes" || k == "auth_key" || k == "auth";
}

} // namespace

OpenResult Device::open(const std::string &uri, const DeviceOptions &options) {
  size_t colon = uri.find(':');
  if (colon == std::string::npos || colon == 0)
    return fail(Status::kBadUri, "'" + uri + "': a device URI is <backend>:<argument>, e.g. udp:cluster.yaml?node=0");
  std::string scheme = uri.substr(0, colon);
  std::string rest = uri.substr(colon + 1);
#ifdef FANOUT_DRIVER_DPDK
  const char *kBuilt = "udp, sim, dpdk, xrt";
#else
  const char *kBuilt = "udp, sim, xrt";
#endif
#ifndef FANOUT_DRIVER_DPDK
  if (scheme == "dpdk") {
    return fail(Status::kNotAvailable, "'" + uri +
                                           "': the dpdk backend is not built into this libfanout (DPDK was not found "
                                           "at build time: Debian package libdpdk-dev) (available: " +
                                           kBuilt + ")");
  }
#endif
  if (scheme != "udp" && scheme != "sim" && scheme != "dpdk" && scheme != "xrt")
    return fail(Status::kBadUri, "'" + uri + "': unknown backend '" + scheme + "' (" + kBuilt + ")");
  const bool sim = scheme == "sim", dpdk = scheme == "dpdk", xrt = scheme == "xrt";
  if (rest.rfind("//", 0) == 0) rest = rest.substr(2);
  std::string path = rest, query;
  size_t q = rest.find('?');
  if (q != std::string::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
  }
  if (path.empty())
    return fail(Status::kBadUri,
                sim ? "'" + uri + "': sim:<dir>?node=<id> needs the directory fanout-sim --serve serves"
                    : "'" + uri + "': " + scheme + ":<cluster file> needs a file name");
  bool have_node = false;
  NodeId node = 0;
  unsigned wait_s = 30;
  uint16_t dpdk_port = 0;
  XrtBackend::Options xrt_options;
  std::vector<std::pair<std::string, std::string>> transport_params; // e.g. max_receivers=, auth_key=
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    std::string kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    pos = amp == std::string::npos ? query.size() : amp + 1;
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    bool number = !v.empty() && v.size() <= 5 && v.find_first_not_of("0123456789") == std::string::npos;
    if (k == "node") {
      if (!number || std::stoul(v) > 65535)
        return fail(Status::kBadUri, "'" + uri + "': node must be a node id 0..65535 (got '" + v + "')");
      node = (NodeId)std::stoul(v);
      have_node = true;
    } else if (k == "wait_s" && sim) {
      if (!number || std::stoul(v) > 3600)
        return fail(Status::kBadUri, "'" + uri + "': wait_s must be seconds 0..3600 (got '" + v + "')");
      wait_s = (unsigned)std::stoul(v);
    } else if (k == "port" && dpdk) {
      if (!number || std::stoul(v) > 65535)
        return fail(Status::kBadUri, "'" + uri + "': port must be a DPDK port id 0..65535 (got '" + v + "')");
      dpdk_port = (uint16_t)std::stoul(v);
    } else if (xrt && (k == "device" || k == "xclbin")) {
      if (v.empty()) return fail(Status::kBadUri, "'" + uri + "': " + k + " needs a value");
      (k == "device" ? xrt_options.device : xrt_options.xclbin) = v;
    } else if (xrt && k == "program") {
      if (v != "0" && v != "1")
        return fail(Status::kBadUri, "'" + uri +
                                         "': program must be 1 (write the NIC's registers, the default) or 0 "
                                         "(the NIC is programmed already) (got '" +
                                         v + "')");
      xrt_options.program = v == "1";
    } else if (!sim && is_uri_transport_option(k)) {
      transport_params.emplace_back(k, v); // applied over the cluster file's transport options below
    } else {
      return fail(Status::kBadUri,
                  "'" + uri + "': unknown parameter '" + k + "' (known: " +
                      (sim    ? "node, wait_s"
                       : dpdk ? "node, port, max_receivers, rate_mbps, rate_burst_bytes, auth_key, auth"
                       : xrt  ? "node, device, xclbin, program, max_receivers, rate_mbps, rate_burst_bytes, auth_key, "
                                "auth"
                              : "node, max_receivers, rate_mbps, rate_burst_bytes, auth_key, auth") +
                      ")");
    }
  }
  if (sim && !have_node)
    return fail(Status::kBadUri, "'" + uri + "': sim:<dir> needs ?node=<id> (the node whose host this is)");
  if (options.send_queue_depth == 0 || options.recv_queue_depth == 0 || options.send_queue_depth > (1u << 20) ||
      options.recv_queue_depth > (1u << 20))
    return fail(Status::kInvalidArgument, "queue depths must be 1..1048576");

  auto impl = std::make_unique<Impl>(options);
  std::string error;
  ClusterConfig &c = impl->cluster;
  if (sim) {
    // The cluster comes from the server's HELLO: nodes 0..nodes-1, this node, the fan-out.
    std::unique_ptr<SimBackend> sb;
    Status s = SimBackend::open(path, node, wait_s, &sb, &error);
    if (s != Status::kOk) return fail(s, "'" + uri + "': " + error);
    const sim::serve::Hello &h = sb->hello();
    c.origin = sb->socket_path();
    c.has_self = true;
    c.self = node;
    c.nodes.resize(h.nodes);
    for (uint32_t i = 0; i < h.nodes; i++) {
      c.nodes[i].id = (NodeId)i;
      c.nodes[i].address = sim::serve::socket_path(path, i);
    }
    c.transport = sim_transport_options(h);
    impl->self = node;
    impl->backend = std::move(sb);
  } else {
    if (!load_cluster_file(path, &impl->cluster, &error)) return fail(Status::kBadConfig, error);
    for (const auto &kv : transport_params) {
      bool known = false;
      if (!set_transport_option(c.transport, kv.first, kv.second, &known, &error))
        return fail(Status::kBadUri, "'" + uri + "': " + error);
    }
    if (!finish_auth_options(c.transport, &error)) return fail(Status::kBadUri, "'" + uri + "': " + error);
    if (!have_node && !c.has_self)
      return fail(Status::kBadConfig,
                  path + ": self: missing: name this node in the file (self: <id>) or in the URI (?node=<id>)");
    impl->self = have_node ? node : c.self;
    if (!c.find(impl->self))
      return fail(Status::kBadConfig, path + ": nodes: node " + std::to_string(impl->self) + " (this node" +
                                          (have_node ? ", from ?node=" : ", from self") + ") is not listed");
#ifdef FANOUT_DRIVER_DPDK
    if (dpdk) {
      std::unique_ptr<DpdkBackend> db;
      DpdkBackend::Options o;
      o.port = dpdk_port;
      Status s = DpdkBackend::open(c, impl->self, o, &db, &error);
      if (s != Status::kOk) return fail(s, "'" + uri + "': " + error);
      impl->backend = std::move(db);
    }
#endif
    if (xrt) {
      std::unique_ptr<XrtBackend> xb;
      Status s = XrtBackend::open(c, impl->self, xrt_options, &xb, &error);
      if (s != Status::kOk) return fail(s, "'" + uri + "': " + error);
      impl->backend = std::move(xb);
    }
    if (!impl->backend) {
      std::unique_ptr<UdpBackend> udp;
      Status s = UdpBackend::open(c, impl->self, &udp, &error);
      if (s != Status::kOk) return fail(s, error);
      impl->backend = std::move(udp);
    }
  }
  impl->backend_name = impl->backend->name();
  impl->registry->backend = impl->backend.get();
  impl->known.assign(65536, 0);
  for (const NodeAddress &n : c.nodes) impl->known[n.id] = 1;

  impl->tcfg.self = impl->self;
  impl->tcfg.opt = c.transport;
  impl->tcfg.max_packet = impl->backend->max_packet_bytes();
  // Signed packets carry the 12-byte auth trailer: room for it in every packet this node builds.
  if (c.transport.auth != TransportOptions::kAuthOff) impl->tcfg.max_packet -= proto::kAuthTrailerBytes;
  impl->tcfg.caps = impl->backend->caps();
  // dpdk: the engine signs and checks on the wire, xrt: the NIC's parser and signer; the host-side
  // transport does neither.
  if (dpdk || xrt) impl->tcfg.opt.auth = TransportOptions::kAuthOff;
  // Hostile-input policy: with max_receivers or rate_mbps set, every rule with the cluster's ids
  // (nodes are ascending); with neither, the open policy (nothing checked, as the NIC's reset values).
  if ((c.transport.max_receivers != 0 || c.transport.rate_mbps != 0) && !c.nodes.empty()) {
    impl->tcfg.first_id = c.nodes.front().id;
    impl->tcfg.last_id = c.nodes.back().id;
  }
  // Message ids start at random, so a restarted node does not reuse ids its peers still remember.
  std::random_device rd;
  uint32_t first_id = rd();
  impl->transport = std::make_unique<transport::Transport>(impl->tcfg, *impl->backend, *impl, impl->counters, first_id);
  impl->doorbell = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  impl->cq_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->doorbell < 0 || impl->cq_fd < 0) return fail(Status::kIoError, std::string("eventfd: ") + strerror(errno));
  impl->sorted.reserve(64);
  Impl *raw = impl.get();
  impl->progress = std::thread([raw] { raw->run(); });
  OpenResult r;
  r.device.reset(new Device(std::move(impl)));
  return r;
}

// ---- Posts (application threads) ------------------------------------------------------------------

Status Device::post_send(Receivers receivers, const void *buf, uint64_t length, uint64_t wr_id, uint32_t flags) {
  Impl &d = *impl_;
  if (d.closed.load(std::memory_order_acquire)) {
    set_error(d.send_error, "the device is closed");
    return Status::kClosed;
  }
  if (Status ls = d.link_failed(d.send_error); ls != Status::kOk) return ls;
  if (length > d.cluster.transport.max_message_bytes) {
    set_error(d.send_error, "message of %llu bytes: longer than transport.max_message_bytes = %llu",
              (unsigned long long)length, (unsigned long long)d.cluster.transport.max_message_bytes);
    return Status::kMessageTooLarge;
  }
  if (!buf && length > 0) {
    set_error(d.send_error, "null buffer with a length of %llu bytes", (unsigned long long)length);
    return Status::kInvalidArgument;
  }
  if (flags & ~kSendFlagsMask) {
    set_error(d.send_error, "unknown flags 0x%x", flags & ~kSendFlagsMask);
    return Status::kInvalidArgument;
  }
  if (receivers.size() == 0) {
    set_error(d.send_error, "an empty receiver set");
    return Status::kInvalidArgument;
  }
  if (receivers.size() > 65535) {
    set_error(d.send_error, "%zu receivers: more than there are node ids besides this one", receivers.size());
    return Status::kInvalidArgument;
  }
  d.sorted.assign(receivers.begin(), receivers.end());
  std::sort(d.sorted.begin(), d.sorted.end());
  for (size_t i = 0; i < d.sorted.size(); i++) {
    NodeId id = d.sorted[i];
    if (!d.known[id]) {
      set_error(d.send_error, "receiver %u is not in the cluster file", (unsigned)id);
      return Status::kUnknownNode;
    }
    if (id == d.self) {
      set_error(d.send_error, "receiver %u is this node: a sender does not receive its own message", (unsigned)id);
      return Status::kInvalidArgument;
    }
    if (i > 0 && d.sorted[i - 1] == id) {
      set_error(d.send_error, "receiver %u is named twice", (unsigned)id);
      return Status::kInvalidArgument;
    }
  }
  if (d.sq_outstanding.load(std::memory_order_acquire) >= d.options.send_queue_depth) {
    set_error(d.send_error, "the send queue holds %u outstanding sends (its depth): poll completions first",
              d.options.send_queue_depth);
    return Status::kQueueFull;
  }
  SendWr *w = d.sq.producer_slot(); // never null: outstanding < depth <= ring size
  w->wr_id = wr_id;
  w->data = static_cast<const uint8_t *>(buf);
  w->length = (uint32_t)length;
  w->flags = flags;
  w->receivers.swap(d.sorted); // the slot's old vector becomes the next scratch
  d.sq_outstanding.fetch_add(1, std::memory_order_acq_rel);
  d.sq.commit();
  d.ring_doorbell();
  return Status::kOk;
}

Status Device::post_send(Receivers receivers, const MemoryRegion &region, uint64_t offset, uint64_t length,
                         uint64_t wr_id, uint32_t flags) {
  if (region.state_.get() != impl_->registry.get()) {
    set_error(impl_->send_error, "the region is not registered with this device");
    return Status::kBadRegion;
  }
  if (offset > region.length_ || length > region.length_ - offset) {
    set_error(impl_->send_error, "bytes [%llu, %llu) are outside the region of %llu bytes", (unsigned long long)offset,
              (unsigned long long)(offset + length), (unsigned long long)region.length_);
    return Status::kBadRegion;
  }
  return post_send(receivers, region.addr_ + offset, length, wr_id, flags);
}

Status Device::post_recv(void *buf, uint64_t capacity, uint64_t wr_id) {
  Impl &d = *impl_;
  if (d.closed.load(std::memory_order_acquire)) {
    set_error(d.recv_error, "the device is closed");
    return Status::kClosed;
  }
  if (Status ls = d.link_failed(d.recv_error); ls != Status::kOk) return ls;
  if (!buf && capacity > 0) {
    set_error(d.recv_error, "null buffer with a capacity of %llu bytes", (unsigned long long)capacity);
    return Status::kInvalidArgument;
  }
  if (d.rq_outstanding.load(std::memory_order_acquire) >= d.options.recv_queue_depth) {
    set_error(d.recv_error, "the receive queue holds %u outstanding buffers (its depth): poll completions first",
              d.options.recv_queue_depth);
    return Status::kQueueFull;
  }
  RecvWr *w = d.rq.producer_slot();
  w->wr_id = wr_id;
  w->buf = static_cast<uint8_t *>(buf);
  w->capacity = capacity;
  d.rq_outstanding.fetch_add(1, std::memory_order_acq_rel);
  d.rq.commit();
  d.ring_doorbell();
  return Status::kOk;
}

Status Device::post_recv(const MemoryRegion &region, uint64_t offset, uint64_t capacity, uint64_t wr_id) {
  if (region.state_.get() != impl_->registry.get()) {
    set_error(impl_->recv_error, "the region is not registered with this device");
    return Status::kBadRegion;
  }
  if (offset > region.length_ || capacity > region.length_ - offset) {
    set_error(impl_->recv_error, "bytes [%llu, %llu) are outside the region of %llu bytes", (unsigned long long)offset,
              (unsigned long long)(offset + capacity), (unsigned long long)region.length_);
    return Status::kBadRegion;
  }
  return post_recv(region.addr_ + offset, capacity, wr_id);
}

// ---- Completions -----------------------------------------------------------------------------------

int Device::poll(Completion *out, int max) {
  Impl &d = *impl_;
  int n = 0;
  while (n < max) {
    Completion *c = d.cq.consumer_slot();
    if (!c) break;
    out[n] = *c;
    d.cq.release();
    (out[n].opcode == Opcode::kSend ? d.sq_outstanding : d.rq_outstanding).fetch_sub(1, std::memory_order_acq_rel);
    n++;
  }
  // Empty now: clear the eventfd, then look again (a completion pushed meanwhile re-signals).
  // exchange, not store: reading the progress thread's exchange(true) orders its push before our
  // second look at the ring.
  if (d.cq.empty() && d.cq_signaled.load() && d.cq_signaled.exchange(false)) {
    efd_clear(d.cq_fd);
    if (!d.cq.empty() && !d.cq_signaled.exchange(true)) efd_signal(d.cq_fd);
  }
  return n;
}

Status Device::wait(int timeout_ms) {
  Impl &d = *impl_;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    if (!d.cq.empty()) return Status::kOk;
    int left = -1;
    if (timeout_ms >= 0) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (ms.count() < 0) return Status::kTimeout;
      left = (int)ms.count() + 1;
    }
    pollfd p{d.cq_fd, POLLIN, 0};
    int r = ::poll(&p, 1, left);
    if (r == 0 && timeout_ms >= 0 && std::chrono::steady_clock::now() >= deadline)
      return d.cq.empty() ? Status::kTimeout : Status::kOk;
    if (r > 0 && d.cq.empty()) efd_clear(d.cq_fd); // a stale signal: clear it and wait on
  }
}

int Device::completion_fd() const {
  return impl_->cq_fd;
}

const char *Device::last_send_error() const {
  return impl_->send_error;
}

const char *Device::last_recv_error() const {
  return impl_->recv_error;
}

// ---- Memory ----------------------------------------------------------------------------------------

Status Device::register_memory(void *addr, uint64_t length, MemoryRegion *out) {
  if (!out || (!addr && length > 0)) return Status::kInvalidArgument;
  std::shared_ptr<Registry> reg = impl_->registry;
  std::lock_guard<std::mutex> lock(reg->mu);
  if (!reg->backend) return Status::kClosed;
  uint64_t handle = 0;
  Status s = reg->backend->register_memory(addr, length, &handle);
  if (s != Status::kOk) return s;
  MemoryRegion r;
  r.state_ = std::static_pointer_cast<void>(reg);
  r.addr_ = static_cast<uint8_t *>(addr);
  r.length_ = length;
  r.handle_ = handle;
  *out = std::move(r);
  return Status::kOk;
}

MemoryRegion::MemoryRegion(MemoryRegion &&other) noexcept
    : state_(std::move(other.state_)), addr_(other.addr_), length_(other.length_), handle_(other.handle_) {
  other.addr_ = nullptr;
  other.length_ = 0;
}

MemoryRegion &MemoryRegion::operator=(MemoryRegion &&other) noexcept {
  if (this != &other) {
    MemoryRegion old(std::move(*this)); // deregistered at the end of this scope
    state_ = std::move(other.state_);
    addr_ = other.addr_;
    length_ = other.length_;
    handle_ = other.handle_;
    other.addr_ = nullptr;
    other.length_ = 0;
  }
  return *this;
}

MemoryRegion::~MemoryRegion() {
  if (!state_) return;
  Registry *reg = static_cast<Registry *>(state_.get());
  std::lock_guard<std::mutex> lock(reg->mu);
  if (reg->backend) reg->backend->deregister_memory(handle_);
}

// ---- Information -----------------------------------------------------------------------------------

NodeId Device::node_id() const {
  return impl_->self;
}

const ClusterConfig &Device::cluster() const {
  return impl_->cluster;
}

const char *Device::backend_name() const {
  return impl_->backend_name;
}

uint32_t Device::packet_payload(Receivers receivers) const {
  std::vector<NodeId> ids(receivers.begin(), receivers.end());
  std::sort(ids.begin(), ids.end());
  for (size_t i = 0; i < ids.size(); i++)
    if (!impl_->known[ids[i]] || ids[i] == impl_->self || (i > 0 && ids[i] == ids[i - 1])) return 0;
  transport::Planner planner(impl_->tcfg); // its own scratch: the progress thread's is busy
  return planner.payload_for(ids, false);
}

DeviceStats Device::stats() const {
  DeviceStats s;
  impl_->counters.add_to(s);
  std::lock_guard<std::mutex> lock(impl_->registry->mu);
  if (impl_->registry->backend) {
    impl_->registry->backend->add_stats(s);
  } else {
    const DeviceStats &b = impl_->backend_stats;
    s.datagrams_sent += b.datagrams_sent;
    s.datagrams_received += b.datagrams_received;
    s.send_errors += b.send_errors;
    s.socket_drops += b.socket_drops;
    s.unroutable += b.unroutable;
    s.malformed += b.malformed;
    s.not_for_us += b.not_for_us;
    for (int i = 0; i < kMalformedReasons; i++) s.malformed_by_reason[i] += b.malformed_by_reason[i];
  }
  return s;
}

Status Device::failed_receivers(uint32_t message_id, std::vector<NodeId> *out) const {
  std::lock_guard<std::mutex> lock(impl_->failed_mu);
  for (const auto &kv : impl_->failed_lists) {
    if (kv.first == message_id) {
      *out = kv.second;
      return Status::kOk;
    }
  }
  return Status::kInvalidArgument;
}

} // namespace fanout::driver
