#!/usr/bin/env bash
# Set up and run Fanout's main job: `fanout-sim report` on the default scenario, a 16-node cluster
# of simulated Fanout NICs (Verilated RTL shell + HLS kernels, clock by clock) running AI-cluster
# traffic — DeepSeek-V3-shaped MoE token dispatch, the broadcast half of AllReduce, checkpoint
# replication, and a sweep over the receiver count k — in four modes on identical traffic:
# unicast fan-out, BIER, Fanout tree and Fanout port. It prints a summary per workload and
# writes report/index.html and report/README.md with tables and plots (docs/report.md).
# Extra arguments go to `fanout-sim report` (e.g. --out DIR, --jobs N, --nodes 32; --help lists
# them). One run in one mode: build/default/sim/fanout-sim [--mode port ...].
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/fanout-ccache}"
cmake --preset default >/dev/null
cmake --build --preset default --target fanout-sim fanout >/dev/null
exec build/default/sim/fanout-sim report --out report "$@"
