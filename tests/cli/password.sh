#!/usr/bin/env bash
# /password: a user changes their own password with the old one and the new
# one twice; a wrong old password, a confirmation that differs, a missing or
# unknown argument name what is wrong and change nothing. No password, old
# or new, is kept in clear in /system history (nor in the store's journal).
set -u
. "$(dirname "$0")/lib.bash"
db="$T/p.db"
# the users as exported, without the header's clock (an argon2 hash under
# ASan can take a second)
users() { "$ROSFW" --db "$db" export --show-sensitive /user | grep -v '^# [a-z]*/[0-9]*/[0-9]* '; }
"$ROSFW" --db "$db" --no-defaults exec '/user set admin password=first-pw' \
	'/user add name=bob group=read password=bob-pw' >/dev/null || fail "set up"
users=$(users)
check() { # command, expected message
	local out
	out=$("$ROSFW" --db "$db" exec "$1" 2>&1) && fail "should fail: $1"
	expect_contains "$out" "$2"
	[ "$(users)" = "$users" ] && pass || fail "changed by: $1"
}
check '/password old-password=wrong new-password=a confirm-new-password=a' "old password is not valid"
check '/password old-password=first-pw new-password=a confirm-new-password=b' \
	"new password and its confirmation differ"
check '/password old-password=first-pw new-password=a' "missing value for confirm-new-password"
check '/password old-password=first-pw new-password=a confirm-new-password=a x=1' "unknown property 'x'"
"$ROSFW" --db "$db" exec '/password old-password=first-pw new-password=second-pw confirm-new-password=second-pw' ||
	fail "the password change failed"
users=$(users)
# the new one is in force: the old one no longer passes, the new one does
check '/password old-password=first-pw new-password=c confirm-new-password=c' "old password is not valid"
"$ROSFW" --db "$db" exec '/password old-password=second-pw new-password=third-pw confirm-new-password=third-pw' &&
	pass || fail "the new password is not in force"
hist=$("$ROSFW" --db "$db" exec '/system history print')
expect_contains "$hist" "/password old-password=*** new-password=*** confirm-new-password=***"
expect_contains "$hist" "/user add name=bob group=read password=***"
for pw in first-pw second-pw third-pw bob-pw; do
	expect_not_contains "$hist" "$pw"
	cat "$db"* 2>/dev/null | grep -aq -- "$pw" && fail "$pw in clear in the store" || pass
done
finish
