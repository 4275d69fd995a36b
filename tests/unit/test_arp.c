/*
 * ARP of the live dataplane, in virtual time: answers for the router's
 * addresses, resolution with a wait queue, retries and give-up, ageing and
 * probes, and that every waiting packet comes back exactly once; static
 * and published entries, and the interfaces' arp= modes.
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
#include "conf/store.h"
#include "engine/names.h"
#include "conf/runtime.h"
#include "io/arp.h"
#include "io/neigh_conf.h"
#include "mgmt/mgmt.h"
#include "mgmt/rest.h"
#include "util/sbuf.h"

#define SEC 1000000000ull
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
#define OUR_IP IP(192, 168, 88, 1)
#define HOST_IP IP(192, 168, 88, 10)

struct sent {
	uint16_t ifid;
	uint8_t f[ARP_FRAME_LEN];
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

static bool is_mine(void *ctx, uint16_t ifid, uint32_t a)
{
	return ifid == 1 && a == OUR_IP;
}

static uint32_t src_addr(void *ctx, uint16_t ifid, uint32_t t)
{
	return ifid == 1 ? OUR_IP : 0;
}

static const uint8_t *mac_of(void *ctx, uint16_t ifid)
{
	return our_mac;
}

static void send_fn(void *ctx, uint16_t ifid, const uint8_t *f, uint32_t len)
{
	assert_int_equal(len, ARP_FRAME_LEN);
	if (nsent < 64) {
		sent[nsent].ifid = ifid;
		memcpy(sent[nsent].f, f, len);
	}
	nsent++;
}

static void resolved_fn(void *ctx, uint16_t ifid, void *pkt, const uint8_t mac[6])
{
	assert_memory_equal(mac, host_mac, 6);
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

static struct arp *mk(void)
{
	nsent = 0;
	nresolved = ndropped = nunreach = 0;
	for (int i = 0; i < NPKTS; i++)
		pkts[i] = i;
	pkt_size = NEIGH_QUEUE_BYTES / 3;
	struct arp_ops o = { NULL, is_mine, src_addr, mac_of, send_fn, resolved_fn, dropped_fn,
			     NULL, size_fn };
	return arp_new(&o);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8),
	b[3] = (uint8_t)v;
}

/* An ARP frame from the host. */
static void frame(uint8_t *f, uint16_t op, const uint8_t *sha, uint32_t spa, uint32_t tpa)
{
	memset(f, 0, ARP_FRAME_LEN);
	memcpy(f, op == 1 ? bcast : our_mac, 6);
	memcpy(f + 6, sha, 6);
	f[12] = 0x08, f[13] = 0x06, f[15] = 1, f[16] = 0x08, f[18] = 6, f[19] = 4;
	f[21] = (uint8_t)op;
	memcpy(f + 22, sha, 6);
	put32(f + 28, spa);
	put32(f + 38, tpa);
}

static void test_answers_for_own_address(void **state)
{
	struct arp *a = mk();
	uint8_t f[ARP_FRAME_LEN];
	frame(f, 1, host_mac, HOST_IP, OUR_IP);
	arp_input(a, 1, f, sizeof(f), SEC);
	assert_int_equal(nsent, 1);
	const uint8_t *r = sent[0].f;
	assert_memory_equal(r, host_mac, 6);       /* unicast back */
	assert_memory_equal(r + 6, our_mac, 6);
	assert_int_equal(r[21], 2);                /* reply */
	assert_memory_equal(r + 22, our_mac, 6);
	assert_int_equal(get32(r + 28), OUR_IP);
	assert_memory_equal(r + 32, host_mac, 6);
	assert_int_equal(get32(r + 38), HOST_IP);
	/* the requester is known now: no request needed to reach it */
	uint8_t mac[6];
	assert_true(arp_resolve(a, 1, HOST_IP, NULL, mac, 2 * SEC));
	assert_memory_equal(mac, host_mac, 6);
	assert_int_equal(nsent, 1);

	/* not ours (another address, or ours on another interface): silence */
	frame(f, 1, host_mac, IP(192, 168, 88, 11), IP(192, 168, 88, 99));
	arp_input(a, 1, f, sizeof(f), SEC);
	frame(f, 1, host_mac, HOST_IP, OUR_IP);
	arp_input(a, 2, f, sizeof(f), SEC);
	assert_int_equal(nsent, 1);
	assert_false(arp_resolve(a, 1, IP(192, 168, 88, 11), NULL, mac, 2 * SEC));
	arp_free(a);
}

static void test_probe_and_malformed(void **state)
{
	struct arp *a = mk();
	uint8_t f[ARP_FRAME_LEN];
	/* an address probe (sender 0.0.0.0) is answered, nothing learned */
	frame(f, 1, host_mac, 0, OUR_IP);
	arp_input(a, 1, f, sizeof(f), SEC);
	assert_int_equal(nsent, 1);
	struct arp_info info[4];
	assert_int_equal(arp_list(a, info, 4), 0);
	/* short, wrong hardware type, group sender: counted, ignored */
	arp_input(a, 1, f, 41, SEC);
	frame(f, 1, host_mac, HOST_IP, OUR_IP);
	f[15] = 6;
	arp_input(a, 1, f, sizeof(f), SEC);
	frame(f, 1, bcast, HOST_IP, OUR_IP);
	arp_input(a, 1, f, sizeof(f), SEC);
	assert_int_equal(arp_stats(a)->bad, 3);
	assert_int_equal(nsent, 1);
	arp_free(a);
}

static void test_resolve_with_queue(void **state)
{
	struct arp *a = mk();
	uint8_t mac[6];
	for (int i = 0; i < 4; i++)
		assert_false(arp_resolve(a, 1, HOST_IP, &pkts[i], mac, SEC));
	/* one broadcast request, from our address */
	assert_int_equal(nsent, 1);
	assert_memory_equal(sent[0].f, bcast, 6);
	assert_int_equal(sent[0].f[21], 1);
	assert_int_equal(get32(sent[0].f + 28), OUR_IP);
	assert_int_equal(get32(sent[0].f + 38), HOST_IP);
	/* the fourth pushed the first out */
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], 0);
	assert_int_equal(nunreach, 0);
	uint8_t f[ARP_FRAME_LEN];
	frame(f, 2, host_mac, HOST_IP, OUR_IP);
	arp_input(a, 1, f, sizeof(f), SEC + SEC / 10);
	assert_int_equal(nresolved, 3);
	assert_int_equal(resolved[0], 1);
	assert_int_equal(resolved[1], 2);
	assert_int_equal(resolved[2], 3);
	assert_true(arp_resolve(a, 1, HOST_IP, &pkts[5], mac, 2 * SEC));
	assert_memory_equal(mac, host_mac, 6);
	assert_int_equal(arp_stats(a)->queue_drops, 1);
	arp_free(a);
	assert_int_equal(ndropped, 1);
}

