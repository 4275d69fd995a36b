#!/usr/bin/env bash
# Layer 2 of the live router (prefix rosfwt): `rosfw lab up` with
# examples/soho.rsc and tests/lab/l2.rsc, then
#   - IPv6 through rosfw with neighbour discovery on both wires (the WAN
#     host forwards IPv6: /ipv6 neighbor print marks it a router; its router
#     advertisement counts in nd.ra-in; /ipv6 neighbor remove forgets the
#     LAN host until it talks again): the LAN host
#     reaches the WAN host (TCP and UDP echo), the WAN host cannot open a
#     connection to the LAN host (IPv6 forward filter) nor reach the router's
#     ssh (IPv6 input filter), both counted by their rules;
#   - a tagged link: vlan20 (id 20 on ether2-master-local) against a host
#     behind tag 20 on the LAN wire: IPv4 (masqueraded) and IPv6 to the WAN,
#     a forward rule with in-interface=vlan20, the untagged LAN beside it,
#     and frames of an id no vlan has are dropped;
#   - ARP (through lab apply): a static entry for the LAN host and arp=reply-only
#     on the LAN port: the LAN host still reaches the WAN host, /ip arp print
#     shows the static entry and the WAN host's dynamic one (D, C); without
#     the static entry the LAN host is unreachable (reply-only learns
#     nothing), and with arp=enabled again it is reachable; /ip arp remove
#     [find dynamic] empties the live table, and the neighbours are learnt
#     again; a next hop that never answers ARP: the LAN host's ping to an
#     address routed through it gets "Destination Host Unreachable";
#   - proxy ARP: the LAN host takes the WiFi half for its own wire;
#     arp=proxy-arp on the LAN port answers for the WiFi host (another
#     port) with the router's MAC and forwards, not for the LAN's own half;
#     local-proxy-arp answers for the LAN's own half, not the WiFi host.
# Needs root, ip netns and /usr/bin/python3; skipped with a visible message
# without them.
set -u
cd "$(dirname "$0")/../.."
. tests/lab/lib.bash
lab_begin curl "$PY"
# a counter of the router's stats file; a rule's by table and comment
settle() { sleep 0.5; }
stat() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$T/stats"; }
rule() { awk -v t="$1." -v c="$2" 'index($1, t) == 1 && index($0, c) { print $2; f = 1 }
	END { if (!f) print 0 }' "$T/stats"; }
talk() { N "$1" $PY "$PROBE" talk "${@:2}" 2>&1; }
v6on() { N "$1" sh -c "echo 0 > /proc/sys/net/ipv6/conf/$2/disable_ipv6"; }

"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
if ! timeout 15 "$ROSFW" lab up --prefix "$prefix" --dir "$T" --config tests/lab/l2.rsc; then
	echo "FAIL: lab up"
	exit 1
fi
# IPv6 on the WAN and LAN hosts (the lab keeps it off), without DAD's wait
# the WAN host forwards IPv6 on eth0: its advertisements carry the router flag
v6on wan eth0 && N wan sysctl -qw net.ipv6.conf.eth0.forwarding=1 &&
	N wan ip -6 addr add 2001:db8:203::1/64 dev eth0 nodad &&
	N wan ip -6 route add fd00::/16 via 2001:db8:203::2 &&
	v6on lan eth0 && N lan ip -6 addr add fd00:88::10/64 dev eth0 nodad &&
	N lan ip -6 route add default via fd00:88::1 || { echo "FAIL: IPv6 set-up"; exit 1; }
N wan $PY "$PROBE" serve6 7007 >/dev/null 2>&1 &
N wan $PY "$PROBE" serve6 7008 >/dev/null 2>&1 &
N lan $PY "$PROBE" serve6 7007 >/dev/null 2>&1 &
sleep 0.5

# ---- IPv6 ----
out=$(talk lan fd00:88::10 2001:db8:203::1 7007 tcp)
check "IPv6: LAN host to the WAN host through rosfw, TCP echo (ND on both wires)" "$out" \
	test "$out" = ok
out=$(talk lan fd00:88::10 2001:db8:203::1 7007 udp)
check "IPv6: LAN host to the WAN host, UDP echo" "$out" test "$out" = ok
settle
wan_mac=$(N wan cat /sys/class/net/eth0/address)
lan_mac=$(N lan cat /sys/class/net/eth0/address)
check "IPv6: the router learnt both hosts' MACs by neighbour discovery" \
	"$(grep '^nd\.' "$T/stats" | tr '\n' ' ')" \
	grep -q "^nd.entry 2001:db8:203::1 $wan_mac ether1-gateway \(reachable\|stale\|probe\)" "$T/stats"
check "... the LAN host's too, and the router answered solicitations" "" \
	sh -c "grep -q '^nd.entry fd00:88::10 $lan_mac ether2-master-local' '$T/stats' &&
		test $(stat nd.adverts-out) -gt 0 && test $(stat nd.solicits-in) -gt 0"
f0=$(rule filter6 "no new IPv6 from the WAN")
out=$(talk wan - fd00:88::10 7007 tcp)
settle
f1=$(rule filter6 "no new IPv6 from the WAN")
check "IPv6: the WAN host cannot open a connection to the LAN host (forward filter, $f0 -> $f1)" \
	"$out" test "$out" = timeout -a "$f1" -gt "$f0"
s0=$(rule filter6 "no ssh from the WAN")
out=$(talk wan - 2001:db8:203::2 22 tcp)
settle
s1=$(rule filter6 "no ssh from the WAN")
check "IPv6: the WAN host's ssh to the router is dropped by the IPv6 input filter ($s0 -> $s1)" \
	"$out" test "$out" = timeout -a "$s1" -gt "$s0"

# ---- the tagged link ----
# This kernel may lack vlan devices (8021q), so the LAN host's tagged side is
# probe.py's: a user-space host on eth0 behind tag 20 (ARP, ND, UDP echo).
vhost() { N lan $PY "$PROBE" vlan eth0 "$@" 2>&1; }
out=$(vhost 20 192.168.20.10 192.168.20.1 203.0.113.1 7007)
check "vlan20: a host behind tag 20 resolves the router's vlan address (ARP) and reaches the WAN host (UDP, masqueraded), answered tagged" \
	"$out" test "$out" = ok
out=$(vhost 20 fd00:20::10 fd00:20::1 2001:db8:203::1 7007)
check "vlan20: IPv6 over the tagged link to the WAN host (neighbour discovery on the vlan)" \
	"$out" test "$out" = ok
settle
rx=$(stat if.vlan20.rx-packet) tx=$(stat if.vlan20.tx-packet)
check "vlan20 counts what it received and sent ($rx, $tx)" "" test "$rx" -gt 0 -a "$tx" -gt 0
w0=$(rule filter "no 7008 from vlan20")
out=$(vhost 20 192.168.20.10 192.168.20.1 203.0.113.1 7008)
settle
w1=$(rule filter "no 7008 from vlan20")
check "vlan20: a forward rule with in-interface=vlan20 drops its UDP to 7008 ($out, $w0 -> $w1)" \
	"" test "$out" = timeout -a "$w1" -gt "$w0"
out=$(talk lan - 203.0.113.1 7008 udp)
check "... while the untagged LAN on the same port reaches 7008" "$out" test "$out" = ok
v0=$(stat dp.vlan)
out=$(vhost 30 192.168.30.10 192.168.30.1 203.0.113.1 7007)
settle
v1=$(stat dp.vlan)
check "frames tagged with an id no vlan has (30) are dropped ($out, $v0 -> $v1)" "" \
	test "$out" = no-gw -a "$v1" -gt "$v0"

# ---- ARP ----
apply() {
	printf '%s\n' "$@" >"$T/change.rsc"
	"$ROSFW" lab apply --prefix "$prefix" --dir "$T" "$T/change.rsc" 2>&1
}
upper() { tr a-f A-F <<<"$1"; }
# /ip arp print as the router wrote it last (every second)
arp_print() { sleep 1.5; sed -n '/^Flags: X - disabled, I - invalid, H - DHCP/,/^Flags/p' "$T/stats.interfaces"; }
out=$(apply "/ip arp add address=192.168.88.10 mac-address=$lan_mac interface=ether2-master-local comment=lan-host" \
	'/interface ethernet set [ find default-name=ether2 ] arp=reply-only')
check "ARP: a static entry for the LAN host, arp=reply-only on the LAN port ($out)" "" \
	grep -q "^applied" <<<"$out"
out=$(talk lan - 203.0.113.1 7007 tcp)
check "ARP: the LAN host reaches the WAN host, the router answering it by its static entry" \
	"$out" test "$out" = ok
pr=$(arp_print)
# a static entry: its number and no flag, the comment, then the entry
static_lan() { grep -A1 -E '^ +[0-9]+ +;;; lan-host' <<<"$1" |
	grep -Eq "^ +192\.168\.88\.10 +$(upper "$lan_mac") ether2-master-local"; }
check "/ip arp print: the static entry (no flag)" "$pr" static_lan "$pr"
check "/ip arp print: the WAN host's dynamic, complete entry (DC)" "$pr" \
	grep -Eq "^ +[0-9]+ DC +203\.0\.113\.1 +$(upper "$wan_mac") ether1-gateway" <<<"$pr"
no_dynamic_lan() { ! grep -Eq '^ +[0-9]+ D[A-Z]* .* ether2-master-local' <<<"$1"; }
check "/ip arp print: reply-only learnt nothing on the LAN port" "$pr" no_dynamic_lan "$pr"
ns0=$(stat arp.no-static)
out=$(apply '/ip arp remove [ find comment=lan-host ]')
out=$(talk lan - 203.0.113.1 7007 tcp)
settle
ns1=$(stat arp.no-static)
check "ARP: reply-only without the static entry: the LAN host is not resolved ($out, no-static $ns0 -> $ns1)" \
	"" test "$out" = timeout -a "$ns1" -gt "$ns0"
out=$(apply '/interface ethernet set [ find default-name=ether2 ] arp=enabled')
out=$(talk lan - 203.0.113.1 7007 tcp)
check "ARP: arp=enabled again: the LAN host is resolved by ARP" "$out" test "$out" = ok
pr=$(arp_print)
check "/ip arp print: now the LAN host's entry is dynamic (DC)" "$pr" \
	grep -Eq "^ +[0-9]+ DC +192\.168\.88\.10 +$(upper "$lan_mac") ether2-master-local" <<<"$pr"
out=$(apply '/ip arp remove [ find dynamic ]')
pr=$(arp_print)
no_dynamic() { ! grep -Eq '^ +[0-9]+ D[A-Z]* +[0-9]+\.[0-9]' <<<"$1"; }
check "ARP: /ip arp remove [find dynamic] empties the live table ($out)" "$pr" no_dynamic "$pr"
out=$(talk lan - 203.0.113.1 7007 tcp)
pr=$(arp_print)
check "ARP: the removed neighbours are learnt again (LAN host to WAN host: $out)" "$pr" \
	grep -Eq "^ +[0-9]+ DC +203\.0\.113\.1 +$(upper "$wan_mac") ether1-gateway" <<<"$pr"
# a next hop nobody answers (masqueraded out of the WAN port): ARP gives
# up after 3 requests and the LAN host's ping is told, from the router's
# LAN address (the error translated back from the masquerade)
out=$(apply '/ip route add dst-address=198.51.100.0/24 gateway=203.0.113.99 comment=dead-hop')
u0=$(stat dp.host-unreach-sent)
out=$(N lan timeout 10 ping -n -c 1 -W 8 198.51.100.7 2>&1)
settle
u1=$(stat dp.host-unreach-sent)
told() { grep -q 'From 192\.168\.88\.1 .*Destination Host Unreachable' <<<"$1"; }
check "ARP: a next hop that never answers: the LAN host's ping is told Destination Host Unreachable" \
	"$out" told "$out"
check "... counted (dp.host-unreach-sent $u0 -> $u1)" "" test "$u1" -gt "$u0"
apply '/ip route remove [ find comment=dead-hop ]' >/dev/null
v6=$(sed -n '/ADDRESS *INTERFACE *MAC-ADDRESS *STATUS/,$p' "$T/stats.interfaces")
check "/ipv6 neighbor print: the WAN host, a router (R), its MAC and status" "$v6" \
	grep -Eq "^ +[0-9]+ R +2001:db8:203::1 +ether1-gateway +$(upper "$wan_mac") +(reachable|stale|probe)" <<<"$v6"
check "/ipv6 neighbor print: the LAN host, not a router" "$v6" \
	grep -Eq "^ +[0-9]+ +fd00:88::10 +ether2-master-local +$(upper "$lan_mac")" <<<"$v6"
v6_print() { sleep 1.5; sed -n '/ADDRESS *INTERFACE *MAC-ADDRESS *STATUS/,$p' "$T/stats.interfaces"; }
lacks() { ! grep -Eq "$1" <<<"$2"; }
r0=$(stat nd.ra-in)
N wan $PY "$PROBE" ra eth0
v6=$(v6_print)
r1=$(stat nd.ra-in)
check "ND: the WAN host's router advertisement is counted (nd.ra-in $r0 -> $r1)" "" \
	test "$r1" -gt "$r0"
check "... and its link-local sender is a router (R) at its MAC" "$v6" \
	grep -Eq "^ +[0-9]+ R +fe80::[0-9a-f:]+ +ether1-gateway +$(upper "$wan_mac")" <<<"$v6"
out=$(apply '/ipv6 neighbor remove [ find address=fd00:88::10 ]')
v6=$(v6_print)
check "/ipv6 neighbor remove: the LAN host's entry is forgotten ($out)" "$v6" \
	lacks " fd00:88::10 " "$v6"
out=$(N lan ping -6 -c 1 -W 2 -I fd00:88::10 2001:db8:203::1 >/dev/null 2>&1 && echo ok || echo lost)
v6=$(v6_print)
check "... and learnt again when it talks (ping6 to the WAN host: $out)" "$v6" \
	grep -Eq "^ +[0-9]+ +fd00:88::10 +ether2-master-local +$(upper "$lan_mac")" <<<"$v6"

# ---- proxy ARP ----
# The LAN host takes the WiFi half (192.168.88.128/25, behind wlan1) for
# its own wire: it asks ARP for the WiFi host there, and only the router,
# with arp=proxy-arp on the LAN port, answers (for it and for nothing on
# the LAN's own half); with local-proxy-arp it answers for the LAN's half.
N wifi $PY "$PROBE" serve6 7009 >/dev/null 2>&1 &
N lan ip route add 192.168.88.128/25 dev eth0
sleep 0.5
lladdr() { N lan ip neigh show "$1" dev eth0 | awk '/lladdr/ { print $3 }'; }
router_mac=$(lladdr 192.168.88.1)
out=$(talk lan - 192.168.88.130 7009 tcp)
check "proxy ARP: with arp=enabled nobody answers the LAN host for the WiFi host ($out)" "" \
	test "$out" != ok
out=$(apply '/interface ethernet set [ find default-name=ether2 ] arp=proxy-arp')
N lan ip neigh flush dev eth0
p0=$(stat arp.proxied)
out=$(talk lan - 192.168.88.130 7009 tcp)
N lan ping -c 1 -W 1 192.168.88.20 >/dev/null 2>&1
settle
p1=$(stat arp.proxied)
check "proxy ARP: arp=proxy-arp: the router answers for the WiFi host and forwards to it ($out, proxied $p0 -> $p1)" \
	"" test "$out" = ok -a "$p1" -gt "$p0"
check "... with its own MAC ($router_mac)" "$(lladdr 192.168.88.130)" \
	test "$(lladdr 192.168.88.130)" = "$router_mac" -a -n "$router_mac"
check "... and not for an address of the LAN's own half" "$(lladdr 192.168.88.20)" \
	test -z "$(lladdr 192.168.88.20)"
out=$(apply '/interface ethernet set [ find default-name=ether2 ] arp=local-proxy-arp')
N lan ip neigh flush dev eth0
N lan ping -c 1 -W 1 192.168.88.20 >/dev/null 2>&1
out=$(talk lan - 192.168.88.130 7009 tcp)
check "local-proxy-arp: the router answers for an address of the LAN's own half with its MAC" \
	"$(lladdr 192.168.88.20)" test "$(lladdr 192.168.88.20)" = "$router_mac"
check "... and not for the WiFi host behind another port ($out)" "" test "$out" != ok
apply '/interface ethernet set [ find default-name=ether2 ] arp=enabled' >/dev/null
N lan ip route del 192.168.88.128/25 dev eth0

echo "$passed passed, $failed failed"
if [ $failed != 0 ]; then
	echo "--- router log"
	cat "$T/router.log"
	echo "--- router counters"
	grep -v ' 0$' "$T/stats"
	exit 1
fi
echo "ok $passed"
