# Firewall tables, custom chains, address lists and canonical values.
/ip firewall address-list
add list=mgmt address=192.168.88.5/24 comment="stored as the network"
add list=mgmt address=10.0.0.1
add list=blocked address=198.51.100.0-198.51.100.255 timeout=1d
add list=blocked address=203.0.113.7-203.0.113.9 disabled=yes
/ip firewall filter
add chain=input action=accept connection-state=established,related comment="replies"
add chain=input action=drop connection-state=invalid
add chain=input action=jump jump-target=mgmt-in protocol=tcp dst-port=22,8291,8728
add chain=mgmt-in action=accept src-address-list=mgmt
add chain=mgmt-in action=add-src-to-address-list address-list=scanners address-list-timeout=1h log=yes log-prefix="SCAN"
add chain=mgmt-in action=drop
add chain=input action=accept protocol=icmp icmp-options=8:0 limit=10,5:packet
add chain=input action=reject reject-with=icmp-port-unreachable protocol=udp dst-port=!53
add chain=forward action=fasttrack-connection connection-state=established,related disabled=yes
add chain=forward action=drop src-address=!192.168.88.0/24 in-interface=ether2 tcp-flags=syn,!ack protocol=tcp
add chain=forward action=accept packet-size=0-500 dscp=46 protocol=udp src-port=1024-65535
add chain=forward comment="no action given: accept, and print says so"
/ip firewall nat
add chain=srcnat action=masquerade out-interface=ether1
add chain=dstnat action=dst-nat protocol=tcp dst-port=8080 to-addresses=192.168.88.10 to-ports=80 in-interface=ether1
add chain=dstnat action=redirect protocol=udp dst-port=53 to-ports=53
/ip firewall mangle
add chain=prerouting action=mark-connection new-connection-mark=voip protocol=udp dst-port=5060 connection-state=new
add chain=prerouting action=mark-packet new-packet-mark=voip connection-mark=voip passthrough=no
add chain=forward action=change-mss new-mss=clamp-to-pmtu protocol=tcp tcp-flags=syn
/ip firewall raw
add chain=prerouting action=notrack src-address=10.10.0.0/16
add chain=prerouting action=drop src-address-list=blocked
/ip firewall layer7-protocol
add name=youtube regexp="^.+(youtube.com|googlevideo.com).*\$"
/ip firewall filter
move 8 0
set [find connection-state=invalid] comment="drop invalid"
disable [find jump-target=mgmt-in]
