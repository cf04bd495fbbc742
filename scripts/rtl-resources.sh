#!/usr/bin/env bash
# Rough UltraScale+ resources of every RTL module, from yosys `synth_xilinx -family xcup`
# (default parameters), as a Markdown table for docs/rtl.md:
#
#   scripts/rtl-resources.sh            print the table
#   scripts/rtl-resources.sh MODULE     synthesize one module, exit 1 if yosys cannot (ctest)
#
# yosys 0.23 is a rough estimator, not Vivado: LUT counts of wide muxes in particular differ.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkg="$root/rtl/generated/fanout_proto_pkg.sv"
modules=(axis_fifo axis_async_fifo axis_rr_arbiter link_monitor fanout_regs fanout_nic_top)
src_of() { # module -> its file, after the files of the modules it instantiates
  case "$1" in
  fanout_nic_top)
    echo "$root/rtl/axis_async_fifo.sv $root/rtl/axis_rr_arbiter.sv $root/rtl/link_monitor.sv" \
      "$root/rtl/generated/fanout_regs.sv $root/rtl/fanout_nic_top.sv"
    ;;
  *) if [[ -f "$root/rtl/$1.sv" ]]; then echo "$root/rtl/$1.sv"; else echo "$root/rtl/generated/$1.sv"; fi ;;
  esac
}
synth() { # module -> stat text on stdout
  local log stat
  log=$(mktemp)
  stat=$(mktemp)
  # With submodules, `stat -top` ends with a "design hierarchy" section: the whole design, each
  # submodule counted once per instance (count() reads only the last section).
  if ! yosys -p "read_verilog -sv $pkg $(src_of "$1"); synth_xilinx -family xcup -top $1; tee -q -o $stat stat -top $1" >"$log" 2>&1; then
    echo "rtl-resources: yosys could not synthesize $1:" >&2
    grep -iE "error" "$log" >&2 || tail -5 "$log" >&2
    rm -f "$log" "$stat"
    return 1
  fi
  cat "$stat"
  rm -f "$log" "$stat"
}
count() { # stat text, cell regex -> sum over the last section (the whole design)
  awk -v re="$2" '/^=== / { s = 0 } $1 ~ re && $2 ~ /^[0-9]+$/ { s += $2 } END { print s + 0 }' <<<"$1"
}
if [[ $# -eq 1 ]]; then
  stat=$(synth "$1")
  cells=$(awk '/Number of cells/ { n = $4 } END { print n + 0 }' <<<"$stat")
  [[ "$cells" -gt 0 ]] || { echo "rtl-resources: $1 synthesized to no cells" >&2; exit 1; }
  echo "$1: $cells cells (LUT $(count "$stat" '^LUT[1-6]$'), FF $(count "$stat" '^FD'))"
  exit 0
fi
echo "| module | LUT | FF | LUTRAM (RAM32M16/RAM64M) | BRAM | CARRY |"
echo "|---|---:|---:|---:|---:|---:|"
for m in "${modules[@]}"; do
  stat=$(synth "$m")
  echo "| \`$m\` | $(count "$stat" '^LUT[1-6]$') | $(count "$stat" '^FD') | $(count "$stat" '^RAM(32|64)M') | $(count "$stat" '^RAMB') | $(count "$stat" '^CARRY') |"
done
