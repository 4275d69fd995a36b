# A router between two hosts, in namespaces, for tests/lab/xdp.sh and
# bench/bench_fwd.sh (which set P, the namespace prefix, ROSFW and T):
#   $P-l  eth0 192.168.88.10/25, gateway .1   (the LAN host)
#   $P-w  eth0 203.0.113.1/24                 (the WAN host)
#   $P-r  e2 and e1, their other ends, without kernel addresses: rosfw runs
#         there with ether2-master-local=e2, ether1-gateway=e1 on the store
#         $T/r.db (examples/soho.rsc and what the caller changed).
router_pid=

# $1: receive and transmit queues of e2 and its peer (native XDP on veth
# wants as many receive queues as the peer sends on)
twohosts_up() {
	local n
	for n in r w l; do
		ip netns add $P-$n
		ip netns exec $P-$n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n $P-$n link set lo up
	done
	ip -n $P-r link add e1 type veth peer name eth0 netns $P-w
	ip -n $P-r link add e2 numtxqueues "$1" numrxqueues "$1" type veth peer name eth0 \
		numtxqueues "$1" numrxqueues "$1" netns $P-l
	ip -n $P-w addr add 203.0.113.1/24 dev eth0
	ip -n $P-l addr add 192.168.88.10/25 dev eth0
	for n in w l; do ip -n $P-$n link set eth0 up; done
	ip -n $P-l route add default via 192.168.88.1
}

twohosts_down() {
	router_stop
	local n
	for n in r w l; do ip netns del $P-$n 2>/dev/null; done
}

# $1: --io mode; then a command the router runs under (taskset ...), if
# any. Its output in $T/router.log; fails when its console does not answer.
router_start() {
	local io=$1
	shift
	rm -f "$T/s"
	ip netns exec $P-r "$@" "$ROSFW" run --db "$T/r.db" --socket "$T/s" --no-services --io "$io" \
		--iface ether1-gateway=e1 --iface ether2-master-local=e2 >"$T/router.log" 2>&1 &
	router_pid=$!
	for _ in $(seq 100); do
		[ "$(printf ':put up\n' | "$ROSFW" console --socket "$T/s" 2>/dev/null)" = up ] && return 0
		sleep 0.1
	done
	return 1
}

router_stop() {
	[ -n "$router_pid" ] || return 0
	kill "$router_pid" 2>/dev/null
	wait "$router_pid" 2>/dev/null
	router_pid=
}
