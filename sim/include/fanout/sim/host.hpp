// The host of a simulated Fanout node: posts its messages to its NIC as DATA frames, reassembles
// and checks what the NIC delivers, acknowledges whole messages, and records every outcome in a
// Ledger shared by all hosts of the cluster.
//
// Sending (host/fanout/src/demo.cpp's rules): a message of B bytes is cut into packets of S bytes
// (Ledger's payload_bytes, lowered so the frame fits kMaxFrameBytes), the last carrying the rest.
// Each packet is one DATA frame handed to the NIC (HostPort::host_send, retried on host_tx_ready):
// make_header(kTypeData, sender, origin = sender, message id, sequence, length = B), kFlagLast on the
// last, receiver set = the message's receivers, addresses cluster_net_headers(self, self, ...). The
// NIC replicates and arms its ACK aggregator. A sender keeps at most `window` messages outstanding
// (posted, not settled), waits for a message's release_ns, and (MoE) starts step s + 1 only when
// every one of its step-s messages has settled.
//
// Receiving: DATA is placed by proto::data_offset, each payload byte compared with message_byte()
// (a function of sender, message id and offset, so any receiver can check it); duplicates and
// deliveries to nodes outside the set are recorded. When every packet is held the host sends ONE
// ACK to its own NIC (type ACK, origin = self, sequence = packets, length 1, set {self} as ranges),
// which aggregates it up the tree.
//
// At the sender: the ACK frames of a message are counted; the message completes when the union
// of the ACKed ranges (with sequence >= packets) covers its receivers. NACKs record the ids they
// name (kFlagSilent: receivers that never answered; kFlagGone: receivers a relay's peer monitor
// found down, named in the completion). Without retransmission (the default) a message settles
// when every receiver is ACKed, NACKed or gone: it then frees its window slot.
// With HostConfig::retransmit (the driver's transport rules, docs/protocol.md section 9): a NACK
// makes the sender resend packets [sequence, sequence + length) (length 0: to the end) with
// kFlagRetx, to the NACK's ids that are receivers not yet ACKed nor gone; a silent report does
// the same from its sequence for the receivers in its hull. Receivers NACK a gap at once (a
// packet arriving after missing ones: NACK [first missing, count]), each gap once, so that what a
// loss costs is resent to the receivers that lost it. The NIC replicates the retransmission
// by the tree rule on that smaller set (repairing around down peers as for any DATA). A receiver
// settles when ACKed or gone, or after max_retransmits rounds without success (given up).
// A message that has not settled HostConfig::message_timeout after posting settles as failed.
// PROBEs (link heartbeats) and non-Fanout frames are counted and ignored.
//
// Transports (HostConfig::transport): the above is kFanout, on a Fanout NIC. The baselines the
// report compares with (docs/report.md) run on plain NICs (sim/plain_nic.hpp):
//  * kUnicast: every packet is sent once per receiver, as a DATA frame addressed to that
//    receiver with the set {receiver}; each receiver ACKs the sender directly (k ACKs).
//  * kBier: every packet is sent once per BIER set (SI of bier_bsl ids) the receivers touch, as
//    a BIER frame (proto/bier.hpp) whose BitString holds that SI's receivers, followed by the
//    Fanout header without a set and the payload; BIER switches replicate; each receiver ACKs
//    the sender directly. A receiver checks that the BitString holds its own bit.
// The messages, packets, payload bytes and checks are the same in every transport.
//
// C++17, SystemC. Namespace fanout::sim.
#ifndef FANOUT_SIM_HOST_HPP
#define FANOUT_SIM_HOST_HPP

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "fanout/proto/packet.hpp"
#include "fanout/proto/wire.hpp"
#include "fanout/sim/frame.hpp"
#include "fanout/sim/host_port.hpp"
#include "fanout/sim/workload.hpp"

