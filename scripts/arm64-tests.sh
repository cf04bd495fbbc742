#!/usr/bin/env bash
# Cross-build Fanout's plain C++ test suites for aarch64 (BlueField DPU Arm cores) and run them
# under qemu-aarch64: installs the cross packages, builds the arm64 sysroot
# (scripts/arm64-sysroot.sh), configures the `arm64` preset, builds only the test programs of
# the labels below and runs `ctest --preset arm64`. Extra arguments go to ctest (e.g. `-L hls`).
# Quiet on success (one summary line); on failure the build or ctest output is printed.
#
# Labels and the test folders that hold them (ctest cannot tell before the build which target
# carries which label: gtest_discover_tests finds the test names by running the built program):
#   proto  tests/proto tests/host       hls   tests/hls
#   fuzz   tests/fuzz (seed replay)     docs  tests/docs
#   dpdk   tests/dpdk host/fanout-dp and every test_*dpdk* program (e.g. tests/driver's
#          test_driver_dpdk), picked up as soon as they are in the build
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --arm64
bash scripts/arm64-sysroot.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/fanout-ccache}"

log=$(mktemp -t fanout-arm64-tests.XXXXXX.log)
trap 'rm -f "$log"' EXIT
run() { # run <what> <command...>: output to the log, shown only on failure
  local what=$1; shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "arm64-tests: $what failed" >&2
    exit 1
  fi
}

run "configure (cmake --preset arm64)" cmake --preset arm64
build=build/arm64
dirs=(tests/proto tests/host tests/hls tests/fuzz tests/docs)
for d in tests/dpdk host/fanout-dp; do
  # A folder is in the build when its CMakeLists.txt was added (and DPDK was found in the sysroot).
  if ninja -C "$build" -t query "$d/all" >/dev/null 2>&1; then
    dirs+=("$d")
  fi
done
targets=("${dirs[@]/%//all}")
mapfile -t -O ${#targets[@]} targets < <(ninja -C "$build" -t targets all |
  sed -n 's/^\(test_[A-Za-z0-9_]*dpdk[A-Za-z0-9_]*\): phony$/\1/p' | LC_ALL=C sort)
run "build (${targets[*]})" cmake --build --preset arm64 --target "${targets[@]}"
run "ctest --preset arm64 (qemu-aarch64)" ctest --preset arm64 "$@"
summary=$(grep -E '^[0-9]+% tests passed' "$log" || true)
labels=$(sed -n '/^Label Time Summary:/,/^$/p' "$log" | sed -n 's/^\([a-z0-9_-]*\) *=.*(\([0-9]*\) tests*).*/\1 \2/p' | paste -sd, - | sed 's/,/, /g')
echo "arm64 (qemu-aarch64): ${summary:-tests passed}; labels: ${labels:-none}"
