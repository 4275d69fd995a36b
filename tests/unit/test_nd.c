/*
 * IPv6 neighbour discovery of the live dataplane, in virtual time: answers
 * for the router's addresses (global, link-local, duplicate address
 * detection), the checks of RFC 4861 7.1 on what arrives, resolution with
 * the shared wait queue, and what advertisements may change in an entry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/runtime.h"
#include "conf/store.h"
#include "engine/names.h"
#include "io/nd.h"
#include "io/neigh_conf.h"
#include "mgmt/mgmt.h"
#include "mgmt/rest.h"

#define SEC 1000000000ull

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t other_mac[6] = { 0x02, 0, 0, 0, 0, 0x20 };
static const uint8_t our_gl[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t our_ll[16] = { 0xfe, 0x80, [8] = 0x11, [15] = 0x01 };
static const uint8_t host_gl[16] = { 0x20, 0x01, 0x0d, 0xb8, [13] = 0xab, [14] = 0xcd, [15] = 0x10 };
static const uint8_t host_ll[16] = { 0xfe, 0x80, [8] = 0x22, [15] = 0x10 };
static const uint8_t unspec[16];

struct sent {
	uint16_t ifid;
	uint8_t f[ND_FRAME_LEN];
};

static struct sent sent[64];
static size_t nsent;
#define NPKTS 2048
static int resolved[NPKTS], nresolved;
static int dropped[NPKTS], ndropped, nunreach;
static int pkts[NPKTS];
/* what each waiting packet holds (ops->size); mk(): a third of an
 * entry's bound, so that a fourth pushes the first out */
static uint32_t pkt_size;
static uint8_t last_mac[6];

static bool is_mine(void *ctx, uint16_t ifid, const uint8_t *a)
{
	return ifid == 1 && (!memcmp(a, our_gl, 16) || !memcmp(a, our_ll, 16));
}

static bool src_addr(void *ctx, uint16_t ifid, const uint8_t *t, uint8_t *src)
{
	if (ifid != 1)
		return false;
	memcpy(src, our_ll, 16);
	return true;
}

static const uint8_t *mac_of(void *ctx, uint16_t ifid)
{
	return our_mac;
}

static void send_fn(void *ctx, uint16_t ifid, const uint8_t *f, uint32_t len)
{
	assert_int_equal(len, ND_FRAME_LEN);
	if (nsent < 64) {
		sent[nsent].ifid = ifid;
		memcpy(sent[nsent].f, f, len);
	}
	nsent++;
}

static void resolved_fn(void *ctx, uint16_t ifid, void *pkt, const uint8_t mac[6])
{
	memcpy(last_mac, mac, 6);
	resolved[nresolved++] = *(int *)pkt;
}

static void dropped_fn(void *ctx, uint16_t ifid, void *pkt, bool unreachable)
{
	dropped[ndropped++] = *(int *)pkt;
	nunreach += unreachable;
}

static uint32_t size_fn(void *ctx, void *pkt)
{
	return pkt_size;
}

static struct nd *mk(void)
{
	nsent = 0;
	nresolved = ndropped = nunreach = 0;
	for (int i = 0; i < NPKTS; i++)
		pkts[i] = i;
	pkt_size = NEIGH_QUEUE_BYTES / 3;
	struct nd_ops o = { NULL, is_mine, src_addr, mac_of, send_fn, resolved_fn, dropped_fn,
			    size_fn };
	return nd_new(&o);
}

