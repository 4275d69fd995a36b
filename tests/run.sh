#!/usr/bin/env bash
# Runs every test of `make test`: the cmocka unit tests, the golden files,
# the command-line tests and a short run of each fuzz target, then prints
# one closing line "N passed, N failed".
set -u
BUILD=${BUILD:-build}
export BUILD
cd "$(dirname "$0")/.."
# leaks of system libraries that rosfw cannot free (tests/lsan.supp)
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
passed=0
failed=0
failures=()

count_cmocka() { # $1 = output file, $2 = name
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "${f:-0}" != 0 ] || [ -z "$p$f" ]; then
		[ -z "$p$f" ] && failed=$((failed + 1))
		failures+=("$2")
		cat "$1"
	fi
}

echo "== unit tests"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	out=$(mktemp)
	(cd tests && "../$t") >"$out" 2>&1
	count_cmocka "$out" "$(basename "$t")"
	echo "$(basename "$t"): $(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1 passed/p' "$out" | tail -1)"
	rm -f "$out"
done

echo "== golden and command-line tests"
for t in tests/golden/run.sh tests/sim/run.sh tests/sim/traffic.sh tests/cli/*.sh tests/lint/run.sh tests/lab/run.sh tests/lab/l2.sh tests/lab/ring.sh tests/lab/ipv6.sh tests/lab/live.sh tests/lab/xdp.sh tests/daemon/run.sh tests/api/run.sh tests/rest/run.sh; do
	[ -f "$t" ] || continue
	out=$(mktemp)
	if bash "$t" >"$out" 2>&1; then
		p=$(sed -n 's/^ok \([0-9]*\)$/\1/p' "$out" | tail -1)
		passed=$((passed + ${p:-1}))
		echo "$t: ${p:-1} passed"
	else
		p=$(sed -n 's/^ok \([0-9]*\)$/\1/p' "$out" | tail -1)
		passed=$((passed + ${p:-0}))
		failed=$((failed + 1))
		failures+=("$t")
		cat "$out"
	fi
	rm -f "$out"
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
[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
