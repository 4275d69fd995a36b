# IPv6 addresses and routes, with the IPv6 firewall that uses them.
/interface ethernet
set [ find default-name=ether1 ] name=wan
/interface vlan
add name=vlan20 vlan-id=20 interface=ether3
/ipv6 address
add address=2001:db8:0:1::1/64 interface=ether2 comment="LAN"
add address=2001:DB8:0:2:0:0:0:1 interface=vlan20 advertise=no
add address=2001:db8:ffff::2/126 interface=wan advertise=no no-dad=yes
add address=2001:db8:0:3::/64 interface=ether4 eui-64=yes disabled=yes
/ipv6 firewall filter
add chain=forward action=accept connection-state=established,related
add chain=forward action=drop connection-state=invalid
add chain=forward action=reject reject-with=icmp-admin-prohibited in-interface=wan
/ipv6 route
add gateway=2001:db8:ffff::1
add dst-address=2001:db8:100::/48 gateway=fe80::1%vlan20 distance=5 comment="via the lab"
add dst-address=2001:db8:200::/48 gateway=ether4
add dst-address=2001:db8:dead::/48 type=blackhole
add dst-address=2001:db8:beef::1/48 type=unreachable disabled=yes
/ipv6 nd
set [ find interface=all ] ra-interval=30s-1m
add interface=ether2 ra-interval=20s mtu=1400 hop-limit=64 ra-lifetime=10m other-configuration=yes
add interface=wan ra-lifetime=none disabled=yes
/ipv6 nd prefix
add prefix=2001:db8:0:1::/64 interface=ether2 valid-lifetime=1d preferred-lifetime=12h
add prefix=2001:db8:0:9::77/64 interface=vlan20 autonomous=no valid-lifetime=infinity preferred-lifetime=infinity