/* A neighbour's answer, from ip at host_mac. */
static void answer(struct arp *a, uint32_t ip, uint64_t now)
{
	uint8_t f[ARP_FRAME_LEN];
	frame(f, 2, host_mac, ip, OUR_IP);
	arp_input(a, 1, f, sizeof(f), now);
}

/* The wait queues are bounded by bytes, as Linux's unres_qlen_bytes: a
 * burst of 50 full-size frames waits whole and leaves in order; past an
 * entry's bound, the table's bytes or its slots, the oldest goes. */
static void test_queue_bounded_by_bytes(void **state)
{
	static const struct {
		const char *what;
		uint32_t size, nhops, per_hop;  /* nhops next hops, per_hop packets each */
		uint32_t drops;                 /* the oldest, pushed out */
	} cases[] = {
		{ "a burst of 50", 2056, 1, 50, 0 },
		{ "an entry's bytes", 2056, 1, 110, 110 - NEIGH_QUEUE_BYTES / 2056 },
		{ "the table's bytes", 2056, 600, 1, 600 - NEIGH_QUEUE_TOTAL_BYTES / 2056 },
		{ "the table's slots", 64, 1, 1100, 1100 - NEIGH_QUEUE_SLOTS },
		{ "a packet over the bound alone", NEIGH_QUEUE_BYTES + 1, 1, 3, 2 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct arp *a = mk();
		pkt_size = cases[c].size;
		uint8_t mac[6];
		uint32_t total = cases[c].nhops * cases[c].per_hop;
		for (uint32_t h = 0; h < cases[c].nhops; h++)
			for (uint32_t k = 0; k < cases[c].per_hop; k++) {
				uint32_t ip = IP(10, 0, h >> 8, h & 0xff);
				int *pkt = &pkts[h * cases[c].per_hop + k];
				assert_false(arp_resolve(a, 1, ip, pkt, mac, SEC));
			}
		if ((uint32_t)ndropped != cases[c].drops)
			fail_msg("%s: %d dropped, not %u", cases[c].what, ndropped, cases[c].drops);
		assert_int_equal(nunreach, 0);
		assert_int_equal(arp_stats(a)->queue_drops, cases[c].drops);
		assert_int_equal(arp_stats(a)->queued, total);
		for (int i = 0; i < ndropped; i++)
			assert_int_equal(dropped[i], i); /* the oldest first */
		for (uint32_t h = 0; h < cases[c].nhops; h++)
			answer(a, IP(10, 0, h >> 8, h & 0xff), SEC + SEC / 10);
		/* the others leave as they came */
		if ((uint32_t)nresolved != total - cases[c].drops)
			fail_msg("%s: %d resolved", cases[c].what, nresolved);
		for (int i = 0; i < nresolved; i++)
			assert_int_equal(resolved[i], (int)cases[c].drops + i);
		arp_free(a);
		assert_int_equal(ndropped, cases[c].drops);
	}
}

/* What the table's bound pushes out is the oldest of the whole table; what
 * still waits is given up as unreachable when its next hop stays silent,
 * and the room is free again for the next. */
static void test_queue_table_oldest_then_unreachable(void **state)
{
	struct arp *a = mk();
	pkt_size = 2056;
	const uint32_t room = NEIGH_QUEUE_TOTAL_BYTES / 2056; /* 510 */
	uint8_t mac[6];
	/* two to a dead next hop, then room - 1 to six others (100 at most
	 * each, under an entry's bound): the dead one's first goes */
	assert_false(arp_resolve(a, 1, IP(10, 0, 0, 1), &pkts[0], mac, SEC));
	assert_false(arp_resolve(a, 1, IP(10, 0, 0, 1), &pkts[1], mac, SEC));
	for (uint32_t k = 2; k < room + 1; k++)
		assert_false(arp_resolve(a, 1, IP(10, 0, 1, (k - 2) / 100), &pkts[k], mac, SEC));
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], 0);
	for (uint32_t h = 0; h <= (room - 2) / 100; h++)
		answer(a, IP(10, 0, 1, h), SEC + SEC / 10);
	assert_int_equal(nresolved, room - 1);
	for (int k = 0; k < nresolved; k++)
		assert_int_equal(resolved[k], k + 2);
	for (uint64_t t = SEC; t <= 5 * SEC; t += SEC / 10)
		arp_tick(a, t);
	assert_int_equal(ndropped, 2);
	assert_int_equal(dropped[1], 1);
	assert_int_equal(nunreach, 1);
	/* all the room is back: as many wait again without a drop */
	for (uint32_t k = 0; k < room; k++)
		assert_false(arp_resolve(a, 1, IP(10, 0, 2, k / 100), &pkts[k], mac, 6 * SEC));
	assert_int_equal(ndropped, 2);
	arp_free(a);
	assert_int_equal(ndropped, 2 + room);
}

static void test_retries_then_unreachable(void **state)
{
	struct arp *a = mk();
	uint8_t mac[6];
	assert_false(arp_resolve(a, 1, HOST_IP, &pkts[1], mac, 10 * SEC));
	assert_false(arp_resolve(a, 1, HOST_IP, &pkts[2], mac, 10 * SEC));
	for (uint64_t t = 10 * SEC; t < 13 * SEC; t += SEC / 10)
		arp_tick(a, t);
	assert_int_equal(nsent, 3); /* at 10, 11 and 12 s */
	assert_int_equal(ndropped, 0);
	arp_tick(a, 13 * SEC);
	assert_int_equal(ndropped, 2);
	assert_int_equal(nunreach, 2);
	assert_int_equal(arp_stats(a)->unreachable, 2);
	/* forgotten: the next packet asks again */
	assert_false(arp_resolve(a, 1, HOST_IP, &pkts[3], mac, 14 * SEC));
	assert_int_equal(nsent, 4);
	arp_free(a);
	assert_int_equal(ndropped, 3);
	assert_int_equal(nunreach, 2);
}

