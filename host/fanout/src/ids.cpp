#include "fanout/cli/ids.hpp"

#include <algorithm>
#include <limits>

namespace fanout {
namespace cli {

bool parse_number(const std::string &text, uint64_t &value) {
  if (text.empty()) return false;
  uint64_t v = 0;
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = (uint64_t)(c - '0');
    v = v > (max - digit) / 10 ? max : v * 10 + digit;
  }
  value = v;
  return true;
}

namespace {

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

struct RawRange {
  uint64_t first;
  uint64_t last;
};

} // namespace

IdListResult parse_id_list(const std::string &text, uint32_t nodes) {
  IdListResult result;
  if (trim(text).empty()) {
    result.error = "empty receiver list";
    return result;
  }
  std::vector<RawRange> raw;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = trim(text.substr(start, comma - start));
    start = comma + 1;
    RawRange r{};
    size_t dash = item.find('-');
    bool ok = dash == std::string::npos
                  ? parse_number(item, r.first)
                  : parse_number(item.substr(0, dash), r.first) && parse_number(item.substr(dash + 1), r.last);
    if (dash == std::string::npos) r.last = r.first;
    if (!ok) {
      result.error = "malformed receiver list item '" + item + "': use an id (17) or an inclusive range (0-63)";
      return result;
    }
    if (r.first > r.last) {
      result.error = "malformed receiver list item '" + item + "': range runs backwards";
      return result;
    }
    raw.push_back(r);
  }
  for (const RawRange &r : raw) {
    if (r.last >= nodes) {
      uint64_t bad = r.first >= nodes ? r.first : (uint64_t)nodes;
      result.error =
          "receiver id " + std::to_string(bad) + " is out of range: ids must be < N = " + std::to_string(nodes);
      return result;
    }
  }
  std::sort(raw.begin(), raw.end(), [](const RawRange &a, const RawRange &b) { return a.first < b.first; });
  for (size_t i = 0; i < raw.size(); i++) {
    if (i > 0 && raw[i].first <= raw[i - 1].last) {
      result.error = "duplicate receiver id " + std::to_string(raw[i].first);
      return result;
    }
    proto::IdRange range{(proto::NodeId)raw[i].first, (proto::NodeId)raw[i].last};
    if (!result.ranges.empty() && (uint32_t)result.ranges.back().last + 1 == range.first) {
      result.ranges.back().last = range.last; // touching ranges merge, as in a receiver set
    } else {
      result.ranges.push_back(range);
    }
  }
  result.ok = true;
  return result;
}

uint32_t depth_bound(uint32_t k, uint32_t fanout) {
  uint32_t levels = 0;
  for (uint64_t reach = 1; reach < k; reach *= fanout) levels++;
  return levels + 1;
}

} // namespace cli
} // namespace fanout
