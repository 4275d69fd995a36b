/ip firewall filter print
/ip firewall mangle print
/ip firewall nat print
/queue tree print
/ip service print
/export
