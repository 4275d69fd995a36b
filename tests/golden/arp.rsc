#!defaults
# Static ARP entries as a SOHO admin adds them: a NAS, a published one, a
# disabled one, and the LAN port in reply-only (DHCP's add-arp hardening).
/interface ethernet
set [ find default-name=ether2 ] arp=reply-only
/ip arp
add address=192.168.88.50 mac-address=00:11:22:33:44:55 interface=ether2-master-local comment=nas
add address=192.168.88.60 mac-address=00:11:22:33:44:66 interface=ether2-master-local published=yes
add address=10.0.0.7 mac-address=02:00:00:00:00:07 interface=ether1-gateway disabled=yes