static uint16_t sum6(const uint8_t *ip, uint32_t plen)
{
	uint64_t s = plen + 58;
	for (int i = 8; i < 40; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	for (uint32_t i = 0; i + 1 < plen; i += 2)
		s += (uint32_t)(ip[40 + i] << 8 | ip[41 + i]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An NS or NA (IPv6 packet) into p: 64 bytes, or 72 with a link-layer
 * option (lla not NULL). */
static uint32_t msg(uint8_t *p, uint8_t type, const uint8_t *src, const uint8_t *dst,
		    const uint8_t *target, uint8_t flags, const uint8_t *lla)
{
	uint32_t plen = lla ? 32 : 24;
	memset(p, 0, 40 + plen);
	p[0] = 0x60;
	p[5] = (uint8_t)plen;
	p[6] = 58;
	p[7] = 255;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	p[40] = type;
	p[44] = flags;
	memcpy(p + 48, target, 16);
	if (lla) {
		p[64] = type == 135 ? 1 : 2;
		p[65] = 1;
		memcpy(p + 66, lla, 6);
	}
	uint16_t c = sum6(p, plen);
	p[42] = (uint8_t)(c >> 8), p[43] = (uint8_t)c;
	return 40 + plen;
}

static void sn_group(const uint8_t *t, uint8_t *g)
{
	memset(g, 0, 16);
	g[0] = 0xff, g[1] = 0x02, g[11] = 1, g[12] = 0xff;
	memcpy(g + 13, t + 13, 3);
}

/* An answer sent by the router: an NA from target with flags, to dst at dmac. */
static void assert_na(const uint8_t *f, const uint8_t *dmac, const uint8_t *target,
		      const uint8_t *dst, uint8_t flags)
{
	assert_memory_equal(f, dmac, 6);
	assert_memory_equal(f + 6, our_mac, 6);
	const uint8_t *ip = f + 14;
	assert_int_equal(ip[7], 255);
	assert_memory_equal(ip + 8, target, 16);
	assert_memory_equal(ip + 24, dst, 16);
	assert_int_equal(ip[40], 136);
	assert_int_equal(ip[44], flags);
	assert_memory_equal(ip + 48, target, 16);
	assert_int_equal(ip[64], 2);
	assert_memory_equal(ip + 66, our_mac, 6);
	assert_int_equal(sum6(ip, 32), 0);
}

static void test_answers_for_own_addresses(void **state)
{
	struct nd *d = mk();
	uint8_t p[80], g[16], mac[6];
	const uint8_t *targets[] = { our_gl, our_ll };
	for (int i = 0; i < 2; i++) {
		sn_group(targets[i], g);
		uint32_t n = msg(p, 135, host_ll, g, targets[i], 0, host_mac);
		nd_input(d, 1, p, n, other_mac, SEC);
		assert_int_equal(nsent, (size_t)i + 1);
		/* to the option's address, not the frame's */
		assert_na(sent[i].f, host_mac, targets[i], host_ll, 0xe0);
	}
	/* the asker is known (stale): its first use probes it, unicast */
	assert_true(nd_resolve(d, 1, host_ll, NULL, mac, 2 * SEC));
	assert_memory_equal(mac, host_mac, 6);
	assert_int_equal(nsent, 3);
	assert_memory_equal(sent[2].f, host_mac, 6);
	assert_memory_equal(sent[2].f + 14 + 24, host_ll, 16);
	/* a unicast NS without the option: answered to the frame's source */
	uint32_t n = msg(p, 135, host_gl, our_gl, our_gl, 0, NULL);
	nd_input(d, 1, p, n, other_mac, SEC);
	assert_int_equal(nsent, 4);
	assert_na(sent[3].f, other_mac, our_gl, host_gl, 0xe0);
	/* not ours: another address, or ours on another interface */
	sn_group(host_gl, g);
	n = msg(p, 135, host_ll, g, host_gl, 0, host_mac);
	nd_input(d, 1, p, n, host_mac, SEC);
	n = msg(p, 135, host_ll, g, our_gl, 0, host_mac);
	nd_input(d, 2, p, n, host_mac, SEC);
	assert_int_equal(nsent, 4);
	assert_int_equal(nd_stats(d)->ns_in, 5);
	assert_int_equal(nd_stats(d)->na_out, 3);
	nd_free(d);
}

static void test_duplicate_address_detection(void **state)
{
	struct nd *d = mk();
	uint8_t p[80], g[16];
	sn_group(our_gl, g);
	uint32_t n = msg(p, 135, unspec, g, our_gl, 0, NULL);
	nd_input(d, 1, p, n, host_mac, SEC);
	assert_int_equal(nsent, 1);
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t mc[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	assert_na(sent[0].f, mc, our_gl, all_nodes, 0xa0); /* R and O, not solicited */
	struct neigh_info info[2];
	assert_int_equal(nd_list(d, info, 2), 0);
	nd_free(d);
}

/* RFC 4861 7.1: what a node must silently discard. */
static void test_invalid_discarded(void **state)
{
	static const struct {
		const char *what;
		int off;        /* byte of the IPv6 packet to change, -1: none */
		uint8_t val;
		bool fix_sum;   /* recompute the checksum after the change */
		bool dad;       /* a DAD solicitation (unspecified source) */
		bool na;
	} cases[] = {
		{ "hop limit 64", 7, 64, false, false, false },
		{ "bad checksum", 43, 0x5a, false, false, false },
		{ "code 1", 41, 1, true, false, false },
		{ "multicast target", 48, 0xff, true, false, false },
		{ "option of length 0", 65, 0, true, false, false },
		{ "DAD with a source link-layer option", -1, 0, false, true, false },
		{ "solicited NA to a multicast group", 24, 0xff, true, false, true },
		{ "next header not ICMPv6", 6, 17, true, false, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nd *d = mk();
		uint8_t p[80], g[16], mac[6];
		sn_group(our_gl, g);
		uint32_t n;
		if (cases[i].na) {
			/* asked first, so a valid NA would resolve it */
			assert_false(nd_resolve(d, 1, host_gl, NULL, mac, SEC));
			nsent = 0;
			n = msg(p, 136, host_gl, our_ll, host_gl, 0x60, host_mac);
		} else {
			n = msg(p, 135, cases[i].dad ? unspec : host_ll, g, our_gl, 0, host_mac);
		}
		if (cases[i].off >= 0)
			p[cases[i].off] = cases[i].val;
		if (cases[i].fix_sum) {
			p[42] = p[43] = 0;
			uint16_t c = sum6(p, n - 40);
			p[42] = (uint8_t)(c >> 8), p[43] = (uint8_t)c;
		}
		nd_input(d, 1, p, n, host_mac, SEC);
		if (nsent || nd_stats(d)->bad != 1)
			fail_msg("%s: sent %zu, bad %llu", cases[i].what, nsent,
				 (unsigned long long)nd_stats(d)->bad);
		struct neigh_info info[2];
		size_t k = nd_list(d, info, 2);
		assert_true(k == 0 || info[0].state == NEIGH_INCOMPLETE);
		nd_free(d);
	}
	/* short packets */
	struct nd *d = mk();
	uint8_t p[80], g[16];
	sn_group(our_gl, g);
	uint32_t n = msg(p, 135, host_ll, g, our_gl, 0, host_mac);
	nd_input(d, 1, p, 63, host_mac, SEC);
	p[5] = 40; /* payload length beyond the packet */
	nd_input(d, 1, p, n, host_mac, SEC);
	assert_int_equal(nd_stats(d)->bad, 2);
	assert_int_equal(nsent, 0);
	nd_free(d);
}

static void test_resolve_with_queue(void **state)
{
	struct nd *d = mk();
	uint8_t mac[6], p[80], g[16];
	for (int i = 0; i < 4; i++)
		assert_false(nd_resolve(d, 1, host_gl, &pkts[i], mac, SEC));
	/* one solicitation, to the target's solicited-node group */
	assert_int_equal(nsent, 1);
	const uint8_t *f = sent[0].f, *ip = f + 14;
	static const uint8_t mc[6] = { 0x33, 0x33, 0xff, 0xab, 0xcd, 0x10 };
	sn_group(host_gl, g);
	assert_memory_equal(f, mc, 6);
	assert_memory_equal(ip + 8, our_ll, 16);
	assert_memory_equal(ip + 24, g, 16);
	assert_int_equal(ip[7], 255);
	assert_int_equal(ip[40], 135);
	assert_memory_equal(ip + 48, host_gl, 16);
	assert_int_equal(ip[64], 1);
	assert_memory_equal(ip + 66, our_mac, 6);
	assert_int_equal(sum6(ip, 32), 0);
	assert_int_equal(ndropped, 1); /* the fourth pushed the first out */
	/* an unsolicited NA for another address teaches nothing */
	uint32_t n = msg(p, 136, host_ll, our_ll, host_ll, 0x20, host_mac);
	nd_input(d, 1, p, n, host_mac, SEC);
	struct neigh_info e;
	struct neigh_info info[4];
	assert_int_equal(nd_list(d, info, 4), 1); /* host_gl alone, still incomplete */
	/* the solicited answer lets the three waiting go */
	n = msg(p, 136, host_gl, our_ll, host_gl, 0x60, host_mac);
	nd_input(d, 1, p, n, host_mac, SEC + SEC / 10);
	assert_int_equal(nresolved, 3);
	assert_int_equal(resolved[0], 1);
	assert_int_equal(resolved[2], 3);
	assert_memory_equal(last_mac, host_mac, 6);
	size_t k = nd_list(d, info, 4);
	bool found = false;
	for (size_t i = 0; i < k; i++)
		if (!memcmp(info[i].addr, host_gl, 16)) {
			e = info[i];
			found = true;
		}
	assert_true(found);
	assert_int_equal(e.state, NEIGH_REACHABLE);
	assert_true(nd_resolve(d, 1, host_gl, &pkts[5], mac, 2 * SEC));
	nd_free(d);
	assert_int_equal(ndropped, 1);
}

static enum neigh_state state_of(struct nd *d, const uint8_t *a, uint8_t *mac)
{
	struct neigh_info info[8];
	size_t k = nd_list(d, info, 8);
	for (size_t i = 0; i < k; i++)
		if (!memcmp(info[i].addr, a, 16)) {
			memcpy(mac, info[i].mac, 6);
			return info[i].state;
		}
	return NEIGH_FREE;
}

/* RFC 4861 7.2.5: which advertisement may change a known entry, and how. */
static void test_advertisement_rules(void **state)
{
	struct nd *d = mk();
	uint8_t p[80], mac[6];
	assert_false(nd_resolve(d, 1, host_gl, NULL, mac, SEC));
	/* unsolicited (S clear) answer to an incomplete entry: stale */
	uint32_t n = msg(p, 136, host_gl, our_ll, host_gl, 0x20, host_mac);
	nd_input(d, 1, p, n, host_mac, SEC);
	assert_int_equal(state_of(d, host_gl, mac), NEIGH_STALE);
	/* solicited: reachable */
	n = msg(p, 136, host_gl, our_ll, host_gl, 0x40, NULL);
	nd_input(d, 1, p, n, host_mac, SEC);
	assert_int_equal(state_of(d, host_gl, mac), NEIGH_REACHABLE);
	assert_memory_equal(mac, host_mac, 6);
	/* another MAC without override: the entry keeps its MAC, goes stale */
	n = msg(p, 136, host_gl, our_ll, host_gl, 0x40, other_mac);
	nd_input(d, 1, p, n, other_mac, 2 * SEC);
	assert_int_equal(state_of(d, host_gl, mac), NEIGH_STALE);
	assert_memory_equal(mac, host_mac, 6);
	/* with override and unsolicited: the new MAC, stale */
	n = msg(p, 136, host_gl, our_ll, host_gl, 0x20, other_mac);
	nd_input(d, 1, p, n, other_mac, 3 * SEC);
	assert_int_equal(state_of(d, host_gl, mac), NEIGH_STALE);
	assert_memory_equal(mac, other_mac, 6);
	/* with override and solicited: reachable at it */
	n = msg(p, 136, host_gl, our_ll, host_gl, 0x60, host_mac);
	nd_input(d, 1, p, n, host_mac, 4 * SEC);
	assert_int_equal(state_of(d, host_gl, mac), NEIGH_REACHABLE);
	assert_memory_equal(mac, host_mac, 6);
	assert_int_equal(nd_stats(d)->na_in, 5);
	nd_free(d);
}

static void test_retries_then_unreachable(void **state)
{
	struct nd *d = mk();
	uint8_t mac[6];
	assert_false(nd_resolve(d, 1, host_gl, &pkts[1], mac, 10 * SEC));
	for (uint64_t t = 10 * SEC; t < 13 * SEC; t += SEC / 10)
		nd_tick(d, t);
	assert_int_equal(nsent, 3);
	assert_int_equal(ndropped, 0);
	nd_tick(d, 13 * SEC);
	assert_int_equal(ndropped, 1);
	assert_int_equal(nunreach, 1);
	assert_int_equal(nd_stats(d)->unreachable, 1);
	/* no source address on the interface: nothing can be asked */
	nsent = 0;
	assert_false(nd_resolve(d, 2, host_gl, &pkts[2], mac, 14 * SEC));
	assert_int_equal(nsent, 0);
	nd_flush_if(d, 2);
	assert_int_equal(ndropped, 2);
	nd_free(d);
}

/* A group's MAC is known at once (RFC 2464 7): nothing is solicited, and
 * what a router solicitation's sender tells is learnt as stale. */
static void test_groups_and_learning(void **state)
{
	struct nd *d = mk();
	uint8_t mac[6];
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t mdns[16] = { 0xff, 0x02, [15] = 0xfb };
	static const uint8_t want1[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	static const uint8_t want2[6] = { 0x33, 0x33, 0, 0, 0, 0xfb };
	assert_true(nd_resolve(d, 1, all_nodes, &pkts[0], mac, SEC));
	assert_memory_equal(mac, want1, 6);
	assert_true(nd_resolve(d, 1, mdns, &pkts[0], mac, SEC));
	assert_memory_equal(mac, want2, 6);
	assert_int_equal(nsent, 0);
	nd_learn(d, 1, host_ll, host_mac, SEC);
	nd_learn(d, 1, unspec, other_mac, SEC);    /* no address: nothing */
	nd_learn(d, 1, host_gl, all_nodes, SEC);   /* a group MAC: nothing */
	assert_true(nd_resolve(d, 1, host_ll, &pkts[1], mac, 2 * SEC));
	assert_memory_equal(mac, host_mac, 6);
	struct neigh_info ni[4];
	assert_int_equal(nd_list(d, ni, 4), 1);
	nd_free(d);
}

/* A router advertisement (IPv6 packet) from src into p: 56 bytes, or 64
 * with a source link-layer option (lla not NULL). */
static uint32_t ra_msg(uint8_t *p, const uint8_t *src, const uint8_t *lla)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	uint32_t plen = lla ? 24 : 16;
	memset(p, 0, 40 + plen);
	p[0] = 0x60;
	p[5] = (uint8_t)plen;
	p[6] = 58;
	p[7] = 255;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, all_nodes, 16);
	p[40] = 134;
	p[44] = 64;            /* cur hop limit */
	p[46] = 0x07, p[47] = 0x08; /* router lifetime 1800 s */
	if (lla) {
		p[56] = 1;
		p[57] = 1;
		memcpy(p + 58, lla, 6);
	}
	uint16_t c = sum6(p, plen);
	p[42] = (uint8_t)(c >> 8), p[43] = (uint8_t)c;
	return 40 + plen;
}

static int router_of(struct nd *d, const uint8_t *a)
{
	struct neigh_info info[8];
	size_t k = nd_list(d, info, 8);
	for (size_t i = 0; i < k; i++)
		if (!memcmp(info[i].addr, a, 16))
			return info[i].router;
	return -1; /* no entry */
}

/* IsRouter from what the neighbour sends, in order (RFC 4861 6.2.6, 6.3.4,
 * 7.2.5): NAs set it from their router flag unless ignored, any RA sets it,
 * a router solicitation clears it; malformed RAs change nothing. */
static void test_router_flag(void **state)
{
	enum what { NA_MSG, RA_MSG, RA_GLOBAL_SRC, RA_HOP254, RA_BADSUM, RS_LEARN };
	static const struct {
		enum what what;
		uint8_t flags;           /* the NA's */
		const uint8_t *lla;
		int router;              /* after: 1, 0, or -1 for no entry */
		enum neigh_state st;
	} steps[] = {
		{ RA_GLOBAL_SRC, 0, host_mac, -1, NEIGH_FREE },   /* not link-local: bad */
		{ RA_HOP254, 0, host_mac, -1, NEIGH_FREE },
		{ RA_BADSUM, 0, host_mac, -1, NEIGH_FREE },
		{ RA_MSG, 0, host_mac, 1, NEIGH_STALE },          /* an entry, a router */
		{ RS_LEARN, 0, host_mac, 0, NEIGH_STALE },        /* it solicits: a host */
		{ RA_MSG, 0, NULL, 1, NEIGH_STALE },              /* no option: flag only */
		{ NA_MSG, 0x60, NULL, 0, NEIGH_REACHABLE },       /* S|O, no R */
		{ NA_MSG, 0xc0, other_mac, 0, NEIGH_STALE },      /* R, another MAC, no O: ignored */
		{ NA_MSG, 0xe0, host_mac, 1, NEIGH_REACHABLE },   /* R|S|O */
		{ NA_MSG, 0x20, NULL, 0, NEIGH_REACHABLE },       /* unsolicited O, no R */
	};
	struct nd *d = mk();
	uint8_t p[96], mac[6];
	uint64_t bad = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		uint32_t n = 0;
		switch (steps[i].what) {
		case NA_MSG:
			n = msg(p, 136, host_ll, our_ll, host_ll, steps[i].flags, steps[i].lla);
			break;
		case RA_MSG:
			n = ra_msg(p, host_ll, steps[i].lla);
			break;
		case RA_GLOBAL_SRC:
			n = ra_msg(p, host_gl, steps[i].lla);
			break;
		case RA_HOP254:
			n = ra_msg(p, host_ll, steps[i].lla);
			p[7] = 254;
			break;
		case RA_BADSUM:
			n = ra_msg(p, host_ll, steps[i].lla);
			p[43] ^= 1;
			break;
		case RS_LEARN:
			nd_learn(d, 1, host_ll, steps[i].lla, (i + 1) * SEC);
			break;
		}
		if (n) {
			assert_true(nd_is_nd(p, n));
			nd_input(d, 1, p, n, host_mac, (i + 1) * SEC);
		}
		bad += steps[i].what == RA_GLOBAL_SRC || steps[i].what == RA_HOP254 ||
		       steps[i].what == RA_BADSUM;
		if (router_of(d, host_ll) != steps[i].router)
			fail_msg("step %zu: router %d", i, router_of(d, host_ll));
		assert_int_equal(state_of(d, host_ll, mac), steps[i].st);
		assert_int_equal(nd_stats(d)->bad, bad);
	}
	assert_int_equal(nd_stats(d)->ra_in, 2);
	assert_int_equal(nsent, 0); /* none of it is answered */
	nd_free(d);
}

static int nd_provider(void *ctx, struct conf_session *s, const struct menu *m,
		       struct item ***items, size_t *n)
{
	neigh_conf_nd_items(ctx, m, items, n);
	return 0;
}

/* /ipv6 neighbor print as RouterOS shows it: R for a router. */
static void test_print_router(void **state)
{
	struct nd *d = mk();
	uint8_t p[96], mac[6];
	uint16_t wan = (uint16_t)name_intern(NS_IFACE, "ether1-gateway");
	uint16_t lan = (uint16_t)name_intern(NS_IFACE, "ether2-master-local");
	/* an upstream router (its RA), a host (an NA without R), one being asked */
	uint32_t n = ra_msg(p, host_ll, other_mac);
	nd_input(d, wan, p, n, other_mac, SEC);
	assert_false(nd_resolve(d, lan, host_gl, NULL, mac, SEC));
	n = msg(p, 136, host_gl, our_ll, host_gl, 0x60, host_mac);
	nd_input(d, lan, p, n, host_mac, SEC);
	assert_false(nd_resolve(d, lan, our_gl, NULL, mac, SEC));
	struct store *st;
	struct conf_session s;
	struct err e;
	err_clear(&e);
	assert_int_equal(store_open(&st, ":memory:", &e), 0);
	conf_session_init(&s, st, "tester");
	assert_int_equal(conf_store_init(&s, true, &e), 0);
	conf_set_provider("/ipv6/neighbor", nd_provider, d);
	s.width = 100;
	assert_int_equal(conf_exec(&s, "/ipv6 neighbor print", NULL, &e), 0);
	static const char want[] =
		"Flags: R - router\n"
		" #   ADDRESS           INTERFACE           MAC-ADDRESS       STATUS\n"
		" 0 R fe80::2200:0:0:10 ether1-gateway      02:00:00:00:00:20 stale\n"
		" 1   2001:db8::ab:cd10 ether2-master-local 02:00:00:00:00:10 reachable\n"
		" 2   2001:db8::1       ether2-master-local                   incomplete\n";
	if (strcmp(sbuf_str(&s.out), want))
		fail_msg("got:\n%s", sbuf_str(&s.out));
	sbuf_reset(&s.out);
	assert_int_equal(conf_exec(&s, ":put [/ipv6 neighbor get [find router] address]", NULL, &e),
			 0);
	assert_string_equal(sbuf_str(&s.out), "fe80::2200:0:0:10\n");
	conf_drop_ctx(d);
	conf_session_free(&s);
	store_close(st);
	nd_free(d);
}

/* ---- /ipv6 neighbor remove ---- */

static int nd_remover(void *ctx, const struct menu *m, uint32_t id, struct err *e)
{
	return neigh_conf_nd_remove(ctx, id, e);
}

/* 2001:db8::a<k> */
static void nb_addr(uint8_t a[16], unsigned k)
{
	static const uint8_t base[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	memcpy(a, base, 16);
	a[15] = (uint8_t)(0xa0 + k);
}

/* Which of 2001:db8::a1 to ::a3 (bits 0..2) the table still has. */
static unsigned nb_left(const struct nd *d)
{
	struct neigh_info ni[8];
	size_t n = nd_list(d, ni, 8);
	unsigned left = 0;
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 1; k <= 3; k++) {
			uint8_t a[16];
			nb_addr(a, k);
			if (!memcmp(ni[i].addr, a, 16))
				left |= 1u << (k - 1);
		}
	return left;
}

/* The id /ipv6 neighbor gives 2001:db8::a2, as "*F..." text. */
static void nb_id(const struct nd *d, char *out, size_t len)
{
	const struct menu *m = schema_find("/ipv6/neighbor");
	struct item **items;
	size_t n;
	snprintf(out, len, "*0");
	neigh_conf_nd_items(d, m, &items, &n);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(item_get(m, items[i], "address"), "2001:db8::a2"))
			snprintf(out, len, "*%X", items[i]->id);
		item_free(m, items[i]);
	}
	free(items);
}

enum via { CONSOLE, API, REST };

/* Learnt neighbours are removed as /ip arp's, by the console, the API and
 * REST: what goes, what stays, a failing command changes nothing, and
 * there is nothing to remove without a live router. */
static void test_remove(void **state)
{
	static const struct {
		enum via via;
		bool provided;    /* a live router: its table is /ipv6 neighbor's */
		const char *cmd;  /* CONSOLE: the command, its %s the id of ::a2; else the id */
		int rc;
		unsigned left;    /* nb_left after */
		const char *err;  /* part of the error */
	} cases[] = {
		{ CONSOLE, true, "/ipv6 neighbor remove [find]", 0, 0, NULL },
		{ CONSOLE, true, "/ipv6 neighbor remove %s", 0, 5, NULL },
		{ CONSOLE, true, "/ipv6 neighbor remove [find address=2001:db8::a3]", 0, 3, NULL },
		{ CONSOLE, true, "/ipv6 neighbor remove 0,2", 0, 2, NULL },
		{ CONSOLE, true, "/ipv6 neighbor remove 1,%s", 0, 5, NULL }, /* twice */
		{ CONSOLE, true, "/ipv6 neighbor remove 0,9", -1, 7, "no such item '9'" },
		{ CONSOLE, true, "/ipv6 neighbor remove *F0FFFFFF", -1, 7, "no such item" },
		{ CONSOLE, true, "/ipv6 neighbor remove", -1, 7, "missing item" },
		{ CONSOLE, true, "/ipv6 neighbor add address=2001:db8::a9", -1, 7, "add" },
		{ CONSOLE, false, "/ipv6 neighbor remove %s", -1, 7, "no such item" },
		{ CONSOLE, false, "/ipv6 neighbor remove 0", -1, 7, "no such item" },
		{ API, true, "%s", 0, 5, NULL },
		{ API, true, "*F0FFFFFF", -1, 7, "no such item" },
		{ API, false, "%s", -1, 7, "no such item" },
		{ REST, true, "%s", 0, 5, NULL },
		{ REST, true, "*F0FFFFFF", -1, 7, "404" },
		{ REST, false, "%s", -1, 7, "404" },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct nd *d = mk();
		struct store *st;
		struct conf_session s;
		struct err e;
		char id[32], text[256];
		int rc;
		uint16_t lan = (uint16_t)name_intern(NS_IFACE, "ether2-master-local");
		for (unsigned k = 1; k <= 3; k++) {
			uint8_t a[16];
			nb_addr(a, k);
			nd_learn(d, lan, a, host_mac, SEC);
		}
		err_clear(&e);
		assert_int_equal(store_open(&st, ":memory:", &e), 0);
		conf_session_init(&s, st, "tester");
		assert_int_equal(conf_store_init(&s, true, &e), 0);
		if (cases[c].provided) {
			conf_set_provider("/ipv6/neighbor", nd_provider, d);
			conf_set_remove_hook("/ipv6/neighbor", nd_remover, d);
		}
		nb_id(d, id, sizeof(id));
		snprintf(text, sizeof(text), cases[c].cmd, id);
		if (cases[c].via == CONSOLE) {
			assert_int_equal(conf_exec(&s, "/ipv6 neighbor print", NULL, &e), 0);
			rc = conf_exec(&s, text, NULL, &e);
		} else if (cases[c].via == API) {
			struct mgmt_attr sel = { ".id", text };
			struct mgmt_result res = { 0 };
			rc = mgmt_exec(&s, "/ipv6/neighbor", "remove", &sel, 1, &res, &e);
			mgmt_result_free(&res);
		} else {
			struct rest_reply r;
			char target[300];
			snprintf(target, sizeof(target), "/rest/ipv6/neighbor/%s", text);
			rest_handle(&s, POL_ALL, "DELETE", target, "", 0, &r);
			rc = r.status == 204 ? 0 : err_set(&e, "%d %s", r.status, r.body ? r.body : "");
			rest_reply_free(&r);
		}
		if (rc != cases[c].rc)
			fail_msg("case %zu (%s): rc %d: %s", c, cases[c].cmd, rc, e.msg);
		if (cases[c].err && !strstr(e.msg, cases[c].err))
			fail_msg("case %zu (%s): error '%s'", c, cases[c].cmd, e.msg);
		if (nb_left(d) != cases[c].left)
			fail_msg("case %zu (%s): left %#x, not %#x", c, cases[c].cmd, nb_left(d),
				 cases[c].left);
		conf_drop_ctx(d);
		conf_session_free(&s);
		store_close(st);
		nd_free(d);
	}
}

/* A removed neighbour is learnt again under a new id; a packet that waited
 * for a removed incomplete one is given up, once. */
static void test_remove_relearn(void **state)
{
	struct nd *d = mk();
	struct store *st;
	struct conf_session s;
	struct err e;
	char before[32], after[32], cmd[80];
	uint8_t a2[16], mac[6];
	uint16_t lan = (uint16_t)name_intern(NS_IFACE, "ether2-master-local");
	nb_addr(a2, 2);
	nd_learn(d, lan, a2, host_mac, SEC);
	err_clear(&e);
	assert_int_equal(store_open(&st, ":memory:", &e), 0);
	conf_session_init(&s, st, "tester");
	assert_int_equal(conf_store_init(&s, true, &e), 0);
	conf_set_provider("/ipv6/neighbor", nd_provider, d);
	conf_set_remove_hook("/ipv6/neighbor", nd_remover, d);
	nb_id(d, before, sizeof(before));
	snprintf(cmd, sizeof(cmd), "/ipv6 neighbor remove %s", before);
	assert_int_equal(conf_exec(&s, cmd, NULL, &e), 0);
	assert_int_equal(nb_left(d), 0);
	nd_learn(d, lan, a2, host_mac, 2 * SEC);
	assert_int_equal(nb_left(d), 2);
	nb_id(d, after, sizeof(after));
	assert_string_not_equal(before, after);
	assert_int_equal(conf_exec(&s, cmd, NULL, &e), -1); /* the old id is gone for good */
	assert_int_equal(nb_left(d), 2);
	uint8_t a9[16];
	nb_addr(a9, 9);
	ndropped = 0;
	assert_false(nd_resolve(d, lan, a9, &pkts[4], mac, 3 * SEC));
	assert_int_equal(conf_exec(&s, "/ipv6 neighbor remove [find address=2001:db8::a9]", NULL,
				   &e), 0);
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], 4);
	nd_tick(d, 10 * SEC);
	assert_int_equal(ndropped, 1);
	conf_drop_ctx(d);
	conf_session_free(&s);
	store_close(st);
	nd_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers_for_own_addresses),
		cmocka_unit_test(test_duplicate_address_detection),
		cmocka_unit_test(test_invalid_discarded),
		cmocka_unit_test(test_resolve_with_queue),
		cmocka_unit_test(test_advertisement_rules),
		cmocka_unit_test(test_retries_then_unreachable),
		cmocka_unit_test(test_groups_and_learning),
		cmocka_unit_test(test_router_flag),
		cmocka_unit_test(test_print_router),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_relearn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
