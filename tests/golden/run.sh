#!/usr/bin/env bash
# Golden files: NAME.rsc is imported (strictly) into a new store, then every
# line of NAME.cmd runs through `rosfw exec`; the outputs, each under a
# "### command" header, must equal NAME.out. A first line "#!defaults" in
# NAME.rsc starts from the default configuration instead of an empty one.
# Then export -> import into an empty store -> export must be a fixed point.
# UPDATE_GOLDEN=1 rewrites the .out files.
set -u
cd "$(dirname "$0")"
ROSFW=${ROSFW:-../../${BUILD:-build}/rosfw}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok=0
bad=0
strip_header() { grep -v '^# .* by rosfw ' ; }
for rsc in *.rsc; do
	name=${rsc%.rsc}
	db="$tmp/$name.db"
	defaults=--no-defaults
	head -1 "$rsc" | grep -q '^#!defaults' && defaults=
	if ! "$ROSFW" --db "$db" $defaults --files "$tmp/files" import "$rsc" >"$tmp/import.log" 2>&1; then
		echo "FAIL $name: import failed"; cat "$tmp/import.log"; bad=$((bad + 1)); continue
	fi
	out="$tmp/$name.out"
	: >"$out"
	if [ -f "$name.cmd" ]; then
		while IFS= read -r cmd || [ -n "$cmd" ]; do
			[ -z "$cmd" ] && continue
			echo "### $cmd" >>"$out"
			"$ROSFW" --db "$db" exec "$cmd" 2>&1 | strip_header >>"$out"
		done <"$name.cmd"
	fi
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		cp "$out" "$name.out"
	fi
	if diff -u "$name.out" "$out" >"$tmp/diff"; then
		ok=$((ok + 1))
	else
		echo "FAIL $name: output differs from $name.out"; cat "$tmp/diff"; bad=$((bad + 1))
	fi
	# export -> import -> export
	"$ROSFW" --db "$db" export --show-sensitive | strip_header >"$tmp/e1.rsc"
	"$ROSFW" --db "$tmp/$name-2.db" --no-defaults --files "$tmp/files" import "$tmp/e1.rsc" >"$tmp/import2.log" 2>&1 ||
		{ echo "FAIL $name: re-import of the export failed"; cat "$tmp/import2.log"; bad=$((bad + 1)); continue; }
	"$ROSFW" --db "$tmp/$name-2.db" export --show-sensitive | strip_header >"$tmp/e2.rsc"
	if diff -u "$tmp/e1.rsc" "$tmp/e2.rsc" >"$tmp/diff"; then
		ok=$((ok + 1))
	else
		echo "FAIL $name: export -> import -> export is not a fixed point"; cat "$tmp/diff"; bad=$((bad + 1))
	fi
done
echo "ok $ok"
[ "$bad" -eq 0 ]
