/*
 * Packet descriptor: each parse row is a frame (from a pkt_build description,
 * optionally patched or cut, or hand-made hex) and what pkt_parse must make
 * of it: a drop reason, fields, and the pkt_describe line. Then the checksum
 * helpers and the in-place rewrites (incremental updates must equal a full
 * recompute), and the builder's error messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pkt.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define FRAME_MAX 2048

struct row {
	const char *name;
	const char *build;    /* pkt_build description ... */
	const char *hex;      /* ... or a hand-made frame */
	const char *ext6;     /* ... or IPv6 (no L2): next-header chain, last = upper layer */
	const char *patch;    /* "offset:hexbytes ..." applied to the frame */
	bool fix_ip;          /* recompute the IPv4 header checksum after patching */
	int cut;              /* > 0: keep that many bytes; < 0: drop that many */
	int pad;              /* Ethernet padding up to this length */
	bool l3;              /* no Ethernet header (built rows lose their 14 bytes) */
	bool nocsum;          /* parse with check_csum false */
	enum drop_reason want;
	const char *expect;   /* "key=value +FLAG -FLAG ..." */
	const char *describe;
};

static const struct row parse_rows[] = {
	/* ---- well-formed ---- */
	{ .name = "tcp syn", .build = "tcp 10.0.0.2:51515 > 1.2.3.4:443 flags=S",
	  .expect = "family=4 proto=6 sport=51515 dport=443 ttl=64 ipid=1 seq=1000 ack=0 "
		    "win=65535 tcpflags=0x02 mss=0 wscale=255 sack=0 iplen=40 payload=0 "
		    "+L4 -DF -FRAGMENT -VLAN src=10.0.0.2 dst=1.2.3.4",
	  .describe = "proto TCP (SYN), 10.0.0.2:51515->1.2.3.4:443, len 40" },
	{ .name = "tcp syn-ack with options",
	  .build = "tcp 1.2.3.4:443 > 10.0.0.2:51515 flags=SA mss=1460 wscale=7 sack-perm=yes "
		   "ttl=50 dscp=46 ecn=1",
	  .expect = "ack=1 mss=1460 wscale=7 sack=1 ttl=50 dscp=46 ecn=1 doff=32 iplen=52",
	  .describe = "proto TCP (SYN,ACK), 1.2.3.4:443->10.0.0.2:51515, len 52" },
	{ .name = "tcp ack fin psh with payload",
	  .build = "tcp 10.0.0.2:40000 > 1.2.3.4:80 flags=FPA seq=7 ack=9 win=512 len=100 df=yes",
	  .expect = "seq=7 ack=9 win=512 payload=100 payload_off=54 l4len=120 +DF",
	  .describe = "proto TCP (ACK,FIN,PSH), 10.0.0.2:40000->1.2.3.4:80, len 140" },
	{ .name = "tcp malformed option is ignored",
	  .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 mss=1400", .patch = "55:09",
	  .nocsum = true, .expect = "mss=0 +L4" },
	{ .name = "udp", .build = "udp 10.0.0.2:5060 > 1.2.3.4:5060 len=200",
	  .expect = "proto=17 sport=5060 dport=5060 payload=200 l4len=208 +L4",
	  .describe = "proto UDP, 10.0.0.2:5060->1.2.3.4:5060, len 228" },
	{ .name = "udp without checksum",
	  .build = "udp 10.0.0.2:53 > 1.2.3.4:53 len=4", .patch = "40:0000",
	  .expect = "+L4 sport=53" },
	{ .name = "udp in a padded ethernet frame", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 len=2",
	  .pad = 60, .expect = "iplen=30 l4len=10 payload=2 +L4" },
	{ .name = "ip packet without ethernet", .build = "udp 10.0.0.2:1 > 1.2.3.4:2", .l3 = true,
	  .expect = "family=4 ethertype=0x0800 sport=1 +L4" },
	{ .name = "icmp echo", .build = "icmp 10.0.0.2 > 1.2.3.4 type=8 code=0 id=77 len=56",
	  .expect = "proto=1 type=8 code=0 sport=77 dport=77 payload=56 +L4 -ICMP_ERR",
	  .describe = "proto ICMP (type 8, code 0), 10.0.0.2->1.2.3.4, len 84" },
	{ .name = "icmp timestamp reply carries an id",
	  .build = "icmp 1.2.3.4 > 10.0.0.2 type=14 id=9 len=12", .expect = "sport=9 dport=9" },
	{ .name = "icmp port unreachable with embedded udp",
	  .build = "icmp 9.9.9.9 > 10.0.0.2 type=3 code=3 (udp 10.0.0.2:5000 > 1.2.3.4:53 len=10)",
	  .expect = "+ICMP_ERR inner.proto=17 inner.sport=5000 inner.dport=53 "
		    "inner.src=10.0.0.2 inner.dst=1.2.3.4 inner.l3_off=42 inner.l4_off=62 sport=0",
	  .describe = "proto ICMP (type 3, code 3), 9.9.9.9->10.0.0.2, len 66" },
	{ .name = "icmp time exceeded quoting an echo",
	  .build = "icmp 9.9.9.9 > 10.0.0.2 type=11 (icmp 10.0.0.2 > 1.2.3.4 id=4242)",
	  .expect = "+ICMP_ERR inner.proto=1 inner.sport=4242 inner.dport=4242" },
	{ .name = "icmp error quoting too little",
	  .build = "icmp 9.9.9.9 > 10.0.0.2 type=3 code=1 (tcp 10.0.0.2:1 > 1.2.3.4:2) len=27",
	  .expect = "-ICMP_ERR +L4 type=3" },
	{ .name = "icmp error quoting a later fragment has no ports",
	  .build = "icmp 9.9.9.9 > 10.0.0.2 type=3 code=4 (udp 10.0.0.2:1 > 1.2.3.4:2 frag-off=8 len=8)",
	  .expect = "+ICMP_ERR inner.proto=17 inner.sport=0" },
	{ .name = "icmp6 echo", .build = "icmp6 [2001:db8::1] > [2001:db8::2] id=5",
	  .expect = "family=6 proto=58 sport=5 dport=5 type=128 iplen=48 +L4",
	  .describe = "proto ICMPv6 (type 128, code 0), 2001:db8::1->2001:db8::2, len 48" },
	{ .name = "icmp6 packet too big with embedded tcp",
	  .build = "icmp6 [2001:db8::ff] > [2001:db8::1] type=2 "
		   "(tcp [2001:db8::1]:40000 > [2001:db8::2]:80 flags=A)",
	  .expect = "+ICMP_ERR inner.proto=6 inner.sport=40000 inner.dport=80 "
		    "inner.src=2001:db8::1 inner.dst=2001:db8::2" },
	{ .name = "icmp6 neighbour solicitation",
	  .build = "icmp6 fe80::1 > ff02::1:ff00:2 type=135 len=16",
	  .expect = "type=135 sport=0 -ICMP_ERR +L4" },
	{ .name = "tcp over ipv6", .build = "tcp [2001:db8::1]:443 > [2001:db8::2]:51234 flags=S",
	  .expect = "family=6 ethertype=0x86dd ttl=64",
	  .describe = "proto TCP (SYN), [2001:db8::1]:443->[2001:db8::2]:51234, len 60" },
	{ .name = "vlan", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 vlan=10",
	  .expect = "vlan=10 +VLAN l3_off=18 +L4" },
	{ .name = "802.1ad + 802.1q", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 svlan=100 vlan=20",
	  .expect = "vlan=20 +VLAN l3_off=22 sport=1" },
	{ .name = "gre", .build = "proto=47 10.0.0.1 > 10.0.0.2 len=8",
	  .expect = "proto=47 +L4 payload=4 sport=0",
	  .describe = "proto GRE, 10.0.0.1->10.0.0.2, len 28" },
	{ .name = "esp", .build = "proto=50 10.0.0.1 > 10.0.0.2 len=16",
	  .expect = "+L4 payload=8", .describe = "proto 50, 10.0.0.1->10.0.0.2, len 36" },
	{ .name = "sctp ports", .build = "proto=132 10.0.0.1 > 10.0.0.2 len=12",
	  .patch = "34:0b5900b4", .expect = "sport=2905 dport=180 +L4" },
	{ .name = "unknown protocol", .build = "proto=200 10.0.0.1 > 10.0.0.2 len=3",
	  .expect = "proto=200 -L4 payload=3" },
	{ .name = "arp is not ip",
	  .hex = "ffffffffffff 020000000001 0806 0001 0800 06 04 0001",
	  .want = DR_NOT_IP, .expect = "family=0 ethertype=0x0806",
	  .describe = "ethertype 0x0806, len 22" },
	{ .name = "third vlan tag is not ip", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 svlan=1 vlan=2",
	  .patch = "20:8100", .want = DR_NOT_IP, .expect = "vlan=2" },

	/* ---- IPv4 options ---- */
	{ .name = "record route",
	  .hex = "020000000002 020000000001 0800 46000020 00010000 40110000 0a000002 01020304"
		 "07030400 00010002 00080000",
	  .fix_ip = true, .expect = "+IPV4_OPTS opts=0x01 sport=1 +L4" },
	{ .name = "timestamp and router alert",
	  .hex = "020000000002 020000000001 0800 4900002c 00010000 40110000 0a000002 01020304"
		 "44080500 00000000 94040000 01010100 00010002 00080000",
	  .fix_ip = true, .expect = "opts=0x12 +L4" },
	{ .name = "source routes and security",
	  .hex = "020000000002 020000000001 0800 4a000030 00010000 40110000 0a000002 01020304"
		 "8307040a 00000189 07040a00 00028204 00000000 00010002 00080000",
	  .fix_ip = true, .expect = "opts=0x2c +IPV4_OPTS" },
	{ .name = "padding only",
	  .hex = "020000000002 020000000001 0800 46000020 00010000 40110000 0a000002 01020304"
		 "01010000 00010002 00080000",
	  .fix_ip = true, .expect = "+IPV4_OPTS opts=0 +L4" },
	{ .name = "option length 0",
	  .hex = "020000000002 020000000001 0800 46000020 00010000 40110000 0a000002 01020304"
		 "82000000 00010002 00080000",
	  .fix_ip = true, .want = DR_BAD_IPV4_OPTIONS },
	{ .name = "option longer than the header",
	  .hex = "020000000002 020000000001 0800 46000020 00010000 40110000 0a000002 01020304"
		 "07080400 00010002 00080000",
	  .fix_ip = true, .want = DR_BAD_IPV4_OPTIONS },
	{ .name = "option without a length byte",
	  .hex = "020000000002 020000000001 0800 46000020 00010000 40110000 0a000002 01020304"
		 "01010107 00010002 00080000",
	  .fix_ip = true, .want = DR_BAD_IPV4_OPTIONS },
	{ .name = "router alert of length 3",
	  .hex = "020000000002 020000000001 0800 46000020 00010000 40110000 0a000002 01020304"
		 "94030000 00010002 00080000",
	  .fix_ip = true, .want = DR_BAD_IPV4_OPTIONS },
	{ .name = "record route pointer inside its header",
	  .hex = "020000000002 020000000001 0800 46000020 00010000 40110000 0a000002 01020304"
		 "07030300 00010002 00080000",
	  .fix_ip = true, .want = DR_BAD_IPV4_OPTIONS },

	/* ---- fragments ---- */
	{ .name = "ipv4 first fragment", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 mf=yes len=16",
	  .patch = "40:1234", /* the datagram checksum cannot be checked on a fragment */
	  .expect = "+FRAGMENT +FRAG_FIRST +L4 sport=1 fragoff=0" },
	{ .name = "ipv4 later fragment", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 frag-off=1480 len=16",
	  .expect = "+FRAGMENT -FRAG_FIRST -L4 sport=0 fragoff=1480 payload=16 proto=17",
	  .describe = "proto UDP, 10.0.0.2->1.2.3.4, len 36" },
	{ .name = "ipv4 last fragment", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 frag-off=8 ip-id=99",
	  .expect = "+FRAGMENT -FRAG_FIRST -L4 ipid=99" },
	{ .name = "ipv6 first fragment", .build = "udp [2001:db8::1]:7 > [2001:db8::2]:8 mf=yes ip-id=5",
	  .expect = "+FRAGMENT +FRAG_FIRST +L4 sport=7 ipid=5 proto=17 l4_off=62" },
	{ .name = "ipv6 later fragment", .build = "udp [2001:db8::1]:7 > [2001:db8::2]:8 frag-off=64 len=8",
	  .expect = "+FRAGMENT -FRAG_FIRST -L4 sport=0 fragoff=64 proto=17" },

	/* ---- IPv6 extension headers ---- */
	{ .name = "hop-by-hop, dst opts, routing, ah", .ext6 = "0 60 43 51 17", .nocsum = true,
	  .expect = "family=6 proto=17 sport=1000 dport=2000 l4_off=72 +L4" },
	{ .name = "atomic fragment is no fragment", .ext6 = "44 17", .nocsum = true,
	  .expect = "-FRAGMENT +L4" },
	{ .name = "no next header", .ext6 = "60 59", .expect = "proto=59 -L4" },
	{ .name = "eight extension headers", .ext6 = "60 60 60 60 60 60 60 60 17", .nocsum = true,
	  .expect = "+L4" },
	{ .name = "nine extension headers", .ext6 = "60 60 60 60 60 60 60 60 60 17",
	  .want = DR_BAD_IPV6_EXTHDR },
	{ .name = "hop-by-hop not first", .ext6 = "60 0 17", .want = DR_BAD_IPV6_EXTHDR },
	{ .name = "two fragment headers", .ext6 = "44 44 17", .want = DR_BAD_IPV6_EXTHDR },
	{ .name = "extension header past the payload", .ext6 = "60 17", .patch = "5:04",
	  .want = DR_BAD_IPV6_EXTHDR },
	{ .name = "extension header length past the payload", .ext6 = "60 17", .patch = "41:02",
	  .want = DR_BAD_IPV6_EXTHDR },

	/* ---- truncations and bad headers ---- */
	{ .name = "runt frame", .hex = "0200000000020200", .want = DR_TRUNC_L2 },
	{ .name = "cut vlan tag", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 vlan=3", .cut = 16,
	  .want = DR_TRUNC_L2 },
	{ .name = "cut ipv4 header", .build = "udp 10.0.0.2:1 > 1.2.3.4:2", .cut = 33,
	  .want = DR_TRUNC_L3 },
	{ .name = "ethernet header only", .build = "udp 10.0.0.2:1 > 1.2.3.4:2", .cut = 14,
	  .want = DR_TRUNC_L3 },
	{ .name = "cut ipv6 header", .build = "udp [::1]:1 > [::2]:2", .cut = 53,
	  .want = DR_TRUNC_L3 },
	{ .name = "ipv4 ethertype, version 6", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "14:65", .want = DR_BAD_IP_VERSION },
	{ .name = "no ethernet, version 5", .hex = "45", .patch = "0:55", .l3 = true,
	  .want = DR_BAD_IP_VERSION },
	{ .name = "ihl 4", .build = "udp 10.0.0.2:1 > 1.2.3.4:2", .patch = "14:44", .fix_ip = true,
	  .want = DR_BAD_IPV4_IHL },
	{ .name = "ihl beyond the frame", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2", .patch = "14:4f",
	  .want = DR_BAD_IPV4_IHL },
	{ .name = "total length beyond the frame", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "16:001d", .fix_ip = true, .want = DR_BAD_IPV4_LEN,
	  .expect = "family=4 src=10.0.0.2" },
	{ .name = "total length below the header", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "16:0013", .fix_ip = true, .want = DR_BAD_IPV4_LEN },
	{ .name = "bad ipv4 checksum", .build = "udp 10.0.0.2:1 > 1.2.3.4:2", .patch = "24:0000",
	  .want = DR_BAD_IPV4_CSUM, .expect = "ttl=64 proto=17" },
	{ .name = "bad ipv4 checksum not checked", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "24:0000", .nocsum = true, .expect = "+L4" },
	{ .name = "ipv6 payload length beyond the frame", .build = "udp [::1]:1 > [::2]:2",
	  .patch = "18:0009", .want = DR_BAD_IPV6_LEN },
	{ .name = "tcp header cut", .build = "proto=6 10.0.0.2 > 1.2.3.4 len=19",
	  .want = DR_TRUNC_L4, .expect = "-L4" },
	{ .name = "udp header cut", .build = "proto=17 10.0.0.2 > 1.2.3.4 len=7",
	  .want = DR_TRUNC_L4 },
	{ .name = "udp length beyond the ip payload", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 len=4",
	  .patch = "38:000d", .want = DR_TRUNC_L4, .nocsum = true },
	{ .name = "udp length below its header", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "38:0007", .want = DR_TRUNC_L4, .nocsum = true },
	{ .name = "icmp header cut", .build = "proto=1 10.0.0.2 > 1.2.3.4 len=4",
	  .want = DR_TRUNC_L4 },
	{ .name = "icmp6 header cut", .build = "proto=58 [::1] > [::2] len=7", .want = DR_TRUNC_L4 },
	{ .name = "gre key cut", .build = "proto=47 10.0.0.1 > 10.0.0.2 len=6", .patch = "34:2000",
	  .want = DR_TRUNC_L4 },
	{ .name = "sctp header cut", .build = "proto=132 10.0.0.1 > 10.0.0.2 len=11",
	  .want = DR_TRUNC_L4 },
	{ .name = "tcp data offset 4", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2", .patch = "46:40",
	  .want = DR_BAD_TCP_DOFF, .expect = "sport=1 dport=2 -L4" },
	{ .name = "tcp data offset beyond the segment", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 len=3",
	  .patch = "46:60", .want = DR_BAD_TCP_DOFF },
	{ .name = "bad tcp checksum", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2", .patch = "50:0000",
	  .want = DR_BAD_L4_CSUM, .expect = "+L4 sport=1" },
	{ .name = "bad tcp checksum not checked", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "50:0000", .nocsum = true },
	{ .name = "bad udp checksum", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 len=1",
	  .patch = "42:ff", .want = DR_BAD_L4_CSUM },
	{ .name = "ipv6 udp without checksum", .build = "udp [::1]:1 > [::2]:2",
	  .patch = "60:0000", .want = DR_BAD_L4_CSUM },
	{ .name = "bad icmp checksum", .build = "icmp 10.0.0.2 > 1.2.3.4", .patch = "36:0000",
	  .want = DR_BAD_L4_CSUM },
	{ .name = "bad icmp6 checksum (pseudo-header)", .build = "icmp6 [::1] > [::2]",
	  .patch = "37:03", .want = DR_BAD_L4_CSUM },
};

