#!/usr/bin/env bash
# Set up and run Fanout's main job. Until the cycle-level simulator exists (sim/), the main job
# is `fanout demo`: real packets for three AI-cluster receiver sets, encoded, forwarded hop by hop
# through proto/'s parser and split rules, acknowledged and aggregated back to the sender.
# Extra arguments go to `fanout demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/fanout-ccache}"
cmake --preset default >/dev/null
cmake --build --preset default --target fanout >/dev/null
build/default/host/fanout/fanout demo "$@"
