#include "fanout/cli/cli.hpp"

#include <ostream>

namespace fanout {
namespace cli {

namespace {
constexpr const char *kUsage = "usage: fanout <command> [options]\n"
                               "  plan   encoding, BIER comparison and replication tree for one receiver set\n"
                               "  demo   three AI-cluster workloads walked packet by packet through proto/\n"
                               "Run `fanout <command> --help` for the command's options.\n";
} // namespace

int run(const std::vector<std::string> &args, std::ostream &out, std::ostream &err) {
  if (args.empty()) {
    err << kUsage;
    return kExitUsage;
  }
  const std::string &command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "plan") return run_plan(rest, out, err);
  if (command == "demo") return run_demo(rest, out, err);
  if (command == "-h" || command == "--help" || command == "help") {
    out << kUsage;
    return kExitOk;
  }
  err << "fanout: unknown command '" << command << "': use plan or demo\n";
  return kExitUsage;
}

} // namespace cli
} // namespace fanout
