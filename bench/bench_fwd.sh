#!/usr/bin/env bash
# 64-byte UDP packets per second forwarded by `rosfw run`, --io af_packet
# against --io af_xdp, on the same veth lab (namespaces rosfwxb-*): a LAN
# host floods 16 UDP flows at the router (bench/udpflood, pinned to core 0),
# the router (pinned to core 1) runs examples/soho.rsc without its queue
# tree (shaping to 9M would be all it measured: filter, mangle, conntrack
# and masquerade still run), and what the WAN host's interface receives is
# counted. RUNS rounds (3) of SECS seconds (5), the backends alternating
# (IOS: which, "af_packet af_xdp"; QUEUES: the LAN veth's queues, 1; the
# flood, sent past the qdisc from core 0, lands on one of them); prints
# each run and the median. Needs root: run it as
#   flock /tmp/rosfw-test.lock make bench-fwd
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROSFW=${ROSFW:-$PWD/$BUILD/rosfw}
FLOOD=$PWD/$BUILD/bench/udpflood
SECS=${SECS:-5}
RUNS=${RUNS:-3}
IOS=${IOS:-af_packet af_xdp}
if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: bench_fwd needs root and ip netns"
	exit 0
fi
P=rosfwxb
T=$(mktemp -d)
. tests/lab/twohosts.bash
sink_pid=
cleanup() {
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
	wait 2>/dev/null
	twohosts_down
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
twohosts_down
twohosts_up "${QUEUES:-1}"
# a socket on port 9 that never reads: the WAN host drops there, quietly
ip netns exec $P-w python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9)); time.sleep(3600)' &
sink_pid=$!

"$ROSFW" --db "$T/r.db" exec '/ip service set api disabled=yes' '/queue tree remove [find]' >/dev/null

start() {
	router_start "$1" taskset -c 1
	sleep 1
	# the router resolves the WAN host before the flood
	ip netns exec $P-l python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"x", ("203.0.113.1", 9)); time.sleep(0.1)'
}
rx() { ip netns exec $P-w cat /sys/class/net/eth0/statistics/rx_packets; }

mac=$(ip -n $P-r link show e2 | awk '/link\/ether/ { print $2 }')
declare -A res
for run in $(seq "$RUNS"); do
	for io in $IOS; do
		start $io
		mode=$(sed -n 's/^rosfw: e2: //p' "$T/router.log" | head -1)
		a=$(rx)
		out=$(ip netns exec $P-l taskset -c 0 "$FLOOD" eth0 "$mac" 192.168.88.10 203.0.113.1 "$SECS")
		b=$(rx)
		router_stop
		offered=$(awk '{ print $4 }' <<<"$out")
		fwd=$(((b - a) / SECS))
		res[$io]="${res[$io]:-} $fwd"
		printf '%-9s run %d: offered %8d pps, forwarded %8d pps (%d%%)  %s\n' $io "$run" \
			"$offered" "$fwd" $((fwd * 100 / (offered ? offered : 1))) "${mode:+($mode)}"
	done
done
med() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
p=$(med "${res[af_packet]:-}")
x=$(med "${res[af_xdp]:-}")
if [ -n "$p" ] && [ -n "$x" ]; then
	echo "median: af_packet $p pps, af_xdp $x pps, af_xdp/af_packet $(awk -v a="$x" -v b="$p" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
else
	echo "median: $IOS ${p:-$x} pps"
fi
