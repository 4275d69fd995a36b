#!/usr/bin/env bash
# The AF_XDP packet I/O backend, in network namespaces of its own (prefix
# rosfwx, apart from the lab's rosfwt):
#  1. the io contract on a veth pair, AF_PACKET and AF_XDP alike
#     (build/tests/iotest: frames both ways, sums left to the NIC flagged or,
#     on AF_PACKET, finished (a vxlan datagram's inner sum, SCTP's CRC32c),
#     link down and up, interface gone);
#     generic XDP where the driver has none (lo);
#  2. `rosfw run --io af_xdp` between a LAN and a WAN host: ping and UDP
#     through masquerade (frames both ways on both interfaces), the router's
#     LAN link down and up again;
#  3. `rosfw run --io auto` with a LAN interface of 4 receive queues: AF_XDP
#     takes it (a socket per queue), 64 UDP flows from the LAN host spread
#     over the queues (the veth's per-queue XDP counters say so) and every
#     flow is echoed back through the router, and so are 16 TCP connections;
#  4. `rosfw run --io auto` where one interface cannot take AF_XDP (more
#     receive queues than it serves): it says why and runs AF_PACKET there;
#  5. `rosfw run --io af_packet` (before 2): the log says how each
#     interface runs, and a ping goes through.
# Needs root and `ip netns`; skipped with a visible message without them,
# and the AF_XDP parts with the reason when XDP cannot attach here. Run it
# under flock /tmp/rosfw-test.lock like every namespace test.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ROSFW=${ROSFW:-$PWD/$BUILD/rosfw}
IOTEST=$PWD/$BUILD/tests/iotest
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: needs root and ip netns"
	echo "ok 0"
	exit 0
fi
P=rosfwx
NSS="$P-io $P-r $P-w $P-l"
T=$(mktemp -d)
cleanup() {
	[ -n "${router_pid:-}" ] && kill "$router_pid" 2>/dev/null
	wait 2>/dev/null
	for n in $NSS; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for n in $NSS; do ip netns del "$n" 2>/dev/null; done

ok=0
bad=0
pass() { echo "PASS: $*"; ok=$((ok + 1)); }
fail() { echo "FAIL: $*"; bad=$((bad + 1)); }

# ---- 1. the backends on a veth pair
pair() { # [queues]
	local q=${1:-1}
	ip netns del $P-io 2>/dev/null
	ip netns add $P-io
	ip netns exec $P-io sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n $P-io link add xa numtxqueues $q numrxqueues $q type veth peer name xb \
		numtxqueues $q numrxqueues $q
	ip -n $P-io link set xa up
	ip -n $P-io link set xb up
	ip -n $P-io link set lo up
}
xdp=yes
for b in af_packet af_xdp; do
	pair
	out=$(timeout 60 ip netns exec $P-io "$IOTEST" $b xa xb 2>&1)
	rc=$?
	echo "$out" | sed "s/^/[$b] /"
	if [ $rc = 77 ] && [ $b = af_xdp ]; then
		echo "SKIP: AF_XDP cannot attach on this machine; its tests are skipped"
		xdp=no
		continue
	fi
	n=$(sed -n 's/^ok \([0-9]*\)$/\1/p' <<<"$out")
	if [ $rc = 0 ] && [ "${n:-0}" -ge 18 ]; then
		pass "$b: the io contract on a veth pair ($n checks)"
	else
		fail "$b: the io contract on a veth pair (exit $rc)"
	fi
done
if [ $xdp = yes ]; then
	# the peer's frames of the test ethertype all hash to one of the
	# queues, whichever it is
	pair 4
	out=$(timeout 60 ip netns exec $P-io "$IOTEST" af_xdp xa xb 2>&1)
	rc=$?
	echo "$out" | sed "s/^/[af_xdp, 4 queues] /"
	n=$(sed -n 's/^ok \([0-9]*\)$/\1/p' <<<"$out")
	if [ $rc = 0 ] && [ "${n:-0}" -ge 18 ] && grep -q '4 receive queues' <<<"$out"; then
		pass "af_xdp: the io contract on a veth pair with 4 receive queues ($n checks)"
	else
		fail "af_xdp: the io contract on a veth pair with 4 receive queues (exit $rc)"
	fi
	out=$(ip netns exec $P-io "$IOTEST" af_xdp lo 2>&1)
	case "$out" in
	*"AF_XDP generic, copy"*) pass "AF_XDP falls back to generic XDP on lo: $out" ;;
	*) fail "AF_XDP on lo: $out" ;;
	esac
