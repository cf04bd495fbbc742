// The `fanout` command line: subcommands as functions over an argument vector and two streams,
// so tests run them in-process. Each returns the process exit code.
#ifndef FANOUT_CLI_CLI_HPP
#define FANOUT_CLI_CLI_HPP

#include <iosfwd>
#include <string>
#include <vector>

namespace fanout {
namespace cli {

// Exit codes shared by the subcommands.
constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1; // a delivery or consistency check failed (or a transfer did)
constexpr int kExitUsage = 2;       // bad command line: one line on stderr says what

// args: everything after the program name (the subcommand first).
int run(const std::vector<std::string> &args, std::ostream &out, std::ostream &err);
// args: everything after `plan` / `demo`.
int run_plan(const std::vector<std::string> &args, std::ostream &out, std::ostream &err);
int run_demo(const std::vector<std::string> &args, std::ostream &out, std::ostream &err);
// Through libfanout (without it they report that they are not built): args after `send` / ...
int run_send(const std::vector<std::string> &args, std::ostream &out, std::ostream &err);
int run_recv(const std::vector<std::string> &args, std::ostream &out, std::ostream &err);
int run_bench(const std::vector<std::string> &args, std::ostream &out, std::ostream &err);
// `fanout card` over XRT (without libfanout it reports that it is not built): args after `card`.
int run_card(const std::vector<std::string> &args, std::ostream &out, std::ostream &err);

} // namespace cli
} // namespace fanout

#endif
