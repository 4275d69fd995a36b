/ip address
add address=192.168.88.1/24 interface=ether2
/ip route add gateway=192.168.88.254
/ip dns set servers=8.8.8.8,1.1.1.1 allow-remote-requests=yes