/* ---- frame making ---- */

static size_t hex_bytes(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v = -1;
		if (*s == ' ')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		if (v < 0)
			fail_msg("bad hex '%c'", *s);
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	return n;
}

static void apply_patch(const char *patch, uint8_t *f, size_t len)
{
	const char *s = patch;

	while (*s) {
		char *end;
		unsigned long off = strtoul(s, &end, 10);
		uint8_t bytes[64];
		char hex[130];
		size_t k = 0;

		assert_true(*end == ':');
		s = end + 1;
		while (*s && *s != ' ' && k + 1 < sizeof(hex))
			hex[k++] = *s++;
		hex[k] = 0;
		size_t n = hex_bytes(hex, bytes, sizeof(bytes));
		assert_true(off + n <= len);
		memcpy(f + off, bytes, n);
		while (*s == ' ')
			s++;
	}
}

static void fix_ipv4_header(uint8_t *f, size_t len, size_t l3)
{
	size_t ihl = (size_t)(f[l3] & 0x0f) * 4;
	uint16_t c;

	if (ihl < 20 || l3 + ihl > len)
		ihl = 20;
	assert_true(l3 + ihl <= len);
	f[l3 + 10] = f[l3 + 11] = 0;
	c = csum_buf(f + l3, ihl, 0);
	memcpy(f + l3 + 10, &c, 2);
}

/* IPv6 2001:db8::1 -> 2001:db8::2 with 8-byte extension headers, then UDP. */
static size_t make_ext6(const char *chain, uint8_t *f, size_t cap)
{
	int nh[16] = { 0 }, n = 0;
	size_t k = 40;

	for (const char *s = chain; *s;) {
		char *end;
		nh[n++] = (int)strtol(s, &end, 10);
		s = end;
		while (*s == ' ')
			s++;
	}
	memset(f, 0, cap);
	f[0] = 0x60;
	f[6] = (uint8_t)nh[0];
	f[7] = 64;
	f[8] = 0x20, f[9] = 0x01, f[10] = 0x0d, f[11] = 0xb8, f[23] = 1;
	f[24] = 0x20, f[25] = 0x01, f[26] = 0x0d, f[27] = 0xb8, f[39] = 2;
	for (int i = 0; i + 1 < n; i++) {
		f[k] = (uint8_t)nh[i + 1];
		k += 8;
	}
	if (nh[n - 1] == 17) {
		f[k] = 1000 >> 8, f[k + 1] = 1000 & 0xff;
		f[k + 2] = 2000 >> 8, f[k + 3] = 2000 & 0xff;
		f[k + 5] = 8;
		k += 8;
	}
	f[4] = (uint8_t)((k - 40) >> 8);
	f[5] = (uint8_t)(k - 40);
	return k;
}

