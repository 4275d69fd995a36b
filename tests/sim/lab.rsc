# The seed's configuration has no addresses or routes of its own: this is the
# network around it for the scenario (the same as examples/soho.rsc's).
/ip address
add address=192.168.88.1/25 interface=ether2-master-local
add address=192.168.88.129/25 interface=wlan1
add address=203.0.113.2/24 interface=ether1-gateway
/ip route
add gateway=203.0.113.1
/ip firewall nat
add chain=srcnat action=masquerade out-interface=ether1-gateway
