#!/usr/bin/env bash
# The side-by-side benchmark (make bench): the same lab (rosfw lab up,
# namespaces rosfwt-*), the same configuration (examples/soho.rsc) in two
# forms, in the same run:
#   rosfw   `rosfw lab router` on the router's veths (the default I/O, auto:
#           AF_XDP there; ROSFW_IO=af_packet for AF_PACKET, TPACKET_V2)
#   kernel  Linux forwarding in the router's namespace, with soho.rsc
#           translated to nftables (bench/kernel/soho.nft) and HTB
#           (bench/kernel/soho-tc.sh), with the veths as they come (no GRO:
#           a veth has no NAPI by default)
#   kernel-gro  the same with GRO turned on on the router's veths (ethtool),
#           the kernel at its best here: it merges the WAN host's segments
#           and forwards 64 KiB at a time, as rosfw's own GRO does
# and for each:
#   tcp   iperf3 TCP download (WAN host -> LAN host: NAT, conntrack, filter,
#         mangle, no queue on that side), goodput, 4 s
#   pps   iperf3 UDP download of 64-byte frames (22-byte payload), as fast as
#         the WAN host can send; packets per second reaching the LAN host
#   voip  p99 round trip of a 50 pps irtt flow for 12 s (600 samples: p99
#         is the sixth worst, not the second as in the tests' 4 s) while 2
#         iperf3 streams saturate the upload (soho.rsc's queue tree, 9M,
#         behind a 10 Mbit/s line)
# Pinning: the router (rosfw's process) on CPU 1, the load generators on CPU
# 0; the kernel forwards in softirq wherever the packet arrives (mostly the
# sender's CPU, 0). Prints a table and the ratios rosfw / kernel and
# rosfw / kernel-gro.
# Takes /tmp/rosfw-test.lock itself (or uses the one it inherited). Needs
# root, ip netns, tc, nft, iperf3, irtt; skipped with a message without them.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROSFW=${ROSFW:-$PWD/$BUILD/rosfw}
PY=/usr/bin/python3
PROBE=$PWD/tests/lab/probe.py
LOCK=/tmp/rosfw-test.lock
need=""
for c in ip tc nft iperf3 irtt taskset ethtool; do command -v $c >/dev/null || need="$need $c"; done
if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1 || [ -n "$need" ]; then
	echo "bench/live.sh: SKIP: needs root, ip netns and$need (make deps installs them)"
	exit 0
fi
# the lab's namespaces are shared with the tests: one user at a time
held=""
for fd in /proc/$$/fd/*; do
	[ "$(readlink "$fd")" = "$LOCK" ] && held=${fd##*/}
done
if [ -n "$held" ]; then
	flock "$held"
else
	exec 9>>"$LOCK"
	flock 9
fi
prefix=rosfwt
T=$(mktemp -d)
. tests/lab/lib.bash
cleanup() {
	lab_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
GEN=0    # the load generators' CPU
export VOIP_SECS=${VOIP_SECS:-12}
ROUTER=1 # rosfw's

tcp() {
	iperf3_server 5201 $GEN
	N lan taskset -c $GEN iperf3 -c 203.0.113.1 -p 5201 -R -t 4 -O 1 -J >"$T/tcp.json" 2>&1
	$PY "$PROBE" iperf "$T/tcp.json" 2>/dev/null || echo 0
}
pps() {
	iperf3_server 5201 $GEN
	N lan $PY "$PROBE" pps eth0 1.5 2 >"$T/pps" &
	local p=$!
	N lan taskset -c $GEN iperf3 -c 203.0.113.1 -p 5201 -u -R -l 22 -b 0 -t 4 >/dev/null 2>&1
	wait $p
	cat "$T/pps"
}
measure() { # NAME: one line of figures
	local t p v
	t=$(tcp)
	p=$(pps)
	line_up
	voip_server
	v=$(voip "voip-$1" $GEN)
	kill "$VOIP_SERVER" 2>/dev/null
	line_down
	printf '%s %s %s %s\n' "$1" "$t" "$p" "$(sed -n 's/.*p99=\([0-9.]*\).*/\1/p' <<<"$v")"
	echo "  $1 voip: $v" >&2
}

"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
up() {
	if ! timeout 20 "$ROSFW" lab up --prefix "$prefix" --dir "$T" >/dev/null; then
		echo "bench/live.sh: lab up failed"
		cat "$T/router.log"
		exit 1
	fi
}

# ---- rosfw ----
up
taskset -pc $ROUTER "$(cat "$T/router.pid")" >/dev/null
r=$(measure rosfw)
grep -E '^(dp|if)\..*(drop|error)' "$T/stats" | grep -v ' 0$' | sed 's/^/  rosfw counter: /' >&2

# ---- the kernel, same lab: the router process goes, the kernel takes over ----
lab_cleanup
up
kill "$(cat "$T/router.pid")"
for _ in $(seq 40); do N router ip link show rosfw0 >/dev/null 2>&1 || break; sleep 0.05; done
K() { N router "$@"; }
K sysctl -qw net.ipv4.ip_forward=1
for i in ether1 ether2 wlan1 all default; do
	K sysctl -qw net.ipv4.conf.$i.rp_filter=0 net.ipv4.conf.$i.arp_ignore=0
done
K ip addr add 203.0.113.2/24 dev ether1
K ip addr add 192.168.88.1/25 dev ether2
K ip addr add 192.168.88.129/25 dev wlan1
K ip route add default via 203.0.113.1
K nft -f bench/kernel/soho.nft
K sh bench/kernel/soho-tc.sh ether1
k=$(measure kernel)
# the kernel at its best on this lab: GRO on the router's veths (a veth
# has none by default; with it, NAPI merges the WAN host's segments and
# the kernel forwards 64 KiB at a time, as rosfw's own GRO does)
for i in ether1 ether2 wlan1; do K ethtool -K $i gro on >/dev/null; done
g=$(measure kernel-gro)

# ---- report ----
date=$(date -u '+%Y-%m-%d %H:%M UTC')
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
echo
echo "live benchmark, $date, $(nproc) x $cpu, Linux $(uname -r), $(git rev-parse --short HEAD 2>/dev/null)"
printf '%-12s %14s %14s %14s\n' "" "TCP Mbit/s" "64B UDP pps" "VoIP p99 ms"
for l in "$r" "$k" "$g"; do
	read -r n a b c <<<"$l"
	printf '%-12s %14.1f %14.0f %14s\n' "$n" "$(awk -v x="$a" 'BEGIN{print x/1e6}')" "$b" "$c"
done
read -r _ ra rb rc <<<"$r"
for l in "$k" "$g"; do
	read -r n ka kb kc <<<"$l"
	awk -v ra="$ra" -v ka="$ka" -v rb="$rb" -v kb="$kb" -v rc="$rc" -v kc="$kc" -v n="$n" 'BEGIN {
	printf "%-12s %14.2f %14.2f %14.2f   (rosfw / %s; VoIP: lower is better)\n", "ratio", ka ? ra / ka : 0,
		kb ? rb / kb : 0, kc ? rc / kc : 0, n }'
done
