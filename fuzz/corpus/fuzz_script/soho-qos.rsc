/ip firewall mangle
add chain=forward action=mark-packet new-packet-mark=high-priority passthrough=no protocol=udp dst-port=5060,5061 comment="VoIP SIP: high priority"
add chain=forward action=mark-packet new-packet-mark=normal-priority passthrough=no protocol=tcp dst-port=80,443
/queue tree
add name=wan-upload parent=ether1 max-limit=10M comment="WAN upload: the whole link"
add name=voip-video parent=wan-upload packet-mark=high-priority priority=1 limit-at=2M max-limit=10M
/queue tree print
/ip service
set telnet disabled=yes
set api address=192.168.88.0/24,127.0.0.0/8
/system identity
set name=rosfw
/export verbose
