// Status names (status.hpp).
#include "fanout/driver/status.hpp"

namespace fanout::driver {

const char *status_name(Status s) {
  switch (s) {
  case Status::kOk: return "ok";
  case Status::kPartialFailure: return "partial_failure";
  case Status::kInvalidArgument: return "invalid_argument";
  case Status::kUnknownNode: return "unknown_node";
  case Status::kMessageTooLarge: return "message_too_large";
  case Status::kQueueFull: return "queue_full";
  case Status::kBufferTooSmall: return "buffer_too_small";
  case Status::kBadRegion: return "bad_region";
  case Status::kClosed: return "closed";
  case Status::kCancelled: return "cancelled";
  case Status::kTimeout: return "timeout";
  case Status::kIoError: return "io_error";
  case Status::kBadUri: return "bad_uri";
  case Status::kBadConfig: return "bad_config";
  case Status::kNotAvailable: return "not_available";
  }
  return "unknown_status";
}

} // namespace fanout::driver