fi
ip netns del $P-io

# ---- 2. and 3. the router between two hosts
. tests/lab/twohosts.bash
"$ROSFW" --db "$T/r.db" exec '/ip service set api disabled=yes' >/dev/null
# An ICMP echo from the LAN host to the WAN host, answered within 1 s
# (iputils' ping is not among the packages the tests need)
ping1() {
	ip netns exec $P-l python3 -c '
import os, socket, struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    return ~(s + (s >> 16)) & 0xffff
ident, body = os.getpid() & 0xffff, b"rosfwx-ping" * 4
pkt = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + body
pkt = pkt[:2] + struct.pack("!H", csum(pkt)) + pkt[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(1)
s.sendto(pkt, ("203.0.113.1", 0))
try:
    while True:
        r = s.recv(2048)
        icmp = r[(r[0] & 15) * 4:]
        if icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident and icmp[8:] == body:
            sys.exit(0)
except socket.timeout:
    sys.exit(1)
' 2>/dev/null
}
# pings until one is answered (at most $1 s)
ping_within() {
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt $end ]; do
		ping1 && return 0
	done
	return 1
}
# udp_echo_server PORT SECS: an echo of UDP datagrams on the WAN host, in
# the background (echo_pid), until a datagram "stop" or SECS seconds
udp_echo_server() {
	ip netns exec $P-w python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.settimeout(0.5)
end = time.time() + int(sys.argv[2])
while time.time() < end:
    try:
        d, a = s.recvfrom(4096)
    except socket.timeout:
        continue
    if d == b"stop":
        break
    s.sendto(d, a)
' "$1" "$2" &
	echo_pid=$!
	sleep 0.3
}
# UDP datagrams of 16..1000 bytes from the LAN host to an echo on the WAN
# host; prints how many came back intact
udp_echo() {
	udp_echo_server 7000 20
	ip netns exec $P-l python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
good = 0
for i in range(200):
    d = (b"%05d" % i) * (4 + (i * 37) % 196)
    s.sendto(d, ("203.0.113.1", 7000))
    try:
        if s.recv(4096) == d:
            good += 1
    except socket.timeout:
        pass
s.sendto(b"stop", ("203.0.113.1", 7000))
print(good)
'
	wait $echo_pid 2>/dev/null
}

# flows_echo FLOWS N: FLOWS UDP sockets of the LAN host (so as many
# source ports, hashed over the sender's queues) send N datagrams each to
# an echo on the WAN host; prints how many flows got all N back, and how
# many datagrams came back intact in all
flows_echo() {
	udp_echo_server 7001 30
	ip netns exec $P-l python3 -c '
import socket, sys
flows, n = int(sys.argv[1]), int(sys.argv[2])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
whole = total = 0
for f, s in enumerate(socks):
    s.settimeout(0.3)
    good = 0
    for i in range(n):
        d = b"flow %d datagram %d " % (f, i) * 8
        s.sendto(d, ("203.0.113.1", 7001))
        try:
            if s.recv(4096) == d:
                good += 1
        except socket.timeout:
            pass
    whole += good == n
    total += good
socks[0].sendto(b"stop", ("203.0.113.1", 7001))
print(whole, total)
' "$1" "$2"
	wait $echo_pid 2>/dev/null
}

# tcp_echo CONNS BYTES: CONNS TCP connections from the LAN host, one after
# the other, each sends BYTES to an echo on the WAN host and reads them
# back; prints how many came back whole
tcp_echo() {
	ip netns exec $P-w python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7002)); s.listen(16); s.settimeout(10)
