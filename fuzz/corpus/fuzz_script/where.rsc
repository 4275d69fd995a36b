/ip firewall filter print where (chain="input" and !disabled) or dst-port~"80"
/ip firewall filter print count-only where protocol=tcp
