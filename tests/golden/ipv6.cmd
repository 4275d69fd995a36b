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
/ipv6 nd print
/ipv6 nd print detail
/ipv6 nd print where default=yes
/ipv6 nd print count-only where !default
/ipv6 nd add interface=ether2
/ipv6 nd add interface=ether9
/ipv6 nd set 1 ra-interval=2s-3s
/ipv6 nd set 1 ra-interval=1m-1m
/ipv6 nd set 1 mtu=1000
/ipv6 nd set 1 ra-lifetime=soon
/ipv6 nd remove 0
/ipv6 nd prefix print
/ipv6 nd prefix add prefix=ff02::/64 interface=ether2
/ipv6 nd prefix add prefix=2001:db8:5::/64 interface=ether2 valid-lifetime=1d preferred-lifetime=2d
/ipv6 nd prefix add prefix=2001:db8:5::/64 interface=ether99
/ipv6 export