static void test_stale_probes(void **state)
{
	struct arp *a = mk();
	uint8_t f[ARP_FRAME_LEN], mac[6];
	frame(f, 1, host_mac, HOST_IP, OUR_IP);
	arp_input(a, 1, f, sizeof(f), SEC);
	nsent = 0;
	arp_tick(a, 20 * SEC);
	assert_true(arp_resolve(a, 1, HOST_IP, NULL, mac, 20 * SEC));
	assert_int_equal(nsent, 0); /* reachable: no traffic */
	arp_tick(a, 32 * SEC);
	struct arp_info info[2];
	assert_int_equal(arp_list(a, info, 2), 1);
	assert_int_equal(info[0].state, ARP_STALE);
	/* a stale entry still carries traffic and is probed, unicast */
	assert_true(arp_resolve(a, 1, HOST_IP, NULL, mac, 33 * SEC));
	assert_int_equal(nsent, 1);
	assert_memory_equal(sent[0].f, host_mac, 6);
	/* the answer makes it reachable again */
	frame(f, 2, host_mac, HOST_IP, OUR_IP);
	arp_input(a, 1, f, sizeof(f), 33 * SEC + SEC / 2);
	arp_list(a, info, 2);
	assert_int_equal(info[0].state, ARP_REACHABLE);
	/* silence: after 3 probes the neighbour is forgotten */
	arp_tick(a, 70 * SEC);
	assert_true(arp_resolve(a, 1, HOST_IP, NULL, mac, 70 * SEC));
	for (uint64_t t = 70 * SEC; t <= 74 * SEC; t += SEC / 2)
		arp_tick(a, t);
	assert_int_equal(nsent, 1 + ARP_PROBES);
	assert_int_equal(arp_list(a, info, 2), 0);
	assert_false(arp_resolve(a, 1, HOST_IP, NULL, mac, 75 * SEC));
	arp_free(a);
}

static void test_flush_and_free(void **state)
{
	struct arp *a = mk();
	uint8_t mac[6];
	assert_false(arp_resolve(a, 1, HOST_IP, &pkts[1], mac, SEC));
	assert_false(arp_resolve(a, 2, HOST_IP, &pkts[2], mac, SEC));
	arp_flush_if(a, 1);
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], 1);
	arp_free(a);
	assert_int_equal(ndropped, 2);
	assert_int_equal(dropped[1], 2);
	assert_int_equal(nunreach, 0);
}

static void test_table_full(void **state)
{
	struct arp *a = mk();
	uint8_t mac[6];
	for (uint32_t i = 0; i < ARP_MAX_ENTRIES; i++)
		assert_false(arp_resolve(a, 1, IP(10, 0, 0, 0) + i, NULL, mac, SEC));
	assert_false(arp_resolve(a, 1, HOST_IP, &pkts[4], mac, SEC));
	assert_int_equal(ndropped, 1);
	assert_int_equal(arp_stats(a)->table_full, 1);
	/* the unanswered ones are given up and their entries come back */
	for (uint64_t t = SEC; t <= 5 * SEC; t += SEC)
		arp_tick(a, t);
	assert_false(arp_resolve(a, 1, HOST_IP, &pkts[5], mac, 6 * SEC));
	assert_int_equal(ndropped, 1);
	arp_free(a);
	assert_int_equal(ndropped, 2);
}

static const uint8_t static_mac[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };

/* A static entry resolves at once, is never asked for, never ages, and what
 * a neighbour says does not change it. */
static void test_static_entry(void **state)
{
	struct arp *a = mk();
	struct arp_static st = { 1, HOST_IP, { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 }, false };
	assert_int_equal(arp_load_static(a, &st, 1), 1);
	uint8_t mac[6], f[ARP_FRAME_LEN];
	assert_true(arp_resolve(a, 1, HOST_IP, &pkts[1], mac, SEC));
	assert_memory_equal(mac, static_mac, 6);
	/* another MAC claims the address: the configuration wins */
	frame(f, 2, host_mac, HOST_IP, OUR_IP);
	arp_input(a, 1, f, sizeof(f), 2 * SEC);
	for (uint64_t t = 2 * SEC; t <= 1000 * SEC; t += 7 * SEC) {
		arp_tick(a, t);
		assert_true(arp_resolve(a, 1, HOST_IP, NULL, mac, t));
		assert_memory_equal(mac, static_mac, 6);
	}
	assert_int_equal(nsent, 0);
	assert_int_equal(ndropped + nresolved, 0);
	/* the link bouncing keeps it */
	arp_flush_if(a, 1);
	struct arp_info info[2];
	assert_int_equal(arp_list(a, info, 2), 1);
	assert_int_equal(info[0].state, ARP_STATIC);
	assert_string_equal(arp_state_name(info[0].state), "static");
	/* only on its interface */
	assert_false(arp_resolve(a, 2, HOST_IP, NULL, mac, 1001 * SEC));
	assert_int_equal(nsent, 1);
	arp_free(a);
}

/* Loading the configuration again forgets removed static entries and lets
 * packets that waited for a new one leave at once. */
static void test_static_reload(void **state)
{
	struct arp *a = mk();
	uint8_t mac[6];
	assert_false(arp_resolve(a, 1, HOST_IP, &pkts[1], mac, SEC));
	struct arp_static st = { 1, HOST_IP, { 0x02, 0, 0, 0, 0, 0x10 }, false };
	assert_int_equal(arp_load_static(a, &st, 1), 1);
	assert_int_equal(nresolved, 1);
	assert_int_equal(resolved[0], 1);
	assert_int_equal(arp_load_static(a, NULL, 0), 0);
	struct arp_info info[2];
	assert_int_equal(arp_list(a, info, 2), 0);
	/* a dynamic entry again: asked for */
	nsent = 0;
	assert_false(arp_resolve(a, 1, HOST_IP, NULL, mac, 2 * SEC));
	assert_int_equal(nsent, 1);
	arp_free(a);
}

