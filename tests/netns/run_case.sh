#!/usr/bin/env bash
# One tests/netns case: runs scripts/netns-cluster.sh (N namespaces on a bridge, optional nftables
# loss) with the libfanout programs and checks every node's log in the run's folder. Called by
# ctest (tests/netns/CMakeLists.txt has what each case proves):
#
#   run_case.sh CASE NETNS_CLUSTER_SH MOE_DISPATCH REPLICATE_FILE FANOUT
#
# CASE: moe4 | moe4-loss2 | moe6-loss10 | send6-loss10 | replicate3-loss5 | recv-killed | mixed5-dpdk.
# Exit 0: passed, 1: failed (logs printed), 77: not root (skipped). Afterwards no namespace of the
# run may be left (checked); the run's folder is removed when the case passed.
set -uo pipefail

[[ $# -eq 5 ]] || { echo "usage: run_case.sh CASE NETNS_CLUSTER_SH MOE_DISPATCH REPLICATE_FILE FANOUT" >&2; exit 2; }
case_name=$1 cluster_sh=$2 moe=$3 replicate=$4 fanout=$5

# Inner deadline for every node (netns-cluster --timeout): well under the ctest TIMEOUT, so the
# script always ends its nodes and removes its namespaces itself (ctest's timeout is SIGKILL,
# which no cleanup survives).
node_timeout=25

work=$(mktemp -d -t fanout-netns-test.XXXXXX)
failures=()
fail() { failures+=("$*"); }
log() { cat "$work/node$1.log" 2>/dev/null; }

# Runs netns-cluster.sh in the background (its pid names its namespaces: fo<pid>...), waits, and
# checks that none of them is left. Sets $rc.
cluster() {
  local pid
  "$cluster_sh" --workdir "$work" --timeout "$node_timeout" "$@" &
  pid=$!
  wait "$pid"
  rc=$?
  if ip netns list 2>/dev/null | grep -Eq "^fo${pid}(sw|h[0-9]+)( |$)"; then
    fail "namespaces left behind: $(ip netns list | grep -E "^fo${pid}" | tr '\n' ' ')"
  fi
  if [[ $rc -eq 77 ]]; then
    rm -rf "$work"
    exit 77
  fi
}

# moe_dispatch on nodes 0..n-1: every node exited 0 and says OK with nothing corrupt, duplicate,
# unexpected or missing; the node copies posted over all nodes equal the tokens received.
check_moe() {
  local n=$1 copies=0 received=0 i c r
  [[ $rc -eq 0 ]] || fail "netns-cluster exited $rc (a node failed)"
  for ((i = 0; i < n; i++)); do
    grep -q "^node $i: OK$" "$work/node$i.log" || fail "node $i: no 'OK'"
    grep -q "0 corrupt, 0 duplicate, 0 unexpected, 0 missing" "$work/node$i.log" || fail "node $i: not exactly once"
    c=$(sed -n 's/.* posts for \([0-9]*\) node copies.*/\1/p' "$work/node$i.log")
    r=$(sed -n 's/.*received \([0-9]*\) of \([0-9]*\) expected tokens: \([0-9]*\) intact.*/\1 \2 \3/p' "$work/node$i.log")
    read -r got expected intact <<<"${r:-x y z}"
    [[ -n "$c" && "$got" == "$expected" && "$got" == "$intact" ]] || fail "node $i: copies '$c', received '$r'"
    copies=$((copies + ${c:-0}))
    received=$((received + ${got//[^0-9]/0}))
  done
  [[ $copies -gt 0 && $copies -eq $received ]] || fail "node copies posted $copies != tokens received $received"
  echo "netns case $case_name: $copies node copies posted = $received tokens received, each exactly once and intact"
  echo "netns case $case_name: datagrams sent per node: $(grep -ho '[0-9]* datagrams sent' "$work"/node*.log | cut -d' ' -f1 | tr '\n' ' ')"
}

# With --loss: the nftables rules really dropped datagrams (loss.txt from netns-cluster.sh).
check_dropped() {
  local total
  total=$(awk '{s += $2} END {print s + 0}' "$work/loss.txt" 2>/dev/null || echo 0)
  [[ $total -gt 0 ]] || fail "no datagram was dropped (loss.txt: $(cat "$work/loss.txt" 2>/dev/null))"
  echo "netns case $case_name: datagrams dropped by nftables: $total ($(paste -sd' ' "$work/loss.txt"))"
}

started=$(date +%s.%N)
case "$case_name" in
moe4)
  cluster --nodes 4 -- "$moe" '{uri}' --experts 16 --tokens 128 --topk 4
  check_moe 4
  ;;
moe4-loss2)
  cluster --nodes 4 --loss 2 -- "$moe" '{uri}' --experts 16 --tokens 128 --topk 4
  check_moe 4
  check_dropped
  ;;
moe6-loss10)
  cluster --nodes 6 --loss 10 -- "$moe" '{uri}' --experts 24 --tokens 96 --topk 4 --seed 7
  check_moe 6
  check_dropped
  ;;
send6-loss10)
  # One 4 MiB message from node 0 to nodes 1-5; the sender prints its retransmissions.
  cluster --nodes 6 --loss 10 -- sh -c "case {node} in
      0) exec '$fanout' send --uri '{uri}' --to 1-5 --bytes 4M --timeout 20 ;;
      *) exec '$fanout' recv --uri '{uri}' --timeout 20 ;;
    esac"
  [[ $rc -eq 0 ]] || fail "netns-cluster exited $rc"
  sum=$(sed -n 's/^sent 1 message of 4194304 bytes (fnv1a64 \([0-9a-f]*\)) to nodes 1,2,3,4,5: 1 acknowledged by every receiver, 0 failed$/\1/p' "$work/node0.log")
  [[ -n "$sum" ]] || fail "node 0: not acknowledged by every receiver"
  for i in 1 2 3 4 5; do
    grep -q "^message 1: 4194304 bytes from node 0 (fnv1a64 $sum)$" "$work/node$i.log" || fail "node $i: message missing or checksum differs"
  done
  retx=$(sed -n 's/.* \([0-9]*\) retransmitted$/\1/p' "$work/node0.log")
  [[ ${retx:-0} -gt 0 ]] || fail "node 0: no retransmission reported under 10% loss"
  echo "netns case $case_name: $(grep -o '[0-9]* datagrams sent, [0-9]* retransmitted' "$work/node0.log")"
  check_dropped
  ;;
