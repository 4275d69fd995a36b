/*
 * gro: which segments merge and which do not (table-driven, one change
 * from a segment that merges per row), what the merged frame carries, and
 * that the cut gives back the segments byte for byte, IPv4 and IPv6, with
 * partial and whole checksums.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/pkt.h"
#include "io/gro.h"
#include "io/io.h"

#define MSS 1000u
#define OPT 12u /* NOP NOP timestamp */

struct spec {
	uint8_t family;
	uint32_t seq;
	uint16_t payload;
	uint16_t id;
	uint8_t flags;
	bool partial;
};

/* Ethernet, IPv4 (DF) or IPv6, TCP with a timestamp option, payload bytes
 * from the stream's offset (so a merged payload is checkable). */
static uint32_t seg(uint8_t *f, const struct spec *s)
{
	uint32_t l3 = 14, ipl = s->family == 4 ? 20 : 40, l4 = l3 + ipl, thl = 20 + OPT;
	uint32_t len = l4 + thl + s->payload;
	memset(f, 0, len);
	memcpy(f, (uint8_t[]){ 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 }, 12);
	uint8_t *ip = f + l3;
	if (s->family == 4) {
		f[12] = 0x08;
		ip[0] = 0x45;
		pkt_put16(ip + 2, (uint16_t)(len - l3));
		pkt_put16(ip + 4, s->id);
		ip[6] = 0x40;
		ip[8] = 63;
		ip[9] = 6;
		memcpy(ip + 12, (uint8_t[]){ 203, 0, 113, 1, 192, 168, 88, 10 }, 8);
		uint16_t c = csum_buf(ip, 20, 0);
		memcpy(ip + 10, &c, 2);
	} else {
		f[12] = 0x86, f[13] = 0xdd;
		ip[0] = 0x60;
		ip[2] = 0x12, ip[3] = 0x34; /* flow label */
		pkt_put16(ip + 4, (uint16_t)(len - l4));
		ip[6] = 6;
		ip[7] = 63;
		ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8, ip[23] = 1;
		ip[24] = 0x20, ip[25] = 0x01, ip[26] = 0x0d, ip[27] = 0xb8, ip[39] = 2;
	}
	uint8_t *th = f + l4;
	pkt_put16(th, 5201);
	pkt_put16(th + 2, 40000);
	pkt_put32(th + 4, s->seq);
	pkt_put32(th + 8, 777);
	th[12] = (uint8_t)(thl / 4) << 4;
	th[13] = s->flags;
	pkt_put16(th + 14, 512);
	memcpy(th + 20, (uint8_t[]){ 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8 }, OPT);
	for (uint32_t i = 0; i < s->payload; i++)
		th[thl + i] = (uint8_t)((s->seq + i) * 7 + 3);
	assert_true(io_csum_partial(f, len));
	if (!s->partial)
		assert_true(io_csum_complete(f, len));
	return len;
}

static struct spec base(uint8_t family, uint32_t k)
{
	return (struct spec){ family, 1000 + k * MSS, MSS, (uint16_t)(50 + k), TCPF_ACK, true };
}

/* Merges n segments (partial[i]: frame i's checksum is partial, NULL:
 * all are); returns how many joined the first. */
static unsigned merge(uint8_t (*f)[2048], const uint32_t *len, const bool *partial, size_t n,
		      struct gro_pkt *g, uint8_t *buf)
{
	struct gro_seg s;
	unsigned joined = 0;
	for (size_t i = 0; i < n; i++) {
		enum gro_kind k = gro_parse(f[i], len[i], partial ? partial[i] : true, &s);
		if (i == 0) {
			assert_int_equal(k, GRO_MERGEABLE);
			gro_start(g, &s);
			continue;
		}
		if (k != GRO_MERGEABLE || !gro_follows(g, &s))
			break;
		gro_add(g, &s, buf);
		joined++;
	}
	if (joined)
		gro_finish(g);
	return joined;
}

