/system identity print
/system identity get name
/ip dns print
/ip service print
/user print
/user group print
/system logging print
/system logging action print
/system script print
/system script run hello
/system scheduler print
/export
/system identity set name=g1; /ip firewall filter add chain=input comment=g2; /undo; /system history print
