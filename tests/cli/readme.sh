#!/usr/bin/env bash
# The README's commands for the seed's configuration run as written (from a
# directory laid out like the repository) and show what the README says:
# trace gives the seed's VoIP packet the catch-all's low-priority mark on
# its way out of the WAN, and sim --compare runs the seed's queues with
# traffic reaching them (no packet lost for want of a route).
set -u
. "$(dirname "$0")/lib.bash"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$T/w/build"
ln -s "$ROOT/examples" "$T/w/examples"
ln -s "$ROSFW" "$T/w/build/rosfw"
# readme_cmd PREFIX: the README's command that starts with PREFIX, its
# continuation lines joined
readme_cmd() {
	awk -v p="$1" 'index($0, p) == 1 { on = 1 } on { print; if ($0 !~ /\\$/) exit }' "$ROOT/README.md" |
		sed 's/\\$//' | tr '\n' ' '
}
cmd=$(readme_cmd 'build/rosfw trace --config examples/seed-network.rsc')
[ -n "$cmd" ] && pass || fail "the README has no trace of the seed"
out=$(cd "$T/w" && bash -c "$cmd" 2>&1) || fail "the README's trace failed: $cmd: $out"
expect_contains "$out" "result                 forward out:ether1-gateway"
expect_contains "$out" "packet-mark low-priority"

cmd=$(readme_cmd 'build/rosfw sim --config examples/soho.rsc --traffic')
expect_contains "$cmd" "--compare"
out=$(cd "$T/w" && bash -c "$cmd" 2>&1) || fail "the README's sim failed: $cmd: $out"
[ -s "$T/w/report.html" ] && pass || fail "no report.html: $out"
# the same runs as text: B's queues carry the traffic, nothing lost for no route
out=$(cd "$T/w" && bash -c "${cmd/--report html --out report.html/--report text}" 2>&1)
expect_not_contains "$out" "no-route"
expect_contains "$out" "B: examples/seed-network.rsc + examples/seed.rsc"
low=$(awk '/^B: / { b = 1 } b && $1 == "Low-Priority" { print $3; exit }' <<<"$out")
[ "${low:-0}" -gt 0 ] 2>/dev/null && pass || fail "the seed's Low-Priority queue saw no packets: $out"

# the seed alone: its packets find no route, and the report says what to add
out=$(cd "$T/w" && build/rosfw sim --config examples/seed.rsc --lenient \
	--traffic examples/traffic/upload-saturated.json --duration 10s 2>/dev/null)
expect_contains "$out" "router drop no-route"
expect_contains "$out" "--config examples/seed-network.rsc --config examples/seed.rsc"
finish
