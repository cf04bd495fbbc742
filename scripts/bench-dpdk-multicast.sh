#!/usr/bin/env bash
# bench-dpdk-multicast.sh: DPDK's examples/ipv4_multicast vs the fanout-dp daemon, one forwarding
# lcore each, same virtual devices, same frames, measured the same way (DPDK telemetry
# /ethdev/stats). docs/performance.md, "Software data path (DPDK)".
#
#   scripts/bench-dpdk-multicast.sh [BUILD_DIR] [SECONDS_PER_POINT] [REPEATS]
#   (defaults: build/h-bench 2 3; BUILD_DIR must hold host/fanout-dp/fanout-dp and
#    bench/fanout-dp-bench; env K="1 2 4 8 15", PAYLOADS="64 256 1024"; 4096 B frames do not
#    fit ipv4_multicast's 2 KiB packet mbufs and net_pcap infinite_rx refuses chained RX mbufs)
#
# ipv4_multicast is built at run time from the dpdk-doc sources (/usr/share/dpdk/examples) in a
# temporary directory with its own Makefile (pkg-config libdpdk); its sources are never kept.
# Two run-time edits of that temporary copy (forwarding code untouched): see below.
# Its group table maps 224.0.0.(100+m) to port mask m for m = 1..15 (ports 0..3 only); the copy
# in the temp dir gets two more entries (224.0.0.120 -> 0xFF, 224.0.0.121 -> 0x7FFF) so that k = 8
# and 15 exist; its forwarding code is not touched. One lcore polls at most 15 ports (-q < 16), so
# k <= 15 here.
#
# Both programs: `-l 0` (one lcore), `--no-huge -m 512 --no-pci --no-shconf`, port 0 =
# net_pcap0,rx_pcap=IN,infinite_rx=1 (input; TX drops), ports 1.. = net_pcap with an empty
# rx_pcap (no input; TX drops and frees: net_pcap without tx_* args). Outputs:
#   ipv4_multicast: k ports 0..k-1 (a copy per port of the group's mask; port 0 included).
#   fanout-dp:      min(k,4) ports 0.. (the engine drives at most 4), k destinations routed
#                   round-robin over them; tree mode F = max(k,2): k direct copies.
# Input: the same Fanout DATA frame bytes (fanout-dp-bench --write-pcap: one message, 64
# sequences, receiver set of k ids), readdressed to the group (MAC 01:00:5e.., IP dst) for
# ipv4_multicast. Rate: sum of opackets over the ports over SECONDS (after 1 s warm-up), read
# through the telemetry socket; median of REPEATS runs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/h-bench}
SECS=${2:-2}
REPS=${3:-3}
KS=${K:-1 2 4 8 15}
PAYLOADS=${PAYLOADS:-64 256 1024}
DAEMON=$BUILD/host/fanout-dp/fanout-dp
GEN=$BUILD/bench/fanout-dp-bench
EXAMPLE_SRC=/usr/share/dpdk/examples/ipv4_multicast
for f in "$DAEMON" "$GEN"; do
  [ -x "$f" ] || { echo "bench-dpdk-multicast: $f missing (build targets fanout-dp and fanout-dp-bench)" >&2; exit 2; }
done
[ -f "$EXAMPLE_SRC/main.c" ] || { echo "bench-dpdk-multicast: $EXAMPLE_SRC missing (apt-get install dpdk-doc)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/fanout-mcast-bench.XXXXXX)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# 1. Build ipv4_multicast from the dpdk-doc sources in the temp dir.
cp -r "$EXAMPLE_SRC" "$TMP/ipv4_multicast"
sed -i 's/{RTE_IPV4(224,0,0,115), 0xF},/{RTE_IPV4(224,0,0,115), 0xF},\n\t\t{RTE_IPV4(224,0,0,120), 0xFF},\n\t\t{RTE_IPV4(224,0,0,121), 0x7FFF},/' \
  "$TMP/ipv4_multicast/main.c"
# net_pcap does not advertise RTE_ETH_TX_OFFLOAD_MULTI_SEGS (configure fails with it), though its
# TX-drop path frees chains correctly: the copy stops requesting it. fanout-dp's configure_port
# requests it only when offered, so both send the same chains to the same ports.
sed -i 's/\.offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS,/.offloads = 0,/' "$TMP/ipv4_multicast/main.c"
grep -q 'RTE_IPV4(224,0,0,121), 0x7FFF' "$TMP/ipv4_multicast/main.c" && ! grep -q 'RTE_ETH_TX_OFFLOAD_MULTI_SEGS' "$TMP/ipv4_multicast/main.c" || { echo "bench-dpdk-multicast: group table patch failed" >&2; exit 1; }
make -s -C "$TMP/ipv4_multicast" >"$TMP/make.log" 2>&1 || { cat "$TMP/make.log" >&2; exit 1; }
MCAST=$TMP/ipv4_multicast/build/ipv4_multicast

group_of() { # k -> group address
  case $1 in 1) echo 224.0.0.101 ;; 2) echo 224.0.0.103 ;; 4) echo 224.0.0.115 ;; 8) echo 224.0.0.120 ;;
    15) echo 224.0.0.121 ;; *) echo "" ;; esac
}

# Telemetry client: sum of opackets of ports 0..n-1.
cat >"$TMP/tel.py" <<'EOF'
import json, socket, sys
path, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(path)
s.recv(16384)
tot = 0
for p in range(n):
    s.send(("/ethdev/stats,%d" % p).encode())
    tot += json.loads(s.recv(65536).decode())["/ethdev/stats"]["opackets"]