/* A published entry is answered for with its own MAC. */
static void test_published(void **state)
{
	struct arp *a = mk();
	struct arp_static st = { 1, IP(192, 168, 88, 77), { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 },
				 true };
	arp_load_static(a, &st, 1);
	uint8_t f[ARP_FRAME_LEN];
	frame(f, 1, host_mac, HOST_IP, IP(192, 168, 88, 77));
	arp_input(a, 1, f, sizeof(f), SEC);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].f[21], 2);
	assert_memory_equal(sent[0].f + 6, our_mac, 6);
	assert_memory_equal(sent[0].f + 22, static_mac, 6);
	assert_int_equal(get32(sent[0].f + 28), IP(192, 168, 88, 77));
	/* not on another interface */
	arp_input(a, 2, f, sizeof(f), SEC);
	assert_int_equal(nsent, 1);
	arp_free(a);
}

/* arp=reply-only and arp=disabled, table-driven: who is answered, what is
 * learnt, what resolves. */
static void test_modes(void **state)
{
	static const struct {
		enum arp_mode mode;
		size_t replies;    /* to a request for our address */
		bool learns;       /* the asker is in the table after */
		bool dynamic_ok;   /* a known dynamic neighbour resolves */
	} cases[] = {
		{ ARP_MODE_ENABLED, 1, true, true },
		{ ARP_MODE_REPLY_ONLY, 1, false, false },
		{ ARP_MODE_DISABLED, 0, false, false },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct arp *a = mk();
		uint8_t f[ARP_FRAME_LEN], mac[6];
		struct arp_static st = { 1, IP(192, 168, 88, 50),
					 { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 }, false };
		arp_load_static(a, &st, 1);
		/* learnt while enabled: the mode's change forgets it */
		frame(f, 2, host_mac, IP(192, 168, 88, 20), OUR_IP);
		assert_false(arp_resolve(a, 1, IP(192, 168, 88, 20), NULL, mac, SEC));
		arp_input(a, 1, f, sizeof(f), SEC);
		arp_set_mode(a, 1, cases[c].mode);
		nsent = 0;
		frame(f, 1, host_mac, HOST_IP, OUR_IP);
		arp_input(a, 1, f, sizeof(f), 2 * SEC);
		assert_int_equal(nsent, cases[c].replies);
		struct arp_info info[4];
		size_t n = arp_list(a, info, 4);
		bool learnt = false;
		for (size_t i = 0; i < n; i++)
			learnt |= info[i].ip == HOST_IP;
		assert_int_equal(learnt, cases[c].learns);
		assert_int_equal(arp_resolve(a, 1, IP(192, 168, 88, 20), NULL, mac, 2 * SEC),
				 cases[c].dynamic_ok);
		/* the static entry resolves in every mode */
		assert_true(arp_resolve(a, 1, IP(192, 168, 88, 50), &pkts[1], mac, 2 * SEC));
		assert_memory_equal(mac, static_mac, 6);
		if (cases[c].mode != ARP_MODE_ENABLED) {
			/* no static entry: given up at once, nothing asked */
			nsent = 0;
			assert_false(arp_resolve(a, 1, IP(192, 168, 88, 99), &pkts[2], mac,
						 3 * SEC));
			assert_int_equal(nsent, 0);
			assert_int_equal(ndropped, 1);
			assert_int_equal(nunreach, 1);
			assert_int_equal(arp_stats(a)->no_static, 1);
			/* other interfaces are not affected */
			assert_false(arp_resolve(a, 2, IP(192, 168, 88, 99), NULL, mac, 3 * SEC));
			assert_int_equal(nsent, 1);
			/* back to enabled: it asks again */
			arp_set_mode(a, 1, ARP_MODE_ENABLED);
			assert_false(arp_resolve(a, 1, IP(192, 168, 88, 99), NULL, mac, 4 * SEC));
			assert_int_equal(nsent, 2);
		}
		if (cases[c].mode == ARP_MODE_DISABLED)
			assert_int_equal(arp_stats(a)->ignored, 1);
		arp_free(a);
	}
}

/* The configuration into the table (neigh_conf_load) and the table into
 * /ip/arp's dynamic items (neigh_conf_arp_items). */
