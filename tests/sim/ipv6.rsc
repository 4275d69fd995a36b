# Dual stack for tests/sim/ipv6.json: the LAN's IPv4 /24 and IPv6 /64, the
# WAN's default routes of both families; a simple queue whose target is the
# IPv6 network limits the IPv6 host's transfers (no IPv6 NAT in v6).
/ip address
add address=192.168.88.1/24 interface=ether2-master-local
add address=203.0.113.2/24 interface=ether1-gateway
/ip route
add gateway=203.0.113.1
/ip firewall nat
add chain=srcnat action=masquerade out-interface=ether1-gateway
/ipv6 address
add address=2001:db8:1::1/64 interface=ether2-master-local
add address=2001:db8:ffff::2/64 interface=ether1-gateway
/ipv6 route
add gateway=2001:db8:ffff::1
/queue simple
add name=lan6 target=2001:db8:1::/64 max-limit=2M/4M
add name=phone4 target=192.168.88.10/32 max-limit=1M/1M
