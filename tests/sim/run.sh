#!/usr/bin/env bash
# Scenario tests: a scripted capture (NAME.pkts, written to pcaps by mkpcap)
# runs through `rosfw sim` with a configuration; the per-packet verdicts and
# the report must equal NAME.verdicts.jsonl and NAME.report.
# Scenarios: "soho" is examples/soho.rsc; "seed" is the seed guide's own
# configuration (examples/seed.rsc, lenient) on the lab network (examples/seed-network.rsc).
# UPDATE_GOLDEN=1 rewrites the expected files.
set -u
cd "$(dirname "$0")"
B=../../${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok=0
bad=0
run() { # name pkts config-args...
	local name=$1 pkts=$2
	shift 2
	mkdir -p "$tmp/$name"
	"$B/tests/mkpcap" "$pkts" "$tmp/$name" || { echo "FAIL $name: mkpcap"; bad=$((bad + 1)); return; }
	local ins=()
	for f in "$tmp/$name"/*.pcap; do ins+=(--in "$(basename "$f" .pcap)=$f"); done
	if ! "$B/rosfw" sim "$@" "${ins[@]}" --verdicts "$tmp/$name/v.jsonl" \
		--out-dir "$tmp/$name/out" >"$tmp/$name/report" 2>"$tmp/$name/err"; then
		echo "FAIL $name: sim failed"; cat "$tmp/$name/err"; bad=$((bad + 1)); return
	fi
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		cp "$tmp/$name/v.jsonl" "$name.verdicts.jsonl"
		cp "$tmp/$name/report" "$name.report"
	fi
	for f in verdicts.jsonl report; do
		local got=$tmp/$name/v.jsonl
		[ $f = report ] && got=$tmp/$name/report
		if diff -u "$name.$f" "$got" >"$tmp/diff"; then
			ok=$((ok + 1))
		else
			echo "FAIL $name: $f differs"; cat "$tmp/diff"; bad=$((bad + 1))
		fi
	done
}
run soho soho.pkts --config ../../examples/soho.rsc
run seed soho.pkts --config ../../examples/seed-network.rsc --config ../../examples/seed.rsc --lenient
# the point of the two: the seed's catch-all mark (passthrough=yes) overwrites
# the VoIP mark, the corrected configuration keeps it
if grep '"n":1,' soho.verdicts.jsonl | grep -q '"packet_mark":"high-priority"' &&
	grep '"n":1,' seed.verdicts.jsonl | grep -q '"packet_mark":"low-priority"'; then
	ok=$((ok + 1))
else
	echo "FAIL: SIP should be high-priority with soho.rsc and low-priority with the seed's marks"
	bad=$((bad + 1))
fi
echo "ok $ok"
[ "$bad" -eq 0 ]
