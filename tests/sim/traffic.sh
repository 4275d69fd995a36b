#!/usr/bin/env bash
# Scenario tests of `rosfw sim --traffic`: VoIP while two backups saturate the
# upload (examples/traffic/upload-saturated.json, 20 s, seed 1) through
#  soho  examples/soho.rsc, the seed's QoS done right: VoIP p99 queueing
#        delay upstream <= 5 ms, no VoIP loss, the upload close to the line;
#  seed  the seed guide's own configuration (examples/seed-network.rsc + examples/seed.rsc,
#        lenient): its catch-all mark overwrites the VoIP mark, so VoIP waits
#        in the 3M low-priority queue with the backups (p99 >= 10 ms or loss);
#  none  no queues at all (examples/seed-network.rsc): the modem's buffer fills, VoIP p99 is
#        far worse than with soho.rsc.
# Numbers come from the flat "metrics" object of --report json, read with
# grep and awk (no JSON tool needed). ROSFW overrides the binary.
set -u
cd "$(dirname "$0")"
R=${ROSFW:-../../${BUILD:-build}/rosfw}
P=../../examples/traffic/upload-saturated.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok=0
bad=0

pass() { ok=$((ok + 1)); }
fail() { echo "FAIL: $*"; bad=$((bad + 1)); }

sim() { # name args...
	local name=$1
	shift
	if ! "$R" sim --traffic "$P" --duration 20s --seed 1 "$@" >"$tmp/$name" 2>"$tmp/$name.err"; then
		fail "$name: rosfw sim failed"
		cat "$tmp/$name.err"
		return 1
	fi
}

# metric FILE KEY [N]: the Nth value of "KEY" (runs in order), empty if none
metric() {
	grep -o "\"$2\":[-0-9.eE+]*" "$1" | sed -n "${3:-1}p" | sed 's/.*://'
}

# check DESCRIPTION AWK-CONDITION a=VALUE ...
check() {
	local what=$1 cond=$2
	shift 2
	local args=()
	for kv in "$@"; do
		[ -n "${kv#*=}" ] || { fail "$what: no value for ${kv%%=*}"; return; }
		args+=(-v "$kv")
	done
	if awk "${args[@]}" "BEGIN { exit !($cond) }"; then
		pass
	else
		fail "$what ($*)"
	fi
}

sim soho --config ../../examples/soho.rsc --report json
sim seed --config ../../examples/seed-network.rsc --config ../../examples/seed.rsc --lenient --report json
sim none --config ../../examples/seed-network.rsc --report json

s99=$(metric "$tmp/soho" voip.up.p99_ms)
e99=$(metric "$tmp/seed" voip.up.p99_ms)
n99=$(metric "$tmp/none" voip.up.p99_ms)
echo "voip upstream p99 queueing delay: soho ${s99:-?} ms, seed ${e99:-?} ms, none ${n99:-?} ms"
echo "voip upstream lost: soho $(metric "$tmp/soho" voip.up.lost), seed" \
	"$(metric "$tmp/seed" voip.up.lost), none $(metric "$tmp/none" voip.up.lost)"

# (a) the corrected configuration protects VoIP and still fills the line
check "soho: VoIP p99 <= 5 ms" 'v <= 5' v="$s99"
check "soho: no VoIP loss upstream" 'v == 0' v="$(metric "$tmp/soho" voip.up.lost)"
check "soho: no VoIP loss downstream" 'v == 0' v="$(metric "$tmp/soho" voip.down.lost)"
check "soho: VoIP delivered at 50 pps" 'v > 80000' v="$(metric "$tmp/soho" voip.up.throughput_bps)"
check "soho: upload close to the line" 'v >= 0.85' v="$(metric "$tmp/soho" wan.up.utilisation)"
check "soho: backups get the rest" 'v >= 8500000' v="$(metric "$tmp/soho" bulk-up.up.throughput_bps)"

# (b) the seed's mark overwrite: VoIP is not prioritised
check "seed: VoIP not prioritised (p99 >= 10 ms or loss)" 'p >= 10 || l > 0' \
	p="$e99" l="$(metric "$tmp/seed" voip.up.lost)"
check "seed: VoIP far worse than with soho.rsc" 'e > 3 * s' e="$e99" s="$s99"
check "seed: everything squeezed into the 3M low-priority queue" 'v < 3500000' \
	v="$(metric "$tmp/seed" wan.up.throughput_bps)"
# queue_packets FILE NAME: packets through that queue
queue_packets() {
	grep -o "\"name\":\"$2\"[^}]*" "$1" | grep -o '"packets":[0-9]*' | sed 's/.*://'
}
check "seed: nothing reaches its High-Priority queue" 'v == 0' \
	v="$(queue_packets "$tmp/seed" High-Priority)"
check "soho: VoIP goes through voip-video" 'v >= 700' v="$(queue_packets "$tmp/soho" voip-video)"

# (c) no queues at all: bufferbloat in the modem
check "none: soho.rsc is much better for VoIP" 'n > 10 * s && n >= 50' n="$n99" s="$s99"
check "none: the modem queue fills" 'v >= 100' v="$(metric "$tmp/none" wan.up.max_queue_ms)"

