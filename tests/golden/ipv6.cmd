/ipv6 address print
/ipv6 address print detail
/ipv6 address print where interface=wan
/ipv6 route print
/ipv6 route print detail
/ipv6 route add dst-address=2001:db8:300::/48
/ipv6 route add dst-address=2001:db8:300::/48 gateway=2001:db8::zz
/ipv6 route add dst-address=2001:db8:300::/48 gateway=ff02::1
/ipv6 route add dst-address=2001:db8:300::/48 gateway=fe80::1%
/ipv6 address add address=2001:db8::1/129 interface=ether2
/ipv6 address add address=ff02::1/64 interface=ether2
/ipv6 address add address=2001:db8::1/64
/ipv6 address set 0 address=2001:db8:0:1::fe/64
/ipv6 address print
/ipv6 route set 2 gateway=2001:db8:0:1::2
/ipv6 route print
/ipv6 export
