#!/usr/bin/env bash
# The daemon: rosfw run with its console socket. Commands through the socket
# change the live store, the console reads scripts from stdin, a second
# router on the same socket is refused, SIGTERM stops cleanly, and a router
# killed with -9 leaves nothing half-written: every acknowledged change is
# there after a restart. Safe mode over the socket: a connection dropped in
# safe mode loses its changes, one that leaves safe mode keeps them, a second
# session cannot take it. /undo and /redo through rosfw exec.
set -u
. "$(dirname "$0")/../cli/lib.bash"
db="$T/r.db"
sock="$T/s"
"$ROSFW" --db "$db" exec '/ip service set api port=28728 disabled=yes' '/ip service set api-ssl disabled=yes' \
	'/ip service set www disabled=yes' '/ip service set www-ssl disabled=yes' >/dev/null || fail "pre-configure"

# /undo and /redo on a file store: each command one entry; the result is on
# disk; history lives as long as the process (a later exec has none)
udb="$T/undo.db"
out=$("$ROSFW" --db "$udb" exec '/ip firewall filter add chain=input comment=u1' \
	'/ip firewall filter add chain=input comment=u2 place-before=0' \
	'/ip firewall filter set [find comment=u1] action=drop' \
	'/undo' '/undo' \
	':put [/ip firewall filter print count-only where comment~"^u"]' \
	'/redo' '/system history print' 2>&1) || fail "undo exec: $out"
expect_contains "$out" "1"
expect_contains "$out" " 0 R   /ip firewall filter set [find comment=u1] action=drop"
expect_contains "$out" " 1 U   /ip firewall filter add chain=input comment=u2 place-before=0"
out=$("$ROSFW" --db "$udb" exec '/ip firewall filter print where comment~"^u"')
expect_contains "$out" ";;; u2"
expect_not_contains "$out" "action=drop"
# the history is in the store: a later process lists it and undoes from it
out=$("$ROSFW" --db "$udb" exec '/system history print' '/undo' \
	'/ip firewall filter print where comment~"^u"' '/system history print' 2>&1) ||
	fail "undo in a new process: $out"
expect_contains "$out" " 0 R   /ip firewall filter set [find comment=u1] action=drop"
expect_contains "$out" ";;; u1"
expect_not_contains "$out" ";;; u2"
expect_contains "$out" " 1 R   /ip firewall filter add chain=input comment=u2 place-before=0"
out=$("$ROSFW" --db "$udb" exec '/redo' ':put [/ip firewall filter print count-only where comment~"^u"]' 2>&1)
expect_contains "$out" "2"

# A client of the console socket: each argument is "conn:Ktext" (a request
# of kind K on connection conn, opened on first use), "conn:close",
# "conn:eof" (wait until the router closes it), "kill:PID" (SIGTERM) or
# "kill9:PID", or "sh:COMMAND" (run, its output shown); prints
# "conn: status=S safe=0|1 out=..." per reply.
sockc() {
	python3 - "$sock" "$@" <<'EOF'
import os, signal, socket, sys, time
conns = {}
def reply(c):
    while True:
        z = c[1].find(b'\0')
        if z >= 0 and c[1].find(b'\n', z) >= 0:
            nl = c[1].find(b'\n', z)
            r = c[1][:nl + 1]
            c[1] = c[1][nl + 1:]
            return r
        try:
            d = c[0].recv(65536)
        except ConnectionResetError:
            d = b''
        if not d:
            return None
        c[1] += d
for arg in sys.argv[2:]:
    name, _, req = arg.partition(':')
    if name in ('kill', 'kill9'):
        os.kill(int(req), signal.SIGKILL if name == 'kill9' else signal.SIGTERM)
        continue
    if name == 'sh':
        import subprocess
        r = subprocess.run(req, shell=True, capture_output=True, text=True)
        print('sh: rc=%d out=%s' % (r.returncode, (r.stdout + r.stderr).replace('\n', ' ')))
        continue
    if req == 'close':
        conns.pop(name)[0].close()
        time.sleep(0.2)
        continue
    if req == 'eof':
        while reply(conns[name]) is not None:
            pass
        print(name + ': closed')
        continue
    if name not in conns:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        conns[name] = [s, b'']
        reply(conns[name])
    c = conns[name]
    c[0].sendall(req.encode() + (b'\0' if req[0] == 'S' else b'\n'))
    r = reply(c)
    z = r.find(b'\0')
    out = r[:z].decode().replace('\n', ' ')
    print('%s: status=%s safe=%d out=%s' % (name, r[z + 1:z + 2].decode(), b'\tsafe' in r[z:], out))
EOF
}
count_of() { con ":put [/ip firewall filter print count-only where comment=$1]" | tail -1; }

