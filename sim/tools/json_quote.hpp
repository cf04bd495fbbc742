// A JSON string literal for `s` (quotes, backslashes and control characters escaped): shared by
// fanout-sim's --json output and fanout-sim report's report.json writer.
#pragma once

#include <cstdio>
#include <string>

namespace fanout::sim {

inline std::string json_quote(const std::string &s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      q += '\\';
      q += c;
    } else if ((unsigned char)c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", (unsigned)(unsigned char)c);
      q += buf;
    } else {
      q += c;
    }
  }
  return q + "\"";
}

} // namespace fanout::sim
