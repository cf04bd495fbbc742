#!/usr/bin/env bash
# Set up and run Fanout's main job: fanout-sim's default scenario, a 16-node cluster of simulated
# Fanout NICs (Verilated RTL shell + HLS kernels, clock by clock) doing reliable multicast for
# DeepSeek-V3-shaped MoE token dispatch, with the summary of what arrived where and when.
# Extra arguments go to fanout-sim (e.g. --mode port, --nodes 32, --json; --help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/fanout-ccache}"
cmake --preset default >/dev/null
cmake --build --preset default --target fanout-sim fanout >/dev/null
exec build/default/sim/fanout-sim "$@"
