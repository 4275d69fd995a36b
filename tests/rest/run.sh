#!/usr/bin/env bash
# The REST API of a running router (rosfw run): curl for every method and
# every error (the store unchanged after each error), the services followed
# live (address list, port, www-ssl, tls-version), users' policies, failed
# logins throttled, then the seed's REST
# helper (test_rest.py, python3-requests) making the seed's changes, compared
# with a lenient import of examples/seed.rsc into a fresh store; finally
# SIGTERM and exit status 0.
set -u
. "$(dirname "$0")/../cli/lib.bash"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
# free ports, so that another run of the suite on the machine cannot collide
ports=$($PY - <<'EOF2'
import socket
socks = []
for _ in range(6):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    socks.append(s)
print(' '.join(str(s.getsockname()[1]) for s in socks))
EOF2
)
read -r WWW WWW2 API APISSL WWWSSL FRESH_WWW <<<"$ports"
H=http://127.0.0.1:$WWW/rest
HS=https://127.0.0.1:$WWWSSL/rest

if ! "$ROSFW" run --help 2>&1 | grep -q 'usage: rosfw run'; then
	echo "SKIP: $ROSFW has no 'run' (build with WITH_DAEMON=1)"
	echo "ok 0"
	exit 0
fi

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# start_router DB SOCKET PORT: in the background, waits for REST on PORT
start_router() {
	"$ROSFW" run --db "$1" --admin-password secret --socket "$2" >"$1.out" 2>"$1.err" &
	pids+=($!)
	for _ in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$3/rest/")" != 000 ] && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || { cat "$1.out" "$1.err"; fail "rosfw run on $1 died"; }
		sleep 0.1
	done
	cat "$1.out" "$1.err"
	fail "rosfw run on $1 does not answer on port $3"
}

# stop_router PID: SIGTERM, exit status 0 within 10 s
stop_router() {
	kill -TERM "$1"
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && fail "rosfw run did not stop on SIGTERM"
	wait "$1"
	local rc=$?
	[ "$rc" = 0 ] && pass || fail "rosfw run exited with $rc after SIGTERM"
}

