#!/usr/bin/env bash
# tests/run.sh's tally of the shell tests, on scripts of its own
# (SHELL_TESTS): a script that says "SKIP: why" and "ok 0" shows as SKIP
# with its reason and counts as skipped, not passed; skips alone leave the
# exit status 0 (make test on a machine without root), a failure does not;
# a script that skipped a part of its checks counts its passes.
set -u
. "$(dirname "$0")/lib.bash"
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$T/build"
printf 'echo "ok 3"\n' >"$T/pass.sh"
printf 'echo "SKIP: needs root and ip netns"\necho "ok 0"\n' >"$T/skip.sh"
printf 'echo "SKIP: AF_XDP cannot attach here"\necho "ok 2"\n' >"$T/part.sh"
printf 'echo "FAIL: broken"\nexit 1\n' >"$T/fail.sh"
runner() { # SCRIPT...: tests/run.sh on those scripts alone
	SHELL_TESTS="$*" BUILD="$T/build" NO_FUZZ=1 bash "$repo/tests/run.sh" 2>&1
}

out=$(runner "$T/pass.sh" "$T/skip.sh" "$T/part.sh")
rc=$?
[ $rc = 0 ] && pass || fail "skips alone: exit status $rc: $out"
expect_contains "$out" "$T/skip.sh: SKIP (needs root and ip netns)"
expect_contains "$out" "$T/part.sh: 2 passed, part skipped (AF_XDP cannot attach here)"
expect_contains "$out" "skipped: $T/skip.sh"
[ "$(printf '%s\n' "$out" | tail -1)" = "5 passed, 0 failed, 1 skipped" ] && pass ||
	fail "summary line: $out"

out=$(runner "$T/skip.sh" "$T/fail.sh" "$T/pass.sh")
rc=$?
[ $rc != 0 ] && pass || fail "a failure with a skip: exit status 0: $out"
expect_contains "$out" "failing: $T/fail.sh"
[ "$(printf '%s\n' "$out" | tail -1)" = "3 passed, 1 failed, 1 skipped" ] && pass ||
	fail "summary line: $out"

out=$(runner "$T/pass.sh")
[ "$(printf '%s\n' "$out" | tail -1)" = "3 passed, 0 failed, 0 skipped" ] && pass ||
	fail "nothing skipped: $out"
expect_not_contains "$out" "SKIP"
finish