static void test_conf_load_and_items(void **state)
{
	struct store *st;
	struct conf_session s;
	struct err e;
	err_clear(&e);
	assert_int_equal(store_open(&st, ":memory:", &e), 0);
	conf_session_init(&s, st, "tester");
	assert_int_equal(conf_store_init(&s, true, &e), 0);
	static const char *const cmds[] = {
		"/ip arp add address=192.168.88.50 mac-address=00:11:22:33:44:55 "
		"interface=ether2-master-local",
		"/ip arp add address=192.168.88.51 mac-address=00:11:22:33:44:56 "
		"interface=ether2-master-local disabled=yes",
		"/ip arp add address=192.168.88.77 mac-address=00:11:22:33:44:55 "
		"interface=ether2-master-local published=yes",
		"/interface ethernet set [ find default-name=ether2 ] arp=reply-only",
		"/interface ethernet set [ find default-name=ether3 ] arp=disabled",
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (conf_exec(&s, cmds[i], NULL, &e) != 0)
			fail_msg("%s: %s", cmds[i], e.msg);
	struct arp *a = mk();
	static const char *const names[] = { "ether1-gateway", "ether2-master-local", "ether3" };
	uint16_t ifids[3];
	for (int i = 0; i < 3; i++)
		ifids[i] = (uint16_t)name_intern(NS_IFACE, names[i]);
	neigh_conf_load(a, st, names, ifids, 3);
	uint8_t mac[6], f[ARP_FRAME_LEN];
	/* the enabled static entry, not the disabled one; reply-only: no asking */
	assert_true(arp_resolve(a, ifids[1], IP(192, 168, 88, 50), NULL, mac, SEC));
	assert_memory_equal(mac, static_mac, 6);
	assert_false(arp_resolve(a, ifids[1], IP(192, 168, 88, 51), NULL, mac, SEC));
	assert_int_equal(nsent, 0);
	/* published: answered for */
	frame(f, 1, host_mac, HOST_IP, IP(192, 168, 88, 77));
	arp_input(a, ifids[1], f, sizeof(f), SEC);
	assert_int_equal(nsent, 1);
	/* arp=disabled on ether3: not even read */
	arp_input(a, ifids[2], f, sizeof(f), SEC);
	assert_int_equal(arp_stats(a)->ignored, 1);
	/* ether1 is enabled: a learnt neighbour becomes a D, C item */
	frame(f, 1, host_mac, IP(203, 0, 113, 1), OUR_IP);
	arp_input(a, ifids[0], f, sizeof(f), SEC);
	assert_false(arp_resolve(a, ifids[0], IP(203, 0, 113, 9), NULL, mac, SEC));
	const struct menu *m = schema_find("/ip/arp");
	struct item **items;
	size_t n;
	neigh_conf_arp_items(a, m, &items, &n);
	assert_int_equal(n, 2); /* the static entries are the store's */
	for (size_t i = 0; i < n; i++) {
		const char *ip = item_get(m, items[i], "address");
		assert_string_equal(item_get(m, items[i], "dynamic"), "yes");
		assert_string_equal(item_get(m, items[i], "interface"), "ether1-gateway");
		assert_true(items[i]->id >= NEIGH_CONF_DYN_ID);
		if (!strcmp(ip, "203.0.113.1")) {
			assert_string_equal(item_get(m, items[i], "mac-address"),
					    "02:00:00:00:00:10");
			assert_string_equal(item_get(m, items[i], "complete"), "yes");
		} else {
			assert_string_equal(ip, "203.0.113.9"); /* being asked for */
			assert_null(item_get(m, items[i], "mac-address"));
			assert_string_equal(item_get(m, items[i], "status"), "incomplete");
		}
		item_free(m, items[i]);
	}
	free(items);
	/* the configuration changes: entries and modes follow */
	assert_int_equal(conf_exec(&s, "/ip arp remove [ find address=192.168.88.50 ]", NULL, &e),
			 0);
	assert_int_equal(conf_exec(&s, "/interface ethernet set [ find default-name=ether2 ] "
				       "arp=enabled", NULL, &e), 0);
	neigh_conf_load(a, st, names, ifids, 3);
	nsent = 0;
	assert_false(arp_resolve(a, ifids[1], IP(192, 168, 88, 50), NULL, mac, 2 * SEC));
	assert_int_equal(nsent, 1);
	arp_free(a);
	conf_session_free(&s);
	store_close(st);
}

/* The router's routes as proxy ARP sees them: 10.1.0.0/16 out of
 * interface net10_if (2), 192.168.88.0/24 (its broadcast address excluded) out of 1,
 * nothing else. */
static uint16_t net10_if = 2;

static uint16_t route_if(void *ctx, uint32_t addr)
{
	if ((addr >> 16) == IP(10, 1, 0, 0) >> 16)
		return net10_if;
	if ((addr >> 8) == IP(192, 168, 88, 0) >> 8 && (addr & 0xff) != 0xff)
		return 1;
	return 0;
}

/* proxy-arp and local-proxy-arp, table-driven: a request on interface 1
 * from spa for tpa is answered with the router's MAC, or not at all. */
static void test_proxy_modes(void **state)
{
	static const struct {
		enum arp_mode mode;
		uint16_t op;
		uint32_t spa, tpa;
		bool reply;
	} cases[] = {
		/* proxy-arp: routed out of another interface */
		{ ARP_MODE_PROXY, 1, HOST_IP, IP(10, 1, 2, 3), true },
		{ ARP_MODE_PROXY, 1, HOST_IP, IP(192, 168, 88, 20), false }, /* same one */
		{ ARP_MODE_PROXY, 1, HOST_IP, IP(172, 16, 0, 1), false },    /* no route */
		{ ARP_MODE_PROXY, 1, IP(10, 1, 2, 3), IP(10, 1, 2, 3), false }, /* its own */
		{ ARP_MODE_PROXY, 1, 0, IP(10, 1, 2, 3), false },            /* a probe */
		{ ARP_MODE_PROXY, 2, HOST_IP, IP(10, 1, 2, 3), false },      /* a reply */
		{ ARP_MODE_PROXY, 1, HOST_IP, OUR_IP, true },                /* ours, as ever */
		/* local-proxy-arp: routed back out of the same one */
		{ ARP_MODE_LOCAL_PROXY, 1, HOST_IP, IP(192, 168, 88, 20), true },
		{ ARP_MODE_LOCAL_PROXY, 1, HOST_IP, IP(10, 1, 2, 3), false },
		{ ARP_MODE_LOCAL_PROXY, 1, HOST_IP, HOST_IP, false },        /* its own */
		{ ARP_MODE_LOCAL_PROXY, 1, HOST_IP, IP(192, 168, 88, 255), false }, /* bcast */
		{ ARP_MODE_LOCAL_PROXY, 1, HOST_IP, IP(224, 0, 0, 1), false },
		{ ARP_MODE_LOCAL_PROXY, 1, 0, IP(192, 168, 88, 20), false },
		/* the other modes answer for the router's addresses only */
		{ ARP_MODE_ENABLED, 1, HOST_IP, IP(10, 1, 2, 3), false },
		{ ARP_MODE_ENABLED, 1, HOST_IP, IP(192, 168, 88, 20), false },
		{ ARP_MODE_REPLY_ONLY, 1, HOST_IP, IP(10, 1, 2, 3), false },
		{ ARP_MODE_DISABLED, 1, HOST_IP, IP(10, 1, 2, 3), false },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		nsent = 0;
		struct arp_ops o = { NULL, is_mine, src_addr, mac_of, send_fn, resolved_fn,
				     dropped_fn, route_if, size_fn };
		struct arp *a = arp_new(&o);
		arp_set_mode(a, 1, cases[c].mode);
		uint8_t f[ARP_FRAME_LEN];
		frame(f, cases[c].op, host_mac, cases[c].spa, cases[c].tpa);
		arp_input(a, 1, f, sizeof(f), SEC);
		if (nsent != (cases[c].reply ? 1u : 0u))
			fail_msg("case %zu: %zu frames sent", c, nsent);
		bool proxy = cases[c].reply && cases[c].tpa != OUR_IP;
		assert_int_equal(arp_stats(a)->proxied, proxy);
		if (cases[c].reply) {
			const uint8_t *r = sent[0].f;
			assert_int_equal(sent[0].ifid, 1);
			assert_int_equal(r[21], 2);
			assert_memory_equal(r, host_mac, 6);
			assert_memory_equal(r + 22, our_mac, 6); /* the router's MAC */
			assert_int_equal(get32(r + 28), cases[c].tpa);
			assert_int_equal(get32(r + 38), cases[c].spa);
		}
		if (proxy) { /* the asker, about to send through us, is known */
			struct arp_info info[2];
			assert_int_equal(arp_list(a, info, 2), 1);
			assert_int_equal(info[0].ip, cases[c].spa);
		}
		arp_free(a);
	}
}

/* A proxy mode learns and resolves as enabled does; moving between them
 * keeps what was learnt, going to reply-only forgets it. */
static void test_proxy_learns(void **state)
{
	struct arp *a = mk();
	uint8_t f[ARP_FRAME_LEN], mac[6];
	arp_set_mode(a, 1, ARP_MODE_PROXY);
	arp_set_mode(a, 2, ARP_MODE_REPLY_ONLY);
	assert_false(arp_resolve(a, 1, HOST_IP, &pkts[1], mac, SEC));
	assert_int_equal(nsent, 1);
	frame(f, 2, host_mac, HOST_IP, OUR_IP);
	arp_input(a, 1, f, sizeof(f), SEC);
	assert_int_equal(nresolved, 1);
	arp_set_mode(a, 1, ARP_MODE_LOCAL_PROXY);
	assert_true(arp_resolve(a, 1, HOST_IP, NULL, mac, 2 * SEC));
	arp_set_mode(a, 1, ARP_MODE_ENABLED);
	assert_true(arp_resolve(a, 1, HOST_IP, NULL, mac, 2 * SEC));
	arp_set_mode(a, 1, ARP_MODE_REPLY_ONLY);
	assert_false(arp_resolve(a, 1, HOST_IP, NULL, mac, 3 * SEC));
	arp_set_mode(a, 2, ARP_MODE_LOCAL_PROXY);
	arp_set_mode(a, 1, ARP_MODE_PROXY);
	nsent = 0;
	assert_false(arp_resolve(a, 1, HOST_IP, NULL, mac, 4 * SEC));
	assert_int_equal(nsent, 1); /* asked for again */
	arp_free(a);
}

/* The interface's arp= as the configuration words it, into the table's
 * modes (neigh_conf_load): who answers a request for 10.1.2.3 on ether3. */
static void test_conf_modes(void **state)
{
	static const struct {
		const char *arp;
		bool routed_here;   /* 10.1.0.0/16 out of ether3 itself */
		size_t replies;
	} cases[] = {
		{ "enabled", false, 0 },         { "proxy-arp", false, 1 },
		{ "proxy-arp", true, 0 },        { "local-proxy-arp", true, 1 },
		{ "local-proxy-arp", false, 0 }, { "reply-only", false, 0 },
		{ "disabled", true, 0 },
	};
	static const char *const names[] = { "ether3" };
	uint16_t ifid = (uint16_t)name_intern(NS_IFACE, names[0]);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct store *st;
		struct conf_session s;
		struct err e;
		char cmd[128];
		err_clear(&e);
		assert_int_equal(store_open(&st, ":memory:", &e), 0);
		conf_session_init(&s, st, "tester");
		assert_int_equal(conf_store_init(&s, true, &e), 0);
		snprintf(cmd, sizeof(cmd), "/interface ethernet set [ find default-name=ether3 ] arp=%s",
			 cases[c].arp);
		if (conf_exec(&s, cmd, NULL, &e) != 0)
			fail_msg("%s: %s", cmd, e.msg);
		nsent = 0;
		net10_if = cases[c].routed_here ? ifid : 2;
		struct arp_ops o = { NULL, is_mine, src_addr, mac_of, send_fn, resolved_fn,
				     dropped_fn, route_if, size_fn };
		struct arp *a = arp_new(&o);
		neigh_conf_load(a, st, names, &ifid, 1);
		uint8_t f[ARP_FRAME_LEN];
		frame(f, 1, host_mac, HOST_IP, IP(10, 1, 2, 3));
		arp_input(a, ifid, f, sizeof(f), SEC);
		if (nsent != cases[c].replies)
			fail_msg("arp=%s: %zu replies", cases[c].arp, nsent);
		arp_free(a);
		conf_session_free(&s);
		store_close(st);
	}
	net10_if = 2;
}

