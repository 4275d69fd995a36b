# Shared by the lab's scripts (tests/lab/*.sh) and bench/live.sh: the lab's namespaces
# ($prefix-wan, -lan, -router), a 10 Mbit/s line in front of the WAN host,
# and the VoIP-under-load measurement. Sourced from the top of the tree;
# needs $prefix and $T (lab_begin sets them for a test).

BUILD=${BUILD:-build}
ROSFW=${ROSFW:-$PWD/$BUILD/rosfw}
PY=${PY:-/usr/bin/python3}
PROBE=${PROBE:-$PWD/tests/lab/probe.py}

N() { local ns=$1; shift; ip netns exec "$prefix-$ns" "$@"; }

# lab_begin NEED...: a lab test needs root, ip netns and each NEED (a
# command, or py:MODULE for a Python module of $PY); without them it says
# SKIP and exits 0. Sets prefix (rosfwt) and T (a scratch directory that
# goes, with the lab, when the script exits).
lab_begin() {
	local need="" c
	for c in ip "$@"; do
		case $c in
		py:*) $PY -c "import ${c#py:}" 2>/dev/null || need="$need python3-${c#py:}" ;;
		*) command -v "$c" >/dev/null || need="$need $c" ;;
		esac
	done
	if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1 || [ -n "$need" ]; then
		echo "SKIP: needs root, ip netns and$need (make deps installs them)"
		echo "ok 0"
		exit 0
	fi
	prefix=rosfwt
	T=$(mktemp -d)
	lab_traps
}

# The lab and the scratch directory go when the script exits, however.
lab_traps() {
	trap 'lab_cleanup; rm -rf "$T"' EXIT
	trap 'exit 1' INT TERM
}

# The test scripts' PASS and FAIL lines, counted in passed and failed.
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "PASS $1"; }
ko() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
check() { # WHAT DETAIL COMMAND...: passes when the command succeeds
	local what=$1 detail=$2
	shift 2
	if "$@"; then ok "$what"; else ko "$what" "$detail"; fi
}

# fcmp A OP B: a floating point comparison (OP as in awk: < <= >= ...)
fcmp() { awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"; }

# Stops every process still running in the lab's namespaces (servers the
# test started: iperf3, irtt ...), by pid, then takes the lab down. A
# process left behind would outlive the namespaces and hold what it
# inherited (the test lock among them).
lab_cleanup() {
	local ns pids
	for ns in router wan lan wifi; do
		pids=$(ip netns pids "$prefix-$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
}

# iperf3_server PORT [CPU]: one iperf3 server on the WAN host for one test
iperf3_server() {
	local pin=()
	[ -n "${2:-}" ] && pin=(taskset -c "$2")
	N wan "${pin[@]}" iperf3 -s -1 -p "$1" >/dev/null 2>&1 &
	sleep 0.3
}

# The "modem": what reaches the WAN host from the router passes a 10 Mbit/s
# token bucket with 150 kB of buffer (120 ms at 10M), on an ifb device fed
# from the WAN host's ingress. line_down takes it away.
line_up() {
	N wan ip link add name ifb0 type ifb &&
		N wan ip link set ifb0 up &&
		N wan tc qdisc add dev ifb0 root tbf rate 10mbit burst 4k limit 150k &&
		N wan tc qdisc add dev eth0 ingress &&
		N wan tc filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 \
			action mirred egress redirect dev ifb0
}
line_down() {
	N wan tc qdisc del dev eth0 ingress 2>/dev/null
	N wan ip link del ifb0 2>/dev/null
}

# voip NAME [CPU]: a VoIP-like flow (irtt: 172-byte datagrams, 50 per second,
# UDP port 12000, which soho.rsc marks high priority) for VOIP_SECS seconds
# (4 unless set: 200 samples, so p99 is the second worst) while two
# iperf3 TCP streams saturate the upload (LAN -> WAN host); prints
# "p50=.. p99=.. max=.. loss=.. n=.." (ms). With CPU, the load generators
# run pinned there. The irtt server must run on the WAN host (voip_server).
voip_server() {
	N wan irtt server -b 0.0.0.0:12000 >/dev/null 2>&1 &
	VOIP_SERVER=$!
	sleep 0.2
}
voip() {
	local pin=()
	[ -n "${2:-}" ] && pin=(taskset -c "$2")
	local secs=${VOIP_SECS:-4}
	iperf3_server 5202 "${2:-}"
	N lan "${pin[@]}" iperf3 -c 203.0.113.1 -p 5202 -P 2 -t $((secs + 2)) >/dev/null 2>&1 &
	local ip=$!
	sleep 1.5
	N lan irtt client -Q -i 20ms -d "${secs}s" -l 172 -o "$T/$1.json" 203.0.113.1:12000 2>"$T/$1.err" || cat "$T/$1.err" >&2
	wait $ip
	$PY "$PROBE" voip "$T/$1.json"
}
