// Node-id helpers shared by the subcommands: the receiver-list syntax, compact printing of a
// set, and the outer headers every simulated node puts on its frames.
#ifndef FANOUT_CLI_IDS_HPP
#define FANOUT_CLI_IDS_HPP

#include "fanout/proto/packet.hpp"
#include "fanout/proto/receiver_set.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace fanout {
namespace cli {

// Parse a decimal number without sign or spaces. Values past UINT64_MAX saturate (so callers
// still report "too large" with the text the user typed).
bool parse_number(const std::string &text, uint64_t &value);

struct IdListResult {
  bool ok = false;
  std::string error;                  // without the "fanout plan: " prefix
  std::vector<proto::IdRange> ranges; // ascending, disjoint, touching ranges merged
};

// "3,17,200" or "0-63,100": ids and inclusive ranges in any order; every id < nodes, none twice.
IdListResult parse_id_list(const std::string &text, uint32_t nodes);

// "0-63,100,200-201": up to max_items ranges, then ",..." when more follow.
template <uint32_t M> std::string compact_ids(const proto::BasicReceiverSet<M> &set, uint32_t max_items = 8) {
  std::string text;
  for (uint32_t r = 0; r < set.range_count(); r++) {
    if (r == max_items) return text + ",...";
    if (r > 0) text += ',';
    const proto::IdRange &range = set.range(r);
    text += std::to_string(range.first);
    if (range.last != range.first) text += '-' + std::to_string(range.last);
  }
  return text;
}

// Smallest d with fanout^d >= k, plus one: the depth bound ceil(log_F k) + 1 quoted in the docs.
uint32_t depth_bound(uint32_t k, uint32_t fanout);

} // namespace cli
} // namespace fanout

#endif