/* Each row: the second segment of a stream, changed in one way. */
static void test_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		int field; /* which change */
		bool merges;
	} t[] = {
		{ "as it is", 0, true },        { "seq gap", 1, false },
		{ "ack differs", 2, false },    { "window differs", 3, false },
		{ "option differs", 4, false }, { "ttl differs", 5, false },
		{ "id skips", 6, false },       { "longer than first", 7, false },
		{ "no payload", 8, false },     { "syn", 9, false },
		{ "fin", 10, false },           { "cwr", 11, false },
		{ "tos differs", 12, false },   { "other mac", 13, false },
		{ "bad checksum", 14, false },  { "psh", 15, true },
		{ "shorter", 16, true },        { "whole checksum", 17, true },
		{ "df differs", 18, false },    { "ece on both", 19, true },
	};
	static uint8_t f[2][2048];
	for (size_t r = 0; r < sizeof(t) / sizeof(t[0]); r++) {
		struct spec a = base(4, 0), b = base(4, 1);
		if (t[r].field == 19)
			a.flags |= TCPF_ECE, b.flags |= TCPF_ECE;
		uint32_t len[2];
		len[0] = seg(f[0], &a);
		switch (t[r].field) {
		case 1: b.seq += 1; break;
		case 6: b.id += 2; break;
		case 7: b.payload = MSS + 1; break;
		case 8: b.payload = 0; break;
		case 9: b.flags |= TCPF_SYN; break;
		case 10: b.flags |= TCPF_FIN; break;
		case 11: b.flags |= TCPF_CWR; break;
		case 15: b.flags |= TCPF_PSH; break;
		case 16: b.payload = 10; break;
		case 14: case 17: b.partial = false; break;
		default: break;
		}
		len[1] = seg(f[1], &b);
		uint8_t *ip = f[1] + 14, *th = ip + 20;
		switch (t[r].field) {
		case 2: th[11] ^= 1; break;
		case 3: th[15] ^= 1; break;
		case 4: th[27] ^= 1; break;
		case 5: ip[8]--; break;
		case 12: ip[1] = 0x10; break;
		case 13: f[1][5] = 9; break;
		case 14: th[16] ^= 0x40; break; /* a whole checksum, corrupted */
		case 18: ip[6] = 0; break;
		default: break;
		}
		if (t[r].field == 5 || t[r].field == 12 || t[r].field == 18) {
			ip[10] = ip[11] = 0;
			uint16_t c = csum_buf(ip, 20, 0);
			memcpy(ip + 10, &c, 2);
		}
		struct gro_pkt g;
		struct gro_seg s;
		assert_int_equal(gro_parse(f[0], len[0], true, &s), GRO_MERGEABLE);
		gro_start(&g, &s);
		enum gro_kind k = gro_parse(f[1], len[1], t[r].field != 14 && t[r].field != 17, &s);
		bool joined = k == GRO_MERGEABLE && gro_follows(&g, &s);
		if (joined != t[r].merges)
			fail_msg("%s: %s", t[r].what, joined ? "merged" : "did not merge");
	}
}

static void test_kinds(void **state)
{
	(void)state;
	static uint8_t f[2048];
	struct gro_seg s;
	struct spec a = base(4, 0);
	uint32_t len = seg(f, &a);
	assert_int_equal(gro_parse(f, len, true, &s), GRO_MERGEABLE);
	assert_int_equal(s.payload, MSS);
	assert_int_equal(s.hdr, 14 + 20 + 20 + OPT);
	f[14 + 6] = 0x20; /* more fragments */
	assert_int_equal(gro_parse(f, len, true, &s), GRO_BARRIER);
	f[14 + 6] = 0x40;
	f[14 + 9] = 17;
	assert_int_equal(gro_parse(f, len, true, &s), GRO_OTHER);
	f[14 + 9] = 6;
	f[14] = 0x46; /* options: still TCP, not mergeable */
	assert_int_equal(gro_parse(f, len, true, &s), GRO_TCP);
	f[14] = 0x45;
	f[12] = 0x08, f[13] = 0x06; /* ARP */
	assert_int_equal(gro_parse(f, len, true, &s), GRO_OTHER);
	assert_int_equal(gro_parse(f, 20, true, &s), GRO_OTHER);
	a = base(6, 0);
	len = seg(f, &a);
	assert_int_equal(gro_parse(f, len, true, &s), GRO_MERGEABLE);
	f[14 + 6] = 0; /* hop-by-hop first */
	assert_int_equal(gro_parse(f, len, true, &s), GRO_BARRIER);
	f[14 + 6] = 58;
	assert_int_equal(gro_parse(f, len, true, &s), GRO_OTHER);
	f[14 + 6] = 6;
	assert_int_equal(gro_parse(f, len - 1, true, &s), GRO_BARRIER); /* cut short */
}

/* n segments merge into one frame; the cut gives each back as it was
 * (both finished before comparing: the cut's checksum is partial). */
