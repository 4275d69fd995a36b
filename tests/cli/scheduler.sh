#!/usr/bin/env bash
# What /system scheduler add fills in, as RouterOS does: start-date and
# start-time of the moment it was added (unless it starts at startup) and
# the owner, the user who added it (scripts too); given values are kept.
# A script's run-count and last-started follow its runs.
set -u
. "$(dirname "$0")/lib.bash"
db="$T/s.db"
today=$(date +%b/%d/%Y | tr 'A-Z' 'a-z')
out=$("$ROSFW" --db "$db" --no-defaults exec '/system scheduler add name=a on-event=x interval=1h' \
	'/system scheduler add name=b on-event=x start-time=startup' \
	'/system scheduler add name=c on-event=x start-date=jan/02/2026 start-time=04:05:06' \
	'/system script add name=s source=":put 1"' \
	':put [/system scheduler get a start-date]' ':put [/system scheduler get a start-time]' \
	':put [/system scheduler get a owner]' ':put ([/system scheduler get b start-date] . "|")' \
	':put [/system scheduler get c start-date]' ':put [/system scheduler get c start-time]' \
	':put [/system script get s owner]' 2>&1) || fail "exec: $out"
lines=$(grep -v '^\*' <<<"$out")
[ "$(sed -n 1p <<<"$lines")" = "$today" ] && pass || fail "start-date of a: $out"
grep -Eq '^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]$' <<<"$(sed -n 2p <<<"$lines")" && pass || fail "start-time of a: $out"
[ "$(sed -n 3,9p <<<"$lines" | tr '\n' ' ')" = "admin | jan/02/2026 04:05:06 admin " ] && pass ||
	fail "owner, startup, given values: $out"

# /system script run counts the runs and stamps the last (a failed run too)
out=$(printf '/system script add name=r source=":put ran"\n/system script add name=f source="/nonsense"\n/system script run r\n/system script run r\n/system script run f\n:put [/system script get r run-count]\n:put [/system script get f run-count]\n:put [/system script get r last-started]\n' |
	"$ROSFW" --db "$db" console 2>&1)
expect_contains "$out" "ran
ran
failure: line 5 col 1: script f: line 1 col 2: no such command or menu 'nonsense'"
expect_contains "$out" "
2
1
$today "
finish
