#!/usr/bin/env bash
# Set up and run every Fanout test: install Debian packages, configure the `ci` preset, build,
# run ctest. Extra arguments go to ctest (e.g. `-L proto`, `-R Aggregator`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/fanout-ccache}"
cmake --preset ci >/dev/null
cmake --build --preset ci
ctest --preset ci "$@"