static size_t make_frame(const struct row *r, uint8_t *f)
{
	size_t len;
	struct err e;

	memset(f, 0, FRAME_MAX);
	if (r->build) {
		err_clear(&e);
		int n = pkt_build(r->build, f, FRAME_MAX, &e);
		if (n < 0)
			fail_msg("%s: pkt_build: %s", r->name, e.msg);
		len = (size_t)n;
		if (r->l3) {
			memmove(f, f + 14, len - 14);
			len -= 14;
		}
	} else if (r->hex) {
		len = hex_bytes(r->hex, f, FRAME_MAX);
	} else {
		len = make_ext6(r->ext6, f, FRAME_MAX);
	}
	if (r->patch)
		apply_patch(r->patch, f, len);
	if (r->fix_ip)
		fix_ipv4_header(f, len, r->l3 ? 0 : 14);
	if (r->cut > 0)
		len = (size_t)r->cut;
	else if (r->cut < 0)
		len -= (size_t)-r->cut;
	if (r->pad && len < (size_t)r->pad)
		len = (size_t)r->pad;
	return len;
}

/* ---- expectations ---- */

static const struct {
	const char *name;
	uint16_t bit;
} flag_names[] = {
	{ "FRAGMENT", PKT_F_FRAGMENT }, { "FRAG_FIRST", PKT_F_FRAG_FIRST },
	{ "IPV4_OPTS", PKT_F_IPV4_OPTS }, { "VLAN", PKT_F_VLAN }, { "L4", PKT_F_L4 },
	{ "ICMP_ERR", PKT_F_ICMP_ERR }, { "DF", PKT_F_DF },
};

static bool addr_eq(uint8_t family, const union ipaddr *a, const char *txt)
{
	union ipaddr want;

	if (family == 4) {
		struct in_addr in;
		if (inet_pton(AF_INET, txt, &in) != 1)
			return false;
		return a->v4 == ntohl(in.s_addr);
	}
	if (inet_pton(AF_INET6, txt, want.v6) != 1)
		return false;
	return memcmp(a->v6, want.v6, 16) == 0;
}

static long field(const struct pkt *p, const char *key, bool *ok)
{
	static const struct {
		const char *name;
		size_t off, size;
	} fields[] = {
#define F(n, m) { n, offsetof(struct pkt, m), sizeof(((struct pkt *)0)->m) }
		F("family", family), F("proto", proto), F("sport", sport), F("dport", dport),
		F("vlan", vlan), F("ttl", ttl), F("dscp", dscp), F("ecn", ecn),
		F("ipid", ip_id), F("fragoff", frag_off), F("iplen", ip_len),
		F("l3_off", l3_off), F("l4_off", l4_off), F("l4len", l4_len),
		F("payload", payload_len), F("payload_off", payload_off),
		F("type", icmp_type), F("code", icmp_code), F("tcpflags", tcp_flags),
		F("doff", tcp_doff), F("seq", seq), F("ack", ack), F("win", win),
		F("mss", mss), F("wscale", wscale), F("sack", sack_perm),
		F("opts", ipv4_opts), F("ethertype", ethertype),
		F("inner.sport", inner.sport), F("inner.dport", inner.dport),
		F("inner.proto", inner.proto), F("inner.l3_off", inner.l3_off),
		F("inner.l4_off", inner.l4_off),
#undef F
	};

	for (size_t i = 0; i < NROWS(fields); i++) {
		if (strcmp(fields[i].name, key) != 0)
			continue;
		const uint8_t *at = (const uint8_t *)p + fields[i].off;
		*ok = true;
		switch (fields[i].size) {
		case 1: return *at;
		case 2: { uint16_t v; memcpy(&v, at, 2); return v; }
		default: { uint32_t v; memcpy(&v, at, 4); return (long)v; }
		}
	}
	*ok = false;
	return 0;
}

/* Checks "key=value +FLAG -FLAG" words; returns the number of mismatches. */
static int check_expect(const char *name, const struct pkt *p, const char *expect)
{
	char buf[512], *save = NULL;
	int fails = 0;

	snprintf(buf, sizeof(buf), "%s", expect);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (w[0] == '+' || w[0] == '-') {
			size_t i;
			for (i = 0; i < NROWS(flag_names); i++)
				if (!strcmp(flag_names[i].name, w + 1))
					break;
			if (i == NROWS(flag_names))
				fail_msg("%s: unknown flag %s", name, w);
			bool set = p->flags & flag_names[i].bit;
			if (set != (w[0] == '+')) {
				print_error("%s: flag %s is %s\n", name, w + 1, set ? "set" : "clear");
				fails++;
			}
			continue;
		}
		char *eq = strchr(w, '=');
		if (!eq)
			fail_msg("%s: bad expectation %s", name, w);
		*eq = 0;
		const char *v = eq + 1;
		if (!strcmp(w, "src") || !strcmp(w, "dst") || !strcmp(w, "inner.src") ||
		    !strcmp(w, "inner.dst")) {
			const union ipaddr *a = !strcmp(w, "src") ? &p->src : !strcmp(w, "dst") ? &p->dst :
						!strcmp(w, "inner.src") ? &p->inner.src : &p->inner.dst;
			if (!addr_eq(p->family, a, v)) {
				print_error("%s: %s is not %s\n", name, w, v);
				fails++;
			}
			continue;
		}
		bool ok;
		long got = field(p, w, &ok);
		if (!ok)
			fail_msg("%s: unknown field %s", name, w);
		long want = strtol(v, NULL, 0);
		if (got != want) {
			print_error("%s: %s = %ld, want %ld\n", name, w, got, want);
			fails++;
		}
	}
	return fails;
}

static void test_parse_rows(void **state)
{
	static uint8_t f[FRAME_MAX];
	bool covered[DR_MAX] = { false };
	int fails = 0;

	for (size_t i = 0; i < NROWS(parse_rows); i++) {
		const struct row *r = &parse_rows[i];
		struct pkt p = { 0 };
		size_t len = make_frame(r, f);

		p.data = f;
		p.len = (uint32_t)len;
		p.cap = FRAME_MAX;
		p.in_if = 7; /* parse leaves metadata zeroed */
		enum drop_reason got = pkt_parse(&p, !(r->l3 || r->ext6), !r->nocsum);
		covered[got] = true;
		if (got != r->want) {
			print_error("%s: got %s, want %s\n", r->name, pkt_reason_name(got),
				    pkt_reason_name(r->want));
			fails++;
			continue;
		}
		if (p.in_if != 0 || p.data != f || p.len != len) {
			print_error("%s: metadata or frame fields not as expected\n", r->name);
			fails++;
		}
		if (r->expect)
			fails += check_expect(r->name, &p, r->expect);
		if (r->describe) {
			char d[160];
			pkt_describe(&p, d, sizeof(d));
			if (strcmp(d, r->describe) != 0) {
				print_error("%s: describe '%s', want '%s'\n", r->name, d, r->describe);
				fails++;
			}
		}
		/* Whatever parses with checksums on is consistent with pkt_checksums_ok. */
		if (got == DR_NONE && !r->nocsum && !pkt_checksums_ok(&p)) {
			print_error("%s: parsed but pkt_checksums_ok is false\n", r->name);
			fails++;
		}
	}
	/* Every reason pkt_parse can give has a row. */
	static const enum drop_reason reachable[] = {
		DR_NONE, DR_TRUNC_L2, DR_TRUNC_L3, DR_BAD_IP_VERSION, DR_BAD_IPV4_IHL,
		DR_BAD_IPV4_LEN, DR_BAD_IPV4_CSUM, DR_BAD_IPV4_OPTIONS, DR_BAD_IPV6_LEN,
		DR_BAD_IPV6_EXTHDR, DR_TRUNC_L4, DR_BAD_TCP_DOFF, DR_BAD_L4_CSUM, DR_NOT_IP,
	};
	for (size_t i = 0; i < NROWS(reachable); i++) {
		if (!covered[reachable[i]]) {
			print_error("no row gives %s\n", pkt_reason_name(reachable[i]));
			fails++;
		}
	}
	assert_int_equal(fails, 0);
}

/* pkt_parse never reads past p->len: every prefix of every row's frame. */
static void test_parse_prefixes(void **state)
{
	static uint8_t f[FRAME_MAX];

	for (size_t i = 0; i < NROWS(parse_rows); i++) {
		size_t len = make_frame(&parse_rows[i], f);
		for (size_t n = 0; n <= len; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			struct pkt p = { 0 };
			assert_non_null(copy);
			memcpy(copy, f, n);
			p.data = copy;
			p.len = (uint32_t)n;
			for (int l2 = 0; l2 < 2; l2++) {
				char d[128];
				enum drop_reason r = pkt_parse(&p, l2, true);
				assert_true(r < DR_MAX);
				pkt_describe(&p, d, sizeof(d));
			}
			free(copy);
		}
	}
}

/* ---- checksum helpers ---- */

static void test_csum_helpers(void **state)
{
	/* RFC 1071's example: the words sum to 0xddf2, so the checksum is 0x220d. */
	static const uint8_t rfc1071[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint16_t c = csum_buf(rfc1071, sizeof(rfc1071), 0);
	uint8_t b[2];

	memcpy(b, &c, 2);
	assert_int_equal(b[0], 0x22);
	assert_int_equal(b[1], 0x0d);
	/* Odd length: the last byte is the high half of a word. */
	static const uint8_t odd[] = { 0x01, 0x02, 0x03 };
	c = csum_buf(odd, 3, 0);
	memcpy(b, &c, 2);
	assert_int_equal(b[0] << 8 | b[1], (uint16_t)~(0x0102 + 0x0300));
	/* every length and alignment against the definition, word by word;
	 * short buffers, then frame-sized ones with runs of 0xff (a carry out
	 * of the 64-bit sum at every step) */
	static uint8_t buf[1600];
	uint32_t seed = 12345;
	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	buf[7] = buf[8] = 0xff; /* carries */
	memset(buf + 100, 0xff, 1400);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; off + len <= sizeof(buf); len += len < 80 ? 1 : 97) {
			uint32_t sum = 0;
			for (size_t i = 0; i < len; i += 2)
				sum += (uint32_t)buf[off + i] << 8 | (i + 1 < len ? buf[off + i + 1] : 0);
			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			c = csum_buf(buf + off, len, 0);
			memcpy(b, &c, 2);
			if ((b[0] << 8 | b[1]) != (uint16_t)~sum)
				fail_msg("csum_buf off %zu len %zu", off, len);
		}
	/* initial is a partial sum in the same (network) order. */
	uint16_t first = csum_buf(rfc1071, 4, 0);
	assert_int_equal(csum_buf(rfc1071 + 4, 4, (uint16_t)~first), csum_buf(rfc1071, 8, 0));

	/* Incremental update equals recomputation, for many values. */
	uint8_t hdr[20] = { 0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 2, 1, 2, 3, 4 };
	uint16_t base = csum_buf(hdr, 20, 0);
	memcpy(hdr + 10, &base, 2);
	for (uint32_t i = 0; i < 5000; i++) {
		uint32_t x = i * 2654435761u;
		uint16_t old16, new16, stored, want;
		memcpy(&old16, hdr + 4, 2);
		new16 = (uint16_t)x;
		memcpy(&stored, hdr + 10, 2);
		memcpy(hdr + 4, &new16, 2);
		stored = csum_update16(stored, old16, new16);
		memcpy(hdr + 10, &stored, 2);
		assert_int_equal(csum_buf(hdr, 20, 0), 0);

		uint32_t old32, new32 = x ^ 0x5a5a5a5a;
		memcpy(&old32, hdr + 12, 4);
		memcpy(hdr + 12, &new32, 4);
		stored = csum_update32(stored, old32, new32);
		memcpy(hdr + 10, &stored, 2);
		hdr[10] = hdr[11] = 0;
		want = csum_buf(hdr, 20, 0);
		assert_int_equal(stored, want);
		memcpy(hdr + 10, &stored, 2);
	}
}

