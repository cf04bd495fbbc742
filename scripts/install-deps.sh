#!/usr/bin/env bash
# Install every Debian 12 package Fanout uses. Idempotent and quiet on success:
# packages already present are skipped (no `apt-get update` when nothing is missing),
# apt's output goes to a log that is printed only if something fails.
#
#   scripts/install-deps.sh            everything (build, tests, simulator, DPDK, XRT, arm64, tools)
#   scripts/install-deps.sh --arm64    only what the arm64 cross build needs (scripts/arm64-tests.sh)
#   scripts/install-deps.sh --list     print the package list and exit (--arm64 --list: that subset)
#
# Needs root (or sudo) only when something is missing.
set -euo pipefail

# Grouped by what uses them; see ../shared/TOOLCHAIN.md for the checked facts behind each.
packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config git python3
  # tests, benchmarks, fuzzing (libFuzzer ships in libclang-rt-14-dev), formatting
  googletest libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev clang-format
  # configuration files (scenario / cluster files)
  libyaml-cpp-dev nlohmann-json3-dev python3-yaml
  # hardware simulation (Verilator + SystemC) and RTL tools
  verilator libsystemc-dev yosys iverilog
  # packet capture and inspection
  libpcap-dev tshark python3-scapy
  # software data path (DPDK 22.11) and Alveo host runtime (XRT 2.13)
  dpdk dpdk-dev libdpdk-dev dpdk-doc libxrt-dev libxrt1 uuid-dev
  # reports
  gnuplot-nox python3-matplotlib
  # arm64 (BlueField) cross build and emulation
  crossbuild-essential-arm64 qemu-user
  # multi-host tests in network namespaces
  iproute2 nftables ethtool
  # Tcl (dry run of the Vitis HLS flow scripts)
  tcl
)

# The arm64 cross build (scripts/arm64-tests.sh): compiler, emulator and build tools. Its target
# libraries are not installed but unpacked into a sysroot by scripts/arm64-sysroot.sh, because
# libdpdk-dev:arm64 cannot be installed beside the amd64 one.
arm64_packages=(cmake ninja-build ccache pkg-config crossbuild-essential-arm64 qemu-user tcl)

list=0
for arg in "$@"; do
  case "$arg" in
    --list) list=1 ;;
    --arm64) packages=("${arm64_packages[@]}") ;;
    *) echo "install-deps: unknown argument '$arg' (--arm64, --list)" >&2; exit 2 ;;
  esac
done
if [[ $list -eq 1 ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi

log=$(mktemp -t fanout-install-deps.XXXXXX.log)
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer it up front so the install never prompts.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections >>"$log" 2>&1 || true
if ! { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; } >>"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed installing: ${missing[*]} (log above, kept in $log)" >&2
  exit 1
fi
rm -f "$log"
