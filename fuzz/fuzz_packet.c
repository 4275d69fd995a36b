/*
 * libFuzzer target for the packet parser and rewrites (src/engine/pkt.c).
 *
 * Input: a frame. It is parsed as Ethernet and again as a bare IP packet,
 * with checksums checked. The frame is copied into a buffer of exactly its
 * size, so ASan catches any read past p->len.
 *
 * Checked (abort() = a real bug): when a parse succeeds with a transport
 * header, pkt_checksums_ok holds; after pkt_set_src/dst/ttl/dscp (and, for
 * ICMP errors, pkt_set_inner_src/dst) with values taken from the input, the
 * frame still parses with checksums checked, reads back the values set, and
 * pkt_checksums_ok still holds; pkt_fix_checksums then changes nothing that
 * pkt_checksums_ok would notice. A frame that parses without checksum checks
 * parses with them once pkt_fix_checksums has run (but for the one frame no
 * sum can be made for, no_sum_made); the rewrite checks then
 * run on that repaired frame too. pkt_parse_flow (FastTrack's parse) either
 * declines a frame, leaving the descriptor alone, or makes exactly
 * pkt_parse's descriptor of it; on a repaired frame it takes, pkt_forward4
 * keeps the checksums right.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined ... fuzz/fuzz_packet.c
 *        src/engine/pkt.c src/util/err.c src/util/sbuf.c
 * Run:   fuzz_packet fuzz/corpus/fuzz_packet
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pkt.h"

#define MAX_INPUT 65600

static void die(const char *what, bool l2, const struct pkt *p)
{
	char d[200];

	pkt_describe(p, d, sizeof(d));
	fprintf(stderr, "fuzz_packet (%s): %s: %s\n", l2 ? "l2" : "l3", what, d);
	abort();
}

/* Values to write, taken from the input so that the fuzzer steers them. */
static uint32_t pick32(const uint8_t *data, size_t size, size_t at)
{
	uint32_t v = 0x9e3779b9u * (uint32_t)(at + 1);

	for (size_t i = 0; i < 4 && size; i++)
		v = v * 31 + data[(at + i) % size];
	return v;
}

static void check_rewrites(uint8_t *buf, size_t size, bool l2, const uint8_t *data)
{
	struct pkt p = { .data = buf, .len = (uint32_t)size, .cap = (uint32_t)size };
	struct pkt q;

	if (pkt_parse(&p, l2, true) != DR_NONE || !(p.flags & PKT_F_L4))
		return;
	if (!pkt_checksums_ok(&p))
		die("parsed with checksums checked, but pkt_checksums_ok is false", l2, &p);

	uint32_t a1 = pick32(data, size, 0), a2 = pick32(data, size, 4);
	uint32_t a3 = pick32(data, size, 8), a4 = pick32(data, size, 12);
	uint16_t p1 = (uint16_t)a3, p2 = (uint16_t)(a3 >> 16);
	uint16_t p3 = (uint16_t)a4, p4 = (uint16_t)(a4 >> 16);
	uint8_t ttl = (uint8_t)a1, dscp = (uint8_t)(a2 >> 8);

	pkt_set_src(&p, a1, p1);
	pkt_set_dst(&p, a2, p2);
	pkt_set_ttl(&p, ttl);
	pkt_set_dscp(&p, dscp);
	if (p.flags & PKT_F_ICMP_ERR) {
		pkt_set_inner_src(&p, a3, p3);
		pkt_set_inner_dst(&p, a4, p4);
	}
	if (!pkt_checksums_ok(&p))
		die("checksums broken by a rewrite", l2, &p);

	q = (struct pkt){ .data = buf, .len = (uint32_t)size, .cap = (uint32_t)size };
	enum drop_reason r = pkt_parse(&q, l2, true);
	if (r != DR_NONE)
		die(pkt_reason_name(r), l2, &q);
	if (q.ttl != ttl || q.dscp != (dscp & 0x3f) || q.sport != p.sport ||
	    q.dport != p.dport || q.flags != p.flags || q.proto != p.proto)
		die("re-parse differs from the rewritten fields", l2, &q);
	if (q.family == 4 && (q.src.v4 != a1 || q.dst.v4 != a2))
		die("addresses not rewritten", l2, &q);
	if ((q.flags & PKT_F_ICMP_ERR) &&
	    (q.inner.sport != p.inner.sport || q.inner.dport != p.inner.dport ||
	     memcmp(&q.inner.src, &p.inner.src, sizeof(q.inner.src)) != 0 ||
	     memcmp(&q.inner.dst, &p.inner.dst, sizeof(q.inner.dst)) != 0))
		die("embedded header differs from the rewritten fields", l2, &q);
	if (q.family == 4 && (q.flags & PKT_F_ICMP_ERR) &&
	    (q.inner.src.v4 != a3 || q.inner.dst.v4 != a4))
		die("embedded addresses not rewritten", l2, &q);

	pkt_fix_checksums(&q);
	if (!pkt_checksums_ok(&q))
		die("pkt_fix_checksums left bad checksums", l2, &q);
}

