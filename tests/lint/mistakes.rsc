# One of each classic mistake (REFERENCE.md §8), for rosfw lint.
/ip firewall filter
add chain=input action=drop comment="drops everything: locks the LAN out"
add chain=input action=accept in-interface=ether2 comment="never reached"
add chain=forward action=fasttrack-connection connection-state=established,related
add chain=forward action=accept connection-state=established,related
add chain=forward action=accept protocol=tcp dst-port=80
add chain=forward action=accept protocol=tcp dst-port=80 src-address=10.0.0.0/8 comment="shadowed by the previous"
add chain=input action=accept out-interface=ether1 comment="out-interface in input"
add chain=forward action=jump jump-target=empty
add chain=orphan action=drop comment="no jump reaches this chain"
/ip firewall nat
add chain=srcnat action=dst-nat to-addresses=10.0.0.5 comment="dst-nat in srcnat"
/ip firewall mangle
add chain=forward action=mark-packet new-packet-mark=voip protocol=udp dst-port=5060
add chain=forward action=mark-packet new-packet-mark=bulk
add chain=input action=mark-routing new-routing-mark=isp2 comment="too late to route"
add chain=forward action=mark-packet new-packet-mark=unused protocol=gre passthrough=no
/queue tree
add name=up parent=global max-limit=10M priority=1 comment="priority on an inner queue"
add name=voip parent=up packet-mark=voip limit-at=8M max-limit=5M
add name=bulk parent=up packet-mark=bulk limit-at=4M max-limit=20M burst-limit=30M burst-threshold=1M
add name=video parent=up packet-mark=video
add name=wan parent=ether1 max-limit=9M comment="a shaper under the line with the default bucket"
/queue simple
add name=everyone target=192.168.88.0/24
add name=boss target=192.168.88.10/32 comment="after the broad queue: never used"
add name=guests target=192.168.89.0/24 limit-at=1M/8M max-limit=2M/4M total-limit-at=9M \
    total-max-limit=6M comment="guarantees above the limits"
/ip service
set telnet disabled=no
