#!/usr/bin/env bash
# The forwarding path's buffers on the live router (prefix rosfwt), with
# each backend (AF_XDP where it attaches, then AF_PACKET): `rosfw lab up`
# with examples/soho.rsc, then
#   - a TCP download (no queue on that side) leaves straight from the
#     receive ring (dp.tx-from-ring moves), and the LAN host sees no bad
#     TCP checksum (the veth leaves them partial; rosfw completes them);
#   - a UDP download in a stream of numbered datagrams arrives in order;
#   - a TCP upload through soho.rsc's queue tree (shaped at 9M): what the
#     tree holds past a burst is copied out of the ring (dp.ring-copied
#     moves) and arrives intact;
#   - afterwards every pool buffer is back (dp.pool-free = dp.pool-size):
#     none leaked, none still lent to a ring;
# all that with GRO off (ROSFW_GRO=0: every frame on its own), and then
# with GRO on (the default):
#   - the TCP download is merged (gro.packets) and leaves in GSO packets
#     (gro.gso-sent), with no bad checksum at the LAN host;
#   - 2 MB each way through the WAN host's TCP echo come back intact;
#   - the upload through the queue tree is cut back into its segments
#     before the queues (gro.cut) and is shaped as before (9M);
#   - every GRO buffer and pool buffer is back afterwards.
# Needs root, ip netns, iperf3, nstat and /usr/bin/python3; skipped with a
# visible message without them.
set -u
cd "$(dirname "$0")/../.."
. tests/lab/lib.bash
lab_begin iperf3 nstat "$PY"
stat() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$T/stats"; }
# a number from an iperf3 JSON report: its end.sum (UDP) or end.sum_received (TCP)
jnum() {
	$PY -c 'import json,sys
d = json.load(open(sys.argv[1]))["end"]
s = d.get("sum_received") or d.get("sum")
print(int(s.get(sys.argv[2], 0)))' "$1" "$2" 2>/dev/null || echo -1
}