# req [curl args] METHOD URL [BODY]: sets $code and $body
req() {
	local args=()
	while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do args+=("$1"); shift; done
	local m=$1 url=$2
	shift 2
	[ $# -gt 0 ] && args+=(-H 'content-type: application/json' --data-binary "$1")
	code=$(curl -s -o "$T/body" -w '%{http_code}' -u "${AUTH:-admin:secret}" -X "$m" \
		"${args[@]}" "$url")
	body=$(cat "$T/body")
}
expect() { # STATUS [NEEDLE]
	[ "$code" = "$1" ] || fail "expected $1, got $code: $body"
	pass
	[ $# -gt 1 ] && expect_contains "$body" "$2"
	return 0
}
id_of() { sed -n 's/^{".id":"\(\*[0-9A-F]*\)".*/\1/p' <<<"$body"; }
console() { "$ROSFW" console --socket "$T/s" 2>&1; }
store_export() { echo /export | console | grep -v '^# .* by rosfw '; }

"$ROSFW" --db "$T/r.db" exec "/ip service set www port=$WWW disabled=no address=\"\"" \
	"/ip service set api port=$API" "/ip service set api-ssl port=$APISSL" \
	"/ip service set www-ssl port=$WWWSSL" >/dev/null || fail "cannot prepare the store"
start_router "$T/r.db" "$T/s" $WWW
router=${pids[0]}

# ---- authentication ----
AUTH=admin:wrong req GET "$H/system/resource"
expect 401
[ "$body" = '{"error":401,"message":"Unauthorized"}' ] && pass || fail "401 body: $body"
hdr=$(curl -s -D - -o /dev/null "$H/system/resource")
expect_contains "$hdr" "WWW-Authenticate: Basic"
AUTH=nobody:secret req GET "$H/system/resource"
expect 401
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Basic !!!' "$H/system/resource")
expect 401

# ---- GET ----
req GET "$H/system/resource"
expect 200 '"version":"7.16 ('
# /user active: a REST client is listed (via=www, its address) for a minute
# after its last request; the login set admin's last-logged-in
req GET "$H/user/active"
expect 200 '"via":"www"'
expect_contains "$body" '"name":"admin"'
expect_contains "$body" '"address":"127.0.0.1"'
# one session per client, not one per request: more requests, still one
# entry, logged in once
for _ in 1 2 3; do req GET "$H/system/identity"; done
req GET "$H/user/active?via=www&name=admin"
expect 200
[ "$(grep -o '"via":"www"' <<<"$body" | wc -l)" = 1 ] && pass || fail "one www session: $body"
out=$(echo '/log print where message~"admin logged in from 127.0.0.1 via www"' | console)
[ "$(grep -c 'logged in from 127.0.0.1 via www' <<<"$out")" = 1 ] && pass ||
	fail "a REST client logs in once: $out"
req GET "$H/user/admin"
expect 200 '"last-logged-in":"'
req GET "$H/ip/firewall/filter"
expect 200 '[{".id":"*'
fid=$(sed -n 's/^\[{".id":"\(\*[0-9A-F]*\)".*/\1/p' <<<"$body")
expect_not_contains "$body" '":true'
req GET "$H/interface/ether1-gateway"
expect 200 '"name":"ether1-gateway"'
expect_contains "$body" '{".id":"*'
req GET "$H/ip/service/www"
expect 200 "\"port\":\"$WWW\""
wid=$(id_of)
req GET "$H/ip/service/$wid"
expect 200 '"name":"www"'
req GET "$H/ip/firewall/filter?chain=forward&action=drop&.proplist=chain,action"
expect 200 '[{"chain":"forward","action":"drop"},{"chain":"forward","action":"drop"}]'
req GET "$H/ip/firewall/filter?chain=nowhere"
expect 200
[ "$body" = "[]" ] && pass || fail "filter matching nothing: $body"
req GET "$H/ip/service?name=www&disabled=no"
expect 200 '"name":"www"'
req GET "$H/system/identity"
expect 200 '{"name":"rosfw"}'

# ---- PUT, PATCH, DELETE ----
req PUT "$H/ip/firewall/filter" '{"chain":"input","protocol":"tcp","dst-port":2222,"action":"drop","disabled":true,"comment":"rest test"}'
expect 201 '"dst-port":"2222"'
expect_contains "$body" '"disabled":"true"'
rid=$(id_of)
[ -n "$rid" ] && pass || fail "PUT reply without .id first: $body"
req GET "$H/ip/firewall/filter/$rid"
expect 200 '"comment":"rest test"'
req PATCH "$H/ip/firewall/filter/$rid" '{"disabled":false,"dst-port":"2223","comment":"changed"}'
expect 200 '"dst-port":"2223"'
expect_contains "$body" '"disabled":"false"'
expect_contains "$body" '"comment":"changed"'
req PATCH "$H/ip/firewall/filter/$rid" '{"!comment":"","log":"yes"}'
expect 200 '"log":"true"'
expect_not_contains "$body" '"comment"'
req DELETE "$H/ip/firewall/filter/$rid"
expect 204
[ -z "$body" ] && pass || fail "DELETE with a body: $body"
req DELETE "$H/ip/firewall/filter/$rid"
expect 404 '"error":404'
req PUT "$H/queue/tree" '{"name":"rest-q","parent":"ether1-gateway","max-limit":"1M"}'
expect 201 '"name":"rest-q"'
req PATCH "$H/queue/tree/rest-q" '{"name":"rest-q2","priority":3}'
expect 200 '"name":"rest-q2"'
expect_contains "$body" '"priority":"3"'
req GET "$H/queue/tree/rest-q2"
expect 200 '"max-limit":"1M"'
req DELETE "$H/queue/tree/rest-q2"
expect 204
req GET "$H/queue/tree/rest-q2"
expect 404
req PATCH "$H/system/identity" '{"name":"rest-router"}'
expect 200 '{"name":"rest-router"}'

# ---- POST commands ----
req POST "$H/ip/firewall/filter/add" '{"chain":"forward","action":"accept","comment":"by post"}'
expect 200 '{"ret":"*'
pid_=$(sed -n 's/.*"ret":"\(\*[0-9A-F]*\)".*/\1/p' <<<"$body")
req POST "$H/ip/firewall/filter/print" '{".proplist":"comment,action",".query":["chain=forward","comment=by post"]}'
expect 200
[ "$body" = '[{"action":"accept","comment":"by post"}]' ] && pass || fail "print .query: $body"
req POST "$H/ip/firewall/filter/print" '{".proplist":["chain"],".query":["chain=input","chain=forward","#|","action=accept"]}'
expect 200 '{"chain":"forward"}'
expect_contains "$body" '{"chain":"input"}'
req POST "$H/ip/firewall/filter/print" '{".query":["#x"]}'
expect 400 "unknown query operation 'x'"
req POST "$H/ip/firewall/filter/print" '{".proplist":"chain",".query":["chain=forward","#!"]}'
expect 200
expect_not_contains "$body" forward
req POST "$H/ip/firewall/filter/set" "{\".id\":\"$pid_\",\"!comment\":\"\",\"disabled\":\"yes\"}"
expect 200
[ "$body" = "[]" ] && pass || fail "set replies: $body"
req POST "$H/ip/firewall/filter/remove" "{\".id\":\"$pid_\"}"
expect 200
[ "$body" = "[]" ] && pass || fail "remove replies: $body"
req POST "$H/system/identity/get" '{"value-name":"name"}'
expect 200 '{"ret":"rest-router"}'
req POST "$H/ip/firewall/filter/print" '{"count-only":""}'
expect 200 '{"ret":"8"}'

# ---- errors: each a clear reply, and the store unchanged after each ----
before=$(store_export)
[ -n "$before" ] && pass || fail "no export through the console socket"
bad() { # as expect, then the export is what it was
	expect "$@"
	[ "$(store_export)" = "$before" ] && pass || fail "the store changed after: $code $body"
}
req PUT "$H/ip/firewall/filter" '{"chain":"input","src-adress":"10.0.0.1"}'
bad 400 '"detail":"unknown property '"'"'src-adress'"'"' (did you mean '"'"'src-address'"'"'?)"'
expect_contains "$body" '{"error":400,"message":"Bad Request","detail":'
req PUT "$H/ip/firewall/filter" '{"chain":"input",'
bad 400 '"detail":"malformed JSON: '
req PUT "$H/ip/firewall/filter" '["chain","input"]'
bad 400 'JSON object'
req PUT "$H/ip/firewall/filter" '{"chain":{"a":1}}'
bad 400 "value of 'chain'"
req PUT "$H/ip/firewall/filter" '{"action":"drop"}'
bad 400 'missing value for chain'
req PATCH "$H/ip/firewall/filter/*FFFF" '{"comment":"x"}'
bad 404 '"error":404,"message":"Not Found"'
req GET "$H/ip/firewall/filter/*FFFF"
bad 404
req GET "$H/interface/nosuch"
bad 404
req GET "$H/ip/firewal/filter"
bad 404
req GET "$H/nosuch"
bad 404
req GET "http://127.0.0.1:$WWW/index.html"
bad 404
req POST "$H/ip/firewall/filter/frobnicate" '{}'
bad 406 '"error":406'
req POST "$H/ip/firewall/filter/set" '{".id":"*FFFF","comment":"x"}'
bad 400 'no such item'
req DELETE "$H/ip/firewall/filter"
bad 405 '"error":405'
req PUT "$H/ip/firewall/filter/$fid" '{}'
bad 405
req POST "$H/ip/firewall/filter" '{}'
bad 405
req OPTIONS "$H/ip/firewall/filter"
bad 405
req PUT "$H/system/resource" '{}'
bad 405
req DELETE "$H/ip/service/www"
bad 400 'cannot be removed'
req PATCH "$H/ip/firewall/filter/$fid" '{"chain":"input","chain":"forward"}'
bad 400 'duplicate'
head -c 2000000 /dev/zero | tr '\0' ' ' >"$T/big"
code=$(curl -s -o "$T/body" -w '%{http_code}' -u admin:secret -X PUT -H 'content-type: application/json' \
	--data-binary @"$T/big" "$H/ip/firewall/filter")
body=$(cat "$T/body")
bad 413 '"error":413'
req POST "$H/user/add" '{"name":"reader","group":"read","password":"r"}'
expect 200 '{"ret":"*'
before=$(store_export)
AUTH=reader:r req GET "$H/ip/firewall/filter?chain=input"
expect 200 '"chain":"input"'
AUTH=reader:r req PUT "$H/ip/firewall/filter" '{"chain":"input","action":"drop"}'
bad 403 'not enough permissions'
AUTH=reader:r req POST "$H/ip/firewall/filter/remove" "{\".id\":\"$fid\"}"
bad 403
AUTH=reader:r req PATCH "$H/system/identity" '{"name":"x"}'
bad 403
expect_not_contains "$(AUTH=reader:r req GET "$H/user"; echo "$body")" 'password'

# ---- services followed live ----
req PATCH "$H/ip/service/www" '{"address":"10.0.0.0/8"}'
expect 200 '"address":"10.0.0.0/8"'
sleep 0.5
code=$(curl -s -o /dev/null -w '%{http_code}' -u admin:secret "$H/system/identity")
[ "$code" = 000 ] && pass || fail "www answered a client outside its address list: $code"
out=$(echo '/ip service set www address=127.0.0.0/8' | console)
sleep 0.5
req GET "$H/system/identity"
expect 200
req PATCH "$H/ip/service/www" "{\"port\":\"$WWW2\"}"
expect 200 "\"port\":\"$WWW2\""
sleep 0.5
req GET "http://127.0.0.1:$WWW2/rest/system/identity"
expect 200
code=$(curl -s -o /dev/null -w '%{http_code}' -u admin:secret "$H/system/identity")
[ "$code" = 000 ] && pass || fail "www still answers on its old port: $code"
req PATCH "http://127.0.0.1:$WWW2/rest/ip/service/www" "{\"port\":\"$WWW\"}"
expect 200 "\"port\":\"$WWW\""
sleep 0.5
req GET "$H/system/identity"
expect 200
req PATCH "$H/ip/service/www-ssl" '{"disabled":"no"}'
expect 200 '"disabled":"false"'
sleep 0.5
code=$(curl -s -k -o "$T/body" -w '%{http_code}' -u admin:secret "$HS/system/resource")
body=$(cat "$T/body")
expect 200 '"version":"7.16 ('
if command -v openssl >/dev/null; then
	# one certificate for every TLS endpoint; tls-version followed live
	fp() {
		echo | openssl s_client -connect "127.0.0.1:$1" "${@:2}" 2>/dev/null |
			openssl x509 -noout -fingerprint -sha256 2>/dev/null
	}
	a=$(fp $WWWSSL)
	b=$(fp $APISSL)
	[ -n "$a" ] && [ "$a" = "$b" ] && pass || fail "www-ssl and api-ssl certificates differ: '$a' '$b'"
	[ -n "$(fp $WWWSSL -tls1_3)" ] && pass || fail "www-ssl refuses TLS 1.3 with tls-version=any"
	req PATCH "$H/ip/service/www-ssl" '{"tls-version":"only-1.2"}'
	expect 200 '"tls-version":"only-1.2"'
	sleep 0.5
	[ -z "$(fp $WWWSSL -tls1_3)" ] && pass || fail "www-ssl accepts TLS 1.3 with tls-version=only-1.2"
	[ "$(fp $WWWSSL -tls1_2)" = "$a" ] && pass || fail "www-ssl refuses TLS 1.2"
fi

# ---- policies at login, failed logins throttled per source ----
req POST "$H/user/group/add" '{"name":"norest","policy":"read,api"}'
expect 200
req POST "$H/user/add" '{"name":"nr","group":"norest","password":"n"}'
expect 200
req POST "$H/user/add" '{"name":"late","group":"read","password":"l"}'
expect 200
AUTH=nr:n req GET "$H/system/identity"
expect 403 'not enough permissions'
req GET "$H/system/identity"
expect 200
# a password is checked on the login threads: while six requests of a user
# not verified lately wait for theirs, another client's request is served
req POST "$H/user/add" '{"name":"slow","group":"read","password":"s"}'
expect 200
req GET "$H/system/identity" # admin verified again (a /user change forgets logins)
expect 200
out=$($PY - "$WWW" <<'EOF'
import base64, http.client, sys, threading, time
port = int(sys.argv[1])
def get(user, pw, out):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    auth = base64.b64encode(('%s:%s' % (user, pw)).encode()).decode()
    c.request('GET', '/rest/system/identity', headers={'Authorization': 'Basic ' + auth})
    r = c.getresponse()
    r.read()
    out.append((r.status, time.time()))
    c.close()
slow = []
threads = [threading.Thread(target=get, args=('slow', 's', slow)) for _ in range(6)]
start = time.time()
for t in threads:
    t.start()
time.sleep(0.03)
fast = []
t0 = time.time()
get('admin', 'secret', fast)
rtt = fast[0][1] - t0
for t in threads:
    t.join()
last = max(t for _, t in slow) - start
print('statuses', sorted(set(s for s, _ in slow)), fast[0][0])
print('served during the logins:', rtt < last / 4, '%.4f s, the logins took %.3f s' % (rtt, last))
EOF
)
expect_contains "$out" "statuses [200] 200"
expect_contains "$out" "served during the logins: True"
for p in bad1 bad2 bad3; do
	AUTH=admin:$p req GET "$H/system/identity"
	expect 401
done
AUTH=late:l req GET "$H/system/identity"
expect 401
req GET "$H/system/identity"
expect 200
out=$(echo '/log print' | console)
expect_contains "$out" "login failure for user admin from 127.0.0.1 via rest"
expect_contains "$out" "rest: logins from 127.0.0.1 refused"

# ---- the seed's REST helper, compared with a lenient import of the seed ----
"$ROSFW" --db "$T/fresh.db" --no-defaults exec \
	'/interface ethernet set [ find default-name=ether1 ] name=ether1-gateway' \
	'/interface ethernet set [ find default-name=ether2 ] name=ether2-master-local' \
	"/ip service set www port=$FRESH_WWW disabled=no" '/ip service set api port=18738' \
	'/ip service set api-ssl port=18739' '/ip service set www-ssl port=18453 disabled=yes' \
	>/dev/null || fail "cannot prepare the fresh store"
out=$("$ROSFW" --db "$T/fresh.db" import --lenient "$ROOT/examples/seed.rsc" 2>&1) ||
	fail "lenient import of the seed failed: $out"
expect_contains "$out" "1 skipped"
start_router "$T/fresh.db" "$T/s2" $FRESH_WWW
fresh=${pids[1]}
out=$($PY "$ROOT/tests/rest/test_rest.py" 127.0.0.1:$WWWSSL "http://127.0.0.1:$FRESH_WWW" \
	admin secret 2>&1) || fail "test_rest.py: $out"
n=$(sed -n 's/^ok \([0-9]*\)$/\1/p' <<<"$out")
[ -n "$n" ] && ok=$((ok + n)) || fail "test_rest.py: $out"

stop_router "$fresh"
stop_router "$router"
pids=()
finish