/* ---- /ip arp remove of learnt entries ---- */

static int live_items(void *ctx, struct conf_session *s, const struct menu *m,
		      struct item ***items, size_t *n)
{
	neigh_conf_arp_items(ctx, m, items, n);
	return 0;
}

static int live_remove(void *ctx, const struct menu *m, uint32_t id, struct err *e)
{
	return neigh_conf_arp_remove(ctx, id, e);
}

/* A router with one static entry (192.168.88.50 on ether2) and three
 * learnt neighbours on ether1: 203.0.113.1 to .3, answered in that order. */
struct live {
	struct store *st;
	struct conf_session s;
	struct arp *a;
	uint16_t wan;
};

static void learn(struct arp *a, uint16_t ifid, uint32_t ip, uint64_t now)
{
	uint8_t f[ARP_FRAME_LEN], mac[6];
	arp_resolve(a, ifid, ip, NULL, mac, now);
	frame(f, 2, host_mac, ip, OUR_IP);
	arp_input(a, ifid, f, sizeof(f), now);
}

static void live_up(struct live *l, bool provided)
{
	struct err e;
	err_clear(&e);
	assert_int_equal(store_open(&l->st, ":memory:", &e), 0);
	conf_session_init(&l->s, l->st, "tester");
	assert_int_equal(conf_store_init(&l->s, true, &e), 0);
	if (conf_exec(&l->s, "/ip arp add address=192.168.88.50 mac-address=00:11:22:33:44:55 "
			     "interface=ether2-master-local", NULL, &e) != 0)
		fail_msg("%s", e.msg);
	l->a = mk();
	l->wan = (uint16_t)name_intern(NS_IFACE, "ether1-gateway");
	for (uint32_t i = 1; i <= 3; i++)
		learn(l->a, l->wan, IP(203, 0, 113, i), SEC);
	if (provided) {
		conf_set_provider("/ip/arp", live_items, l->a);
		conf_set_remove_hook("/ip/arp", live_remove, l->a);
	}
}

static void live_down(struct live *l)
{
	conf_drop_ctx(l->a);
	arp_free(l->a);
	conf_session_free(&l->s);
	store_close(l->st);
}