/* ---- rewrites ---- */

static void parse_ok(struct pkt *p, uint8_t *f, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->data = f;
	p->len = (uint32_t)len;
	p->cap = FRAME_MAX;
	enum drop_reason r = pkt_parse(p, true, true);
	if (r != DR_NONE)
		fail_msg("parse: %s", pkt_reason_name(r));
}

static size_t build(const char *desc, uint8_t *f)
{
	struct err e;
	int n;

	err_clear(&e);
	n = pkt_build(desc, f, FRAME_MAX, &e);
	if (n < 0)
		fail_msg("pkt_build '%s': %s", desc, e.msg);
	return (size_t)n;
}

/*
 * change-mss and clear-df on frames: each row builds a segment, optionally
 * lays its 8 option bytes out anew (NOPs put the MSS value at an odd
 * offset), lowers the MSS to mss, and the checksums must verify from
 * scratch, the frame and the descriptor agreeing on the MSS.
 */
struct mss_row {
	const char *build;
	const uint8_t *opts; /* 8 option bytes replacing the built ones, or NULL */
	uint16_t mss;
	bool changed;
	uint16_t want;       /* the MSS after */
};

static const uint8_t odd_opts[8] = { 1, 2, 4, 0x23, 0x00, 1, 1, 0 };     /* MSS 8960 at 21 */
static const uint8_t late_opts[8] = { 3, 3, 7, 1, 2, 4, 0x05, 0xb4 };   /* wscale, then MSS 1460 */
static const uint8_t bad_opts[8] = { 3, 9, 7, 1, 2, 4, 0x05, 0xb4 };    /* option runs past the header */

static const struct mss_row mss_rows[] = {
	{ "tcp 192.168.88.10:1 > 1.2.3.4:443 flags=S mss=1460", NULL, 1400, true, 1400 },
	{ "tcp 192.168.88.10:1 > 1.2.3.4:443 flags=SA mss=8960 wscale=7", NULL, 1452, true, 1452 },
	{ "tcp 192.168.88.10:1 > 1.2.3.4:443 flags=S mss=1200", NULL, 1400, false, 1200 }, /* only lowers */
	{ "tcp 192.168.88.10:1 > 1.2.3.4:443 flags=S mss=1400", NULL, 1400, false, 1400 },
	{ "tcp 192.168.88.10:1 > 1.2.3.4:443 flags=A mss=1460", NULL, 1400, false, 1460 }, /* SYNs only */
	{ "tcp 192.168.88.10:1 > 1.2.3.4:443 flags=S mss=1 wscale=1", odd_opts, 1300, true, 1300 },
	{ "tcp 192.168.88.10:1 > 1.2.3.4:443 flags=S mss=1 wscale=1", late_opts, 1300, true, 1300 },
	{ "tcp 192.168.88.10:1 > 1.2.3.4:443 flags=S mss=1 wscale=1", odd_opts, 9000, false, 8960 },
	{ "tcp [2001:db8::1]:1 > [2001:db8::2]:443 flags=S mss=1440", NULL, 1380, true, 1380 },
	{ "tcp [2001:db8::1]:1 > [2001:db8::2]:443 flags=S mss=1 wscale=1", odd_opts, 1220, true, 1220 },
	{ "tcp 192.168.88.10:1 > 1.2.3.4:443 flags=S", NULL, 536, false, 0 }, /* none: none added */
};

static uint16_t frame_mss(const struct pkt *p)
{
	const uint8_t *h = p->data + p->l4_off;
	for (unsigned i = 20; i + 3 < p->tcp_doff;) {
		if (h[i] == 0)
			break;
		if (h[i] == 1) {
			i++;
			continue;
		}
		if (h[i] == 2)
			return (uint16_t)(h[i + 2] << 8 | h[i + 3]);
		i += h[i + 1] ? h[i + 1] : 1;
	}
	return 0;
}

static void test_change_mss(void **state)
{
	for (size_t i = 0; i < sizeof(mss_rows) / sizeof(mss_rows[0]); i++) {
		const struct mss_row *r = &mss_rows[i];
		uint8_t f[FRAME_MAX];
		struct pkt p;
		memset(&p, 0, sizeof(p));
		p.data = f;
		p.len = (uint32_t)build(r->build, f);
		p.cap = FRAME_MAX;
		assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
		if (r->opts) {
			assert_int_equal(p.tcp_doff, 28);
			memcpy(f + p.l4_off + 20, r->opts, 8);
			pkt_fix_checksums(&p);
			assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
		}
		bool changed = pkt_set_mss(&p, r->mss);
		if (changed != r->changed)
			fail_msg("row %zu: changed %d", i, changed);
		if (!pkt_checksums_ok(&p))
			fail_msg("row %zu: checksum wrong after the change", i);
		assert_int_equal(frame_mss(&p), r->want);
		assert_int_equal(p.mss, r->want);
		/* what the frame says is what a fresh parse says */
		struct pkt q;
		memset(&q, 0, sizeof(q));
		q.data = f;
		q.len = p.len;
		assert_int_equal(pkt_parse(&q, true, true), DR_NONE);
		assert_int_equal(q.mss, r->want);
	}
	/* an option running past the header is left alone, the descriptor too */
	uint8_t f[FRAME_MAX];
	struct pkt p;
	memset(&p, 0, sizeof(p));
	p.data = f;
	p.len = (uint32_t)build("tcp 192.168.88.10:1 > 1.2.3.4:443 flags=S mss=1 wscale=1", f);
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	memcpy(f + p.l4_off + 20, bad_opts, 8);
	pkt_fix_checksums(&p);
	p.mss = 1460;
	pkt_set_mss(&p, 1000);
	assert_true(pkt_checksums_ok(&p));
	assert_int_equal(f[p.l4_off + 26] << 8 | f[p.l4_off + 27], 1460);
	assert_int_equal(p.mss, 1460);
}

static void test_clear_df(void **state)
{
	static const char *const rows[] = {
		"tcp 192.168.88.10:1 > 1.2.3.4:443 flags=S df=yes",
		"udp 192.168.88.10:1 > 1.2.3.4:53 df=yes len=20 ttl=3 dscp=46",
		"tcp 192.168.88.10:1 > 1.2.3.4:443 flags=A",
		"udp 192.168.88.10:1 > 1.2.3.4:53 df=yes mf=yes ip-id=77 len=16",
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t f[FRAME_MAX];
		struct pkt p;
		memset(&p, 0, sizeof(p));
		p.data = f;
		p.len = (uint32_t)build(rows[i], f);
		enum drop_reason why = pkt_parse(&p, true, true);
		assert_true(why == DR_NONE || (p.flags & PKT_F_FRAGMENT));
		uint8_t mf = f[p.l3_off + 6] & 0x20;
		pkt_clear_df(&p);
		assert_int_equal(f[p.l3_off + 6] & 0x40, 0);
		assert_int_equal(f[p.l3_off + 6] & 0x20, mf);   /* MF untouched */
		assert_int_equal(p.flags & PKT_F_DF, 0);
		assert_int_equal(csum_buf(f + p.l3_off, 20, 0), 0); /* the header sums to zero */
	}
}

struct rewrite_row {
	const char *build;
	const char *patch;   /* e.g. zero the UDP checksum */
	bool v6;
};

static const struct rewrite_row rewrite_rows[] = {
	{ .build = "tcp 192.168.88.10:51515 > 1.2.3.4:443 flags=PA len=33 mss=1400" },
	{ .build = "tcp 10.1.2.3:1 > 10.3.2.1:65535 flags=S" },
	{ .build = "udp 192.168.88.10:5060 > 1.2.3.4:5060 len=17" },
	{ .build = "udp 192.168.88.10:5060 > 1.2.3.4:5060 len=17", .patch = "40:0000" },
	{ .build = "icmp 192.168.88.10 > 8.8.8.8 type=8 id=777 len=56" },
	{ .build = "icmp 8.8.8.8 > 192.168.88.10 type=0 id=777 len=3" },
	{ .build = "udp 192.168.88.10:5060 > 1.2.3.4:5060 mf=yes len=40" },
	{ .build = "proto=47 10.0.0.1 > 10.0.0.2 len=4" },
	{ .build = "tcp [2001:db8::1]:1 > [2001:db8::2]:2 flags=A len=5", .v6 = true },
	{ .build = "icmp6 [2001:db8::1] > [2001:db8::2] id=3", .v6 = true },
};

static void test_rewrites(void **state)
{
	static uint8_t f[FRAME_MAX], g[FRAME_MAX];

	for (size_t i = 0; i < NROWS(rewrite_rows); i++) {
		const struct rewrite_row *r = &rewrite_rows[i];
		struct pkt p, q;
		size_t len = build(r->build, f);

		if (r->patch)
			apply_patch(r->patch, f, len);
		parse_ok(&p, f, len);
		uint16_t sport = p.sport, dport = p.dport;
		bool l4csum0 = p.proto == 17 && f[40] == 0 && f[41] == 0;

		pkt_set_src(&p, 0xc0000201, 40001);   /* 192.0.2.1 */
		pkt_set_dst(&p, 0xc6336402, 8443);    /* 198.51.100.2 */
		pkt_set_ttl(&p, 17);
		pkt_set_dscp(&p, 46);
		assert_true(pkt_checksums_ok(&p));

		/* A full recompute gives the same bytes. */
		memcpy(g, f, len);
		q = p;
		q.data = g;
		pkt_fix_checksums(&q);
		if (memcmp(f, g, len) != 0)
			fail_msg("%s: incremental checksums differ from a recompute", r->build);
		if (l4csum0)
			assert_true(f[40] == 0 && f[41] == 0);

		/* The rewritten packet reads back as what was set. */
		parse_ok(&q, f, len);
		assert_int_equal(q.ttl, 17);
		assert_int_equal(q.dscp, 46);
		if (!r->v6) {
			assert_int_equal(q.src.v4, 0xc0000201);
			assert_int_equal(q.dst.v4, 0xc6336402);
			assert_int_equal(p.src.v4, 0xc0000201);
		}
		/* ICMP queries: the id is both "ports", the last write wins. */
		bool ports = !r->v6 && (q.proto == 6 || q.proto == 17 || q.proto == 1);
		assert_int_equal(q.sport, ports ? (q.proto == 1 ? 8443 : 40001) : sport);
		assert_int_equal(q.dport, ports ? 8443 : dport);
		assert_int_equal(q.sport, p.sport);
		assert_int_equal(q.dport, p.dport);
	}
}

