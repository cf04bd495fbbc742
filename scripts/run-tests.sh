#!/usr/bin/env bash
# Set up and run every Fanout test: install Debian packages, configure the `ci` preset, build,
# run ctest. Extra arguments go to ctest (e.g. `-L proto`, `-R Aggregator`).
# Then the arm64 step (scripts/arm64-tests.sh): the plain C++ suites cross-built for aarch64 and
# run under qemu-aarch64. It runs when no ctest arguments were given (a filtered run is a quick
# local check); FANOUT_ARM64_TESTS=1 forces it, FANOUT_ARM64_TESTS=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/fanout-ccache}"
cmake --preset ci >/dev/null
cmake --build --preset ci
ctest --preset ci "$@"
arm64="${FANOUT_ARM64_TESTS:-}"
if [[ -z "$arm64" ]]; then
  if [[ $# -eq 0 ]]; then arm64=1; else arm64=0; fi
fi
if [[ "$arm64" == 1 ]]; then
  bash scripts/arm64-tests.sh
fi
