# Interfaces, lists, addresses and routes.
/interface ethernet
set [ find default-name=ether1 ] name=wan mtu=1492
set [ find default-name=ether5 ] disabled=yes comment="spare"
/interface bridge
add name=br-lan
/interface bridge port
add bridge=br-lan interface=ether2
add bridge=br-lan interface=ether3
/interface vlan
add name=vlan10 vlan-id=10 interface=br-lan
/interface list
add name=WAN
add name=LAN
/interface list member
add list=WAN interface=wan
add list=LAN interface=br-lan
/ip address
add address=192.168.88.1/24 interface=br-lan
add address=10.10.0.1/24 interface=vlan10
add address=203.0.113.2/30 interface=wan
/ip route
add gateway=203.0.113.1
add dst-address=10.20.0.0/16 gateway=10.10.0.254 distance=2
add dst-address=192.0.2.0/24 type=blackhole
