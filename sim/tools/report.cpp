// fanout-sim report (report.hpp): every workload in every replication mode, a k sweep and a
// header-size analysis, written to <out>/report.json and rendered by sim/report/fanout_report.py.
//
// SystemC elaborates once per process, so each simulation is a child fanout-sim (this very
// executable, /proc/self/exe) writing --json to <out>/runs/<run>.json; up to --jobs run at once.
// The children are given the same scenario flags, so every mode moves the same messages.
#include "report.hpp"
#include "json_quote.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "fanout/proto/bier.hpp"
#include "fanout/proto/receiver_set.hpp"
#include "fanout/proto/set_codec.hpp"
#include "fanout/sim/scenario.hpp"

extern char **environ;

#ifndef FANOUT_REPORT_PYTHON
#define FANOUT_REPORT_PYTHON "python3"
#endif
#ifndef FANOUT_REPORT_SCRIPT
#define FANOUT_REPORT_SCRIPT "sim/report/fanout_report.py"
#endif

namespace fanout::sim {
namespace {

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2;
const std::vector<std::string> kAllModes = {"unicast", "bier", "tree", "port"};
const std::vector<std::string> kAllWorkloads = {"moe", "allreduce", "checkpoint"};
constexpr uint32_t kPacketPayloadBytes = 8192; // the simulated hosts' packet size (docs/simulator.md)
constexpr uint32_t kDefaultWindow = 8;

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

std::string usage() {
  return "usage: fanout-sim report [SCENARIO_FILE] [report flags] [scenario flags]...\n"
         "Runs every workload in every replication mode (each run a child fanout-sim on identical traffic),\n"
         "a sweep over k and a header-size analysis; writes <out>/report.json and renders <out>/index.html\n"
         "and <out>/README.md. Exit status: 0 every run OK and every mode delivered identically, 1 otherwise\n"
         "(the report is still written), 2 bad input.\n\nreport flags:\n"
         "  --out DIR              output directory (default report)\n"
         "  --jobs N               simulations at once (default 2)\n"
         "  --modes LIST           of unicast,bier,tree,port (default all)\n"
         "  --workloads LIST       of moe,allreduce,checkpoint (default all)\n"
         "  --sweep-k LIST         receivers per message in the sweep (default 1,2,4,8,15; clipped to nodes - 1)\n"
         "  --sweep-messages N     messages node 0 sends per sweep point (default 4)\n"
         "  --sweep-bytes N        bytes per sweep message (default 65536)\n"
         "  --python PATH          interpreter for the renderer (default $FANOUT_REPORT_PYTHON or " FANOUT_REPORT_PYTHON
         ")\n"
         "Any other --flag value is a scenario flag given to every run (fanout-sim --help lists them).\n";
}

// ---- Flags ------------------------------------------------------------------------------------
struct Options {
  std::string file; // scenario file, "" for none
  std::string out = "report";
  uint64_t jobs = 2;
  std::vector<std::string> modes = kAllModes, workloads = kAllWorkloads;
  std::vector<uint32_t> sweep_k = {1, 2, 4, 8, 15};
  uint64_t sweep_messages = 4, sweep_bytes = 65536;
  std::string python;
  std::vector<std::string> forwarded; // scenario flags, "--flag=value" each
  std::string command;                // as typed, for the report
};

bool parse_u64(const std::string &v, uint64_t lo, uint64_t hi, uint64_t &out) {
  if (v.empty() || v.size() > 20 || v.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  unsigned long long x = std::strtoull(v.c_str(), nullptr, 10);
  if (errno || x < lo || x > hi) return false;
  out = x;
  return true;
}

std::vector<std::string> split(const std::string &v, char sep) {
  std::vector<std::string> items;
  size_t at = 0;
  for (;;) {
    size_t end = v.find(sep, at);
    items.push_back(v.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) return items;
    at = end + 1;
  }
}

std::string joined(const std::vector<std::string> &v, const char *sep) {
  std::string o;
  for (const std::string &s : v) o += (o.empty() ? "" : sep) + s;
  return o;
}

// A list of names from `allowed`, duplicates dropped; "" or the problem.
std::string parse_names(const std::string &flag, const std::string &v, const std::vector<std::string> &allowed,
                        const char *what, std::vector<std::string> &out) {
  out.clear();
  for (const std::string &item : split(v, ',')) {
    if (std::find(allowed.begin(), allowed.end(), item) == allowed.end())
      return "--" + flag + ": unknown " + what + " '" + item + "', must be among " + joined(allowed, ", ") + " (got '" +
             v + "')";
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  return "";
}

// Returns "" when the report flag was taken, else the problem. `known` false: a scenario flag.
std::string apply_report_flag(Options &o, const std::string &flag, const std::string &v, bool &known) {
  known = true;
  auto bad = [&](const std::string &problem) { return "--" + flag + ": " + problem + " (got '" + v + "')"; };
  if (flag == "out") return v.empty() ? bad("needs a directory") : (o.out = v, "");
  if (flag == "python") return v.empty() ? bad("needs an interpreter path") : (o.python = v, "");
  if (flag == "jobs")
    return parse_u64(v, 1, 256, o.jobs) ? "" : bad("must be a whole number of simulations between 1 and 256");
  if (flag == "sweep-messages")
    return parse_u64(v, 1, 1'000'000, o.sweep_messages) ? "" : bad("must be a whole number between 1 and 1000000");
  if (flag == "sweep-bytes")
    return parse_u64(v, 1, 1u << 26, o.sweep_bytes) ? ""
                                                    : bad("must be a whole number of bytes between 1 and 67108864");
  if (flag == "modes") return parse_names(flag, v, kAllModes, "mode", o.modes);
  if (flag == "workloads") return parse_names(flag, v, kAllWorkloads, "workload", o.workloads);
  if (flag == "sweep-k") {
    o.sweep_k.clear();
    for (const std::string &item : split(v, ',')) {
      uint64_t k = 0;
      if (!parse_u64(item, 1, 65535, k)) return bad("must be a list of receiver counts between 1 and 65535");
      o.sweep_k.push_back((uint32_t)k);
    }
    return "";
  }
  known = false;
  return "";
}

std::string shell_word(const std::string &a) {
  if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@%") ==
                        std::string::npos)
    return a;
  std::string q = "'";
  for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

enum class Parsed { kRun, kHelp, kBad };

// argv[0] is "report". Flags are --flag value or --flag=value; --help takes none.
Parsed parse_args(int argc, char *argv[], Options &o, std::string &problem) {
  std::vector<std::string> args(argv + 1, argv + argc);
  o.command = "fanout-sim report";
  for (const std::string &a : args) o.command += " " + shell_word(a);
  for (size_t i = 0; i < args.size(); i++) {
    const std::string &a = args[i];
    if (a == "--help" || a == "-h") return Parsed::kHelp;
    if (a.rfind("--", 0) != 0) {
      if (!o.file.empty()) {
        problem = "one scenario file only (got '" + o.file + "' and '" + a + "')";
        return Parsed::kBad;
      }
      o.file = a;
      continue;
    }
    std::string flag = a.substr(2), value;
    size_t eq = flag.find('=');
    if (eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      problem = "--" + flag + ": needs a value";
      return Parsed::kBad;
    }
    bool known = false;
    problem = apply_report_flag(o, flag, value, known);
    if (!problem.empty()) return Parsed::kBad;
    if (!known) o.forwarded.push_back("--" + flag + "=" + value);
  }
  return Parsed::kRun;
}

// The scenario as the children will see it, for the k sweep's bound, the workloads' descriptions
// and the cluster's figures. Bad input is left to the children: they name it precisely.
Scenario local_scenario(const Options &o) {
  Scenario s;
  try {
    if (!o.file.empty()) s = load_scenario_file(o.file);
    for (const std::string &f : o.forwarded) {
      size_t eq = f.find('=');
      apply_flag(s, f.substr(2, eq - 2), f.substr(eq + 1));
    }
  } catch (const std::exception &) {
  }
  return s;
}

// ---- Runs -------------------------------------------------------------------------------------
struct RunSpec {
  std::string workload, mode; // workload: "moe", ... or "sweep" for the k sweep
  uint32_t k = 0;             // sweep only
  std::string stem;           // <out>/runs/<stem>.json / .log
  std::string label;          // progress line
  std::vector<std::string> extra_flags;
};

// Everything a run's JSON says that the report uses; absent keys stay 0 / empty.
struct Run {
  bool present = false, ok = false;
  std::vector<std::string> failures;
  std::string name, topology, busiest_link, delivery_digest, intended_digest;
  uint64_t nodes = 0, fanout = 0, window = 0;
  double mean_receivers = 0, sim_time_ns = 0, wall_seconds = 0, busiest_link_utilization = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, makespan_ns = 0, header_bytes_per_packet = 0;
  uint64_t messages_total = 0, messages_completed = 0, deliveries = 0, deliveries_expected = 0;
  uint64_t payload_bytes = 0, sender_egress_bytes = 0, link_bytes = 0, sender_data_frames = 0;
  uint64_t acks_at_senders = 0, sender_host_bytes = 0, drops = 0, data_errors = 0;
  std::vector<std::pair<double, double>> steps; // step, completion_ns
};

// One k-sweep point in one mode: node 0 sends to k receivers (the sparse workload).
RunSpec sweep_spec(const Options &o, uint32_t k, const std::string &mode) {
  RunSpec r;
  r.workload = "sweep";
  r.mode = mode;
  r.k = k;
  r.stem = "sweep-k" + std::to_string(k) + "-" + mode;
  r.label = "sweep k=" + std::to_string(k);
  auto flag = [&r](const char *f, const std::string &v) { r.extra_flags.insert(r.extra_flags.end(), {f, v}); };
  flag("--workload", "sparse");
  flag("--senders", "0");
  flag("--k", std::to_string(k));
  flag("--messages", std::to_string(o.sweep_messages));
  flag("--message-bytes", std::to_string(o.sweep_bytes));
  flag("--mode", mode);
  r.extra_flags.push_back("--json");
  return r;
}

std::vector<RunSpec> plan_runs(const Options &o, uint32_t nodes, std::vector<uint32_t> &ks) {
  std::vector<RunSpec> runs;
  for (const std::string &w : o.workloads)
    for (const std::string &m : o.modes)
      runs.push_back({w, m, 0, w + "-" + m, w, {"--workload", w, "--mode", m, "--json"}});
  ks.clear();
  uint32_t top = nodes > 1 ? nodes - 1 : 1;
  for (uint32_t k : o.sweep_k) {
    k = std::min(k, top);
    if (std::find(ks.begin(), ks.end(), k) == ks.end()) ks.push_back(k);
  }
  for (uint32_t k : ks)
    for (const std::string &m : o.modes) runs.push_back(sweep_spec(o, k, m));
  return runs;
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = 0;
  return buf;
}

// posix_spawn with stdout and stderr to files. Returns the pid or -1.
pid_t spawn(const std::vector<std::string> &argv, const std::string &out_path, const std::string &err_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char *> cargv;
  for (const std::string &a : argv) cargv.push_back(const_cast<char *>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

struct Outcome {
  int status = -1; // waitpid status; -1: not started
  double wall = 0;
};

std::string first_line(const std::string &path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

uint64_t u64_at(const YAML::Node &n, const char *key) {
  try {
    if (n[key] && n[key].IsScalar()) return (uint64_t)std::llround(n[key].as<double>());
  } catch (const YAML::Exception &) {
  }
  return 0;
}
double num_at(const YAML::Node &n, const char *key) {
  try {
    if (n[key] && n[key].IsScalar()) return n[key].as<double>();
  } catch (const YAML::Exception &) {
  }
  return 0;
}
std::string str_at(const YAML::Node &n, const char *key) {
  try {
    if (n[key] && n[key].IsScalar()) return n[key].as<std::string>();
  } catch (const YAML::Exception &) {
  }
  return "";
}

// FNV-1a over message ids and id lists: the digests of runs whose JSON predates delivery_digest.
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void add(uint64_t v) {
    for (int i = 0; i < 8; i++) h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
  }
  void add_ids(const YAML::Node &ids) {
    std::vector<uint64_t> v;
    if (ids && ids.IsSequence())
      for (const auto &id : ids) v.push_back(id.as<uint64_t>());
    std::sort(v.begin(), v.end());
    add(v.size());
    for (uint64_t id : v) add(id);
  }
  std::string hex() const { return fmt("local-%016" PRIx64, h); }
};

// Falls back on messages[] for what older child JSON lacks: the digests and the makespan.
void fill_from_messages(const YAML::Node &doc, Run &r) {
  const YAML::Node msgs = doc["messages"];
  if (!msgs || !msgs.IsSequence()) return;
  std::vector<std::pair<uint64_t, YAML::Node>> by_id;
  for (const auto &m : msgs) by_id.emplace_back(u64_at(m, "id"), m);
  std::sort(by_id.begin(), by_id.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
  Fnv delivered, intended;
  double first_post = -1, last_done = 0;
  for (const auto &[id, m] : by_id) {
    delivered.add(id);
    delivered.add_ids(m["delivered"]);
    intended.add(id);
    intended.add_ids(m["receivers"]);
    if (str_at(m, "posted") == "true" && (first_post < 0 || num_at(m, "posted_ns") < first_post))
      first_post = num_at(m, "posted_ns");
    if (str_at(m, "completed") == "true") last_done = std::max(last_done, num_at(m, "completed_ns"));
  }
  if (!doc["delivery_digest"]) r.delivery_digest = delivered.hex();
  if (!doc["intended_digest"]) r.intended_digest = intended.hex();
  if (!doc["makespan_ns"] && first_post >= 0 && last_done > first_post) r.makespan_ns = last_done - first_post;
}

void read_run(const YAML::Node &d, Run &r) {
  r.ok = str_at(d, "ok") == "true";
  if (d["failures"] && d["failures"].IsSequence())
    for (const auto &f : d["failures"]) r.failures.push_back(f.as<std::string>());
  r.name = str_at(d, "name");
  r.topology = str_at(d, "topology");
  r.nodes = u64_at(d, "nodes");
  r.fanout = u64_at(d, "fanout");
  r.window = u64_at(d, "window");
  r.mean_receivers = num_at(d, "mean_receivers");
  r.sim_time_ns = num_at(d, "sim_time_ns");
  r.wall_seconds = num_at(d, "wall_seconds");
  r.messages_total = u64_at(d, "messages_total");
  r.messages_completed = u64_at(d, "messages_completed");
  r.deliveries = u64_at(d, "deliveries");
  r.deliveries_expected = u64_at(d, "deliveries_expected");
  r.payload_bytes = u64_at(d, "payload_bytes");
  r.sender_egress_bytes = u64_at(d, "sender_egress_bytes");
  r.link_bytes = u64_at(d, "link_bytes");
  r.busiest_link = str_at(d, "busiest_link");
  r.busiest_link_utilization = num_at(d, "busiest_link_utilization");
  const YAML::Node c = d["completion_latency_ns"];
  if (c && c.IsMap())
    r.p50 = num_at(c, "p50"), r.p90 = num_at(c, "p90"), r.p99 = num_at(c, "p99"), r.max = num_at(c, "max");
  r.makespan_ns = num_at(d, "makespan_ns");
  if (d["steps"] && d["steps"].IsSequence())
    for (const auto &s : d["steps"]) r.steps.emplace_back(num_at(s, "step"), num_at(s, "completion_ns"));
  r.sender_data_frames = u64_at(d, "sender_data_frames");
  r.acks_at_senders = u64_at(d, "acks_at_senders");
  r.header_bytes_per_packet = num_at(d, "header_bytes_per_packet");
  r.sender_host_bytes = u64_at(d, "sender_host_bytes");
  if (d["drops"] && d["drops"].IsMap()) r.drops = u64_at(d["drops"], "total");
  r.data_errors = u64_at(d, "data_errors");
  r.delivery_digest = str_at(d, "delivery_digest");
  r.intended_digest = str_at(d, "intended_digest");
  fill_from_messages(d, r);
}

std::string exit_reason(int status) {
  if (WIFSIGNALED(status)) return fmt("killed by signal %d", WTERMSIG(status));
  return fmt("exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

// Exit 0 and 1 leave valid JSON (1: the run's checks failed); anything else is a missing run.
Run load_run(const std::string &json_path, const std::string &log_path, const Outcome &oc) {
  Run r;
  bool exited = oc.status >= 0 && WIFEXITED(oc.status);
  int code = exited ? WEXITSTATUS(oc.status) : -1;
  if (oc.status < 0) {
    r.failures.push_back("could not start the run");
    return r;
  }
  if (!exited || (code != 0 && code != 1)) {
    std::string line = first_line(log_path);
    r.failures.push_back(exit_reason(oc.status) + (line.empty() ? "" : ": " + line));
    return r;
  }
  try {
    YAML::Node doc = YAML::LoadFile(json_path);
    if (!doc.IsMap()) throw YAML::Exception(YAML::Mark(), "not a JSON object");
    read_run(doc, r);
    r.present = true;
    if (code != 0) r.ok = false;
  } catch (const std::exception &e) {
    r = Run();
    r.failures.push_back(std::string("unreadable JSON in ") + json_path + ": " + e.what());
  }
  return r;
}

std::string progress_status(const Outcome &oc, const Run &r) {
  if (oc.status < 0) return "NOT STARTED";
  if (WIFEXITED(oc.status) && WEXITSTATUS(oc.status) == 0 && r.present) return r.ok ? "ok" : "FAILED";
  if (WIFEXITED(oc.status) && WEXITSTATUS(oc.status) == 1 && r.present) return "FAILED";
  if (WIFEXITED(oc.status) && WEXITSTATUS(oc.status) <= 1) return "BAD JSON";
  return exit_reason(oc.status);
}

struct Runner {
  const Options &o;
  std::string exe, runs_dir;
  std::vector<RunSpec> specs;
  std::vector<Outcome> outcomes;
  std::vector<Run> runs;
  size_t label_width = 0;
  std::string usage_error; // a child's "bad input" line: the report stops

  std::vector<std::string> child_argv(const RunSpec &s) const {
    std::vector<std::string> a = {exe};
    if (!o.file.empty()) a.push_back(o.file);
    a.insert(a.end(), o.forwarded.begin(), o.forwarded.end());
    a.insert(a.end(), s.extra_flags.begin(), s.extra_flags.end());
    return a;
  }
  std::string path(size_t i, const char *ext) const { return runs_dir + "/" + specs[i].stem + ext; }

  void finished(size_t i, size_t done) {
    runs[i] = load_run(path(i, ".json"), path(i, ".log"), outcomes[i]);
    std::string line = fmt("[%*zu/%zu] %-*s %-8s %-7s %5.1f s wall", (int)std::to_string(specs.size()).size(), done,
                           specs.size(), (int)label_width, specs[i].label.c_str(), specs[i].mode.c_str(),
                           progress_status(outcomes[i], runs[i]).c_str(), outcomes[i].wall);
    if (runs[i].present) line += fmt(", %.0f us simulated", runs[i].sim_time_ns / 1e3);
    std::cerr << line << "\n" << std::flush;
  }

  // Runs every spec, --jobs at a time. Returns false when a child rejected the input (exit 2 before
  // any run got through): then the others are stopped and usage_error says why.
  bool run_all() {
    using Clock = std::chrono::steady_clock;
    outcomes.assign(specs.size(), Outcome());
    runs.assign(specs.size(), Run());
    for (const RunSpec &s : specs) label_width = std::max(label_width, s.label.size());
    std::map<pid_t, std::pair<size_t, Clock::time_point>> running;
    size_t next = 0, done = 0;
    bool any_through = false;
    while (next < specs.size() || !running.empty()) {
      while (next < specs.size() && running.size() < o.jobs) {
        pid_t pid = spawn(child_argv(specs[next]), path(next, ".json"), path(next, ".log"));
        if (pid < 0) {
          finished(next++, ++done);
          continue;
        }
        running[pid] = {next++, Clock::now()};
      }
      if (running.empty()) continue;
      int status = 0;
      pid_t pid = waitpid(-1, &status, 0);
      if (pid < 0 && errno == EINTR) continue;
      if (pid < 0) break;
      auto it = running.find(pid);
      if (it == running.end()) continue; // not one of ours
      size_t i = it->second.first;
      outcomes[i] = {status, std::chrono::duration<double>(Clock::now() - it->second.second).count()};
      running.erase(it);
      if (!any_through && WIFEXITED(status) && WEXITSTATUS(status) == kExitUsage) {
        usage_error = first_line(path(i, ".log"));
        stop(running);
        return false;
      }
      any_through = true;
      finished(i, ++done);
    }
    return true;
  }

  // Only our own children, by pid.
  static void stop(std::map<pid_t, std::pair<size_t, std::chrono::steady_clock::time_point>> &running) {
    for (const auto &r : running) kill(r.first, SIGTERM);
    for (const auto &r : running) waitpid(r.first, nullptr, 0);
    running.clear();
  }
};

// ---- Header-size analysis (proto only, no simulation) -----------------------------------------
struct HeaderPoint {
  uint32_t k = 0, nodes = 0;
  double fanout_mean = 0, fanout_max = 0, bier256_mean = 0, bier256_max = 0, bier_best_mean = 0, copies_mean = 0;
};

constexpr uint32_t kHeaderSamples = 200;

// `samples` sets of k distinct ids drawn uniformly from [0, nodes); counts sets where Fanout's
// receiver set costs more than BIER-256's header(s) in `exceeds`.
HeaderPoint header_point(uint32_t k, uint32_t nodes, std::mt19937_64 &rng, proto::ReceiverSet &set, uint64_t &exceeds) {
  HeaderPoint p;
  p.k = k;
  p.nodes = nodes;
  std::uniform_int_distribution<uint32_t> pick(0, nodes - 1);
  std::vector<uint32_t> ids;
  for (uint32_t n = 0; n < kHeaderSamples; n++) {
    ids.clear();
    while (ids.size() < k) {
      uint32_t id = pick(rng);
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    set.clear();
    for (uint32_t id : ids) set.append((proto::NodeId)id);
    double fanout = proto::set_cost(set).best_bytes();
    proto::BierCost b256 = proto::bier_cost(set, 256);
    double bier_best = proto::bier_best(set).total_bytes;
    if (fanout > b256.total_bytes) exceeds++;
    p.fanout_mean += fanout; // sums until the end: whole-number means stay whole
    p.fanout_max = std::max(p.fanout_max, fanout);
    p.bier256_mean += b256.total_bytes;
    p.bier256_max = std::max(p.bier256_max, (double)b256.total_bytes);
    p.bier_best_mean += bier_best;
    p.copies_mean += b256.copies;
  }
  for (double *sum : {&p.fanout_mean, &p.bier256_mean, &p.bier_best_mean, &p.copies_mean}) *sum /= kHeaderSamples;
  return p;
}

struct HeaderAnalysis {
  std::vector<HeaderPoint> vs_k, vs_nodes;
  uint64_t exceeds = 0, sets = 0;
};

HeaderAnalysis header_analysis(uint64_t seed) {
  HeaderAnalysis h;
  std::mt19937_64 rng(seed);
  auto set = std::make_unique<proto::ReceiverSet>(); // 16 KiB: not on the stack
  for (uint32_t k : {1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u})
    h.vs_k.push_back(header_point(k, 1024, rng, *set, h.exceeds));
  for (uint32_t n : {16u, 64u, 256u, 1024u, 4096u, 16384u, 65536u})
    h.vs_nodes.push_back(header_point(8, n, rng, *set, h.exceeds));
  h.sets = (uint64_t)(h.vs_k.size() + h.vs_nodes.size()) * kHeaderSamples;
  return h;
}

// ---- report.json ------------------------------------------------------------------------------
// Keys in the order written; the renderer (sim/report/fanout_report.py) reads them by name.
class Json {
 public:
  Json &key(const char *k) {
    sep();
    out_ += quote(k) + ": ";
    pending_key_ = true;
    return *this;
  }
  Json &open(char c) {
    sep();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  Json &close(char c) {
    bool empty = first_.back();
    first_.pop_back();
    if (!empty) out_ += "\n" + std::string(2 * first_.size(), ' ');
    out_ += c;
    return *this;
  }
  Json &str(const std::string &s) { return raw(quote(s)); }
  Json &num(double v) { return raw(std::isfinite(v) ? fmt("%.15g", v) : "0"); }
  Json &num(uint64_t v) { return raw(std::to_string(v)); }
  Json &boolean(bool v) { return raw(v ? "true" : "false"); }
  // Shorthands for "key": value.
  Json &kv(const char *k, const std::string &v) { return key(k).str(v); }
  Json &kv(const char *k, const char *v) { return key(k).str(v); }
  Json &kv(const char *k, double v) { return key(k).num(v); }
  Json &kv(const char *k, uint64_t v) { return key(k).num(v); }
  Json &kv(const char *k, uint32_t v) { return key(k).num((uint64_t)v); }
  Json &kv(const char *k, bool v) { return key(k).boolean(v); }
  const std::string &text() const { return out_; }

 private:
  static std::string quote(const std::string &s) { return json_quote(s); }
  // A value right after its key needs no separator; anything else in a container does.
  void sep() {
    if (pending_key_) {
      pending_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ",";
    first_.back() = false;
    out_ += "\n" + std::string(2 * first_.size(), ' ');
  }
  Json &raw(const std::string &v) {
    sep();
    out_ += v;
    return *this;
  }
  std::string out_;
  std::vector<bool> first_;
  bool pending_key_ = false;
};

void write_run(Json &j, const Run &r) {
  j.open('{').kv("ok", r.ok).key("failures").open('[');
  for (const std::string &f : r.failures) j.str(f);
  j.close(']');
  j.kv("sim_time_ns", r.sim_time_ns).kv("wall_seconds", r.wall_seconds).kv("messages", r.messages_total);
  j.kv("messages_completed", r.messages_completed).kv("deliveries", r.deliveries);
  j.kv("deliveries_expected", r.deliveries_expected).kv("sender_egress_bytes", r.sender_egress_bytes);
  j.kv("link_bytes", r.link_bytes).kv("busiest_link", r.busiest_link);
  j.kv("busiest_link_utilization", r.busiest_link_utilization);
  j.key("completion_ns").open('{').kv("p50", r.p50).kv("p90", r.p90).kv("p99", r.p99).kv("max", r.max).close('}');
  j.kv("makespan_ns", r.makespan_ns).key("steps").open('[');
  for (const auto &s : r.steps) j.open('{').kv("step", s.first).kv("completion_ns", s.second).close('}');
  j.close(']');
  double per = r.messages_completed ? (double)r.acks_at_senders / (double)r.messages_completed : 0;
  j.kv("sender_packets", r.sender_data_frames).kv("acks_at_senders", r.acks_at_senders).kv("acks_per_message", per);
  j.kv("header_bytes_per_packet", r.header_bytes_per_packet).kv("host_interface_bytes", r.sender_host_bytes);
  j.kv("drops", r.drops).kv("delivery_digest", r.delivery_digest).close('}');
}

void write_runs(Json &j, const std::vector<std::string> &modes, const std::vector<const Run *> &runs) {
  j.key("runs").open('{');
  for (size_t m = 0; m < modes.size(); m++) {
    j.key(modes[m].c_str());
    write_run(j, *runs[m]);
  }
  j.close('}');
}

void write_header_points(Json &j, const std::vector<HeaderPoint> &points) {
  j.key("points").open('[');
  for (const HeaderPoint &p : points) {
    j.open('{').kv("k", p.k).kv("nodes", p.nodes).kv("fanout_set_mean", p.fanout_mean);
    j.kv("fanout_set_max", p.fanout_max).kv("bier256_mean", p.bier256_mean).kv("bier256_max", p.bier256_max);
    j.kv("bier_best_mean", p.bier_best_mean).kv("bier256_copies_mean", p.copies_mean).close('}');
  }
  j.close(']');
}

// ---- Workloads --------------------------------------------------------------------------------
struct WorkloadResult {
  std::string name, title, description;
  std::vector<const Run *> runs; // one per mode, in --modes order
  const Run *first = nullptr;    // the first present run: the workload's own figures
  bool identical = false;
  std::string verdict; // why (not) identical, for the summary
};

// "1 step", "2 steps"; `plural` for the irregular ones.
std::string counted(uint64_t n, const char *what, const char *plural = nullptr) {
  if (n == 1) return fmt("1 %s", what);
  return plural ? fmt("%" PRIu64 " %s", n, plural) : fmt("%" PRIu64 " %ss", n, what);
}

std::string senders_phrase(const Scenario &s) {
  if (s.senders.empty()) return fmt("each of the %u nodes", s.nodes);
  std::vector<std::string> ids;
  for (uint32_t n : s.senders) ids.push_back(std::to_string(n));
  return (s.senders.size() == 1 ? "node " : "nodes ") + joined(ids, ", ");
}

std::string workload_title(const std::string &w) {
  if (w == "moe") return "MoE expert dispatch";
  if (w == "allreduce") return "AllReduce broadcast";
  return "Checkpoint replication";
}

std::string workload_description(const std::string &w, const Scenario &s) {
  if (w == "moe") {
    const MoeSpec &m = s.moe;
    std::string limit = m.node_limit ? fmt(", at most %u nodes per token", m.node_limit) : "";
    std::string who = senders_phrase(s);
    who[0] = (char)std::toupper((unsigned char)who[0]);
    return fmt("%s sends %s of %u bytes per step for %s, each to the nodes holding its top-%u of %u routed "
               "experts%s.",
               who.c_str(), counted(m.tokens_per_step, "token").c_str(), m.token_bytes,
               counted(m.steps, "step").c_str(), m.top_k, m.experts, limit.c_str());
  }
  if (w == "allreduce")
    return fmt("Node %u broadcasts %s of %u bytes to the other %u nodes (the broadcast half of AllReduce).",
               s.allreduce.root, counted(s.allreduce.messages, "message").c_str(), s.allreduce.message_bytes,
               s.nodes - 1);
  std::string who = senders_phrase(s);
  who[0] = (char)std::toupper((unsigned char)who[0]);
  return fmt("%s writes %s of %u bytes, each to %s.", who.c_str(), counted(s.checkpoint.shards, "shard").c_str(),
             s.checkpoint.shard_bytes, counted(s.checkpoint.replicas, "other node").c_str());
}

// Every mode present, byte-correct, and delivering exactly the workload's sets (the same in each).
void judge(WorkloadResult &w, const std::vector<std::string> &modes) {
  for (size_t m = 0; m < modes.size(); m++) {
    const Run &r = *w.runs[m];
    if (!r.present) return void(w.verdict = modes[m] + " did not run to the end");
    if (r.data_errors) return void(w.verdict = modes[m] + " delivered corrupted data");
    if (r.delivery_digest.empty() || r.delivery_digest != r.intended_digest)
      return void(w.verdict = modes[m] + " did not deliver exactly the intended receiver sets");
    if (r.delivery_digest != w.runs[0]->delivery_digest)
      return void(w.verdict = modes[m] + " delivered differently from " + modes[0]);
  }
  w.identical = !modes.empty();
  w.verdict = "every mode delivered exactly the same receiver sets, the intended ones, byte for byte";
}

void write_report(const std::string &path, const Options &o, const Scenario &s, const std::vector<WorkloadResult> &ws,
                  const std::vector<uint32_t> &ks, const std::vector<std::vector<const Run *>> &sweep,
                  const HeaderAnalysis &h, double wall) {
  const Run *first = nullptr;
  for (const WorkloadResult &w : ws)
    if (!first && w.first) first = w.first;
  for (const auto &point : sweep)
    for (const Run *r : point)
      if (!first && r->present) first = r;
  uint64_t nodes = first ? first->nodes : s.nodes;
  Json j;
  j.open('{').kv("format", "fanout-report/1");
  j.kv("title", fmt("Fanout vs unicast fan-out and BIER on a simulated %" PRIu64 "-node cluster", nodes));
  j.kv("command", o.command).kv("generated_wall_seconds", wall);
  j.key("scenario").open('{').kv("name", first ? first->name : s.name).kv("nodes", nodes);
  j.kv("topology", first ? first->topology : std::string(name(s.topology))).kv("leaves", s.leaves);
  j.kv("spines", s.spines).kv("link_gbps", s.link.gbps).kv("link_delay_ns", s.link.delay_ns);
  j.kv("fanout", first ? first->fanout : (uint64_t)s.fanout).kv("seed", s.seed);
  j.kv("payload_bytes", kPacketPayloadBytes).kv("window", first && first->window ? first->window : kDefaultWindow);
  j.close('}').key("modes").open('[');
  for (const std::string &m : o.modes) j.str(m);
  j.close(']').key("mode_descriptions").open('{');
  j.kv("unicast", "plain NICs; the sender sends one copy per receiver and gets one ACK per receiver (DeepEP-style "
                  "fan-out)");
  j.kv("bier", "plain NICs, BIER-replicating switches; one copy per 256-id set with a 256-bit BitString, no ACK "
               "aggregation");
  j.kv("tree", "Fanout NICs relay copies in a tree of fan-out F and aggregate ACKs");
  j.kv("port", "a replicating Fanout node at the top of rack splits the set per port and aggregates ACKs");
  j.close('}').key("workloads").open('[');
  for (const WorkloadResult &w : ws) {
    const Run none;
    const Run &f = w.first ? *w.first : none;
    j.open('{').kv("name", w.name).kv("title", w.title).kv("description", w.description);
    j.kv("messages", f.messages_total).kv("deliveries", f.deliveries_expected).kv("payload_bytes", f.payload_bytes);
    j.kv("mean_receivers", f.mean_receivers).kv("identical_delivery", w.identical);
    write_runs(j, o.modes, w.runs);
    j.close('}');
  }
  j.close(']');
  j.key("k_sweep").open('{').kv("nodes", nodes).kv("message_bytes", o.sweep_bytes);
  j.kv("messages", o.sweep_messages).key("senders").open('[').num((uint64_t)0).close(']').key("points").open('[');
  for (size_t i = 0; i < ks.size(); i++) {
    j.open('{').kv("k", ks[i]);
    write_runs(j, o.modes, sweep[i]);
    j.close('}');
  }
  j.close(']').close('}');
  j.key("header_bytes").open('{');
  j.key("vs_k").open('{').kv("nodes", (uint64_t)1024).kv("samples", kHeaderSamples);
  write_header_points(j, h.vs_k);
  j.close('}').key("vs_nodes").open('{').kv("k", (uint64_t)8).kv("samples", kHeaderSamples);
  write_header_points(j, h.vs_nodes);
  j.close('}').kv("fanout_exceeds_bier256", h.exceeds).close('}').close('}');
  std::ofstream out(path);
  out << j.text() << "\n";
  if (!out) throw std::runtime_error("cannot write " + path);
}

// ---- Renderer and summary ---------------------------------------------------------------------
std::string python_for(const Options &o) {
  if (!o.python.empty()) return o.python;
  if (const char *e = std::getenv("FANOUT_REPORT_PYTHON"); e && *e) return e;
  std::string def = FANOUT_REPORT_PYTHON;
  // find_program() leaves <VAR>-NOTFOUND when CMake saw no python3: try PATH at run time.
  if (def.empty() || def.find("NOTFOUND") != std::string::npos) return "python3";
  return def;
}

std::string script_for() {
  if (const char *e = std::getenv("FANOUT_REPORT_SCRIPT"); e && *e) return e;
  return FANOUT_REPORT_SCRIPT;
}

// <python> <script> <out>, its output on our stderr (stdout carries the summary). "" or the problem.
std::string render(const Options &o) {
  std::string python = python_for(o), script = script_for();
  if (access(script.c_str(), R_OK) != 0) return "renderer " + script + " not found (set FANOUT_REPORT_SCRIPT)";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, 2, 1);
  std::vector<std::string> argv = {python, script, o.out};
  std::vector<char *> cargv;
  for (const std::string &a : argv) cargv.push_back(const_cast<char *>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return "cannot run " + python + ": " + std::strerror(rc);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return python + " " + script + " " + o.out + " failed (" + exit_reason(status) + ")";
}

std::string run_status(const Run &r) {
  if (r.ok) return "ok";
  if (!r.present) return "MISSING: " + (r.failures.empty() ? std::string("no result") : r.failures[0]);
  return "FAILED: " + (r.failures.empty() ? std::string("exit 1") : r.failures[0]);
}

std::string workload_table(const WorkloadResult &w, const std::vector<std::string> &modes) {
  std::string t = fmt("%s (%s): %s\n", w.name.c_str(), w.title.c_str(), w.description.c_str());
  if (w.first)
    t += fmt("  %s, %s, %.2f receivers per message\n", counted(w.first->messages_total, "message").c_str(),
             counted(w.first->deliveries_expected, "delivery", "deliveries").c_str(), w.first->mean_receivers);
  t += fmt("  %-8s %21s %12s %17s %10s %16s  %s\n", "mode", "completion p50/p99 us", "makespan us", "sender egress MB",
           "link MB", "ACKs at senders", "status");
  for (size_t m = 0; m < modes.size(); m++) {
    const Run &r = *w.runs[m];
    t += fmt("  %-8s %10.2f / %8.2f %12.2f %17.3f %10.3f %16" PRIu64 "  %s\n", modes[m].c_str(), r.p50 / 1e3,
             r.p99 / 1e3, r.makespan_ns / 1e3, (double)r.sender_egress_bytes / 1e6, (double)r.link_bytes / 1e6,
             r.acks_at_senders, run_status(r).c_str());
  }
  t += std::string("  identical delivery: ") + (w.identical ? "yes, " : "NO, ") + w.verdict + "\n";
  return t;
}

std::string sweep_lines(const Options &o, const std::vector<uint32_t> &ks,
                        const std::vector<std::vector<const Run *>> &sweep) {
  std::string t = fmt("k sweep: node 0 sends %s of %" PRIu64 " bytes to k receivers (completion p50 us / sender "
                      "egress MB):\n",
                      counted(o.sweep_messages, "message").c_str(), o.sweep_bytes);
  for (size_t i = 0; i < ks.size(); i++) {
    t += fmt("  k = %-5u", ks[i]);
    for (size_t m = 0; m < o.modes.size(); m++) {
      const Run &r = *sweep[i][m];
      t += fmt("  %s %.2f / %.3f%s", o.modes[m].c_str(), r.p50 / 1e3, (double)r.sender_egress_bytes / 1e6,
               r.ok ? "" : (r.present ? " FAILED" : " MISSING"));
    }
    t += "\n";
  }
  return t;
}

std::string header_line(const HeaderAnalysis &h) {
  if (h.exceeds == 0)
    return fmt("header bytes: Fanout's receiver set was never larger than BIER-256's in %" PRIu64 " sets\n", h.sets);
  return fmt("header bytes: Fanout's receiver set was larger than BIER-256's in %" PRIu64 " of %" PRIu64 " sets\n",
             h.exceeds, h.sets);
}

int usage_error(const std::string &problem) {
  std::cerr << "fanout-sim report: " << problem << "\n";
  return kExitUsage;
}

} // namespace

int report_main(int argc, char *argv[]) {
  auto started = std::chrono::steady_clock::now();
  Options o;
  std::string problem;
  Parsed p = parse_args(argc, argv, o, problem);
  if (p == Parsed::kHelp) {
    std::cout << usage();
    return kExitOk;
  }
  if (p == Parsed::kBad) return usage_error(problem);
  Scenario s = local_scenario(o);

  Runner runner{o, self_exe(), o.out + "/runs", {}, {}, {}, 0, ""};
  if (runner.exe.empty()) return usage_error("cannot find its own executable (/proc/self/exe)");
  std::error_code ec;
  std::filesystem::create_directories(runner.runs_dir, ec);
  if (ec)
    return usage_error("--out: cannot create " + runner.runs_dir + ": " + ec.message() + " (got '" + o.out + "')");
  std::vector<uint32_t> ks;
  runner.specs = plan_runs(o, s.nodes, ks);
  if (!runner.run_all()) {
    std::cerr << runner.usage_error << "\n";
    return kExitUsage;
  }

  // Group the runs: workloads first (W x M in order), then the sweep (k x M).
  size_t nm = o.modes.size(), at = 0;
  std::vector<WorkloadResult> ws;
  bool all_ok = true;
  for (const std::string &w : o.workloads) {
    WorkloadResult r{w, workload_title(w), workload_description(w, s), {}, nullptr, false, ""};
    for (size_t m = 0; m < nm; m++, at++) {
      r.runs.push_back(&runner.runs[at]);
      if (!r.first && runner.runs[at].present) r.first = &runner.runs[at];
      all_ok = all_ok && runner.runs[at].ok;
    }
    judge(r, o.modes);
    all_ok = all_ok && r.identical;
    ws.push_back(r);
  }
  std::vector<std::vector<const Run *>> sweep(ks.size());
  for (size_t i = 0; i < ks.size(); i++)
    for (size_t m = 0; m < nm; m++, at++) {
      sweep[i].push_back(&runner.runs[at]);
      all_ok = all_ok && runner.runs[at].ok;
    }
  HeaderAnalysis h = header_analysis(s.seed);

  std::string json_path = o.out + "/report.json";
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  try {
    write_report(json_path, o, s, ws, ks, sweep, h, wall);
  } catch (const std::exception &e) {
    std::cerr << "fanout-sim report: " << e.what() << "\n";
    return kExitFailed;
  }
  std::string render_problem = render(o);

  std::string text;
  for (const WorkloadResult &w : ws) text += workload_table(w, o.modes) + "\n";
  text += sweep_lines(o, ks, sweep) + "\n";
  text += header_line(h);
  if (!render_problem.empty()) {
    text += "renderer: " + render_problem + "; the data is in " + json_path + "\n";
  } else {
    text += "report: " + o.out + "/index.html  (also " + o.out + "/README.md, data in " + json_path + ")\n";
  }
  std::cout << text << std::flush;
  return all_ok && render_problem.empty() ? kExitOk : kExitFailed;
}

} // namespace fanout::sim
