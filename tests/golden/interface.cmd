/interface print
/interface ethernet print
/interface bridge port print
/interface vlan print
/interface list print
/interface list member print
/ip address print
/ip address print detail
/ip route print
/interface export