# a failing check leaves no router behind
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$T"' EXIT
start() {
	"$ROSFW" run --db "$db" --socket "$sock" --admin-password secret "$@" >"$T/run.log" 2>&1 &
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
# a script piped in: each error after the output of the lines before it
out=$(con ':put before' '/ip firewall filter add chain=input action=bogus' ':put after' 2>&1) &&
	fail "a script with a bad line should fail"
[ "$(printf '%s\n' "$out" | cut -c1-25)" = "before
failure: line 2 col 44: i
after" ] && pass || fail "console script output out of order: $out"
# a second router on the same socket is refused
"$ROSFW" run --db "$T/other.db" --socket "$sock" >"$T/second.log" 2>&1 && fail "second router started"
expect_contains "$(cat "$T/second.log")" "another rosfw is running"
# one writer per store: an offline command that changes the live router's
# store is refused (its ids would collide with the router's) and changes
# nothing; one that only reads runs beside it
"$ROSFW" run --db "$db" --socket "$T/third.sock" >"$T/third.log" 2>&1 && fail "second router on one store"
expect_contains "$(cat "$T/third.log")" "in use by another rosfw process (pid $pid)"
out=$("$ROSFW" --db "$db" exec '/ip firewall filter add chain=input comment=offline' 2>&1) &&
	fail "an offline change of a live store was accepted: $out"
expect_contains "$out" "through \`rosfw console\`"
out=$("$ROSFW" --db "$db" export 2>&1) || fail "export beside a live router: $out"
expect_contains "$out" "comment=live"
out=$(con '/ip firewall filter print count-only where comment=offline')
expect_contains "$out" "0"

# /user active: each console connection while it is connected; admin's
# last-logged-in set by the attach
out=$(sockc 'a:C:put [/user active print count-only where via=console]' \
	'b:C:put [/user active print count-only where via=console]' 'b:close' \
	'a:C:put [/user active print count-only where via=console]' 'a:C/user active print' \
	'a:C:put [/user get admin last-logged-in]')
expect_contains "$out" "a: status=0 safe=0 out=1 "
expect_contains "$out" "b: status=0 safe=0 out=2 "
[ "$(printf '%s\n' "$out" | grep -c 'a: status=0 safe=0 out=1 ')" = 2 ] && pass ||
	fail "a closed console session still in /user active: $out"
printf '%s\n' "$out" | grep -Eq 'WHEN +NAME +ADDRESS +VIA .* 0 +[a-z]{3}/[0-9]{2}/[0-9]{4} [0-9:]{8} admin +console' &&
	pass || fail "/user active print on the console: $out"
printf '%s\n' "$out" | grep -Eq 'a: status=0 safe=0 out=[a-z]{3}/[0-9]{2}/[0-9]{4} [0-9:]{8} ' && pass ||
	fail "admin last-logged-in after a console attach: $out"

# print follow of /log ('F' request): the lines in the ring, then a new one
# (another console attaching) as it is logged; Ctrl-C ends the stream with
# the usual reply frame, and the connection goes on
out=$(python3 - "$sock" <<'EOF'
import socket, sys
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.settimeout(5)
    return s
def until(s, buf, needle):
    while needle not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return buf
a = conn()
until(a, b'', b'\n')
a.sendall(b'F/log\n')
buf = until(a, b'', b'router started\n')
print('old:', b'system,info' in buf and b' router started' in buf)
b = conn()
until(b, b'', b'\n')
buf = until(a, buf, b'logged in via console\n')
print('new:', b'user admin logged in via console' in buf, b'\0' not in buf)
a.sendall(b'\x03C:put after\n')
buf = until(a, b'', b'after\n\0')
print('ended:', b'via console\n\x000\nafter\n\0' in buf, repr(buf[-60:]))
buf = until(a, buf[buf.find(b'after\n\0'):], b'\n')
print('frame:', repr(buf))
a.sendall(b'F/ip\n')
print('bad:', until(a, b'', b'\0').split(b'\0')[0].decode().strip())
EOF
)
expect_contains "$out" "old: True"
expect_contains "$out" "new: True True"
expect_contains "$out" "ended: True"
expect_contains "$out" "frame: b'after\\n\\x000\\n'"
expect_contains "$out" "bad: failure: no such menu '/ip'"

# rosfw console attached: print follow streams until stdin ends (a script)
# or Ctrl-C (a terminal), then the prompt comes back
out=$( (printf ':put before\n/log print follow where topics~"script"\n'
	sleep 0.5
	con ':log info "folmark"' >/dev/null
	sleep 0.5
	printf ':put after\n') | timeout 20 "$ROSFW" console --socket "$sock")
rc=$?
[ $rc = 0 ] && pass || fail "console with print follow: exit $rc: $out"
[ "$(printf '%s\n' "$out" | head -1)" = before ] && pass || fail "before the follow: $out"
expect_contains "$out" "script,info folmark"
expect_not_contains "$out" "logged in via console"
[ "$(printf '%s\n' "$out" | tail -1)" = after ] && pass || fail "after the follow: $out"
# follow-only: nothing of what is there, then the added item and its change
out=$( (printf '/ip firewall filter print follow-only\n'
	sleep 0.4
	con '/ip firewall filter add chain=input comment=fol1' >/dev/null
	sleep 0.4
	con '/ip firewall filter set [find comment=fol1] action=drop' >/dev/null
	sleep 0.4) | timeout 20 "$ROSFW" console --socket "$sock")
expect_contains "$out" "action=drop"
expect_not_contains "$out" ";;; live"
[ "$(printf '%s\n' "$out" | grep -c ';;; fol1')" = 2 ] && pass || fail "follow-only: $out"
# a terminal: Ctrl-C ends the stream, the prompt comes back, the session goes on
out=$(timeout 30 /usr/bin/python3 - "$ROSFW" "$sock" <<'EOF'
import os, pty, select, subprocess, sys, time
rosfw, sock = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(rosfw, [rosfw, 'console', '--socket', sock])
buf = b''
def until(needle, t=5):
    global buf
    end = time.time() + t
    while needle not in buf and time.time() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
    return needle in buf
print('prompt:', until(b'] > '))
os.write(fd, b'/ip firewall filter print follow-only\r')
time.sleep(0.5)
subprocess.run([rosfw, 'console', '--socket', sock], input=b'/ip firewall filter add chain=forward comment=ptyx\n')
print('streamed:', until(b'ptyx'))
os.write(fd, b'\x03')
n0 = buf.count(b'] > ')
until(b'] > ' * 9, 1)
print('prompt again:', buf.count(b'] > ') > n0, repr(buf[-80:]))
os.write(fd, b':put alive\r')
print('alive:', until(b'\r\nalive\r\n'))
os.write(fd, b'/quit\r')
st = os.waitpid(pid, 0)[1]
until(b'never', 0.2)
print('exit:', st, '' if st == 0 else repr(buf[-600:]))
print('quit quietly:', b'closed the connection' not in buf)
EOF
)
expect_contains "$out" "prompt: True"
expect_contains "$out" "streamed: True"
expect_contains "$out" "prompt again: True"
expect_contains "$out" "alive: True"
expect_contains "$out" "exit: 0 "
expect_contains "$out" "quit quietly: True"
# /quit in a script: what came before it is shown, nothing after it runs,
# and the console ends without an error
out=$(con ':put before-quit' '/quit' ':put after-quit' 2>&1)
rc=$?
[ "$rc" = 0 ] && pass || fail "/quit in a script: exit status $rc: $out"
expect_contains "$out" "before-quit"
expect_not_contains "$out" "after-quit"

# safe mode: a dropped connection loses what it changed, another session's
# change in between stays
out=$(sockc 'a:Xtake' 'a:C/ip firewall filter add chain=input comment=sm-drop' \
	'b:C/ip firewall filter add chain=input comment=sm-other' 'b:Xtake' 'b:C/safe-mode take' \
	'a:C/system history print' 'a:close' 'b:Xtake' 'b:X' 'b:Xbogus')
expect_contains "$out" "a: status=0 safe=1"
expect_contains "$out" "b: status=1 safe=0 out=failure: safe mode already taken by admin"
expect_contains "$out" "b: status=1 safe=0 out=failure: line 1 col 1: safe mode already taken by admin"
expect_contains "$out" " UF  /ip firewall filter add chain=input comment=sm-drop"
expect_contains "$out" "b: status=0 safe=1 out="
expect_contains "$out" "b: status=1 safe=0 out=failure: safe mode: expected take, release or unroll"
[ "$(count_of sm-drop)" = 0 ] && pass || fail "sm-drop survived the dropped connection"
[ "$(count_of sm-other)" = 1 ] && pass || fail "sm-other lost"
# leaving safe mode (Ctrl-X again) keeps the changes
out=$(sockc 'a:X' 'a:C/ip firewall filter add chain=input comment=sm-keep' 'a:X' 'a:close')
expect_contains "$out" "a: status=0 safe=0"
[ "$(count_of sm-keep)" = 1 ] && pass || fail "sm-keep lost after leaving safe mode"
# the console's script: /safe-mode take in it, then the console ends
con '/safe-mode take' '/ip firewall filter add chain=input comment=sm-script' >/dev/null
[ "$(count_of sm-script)" = 0 ] && pass || fail "sm-script survived the console's end"
# the router stopping ends the session too
out=$(sockc 'a:Xtake' 'a:C/ip firewall filter add chain=input comment=sm-stop' "kill:$pid" \
	'a:eof')
expect_contains "$out" "a: closed"
wait "$pid" && pass || fail "SIGTERM in safe mode: exit status $?"
start
[ "$(count_of sm-stop)" = 0 ] && pass || fail "sm-stop survived the router's stop"
kill -TERM "$pid"
wait "$pid" && pass || fail "SIGTERM: exit status $?"
[ ! -e "$sock" ] && pass || fail "socket left behind"

# safe mode and kill -9: the next start undoes what the session changed in
# safe mode (an add, a set, a remove) and logs it; a change made before
# safe mode was taken, and one by another session, stay
start
con '/ip firewall filter add chain=input comment=k9-old' '/ip firewall filter add chain=input comment=k9-gone' >/dev/null
out=$(sockc 'b:C/ip firewall filter add chain=input comment=k9-before' 'a:Xtake' \
	'a:C/ip firewall filter add chain=input comment=k9-new' \
	'a:C/ip firewall filter set [find comment=k9-old] action=drop' \
	'a:C/ip firewall filter remove [find comment=k9-gone]' \
	'b:C/ip firewall filter add chain=forward comment=k9-other' \
	"sh:$ROSFW --db $db export >$T/ro.out 2>&1; echo new=\$(grep -c comment=k9-new $T/ro.out) undone=\$(grep -c undone $T/ro.out)" \
	"kill9:$pid")
expect_contains "$out" "a: status=0 safe=1"
# another program that opens the store of a live router in safe mode reads
# it as it is and undoes nothing
expect_contains "$out" "sh: rc=0 out=new=1 undone=0 "
wait "$pid" 2>/dev/null
start
out=$(con '/ip firewall filter print where comment~"^k9"')
expect_contains "$out" ";;; k9-old"
expect_contains "$out" ";;; k9-gone"
expect_contains "$out" ";;; k9-before"
expect_contains "$out" ";;; k9-other"
expect_not_contains "$out" "k9-new"
expect_not_contains "$out" "action=drop"
out=$(con '/log print where message~"safe mode"' '/system history print')
expect_contains "$out" "safe mode of admin was held when the router stopped: 3 changes undone"
expect_contains "$out" " R   /ip firewall filter add chain=input comment=k9-new"
# nobody holds safe mode now
out=$(sockc 'a:Xtake' 'a:Xrelease')
expect_contains "$out" "a: status=0 safe=1"
kill -TERM "$pid"
wait "$pid" && pass || fail "SIGTERM after recovery: exit status $?"

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

# connection tracking print shows the table's size in force: the running
# router's --ct-max-entries (console and API alike), the engine's default
# offline; the store keeps no size
out=$("$ROSFW" --db "$db" exec '/ip firewall connection tracking print')
expect_contains "$out" "max-entries: 65536"
start --ct-max-entries 300
out=$(con '/ip firewall connection tracking print' ':put [/ip firewall connection tracking get max-entries]')
expect_contains "$out" "max-entries: 300"
expect_contains "$out" "total-entries: "
[ "$(printf '%s\n' "$out" | tail -1)" = 300 ] && pass || fail "get max-entries: $out"
out=$(con '/ip firewall connection tracking set udp-timeout=20s' '/ip firewall connection tracking print')
expect_contains "$out" "udp-timeout: 20s"
expect_contains "$out" "max-entries: 300"
kill -TERM "$pid"
wait "$pid" && pass || fail "exit status"
out=$("$ROSFW" --db "$db" exec '/ip firewall connection tracking print')
expect_contains "$out" "udp-timeout: 20s"
expect_contains "$out" "max-entries: 65536"
expect_not_contains "$out" "total-entries"

# /interface print stats on the simulated network (--traffic, as make run):
# the interfaces the profile moves packets through count them, both ways,
# as the live dataplane's do; one it does not use stays at 0
repo=$(cd "$(dirname "$0")/../.." && pwd)
start --traffic "$repo/examples/traffic/soho.json"
stats() { con ":put [/interface get [find name=$1] $2]" | tail -1; }
for _ in $(seq 100); do # the phone on wlan1 starts last, within a second
	[ "$(stats wlan1 rx-packet)" -gt 0 ] 2>/dev/null && break
	sleep 0.05
done
for n in ether1-gateway ether2-master-local wlan1; do
	for c in rx-byte tx-byte rx-packet tx-packet; do
		v=$(stats $n $c)
		[ "$v" -gt 0 ] 2>/dev/null && pass || fail "/interface print stats: $n $c is $v: $(con '/interface print stats')"
	done
done
v=$(stats ether3 rx-packet)
[ "${v:-0}" = 0 ] && pass || fail "ether3 carries no simulated traffic: $v"
a=$(stats ether1-gateway rx-packet)
sleep 0.3
b=$(stats ether1-gateway rx-packet)
[ "$b" -gt "$a" ] && pass || fail "the counters move: $a then $b"
# get reads a rule's counters, the ones print stats shows (RouterOS's
# :put [... get [find comment=X] packets]): non-zero on a rule the traffic
# crosses, moving, bytes at least 20 a packet
rule='[/ip firewall filter find comment="accept established/related (forward)"]'
fwget() { con ":put [/ip firewall filter get $rule $1]" | tail -1; }
a=$(fwget packets)
by=$(fwget bytes)
sleep 0.3
b=$(fwget packets)
[ "$a" -gt 0 ] 2>/dev/null && [ "$b" -gt "$a" ] && pass ||
	fail "get packets: '$a' then '$b': $(con '/ip firewall filter print stats')"
[ "$by" -ge $((a * 20)) ] 2>/dev/null && pass || fail "get bytes: '$by' for $a packets"
# log=yes and action=log write firewall,info lines into the log that
# /log print shows, in RouterOS's shape (prefix, chain, in:/out:, packet)
# (as RouterOS advises, a limit keeps the busy rule from flooding the log)
con '/ip firewall filter add chain=forward action=log log-prefix=AUDIT protocol=udp limit=20,5 place-before=0' \
	'/ip firewall mangle add chain=forward action=passthrough log=yes log-prefix=MG protocol=tcp limit=20,5 place-before=0' >/dev/null
for _ in $(seq 100); do
	out=$(con '/log print where topics~"firewall"')
	case "$out" in *"AUDIT forward: in:"*"MG forward: in:"* | *"MG forward: in:"*"AUDIT forward: in:"*) break ;; esac
	sleep 0.05
done
# (which flows' packets the limit lets through first varies: any direction)
grep -Eq 'firewall,info AUDIT forward: in:[a-z0-9-]+ out:[a-z0-9-]+, src-mac ([0-9a-f]{2}:){5}[0-9a-f]{2}, proto UDP, [0-9.]+:[0-9]+->[0-9.]+:[0-9]+, len [0-9]+$' <<<"$out" &&
	pass || fail "no AUDIT line in RouterOS's shape: $out"
expect_contains "$out" "firewall,info MG forward: in:"

# /system scheduler runs its tasks: a script by name (the seed's backup: an
# export to a file and a log line), script text; a disabled task does not
# run, and a failing one logs why
con '/system script add name=bk source="/export file=sched-backup; /log info backed-up"' \
	'/system scheduler add name=s1 interval=1s on-event=bk' \
	'/system scheduler add name=s2 interval=1s on-event=":log info inline-ran"' \
	'/system scheduler add name=s3 interval=1s on-event=":log info never-ran" disabled=yes' \
	'/system scheduler add name=s4 interval=1s on-event="/nonsense"' >/dev/null
for _ in $(seq 100); do
	out=$(con '/log print where topics~"script"')
	case "$out" in *backed-up*inline-ran* | *inline-ran*backed-up*) break ;; esac
	sleep 0.05