replicate3-loss5)
  # 12 MiB + 5 bytes in 1 MiB chunks from node 0 to nodes 1-3.
  head -c $((12 * 1024 * 1024 + 5)) /dev/urandom >"$work/in.bin"
  cluster --nodes 4 --loss 5 -- "$replicate" '{uri}' --file "$work/in.bin" --out '{workdir}/copy-{node}.bin' --chunk 1M \
    2>"$work/cluster.err"
  # Every node exits 0: the sender only when it holds 3 matching reports, each receiver when its
  # copy on disk matches the sender's checksum (a receiver whose report's last ACK is lost still
  # exits 0 with a warning: the sender's verdict is the one that counts).
  [[ $rc -eq 0 ]] || fail "netns-cluster exited $rc"
  grep -q "3 of 3 replicas match" "$work/node0.log" || fail "node 0: not '3 of 3 replicas match'"
  for i in 1 2 3; do
    grep -q ": match$" "$work/node$i.log" || fail "node $i: no checksum match"
    cmp -s "$work/in.bin" "$work/copy-$i.bin" || fail "node $i: copy differs from the file"
  done
  check_dropped
  ;;
recv-killed)
  # Node 0 sends one 48 MiB message to nodes 1-3; node 3's receiver is SIGKILLed after 0.3 s,
  # before the message is complete. Node 0 must exit 1 naming node 3 only; 1 and 2 get it intact.
  cluster --nodes 4 -- sh -c "case {node} in
      0) exec '$fanout' send --uri '{uri}' --to 1-3 --bytes 48M --timeout 20 ;;
      3) timeout -s KILL 0.3 '$fanout' recv --uri '{uri}' --timeout 20 ;;
      *) exec '$fanout' recv --uri '{uri}' --timeout 20 ;;
    esac" 2>"$work/cluster.err"
  [[ $rc -eq 1 ]] || fail "netns-cluster exited $rc, expected 1 (nodes 0 and 3 fail)"
  grep -q "^netns-cluster: node 0 exited 1;" "$work/cluster.err" || fail "node 0 did not exit 1"
  grep -q "^netns-cluster: node 3 exited 137;" "$work/cluster.err" || fail "node 3 was not killed (exit 137)"
  grep -Eq "^netns-cluster: node [12] exited" "$work/cluster.err" && fail "node 1 or 2 failed"
  grep -q "^fanout send: message 1: partial_failure: no acknowledgement from nodes 3$" "$work/node0.log" ||
    fail "node 0: the completion does not name exactly node 3"
  sum=$(sed -n 's/^sent 1 message of 50331648 bytes (fnv1a64 \([0-9a-f]*\)) to nodes 1,2,3: 0 acknowledged by every receiver, 1 failed$/\1/p' "$work/node0.log")
  [[ -n "$sum" ]] || fail "node 0: no summary with 1 failed"
  for i in 1 2; do
    grep -q "^message 1: 50331648 bytes from node 0 (fnv1a64 $sum)$" "$work/node$i.log" || fail "node $i: message missing or checksum differs"
  done
  grep -q "^message 1:" "$work/node3.log" && fail "node 3 received the whole message before it was killed (not mid-message)"
  echo "netns case $case_name: node 0: $(grep -h "partial_failure" "$work/node0.log")"
  ;;