for io in af_xdp af_packet; do
	"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
	if ! ROSFW_GRO=0 ROSFW_IO=$io timeout 20 "$ROSFW" lab up --prefix "$prefix" --dir "$T" >/dev/null; then
		if [ "$io" = af_xdp ]; then
			echo "SKIP: $io: lab up failed here (no XDP?)"
			continue
		fi
		ko "$io: lab up"
		continue
	fi
	N lan nstat -n >/dev/null 2>&1 # the baseline of the LAN host's counters

	iperf3_server 5201
	N lan iperf3 -c 203.0.113.1 -p 5201 -R -t 2 -J >"$T/down.json" 2>&1
	sleep 0.5 # the router rewrites its stats every 200 ms
	down=$(jnum "$T/down.json" bytes)
	fromring=$(stat dp.tx-from-ring)
	check "$io: a TCP download goes through" "$down bytes" [ "$down" -gt 1000000 ]
	check "$io: it leaves from the receive ring, not a pool copy" \
		"dp.tx-from-ring $fromring" [ "$fromring" -gt $((down / 1514 / 2)) ]
	csumerr=$(N lan nstat -az TcpInCsumErrors 2>/dev/null | awk '$1 == "TcpInCsumErrors" { print $2 }')
	check "$io: the LAN host sees no bad TCP checksum" "TcpInCsumErrors ${csumerr:-?}" \
		[ "${csumerr:-1}" = 0 ]

	iperf3_server 5201
	N lan iperf3 -c 203.0.113.1 -p 5201 -R -u -b 300M -l 1200 -t 2 -J >"$T/udp.json" 2>&1
	ooo=$(jnum "$T/udp.json" out_of_order)
	pk=$(jnum "$T/udp.json" packets)
	check "$io: a UDP download arrives in order" "$pk datagrams, out of order: $ooo" \
		[ "$pk" -gt 1000 ] && [ "$ooo" = 0 ]

	copied0=$(stat dp.ring-copied)
	iperf3_server 5201
	N lan iperf3 -c 203.0.113.1 -p 5201 -t 3 -O 1 -J >"$T/up.json" 2>&1
	sleep 0.5
	up=$(jnum "$T/up.json" bytes)
	rate0=$(jnum "$T/up.json" bits_per_second)
	copied=$(($(stat dp.ring-copied) - copied0))
	check "$io: a TCP upload through the queue tree (9M) goes through" "$up bytes" \
		[ "$up" -gt 500000 ]
	check "$io: what the tree holds past a burst is copied out of the ring" \
		"dp.ring-copied +$copied" [ "$copied" -gt 100 ]
	sleep 0.3
	free=$(stat dp.pool-free)
	size=$(stat dp.pool-size)
	check "$io: every pool buffer is back after the traffic" "pool-free $free of $size" \
		[ "$size" -gt 0 ] && [ "$free" = "$size" ]
	lab_cleanup

	# the same lab with GRO on
	"$ROSFW" lab down --prefix "$prefix" --dir "$T" >/dev/null 2>&1
	if ! ROSFW_IO=$io timeout 20 "$ROSFW" lab up --prefix "$prefix" --dir "$T" >/dev/null; then
		ko "$io: lab up with GRO"
		continue
	fi
	N lan nstat -n >/dev/null 2>&1
	iperf3_server 5201
	N lan iperf3 -c 203.0.113.1 -p 5201 -R -t 2 -J >"$T/down.json" 2>&1
	sleep 0.5
	down=$(jnum "$T/down.json" bytes)
	merged=$(stat gro.packets)
	segs=$(stat gro.segments)
	gso=$(stat gro.gso-sent)
	check "$io, GRO: a TCP download goes through" "$down bytes" [ "$down" -gt 1000000 ]
	check "$io, GRO: its segments are merged and leave as GSO packets" \
		"gro.packets $merged of gro.segments $segs, gro.gso-sent $gso" \
		[ "$merged" -gt 0 ] && [ "$segs" -gt $((merged * 2 - 1)) ] && [ "$gso" -gt 0 ]
	csumerr=$(N lan nstat -az TcpInCsumErrors 2>/dev/null | awk '$1 == "TcpInCsumErrors" { print $2 }')
	check "$io, GRO: the LAN host sees no bad TCP checksum" "TcpInCsumErrors ${csumerr:-?}" \
		[ "${csumerr:-1}" = 0 ]
	got=$(N lan $PY -c 'import socket, threading, hashlib
s = socket.create_connection(("203.0.113.1", 7), timeout=10)
msg = bytes((i * 7 + i // 251) & 255 for i in range(1 << 20)) * 2
threading.Thread(target=lambda: s.sendall(msg), daemon=True).start()
got = bytearray()
while len(got) < len(msg):
    b = s.recv(1 << 16)
    if not b:
        break
    got += b
print("intact" if got == msg else "corrupt %d of %d bytes" % (len(got), len(msg)))' 2>&1 | tail -1)
	check "$io, GRO: 2 MB each way through the TCP echo come back intact" "$got" \
		[ "$got" = intact ]
	cut0=$(stat gro.cut)
	iperf3_server 5201
	N lan iperf3 -c 203.0.113.1 -p 5201 -t 3 -O 1 -J >"$T/up.json" 2>&1
	sleep 0.5
	up=$(jnum "$T/up.json" bits_per_second)
	cut=$(($(stat gro.cut) - cut0))
	check "$io, GRO: the upload is cut into segments before the queue tree" "gro.cut +$cut" \
		[ "$cut" -gt 0 ]
	check "$io, GRO: and shaped as before: 9M at most, at least 90% of the rate without GRO" \
		"$up bit/s, without GRO $rate0 bit/s" \
		[ "$up" -gt $((rate0 * 9 / 10)) ] && [ "$up" -lt 9500000 ]
	sleep 0.3
	check "$io, GRO: every GRO and pool buffer is back" \
		"gro.free $(stat gro.free) of $(stat gro.size), pool-free $(stat dp.pool-free) of $(stat dp.pool-size)" \
		[ "$(stat gro.size)" -gt 0 ] && [ "$(stat gro.free)" = "$(stat gro.size)" ] && \
		[ "$(stat dp.pool-free)" = "$(stat dp.pool-size)" ]
	lab_cleanup
done
echo "$passed passed, $failed failed"
echo "ok $passed"
[ "$failed" = 0 ]
