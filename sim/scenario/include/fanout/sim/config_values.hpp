// Checked values for the project's configuration files and flags (fanout-sim scenarios, the
// driver's cluster files): each parser throws ValueError with the problem alone ("must be between
// 2 and 64 (got 80)"); the caller adds where (yaml_where: file:line:column) and which field.
// Header-only, C++17; yaml_where needs yaml-cpp's headers in the including file's scope.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fanout::config {

struct ValueError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// A whole number in [lo, hi], decimal digits only.
inline uint64_t parse_uint(const std::string &v, uint64_t lo, uint64_t hi) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
    throw ValueError("must be a whole number (got '" + v + "')");
  errno = 0;
  unsigned long long x = std::strtoull(v.c_str(), nullptr, 10);
  if (errno == ERANGE || x < lo || x > hi)
    throw ValueError("must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " + v + ")");
  return x;
}

// A finite number in [lo, hi].
inline double parse_double(const std::string &v, double lo, double hi) {
  char *end = nullptr;
  errno = 0;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x))
    throw ValueError("must be a number (got '" + v + "')");
  if (x < lo || x > hi) {
    std::ostringstream o;
    o << "must be between " << lo << " and " << hi << " (got " << v << ")";
    throw ValueError(o.str());
  }
  return x;
}

inline bool parse_bool(const std::string &v) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  throw ValueError("must be true or false (got '" + v + "')");
}

// "origin:line:column" of a YAML node (1-based), or origin when the node has no mark.
template <class Node> std::string yaml_where(const std::string &origin, const Node &n) {
  auto m = n.Mark();
  if (m.line < 0) return origin;
  return origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

} // namespace fanout::config