mixed5-dpdk)
  # A mixed cluster, F = 2: nodes 0 and 3 run the DPDK data path (libfanout's dpdk backend on
  # net_af_packet over their veths), nodes 1, 2 and 4 the udp backend on kernel sockets.
  # Run 1: node 0 (dpdk) sends 4 MiB to 1-4: chunk heads 1 (udp relay to 2) and 3 (dpdk relay to 4).
  # Run 2: node 1 (udp) sends 4 MiB to 0, 2, 3, 4: chunk heads 0 and 3, both dpdk relays.
  for run in 1 2; do
    if [[ $run -eq 1 ]]; then from=0 to=1-4 list=1,2,3,4 bytes=4194304 size=4M; else from=1 to=0,2-4 list=0,2,3,4 bytes=4194304 size=4M; fi
    cluster --nodes 5 --transport '{fanout: 2}' --dpdk-nodes 0,3 -- sh -c "case {node} in
        $from) exec '$fanout' send --uri '{uri}' --to $to --bytes $size --timeout 20 ;;
        *) exec '$fanout' recv --uri '{uri}' --timeout 20 ;;
      esac"
    [[ $rc -eq 0 ]] || fail "run $run: netns-cluster exited $rc"
    sum=$(sed -n "s/^sent 1 message of $bytes bytes (fnv1a64 \([0-9a-f]*\)) to nodes $list: 1 acknowledged by every receiver, 0 failed\$/\1/p" "$work/node$from.log")
    [[ -n "$sum" ]] || fail "run $run: node $from: not acknowledged by every receiver"
    for i in ${list//,/ }; do
      grep -q "^message 1: $bytes bytes from node $from (fnv1a64 $sum)$" "$work/node$i.log" ||
        fail "run $run: node $i: message missing or checksum differs"
    done
    echo "netns case $case_name: run $run: node $from: $(grep -o '[0-9]* datagrams sent, [0-9]* retransmitted' "$work/node$from.log")"
  done
  ;;
*)
  echo "run_case.sh: unknown case '$case_name'" >&2
  rm -rf "$work"
  exit 2
  ;;
esac
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')

if [[ ${#failures[@]} -gt 0 ]]; then
  echo "netns case $case_name: FAILED after ${elapsed} s:"
  printf '  %s\n' "${failures[@]}"
  for f in "$work"/node*.log "$work"/cluster.err; do
    [[ -f "$f" ]] || continue
    echo "--- $f"
    head -n 40 "$f"
  done
  echo "files kept in $work"
  exit 1
fi
echo "netns case $case_name: passed in ${elapsed} s"
rm -rf "$work"
exit 0