/* Which of .1, .2, .3 (bits 0..2) the table still has, and the static
 * entry (bit 3) the store. */
static unsigned live_left(struct live *l)
{
	unsigned left = 0;
	struct arp_info ai[8];
	size_t n = arp_list(l->a, ai, 8);
	for (size_t i = 0; i < n; i++)
		if (ai[i].state != ARP_STATIC && (ai[i].ip >> 8) == IP(203, 0, 113, 0) >> 8)
			left |= 1u << ((ai[i].ip & 0xff) - 1);
	const struct menu *m = schema_find("/ip/arp");
	for (size_t i = 0; i < store_count(l->st, m); i++)
		if (!strcmp(item_get(m, store_at(l->st, m, i), "address"), "192.168.88.50"))
			left |= 8;
	return left;
}

/* The id /ip arp gives the learnt entry of 203.0.113.k, as "*F..." text. */
static void live_id(struct live *l, uint32_t k, char *out, size_t len)
{
	const struct menu *m = schema_find("/ip/arp");
	struct item **items;
	size_t n;
	char want[32];
	snprintf(want, sizeof(want), "203.0.113.%u", k);
	snprintf(out, len, "*0");
	neigh_conf_arp_items(l->a, m, &items, &n);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(item_get(m, items[i], "address"), want))
			snprintf(out, len, "*%X", items[i]->id);
		item_free(m, items[i]);
	}
	free(items);
}

enum via { CONSOLE, API, REST };

/* Runs cmd (its %s: the id of 203.0.113.2) as the console, the API or REST
 * would: 0, or -1 with the error in e. */
static int live_run(struct live *l, enum via via, const char *cmd, struct err *e)
{
	char id[32], text[256];
	live_id(l, 2, id, sizeof(id));
	snprintf(text, sizeof(text), cmd, id);
	err_clear(e);
	if (via == CONSOLE)
		return conf_exec(&l->s, text, NULL, e);
	if (via == API) {
		struct mgmt_attr sel = { ".id", text };
		struct mgmt_result res = { 0 };
		int rc = mgmt_exec(&l->s, "/ip/arp", "remove", &sel, 1, &res, e);
		mgmt_result_free(&res);
		return rc;
	}
	struct rest_reply r;
	char target[300];
	snprintf(target, sizeof(target), "/rest/ip/arp/%s", text);
	rest_handle(&l->s, POL_ALL, "DELETE", target, "", 0, &r);
	int rc = r.status == 204 ? 0 : err_set(e, "%d %s", r.status, r.body ? r.body : "");
	rest_reply_free(&r);
	return rc;
}

/* remove on learnt entries, by the console, the API and REST, table-driven:
 * what goes, what stays, and that a failing command changes nothing. */
static void test_remove_dynamic(void **state)
{
	static const struct {
		enum via via;
		bool provided;      /* a live router: its table is /ip arp's */
		const char *cmd;
		int rc;
		unsigned left;      /* live_left after */
		const char *err;    /* part of the error */
	} cases[] = {
		{ CONSOLE, true, "/ip arp remove [find dynamic]", 0, 8, NULL },
		{ CONSOLE, true, "/ip arp remove [find dynamic=no]", 0, 7, NULL },
		{ CONSOLE, true, "/ip arp remove %s", 0, 8 | 5, NULL },
		{ CONSOLE, true, "/ip arp remove [find address=203.0.113.3]", 0, 8 | 3, NULL },
		/* print numbers: 0 is the static entry, 1 to 3 the learnt ones */
		{ CONSOLE, true, "/ip arp remove 0,2", 0, 5, NULL },
		{ CONSOLE, true, "/ip arp remove 2,%s", 0, 8 | 5, NULL }, /* twice */
		{ CONSOLE, true, "/ip arp remove *F0FFFFFF", -1, 15, "no such item" },
		{ CONSOLE, true, "/ip arp remove 0,%s,9", -1, 15, "no such item '9'" },
		{ CONSOLE, false, "/ip arp remove %s", -1, 15, "no such item" },
		{ CONSOLE, false, "/ip arp remove [find dynamic=no]", 0, 7, NULL },
		{ API, true, "%s", 0, 8 | 5, NULL },
		{ API, true, "*F0FFFFFF", -1, 15, "no such item" },
		{ API, false, "%s", -1, 15, "no such item" },
		{ REST, true, "%s", 0, 8 | 5, NULL },
		{ REST, true, "*F0FFFFFF", -1, 15, "404" },
		{ REST, false, "%s", -1, 15, "404" },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct live l;
		struct err e;
		live_up(&l, cases[c].provided);
		if (cases[c].via == CONSOLE && cases[c].cmd[15] != '*' && cases[c].cmd[15] != '[' &&
		    cases[c].cmd[15] != '%')
			assert_int_equal(conf_exec(&l.s, "/ip arp print", NULL, &e), 0);
		int rc = live_run(&l, cases[c].via, cases[c].cmd, &e);
		if (rc != cases[c].rc)
			fail_msg("case %zu (%s): rc %d: %s", c, cases[c].cmd, rc, e.msg);
		if (cases[c].err && !strstr(e.msg, cases[c].err))
			fail_msg("case %zu (%s): error '%s'", c, cases[c].cmd, e.msg);
		if (live_left(&l) != cases[c].left)
			fail_msg("case %zu (%s): left %#x, not %#x", c, cases[c].cmd, live_left(&l),
				 cases[c].left);
		live_down(&l);
	}
}

/* Whether the static entry's comment or disabled was changed. */
static bool static_changed(struct live *l)
{
	const struct menu *m = schema_find("/ip/arp");
	for (size_t i = 0; i < store_count(l->st, m); i++) {
		const struct item *it = store_at(l->st, m, i);
		const char *c = item_get(m, it, "comment"), *d = item_get(m, it, "disabled");
		if (c || (d && !strcmp(d, "yes")))
			return true;
	}
	return false;
}

/* set, unset, enable, disable and comment of a learnt entry are refused, as
 * RouterOS refuses to change a dynamic item, by the console, the API and
 * REST alike; a command that names a static entry too changes nothing. */