static void round_trip(uint8_t family, size_t n, uint16_t last, bool partial, bool psh)
{
	static uint8_t f[64][2048], buf[GRO_FRAME_MAX], out[2048];
	uint32_t len[64];
	bool part[64];
	for (size_t i = 0; i < n; i++) {
		struct spec s = base(family, (uint32_t)i);
		if (i + 1 == n) {
			s.payload = last;
			if (psh)
				s.flags |= TCPF_PSH;
		}
		s.partial = part[i] = partial || i % 2;
		len[i] = seg(f[i], &s);
	}
	struct gro_pkt g;
	assert_int_equal(merge(f, len, part, n, &g, buf), n - 1);
	assert_int_equal(g.segs, n);
	assert_int_equal(g.mss, MSS);
	uint32_t hdr = 14 + (family == 4 ? 20u : 40u) + 20 + OPT;
	assert_int_equal(g.len, hdr + (n - 1) * MSS + last);
	uint8_t fam = 0;
	assert_int_equal(gro_hdr_len(g.buf, g.len, &fam), hdr);
	assert_int_equal(fam, family);
	assert_int_equal(gro_segs(g.buf, g.len, MSS), n);
	/* the merged frame: lengths, PSH, a partial sum that finishes right */
	struct pkt p = { .data = g.buf, .len = g.len, .cap = g.len };
	assert_int_equal(pkt_parse(&p, true, false), DR_NONE);
	assert_int_equal(p.payload_len, (n - 1) * MSS + last);
	assert_int_equal(p.tcp_flags, TCPF_ACK | (psh ? TCPF_PSH : 0));
	static uint8_t whole[GRO_FRAME_MAX];
	memcpy(whole, g.buf, g.len);
	assert_true(io_csum_complete(whole, g.len));
	assert_true(io_csum_verify(whole, g.len));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = gro_cut(g.buf, g.len, MSS, i, out, sizeof(out));
		assert_int_equal(k, len[i]);
		assert_true(io_csum_complete(out, k));
		if (part[i])
			assert_true(io_csum_complete(f[i], len[i]));
		assert_memory_equal(out, f[i], k);
	}
	assert_int_equal(gro_cut(g.buf, g.len, MSS, (uint32_t)n, out, sizeof(out)), 0);
	assert_int_equal(gro_cut(g.buf, g.len, MSS, 0, out, hdr + MSS - 1), 0); /* no room */
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(4, 2, MSS, true, false);
	round_trip(4, 10, 123, true, true);
	round_trip(4, 5, MSS, false, false); /* whole checksums, verified */
	round_trip(6, 3, 999, true, false);
	round_trip(6, 8, MSS, false, true);
}

/* GRO_MAX_SEGS segments and 65535 bytes of IP at most: the stream stops
 * merging there; nothing follows a PSH; a bad first segment stays alone. */
static void test_limits(void **state)
{
	(void)state;
	static uint8_t f[80][2048], buf[GRO_FRAME_MAX];
	uint32_t len[80];
	static const struct {
		uint16_t payload;
		unsigned segs; /* in the first merged packet */
	} t[] = {
		{ MSS, GRO_MAX_SEGS }, /* 64 x 1000 bytes: the segment limit first */
		{ 1460, 44 },          /* 52 + 44 x 1460 = 64292: one more passes 65535 */
	};
	struct gro_pkt g;
	for (size_t r = 0; r < sizeof(t) / sizeof(t[0]); r++) {
		for (size_t i = 0; i < 80; i++) {
			struct spec s = base(4, (uint32_t)i);
			s.payload = t[r].payload;
			s.seq = 1000 + (uint32_t)i * t[r].payload;
			len[i] = seg(f[i], &s);
		}
		unsigned joined = merge(f, len, NULL, 80, &g, buf);
		assert_int_equal(joined + 1, t[r].segs);
		assert_true(g.len - 14 <= 65535);
		assert_true(g.closed);
	}

	struct spec s = base(4, 0);
	s.flags |= TCPF_PSH;
	len[0] = seg(f[0], &s);
	struct gro_seg x;
	assert_int_equal(gro_parse(f[0], len[0], true, &x), GRO_MERGEABLE);
	gro_start(&g, &x);
	assert_true(g.closed); /* nothing follows a PSH */

	/* a first segment whose whole checksum is bad: nothing joins it */
	s = base(4, 0);
	s.partial = false;
	len[0] = seg(f[0], &s);
	f[0][14 + 20 + 20 + OPT + 5] ^= 1; /* a payload byte */
	s = base(4, 1);
	len[1] = seg(f[1], &s);
	assert_int_equal(gro_parse(f[0], len[0], false, &x), GRO_MERGEABLE);
	gro_start(&g, &x);
	assert_int_equal(gro_parse(f[1], len[1], true, &x), GRO_MERGEABLE);
	assert_false(gro_follows(&g, &x));
	assert_true(g.closed);
}

