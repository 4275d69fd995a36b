/ip firewall filter add chain=forward action=drop protocol=tcp dst-port=22-
