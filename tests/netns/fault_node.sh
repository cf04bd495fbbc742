#!/bin/sh
# One node of a tests/netns fault case (fault_case.sh runs it on every node through
# scripts/netns-cluster.sh, inside the node's namespace, as root):
#
#   fault_node.sh NODE URI WORKDIR CASE BYTES COUNT FANOUT FANOUT_IMPAIR
#
# Node 0 sends COUNT messages of BYTES to nodes 1-5 (F = 2 in the cluster file: node 1 relays for
# 2 and 3, node 4 for 5) and touches WORKDIR/sender.done when `fanout send` exits. Every other node
# runs `fanout recv --count 0` (every message it gets, each printed with its checksum) until 1 s
# after sender.done, then prints its peak RSS and ends it with SIGTERM. The case's victims inject
# the fault from inside their namespace:
#   loss_0.1|loss_1|loss_10  nodes 1 (a relay) and 5: nftables drops that percentage of Fanout
#                    datagrams (numgen random mod 1000 < 1, 10, 100) in both directions (input and output hooks), counted
#   reorder|duplicate|corrupt  nodes 1 and 5: a fanout-impair relay on port 47200 in front of the
#                    node's socket (the cluster file sends to :47200, the node binds :47100)
#   link_cut         node 4 (relay for 5): eth0 down once 4 MiB arrived, never up again
#   flap             node 1 (relay for 2, 3): eth0 down once 4 MiB arrived, up 300 ms later
#   relay_crash      node 1: its fanout process SIGKILLed once 4 MiB arrived
#   loss_1_dpdk      loss_1 with nodes 0 and 4 on the dpdk backend (netns-cluster.sh --dpdk-nodes)
#   relay_crash_dpdk node 4 (a dpdk relay, for 5) SIGKILLed once 4 MiB arrived
# The trigger is the victim's eth0 rx_bytes, so the fault hits mid-message on any machine speed.
set -u
node=$1 uri=$2 W=$3 case_name=$4 bytes=$5 count=$6 fanout=$7 impair=$8
port=47100
trigger=$((4 * 1024 * 1024))

# Waits until eth0 has received $1 bytes (at most ~20 s).
wait_rx() {
  i=0
  while [ "$(cat /sys/class/net/eth0/statistics/rx_bytes)" -lt "$1" ] && [ $i -lt 2000 ]; do
    sleep 0.01
    i=$((i + 1))
  done
}
now() { date +%s.%N; }

if [ "$node" -eq 0 ]; then
  sleep 0.5 # the receivers' nftables rules and relays are in place before the first packet
  echo "fault-node: send starts at $(now)"
  /usr/bin/time -f 'fault-node: peak_rss_kb %M' "$fanout" send --uri "$uri" --to 1-5 --bytes "$bytes" \
    --count "$count" --timeout 40 --verbose
  rc=$?
  echo "fault-node: send ended at $(now), exit $rc"
  : >"$W/sender.done"
  exit $rc
fi

victim=0
case "$case_name" in
loss_*) [ "$node" -eq 1 ] || [ "$node" -eq 5 ] && victim=1 ;;
reorder | duplicate | corrupt | corrupt_auth) [ "$node" -eq 1 ] || [ "$node" -eq 5 ] && victim=1 ;;
link_cut | relay_crash_dpdk) [ "$node" -eq 4 ] && victim=1 ;;
flap | relay_crash) [ "$node" -eq 1 ] && victim=1 ;;
esac

ipid=""
if [ $victim -eq 1 ]; then
  case "$case_name" in
  loss_*)
    case "$case_name" in
    loss_0.1) permille=1 ;;
    loss_1 | loss_1_dpdk) permille=10 ;;
    loss_10) permille=100 ;;
    *) echo "fault-node: unknown loss case $case_name"; exit 3 ;;
    esac
    if ! { nft add table inet fault &&
      nft add chain inet fault in '{ type filter hook input priority 0; }' &&
      nft add chain inet fault out '{ type filter hook output priority 0; }' &&
      nft add rule inet fault in udp dport $port numgen random mod 1000 '<' "$permille" counter drop &&
      nft add rule inet fault out udp dport $port numgen random mod 1000 '<' "$permille" counter drop; }; then
      echo "fault-node: nft failed"
      exit 3
    fi
    ;;
  reorder | duplicate | corrupt | corrupt_auth)
    ip=10.99.0.$((node + 1))
    case "$case_name" in
    reorder) opts="--reorder 0.05 --reorder-delay-us 3000" ;;
    duplicate) opts="--duplicate 0.10" ;;
    corrupt | corrupt_auth) opts="--corrupt 0.01" ;;
    esac
    # shellcheck disable=SC2086
    "$impair" --route "$ip:47200=$ip:$port" $opts --seed "$node" >"$W/impair$node.log" 2>&1 &
    ipid=$!
    ;;
  esac
fi

"$fanout" recv --uri "$uri" --count 0 --timeout 45 &
rpid=$!

if [ $victim -eq 1 ]; then
  case "$case_name" in
  link_cut | flap | relay_crash | relay_crash_dpdk)
    wait_rx $trigger
    echo "fault-node: ${case_name%_dpdk} at $(now) after $(cat /sys/class/net/eth0/statistics/rx_bytes) bytes received on eth0"
    case "$case_name" in
    link_cut) ip link set eth0 down ;;
    flap)
      ip link set eth0 down
      sleep 0.3
      ip link set eth0 up
      echo "fault-node: eth0 up again at $(now)"
      ;;
    relay_crash*) kill -KILL $rpid ;;
    esac
    ;;
  esac
fi

i=0
while [ ! -e "$W/sender.done" ] && kill -0 $rpid 2>/dev/null && [ $i -lt 4500 ]; do
  sleep 0.01
  i=$((i + 1))
done
sleep 1
if kill -0 $rpid 2>/dev/null; then
  echo "fault-node: peak_rss_kb $(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$rpid/status)"
  kill -TERM $rpid
fi
wait $rpid
rc=$?
if [ -n "$ipid" ]; then
  kill -TERM "$ipid"
  wait "$ipid"
  sed 's/^/fault-node: impair: /' "$W/impair$node.log"
fi
if [ $victim -eq 1 ] && [ "${case_name#loss_}" != "$case_name" ]; then
  echo "fault-node: nft dropped $(nft list table inet fault | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | paste -sd' ') (in out)"
fi
exit $rc