/* A rewritten UDP checksum that comes out 0 is sent as 0xffff (0 = none). */
static void test_udp_checksum_never_zero(void **state)
{
	static uint8_t f[FRAME_MAX], g[FRAME_MAX];
	size_t len = build("udp 10.0.0.2:1000 > 1.2.3.4:53 len=6", f);
	int ffff = 0;

	for (uint32_t port = 0; port <= 0xffff; port++) {
		struct pkt p;
		memcpy(g, f, len);
		parse_ok(&p, g, len);
		pkt_set_src(&p, p.src.v4, (uint16_t)port);
		assert_false(g[40] == 0 && g[41] == 0);
		ffff += g[40] == 0xff && g[41] == 0xff;
		assert_true(pkt_checksums_ok(&p));
	}
	assert_int_equal(ffff, 1);
}

/* PKT_RX_L4_PARTIAL: a partial transport checksum is not verified (what
 * the field holds is not a checksum yet); the parse keeps the flag (both
 * parses) and the IPv4 header's checksum is checked as ever. */
static void test_rx_l4_csum(void **state)
{
	static uint8_t f[FRAME_MAX];
	const char *specs[] = { "tcp 10.0.0.2:1000 > 1.2.3.4:80 flags=A len=100",
				"udp 10.0.0.2:1000 > 1.2.3.4:53 len=40" };
	for (size_t k = 0; k < 2; k++) {
		size_t len = build(specs[k], f);
		uint32_t csum = 34 + (k == 0 ? 16 : 6);
		f[csum] ^= 0x5a; /* a wrong transport checksum */
		struct pkt p = { .data = f, .len = (uint32_t)len, .cap = FRAME_MAX };
		assert_int_equal(pkt_parse(&p, true, true), DR_BAD_L4_CSUM);
		p = (struct pkt){ .data = f, .len = (uint32_t)len, .cap = FRAME_MAX,
				  .rx_flags = PKT_RX_L4_PARTIAL };
		assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
		assert_int_equal(p.rx_flags, PKT_RX_L4_PARTIAL);
		p = (struct pkt){ .data = f, .len = (uint32_t)len, .cap = FRAME_MAX,
				  .rx_flags = PKT_RX_L4_PARTIAL };
		assert_true(pkt_parse_flow(&p));
		assert_int_equal(p.rx_flags, PKT_RX_L4_PARTIAL);
		assert_int_equal(pkt_check_csum(&p, DR_NONE), DR_NONE);
		f[24] ^= 0x01; /* the IPv4 header's own checksum is still checked */
		p = (struct pkt){ .data = f, .len = (uint32_t)len, .cap = FRAME_MAX,
				  .rx_flags = PKT_RX_L4_PARTIAL };
		assert_int_equal(pkt_parse(&p, true, true), DR_BAD_IPV4_CSUM);
	}
}

/* Makes the IPv4 TCP/UDP frame f (a full checksum) what a sender leaving
 * the checksum to a NIC puts on a veth: the field holds the pseudo-header's
 * sum. Gives the segment's offset, length and the field's offset. */
static void make_partial(uint8_t *f, uint32_t *l4, uint32_t *n, uint32_t *off)
{
	uint8_t ph[12];
	*l4 = 14 + (uint32_t)(f[14] & 0x0f) * 4;
	*n = (uint32_t)(f[16] << 8 | f[17]) - (*l4 - 14);
	*off = f[23] == 6 ? 16 : 6;
	memcpy(ph, f + 26, 8);
	ph[8] = 0, ph[9] = f[23];
	ph[10] = (uint8_t)(*n >> 8), ph[11] = (uint8_t)*n;
	uint16_t s = (uint16_t)~csum_buf(ph, 12, 0);
	memcpy(f + *l4 + *off, &s, 2);
}

/* What the NIC (or io_csum_complete) does with a partial frame. */
static void finish_partial(uint8_t *f, uint32_t l4, uint32_t n, uint32_t off)
{
	uint16_t c = csum_buf(f + l4, n, 0);
	if (c == 0 && off == 6)
		c = 0xffff;
	memcpy(f + l4 + off, &c, 2);
}

/*
 * PKT_RX_L4_PARTIAL: a frame whose transport checksum the sender left to a
 * NIC goes through NAT, MSS clamping, TTL and FastTrack's rewrite partial,
 * and once finished it is byte for byte the frame the same rewrites give
 * with a full checksum. Nothing is verified on it; a full recompute clears
 * the flag.
 */
static void test_rx_l4_partial(void **state)
{
	static const char *const rows[] = {
		"tcp 192.168.88.10:51515 > 1.2.3.4:443 flags=PA len=33",
		"tcp 10.1.2.3:1 > 10.3.2.1:65535 flags=S mss=1460 len=0",
		"udp 192.168.88.10:5060 > 1.2.3.4:5060 len=17",
		"udp 192.168.88.10:5060 > 1.2.3.4:5060 len=1200",
	};
	static uint8_t f[FRAME_MAX], a[FRAME_MAX], b[FRAME_MAX];
	uint32_t seed = 7;

	for (size_t i = 0; i < NROWS(rows); i++) {
		size_t len = build(rows[i], f);
		for (int k = 0; k < 500; k++) {
			uint32_t v[4];
			for (int j = 0; j < 4; j++) {
				seed = seed * 1103515245u + 12345u;
				v[j] = seed ^ (seed >> 15) * 2654435761u;
			}
			uint32_t l4, n, off;
			memcpy(a, f, len);
			memcpy(b, f, len);
			make_partial(b, &l4, &n, &off);
			b[l4 + 8] ^= 0x5a; /* not even the segment is checked */
			a[l4 + 8] ^= 0x5a;
			make_partial(a, &l4, &n, &off);
			finish_partial(a, l4, n, off); /* a's checksum, whole again */
			struct pkt p = { .data = a, .len = (uint32_t)len, .cap = FRAME_MAX };
			struct pkt q = { .data = b, .len = (uint32_t)len, .cap = FRAME_MAX,
					 .rx_flags = PKT_RX_L4_PARTIAL };
			assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
			assert_int_equal(pkt_parse(&q, true, true), DR_NONE);
			assert_int_equal(q.rx_flags, PKT_RX_L4_PARTIAL);
			assert_true(pkt_checksums_ok(&q));
			if (k % 2) {
				pkt_set_src(&p, v[0], (uint16_t)v[2]);
				pkt_set_src(&q, v[0], (uint16_t)v[2]);
				pkt_set_dst(&p, v[1], (uint16_t)(v[2] >> 16));
				pkt_set_dst(&q, v[1], (uint16_t)(v[2] >> 16));
				pkt_set_ttl(&p, (uint8_t)v[3]);
				pkt_set_ttl(&q, (uint8_t)v[3]);
				assert_int_equal(pkt_set_mss(&p, 1200), pkt_set_mss(&q, 1200));
			} else {
				pkt_forward4(&p, v[0], (uint16_t)v[2], v[1], (uint16_t)(v[2] >> 16),
					     (uint8_t)v[3]);
				pkt_forward4(&q, v[0], (uint16_t)v[2], v[1], (uint16_t)(v[2] >> 16),
					     (uint8_t)v[3]);
			}
			finish_partial(b, l4, n, off);
			if (memcmp(a, b, len) != 0)
				fail_msg("%s, rewrite %d: the finished partial frame differs", rows[i], k);
		}
		/* a full recompute makes the checksum whole and says so */
		memcpy(b, f, len);
		uint32_t l4, n, off;
		make_partial(b, &l4, &n, &off);
		struct pkt q = { .data = b, .len = (uint32_t)len, .cap = FRAME_MAX,
				 .rx_flags = PKT_RX_L4_PARTIAL };
		assert_int_equal(pkt_parse(&q, true, true), DR_NONE);
		pkt_fix_checksums(&q);
		assert_int_equal(q.rx_flags, 0);
		assert_memory_equal(b, f, len);
	}
}

/*
 * pkt_forward4, FastTrack's rewrite of addresses, ports and TTL at once:
 * for TCP and UDP frames (a UDP one without checksum) and 2,000 random
 * rewrites each, the frame must be byte for byte what a full recompute
 * gives, and read back as what was set; a UDP checksum without one stays
 * without; a computed UDP checksum of 0 is sent as 0xffff, exactly once
 * over every source port.
 */
static void test_forward4(void **state)
{
	static const char *const rows[] = {
		"tcp 192.168.88.10:51515 > 1.2.3.4:443 flags=PA len=33",
		"tcp 10.1.2.3:1 > 10.3.2.1:65535 flags=A mss=1400 len=1",
		"udp 192.168.88.10:5060 > 1.2.3.4:5060 len=17",
		"udp 192.168.88.10:5060 > 1.2.3.4:5060 len=18 ttl=2",
		"udp 192.168.88.10:5060 > 1.2.3.4:5060 len=17 / no checksum",
	};
	static uint8_t f[FRAME_MAX], g[FRAME_MAX];
	uint32_t seed = 99;

	for (size_t i = 0; i < NROWS(rows); i++) {
		char desc[120];
		snprintf(desc, sizeof(desc), "%s", rows[i]);
		char *slash = strstr(desc, " / ");
		if (slash)
			*slash = 0;
		size_t len = build(desc, f);
		if (slash)
			f[40] = f[41] = 0;
		for (int k = 0; k < 2000; k++) {
			struct pkt p, q;
			uint32_t v[4];
			for (int j = 0; j < 4; j++) {
				seed = seed * 1103515245u + 12345u;
				v[j] = seed ^ (seed >> 15) * 2654435761u;
			}
			memcpy(g, f, len);
			memset(&p, 0, sizeof(p));
			p.data = g;
			p.len = (uint32_t)len;
			p.cap = FRAME_MAX;
			assert_true(pkt_parse_flow(&p));
			uint8_t ttl = (uint8_t)(v[3] >> 8);
			pkt_forward4(&p, v[0], (uint16_t)v[2], v[1], (uint16_t)(v[2] >> 16), ttl);
			if (slash) {
				assert_true(g[40] == 0 && g[41] == 0);
				g[40] = 0x12; /* recomputed below; compare the rest */
			}
			static uint8_t h[FRAME_MAX];
			memcpy(h, g, len);
			q = p;
			q.data = h;
			pkt_fix_checksums(&q);
			if (slash)
				g[40] = h[40], g[41] = h[41];
			if (memcmp(g, h, len) != 0)
				fail_msg("%s, rewrite %d: incremental checksums differ from a recompute",
					 rows[i], k);
			parse_ok(&q, g, len);
			assert_int_equal(q.src.v4, v[0]);
			assert_int_equal(q.dst.v4, v[1]);
			assert_int_equal(q.sport, (uint16_t)v[2]);
			assert_int_equal(q.dport, (uint16_t)(v[2] >> 16));
			assert_int_equal(q.ttl, ttl);
			assert_int_equal(p.src.v4, v[0]);
			assert_int_equal(p.ttl, ttl);
		}
	}

	size_t len = build("udp 10.0.0.2:1000 > 1.2.3.4:53 len=6", f);
	int ffff = 0;
	for (uint32_t port = 0; port <= 0xffff; port++) {
		struct pkt p = { .data = g, .len = (uint32_t)len, .cap = FRAME_MAX };
		memcpy(g, f, len);
		assert_true(pkt_parse_flow(&p));
		pkt_forward4(&p, p.src.v4, (uint16_t)port, p.dst.v4, p.dport, p.ttl);
		assert_false(g[40] == 0 && g[41] == 0);
		ffff += g[40] == 0xff && g[41] == 0xff;
		assert_true(pkt_checksums_ok(&p));
	}
	assert_int_equal(ffff, 1);
}

