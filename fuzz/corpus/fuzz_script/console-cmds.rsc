/ip firewall filter add chain=forward action=drop protocol=tcp dst-port=22 src-address=!10.0.0.0/8 comment="ssh"
/ip firewall filter move 0 1
/ip firewall filter set 0 disabled=yes
/ip firewall filter remove 0