print(tot)
EOF

# Cluster file for the daemon: nodes 0..99, this node 10, parent 1, receivers 20..
{
  echo "nodes:"
  for n in $(seq 0 99); do
    if [ "$n" = 10 ]; then echo "  - {id: $n, address: 10.0.0.$n:47100, mac: 02:00:00:00:00:0a}"
    else echo "  - {id: $n, address: 10.0.0.$n:47100}"; fi
  done
} >"$TMP/cluster.yaml"
"$GEN" --write-pcap "$TMP/empty.pcap" --k 1 --payload 64 --frames 0

RUN=0
# measure NPORTS PROG ARGS...: prints copies/s (opackets of ports 0..NPORTS-1 over SECS).
measure() {
  local nports=$1
  shift
  RUN=$((RUN + 1))
  local prefix=fb$$_$RUN
  export XDG_RUNTIME_DIR=$TMP/run
  mkdir -p "$XDG_RUNTIME_DIR"
  local prog=$1
  shift
  "$prog" --file-prefix "$prefix" "$@" >"$TMP/out.$RUN" 2>&1 &
  PID=$!
  local rundir=$XDG_RUNTIME_DIR/dpdk/$prefix
  [ "$(id -u)" = 0 ] && rundir=/var/run/dpdk/$prefix # root: DPDK ignores XDG_RUNTIME_DIR
  local sock=$rundir/dpdk_telemetry.v2
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  if [ ! -S "$sock" ]; then
    echo "bench-dpdk-multicast: no telemetry socket ($*):" >&2
    cat "$TMP/out.$RUN" >&2
    exit 1
  fi
  sleep 1
  local a b t0 t1
  t0=$(date +%s.%N)
  a=$(python3 "$TMP/tel.py" "$sock" "$nports" 2>/dev/null) || a=""
  sleep "$SECS"
  b=$(python3 "$TMP/tel.py" "$sock" "$nports" 2>/dev/null) || b=""
  t1=$(date +%s.%N)
  if [ -z "$a" ] || [ -z "$b" ]; then # the program exited: report 0 and its last lines
    echo "bench-dpdk-multicast: $prog exited during the run ($*); last lines:" >&2
    tail -5 "$TMP/out.$RUN" >&2
    wait "$PID" 2>/dev/null || echo "  (exit status $?)" >&2
    PID=""
    rm -rf "$rundir"
    echo 0
    return
  fi
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
  rm -rf "$rundir"
  python3 -c "print('%.0f' % (($b - $a) / ($t1 - $t0)))"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

EAL="--no-huge -m 512 --no-pci --no-shconf -l 0 --log-level=error"
printf '%4s %8s %16s %16s %8s\n' k payload "ipv4_mcast Mcps" "fanout-dp Mcps" ratio
for payload in $PAYLOADS; do
  for k in $KS; do
    g=$(group_of "$k")
    [ -n "$g" ] || { echo "bench-dpdk-multicast: k=$k: no group (k in 1 2 4 8 15)" >&2; exit 2; }
    "$GEN" --write-pcap "$TMP/fo.pcap" --k "$k" --payload "$payload"
    "$GEN" --write-pcap "$TMP/mc.pcap" --k "$k" --payload "$payload" --multicast "$g"
    mv_ports=""
    for p in $(seq 1 $((k - 1))); do mv_ports="$mv_ports --vdev net_pcap$p,rx_pcap=$TMP/empty.pcap"; done
    fp=$((k < 4 ? k : 4))
    fv_ports="" plist=0 routes=""
    for p in $(seq 1 $((fp - 1))); do fv_ports="$fv_ports --vdev net_pcap$p,rx_pcap=$TMP/empty.pcap"; plist="$plist,$p"; done
    for i in $(seq 0 $((k - 1))); do routes="$routes${routes:+,}$((20 + i))=$((i % fp))"; done
    mask=$(printf '%x' $(((1 << k) - 1)))
    mres="" fres=""
    for _ in $(seq "$REPS"); do
      # shellcheck disable=SC2086
      mres="$mres $(measure "$k" "$MCAST" $EAL --vdev "net_pcap0,rx_pcap=$TMP/mc.pcap,infinite_rx=1" $mv_ports \
        -- -p "$mask" -q "$k")"
      # shellcheck disable=SC2086
      fres="$fres $(measure "$fp" "$DAEMON" $EAL --vdev "net_pcap0,rx_pcap=$TMP/fo.pcap,infinite_rx=1" $fv_ports \
        -- --node 10 --cluster "$TMP/cluster.yaml" --fanout $((k < 2 ? 2 : k)) --ports "$plist" --route "$routes" \
        --silent-timeout-us 100000000)"
    done
    m=$(echo "$mres" | median)
    f=$(echo "$fres" | median)
    r=$(python3 -c "print('%.2f' % ($f / $m if $m > 0 else 0))")
    printf '%4u %8u %16.2f %16.2f %8s\n' "$k" "$payload" "$(python3 -c "print($m/1e6)")" "$(python3 -c "print($f/1e6)")" "$r"
    echo "RESULT bench=ipv4_multicast-vs-fanout-dp k=$k payload=$payload ipv4_multicast_copies_per_s=$m fanout_dp_copies_per_s=$f ratio=$r runs=\"$mres |$fres\"" >>"$TMP/results"
  done
done
cat "$TMP/results"