/*
 * Checks the embedded IPv4 header checksum and, when the quoted packet is
 * complete, its transport checksum.
 */
static void check_embedded(const struct pkt *p)
{
	const uint8_t *ip = p->data + p->inner.l3_off;
	uint8_t pseudo[12];
	uint16_t tot = (uint16_t)(ip[2] << 8 | ip[3]), l4len = (uint16_t)(tot - 20), s = 0;

	assert_int_equal(csum_buf(ip, 20, 0), 0);
	if (p->inner.l3_off + tot > p->l4_off + p->l4_len)
		return;
	if (ip[9] != 1) {
		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0, pseudo[9] = ip[9];
		pseudo[10] = (uint8_t)(l4len >> 8), pseudo[11] = (uint8_t)l4len;
		s = (uint16_t)~csum_buf(pseudo, 12, 0);
	}
	assert_int_equal(csum_buf(p->data + p->inner.l4_off, l4len, s), 0);
}

static void test_icmp_error_inner_rewrite(void **state)
{
	static const char *const descs[] = {
		"icmp 198.51.100.9 > 192.0.2.1 type=3 code=3 (udp 192.0.2.1:40001 > 1.2.3.4:53 len=9)",
		"icmp 198.51.100.9 > 192.0.2.1 type=11 (tcp 192.0.2.1:40001 > 1.2.3.4:443 flags=S)",
		"icmp 198.51.100.9 > 192.0.2.1 type=11 (tcp 192.0.2.1:40001 > 1.2.3.4:443) len=28",
		"icmp 198.51.100.9 > 192.0.2.1 type=11 (icmp 192.0.2.1 > 1.2.3.4 id=40001)",
	};
	static uint8_t f[FRAME_MAX], g[FRAME_MAX];

	for (size_t i = 0; i < NROWS(descs); i++) {
		struct pkt p, q;
		size_t len = build(descs[i], f);

		parse_ok(&p, f, len);
		assert_true(p.flags & PKT_F_ICMP_ERR);
		assert_int_equal(p.inner.sport, 40001);
		check_embedded(&p);

		/* Un-NAT a related error: 192.0.2.1:40001 was 10.0.0.2:5555. */
		pkt_set_inner_src(&p, 0x0a000002, 5555);
		pkt_set_dst(&p, 0x0a000002, 0);
		pkt_set_ttl(&p, 63);
		assert_true(pkt_checksums_ok(&p));
		check_embedded(&p);
		assert_int_equal(p.inner.src.v4, 0x0a000002);
		assert_int_equal(p.inner.sport, 5555);

		memcpy(g, f, len);
		q = p;
		q.data = g;
		pkt_fix_checksums(&q);
		assert_memory_equal(f, g, len);

		parse_ok(&q, f, len);
		assert_true(q.flags & PKT_F_ICMP_ERR);
		assert_int_equal(q.inner.src.v4, 0x0a000002);
		assert_int_equal(q.inner.sport, 5555);
		assert_int_equal(q.inner.dport, p.inner.dport);
		assert_int_equal(q.dst.v4, 0x0a000002);

		/* And the destination side of the quoted packet. */
		pkt_set_inner_dst(&q, 0x08080808, 5353);
		assert_true(pkt_checksums_ok(&q));
		check_embedded(&q);
		parse_ok(&p, f, len);
		assert_int_equal(p.inner.dst.v4, 0x08080808);
		assert_int_equal(p.inner.dport, 5353);
	}
}

static void test_set_ipv6_ttl_dscp(void **state)
{
	static uint8_t f[FRAME_MAX];
	struct pkt p;
	size_t len = build("udp [2001:db8::1]:1 > [2001:db8::2]:2 dscp=10 ecn=2 ttl=9", f);

	parse_ok(&p, f, len);
	assert_int_equal(p.dscp, 10);
	assert_int_equal(p.ecn, 2);
	pkt_set_ttl(&p, 200);
	pkt_set_dscp(&p, 63);
	parse_ok(&p, f, len);
	assert_int_equal(p.ttl, 200);
	assert_int_equal(p.dscp, 63);
	assert_int_equal(p.ecn, 2);
	assert_int_equal(f[14] >> 4, 6);
	/* No address rewrite for IPv6 through the IPv4 interface. */
	pkt_set_src(&p, 1, 1);
	parse_ok(&p, f, len);
	assert_int_equal(p.sport, 1);
	assert_int_equal(p.src.v6[0], 0x20);
}

/*
 * IPv6 with a routing header: the transport checksum's pseudo-header
 * carries the final destination when segments are left (RFC 8200 8.1),
 * the destination field otherwise. Each row is a routing header (its
 * bytes after segments left, in hex) and the final destination the test
 * expects; NULL where the engine cannot know it (a type whose layout it
 * does not read, a header that contradicts its type): then the checksum
 * is neither called bad nor rewritten. The checksums the rows are checked
 * against are summed here, byte by byte over a pseudo-header laid out by
 * hand, not by the engine's code.
 */
#define RT_SRC "2001:db8::1"
#define RT_DST "2001:db8:ffff::1" /* the destination field: the next hop */
#define DB8(x) "20010db8000000000000000000000" x /* 2001:db8::x, x 3 hex digits */

struct rt_row {
	const char *name;
	uint8_t type, left;
	const char *body;  /* after segments left; the header's length follows */
	const char *final; /* NULL: cannot be known */
};

static const struct rt_row rt_rows[] = {
	{ "type 0, two addresses, both left", 0, 2, "00000000" DB8("a01") DB8("a02"),
	  "2001:db8::a02" },
	{ "type 0, one of two left", 0, 1, "00000000" DB8("a01") DB8("a02"), "2001:db8::a02" },
	{ "type 0, none left", 0, 0, "00000000" DB8("a01") DB8("a02"), RT_DST },
	{ "type 0, more left than addresses", 0, 3, "00000000" DB8("a01") DB8("a02"), NULL },
	{ "type 2, the home address", 2, 1, "00000000" DB8("b01"), "2001:db8::b01" },
	{ "type 2, done", 2, 0, "00000000" DB8("b01"), RT_DST },
	{ "type 2 with two addresses", 2, 1, "00000000" DB8("b01") DB8("b02"), NULL },
	/* RPL: CmprI 12, CmprE 10, 2 bytes of padding: 4 + 4 + 6 address bytes;
	 * the elided 10 bytes are the destination field's 2001:db8:ffff:0:0 */
	{ "type 3, compressed", 3, 3, "ca200000" "0000a001" "0000a002" "00000000a003" "0000",
	  "2001:db8:ffff::a003" },
	{ "type 3, none elided", 3, 1, "00000000" DB8("c01"), "2001:db8::c01" },
	{ "type 3, padding past the header", 3, 1, "00f00000" DB8("c01"), NULL },
	{ "type 3, addresses that do not fit", 3, 1,
	  "ca000000" "0000a001" "0000a002" "00000000" "0000a003", NULL },
	/* SRH: last entry 2; Segment List[0], the final segment, comes first */
	{ "type 4, three segments", 4, 2, "02000000" DB8("d03") DB8("d02") DB8("d01"),
	  "2001:db8::d03" },
	{ "type 4, the last segment", 4, 1, "02000000" DB8("d03") DB8("d02") DB8("d01"),
	  "2001:db8::d03" },
	{ "type 4, none left", 4, 0, "02000000" DB8("d03") DB8("d02") DB8("d01"), RT_DST },
	{ "type 4, last entry past the list", 4, 1, "03000000" DB8("d03") DB8("d02") DB8("d01"),
	  NULL },
	{ "type 4, more left than segments", 4, 4, "02000000" DB8("d03") DB8("d02") DB8("d01"),
	  NULL },
	{ "type 253, experimental", 253, 1, "00000000" DB8("e01"), NULL },
	{ "type 253, none left", 253, 0, "00000000" DB8("e01"), RT_DST },
};

