# rosfw built-in default configuration: the seed's SOHO firewall and QoS, done right.
# Interfaces as the seed names them: ether1-gateway (WAN), ether2-master-local and wlan1 (LAN).
/interface ethernet
set [ find default-name=ether1 ] name=ether1-gateway
set [ find default-name=ether2 ] name=ether2-master-local
/interface list
add name=WAN comment="internet side"
add name=LAN comment="trusted side"
/interface list member
add list=WAN interface=ether1-gateway
add list=LAN interface=ether2-master-local
add list=LAN interface=wlan1
# The seed's LAN is 192.168.88.0/24 on both the wire and WiFi: routed here as two
# halves, so its rules (src-address=192.168.88.0/24 with in-interface) keep their meaning.
/ip address
add address=192.168.88.1/25 interface=ether2-master-local comment="LAN (wired)"
add address=192.168.88.129/25 interface=wlan1 comment="LAN (WiFi)"
add address=203.0.113.2/24 interface=ether1-gateway comment="WAN: documentation range, set your own"
/ip route
add gateway=203.0.113.1 comment="default route: set your ISP gateway"
/ip firewall address-list
add list=lan-networks address=192.168.88.0/24 comment="LAN networks"
/ip firewall filter
# Router itself: replies first, then the LAN, then nothing else. The LAN accept sits
# above the final drop, so a rule added later at the end cannot lock the LAN out.
add chain=input action=accept connection-state=established,related,untracked comment="accept established/related/untracked (input)"
add chain=input action=drop connection-state=invalid comment="drop invalid (input)"
add chain=input action=accept protocol=icmp comment="accept ICMP (input)"
add chain=input action=accept src-address-list=lan-networks in-interface-list=LAN comment="accept the LAN (input)"
add chain=input action=drop comment="drop everything else to the router"
# Forwarding: no FastTrack, because fasttracked packets bypass mangle and the queue
# tree, which would defeat the QoS below.
add chain=forward action=accept connection-state=established,related comment="accept established/related (forward)"
add chain=forward action=drop connection-state=invalid comment="drop invalid (forward)"
add chain=forward action=drop connection-state=new connection-nat-state=!dstnat in-interface-list=WAN comment="drop new connections from the WAN that are not port-forwarded"
/ip firewall nat
add chain=srcnat action=masquerade out-interface-list=WAN comment="masquerade the LAN behind the WAN address"
/ip firewall mangle
# passthrough=no makes each mark final: the seed's catch-all (passthrough=yes, the
# default) overwrote the VoIP and web marks, so everything ended up low priority.
add chain=forward action=mark-packet new-packet-mark=high-priority passthrough=no protocol=udp dst-port=5060,5061 comment="VoIP SIP: high priority"
add chain=forward action=mark-packet new-packet-mark=high-priority passthrough=no protocol=udp dst-port=10000-20000 comment="VoIP RTP: high priority"
add chain=forward action=mark-packet new-packet-mark=normal-priority passthrough=no protocol=tcp dst-port=80,443 comment="web: normal priority"
add chain=forward action=mark-packet new-packet-mark=low-priority passthrough=no comment="everything else: low priority"
/queue tree
# Leaves guarantee their limit-at and may borrow up to the link; priority decides who
# gets the spare capacity first. max-limit is 90% of the real upload speed (here a
# 10M line): the queue must build in the router, where the priorities apply, not in
# the modem. bucket-size=0.01: the default 0.1 lets a queue that ran below its rate
# send 100 ms of it at once at wire speed (110 kB at 9M), which the modem can only
# drain at the 1M difference, and the VoIP waits behind it there for a second.
add name=wan-upload parent=ether1-gateway max-limit=9M bucket-size=0.01 comment="WAN upload: 90% of the 10M line"
add name=voip-video parent=wan-upload packet-mark=high-priority priority=1 limit-at=2M max-limit=9M bucket-size=0.01 comment="VoIP and video calls"
add name=web parent=wan-upload packet-mark=normal-priority priority=3 limit-at=3M max-limit=9M bucket-size=0.01 comment="web and e-mail"
add name=bulk parent=wan-upload packet-mark=low-priority priority=7 limit-at=1M max-limit=9M bucket-size=0.01 comment="downloads and everything else"
/ip service
set telnet disabled=yes
set ftp disabled=yes
set www disabled=yes
set ssh address=192.168.88.0/24
set winbox address=192.168.88.0/24
set api address=192.168.88.0/24,127.0.0.0/8
set api-ssl address=192.168.88.0/24,127.0.0.0/8
set www-ssl address=192.168.88.0/24,127.0.0.0/8
/system identity
set name=rosfw
/system script
add name=daily_config_backup owner=admin policy=read,write,policy,test,sensitive source={
:local date [/system clock get date]
:local name ("backup-" . [:pick $date 7 11] . "-" . [:pick $date 0 3] . "-" . [:pick $date 4 6])
/export file=$name
/log info ("configuration exported to " . $name . ".rsc")
}
/system scheduler
add name=daily_config_backup owner=admin interval=1d on-event=daily_config_backup start-date=jan/01/1970 start-time=03:00:00
