// The software transport: reliable multicast over any Backend, with proto/'s formats and rules
// (docs/driver.md "Transport" is the prose). One instance per device, driven by its progress thread
// only: a passive state machine that is handed posts, packets and the time, and answers with packets
// (Backend::send) and completions (CompletionSink). No thread, clock or socket of its own, so a
// simulated backend can drive it with simulated time.
//
// Roles, all in one node:
//  - sender: segments a message into packets of S payload bytes, sends each packet once per
//    first-transmission copy (tree rule: one per chunk head of the receiver set, F chunks), keeps a
//    window of packets in flight, counts receivers from the exact ranges of the ACKs that come back,
//    retransmits on NACKs only to the receivers that asked, probes lagging receivers on timeouts,
//    and completes with partial failure naming receivers silent for the failure timeout;
//  - receiver: places payloads directly into the posted buffer, suppresses duplicates with a bitmap,
//    ACKs cumulatively (every ack_interval packets and on completion), NACKs gaps after the reorder
//    timeout and a stalled tail after the retry timeout;
//  - relay: forwards each DATA packet to the chunk heads of the ids after its own (tree rule) and
//    aggregates its children's feedback with proto::AckAggregator.
#pragma once

#include "../backend.hpp"
#include "../counters.hpp"
#include "fanout/driver/device.hpp"
#include "fanout/proto/auth.hpp"
#include "fanout/proto/policy.hpp"
#include "fanout/proto/proto.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

namespace fanout::driver::transport {

struct Config {
  NodeId self = 0;
  TransportOptions opt;    // with the derived defaults filled in (cluster.cpp)
  uint32_t max_packet = 0; // bytes from the Fanout header: min(mtu - 28, backend's limit), less the
                           // 12-byte auth trailer when opt.auth is not off (device.cpp)
  BackendCaps caps;
  NodeId first_id = 0, last_id = 0xFFFF; // the cluster's ids (hostile-input policy: unknown ids)
};

// A validated send: receivers ascending, unique, known, not this node; length within the limits.
struct SendRequest {
  uint64_t wr_id = 0;
  const uint8_t *data = nullptr;
  uint32_t length = 0;
  uint32_t flags = 0;
  const NodeId *receivers = nullptr;
  uint32_t count = 0;
};

struct RecvRequest {
  uint64_t wr_id = 0;
  uint8_t *buf = nullptr;
  uint64_t capacity = 0;
};

class CompletionSink {
 public:
  virtual void complete(const Completion &c) = 0;
  // The whole list of a partial failure (the failure path: may allocate).
  virtual void keep_failed_list(uint32_t message_id, const std::vector<NodeId> &ids) = 0;

 protected:
  ~CompletionSink() = default;
};

using Aggregator = proto::AckAggregator<>;

struct Copy { // one datagram of a packet: where it goes and the set body it carries
  NodeId to;
  uint8_t encoding;
  uint16_t set_len;
  uint32_t body_offset; // into Plan::bodies
};
struct Plan {
  std::vector<Copy> copies;
  std::vector<uint8_t> bodies;
  void clear() {
    copies.clear();
    bodies.clear();
  }
};

// Which copies a packet goes out as. Owns large scratch sets (allocated once); one per thread.
class Planner {
 public:
  explicit Planner(const Config &cfg);
  // Set bytes a first-transmission copy may carry: a set never takes more than half a packet.
  uint32_t set_cap() const;
  // Copies of one packet to `ids` (ascending): tree rule (one copy per chunk head), one per id
  // (direct), or the whole set to this node's NIC. Sets longer than budget are cut into pieces
  // (proto::partition_for_packets), each sent to its first id. False if a set cannot be cut.
  bool build(const std::vector<NodeId> &ids, uint32_t budget, bool direct, Plan &out);
  // The set bytes every copy of a message with this first-transmission plan may carry: enough for
  // any retransmission subset (cut into pieces of at most this size; a range takes 4 bytes).
  static uint32_t budget(const Plan &plan, uint32_t receivers, bool direct);
  // Payload bytes per packet for a message to ids (0 if they cannot be planned).
  uint32_t payload_for(const std::vector<NodeId> &ids, bool direct);

 private:
  void add_copy(NodeId to, const proto::ReceiverSet &set, Plan &out);
  Config cfg_;
  std::unique_ptr<proto::ReceiverSet> one_;
  std::unique_ptr<proto::LargeReceiverSet> all_, chunk_;
  std::vector<proto::IdRange> pieces_;
  Plan scratch_;
};

class Transport {
 public:
  Transport(const Config &cfg, Backend &io, CompletionSink &sink, Counters &stats, uint32_t first_message_id);
  ~Transport();

  const Config &config() const { return cfg_; }

