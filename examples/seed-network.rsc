# The network the seed guide's configuration (examples/seed.rsc) assumes
# but does not set: it is only firewall rules, marks and queues, written for
# a router that already has its addresses, its default route and NAT (a
# RouterOS router with its default configuration). Load it before the seed
# for rosfw trace, sim and lint:
#   rosfw trace --config examples/seed-network.rsc --config examples/seed.rsc --lenient ...
# The same addresses as examples/soho.rsc.
/ip address
add address=192.168.88.1/25 interface=ether2-master-local
add address=192.168.88.129/25 interface=wlan1
add address=203.0.113.2/24 interface=ether1-gateway
/ip route
add gateway=203.0.113.1
/ip firewall nat
add chain=srcnat action=masquerade out-interface=ether1-gateway
