#!/usr/bin/env bash
# IPv6 through trace and sim: forwarding with the /ipv6 firewall (rules
# named by their /ipv6 menu), the router's own addresses and neighbour
# discovery to input, ICMPv6 errors; fragments reassembled before the rules,
# the held ones reported as such and the whole datagram written out.
set -u
. "$(dirname "$0")/lib.bash"
cat >"$T/v6.rsc" <<'RSC'
/ip address
add address=192.168.88.1/24 interface=lan
add address=203.0.113.2/24 interface=wan
/ip route
add gateway=203.0.113.1
/ip firewall filter
add chain=forward action=drop connection-state=invalid
add chain=forward action=drop protocol=udp dst-port=9999
/ipv6 address
add address=2001:db8:1::1/64 interface=lan
add address=2001:db8:ffff::2/64 interface=wan
/ipv6 route
add gateway=2001:db8:ffff::1
/ipv6 firewall filter
add chain=input action=drop connection-state=invalid
add chain=input action=accept protocol=icmpv6
add chain=input action=drop comment="drop the rest to the router"
add chain=forward action=accept connection-state=established,related
add chain=forward action=drop connection-state=invalid
add chain=forward action=accept in-interface=lan comment="LAN out"
add chain=forward action=reject reject-with=icmp-admin-prohibited
RSC

out=$("$ROSFW" trace --config "$T/v6.rsc" --in lan 'tcp [2001:db8:1::10]:5000 > [2001:db8:9::1]:443 flags=S')
expect_contains "$out" "routing                via wan gateway 2001:db8:ffff::1"
expect_contains "$out" "ipv6 filter forward    #5 matched  ;;; LAN out"
expect_contains "$out" "result                 forward out:wan by /ipv6/firewall/filter"

out=$("$ROSFW" trace --config "$T/v6.rsc" --in wan 'tcp [2001:db8:9::1]:5000 > [2001:db8:ffff::2]:22 flags=S')
expect_contains "$out" "routing                to the router itself"
expect_contains "$out" "ipv6 filter input      #2 matched  ;;; drop the rest to the router"

out=$("$ROSFW" trace --config "$T/v6.rsc" --in lan 'icmp6 [fe80::10] > [ff02::1:ff00:1] type=135 ttl=255')
expect_contains "$out" "conntrack              untracked"
expect_contains "$out" "result                 local"

out=$("$ROSFW" trace --config "$T/v6.rsc" --in wan 'udp [2001:db8:9::1]:53 > [2001:db8:1::10]:53')
expect_contains "$out" "result                 reject by /ipv6/firewall/filter"

out=$("$ROSFW" trace --config "$T/v6.rsc" --in lan 'udp [2001:db8:1::10]:53 > [2001:db8:9::1]:53 ttl=1')
expect_contains "$out" "hop limit exceeded"
expect_contains "$out" "result                 reject (ttl-exceeded)"

cat >"$T/v6.pkts" <<'PKTS'
0   lan icmp6 [fe80::10] > [ff02::1:ff00:1] type=135 ttl=255
10  lan tcp [2001:db8:1::10]:5000 > [2001:db8:9::1]:443 flags=S seq=1
20  wan tcp [2001:db8:9::1]:443 > [2001:db8:1::10]:5000 flags=SA seq=7 ack=2
30  wan udp [2001:db8:9::1]:53 > [2001:db8:1::10]:53
40  lan udp 192.168.88.10:1000 > 198.51.100.1:53 len=1472 mf=yes ip-id=9
50  lan proto=17 192.168.88.10 > 198.51.100.1 frag-off=1480 len=500 ip-id=9
60  lan udp 192.168.88.10:1001 > 198.51.100.1:9999 len=1472 mf=yes ip-id=10
70  lan proto=17 192.168.88.10 > 198.51.100.1 frag-off=1480 len=500 ip-id=10
PKTS
mkdir -p "$T/cap"
"$(dirname "$ROSFW")/tests/mkpcap" "$T/v6.pkts" "$T/cap" || fail mkpcap
"$ROSFW" sim --config "$T/v6.rsc" --in lan="$T/cap/lan.pcap" --in wan="$T/cap/wan.pcap" \
	--out-dir "$T/out" --verdicts "$T/v.jsonl" >"$T/report" || fail "sim failed"
v=$(cat "$T/v.jsonl")
expect_contains "$v" '{"n":1,"in":"lan","verdict":"local",'
expect_contains "$v" '"n":2,"in":"lan","verdict":"forward","out":"wan","rule":"/ipv6/firewall/filter'
expect_contains "$v" '"n":3,"in":"wan","verdict":"forward","out":"lan","rule":"/ipv6/firewall/filter'
expect_contains "$v" '"ct":"established"'
expect_contains "$v" '"n":4,"in":"wan","verdict":"reject"'
expect_contains "$v" '{"n":5,"in":"lan","verdict":"held"'
expect_contains "$v" '{"n":6,"in":"lan","verdict":"forward","out":"wan"'
expect_contains "$v" '{"n":7,"in":"lan","verdict":"held"'
expect_contains "$v" '{"n":8,"in":"lan","verdict":"drop","out":null,"rule":"/ip/firewall/filter'
expect_contains "$(cat "$T/report")" "packets: 8 (forward 3, local 1, drop 1, reject 1, l2 0, held 2)"
# the reassembled datagram leaves whole: 14 + 20 + 1480 + 500 bytes
size=$(stat -c %s "$T/out/wan.pcap")
[ "$size" -gt 2014 ] && pass || fail "wan.pcap has no whole datagram ($size bytes)"
finish
