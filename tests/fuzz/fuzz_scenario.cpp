// libFuzzer target: fanout-sim's scenario reader (sim/scenario: parse_scenario, apply_flag,
// validate) on arbitrary text.
//
// Scenario files and flags come from users: every mistake must come back as a ScenarioError that
// says where (the origin, then line:column) and which field, never as a crash, another exception
// type or a scenario that the simulator's own validate() would refuse.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include "fanout/sim/scenario.hpp"
#include "fuzz_check.hpp"

using fanout::sim::Scenario;
using fanout::sim::ScenarioError;

namespace {

const std::string kOrigin = "fuzz.yaml";
const std::string kFlagsOrigin = "<flags>";

bool starts_with(const std::string &s, const std::string &prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// "<origin>[:line:col]: <what>": the location, then either a document-level problem or
// "<field path>: <problem>" with a non-empty problem.
bool well_located(const std::string &msg, const std::string &origin) {
  if (!starts_with(msg, origin + ":")) return false;
  size_t i = origin.size();
  if (msg.compare(i, 2, ": ") != 0) {
    // :line:col, both decimal (1-based; yaml-cpp's "no mark" gives 0)
    for (int part = 0; part < 2; part++) {
      if (i >= msg.size() || msg[i] != ':') return false;
      size_t j = ++i;
      while (i < msg.size() && msg[i] >= '0' && msg[i] <= '9') i++;
      if (i == j) return false;
    }
    if (msg.compare(i, 2, ": ") != 0) return false;
  }
  std::string rest = msg.substr(i + 2);
  if (starts_with(rest, "not valid YAML/JSON: ") || rest == "the scenario must be a map of fields") return true;
  // The path is the key as written, so an empty key gives an empty path ("...: : unknown field").
  size_t sep = rest.find(": ");
  return sep != std::string::npos && sep + 2 < rest.size();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Input: the scenario document, then optionally a NUL and up to 8 flags, one per line, each
  // "<flag> <value>" (the flag without its leading "--").
  std::string all(reinterpret_cast<const char *>(data), size);
  size_t nul = all.find('\0');
  std::string doc = all.substr(0, nul);
  std::string flags = nul == std::string::npos ? std::string() : all.substr(nul + 1);

  Scenario s;
  bool parsed = false;
  try {
    s = fanout::sim::parse_scenario(doc, kOrigin);
    parsed = true;
  } catch (const ScenarioError &e) {
    if (!well_located(e.what(), kOrigin)) std::fprintf(stderr, "message: %s\n", e.what());
    FUZZ_CHECK(well_located(e.what(), kOrigin));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "parse_scenario threw a non-ScenarioError: %s\n", e.what());
    FUZZ_CHECK(!"parse_scenario throws only ScenarioError");
  } catch (...) {
    FUZZ_CHECK(!"parse_scenario throws only ScenarioError");
  }
  if (parsed) {
    // What parses is valid: validate() again (as the simulator does after flags) must agree.
    try {
      fanout::sim::validate(s, kOrigin);
    } catch (...) {
      FUZZ_CHECK(!"a parsed scenario validates");
    }
  }
  if (flags.empty()) return 0;

  // Flags on top of the parsed scenario (or the defaults): each either applies, is unknown
  // (false), or raises ScenarioError "--<flag>: <problem>"; then validate names a field path.
  size_t pos = 0;
  for (int n = 0; n < 8 && pos < flags.size(); n++) {
    size_t eol = flags.find('\n', pos);
    std::string line = flags.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? flags.size() : eol + 1;
    size_t sp = line.find(' ');
    std::string flag = line.substr(0, sp), value = sp == std::string::npos ? std::string() : line.substr(sp + 1);
    try {
      fanout::sim::apply_flag(s, flag, value);
    } catch (const ScenarioError &e) {
      std::string msg = e.what();
      FUZZ_CHECK(starts_with(msg, "--" + flag + ": ") && msg.size() > flag.size() + 4);
    } catch (...) {
      FUZZ_CHECK(!"apply_flag throws only ScenarioError");
    }
  }
  try {
    fanout::sim::validate(s, kFlagsOrigin);
  } catch (const ScenarioError &e) {
    FUZZ_CHECK(well_located(e.what(), kFlagsOrigin));
  } catch (...) {
    FUZZ_CHECK(!"validate throws only ScenarioError");
  }
  return 0;
}
