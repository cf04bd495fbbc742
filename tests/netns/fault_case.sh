#!/usr/bin/env bash
# One fault-injection case (label fault) for the udp backend across network namespaces:
#
#   fault_case.sh CASE NETNS_CLUSTER_SH FANOUT FANOUT_IMPAIR
#
# CASE: loss_0.1 | loss_1 | loss_10 (percent) | reorder | duplicate | corrupt | corrupt_auth (the same with a group key) |
#       link_cut | flap | relay_crash | loss_1_dpdk | relay_crash_dpdk (_dpdk: nodes 0 and 4 run
#       libfanout's dpdk backend on net_af_packet, netns-cluster.sh --dpdk-nodes 0,4).
# Six hosts (scripts/netns-cluster.sh: one namespace each, veths on a bridge, real kernel UDP),
# F = 2: node 0 sends COUNT messages to 1-5 through relays 1 (for 2, 3) and 4 (for 5);
# tests/netns/fault_node.sh runs each node and injects the case's fault from inside the victim's
# namespace (nftables numgen loss, a fanout-impair relay, `ip link set eth0 down`, SIGKILL).
# Invariants checked on every run:
#   - every live intended receiver got every message exactly once ("received COUNT messages") and
#     byte-identical (each message's FNV-1a 64 equals the sender's);
#   - the sender's completions name exactly the dead receivers (partial_failure: no
#     acknowledgement from nodes <dead>), one line per message, and nothing when none died;
#   - every process's peak RSS stays under a bound (messages held + 64 MiB; 128 MiB on dpdk nodes);
#   - the fault really happened (drops counted, relay counters, fault time before completion);
#   - no namespace is left behind.
# Figures printed: completion time, MB/s, datagrams sent and retransmitted, drops.
# Exit 0: passed, 1: failed (logs printed), 77: not root (skipped).
# corrupt is the exception (ctest WILL_FAIL): Fanout v1 has no end-to-end checksum and the relay
# re-sends a flipped datagram with a valid UDP checksum, so corrupted payload is delivered. The
# script exits 1 exactly when byte-identity is the only broken invariant (the known gap); an
# intact run, or any other broken invariant, exits 0 so that ctest reports the test failed.
set -uo pipefail

[[ $# -eq 4 ]] || { echo "usage: fault_case.sh CASE NETNS_CLUSTER_SH FANOUT FANOUT_IMPAIR" >&2; exit 2; }
case_name=$1 cluster_sh=$2 fanout=$3 impair=$4
here=$(cd "$(dirname "$0")" && pwd)
node_timeout=50
count=2
case "$case_name" in
loss_*) bytes=$((8 * 1024 * 1024)) ;;
*) bytes=$((16 * 1024 * 1024)) ;;
esac
dead=()
transport='{fanout: 2}'
dpdk=()
case "$case_name" in
*_dpdk) dpdk=(--dpdk-nodes "0,4") ;; # the sender and relay 4 on libfanout's dpdk backend (net_af_packet)
esac
case "$case_name" in
loss_0.1 | loss_1 | loss_10 | reorder | duplicate | corrupt | flap | loss_1_dpdk) ;;
corrupt_auth) transport='{fanout: 2, auth_key: "000102030405060708090a0b0c0d0e0f", auth: require}' ;;
link_cut) dead=(4) ;;
relay_crash) dead=(1) ;;
relay_crash_dpdk) dead=(4) ;;
*) echo "fault_case.sh: unknown case '$case_name'" >&2; exit 2 ;;
esac

work=$(mktemp -d -t fanout-fault.XXXXXX)
failures=()
integrity=()
fail() { failures+=("$*"); }
is_dead() { local d; for d in "${dead[@]}"; do [[ $d -eq $1 ]] && return 0; done; return 1; }

uri='{uri}'
if [[ $case_name == reorder || $case_name == duplicate || $case_name == corrupt || $case_name == corrupt_auth ]]; then
  # Nodes 1 and 5 are reached through a fanout-impair relay in their own namespace: the others
  # send to :47200, the relay forwards to the node's socket on :47100 (netns-cluster.sh's address
  # plan: 10.99.0.<id+1>).
  {
    echo "nodes:"
    for i in 0 1 2 3 4 5; do
      if [[ $i -eq 1 || $i -eq 5 ]]; then
        echo "  - {id: $i, address: 10.99.0.$((i + 1)):47200, bind: 10.99.0.$((i + 1)):47100}"
      else
        echo "  - {id: $i, address: 10.99.0.$((i + 1)):47100}"
      fi
    done
    echo "transport: $transport"
  } >"$work/impair.yaml"
  uri="udp:$work/impair.yaml?node={node}"
