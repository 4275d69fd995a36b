/ip firewall filter add chain= comment="unterminated
