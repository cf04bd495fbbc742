#!/usr/bin/env bash
# Run one command per node of a small cluster of Linux network namespaces: N hosts, each in its
# own namespace with a veth to a bridge in a "switch" namespace, addresses 10.99.0.<i+1>/24, and
# optional random loss on each host's input from nftables (the netem qdisc is not available in
# this kernel: ../shared/TOOLCHAIN.md). Real kernel sockets, real packets, nothing leaves the
# machine.
#
#   scripts/netns-cluster.sh --nodes 4 [--loss 5] [--port 47100] [--transport '{...}'] \
#       [--dpdk-nodes 0,3] [--timeout 60] [--workdir DIR] -- CMD ARGS...
#
# CMD runs once per node, inside that node's namespace, all at once; in CMD and ARGS these are
# replaced: {node} -> the node id (0..N-1), {cluster} -> the cluster file written for the run,
# {uri} -> udp:<cluster file>?node=<id>, {workdir} -> the run's folder. Nodes named by
# --dpdk-nodes use libfanout's dpdk backend instead: {uri} -> dpdk:<cluster file>?node=<id>&port=0
# with FANOUT_DPDK_EAL set to a DPDK port on the node's own veth (net_af_packet, no hugepages), and
# an nftables rule that keeps the node's kernel from answering the Fanout UDP port (the frames are
# the DPDK data path's: af_packet sees them before the kernel's input hook). Every host's veth has
# the cluster address plan's MAC (02:00:00:00:<id>), the MAC the dpdk nodes address it by. Each node's output goes to
# <workdir>/node<id>.log (printed when a node fails). Different commands per node: run a shell and
# branch on the id, e.g. -- sh -c 'case {node} in 0) fanout send --uri "{uri}" --to 1-3;;
# *) fanout recv --uri "{uri}";; esac'. A node still running after --timeout seconds is killed
# (exit 124). With --loss, the datagrams each node's nftables rule dropped are counted and written
# to <workdir>/loss.txt ("node<id> <dropped>" lines) and summed on the last line of the output.
# Exit status: 0 when every node exited 0, 1 otherwise, 77 when not root (ctest
# SKIP_RETURN_CODE), 2 for bad options. The namespaces (named fo<this script's pid>sw and
# fo<pid>h<id>) and the work folder (unless --workdir was given) are removed on exit, also when
# the script is interrupted (INT, TERM, HUP: the nodes are ended first); only SIGKILL leaves them.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true # bash 5.2: a literal & in ${a//x/y} replacements (URIs)

nodes=4 loss=0 port=47100 transport="" timeout_s=60 workdir="" dpdk_nodes=""
usage() { echo "usage: netns-cluster.sh --nodes N [--loss PCT] [--port P] [--transport YAML] [--dpdk-nodes LIST] [--timeout S] [--workdir DIR] -- CMD..." >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
  --nodes) nodes="$2"; shift 2 ;;
  --loss) loss="$2"; shift 2 ;;
  --port) port="$2"; shift 2 ;;
  --transport) transport="$2"; shift 2 ;;
  --dpdk-nodes) dpdk_nodes="$2"; shift 2 ;;
  --timeout) timeout_s="$2"; shift 2 ;;
  --workdir) workdir="$2"; shift 2 ;;
  --) shift; break ;;
  *) echo "netns-cluster: unknown option '$1'" >&2; usage ;;
  esac