  void post_send(const SendRequest &r, uint64_t now_us);
  void post_recv(const RecvRequest &r);
  void on_packet(const uint8_t *pkt, uint32_t len, uint64_t now_us);
  void on_timers(uint64_t now_us);
  // Send new packets within the window and queued retransmissions, a bounded burst per call.
  // True if more is ready to go at once (call again before sleeping).
  bool pump(uint64_t now_us);
  // When on_timers() wants to run next (absolute microseconds; UINT64_MAX: no timer pending).
  uint64_t next_deadline() const { return next_deadline_; }
  // Complete every outstanding work request with `status`: kCancelled when the device is closing,
  // kClosed / kIoError when the backend's medium ended (the simulator said BYE or went away).
  void cancel_all(Status status = Status::kCancelled);

 private:
  enum RecvState : uint8_t { kPending = 0, kDone = 1, kFailed = 2 };

  struct SendMsg {
    uint64_t wr_id = 0;
    const uint8_t *data = nullptr;
    uint32_t length = 0;
    uint32_t flags = 0;
    uint32_t message_id = 0;
    uint32_t npackets = 0;
    uint32_t payload = 0;           // S: payload bytes of every packet but the last
    uint32_t set_budget = 0;        // set bytes any copy of this message may carry
    std::vector<NodeId> rcv;        // ascending
    std::vector<uint32_t> acked;    // cumulative sequence per receiver
    std::vector<uint64_t> heard;    // last time a receiver was heard (or owed nothing)
    std::vector<uint32_t> rep_from; // last NACK-driven repair per receiver: first packet and time
    std::vector<uint64_t> rep_at;
    std::vector<uint64_t> probed_at;
    std::vector<uint8_t> state;
    uint32_t pending = 0; // receivers neither done nor failed
    uint32_t failed = 0;
    uint32_t next_seq = 0;  // first packet not sent yet
    uint32_t min_acked = 0; // over pending receivers
    Plan plan;              // first-transmission copies
    uint64_t probe_at = 0;  // next timeout probe
    uint64_t check_at = 0;  // next failure scan
    uint32_t rto = 0;
    uint32_t probes = 0;   // unanswered timeout probes in a row
    bool direct = false;   // kSendDirect: every copy goes to one receiver
    bool finished = false; // completed; leaves active_ at the next reap()
  };

  struct RecvMsg {
    uint64_t key = 0;
    NodeId sender = 0;
    uint32_t message_id = 0;
    uint64_t wr_id = 0;
    uint8_t *buf = nullptr;
    uint64_t capacity = 0;
    uint32_t length = 0;
    uint32_t npackets = 0;
    std::vector<uint64_t> bits; // packets held
    uint32_t received = 0;
    uint32_t cum = 0;         // first packet not held
    uint32_t highest = 0;     // one past the highest packet seen
    uint32_t acked_cum = 0;   // cum of the last ACK sent
    NodeId parent = 0;        // origin of the latest DATA packet: feedback goes there
    bool via_agg = false;     // that packet was relayed by this node: feedback through its aggregator
    uint64_t last_rx = 0;     // last new packet
    uint64_t nack_at = 0;     // next receiver timer
    uint32_t nacked_upto = 0; // gaps below this were NACKed once ...
    uint64_t renack_at = 0;   // ... and are NACKed again at this time (0: none)
    uint32_t gap_mark = 0;    // gaps below this are NACKed at gap_due (0: none due)
    uint64_t gap_due = 0;
    uint32_t backoff = 0;   // NACK retry interval (x2 per unanswered retry, reset by new data)
    bool abandoned = false; // quiet for the linger time: the buffer goes back to the queue
  };

  struct DoneMsg {
    uint32_t npackets;
    uint64_t expires;
    uint64_t last_ack;
  };

  struct Repair { // a NACK-driven retransmission waiting for pump()
    uint32_t message_id;
    uint32_t from, to; // packets [from, to)
    NodeId target;
    bool taken; // merged into an earlier repair of the same packets
  };

  static uint64_t key_of(NodeId sender, uint32_t message_id) { return ((uint64_t)sender << 32) | message_id; }
  uint32_t now32() const { return (uint32_t)now_; }

  // sender
  uint32_t check_interval() const;
  uint32_t send_packet(SendMsg &m, uint32_t seq, const Plan &plan, uint8_t extra_flags);
  void send_new(SendMsg &m, bool window_full);
  void retransmit(SendMsg &m, uint32_t from, uint32_t to, const std::vector<NodeId> &targets);
  void probe(SendMsg &m, const std::vector<NodeId> &targets, bool direct);
  void sender_ack(SendMsg &m, const proto::PacketView &v, const proto::ReceiverSet &set);
  void sender_nack(SendMsg &m, const proto::PacketView &v, const proto::ReceiverSet &set);
  void update_min(SendMsg &m);
  void maybe_complete(SendMsg &m);
  void sender_timers(SendMsg &m);
  void receivers_failed(SendMsg &m);
  void reap();
  SendMsg *find_send(uint32_t message_id);

