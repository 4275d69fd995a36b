# Layer 2 of the live lab (tests/lab/l2.sh), on top of examples/soho.rsc:
# IPv6 on the WAN and the LAN, with a forward filter like the IPv4 one,
# and a tagged link: vlan20 on ether2-master-local.
/ipv6 address
add address=2001:db8:203::2/64 interface=ether1-gateway advertise=no
add address=fd00:88::1/64 interface=ether2-master-local
/ipv6 firewall filter
add chain=input action=drop in-interface=ether1-gateway protocol=tcp dst-port=22 comment="l2: no ssh from the WAN"
add chain=forward action=accept connection-state=established,related comment="l2: established"
add chain=forward action=drop connection-state=new in-interface=ether1-gateway comment="l2: no new IPv6 from the WAN"
/interface vlan
add name=vlan20 vlan-id=20 interface=ether2-master-local
/ip address
add address=192.168.20.1/24 interface=vlan20
/ipv6 address
add address=fd00:20::1/64 interface=vlan20
/ip firewall filter
add chain=forward action=drop in-interface=vlan20 protocol=udp dst-port=7008 comment="l2: no 7008 from vlan20"
