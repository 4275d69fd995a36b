#!/usr/bin/env bash
# bench/live_ab.sh [-r ROUNDS] [-p] BINARY... : bench/live.sh's TCP test
# (iperf3 download, WAN host -> LAN host, 4 s after 1 s omitted) through
# `rosfw lab router` for each binary in turn, ROUNDS times (3), the
# binaries alternating so that the machine's drift hits them alike; prints
# each run and each binary's median. The router on CPU 1, iperf3 on CPU 0,
# as in bench/live.sh; ROSFW_IO passes through (af_xdp, af_packet).
# With -p: `perf stat` on the router during each run: its CPU time
# (task-clock; this VM has no hardware counters) per forwarded segment.
# For comparing two builds of rosfw (before/after a change); the kernel
# side of the comparison is bench/live.sh. Takes /tmp/rosfw-test.lock.
set -u
cd "$(dirname "$0")/.."
rounds=3
perf=""
while getopts "r:p" o; do
	case $o in
	r) rounds=$OPTARG ;;
	p) perf=1 ;;
	*) echo "usage: bench/live_ab.sh [-r ROUNDS] [-p] BINARY..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then
	echo "usage: bench/live_ab.sh [-r ROUNDS] [-p] BINARY..." >&2
	exit 2
fi
for b in "$@"; do
	[ -x "$b" ] || { echo "bench/live_ab.sh: $b is not an executable" >&2; exit 2; }
done
for c in ip iperf3 taskset; do
	command -v $c >/dev/null || { echo "bench/live_ab.sh: SKIP: no $c"; exit 0; }
done
if [ "$(id -u)" != 0 ]; then
	echo "bench/live_ab.sh: SKIP: needs root"
	exit 0
fi
LOCK=/tmp/rosfw-test.lock
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
PY=/usr/bin/python3
PROBE=$PWD/tests/lab/probe.py
T=$(mktemp -d)
ROSFW=$1
. tests/lab/lib.bash
trap 'lab_cleanup; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

one() { # BINARY: "Mbit/s [cycles/segment]"
	ROSFW=$1
	"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
	if ! timeout 20 "$ROSFW" lab up --prefix "$prefix" --dir "$T" >/dev/null; then
		echo "lab up failed" >&2
		cat "$T/router.log" >&2
		return 1
	fi
	local pid
	pid=$(cat "$T/router.pid")
	taskset -pc 1 "$pid" >/dev/null
	iperf3_server 5201 0
	local pp=""
	if [ -n "$perf" ]; then
		perf stat -x, -e task-clock -p "$pid" -o "$T/perf" -- sleep 4.5 &
		pp=$!
	fi
	N lan taskset -c 0 iperf3 -c 203.0.113.1 -p 5201 -R -t 4 -O 1 -J >"$T/tcp.json" 2>&1
	[ -n "$pp" ] && wait "$pp"
	local bps
	bps=$($PY "$PROBE" iperf "$T/tcp.json" 2>/dev/null || echo 0)
	local extra=""
	if [ -n "$perf" ]; then
		local ms segs
		ms=$(awk -F, '$3=="task-clock"{print $1}' "$T/perf")
		# segments: what the router forwarded in 4.5 s is about the goodput's
		# segments over 5 s (1 s omitted + 4 s) at 1448 bytes
		segs=$(awk -v b="$bps" 'BEGIN{printf "%d", b * 5 / 8 / 1448}')
		extra=$(awk -v m="$ms" -v s="$segs" \
			'BEGIN{ if (s > 0) printf " %.0f ns CPU/seg (router busy %.0f%%)", m * 1e6 / s, m / 45 }')
	fi
	lab_cleanup
	echo "$bps$extra"
}

declare -A runs
for r in $(seq "$rounds"); do
	for b in "$@"; do
		out=$(one "$b") || exit 1
		mb=$(awk -v x="${out%% *}" 'BEGIN{printf "%.1f", x / 1e6}')
		echo "round $r $b: $mb Mbit/s${out#"${out%% *}"}"
		runs[$b]="${runs[$b]:-} $mb"
	done
done
for b in "$@"; do
	med=$(tr ' ' '\n' <<<"${runs[$b]}" | grep . | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
	echo "median $b: $med Mbit/s (${runs[$b]# })"
done
