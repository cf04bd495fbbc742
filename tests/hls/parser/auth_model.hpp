// The parser's authentication verdicts, modelled independently of the kernel for its unit test
// and fuzz_hls_parser: proto::auth_verify_fanout for the tag, then one proto::ReplayWindow over
// every origin, with the parser's capacity rule for origins >= hw::kParserAuthOrigins (the first
// hw::kParserAuthExtraOrigins distinct ones whose frames pass get windows; the others are
// kAuthUnknownOrigin). Frames are given in the kernel's verdict order (arrival order).
#ifndef FANOUT_TESTS_HLS_PARSER_AUTH_MODEL_HPP
#define FANOUT_TESTS_HLS_PARSER_AUTH_MODEL_HPP

#include <cstdint>
#include <memory>
#include <set>

#include "fanout/proto/auth.hpp"
#include "fanout/proto/packet.hpp"
#include "parser.hpp"

namespace fanout {
namespace test {

class ParserAuthModel {
 public:
  ParserAuthModel() : window_(new proto::ReplayWindow<>) {}
  void clear() {
    window_->clear();
    extra_.clear();
  }
  // The AuthCode of a signed frame (pp from parse_frame on frame[0..len)).
  int check(const uint8_t *frame, uint32_t len, const proto::ParsedPacket &pp, const uint8_t key[16]) {
    proto::AuthResult r;
    int c = proto::auth_verify_fanout(frame + proto::kFanoutOffset, len - proto::kFanoutOffset, pp.auth,
                                      pp.auth_offset - proto::kFanoutOffset, key, r);
    if (c != proto::kAuthOk) return c;
    if (r.origin >= hw::kParserAuthOrigins && !extra_.count(r.origin)) {
      if (extra_.size() == hw::kParserAuthExtraOrigins) return proto::kAuthUnknownOrigin;
      int w = window_->check(r.origin, r.counter);
      if (w != proto::kAuthOk) return w;
      extra_.insert(r.origin);
    }
    return window_->accept(r.origin, r.counter);
  }

 private:
  std::unique_ptr<proto::ReplayWindow<>> window_;
  std::set<proto::NodeId> extra_;
};

} // namespace test
} // namespace fanout

#endif