for _ in range(int(sys.argv[1])):
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    c.settimeout(5)
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    c.close()
' "$1" &
	echo_pid=$!
	sleep 0.3
	ip netns exec $P-l python3 -c '
import socket, sys
conns, size = int(sys.argv[1]), int(sys.argv[2])
whole = 0
for i in range(conns):
    data = bytes((i * 31 + k * 7) & 255 for k in range(size))
    try:
        c = socket.create_connection(("203.0.113.1", 7002), timeout=5)
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        back = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            back += d
        whole += back == data
        c.close()
    except OSError:
        pass
print(whole)
' "$1" "$2"
	wait $echo_pid 2>/dev/null
}

# xdp_queue_frames NS IF: the frames each receive queue of the veth IF
# handed to an XDP socket (its rx_queue_N_xdp_redirect counters, as
# `ethtool -S` shows them), queue 0 first
xdp_queue_frames() {
	ip netns exec "$1" python3 -c '
import array, fcntl, re, socket, struct, sys
SIOCETHTOOL, GDRVINFO, GSTRINGS, GSTATS, SS_STATS = 0x8946, 0x3, 0x1b, 0x1d, 1
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def ethtool(buf):
    ifr = struct.pack("16sP", sys.argv[1].encode(), buf.buffer_info()[0]).ljust(40, b"\0")
    fcntl.ioctl(s, SIOCETHTOOL, ifr)
info = array.array("B", struct.pack("I", GDRVINFO).ljust(196, b"\0"))
ethtool(info)
n = struct.unpack_from("I", info, 180)[0]
names = array.array("B", struct.pack("III", GSTRINGS, SS_STATS, n).ljust(12 + 32 * n, b"\0"))
ethtool(names)
stats = array.array("B", struct.pack("II", GSTATS, n).ljust(8 + 8 * n, b"\0"))
ethtool(stats)
q = {}
for i in range(n):
    name = bytes(names[12 + 32 * i:44 + 32 * i]).split(b"\0")[0].decode()
    m = re.fullmatch(r"rx_queue_(\d+)_xdp_redirect", name)
    if m:
        q[int(m.group(1))] = struct.unpack_from("Q", stats, 8 + 8 * i)[0]
print(" ".join(str(q[k]) for k in sorted(q)))
' "$2"
}

# --io af_packet: the log says how each interface runs, as for AF_XDP
twohosts_up 1
if ! router_start af_packet; then
	fail "rosfw run --io af_packet did not start"
	cat "$T/router.log"
else
	if log=$(printf '/log print\n' | "$ROSFW" console --socket "$T/s" 2>/dev/null) &&
		grep -q 'e1: AF_PACKET TPACKET_V2' <<<"$log" && grep -q 'e2: AF_PACKET TPACKET_V2' <<<"$log" &&
		grep -q 'e2: AF_PACKET TPACKET_V2' "$T/router.log"; then
		pass "--io af_packet: the router's log and stderr say how e1 and e2 run ($(grep -o 'e2: AF_PACKET.*' "$T/router.log"))"
	else
		fail "--io af_packet: nothing in the log on how the interfaces run: $log"
	fi
	if ping_within 10; then
		pass "ping LAN -> WAN host through the router on AF_PACKET"
	else
		fail "ping LAN -> WAN host through the router on AF_PACKET"
	fi
fi
twohosts_down

