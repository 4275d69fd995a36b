#!/usr/bin/env bash
# The daemon: rosfw run with its console socket. Commands through the socket
# change the live store, the console reads scripts from stdin, a second
# router on the same socket is refused, SIGTERM stops cleanly, and a router
# killed with -9 leaves nothing half-written: every acknowledged change is
# there after a restart.
set -u
. "$(dirname "$0")/../cli/lib.bash"
db="$T/r.db"
sock="$T/s"
"$ROSFW" --db "$db" exec '/ip service set api port=28728 disabled=yes' '/ip service set api-ssl disabled=yes' \
	'/ip service set www disabled=yes' '/ip service set www-ssl disabled=yes' >/dev/null || fail "pre-configure"

start() {
	"$ROSFW" run --db "$db" --socket "$sock" --admin-password secret >"$T/run.log" 2>&1 &
	pid=$!
	# ready when the console answers (a killed router leaves its socket file)
	for _ in $(seq 200); do
		[ "$(printf ':put up\n' | "$ROSFW" console --socket "$sock" 2>/dev/null)" = up ] && return 0
		sleep 0.05
	done
	cat "$T/run.log"
	fail "router did not start"
}
con() { printf '%s\n' "$@" | "$ROSFW" console --socket "$sock"; }

start
out=$(con '/system resource print')
expect_contains "$out" "version: 7.16 (rosfw"
out=$(con '/ip firewall filter add chain=input protocol=tcp dst-port=2222 action=drop comment=live' \
	'/ip firewall filter print count-only where comment=live')
expect_contains "$out" "1"
out=$(con '/ip firewall filter add chain=input action=bogus' 2>&1) && fail "bad command should fail"
expect_contains "$out" "failure:"
expect_contains "$out" "bogus"
# a second router on the same socket is refused
"$ROSFW" run --db "$T/other.db" --socket "$sock" >"$T/second.log" 2>&1 && fail "second router started"
expect_contains "$(cat "$T/second.log")" "another rosfw is running"
kill -TERM "$pid"
wait "$pid" && pass || fail "SIGTERM: exit status $?"
[ ! -e "$sock" ] && pass || fail "socket left behind"

# crash safety: acknowledged adds survive kill -9 at any moment
start
for i in $(seq 1 30); do
	con "/ip firewall address-list add list=acked address=10.9.$i.0/24" >/dev/null || fail "add $i"
	echo "$i" >>"$T/acked"
	if [ $((i % 10)) = 0 ]; then
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		start
	fi
done
n=$(con ':put [/ip firewall address-list print count-only where list=acked]')
expect_contains "$n" "30"
kill -TERM "$pid"
wait "$pid" && pass || fail "exit status"
finish
