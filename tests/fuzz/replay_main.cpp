// Replay driver: runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer.
//
// Linked with each harness by the main compiler (g++), so the seed corpus and any saved
// reproducer run as an ordinary test on machines without clang, and under the asan preset.
// Usage: <target>_replay <file-or-directory>...  (directories are walked recursively)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace fs = std::filesystem;

namespace {

bool run_file(const fs::path &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // An exact-size heap copy, as libFuzzer passes, so a sanitizer build catches over-reads.
  std::unique_ptr<uint8_t[]> exact(new uint8_t[bytes.size() + (bytes.empty() ? 1 : 0)]);
  std::copy(bytes.begin(), bytes.end(), exact.get());
  LLVMFuzzerTestOneInput(exact.get(), bytes.size());
  return true;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<fs::path> files;
  for (int i = 1; i < argc; i++) {
    fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      for (const fs::directory_entry &e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::is_regular_file(arg, ec)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      return 2;
    }
  }
  // An empty corpus would make the test pass without running anything.
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s <file-or-directory>... (no inputs found)\n", argc > 0 ? argv[0] : "replay");
    return 2;
  }
  std::sort(files.begin(), files.end()); // stable order: a failure names the same file every run
  size_t ok = 0;
  for (const fs::path &p : files) {
    std::fprintf(stderr, "replay: %s\n", p.c_str());
    if (!run_file(p)) return 2;
    ok++;
  }
  std::printf("replayed %zu inputs\n", ok);
  return 0;
}
