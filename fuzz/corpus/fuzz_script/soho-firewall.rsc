/interface list
add name=WAN comment="internet side"
add name=LAN comment="trusted side"
/interface list member
add list=WAN interface=ether1
add list=LAN interface=ether2
/ip firewall address-list
add list=lan-networks address=192.168.88.0/24 comment="LAN networks"
/ip firewall filter
add chain=input action=accept connection-state=established,related,untracked comment="accept established/related/untracked (input)"
add chain=input action=drop connection-state=invalid comment="drop invalid (input)"
add chain=input action=accept protocol=icmp comment="accept ICMP (input)"
add chain=input action=accept src-address-list=lan-networks in-interface-list=LAN comment="accept the LAN (input)"
add chain=forward action=drop connection-state=new connection-nat-state=!dstnat in-interface-list=WAN
print
print detail where chain=input
export