done
[[ $# -gt 0 ]] || { echo "netns-cluster: no command after --" >&2; usage; }
[[ "$nodes" =~ ^[0-9]+$ && "$nodes" -ge 2 && "$nodes" -le 32 ]] || { echo "netns-cluster: --nodes: must be 2..32 (got '$nodes')" >&2; exit 2; }
[[ "$loss" =~ ^[0-9]+$ && "$loss" -le 100 ]] || { echo "netns-cluster: --loss: must be a whole percentage 0..100 (got '$loss')" >&2; exit 2; }
is_dpdk=()
for ((i = 0; i < nodes; i++)); do is_dpdk[i]=0; done
if [[ -n "$dpdk_nodes" ]]; then
  IFS=',' read -r -a _dn <<<"$dpdk_nodes"
  for d in "${_dn[@]}"; do
    [[ "$d" =~ ^[0-9]+$ && "$d" -lt "$nodes" ]] || { echo "netns-cluster: --dpdk-nodes: must list node ids below $nodes (got '$dpdk_nodes')" >&2; exit 2; }
    is_dpdk[d]=1
  done
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "netns-cluster: needs root (ip netns, nft): skipped" >&2
  exit 77
fi

tag="fo$$"             # namespace names unique per run, so tests can run side by side
sw="${tag}sw"
keep_workdir=1
pids=()
if [[ -z "$workdir" ]]; then
  workdir=$(mktemp -d -t fanout-netns.XXXXXX)
  keep_workdir=0
fi
mkdir -p "$workdir"
cleanup() {
  # Nodes still running (interrupted): `timeout` passes TERM on to its command.
  if [[ ${#pids[@]} -gt 0 ]]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  for ((i = 0; i < nodes; i++)); do ip netns del "${tag}h$i" 2>/dev/null || true; done
  ip netns del "$sw" 2>/dev/null || true
  [[ $keep_workdir -eq 1 ]] || rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ip netns add "$sw"
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
ip -n "$sw" link set lo up
cluster="$workdir/cluster.yaml"
{
  echo "nodes:"
  for ((i = 0; i < nodes; i++)); do echo "  - {id: $i, address: 10.99.0.$((i + 1)):$port}"; done
  [[ -z "$transport" ]] || echo "transport: $transport"
} >"$cluster"
for ((i = 0; i < nodes; i++)); do
  h="${tag}h$i"
  ip netns add "$h"
  # veth pair: "eth0" in the host, "p<i>" on the bridge.
  ip link add "${tag}a$i" type veth peer name "${tag}b$i"
  ip link set "${tag}a$i" netns "$h"
  ip link set "${tag}b$i" netns "$sw"
  ip -n "$h" link set "${tag}a$i" name eth0
  ip -n "$sw" link set "${tag}b$i" name "p$i"
  ip -n "$sw" link set "p$i" master br0
  ip -n "$sw" link set "p$i" up
  ip -n "$h" link set eth0 address "$(printf '02:00:00:00:%02x:%02x' $((i >> 8)) $((i & 255)))"
  ip -n "$h" addr add "10.99.0.$((i + 1))/24" dev eth0
  ip -n "$h" link set eth0 up
  if [[ -n "$dpdk_nodes" && ${is_dpdk[i]} -eq 0 ]]; then
    # A veth leaves UDP checksums to the receiving kernel (offload); a DPDK port on af_packet gets
    # the frame as sent, so the senders' kernels must fill them in.
    ip netns exec "$h" ethtool -K eth0 tx off >/dev/null
  fi
  if [[ ${is_dpdk[i]} -eq 1 ]]; then
    # The DPDK data path owns the Fanout port: the kernel drops it (no ICMP port unreachable).
    ip netns exec "$h" nft add table inet fanout_dpdk
    ip netns exec "$h" nft add chain inet fanout_dpdk in '{ type filter hook input priority -10; }'
    ip netns exec "$h" nft add rule inet fanout_dpdk in udp dport "$port" drop
  fi
  ip -n "$h" link set lo up
  if [[ "$loss" -gt 0 ]]; then
    # Random loss of this node's incoming Fanout datagrams (both data and feedback).
    ip netns exec "$h" nft add table inet fanout_loss
    ip netns exec "$h" nft add chain inet fanout_loss in '{ type filter hook input priority 0; }'
    ip netns exec "$h" nft add rule inet fanout_loss in udp dport "$port" numgen random mod 100 '<' "$loss" counter drop
  fi
done

for ((i = 0; i < nodes; i++)); do
  args=()
  uri="udp:$cluster?node=$i"
  [[ ${is_dpdk[i]} -eq 0 ]] || uri="dpdk:$cluster?node=$i&port=0"
  for a in "$@"; do
    a="${a//\{node\}/$i}"
    a="${a//\{cluster\}/$cluster}"
    a="${a//\{uri\}/$uri}"
    a="${a//\{workdir\}/$workdir}"
    args+=("$a")
  done
  eal=""
  [[ ${is_dpdk[i]} -eq 0 ]] || eal="--no-huge -m 512 --no-pci --no-shconf --log-level lib.eal:error --vdev net_af_packet0,iface=eth0"
  FANOUT_DPDK_EAL="$eal" timeout "$timeout_s" ip netns exec "${tag}h$i" "${args[@]}" >"$workdir/node$i.log" 2>&1 &
  pids+=($!)
done
status=0
for ((i = 0; i < nodes; i++)); do
  rc=0
  wait "${pids[$i]}" || rc=$?
  if [[ $rc -ne 0 ]]; then
    status=1
    echo "netns-cluster: node $i exited $rc$([[ $rc -eq 124 ]] && echo ' (timeout)'); its output:" >&2
    sed 's/^/  | /' "$workdir/node$i.log" >&2
  fi
done
pids=()
dropped=0
if [[ "$loss" -gt 0 ]]; then
  : >"$workdir/loss.txt"
  for ((i = 0; i < nodes; i++)); do
    n=$(ip netns exec "${tag}h$i" nft list chain inet fanout_loss in | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    echo "node$i ${n:-0}" >>"$workdir/loss.txt"
    dropped=$((dropped + ${n:-0}))
  done
fi
if [[ $status -eq 0 ]]; then
  echo "netns-cluster: $nodes nodes, loss ${loss}%: every node exited 0"
  # Node 0's last lines: the sender's summary in the example programs.
  tail -n 5 "$workdir/node0.log" | sed 's/^/  node0 | /'
fi
[[ "$loss" -eq 0 ]] || echo "netns-cluster: loss ${loss}%: the nodes' nftables rules dropped $dropped incoming datagrams ($(tr '\n' ' ' <"$workdir/loss.txt" | sed 's/ $//'))"
exit $status
