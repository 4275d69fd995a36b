#!/usr/bin/env bash
# Print on a terminal fits its width, as RouterOS's console does: a table
# wider than the terminal has its widest columns cut with "...", a plain
# item list wraps its words under the first; detail and terse keep their
# long lines; a pipe or a script gets the full width whatever the terminal.
# Offline and attached to a running router (the width travels with a 'W'
# request). The terminal is a pty of the given size (python3's pty module).
set -u
. "$(dirname "$0")/lib.bash"
db="$T/w.db"
"$ROSFW" --db "$db" exec \
	'/ip firewall filter add chain=input action=drop protocol=tcp dst-port=22,23,8291 src-address-list=!trusted comment="no remote admin"' \
	'/ip firewall address-list add list=a-very-long-address-list-name address=192.168.100.0/24' \
	'/ip service set api port=28731' '/ip service set api-ssl disabled=yes' \
	'/ip service set www disabled=yes' '/ip service set www-ssl disabled=yes' >/dev/null ||
	fail "set-up"

# on_pty COLS COMMAND...: runs the console on a terminal of COLS columns,
# types stdin's lines, then /quit; prints what the terminal showed
cat >"$T/onterm.py" <<'PY'
import fcntl, os, pty, select, struct, sys, termios, time
cols, argv = int(sys.argv[1]), sys.argv[2:]
lines = sys.stdin.read().splitlines()
pid, fd = pty.fork()
if pid == 0:
    os.environ['TERM'] = 'dumb'
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, cols, 0, 0))
out = b''
def drain(secs):
    global out
    end = time.time() + secs
    while time.time() < end:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                d = os.read(fd, 65536)
            except OSError:
                return
            if not d:
                return
            out += d
drain(0.5)
for l in lines + ['/quit']:
    os.write(fd, l.encode() + b'\r')
    drain(0.6)
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace').replace('\r', ''))
PY
on_pty() { python3 "$T/onterm.py" "$@"; }
# over OUT CMD COLS: the lines of CMD's output longer than COLS that hold
# more than one word after the indent (one long word cannot wrap)
over() {
	awk -v c="$2" -v w="$3" '/^\[admin@/ { on = substr($0, length($0) - length(c) + 1) == c; next }
		on && length($0) > w { t = $0; sub(/^ *[0-9]* *[XID]* */, "", t); if (t ~ / /) print }' <<<"$1"
}

cmds='/ip firewall address-list print
/ip firewall filter print
/ip firewall filter print detail'
check_terminal() { # what out
	local out=$2
	expect_contains "$out" "a-very-long..."
	[ -z "$(over "$out" 'address-list print' 50)" ] && pass || fail "$1: table wider than 50: $out"
	[ -z "$(over "$out" 'filter print' 50)" ] && pass || fail "$1: list wider than 50: $out"
	expect_contains "$out" "
       src-address-list=!trusted"
	expect_contains "$out" ";;; drop new connections from the WAN that
           are not port-forwarded"
	[ -n "$(over "$out" 'filter print detail' 100)" ] && pass || fail "$1: detail was cut: $out"
}
out=$(on_pty 50 "$ROSFW" --db "$db" console <<<"$cmds")
check_terminal offline "$out"

# a pipe: the full width, whatever the terminal (and golden files rely on it)
out=$(printf '%s\n' "$cmds" | "$ROSFW" --db "$db" console)
expect_contains "$out" "a-very-long-address-list-name 192.168.100.0/24"
expect_contains "$out" "src-address-list=!trusted dst-port=22,23,8291"

# attached to a running router
"$ROSFW" run --db "$db" --socket "$T/s" --admin-password x >"$T/run.log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do
	[ "$(printf ':put up\n' | "$ROSFW" console --socket "$T/s" 2>/dev/null)" = up ] && break
	sleep 0.05
done
out=$(on_pty 50 "$ROSFW" console --socket "$T/s" <<<"$cmds")
check_terminal attached "$out"
out=$(printf '%s\n' "$cmds" | "$ROSFW" console --socket "$T/s")
expect_contains "$out" "a-very-long-address-list-name 192.168.100.0/24"
# a bad width is refused (the console only sends numbers)
out=$(python3 - "$T/s" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
def reply():
    b = b''
    while b.count(b'\n', b.find(b'\0') if b'\0' in b else len(b)) == 0:
        b += s.recv(4096)
    return b
reply()
s.sendall(b'Wwide\n'); print(repr(reply()))
s.sendall(b'W80\n'); print(repr(reply()))
PY
)
expect_contains "$out" "failure: terminal width: 0 to 10000, not 'wide'"
expect_contains "$out" "b'\\x000"
kill -TERM $pid
wait $pid

# a router that refuses 'W' (one older than the width) is asked once, not
# before every command
python3 - "$T/old" "$T/wcount" <<'PY' &
import os, socket, sys
srv = socket.socket(socket.AF_UNIX); srv.bind(sys.argv[1]); srv.listen(1)
c, _ = srv.accept()
c.sendall(b'\x000/\n')
buf, asked = b'', 0
while True:
    d = c.recv(4096)
    if not d:
        break
    buf += d
    while b'\n' in buf:
        line, buf = buf.split(b'\n', 1)
        if line == b'C/quit':
            c.close()
            open(sys.argv[2], 'w').write(str(asked))
            sys.exit(0)
        if line.startswith(b'W'):
            asked += 1
            c.sendall(b'failure: unknown request\n\x001/\n')
        else:
            c.sendall(b'ok\n\x000/\n')
open(sys.argv[2], 'w').write(str(asked))
PY
fake=$!
for _ in $(seq 100); do [ -S "$T/old" ] && break; sleep 0.05; done
on_pty 50 "$ROSFW" console --socket "$T/old" <<<$':put 1\n:put 2\n:put 3' >/dev/null
wait $fake
[ "$(cat "$T/wcount")" = 1 ] && pass || fail "'W' asked $(cat "$T/wcount") times of a router that refused it"
finish
