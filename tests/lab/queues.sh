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
. tests/lab/lib.bash
lab_begin iperf3

# apply LINE...: the lines through lab apply; what it printed, and its status
apply() {
	printf '%s\n' "$@" >"$T/change.rsc"
	"$ROSFW" lab apply --prefix "$prefix" --dir "$T" "$T/change.rsc" 2>&1
}

"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
out=$(apply '/queue tree print')
check "lab apply without a lab: refused ($out)" "" grep -q "no lab router running" <<<"$out"
if ! timeout 15 "$ROSFW" lab up --prefix "$prefix" --dir "$T" >/dev/null; then
	echo "FAIL: lab up"
	cat "$T/router.log"
	exit 1
fi
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
# step WHAT ANSWER RATE LINE...: the lines through lab apply; the router's
# answer must be ANSWER, wan-upload's counters must go on from where they
# were (in place and through a rebuild alike), and the upload must then run
# at RATE bit/s, within 10%
step() {
	local what=$1 want=$2 rate=$3 out b0 b1 r
	shift 3
	b0=$(queue wan-upload | cut -d' ' -f1)
	out=$(apply "$@")
	check "$what: $want ($out)" "" grep -q "^applied: $want" <<<"$out"
	b1=$(queue wan-upload | cut -d' ' -f1)
	[ "$b0" = 0 ] || check "... wan-upload's counters kept ($b0 -> $b1 bytes)" "" test "$b1" -ge "$b0"
	r=$(upload)
	echo "FIGURE lab-apply.$rate.wire-bps $r"
	check "... the upload at $((rate / 1000)) kbit/s: $((r / 1000)) kbit/s" "" near "$r" "$rate"
}

# new rates for the same queues go into the running ones; a queue removed
# and another added rebuild them
step "max-limit 9M -> 3M" "queues updated in place" 3000000 \
	'/queue tree set [find name=wan-upload] max-limit=3M'
step "max-limit 3M -> 6M" "queues updated in place" 6000000 \
	'/queue tree set [find name=wan-upload] max-limit=6M'
step "bulk replaced by lab-bulk (max-limit 4M)" "queues rebuilt" 4000000 \
	'/queue tree remove [find name=bulk]' \
	'/queue tree add name=lab-bulk parent=wan-upload packet-mark=low-priority limit-at=1M max-limit=4M'
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
