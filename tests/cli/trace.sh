#!/usr/bin/env bash
# rosfw trace: every stage and every rule visited, with why it did or did
# not match; the verdict names the deciding rule; errors in the packet
# description name the bad token.
set -u
. "$(dirname "$0")/lib.bash"
SOHO=$(dirname "$0")/../../examples/soho.rsc

out=$("$ROSFW" trace --config "$SOHO" --in ether1-gateway 'tcp 198.51.100.7:40000 > 203.0.113.2:8291 flags=S')
expect_contains "$out" "routing                to the router itself"
expect_contains "$out" "filter input           #3 no match: src-address-list  ;;; accept the LAN (input)"
expect_contains "$out" "filter input           #4 matched  ;;; drop everything else to the router"
expect_contains "$out" "result                 drop by /ip/firewall/filter"

out=$("$ROSFW" trace --config "$SOHO" --in ether2-master-local 'udp 192.168.88.10:5060 > 198.51.100.20:5060')
expect_contains "$out" "mangle forward         #0 matched  ;;; VoIP SIP: high priority"
expect_contains "$out" "source translated to 203.0.113.2:5060"
expect_contains "$out" "result                 forward out:ether1-gateway"
expect_contains "$out" "packet-mark high-priority"

# the seed's own marks: the catch-all runs after the VoIP mark and replaces it
out=$("$ROSFW" trace --config "$(dirname "$0")/../../examples/seed-network.rsc" --config "$(dirname "$0")/../../examples/seed.rsc" \
	--lenient --in ether2-master-local 'udp 192.168.88.10:5060 > 198.51.100.20:5060' 2>/dev/null)
expect_contains "$out" "packet-mark low-priority"

out=$("$ROSFW" trace --config "$SOHO" --in ether1-gateway 'tcp 1.2.3:5 > 1.2.3.4:6' 2>&1) && fail "a bad address should fail"
expect_contains "$out" "bad address '1.2.3'"

# sim writes Wireshark-readable captures per interface
mkdir -p "$T/cap"
"$(dirname "$ROSFW")/tests/mkpcap" "$(dirname "$0")/../sim/soho.pkts" "$T/cap" || fail mkpcap
"$ROSFW" sim --config "$SOHO" --in ether2-master-local="$T/cap/ether2-master-local.pcap" \
	--in ether1-gateway="$T/cap/ether1-gateway.pcap" --in wlan1="$T/cap/wlan1.pcap" \
	--out-dir "$T/out" --report json >"$T/report.json" || fail "sim failed"
[ -s "$T/out/ether1-gateway.pcap" ] && [ -s "$T/out/ether2-master-local.pcap" ] && [ -s "$T/out/local.pcap" ] && pass || fail "no output captures"
expect_contains "$(cat "$T/report.json")" '"packets":26'
finish
