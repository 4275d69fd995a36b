# The router's own IPv6 on the live lab (tests/lab/ipv6.sh), on top of
# examples/soho.rsc: a global address on the WAN (not advertised) and the
# LAN (advertised: hosts make their address from it), a WAN link of MTU
# 1280, router advertisements sooner than RouterOS's default, REST for
# anyone the firewall lets in.
/ipv6 address
add address=2001:db8:203::2/64 interface=ether1-gateway advertise=no
add address=fd00:88::1/64 interface=ether2-master-local
/ipv6 nd
set [ find interface=all ] ra-interval=3s-4s ra-delay=1s
/ipv6 firewall filter
add chain=input action=accept protocol=icmpv6 comment="v6: icmp"
add chain=input action=accept connection-state=established,related comment="v6: established"
add chain=input action=accept in-interface=ether2-master-local comment="v6: from the LAN"
add chain=input action=drop comment="v6: drop everything else"
/ip service
set www disabled=no port=8080 address=""
