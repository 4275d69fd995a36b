#!/usr/bin/env bash
# The live router: rosfw on veth interfaces between hosts in network
# namespaces of their own (prefix rosfwt), with the default configuration
# (examples/soho.rsc), through `rosfw lab up` and `rosfw lab test`. Needs
# root and `ip netns`; skipped with a visible message without them. The
# namespaces go away on exit, failed or not; nothing outside them is touched.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ROSFW=${ROSFW:-$PWD/$BUILD/rosfw}
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: needs root and ip netns"
	echo "ok 0"
	exit 0
fi
prefix=rosfwt
T=$(mktemp -d)
cleanup() {
	"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# a lab left over by a killed run
"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
if ! timeout 15 "$ROSFW" lab up --prefix "$prefix" --dir "$T"; then
	echo "FAIL: lab up"
	exit 1
fi
out=$(timeout 40 "$ROSFW" lab test --prefix "$prefix" --dir "$T")
rc=$?
echo "$out"
if [ $rc != 0 ]; then
	echo "--- router log"
	cat "$T/router.log"
	echo "--- router counters"
	grep -v ' 0$' "$T/stats"
	exit 1
fi
echo "ok $(grep -c '^PASS' <<<"$out")"