if [ $xdp = yes ]; then
	twohosts_up 1
	if ! router_start af_xdp; then
		fail "rosfw run --io af_xdp did not start"
		cat "$T/router.log"
	else
		n=$(grep -c 'AF_XDP native' "$T/router.log")
		[ "$n" = 2 ] && pass "rosfw run --io af_xdp: both interfaces on AF_XDP" ||
			fail "rosfw run --io af_xdp: $n interfaces on AF_XDP: $(cat "$T/router.log")"
		if ping_within 10; then
			pass "ping LAN -> WAN host through the router on AF_XDP"
		else
			fail "ping LAN -> WAN host through the router on AF_XDP"
		fi
		got=$(udp_echo)
		[ "$got" = 200 ] && pass "UDP echo through masquerade on AF_XDP: $got of 200" ||
			fail "UDP echo through masquerade on AF_XDP: ${got:-0} of 200"
		# the router's own LAN interface down: its XDP socket stays bound
		ip -n $P-r link set e2 down
		sleep 1
		if ping1; then
			fail "ping passed with the router's LAN link down"
		else
			pass "no ping with the router's LAN link down"
		fi
		ip -n $P-r link set e2 up
		if ping_within 10; then
			pass "ping again once the LAN link is back up"
		else
			fail "ping again once the LAN link is back up"
		fi
		log=$(printf '/log print\n' | "$ROSFW" console --socket "$T/s" 2>/dev/null)
		case "$log" in
		*"ether2-master-local link down"*"ether2-master-local link up"*)
			pass "the router logged the LAN link down and up" ;;
		*) fail "no link down/up in the router's log: $log" ;;
		esac
	fi
	twohosts_down

	twohosts_up 4
	if ! router_start auto; then
		fail "rosfw run --io auto (4 queues) did not start"
		cat "$T/router.log"
	else
		if grep -q 'e1: AF_XDP native' "$T/router.log" &&
			grep -q 'e2: AF_XDP native, .*4 receive queues' "$T/router.log"; then
			pass "--io auto: AF_XDP on e1 and on e2's 4 receive queues"
		else
			fail "--io auto, 4 queues: $(cat "$T/router.log")"
		fi
		ping_within 10 >/dev/null
		before=$(xdp_queue_frames $P-r e2)
		got=$(flows_echo 64 10)
		after=$(xdp_queue_frames $P-r e2)
		[ "$got" = "64 640" ] && pass "64 UDP flows through AF_XDP on 4 queues: all echoed ($got)" ||
			fail "64 UDP flows through AF_XDP on 4 queues: flows, datagrams echoed: ${got:-none}"
		got=$(tcp_echo 16 65536)
		[ "$got" = 16 ] && pass "16 TCP connections of 64 KiB each way through AF_XDP on 4 queues" ||
			fail "TCP through AF_XDP on 4 queues: ${got:-0} of 16 connections whole"
		# what each of e2's queues passed to its XDP socket meanwhile
		used=$(awk -v a="$before" -v b="$after" 'BEGIN {
			n = split(a, x); split(b, y); u = 0; s = ""
			for (i = 1; i <= n; i++) { d = y[i] - x[i]; s = s " q" i - 1 "=" d; if (d >= 20) u++ }
			print u s }')
		[ "${used%% *}" = 4 ] && pass "every receive queue of e2 carried flows to rosfw:${used#* }" ||
			fail "frames per receive queue of e2 (queues with 20 or more first):${used:- none}"
		if log=$(printf '/log print\n' | "$ROSFW" console --socket "$T/s" 2>/dev/null) &&
			grep -q 'e2: AF_XDP native, .*4 receive queues' <<<"$log"; then
			pass "the router's log says e2 runs AF_XDP on 4 receive queues"
		else
			fail "no AF_XDP with 4 receive queues in the router's log: $log"
		fi
	fi
	twohosts_down

	twohosts_up 17
	if ! router_start auto; then
		fail "rosfw run --io auto did not start"
		cat "$T/router.log"
	else
		if grep -q 'e1: AF_XDP native' "$T/router.log" &&
			grep -q 'e2: no AF_XDP (e2 has 17 receive queues.*at most 16.*AF_PACKET instead (AF_PACKET TPACKET_V2' "$T/router.log"; then
			pass "--io auto: AF_XDP on e1, AF_PACKET on e2 with the reason logged"
		else
			fail "--io auto: $(cat "$T/router.log")"
		fi
		if ping_within 10; then
			pass "ping through the router on AF_XDP and AF_PACKET together"
		else
			fail "ping through the router on AF_XDP and AF_PACKET together"
		fi
	fi
	twohosts_down
fi
if [ $bad != 0 ]; then
	echo "--- router log"
	cat "$T/router.log" 2>/dev/null
	exit 1
fi
echo "ok $ok"
