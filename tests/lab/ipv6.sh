#!/usr/bin/env bash
# The router's own IPv6 on the live lab (prefix rosfwt): `rosfw lab up
# --daemon` with examples/soho.rsc and tests/lab/ipv6.rsc, then
#   - router advertisements: the LAN host (accept_ra) makes a SLAAC address
#     from the advertised prefix, takes the router's link-local address as
#     its default gateway, and reaches the WAN host over IPv6 with it; the
#     prefix shows as a dynamic /ipv6 nd prefix entry; disabling /ipv6 nd
#     takes the default route away (a final advertisement, lifetime 0);
#   - echo replies from the router's global and link-local addresses, and
#     to the groups it is in: all-nodes, all-routers and the solicited-node
#     group of fd00:88::1 (from its link-local address, or its global one
#     to a global sender); IPv4 echo to a broadcast address is not
#     answered, even with a kernel behind the TAP that would;
#   - packet too big: a 1448-byte ping with DF towards the WAN, whose link
#     has an MTU of 1280, is answered with mtu=1280;
#   - local services over IPv6 through the TAP: curl to the REST API on the
#     router's global address, then an /ipv6 firewall filter input drop
#     rule in front blocks it (counted), and removing it lets it through.
# Needs root, ip netns, curl and ping; skipped with a visible message
# without them.
set -u
cd "$(dirname "$0")/../.."
. tests/lab/lib.bash
lab_begin curl ping
con() { "$ROSFW" console --socket "$T/rosfw.sock"; }
v6on() { N "$1" sh -c "echo 0 > /proc/sys/net/ipv6/conf/$2/disable_ipv6"; }

"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
if ! timeout 20 "$ROSFW" lab up --daemon --prefix "$prefix" --dir "$T" --config tests/lab/ipv6.rsc; then
	echo "FAIL: lab up --daemon"
	cat "$T/router.log"
	exit 1
fi
# the lab's daemon takes no --config: the configuration goes in by its console
out=$(grep -v '^#' tests/lab/ipv6.rsc | con 2>&1)
[ -z "$out" ] || { echo "FAIL: tests/lab/ipv6.rsc: $out"; exit 1; }
# the WAN host: a fixed address and a route back to the LAN; the WAN link at 1280
N router ip link set ether1 mtu 1280
N wan ip link set eth0 mtu 1280
v6on wan eth0 && N wan ip -6 addr add 2001:db8:203::1/64 dev eth0 nodad &&
	N wan ip -6 route add fd00::/16 via 2001:db8:203::2 || { echo "FAIL: IPv6 set-up"; exit 1; }
# the LAN host: nothing but what the router advertises
N lan sysctl -qw net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1 \
	net.ipv6.conf.eth0.forwarding=0
v6on lan eth0

# ---- router advertisements ----
slaac=""
for i in $(seq 1 40); do
	slaac=$(N lan ip -6 -o addr show dev eth0 scope global -tentative |
		awk '$4 ~ /^fd00:88::/ { sub("/.*", "", $4); print $4; exit }')
	[ -n "$slaac" ] && break
	sleep 0.25
done
check "RA: the LAN host made a SLAAC address from the advertised fd00:88::/64 ($slaac)" \
	"$(N lan ip -6 addr show dev eth0)" test -n "$slaac"
gw=$(N lan ip -6 route show default | awk '/via fe80::/ { print $3; exit }')
check "RA: the LAN host's default route is the router's link-local address ($gw)" \
	"$(N lan ip -6 route)" test -n "$gw"
lifetime=$(N lan ip -6 route show default | grep -o 'expires [0-9]*' | awk '{ print $2 }')
check "RA: the default route's lifetime is ra-lifetime, 30m ($lifetime s)" "" \
	test "${lifetime:-0}" -gt 1700 -a "${lifetime:-0}" -le 1800
out=$(printf '/ipv6 nd prefix print\n' | con)
dyn=$(grep -c '^ *[0-9]* *D *fd00:88::/64 *4w2d *1w *yes *ether2-master-local' <<<"$out")
wan=$(grep -c '2001:db8:203' <<<"$out")
check "/ipv6 nd prefix print: the advertised /64 as a dynamic entry, the WAN's (advertise=no) not" \
	"$out" test "$dyn" = 1 -a "$wan" = 0
out=$(N lan ping -6 -c 2 -W 2 -I "$slaac" 2001:db8:203::1 2>&1)
check "IPv6: the LAN host reaches the WAN host from its SLAAC address" "$out" \
	grep -q ' 0% packet loss' <<<"$out"

# ---- echo replies from the router ----
out=$(N lan ping -6 -c 2 -W 2 fd00:88::1 2>&1)
check "ping6 to the router's global address (fd00:88::1)" "$out" grep -q ' 0% packet loss' <<<"$out"
out=$(N lan ping -6 -c 2 -W 2 "$gw%eth0" 2>&1)
check "ping6 to the router's link-local address ($gw%eth0)" "$out" \
	grep -q ' 0% packet loss' <<<"$out"
