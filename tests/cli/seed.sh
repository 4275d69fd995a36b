#!/usr/bin/env bash
# The seed's CLI block imports with --lenient onto the default configuration:
# its one invalid line is named and skipped, its v6 spellings are accepted with
# warnings, and strict import refuses it without changing anything.
set -u
. "$(dirname "$0")/lib.bash"
SEED=$(dirname "$0")/../../examples/seed.rsc

before=$(export_of "$T/a.db")
out=$("$ROSFW" --db "$T/a.db" import "$SEED" 2>&1) && fail "strict import of the seed should fail"
expect_contains "$out" "line 4 col 11: unknown property 'default-forward'"
expect_contains "$out" "nothing was changed"
[ "$(export_of "$T/a.db")" = "$before" ] && pass || fail "strict import changed the store"

out=$("$ROSFW" --db "$T/a.db" import --lenient "$SEED" 2>&1) || fail "lenient import failed: $out"
expect_contains "$out" "skipped: line 4 col 11: unknown property 'default-forward'"
expect_contains "$out" "43 statements applied, 1 skipped"
expect_contains "$out" "'packet-marks' is taken as 'packet-mark'"
expect_contains "$out" "comment after a command ignored"
tree=$("$ROSFW" --db "$T/a.db" exec '/queue tree print terse where parent=WAN-Outbound')
expect_contains "$tree" 'name="High-Priority" parent=WAN-Outbound packet-mark=high-priority'
n=$("$ROSFW" --db "$T/a.db" exec ':put [/ip firewall filter print count-only]')
expect_contains "$n" "15"
n=$("$ROSFW" --db "$T/a.db" exec '/ip firewall mangle print count-only where passthrough=yes')
expect_contains "$n" "4"

# dry run: checks, applies nothing
before=$(export_of "$T/b.db")
out=$("$ROSFW" --db "$T/b.db" import --lenient --dry-run "$SEED" 2>&1)
expect_contains "$out" "dry run: nothing changed"
[ "$(export_of "$T/b.db")" = "$before" ] && pass || fail "dry run changed the store"
finish