/* RFC 1071 over a pseudo-header laid out by hand and the segment. */
static uint16_t rt_ref_csum(const uint8_t *src, const uint8_t *dst, uint8_t proto,
			    const uint8_t *seg, size_t n)
{
	uint8_t b[40 + 512];
	assert_true(n <= 512);
	memcpy(b, src, 16);
	memcpy(b + 16, dst, 16);
	b[32] = 0, b[33] = 0, b[34] = (uint8_t)(n >> 8), b[35] = (uint8_t)n;
	b[36] = 0, b[37] = 0, b[38] = 0, b[39] = proto;
	memcpy(b + 40, seg, n);
	uint32_t s = 0;
	for (size_t i = 0; i < 40 + n; i += 2)
		s += (uint32_t)b[i] << 8 | (i + 1 < 40 + n ? b[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	uint16_t c = (uint16_t)~s;
	return proto == 17 && c == 0 ? 0xffff : c;
}

/* The row's packet (no L2) carrying proto with 13 bytes of payload; its
 * transport checksum field is at *csum. */
static size_t rt_packet(const struct rt_row *r, uint8_t proto, uint8_t *f, size_t *csum)
{
	uint8_t body[256];
	size_t nb = hex_bytes(r->body, body, sizeof(body));
	size_t hl = 4 + nb, l4 = 40 + hl;
	assert_true(hl % 8 == 0);
	memset(f, 0, FRAME_MAX);
	f[0] = 0x60;
	f[6] = 43;
	f[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, RT_SRC, f + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, RT_DST, f + 24), 1);
	f[40] = proto;
	f[41] = (uint8_t)(hl / 8 - 1);
	f[42] = r->type;
	f[43] = r->left;
	memcpy(f + 44, body, nb);
	size_t th = proto == 6 ? 20 : 8, n = th + 13;
	uint8_t *s = f + l4;
	s[0] = 0x9c, s[1] = 0x41, s[2] = 0x01, s[3] = 0xbb; /* ports, or ICMPv6 echo */
	if (proto == 58)
		s[0] = 128, s[1] = 0;
	if (proto == 17)
		s[4] = 0, s[5] = (uint8_t)n;
	if (proto == 6)
		s[12] = 0x50, s[13] = 0x18;
	for (size_t i = th; i < n; i++)
		s[i] = (uint8_t)(i * 37 + 5);
	f[4] = (uint8_t)((hl + n) >> 8), f[5] = (uint8_t)(hl + n);
	*csum = l4 + (proto == 6 ? 16 : proto == 17 ? 6 : 2);
	f[*csum] = f[*csum + 1] = 0;
	return l4 + n;
}

static void test_v6_routing_csum(void **state)
{
	static const uint8_t protos[] = { 17, 6, 58 };
	static uint8_t f[FRAME_MAX];
	uint8_t src[16], field[16], fin[16];
	assert_int_equal(inet_pton(AF_INET6, RT_SRC, src), 1);
	assert_int_equal(inet_pton(AF_INET6, RT_DST, field), 1);

	for (size_t i = 0; i < NROWS(rt_rows); i++) {
		const struct rt_row *r = &rt_rows[i];
		if (r->final)
			assert_int_equal(inet_pton(AF_INET6, r->final, fin), 1);
		for (size_t k = 0; k < NROWS(protos); k++) {
			size_t c;
			size_t len = rt_packet(r, protos[k], f, &c);
			size_t l4 = len - (protos[k] == 6 ? 33 : 21);
			struct pkt p;
			/* over the destination field: right when nothing is left,
			 * wrong when the path goes on, unknown where the final
			 * destination cannot be read */
			uint16_t by_field = rt_ref_csum(src, field, protos[k], f + l4, len - l4);
			f[c] = (uint8_t)(by_field >> 8), f[c + 1] = (uint8_t)by_field;
			p = (struct pkt){ .data = f, .len = (uint32_t)len, .cap = FRAME_MAX };
			enum drop_reason want = r->final && memcmp(fin, field, 16)
						? DR_BAD_L4_CSUM : DR_NONE;
			if (pkt_parse(&p, false, true) != want)
				fail_msg("%s, proto %u: checksum over the destination field: %s",
					 r->name, protos[k], pkt_reason_name(pkt_parse(&p, false, true)));
			assert_int_equal(!!(p.flags & PKT_F_RT_LEFT), r->left > 0);
			if (!r->final) {
				/* not the engine's to judge or to rewrite */
				f[c] ^= 0x5a;
				p = (struct pkt){ .data = f, .len = (uint32_t)len, .cap = FRAME_MAX };
				assert_int_equal(pkt_parse(&p, false, true), DR_NONE);
				assert_true(pkt_checksums_ok(&p));
				uint8_t before[FRAME_MAX];
				memcpy(before, f, len);
				pkt_fix_checksums(&p);
				assert_memory_equal(f, before, len);
				continue;
			}
			/* over the final destination: verifies; one bit off does not */
			f[c] = f[c + 1] = 0;
			uint16_t want_c = rt_ref_csum(src, fin, protos[k], f + l4, len - l4);
			f[c] = (uint8_t)(want_c >> 8), f[c + 1] = (uint8_t)want_c;
			p = (struct pkt){ .data = f, .len = (uint32_t)len, .cap = FRAME_MAX };
			if (pkt_parse(&p, false, true) != DR_NONE)
				fail_msg("%s, proto %u: checksum over the final destination: %s",
					 r->name, protos[k], pkt_reason_name(pkt_parse(&p, false, true)));
			assert_true(pkt_checksums_ok(&p));
			f[len - 1] ^= 0x01;
			p = (struct pkt){ .data = f, .len = (uint32_t)len, .cap = FRAME_MAX };
			assert_int_equal(pkt_parse(&p, false, true), DR_BAD_L4_CSUM);
			assert_false(pkt_checksums_ok(&p));
			/* a full recompute gives the same bytes */
			f[len - 1] ^= 0x01;
			f[c] = 0x12, f[c + 1] = 0x34;
			p = (struct pkt){ .data = f, .len = (uint32_t)len, .cap = FRAME_MAX };
			assert_int_equal(pkt_parse(&p, false, false), DR_NONE);
			pkt_fix_checksums(&p);
			assert_int_equal(f[c] << 8 | f[c + 1], want_c);
		}
	}
}

/* ---- builder ---- */

struct build_err_row {
	const char *desc;
	const char *msg; /* substring of the error */
};

static const struct build_err_row build_err_rows[] = {
	{ "udp 1.2.3:5 > 1.2.3.4:6", "bad address '1.2.3' in 'udp 1.2.3:5 > ...'" },
	{ "tcp 1.2.3.4:70000 > 1.2.3.4:6", "bad port '70000'" },
	{ "tcp 1.2.3.4 > 1.2.3.4:6", "missing port '1.2.3.4'" },
	{ "icmp 1.2.3.4:5 > 1.2.3.4", "no port allowed for this protocol '1.2.3.4:5'" },
	{ "sctp 1.2.3.4:5 > 1.2.3.4:6", "unknown protocol 'sctp'" },
	{ "proto=256 1.1.1.1 > 2.2.2.2", "bad protocol 'proto=256'" },
	{ "tcp 1.2.3.4:5 1.2.3.4:6", "expected '>'" },
	{ "tcp 1.2.3.4:5 >", "missing destination" },
	{ "", "empty packet description" },
	{ "udp 1.2.3.4:5 > [::1]:6", "address family differs" },
	{ "icmp [::1] > [::2]", "icmp needs an IPv4 address" },
	{ "icmp6 1.1.1.1 > 2.2.2.2", "icmp6 needs an IPv6 address" },
	{ "udp [::1:5 > [::2]:6", "bad address '[::1:5'" },
	{ "udp [::1]5 > [::2]:6", "bad address '[::1]5'" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 flags=SX", "bad flags 'flags=SX'" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 flags=SS", "bad flags" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 ttl=256", "bad value 'ttl=256'" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 ttl=-1", "bad value 'ttl=-1'" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 ttl=1 ttl=2", "duplicate option 'ttl=2'" },
	{ "udp 1.2.3.4:5 > 1.2.3.4:6 flags=S", "option only for tcp 'flags=S'" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 type=3", "option only for icmp" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 colour=red", "unknown option 'colour=red'" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 bogus", "unexpected 'bogus'" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 src-mac=02:00:00:00:00", "bad mac address" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 vlan=4095", "bad value 'vlan=4095'" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 svlan=5", "svlan= needs vlan=" },
	{ "udp [::1]:5 > [::2]:6 df=yes", "no DF flag in IPv6" },
	{ "udp 1.1.1.1:5 > 2.2.2.2:6 frag-off=7", "not a multiple of 8" },
	{ "udp 1.1.1.1:5 > 2.2.2.2:6 len=65535", "packet too long" },
	{ "udp 1.1.1.1:5 > 2.2.2.2:6 len=2000", "does not fit" },
	{ "icmp 1.1.1.1 > 2.2.2.2 (udp 2.2.2.2:1 > 3.3.3.3:2)", "needs an icmp error type" },
	{ "icmp 1.1.1.1 > 2.2.2.2 type=3 (udp 2.2.2.2:1 > 3.3.3.3:2", "unclosed or nested '('" },
	{ "icmp 1.1.1.1 > 2.2.2.2 type=3 (udp 2.2.2.2:1 > [::1]:2)", "address family differs" },
	{ "icmp 1.1.1.1 > 2.2.2.2 type=3 (udp 2.2.2.2:1 > 3.3.3.3:2 vlan=4)", "no layer-2 option" },
	{ "icmp 1.1.1.1 > 2.2.2.2 type=3 (udp [::2]:1 > [::3]:2)", "another address family" },
	{ "icmp 1.1.1.1 > 2.2.2.2 type=3 (udp 2.2.2.2:1 > 3.3.3.3:2) len=29", "exceeds the embedded" },
	{ "tcp 1.2.3.4:5 > 1.2.3.4:6 seq=4294967296", "bad value 'seq=4294967296'" },
};

static void test_build_errors(void **state)
{
	uint8_t f[FRAME_MAX];
	int fails = 0;

	for (size_t i = 0; i < NROWS(build_err_rows); i++) {
		struct err e;
		err_clear(&e);
		size_t cap = strstr(build_err_rows[i].desc, "len=2000") ? 1600 : sizeof(f);
		int n = pkt_build(build_err_rows[i].desc, f, cap, &e);
		if (n >= 0 || !strstr(e.msg, build_err_rows[i].msg)) {
			print_error("'%s': got %d '%s', want '%s'\n", build_err_rows[i].desc, n, e.msg,
				    build_err_rows[i].msg);
			fails++;
		}
	}
	assert_int_equal(fails, 0);
}

static void test_build_defaults(void **state)
{
	uint8_t f[FRAME_MAX];
	struct pkt p;
	size_t len = build("tcp 192.168.88.10:51515 > 1.2.3.4:443", f);

	assert_int_equal(len, 54);
	parse_ok(&p, f, len);
	static const uint8_t smac[6] = { 2, 0, 0, 0, 0, 1 }, dmac[6] = { 2, 0, 0, 0, 0, 2 };
	assert_memory_equal(p.src_mac, smac, 6);
	assert_memory_equal(p.dst_mac, dmac, 6);
	assert_int_equal(p.tcp_flags, TCPF_SYN);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.win, 65535);
	assert_int_equal(p.seq, 1000);
	assert_int_equal(p.ack, 0);
	assert_int_equal(p.ip_id, 1);
	assert_false(p.flags & PKT_F_DF);

	len = build("tcp 1.1.1.1:1 > 2.2.2.2:2 flags=A src-mac=aa:bb:cc:dd:ee:ff "
		    "dst-mac=00:11:22:33:44:55   len=3", f);
	parse_ok(&p, f, len);
	assert_int_equal(p.ack, 1);
	assert_int_equal(p.src_mac[0], 0xaa);
	assert_int_equal(p.dst_mac[5], 0x55);
	assert_int_equal(p.payload_len, 3);
	for (size_t i = p.payload_off; i < len; i++)
		assert_int_equal(f[i], 0);

	/* '>' needs no spaces around it. */
	len = build("udp 1.1.1.1:1>2.2.2.2:2", f);
	parse_ok(&p, f, len);
	assert_int_equal(p.dport, 2);
	len = build("proto=6 [::1] > ::2 len=20", f);
	memset(&p, 0, sizeof(p));
	p.data = f;
	p.len = (uint32_t)len;
	assert_int_equal(pkt_parse(&p, true, false), DR_BAD_TCP_DOFF);
}

static void test_reason_names(void **state)
{
	for (int i = 0; i < DR_MAX; i++) {
		const char *n = pkt_reason_name((enum drop_reason)i);
		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, pkt_reason_name((enum drop_reason)j));
	}
	assert_string_equal(pkt_reason_name(DR_TRUNC_L2), "truncated-l2");
	assert_string_equal(pkt_reason_name(DR_BAD_IPV4_CSUM), "bad-ipv4-checksum");
	assert_string_equal(pkt_reason_name(DR_FILTER), "filter-drop");
	assert_string_equal(pkt_reason_name(DR_NO_ROUTE), "no-route");
	assert_string_equal(pkt_reason_name(DR_MAX), "unknown");
	assert_string_equal(pkt_reason_name((enum drop_reason)-1), "unknown");
}

