#!/usr/bin/env bash
# Runs every test of `make test`: the cmocka unit tests, the golden files,
# the command-line tests and a short run of each fuzz target, then prints
# one closing line "N passed, N failed, N skipped". A shell test that cannot
# run here (no root for the lab, a tool missing) prints a line "SKIP: why"
# and "ok 0"; it shows as SKIP and counts as skipped, neither passed nor
# failed (make test still passes). SHELL_TESTS replaces the list of shell
# tests (tests/cli/runner.sh runs this script on scripts of its own).
set -u
BUILD=${BUILD:-build}
export BUILD
cd "$(dirname "$0")/.."
# leaks of system libraries that rosfw cannot free (tests/lsan.supp)
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
passed=0
failed=0
skipped=0
failures=()
skips=()

# What AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer print
# when they find something (`make asan`); a plain build never prints it.
SAN_REPORT='ERROR: [A-Za-z]*Sanitizer|runtime error:'

# A unit test fails when a cmocka test failed, when cmocka printed no
# summary (the binary died), when the binary exited nonzero (LeakSanitizer
# exits 23 after every cmocka test passed) or when a sanitizer reported.
count_cmocka() { # $1 = output file, $2 = name, $3 = exit status
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "${f:-0}" != 0 ] || [ -z "$p$f" ] || [ "$3" != 0 ] || grep -Eq "$SAN_REPORT" "$1"; then
		[ "${f:-0}" = 0 ] && failed=$((failed + 1))
		failures+=("$2")
		cat "$1"
		[ "$3" != 0 ] && echo "$2: exit status $3"
	fi
}

# The rosfw processes a shell test starts (daemons among them, their stderr
# in a log the test may never show) write sanitizer reports into a
# directory of their own per test, checked after the test and once more at
# the end for reports of processes that were still exiting.
SAN_DIR=$(mktemp -d)
trap 'rm -rf "$SAN_DIR"' EXIT
san_reports() { # $1 = directory: prints the reports found there
	local r
	for r in "$1"/report*; do
		[ -f "$r" ] && grep -Eq "$SAN_REPORT" "$r" && cat "$r"
	done
}

echo "== unit tests"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	out=$(mktemp)
	(cd tests && "../$t") >"$out" 2>&1
	rc=$?
	count_cmocka "$out" "$(basename "$t")" "$rc"
	echo "$(basename "$t"): $(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1 passed/p' "$out" | tail -1)"
	rm -f "$out"
done

echo "== golden and command-line tests"
SHELL_TESTS=${SHELL_TESTS:-$(echo tests/golden/run.sh tests/sim/run.sh tests/sim/traffic.sh tests/cli/*.sh tests/lint/run.sh tests/lab/run.sh tests/lab/queues.sh tests/lab/l2.sh tests/lab/ring.sh tests/lab/ipv6.sh tests/lab/live.sh tests/lab/xdp.sh tests/daemon/run.sh tests/api/run.sh tests/rest/run.sh)}
for t in $SHELL_TESTS; do
	[ -f "$t" ] || continue
	out=$(mktemp)
	sd="$SAN_DIR/$(echo "$t" | tr / _)"
	mkdir -p "$sd"
	if ASAN_OPTIONS="log_path=$sd/report${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
		UBSAN_OPTIONS="log_path=$sd/report${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
		bash "$t" >"$out" 2>&1 && [ -z "$(san_reports "$sd")" ]; then
		p=$(sed -n 's/^ok \([0-9]*\)$/\1/p' "$out" | tail -1)
		why=$(sed -n 's/^SKIP: //p' "$out" | head -1)
		if [ "${p:-1}" = 0 ] && [ -n "$why" ]; then
			skipped=$((skipped + 1))
			skips+=("$t")
			echo "$t: SKIP ($why)"
		else
			passed=$((passed + ${p:-1}))
			echo "$t: ${p:-1} passed${why:+, part skipped ($why)}"
		fi
	else
		p=$(sed -n 's/^ok \([0-9]*\)$/\1/p' "$out" | tail -1)
		passed=$((passed + ${p:-0}))
		failed=$((failed + 1))
		failures+=("$t")
		cat "$out"
		san_reports "$sd"
	fi
	rm -f "$out"
	mkdir -p "$sd/seen"
	mv "$sd"/report* "$sd/seen/" 2>/dev/null
done
# a daemon a test stopped with SIGTERM as it ended may still be in its
# leak check: give it time under the sanitizers, then look again
grep -qa __asan_init "$BUILD/rosfw" 2>/dev/null && sleep 2
for sd in "$SAN_DIR"/*/; do
	r=$(san_reports "$sd")
	[ -z "$r" ] && continue
	t=$(basename "$sd")
	echo "$r"
	echo "$t: a sanitizer report from a process still running when the test ended"
	failed=$((failed + 1))
	failures+=("$t")
done

if [ -z "${NO_FUZZ:-}" ] && ls build-fuzz/fuzz_* >/dev/null 2>&1; then
	echo "== fuzz: every regression input, then a short run from a fixed seed"
	for f in build-fuzz/fuzz_*; do
		case "$f" in *.log) continue ;; esac
		[ -x "$f" ] || continue
		n=$(basename "$f")
		regs=$(ls fuzz/regressions/"$n"-* 2>/dev/null)
		mkdir -p "build-fuzz/corpus-$n"
		if { [ -z "$regs" ] || "$f" $regs >"build-fuzz/$n.log" 2>&1; } &&
			"$f" -seed=1 -runs=20000 -max_total_time=30 "build-fuzz/corpus-$n" "fuzz/corpus/$n" \
				>>"build-fuzz/$n.log" 2>&1; then
			passed=$((passed + 1))
			echo "$n: ok"
		else
			failed=$((failed + 1))
			failures+=("$n")
			tail -40 "build-fuzz/$n.log"
		fi
	done
fi

echo
[ ${#skips[@]} -gt 0 ] && echo "skipped: ${skips[*]}"
[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
