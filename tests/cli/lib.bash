# Helpers for the command-line tests: a fresh store per test, assertions
# that print what was expected, and the closing "ok N" line run.sh counts.
ROSFW=${ROSFW:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/${BUILD:-build}/rosfw}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ok=0
fail() { echo "FAIL: $*"; exit 1; }
pass() { ok=$((ok + 1)); }
finish() { echo "ok $ok"; }
# expect_contains TEXT NEEDLE
expect_contains() { case "$1" in *"$2"*) pass ;; *) fail "expected '$2' in: $1" ;; esac; }
expect_not_contains() { case "$1" in *"$2"*) fail "did not expect '$2' in: $1" ;; *) pass ;; esac; }
export_of() { "$ROSFW" --db "$1" export | grep -v '^# .* by rosfw '; }
