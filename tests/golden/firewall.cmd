/ip firewall filter print
/ip firewall filter print detail
/ip firewall filter print terse
/ip firewall filter print stats
/ip firewall filter print count-only where chain=mgmt-in
/ip firewall filter print where action=drop or action=reject
/ip firewall address-list print
/ip firewall address-list print where address in 198.51.100.0/24
/ip firewall nat print
/ip firewall mangle print
/ip firewall raw print
/ip firewall layer7-protocol print
/ip firewall export