static void test_change_dynamic(void **state)
{
	static const struct {
		enum via via;
		bool provided;
		const char *cmd;    /* CONSOLE: the command; API: the verb; REST: the body */
		int rc;
		bool changed;       /* the static entry was changed */
		const char *err;
	} cases[] = {
		{ CONSOLE, true, "/ip arp set %s mac-address=02:00:00:00:00:99", -1, false,
		  "failure: can not change dynamic" },
		{ CONSOLE, true, "/ip arp set %s comment=x", -1, false, "can not change dynamic" },
		{ CONSOLE, true, "/ip arp unset %s comment", -1, false, "can not change dynamic" },
		{ CONSOLE, true, "/ip arp disable %s", -1, false, "can not change dynamic" },
		{ CONSOLE, true, "/ip arp enable %s", -1, false, "can not change dynamic" },
		{ CONSOLE, true, "/ip arp comment %s comment=x", -1, false, "can not change dynamic" },
		{ CONSOLE, true, "/ip arp comment [find] comment=x", -1, false,
		  "can not change dynamic" },
		{ CONSOLE, true, "/ip arp disable [find dynamic]", -1, false,
		  "can not change dynamic" },
		{ CONSOLE, true, "/ip arp disable 0,2", -1, false, "can not change dynamic" },
		{ CONSOLE, true, "/ip arp set *F0FFFFFF comment=x", -1, false, "no such item" },
		{ CONSOLE, true, "/ip arp set [find dynamic=no] comment=x", 0, true, NULL },
		{ CONSOLE, true, "/ip arp disable 0", 0, true, NULL },
		{ CONSOLE, false, "/ip arp set %s comment=x", -1, false, "no such item" },
		{ API, true, "set", -1, false, "can not change dynamic" },
		{ API, true, "disable", -1, false, "can not change dynamic" },
		{ API, true, "comment", -1, false, "can not change dynamic" },
		{ API, false, "set", -1, false, "no such item" },
		{ REST, true, "{\"comment\":\"x\"}", -1, false, "400" },
		{ REST, true, "{\"disabled\":\"yes\"}", -1, false, "can not change dynamic" },
		{ REST, false, "{\"comment\":\"x\"}", -1, false, "404" },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct live l;
		struct err e;
		char id[32], text[256];
		int rc;
		live_up(&l, cases[c].provided);
		live_id(&l, 2, id, sizeof(id));
		err_clear(&e);
		if (cases[c].via == CONSOLE) {
			assert_int_equal(conf_exec(&l.s, "/ip arp print", NULL, &e), 0);
			snprintf(text, sizeof(text), cases[c].cmd, id);
			rc = conf_exec(&l.s, text, NULL, &e);
		} else if (cases[c].via == API) {
			struct mgmt_attr attrs[] = { { ".id", id }, { "comment", "x" } };
			struct mgmt_result res = { 0 };
			size_t na = strcmp(cases[c].cmd, "disable") ? 2 : 1;
			rc = mgmt_exec(&l.s, "/ip/arp", cases[c].cmd, attrs, na, &res, &e);
			mgmt_result_free(&res);
		} else {
			struct rest_reply r;
			snprintf(text, sizeof(text), "/rest/ip/arp/%s", id);
			rest_handle(&l.s, POL_ALL, "PATCH", text, cases[c].cmd, strlen(cases[c].cmd),
				    &r);
			rc = r.status == 200 ? 0 : err_set(&e, "%d %s", r.status, r.body ? r.body : "");
			rest_reply_free(&r);
		}
		if (rc != cases[c].rc)
			fail_msg("case %zu (%s): rc %d: %s", c, cases[c].cmd, rc, e.msg);
		if (cases[c].err && !strstr(e.msg, cases[c].err))
			fail_msg("case %zu (%s): error '%s'", c, cases[c].cmd, e.msg);
		if (static_changed(&l) != cases[c].changed)
			fail_msg("case %zu (%s): static entry changed: %d", c, cases[c].cmd,
				 !cases[c].changed);
		if (live_left(&l) != 15)
			fail_msg("case %zu (%s): left %#x", c, cases[c].cmd, live_left(&l));
		live_down(&l);
	}
}

/* A removed entry is learnt again, under a new id; a packet that waited for
 * a removed incomplete one is given up, once. */
static void test_remove_relearn(void **state)
{
	struct live l;
	struct err e;
	char before[32], after[32];
	live_up(&l, true);
	live_id(&l, 2, before, sizeof(before));
	assert_int_equal(conf_exec(&l.s, "/ip arp remove [find address=203.0.113.2]", NULL, &e), 0);
	assert_int_equal(live_left(&l), 8 | 5);
	learn(l.a, l.wan, IP(203, 0, 113, 2), 2 * SEC);
	assert_int_equal(live_left(&l), 15);
	live_id(&l, 2, after, sizeof(after));
	assert_string_not_equal(before, after);
	/* the old id is gone for good */
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "/ip arp remove %s", before);
	assert_int_equal(conf_exec(&l.s, cmd, NULL, &e), -1);
	assert_int_equal(live_left(&l), 15);
	uint8_t mac[6];
	assert_false(arp_resolve(l.a, l.wan, IP(203, 0, 113, 9), &pkts[4], mac, 3 * SEC));
	ndropped = 0;
	assert_int_equal(conf_exec(&l.s, "/ip arp remove [find address=203.0.113.9]", NULL, &e),
			 0);
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], 4);
	arp_tick(l.a, 10 * SEC);
	assert_int_equal(ndropped, 1);
	live_down(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers_for_own_address),
		cmocka_unit_test(test_probe_and_malformed),
		cmocka_unit_test(test_resolve_with_queue),
		cmocka_unit_test(test_queue_bounded_by_bytes),
		cmocka_unit_test(test_queue_table_oldest_then_unreachable),
		cmocka_unit_test(test_retries_then_unreachable),
		cmocka_unit_test(test_stale_probes),
		cmocka_unit_test(test_flush_and_free),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_static_entry),
		cmocka_unit_test(test_static_reload),
		cmocka_unit_test(test_published),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_conf_load_and_items),
		cmocka_unit_test(test_proxy_modes),
		cmocka_unit_test(test_proxy_learns),
		cmocka_unit_test(test_conf_modes),
		cmocka_unit_test(test_remove_dynamic),
		cmocka_unit_test(test_remove_relearn),
		cmocka_unit_test(test_change_dynamic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