fi

started=$(date +%s.%N)
"$cluster_sh" --workdir "$work" --timeout "$node_timeout" --nodes 6 --transport "$transport" "${dpdk[@]}" -- \
  "$here/fault_node.sh" '{node}' "$uri" '{workdir}' "$case_name" "$bytes" "$count" "$fanout" "$impair" \
  2>"$work/cluster.err" &
pid=$!
wait "$pid"
rc=$?
if ip netns list 2>/dev/null | grep -Eq "^fo${pid}(sw|h[0-9]+)( |$)"; then
  fail "namespaces left behind: $(ip netns list | grep -E "^fo${pid}" | tr '\n' ' ')"
fi
if [[ $rc -eq 77 ]]; then
  cat "$work/cluster.err"
  rm -rf "$work"
  exit 77
fi

# Exit codes: the sender 0 when nobody died, else 1; a killed relay 137; every other node 0.
exit_of() { sed -n "s/^netns-cluster: node $1 exited \([0-9]*\).*/\1/p" "$work/cluster.err"; }
for i in 0 1 2 3 4 5; do
  want=0
  [[ $i -eq 0 && ${#dead[@]} -gt 0 ]] && want=1
  [[ $case_name == relay_crash* ]] && is_dead "$i" && want=137
  got=$(exit_of "$i")
  [[ ${got:-0} -eq $want ]] || fail "node $i exited ${got:-0}, expected $want"
done

# The sender's summary: checksum, acknowledged count and completions naming exactly the dead.
s0="$work/node0.log"
line=$(grep "^sent $count messages of $bytes bytes (fnv1a64 " "$s0")
sum=$(sed -n 's/^sent .* (fnv1a64 \([0-9a-f]*\)) to nodes 1,2,3,4,5: .*/\1/p' <<<"$line")
[[ -n $sum ]] || fail "node 0: no summary line"
if [[ ${#dead[@]} -eq 0 ]]; then
  grep -q ": $count acknowledged by every receiver, 0 failed$" <<<"$line" || fail "node 0: not every message acknowledged: $line"
  grep -q "^fanout send: " "$s0" && fail "node 0: a completion names a receiver although none died"
else
  names=$(IFS=,; echo "${dead[*]}")
  grep -q ": 0 acknowledged by every receiver, $count failed$" <<<"$line" || fail "node 0: expected $count failed: $line"
  n=$(grep -c "^fanout send: message [0-9]*: partial_failure: no acknowledgement from nodes $names$" "$s0")
  [[ $n -eq $count ]] || fail "node 0: $n of $count completions name exactly node(s) $names"
  others=$(grep "^fanout send: " "$s0" | grep -v "^fanout send: message [0-9]*: partial_failure: no acknowledgement from nodes $names$")
  [[ -z $others ]] || fail "node 0: other completions: $others"
fi

# Every live receiver: COUNT messages exactly once, each with the sender's checksum.
for i in 1 2 3 4 5; do
  log="$work/node$i.log"
  if is_dead "$i"; then
    # Mid-message: the fault hit before the first message was complete.
    got=$(grep -c "^message [0-9]*: " "$log")
    [[ $got -lt $count ]] || fail "node $i (dead) received all $got messages: the fault was not mid-message"
    continue
  fi
  grep -q "^received $count messages, $((count * bytes)) bytes from nodes 0$" "$log" ||
    fail "node $i: not exactly $count messages: $(grep '^received' "$log")"
  for ((m = 1; m <= count; m++)); do
    if ! grep -q "^message $m: $bytes bytes from node 0 (fnv1a64 $sum)$" "$log"; then
      if grep -q "^message $m: $bytes bytes from node 0 " "$log"; then
        integrity+=("node $i: message $m differs from the sender's (checksum $(sed -n "s/^message $m: .*(fnv1a64 \([0-9a-f]*\))$/\1/p" "$log") != $sum)")
      else
        fail "node $i: message $m missing"
      fi
    fi
  done
done

# Memory: peak RSS under (message bytes a node holds) + 64 MiB (dpdk nodes: + 128 MiB).
for i in 0 1 2 3 4 5; do
  rss=$(sed -n 's/^fault-node: peak_rss_kb \([0-9]*\)$/\1/p' "$work/node$i.log" | tail -1)
  if [[ -z $rss ]]; then
    is_dead "$i" && [[ $case_name == relay_crash* ]] && continue
    fail "node $i: no peak RSS printed"
    continue
  fi
  held=$bytes
  [[ $i -eq 0 ]] || held=$((count * bytes))
  extra=64 # MiB: code, socket buffers, the transport's tables
  [[ ${#dpdk[@]} -gt 0 && ($i -eq 0 || $i -eq 4) ]] && extra=128 # + DPDK's EAL memory (-m 512, pages touched)
  limit=$(((held + extra * 1024 * 1024) / 1024))
  [[ $rss -le $limit ]] || fail "node $i: peak RSS $rss kB above $limit kB"
  rss_list+="node$i=${rss}kB "
done

# The fault really happened.
case "$case_name" in
loss_*)
  for i in 1 5; do
    d=$(sed -n 's/^fault-node: nft dropped \(.*\) (in out)$/\1/p' "$work/node$i.log")
    read -r din dout <<<"${d:-0 0}"
    [[ $((din + dout)) -gt 0 || $case_name == loss_0.1 ]] || fail "node $i: nftables dropped nothing"
    drops+="node$i in $din out $dout; "
  done
  ;;
reorder | duplicate | corrupt | corrupt_auth)
  for i in 1 5; do
    c=$(sed -n 's/^fault-node: impair: .*: \(received .*\)$/\1/p' "$work/node$i.log")
    [[ -n $c ]] || fail "node $i: no fanout-impair counters"
    key=$case_name
    [[ $key == reorder ]] && key=reordered
    [[ $key == duplicate ]] && key=duplicated
    [[ $key == corrupt || $key == corrupt_auth ]] && key=corrupted
    n=$(sed -n "s/.* $key \([0-9]*\).*/\1/p" <<<"$c")
    [[ ${n:-0} -gt 0 ]] || fail "node $i: fanout-impair $key nothing ($c)"
    drops+="node$i: $c; "
  done
  ;;
link_cut | flap | relay_crash | relay_crash_dpdk)
  v=1
  [[ $case_name == link_cut || $case_name == relay_crash_dpdk ]] && v=4
  grep -q "^fault-node: ${case_name%_dpdk} at " "$work/node$v.log" || fail "node $v: the fault was not injected"
  ;;
esac

elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
figures=$(grep -A1 "^sent $count messages" "$s0" | tail -1 | sed 's/^ *//')
echo "fault case $case_name: sender: $figures"
grep "^message [0-9]*: .* ok in " "$s0" | sed "s/^/fault case $case_name: sender: /"
grep "^message [0-9]*: .* partial_failure in " "$s0" | sed "s/^/fault case $case_name: sender: /"
grep -h "^fault-node: .* at " "$work"/node*.log | sed "s/^fault-node: /fault case $case_name: /"
[[ -z ${drops:-} ]] || echo "fault case $case_name: ${drops}"
echo "fault case $case_name: peak RSS ${rss_list:-}"

report_failures() {
  printf '  %s\n' "$@"
  for f in "$work"/node*.log "$work"/cluster.err; do
    [[ -f "$f" ]] || continue
    echo "--- $f"
    head -n 40 "$f"
  done
  echo "files kept in $work"
}
if [[ $case_name == corrupt ]]; then
  # WILL_FAIL in ctest: exit 1 only for the known gap (byte-identity alone broken).
  if [[ ${#failures[@]} -eq 0 && ${#integrity[@]} -gt 0 ]]; then
    echo "fault case corrupt: EXPECTED FAILURE after ${elapsed} s (Fanout v1 has no end-to-end checksum):"
    printf '  %s\n' "${integrity[@]}"
    rm -rf "$work"
    exit 1
  fi
  echo "fault case corrupt: UNEXPECTED after ${elapsed} s: $([[ ${#failures[@]} -eq 0 ]] && echo 'every message intact (the test expects the known gap; update it)' || echo 'other invariants broken:')"
  [[ ${#failures[@]} -eq 0 ]] || report_failures "${failures[@]}" "${integrity[@]}"
  exit 0
fi
failures+=("${integrity[@]}")
if [[ ${#failures[@]} -gt 0 ]]; then
  echo "fault case $case_name: FAILED after ${elapsed} s:"
  report_failures "${failures[@]}"
  exit 1
fi
echo "fault case $case_name: passed in ${elapsed} s"
rm -rf "$work"
exit 0
