// fanout: the command-line tool. All logic is in fanout_cli (see fanout/cli/cli.hpp).
#include "fanout/cli/cli.hpp"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return fanout::cli::run(args, std::cout, std::cerr);
}
