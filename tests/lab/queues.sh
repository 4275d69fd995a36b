#!/usr/bin/env bash
# `rosfw lab apply`: a change to the running lab router (examples/soho.rsc
# between the lab's namespaces, prefix rosfwt) goes in as the daemon applies
# one: new parameters for the same queues into the running queues, which
# keep their packets and counters; queues added or removed: a new build that
# takes the old one's packets and counters; a script with an error changes
# nothing. Shown by the upload's rate through the WAN queue tree (iperf3,
# measured on the WAN host's interface) and by the router's counters.
# Needs root, ip netns and iperf3; skipped with a visible message without them.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ROSFW=${ROSFW:-$PWD/$BUILD/rosfw}
PY=/usr/bin/python3
PROBE=$PWD/tests/lab/probe.py
need=""
for c in ip iperf3; do command -v $c >/dev/null || need="$need $c"; done
if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1 || [ -n "$need" ]; then
	echo "SKIP: needs root, ip netns and$need (make deps installs them)"
	echo "ok 0"
	exit 0
fi
prefix=rosfwt
T=$(mktemp -d)
. tests/lab/lib.bash
lab_traps
fcmp() { awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"; }

"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
out=$(printf '/queue tree print\n' >"$T/c.rsc"; "$ROSFW" lab apply --prefix "$prefix" --dir "$T" "$T/c.rsc" 2>&1)
check "lab apply without a lab: refused ($out)" "" grep -q "no lab router running" <<<"$out"
if ! timeout 15 "$ROSFW" lab up --prefix "$prefix" --dir "$T" >/dev/null; then
	echo "FAIL: lab up"
	cat "$T/router.log"
	exit 1
fi

# apply TEXT: the lines of TEXT through lab apply; its output, its status in rc
apply() {
	printf '%s\n' "$@" >"$T/change.rsc"
	"$ROSFW" lab apply --prefix "$prefix" --dir "$T" "$T/change.rsc" 2>&1
}
# the router's line for queue tree NAME once the stats file was written
# again after a change: "BYTES packets=N max-limit=X"
queue() {
	local m
	m=$(stat -c %i "$T/stats" 2>/dev/null)
	for _ in $(seq 20); do
		sleep 0.1
		[ "$(stat -c %i "$T/stats" 2>/dev/null)" != "$m" ] && break
	done
	sed -n "s/^queue\.$1 //p" "$T/stats"
}
# the upload's rate (bit/s on the WAN host's wire, 2 s in the middle of a 4 s
# iperf3 from the LAN host); soho.rsc marks it low-priority, queue bulk
upload() {
	iperf3_server 5201
	N wan $PY "$PROBE" rate eth0 1.5 2 >"$T/rate" &
	local rp=$!
	N lan iperf3 -c 203.0.113.1 -p 5201 -t 4 >/dev/null 2>&1
	wait $rp
	cat "$T/rate"
}
near() { fcmp "$1" '>=' "$(($2 * 9 / 10))" && fcmp "$1" '<=' "$(($2 * 11 / 10))"; }

# new rates for the same queues: in place
out=$(apply '/queue tree set [find name=wan-upload] max-limit=3M')
check "max-limit 9M -> 3M: into the running queues ($out)" "" \
	grep -q "^applied: queues updated in place" <<<"$out"
check "... the router runs max-limit=3M" "$(queue wan-upload)" grep -q "max-limit=3M" <<<"$(queue wan-upload)"
r=$(upload)
echo "FIGURE lab-apply.max-limit-3M.wire-bps $r"
check "... the upload at 3M: $((r / 1000)) kbit/s" "" near "$r" 3000000
b0=$(queue wan-upload | cut -d' ' -f1)
out=$(apply '/queue tree set [find name=wan-upload] max-limit=6M')
check "max-limit 3M -> 6M: into the running queues ($out)" "" \
	grep -q "^applied: queues updated in place" <<<"$out"
b1=$(queue wan-upload | cut -d' ' -f1)
check "... its counters kept ($b0 -> $b1 bytes)" "" test "$b1" -ge "$b0" -a "$b0" -gt 0
r=$(upload)
echo "FIGURE lab-apply.max-limit-6M.wire-bps $r"
check "... the upload at 6M: $((r / 1000)) kbit/s" "" near "$r" 6000000

# a queue removed and another added: a rebuild that carries counters over
b0=$(queue wan-upload | cut -d' ' -f1)
out=$(apply '/queue tree remove [find name=bulk]' \
	'/queue tree add name=lab-bulk parent=wan-upload packet-mark=low-priority limit-at=1M max-limit=4M')
check "bulk replaced by lab-bulk (max-limit 4M): the queues rebuilt ($out)" "" \
	grep -q "^applied: queues rebuilt" <<<"$out"
b1=$(queue wan-upload | cut -d' ' -f1)
check "... wan-upload's counters carried over ($b0 -> $b1 bytes)" "" test "$b1" -ge "$b0" -a "$b0" -gt 0
r=$(upload)
echo "FIGURE lab-apply.rebuilt-4M.wire-bps $r"
check "... the upload at lab-bulk's 4M: $((r / 1000)) kbit/s" "" near "$r" 4000000
check "... and lab-bulk counted it" "$(queue lab-bulk)" \
	test "$(queue lab-bulk | cut -d' ' -f1)" -gt 1000000

# bad input: refused, nothing changed
out=$(apply '/queue tree set [find name=wan-upload] max-limit=2M' \
	'/queue tree set [find name=wan-upload] max-limit=bogus')
rc=$?
check "a script with an error: refused with its line ($out)" "" \
	test $rc = 1 -a -n "$(grep '^error: .*line 2' <<<"$out")"
check "... and nothing changed: max-limit=6M still" "$(queue wan-upload)" \
	grep -q "max-limit=6M" <<<"$(queue wan-upload)"
out=$(apply '/ip firewall filter add chain=forward comment=lab-apply')
check "a firewall change leaves the queues alone ($out)" "" \
	grep -q "^applied: queues unchanged" <<<"$out"
our=$(cat "$T/router.pid")
kill -0 "$our" 2>/dev/null && ok "the router runs on" || ko "the router runs on" "$(cat "$T/router.log")"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ] || { echo "--- router log"; cat "$T/router.log"; exit 1; }
echo "ok $passed"