  // receiver + relay
  void on_data(const proto::PacketView &v, const uint8_t *pkt);
  bool relay(const proto::PacketView &v, const uint8_t *pkt, bool local);
  uint32_t sends_for(const proto::ReceiverSet &remaining, const proto::Chunk *chunks, uint32_t n, uint32_t budget);
  uint32_t agg_scan_interval() const;
  void deliver(const proto::PacketView &v, const uint8_t *pkt, bool via_agg, uint32_t feedback_budget);
  void ack_done(const proto::FanoutHeader &h, DoneMsg &d, bool via_agg);
  void host_feedback(RecvMsg &r, uint8_t type, uint32_t sequence, uint32_t count);
  void route_host_feedback(NodeId parent, bool via_agg);
  uint32_t nack_gaps(RecvMsg &r, uint32_t lo, uint32_t hi, uint32_t &runs, uint32_t limit);
  void nack_everything(RecvMsg &r, uint32_t limit);
  void receiver_timers(RecvMsg &r);
  void finish_recv(RecvMsg &r);
  void on_feedback(const proto::PacketView &v, const uint8_t *pkt, uint32_t len);
  void send_feedback(NodeId to, const proto::Feedback &fb);
  void send_agg_output(const proto::AggOutput &out);
  void expire_aggregator();
  void sync_agg_stats();
  // Hostile-input policy and authentication of received packets; signing of sent ones.
  bool admit_data(const proto::PacketView &v);
  bool authentic(const uint8_t *pkt, uint32_t len, const proto::PacketView &v);
  bool send_out(NodeId to, const uint8_t *head, uint32_t head_len, const uint8_t *payload, uint32_t payload_len);
  void arm_timer(uint64_t at) {
    if (at < next_deadline_) next_deadline_ = at;
  }

  Config cfg_;
  Backend &io_;
  CompletionSink &sink_;
  Counters &stats_;
  uint64_t now_ = 0;
  uint64_t next_deadline_ = UINT64_MAX;
  uint32_t next_message_id_;

  // sender state
  std::deque<SendMsg *> active_; // in post order
  std::unordered_map<uint32_t, SendMsg *> by_id_;
  std::vector<std::unique_ptr<SendMsg>> send_pool_; // free SendMsg objects (their vectors keep capacity)
  std::deque<Repair> repairs_;
  std::vector<NodeId> targets_; // scratch
  // Receivers that failed in some message and have not been heard from since (when): every
  // message waiting on one fails it after one rto without progress, not after a failure timeout
  // of its own. An ACK or NACK naming it takes it out.
  std::unordered_map<NodeId, uint64_t> failed_at_;

  // receiver state
  std::deque<RecvRequest> posted_;
  std::unordered_map<uint64_t, RecvMsg *> recv_;
  std::vector<std::unique_ptr<RecvMsg>> recv_pool_;
  std::unordered_map<uint64_t, DoneMsg> done_;
  std::deque<std::pair<uint64_t, uint64_t>> done_order_; // (expires, key)
  std::unordered_map<uint64_t, uint64_t> rejected_;      // key -> expiry: told kBufferTooSmall already
  std::unordered_map<NodeId, uint64_t> last_from_;       // sender -> last DATA packet from it

  // relay state
  std::unique_ptr<Aggregator> agg_;
  uint64_t agg_scan_at_ = 0;
  std::vector<proto::AggOutput> agg_out_;

  // scratch (large: allocated once)
  Planner planner_;
  std::unique_ptr<proto::ReceiverSet> rx_set_, set_a_, set_b_, set_c_;
  std::vector<proto::IdRange> pieces_;
  uint64_t passed_raw_ = 0; // feedback passed on unparsed (more ranges than aggregation holds)
  std::unique_ptr<proto::Feedback> fb_;
  std::unique_ptr<proto::AggOutput> out_;
  Plan scratch_plan_;
  std::vector<uint8_t> head_; // header + set of the datagram being built

  // policy (null rate_: no rate limit) and authentication (null replay_: auth off)
  proto::SetPolicy policy_ = proto::open_set_policy();
  std::unique_ptr<proto::RateLimiter<>> rate_;
  std::unique_ptr<proto::ReplayWindow<>> replay_;
  uint32_t auth_counter_ = 0;   // the last counter this node signed with
  std::vector<uint8_t> signed_; // header + set + payload + trailer of a signed datagram
};

} // namespace fanout::driver::transport