static void test_describe_small_buffer(void **state)
{
	uint8_t f[FRAME_MAX];
	struct pkt p;
	char d[8];
	size_t len = build("tcp 10.0.0.2:51515 > 1.2.3.4:443 flags=SAFRPUEC", f);

	parse_ok(&p, f, len);
	memset(d, 'x', sizeof(d));
	pkt_describe(&p, d, sizeof(d));
	assert_string_equal(d, "proto T");
	char full[128];
	pkt_describe(&p, full, sizeof(full));
	assert_string_equal(full, "proto TCP (SYN,RST,ACK,FIN,PSH,URG,ECE,CWR), "
				  "10.0.0.2:51515->1.2.3.4:443, len 40");
}

/* ---- pkt_parse_flow: the parse of FastTrack's candidates ---- */

/*
 * The flow parse of a frame against pkt_parse: declined, the descriptor
 * must be as it was (garbage included); taken, pkt_parse without checksums
 * must accept the frame and make exactly the same descriptor of it.
 * Returns the number of failures; *taken says which it was.
 */
static int flow_check(const char *name, uint8_t *f, size_t len, bool *taken)
{
	struct pkt a, b, before;

	memset(&a, 0x5a, sizeof(a));
	a.data = f;
	a.len = (uint32_t)len;
	a.cap = FRAME_MAX;
	a.ts = 77;
	before = a;
	*taken = pkt_parse_flow(&a);
	if (!*taken) {
		if (memcmp(&a, &before, sizeof(a)) != 0) {
			print_error("%s: declined, but the descriptor changed\n", name);
			return 1;
		}
		return 0;
	}
	memset(&b, 0x5a, sizeof(b));
	b.data = f;
	b.len = (uint32_t)len;
	b.cap = FRAME_MAX;
	b.ts = 77;
	enum drop_reason r = pkt_parse(&b, true, false);
	if (r != DR_NONE) {
		print_error("%s: taken, but pkt_parse says %s\n", name, pkt_reason_name(r));
		return 1;
	}
	if (memcmp(&a, &b, sizeof(a)) != 0) {
		for (size_t i = 0; i < sizeof(a); i++)
			if (((uint8_t *)&a)[i] != ((uint8_t *)&b)[i]) {
				print_error("%s: descriptor differs from pkt_parse's at byte %zu\n",
					    name, i);
				break;
			}
		return 1;
	}
	return 0;
}

struct flow_row {
	const char *name;
	const char *build;
	const char *patch;
	bool fix_ip;
	int cut;
	int pad;
	bool taken;
};

static const struct flow_row flow_rows[] = {
	{ .name = "udp", .build = "udp 10.0.0.2:5060 > 1.2.3.4:5060 len=200", .taken = true },
	{ .name = "udp, 64-byte frame", .build = "udp 192.168.88.2:10000 > 198.51.100.1:53 len=18",
	  .taken = true },
	{ .name = "udp in a padded frame", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 len=2", .pad = 60,
	  .taken = true },
	{ .name = "udp shorter than its ip payload", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 len=20",
	  .patch = "38:000c", .taken = true },
	{ .name = "udp without checksum", .build = "udp 10.0.0.2:53 > 1.2.3.4:53 len=4",
	  .patch = "40:0000", .taken = true },
	{ .name = "udp, dscp, ecn, df, ip id",
	  .build = "udp 10.0.0.2:1 > 1.2.3.4:2 dscp=46 ecn=2 df=yes ip-id=4242", .taken = true },
	{ .name = "udp, the reserved fragment bit", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "20:80", .fix_ip = true, .taken = true },
	{ .name = "udp, ttl 1 (the engine's test, not the parse's)",
	  .build = "udp 10.0.0.2:1 > 1.2.3.4:2 ttl=1", .taken = true },
	{ .name = "udp, bad ip checksum (checked on the cache's path)",
	  .build = "udp 10.0.0.2:1 > 1.2.3.4:2", .patch = "24:0000", .taken = true },
	{ .name = "udp, bad udp checksum (not checked there)",
	  .build = "udp 10.0.0.2:1 > 1.2.3.4:2 len=1", .patch = "42:ff", .taken = true },
	{ .name = "udp length below its header", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "38:0007" },
	{ .name = "udp length beyond the ip payload", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 len=4",
	  .patch = "38:000d" },
	{ .name = "udp header cut", .build = "proto=17 10.0.0.2 > 1.2.3.4 len=7" },
	{ .name = "tcp ack", .build = "tcp 10.0.0.2:40000 > 1.2.3.4:80 flags=A seq=7 ack=9 win=512",
	  .taken = true },
	{ .name = "tcp psh ack with payload", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=PA len=100",
	  .taken = true },
	{ .name = "tcp ack with options",
	  .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=A mss=1460 wscale=7 sack-perm=yes",
	  .taken = true },
	{ .name = "tcp ack, urg ece cwr", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=AUEC",
	  .taken = true },
	{ .name = "tcp ack, malformed option", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=A mss=1400",
	  .patch = "55:09", .taken = true },
	{ .name = "tcp syn", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=S" },
	{ .name = "tcp syn ack", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=SA" },
	{ .name = "tcp fin ack", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=FA" },
	{ .name = "tcp rst ack", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=RA" },
	{ .name = "tcp rst", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=R" },
	{ .name = "tcp psh without ack", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=P" },
	{ .name = "tcp without flags", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=A",
	  .patch = "47:00" },
	{ .name = "tcp data offset 4", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=A",
	  .patch = "46:40" },
	{ .name = "tcp data offset beyond the segment",
	  .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=A len=3", .patch = "46:60" },
	{ .name = "tcp header cut", .build = "proto=6 10.0.0.2 > 1.2.3.4 len=19" },
	{ .name = "ipv4 options", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "14:46" },
	{ .name = "first fragment", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 mf=yes len=16" },
	{ .name = "later fragment", .build = "tcp 10.0.0.2:1 > 1.2.3.4:2 flags=A frag-off=8" },
	{ .name = "ip total length beyond the frame", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "16:001d", .fix_ip = true },
	{ .name = "ip total length below header and udp", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "16:001b", .fix_ip = true },
	{ .name = "ipv4 ethertype, version 6", .build = "udp 10.0.0.2:1 > 1.2.3.4:2",
	  .patch = "14:65" },
	{ .name = "frame cut in the udp header", .build = "udp 10.0.0.2:1 > 1.2.3.4:2", .cut = 41 },
	{ .name = "vlan", .build = "udp 10.0.0.2:1 > 1.2.3.4:2 vlan=10" },
	{ .name = "icmp", .build = "icmp 10.0.0.2 > 1.2.3.4 type=8 id=1" },
	{ .name = "gre", .build = "proto=47 10.0.0.1 > 10.0.0.2 len=8" },
	{ .name = "udp over ipv6", .build = "udp [2001:db8::1]:1 > [2001:db8::2]:2" },
	{ .name = "tcp ack over ipv6", .build = "tcp [2001:db8::1]:1 > [2001:db8::2]:2 flags=A" },
};

static size_t make_flow_frame(const struct flow_row *r, uint8_t *f)
{
	struct row pr = { .name = r->name, .build = r->build, .patch = r->patch,
			  .fix_ip = r->fix_ip, .cut = r->cut, .pad = r->pad };
	return make_frame(&pr, f);
}

/* Each row taken or declined as it says, and in agreement with pkt_parse;
 * so is every frame of the parse rows, and every prefix of the rows'
 * frames. */
static void test_parse_flow_rows(void **state)
{
	static uint8_t f[FRAME_MAX];
	int fails = 0;
	bool taken;

	for (size_t i = 0; i < NROWS(flow_rows); i++) {
		const struct flow_row *r = &flow_rows[i];
		size_t len = make_flow_frame(r, f);
		fails += flow_check(r->name, f, len, &taken);
		if (taken != r->taken) {
			print_error("%s: %s, want %s\n", r->name, taken ? "taken" : "declined",
				    r->taken ? "taken" : "declined");
			fails++;
		}
		for (size_t n = 0; n < len; n++)
			fails += flow_check(r->name, f, n, &taken);
	}
	for (size_t i = 0; i < NROWS(parse_rows); i++) {
		const struct row *r = &parse_rows[i];
		if (r->l3 || r->ext6)
			continue;
		size_t len = make_frame(r, f);
		fails += flow_check(r->name, f, len, &taken);
	}
	assert_int_equal(fails, 0);
}

/* Random damage to the taken rows' frames (a few bytes of the headers, or
 * the length): whatever the flow parse takes, pkt_parse agrees with. */
static void test_parse_flow_mutations(void **state)
{
	static uint8_t f[FRAME_MAX];
	uint32_t seed = 12345;
	int fails = 0, ntaken = 0, ndeclined = 0;
	char name[160];

	for (int it = 0; it < 200000 && fails < 5; it++) {
		const struct flow_row *r = &flow_rows[it % NROWS(flow_rows)];
		if (!r->taken)
			continue;
		size_t len = make_flow_frame(r, f);
		seed = seed * 1103515245u + 12345u;
		int nflip = 1 + (int)((seed >> 16) % 3);
		for (int k = 0; k < nflip; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % (len < 64 ? len : 64);
			f[at] = (uint8_t)(seed >> 24);
		}
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 8 == 0)
			len = (seed >> 4) % (len + 1);
		bool taken;
		snprintf(name, sizeof(name), "%s, mutation %d", r->name, it);
		fails += flow_check(name, f, len, &taken);
		ntaken += taken;
		ndeclined += !taken;
	}
	assert_int_equal(fails, 0);
	/* the mutations reach both sides of the class */
	assert_true(ntaken > 1000);
	assert_true(ndeclined > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rows),
		cmocka_unit_test(test_parse_prefixes),
		cmocka_unit_test(test_parse_flow_rows),
		cmocka_unit_test(test_parse_flow_mutations),
		cmocka_unit_test(test_csum_helpers),
		cmocka_unit_test(test_rewrites),
		cmocka_unit_test(test_change_mss),
		cmocka_unit_test(test_clear_df),
		cmocka_unit_test(test_udp_checksum_never_zero),
		cmocka_unit_test(test_rx_l4_csum),
		cmocka_unit_test(test_rx_l4_partial),
		cmocka_unit_test(test_forward4),
		cmocka_unit_test(test_icmp_error_inner_rewrite),
		cmocka_unit_test(test_set_ipv6_ttl_dscp),
		cmocka_unit_test(test_v6_routing_csum),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_build_defaults),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_describe_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
