/ip arp print
/ip arp print detail
/ip arp print where interface=ether2-master-local
/ip arp export
/ipv6 neighbor print
/interface ethernet print where arp=reply-only
/ip arp remove *F0000001
/ip arp remove 7
/ip arp print
/ipv6 neighbor remove 0
/ip arp set *F0000001 comment=x
