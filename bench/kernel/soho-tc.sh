#!/bin/sh
# examples/soho.rsc's queue tree for the Linux kernel: HTB on the WAN
# interface (the lab's ether1 = ether1-gateway), as RouterOS builds it.
#   wan-upload  parent=ether1-gateway max-limit=9M         -> 1:1  rate 9M ceil 9M
#   voip-video  limit-at=2M max-limit=9M priority=1        -> 1:10 rate 2M ceil 9M prio 0
#   web         limit-at=3M max-limit=9M priority=3        -> 1:20 rate 3M ceil 9M prio 2
#   bulk        limit-at=1M max-limit=9M priority=7        -> 1:30 rate 1M ceil 9M prio 6
# RouterOS priority 1..8 is HTB prio 0..7; queue=default-small is a pfifo
# of 10 packets under each leaf; the classes are picked by the mangle
# rules of soho.nft (meta priority set 1:N). What carries no mark (the
# router's own traffic) goes to 1:30 as well (default 30), where RouterOS
# would send it past the tree: it does not occur in the benchmark.
# bucket-size=0.01 (10 ms of the rate, never under one frame) -> burst/cburst.
# Usage: soho-tc.sh DEV
set -e
dev=${1:-ether1}
tc qdisc replace dev "$dev" root handle 1: htb default 30 r2q 10
tc class add dev "$dev" parent 1: classid 1:1 htb rate 9mbit ceil 9mbit burst 11250 cburst 11250
tc class add dev "$dev" parent 1:1 classid 1:10 htb rate 2mbit ceil 9mbit prio 0 burst 2500 cburst 11250
tc class add dev "$dev" parent 1:1 classid 1:20 htb rate 3mbit ceil 9mbit prio 2 burst 3750 cburst 11250
tc class add dev "$dev" parent 1:1 classid 1:30 htb rate 1mbit ceil 9mbit prio 6 burst 1514 cburst 11250
for c in 10 20 30; do
	tc qdisc add dev "$dev" parent 1:$c handle $c: pfifo limit 10
done
