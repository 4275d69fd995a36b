#!/usr/bin/env bash
# /log print tells who changed the configuration, as RouterOS logs it
# (system,info "mangle rule added by admin"; "item ..." for a menu without
# a noun of its own); a command that fails logs nothing, and neither do the
# statements of an import (the file is one change that may still roll back);
# a script typed into the console logs its statements as they are made.
set -u
. "$(dirname "$0")/lib.bash"
db="$T/l.db"
out=$("$ROSFW" --db "$db" --no-defaults exec '/ip firewall mangle add chain=forward' \
	'/ip firewall mangle set [find] comment=x' '/ip firewall filter add chain=input' \
	'/ip firewall filter add chain=forward place-before=0' '/ip firewall filter move 1 0' \
	'/ip firewall filter disable 0' '/queue simple add target=192.0.2.1' \
	'/ip firewall mangle remove [find]' '/log print' 2>&1) || fail "exec: $out"
log=$(grep ' system,info ' <<<"$out" | cut -d' ' -f2-)
[ "$log" = "system,info mangle rule added by admin
system,info mangle rule changed by admin
system,info filter rule added by admin
system,info filter rule added by admin
system,info filter rule moved by admin
system,info filter rule changed by admin
system,info item added by admin
system,info mangle rule removed by admin" ] && pass || fail "change log: $log"
mkdir -p "$T/files"
printf '/ip firewall filter add chain=input comment=imp\n' >"$T/files/i.rsc"
# a script typed into the console: its own statements are logged, one by one
out=$(printf '/ip firewall filter add chain=input action=bogus\n/import file-name=i.rsc\n/ip firewall raw add chain=prerouting\n/log print\n' |
	"$ROSFW" --db "$db" --files "$T/files" console 2>&1)
expect_contains "$out" "invalid value 'bogus'"
expect_contains "$out" "Script file loaded and executed successfully"
[ "$(grep -c ' by admin' <<<"$out")" = 1 ] && pass || fail "one change logged: $out"
expect_contains "$out" "system,info raw rule added by admin"
[ "$("$ROSFW" --db "$db" exec ':put [/ip firewall filter print count-only where comment=imp]')" = 1 ] &&
	pass || fail "the import did not apply"
finish
