# tests/sim/ipv6.rsc without its queues: what the IPv6 transfers take alone.
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
