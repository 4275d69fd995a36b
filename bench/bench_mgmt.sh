#!/usr/bin/env bash
# bench_mgmt: the management speeds of issue 5 against a running rosfw with
# 10,000 filter rules: API print of all rules, API adds per second on one
# connection, REST GET of all rules (librouteros and requests from Debian).
# The daemon runs on core 0, the client on core 1 when there is one.
set -u
cd "$(dirname "$0")/.."
ROSFW=$PWD/${BUILD:-build}/rosfw
T=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$T"' EXIT
read -r api www <<<"$(/usr/bin/python3 -c '
import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')"
{
	echo "/ip firewall filter"
	for i in $(seq 1 10000); do
		echo "add chain=forward protocol=tcp dst-port=$((1000 + i % 50000)) src-address=10.$((i / 256 % 256)).$((i % 256)).0/24 action=drop comment=\"rule $i\""
	done
} >"$T/rules.rsc"
"$ROSFW" --db "$T/r.db" exec "/ip service set api port=$api address=\"\"" \
	"/ip service set www port=$www disabled=no address=\"\"" '/ip service set api-ssl disabled=yes' \
	'/ip service set www-ssl disabled=yes' >/dev/null
"$ROSFW" --db "$T/r.db" import "$T/rules.rsc" >/dev/null 2>&1
taskset -c 0 "$ROSFW" run --db "$T/r.db" --admin-password bench --socket "$T/s" >"$T/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	/usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $api), 1).close()" 2>/dev/null && break
	sleep 0.1
done
cpu=1
[ "$(nproc)" -lt 2 ] && cpu=0
API=$api WWW=$www taskset -c $cpu /usr/bin/python3 - <<'PY'
import os, time, statistics, librouteros, requests
api_port, www = int(os.environ["API"]), int(os.environ["WWW"])
def med(f, n=5):
    v = []
    for _ in range(n):
        t = time.perf_counter(); r = f(); v.append(time.perf_counter() - t)
    return statistics.median(v), r
api = librouteros.connect("127.0.0.1", username="admin", password="bench", port=api_port)
path = api.path("ip", "firewall", "filter")
t, rows = med(lambda: len(list(path)))
print(f"API print of {rows} rules: {t*1000:.0f} ms (median of 5)")
def adds():
    t0 = time.perf_counter()
    for i in range(1000):
        path.add(**{"chain": "forward", "action": "accept", "protocol": "udp", "dst-port": str(20000 + i)})
    return 1000 / (time.perf_counter() - t0)
rates = [adds() for _ in range(3)]
r = statistics.median(rates)
print(f"API add on one connection: {r:.0f} per second (median of 3 x 1,000; target >= 1,000) "
      + ("PASS" if r >= 1000 else "FAIL"))
s = requests.Session(); s.auth = ("admin", "bench")
t, n = med(lambda: len(s.get(f"http://127.0.0.1:{www}/rest/ip/firewall/filter", timeout=60).json()))
print(f"REST GET of {n} rules: {t*1000:.0f} ms (median of 5)")
PY
kill -TERM "$pid"
wait "$pid"
pid=
