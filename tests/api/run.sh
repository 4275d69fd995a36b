#!/usr/bin/env bash
# The RouterOS API of `rosfw run`: a daemon on a fresh store with the api and
# api-ssl services on free ports, driven by tests/api/test_api.py (Debian's
# python3-librouteros, and raw sockets for socialwifi's wire behaviour and
# hostile input); then SIGTERM must stop it cleanly (exit 0).
# Prints "ok N" (N checks) at the end; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."
ROSFW=$PWD/${BUILD:-build}/rosfw
T=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/daemon.log" ] && tail -20 "$T/daemon.log"; exit 1; }

if ! "$ROSFW" 2>&1 | grep -q '^  run '; then
	echo "SKIP: $ROSFW has no 'run' (build with WITH_DAEMON=1)"
	echo "ok 0"
	exit 0
fi

ports=$(/usr/bin/python3 - <<'EOF'
import socket
socks = []
for _ in range(4):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    socks.append(s)
print(' '.join(str(s.getsockname()[1]) for s in socks))
EOF
)
read -r api ssl www wwwssl <<<"$ports"

# the first exec creates the store (no admin password yet); run sets it
"$ROSFW" --db "$T/r.db" exec "/ip service set api port=$api" \
	"/ip service set api-ssl port=$ssl" \
	"/ip service set www port=$www disabled=yes" \
	"/ip service set www-ssl port=$wwwssl disabled=yes" >/dev/null ||
	fail "cannot prepare the store"
"$ROSFW" run --db "$T/r.db" --admin-password secret --socket "$T/s" \
	>"$T/daemon.log" 2>&1 &
pid=$!
ok=0
up=
for _ in $(seq 100); do
	if /usr/bin/python3 -c "import socket,sys; [socket.create_connection(('127.0.0.1', p), 1).close() for p in ($api, $ssl)]" 2>/dev/null; then
		up=1
		break
	fi
	kill -0 "$pid" 2>/dev/null || fail "the daemon died at start"
	sleep 0.1
done
[ -n "$up" ] || fail "api ports $api/$ssl not open"
ok=$((ok + 1))

API_PORT=$api SSL_PORT=$ssl ROSFW=$ROSFW SOCK=$T/s SEED=$PWD/examples/seed.rsc TMP=$T \
	PASSWORD=secret /usr/bin/python3 tests/api/test_api.py >"$T/py.log" 2>&1
rc=$?
cat "$T/py.log"
[ $rc -eq 0 ] || fail "test_api.py failed"
n=$(sed -n 's/^passed \([0-9]*\)$/\1/p' "$T/py.log")
ok=$((ok + ${n:-0}))

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || fail "the daemon exited $rc after SIGTERM"
ok=$((ok + 1))
echo "ok $ok"