out=$(N wan ping -6 -c 2 -W 2 2001:db8:203::2 2>&1)
check "ping6 from the WAN host to the router's WAN address (input accepts icmpv6)" "$out" \
	grep -q ' 0% packet loss' <<<"$out"

# as Linux by default (net.ipv6.icmp.echo_ignore_multicast=0)
for grp in ff02::1 ff02::2 ff02::1:ff00:1; do
	out=$(N lan ping -6 -c 2 -W 2 "$grp%eth0" 2>&1)
	check "ping6 to $grp%eth0 is answered from the router's link-local address" "$out" \
		grep -q "from $gw%eth0" <<<"$out"
done
out=$(N lan ping -6 -c 2 -W 2 -I "$slaac" ff02::2%eth0 2>&1)
check "ping6 to ff02::2 from the LAN host's global address is answered from fd00:88::1" "$out" \
	grep -q "from fd00:88::1:" <<<"$out"
out=$(N lan ping -6 -c 2 -W 2 ff02::1:ff00:99%eth0 2>&1)
check "ping6 to a solicited-node group the router is not in gets no answer" "$out" \
	grep -q '100% packet loss' <<<"$out"
# the kernel behind the TAP would answer a broadcast echo: rosfw must not pass it on
N router sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
for dst in 192.168.88.127 255.255.255.255; do
	out=$(N lan ping -4 -b -c 2 -W 1 "$dst" 2>&1)
	check "ping -b $dst (a broadcast address) is not answered by the router" "$out" \
		grep -q '100% packet loss' <<<"$out"
done
N router sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=1

# ---- packet too big ----
out=$(N lan ping -6 -c 2 -W 2 -s 1400 -M do 2001:db8:203::1 2>&1)
check "packet too big: 1448 bytes with DF towards the WAN link of MTU 1280 answered with mtu=1280, from the router's LAN address" \
	"$out" grep -q -i 'From fd00:88::1 .*too big.*mtu[= ]*1280' <<<"$out"
route=$(N lan ip -6 route get 2001:db8:203::1 2>&1)
check "... and the LAN host's path MTU to the WAN host is now 1280" "$route" \
	grep -q 'mtu 1280' <<<"$route"
out=$(N lan ping -6 -c 2 -W 2 -s 1200 -M do 2001:db8:203::1 2>&1)
check "... while 1248 bytes pass" "$out" grep -q ' 0% packet loss' <<<"$out"

# ---- REST over IPv6 through the TAP ----
url='http://[fd00:88::1]:8080/rest/system/resource'
out=$(N lan curl -g -s -m 3 -u admin:lab "$url")
check "LAN host: REST (curl -g) on the router's IPv6 address through the TAP" "$out" \
	grep -q '"uptime"' <<<"$out"
out=$(N lan curl -g -s -m 3 -u admin:lab "http://[$gw%25eth0]:8080/rest/system/identity")
check "LAN host: REST on the router's link-local address" "$out" grep -q '"name"' <<<"$out"
printf '%s\n' '/ipv6 firewall filter add chain=input action=drop protocol=tcp dst-port=8080 place-before=[find comment="v6: icmp"] comment="v6: no rest"' | con >/dev/null
sleep 0.5
N lan curl -g -s -m 2 -u admin:lab "$url" >/dev/null
rc=$?
hits=$(printf '/ipv6 firewall filter print stats where comment="v6: no rest"\n' | con |
	awk '/;;; v6: no rest/ { getline; n = $NF } END { print n + 0 }')
check "/ipv6 firewall filter input drop blocks REST over IPv6 (curl rc $rc, rule packets $hits)" \
	"" test $rc = 28 -a "$hits" -gt 0
printf '/ipv6 firewall filter remove [find comment="v6: no rest"]\n' | con >/dev/null
sleep 0.5
out=$(N lan curl -g -s -m 3 -u admin:lab "$url")
check "... and with the rule removed REST answers again" "$out" grep -q '"uptime"' <<<"$out"

# ---- the router stops advertising ----
printf '/ipv6 nd set [ find interface=all ] disabled=yes\n' | con >/dev/null
gone=""
for i in $(seq 1 20); do
	[ -z "$(N lan ip -6 route show default)" ] && gone=yes && break
	sleep 0.25
done
check "/ipv6 nd disabled: a final advertisement of lifetime 0 takes the LAN host's default route away" \
	"$(N lan ip -6 route show default)" test -n "$gone"

echo "$passed passed, $failed failed"
if [ $failed != 0 ]; then
	echo "--- router log"
	tail -50 "$T/router.log"
	exit 1
fi
echo "ok $passed"