/* An IPv6 UDP datagram sent without a checksum (never valid in IPv6)
 * behind a routing header whose final destination cannot be read (an
 * unknown type with segments left): pkt_fix_checksums can make no sum and
 * leaves the field 0, which it never writes otherwise, so it stays bad. */
static bool no_sum_made(const struct pkt *p)
{
	return p->family == 6 && p->proto == 17 /* UDP */ && (p->flags & PKT_F_RT_LEFT) &&
	       (p->flags & PKT_F_L4) && p->l4_off + 8u <= p->len &&
	       p->data[p->l4_off + 6] == 0 && p->data[p->l4_off + 7] == 0;
}

/* pkt_parse_flow against pkt_parse on buf; then FastTrack's rewrite. */
static void check_flow(uint8_t *buf, size_t size, const uint8_t *data)
{
	struct pkt a, b, before;

	memset(&a, 0x5a, sizeof(a));
	a.data = buf;
	a.len = (uint32_t)size;
	a.cap = (uint32_t)size;
	before = a;
	if (!pkt_parse_flow(&a)) {
		if (memcmp(&a, &before, sizeof(a)) != 0)
			die("pkt_parse_flow declined but changed the descriptor", true, &a);
		return;
	}
	memset(&b, 0x5a, sizeof(b));
	b.data = buf;
	b.len = (uint32_t)size;
	b.cap = (uint32_t)size;
	if (pkt_parse(&b, true, false) != DR_NONE || memcmp(&a, &b, sizeof(a)) != 0)
		die("pkt_parse_flow differs from pkt_parse", true, &a);
	if (!pkt_checksums_ok(&a))
		return;
	uint32_t s = pick32(data, size, 16), d = pick32(data, size, 20), ports = pick32(data, size, 24);
	pkt_forward4(&a, s, (uint16_t)ports, d, (uint16_t)(ports >> 16), (uint8_t)(s >> 3));
	if (!pkt_checksums_ok(&a))
		die("checksums broken by pkt_forward4", true, &a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	for (int l2 = 0; l2 < 2; l2++) {
		uint8_t *buf = malloc(size ? size : 1);
		struct pkt p = { .data = buf, .len = (uint32_t)size, .cap = (uint32_t)size };
		char d[160], small[9];

		if (!buf)
			abort();
		memcpy(buf, data, size);
		enum drop_reason r = pkt_parse(&p, l2, true);
		if (r >= DR_MAX || !pkt_reason_name(r))
			abort();
		pkt_describe(&p, d, sizeof(d));
		pkt_describe(&p, small, sizeof(small));
		(void)pkt_checksums_ok(&p);
		/* Also without checksums: more frames reach the transport layer. */
		pkt_parse(&p, l2, false);
		pkt_describe(&p, d, sizeof(d));
		/* Rewrites of whatever was parsed, even a bad frame, stay in bounds. */
		pkt_set_src(&p, 1, 2);
		pkt_set_dst(&p, 3, 4);
		pkt_set_inner_src(&p, 5, 6);
		pkt_set_inner_dst(&p, 7, 8);
		pkt_set_ttl(&p, 9);
		pkt_set_dscp(&p, 10);
		pkt_fix_checksums(&p);
		memcpy(buf, data, size);
		check_rewrites(buf, size, l2, data);
		if (l2) {
			memcpy(buf, data, size);
			check_flow(buf, size, data);
		}

		/* Most mutations break a checksum: repair them, then the same checks. */
		memcpy(buf, data, size);
		p = (struct pkt){ .data = buf, .len = (uint32_t)size, .cap = (uint32_t)size };
		if (pkt_parse(&p, l2, false) == DR_NONE) {
			pkt_fix_checksums(&p);
			r = pkt_parse(&p, l2, true);
			if (r != DR_NONE && !(r == DR_BAD_L4_CSUM && no_sum_made(&p)))
				die(pkt_reason_name(r), l2, &p);
			check_rewrites(buf, size, l2, data);
			if (l2) { /* the repaired frame again, for FastTrack's rewrite */
				memcpy(buf, data, size);
				p = (struct pkt){ .data = buf, .len = (uint32_t)size,
						  .cap = (uint32_t)size };
				pkt_parse(&p, true, false);
				pkt_fix_checksums(&p);
				check_flow(buf, size, data);
			}
		}
		free(buf);
	}
	return 0;
}
