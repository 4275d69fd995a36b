# --- Firewall Configuration ---
/ip firewall filter
set [find default-forward=yes] action=accept comment="Default accept forward (SOHO)"
add chain=input connection-state=invalid action=drop comment="Drop invalid connections (Input)"
add chain=input src-address=192.168.88.0/24 in-interface=ether2-master-local action=accept comment="Allow LAN Input"
/queue tree
add name=WAN-Outbound parent=ether1-gateway limit-at=0 max-limit=10M comment="WAN Outbound Queue - Total Bandwidth" # Replace 10M
add name=High-Priority parent=WAN-Outbound packet-marks=high-priority priority=1 limit-at=0 max-limit=5M
/ip firewall filter print