namespace fanout {
namespace sim {

// Byte `offset` of message (sender, message_id): deterministic content every receiver can check.
uint8_t message_byte(proto::NodeId sender, uint32_t message_id, uint64_t offset);

// One intended receiver of a message.
struct ReceiverOutcome {
  proto::NodeId node = 0;
  bool delivered = false; // every packet held, every byte correct
  sc_core::sc_time delivered_at{};
  uint32_t duplicate_packets = 0;
  bool acked = false;       // covered by an ACK with sequence >= packets at the sender
  bool nacked = false;      // named by a NACK at the sender
  bool silent = false;      // named by a NACK with kFlagSilent
  bool timed_out = false;   // neither ACKed nor NACKed within the host's message timeout
  bool gone = false;        // named by a NACK with kFlagGone: a relay's peer monitor found it down
  bool given_up = false;    // retransmit: still missing data after max_retransmits rounds
  uint32_t retransmits = 0; // retransmit: RETX rounds of data that included this receiver
  uint32_t probes = 0;      // retransmit: probe rounds (the last packet with ACK_REQ)
};

// Everything known about one message of the workload.
struct MessageRecord {
  const Message *message = nullptr;
  uint32_t wire_id = 0;      // Fanout message id (Message::id, 32 bits)
  uint32_t payload_size = 0; // S: payload of every packet but the last
  uint32_t packets = 0;
  bool posted = false;
  sc_core::sc_time posted_at{};
  std::vector<ReceiverOutcome> receivers; // in Message::receivers order
  uint64_t duplicate_messages = 0;        // a receiver held every packet twice (or more)
  uint64_t wrong_receiver_packets = 0;    // DATA packets delivered to nodes outside the set
  std::vector<proto::NodeId> wrong_receivers;
  uint64_t data_errors = 0;     // packets whose bytes or fields did not match the message
  uint32_t ack_frames = 0;      // ACK frames reaching the sender's host
  uint32_t nack_frames = 0;     // NACK frames reaching the sender's host
  uint64_t ack_foreign_ids = 0; // ids ACKed that are not receivers of the message
  uint64_t retx_frames = 0;     // retransmit: RETX DATA frames sent
  uint64_t retx_payload_bytes = 0;
  bool completed = false;
  sc_core::sc_time completed_at{};
  bool settled = false;
  sc_core::sc_time settled_at{};
};

// Frames a host could not attribute or did not expect.
struct HostStats {
  uint64_t data_frames = 0, ack_frames = 0, nack_frames = 0;
  uint64_t probes = 0;                                // link heartbeats: ignored
  uint64_t non_fanout = 0;                            // frames for the host stack (kNotFanout)
  uint64_t parse_errors = 0;                          // Fanout frames proto::parse_frame rejects
  uint64_t unknown_message = 0;                       // DATA/ACK/NACK of a message not in the workload
  uint64_t feedback_not_mine = 0;                     // ACK/NACK for a message this host did not send
  uint64_t build_errors = 0;                          // frames this host could not build (never expected)
  uint64_t bier_not_addressed = 0;                    // BIER DATA whose BitString lacks this node's bit
  uint64_t data_frames_sent = 0, data_bytes_sent = 0; // host -> NIC DATA (every copy)
  uint64_t data_payload_bytes_sent = 0;               // their payload bytes (header bytes = the rest)
  uint64_t acks_sent = 0, ack_bytes_sent = 0;         // host -> NIC ACKs
};

// The messages of a run and their outcomes, shared by every host.
class Ledger {
 public:
  // payload_bytes: S of DATA packets (jumbo frames: 8,192), a multiple of 64, lowered per message
  // (to whole beats) when its receiver set would push a frame past kMaxFrameBytes.
  explicit Ledger(std::vector<Message> messages, uint32_t payload_bytes = 8192);
  Ledger(const Ledger &) = delete;
  Ledger &operator=(const Ledger &) = delete;

  const std::vector<Message> &messages() const { return messages_; }
  size_t size() const { return records_.size(); }
  MessageRecord &record(size_t i) { return records_[i]; }
  const MessageRecord &record(size_t i) const { return records_[i]; }
  // Index of message (sender, wire id), or -1.
  long find(proto::NodeId sender, uint32_t wire_id) const;
  // Position of `node` in the message's receivers, or -1.
  static long receiver_index(const MessageRecord &r, proto::NodeId node);

