// libfanout status codes: every call on the hot path returns one (no exceptions cross the API);
// Device::open adds a message. docs/driver.md lists when each is returned.
#pragma once

#include <cstdint>

namespace fanout::driver {

enum class Status : uint8_t {
  kOk = 0,
  // Completions of sends.
  kPartialFailure, // some receivers did not acknowledge within the failure timeout: Completion::failed
  // Local errors: returned by a post (nothing was queued) or carried by a completion.
  kInvalidArgument, // null buffer with a length, empty or duplicated receiver set, this node as receiver, bad flags
  kUnknownNode,     // a receiver id that the cluster file does not list
  kMessageTooLarge, // longer than transport.max_message_bytes (at most 2^32 - 1, the protocol's limit)
  kQueueFull,       // the queue holds its depth of outstanding (posted, not yet polled) work requests
  kBufferTooSmall,  // receive completion: the arriving message is longer than the posted buffer
  kBadRegion,       // a region of another device, a moved-from region, or offset + length outside it
  kClosed,          // the device is closed (posts fail; outstanding work completes with kCancelled)
  kCancelled,       // completion of a work request still outstanding when the device closed
  kTimeout,         // wait(): no completion within the timeout
  kIoError,         // the backend's sockets or device failed (message says how)
  // Device::open only.
  kBadUri,       // the URI does not parse
  kBadConfig,    // the cluster file is missing or a field is invalid (message: file:line:col: field: problem)
  kNotAvailable, // the backend is not built into this libfanout, or its hardware/runtime is absent
};

// Stable lower-case names ("ok", "partial_failure", ...), for logs and test output.
const char *status_name(Status s);

} // namespace fanout::driver