# --compare gives both runs, the same numbers as alone (deterministic)
if sim cmp --config ../../examples/soho.rsc --compare ../../examples/seed-network.rsc --compare ../../examples/seed.rsc \
	--lenient --report json; then
	check "compare: run A equals the soho run" 'a == s' a="$(metric "$tmp/cmp" voip.up.p99_ms 1)" s="$s99"
	check "compare: run B equals the seed run" 'b == e' b="$(metric "$tmp/cmp" voip.up.p99_ms 2)" e="$e99"
fi

# the other reports: text with both columns, one self-contained HTML page
if sim txt --config ../../examples/soho.rsc --compare ../../examples/seed-network.rsc --report text; then
	grep -q '^voip  *up ' "$tmp/txt" && grep -q 'A | B' "$tmp/txt" && pass ||
		fail "text: no voip row or no A | B columns"
fi
if sim html --config ../../examples/soho.rsc --report html --out "$tmp/page.html"; then
	n=$(grep -c '<svg' "$tmp/page.html")
	if [ "$n" -ge 5 ] && ! grep -Eq '(src|href)="?(https?:)?//|<link|<script' "$tmp/page.html"; then
		pass
	else
		fail "html: $n plots, or an external reference"
	fi
fi

# IPv6 traffic (ipv6.json: a laptop's transfers over IPv6, a phone over
# IPv4) through a simple queue whose target is the LAN's IPv6 /64
# (ipv6.rsc), against the same network without queues
if "$R" sim --traffic ipv6.json --duration 15s --seed 1 --config ipv6.rsc \
	--compare ipv6-noqueue.rsc --report json >"$tmp/v6" 2>"$tmp/v6.err"; then
	check "ipv6: the upload held to the queue's 2M" 'v >= 1500000 && v <= 2100000' \
		v="$(metric "$tmp/v6" bulk-up.up.throughput_bps 1)"
	check "ipv6: the download under the queue's 4M" 'v > 0 && v <= 4200000' \
		v="$(metric "$tmp/v6" bulk-down.down.throughput_bps 1)"
	check "ipv6: without the queue the upload takes the line" 'v >= 15000000' \
		v="$(metric "$tmp/v6" bulk-up.up.throughput_bps 2)"
	check "ipv6: the IPv6 queue counts the transfers" 'v >= 2000' \
		v="$(queue_packets "$tmp/v6" lan6)"
	check "ipv6: the IPv4 phone passes its own queue" 'v >= 1000' \
		v="$(queue_packets "$tmp/v6" phone4)"
else
	fail "ipv6: rosfw sim failed: $(cat "$tmp/v6.err")"
fi

# the smallest IPv6 game packets (62 bytes, 50..74 before the clamp) beside
# a download: every one is a real frame of its own, none lost or oversized
game6() { # size
	cat <<-EOF
	{ "wan": { "interface": "ether1-gateway", "up": "20M", "down": "50M", "rtt": "20ms" },
	  "hosts": [ { "name": "laptop", "interface": "ether2-master-local",
	    "address": "192.168.88.20", "address6": "2001:db8:1::20",
	    "flows": [ { "kind": "bulk-download", "server": "2001:db8:ff::61" },
	               { "kind": "gaming", "server": "2001:db8:ff::60",
	                 "size_up": $1, "size_down": $1 } ] } ] }
	EOF
}
game6 62 >"$tmp/g6.json"
if "$R" sim --traffic "$tmp/g6.json" --duration 10s --seed 1 --config ipv6-noqueue.rsc \
	--report json >"$tmp/g6" 2>"$tmp/g6.err"; then
	check "ipv6 gaming: nothing lost upstream" 'v == 0' v="$(metric "$tmp/g6" gaming.up.lost)"
	check "ipv6 gaming: nothing lost downstream" 'v == 0' v="$(metric "$tmp/g6" gaming.down.lost)"
	# 60 packets/s of 62..74 bytes: under 36 kbit/s
	check "ipv6 gaming: downstream frames are the game's" 'v > 25000 && v < 36000' \
		v="$(metric "$tmp/g6" gaming.down.throughput_bps)"
else
	fail "ipv6 gaming: rosfw sim failed: $(cat "$tmp/g6.err")"
fi
game6 60 >"$tmp/g60.json"
"$R" sim --traffic "$tmp/g60.json" --duration 1s --config ipv6.rsc >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "size_up.*62" "$tmp/err" && pass ||
	fail "an IPv6 frame under 62 bytes is refused: $(cat "$tmp/err")"

# usage errors
"$R" sim --traffic "$P" --config ../../examples/seed-network.rsc --report pdf >/dev/null 2>&1
[ $? -eq 2 ] && pass || fail "a bad --report is a usage error"
"$R" sim --traffic /nonexistent.json --config ../../examples/seed-network.rsc >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q nonexistent "$tmp/err" && pass || fail "a missing profile is reported"

echo "ok $ok"
[ "$bad" -eq 0 ]