static void test_same_conn(void **state)
{
	(void)state;
	static uint8_t f[2][2048];
	struct spec a = base(4, 0), b = base(4, 5);
	uint32_t la = seg(f[0], &a), lb = seg(f[1], &b);
	struct gro_seg x, y;
	gro_parse(f[0], la, true, &x);
	gro_parse(f[1], lb, true, &y);
	assert_true(gro_same_conn(&x, &y));
	f[1][14 + 20 + 1] ^= 1; /* another source port */
	assert_false(gro_same_conn(&x, &y));
	f[1][14 + 20 + 1] ^= 1;
	f[1][14 + 19] ^= 1; /* another destination */
	assert_false(gro_same_conn(&x, &y));
}

/* The virtio_net_hdr io_send puts in front of a merged packet asks
 * the kernel to cut it, with NEEDS_CSUM and the field holding the
 * pseudo-header's sum: Linux's packet_snd refuses a frame above the MTU
 * without a gso_type (EMSGSIZE), and cuts a TCP GSO packet only with a
 * partial checksum. Whether the merged packet's checksum is still partial
 * (a helper's rewrite finishes it: pkt_fix_checksums), behind a VLAN tag
 * or not, IPv4 or IPv6, with CWR (ECN) or not. Read back through a
 * socket pair. */
static void test_vnet_hdr(void **state)
{
	(void)state;
	static const struct {
		uint8_t family;
		bool partial; /* the merged packet's checksum when it is sent */
		bool vlan;    /* a tag pushed in front (a vlan interface) */
		bool cwr;
	} t[] = {
		{ 4, true, false, false }, { 4, false, false, false }, { 6, true, false, false },
		{ 6, false, false, true }, { 4, false, true, false },  { 4, true, true, true },
	};
	static uint8_t f[3][2048], buf[GRO_FRAME_MAX + 4], rx[GRO_FRAME_MAX + 64];
	uint32_t len[3];
	for (size_t r = 0; r < sizeof(t) / sizeof(t[0]); r++) {
		for (uint32_t i = 0; i < 3; i++) {
			struct spec s = base(t[r].family, i);
			if (t[r].cwr && !i)
				s.flags |= TCPF_CWR;
			len[i] = seg(f[i], &s);
		}
		struct gro_pkt g;
		assert_int_equal(merge(f, len, NULL, 3, &g, buf + 4), 2);
		uint8_t *fr = buf + 4;
		uint32_t n = g.len, l4 = 14 + (t[r].family == 4 ? 20u : 40u);
		if (t[r].vlan) {
			fr = buf;
			memmove(fr, fr + 4, 12);
			fr[12] = 0x81, fr[13] = 0, fr[14] = 0, fr[15] = 7;
			n += 4;
			l4 += 4;
		}
		if (!t[r].partial)
			assert_true(io_csum_complete(fr, n));
		uint8_t pseudo[GRO_FRAME_MAX + 4];
		memcpy(pseudo, fr, n);
		assert_true(io_csum_partial(pseudo, n));
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
		int big = 1 << 20;
		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		struct io_tx x = { fr, n, t[r].partial ? IO_F_CSUM_PARTIAL : 0, MSS };
		assert_int_equal(io_send(sv[0], true, &x, 1), 1);
		ssize_t got = recv(sv[1], rx, sizeof(rx), 0);
		close(sv[0]);
		close(sv[1]);
		struct virtio_net_hdr v;
		assert_int_equal(got, (ssize_t)(sizeof(v) + n));
		memcpy(&v, rx, sizeof(v));
		uint8_t type = t[r].family == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
		assert_int_equal(v.gso_type, type | (t[r].cwr ? VIRTIO_NET_HDR_GSO_ECN : 0));
		assert_int_equal(v.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		assert_int_equal(v.csum_start, l4);
		assert_int_equal(v.csum_offset, 16);
		assert_int_equal(v.gso_size, MSS);
		assert_int_equal(v.hdr_len, l4 + 20 + OPT);
		/* the frame as sent, its checksum field the pseudo-header's sum */
		assert_memory_equal(rx + sizeof(v), pseudo, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_same_conn),
		cmocka_unit_test(test_vnet_hdr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
