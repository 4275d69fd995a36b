#!/usr/bin/env bash
# rosfw lint: one configuration with one of each classic mistake must give
# exactly the findings in mistakes.out (exit 2: errors); the built-in default
# configuration is clean (exit 0); the seed's own configuration shows its mark
# overwrite. UPDATE_GOLDEN=1 rewrites mistakes.out.
set -u
cd "$(dirname "$0")"
ROSFW=${ROSFW:-../../${BUILD:-build}/rosfw}
ok=0
bad=0
out=$("$ROSFW" lint mistakes.rsc 2>&1)
rc=$?
[ -n "${UPDATE_GOLDEN:-}" ] && printf '%s\n' "$out" >mistakes.out
if [ "$out" = "$(cat mistakes.out)" ] && [ $rc = 2 ]; then ok=$((ok + 1)); else
	echo "FAIL: lint mistakes.rsc (exit $rc)"; diff <(printf '%s\n' "$out") mistakes.out; bad=$((bad + 1)); fi
out=$("$ROSFW" lint ../../examples/soho.rsc 2>&1)
if [ $? = 0 ] && [ "$out" = "0 findings" ]; then ok=$((ok + 1)); else
	echo "FAIL: soho.rsc should be clean: $out"; bad=$((bad + 1)); fi
out=$("$ROSFW" lint --config ../../examples/seed-network.rsc --config ../../examples/seed.rsc --lenient 2>/dev/null)
case "$out" in *"mangle #3"*"low-priority"*"overwritten"*"[mark-overwrite]"*) ok=$((ok + 1)) ;;
*) echo "FAIL: the seed's mark overwrite not found: $out"; bad=$((bad + 1)) ;; esac
echo "ok $ok"
[ "$bad" -eq 0 ]