  // Called by hosts: a message settled (completed or every receiver NACKed/ACKed).
  void mark_settled(size_t i);
  uint64_t settled() const { return settled_; }
  // Runs once when every message of the workload has settled (the cluster stops there).
  void on_all_settled(std::function<void()> f) { all_settled_ = std::move(f); }

 private:
  std::vector<Message> messages_;
  std::vector<MessageRecord> records_;
  std::unordered_map<uint64_t, size_t> index_;
  uint64_t settled_ = 0;
  std::function<void()> all_settled_;
};

enum class Transport { kFanout, kUnicast, kBier };

struct HostConfig {
  Transport transport = Transport::kFanout;
  uint32_t bier_bsl = 256; // kBier: BitString length (one copy per set of this many ids)
  uint32_t window = 8;     // messages outstanding per sender
  // A message not settled this long after posting settles as failed, its silent receivers marked
  // timed_out: a NIC drops copies for a port its link monitor marks down without arming them, so
  // their receivers may never be ACKed nor NACKed (the sender's transport would retransmit; this
  // host does not). Zero: wait forever. Longer than the aggregators' silent timeout, so that
  // their NACKs come first.
  sc_core::sc_time message_timeout = sc_core::sc_time(2100, sc_core::SC_US);
  bool retransmit = false;       // act on NACKs as the driver's transport does (see above)
  uint32_t max_retransmits = 32; // per receiver and message (each NACK naming it is a round)
};

class Host : public sc_core::sc_module, public FrameSink {
 public:
  Host(sc_core::sc_module_name name, HostPort &port, Ledger &ledger, const HostConfig &config = HostConfig());
  ~Host() override;

  proto::NodeId node() const { return node_; }
  const HostStats &stats() const { return stats_; }
  // FrameSink: what the NIC delivers (process context).
  void receive(Frame f) override;

 private:
  struct Reassembly; // one message being received here
  struct Sending {   // one message being handed to the NIC
    size_t index;
    uint32_t next_packet;
    uint32_t next_copy; // kUnicast: receiver index; kBier: set index
  };

  void post_loop();                    // SC_THREAD: decides when each message may be posted
  void tx_loop();                      // SC_THREAD: ACKs first, then DATA packets, to the NIC
  void timeout_loop();                 // SC_THREAD: settles messages past their timeout
  uint32_t copies(size_t index) const; // frames per packet of a message (per transport)
  bool build_data(size_t index, uint32_t seq, uint32_t copy, Frame &out, uint32_t &payload_len);
  bool build_bier_data(size_t index, uint32_t seq, uint32_t copy, Frame &out, uint32_t &payload_len);
  struct Retx;
  bool build_retx(const Retx &rt, Frame &out, uint32_t &payload_len);
  void on_bier(const uint8_t *frame, uint32_t len);
  void on_data(const proto::FanoutHeader &h, const uint8_t *payload, uint32_t payload_len);
  void on_feedback(const uint8_t *frame, uint32_t len, bool ack);
  void schedule_retx(size_t index, uint32_t first, uint32_t end, const proto::ReceiverSet &ids, bool probe);
  void send_ack(size_t index);
  void send_feedback(size_t index, uint8_t type, uint32_t sequence, uint32_t length);
  void settle_if_done(size_t index);

  HostPort &port_;
  Ledger &ledger_;
  HostConfig cfg_;
  proto::NodeId node_;
  std::vector<size_t> mine_; // ledger indices of this host's messages, in posting order
  uint32_t outstanding_ = 0;
  std::unordered_map<uint32_t, uint32_t> unsettled_per_step_;
  sc_core::sc_event settled_event_;
  std::deque<size_t> timeouts_; // posted messages, in posting order (so in deadline order)
  sc_core::sc_event posted_event_;
  std::deque<Sending> sending_;
  struct Retx { // one retransmission round: packets [next, end) to `ids`
    size_t index;
    uint32_t next, end;
    std::vector<uint16_t> ids;
    bool probe; // the last packet with ACK_REQ (a silent report or a missing tail)
  };
  std::deque<Retx> retx_;
  std::deque<Frame> acks_;
  sc_core::sc_event tx_work_;
  std::unordered_map<size_t, std::unique_ptr<Reassembly>> rx_;
  HostStats stats_;
};

} // namespace sim
} // namespace fanout

#endif
