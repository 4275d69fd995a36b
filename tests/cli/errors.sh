#!/usr/bin/env bash
# rosfw exec reports errors with position and property, exits non-zero and
# leaves the store unchanged; a bad line in an import rolls back the file.
set -u
. "$(dirname "$0")/lib.bash"
db="$T/e.db"
before=$(export_of "$db")
check() { # command, expected message
	local out
	out=$("$ROSFW" --db "$db" exec "$1" 2>&1) && fail "should fail: $1"
	expect_contains "$out" "$2"
	[ "$(export_of "$db")" = "$before" ] && pass || fail "store changed by: $1"
}
check '/ip firewall filter add chain=input src-adress=1.2.3.4' "unknown property 'src-adress' (did you mean 'src-address'?)"
check '/ip firewall filter add chain=input action=acept' "did you mean 'accept'"
check '/ip firewall filter add action=drop' "missing value for chain"
check '/ip firewall filter add chain=input src-address=300.1.1.1' "src-address"
check '/ip firewall filter add chain=input protocol=tcp dst-port=70000' "dst-port"
check '/queue tree add name=x parent=nowhere' "parent"
check '/ip firewall filter add chain=input comment="open' "unterminated string"
check '/ip firewal filter print' "no such command or menu 'firewal'"
check '/ip firewall filter set 99 action=drop' "no such item '99'"
check '/queue type remove default' "builtin"
check '/queue tree add name=x parent=global bucket-size=11' "bucket-size"
check '/queue simple add name=x target=10.0.0.1 bucket-size=0.1/-1' "bucket-size"
check '/queue simple add target=10.0.0.0/24 queue=nosuch/default' "no such /queue/type 'nosuch'"
check '/queue simple add target=10.0.0.0/24 queue=default/nosuch' "no such /queue/type 'nosuch'"
check '/queue tree add name=x parent=global queue=nosuch' "no such /queue/type 'nosuch'"
check '/queue type add name=t kind=bogus' "invalid value 'bogus' for kind"
check '/queue type add name=t kind=pcq pcq-limit=0' "pcq-limit"

# a type a simple queue uses cannot go; a rename follows into queue=
"$ROSFW" --db "$db" exec '/queue type add name=t kind=sfq' >/dev/null || fail "add type"
"$ROSFW" --db "$db" exec '/queue simple add name=s target=10.0.0.0/24 queue=default/t' >/dev/null ||
	fail "simple queue with a type"
before=$(export_of "$db")
check '/queue type remove t' "in use by /queue/simple"
"$ROSFW" --db "$db" exec '/queue type set t name=t2' >/dev/null || fail "rename type"
expect_contains "$(export_of "$db")" "queue=default/t2"
# a rename that would make a user's queue= unreadable is refused whole
before=$(export_of "$db")
long=$(printf 'a%.0s' $(seq 85))
check "/queue type set t2 name=$long" "queue="
check '/queue type set t2 name=a/b' "cannot contain '/'"
check '/queue type add name=a/b kind=sfq' "name"
check '/queue type remove t2' "in use by /queue/simple"
"$ROSFW" --db "$db" exec '/queue simple remove s' >/dev/null || fail "remove simple queue"
"$ROSFW" --db "$db" exec '/queue type remove t2' >/dev/null || fail "remove unused type"
before=$(export_of "$db")

printf '/ip firewall filter\nadd chain=input action=drop\nadd chain=input action=bogus\n' >"$T/bad.rsc"
out=$("$ROSFW" --db "$db" import "$T/bad.rsc" 2>&1) && fail "import of a bad file should fail"
expect_contains "$out" "line 3 col"
[ "$(export_of "$db")" = "$before" ] && pass || fail "failed import changed the store"

# the same through the console reading a script
out=$(printf '/ip firewall filter add chain=input action=drop comment=ok\n/ip firewall filter add chain=x action=nope\n' | "$ROSFW" --db "$db" console 2>&1) && fail "console should exit non-zero"
expect_contains "$out" "failure:"
n=$("$ROSFW" --db "$db" exec ':put [/ip firewall filter print count-only where comment=ok]')
expect_contains "$n" "1"
# as typed into a console: each error right after what the lines before it
# printed, in the console's words (no import summary)
out=$(printf ':put before\n/ip firewall filter add chain=x action=nope\n:put after\n' |
	"$ROSFW" --db "$db" console 2>&1) && fail "console should exit non-zero"
[ "$out" = "before
failure: line 2 col 40: invalid value 'nope' for action: expected one of accept, add-dst-to-address-list, add-src-to-address-list, drop, fasttrack-connection, jump, log, passthrough, reject, return, tarpit
after" ] && pass || fail "console script output out of order: $out"
finish
