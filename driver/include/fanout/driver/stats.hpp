// A device's counters (Device::stats): what was measured, one list for the struct, the names and
// the docs. Counters only grow while the device is open.
#pragma once

#include <cstdint>

namespace fanout::driver {

// X(name, description)
#define FANOUT_DRIVER_STATS(X)                                                                                         \
  /* sender */                                                                                                         \
  X(messages_posted, "send work requests the transport started")                                                       \
  X(messages_succeeded, "sends completed with every receiver acknowledging")                                           \
  X(messages_partial, "sends completed with partial failure")                                                          \
  X(receivers_failed, "receivers named in partial failures")                                                           \
  X(data_packets_sent, "packets of messages sent the first time (each as one copy per chunk head)")                    \
  X(data_copies_sent, "datagrams of first transmissions")                                                              \
  X(payload_bytes_sent, "payload bytes of first-transmission datagrams")                                               \
  X(retx_packets_sent, "packets retransmitted after a NACK")                                                           \
  X(retx_copies_sent, "datagrams of retransmissions after a NACK")                                                     \
  X(probes_sent, "probe datagrams: last sent packet with ACK_REQ to lagging receivers (timeouts, silent reports)")     \
  X(acks_received, "ACKs that reached this node as the message's sender")                                              \
  X(nacks_received, "NACKs that reached this node as the message's sender")                                            \
  X(silent_reports_received, "NACKs with SILENT (a relay's child did not answer) at the sender")                       \
  X(gone_reports_received, "NACKs with GONE (a relay's peer monitor found receivers down) at the sender")              \
  X(feedback_unknown_message, "feedback for a message this sender does not know (finished or never sent)")             \
  X(receivers_failed_elsewhere, "receivers failed at once: they had failed in another message and stayed silent")      \
  X(replans, "first-transmission plans rebuilt without failed receivers")                                              \
  /* receiver */                                                                                                       \
  X(data_packets_received, "DATA packets naming this node (delivered or duplicate)")                                   \
  X(retx_packets_received, "of which carried RETX (retransmissions and probes)")                                       \
  X(probes_received, "of which were probes (RETX with ACK_REQ: the sender asks where this node stands)")               \
  X(duplicate_packets, "DATA packets already held (dropped, exactly-once delivery)")                                   \
  X(retx_duplicates, "of which retransmissions after a NACK (RETX without ACK_REQ): sent to a receiver that had them") \
  X(duplicates_of_completed, "DATA packets of messages already completed (re-acknowledged)")                           \
  X(messages_received, "messages delivered into a receive buffer")                                                     \
  X(rnr_drops, "DATA packets of a new message dropped: no receive buffer posted")                                      \
  X(buffer_too_small, "receive buffers completed with kBufferTooSmall")                                                \
  X(inconsistent_packets, "DATA packets whose length or packet count disagree with their message")                     \
  X(acks_sent, "ACKs this node created (own receipt, aggregates, passed-through)")                                     \
  X(nacks_sent, "NACKs this node created or forwarded")                                                                \
  /* relay (tree mode) */                                                                                              \
  X(copies_forwarded, "DATA copies this node relayed to its chunk heads")                                              \
  X(hops_exhausted, "DATA packets with receivers left but hops-left 0 (not forwarded)")                                \
  X(agg_acks_merged, "children's ACKs merged by this node's aggregator")                                               \
  X(agg_acks_emitted, "aggregated ACKs sent upstream")                                                                 \
  X(agg_acks_passed, "ACKs passed through unchanged (unarmed message or unknown child)")                               \
  X(agg_nacks_forwarded, "NACKs forwarded upstream")                                                                   \
  X(agg_nacks_suppressed, "NACKs suppressed as repeats")                                                               \
  X(agg_silent_reported, "children reported silent upstream")                                                          \
  X(agg_gone_reported, "children reported gone upstream (peer down)")                                                  \
  X(agg_arm_overflow, "messages not armed: aggregator table full (their ACKs pass through)")                           \
  /* I/O */                                                                                                            \
  X(datagrams_sent, "datagrams handed to the backend and accepted")                                                    \
  X(datagrams_received, "datagrams the backend received")                                                              \
  X(send_errors, "datagrams the backend failed to send")                                                               \
  X(zero_copy_frames, "frames sent with their payload left in registered memory, not copied (dpdk)")                   \
  X(socket_drops, "datagrams the kernel dropped before this node read them (receive buffer full; udp: SO_RXQ_OVFL)")   \
  X(unroutable, "packets for a node id without an address (dropped)")                                                  \
  X(malformed, "datagrams dropped as malformed (by reason in malformed_by_reason)")                                    \
  X(not_for_us, "valid PROBE packets or feedback for messages of other senders (dropped)")                             \
  /* hostile-input policy (proto/policy.hpp): DATA refused before delivery or relaying, by code */                     \
  X(policy_too_many_receivers, "DATA packets refused: more receivers than transport.max_receivers")                    \
  X(policy_unknown_id, "DATA packets refused: a receiver id outside the cluster's id range")                           \
  X(policy_loop, "DATA packets refused: the set names the packet's sender or origin")                                  \
  X(policy_rate_limited, "DATA packets refused: the sender's rate limit (transport.rate_mbps) exceeded")               \
  /* authentication (proto/auth.hpp): every received packet, by proto::AuthCode, when auth is not off */               \
  X(auth_ok, "packets whose tag and counter verified")                                                                 \
  X(auth_unsigned, "packets without a trailer (dropped when auth: require)")                                           \
  X(auth_bad_tag, "packets dropped: the tag does not verify (forged, corrupted, another key)")                         \
  X(auth_replayed, "packets dropped: counter already seen from their origin")                                          \
  X(auth_stale, "packets dropped: counter 0 or 64 or more below the origin's highest")                                 \
  X(auth_unknown_origin, "packets dropped: origin outside the replay window")

// Reasons are proto::ParseError codes (proto::error_name gives their names).
inline constexpr int kMalformedReasons = 32;

struct DeviceStats {
#define FANOUT_DRIVER_STATS_FIELD(name, doc) uint64_t name = 0;
  FANOUT_DRIVER_STATS(FANOUT_DRIVER_STATS_FIELD)
#undef FANOUT_DRIVER_STATS_FIELD
  uint64_t malformed_by_reason[kMalformedReasons] = {};
};

} // namespace fanout::driver