done
expect_contains "$out" "script,info backed-up"
expect_contains "$out" "script,info inline-ran"
expect_contains "$out" "script,error scheduler s4: line 1 col 2: no such command or menu 'nonsense'"
expect_not_contains "$out" "never-ran"
[ -s "$T/files/sched-backup.rsc" ] && pass || fail "the scheduled export wrote no file: $(ls "$T/files")"
expect_contains "$(cat "$T/files/sched-backup.rsc")" "/system scheduler"
[ "$(con ':put [/system scheduler get s3 run-count]' | tail -1)" = 0 ] && pass || fail "a disabled task ran"
n=$(con ':put [/system scheduler get s2 run-count]' | tail -1)
[ "$n" -ge 1 ] 2>/dev/null && pass || fail "s2 run-count is $n"
out=$(con '/system scheduler print detail where name=s2')
expect_contains "$out" 'next-run="'
kill -TERM "$pid"
wait "$pid" && pass || fail "exit status"

# rosfw run --console: the router in a child, its console on this stdin;
# the end of the script stops the router, which exits through its own
# cleanup (under make asan its leak check runs and reports here)
cdb="$T/console.db"
out=$(printf '/system identity print\n:put [/ip firewall filter print count-only]\n' |
	timeout 30 "$ROSFW" run --console --db "$cdb" --socket "$T/console.sock" --no-services 2>&1)
rc=$?
[ $rc = 0 ] && pass || fail "run --console: exit status $rc: $out"
expect_contains "$out" "name: rosfw"
[ "$(printf '%s\n' "$out" | grep -cx 8)" = 1 ] && pass || fail "run --console: the count once: $out"
[ ! -e "$T/console.sock" ] && pass || fail "run --console: the router did not clean up its socket"
finish
